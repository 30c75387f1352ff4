package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redisguard/redisguard/cache"
)

// Product is what the service sells.
type Product struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
	Stock int     `json:"stock"`
}

// database stands in for the service's source of truth: a few hundred
// products, each read or write taking a few milliseconds, as a real one would.
type database struct {
	latency  time.Duration
	mu       sync.RWMutex
	products map[string]Product
	reads    atomic.Int64
}

func newDatabase(n int, latency time.Duration) *database {
	db := &database{latency: latency, products: make(map[string]Product, n)}
	for i := 1; i <= n; i++ {
		id := fmt.Sprint(i)
		db.products[id] = Product{ID: id, Name: fmt.Sprintf("Product %d", i), Price: float64(100+i*7%900) / 10, Stock: i * 13 % 50}
	}
	return db
}

// wait takes the latency of one query: latency ±50 %, or less if ctx ends.
func (db *database) wait(ctx context.Context) error {
	d := time.Duration(float64(db.latency) * (0.5 + rand.Float64()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Product is a cache.Loader: it returns cache.ErrNotFound for an unknown id.
func (db *database) Product(ctx context.Context, id string) (Product, error) {
	db.reads.Add(1)
	if err := db.wait(ctx); err != nil {
		return Product{}, err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	p, ok := db.products[id]
	if !ok {
		return Product{}, cache.ErrNotFound
	}
	return p, nil
}

// Save replaces an existing product; it returns cache.ErrNotFound for an
// unknown id.
func (db *database) Save(ctx context.Context, p Product) error {
	if err := db.wait(ctx); err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if _, ok := db.products[p.ID]; !ok {
		return cache.ErrNotFound
	}
	db.products[p.ID] = p
	return nil
}
