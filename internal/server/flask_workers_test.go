package server

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/pgtest"
)

const debianPython = "/usr/bin/python3"

func TestFlaskWorkersSQLite(t *testing.T) {
	flaskWorkers(t, "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
}

func TestFlaskWorkersPostgres(t *testing.T) {
	flaskWorkers(t, pgtest.SchemaDSN(t))
}

// flaskApp runs the test Flask app (testdata/flaskworker/billing.py) with
// the repository's Python package, as its team would.
type flaskApp struct {
	t   *testing.T
	env []string
	db  string // the app's own SQLite file
}

func newFlaskApp(t *testing.T, srv *running, workerToken string) *flaskApp {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import flask, flask_sqlalchemy").Run(); err != nil {
		t.Skip("needs Debian's python3-flask and python3-flask-sqlalchemy (apt-get install -y python3-flask python3-flask-sqlalchemy)")
	}
	repo, _ := filepath.Abs("../..")
	app, _ := filepath.Abs("testdata/flaskworker")
	db := filepath.Join(t.TempDir(), "app.db")
	return &flaskApp{t: t, db: db, env: append(os.Environ(),
		"PYTHONPATH="+filepath.Join(repo, "python")+":"+app, "APP_DB="+db, "HOLD_SECONDS=3",
		"SUNDIAL_URL="+srv.base, "SUNDIAL_TOKEN="+srv.token, "SUNDIAL_WORKER_TOKEN="+workerToken)}
}

func (a *flaskApp) command(args ...string) (*exec.Cmd, *syncBuffer) {
	cmd := exec.Command(debianPython, args...)
	cmd.Env = a.env
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out
}

// worker starts "flask sundial worker" under name.
func (a *flaskApp) worker(name string) (*exec.Cmd, *syncBuffer) {
	a.t.Helper()
	cmd, out := a.command("-m", "flask", "--app", "billing:create_app", "sundial", "worker", "--name", name, "--capacity", "4", "--log-format", "text")
	if err := cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() {
		for _, p := range append(descendants(cmd.Process.Pid), cmd.Process.Pid) {
			syscall.Kill(p, syscall.SIGCONT)
			syscall.Kill(p, syscall.SIGKILL)
		}
		cmd.Wait()
	})
	return cmd, out
}

