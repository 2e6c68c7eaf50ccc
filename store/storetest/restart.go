package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// Restart stops every scheduler for longer than its jobs' intervals and
// starts a new one on a reopened store: the fires that fell due while
// nothing ran follow each job's misfire and coalesce options, as
// docs/jobs.md says. open returns a fresh handle on the same database.
func Restart(t *testing.T, open func(t *testing.T) (sundial.Store, func())) {
	ctx := context.Background()
	no := false
	jobs := []sundial.Job{
		// Default options: grace 60s, coalesce: the backlog runs once.
		{ID: "coalesce", Task: "tick", Trigger: trigger.Spec{Type: "interval", Seconds: 0.5}},
		// A grace of one second: older fires are missed, the rest coalesce.
		{ID: "strict", Task: "tick", Trigger: trigger.Spec{Type: "interval", Seconds: 0.5},
			Options: sundial.JobOptions{MisfireGrace: time.Second}},
		// No coalescing and no grace limit: every fire of the backlog runs.
		{ID: "each", Task: "tick", Trigger: trigger.Spec{Type: "interval", Seconds: 0.5},
			Options: sundial.JobOptions{MisfireGrace: -1, Coalesce: &no, MaxInstances: 100}},
	}
	newScheduler := func(store sundial.Store) *sundial.Scheduler {
		s, err := sundial.New(sundial.Config{Store: store, Logger: slog.New(slog.DiscardHandler), MaxSleep: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		s.Register("tick", func(context.Context, sundial.Run) (any, error) { return nil, nil })
		return s
	}

	store, closeStore := open(t)
	first := newScheduler(store)
	for _, j := range jobs {
		if _, err := first.AddJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	first.Start(ctx)
	waitFor(t, 30*time.Second, "every job to run once", func() (bool, string) {
		for _, j := range jobs {
			runs, _ := store.ListRuns(ctx, sundial.RunFilter{JobID: j.ID, Status: sundial.StatusSucceeded, Limit: 1})
			if len(runs) == 0 {
				return false, j.ID + " has not run"
			}
		}
		return true, ""
	})
	first.Shutdown(ctx)
	stoppedAt := time.Now()
	closeStore()

	// Everything is stopped for 3 seconds: six fires of each job fall due.
	time.Sleep(3 * time.Second)

	store, closeStore = open(t)
	defer closeStore()
	second := newScheduler(store)
	restartedAt := time.Now()
	second.Start(ctx)
	waitFor(t, 30*time.Second, "the backlog to be claimed", func() (bool, string) {
		for _, j := range jobs {
			job, err := store.GetJob(ctx, j.ID)
			if err != nil || !job.NextRunAt.After(restartedAt) {
				return false, fmt.Sprintf("%s next at %s", j.ID, job.NextRunAt)
			}
		}
		return true, ""
	})
	second.Shutdown(ctx)

	for _, j := range jobs {
		runs, err := store.ListRuns(ctx, sundial.RunFilter{JobID: j.ID, Since: stoppedAt, Until: restartedAt})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[sundial.RunStatus]int{}
		seen := map[string]bool{}
		for _, r := range runs {
			counts[r.Status]++
			if seen[r.FireKey()] {
				t.Errorf("%s: fire %s recorded twice", j.ID, r.FireKey())
			}
			seen[r.FireKey()] = true
			// Lateness counts when the fire was claimed (and recorded
			// missed), not when the process started: a loaded machine may
			// claim well after its start.
			if late := r.EndedAt.Sub(r.ScheduledAt); j.ID == "strict" && r.Status == sundial.StatusMissed && late <= time.Second {
				t.Errorf("strict: fire %s was %s late when claimed, within its grace, yet missed", r.ScheduledAt, late)
			}
		}
		backlog := len(runs)
		if backlog < 4 {
			t.Fatalf("%s: %d fires recorded for the 3 s stop, want about 6: %v", j.ID, backlog, counts)
		}
		switch j.ID {
		case "coalesce":
			if counts[sundial.StatusSucceeded] > 1 || counts[sundial.StatusSkipped] < backlog-1 {
				t.Errorf("coalesce: backlog of %d became %v, want one run and the rest skipped", backlog, counts)
			}
		case "strict":
			if counts[sundial.StatusMissed] < backlog-3 || counts[sundial.StatusSucceeded] > 1 {
				t.Errorf("strict: backlog of %d became %v, want the fires older than 1s missed", backlog, counts)
			}
		case "each":
			if counts[sundial.StatusSucceeded] != backlog {
				t.Errorf("each: backlog of %d became %v, want every fire run", backlog, counts)
			}
		}
		t.Logf("%s: a backlog of %d fires became %v", j.ID, backlog, counts)
	}
}
