package storetest

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// Multi-process tests run real OS processes: the store's test binary
// re-executes itself as a worker, which runs a scheduler on the shared
// database until it is told to stop or killed.

const (
	envNode  = "SUNDIAL_STORETEST_NODE"  // set in a worker: its node ID
	envLease = "SUNDIAL_STORETEST_LEASE" // its lease TTL
)

// OpenFunc opens a handle on the shared database in a worker process.
type OpenFunc func(ctx context.Context) (store sundial.Store, closeFn func(), err error)

// RunWorkerIfAsked is called first in a store's TestMain. In a process
// started by Cluster it runs a worker and exits; otherwise it returns.
// A worker registers the tasks "tick" (returns at once) and "hang" (its
// first attempt blocks until the process dies; later attempts return),
// prints "ready", and shuts down gracefully on SIGTERM.
func RunWorkerIfAsked(open OpenFunc) {
	node := os.Getenv(envNode)
	if node == "" {
		return
	}
	os.Exit(runWorker(node, open))
}

func runWorker(node string, open OpenFunc) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	store, closeFn, err := open(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker: open:", err)
		return 1
	}
	defer closeFn()
	lease, _ := time.ParseDuration(os.Getenv(envLease))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := sundial.New(sundial.Config{Store: store, NodeID: node, LeaseTTL: lease, Workers: 16,
		MaxSleep: time.Second, Logger: log.With("node", node)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	s.Register("tick", func(context.Context, sundial.Run) (any, error) { return nil, nil })
	s.Register("hang", func(ctx context.Context, r sundial.Run) (any, error) {
		if r.Attempt == 1 {
			select {} // hold the run until this process is killed
		}
		return "attempt " + strconv.Itoa(r.Attempt), nil
	})
	if err := s.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "worker: start:", err)
		return 1
	}
	fmt.Println("ready")
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintln(os.Stderr, "worker: shutdown:", err)
	}
	return 0
}

// Cluster is a set of worker processes on one database.
type Cluster struct {
	t     *testing.T
	env   []string
	lease time.Duration
	mu    sync.Mutex
	procs map[string]*exec.Cmd
}

// NewCluster prepares workers that run with the extra environment env
// (what their OpenFunc reads) and the given lease TTL. Workers still
// running at the end of the test are killed.
func NewCluster(t *testing.T, lease time.Duration, env ...string) *Cluster {
	c := &Cluster{t: t, env: env, lease: lease, procs: map[string]*exec.Cmd{}}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.procs {
			p.Process.Kill()
			p.Wait()
		}
	})
	return c
}

// Start starts a worker with the node ID and waits until it is ready.
func (c *Cluster) Start(node string) {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envNode+"="+node, envLease+"="+c.lease.String())
	cmd.Env = append(cmd.Env, c.env...)
	cmd.Stderr = &testWriter{t: c.t, prefix: node + ": "}
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		c.t.Fatalf("worker %s did not start: %q %v", node, line, err)
	}
	c.mu.Lock()
	c.procs[node] = cmd
	c.mu.Unlock()
}

// Kill kills a worker with SIGKILL: no shutdown, no last heartbeat.
func (c *Cluster) Kill(node string) {
	c.t.Helper()
	c.mu.Lock()
	cmd := c.procs[node]
	delete(c.procs, node)
	c.mu.Unlock()
	if cmd == nil {
		c.t.Fatalf("no worker %s", node)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

// Stop stops every worker gracefully (SIGTERM) and waits for them.
func (c *Cluster) Stop() {
	c.t.Helper()
	c.mu.Lock()
	procs := c.procs
	c.procs = map[string]*exec.Cmd{}
	c.mu.Unlock()
	for _, p := range procs {
		p.Process.Signal(syscall.SIGTERM)
	}
	for node, p := range procs {
		if err := p.Wait(); err != nil {
			c.t.Errorf("worker %s: %v", node, err)
		}
	}
}

type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(w.prefix + line)
	}
	return len(p), nil
}

