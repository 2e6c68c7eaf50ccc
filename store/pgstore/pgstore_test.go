package pgstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/pgstore"
	"github.com/sundialhq/sundial/store/storetest"
)

// testSchema creates a schema of its own for one test and returns pools
// whose search_path points at it; the schema is dropped afterwards.
func testSchema(t *testing.T, pools int) []*pgxpool.Pool {
	t.Helper()
	dsn := os.Getenv("SUNDIAL_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("set SUNDIAL_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := "sundial_test_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	var out []*pgxpool.Pool
	for range pools {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	t.Cleanup(func() {
		for _, p := range out {
			p.Close()
		}
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return out
}

func mustNew(t *testing.T, pool *pgxpool.Pool) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sundial.Store {
		return mustNew(t, testSchema(t, 1)[0])
	})
}

func TestReopenKeepsEverything(t *testing.T) {
	pools := testSchema(t, 2)
	first := mustNew(t, pools[0])
	storetest.Populate(t, first)
	first.Close()
	storetest.CheckPopulated(t, mustNew(t, pools[1]))
}

// TestReplicas has four stores on four pools (as four replicas would)
// migrate at once and then claim concurrently.
func TestReplicas(t *testing.T) {
	pools := testSchema(t, 4)
	stores := make([]sundial.Store, len(pools))
	errs := make(chan error, len(pools))
	for i, p := range pools {
		go func() {
			s, err := pgstore.New(context.Background(), p)
			if err == nil {
				stores[i] = s
				t.Cleanup(func() { s.Close() })
			}
			errs <- err
		}()
	}
	for range pools {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent migration: %v", err)
		}
	}
	storetest.ConcurrentClaims(t, stores)
}

// TestSchedulersShareOneDatabase runs four schedulers on one database, as
// four replicas would: every fire runs once.
func TestSchedulersShareOneDatabase(t *testing.T) {
	pools := testSchema(t, 4)
	var stores []sundial.Store
	for _, p := range pools {
		stores = append(stores, mustNew(t, p))
	}
	storetest.ExactlyOnce(t, stores)
}
