package memstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/store/storetest"
	"github.com/sundialhq/sundial/trigger"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) sundial.Store { return memstore.New(memstore.Options{}) })
}

// TestBroadcast: broadcast jobs on schedulers sharing one store that
// come, go and die; each fire runs one shard per live node, each once.
func TestBroadcast(t *testing.T) {
	s := memstore.New(memstore.Options{})
	storetest.Broadcast(t, []sundial.Store{s})
}

// TestRetention checks that, once the scheduler's retention asked for 3
// runs per job, only the last 3 ended runs of a job are kept as runs end,
// and that runs still waiting are never dropped.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	if _, err := s.PruneRuns(ctx, time.Time{}, 3); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	waiting := sundial.Run{ID: "waiting", JobID: "a", Task: "x", ScheduledAt: t0.Add(-time.Hour), Status: sundial.StatusScheduled,
		Attempt: 2, NotBefore: t0.Add(time.Hour)}
	if err := s.CreateRun(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		r := sundial.Run{ID: fmt.Sprint("r", i), JobID: "a", Task: "x", ScheduledAt: t0.Add(time.Duration(i) * time.Minute),
			Status: sundial.StatusSucceeded, Attempt: 1}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	runs, _ := s.ListRuns(ctx, sundial.RunFilter{JobID: "a"})
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[r9 r8 r7 waiting]" {
		t.Errorf("kept %v, want the last 3 ended runs and the waiting one", ids)
	}
}

// TestHistoryOutlivesJob: a job's runs stay when the job is removed, a job
// added again with its ID takes them back (a fire recorded before is not
// recorded twice), and pruning every run forgets the history either way.
func TestHistoryOutlivesJob(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	job := sundial.Job{ID: "a", Task: "x", Trigger: trigger.Spec{Type: "cron", Expr: "* * * * * *"}, NextRunAt: t0}
	if _, err := s.CreateJob(ctx, job, t0); err != nil {
		t.Fatal(err)
	}
	fire := sundial.Run{ID: "r1", JobID: "a", Task: "x", ScheduledAt: t0, Status: sundial.StatusSucceeded, Attempt: 1}
	if err := s.CreateRun(ctx, fire); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJob(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	runs, _ := s.ListRuns(ctx, sundial.RunFilter{JobID: "a"})
	if len(runs) != 1 || runs[0].ID != "r1" {
		t.Fatalf("runs of the removed job: %v, want r1", runs)
	}
	if _, err := s.CreateJob(ctx, job, t0); err != nil {
		t.Fatal(err)
	}
	// The same fire, claimed by the job added again: not a second run.
	plan := func(j sundial.Job, _ int, _ bool) (sundial.Job, []sundial.Run) {
		r := sundial.Run{ID: "r2", JobID: j.ID, Task: j.Task, ScheduledAt: j.NextRunAt, Status: sundial.StatusPending, Attempt: 1}
		j.NextRunAt = j.NextRunAt.Add(time.Second)
		return j, []sundial.Run{r}
	}
	claimed, err := s.Claim(ctx, sundial.ClaimRequest{Now: t0, Limit: 1, Node: "n", Incarnation: "i", LeaseUntil: t0.Add(time.Minute)}, plan)
	if err != nil || len(claimed) != 0 {
		t.Fatalf("claim of a fire recorded before: %v, %v; want none", claimed, err)
	}
	if runs, _ := s.ListRuns(ctx, sundial.RunFilter{JobID: "a"}); len(runs) != 1 {
		t.Fatalf("runs after the claim: %v, want r1 alone", runs)
	}
	if err := s.CreateRun(ctx, sundial.Run{ID: "b1", JobID: "b", Task: "x", ScheduledAt: t0, Status: sundial.StatusFailed, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneRuns(ctx, t0.Add(time.Hour), 0); err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2", n, err)
	}
	if runs, _ := s.ListRuns(ctx, sundial.RunFilter{}); len(runs) != 0 {
		t.Fatalf("runs after pruning all: %v", runs)
	}
	// A history pruned away starts again at the next run.
	if err := s.CreateRun(ctx, sundial.Run{ID: "r3", JobID: "a", Task: "x", ScheduledAt: t0, Status: sundial.StatusSucceeded, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if runs, _ := s.ListRuns(ctx, sundial.RunFilter{JobID: "a"}); len(runs) != 1 || runs[0].ID != "r3" {
		t.Fatalf("runs after a new run: %v, want r3", runs)
	}
}

// TestClaimIntoBuffer: a claim given a buffer returns its runs, a waiting
// run's and several jobs' fires together, in that memory, and a claim
// without one still returns them all.
func TestClaimIntoBuffer(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	plan := func(j sundial.Job, _ int, _ bool) (sundial.Job, []sundial.Run) {
		r := sundial.Run{ID: j.ID + "-" + fmt.Sprint(j.NextRunAt.Unix()), JobID: j.ID, Task: j.Task, ScheduledAt: j.NextRunAt,
			Status: sundial.StatusPending, Attempt: 1}
		j.NextRunAt = j.NextRunAt.Add(time.Second)
		return j, []sundial.Run{r}
	}
	for _, buffered := range []bool{false, true} {
		s := memstore.New(memstore.Options{})
		for _, id := range []string{"a", "b", "c"} {
			job := sundial.Job{ID: id, Task: "x", Trigger: trigger.Spec{Type: "cron", Expr: "* * * * * *"}, NextRunAt: t0}
			if _, err := s.CreateJob(ctx, job, t0); err != nil {
				t.Fatal(err)
			}
		}
		waiting := sundial.Run{ID: "w", JobID: "a", Task: "x", ScheduledAt: t0.Add(-time.Hour), Status: sundial.StatusScheduled,
			Attempt: 2, NotBefore: t0}
		if err := s.CreateRun(ctx, waiting); err != nil {
			t.Fatal(err)
		}
		req := sundial.ClaimRequest{Now: t0, Limit: 10, Node: "n", Incarnation: "i", LeaseUntil: t0.Add(time.Minute)}
		var buf []sundial.Run
		if buffered {
			buf = make([]sundial.Run, 1, 10) // a stale run in it is overwritten
			req.Buffer = buf
		}
		runs, err := s.Claim(ctx, req, plan)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			if r.Status != sundial.StatusPending || r.Incarnation != "i" {
				t.Errorf("claimed %s: %s by %q", r.ID, r.Status, r.Incarnation)
			}
			ids = append(ids, r.ID)
		}
		slices.Sort(ids[1:]) // jobs due at one instant come in any order
		want := fmt.Sprintf("[w a-%[1]d b-%[1]d c-%[1]d]", t0.Unix())
		if fmt.Sprint(ids) != want {
			t.Errorf("buffered %v: claimed %v, want %s", buffered, ids, want)
		}
		if buffered && &runs[0] != &buf[:1][0] {
			t.Error("the claim's runs are not in the buffer given")
		}
	}
}
