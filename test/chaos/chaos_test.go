package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/server"
)

// The chaos suite proper: three replicas of the real server on one store,
// a workload of witness jobs, one nemesis at a time, then the checker.

var (
	// mode is SUNDIAL_CHAOS: "" (skip), "short" or "long".
	mode string
	// bin is the sundial binary built for the suite.
	bin string
	// lease is the servers' lease TTL: suiteLease when the server takes
	// --lease-ttl, else its built-in default.
	lease     time.Duration
	leaseArgs []string
)

const (
	pollInterval = 500 * time.Millisecond
	// defaultLease is the lease TTL of a server without the --lease-ttl
	// flag (sundial.Config.LeaseTTL's default before the flag came).
	defaultLease = 30 * time.Second
	suiteLease   = 3 * time.Second
	// tolerance absorbs clock resolution between a witness's time stamp
	// and the store's (one host, one wall clock, microseconds stored).
	tolerance = 20 * time.Millisecond
	// slack, in the recovery bound, covers the longest job period (3 s:
	// a job without retries waits for its next fire once its lost run is
	// reaped) plus 1 s of process start-up on a loaded 2-core machine.
	slack = 4 * time.Second
	// victimWait bounds the wait for a replica that holds a long run.
	victimWait = 3 * time.Second
)

// recoveryBound is the documented bound on recovery: a lapsed lease is
// found at a survivor's next heartbeat (every third of the TTL) and the
// retry claimed at its next poll.
func recoveryBound() time.Duration { return lease + lease/3 + pollInterval + slack }

func TestMain(m *testing.M) {
	if spec := os.Getenv(chaosWorkerEnv); spec != "" {
		os.Exit(runChaosWorker(spec))
	}
	mode = os.Getenv("SUNDIAL_CHAOS")
	var dir string
	if mode != "" {
		if mode != "short" && mode != "long" {
			fmt.Fprintf(os.Stderr, "SUNDIAL_CHAOS=%q: use short or long\n", mode)
			os.Exit(2)
		}
		var err error
		if dir, err = os.MkdirTemp("", "sundial-chaos-bin-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		bin = filepath.Join(dir, "sundial")
		if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/sundial").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building sundial: %v\n%s", err, out)
			os.Exit(1)
		}
		help, _ := exec.Command(bin, "serve", "--help").CombinedOutput()
		lease = defaultLease
		if strings.Contains(string(help), "--lease-ttl") {
			lease, leaseArgs = suiteLease, []string{"--lease-ttl", suiteLease.String()}
		}
	}
	code := m.Run()
	stopPG()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

func needChaos(t *testing.T) {
	if mode == "" {
		t.Skip("the chaos suite runs real servers for minutes; enable it with SUNDIAL_CHAOS=short (or long): " +
			"SUNDIAL_CHAOS=short go test -count=1 -timeout 15m ./test/chaos/")
	}
	if len(leaseArgs) == 0 {
		t.Logf("this sundial has no --lease-ttl flag: the servers keep the default lease of %s, so each fault waits that long", lease)
	}
}

func TestChaosSQLite(t *testing.T) {
	needChaos(t)
	dir := t.TempDir()
	runChaos(t, "sqlite", dir, "sqlite:"+filepath.Join(dir, "sundial.db"), nil)
}

func TestChaosPostgres(t *testing.T) {
	needChaos(t)
	pg, db := privateDB(t, "chaos")
	runChaos(t, "postgres", t.TempDir(), db, pg)
}

