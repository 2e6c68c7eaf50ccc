package sundial_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/trigger"
)

func TestChains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		calls := 0
		b.register(t, "extract", func(ctx context.Context, r sundial.Run) (any, error) {
			calls++
			switch calls {
			case 2, 3: // the second fire fails, and so does its retry
				return nil, errors.New("source down")
			case 4: // the third fire fails once, then its retry succeeds
				return nil, errors.New("flaky")
			}
			return map[string]int{"rows": calls}, nil
		})
		b.register(t, "load", func(ctx context.Context, r sundial.Run) (any, error) {
			if r.Upstream == nil {
				return nil, errors.New("no upstream")
			}
			return r.Upstream.Result, nil
		})
		b.register(t, "alert", ok)
		b.add(t, sundial.Job{ID: "load", Task: "load", Trigger: trigger.None()})
		b.add(t, sundial.Job{ID: "alert", Task: "alert", Trigger: trigger.None()})
		b.add(t, sundial.Job{ID: "extract", Task: "extract", Trigger: cron("0 * * * *"),
			Options: sundial.JobOptions{MaxAttempts: 2, RetryBackoff: time.Minute,
				Then: []sundial.Chain{{Job: "load"}, {Job: "alert", On: sundial.ChainOnFailure}}}})
		b.start(t)
		defer b.stop(t)
		time.Sleep(2*time.Hour + 30*time.Minute) // fires 00:00, 01:00, 02:00

		if got := summary(b.runs(t, "extract")); got != "00:00:00 succeeded\n01:00:00 failed\n01:00:00 failed\n02:00:00 failed\n02:00:00 succeeded" {
			t.Errorf("extract runs:\n%s", got)
		}
		loads := b.runs(t, "load")
		if len(loads) != 2 {
			t.Fatalf("load ran %d times, want after each fire that succeeded (00:00, and 02:00 on its retry):\n%s", len(loads), summary(loads))
		}
		first := loads[0]
		if first.Status != sundial.StatusSucceeded || first.Upstream.JobID != "extract" || string(first.Result) != `{"rows":1}` ||
			!first.Upstream.ScheduledAt.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) || first.Upstream.Status != sundial.StatusSucceeded {
			t.Errorf("the first load: %s %s, upstream %+v", first.Status, first.Result, first.Upstream)
		}
		if !strings.Contains(first.FireKey(), "/after/"+first.Upstream.ID) {
			t.Errorf("a chained run's fire key %q does not name its upstream run", first.FireKey())
		}
		if alerts := b.runs(t, "alert"); len(alerts) != 1 || alerts[0].Upstream.Status != sundial.StatusFailed ||
			!alerts[0].Upstream.ScheduledAt.Equal(time.Date(2000, 1, 1, 1, 0, 0, 0, time.UTC)) {
			t.Errorf("alert runs, want one after the 01:00 fire had failed for good:\n%s", summary(alerts))
		}
	})
}

