package isolate

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary is the supervisor too: the runner re-executes it with
// ShimArg, and the package's init takes over. It is also a stand-in for
// the server in the tests that kill or stop the server (see helper).
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(helper(dir))
	}
	os.Exit(m.Run())
}

// runner sets limits through /bin/sh, the default.
func runner(t *testing.T) *Runner { return &Runner{} }

// runners are both ways of setting limits: /bin/sh and the Go shim.
func runners(t *testing.T) map[string]*Runner {
	return map[string]*Runner{"sh": {}, "go-shim": {NoShell: true}}
}

// lockedBuffer is an output writer safe to read while the child writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func run(t *testing.T, ctx context.Context, c Cmd) (Result, string, error) {
	t.Helper()
	return runWith(runner(t), ctx, c)
}

func runWith(r *Runner, ctx context.Context, c Cmd) (Result, string, error) {
	var out lockedBuffer
	c.Output = &out
	res, err := r.Run(ctx, c)
	return res, out.String(), err
}

func TestOutputAndExitCode(t *testing.T) {
	res, out, err := run(t, context.Background(), Cmd{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}})
	if err != nil || res.ExitCode != 3 || res.Signal != "" || out != "out\nerr\n" {
		t.Errorf("Run = %+v, %q, %v", res, out, err)
	}
}

func TestEnvironmentIsScrubbed(t *testing.T) {
	t.Setenv("SUNDIAL_TOKEN", "sdl_canary_token")
	t.Setenv("DATABASE_URL", "postgres://u:canary@db/x")
	_, out, err := run(t, context.Background(), Cmd{Argv: []string{"env"}, Env: map[string]string{"JOB_SETTING": "on"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "canary") {
		t.Errorf("the server's secrets reached the child:\n%s", out)
	}
	for _, want := range []string{"PATH=", "JOB_SETTING=on", "TMPDIR=" + os.TempDir()} {
		if !strings.Contains(out, want) {
			t.Errorf("child env lacks %s:\n%s", want, out)
		}
	}
}

// TestOnlyStandardFilesReachTheChild: a descriptor the server holds
// without close-on-exec (inherited from its own parent, say) stays out of
// the child, as does the supervisor's control socket.
func TestOnlyStandardFilesReachTheChild(t *testing.T) {
	syscall.ForkLock.Lock()
	fd, err := syscall.Open(os.DevNull, syscall.O_RDONLY, 0)
	syscall.ForkLock.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	// 3 is the directory the shell reads for the glob.
	_, out, err := run(t, context.Background(), Cmd{Argv: []string{"sh", "-c", "cd /proc/self/fd && echo *"}})
	if err != nil || out != "0 1 2 3\n" {
		t.Errorf("the child's descriptors: %q, %v", out, err)
	}
}

func TestFreshWorkingDirectoryIsRemoved(t *testing.T) {
	_, out, err := run(t, context.Background(), Cmd{Argv: []string{"sh", "-c", "pwd; ls -A"},
		Prepare: func(dir string) error { return os.WriteFile(filepath.Join(dir, "script.py"), []byte("x"), 0o600) }})
	if err != nil {
		t.Fatal(err)
	}
	dir, files, _ := strings.Cut(out, "\n")
	if !strings.Contains(dir, "sundial-run-") || files != "script.py\n" {
		t.Errorf("working directory %q holds %q", dir, files)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after the run: %v", dir, err)
	}
	keep := t.TempDir()
	if _, out, _ := run(t, context.Background(), Cmd{Argv: []string{"pwd"}, Dir: keep}); strings.TrimSpace(out) != keep {
		t.Errorf("a job's own directory: pwd = %q", out)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a job's own directory was removed: %v", err)
	}
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d is still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sleeperPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestTimeoutKillsTheWholeGroup: a script that forks a sleeper and waits
// is cancelled; neither it nor the sleeper is left.
func TestTimeoutKillsTheWholeGroup(t *testing.T) {
	dir := t.TempDir()
	// The timeout leaves the supervisor and the shell ample time to start
	// even on a loaded machine: the pid must be written before it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, _, err := run(t, ctx, Cmd{Argv: []string{"sh", "-c", "sleep 300 & echo $! > pid; wait"}, Dir: dir, Grace: time.Second})
	if !errors.Is(err, context.DeadlineExceeded) || res.Signal == "" {
		t.Errorf("Run = %+v, %v; want the deadline and a signal", res, err)
	}
	waitGone(t, sleeperPID(t, dir))
}

// TestExitLeavesNoOrphans: a script that starts a sleeper in the
// background and exits at once leaves nothing behind.
func TestExitLeavesNoOrphans(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	res, _, err := run(t, context.Background(), Cmd{Argv: []string{"sh", "-c", "sleep 300 & echo $! > pid; exit 0"}, Dir: dir})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run waited %s for the background sleeper", d)
	}
	waitGone(t, sleeperPID(t, dir))
}

// TestGraceThenKill: a child that ignores SIGTERM is killed after the grace.
func TestGraceThenKill(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan Result, 1)
	go func() {
		res, _ := runner(t).Run(ctx, Cmd{Argv: []string{"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"},
			Output: &out, Grace: 200 * time.Millisecond})
		done <- res
	}()
	for !strings.Contains(out.String(), "ready") {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	res := <-done
	if res.Signal != syscall.SIGKILL.String() {
		t.Errorf("signal = %q, want %q after the grace", res.Signal, syscall.SIGKILL.String())
	}
}

func TestLimitsApplyToTheChildOnly(t *testing.T) {
	for name, r := range runners(t) {
		t.Run(name, func(t *testing.T) {
			var before syscall.Rlimit
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &before)
			_, out, err := runWith(r, context.Background(), Cmd{Argv: []string{"cat", "/proc/self/limits"},
				Limits: Limits{OpenFiles: 64, AddressSpace: 512 << 20, CPUSeconds: 7}})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"Max cpu time              7                    7", "Max open files            64                   64",
				"Max address space         536870912            536870912"} {
				if !strings.Contains(out, want) {
					t.Errorf("child limits lack %q:\n%s", want, out)
				}
			}
			var after syscall.Rlimit
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &after)
			if after != before {
				t.Errorf("the server's own limit changed: %+v → %+v", before, after)
			}
			// A CPU-bound child is stopped by its CPU limit.
			res, _, _ := runWith(r, context.Background(), Cmd{Argv: []string{"sh", "-c", "while :; do :; done"}, Limits: Limits{CPUSeconds: 1}})
			if res.Signal == "" {
				t.Errorf("a busy loop with a 1 s CPU limit ended with %+v", res)
			}
			// An allocation beyond the address-space limit fails in the child.
			res, out, _ = runWith(r, context.Background(), Cmd{Argv: []string{"sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}"},
				Limits: Limits{AddressSpace: 64 << 20}})
			if res.ExitCode == 0 && strings.TrimSpace(out) == "200000000" {
				t.Errorf("200 MB fit in a 64 MiB address space: %+v %q", res, out)
			}
		})
	}
	// An open-files limit alone the supervisor sets on itself before it
	// starts the task.
	_, out, _ := run(t, context.Background(), Cmd{Argv: []string{"cat", "/proc/self/limits"}, Limits: Limits{OpenFiles: 64}})
	if !strings.Contains(out, "Max open files            64                   64") {
		t.Errorf("open-files limit:\n%s", out)
	}
	// A process limit goes through the Go shim (sh spells it differently
	// in each shell).
	_, out, _ = run(t, context.Background(), Cmd{Argv: []string{"cat", "/proc/self/limits"}, Limits: Limits{Processes: 4000}})
	if !strings.Contains(out, "Max processes             4000                 4000") {
		t.Errorf("process limit:\n%s", out)
	}
}

