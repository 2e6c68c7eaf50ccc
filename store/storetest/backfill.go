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

// Backfill has one scheduler on each of the stores (as replicas) backfill
// the same hour of a */5 job at once, where one fire has run already: the
// other 11 fires run exactly once each, with their past scheduled times.
func Backfill(t *testing.T, stores []sundial.Store) {
	t.Helper()
	ctx := context.Background()
	from := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	to := from.Add(55 * time.Minute)

	var mu sync.Mutex
	ran := map[string]int{}
	done := make(chan struct{})
	task := func(_ context.Context, r sundial.Run) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if !r.ScheduledAt.After(to) {
			ran[r.FireKey()]++
			if len(ran) == 11 {
				close(done)
			}
		}
		return nil, nil
	}
	var schedulers []*sundial.Scheduler
	for i, store := range stores {
		s, err := sundial.New(sundial.Config{Store: store, Workers: 4, MaxSleep: 100 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Register("report", task); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := s.AddJob(ctx, sundial.Job{ID: "report", Task: "report", Trigger: trigger.CronExpr("*/5 * * * *")}); err != nil {
				t.Fatal(err)
			}
			had := sundial.Run{ID: "had", JobID: "report", Task: "report", ScheduledAt: from.Add(10 * time.Minute),
				Status: sundial.StatusSucceeded, Attempt: 1, EndedAt: from.Add(11 * time.Minute)}
			if err := store.CreateRun(ctx, had); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		schedulers = append(schedulers, s)
	}
	defer func() {
		for _, s := range schedulers {
			if err := s.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		}
	}()
	var wg sync.WaitGroup
	reports := make([]sundial.BackfillReport, len(schedulers))
	for i, s := range schedulers {
		wg.Go(func() {
			rep, err := s.Backfill(ctx, "report", from, to, sundial.BackfillOptions{MaxConcurrent: 3})
			if err != nil {
				t.Errorf("scheduler %d: Backfill: %v", i, err)
			}
			reports[i] = rep
		})
	}
	wg.Wait()
	recorded := 0
	for _, rep := range reports {
		recorded += len(rep.Runs)
		if len(rep.Runs)+len(rep.Skipped) != 12 {
			t.Errorf("a backfill saw %d recorded + %d skipped fires, want 12", len(rep.Runs), len(rep.Skipped))
		}
	}
	if recorded != 11 {
		t.Errorf("the backfills recorded %d runs together, want 11 (12 fires, one had run)", recorded)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the backfilled fires did not all run within 30s")
	}
	runs, err := schedulers[0].Runs(ctx, sundial.RunFilter{JobID: "report", Since: from, Until: to.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	perFire := map[time.Time]int{}
	for _, r := range runs {
		perFire[r.ScheduledAt]++
	}
	for f := from; !f.After(to); f = f.Add(5 * time.Minute) {
		if perFire[f] != 1 {
			t.Errorf("fire %s has %d runs, want 1", f.Format(time.TimeOnly), perFire[f])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for key, n := range ran {
		if n != 1 {
			t.Errorf("fire %s ran %d times", key, n)
		}
	}
}
