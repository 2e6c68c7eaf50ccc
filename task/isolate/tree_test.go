package isolate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// escapes is a script that starts sleepers which leave the task's reach
// in each way a process group kill misses, writing their pids into the
// working directory: one in a new session whose parent exits (setsid and
// a double fork), one orphaned by a double fork in the task's group, one
// in a new session whose parent lives on. It also writes the task's own
// pid and its parent's, the supervisor. Then it runs tail.
func escapes(tail string) []string {
	return []string{"sh", "-c", `echo $$ > task.pid; echo $PPID > supervisor.pid
setsid sh -c 'sleep 1000 & echo $! > setsid.pid'
sh -c 'sleep 1000 & echo $! > orphan.pid'
setsid sleep 1000 & echo $! > session.pid
` + tail}
}

var escapeFiles = []string{"task.pid", "supervisor.pid", "setsid.pid", "orphan.pid", "session.pid"}

// escapedPIDs reads the pids the escapes script wrote; they must all be
// there.
func escapedPIDs(t *testing.T, dir string) map[string]int {
	t.Helper()
	pids := map[string]int{}
	for _, f := range escapeFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pids[f] = pid
	}
	return pids
}

// waitWritten polls until the escapes script has written every pid.
func waitWritten(t *testing.T, dir string) map[string]int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		all := true
		for _, f := range escapeFiles {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !strings.HasSuffix(string(b), "\n") {
				all = false
			}
		}
		if all {
			return escapedPIDs(t, dir)
		}
		if time.Now().After(deadline) {
			t.Fatal("the task did not write its pids")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertGone checks, once Run has returned, that nothing of the tree is
// left: Run waits for the supervisor, which waits for the tree.
func assertGone(t *testing.T, pids map[string]int) {
	t.Helper()
	for name, pid := range pids {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("%s (%d) outlived the run", strings.TrimSuffix(name, ".pid"), pid)
		}
	}
}

// treeRunners are the ways the supervisor starts a task: directly, and
// through either trampoline.
func treeRunners() map[string]struct {
	r *Runner
	l Limits
} {
	return map[string]struct {
		r *Runner
		l Limits
	}{
		"direct":     {&Runner{}, Limits{OpenFiles: 256}},
		"sh-ulimit":  {&Runner{}, Limits{CPUSeconds: 100}},
		"go-ulimit":  {&Runner{NoShell: true}, Limits{CPUSeconds: 100}},
		"go-process": {&Runner{}, Limits{Processes: 10000}},
	}
}

// TestExitKillsEscapedDescendants: a task that exits at once leaves
// nothing behind, not even what left its process group and session.
func TestExitKillsEscapedDescendants(t *testing.T) {
	for name, tr := range treeRunners() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			res, out, err := runWith(tr.r, context.Background(), Cmd{Argv: escapes("exit 3"), Dir: dir, Limits: tr.l})
			if err != nil || res.ExitCode != 3 || res.Fenced {
				t.Fatalf("Run = %+v, %v\n%s", res, err, out)
			}
			if res.Strays != 3 || res.Lingering != 0 {
				t.Errorf("strays %d, lingering %d; want the 3 sleepers killed", res.Strays, res.Lingering)
			}
			assertGone(t, escapedPIDs(t, dir))
		})
	}
}

// TestNoStraysIsFast: a task that leaves nothing reports no strays.
func TestNoStraysReported(t *testing.T) {
	res, _, err := run(t, context.Background(), Cmd{Argv: []string{"sh", "-c", "sleep 0.01 & wait"}})
	if err != nil || res.ExitCode != 0 || res.Strays != 0 {
		t.Errorf("Run = %+v, %v", res, err)
	}
}

// TestTimeoutKillsEscapedDescendants: the timeout ends the whole tree.
func TestTimeoutKillsEscapedDescendants(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, out, err := run(t, ctx, Cmd{Argv: escapes("sleep 1000"), Dir: dir, Grace: time.Second})
	if !errors.Is(err, context.DeadlineExceeded) || res.Signal != syscall.SIGTERM.String() {
		t.Errorf("Run = %+v, %v; want the deadline and SIGTERM\n%s", res, err, out)
	}
	assertGone(t, escapedPIDs(t, dir))
}

// TestCancelKillsEscapedDescendants: so does a cancel, and a task that
// ignores SIGTERM is killed after the grace.
func TestCancelKillsEscapedDescendants(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	type ended struct {
		res Result
		err error
	}
	done := make(chan ended, 1)
	go func() {
		res, _, err := run(t, ctx, Cmd{Argv: escapes("trap '' TERM; while :; do sleep 0.05; done"), Dir: dir, Grace: 300 * time.Millisecond})
		done <- ended{res, err}
	}()
	pids := waitWritten(t, dir)
	cancel()
	e := <-done
	if !errors.Is(e.err, context.Canceled) || e.res.Signal != syscall.SIGKILL.String() {
		t.Errorf("Run = %+v, %v; want a cancel and SIGKILL", e.res, e.err)
	}
	assertGone(t, pids)
}

