// Package isolate runs user code in a child process that cannot hurt the
// server or the next run: its own process group, killed whole on timeout
// or cancel and after it exits (no orphans); a scrubbed environment;
// resource limits set in the child by a small shim (the server's own
// binary, re-executed) before it executes the task, never in the server;
// cgroup v2 limits where the host allows; a fresh working directory per
// run; output captured through a writer the caller bounds.
package isolate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ShimArg is the first argument that makes the sundial binary act as the
// shim: cmd/sundial calls ShimMain when it sees it.
const ShimArg = "__sundial_shim"

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
	// MemoryBytes and Pids are cgroup v2 limits (memory.max, pids.max),
	// applied when the Runner has a cgroup.
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
	// Dir is the working directory; empty means a fresh temporary one,
	// removed after the run.
	Dir string
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
	// Grace is how long the group has between SIGTERM and SIGKILL when
	// ctx ends. Default 5s.
	Grace time.Duration
}

// Result is how a child ended.
type Result struct {
	// ExitCode is the exit status, -1 when a signal ended it.
	ExitCode int
	// Signal names the signal that ended it, such as "killed".
	Signal string
	// Duration is from start to exit.
	Duration time.Duration
}

// Runner starts children. The zero value sets limits through /bin/sh (or
// the current binary re-executed as the shim, when it must) and uses no
// cgroup.
type Runner struct {
	// Shim, when set, is the Go shim's command (default: the running
	// executable with ShimArg), and every child goes through it.
	Shim []string
	// Getenv reads the server's environment; default os.Getenv.
	Getenv func(string) string
	// Cgroup is a cgroup v2 directory under which each run gets a child
	// cgroup with the Limits' memory and pid bounds; empty for none (see
	// DetectCgroup).
	Cgroup string
	// NoShell makes every child go through the Go shim, never /bin/sh.
	NoShell bool
}

// ErrStart wraps failures to start a child at all.
var ErrStart = errors.New("could not start the task's process")

