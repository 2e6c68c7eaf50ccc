package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
)

// startGate runs the job (a "gate" task) now and waits until it runs.
func (h *harness) startGate(jobID string) sundial.Run {
	h.t.Helper()
	res := h.do(admin.RoleOperator, "POST", "/api/v1/jobs/"+jobID+"/run", nil)
	var run sundial.Run
	res.json(h.t, &run)
	if res.status != 202 {
		h.t.Fatalf("run %s = %d %s", jobID, res.status, res.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := h.s.RunByID(context.Background(), run.ID)
		if err == nil && got.Status == sundial.StatusRunning {
			return got
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("run %s never ran: %+v %v", run.ID, got, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// auditOf returns the audit entries about target, newest first.
func (h *harness) auditOf(target string) []admin.AuditEntry {
	h.t.Helper()
	var audit AuditList
	h.do(admin.RoleAdmin, "GET", "/api/v1/audit?target="+target, nil).json(h.t, &audit)
	return audit.Entries
}

func actions(entries []admin.AuditEntry) string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return fmt.Sprint(out)
}

func (h *harness) problem(res response, status int, field string) Problem {
	h.t.Helper()
	var p Problem
	if res.status != status || res.header.Get("Content-Type") != "application/problem+json" {
		h.t.Errorf("answer %d (%s) %s, want a %d problem", res.status, res.header.Get("Content-Type"), res.body, status)
		return p
	}
	res.json(h.t, &p)
	if p.Status != status || p.Field != field || p.Title == "" {
		h.t.Errorf("problem %+v, want status %d, field %q", p, status, field)
	}
	return p
}

// TestCancelRun: an operator cancels an executing run (202, its node stops
// it: canceled) and a run that waits to start (200, canceled at once); a
// viewer may not; an ended run is a 409 problem, an unknown one 404; each
// cancel is audited with who asked.
func TestCancelRun(t *testing.T) {
	h := newHarness(t)
	if res := h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "long", "task": "gate", "trigger": "@daily"}`); res.status != 201 {
		t.Fatal(res.status)
	}
	run := h.startGate("long")
	if run.ClaimedAt.IsZero() || run.StartedAt.IsZero() || run.StartedAt.Before(run.ClaimedAt) {
		t.Errorf("claimed_at %s, started_at %s", run.ClaimedAt, run.StartedAt)
	}
	path := "/api/v1/runs/" + run.ID + "/cancel"
	for role, want := range map[admin.Role]int{"": 401, admin.RoleViewer: 403} {
		if res := h.do(role, "POST", path, nil); res.status != want {
			t.Errorf("cancel as %q = %d, want %d", role, res.status, want)
		}
	}
	if got, _ := h.s.RunByID(context.Background(), run.ID); got.Status != sundial.StatusRunning || got.CancelRequested {
		t.Fatalf("refused cancels changed the run: %+v", got)
	}
	res := h.do(admin.RoleOperator, "POST", path, nil)
	var asked sundial.Run
	res.json(t, &asked)
	if res.status != 202 || !asked.CancelRequested || asked.ID != run.ID || res.header.Get("Location") != "/api/v1/runs/"+run.ID {
		t.Fatalf("cancel a running run = %d %s", res.status, res.body)
	}
	ended := h.waitRun(run.ID)
	if ended.Status != sundial.StatusCanceled || !strings.Contains(ended.Output, "before the gate") {
		t.Errorf("canceled run = %+v", ended)
	}
	var raw map[string]any
	h.do(admin.RoleViewer, "GET", "/api/v1/runs/"+run.ID, nil).json(t, &raw)
	for _, k := range []string{"claimed_at", "started_at", "ended_at", "cancel_requested"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("GET run lacks %q: %v", k, raw)
		}
	}

	// Again: it has ended.
	p := h.problem(h.do(admin.RoleAdmin, "POST", path, nil), 409, "")
	if !strings.Contains(p.Detail, "canceled") || !strings.HasSuffix(p.Type, "/run-ended") {
		t.Errorf("second cancel: %+v", p)
	}
	h.problem(h.do(admin.RoleOperator, "POST", "/api/v1/runs/no-such-run/cancel", nil), 404, "")

	// A run that finished on its own cannot be canceled either.
	h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "quick", "task": "echo", "trigger": "@daily"}`)
	var quick sundial.Run
	h.do(admin.RoleOperator, "POST", "/api/v1/jobs/quick/run", nil).json(t, &quick)
	h.waitRun(quick.ID)
	if p := h.problem(h.do(admin.RoleOperator, "POST", "/api/v1/runs/"+quick.ID+"/cancel", nil), 409, ""); !strings.Contains(p.Detail, "succeeded") {
		t.Errorf("cancel a succeeded run: %+v", p)
	}

	// Listing canceled runs works.
	var list RunList
	h.do(admin.RoleViewer, "GET", "/api/v1/runs?status=canceled", nil).json(t, &list)
	if len(list.Runs) != 1 || list.Runs[0].ID != run.ID {
		t.Errorf("canceled runs = %+v", list.Runs)
	}

	entries := h.auditOf(run.ID)
	if actions(entries) != "[run.cancel]" || !strings.Contains(entries[0].Actor, "operator-token") ||
		!strings.Contains(string(entries[0].Detail), `"job_id":"long"`) || !strings.Contains(string(entries[0].Detail), "cancel_requested") {
		t.Errorf("audit of the run = %+v", entries)
	}
}

// TestCancelWaitingRun: on an API-only node a run now waits, scheduled,
// for a scheduler; canceling it cancels it at once (200).
func TestCancelWaitingRun(t *testing.T) {
	h := newAPIOnlyHarness(t)
	h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "later", "task": "echo", "trigger": "@daily"}`)
	var run sundial.Run
	h.do(admin.RoleOperator, "POST", "/api/v1/jobs/later/run", nil).json(t, &run)
	if run.Status != sundial.StatusScheduled {
		t.Fatalf("run now on an API-only node = %+v", run)
	}
	res := h.do(admin.RoleOperator, "POST", "/api/v1/runs/"+run.ID+"/cancel", nil)
	var canceled sundial.Run
	res.json(t, &canceled)
	if res.status != 200 || canceled.Status != sundial.StatusCanceled || canceled.EndedAt.IsZero() {
		t.Errorf("cancel a waiting run = %d %s", res.status, res.body)
	}
	if e := h.auditOf(run.ID); actions(e) != "[run.cancel]" || !strings.Contains(string(e[0].Detail), `"status":"canceled"`) {
		t.Errorf("audit = %+v", e)
	}
}

// TestPauseAndDeleteReportRunningRuns: pausing or deleting a job answers
// with its runs still going (ID, node, status); cancel_running=true also
// cancels them, each audited; cancel_running=false leaves them.
func TestPauseAndDeleteReportRunningRuns(t *testing.T) {
	h := newHarness(t)
	for _, id := range []string{"g1", "g2", "g3"} {
		if res := h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "`+id+`", "task": "gate", "trigger": "@daily"}`); res.status != 201 {
			t.Fatal(res.status)
		}
	}
	node := h.s.Status().Node

	// Pause, leaving the run going.
	run := h.startGate("g1")
	res := h.do(admin.RoleOperator, "POST", "/api/v1/jobs/g1/pause", nil)
	var paused PausedJob
	res.json(t, &paused)
	if res.status != 200 || !paused.Paused || len(paused.RunningRuns) != 1 {
		t.Fatalf("pause = %d %s", res.status, res.body)
	}
	if rr := paused.RunningRuns[0]; rr.ID != run.ID || rr.Node != node || rr.Status != sundial.StatusRunning || rr.CancelRequested || rr.StartedAt.IsZero() {
		t.Errorf("running run = %+v", rr)
	}
	if got, _ := h.s.RunByID(context.Background(), run.ID); got.Status != sundial.StatusRunning || got.CancelRequested {
		t.Errorf("a pause without cancel_running touched the run: %+v", got)
	}
	// Pause again, canceling it.
	h.problem(h.do(admin.RoleOperator, "POST", "/api/v1/jobs/g1/pause?cancel_running=maybe", nil), 400, "cancel_running")
	res = h.do(admin.RoleOperator, "POST", "/api/v1/jobs/g1/pause?cancel_running=true", nil)
	paused = PausedJob{}
	res.json(t, &paused)
	if res.status != 200 || len(paused.RunningRuns) != 1 || !paused.RunningRuns[0].CancelRequested {
		t.Fatalf("pause, cancel_running = %d %s", res.status, res.body)
	}
	if got := h.waitRun(run.ID); got.Status != sundial.StatusCanceled {
		t.Errorf("run after pause?cancel_running=true: %s", got.Status)
	}
	if e := h.auditOf(run.ID); actions(e) != "[run.cancel]" || !strings.Contains(string(e[0].Detail), `"via":"job.pause"`) {
		t.Errorf("audit of the canceled run = %+v", e)
	}
	if e := h.auditOf("g1"); actions(e) != "[job.pause job.pause job.run job.create]" || !strings.Contains(string(e[0].Detail), "cancel_running") {
		t.Errorf("audit of g1 = %s", actions(e))
	}
	// Nothing running: an empty list, not null.
	if res := h.do(admin.RoleOperator, "POST", "/api/v1/jobs/g1/pause", nil); !strings.Contains(string(res.body), `"running_runs":[]`) {
		t.Errorf("pause with nothing running: %s", res.body)
	}

	// Delete is for admins; it answers with the runs left going.
	run2 := h.startGate("g2")
	for _, role := range []admin.Role{admin.RoleViewer, admin.RoleOperator} {
		if res := h.do(role, "DELETE", "/api/v1/jobs/g2?cancel_running=true", nil); res.status != 403 {
			t.Errorf("delete as %s = %d", role, res.status)
		}
	}
	h.problem(h.do(admin.RoleAdmin, "DELETE", "/api/v1/jobs/g2?cancel_running=2", nil), 400, "cancel_running")
	res = h.do(admin.RoleAdmin, "DELETE", "/api/v1/jobs/g2?cancel_running=false", nil)
	var removal JobRemoval
	res.json(t, &removal)
	if res.status != 200 || removal.ID != "g2" || len(removal.RunningRuns) != 1 || removal.RunningRuns[0].ID != run2.ID ||
		removal.RunningRuns[0].Node != node || removal.RunningRuns[0].CancelRequested {
		t.Fatalf("delete, cancel_running=false = %d %s", res.status, res.body)
	}
	if res := h.do(admin.RoleViewer, "GET", "/api/v1/jobs/g2", nil); res.status != 404 {
		t.Errorf("deleted job = %d", res.status)
	}
	if got, _ := h.s.RunByID(context.Background(), run2.ID); got.Status != sundial.StatusRunning {
		t.Errorf("the run of the deleted job = %s, want it still running", got.Status)
	}
	if res := h.do(admin.RoleOperator, "POST", "/api/v1/runs/"+run2.ID+"/cancel", nil); res.status != 202 {
		t.Errorf("cancel the deleted job's run = %d", res.status)
	}
	h.waitRun(run2.ID)

	// Delete, canceling.
	run3 := h.startGate("g3")
	res = h.do(admin.RoleAdmin, "DELETE", "/api/v1/jobs/g3?cancel_running=true", nil)
	removal = JobRemoval{}
	res.json(t, &removal)
	if res.status != 200 || len(removal.RunningRuns) != 1 || !removal.RunningRuns[0].CancelRequested {
		t.Fatalf("delete, cancel_running=true = %d %s", res.status, res.body)
	}
	if got := h.waitRun(run3.ID); got.Status != sundial.StatusCanceled {
		t.Errorf("run of the deleted job = %s, want canceled", got.Status)
	}
	if e := h.auditOf(run3.ID); actions(e) != "[run.cancel]" || !strings.Contains(string(e[0].Detail), `"via":"job.delete"`) {
		t.Errorf("audit of the run = %+v", e)
	}
	if e := h.auditOf("g3"); actions(e) != "[job.delete job.run job.create]" {
		t.Errorf("audit of g3 = %s", actions(e))
	}
	h.problem(h.do(admin.RoleAdmin, "DELETE", "/api/v1/jobs/g3?cancel_running=true", nil), 404, "")
}

