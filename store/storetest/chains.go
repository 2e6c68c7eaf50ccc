package storetest

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// Chains has one scheduler on each of the stores (as replicas) run a job
// that fires 10 times and chains to another: the chained job runs once per
// upstream run, knowing it.
func Chains(t *testing.T, stores []sundial.Store) {
	t.Helper()
	ctx := context.Background()
	const fires = 10
	const every = 200 * time.Millisecond
	start := time.Now().Truncate(time.Second).Add(time.Second)

	var mu sync.Mutex
	upstreams := map[string]int{} // upstream run ID → chained runs
	done := make(chan struct{})
	var once sync.Once
	var schedulers []*sundial.Scheduler
	for i, store := range stores {
		s, err := sundial.New(sundial.Config{Store: store, Workers: 4, MaxSleep: 100 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		s.Register("extract", func(context.Context, sundial.Run) (any, error) { return "rows", nil })
		s.Register("load", func(_ context.Context, r sundial.Run) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			if r.Upstream != nil {
				upstreams[r.Upstream.ID]++
			}
			if len(upstreams) == fires {
				once.Do(func() { close(done) })
			}
			return nil, nil
		})
		if i == 0 {
			no := false
			if _, err := s.AddJob(ctx, sundial.Job{ID: "load", Task: "load", Trigger: trigger.None()}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddJob(ctx, sundial.Job{ID: "extract", Task: "extract",
				Trigger: trigger.Every(every, trigger.From(start), trigger.Until(start.Add((fires-1)*every))),
				Options: sundial.JobOptions{MisfireGrace: sundial.NoMisfireLimit, Coalesce: &no, Overlap: sundial.OverlapAllow,
					Then: []sundial.Chain{{Job: "load"}}}}); err != nil {
				t.Fatal(err)
			}
		}
		schedulers = append(schedulers, s)
	}
	for _, s := range schedulers {
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, s := range schedulers {
			if err := s.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the chained job did not run after every fire within 30s")
	}
	runs, err := schedulers[0].Runs(ctx, sundial.RunFilter{JobID: "load"})
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]int{}
	for _, r := range runs {
		if r.Upstream == nil || r.Upstream.JobID != "extract" || string(r.Upstream.Result) != `"rows"` {
			t.Errorf("chained run %s: upstream %+v", r.ID, r.Upstream)
			continue
		}
		recorded[r.Upstream.ID]++
	}
	if len(recorded) != fires {
		t.Errorf("chained runs after %d upstream runs, want %d", len(recorded), fires)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range upstreams {
		if n != 1 || recorded[id] != 1 {
			t.Errorf("upstream run %s: the chained job ran %d times and was recorded %d times, want once", id, n, recorded[id])
		}
	}
}
