package cache_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redisguard/redisguard"
	"github.com/redisguard/redisguard/cache"
)

type Product struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

// database stands in for the source of truth.
type database map[string]Product

func newDatabase() database {
	return database{
		"42": {ID: "42", Name: "Teapot", Price: 19.5},
		"43": {ID: "43", Name: "Kettle", Price: 34},
	}
}

func (db database) loadProduct(ctx context.Context, id string) (Product, error) {
	p, ok := db[id]
	if !ok {
		return Product{}, cache.ErrNotFound
	}
	return p, nil
}

// exampleClient returns a guarded client on an embedded Redis.
func exampleClient() (*redisguard.Client, *miniredis.Miniredis) {
	srv, err := miniredis.Run()
	if err != nil {
		log.Fatal(err)
	}
	rdb, err := redisguard.New(redisguard.Options{URL: "redis://" + srv.Addr()})
	if err != nil {
		log.Fatal(err)
	}
	if err := rdb.WaitReady(context.Background()); err != nil {
		log.Fatal(err)
	}
	return rdb, srv
}

func Example() {
	rdb, srv := exampleClient()
	defer srv.Close()
	defer rdb.Close()

	products, err := cache.New[Product](rdb, cache.Options{Prefix: "product:", TTL: 10 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer products.Close()
	db := newDatabase()
	ctx := context.Background()
	for range 2 {
		p, err := products.Get(ctx, "42", db.loadProduct)
		fmt.Println(p.Name, err)
	}
	srv.Close() // Redis goes away: the database answers
	p, err := products.Get(ctx, "42", db.loadProduct)
	fmt.Println(p.Name, err)

	s := products.Stats()
	fmt.Printf("hits %d, misses %d, fallbacks %d\n", s.Hits, s.Misses, s.Fallbacks)
	// Output:
	// Teapot <nil>
	// Teapot <nil>
	// Teapot <nil>
	// hits 1, misses 1, fallbacks 1
}

func ExampleCache_GetMany() {
	rdb, srv := exampleClient()
	defer srv.Close()
	defer rdb.Close()
	products, err := cache.New[Product](rdb, cache.Options{Prefix: "product:", TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	db := newDatabase()
	ctx := context.Background()
	if _, err := products.Get(ctx, "42", db.loadProduct); err != nil {
		log.Fatal(err)
	}
	found, err := products.GetMany(ctx, []string{"42", "43", "44"}, func(ctx context.Context, missing []string) (map[string]Product, error) {
		fmt.Println("loading", missing)
		out := map[string]Product{}
		for _, id := range missing {
			if p, ok := db[id]; ok {
				out[id] = p
			}
		}
		return out, nil
	})
	fmt.Println(len(found), found["42"].Name, found["43"].Name, err)
	// Output:
	// loading [43 44]
	// 2 Teapot Kettle <nil>
}

func ExampleCache_Update() {
	rdb, srv := exampleClient()
	defer srv.Close()
	defer rdb.Close()
	products, err := cache.New[Product](rdb, cache.Options{Prefix: "product:", TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	db := newDatabase()
	ctx := context.Background()
	saveProduct := func(ctx context.Context, p Product) error {
		db[p.ID] = p // the source of truth first
		return nil
	}
	if err := products.Update(ctx, "43", Product{ID: "43", Name: "Kettle", Price: 29}, saveProduct); err != nil {
		log.Fatal(err)
	}
	p, _ := products.Get(ctx, "43", db.loadProduct)
	fmt.Println(p.Price, products.Stats().Hits)
	// Output: 29 1
}