// privateDB starts the suite's private PostgreSQL (skipping without one)
// and creates a database of its own for the test.
func privateDB(t *testing.T, prefix string) (*privatePG, string) {
	t.Helper()
	pg, err := sharedPG()
	if errors.Is(err, errNoPG) {
		t.Skipf("skipping the PostgreSQL chaos run: %v", err)
	}
	if err != nil {
		t.Fatalf("starting the suite's private PostgreSQL: %v", err)
	}
	db, err := pg.createDB(fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	return pg, db
}

// postWorkload creates the workload's jobs, firing from first until
// until, through path (the jobs API); task fills in each job's task and
// arguments.
func (c *cluster) postWorkload(path string, first, until time.Time, task func(jobDef, map[string]any)) []JobPlan {
	c.t.Helper()
	var plans []JobPlan
	for _, j := range workload {
		plans = append(plans, JobPlan{ID: j.id, Every: j.every, First: first, Until: until, MaxAttempts: j.attempts})
		doc := map[string]any{
			"id": j.id,
			"trigger": map[string]any{"type": "interval", "seconds": j.every.Seconds(),
				"start_date": first.UTC().Format(time.RFC3339), "end_date": until.Add(-time.Millisecond).UTC().Format(time.RFC3339Nano)},
			"options": map[string]any{"max_attempts": j.attempts, "retry_backoff": "100ms"},
		}
		task(j, doc)
		if err := c.postJSON(path, doc); err != nil {
			c.t.Fatal(err)
		}
	}
	return plans
}

// waitWorkloadStarted waits until every job has started once, at most 10 s
// after first+warm; logs is shown when one has not.
func (c *cluster) waitWorkloadStarted(first time.Time, warm time.Duration, logs func() string) {
	c.t.Helper()
	if !waitFor(time.Until(first.Add(warm+10*time.Second)), func() bool {
		execs, _ := readWitnesses(c.witness)
		seen := map[string]bool{}
		for _, e := range execs {
			seen[e.Job] = true
		}
		return len(seen) == len(workload)
	}) {
		c.t.Fatalf("not every job started within 10s of its first fire; logs:\n%s", logs())
	}
}

// drain waits, up to drainFor, until unsettled has said "" twice in a row
// a second apart: the last runs ended, retries ran, the reaper found what
// was left.
func (c *cluster) drain(drainFor time.Duration, unsettled func() string) {
	var state string
	quiet := 0
	waitEvery(drainFor, time.Second, func() bool {
		state = unsettled()
		if state != "" {
			quiet = 0
			return false
		}
		quiet++
		return quiet >= 2
	})
	if state != "" {
		c.t.Logf("%s after the workload ended, still %s: going on", drainFor, state)
	}
}

// jobDef is one job of the workload.
type jobDef struct {
	id       string
	every    time.Duration
	run      time.Duration // how long each execution runs
	long     bool          // runs the lease TTL longer
	attempts int           // options.max_attempts
}

// workload: fast jobs fire every second and finish at once; long ones run
// TTL + TTL/3 - 1 s plus 0-5 s (3-8 s with the suite's 3 s lease), so
// that a fault finds some of them mid-run and a task that outlives its
// dead server outlives its lease too. Some may retry. Overlap is the default
// (skip, one instance), so a long job's fires during its run are recorded
// as skipped.
var workload = []jobDef{
	{"fast-1", time.Second, 150 * time.Millisecond, false, 1},
	{"fast-2", time.Second, 150 * time.Millisecond, false, 3},
	{"fast-3", time.Second, 400 * time.Millisecond, false, 3},
	{"long-a", 2 * time.Second, 0, true, 3},
	{"long-b", 2 * time.Second, time.Second, true, 1},
	{"long-c", 2 * time.Second, 2 * time.Second, true, 3},
	{"long-d", 3 * time.Second, 5 * time.Second, true, 1},
}

// duration is how long the job's executions run.
func (j jobDef) duration() time.Duration {
	if j.long {
		return lease + lease/3 - time.Second + j.run
	}
	return j.run
}

func runChaos(t *testing.T, storeName, dir, db string, pg *privatePG) {
	ctx := context.Background()
	nemeses := []string{"kill-9", "kill-9-tree", "sigstop", "restart-same-id"}
	if pg != nil {
		nemeses = append(nemeses, "pg-restart")
	}
	rounds := 1
	if mode == "long" {
		rounds = 3
	}
	stopFor := lease + lease/3 + time.Second // past the lease, and past a survivor's next look
	bound := recoveryBound()
	// Faults are apart by more than the recovery bound, so that each is
	// measured on its own.
	gap := max(8*time.Second, stopFor+2*time.Second, bound+time.Second)
	longest := workload[len(workload)-1].duration()
	nFaults := rounds * len(nemeses)

	c := newCluster(t, dir, db, leaseArgs)
	for _, slot := range []string{"a", "b", "c"} {
		c.start(slot, slot+".0")
	}
	st, _, closeStore, err := server.OpenStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()

	warm := 5 * time.Second
	first := time.Now().Truncate(time.Second).Add(3 * time.Second)
	// Each fault may wait victimWait for a victim, and a second more (the
	// sigstop strikes just after a whole second); after the last, the
	// workload goes on past the recovery bound.
	until := first.Add(warm + time.Duration(nFaults)*(gap+victimWait+time.Second) + bound + 3*time.Second)
	plans := c.postWorkload("/api/v1/jobs", first, until, func(j jobDef, doc map[string]any) {
		doc["task"] = "command"
		doc["args"] = map[string]any{"argv": []string{"sh", "-c", witnessScript},
			"env": map[string]string{"CHAOS_W": c.witness, "CHAOS_MS": fmt.Sprint(j.duration().Milliseconds()), "CHAOS_TAG": c.tag}}
	})
	t.Logf("%s: %d replicas, lease %s, poll %s, %d faults (%v × %d) every %s, workload %s → %s, recovery bound %s",
		storeName, 3, lease, pollInterval, nFaults, nemeses, rounds, gap, first.Format("15:04:05"), until.Format("15:04:05"), bound)

	// Every job has started once before the first fault.
	c.waitWorkloadStarted(first, warm, func() string { return readTail(c.current("a").log) })
	time.Sleep(time.Until(first.Add(warm))) // let the workload run

	var faults []Fault
	for r := range rounds {
		for i, n := range nemeses {
			if len(faults) > 0 {
				time.Sleep(time.Until(faults[len(faults)-1].At.Add(gap))) // the workload runs between faults
			}
			f := c.strike(storeName, n, r*len(nemeses)+i, stopFor, pg)
			t.Logf("%s %s: %s of %s (incarnations %v, nodes %v)", f.At.Format("15:04:05.000"), storeName, n, f.Target, f.Incs, f.Nodes)
			faults = append(faults, f)
		}
	}
	time.Sleep(time.Until(until)) // the workload runs to its end

	// Drain: the last runs end, retries run, the reaper finds what is
	// left. Runs that no process executes but whose lease is still being
	// renewed will never end (stuck): the drain does not wait for them.
	c.drain(longest+bound+10*time.Second, func() string { return c.unsettled(ctx, st) })
	c.stopAll()
	if n := c.killOrphans(); n > 0 {
		t.Logf("killed %d task processes left running after the servers stopped", n)
	}

	runs, err := st.ListRuns(ctx, sundial.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	execs, err := readWitnesses(c.witness)
	if err != nil {
		t.Fatal(err)
	}
	// The node comes from the incarnation (TMPDIR); the parent pid is a
	// cross-check only, since a server may put a supervisor in between.
	indirect := 0
	for i := range execs {
		execs[i].Node = c.nodeOf(execs[i].Inc)
		if inc := execs[i].Inc; inc < 0 {
			t.Errorf("witness %s: no incarnation in its TMPDIR", execs[i].File)
		} else if execs[i].PPID != c.incs[inc].cmd.Process.Pid {
			indirect++
		}
	}
	if indirect > 0 {
		t.Logf("%d of %d task processes were not direct children of their server", indirect, len(execs))
	}
	rep := Check(CheckInput{Jobs: plans, Execs: execs, Runs: runs, Faults: faults, Tolerance: tolerance, RecoveryBound: bound})
	report(t, storeName, rep)
}

// report logs the figures and fails on every violated invariant, listing
// the offending fires (the first 15 of each invariant).
func report(t *testing.T, storeName string, rep Report) {
	t.Helper()
	t.Logf("figures (violations counted under the last fault before them):\n%s", Table(map[string]Report{storeName: rep}))
	for _, f := range rep.Faults {
		rec := "never"
		if f.Recovered {
			rec = f.Recovery.Round(10 * time.Millisecond).String()
		}
		t.Logf("fault %s %s of %s: affected %v, recovery %s", f.At.Format("15:04:05.000"), f.Nemesis, f.Target, f.Affected, rec)
	}
	shown := map[string]int{}
	for _, v := range rep.Violations {
		shown[v.Invariant]++
		if shown[v.Invariant] <= 15 {
			after := "before any fault"
			if v.Fault >= 0 {
				after = "after " + rep.Faults[v.Fault].Nemesis + " of " + rep.Faults[v.Fault].Target
			}
			t.Errorf("%s %s (%s): %s", v.Invariant, v.Fire, after, v.Detail)
		}
	}
	for inv, n := range shown {
		if n > 15 {
			t.Errorf("%s: %d more not listed", inv, n-15)
		}
	}
}

// waitEvery is waitFor with a slower poll, for conditions that read many files.
func waitEvery(timeout, every time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every)
	}
}