func TestChainsRefuseCyclesAndDanglingRemoval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "tick", ok)
		then := func(ids ...string) sundial.JobOptions {
			var o sundial.JobOptions
			for _, id := range ids {
				o.Then = append(o.Then, sundial.Chain{Job: id})
			}
			return o
		}
		b.add(t, sundial.Job{ID: "a", Task: "tick", Trigger: cron("0 * * * *"), Options: then("b")})
		b.add(t, sundial.Job{ID: "b", Task: "tick", Trigger: trigger.None(), Options: then("c")})
		var invalid *sundial.InvalidJobError
		_, err := b.s.AddJob(b.ctx, sundial.Job{ID: "c", Task: "tick", Trigger: trigger.None(), Options: then("a")})
		if !errors.As(err, &invalid) || invalid.Field != "options.then" || !strings.Contains(err.Error(), "c → a → b → c") {
			t.Errorf("a cycle through three jobs: %v", err)
		}
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "self", Task: "tick", Trigger: trigger.None(), Options: then("self")}); !errors.As(err, &invalid) {
			t.Errorf("a job chained to itself: %v", err)
		}
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "bad", Task: "tick", Trigger: trigger.None(),
			Options: sundial.JobOptions{Then: []sundial.Chain{{Job: "b", On: "sometimes"}}}}); !errors.As(err, &invalid) || invalid.Field != "options.then[0].on" {
			t.Errorf("a chain on an unknown end: %v", err)
		}
		b.add(t, sundial.Job{ID: "c", Task: "tick", Trigger: trigger.None()})
		bJob, _ := b.s.Job(b.ctx, "b")
		bJob.Options = then("c", "a")
		if _, err := b.s.UpdateJob(b.ctx, bJob); !errors.As(err, &invalid) || !strings.Contains(err.Error(), "b → a → b") {
			t.Errorf("an update that closes a cycle: %v", err)
		}
		err = b.s.RemoveJob(b.ctx, "b")
		if !errors.Is(err, sundial.ErrJobInChain) || !strings.Contains(err.Error(), "a start it") {
			t.Errorf("removing a job another chains to: %v", err)
		}
		if _, err := b.s.Job(b.ctx, "b"); err != nil {
			t.Errorf("the refused removal removed it: %v", err)
		}
		if err := b.s.RemoveJob(b.ctx, "a"); err != nil {
			t.Errorf("removing the head of a chain: %v", err)
		}
		if err := b.s.RemoveJob(b.ctx, "b"); err != nil {
			t.Errorf("removing b once nothing chains to it: %v", err)
		}
	})
}

// chainLosingStore fails to record chained runs until told to stop, as a
// node that stops between recording an end and its chained run would.
type chainLosingStore struct {
	*memstore.Store
	failing atomic.Bool
}

func (s *chainLosingStore) CreateRun(ctx context.Context, r sundial.Run) error {
	if r.Upstream != nil && s.failing.Load() {
		return errors.New("the node stopped here")
	}
	return s.Store.CreateRun(ctx, r)
}

// A chained run that its upstream's node did not record is recorded by a
// later sweep, once; a job whose chain was added after a run ended starts
// nothing for that run.
func TestChainsRecoveredBySweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &chainLosingStore{Store: memstore.New(memstore.Options{})}
		store.failing.Store(true)
		s, err := sundial.New(sundial.Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		b := &bundle{s: s, ctx: context.Background()}
		b.register(t, "extract", ok)
		b.register(t, "load", ok)
		b.add(t, sundial.Job{ID: "load", Task: "load", Trigger: trigger.None()})
		b.add(t, sundial.Job{ID: "extract", Task: "extract", Trigger: cron("0 1 1 1 *"), // once, at 01:00
			Options: sundial.JobOptions{Then: []sundial.Chain{{Job: "load"}}}})
		b.add(t, sundial.Job{ID: "late", Task: "extract", Trigger: cron("0 1 1 1 *")})
		b.start(t)
		defer b.stop(t)
		// load has a history from before extract's end: a run by hand.
		if _, err := b.s.RunNow(b.ctx, "load", nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(70 * time.Minute) // extract ends at 01:00; its chained run's record is retried, then given up
		chained := func() []sundial.Run {
			var out []sundial.Run
			for _, r := range b.runs(t, "load") {
				if r.Upstream != nil {
					out = append(out, r)
				}
			}
			return out
		}
		if runs := chained(); len(runs) != 0 {
			t.Fatalf("load ran after extract while its record failed: %s", summary(runs))
		}
		// A chain added after "late" ran does not reach back to that run.
		late, _ := b.s.Job(b.ctx, "late")
		late.Options.Then = []sundial.Chain{{Job: "load"}}
		if _, err := b.s.UpdateJob(b.ctx, late); err != nil {
			t.Fatal(err)
		}
		store.failing.Store(false)
		time.Sleep(30 * time.Minute) // sweeps every 5 minutes, over ends 6 minutes old
		runs := chained()
		if len(runs) != 1 || runs[0].Upstream.JobID != "extract" || runs[0].Status != sundial.StatusSucceeded {
			t.Fatalf("after the sweeps, load ran after: %s; want once, after extract", summary(runs))
		}
	})
}
