package pgstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/pgstore"
	"github.com/sundialhq/sundial/store/storetest"
	"github.com/sundialhq/sundial/trigger"
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

func TestMain(m *testing.M) {
	storetest.RunWorkerIfAsked(func(ctx context.Context) (sundial.Store, func(), error) {
		cfg, err := pgxpool.ParseConfig(os.Getenv("SUNDIAL_TEST_POSTGRES"))
		if err != nil {
			return nil, nil, err
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = os.Getenv("SUNDIAL_STORETEST_SCHEMA")
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		s, err := pgstore.New(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return s, func() { s.Close(); pool.Close() }, nil
	})
	os.Exit(m.Run())
}

// schemaOf returns the schema a test pool works in.
func schemaOf(t *testing.T, pool *pgxpool.Pool) string {
	return pool.Config().ConnConfig.RuntimeParams["search_path"]
}

// TestManyProcesses runs 4 processes on one database, 500 jobs firing
// every second for 30 seconds (5 in -short mode): every fire once.
func TestManyProcesses(t *testing.T) {
	pool := testSchema(t, 1)[0]
	window := 30 * time.Second
	if testing.Short() {
		window = 5 * time.Second
	}
	c := storetest.NewCluster(t, 30*time.Second, "SUNDIAL_STORETEST_SCHEMA="+schemaOf(t, pool))
	storetest.ManyProcesses(t, mustNew(t, pool), c, 4, 500, window)
}

// TestCrash kills a replica with SIGKILL while it runs a job.
func TestCrash(t *testing.T) {
	pool := testSchema(t, 1)[0]
	c := storetest.NewCluster(t, 2*time.Second, "SUNDIAL_STORETEST_SCHEMA="+schemaOf(t, pool))
	storetest.CrashAndRetry(t, mustNew(t, pool), c)
}

// TestRestart stops everything for longer than the jobs' intervals and
// starts again on the same database.
func TestRestart(t *testing.T) {
	pools := testSchema(t, 2)
	next := 0
	storetest.Restart(t, func(t *testing.T) (sundial.Store, func()) {
		s, err := pgstore.New(context.Background(), pools[next])
		next++
		if err != nil {
			t.Fatal(err)
		}
		return s, func() { s.Close() }
	})
}

// TestNotifyWakesReplicas adds a job through one replica while another
// sleeps with an hour-long poll: LISTEN/NOTIFY wakes it at once.
func TestNotifyWakesReplicas(t *testing.T) {
	pools := testSchema(t, 2)
	ctx := context.Background()
	newScheduler := func(pool *pgxpool.Pool) *sundial.Scheduler {
		s, err := sundial.New(sundial.Config{Store: mustNew(t, pool), MaxSleep: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		s.Register("tick", func(context.Context, sundial.Run) (any, error) { return nil, nil })
		return s
	}
	api, sleeper := newScheduler(pools[0]), newScheduler(pools[1])
	done := sleeper.Subscribe(1, sundial.EventRunSucceeded)
	if err := sleeper.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Shutdown(ctx)
	time.Sleep(200 * time.Millisecond) // let the sleeper's loop go to sleep
	added := time.Now()
	if _, err := api.AddJob(ctx, sundial.Job{ID: "now", Task: "tick",
		Trigger: trigger.Spec{Type: "date", RunDate: added.Format(time.RFC3339Nano)}}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-done.C:
		t.Logf("the sleeping replica ran the job %s after it was added", e.Time.Sub(added).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the sleeping replica did not run a job added elsewhere: no notification")
	}
}
