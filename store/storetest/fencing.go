package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// testFencedWrites: a run is written only by the incarnation that holds
// it, and only while it executes.
func testFencedWrites(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	mustCreate(t, s, job("a", t0))
	claimed, err := claimAt(s, t0, 1, advance)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	run := claimed[0]
	zombie := run
	zombie.Incarnation, zombie.Status, zombie.StartedAt = "earlier-inc", sundial.StatusRunning, t0
	if err := s.UpdateRun(ctx, zombie); !errors.Is(err, sundial.ErrRunLost) {
		t.Errorf("UpdateRun by another incarnation = %v, want ErrRunLost", err)
	}
	if got := must(s.GetRun(ctx, run.ID)); got.Status != sundial.StatusPending || !got.StartedAt.IsZero() {
		t.Errorf("a refused write changed the run: %s started %s", got.Status, got.StartedAt)
	}
	run.Status, run.StartedAt = sundial.StatusRunning, t0.Add(time.Second)
	if err := s.UpdateRun(ctx, run); err != nil {
		t.Fatalf("the holder's start: %v", err)
	}
	run.Status, run.EndedAt = sundial.StatusSucceeded, t0.Add(2*time.Second)
	if err := s.UpdateRun(ctx, run); err != nil {
		t.Fatalf("the holder's end: %v", err)
	}
	got := must(s.GetRun(ctx, run.ID))
	if got.Status != sundial.StatusSucceeded || !got.ClaimedAt.Equal(t0) || !got.StartedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("ended run: %s claimed %s started %s", got.Status, got.ClaimedAt, got.StartedAt)
	}
	// An ended run takes no second outcome, not even from its holder.
	run.Status, run.Error = sundial.StatusFailed, "late"
	if err := s.UpdateRun(ctx, run); !errors.Is(err, sundial.ErrRunLost) {
		t.Errorf("a second outcome = %v, want ErrRunLost", err)
	}
	if got := must(s.GetRun(ctx, run.ID)); got.Status != sundial.StatusSucceeded {
		t.Errorf("a second outcome overwrote the first: %s", got.Status)
	}
}