func TestMissingProgram(t *testing.T) {
	for name, r := range runners(t) {
		res, out, err := runWith(r, context.Background(), Cmd{Argv: []string{"no-such-interpreter-xyz", "x.py"}})
		if err != nil || res.ExitCode != 127 || !strings.Contains(out, "no-such-interpreter-xyz: not found on this host") {
			t.Errorf("%s: Run = %+v, %q, %v", name, res, out, err)
		}
	}
}

func TestCgroupV2(t *testing.T) {
	root := t.TempDir() // a stand-in for /sys/fs/cgroup with v2 controllers
	if DetectCgroup(root) != "" {
		t.Error("a directory without cgroup.controllers was taken for cgroup v2")
	}
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory pids io\n"), 0o644)
	parent := DetectCgroup(root)
	if parent != filepath.Join(root, "sundial") {
		t.Fatalf("DetectCgroup = %q", parent)
	}
	if b, _ := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control")); string(b) != "+memory +pids" {
		t.Errorf("subtree_control = %q", b)
	}
	dir, err := newRunCgroup(parent, Limits{MemoryBytes: 256 << 20, Pids: 50})
	if err != nil {
		t.Fatal(err)
	}
	mem, _ := os.ReadFile(filepath.Join(dir, "memory.max"))
	pids, _ := os.ReadFile(filepath.Join(dir, "pids.max"))
	if string(mem) != "268435456" || string(pids) != "50" {
		t.Errorf("memory.max %q, pids.max %q", mem, pids)
	}
	removeCgroup(dir)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("run cgroup not removed: %v", err)
	}
	// A run with cgroup limits joins its cgroup through either shim.
	for name, r := range runners(t) {
		r.Cgroup = parent
		var out lockedBuffer
		if _, err := r.Run(context.Background(), Cmd{Argv: []string{"sh", "-c", "echo joined"}, Output: &out, Limits: Limits{Pids: 10}}); err != nil || out.String() != "joined\n" {
			t.Errorf("%s: run in a cgroup: %q, %v", name, out.String(), err)
		}
	}
}
