package sundial_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/trigger"
)

// Benchmarks for docs/benchmarks.md:
//
//	go test -run '^$' -bench . -benchmem -count 6 | tee engine.txt
//
// The side-by-side comparison with other schedulers is in bench/.

func quietScheduler(b *testing.B, workers int, now ...func() time.Time) *sundial.Scheduler {
	b.Helper()
	cfg := sundial.Config{
		Store: memstore.New(memstore.Options{}), Retention: sundial.Retention{PerJob: 1},
		Workers: workers,
		Logger:  slog.New(slog.DiscardHandler),
	}
	if len(now) > 0 {
		cfg.Now = now[0]
	}
	s, err := sundial.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func idleJob(i int) sundial.Job {
	return sundial.Job{ID: fmt.Sprintf("job-%d", i), Task: "noop",
		Trigger: trigger.Spec{Type: "cron", Expr: "0 3 * * *"}}
}

// BenchmarkAddJob measures adding an idle job (next fire hours away), with
// the scheduler stopped and running.
func BenchmarkAddJob(b *testing.B) {
	for _, running := range []bool{false, true} {
		b.Run(fmt.Sprintf("running=%v", running), func(b *testing.B) {
			ctx := context.Background()
			s := quietScheduler(b, 10)
			s.Register("noop", ok)
			if running {
				s.Start(ctx)
				defer s.Shutdown(ctx)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := s.AddJob(ctx, idleJob(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkIdleJobMemory reports the heap held per idle job.
func BenchmarkIdleJobMemory(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	for b.Loop() {
		s := quietScheduler(b, 10)
		s.Register("noop", ok)
		before := heapInUse()
		for i := range n {
			if _, err := s.AddJob(ctx, idleJob(i)); err != nil {
				b.Fatal(err)
			}
		}
		after := heapInUse()
		b.ReportMetric(float64(after-before)/n, "B/job")
		runtime.KeepAlive(s)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkDispatch fires 100,000 one-shot jobs due at the same instant on
// 2×GOMAXPROCS workers and reports fires per second.
func BenchmarkDispatch(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		var skew atomic.Int64 // lets the benchmark move the scheduler's clock
		s := quietScheduler(b, 2*runtime.GOMAXPROCS(0), func() time.Time {
			return time.Now().Add(time.Duration(skew.Load()))
		})
		var count atomic.Int64
		done := make(chan struct{})
		s.Register("noop", func(context.Context, sundial.Run) (any, error) {
			if count.Add(1) == n {
				close(done)
			}
			return nil, nil
		})
		at := time.Now().Add(time.Hour)
		spec := trigger.Spec{Type: "date", RunDate: at.Format(time.RFC3339Nano)}
		for i := range n {
			if _, err := s.AddJob(ctx, sundial.Job{ID: fmt.Sprint("j", i), Task: "noop", Trigger: spec,
				Options: sundial.JobOptions{MisfireGrace: -1}}); err != nil {
				b.Fatal(err)
			}
		}
		s.Start(ctx)
		b.StartTimer()
		start := time.Now()
		skew.Store(int64(time.Hour)) // every job is now due
		s.Resume(ctx)                // wakes the loop
		<-done
		elapsed := time.Since(start)
		b.StopTimer()
		s.Shutdown(ctx)
		b.ReportMetric(n/elapsed.Seconds(), "fires/s")
	}
}
