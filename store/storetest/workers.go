package storetest

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// workerClaim claims as worker session "worker:w1"/"sess-1" for tasks.
func workerClaim(s sundial.Store, now time.Time, limit int, tasks, queues []string) ([]sundial.Run, error) {
	return s.Claim(context.Background(), sundial.ClaimRequest{Now: now, Limit: limit, Node: "worker:w1",
		Incarnation: "sess-1", LeaseUntil: now.Add(time.Minute), Queues: queues, Tasks: tasks}, advance)
}

// sortedIDs returns the runs' IDs in order.
func sortedIDs(runs []sundial.Run) []string {
	out := runIDs(runs)
	slices.Sort(out)
	return out
}

// testWorkerTasks checks that the jobs and runs of worker tasks go to
// workers only — also those of a task declared after its jobs were — and
// that a worker takes only its own tasks and queues.
func testWorkerTasks(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	node := job("node-job", t0)
	mustCreate(t, s, node)
	early := job("early", t0)
	early.Task = "send_report"
	mustCreate(t, s, early)
	late := job("late", t0.Add(time.Second))
	late.Task, late.Queue = "cleanup", "billing"
	mustCreate(t, s, late)

	if err := s.DeclareTasks(ctx, []string{"send_report"}, false, t0); err != nil {
		t.Fatal(err)
	}
	// Declared after its job: the job leaves the nodes' claims all the same.
	if err := s.DeclareTasks(ctx, []string{"cleanup"}, true, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeclareTasks(ctx, []string{"send_report"}, true, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	tasks, err := s.WorkerTasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []sundial.WorkerTask{
		{Name: "cleanup", DeclaredAt: t0.Add(time.Second), ServedAt: t0.Add(time.Second)},
		{Name: "send_report", DeclaredAt: t0, ServedAt: t0.Add(2 * time.Second)},
	}
	if !reflect.DeepEqual(tasks, want) {
		t.Fatalf("WorkerTasks = %+v, want %+v (a second declaration keeps the first's time)", tasks, want)
	}

	now := t0.Add(time.Minute)
	wake, err := s.NextWake(ctx, "test-node")
	if err != nil || !wake.Equal(t0) {
		t.Fatalf("NextWake = %v, %v; want the node job's %v", wake, err, t0)
	}
	runs, err := claimAt(s, now, 10, advance)
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedIDs(runs); !slices.Equal(got, []string{"run-node-job-120000"}) {
		t.Fatalf("a node claimed %v, want only the node task's run", got)
	}
	if wake, _ := s.NextWake(ctx, "test-node"); !wake.Equal(t0.Add(time.Minute)) {
		t.Fatalf("NextWake after the claim = %v, want %v: the worker tasks' due jobs must not wake nodes", wake, t0.Add(time.Minute))
	}

	wake, err = s.NextWorkerWake(ctx, []string{"cleanup"}, []string{"billing"})
	if err != nil || !wake.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextWorkerWake(cleanup, billing) = %v, %v; want %v", wake, err, t0.Add(time.Second))
	}
	if wake, _ := s.NextWorkerWake(ctx, []string{"cleanup"}, []string{"default"}); !wake.IsZero() {
		t.Fatalf("NextWorkerWake(cleanup, another queue) = %v, want zero", wake)
	}
	if wake, _ := s.NextWorkerWake(ctx, []string{"send_report", "cleanup"}, nil); !wake.Equal(t0) {
		t.Fatalf("NextWorkerWake(both) = %v, want %v", wake, t0)
	}

	// A worker of another queue gets nothing; one of send_report only its
	// job, leased to it.
	if runs, err := workerClaim(s, now, 10, []string{"cleanup"}, []string{"default"}); err != nil || len(runs) != 0 {
		t.Fatalf("worker claim of another queue = %v, %v; want nothing", runIDs(runs), err)
	}
	runs, err = workerClaim(s, now, 10, []string{"send_report"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedIDs(runs); !slices.Equal(got, []string{"run-early-120000"}) {
		t.Fatalf("send_report worker claimed %v, want run-early-120000", got)
	}
	if r := runs[0]; r.Node != "worker:w1" || r.Incarnation != "sess-1" || r.Status != sundial.StatusPending || !r.LeaseUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("worker's run = node %q incarnation %q status %s lease %v; want it leased to the session", r.Node, r.Incarnation, r.Status, r.LeaseUntil)
	}
	runs, err = workerClaim(s, now, 10, []string{"cleanup", "send_report"}, []string{"billing"})
	if err != nil || !slices.Equal(sortedIDs(runs), []string{"run-late-120001"}) {
		t.Fatalf("billing worker claimed %v, %v; want run-late-120001", runIDs(runs), err)
	}
}

// testWorkerRuns checks scheduled runs (retries) of worker tasks, and that
// a worker gives back runs it could not deliver.
func testWorkerRuns(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	if err := s.DeclareTasks(ctx, []string{"send_report"}, false, t0); err != nil {
		t.Fatal(err)
	}
	j := job("report", time.Time{})
	j.Task = "send_report"
	mustCreate(t, s, j)
	retry := sundial.Run{ID: "retry-1", JobID: "report", Task: "send_report", ScheduledAt: t0, NotBefore: t0.Add(time.Second),
		Status: sundial.StatusScheduled, Attempt: 2}
	if err := s.CreateRun(ctx, retry); err != nil {
		t.Fatal(err)
	}
	if wake, _ := s.NextWake(ctx, "test-node"); !wake.IsZero() {
		t.Fatalf("NextWake = %v, want zero: a worker task's retry must not wake nodes", wake)
	}
	if wake, _ := s.NextWorkerWake(ctx, []string{"send_report"}, nil); !wake.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextWorkerWake = %v, want the retry's %v", wake, t0.Add(time.Second))
	}
	now := t0.Add(time.Minute)
	if runs, _ := claimAt(s, now, 10, advance); len(runs) != 0 {
		t.Fatalf("a node claimed %v, want nothing", runIDs(runs))
	}
	runs, err := workerClaim(s, now, 10, []string{"send_report"}, nil)
	if err != nil || !slices.Equal(sortedIDs(runs), []string{"retry-1"}) {
		t.Fatalf("worker claimed %v, %v; want retry-1", runIDs(runs), err)
	}

	// Another session's release changes nothing; the holder's puts the
	// run back for any worker, at once.
	if n, err := s.ReleaseRuns(ctx, "worker:w1", "sess-0", []string{"retry-1"}); err != nil || n != 0 {
		t.Fatalf("release by another session = %d, %v; want 0", n, err)
	}
	if n, err := s.ReleaseRuns(ctx, "worker:w1", "sess-1", []string{"retry-1", "no-such-run"}); err != nil || n != 1 {
		t.Fatalf("release = %d, %v; want 1", n, err)
	}
	got, err := s.GetRun(ctx, "retry-1")
	if err != nil || got.Status != sundial.StatusScheduled || got.Node != "" || got.Incarnation != "" || got.NotBefore.After(now) {
		t.Fatalf("released run = %+v, %v; want scheduled for anyone, due", got, err)
	}
	if wake, _ := s.NextWorkerWake(ctx, []string{"send_report"}, nil); wake.IsZero() || wake.After(now) {
		t.Fatalf("NextWorkerWake after release = %v, want due by %v", wake, now)
	}
	runs, err = s.Claim(ctx, sundial.ClaimRequest{Now: now, Limit: 1, Node: "worker:w2", Incarnation: "sess-2",
		LeaseUntil: now.Add(time.Minute), Tasks: []string{"send_report"}}, advance)
	if err != nil || len(runs) != 1 || runs[0].ID != "retry-1" || runs[0].Incarnation != "sess-2" {
		t.Fatalf("second worker's claim = %+v, %v; want retry-1 leased to sess-2", runs, err)
	}
	// A run a worker's claim recorded running, which the worker gives
	// back unstarted, goes back too, without its start.
	runs[0].Status, runs[0].StartedAt = sundial.StatusRunning, now
	if err := s.UpdateRun(ctx, runs[0]); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.ReleaseRuns(ctx, "worker:w2", "sess-2", []string{"retry-1"}); n != 1 {
		t.Fatalf("a running run held by the session was not released")
	}
	if got, _ := s.GetRun(ctx, "retry-1"); got.Status != sundial.StatusScheduled || !got.StartedAt.IsZero() || got.Incarnation != "" {
		t.Fatalf("released running run = %+v, want scheduled without a start", got)
	}
	// An ended run is never released.
	runs, _ = s.Claim(ctx, sundial.ClaimRequest{Now: now, Limit: 1, Node: "worker:w2", Incarnation: "sess-2",
		LeaseUntil: now.Add(time.Minute), Tasks: []string{"send_report"}}, advance)
	runs[0].Status, runs[0].EndedAt = sundial.StatusSucceeded, now
	if err := s.UpdateRun(ctx, runs[0]); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.ReleaseRuns(ctx, "worker:w2", "sess-2", []string{runs[0].ID}); n != 0 {
		t.Fatalf("an ended run was released")
	}
}

// testWorkerNodes checks that a worker session is kept as a node of its
// kind, with its tasks and capacity, how busy it is, and that a replaced
// session learns so from its heartbeat.
func testWorkerNodes(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	w := sundial.Node{ID: "worker:billing-1", Incarnation: "sess-1", Host: "web-7", PID: 42, Version: "sundial-python 0.1",
		Kind: sundial.NodeWorker, Tasks: []string{"cleanup", "send_report"}, Capacity: 8, Queues: []string{"billing"},
		StartedAt: t0, LastSeen: t0}
	if _, err := s.RegisterNode(ctx, w, t0); err != nil {
		t.Fatal(err)
	}
	res, err := s.Heartbeat(ctx, sundial.HeartbeatRequest{Node: w.ID, Incarnation: "sess-1", Now: t0.Add(time.Second),
		LeaseUntil: t0.Add(time.Minute), Runs: []string{"a", "b"}})
	if err != nil || res.Replaced {
		t.Fatalf("heartbeat = %+v, %v; want the current session", res, err)
	}
	nodes, err := s.ListNodes(ctx)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("ListNodes = %v, %v", nodes, err)
	}
	got := nodes[0]
	if got.Kind != sundial.NodeWorker || !slices.Equal(got.Tasks, w.Tasks) || got.Capacity != 8 || got.Busy != 2 ||
		!got.LastSeen.Equal(t0.Add(time.Second)) || !slices.Equal(got.Queues, w.Queues) {
		t.Fatalf("worker node = %+v, want kind worker, tasks %v, capacity 8, busy 2, seen at %v", got, w.Tasks, t0.Add(time.Second))
	}
	w.Incarnation = "sess-2"
	if _, err := s.RegisterNode(ctx, w, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	res, err = s.Heartbeat(ctx, sundial.HeartbeatRequest{Node: w.ID, Incarnation: "sess-1", Now: t0.Add(3 * time.Second),
		LeaseUntil: t0.Add(time.Minute)})
	if err != nil || !res.Replaced {
		t.Fatalf("heartbeat of the replaced session = %+v, %v; want Replaced", res, err)
	}
	if nodes, _ := s.ListNodes(ctx); nodes[0].Busy != 0 || nodes[0].Incarnation != "sess-2" {
		t.Fatalf("after a new session: %+v, want busy 0 and sess-2", nodes[0])
	}

	// Old records go, but not one that a run not yet ended names.
	long := t0.Add(-time.Hour)
	old := sundial.Node{ID: "worker:gone", Incarnation: "s", Kind: sundial.NodeWorker, Tasks: []string{"t"}, Capacity: 1, StartedAt: long, LastSeen: long}
	busy := sundial.Node{ID: "worker:busy", Incarnation: "s", Kind: sundial.NodeWorker, Tasks: []string{"t"}, Capacity: 1, StartedAt: long, LastSeen: long}
	for _, n := range []sundial.Node{old, busy} {
		if _, err := s.RegisterNode(ctx, n, t0); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate(t, s, job("j", time.Time{}))
	if err := s.CreateRun(ctx, sundial.Run{ID: "held", JobID: "j", Task: "t", ScheduledAt: t0, Status: sundial.StatusRunning, Attempt: 1,
		Node: "worker:busy", Incarnation: "s", LeaseUntil: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.ForgetNodes(ctx, t0.Add(-time.Second))
	if err != nil || n != 1 {
		t.Fatalf("ForgetNodes = %d, %v; want 1 (the idle old session)", n, err)
	}
	var ids []string
	nodes, _ = s.ListNodes(ctx)
	for _, nd := range nodes {
		ids = append(ids, nd.ID)
	}
	if !slices.Equal(ids, []string{"worker:billing-1", "worker:busy"}) {
		t.Fatalf("nodes after ForgetNodes = %v, want the recent one and the one a run names", ids)
	}
}

// testUndeclare checks that an undeclared worker task's jobs and runs go
// back to the nodes.
func testUndeclare(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	j := job("report", t0)
	j.Task = "send_report"
	mustCreate(t, s, j)
	if err := s.DeclareTasks(ctx, []string{"send_report"}, false, t0); err != nil {
		t.Fatal(err)
	}
	retry := sundial.Run{ID: "retry-1", JobID: "report", Task: "send_report", ScheduledAt: t0.Add(-time.Hour), NotBefore: t0,
		Status: sundial.StatusScheduled, Attempt: 2}
	if err := s.CreateRun(ctx, retry); err != nil {
		t.Fatal(err)
	}
	if runs, _ := claimAt(s, t0.Add(time.Second), 10, advance); len(runs) != 0 {
		t.Fatalf("a node claimed a worker task's runs: %v", runIDs(runs))
	}
	if n, err := s.UndeclareTasks(ctx, []string{"send_report", "never-declared"}); err != nil || n != 1 {
		t.Fatalf("UndeclareTasks = %d, %v; want 1", n, err)
	}
	if tasks, _ := s.WorkerTasks(ctx); len(tasks) != 0 {
		t.Fatalf("worker tasks after undeclaring = %v", tasks)
	}
	if wake, _ := s.NextWake(ctx, "test-node"); wake.IsZero() || wake.After(t0) {
		t.Fatalf("NextWake = %v, want the undeclared task's due job and run", wake)
	}
	runs, err := claimAt(s, t0.Add(time.Second), 10, advance)
	if err != nil || !slices.Equal(sortedIDs(runs), []string{"retry-1", "run-report-120000"}) {
		t.Fatalf("a node's claim after undeclaring = %v, %v; want the retry and the job's fire", sortedIDs(runs), err)
	}
}