// strike applies nemesis n (the i-th fault) and returns the fault.
func (c *cluster) strike(storeName, n string, i int, stopFor time.Duration, pg *privatePG) Fault {
	c.t.Helper()
	if n == "pg-restart" {
		at := time.Now()
		if err := pg.restart(time.Second); err != nil {
			c.t.Fatalf("restarting PostgreSQL: %v\n%s", err, pg.logTail())
		}
		return Fault{Store: storeName, Nemesis: n, Target: "postgres", At: at}
	}
	slot := c.pickVictim(i)
	s := c.current(slot)
	pid := s.cmd.Process.Pid
	f := Fault{Store: storeName, Nemesis: n, Target: slot, Incs: []int{s.inc}, Nodes: []string{s.node}}
	switch n {
	case "kill-9", "restart-same-id":
		f.At = time.Now()
		syscall.Kill(pid, syscall.SIGKILL)
		c.waitExit(s, 10*time.Second)
		node := fmt.Sprintf("%s.%d", slot, len(c.incs))
		if n == "restart-same-id" {
			node = s.node
		}
		c.start(slot, node)
	case "kill-9-tree":
		// Freeze the server first, so that it starts nothing between the
		// walk of its tree and the kill.
		f.At = time.Now()
		syscall.Kill(pid, syscall.SIGSTOP)
		waitFor(time.Second, func() bool { return state(pid) == 'T' })
		tree := descendants(pid)
		syscall.Kill(-pid, syscall.SIGKILL)
		for _, p := range tree {
			syscall.Kill(-p, syscall.SIGKILL) // the task's own process group
			syscall.Kill(p, syscall.SIGKILL)
		}
		c.waitExit(s, 10*time.Second)
		if !waitFor(10*time.Second, func() bool {
			for _, p := range tree {
				if st := state(p); st != 0 && st != 'Z' {
					return false
				}
			}
			return true
		}) {
			c.t.Fatalf("processes of the killed tree of %s still alive after 10s", s.node)
		}
		c.start(slot, fmt.Sprintf("%s.%d", slot, len(c.incs)))
	case "sigstop":
		// Strike a few milliseconds after a whole second, when the
		// every-second jobs are being claimed and started: a run claimed
		// or marked running just before the freeze is the one a waking
		// node might start after its lease.
		next := time.Now().Truncate(time.Second).Add(time.Second + time.Duration(1+i%5)*time.Millisecond)
		time.Sleep(time.Until(next))
		f.At = time.Now()
		syscall.Kill(pid, syscall.SIGSTOP)
		if !waitFor(5*time.Second, func() bool { return state(pid) == 'T' }) {
			c.t.Fatalf("server %s (pid %d) not stopped 5s after SIGSTOP", s.node, pid)
		}
		time.Sleep(time.Until(f.At.Add(stopFor))) // frozen past its lease while the others run
		syscall.Kill(pid, syscall.SIGCONT)
		if !waitFor(5*time.Second, func() bool { return state(pid) != 'T' }) {
			c.t.Fatalf("server %s (pid %d) still stopped 5s after SIGCONT", s.node, pid)
		}
	default:
		c.t.Fatalf("unknown nemesis %q", n)
	}
	return f
}

