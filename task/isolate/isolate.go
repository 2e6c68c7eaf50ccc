// Package isolate runs user code in a child process that cannot hurt the
// server or the next run, and cannot outlive it.
//
// Every child is started by a supervisor: the server's own binary,
// re-executed with ShimArg (the package runs it at initialisation, before
// main or TestMain, in any binary that imports it). The supervisor makes
// itself the child subreaper, so that processes which leave the task's
// process group or session (setsid, double fork) are still its
// descendants, and it kills the task's whole tree — its process group and
// every descendant it finds in /proc — when the task exits, when the
// server asks (a cancel or a timeout: SIGTERM, then SIGKILL after the
// grace), when the server dies (its end of a control socket closes), and
// when a keep-alive deadline passes without a newer one, which it judges
// on its own monotonic clock, so that a frozen or stopped server cannot
// keep a run alive past its lease.
//
// Besides: a scrubbed environment; resource limits set before the task
// starts, never in the server, and a task refused rather than run
// without a limit it asks for (ErrUnenforced); cgroup v2 limits where
// the host allows; a fresh working directory per run, private to it;
// another user for the task (Runner.User) and Linux Landlock
// (Runner.Landlock), so that it cannot reach the server's files, its
// process or other runs; output captured through a writer the caller
// bounds. Linux only.
package isolate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sundialhq/sundial/task/isolate/internal/shim"
)

// ShimArg is the first argument that makes a binary importing this
// package act as the supervisor (see ShimMain).
const ShimArg = shim.Arg

// ShimMain runs the shim with args, the arguments after ShimArg, and
// returns the exit code to use. A binary need not call it: the package
// already does at initialisation, before main and TestMain, when the
// binary is started with ShimArg. The shim is the supervisor of one child: it starts the
// task in its own process group, with its limits, and kills its whole
// tree when the task exits, when the server asks or dies, and when the
// keep-alive deadline passes; started by the supervisor as a trampoline,
// it sets the limits on itself and executes the task.
func ShimMain(args []string) int { return shim.Main(args) }

// Limits bound a child's resources; a zero field sets no limit.
type Limits struct {
	// CPUSeconds of CPU time (RLIMIT_CPU): SIGXCPU, then SIGKILL.
	CPUSeconds uint64 `json:"cpu_seconds,omitempty"`
	// AddressSpace in bytes (RLIMIT_AS): allocations beyond it fail.
	AddressSpace uint64 `json:"address_space,omitempty"`
	// OpenFiles (RLIMIT_NOFILE).
	OpenFiles uint64 `json:"open_files,omitempty"`
	// Processes of the user (RLIMIT_NPROC); not enforced for root.
	Processes uint64 `json:"processes,omitempty"`
	// MemoryBytes and Pids are cgroup v2 limits (memory.max, pids.max):
	// a Runner without a cgroup cannot enforce them (Unenforceable).
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
	Pids        uint64 `json:"pids,omitempty"`
}

// BaseEnv are the server's environment variables a child inherits; every
// other one (tokens, database URLs, keys) stays out.
var BaseEnv = []string{"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME"}

// Cmd is one child process to run.
type Cmd struct {
	// Argv is the program and its arguments; no shell is involved.
	Argv []string
	// Dir is the working directory; empty means a fresh one of the run's
	// own (see Private), removed after the run.
	Dir string
	// Private are directories made by Runner.PrivateDir that the child
	// gets to itself: they are made over to the task's user after
	// Prepare, and Landlock lets it reach them.
	Private []string
	// Prepare, when set, runs with the working directory before the start
	// (to write a script into it, say).
	Prepare func(dir string) error
	// Env is added to the inherited allowlist (BaseEnv).
	Env map[string]string
	// Output receives stdout and stderr, interleaved as written; it must
	// be safe for concurrent writes when Stdout is set.
	Output io.Writer
	// Stdout and Stderr, when set, also receive stdout or stderr alone
	// (the two then come through two pipes, so their interleaving in
	// Output is as read).
	Stdout, Stderr io.Writer
	// Limits bound the child's resources.
	Limits Limits
	// Grace is how long the tree has between SIGTERM and SIGKILL when
	// ctx ends. Default 5s.
	Grace time.Duration
	// Deadline, when not zero, is the instant by which the child's whole
	// tree must be dead unless KeepAlive brings a later one: once it
	// passes, the supervisor kills the tree with SIGKILL, even if this
	// process is frozen or stopped (Result.Fenced, ErrFenced). Run does
	// not start a child whose Deadline has passed.
	Deadline time.Time
	// KeepAlive, when set, brings new deadlines, on this process's clock:
	// each value replaces the current one, so it may extend or shorten
	// it; fencing starts with Deadline or the first value, and a closed
	// channel leaves the last deadline in force. Run stops reading it
	// when the child's tree is gone, so a sender should not block on it.
	KeepAlive <-chan time.Time
}