// Run runs c and waits for it. When ctx ends, the whole process group gets
// SIGTERM, then SIGKILL after the grace; when the child exits, anything it
// left running in its group is killed. The error is ctx's when ctx ended
// the run, ErrStart when it could not start; a non-zero exit is not an
// error (see Result).
func (r *Runner) Run(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return Result{}, fmt.Errorf("%w: no program given", ErrStart)
	}
	dir := c.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sundial-run-")
		if err != nil {
			return Result{}, fmt.Errorf("%w: working directory: %v", ErrStart, err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if c.Prepare != nil {
		if err := c.Prepare(dir); err != nil {
			return Result{}, fmt.Errorf("%w: %v", ErrStart, err)
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
	argv, err := r.shimArgv(c.Limits, cg, c.Argv)
	if err != nil {
		return Result{}, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = r.env(c.Env, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	// The child writes to pipes whose readers are ours, so that Wait
	// returns when the child exits even if something it started still
	// holds a pipe; that something is then killed with the group.
	out := c.Output
	if out == nil {
		out = io.Discard
	}
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
	pgid := cmd.Process.Pid

	grace := c.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	exited := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-time.After(grace):
				syscall.Kill(-pgid, syscall.SIGKILL)
			case <-exited:
			}
		case <-exited:
		}
	}()
	waitErr := cmd.Wait()
	close(exited)
	res := Result{Duration: time.Since(start), ExitCode: cmd.ProcessState.ExitCode()}
	// Whatever the child left behind in its group goes with it.
	syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-copied:
	case <-time.After(2 * time.Second): // a process that left the group holds a pipe
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = ws.Signal().String()
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return res, fmt.Errorf("waiting for the task's process: %w", waitErr)
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
		if v := getenv(name); v != "" {
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

// shimArgv returns the command that sets the limits in the child and then
// executes argv. The limits that /bin/sh's ulimit sets the same way
// everywhere (CPU time, address space, open files) and the cgroup join
// go through a shell: it starts in about a millisecond. A process limit
// (ulimit spells it -u in bash, -p in dash) needs the Go shim, which
// re-executes this binary and costs several milliseconds more.
func (r *Runner) shimArgv(l Limits, cgroup string, argv []string) ([]string, error) {
	if l.Processes > 0 || r.Shim != nil || r.NoShell {
		shim := r.Shim
		if len(shim) == 0 {
			exe, err := os.Executable()
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrStart, err)
			}
			shim = []string{exe, ShimArg}
		}
		spec, _ := json.Marshal(shimSpec{Limits: l, Cgroup: cgroup})
		return append(append(append([]string{}, shim...), string(spec), "--"), argv...), nil
	}
	// Without -S or -H, ulimit sets both the soft and the hard limit (dash,
	// bash, busybox), so the task cannot raise them again.
	var script strings.Builder
	if cgroup != "" {
		fmt.Fprintf(&script, "echo 0 > '%s/cgroup.procs' || exit 2\n", strings.ReplaceAll(cgroup, "'", ""))
	}
	for _, lim := range []struct {
		flag  string
		value uint64
	}{{"-t", l.CPUSeconds}, {"-v", l.AddressSpace / 1024}, {"-n", l.OpenFiles}} {
		if lim.value > 0 {
			fmt.Fprintf(&script, "ulimit %s %d || { echo 'sundial: cannot set ulimit %s %d' >&2; exit 2; }\n", lim.flag, lim.value, lim.flag, lim.value)
		}
	}
	script.WriteString(`command -v "$1" >/dev/null 2>&1 || { echo "sundial: $1: not found on this host (PATH=$PATH)" >&2; exit 127; }` + "\n")
	script.WriteString(`exec "$@"`)
	return append([]string{"/bin/sh", "-c", script.String(), "sundial-shim"}, argv...), nil
}

// shimSpec is what the parent tells the shim.
type shimSpec struct {
	Limits Limits `json:"limits"`
	Cgroup string `json:"cgroup,omitempty"`
}

// ShimMain is the shim: it joins the run's cgroup, sets the resource
// limits on itself, and executes the task, which inherits them. args are
// the arguments after ShimArg. It returns only on failure, with the exit
// code to use (127: the program was not found, as a shell says).
func ShimMain(args []string) int {
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprintln(os.Stderr, "sundial shim: usage: SPEC -- PROGRAM [ARGS]")
		return 2
	}
	var spec shimSpec
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "sundial shim: bad spec:", err)
		return 2
	}
	if spec.Cgroup != "" {
		if err := os.WriteFile(filepath.Join(spec.Cgroup, "cgroup.procs"), []byte("0"), 0); err != nil {
			fmt.Fprintln(os.Stderr, "sundial shim: join cgroup:", err)
			return 2
		}
	}
	l := spec.Limits
	for _, lim := range []struct {
		resource int
		value    uint64
		name     string
	}{{syscall.RLIMIT_CPU, l.CPUSeconds, "cpu"}, {syscall.RLIMIT_AS, l.AddressSpace, "address space"},
		{syscall.RLIMIT_NOFILE, l.OpenFiles, "open files"}, {rlimitNproc, l.Processes, "processes"}} {
		if lim.value == 0 {
			continue
		}
		rl := syscall.Rlimit{Cur: lim.value, Max: lim.value}
		if err := syscall.Setrlimit(lim.resource, &rl); err != nil {
			fmt.Fprintf(os.Stderr, "sundial shim: limit %s to %d: %v\n", lim.name, lim.value, err)
			return 2
		}
	}
	argv := args[2:]
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "sundial: %s: not found on this host (PATH=%s)\n", argv[0], os.Getenv("PATH"))
		return 127
	}
	err = syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "sundial: cannot execute %s: %v\n", strings.Join(argv, " "), err)
	return 126
}

// rlimitNproc is RLIMIT_NPROC, which package syscall does not name on
// every platform.
const rlimitNproc = 6