// pickVictim chooses the replica to strike: the one running the most
// long executions now, those started in the last 2 s counting most
// (waiting up to victimWait for one), so that the fault finds work
// mid-run, early enough that a task outliving its server outlives its
// lease too; ties go round the slots from the i-th.
func (c *cluster) pickVictim(i int) string {
	var order []string
	for k := range 3 {
		order = append(order, []string{"a", "b", "c"}[(i+k)%3])
	}
	return c.busiest(order, func(slot string) int { return c.current(slot).inc })
}

// busiest returns the slot, of order, whose incarnation (incOf) runs the
// most long executions now, those started in the last 2 s counting most,
// waiting up to victimWait for one; ties go to the first in order.
func (c *cluster) busiest(order []string, incOf func(slot string) int) string {
	best := order[0]
	waitFor(victimWait, func() bool {
		score := map[int]int{}
		for _, e := range c.liveExecs("long-") {
			score[e.Inc]++
			if time.Since(e.Start) < 2*time.Second {
				score[e.Inc] += 10
			}
		}
		n := 0
		for _, slot := range order {
			if k := score[incOf(slot)]; k > n {
				best, n = slot, k
			}
		}
		return n >= 10
	})
	return best
}

// unsettled says what the drain still waits for ("" when nothing): a task
// process still running, a retry or queued run not yet run, or a run
// recorded as executing whose lease is no longer renewed (the reaper will
// end it). A run recorded as executing with no process and a lease still
// renewed is stuck, and waiting would not end it.
func (c *cluster) unsettled(ctx context.Context, st sundial.Store) string {
	execs, _ := readWitnesses(c.witness)
	live := map[string]bool{}
	for _, e := range execs {
		if !e.Ended && c.ours(e.PID) {
			live[e.RunID] = true
		}
	}
	if len(live) > 0 {
		return fmt.Sprintf("%d task processes running", len(live))
	}
	return unsettledRuns(ctx, st)
}

// unsettledRuns says which runs the drain still waits for: a retry or
// queued run not yet run, or a run recorded as executing whose lease is no
// longer renewed (the reaper will end it).
func unsettledRuns(ctx context.Context, st sundial.Store) string {
	for _, s := range []sundial.RunStatus{sundial.StatusScheduled, sundial.StatusQueued} {
		if runs, err := st.ListRuns(ctx, sundial.RunFilter{Status: s, Limit: 1}); err != nil || len(runs) > 0 {
			return fmt.Sprintf("runs %s (%v)", s, err)
		}
	}
	for _, s := range []sundial.RunStatus{sundial.StatusPending, sundial.StatusRunning} {
		runs, err := st.ListRuns(ctx, sundial.RunFilter{Status: s})
		if err != nil {
			return err.Error()
		}
		for _, r := range runs {
			if time.Until(r.LeaseUntil) < lease/2 {
				return fmt.Sprintf("%s %s on %s, lease until %s", r.FireKey(), r.Status, r.Node, r.LeaseUntil.Format("15:04:05"))
			}
		}
	}
	return ""
}
