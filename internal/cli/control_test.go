package cli

import (
	"bytes"
	"context"
	"encoding/json"

	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/store/memstore"
)

// apiServer is an API over a started scheduler on a memory store, with a
// "block" task that runs until canceled.
type apiServer struct {
	t       *testing.T
	url     string
	s       *sundial.Scheduler
	store   *memstore.Store
	records *admin.Memory
	tokens  map[admin.Role]string
}

func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	store := memstore.New(memstore.Options{})
	s, err := sundial.New(sundial.Config{Store: store, Logger: slog.New(slog.DiscardHandler), MaxSleep: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Register("echo", func(ctx context.Context, r sundial.Run) (any, error) { return r.Args, nil })
	s.Register("block", func(ctx context.Context, r sundial.Run) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	records := admin.NewMemory()
	api, err := httpapi.New(httpapi.Config{Scheduler: s, Admin: records, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() {
		srv.Close()
		s.Shutdown(context.Background())
	})
	a := &apiServer{t: t, url: srv.URL, s: s, store: store, records: records, tokens: map[admin.Role]string{}}
	for _, role := range []admin.Role{admin.RoleViewer, admin.RoleOperator, admin.RoleAdmin} {
		secret, tok := httpapi.NewToken(string(role), role, "test", time.Now())
		if err := records.CreateToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		a.tokens[role] = secret
	}
	return a
}

// cli runs a client command against the server as role.
func (a *apiServer) cli(role admin.Role, args ...string) (code int, stdout, stderr string) {
	a.t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--server", a.url, "--token", a.tokens[role])
	env := Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Local: time.UTC}
	code = Run(context.Background(), args, env)
	return code, out.String(), errOut.String()
}

func (a *apiServer) mustCLI(role admin.Role, args ...string) string {
	a.t.Helper()
	code, out, errOut := a.cli(role, args...)
	if code != ExitOK {
		a.t.Fatalf("sundial %s: exit %d: %s%s", strings.Join(args, " "), code, errOut, out)
	}
	return out
}

// running starts a run of the job and waits until it runs.
func (a *apiServer) running(jobID string) sundial.Run {
	a.t.Helper()
	run, err := a.s.RunNow(context.Background(), jobID, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := a.s.RunByID(context.Background(), run.ID)
		if got.Status == sundial.StatusRunning {
			return got
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("run %s never ran: %+v", run.ID, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (a *apiServer) audit(target string) string {
	entries, _ := a.records.ListAudit(context.Background(), admin.AuditFilter{Target: target})
	var out []string
	for _, e := range entries {
		out = append(out, e.Action+" by "+e.Actor)
	}
	return strings.Join(out, "; ")
}

// TestRunsCancel: `runs cancel` stops a running run (with --wait, until it
// has), says when a run has ended already (exit 2) or does not exist
// (exit 3), refuses viewers (exit 4); `runs get` shows claimed and started.
func TestRunsCancel(t *testing.T) {
	a := newAPIServer(t)
	a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", "long", "--task", "block", "--trigger", "@daily")
	run := a.running("long")

	out := a.mustCLI(admin.RoleViewer, "runs", "get", run.ID)
	for _, want := range []string{"status:    running\n", "claimed:   ", "started:   ", "node:      " + a.s.Status().Node} {
		if !strings.Contains(out, want) {
			t.Errorf("runs get lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := a.cli(admin.RoleViewer, "runs", "cancel", run.ID); code != ExitAuth || !strings.Contains(errOut, "403") {
		t.Errorf("cancel as a viewer: exit %d, %s", code, errOut)
	}
	out = a.mustCLI(admin.RoleOperator, "runs", "cancel", "--wait", run.ID)
	if !strings.Contains(out, "cancel requested for run "+run.ID) || !strings.Contains(out, "canceled run "+run.ID+" of job long") {
		t.Errorf("runs cancel --wait:\n%s", out)
	}
	if got, _ := a.s.RunByID(context.Background(), run.ID); got.Status != sundial.StatusCanceled {
		t.Errorf("run after cancel = %s", got.Status)
	}
	code, _, errOut := a.cli(admin.RoleOperator, "runs", "cancel", run.ID)
	if code != ExitUsage || !strings.Contains(errOut, "409") || !strings.Contains(errOut, "already ended") {
		t.Errorf("cancel an ended run: exit %d, %s", code, errOut)
	}
	if code, _, _ := a.cli(admin.RoleOperator, "runs", "cancel", "nope"); code != ExitNotFound {
		t.Errorf("cancel an unknown run: exit %d", code)
	}
	if code, _, _ := a.cli(admin.RoleOperator, "runs", "cancel"); code != ExitUsage {
		t.Errorf("cancel without an ID: exit %d", code)
	}
	if !strings.Contains(a.audit(run.ID), "run.cancel by token:") {
		t.Errorf("audit = %s", a.audit(run.ID))
	}

	// Without --wait: the request, in JSON for scripts.
	run = a.running("long")
	out = a.mustCLI(admin.RoleOperator, "runs", "cancel", "--json", run.ID)
	var got sundial.Run
	if err := json.Unmarshal([]byte(out), &got); err != nil || !got.CancelRequested || got.ID != run.ID {
		t.Errorf("runs cancel --json: %v\n%s", err, out)
	}
	out = a.mustCLI(admin.RoleViewer, "runs", "get", run.ID)
	if !strings.Contains(out, "cancel requested") && !strings.Contains(out, "status:    canceled") {
		t.Errorf("runs get after a cancel request:\n%s", out)
	}
}

// TestJobsPauseAndRemoveWithRunningRuns: pause and rm list the runs that
// go on and say how to stop them; --cancel-running stops them.
func TestJobsPauseAndRemoveWithRunningRuns(t *testing.T) {
	a := newAPIServer(t)
	node := a.s.Status().Node
	a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", "long", "--task", "block", "--trigger", "@daily")
	run := a.running("long")
	out := a.mustCLI(admin.RoleOperator, "jobs", "pause", "long")
	for _, want := range []string{"paused job long", "run " + run.ID + ": running on " + node, "sundial runs cancel RUN_ID", "--cancel-running long"} {
		if !strings.Contains(out, want) {
			t.Errorf("jobs pause lacks %q:\n%s", want, out)
		}
	}
	out = a.mustCLI(admin.RoleOperator, "jobs", "pause", "--cancel-running", "long")
	if !strings.Contains(out, "run "+run.ID+": running, cancel requested on "+node) || strings.Contains(out, "go on") {
		t.Errorf("jobs pause --cancel-running:\n%s", out)
	}
	waitEnded(t, a, run.ID)

	run = a.running("long")
	if code, _, _ := a.cli(admin.RoleOperator, "jobs", "rm", "--cancel-running", "long"); code != ExitAuth {
		t.Errorf("rm as an operator: exit %d", code)
	}
	out = a.mustCLI(admin.RoleAdmin, "jobs", "rm", "--cancel-running", "long")
	if !strings.Contains(out, "removed job long") || !strings.Contains(out, "run "+run.ID+": running, cancel requested") {
		t.Errorf("jobs rm --cancel-running:\n%s", out)
	}
	if got := waitEnded(t, a, run.ID); got.Status != sundial.StatusCanceled {
		t.Errorf("run = %s", got.Status)
	}

	// Without --cancel-running the run goes on, and the answer says so.
	a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", "other", "--task", "block", "--trigger", "@daily")
	run = a.running("other")
	out = a.mustCLI(admin.RoleAdmin, "jobs", "rm", "--json", "other")
	var removal httpapi.JobRemoval
	if err := json.Unmarshal([]byte(out), &removal); err != nil || len(removal.RunningRuns) != 1 || removal.RunningRuns[0].ID != run.ID {
		t.Errorf("rm --json: %v\n%s", err, out)
	}
	a.mustCLI(admin.RoleOperator, "runs", "cancel", "--wait", run.ID)
}

func waitEnded(t *testing.T, a *apiServer, id string) sundial.Run {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := a.s.RunByID(context.Background(), id)
		if !got.Status.Active() {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not end: %+v", id, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestJobsBulk: pause, resume and run by tag and queue; a selector and an
// ID together, or neither, are usage errors.
func TestJobsBulk(t *testing.T) {
	a := newAPIServer(t)
	a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", "a", "--task", "echo", "--trigger", "@daily", "--tag", "x", "--queue", "q1")
	a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", "b", "--task", "echo", "--trigger", "@daily", "--tag", "x")
	a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", "c", "--task", "echo", "--trigger", "@daily")

	for _, args := range [][]string{
		{"jobs", "pause"},
		{"jobs", "pause", "a", "--tag", "x"},
		{"jobs", "resume", "a", "--all"},
		{"jobs", "run", "--tag", "x", "--wait"},
		{"jobs", "pause", "a", "b"},
	} {
		if code, _, errOut := a.cli(admin.RoleOperator, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, ExitUsage, errOut)
		}
	}
	out := a.mustCLI(admin.RoleOperator, "jobs", "pause", "--tag", "x")
	if !strings.Contains(out, "a    paused") || !strings.Contains(out, "b    paused") || !strings.Contains(out, "pause: 2 jobs selected, 2 changed, 0 unchanged, 0 failed") {
		t.Errorf("jobs pause --tag x:\n%s", out)
	}
	out = a.mustCLI(admin.RoleOperator, "jobs", "resume", "--queue", "q1")
	if !strings.Contains(out, "a    resumed") || strings.Contains(out, "\nb ") {
		t.Errorf("jobs resume --queue q1:\n%s", out)
	}
	out = a.mustCLI(admin.RoleOperator, "jobs", "resume", "--queue", "")
	if !strings.Contains(out, "b    resumed") || !strings.Contains(out, "c    unchanged") {
		t.Errorf(`jobs resume --queue "":`+"\n%s", out)
	}
	out = a.mustCLI(admin.RoleOperator, "jobs", "run", "--all", "--json")
	var ans httpapi.BulkAnswer
	if err := json.Unmarshal([]byte(out), &ans); err != nil || ans.Changed != 3 || ans.Results[2].RunID == "" {
		t.Errorf("jobs run --all --json: %v\n%s", err, out)
	}
	if code, _, errOut := a.cli(admin.RoleViewer, "jobs", "pause", "--all"); code != ExitAuth {
		t.Errorf("bulk pause as a viewer: exit %d: %s", code, errOut)
	}
	if !strings.Contains(a.audit("a"), "job.pause") || !strings.Contains(a.audit("a"), "job.resume") {
		t.Errorf("audit of a: %s", a.audit("a"))
	}

	// A failure for any job fails the command (exit 1), after the rest.
	a.s.Shutdown(context.Background())
	code, out, errOut := a.cli(admin.RoleOperator, "jobs", "run", "--tag", "x")
	if code != ExitFailure || !strings.Contains(out, "a    failed") || !strings.Contains(errOut, "run failed for 2 of 2 jobs") {
		t.Errorf("bulk run after shutdown: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestSchedulerPauseResume: the cluster-wide pause from the CLI, and
// `status` showing it.
func TestSchedulerPauseResume(t *testing.T) {
	a := newAPIServer(t)
	if out := a.mustCLI(admin.RoleViewer, "scheduler", "status"); out != "not paused: the nodes fire jobs\n" {
		t.Errorf("status: %q", out)
	}
	if code, _, _ := a.cli(admin.RoleViewer, "scheduler", "pause"); code != ExitAuth {
		t.Errorf("pause as a viewer: exit %d", code)
	}
	if out := a.mustCLI(admin.RoleOperator, "scheduler", "pause"); !strings.HasPrefix(out, "paused: no node fires jobs") {
		t.Errorf("pause: %q", out)
	}
	if out := a.mustCLI(admin.RoleOperator, "scheduler", "pause"); !strings.HasPrefix(out, "paused since ") {
		t.Errorf("second pause: %q", out)
	}
	out := a.mustCLI(admin.RoleViewer, "status")
	if !strings.Contains(out, "PAUSED cluster-wide since") || !strings.Contains(out, "lease TTL 15s") {
		t.Errorf("status while paused:\n%s", out)
	}
	var st httpapi.SchedulerState
	if err := json.Unmarshal([]byte(a.mustCLI(admin.RoleViewer, "scheduler", "status", "--json")), &st); err != nil || !st.Paused || st.Since.IsZero() {
		t.Errorf("status --json: %v %+v", err, st)
	}
	if out := a.mustCLI(admin.RoleOperator, "scheduler", "resume"); out != "resumed: the nodes fire jobs again\n" {
		t.Errorf("resume: %q", out)
	}
	if out := a.mustCLI(admin.RoleOperator, "scheduler", "resume"); out != "not paused: the nodes fire jobs\n" {
		t.Errorf("second resume: %q", out)
	}
	if out := a.mustCLI(admin.RoleViewer, "status"); strings.Contains(out, "PAUSED") {
		t.Errorf("status after resume:\n%s", out)
	}
	if got := a.audit("cluster"); strings.Count(got, "scheduler.") != 2 {
		t.Errorf("audit: %s", got)
	}
}
