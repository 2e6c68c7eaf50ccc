package server

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/pgtest"
	"github.com/sundialhq/sundial/worker"
)

// goWorkerEnv makes the test binary a Go worker process (goWorkerHelper):
// "URL TOKEN NAME".
const goWorkerEnv = "SUNDIAL_TEST_GO_WORKER"

// goWorkerHelper serves the task "hold", which prints "started RUN_ID"
// and then takes ten seconds, until its context ends; it reports how the
// server took its outcome on stderr.
func goWorkerHelper() int {
	f := strings.Fields(os.Getenv(goWorkerEnv))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := worker.New(worker.Config{URL: f[0], Token: f[1], Name: f[2], Capacity: 2, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w.Register("hold", func(ctx context.Context, r sundial.Run) (any, error) {
		fmt.Printf("started %s\n", r.ID)
		select {
		case <-time.After(10 * time.Second):
			return "held", nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	})
	ctx, stop := signalContext()
	defer stop()
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// workerProcess is a Go worker in a process of its own.
type workerProcess struct {
	cmd     *exec.Cmd
	started chan string // run IDs, as the task starts them
	stderr  *syncBuffer
}

func startWorkerProcess(t *testing.T, url, token, name string) *workerProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), goWorkerEnv+"="+url+" "+token+" "+name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &workerProcess{cmd: cmd, started: make(chan string, 10), stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "started "); ok {
				p.started <- id
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

func (p *workerProcess) waitStarted(t *testing.T) string {
	t.Helper()
	select {
	case id := <-p.started:
		return id
	case <-time.After(20 * time.Second):
		t.Fatalf("the worker process started no run; its log:\n%s", p.stderr)
		return ""
	}
}

// goWorker runs an in-process Go worker until the test ends; its task
// "count" records each fire and attempt it ran, "hold" succeeds at once.
type goWorker struct {
	mu   sync.Mutex
	seen map[string]int // "job scheduled_at attempt" → times run
	runs []sundial.Run
}

func startGoWorker(t *testing.T, url, token, name string) *goWorker {
	t.Helper()
	g := &goWorker{seen: map[string]int{}}
	w, err := worker.New(worker.Config{URL: url, Token: token, Name: name, Capacity: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	record := func(_ context.Context, r sundial.Run) (any, error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.seen[fmt.Sprintf("%s %s %d", r.JobID, r.ScheduledAt.Format(time.RFC3339Nano), r.Attempt)]++
		g.runs = append(g.runs, r)
		return map[string]string{"by": name}, nil
	}
	w.Register("count", record)
	w.Register("hold", record)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker %s: %v", name, err)
		}
	})
	return g
}

func (g *goWorker) ran(job string) []sundial.Run {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []sundial.Run
	for _, r := range g.runs {
		if r.JobID == job {
			out = append(out, r)
		}
	}
	return out
}

func TestGoWorkersSQLite(t *testing.T) {
	goWorkers(t, "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
}

func TestGoWorkersPostgres(t *testing.T) {
	goWorkers(t, pgtest.SchemaDSN(t))
}

// goWorkers: two Go workers in this process, on two server replicas, and
// two in processes of their own: a worker task's fires each run once,
// on the workers only; a worker killed mid-run loses its run, which the
// other retries; a worker frozen past its lease does not get to record the
// run the cluster re-ran.
func goWorkers(t *testing.T, db string) {
	two := Duration(2 * time.Second)
	srv := start(t, Config{DB: db, LeaseTTL: &two}, Options{})
	var tok struct {
		Token string `json:"token"`
	}
	if code := srv.call("POST", "/api/v1/tokens", srv.token, map[string]any{"name": "workers", "role": "worker"}, &tok); code != 201 {
		t.Fatalf("create worker token = %d", code)
	}
	// A worker token may do nothing else.
	if code := srv.call("GET", "/api/v1/jobs", tok.Token, nil, nil); code != 403 {
		t.Errorf("a worker token listing jobs = %d, want 403", code)
	}
	job := map[string]any{"id": "tick", "task": "count", "trigger": map[string]any{"type": "interval", "seconds": 1}}
	if code := srv.call("POST", "/api/v1/jobs", srv.token, job, nil); code != 400 {
		t.Fatalf("a job of a task no worker served = %d, want 400", code)
	}
	if code := srv.call("POST", "/api/v1/jobs?declare_task=true", srv.token, job, nil); code != 201 {
		t.Fatalf("a job declaring its worker task = %d, want 201", code)
	}
	// A second replica on the same store: w2 speaks to it, w1 to the
	// first; sessions live in the store, so either answers either.
	replica := start(t, Config{DB: db, LeaseTTL: &two}, Options{})
	w1 := startGoWorker(t, srv.base, tok.Token, "w1")
	w2 := startGoWorker(t, replica.base, tok.Token, "w2")
	var runs struct{ Runs []sundial.Run }
	waitFor(t, "five fires of tick", func() bool {
		srv.call("GET", "/api/v1/runs?job_id=tick&status=succeeded", srv.token, nil, &runs)
		return len(runs.Runs) >= 5
	})
	fires := map[string]bool{}
	for _, r := range runs.Runs {
		if r.Node != "worker:w1" && r.Node != "worker:w2" {
			t.Errorf("run %s of a worker task ran on %q", r.ID, r.Node)
		}
		if k := r.ScheduledAt.String(); fires[k] {
			t.Errorf("fire %s recorded twice", k)
		}
		fires[r.ScheduledAt.String()] = true
	}
	for _, g := range []*goWorker{w1, w2} {
		g.mu.Lock()
		for k, n := range g.seen {
			if n > 1 {
				t.Errorf("%s ran %d times on one worker", k, n)
			}
		}
		g.mu.Unlock()
	}
	if n := len(w1.ran("tick")) + len(w2.ran("tick")); n < 5 {
		t.Errorf("the workers ran tick %d times, want at least 5", n)
	}
	srv.call("PATCH", "/api/v1/jobs/tick", srv.token, map[string]any{"paused": true}, nil)

	// kill -9 mid-run: the run is lost a lease later and retried on w1 or w2.
	hold := map[string]any{"id": "hold", "task": "hold", "trigger": map[string]any{"type": "none"},
		"options": map[string]any{"max_attempts": 2, "retry_backoff": "100ms"}}
	if code := srv.call("POST", "/api/v1/jobs?declare_task=true", srv.token, hold, nil); code != 201 {
		t.Fatalf("create hold = %d", code)
	}
	// The in-process workers serve hold too: keep them out of this part by
	// letting the process workers' sessions take the run first.
	killed := startWorkerProcess(t, srv.base, tok.Token, "doomed")
	first := runUntilStartedOn(t, srv, killed, "worker:doomed")
	killed.cmd.Process.Signal(syscall.SIGKILL)
	retry := waitForRetry(t, srv, first)
	if retry.Node != "worker:w1" && retry.Node != "worker:w2" {
		t.Errorf("the retry of the killed worker's run ran on %q", retry.Node)
	}

	// A worker frozen past its lease: the cluster re-runs the run, and the
	// frozen one, thawed, is told the run is no longer its own.
	frozen := startWorkerProcess(t, srv.base, tok.Token, "frozen")
	first = runUntilStartedOn(t, srv, frozen, "worker:frozen")
	frozen.cmd.Process.Signal(syscall.SIGSTOP)
	waitForRetry(t, srv, first)
	frozen.cmd.Process.Signal(syscall.SIGCONT)
	waitFor(t, "the thawed worker to give up the run", func() bool {
		return strings.Contains(frozen.stderr.String(), "no longer this worker's")
	})
	var after sundial.Run
	srv.call("GET", "/api/v1/runs/"+first.ID, srv.token, nil, &after)
	if after.Status != sundial.StatusLost {
		t.Errorf("the frozen worker's run is %s after it thawed, want lost (its late outcome refused)", after.Status)
	}
}

// runUntilStartedOn runs hold by hand until a run of it starts on node (the
// other workers may take a run first), and returns that run.
func runUntilStartedOn(t *testing.T, srv *running, p *workerProcess, node string) sundial.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var run sundial.Run
		if code := srv.call("POST", "/api/v1/jobs/hold/run", srv.token, nil, &run); code != 202 {
			t.Fatalf("run hold now = %d", code)
		}
		waitFor(t, "the hand run of hold to start", func() bool {
			srv.call("GET", "/api/v1/runs/"+run.ID, srv.token, nil, &run)
			return run.Status == sundial.StatusRunning || run.Status == sundial.StatusSucceeded
		})
		if run.Node == node {
			if id := p.waitStarted(t); id != run.ID {
				t.Fatalf("the process started %s, want %s", id, run.ID)
			}
			return run
		}
		waitFor(t, "the hand run to end", func() bool {
			srv.call("GET", "/api/v1/runs/"+run.ID, srv.token, nil, &run)
			return run.Status == sundial.StatusSucceeded
		})
	}
	t.Fatalf("no hand run of hold started on %s in 30s; its log:\n%s", node, p.stderr)
	return sundial.Run{}
}

// waitForRetry waits until first is lost and its retry has succeeded, and
// returns the retry.
func waitForRetry(t *testing.T, srv *running, first sundial.Run) sundial.Run {
	t.Helper()
	var retry sundial.Run
	waitFor(t, "the lost run's retry to succeed", func() bool {
		var runs struct{ Runs []sundial.Run }
		srv.call("GET", "/api/v1/runs?job_id=hold", srv.token, nil, &runs)
		lost := false
		for _, r := range runs.Runs {
			if r.ID == first.ID && r.Status == sundial.StatusLost {
				lost = true
			}
			if r.ScheduledAt.Equal(first.ScheduledAt) && r.Attempt == 2 && r.Status == sundial.StatusSucceeded {
				retry = r
			}
		}
		return lost && retry.ID != ""
	})
	return retry
}

// signalContext is a context that SIGTERM or SIGINT ends.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

// TestRunNowOnAnAPIOnlyNodeStartsAtOnce: a run asked for on an API-only
// node wakes the scheduling replica through the store (PostgreSQL's
// NOTIFY), instead of waiting for its next poll.
func TestRunNowOnAnAPIOnlyNodeStartsAtOnce(t *testing.T) {
	dsn := pgtest.SchemaDSN(t)
	off := false
	slow := Duration(time.Minute)
	apiOnly := start(t, Config{DB: dsn, InsecureNoAuth: true, Scheduler: &off, NodeID: "api"}, Options{})
	start(t, Config{DB: dsn, InsecureNoAuth: true, NodeID: "sched", PollInterval: slow}, Options{})
	job := map[string]any{"id": "now", "task": "echo", "trigger": map[string]any{"type": "none"}}
	if code := apiOnly.call("POST", "/api/v1/jobs", "", job, nil); code != 201 {
		t.Fatalf("create = %d", code)
	}
	time.Sleep(500 * time.Millisecond) // the scheduler settles into its one-minute sleep
	var run sundial.Run
	if code := apiOnly.call("POST", "/api/v1/jobs/now/run", "", nil, &run); code != 202 {
		t.Fatalf("run now = %d", code)
	}
	asked := time.Now()
	waitFor(t, "the run to succeed on the scheduling replica", func() bool {
		apiOnly.call("GET", "/api/v1/runs/"+run.ID, "", nil, &run)
		return run.Status == sundial.StatusSucceeded
	})
	if took := time.Since(asked); took > 5*time.Second || run.Node != "sched" {
		t.Errorf("the run took %s to end on %q, want well under the one-minute poll, on sched", took, run.Node)
	}
}
