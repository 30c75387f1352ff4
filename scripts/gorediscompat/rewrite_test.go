package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const bootstrapSource = `package redis_test

import "github.com/redis/go-redis/v9"

var cluster = &clusterScenario{}

var tlsCluster = &clusterScenario{}

var _ = BeforeSuite(func() {
	setUp()
	if !RECluster {
		configureClusterTopology(ctx, cluster)
	}
})

var _ = AfterSuite(func() {
	if !RECluster {
		cluster.Close()
	}
})

func initializeTLSCluster() { _ = tlsCluster }

func cleanupTLSCluster() {}

func connectTo(port string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: ":" + port})
}
`

func TestRewriteBootstrap(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, bootstrapFile)
	if err := os.WriteFile(src, []byte(bootstrapSource), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "out.go")

	calls, err := rewriteFile(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("rewrote %d calls, want 1", calls)
	}
	out, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"RECluster", "cluster", "TLSCluster", "redis.NewClient("} {
		if strings.Contains(string(out), gone) {
			t.Errorf("the rewritten bootstrap still has %q:\n%s", gone, out)
		}
	}
	for _, kept := range []string{"setUp()", "newSuiteClient(&redis.Options{"} {
		if !strings.Contains(string(out), kept) {
			t.Errorf("the rewritten bootstrap lost %q:\n%s", kept, out)
		}
	}
}

// When go-redis's files change shape, the rewrite fails instead of running a
// different suite.
func TestRewriteBootstrapChanged(t *testing.T) {
	for _, tc := range []struct{ name, from, to, wantErr string }{
		{"no BeforeSuite", "BeforeSuite(", "SynchronizedBeforeSuite(", "no BeforeSuite"},
		{"no cluster block", "\tif !RECluster {\n\t\tconfigure", "\tif RECluster {\n\t\tconfigure", "BeforeSuite: found 0"},
		{"a declaration renamed", "func cleanupTLSCluster()", "func cleanupTLS()", "[cleanupTLSCluster]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, bootstrapFile)
			if err := os.WriteFile(src, []byte(strings.Replace(bootstrapSource, tc.from, tc.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := rewriteFile(src, filepath.Join(dir, "out.go"))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// The rewrite applies to the go-redis version the project requires.
func TestRewriteGoRedisFiles(t *testing.T) {
	goRedis, err := goRedisModule(context.Background(), "../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	total := 0
	for _, name := range append(append([]string(nil), suiteFiles...), helperFiles...) {
		calls, err := rewriteFile(filepath.Join(goRedis.Dir, name), filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		total += calls
	}
	if total == 0 {
		t.Error("no redis.NewClient call rewritten")
	}
	race, err := os.ReadFile(filepath.Join(dir, "race_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(race), `"cluster races"`) {
		t.Error(`race_test.go still has Describe("cluster races")`)
	}
}