// rows counts the rows the app's tasks wrote through db.session, by run.
func (a *flaskApp) rows(job string) map[string]int {
	a.t.Helper()
	db, err := sql.Open("sqlite", a.db)
	if err != nil {
		a.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT run_id, COUNT(*) FROM "row" WHERE job = ? GROUP BY run_id`, job)
	if err != nil {
		return nil // not created yet
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		rows.Scan(&id, &n)
		out[id] = n
	}
	return out
}

// flaskWorkers: a Flask app moved from Flask-APScheduler by one import.
// Four web processes declare its jobs once and run nothing; two
// "flask sundial worker" processes run each fire once, writing through
// db.session; a worker killed mid-run loses its run to another; a worker
// frozen past its lease (with its children, as a paused container is)
// does not record the run that the cluster re-ran.
func flaskWorkers(t *testing.T, dsn string) {
	two := Duration(2 * time.Second)
	srv := start(t, Config{DB: dsn, LeaseTTL: &two}, Options{})
	var tok struct {
		Token string `json:"token"`
	}
	if code := srv.call("POST", "/api/v1/tokens", srv.token, map[string]any{"name": "billing", "role": "worker"}, &tok); code != 201 {
		t.Fatalf("create worker token = %d", code)
	}
	app := newFlaskApp(t, srv, tok.Token)

	// gunicorn -w 4: four processes build the app at once.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd, out := app.command("-c", "import billing; billing.create_app()")
			if err := cmd.Run(); err != nil {
				t.Errorf("web process %d: %v\n%s", i, err, out)
			}
		}()
	}
	wg.Wait()
	var jobs struct{ Jobs []sundial.Job }
	srv.call("GET", "/api/v1/jobs", srv.token, nil, &jobs)
	if len(jobs.Jobs) != 2 || jobs.Jobs[0].ID != "hold" || jobs.Jobs[1].ID != "tick" || jobs.Jobs[1].Task != "billing_tick" {
		t.Fatalf("declared jobs = %+v, want hold and tick", jobs.Jobs)
	}
	for _, j := range jobs.Jobs {
		if j.Version != 1 {
			t.Errorf("job %s at version %d after four declarations, want 1: declaring must not rewrite an unchanged job", j.ID, j.Version)
		}
	}
	time.Sleep(2 * time.Second) // tick falls due; no web process, and no scheduler node, runs it
	var runs struct{ Runs []sundial.Run }
	srv.call("GET", "/api/v1/runs?job_id=tick", srv.token, nil, &runs)
	if len(runs.Runs) != 0 || len(app.rows("tick")) != 0 {
		t.Fatalf("tick ran without a worker: %d runs, rows %v", len(runs.Runs), app.rows("tick"))
	}

	w1, log1 := app.worker("w1")
	w2, log2 := app.worker("w2")
	waitForLong(t, "five fires of tick on the workers", 40*time.Second, func() bool {
		srv.call("GET", "/api/v1/runs?job_id=tick&status=succeeded", srv.token, nil, &runs)
		return len(runs.Runs) >= 5
	}, log1, log2)
	srv.call("POST", "/api/v1/jobs/tick/pause", srv.token, nil, nil)
	rows := app.rows("tick")
	fires := map[string]bool{}
	for _, r := range runs.Runs {
		if r.Node != "worker:w1" && r.Node != "worker:w2" {
			t.Errorf("run %s ran on %q", r.ID, r.Node)
		}
		if fires[r.ScheduledAt.String()] {
			t.Errorf("fire %s ran twice", r.ScheduledAt)
		}
		fires[r.ScheduledAt.String()] = true
		if rows[r.ID] != 1 {
			t.Errorf("run %s wrote %d rows through db.session, want 1", r.ID, rows[r.ID])
		}
	}

	// kill -9 the worker that runs hold: its run is lost a lease later,
	// and retried on the other.
	byNode := map[string]*exec.Cmd{"worker:w1": w1, "worker:w2": w2}
	first := startHold(t, srv, log1, log2)
	victim := byNode[first.Node]
	for _, p := range append(descendants(victim.Process.Pid), victim.Process.Pid) {
		syscall.Kill(p, syscall.SIGKILL)
	}
	retry := waitForHoldRetry(t, srv, first, log1, log2)
	if retry.Node == first.Node {
		t.Errorf("the retry ran on the killed worker %s", retry.Node)
	}

	// Freeze the surviving worker and its children mid-run, past the
	// lease; a third worker takes the retry; thawed, the frozen one's
	// outcome is refused.
	survivor, survivorLog := byNode[retry.Node], log1
	if retry.Node == "worker:w2" {
		survivorLog = log2
	}
	srv.call("PATCH", "/api/v1/jobs/hold", srv.token, map[string]any{"options": map[string]any{"max_attempts": 2, "retry_backoff": "100ms"}}, nil)
	first = startHold(t, srv, survivorLog)
	frozen := append(descendants(survivor.Process.Pid), survivor.Process.Pid)
	for _, p := range frozen {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	_, log3 := app.worker("w3")
	retry = waitForHoldRetry(t, srv, first, log3)
	if retry.Node != "worker:w3" {
		t.Errorf("the frozen worker's run was retried on %s, want w3", retry.Node)
	}
	for _, p := range frozen {
		syscall.Kill(p, syscall.SIGCONT)
	}
	waitForLong(t, "the thawed worker to give the run up", 20*time.Second, func() bool {
		out := survivorLog.String()
		return strings.Contains(out, "409") || strings.Contains(out, "no longer") || strings.Contains(out, "refused")
	}, survivorLog)
	time.Sleep(500 * time.Millisecond)
	var after sundial.Run
	srv.call("GET", "/api/v1/runs/"+first.ID, srv.token, nil, &after)
	if after.Status != sundial.StatusLost {
		t.Errorf("the frozen worker's run is %s after it thawed, want lost: its late outcome must be refused\n%s", after.Status, survivorLog)
	}
}

// startHold runs hold now and waits until it runs on a worker.
func startHold(t *testing.T, srv *running, logs ...*syncBuffer) sundial.Run {
	t.Helper()
	var run sundial.Run
	if code := srv.call("POST", "/api/v1/jobs/hold/run", srv.token, nil, &run); code != 202 {
		t.Fatalf("run hold now = %d", code)
	}
	waitForLong(t, "hold to start on a worker", 20*time.Second, func() bool {
		srv.call("GET", "/api/v1/runs/"+run.ID, srv.token, nil, &run)
		return run.Status == sundial.StatusRunning
	}, logs...)
	time.Sleep(300 * time.Millisecond) // into the task
	return run
}

// waitForHoldRetry waits until first is lost and its retry succeeded.
func waitForHoldRetry(t *testing.T, srv *running, first sundial.Run, logs ...*syncBuffer) sundial.Run {
	t.Helper()
	var retry sundial.Run
	waitForLong(t, "the lost run of hold to be retried", 30*time.Second, func() bool {
		var runs struct{ Runs []sundial.Run }
		srv.call("GET", "/api/v1/runs?job_id=hold", srv.token, nil, &runs)
		lost := false
		for _, r := range runs.Runs {
			if r.ID == first.ID && r.Status == sundial.StatusLost {
				lost = true
			}
			if r.ScheduledAt.Equal(first.ScheduledAt) && r.Attempt == first.Attempt+1 && r.Status == sundial.StatusSucceeded {
				retry = r
			}
		}
		return lost && retry.ID != ""
	}, logs...)
	return retry
}

// waitForLong polls cond for up to d, showing the logs if it never holds.
func waitForLong(t *testing.T, what string, d time.Duration, cond func() bool, logs ...*syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, l := range logs {
				fmt.Fprintf(&b, "--- log %d:\n%s\n", i+1, l)
			}
			t.Fatalf("timed out waiting for %s\n%s", what, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// descendants returns the processes below pid (children, their children…).
func descendants(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for c, pp := range parent {
			if pp == p {
				out = append(out, c)
				walk(c)
			}
		}
	}
	walk(pid)
	return out
}
