package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/server"
	"github.com/sundialhq/sundial/worker"
)

// The workers' chaos run: the same witness jobs, but their task is served
// by Go worker processes (package worker) that reach two server replicas
// through a load balancer, as a deployment does. Nemeses strike the
// workers (kill -9, SIGSTOP past the lease), a server, and PostgreSQL, one
// at a time; the checker holds the workers to the nodes' invariants: no
// silent loss, no duplicate or overlapping execution, nothing executed
// after its run's record ended, a retry only after a recorded loss.

// chaosWorkerEnv makes the test binary a worker process: "URL NAME INC_DIR".
const chaosWorkerEnv = "SUNDIAL_CHAOS_WORKER"

// witnessTask is the witness jobs' task name on the workers.
const witnessTask = "witness"

// firstWorkerInc numbers worker incarnations apart from the servers', so
// that a witness's incarnation (from its /inc/N/ directory) tells which
// kind of process ran it.
const firstWorkerInc = 1000

// runChaosWorker is the worker process: it serves witnessTask until
// SIGTERM, then stops gracefully.
func runChaosWorker(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 3 {
		fmt.Fprintf(os.Stderr, "%s=%q: want URL NAME INC_DIR\n", chaosWorkerEnv, spec)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := worker.New(worker.Config{URL: f[0], Name: f[1], Capacity: 16, ShutdownGrace: 10 * time.Second, Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var seq atomic.Int64
	if err := w.Register(witnessTask, func(ctx context.Context, r sundial.Run) (any, error) {
		return witness(ctx, r, os.Getenv("CHAOS_W"), f[2], &seq)
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// witness is witnessScript in Go, run inside the worker: a start line, a
// tick every 100 ms for args.ms milliseconds, an end line. It writes only
// while its run's lease holds (sundial.LeaseOf), as a task with side
// effects must: its worker may have been frozen past the lease, and woken
// before noticing. Past the lease it waits for its worker to stop it, but
// only for args.overdue_ms (a lease): a worker whose fence failed would
// leave it running, and it then writes on, for the checker to see.
func witness(ctx context.Context, r sundial.Run, dir, incDir string, seq *atomic.Int64) (any, error) {
	var args struct {
		MS        int64 `json:"ms"`
		OverdueMS int64 `json:"overdue_ms"`
	}
	if err := json.Unmarshal(r.Args, &args); err != nil {
		return nil, fmt.Errorf("args: %w", err)
	}
	lease := sundial.LeaseOf(ctx)
	if lease == nil {
		return nil, errors.New("no lease in the run's context")
	}
	// held says why the task must stop writing, if it must.
	held := func() error {
		if !time.Now().Before(lease.Deadline()) {
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(args.OverdueMS) * time.Millisecond):
			}
		}
		return context.Cause(ctx)
	}
	name := fmt.Sprintf("%s.%d.%d", r.ID, os.Getpid(), seq.Add(1))
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := held(); err != nil {
		return nil, err
	}
	start := time.Now()
	fmt.Fprintf(f, "start %d %s %s %s %d %d %d %s\n", start.UnixNano(), r.JobID, r.ScheduledAt.UTC().Format(time.RFC3339Nano),
		r.ID, r.Attempt, os.Getpid(), os.Getppid(), incDir)
	end := start.Add(time.Duration(args.MS) * time.Millisecond)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-tick.C:
		}
		if err := held(); err != nil {
			return nil, err
		}
		t := time.Now()
		fmt.Fprintf(f, "tick %d\n", t.UnixNano())
		if !t.Before(end) {
			break
		}
	}
	if err := held(); err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "end %d\n", time.Now().UnixNano())
	return "witnessed", nil
}

// workerProc is one worker incarnation.
type workerProc struct {
	inc  int
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func (p *workerProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// workerPool is the workers of a run, behind a balancer over the live
// server replicas.
type workerPool struct {
	c     *cluster
	lb    *httptest.Server
	mu    sync.Mutex
	procs []*workerProc
	slots map[string]*workerProc
}

func newWorkerPool(c *cluster) *workerPool {
	p := &workerPool{c: c, slots: map[string]*workerProc{}}
	proxy := &httputil.ReverseProxy{
		// A killed server's cut requests are expected here; the workers
		// log what they make of them.
		ErrorLog: log.New(io.Discard, "", 0),
		Rewrite: func(r *httputil.ProxyRequest) {
			live := c.liveURLs()
			if len(live) == 0 {
				return // no server: the request fails and the worker retries
			}
			u, _ := url.Parse(live[rand.IntN(len(live))])
			r.SetURL(u)
		},
	}
	p.lb = httptest.NewServer(proxy)
	c.t.Cleanup(p.cleanup)
	return p
}

// start starts a worker incarnation in slot.
func (p *workerPool) start(slot string) *workerProc {
	c := p.c
	c.t.Helper()
	p.mu.Lock()
	inc := firstWorkerInc + len(p.procs)
	p.mu.Unlock()
	incDir := filepath.Join(c.dir, "inc", strconv.Itoa(inc)) + "/"
	w := &workerProc{inc: inc, name: fmt.Sprintf("%s.%d", slot, inc), log: filepath.Join(c.dir, fmt.Sprintf("worker-%d.log", inc)), done: make(chan struct{})}
	logs, err := os.Create(w.log)
	if err != nil {
		c.t.Fatal(err)
	}
	w.cmd = exec.Command(os.Args[0], "-test.run=^$")
	w.cmd.Env = append(scrubbedEnv(), chaosWorkerEnv+"="+p.lb.URL+" "+w.name+" "+incDir, "CHAOS_W="+c.witness, "CHAOS_TAG="+c.tag)
	w.cmd.Stdout, w.cmd.Stderr = logs, logs
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := w.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		w.cmd.Wait()
		logs.Close()
		close(w.done)
	}()
	p.mu.Lock()
	p.procs = append(p.procs, w)
	p.slots[slot] = w
	p.mu.Unlock()
	return w
}

func (p *workerPool) current(slot string) *workerProc {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.slots[slot]
}

// nodeOf returns the node ID of worker incarnation inc: what a run record
// it holds names.
func (p *workerPool) nodeOf(inc int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := inc - firstWorkerInc; i >= 0 && i < len(p.procs) {
		return sundial.WorkerNodeID(p.procs[i].name)
	}
	return ""
}

// stopAll stops the live workers with SIGTERM (a graceful stop) and waits.
func (p *workerPool) stopAll() {
	p.mu.Lock()
	procs := append([]*workerProc(nil), p.procs...)
	p.mu.Unlock()
	for _, w := range procs {
		if !w.exited() {
			w.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, w := range procs {
		select {
		case <-w.done:
		case <-time.After(20 * time.Second):
			p.c.t.Errorf("worker %s did not stop 20s after SIGTERM; killed\n%s", w.name, readTail(w.log))
			syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
			<-w.done
		}
	}
}

func (p *workerPool) cleanup() {
	p.mu.Lock()
	procs := append([]*workerProc(nil), p.procs...)
	p.mu.Unlock()
	for _, w := range procs {
		if !w.exited() {
			syscall.Kill(w.cmd.Process.Pid, syscall.SIGCONT)
			syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
			<-w.done
		}
	}
	p.lb.Close()
}

// liveURLs returns the base URLs of the replicas whose process lives.
func (c *cluster) liveURLs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.slots {
		if !s.exited() && s.url != "" {
			out = append(out, s.url)
		}
	}
	return out
}

func TestChaosWorkersSQLite(t *testing.T) {
	needChaos(t)
	dir := t.TempDir()
	runWorkerChaos(t, "sqlite", dir, "sqlite:"+filepath.Join(dir, "sundial.db"), nil)
}

func TestChaosWorkersPostgres(t *testing.T) {
	needChaos(t)
	pg, db := privateDB(t, "chaos_workers")
	runWorkerChaos(t, "postgres", t.TempDir(), db, pg)
}

func runWorkerChaos(t *testing.T, storeName, dir, db string, pg *privatePG) {
	ctx := context.Background()
	nemeses := []string{"worker-kill-9", "worker-sigstop", "server-kill-9"}
	if pg != nil {
		nemeses = append(nemeses, "pg-restart")
	}
	rounds := 1
	if mode == "long" {
		rounds = 3
	}
	stopFor := lease + lease/3 + time.Second
	// A worker whose renewal failed (a database restart) gets no runs
	// until its next renewal, a third of a lease later: one hop more than
	// a node's recovery.
	bound := recoveryBound() + lease/3
	gap := max(8*time.Second, stopFor+2*time.Second, bound+time.Second)
	longest := workload[len(workload)-1].duration()
	nFaults := rounds * len(nemeses)

	c := newCluster(t, dir, db, leaseArgs)
	for _, slot := range []string{"a", "b"} {
		c.start(slot, slot+".0")
	}
	pool := newWorkerPool(c)
	for _, slot := range []string{"w1", "w2"} {
		pool.start(slot)
	}
	st, _, closeStore, err := server.OpenStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()

	warm := 5 * time.Second
	first := time.Now().Truncate(time.Second).Add(3 * time.Second)
	until := first.Add(warm + time.Duration(nFaults)*(gap+victimWait+time.Second) + bound + 3*time.Second)
	plans := c.postWorkload("/api/v1/jobs?declare_task=true", first, until, func(j jobDef, doc map[string]any) {
		doc["task"], doc["args"] = witnessTask, map[string]any{"ms": j.duration().Milliseconds(), "overdue_ms": lease.Milliseconds()}
	})
	t.Logf("%s: 2 replicas, 2 workers, lease %s, %d faults (%v × %d) every %s, workload %s → %s, recovery bound %s",
		storeName, lease, nFaults, nemeses, rounds, gap, first.Format("15:04:05"), until.Format("15:04:05"), bound)

	c.waitWorkloadStarted(first, warm, func() string { return readTail(pool.current("w1").log) })
	time.Sleep(time.Until(first.Add(warm)))

	var faults []Fault
	for r := range rounds {
		for i, n := range nemeses {
			if len(faults) > 0 {
				time.Sleep(time.Until(faults[len(faults)-1].At.Add(gap)))
			}
			f := pool.strike(storeName, n, r*len(nemeses)+i, stopFor, pg)
			t.Logf("%s %s: %s of %s (incarnations %v, nodes %v)", f.At.Format("15:04:05.000"), storeName, n, f.Target, f.Incs, f.Nodes)
			faults = append(faults, f)
		}
	}
	time.Sleep(time.Until(until))

	// Drain: no run left to start, no lease left lapsing, no witness
	// written to for a second (a task in a worker is no process of its
	// own, so a stopped one is told by its silence).
	c.drain(longest+bound+10*time.Second, func() string { return pool.unsettled(ctx, st) })
	pool.stopAll()
	c.stopAll()
	// How often a worker woke from its freeze to find a claim answered
	// while it slept, and did not start it (worker.go): the case that
	// dates a lease from the poll, not from the answer.
	skipped := 0
	pool.mu.Lock()
	procs := slices.Clone(pool.procs)
	pool.mu.Unlock()
	for _, w := range procs {
		b, _ := os.ReadFile(w.log)
		skipped += strings.Count(string(b), "arrived with its lease")
	}
	t.Logf("runs received with a lapsed lease, not started and given back: %d", skipped)

	runs, err := st.ListRuns(ctx, sundial.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	execs, err := readWitnesses(c.witness)
	if err != nil {
		t.Fatal(err)
	}
	for i := range execs {
		if execs[i].Inc < firstWorkerInc {
			t.Errorf("witness %s: executed outside the workers (incarnation %d)", execs[i].File, execs[i].Inc)
		}
		execs[i].Node = pool.nodeOf(execs[i].Inc)
	}
	rep := Check(CheckInput{Jobs: plans, Execs: execs, Runs: runs, Faults: faults, Tolerance: tolerance, RecoveryBound: bound})
	report(t, storeName+"+workers", rep)
	if t.Failed() {
		for _, w := range procs {
			t.Logf("worker %s's log, last lines:\n%s", w.name, readTail(w.log))
		}
		if dump := os.Getenv("SUNDIAL_CHAOS_KEEP"); dump != "" {
			exec.Command("cp", "-r", dir, dump).Run()
		}
	}
	if rep.Execs == 0 {
		t.Error("no execution witnessed")
	}
}

// unsettled says what the drain still waits for, "" when nothing.
func (p *workerPool) unsettled(ctx context.Context, st sundial.Store) string {
	entries, _ := os.ReadDir(p.c.witness)
	for _, ent := range entries {
		if info, err := ent.Info(); err == nil && time.Since(info.ModTime()) < time.Second {
			return "witnesses still written to"
		}
	}
	return unsettledRuns(ctx, st)
}

// strike applies nemesis n (the i-th fault) and returns the fault.
func (p *workerPool) strike(storeName, n string, i int, stopFor time.Duration, pg *privatePG) Fault {
	c := p.c
	c.t.Helper()
	switch n {
	case "pg-restart":
		at := time.Now()
		if err := pg.restart(time.Second); err != nil {
			c.t.Fatalf("restarting PostgreSQL: %v\n%s", err, pg.logTail())
		}
		return Fault{Store: storeName, Nemesis: n, Target: "postgres", At: at}
	case "server-kill-9":
		// Servers hold no worker's run: killing one costs the workers
		// the requests it was answering, nothing more.
		slot := []string{"a", "b"}[i%2]
		s := c.current(slot)
		f := Fault{Store: storeName, Nemesis: n, Target: slot, Incs: []int{s.inc}, Nodes: []string{s.node}, At: time.Now()}
		syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
		c.waitExit(s, 10*time.Second)
		c.start(slot, fmt.Sprintf("%s.%d", slot, len(c.incs)))
		return f
	}
	slot := p.pickVictim(i)
	w := p.current(slot)
	pid := w.cmd.Process.Pid
	f := Fault{Store: storeName, Nemesis: n, Target: w.name, Incs: []int{w.inc}, Nodes: []string{sundial.WorkerNodeID(w.name)}}
	switch n {
	case "worker-kill-9":
		f.At = time.Now()
		syscall.Kill(-pid, syscall.SIGKILL)
		select {
		case <-w.done:
		case <-time.After(10 * time.Second):
			c.t.Fatalf("worker %s (pid %d) alive 10s after SIGKILL", w.name, pid)
		}
		p.start(slot)
	case "worker-sigstop":
		// Strike between two ticks of the witnesses (they tick 100 ms
		// after runs start, just after whole seconds): a write that the
		// freeze cuts between its lease check and itself would be a
		// write after the lease that no task can rule out.
		next := time.Now().Truncate(time.Second).Add(time.Second + 55*time.Millisecond)
		time.Sleep(time.Until(next))
		f.At = time.Now()
		syscall.Kill(pid, syscall.SIGSTOP)
		if !waitFor(5*time.Second, func() bool { return state(pid) == 'T' }) {
			c.t.Fatalf("worker %s (pid %d) not stopped 5s after SIGSTOP", w.name, pid)
		}
		time.Sleep(time.Until(f.At.Add(stopFor)))
		syscall.Kill(pid, syscall.SIGCONT)
	default:
		c.t.Fatalf("unknown nemesis %q", n)
	}
	return f
}

// pickVictim chooses the worker running the most long executions now,
// waiting up to victimWait for one.
func (p *workerPool) pickVictim(i int) string {
	order := []string{"w1", "w2"}
	if i%2 == 1 {
		order = []string{"w2", "w1"}
	}
	return p.c.busiest(order, func(slot string) int { return p.current(slot).inc })
}