// waitFor polls cond every 50ms until it holds or the timeout passes; the
// processes under test give no other signal to wait on.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last seen: %s", timeout, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ManyProcesses runs processes workers on one database with jobs jobs
// firing every second for the given window, and checks that every
// scheduled fire in the window was recorded and run exactly once.
func ManyProcesses(t *testing.T, store sundial.Store, c *Cluster, processes, jobs int, window time.Duration) {
	ctx := context.Background()
	no := false
	start := time.Now().Truncate(time.Second).Add(3 * time.Second)
	end := start.Add(window)
	for i := range jobs {
		j := sundial.Job{ID: fmt.Sprintf("job-%03d", i), Task: "tick",
			Trigger: trigger.Spec{Type: "interval", Seconds: 1, StartDate: start.Format(time.RFC3339),
				EndDate: end.Add(-time.Millisecond).Format(time.RFC3339Nano)},
			// Every fire must run, however late a loaded machine makes it.
			Options: sundial.JobOptions{MisfireGrace: -1, Coalesce: &no, Overlap: sundial.OverlapAllow}, NextRunAt: start}
		if _, err := store.CreateJob(ctx, j, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range processes {
		c.Start(fmt.Sprint("worker-", i))
	}
	want := jobs * int(window/time.Second)
	waitFor(t, window+2*time.Minute, fmt.Sprintf("%d fires to succeed", want), func() (bool, string) {
		runs, err := store.ListRuns(ctx, sundial.RunFilter{Status: sundial.StatusSucceeded})
		if err != nil {
			return false, err.Error()
		}
		if len(runs) >= want {
			return true, ""
		}
		others, _ := store.ListRuns(ctx, sundial.RunFilter{Limit: 20})
		var states []string
		for _, r := range others {
			if r.Status != sundial.StatusSucceeded {
				states = append(states, fmt.Sprintf("%s %s on %s %s", r.FireKey(), r.Status, r.Node, r.Error))
			}
		}
		return false, fmt.Sprintf("%d succeeded; latest others: %v", len(runs), states)
	})
	c.Stop()

	runs, err := store.ListRuns(ctx, sundial.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	fires := map[string]int{}
	nodes := map[string]int{}
	for _, r := range runs {
		fires[r.FireKey()]++
		nodes[r.Node]++
		if r.Status != sundial.StatusSucceeded || r.Attempt != 1 {
			t.Errorf("run %s of %s: %s, attempt %d", r.ID, r.FireKey(), r.Status, r.Attempt)
		}
		if r.ScheduledAt.Before(start) || !r.ScheduledAt.Before(end) {
			t.Errorf("run %s fired at %s, outside [%s, %s)", r.ID, r.ScheduledAt, start, end)
		}
	}
	if len(fires) != want {
		t.Errorf("%d distinct fires recorded, want %d", len(fires), want)
	}
	for key, n := range fires {
		if n != 1 {
			t.Errorf("fire %s recorded %d times", key, n)
		}
	}
	t.Logf("%d fires over %d processes: %v", len(runs), processes, nodes)
}

// CrashAndRetry kills a worker with SIGKILL while it holds a running run:
// the survivors mark the run lost once its lease ends and retry it, and a
// job firing every second through the crash loses and doubles nothing.
func CrashAndRetry(t *testing.T, store sundial.Store, c *Cluster) {
	ctx := context.Background()
	no := false
	now := time.Now()
	hang := sundial.Job{ID: "hang", Task: "hang", Trigger: trigger.Spec{Type: "date", RunDate: now.Format(time.RFC3339Nano)},
		Options: sundial.JobOptions{MaxAttempts: 2, RetryBackoff: time.Millisecond}, NextRunAt: now}
	start := now.Truncate(time.Second).Add(2 * time.Second)
	tick := sundial.Job{ID: "tick", Task: "tick", Trigger: trigger.Spec{Type: "interval", Seconds: 1, StartDate: start.Format(time.RFC3339)},
		Options: sundial.JobOptions{MisfireGrace: -1, Coalesce: &no, MaxAttempts: 2, RetryBackoff: time.Millisecond}, NextRunAt: start}
	for _, j := range []sundial.Job{hang, tick} {
		if _, err := store.CreateJob(ctx, j, now); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		c.Start(fmt.Sprint("worker-", i))
	}
	var victim string
	waitFor(t, time.Minute, "the first attempt to run", func() (bool, string) {
		runs, err := store.ListRuns(ctx, sundial.RunFilter{JobID: "hang", Status: sundial.StatusRunning})
		if err != nil || len(runs) == 0 {
			all, _ := store.ListRuns(ctx, sundial.RunFilter{JobID: "hang"})
			job, _ := store.GetJob(ctx, "hang")
			return false, fmt.Sprintf("%v: runs %+v job %+v", err, all, job)
		}
		victim = runs[0].Node
		return true, ""
	})
	c.Kill(victim)
	killedAt := time.Now()
	waitFor(t, 2*time.Minute, "the retry to succeed on a survivor", func() (bool, string) {
		runs, err := store.ListRuns(ctx, sundial.RunFilter{JobID: "hang"})
		if err != nil {
			return false, err.Error()
		}
		var state []string
		lost, retried := false, false
		for _, r := range runs {
			state = append(state, fmt.Sprintf("attempt %d %s on %s", r.Attempt, r.Status, r.Node))
			lost = lost || (r.Attempt == 1 && r.Status == sundial.StatusLost && r.Node == victim)
			retried = retried || (r.Attempt == 2 && r.Status == sundial.StatusSucceeded && r.Node != victim)
		}
		return lost && retried, strings.Join(state, "; ")
	})
	t.Logf("killed %s; its run was retried after %s", victim, time.Since(killedAt).Round(time.Millisecond))
	waitFor(t, time.Minute, "the every-second job to run past the crash", func() (bool, string) {
		runs, err := store.ListRuns(ctx, sundial.RunFilter{JobID: "tick", Status: sundial.StatusSucceeded, Limit: 1})
		if err != nil || len(runs) == 0 {
			return false, fmt.Sprint(err)
		}
		return runs[0].ScheduledAt.After(killedAt.Add(time.Second)), runs[0].ScheduledAt.String()
	})
	c.Stop()

	runs, err := store.ListRuns(ctx, sundial.RunFilter{JobID: "tick"})
	if err != nil {
		t.Fatal(err)
	}
	// Every fire of the every-second job, from its start to its last,
	// succeeded exactly once; a fire the victim held is lost and retried.
	succeeded := map[int64]int{} // by fire time in µs: time.Time keys would compare zones

	last := start
	for _, r := range runs {
		if r.Status == sundial.StatusSucceeded {
			succeeded[r.ScheduledAt.UnixMicro()]++
		}
		if r.ScheduledAt.After(last) {
			last = r.ScheduledAt
		}
	}
	for at := start; !at.After(last); at = at.Add(time.Second) {
		if n := succeeded[at.UnixMicro()]; n != 1 {
			var states []string
			for _, r := range runs {
				if r.ScheduledAt.Equal(at) {
					states = append(states, fmt.Sprintf("attempt %d %s on %s (%s)", r.Attempt, r.Status, r.Node, r.Error))
				}
			}
			t.Errorf("the every-second job's fire at %s succeeded %d times, want once: %v", at, n, states)
		}
	}
}
