// Package pgtest gives each test its own schema in a real PostgreSQL.
//
// The server comes from TEST_DATABASE_URL (make test starts a throwaway one
// and sets it). Without it, or when it cannot be reached, tests fail: they
// never silently skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	adminOnce sync.Once
	admin     *pgxpool.Pool
	adminErr  error
)

func adminPool(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Fatal("TEST_DATABASE_URL is not set: run the suite with `make test`, which starts a throwaway PostgreSQL, " +
			"or point TEST_DATABASE_URL at a database where tests may create schemas")
	}
	adminOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, adminErr = pgxpool.New(ctx, base)
		if adminErr == nil {
			adminErr = admin.Ping(ctx)
		}
	})
	if adminErr != nil {
		t.Fatalf("cannot reach TEST_DATABASE_URL: %v (start one with `scripts/pg.sh start interview_export_test`)", adminErr)
	}
	return admin, base
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// Schema creates an empty schema for the test, drops it when the test ends,
// and returns a database URL whose connections use it (search_path).
func Schema(t testing.TB) string {
	t.Helper()
	pool, base := adminPool(t)
	var suffix [4]byte
	rand.Read(suffix[:])
	name := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	schema := "t_" + name + "_" + hex.EncodeToString(suffix[:])
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(t, base, schema)
}

// WithSearchPath returns databaseURL with its connections' search_path set
// to schema.
func WithSearchPath(t testing.TB, databaseURL, schema string) string {
	t.Helper()
	if !strings.Contains(databaseURL, "://") {
		return databaseURL + " search_path=" + schema
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Pool returns a pool on databaseURL, closed when the test ends.
func Pool(t testing.TB, databaseURL string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), databaseURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