// testIncarnations: a node that registers a new incarnation takes its
// earlier incarnation's executing runs as lost, at once and once; the
// earlier incarnation can no longer renew or write them.
func testIncarnations(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	mustCreate(t, s, job("a", t0))
	mustCreate(t, s, job("b", t0))
	old, err := s.Claim(ctx, sundial.ClaimRequest{Now: t0, Limit: 1, Node: "n", Incarnation: "n-1", LeaseUntil: t0.Add(time.Hour)}, advance)
	if err != nil || len(old) != 1 {
		t.Fatalf("claim = %v, %v", old, err)
	}
	other, err := s.Claim(ctx, sundial.ClaimRequest{Now: t0, Limit: 1, Node: "m", Incarnation: "m-1", LeaseUntil: t0.Add(time.Hour)}, advance)
	if err != nil || len(other) != 1 {
		t.Fatalf("claim = %v, %v", other, err)
	}
	orphans, err := s.RegisterNode(ctx, sundial.Node{ID: "n", Incarnation: "n-2", StartedAt: t0.Add(time.Second), LastSeen: t0.Add(time.Second)}, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(orphans) != 1 || orphans[0].ID != old[0].ID || orphans[0].Status != sundial.StatusLost || orphans[0].Error == "" {
		t.Fatalf("RegisterNode returned %+v, want the earlier incarnation's run, lost, with a reason", orphans)
	}
	if again, _ := s.RegisterNode(ctx, sundial.Node{ID: "n", Incarnation: "n-2", StartedAt: t0, LastSeen: t0}, t0.Add(2*time.Second)); len(again) != 0 {
		t.Errorf("registering the same incarnation again returned %v", runIDs(again))
	}
	if got := must(s.GetRun(ctx, other[0].ID)); got.Status != sundial.StatusPending {
		t.Errorf("another node's run became %s", got.Status)
	}
	beat, err := s.Heartbeat(ctx, sundial.HeartbeatRequest{Node: "n", Incarnation: "n-1", Now: t0, LeaseUntil: t0.Add(2 * time.Hour), Runs: []string{old[0].ID}})
	if err != nil || len(beat.Held) != 0 {
		t.Errorf("the earlier incarnation's heartbeat = %+v, %v; want it to hold nothing", beat, err)
	}
	late := old[0]
	late.Status, late.EndedAt = sundial.StatusSucceeded, t0.Add(time.Minute)
	if err := s.UpdateRun(ctx, late); !errors.Is(err, sundial.ErrRunLost) {
		t.Errorf("the earlier incarnation's outcome = %v, want ErrRunLost", err)
	}
	if reaped, _ := s.ReapLost(ctx, t0.Add(3*time.Hour)); len(reaped) != 1 || reaped[0].ID != other[0].ID {
		t.Errorf("ReapLost later = %v, want only the other node's run", runIDs(reaped))
	}
	// A heartbeat renews only the runs it names: one whose last record
	// its node could not write lapses and is recovered.
	mustCreate(t, s, job("c", t0.Add(4*time.Hour)))
	forgotten, err := s.Claim(ctx, sundial.ClaimRequest{Now: t0.Add(4 * time.Hour), Limit: 1, Node: "m", Incarnation: "m-1", LeaseUntil: t0.Add(4*time.Hour + time.Minute)}, advance)
	if err != nil || len(forgotten) != 1 {
		t.Fatalf("claim = %v, %v", forgotten, err)
	}
	if beat, err := s.Heartbeat(ctx, sundial.HeartbeatRequest{Node: "m", Incarnation: "m-1", Now: t0.Add(4 * time.Hour), LeaseUntil: t0.Add(5 * time.Hour)}); err != nil || len(beat.Held) != 0 {
		t.Errorf("a heartbeat naming no runs = %+v, %v; want nothing held", beat, err)
	}
	if reaped, _ := s.ReapLost(ctx, t0.Add(4*time.Hour+2*time.Minute)); len(reaped) != 1 || reaped[0].ID != forgotten[0].ID {
		t.Errorf("ReapLost after the claim's lease = %v, want the run no heartbeat named", runIDs(reaped))
	}
}

// testCancel: a run that has not started is canceled at once; an executing
// one is flagged for its holder (who sees it in its heartbeat and records
// the end), or canceled by the reaper if its holder is gone.
func testCancel(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	if _, err := s.CancelRun(ctx, "nope", t0); !errors.Is(err, sundial.ErrRunNotFound) {
		t.Errorf("CancelRun of no run = %v, want ErrRunNotFound", err)
	}
	waiting := sundial.Run{ID: "waiting", JobID: "a", Task: "task", ScheduledAt: t0, NotBefore: t0.Add(time.Hour), Status: sundial.StatusScheduled, Attempt: 2}
	if err := s.CreateRun(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	got, err := s.CancelRun(ctx, "waiting", t0.Add(time.Second))
	if err != nil || got.Status != sundial.StatusCanceled || !got.EndedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("CancelRun of a scheduled run = %s ended %s, %v; want canceled at once", got.Status, got.EndedAt, err)
	}
	if next, _ := s.NextWake(ctx, "test-node"); !next.IsZero() {
		t.Errorf("a canceled retry still wakes the scheduler at %s", next)
	}
	if _, err := s.CancelRun(ctx, "waiting", t0.Add(2*time.Second)); !errors.Is(err, sundial.ErrRunEnded) {
		t.Errorf("CancelRun of a canceled run = %v, want ErrRunEnded", err)
	}

	mustCreate(t, s, job("a", t0))
	mustCreate(t, s, job("b", t0))
	claimed, err := claimAt(s, t0, 2, advance)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	for _, r := range claimed {
		got, err := s.CancelRun(ctx, r.ID, t0.Add(time.Second))
		if err != nil || got.Status != sundial.StatusPending || !got.CancelRequested {
			t.Fatalf("CancelRun of an executing run = %s requested %v, %v; want it pending with the request", got.Status, got.CancelRequested, err)
		}
	}
	beat, err := s.Heartbeat(ctx, sundial.HeartbeatRequest{Node: "test-node", Incarnation: "test-inc", Now: t0.Add(time.Second), LeaseUntil: t0.Add(time.Minute),
		Runs: []string{claimed[0].ID, claimed[1].ID}})
	slices.Sort(beat.Cancel)
	want := []string{claimed[0].ID, claimed[1].ID}
	slices.Sort(want)
	if err != nil || !slices.Equal(beat.Cancel, want) {
		t.Fatalf("Heartbeat = %+v, %v; want both runs to cancel", beat, err)
	}
	// The holder stops the first and records it.
	first := claimed[0]
	first.Status, first.EndedAt = sundial.StatusCanceled, t0.Add(2*time.Second)
	if err := s.UpdateRun(ctx, first); err != nil {
		t.Fatalf("the holder's record of the cancel: %v", err)
	}
	// The holder of the second dies: the reaper records it canceled, not lost.
	reaped, err := s.ReapLost(ctx, t0.Add(2*time.Minute))
	if err != nil || len(reaped) != 1 || reaped[0].ID != claimed[1].ID || reaped[0].Status != sundial.StatusCanceled {
		t.Fatalf("ReapLost = %+v, %v; want the second run, canceled", reaped, err)
	}
	if got := must(s.GetRun(ctx, claimed[1].ID)); got.Status != sundial.StatusCanceled {
		t.Errorf("stored reaped run is %s, want canceled", got.Status)
	}
}

// testClusterPause: while paused, claims take nothing and there is nothing
// to wake for; the pause is kept until resumed.
func testClusterPause(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	mustCreate(t, s, job("a", t0))
	if paused, since, err := s.Paused(ctx); err != nil || paused || !since.IsZero() {
		t.Fatalf("a new store: paused %v since %s, %v", paused, since, err)
	}
	if err := s.SetPaused(ctx, true, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPaused(ctx, true, t0.Add(time.Hour)); err != nil { // pausing again keeps the first instant
		t.Fatal(err)
	}
	if paused, since, err := s.Paused(ctx); err != nil || !paused || !since.Equal(t0) {
		t.Errorf("after SetPaused: paused %v since %s, %v; want paused since %s", paused, since, err, t0)
	}
	if runs, err := claimAt(s, t0, 10, advance); !errors.Is(err, sundial.ErrSchedulerPaused) || len(runs) != 0 {
		t.Errorf("Claim while paused = %v, %v; want nothing and ErrSchedulerPaused", runIDs(runs), err)
	}
	if next, err := s.NextWake(ctx, "test-node"); err != nil || !next.IsZero() {
		t.Errorf("NextWake while paused = %s, %v; want zero", next, err)
	}
	if err := s.SetPaused(ctx, false, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if paused, _, _ := s.Paused(ctx); paused {
		t.Error("still paused after resuming")
	}
	if runs, err := claimAt(s, t0.Add(time.Minute), 10, advance); err != nil || len(runs) != 1 {
		t.Errorf("Claim after resuming = %v, %v; want the due fire", runIDs(runs), err)
	}
}

// testClaimKeepsVersion: fires change a job's schedule state, not its
// definition's version, so an editor holding the version is not refused.
func testClaimKeepsVersion(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	created := mustCreate(t, s, job("a", t0))
	for i := range 3 {
		if _, err := claimAt(s, t0.Add(time.Duration(i)*time.Minute), 10, advance); err != nil {
			t.Fatal(err)
		}
	}
	got := must(s.GetJob(ctx, "a"))
	if got.Version != created.Version || !got.UpdatedAt.Equal(created.UpdatedAt) {
		t.Errorf("after 3 fires: version %d updated %s; want %d and %s", got.Version, got.UpdatedAt, created.Version, created.UpdatedAt)
	}
	edit := got
	edit.Name = "edited"
	updated, err := s.UpdateJob(ctx, edit, t0.Add(time.Hour))
	if err != nil || updated.Version != created.Version+1 {
		t.Errorf("an edit with the version read before the fires = %d, %v; want version %d", updated.Version, err, created.Version+1)
	}
}