// TestClusterPause: operators pause and resume every node; the state shows
// in /scheduler and /status; nothing fires while paused; a repeated pause
// changes nothing and is not audited again.
func TestClusterPause(t *testing.T) {
	h := newHarness(t)
	var st SchedulerState
	h.do(admin.RoleViewer, "GET", "/api/v1/scheduler", nil).json(t, &st)
	if st.Paused || !st.Since.IsZero() {
		t.Errorf("initial state = %+v", st)
	}
	for role, want := range map[admin.Role]int{"": 401, admin.RoleViewer: 403} {
		if res := h.do(role, "POST", "/api/v1/scheduler/pause", nil); res.status != want {
			t.Errorf("pause as %q = %d, want %d", role, res.status, want)
		}
	}
	res := h.do(admin.RoleOperator, "POST", "/api/v1/scheduler/pause", nil)
	res.json(t, &st)
	if res.status != 200 || !st.Paused || st.Since.IsZero() || st.Changed == nil || !*st.Changed {
		t.Fatalf("pause = %d %s", res.status, res.body)
	}
	since := st.Since
	st = SchedulerState{}
	h.do(admin.RoleAdmin, "POST", "/api/v1/scheduler/pause", nil).json(t, &st)
	if !st.Paused || !st.Since.Equal(since) || st.Changed == nil || *st.Changed {
		t.Errorf("second pause = %+v, want unchanged since %s", st, since)
	}
	var status StatusView
	h.do(admin.RoleViewer, "GET", "/api/v1/status", nil).json(t, &status)
	if !status.Paused || !status.PausedSince.Equal(since) || !status.Node.Paused {
		t.Errorf("status while paused = %+v", status)
	}
	// Nothing fires while paused.
	h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "tick", "task": "echo", "trigger": {"type": "interval", "seconds": 1}, "options": {"run_on_start": true}}`)
	time.Sleep(300 * time.Millisecond)
	if runs, _ := h.s.Runs(context.Background(), sundial.RunFilter{JobID: "tick"}); len(runs) != 0 {
		t.Errorf("a job fired while the scheduler was paused: %+v", runs)
	}
	st = SchedulerState{}
	res = h.do(admin.RoleOperator, "POST", "/api/v1/scheduler/resume", nil)
	res.json(t, &st)
	if res.status != 200 || st.Paused || !st.Since.IsZero() || !*st.Changed {
		t.Errorf("resume = %d %s", res.status, res.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if runs, _ := h.s.Runs(context.Background(), sundial.RunFilter{JobID: "tick"}); len(runs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job did not fire after the resume")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if res := h.do(admin.RoleOperator, "POST", "/api/v1/scheduler/resume", nil); !strings.Contains(string(res.body), `"changed":false`) {
		t.Errorf("second resume: %s", res.body)
	}
	e := h.auditOf("cluster")
	if actions(e) != "[scheduler.resume scheduler.pause]" || !strings.Contains(e[0].Actor, "operator-token") || !strings.Contains(e[1].Actor, "operator-token") {
		t.Errorf("audit = %+v", e)
	}
}

// TestBulkActions: pause, resume and run now by tag and queue, one result
// per job; no selector is refused unless all=true; each change audited.
func TestBulkActions(t *testing.T) {
	h := newHarness(t)
	for _, doc := range []string{
		`{"id": "a", "task": "echo", "trigger": "@daily", "tags": ["x"], "queue": "q1"}`,
		`{"id": "b", "task": "echo", "trigger": "@daily", "tags": ["x"]}`,
		`{"id": "c", "task": "echo", "trigger": "@daily", "queue": "q1"}`,
		`{"id": "d", "task": "echo", "trigger": "@daily"}`,
	} {
		if res := h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", doc); res.status != 201 {
			t.Fatal(res.status, string(res.body))
		}
	}
	paused := func() []string {
		jobs, _ := h.s.Jobs(context.Background(), sundial.JobFilter{})
		var out []string
		for _, j := range jobs {
			if j.Paused {
				out = append(out, j.ID)
			}
		}
		return out
	}
	bulk := func(role admin.Role, path string) BulkAnswer {
		t.Helper()
		res := h.do(role, "POST", path, nil)
		var out BulkAnswer
		res.json(t, &out)
		if res.status != 200 {
			t.Fatalf("%s = %d %s", path, res.status, res.body)
		}
		return out
	}
	outcomes := func(a BulkAnswer) string {
		var out []string
		for _, r := range a.Results {
			out = append(out, r.ID+":"+r.Outcome)
		}
		return strings.Join(out, " ")
	}

	for _, path := range []string{"/api/v1/jobs/pause", "/api/v1/jobs/resume", "/api/v1/jobs/run"} {
		for role, want := range map[admin.Role]int{"": 401, admin.RoleViewer: 403} {
			if res := h.do(role, "POST", path+"?tag=x", nil); res.status != want {
				t.Errorf("%s as %q = %d, want %d", path, role, res.status, want)
			}
		}
		h.problem(h.do(admin.RoleOperator, "POST", path, nil), 400, "all")
		h.problem(h.do(admin.RoleOperator, "POST", path+"?all=false", nil), 400, "all")
		h.problem(h.do(admin.RoleOperator, "POST", path+"?all=every", nil), 400, "all")
	}
	h.problem(h.do(admin.RoleOperator, "POST", "/api/v1/jobs/resume?tag=x&cancel_running=true", nil), 400, "cancel_running")
	h.problem(h.do(admin.RoleOperator, "POST", "/api/v1/jobs/pause?tag=x&cancel_running=yes-please", nil), 400, "cancel_running")
	if p := paused(); len(p) != 0 {
		t.Fatalf("refused bulk requests paused %v", p)
	}

	a := bulk(admin.RoleOperator, "/api/v1/jobs/pause?tag=x")
	if outcomes(a) != "a:paused b:paused" || a.Matched != 2 || a.Changed != 2 || a.Failed != 0 || a.Selector.Tag != "x" || a.Action != "pause" {
		t.Errorf("pause tag=x = %+v", a)
	}
	if a := bulk(admin.RoleOperator, "/api/v1/jobs/pause?tag=x&queue=q1"); outcomes(a) != "a:unchanged" || a.Changed != 0 {
		t.Errorf("pause tag=x queue=q1 = %+v", a)
	}
	if a := bulk(admin.RoleOperator, "/api/v1/jobs/resume?queue=q1"); outcomes(a) != "a:resumed c:unchanged" || a.Changed != 1 {
		t.Errorf("resume queue=q1 = %+v", a)
	}
	if p := fmt.Sprint(paused()); p != "[b]" {
		t.Errorf("paused = %s, want [b]", p)
	}
	// The default queue is a queue too.
	if a := bulk(admin.RoleOperator, "/api/v1/jobs/pause?queue="); outcomes(a) != "b:unchanged d:paused" {
		t.Errorf("pause queue='' = %+v", a)
	}
	if a := bulk(admin.RoleOperator, "/api/v1/jobs/resume?all=true"); outcomes(a) != "a:unchanged b:resumed c:unchanged d:resumed" || a.Matched != 4 {
		t.Errorf("resume all = %+v", a)
	}
	a = bulk(admin.RoleOperator, "/api/v1/jobs/run?tag=x")
	if outcomes(a) != "a:started b:started" || a.Results[0].RunID == "" || a.Results[1].RunID == "" {
		t.Fatalf("run tag=x = %+v", a)
	}
	for _, r := range a.Results {
		if got := h.waitRun(r.RunID); got.Status != sundial.StatusSucceeded || got.JobID != r.ID || !got.Manual {
			t.Errorf("bulk run of %s = %+v", r.ID, got)
		}
	}
	if a := bulk(admin.RoleOperator, "/api/v1/jobs/pause?tag=nothing-has-it"); a.Matched != 0 || len(a.Results) != 0 {
		t.Errorf("an empty selection = %+v", a)
	}

	// Audited per job, with the selector.
	e := h.auditOf("a")
	if actions(e) != "[job.run job.resume job.pause job.create]" || !strings.Contains(string(e[2].Detail), `"bulk":{"tag":"x"}`) ||
		!strings.Contains(string(e[0].Detail), "run_id") || !strings.Contains(e[0].Actor, "operator-token") {
		t.Errorf("audit of a = %s %+v", actions(e), e)
	}

	// A job that fails is reported, and the others go on.
	h.s.Shutdown(context.Background())
	a = bulk(admin.RoleOperator, "/api/v1/jobs/run?queue=q1")
	if outcomes(a) != "a:failed c:failed" || a.Failed != 2 || a.Results[0].Status != 409 || a.Results[0].Error == "" {
		t.Errorf("run after shutdown = %+v", a)
	}
}

// TestBulkPauseCancelsRunning: a bulk pause with cancel_running=true
// cancels the selected jobs' runs and lists them per job.
func TestBulkPauseCancelsRunning(t *testing.T) {
	h := newHarness(t)
	h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "g", "task": "gate", "trigger": "@daily", "tags": ["batch"]}`)
	h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "e", "task": "echo", "trigger": "@daily", "tags": ["batch"]}`)
	run := h.startGate("g")
	// Paused already: unchanged, but its run is listed, and canceled.
	if res := h.do(admin.RoleOperator, "POST", "/api/v1/jobs/g/pause", nil); res.status != 200 {
		t.Fatal(res.status)
	}
	res := h.do(admin.RoleOperator, "POST", "/api/v1/jobs/pause?tag=batch", nil)
	var a BulkAnswer
	res.json(t, &a)
	if res.status != 200 || len(a.Results) != 2 || a.Results[1].Outcome != "unchanged" || len(a.Results[1].RunningRuns) != 1 ||
		a.Results[1].RunningRuns[0].CancelRequested || a.Results[0].Outcome != "paused" {
		t.Fatalf("bulk pause = %d %s", res.status, res.body)
	}
	res = h.do(admin.RoleOperator, "POST", "/api/v1/jobs/pause?tag=batch&cancel_running=true", nil)
	a = BulkAnswer{}
	res.json(t, &a)
	if res.status != 200 || len(a.Results) != 2 || a.Results[1].ID != "g" || len(a.Results[1].RunningRuns) != 1 ||
		a.Results[1].RunningRuns[0].ID != run.ID || !a.Results[1].RunningRuns[0].CancelRequested || len(a.Results[0].RunningRuns) != 0 {
		t.Fatalf("bulk pause, cancel_running = %d %s", res.status, res.body)
	}
	if got := h.waitRun(run.ID); got.Status != sundial.StatusCanceled {
		t.Errorf("run = %s, want canceled", got.Status)
	}
	if e := h.auditOf(run.ID); actions(e) != "[run.cancel]" {
		t.Errorf("audit = %s", actions(e))
	}
	var raw map[string]json.RawMessage
	res.json(t, &raw)
	if !slices.Contains(keys(raw), "selector") {
		t.Errorf("answer = %s", res.body)
	}
}