// Result is how a child ended.
type Result struct {
	// ExitCode is the exit status, -1 when a signal ended it.
	ExitCode int
	// Signal names the signal that ended it, such as "killed".
	Signal string
	// Duration is from start to exit.
	Duration time.Duration
	// Fenced reports that the supervisor killed the tree because the
	// keep-alive deadline passed without a newer one (or that Run did not
	// start the child, its Deadline having passed).
	Fenced bool
	// Strays counts the descendants still running once the child's own
	// process had ended (daemons, double forks, setsid), which the
	// supervisor then killed.
	Strays int
	// Lingering counts the descendants that had been sent SIGKILL but
	// were still there when the supervisor stopped waiting for them
	// (a process stuck in the kernel); 0 means the tree was seen gone.
	Lingering int
}

// Runner starts children, each through a supervisor. The zero value sets
// the limits that need it through /bin/sh's ulimit (the Go shim for a
// process limit) and uses no cgroup.
type Runner struct {
	// Shim, when set, is the supervisor's command (default: the running
	// binary, through /proc/self/exe, with ShimArg); the arguments Run
	// adds follow it.
	Shim []string
	// Getenv reads the server's environment; default os.Getenv.
	Getenv func(string) string
	// Cgroup is a cgroup v2 directory under which each run gets a child
	// cgroup with the Limits' memory and pid bounds; empty for none (see
	// DetectCgroup).
	Cgroup string
	// NoShell makes the supervisor set every limit through the Go shim,
	// never /bin/sh.
	NoShell bool
	// User, when set, is who tasks run as; the supervisor keeps this
	// process's identity, which must be allowed to switch (root).
	User *User
	// Landlock confines each task with Linux Landlock where the kernel
	// has it (DetectLandlock): it cannot reach anything under Protect,
	// and cannot signal or trace processes outside its sandbox — this
	// one, other runs' tasks. A kernel without Landlock runs tasks
	// without it.
	Landlock bool
	// Protect are files and directories tasks must not read, write or
	// list, with Landlock: the database, the key file.
	Protect []string
	// RunDir is where runs get their private directories (PrivateDir);
	// default os.TempDir(). Listed in Protect, it is hidden from each
	// task but for the run's own directories.
	RunDir string
	// AcceptUnenforced runs a child whose limits this Runner cannot
	// enforce (Unenforceable) with a warning in its output, rather than
	// refusing it with ErrUnenforced.
	AcceptUnenforced bool
}

// ErrStart wraps failures to start a child at all.
var ErrStart = errors.New("could not start the task's process")

// ErrUnenforced is wrapped by Run's error when the child asks for a limit
// that the Runner cannot enforce and AcceptUnenforced is not set.
var ErrUnenforced = errors.New("a limit cannot be enforced on this host")

// ErrFenced is Run's error when the keep-alive deadline passed and the
// child's tree was killed for it (or, with a past Cmd.Deadline, never
// started).
var ErrFenced = errors.New("killed: the keep-alive deadline passed (lease not renewed)")

// selfExe names the running binary.
const selfExe = "/proc/self/exe"

// controlMargin is how long past the grace the server waits for the
// supervisor to end the tree before it kills the supervisor and the
// task's process group itself.
const controlMargin = 2 * time.Second

