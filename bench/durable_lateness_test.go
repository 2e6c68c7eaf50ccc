package bench

// Durable stores under a steady load: N jobs due at every whole second,
// on SQLite (one scheduler) and PostgreSQL (three, each on its own
// handle as separate processes would be).
//
//	cd bench
//	SUNDIAL_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench DurableLateness -benchtime 1x -count 3 -timeout 1h | tee lateness.txt

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// BenchmarkDurableLateness stores N jobs firing at every whole second,
// runs the schedulers for 10 seconds and reports the lateness of each run
// (its start minus its fire time) at p50 and p99, and the fires missed or
// doubled. Every run is recorded, as in BenchmarkDurableFires.
func BenchmarkDurableLateness(b *testing.B) {
	const seconds = 10
	for _, c := range []struct {
		kind       string
		schedulers int
		jobs       int
		workers    int
	}{
		{"sqlite", 1, 1000, 32}, {"sqlite", 1, 5000, 32}, {"sqlite", 1, 5000, 128},
		{"postgres", 3, 1000, 32}, {"postgres", 3, 5000, 32}, {"postgres", 3, 5000, 128},
	} {
		b.Run(fmt.Sprintf("store=%s/schedulers=%d/jobs=%d/workers=%d", c.kind, c.schedulers, c.jobs, c.workers), func(b *testing.B) {
			n := c.jobs
			for range b.N {
				stores := durableStores(b, c.kind, c.schedulers)
				ctx := context.Background()
				// Storing the jobs takes seconds on PostgreSQL: the first
				// fire counted is well after the schedulers start.
				first := time.Now().Truncate(time.Second).Add(time.Duration(3+n/1000) * time.Second)
				spec := trigger.Spec{Type: "cron", Expr: "* * * * * *"}
				for i := range n {
					j := sundial.Job{ID: "s" + strconv.Itoa(i), Task: "second", Trigger: spec, NextRunAt: first.Add(-time.Second)}
					if _, err := stores[0].CreateJob(ctx, j, time.Now()); err != nil {
						b.Fatal(err)
					}
				}
				counts := make([]atomic.Int32, n*seconds)
				var mu sync.Mutex
				late := make([]time.Duration, 0, n*seconds)
				task := func(_ context.Context, r sundial.Run) (any, error) {
					d := time.Since(r.ScheduledAt)
					i, err := strconv.Atoi(r.JobID[1:])
					slot := int(r.ScheduledAt.Sub(first) / time.Second)
					if err != nil || slot < 0 || slot >= seconds {
						return nil, nil
					}
					counts[i*seconds+slot].Add(1)
					mu.Lock()
					late = append(late, d)
					mu.Unlock()
					return nil, nil
				}
				var scheds []*sundial.Scheduler
				cpu := cpuTime()
				for _, st := range stores {
					s, err := sundial.New(sundial.Config{Store: st, Workers: c.workers, Logger: slog.New(slog.DiscardHandler)})
					if err != nil {
						b.Fatal(err)
					}
					s.Register("second", task)
					if err := s.Start(ctx); err != nil {
						b.Fatal(err)
					}
					scheds = append(scheds, s)
				}
				// Two seconds more: a fire of the last second that is late is not counted missed.
				time.Sleep(time.Until(first.Add((seconds + 2) * time.Second)))
				for _, s := range scheds {
					s.Shutdown(ctx)
				}
				// The schedulers' CPU (SQLite's too, in process) per fire
				// counted, the fires before the first second included:
				// steadier than lateness on a machine shared with other
				// work.
				b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(n*seconds), "cpu-µs/fire")
				mu.Lock()
				reportFires(b, counts, late)
				mu.Unlock()
			}
		})
	}
}
