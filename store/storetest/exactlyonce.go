package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// ExactlyOnce runs one scheduler on each of the stores (handles on one
// database, as separate processes or replicas hold) with the same jobs,
// and checks that every fire in a window runs exactly once, on one of them.
// It runs in real time for about two seconds and waits on events, never on
// a fixed sleep.
func ExactlyOnce(t *testing.T, stores []sundial.Store) {
	t.Helper()
	ctx := context.Background()
	const jobs, fires = 10, 10
	const every = 200 * time.Millisecond
	start := time.Now().Truncate(time.Second).Add(time.Second)

	var mu sync.Mutex
	ran := map[string]int{}          // fire key → runs
	window := map[string]time.Time{} // job ID → end of its window of fires
	done := make(chan struct{})
	var once sync.Once
	task := func(_ context.Context, r sundial.Run) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if r.ScheduledAt.Before(window[r.JobID]) {
			ran[r.FireKey()]++
		}
		if len(ran) == jobs*fires {
			once.Do(func() { close(done) })
		}
		return nil, nil
	}

	no := false
	var logMu sync.Mutex
	var logs []string
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		logs = append(logs, string(p))
		return len(p), nil
	}), &slog.HandlerOptions{Level: slog.LevelWarn}))
	defer func() {
		if t.Failed() {
			logMu.Lock()
			defer logMu.Unlock()
			for _, l := range logs {
				t.Log(l)
			}
		}
	}()
	var schedulers []*sundial.Scheduler
	for i, store := range stores {
		s, err := sundial.New(sundial.Config{Store: store, Workers: 4,
			Logger: logger.With("scheduler", i), MaxSleep: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Register("tick", task); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			for j := range jobs {
				// A slow machine may add a job after the grid's start: its
				// window begins at its own first fire.
				added, err := s.AddJob(ctx, sundial.Job{ID: fmt.Sprint("job-", j), Task: "tick",
					Trigger: trigger.Spec{Type: "interval", Seconds: every.Seconds(), StartDate: start.Format(time.RFC3339Nano)},
					// Every fire must run, however late a loaded machine
					// makes it: no misfire limit, no coalescing, no overlap limit.
					Options: sundial.JobOptions{MisfireGrace: -1, Coalesce: &no, Overlap: sundial.OverlapAllow}})
				if err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				window[added.ID] = added.NextRunAt.Add(fires * every)
				mu.Unlock()
			}
		}
		schedulers = append(schedulers, s)
	}
	for _, s := range schedulers {
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		mu.Lock()
		t.Errorf("after 30s only %d of %d fires ran", len(ran), jobs*fires)
		mu.Unlock()
	}
	for _, s := range schedulers {
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for key, n := range ran {
		if n != 1 {
			t.Errorf("fire %s ran %d times", key, n)
		}
	}
	runs, err := schedulers[0].Runs(ctx, sundial.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]int{}
	for _, r := range runs {
		if !r.ScheduledAt.Before(window[r.JobID]) {
			continue
		}
		recorded[r.FireKey()]++
		if r.Status != sundial.StatusSucceeded {
			t.Errorf("run %s of fire %s is %s, want succeeded", r.ID, r.FireKey(), r.Status)
		}
	}
	if len(recorded) != jobs*fires {
		t.Errorf("%d fires recorded, want %d", len(recorded), jobs*fires)
	}
	for key, n := range recorded {
		if n != 1 {
			t.Errorf("fire %s recorded %d times", key, n)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
