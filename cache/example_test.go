package cache_test

import (
	"context"
	"fmt"
	"log"
	"slices"
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

// With StaleIfError, a value past its TTL answers when the source of truth
// fails, for a bounded time; it never hides a working source.
func ExampleOptions_staleIfError() {
	rdb, srv := exampleClient()
	defer srv.Close()
	defer rdb.Close()

	ctx := context.Background()
	products, err := cache.New[Product](rdb, cache.Options{
		Prefix:       "product:",
		TTL:          50 * time.Millisecond,
		Jitter:       -1,
		StaleIfError: time.Hour, // answer with the last good value for up to an hour past its TTL
	})
	if err != nil {
		log.Fatal(err)
	}
	defer products.Close()
	db := newDatabase()
	if _, err := products.Get(ctx, "42", db.loadProduct); err != nil {
		log.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond) // past the TTL

	down := func(context.Context, string) (Product, error) { return Product{}, fmt.Errorf("database unreachable") }
	p, err := products.Get(ctx, "42", down)
	fmt.Println(p.Name, err, products.Stats().StaleServed)
	// Output: Teapot <nil> 1
}

// Callers that share one load get copies of its value with Clone, so that
// each may change its own.
func ExampleOptions_clone() {
	rdb, srv := exampleClient()
	defer srv.Close()
	defer rdb.Close()

	tags, err := cache.New[[]string](rdb, cache.Options{
		Prefix: "tags:",
		TTL:    time.Minute,
		Clone:  func(s []string) []string { return slices.Clone(s) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tags.Close()
	t, err := tags.Get(context.Background(), "42", func(context.Context, string) ([]string, error) {
		return []string{"kitchen", "tea"}, nil
	})
	fmt.Println(t, err)
	// Output: [kitchen tea] <nil>
}
