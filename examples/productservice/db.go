package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/redisguard/redisguard/cache"
	_ "modernc.org/sqlite" // a pure-Go SQLite: nothing to install, and only this program imports it
)

// Product is what the service sells.
type Product struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
	Stock int     `json:"stock"`
}

// database is the service's source of truth: a SQLite file that every
// instance on the machine opens, so that several instances behave as the
// pods of one service over one database. WAL lets readers go on while one
// instance writes; writers wait for each other up to the busy timeout.
type database struct{ db *sql.DB }

// openDatabase opens (creating it if needed) the database at path and puts
// products 1…n in it, unless they are there already.
func openDatabase(ctx context.Context, path string, n int) (*database, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	d := &database{db: db}
	if err := d.init(ctx, n); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return d, nil
}

func (d *database) init(ctx context.Context, n int) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS products (
		id    TEXT PRIMARY KEY,
		name  TEXT NOT NULL,
		price REAL NOT NULL,
		stock INTEGER NOT NULL)`); err != nil {
		return err
	}
	insert, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO products (id, name, price, stock) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	for i := 1; i <= n; i++ {
		if _, err := insert.ExecContext(ctx, strconv.Itoa(i), fmt.Sprintf("Product %d", i), float64(100+i*7%900)/10, i*13%50); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (d *database) Close() error { return d.db.Close() }

// Product is a cache.Loader: it returns cache.ErrNotFound for an unknown id.
func (d *database) Product(ctx context.Context, id string) (Product, error) {
	p := Product{ID: id}
	err := d.db.QueryRowContext(ctx, `SELECT name, price, stock FROM products WHERE id = ?`, id).Scan(&p.Name, &p.Price, &p.Stock)
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, cache.ErrNotFound
	}
	return p, err
}

// Save replaces an existing product; it returns cache.ErrNotFound for an
// unknown id.
func (d *database) Save(ctx context.Context, p Product) error {
	res, err := d.db.ExecContext(ctx, `UPDATE products SET name = ?, price = ?, stock = ? WHERE id = ?`, p.Name, p.Price, p.Stock, p.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return cache.ErrNotFound
	}
	return nil
}