// Run runs c and waits for it and everything it started. When ctx ends,
// the whole tree gets SIGTERM, then SIGKILL after the grace; when the
// child exits, anything it left running is killed (Result.Strays); when
// the keep-alive deadline passes, the tree is killed (Result.Fenced). The
// error is ErrFenced then, ctx's when ctx ended the run (or had ended
// before it: nothing is started then), ErrStart when it could not start;
// a non-zero exit is not an error (see Result). Should the supervisor
// itself be killed, Run kills the task's process group and says so in
// its error: what left the group may then survive.
func (r *Runner) Run(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return Result{}, fmt.Errorf("%w: no program given", ErrStart)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	deadline := int64(0)
	if !c.Deadline.IsZero() {
		if deadline = shim.MonoAt(c.Deadline); deadline <= shim.MonoNow() {
			return Result{Fenced: true}, ErrFenced
		}
	}
	out := c.Output
	if out == nil {
		out = io.Discard
	}
	if bad := r.Unenforceable(c.Limits); len(bad) > 0 {
		if !r.AcceptUnenforced {
			return Result{}, fmt.Errorf("%w: %w", ErrStart, unenforcedError{bad[0]})
		}
		for _, u := range bad {
			fmt.Fprintf(out, "[sundial: warning: %s; the server accepts unenforced limits, so the task runs without it]\n", u)
		}
	}
	dir, private := c.Dir, c.Private
	if dir == "" {
		tmp, remove, err := r.PrivateDir("run")
		if err != nil {
			return Result{}, fmt.Errorf("%w: working directory: %v", ErrStart, err)
		}
		defer remove()
		dir, private = tmp, append([]string{tmp}, private...)
	}
	if c.Prepare != nil {
		if err := c.Prepare(dir); err != nil {
			return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
		}
	}
	for _, p := range private {
		if err := r.handOver(p); err != nil {
			return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
		}
	}
	var ruleset *os.File
	var rulesetFlags uint32
	if r.Landlock {
		var err error
		if ruleset, rulesetFlags, err = landlockRuleset(r.Protect, private); err != nil {
			return Result{}, fmt.Errorf("%w: landlock: %v", ErrStart, err)
		}
		if ruleset != nil {
			defer ruleset.Close()
		}
	}
	cg := ""
	if r.Cgroup != "" && (c.Limits.MemoryBytes > 0 || c.Limits.Pids > 0) {
		var err error
		if cg, err = newRunCgroup(r.Cgroup, c.Limits); err != nil {
			return Result{}, fmt.Errorf("%w: cgroup: %v", ErrStart, err)
		}
		defer removeCgroup(cg)
	}
	grace := c.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	spec := shim.Spec{CPUSeconds: c.Limits.CPUSeconds, AddressSpace: c.Limits.AddressSpace, OpenFiles: c.Limits.OpenFiles,
		Processes: c.Limits.Processes, Cgroup: cg, Grace: grace, Deadline: deadline, NoShell: r.NoShell}
	if r.User != nil {
		spec.User, spec.UID, spec.GID = true, r.User.UID, r.User.GID
	}
	if ruleset != nil {
		spec.Landlock, spec.LandlockFlags = true, rulesetFlags
	}
	var cmd *exec.Cmd
	if len(r.Shim) > 0 {
		cmd = exec.Command(r.Shim[0], append(append([]string{}, r.Shim[1:]...), spec.Args(c.Argv)...)...)
	} else {
		// The running binary, even if its file was replaced since (an
		// upgrade): a supervisor of another version might not speak the
		// same protocol.
		cmd = exec.Command(selfExe, append([]string{ShimArg}, spec.Args(c.Argv)...)...)
		if exe, err := os.Executable(); err == nil {
			cmd.Args[0] = exe // for ps
		}
	}

	// The control socket: the supervisor's end becomes its fd 3. When
	// this process dies, the supervisor reads EOF and kills the tree.
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return Result{}, fmt.Errorf("%w: control socket: %v", ErrStart, err)
	}
	theirs := os.NewFile(uintptr(fds[1]), "sundial-control")
	defer theirs.Close()
	ourFile := os.NewFile(uintptr(fds[0]), "sundial-control")
	ctl, err := net.FileConn(ourFile)
	ourFile.Close()
	if err != nil {
		return Result{}, fmt.Errorf("%w: control socket: %v", ErrStart, err)
	}
	defer ctl.Close()

	cmd.Dir = dir
	cmd.Env = r.env(c.Env, dir)
	cmd.ExtraFiles = []*os.File{theirs}
	if ruleset != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, ruleset) // shim.LandlockFD
	}
	// Its own process group keeps terminal signals meant for the server
	// away from it. Pdeathsig is a second way to learn of the server's
	// death (the kernel sends it when the thread that forked the
	// supervisor ends, so the supervisor checks its parent).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGHUP}

	// The child writes to pipes whose readers are ours, so that Wait
	// returns when the supervisor exits, and the supervisor leaves no
	// descendant that could still hold a pipe.
	var writers []*os.File
	var copies sync.WaitGroup
	pipe := func(dst io.Writer) (*os.File, error) {
		pr, pw, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		writers = append(writers, pw)
		copies.Add(1)
		go func() {
			defer copies.Done()
			io.Copy(dst, pr)
			pr.Close()
		}()
		return pw, nil
	}
	closeWriters := func() {
		for _, w := range writers {
			w.Close()
		}
	}
	tee := func(extra io.Writer) io.Writer {
		if extra == nil {
			return out
		}
		return io.MultiWriter(out, extra)
	}
	if c.Stdout == nil && c.Stderr == nil {
		cmd.Stdout, err = pipe(out)
		cmd.Stderr = cmd.Stdout
	} else if cmd.Stdout, err = pipe(tee(c.Stdout)); err == nil {
		cmd.Stderr, err = pipe(tee(c.Stderr))
	}
	if err != nil {
		closeWriters()
		return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
	}
	copied := make(chan struct{})
	go func() {
		copies.Wait()
		close(copied)
	}()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		closeWriters()
		<-copied
		return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
	}
	closeWriters()
	theirs.Close()
	if ruleset != nil {
		ruleset.Close()
	}

	// What the supervisor says: the task's pid (its process group), then
	// how the task ended.
	var taskPID atomic.Int64
	var rep *shim.Report
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		sc := bufio.NewScanner(ctl)
		for sc.Scan() {
			if pid, ok := strings.CutPrefix(sc.Text(), "P "); ok {
				n, _ := strconv.Atoi(pid)
				taskPID.Store(int64(n))
			} else if x, ok := shim.ParseReport(sc.Text()); ok {
				rep = &x
			}
		}
	}()
	// What the supervisor is told: a cancel, new deadlines.
	exited := make(chan struct{})
	var controls sync.WaitGroup
	controls.Add(1)
	go func() {
		defer controls.Done()
		send := func(msg string) {
			ctl.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(ctl, msg)
		}
		done, keepAlive := ctx.Done(), c.KeepAlive
		var giveUp <-chan time.Time
		for {
			select {
			case <-done:
				done = nil
				send("T\n")
				giveUp = time.After(grace + controlMargin)
			case t, ok := <-keepAlive:
				if !ok {
					keepAlive = nil
					continue
				}
				send("D " + strconv.FormatInt(shim.MonoAt(t), 10) + "\n")
			case <-giveUp:
				// The supervisor did not end the tree: end what we can.
				giveUp = nil
				cmd.Process.Kill()
				if pid := taskPID.Load(); pid > 0 {
					syscall.Kill(-int(pid), syscall.SIGKILL)
				}
			case <-exited:
				return
			}
		}
	}()
	waitErr := cmd.Wait()
	close(exited)
	controls.Wait()
	res := Result{Duration: time.Since(start)}
	select {
	case <-reported:
	case <-time.After(2 * time.Second): // cannot happen: the supervisor's end of the socket is closed
	}
	ctl.Close()
	<-reported
	select {
	case <-copied:
	case <-time.After(2 * time.Second): // cannot happen either: nothing of the tree is left to hold a pipe
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return res, fmt.Errorf("waiting for the task's supervisor: %w", waitErr)
	}
	if rep == nil {
		// The supervisor was killed, or failed before it could report.
		if pid := taskPID.Load(); pid > 0 {
			syscall.Kill(-int(pid), syscall.SIGKILL)
		}
		res.ExitCode = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal().String()
		}
		return res, fmt.Errorf("the task's supervisor ended without a report (%s); the task's process group was killed, anything that left it may still run", cmd.ProcessState)
	}
	res.ExitCode, res.Fenced, res.Strays, res.Lingering = rep.Code, rep.Fenced, rep.Strays, rep.Lingering
	if rep.Signal > 0 {
		res.ExitCode, res.Signal = -1, syscall.Signal(rep.Signal).String()
	}
	if res.Fenced {
		return res, ErrFenced
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// env is the child's environment: the allowlist, TMPDIR in its working
// directory, and the command's own entries.
func (r *Runner) env(extra map[string]string, dir string) []string {
	getenv := r.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var env []string
	for _, name := range BaseEnv {
		v := getenv(name)
		if u := r.User; u != nil {
			// The task's user's own, not the server's.
			switch name {
			case "HOME":
				v = u.Home
			case "USER", "LOGNAME":
				v = u.Name
			}
		}
		if v != "" {
			env = append(env, name+"="+v)
		}
	}
	if getenv("PATH") == "" {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	env = append(env, "TMPDIR="+dir)
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}
