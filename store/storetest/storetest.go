// Package storetest is the conformance suite that every sundial.Store
// passes. A store's own tests call Run with a constructor:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) sundial.Store { return memstore.New(memstore.Options{}) })
//	}
//
// Each subtest gets a fresh, empty store, and runs in parallel with the
// others: newStore must return independent stores.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// NewStore returns an empty store for one test.
type NewStore func(t *testing.T) sundial.Store

var t0 = time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)

// Run runs the whole suite.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s sundial.Store)
	}{
		{"CreateGetDelete", testCreateGetDelete},
		{"Calendars", testCalendars},
		{"UpdateVersions", testUpdateVersions},
		{"CopiesInAndOut", testCopies},
		{"ListJobsFilters", testListJobs},
		{"NextWake", testNextWake},
		{"ClaimDueInOrder", testClaimOrder},
		{"ClaimWritesPlan", testClaimWritesPlan},
		{"ClaimSkipsPausedAndFuture", testClaimSkips},
		{"ClaimCountsActive", testClaimCountsActive},
		{"DuplicateRunsRejected", testDuplicateRuns},
		{"ChainedRunsOncePerUpstream", testChainedRuns},
		{"ShardsWaitForTheirNodes", testShards},
		{"QueuedShardsPromotedTogether", testQueuedShards},
		{"ScheduledRunsClaimed", testScheduledRuns},
		{"QueuedRunsPromoted", testQueued},
		{"ListRunsFilters", testListRuns},
		{"ConcurrentClaimsFireOnce", testConcurrentClaims},
		{"QueuesNarrowClaims", testQueues},
		{"LeasesAndLostRuns", testLeases},
		{"Nodes", testNodes},
		{"WritesAreFenced", testFencedWrites},
		{"NewIncarnationRecoversRuns", testIncarnations},
		{"CancelRuns", testCancel},
		{"ClusterPause", testClusterPause},
		{"ClaimKeepsDefinitionVersion", testClaimKeepsVersion},
		{"PruneRuns", testPrune},
		{"UpdateRunsInBatches", testUpdateRuns},
		{"ListPages", testListPages},
		{"SourceAndOutputKept", testSourceAndOutput},
		{"ExitAndLiveOutput", testExitAndLiveOutput},
		{"WorkerTasksGoToWorkers", testWorkerTasks},
		{"WorkerRunsAndRelease", testWorkerRuns},
		{"WorkerNodes", testWorkerNodes},
		{"RunStats", testRunStats},
		{"UndeclareWorkerTasks", testUndeclare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every case has a store of its own, so the cases run side by
			// side (a durable store's cases mostly wait on its disk).
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// claimAt claims as node "test-node", incarnation "test-inc", with a
// one-minute lease.
func claimAt(s sundial.Store, now time.Time, limit int, plan sundial.PlanFunc) ([]sundial.Run, error) {
	return s.Claim(context.Background(), sundial.ClaimRequest{Now: now, Limit: limit, Node: "test-node",
		Incarnation: "test-inc", LeaseUntil: now.Add(time.Minute)}, plan)
}

func job(id string, next time.Time) sundial.Job {
	return sundial.Job{ID: id, Task: "task", Trigger: trigger.Spec{Type: "cron", Expr: "* * * * *"},
		Tags: []string{"t-" + id}, NextRunAt: next}
}

func mustCreate(t *testing.T, s sundial.Store, j sundial.Job) sundial.Job {
	t.Helper()
	created, err := s.CreateJob(context.Background(), j, t0)
	if err != nil {
		t.Fatalf("CreateJob(%s): %v", j.ID, err)
	}
	return created
}

// advance is a plan that moves the job a minute on and records one
// pending run at its fire time.
func advance(job sundial.Job, _ int, _ bool) (sundial.Job, []sundial.Run) {
	run := sundial.Run{ID: "run-" + job.ID + "-" + job.NextRunAt.Format("150405"), JobID: job.ID, Task: job.Task,
		ScheduledAt: job.NextRunAt, Status: sundial.StatusPending, Attempt: 1}
	job.NextRunAt = job.NextRunAt.Add(time.Minute)
	return job, []sundial.Run{run}
}

func testCreateGetDelete(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	created := mustCreate(t, s, job("a", t0))
	if created.Version != 1 || !created.CreatedAt.Equal(t0) || !created.UpdatedAt.Equal(t0) {
		t.Errorf("created job has version %d, created %s, updated %s; want 1, %s, %s",
			created.Version, created.CreatedAt, created.UpdatedAt, t0, t0)
	}
	if _, err := s.CreateJob(ctx, job("a", t0), t0); !errors.Is(err, sundial.ErrJobExists) {
		t.Errorf("second CreateJob: %v, want ErrJobExists", err)
	}
	got, err := s.GetJob(ctx, "a")
	if err != nil || got.ID != "a" || got.Task != "task" || !got.NextRunAt.Equal(t0) {
		t.Errorf("GetJob = %+v, %v", got, err)
	}
	if err := s.DeleteJob(ctx, "a"); err != nil {
		t.Fatalf("DeleteJob: %v", err)
	}
	if _, err := s.GetJob(ctx, "a"); !errors.Is(err, sundial.ErrJobNotFound) {
		t.Errorf("GetJob after delete: %v, want ErrJobNotFound", err)
	}
	if err := s.DeleteJob(ctx, "a"); !errors.Is(err, sundial.ErrJobNotFound) {
		t.Errorf("second DeleteJob: %v, want ErrJobNotFound", err)
	}
	if w, _ := s.NextWake(ctx, "test-node"); !w.IsZero() {
		t.Errorf("NextWake after delete = %s, want zero", w)
	}
}

func testUpdateVersions(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	created := mustCreate(t, s, job("a", t0))
	created.Name = "renamed"
	later := t0.Add(time.Hour)
	updated, err := s.UpdateJob(ctx, created, later)
	if err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	if updated.Version != 2 || updated.Name != "renamed" || !updated.UpdatedAt.Equal(later) || !updated.CreatedAt.Equal(t0) {
		t.Errorf("updated = version %d name %q updated %s created %s", updated.Version, updated.Name, updated.UpdatedAt, updated.CreatedAt)
	}
	created.Name = "stale"
	if _, err := s.UpdateJob(ctx, created, later); !errors.Is(err, sundial.ErrVersionConflict) {
		t.Errorf("UpdateJob with stale version: %v, want ErrVersionConflict", err)
	}
	if got, _ := s.GetJob(ctx, "a"); got.Name != "renamed" {
		t.Errorf("a stale update changed the job: name %q", got.Name)
	}
	if _, err := s.UpdateJob(ctx, job("missing", t0), later); !errors.Is(err, sundial.ErrJobNotFound) {
		t.Errorf("UpdateJob of a missing job: %v, want ErrJobNotFound", err)
	}
}

func testCopies(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	j := job("a", t0)
	j.Args = []byte(`{"n":1}`)
	created := mustCreate(t, s, j)
	j.Tags[0], j.Args[2] = "changed", 'X'
	created.Tags[0] = "changed too"
	got, _ := s.GetJob(ctx, "a")
	if got.Tags[0] != "t-a" || string(got.Args) != `{"n":1}` {
		t.Errorf("the store shares memory with its caller: tags %v, args %s", got.Tags, got.Args)
	}
}

func testListJobs(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	mustCreate(t, s, job("c", t0))
	mustCreate(t, s, job("a", t0))
	p := job("b", time.Time{})
	p.Paused = true
	mustCreate(t, s, p)
	all, _ := s.ListJobs(ctx, sundial.JobFilter{})
	if ids := jobIDs(all); ids != "a,b,c" {
		t.Errorf("ListJobs = %s, want a,b,c in ID order", ids)
	}
	paused := true
	if ids := jobIDs(must(s.ListJobs(ctx, sundial.JobFilter{Paused: &paused}))); ids != "b" {
		t.Errorf("paused = %s, want b", ids)
	}
	if ids := jobIDs(must(s.ListJobs(ctx, sundial.JobFilter{Tag: "t-c"}))); ids != "c" {
		t.Errorf("tag t-c = %s, want c", ids)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func jobIDs(jobs []sundial.Job) string {
	s := ""
	for i, j := range jobs {
		if i > 0 {
			s += ","
		}
		s += j.ID
	}
	return s
}

func testNextWake(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	if w, err := s.NextWake(ctx, "test-node"); err != nil || !w.IsZero() {
		t.Errorf("NextWake of an empty store = %s, %v", w, err)
	}
	mustCreate(t, s, job("late", t0.Add(time.Hour)))
	mustCreate(t, s, job("early", t0.Add(time.Minute)))
	p := job("paused", t0)
	p.Paused = true
	mustCreate(t, s, p)
	if w, _ := s.NextWake(ctx, "test-node"); !w.Equal(t0.Add(time.Minute)) {
		t.Errorf("NextWake = %s, want the earliest unpaused job at %s", w, t0.Add(time.Minute))
	}
	retry := sundial.Run{ID: "r", JobID: "late", Task: "task", ScheduledAt: t0, Status: sundial.StatusScheduled,
		Attempt: 2, NotBefore: t0.Add(30 * time.Second)}
	if err := s.CreateRun(ctx, retry); err != nil {
		t.Fatal(err)
	}
	if w, _ := s.NextWake(ctx, "test-node"); !w.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("NextWake = %s, want the scheduled retry at %s", w, t0.Add(30*time.Second))
	}
}

func testClaimOrder(t *testing.T, s sundial.Store) {
	for i, id := range []string{"c", "a", "b"} {
		mustCreate(t, s, job(id, t0.Add(time.Duration(3-i)*time.Second)))
	}
	runs, err := claimAt(s, t0.Add(time.Hour), 2, advance)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].JobID != "b" || runs[1].JobID != "a" {
		t.Errorf("Claim(limit 2) = %v, want b then a (earliest first)", runIDs(runs))
	}
	for _, r := range runs {
		if !r.Status.Executing() {
			t.Errorf("claimed run %s has status %s, want pending or running", r.ID, r.Status)
		}
	}
}

func runIDs(runs []sundial.Run) []string {
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	return ids
}

func testClaimWritesPlan(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	mustCreate(t, s, job("a", t0))
	plan := func(j sundial.Job, active int, queued bool) (sundial.Job, []sundial.Run) {
		j.NextRunAt = t0.Add(time.Minute)
		return j, []sundial.Run{
			{ID: "missed", JobID: j.ID, Task: j.Task, ScheduledAt: t0.Add(-time.Hour), Status: sundial.StatusMissed, Attempt: 1, Error: "late"},
			{ID: "run", JobID: j.ID, Task: j.Task, ScheduledAt: t0, Status: sundial.StatusPending, Attempt: 1},
		}
	}
	runs, err := claimAt(s, t0, 10, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != "run" {
		t.Fatalf("Claim returned %v, want only the pending run", runIDs(runs))
	}
	got, _ := s.GetJob(ctx, "a")
	if !got.NextRunAt.Equal(t0.Add(time.Minute)) || got.Version != 1 {
		t.Errorf("job after claim: next %s version %d, want %s and 1 (a claim is not an edit)", got.NextRunAt, got.Version, t0.Add(time.Minute))
	}
	if runs[0].Status != sundial.StatusPending || !runs[0].ClaimedAt.Equal(t0) || !runs[0].StartedAt.IsZero() ||
		runs[0].Incarnation != "test-inc" || runs[0].Node != "test-node" {
		t.Errorf("claimed run: %s claimed %s started %s held by %s/%s; want pending, claimed at %s, not started, test-node/test-inc",
			runs[0].Status, runs[0].ClaimedAt, runs[0].StartedAt, runs[0].Node, runs[0].Incarnation, t0)
	}
	if stored, _ := s.GetRun(ctx, "run"); stored.Incarnation != "test-inc" || !stored.ClaimedAt.Equal(t0) {
		t.Errorf("stored claimed run held by %q claimed at %s", stored.Incarnation, stored.ClaimedAt)
	}
	missed, err := s.GetRun(ctx, "missed")
	if err != nil || missed.Status != sundial.StatusMissed || missed.Error != "late" {
		t.Errorf("missed run = %+v, %v", missed, err)
	}
	if again, _ := claimAt(s, t0, 10, plan); len(again) != 0 {
		t.Errorf("a second claim at the same time returned %v", runIDs(again))
	}
}

func testClaimSkips(t *testing.T, s sundial.Store) {
	p := job("paused", t0)
	p.Paused = true
	mustCreate(t, s, p)
	mustCreate(t, s, job("future", t0.Add(time.Second)))
	mustCreate(t, s, job("never", time.Time{}))
	runs, err := claimAt(s, t0, 10, advance)
	if err != nil || len(runs) != 0 {
		t.Errorf("Claim = %v, %v; want nothing (paused, future, no next fire)", runIDs(runs), err)
	}
}

func testClaimCountsActive(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	mustCreate(t, s, job("a", t0))
	if _, err := claimAt(s, t0, 10, advance); err != nil {
		t.Fatal(err)
	}
	var sawActive int
	var sawQueued bool
	plan := func(j sundial.Job, active int, queued bool) (sundial.Job, []sundial.Run) {
		sawActive, sawQueued = active, queued
		j.NextRunAt = j.NextRunAt.Add(time.Minute)
		return j, []sundial.Run{{ID: "q", JobID: j.ID, Task: j.Task, ScheduledAt: t0.Add(time.Minute), Status: sundial.StatusQueued, Attempt: 1}}
	}
	if _, err := claimAt(s, t0.Add(time.Minute), 10, plan); err != nil {
		t.Fatal(err)
	}
	if sawActive != 1 || sawQueued {
		t.Errorf("plan saw active %d queued %v, want 1 and false", sawActive, sawQueued)
	}
	if _, err := claimAt(s, t0.Add(2*time.Minute), 10, plan); err == nil {
		// The second plan inserts the same run ID again: it must not be stored twice.
		if sawActive != 1 || !sawQueued {
			t.Errorf("plan saw active %d queued %v, want 1 and true", sawActive, sawQueued)
		}
	}
	// Ending the running run lowers the count.
	r, _ := s.GetRun(ctx, "run-a-120000")
	r.Status, r.EndedAt = sundial.StatusSucceeded, t0
	if err := s.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := claimAt(s, t0.Add(3*time.Minute), 10, plan); err != nil {
		t.Fatal(err)
	}
	if sawActive != 0 {
		t.Errorf("plan saw active %d after the run ended, want 0", sawActive)
	}
}

func testDuplicateRuns(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	r := sundial.Run{ID: "r1", JobID: "a", Task: "task", ScheduledAt: t0, Status: sundial.StatusSucceeded, Attempt: 1}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.ID = "r2"
	if err := s.CreateRun(ctx, r); !errors.Is(err, sundial.ErrDuplicateRun) {
		t.Errorf("a second run for the same fire and attempt: %v, want ErrDuplicateRun", err)
	}
	r.Attempt = 2
	if err := s.CreateRun(ctx, r); err != nil {
		t.Errorf("the next attempt of the fire: %v", err)
	}
	m1 := sundial.Run{ID: "m1", JobID: "a", Task: "task", ScheduledAt: t0, Status: sundial.StatusPending, Attempt: 1, Manual: true}
	m2 := m1
	m2.ID = "m2"
	if err := s.CreateRun(ctx, m1); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(ctx, m2); err != nil {
		t.Errorf("two manual runs in the same instant: %v", err)
	}
	if err := s.UpdateRun(ctx, sundial.Run{ID: "nope", JobID: "a"}); !errors.Is(err, sundial.ErrRunNotFound) {
		t.Errorf("UpdateRun of a missing run: %v, want ErrRunNotFound", err)
	}
	// A plan that records a fire already recorded does not store it twice.
	mustCreate(t, s, job("a", t0))
	plan := func(j sundial.Job, _ int, _ bool) (sundial.Job, []sundial.Run) {
		j.NextRunAt = t0.Add(time.Minute)
		return j, []sundial.Run{{ID: "r3", JobID: "a", Task: "task", ScheduledAt: t0, Status: sundial.StatusPending, Attempt: 1}}
	}
	runs, err := claimAt(s, t0, 10, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Errorf("Claim returned a duplicate of a recorded fire: %v", runIDs(runs))
	}
	if _, err := s.GetRun(ctx, "r3"); !errors.Is(err, sundial.ErrRunNotFound) {
		t.Errorf("duplicate run r3 was stored: %v", err)
	}
}

func testScheduledRuns(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	r := sundial.Run{ID: "retry", JobID: "a", Task: "task", ScheduledAt: t0, Status: sundial.StatusScheduled,
		Attempt: 2, NotBefore: t0.Add(10 * time.Second)}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if runs, _ := claimAt(s, t0.Add(9*time.Second), 10, advance); len(runs) != 0 {
		t.Errorf("claimed %v before NotBefore", runIDs(runs))
	}
	runs, err := claimAt(s, t0.Add(10*time.Second), 10, advance)
	if err != nil || len(runs) != 1 || runs[0].ID != "retry" || runs[0].Status != sundial.StatusPending ||
		!runs[0].ClaimedAt.Equal(t0.Add(10*time.Second)) || runs[0].Incarnation != "test-inc" {
		t.Fatalf("Claim at NotBefore = %+v, %v; want the retry pending, claimed then by test-inc", runs, err)
	}
	if stored, _ := s.GetRun(ctx, "retry"); stored.Status != sundial.StatusPending || stored.Incarnation != "test-inc" {
		t.Errorf("stored retry is %s held by %q, want pending held by test-inc", stored.Status, stored.Incarnation)
	}
	if again, _ := claimAt(s, t0.Add(time.Hour), 10, advance); len(again) != 0 {
		t.Errorf("a scheduled run was claimed twice: %v", runIDs(again))
	}
	if w, _ := s.NextWake(ctx, "test-node"); !w.IsZero() {
		t.Errorf("NextWake after the claim = %s, want zero", w)
	}
}

func testQueued(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	for i, id := range []string{"q1", "q2"} {
		r := sundial.Run{ID: id, JobID: "a", Task: "task", ScheduledAt: t0.Add(time.Duration(i) * time.Minute),
			Status: sundial.StatusQueued, Attempt: 1}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.PromoteQueued(ctx, "other", t0); ok || err != nil {
		t.Errorf("PromoteQueued of a job with nothing queued = %v, %v", ok, err)
	}
	ok, err := s.PromoteQueued(ctx, "a", t0)
	if !ok || err != nil {
		t.Fatalf("PromoteQueued = %v, %v", ok, err)
	}
	runs, _ := claimAt(s, t0, 10, advance)
	if len(runs) != 1 || runs[0].ID != "q1" {
		t.Errorf("after promotion Claim = %v, want the oldest queued run q1", runIDs(runs))
	}
}

func testListRuns(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	for i := range 5 {
		status := sundial.StatusSucceeded
		if i%2 == 1 {
			status = sundial.StatusFailed
		}
		job := "a"
		if i == 4 {
			job = "b"
		}
		r := sundial.Run{ID: fmt.Sprint("r", i), JobID: job, Task: "task", ScheduledAt: t0.Add(time.Duration(i) * time.Minute),
			Status: status, Attempt: 1}
		if i == 1 || i == 2 {
			r.Backfill = "bf1"
		}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	check := func(f sundial.RunFilter, want string) {
		t.Helper()
		runs, err := s.ListRuns(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(runIDs(runs))
		if got != want {
			t.Errorf("ListRuns(%+v) = %s, want %s", f, got, want)
		}
	}
	check(sundial.RunFilter{}, "[r4 r3 r2 r1 r0]")
	check(sundial.RunFilter{JobID: "a"}, "[r3 r2 r1 r0]")
	check(sundial.RunFilter{Status: sundial.StatusFailed}, "[r3 r1]")
	check(sundial.RunFilter{JobID: "a", Limit: 2}, "[r3 r2]")
	check(sundial.RunFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, "[r2 r1]")
	check(sundial.RunFilter{Backfill: "bf1"}, "[r2 r1]")
	check(sundial.RunFilter{Backfill: "bf1", Status: sundial.StatusFailed}, "[r1]")
	if r, err := s.GetRun(ctx, "r2"); err != nil || r.Backfill != "bf1" {
		t.Errorf("GetRun(r2) = backfill %q, %v; want bf1 kept", r.Backfill, err)
	}
	if _, err := s.GetRun(ctx, "nope"); !errors.Is(err, sundial.ErrRunNotFound) {
		t.Errorf("GetRun of a missing run: %v, want ErrRunNotFound", err)
	}
}

// testConcurrentClaims has many goroutines claim the same jobs at once:
// every fire must be claimed exactly once.
func testConcurrentClaims(t *testing.T, s sundial.Store) {
	ConcurrentClaims(t, []sundial.Store{s})
}

// ConcurrentClaims has 8 goroutines claim the fires of 20 jobs over 30
// steps through the given stores (handles on one database, as separate
// processes or replicas would hold), and checks that every fire was
// claimed exactly once.
func ConcurrentClaims(t *testing.T, stores []sundial.Store) {
	t.Helper()
	const jobs, fires = 20, 30
	for i := range jobs {
		mustCreate(t, stores[0], job(fmt.Sprint("j", i), t0))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for g := range 8 {
		s := stores[g%len(stores)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for step := range fires {
				runs, err := claimAt(s, t0.Add(time.Duration(step)*time.Minute), 7, advance)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, r := range runs {
					seen[r.FireKey()]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Drain what is still due at the last step.
	for {
		runs, err := claimAt(stores[0], t0.Add((fires-1)*time.Minute), 100, advance)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 0 {
			break
		}
		for _, r := range runs {
			seen[r.FireKey()]++
		}
	}
	if len(seen) != jobs*fires {
		t.Errorf("%d distinct fires claimed, want %d", len(seen), jobs*fires)
	}
	for key, n := range seen {
		if n != 1 {
			t.Errorf("fire %s claimed %d times", key, n)
		}
	}
}

// Populate stores a known set of jobs and runs, for CheckPopulated to find
// after the store has been closed and opened again.
func Populate(t *testing.T, s sundial.Store) {
	t.Helper()
	ctx := context.Background()
	j := job("kept", t0.Add(time.Hour))
	j.Name, j.Args = "kept job", []byte(`{"n":1}`)
	j.Options.MaxAttempts = 3
	mustCreate(t, s, j)
	p := job("paused", time.Time{})
	p.Paused, p.PauseReason = true, "because"
	mustCreate(t, s, p)
	r := sundial.Run{ID: "r1", JobID: "kept", Task: "task", ScheduledAt: t0, StartedAt: t0, EndedAt: t0.Add(time.Second),
		Status: sundial.StatusSucceeded, Attempt: 1, Result: []byte(`"done"`)}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
}

// CheckPopulated checks that what Populate stored is all there.
func CheckPopulated(t *testing.T, s sundial.Store) {
	t.Helper()
	ctx := context.Background()
	j, err := s.GetJob(ctx, "kept")
	if err != nil {
		t.Fatalf("job lost: %v", err)
	}
	if j.Name != "kept job" || string(j.Args) != `{"n":1}` || j.Options.MaxAttempts != 3 || !j.NextRunAt.Equal(t0.Add(time.Hour)) ||
		j.Trigger.Expr != "* * * * *" || j.Version != 1 || len(j.Tags) != 1 {
		t.Errorf("job changed: %+v", j)
	}
	p, err := s.GetJob(ctx, "paused")
	if err != nil || !p.Paused || p.PauseReason != "because" || !p.NextRunAt.IsZero() {
		t.Errorf("paused job = %+v, %v", p, err)
	}
	r, err := s.GetRun(ctx, "r1")
	if err != nil || r.Status != sundial.StatusSucceeded || string(r.Result) != `"done"` || !r.EndedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("run = %+v, %v", r, err)
	}
	if w, _ := s.NextWake(ctx, "test-node"); !w.Equal(t0.Add(time.Hour)) {
		t.Errorf("NextWake = %s, want %s", w, t0.Add(time.Hour))
	}
}

func testQueues(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	for _, q := range []string{"", "gpu", "eu"} {
		j := job("job-"+q, t0)
		j.Queue = q
		mustCreate(t, s, j)
		r := sundial.Run{ID: "retry-" + q, JobID: j.ID, Task: "task", ScheduledAt: t0.Add(-time.Hour), Status: sundial.StatusScheduled,
			Attempt: 2, NotBefore: t0, Queue: q}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := s.Claim(ctx, sundial.ClaimRequest{Now: t0, Limit: 10, Node: "n", LeaseUntil: t0.Add(time.Minute),
		Queues: []string{"gpu", "eu"}}, advance)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range runs {
		got[r.JobID] = true
		if r.Queue == "" {
			t.Errorf("claimed %s from the default queue", r.ID)
		}
	}
	if len(runs) != 4 || !got["job-gpu"] || !got["job-eu"] {
		t.Errorf("claim in queues gpu, eu = %v, want the retries and fires of job-gpu and job-eu", runIDs(runs))
	}
	rest, err := claimAt(s, t0, 10, advance)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 2 || rest[0].JobID != "job-" || rest[1].JobID != "job-" {
		t.Errorf("claim in all queues then = %v, want only the default queue's retry and fire", runIDs(rest))
	}
	j, _ := s.GetJob(ctx, "job-gpu")
	if j.Queue != "gpu" {
		t.Errorf("queue stored as %q", j.Queue)
	}
}

func testLeases(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	mustCreate(t, s, job("a", t0))
	mustCreate(t, s, job("b", t0))
	claimed, err := s.Claim(ctx, sundial.ClaimRequest{Now: t0, Limit: 1, Node: "dies", Incarnation: "dies-1", LeaseUntil: t0.Add(30 * time.Second)}, advance)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	if claimed[0].Node != "dies" || !claimed[0].LeaseUntil.Equal(t0.Add(30*time.Second)) {
		t.Errorf("claimed run has node %q lease %s", claimed[0].Node, claimed[0].LeaseUntil)
	}
	other, err := s.Claim(ctx, sundial.ClaimRequest{Now: t0, Limit: 1, Node: "lives", Incarnation: "lives-1", LeaseUntil: t0.Add(30 * time.Second)}, advance)
	if err != nil || len(other) != 1 {
		t.Fatalf("claim = %v, %v", other, err)
	}
	// Only the living node renews.
	beat, err := s.Heartbeat(ctx, sundial.HeartbeatRequest{Node: "lives", Incarnation: "lives-1", Now: t0.Add(20 * time.Second), LeaseUntil: t0.Add(50 * time.Second),
		Runs: []string{other[0].ID, claimed[0].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(beat.Held) != 1 || beat.Held[0] != other[0].ID || len(beat.Cancel) != 0 {
		t.Errorf("Heartbeat = %+v, want it to hold %s and cancel nothing", beat, other[0].ID)
	}
	if lost, err := s.ReapLost(ctx, t0.Add(29*time.Second)); err != nil || len(lost) != 0 {
		t.Errorf("ReapLost before any lease ended = %v, %v", runIDs(lost), err)
	}
	lost, err := s.ReapLost(ctx, t0.Add(31*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 1 || lost[0].ID != claimed[0].ID || lost[0].Status != sundial.StatusLost || lost[0].Error == "" {
		t.Fatalf("ReapLost = %+v, want the dead node's run, lost, with a reason", lost)
	}
	if again, _ := s.ReapLost(ctx, t0.Add(32*time.Second)); len(again) != 0 {
		t.Errorf("a lost run was reaped twice: %v", runIDs(again))
	}
	stored, _ := s.GetRun(ctx, claimed[0].ID)
	if stored.Status != sundial.StatusLost {
		t.Errorf("stored run is %s, want lost", stored.Status)
	}
	// The dead node comes back and tries to record an outcome: refused.
	stored.Status = sundial.StatusSucceeded
	if err := s.UpdateRun(ctx, stored); !errors.Is(err, sundial.ErrRunLost) {
		t.Errorf("UpdateRun of a lost run = %v, want ErrRunLost", err)
	}
	living, _ := s.GetRun(ctx, other[0].ID)
	if living.Status != sundial.StatusPending || !living.LeaseUntil.Equal(t0.Add(50*time.Second)) {
		t.Errorf("the living node's run: %s, lease %s", living.Status, living.LeaseUntil)
	}
	// Its lost run no longer counts as active.
	var sawActive = -1
	mustCreateAt := func(plan sundial.PlanFunc) { _, _ = claimAt(s, t0.Add(2*time.Minute), 10, plan) }
	mustCreateAt(func(j sundial.Job, active int, queued bool) (sundial.Job, []sundial.Run) {
		if j.ID == "a" {
			sawActive = active
		}
		j.NextRunAt = j.NextRunAt.Add(time.Hour)
		return j, nil
	})
	if sawActive != 0 {
		t.Errorf("job a has %d active runs after its run was lost, want 0", sawActive)
	}
}

func testNodes(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	for _, id := range []string{"b", "a"} {
		if _, err := s.RegisterNode(ctx, sundial.Node{ID: id, Incarnation: id + "-1", Host: "h-" + id, PID: 42, Version: "v1", Queues: []string{"q"},
			StartedAt: t0, LastSeen: t0, Facts: map[string]string{"run_as": "nobody (65534:65534)", "landlock": "abi 7"}}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Heartbeat(ctx, sundial.HeartbeatRequest{Node: "a", Incarnation: "a-1", Now: t0.Add(time.Minute), LeaseUntil: t0.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Registering again (a restart under the same ID) refreshes the record.
	if _, err := s.RegisterNode(ctx, sundial.Node{ID: "b", Incarnation: "b-2", Host: "h-b", PID: 43, Version: "v2", StartedAt: t0.Add(time.Hour), LastSeen: t0.Add(time.Hour)}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	nodes, err := s.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].ID != "a" || nodes[1].ID != "b" {
		t.Fatalf("ListNodes = %+v", nodes)
	}
	if a := nodes[0]; a.Host != "h-a" || a.PID != 42 || a.Version != "v1" || len(a.Queues) != 1 || !a.LastSeen.Equal(t0.Add(time.Minute)) ||
		!maps.Equal(a.Facts, map[string]string{"run_as": "nobody (65534:65534)", "landlock": "abi 7"}) {
		t.Errorf("node a = %+v", a)
	}
	// Facts are the incarnation's: a restart without them has none.
	if b := nodes[1]; b.PID != 43 || b.Version != "v2" || len(b.Queues) != 0 || !b.StartedAt.Equal(t0.Add(time.Hour)) || b.Incarnation != "b-2" || len(b.Facts) != 0 {
		t.Errorf("node b after re-registering = %+v", b)
	}
	// The store keeps its own copy of the facts.
	nodes[0].Facts["landlock"] = "changed"
	if again, _ := s.ListNodes(ctx); again[0].Facts["landlock"] != "abi 7" {
		t.Errorf("facts changed through a listed node: %+v", again[0].Facts)
	}
}

func testPrune(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	for i := range 5 {
		at := t0.Add(time.Duration(i) * time.Minute)
		r := sundial.Run{ID: fmt.Sprint("r", i), JobID: "a", Task: "task", ScheduledAt: at, StartedAt: at, EndedAt: at.Add(time.Second),
			Status: sundial.StatusSucceeded, Attempt: 1}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	running := sundial.Run{ID: "running", JobID: "a", Task: "task", ScheduledAt: t0.Add(-time.Hour), StartedAt: t0.Add(-time.Hour),
		Status: sundial.StatusRunning, Attempt: 1}
	other := sundial.Run{ID: "other", JobID: "b", Task: "task", ScheduledAt: t0, EndedAt: t0.Add(time.Second), Status: sundial.StatusFailed, Attempt: 1}
	for _, r := range []sundial.Run{running, other} {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	remaining := func() string {
		runs, err := s.ListRuns(ctx, sundial.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(runIDs(runs))
	}
	n, err := s.PruneRuns(ctx, time.Time{}, 3)
	if err != nil || n != 2 {
		t.Errorf("PruneRuns(keep 3) = %d, %v; want 2 (a's oldest ended runs beyond its newest 3)", n, err)
	}
	if got := remaining(); got != "[r4 r3 r2 other running]" {
		t.Errorf("after keeping 3 per job: %s", got)
	}
	n, err = s.PruneRuns(ctx, t0.Add(3*time.Minute+30*time.Second), 0)
	if err != nil || n != 3 {
		t.Errorf("PruneRuns(older than 00:03:30) = %d, %v; want 3 (r2, r3 and b's run)", n, err)
	}
	if got := remaining(); got != "[r4 running]" {
		t.Errorf("after pruning by age: %s (the running run must stay, however old)", got)
	}
	if n, err := s.PruneRuns(ctx, time.Time{}, 0); n != 0 || err != nil {
		t.Errorf("PruneRuns with no limits = %d, %v", n, err)
	}
}

func testUpdateRuns(t *testing.T, s sundial.Store) {
	batcher, ok := s.(sundial.RunBatchUpdater)
	if !ok {
		t.Skip("the store does not implement RunBatchUpdater")
	}
	ctx := context.Background()
	mustCreate(t, s, job("a", t0))
	claimed, err := claimAt(s, t0, 1, advance)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	lostRun := sundial.Run{ID: "will-be-lost", JobID: "a", Task: "task", ScheduledAt: t0.Add(-time.Hour), Status: sundial.StatusRunning,
		Attempt: 1, Node: "dead", Incarnation: "dead-1", LeaseUntil: t0}
	if err := s.CreateRun(ctx, lostRun); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReapLost(ctx, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	started := claimed[0]
	started.Status, started.StartedAt = sundial.StatusRunning, t0
	ended := started
	ended.Status, ended.EndedAt, ended.Result = sundial.StatusSucceeded, t0.Add(time.Second), []byte(`{"ok":true}`)
	lostRun.Status = sundial.StatusSucceeded
	missing := sundial.Run{ID: "missing", JobID: "a", ScheduledAt: t0, Attempt: 1, Status: sundial.StatusSucceeded}
	answers, err := batcher.UpdateRuns(ctx, []sundial.Run{started, lostRun, ended, missing})
	if err != nil {
		t.Fatal(err)
	}
	if answers[0] != nil || !errors.Is(answers[1], sundial.ErrRunLost) || answers[2] != nil || !errors.Is(answers[3], sundial.ErrRunNotFound) {
		t.Errorf("answers = %v, want nil, ErrRunLost, nil, ErrRunNotFound", answers)
	}
	got, _ := s.GetRun(ctx, started.ID)
	if got.Status != sundial.StatusSucceeded || string(got.Result) != `{"ok":true}` || !got.EndedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("run after a batch with its start and end = %+v, want the end", got)
	}
	if l, _ := s.GetRun(ctx, "will-be-lost"); l.Status != sundial.StatusLost {
		t.Errorf("a lost run was overwritten: %s", l.Status)
	}
}

// testChainedRuns: a chained run is recorded once per upstream run, apart
// from the trigger's own run of the same instant, and keeps its upstream.
func testChainedRuns(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	up := &sundial.UpstreamRun{ID: "u1", JobID: "a", ScheduledAt: t0.Add(-time.Hour), Status: sundial.StatusSucceeded,
		Result: json.RawMessage(`{"rows":3}`)}
	chained := func(id string, u *sundial.UpstreamRun) sundial.Run {
		return sundial.Run{ID: id, JobID: "b", Task: "task", ScheduledAt: t0, NotBefore: t0, Status: sundial.StatusScheduled,
			Attempt: 1, Upstream: u}
	}
	if err := s.CreateRun(ctx, chained("c1", up)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRun(ctx, chained("c2", up)); !errors.Is(err, sundial.ErrDuplicateRun) {
		t.Errorf("a second run chained from the same upstream run: %v, want ErrDuplicateRun", err)
	}
	other := *up
	other.ID = "u2"
	if err := s.CreateRun(ctx, chained("c3", &other)); err != nil {
		t.Errorf("a run chained from another upstream run: %v", err)
	}
	own := sundial.Run{ID: "own", JobID: "b", Task: "task", ScheduledAt: t0, Status: sundial.StatusSucceeded, Attempt: 1}
	if err := s.CreateRun(ctx, own); err != nil {
		t.Errorf("the trigger's own run of the same instant: %v", err)
	}
	got, err := s.GetRun(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Manual || got.Upstream == nil || got.Upstream.ID != "u1" || got.Upstream.JobID != "a" || !got.Upstream.ScheduledAt.Equal(up.ScheduledAt) ||
		got.Upstream.Status != sundial.StatusSucceeded || string(got.Upstream.Result) != `{"rows":3}` {
		t.Errorf("GetRun(c1) = manual %v, upstream %+v", got.Manual, got.Upstream)
	}
	if got, _ := s.GetRun(ctx, "own"); got.Upstream != nil {
		t.Errorf("the trigger's own run has an upstream: %+v", got.Upstream)
	}
}
