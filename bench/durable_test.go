package bench

// Durable stores: fires per second with every run recorded, claim
// latency, and start-up time over a large store.
//
//	cd bench
//	SUNDIAL_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench 'Durable|Startup' -benchtime 1x -count 3 -timeout 1h | tee durable.txt

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/pgstore"
	"github.com/sundialhq/sundial/store/sqlitestore"
	"github.com/sundialhq/sundial/trigger"
)

// timedStore records how long each claim takes.
type timedStore struct {
	sundial.Store
	mu     sync.Mutex
	claims []time.Duration
	sizes  []int
}

// UpdateRuns passes the store's batch capability through the wrapper.
func (s *timedStore) UpdateRuns(ctx context.Context, runs []sundial.Run) ([]error, error) {
	return s.Store.(sundial.RunBatchUpdater).UpdateRuns(ctx, runs)
}

func (s *timedStore) Claim(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	start := time.Now()
	runs, err := s.Store.Claim(ctx, req, plan)
	d := time.Since(start)
	if len(runs) > 0 {
		s.mu.Lock()
		s.claims = append(s.claims, d)
		s.sizes = append(s.sizes, len(runs))
		s.mu.Unlock()
	}
	return runs, err
}

// durableStores opens n handles on one fresh database of the kind.
func durableStores(b *testing.B, kind string, n int) []sundial.Store {
	ctx := context.Background()
	var out []sundial.Store
	switch kind {
	case "sqlite":
		path := filepath.Join(b.TempDir(), "sundial.db")
		for range n {
			s, err := sqlitestore.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			out = append(out, s)
		}
	case "postgres":
		dsn := os.Getenv("SUNDIAL_TEST_POSTGRES")
		if dsn == "" {
			b.Skip("set SUNDIAL_TEST_POSTGRES to benchmark PostgreSQL")
		}
		admin, err := pgxpool.New(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		schema := "sundial_bench_" + strings.ToLower(rand.Text()[:10])
		if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			admin.Close()
		})
		for range n {
			cfg, _ := pgxpool.ParseConfig(dsn)
			cfg.ConnConfig.RuntimeParams["search_path"] = schema
			cfg.MaxConns = 16
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			s, err := pgstore.New(ctx, pool)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close(); pool.Close() })
			out = append(out, s)
		}
	}
	return out
}

// BenchmarkDurableFires stores 5,000 or 10,000 one-shot jobs due at once,
// starts schedulers (one per handle, as separate processes would; 32 or
// 128 workers each) and reports
// fires per second until every run is recorded as succeeded, and the
// claim latency.
func BenchmarkDurableFires(b *testing.B) {
	for _, c := range []struct {
		kind       string
		schedulers int
		jobs       int
		workers    int // per scheduler: a claim takes at most the free ones
	}{
		{"sqlite", 1, 5000, 32}, {"sqlite", 1, 10000, 32}, {"sqlite", 1, 10000, 128}, {"sqlite", 3, 5000, 32},
		{"postgres", 1, 5000, 32}, {"postgres", 3, 5000, 32}, {"postgres", 3, 10000, 32},
		{"postgres", 3, 10000, 128}, {"postgres", 5, 10000, 128},
	} {
		b.Run(fmt.Sprintf("store=%s/schedulers=%d/jobs=%d/workers=%d", c.kind, c.schedulers, c.jobs, c.workers), func(b *testing.B) {
			n := c.jobs
			for range b.N {
				stores := durableStores(b, c.kind, c.schedulers)
				ctx := context.Background()
				due := time.Now().Add(-time.Second)
				spec := trigger.Spec{Type: "date", RunDate: due.Format(time.RFC3339Nano)}
				for i := range n {
					j := sundial.Job{ID: fmt.Sprint("j", i), Task: "noop", Trigger: spec, NextRunAt: due,
						Options: sundial.JobOptions{MisfireGrace: -1}}
					if _, err := stores[0].CreateJob(ctx, j, due); err != nil {
						b.Fatal(err)
					}
				}
				var count atomic.Int64
				done := make(chan struct{})
				var timed []*timedStore
				var scheds []*sundial.Scheduler
				for _, st := range stores {
					ts := &timedStore{Store: st}
					timed = append(timed, ts)
					s, err := sundial.New(sundial.Config{Store: ts, Workers: c.workers, Logger: slog.New(slog.DiscardHandler)})
					if err != nil {
						b.Fatal(err)
					}
					s.Register("noop", func(context.Context, sundial.Run) (any, error) { return nil, nil })
					sub := s.Subscribe(n, sundial.EventRunSucceeded)
					go func() {
						for range sub.C {
							if count.Add(1) == int64(n) {
								close(done)
							}
						}
					}()
					scheds = append(scheds, s)
				}
				start, cpu := time.Now(), cpuTime()
				for _, s := range scheds {
					s.Start(ctx)
				}
				select {
				case <-done:
				case <-time.After(5 * time.Minute):
					b.Fatalf("only %d of %d fired in 5 minutes", count.Load(), n)
				}
				elapsed, cpu := time.Since(start), cpuTime()-cpu
				for _, s := range scheds {
					s.Shutdown(ctx)
				}
				var claims []time.Duration
				var sizes []int
				for _, ts := range timed {
					claims = append(claims, ts.claims...)
					sizes = append(sizes, ts.sizes...)
				}
				total := 0
				for _, n := range sizes {
					total += n
				}
				b.ReportMetric(float64(total)/float64(len(sizes)), "runs/claim")
				slices.Sort(claims)
				b.ReportMetric(float64(n)/elapsed.Seconds(), "fires/s")
				// The schedulers' CPU (SQLite's too, in process; not
				// PostgreSQL's) per fire: steadier than fires/s on a
				// machine shared with other work.
				b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/fire")
				b.ReportMetric(float64(claims[len(claims)/2].Microseconds()), "claim-p50-µs")
				b.ReportMetric(float64(claims[len(claims)*99/100].Microseconds()), "claim-p99-µs")
			}
		})
	}
}

// BenchmarkStartup measures opening a SQLite store that holds 1,000,000
// jobs and starting a scheduler on it, up to its first look at the store:
// nothing is loaded whole.
func BenchmarkStartup(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "sundial.db")
	ctx := context.Background()
	seed, err := sqlitestore.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	// Bulk-load through SQL: CreateJob one by one would take minutes.
	tx, err := seed.DB().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO sundial_jobs (id, name, task, trigger_spec, options, paused, next_run_at, version, created_at, updated_at)
		VALUES (?, '', 'noop', '{"type":"cron","expr":"0 3 * * *"}', '{}', 0, ?, 1, 0, 0)`)
	if err != nil {
		b.Fatal(err)
	}
	next := time.Now().Add(24 * time.Hour)
	for i := range n {
		if _, err := stmt.ExecContext(ctx, fmt.Sprint("job-", i), next.Add(time.Duration(i)*time.Millisecond).UnixMicro()); err != nil {
			b.Fatal(err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	seed.Close()

	for b.Loop() {
		start := time.Now()
		store, err := sqlitestore.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		s, err := sundial.New(sundial.Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		s.Register("noop", func(context.Context, sundial.Run) (any, error) { return nil, nil })
		if err := s.Start(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := store.NextWake(ctx, ""); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds()*1000, "ms-to-ready")
		s.Shutdown(ctx)
		store.Close()
	}
}