// TestKeepAliveMissed: past the deadline, with no renewal, the tree is
// killed and the result says why.
func TestKeepAliveMissed(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	res, out, err := run(t, context.Background(), Cmd{Argv: escapes("sleep 1000"), Dir: dir, Deadline: start.Add(300 * time.Millisecond)})
	if !errors.Is(err, ErrFenced) || !res.Fenced || res.Signal != syscall.SIGKILL.String() {
		t.Errorf("Run = %+v, %v; want it fenced\n%s", res, err, out)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("killed after %s, before the deadline", d)
	}
	assertGone(t, escapedPIDs(t, dir))
}

// TestKeepAliveRenewed: a deadline that keeps moving lets the task finish.
func TestKeepAliveRenewed(t *testing.T) {
	const window = 700 * time.Millisecond
	keepAlive := make(chan time.Time)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				select {
				case keepAlive <- time.Now().Add(window):
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	start := time.Now()
	res, out, err := run(t, context.Background(), Cmd{Argv: []string{"sh", "-c", "sleep 1.6; echo done"},
		Deadline: start.Add(window), KeepAlive: keepAlive})
	if err != nil || res.ExitCode != 0 || res.Fenced || out != "done\n" {
		t.Errorf("Run = %+v, %q, %v", res, out, err)
	}
}

// TestKeepAliveShortened: a new deadline may also come sooner, and a
// closed channel leaves it in force.
func TestKeepAliveShortened(t *testing.T) {
	keepAlive := make(chan time.Time, 1)
	keepAlive <- time.Now().Add(200 * time.Millisecond)
	close(keepAlive)
	res, _, err := run(t, context.Background(), Cmd{Argv: []string{"sleep", "1000"}, Deadline: time.Now().Add(time.Hour), KeepAlive: keepAlive})
	if !errors.Is(err, ErrFenced) || !res.Fenced {
		t.Errorf("Run = %+v, %v; want it fenced", res, err)
	}
}

// TestPastDeadlineDoesNotStart: a run whose deadline has passed is not
// started at all.
func TestPastDeadlineDoesNotStart(t *testing.T) {
	prepared := false
	res, _, err := run(t, context.Background(), Cmd{Argv: []string{"true"}, Deadline: time.Now().Add(-time.Second),
		Prepare: func(string) error { prepared = true; return nil }})
	if !errors.Is(err, ErrFenced) || !res.Fenced || prepared {
		t.Errorf("Run = %+v, %v, prepared %v", res, err, prepared)
	}
}

// The helper is the test binary re-executed as a stand-in server: it runs
// the escapes script through a Runner in the directory helperEnv names,
// renewing a keep-alive deadline every 100 ms when helperKeepAlive is
// set, and prints how the run ended.
const (
	helperEnv       = "SUNDIAL_ISOLATE_HELPER_DIR"
	helperKeepAlive = "SUNDIAL_ISOLATE_HELPER_KEEPALIVE"
)

func helper(dir string) int {
	c := Cmd{Argv: escapes("sleep 1000"), Dir: dir, Output: os.Stderr}
	if window, err := time.ParseDuration(os.Getenv(helperKeepAlive)); err == nil {
		keepAlive := make(chan time.Time)
		go func() {
			for {
				keepAlive <- time.Now().Add(window)
				time.Sleep(100 * time.Millisecond)
			}
		}()
		c.Deadline, c.KeepAlive = time.Now().Add(window), keepAlive
	}
	res, err := (&Runner{}).Run(context.Background(), c)
	fmt.Printf("fenced=%v strays=%d err=%v\n", res.Fenced, res.Strays, err)
	return 0
}

// startHelper starts the stand-in server and waits until its task has
// written its pids.
func startHelper(t *testing.T, env ...string) (*exec.Cmd, *bufio.Scanner, map[string]int) {
	t.Helper()
	dir := t.TempDir()
	h := exec.Command(os.Args[0], "-test.run=^$")
	h.Env = append(os.Environ(), append(env, helperEnv+"="+dir)...)
	h.Stderr = os.Stderr
	stdout, err := h.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Process.Kill()
		h.Wait()
	})
	pids := waitWritten(t, dir)
	for name, pid := range pids {
		t.Cleanup(func() {
			if alive(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("%s (%d) was left running", name, pid)
			}
		})
	}
	return h, bufio.NewScanner(stdout), pids
}

// TestServerDeathKillsTheTree: kill -9 of the server ends its tasks and
// everything they started, at once, not when a lease expires.
func TestServerDeathKillsTheTree(t *testing.T) {
	h, _, pids := startHelper(t)
	h.Process.Kill()
	h.Wait()
	for _, pid := range pids {
		waitGone(t, pid)
	}
}

// TestStoppedServerIsFenced: a server that is stopped (SIGSTOP, a long
// pause) cannot renew its keep-alive; the supervisor, a process of its
// own, kills the tree by the deadline while the server stays stopped.
func TestStoppedServerIsFenced(t *testing.T) {
	h, out, pids := startHelper(t, helperKeepAlive+"=500ms")
	if err := h.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			h.Process.Signal(syscall.SIGCONT)
		}
	}()
	for _, pid := range pids {
		waitGone(t, pid)
	}
	if state := procState(h.Process.Pid); state != 'T' {
		t.Errorf("the server's state is %q, want it still stopped (T)", state)
	}
	h.Process.Signal(syscall.SIGCONT)
	stopped = false
	if !out.Scan() || !strings.HasPrefix(out.Text(), "fenced=true strays=") {
		t.Errorf("the server's run ended with %q, want it fenced", out.Text())
	}
}

func procState(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}
