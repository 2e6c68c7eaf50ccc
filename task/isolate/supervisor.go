package isolate

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// A binary that imports this package is a supervisor when started with
// ShimArg: this runs before main and TestMain, and before the packages
// that come after this one are initialised, so that it starts quickly
// and every binary that uses a Runner can serve as its own shim. It exits
// at once, without os.Exit's hooks: it has nothing to flush, and a
// race-enabled binary (a test's) would sleep a second in them.
func init() {
	if len(os.Args) > 1 && os.Args[1] == ShimArg {
		syscall.Exit(ShimMain(os.Args[2:]))
	}
}

// shimSpec is what the server tells the shim.
type shimSpec struct {
	Limits Limits `json:"limits"`
	Cgroup string `json:"cgroup,omitempty"`
	// Grace is the time between SIGTERM and SIGKILL on a cancel.
	Grace time.Duration `json:"grace,omitempty"`
	// Deadline is the keep-alive deadline on CLOCK_MONOTONIC, in
	// nanoseconds; 0 for none.
	Deadline int64 `json:"deadline,omitempty"`
	// NoShell sets every limit through the Go shim, never /bin/sh.
	NoShell bool `json:"no_shell,omitempty"`
	// Exec makes the shim a trampoline, not a supervisor: it sets the
	// limits on itself, joins the cgroup and executes the program.
	Exec bool `json:"exec,omitempty"`
}

// The supervisor's exit status when it killed the tree for a missed
// keep-alive deadline (the report on the control socket says more).
const fencedExit = 124

// supervisorFiles is the least open-files limit the supervisor sets on
// itself; a lower one goes through a trampoline, so that the supervisor
// keeps the descriptors it needs.
const supervisorFiles = 32

// lingerWait bounds how long the supervisor waits for killed descendants
// to go.
const lingerWait = 10 * time.Second

// ShimMain runs the shim with args, the arguments after ShimArg, and
// returns the exit code to use. As a supervisor (the server's end of the
// control socket is its fd 3) it starts the program in its own process
// group, with the limits and in the cgroup, kills the program's whole
// tree when told to, when the server dies, when the keep-alive deadline
// passes and when the program exits, and reports how it ended. With the
// trampoline spec it sets the limits on itself and executes the program
// (127: the program was not found, as a shell says).
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
	if spec.Exec {
		return trampoline(spec, args[2:])
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(3, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		fmt.Fprintln(os.Stderr, "sundial shim: no control socket on fd 3")
		return 2
	}
	return supervise(spec, args[2:])
}

// trampoline joins the cgroup, sets the limits and executes argv.
func trampoline(spec shimSpec, argv []string) int {
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
		if err := setLimit(lim.resource, lim.value); err != nil {
			fmt.Fprintf(os.Stderr, "sundial shim: limit %s to %d: %v\n", lim.name, lim.value, err)
			return 2
		}
	}
	path, code := lookPath(argv[0])
	if code != 0 {
		return code
	}
	err := syscall.Exec(path, argv, os.Environ())
	fmt.Fprintf(os.Stderr, "sundial: cannot execute %s: %v\n", strings.Join(argv, " "), err)
	return 126
}

// setLimit sets both the soft and the hard limit, so that the task
// cannot raise them again.
func setLimit(resource int, v uint64) error {
	return syscall.Setrlimit(resource, &syscall.Rlimit{Cur: v, Max: v})
}

// lookPath finds a program as a shell would, or says why not and returns
// the exit code for it.
func lookPath(name string) (string, int) {
	path, err := exec.LookPath(name)
	if err != nil && !errors.Is(err, exec.ErrDot) {
		fmt.Fprintf(os.Stderr, "sundial: %s: not found on this host (PATH=%s)\n", name, os.Getenv("PATH"))
		return "", 127
	}
	return path, 0
}

// supervisor is the state of one supervised task.
type supervisor struct {
	ctl    *os.File
	self   int
	ppid   int
	pid    int // the task, the leader of its process group
	cgroup string

	exited bool
	status syscall.WaitStatus
	fenced bool
	// strays and lingering are as in Result.
	strays, lingering int
}

func supervise(spec shimSpec, argv []string) int {
	// Only stdin, stdout and stderr reach the task: not the control
	// socket, nor what the server inherited without close-on-exec.
	closeOnExecFrom(3)
	s := &supervisor{ctl: os.NewFile(3, "sundial-control"), self: os.Getpid(), ppid: os.Getppid(), cgroup: spec.Cgroup}
	// Orphans of the task (setsid, double fork) become our children.
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		fmt.Fprintln(os.Stderr, "sundial shim: cannot become a subreaper:", e)
		return s.report(2)
	}
	children := make(chan os.Signal, 1)
	signal.Notify(children, syscall.SIGCHLD)
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)

	if code := s.start(spec, argv); code != 0 {
		return s.report(code)
	}
	defer func() {
		if r := recover(); r != nil {
			s.signalTree(syscall.SIGKILL) // a bug of ours is no reason to let the tree run
			panic(r)
		}
	}()
	fmt.Fprintf(s.ctl, "P %d\n", s.pid)

	messages := make(chan string, 4)
	go func(messages chan<- string) {
		sc := bufio.NewScanner(s.ctl)
		for sc.Scan() {
			messages <- sc.Text()
		}
		close(messages)
	}(messages)
	var fence *time.Timer
	var fenceC, graceC <-chan time.Time
	setDeadline := func(mono int64) {
		if s.fenced {
			return
		}
		d := time.Duration(mono - monoNow())
		if fence == nil {
			fence = time.NewTimer(d)
		} else {
			fence.Reset(d)
		}
		fenceC = fence.C
	}
	if spec.Deadline != 0 {
		setDeadline(spec.Deadline)
	}
	terminate := func() {
		if graceC == nil {
			s.signalTree(syscall.SIGTERM)
			graceC = time.After(spec.Grace)
		}
	}
	serverGone := func() {
		messages = nil
		s.signalTree(syscall.SIGKILL)
	}
	for s.reap(); !s.exited; {
		select {
		case <-children:
			s.reap()
		case m, ok := <-messages:
			switch {
			case !ok:
				serverGone()
			case m == "T":
				terminate()
			case strings.HasPrefix(m, "D "):
				if mono, err := strconv.ParseInt(m[2:], 10, 64); err == nil {
					setDeadline(mono)
				}
			}
		case sig := <-signals:
			switch {
			case sig != syscall.SIGHUP:
				terminate()
			case os.Getppid() != s.ppid:
				serverGone()
			} // else a thread of the server ended, not the server
		case <-fenceC:
			fenceC = nil
			s.fenced = true
			s.signalTree(syscall.SIGKILL)
		case <-graceC:
			graceC = nil
			s.signalTree(syscall.SIGKILL)
		}
	}
	s.cleanup(children)
	switch {
	case s.fenced:
		return s.report(fencedExit)
	case s.status.Signaled():
		return s.report(128 + int(s.status.Signal()))
	}
	return s.report(s.status.ExitStatus())
}

// start starts the task: directly when the supervisor can set its limits
// on itself first (open files) and start it in its cgroup, else through
// /bin/sh's ulimit or the Go shim as a trampoline. It returns 0, or the
// exit code for a task that could not start.
func (s *supervisor) start(spec shimSpec, argv []string) int {
	l := spec.Limits
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2},
		// Should the supervisor die first, the task dies with it.
		Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}}
	if l.CPUSeconds == 0 && l.AddressSpace == 0 && l.Processes == 0 && (l.OpenFiles == 0 || l.OpenFiles >= supervisorFiles) {
		path, code := lookPath(argv[0])
		if code != 0 {
			return code
		}
		if l.OpenFiles > 0 {
			if err := setLimit(syscall.RLIMIT_NOFILE, l.OpenFiles); err != nil {
				fmt.Fprintf(os.Stderr, "sundial shim: limit open files to %d: %v\n", l.OpenFiles, err)
				return 2
			}
		}
		if spec.Cgroup == "" {
			return s.forkExec(path, argv, attr)
		}
		if fd, err := syscall.Open(spec.Cgroup, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0); err == nil {
			attr.Sys.UseCgroupFD, attr.Sys.CgroupFD = true, fd
			pid, err := syscall.ForkExec(path, argv, attr)
			syscall.Close(fd)
			if err == nil {
				s.pid = pid
				return 0
			}
			attr.Sys.UseCgroupFD = false
		}
		// Not a cgroup the kernel can start a process in (an old kernel,
		// a test's plain directory): the trampoline joins it instead.
	}
	var tramp []string
	if l.Processes > 0 || spec.NoShell {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "sundial shim:", err)
			return 2
		}
		t, _ := json.Marshal(shimSpec{Limits: l, Cgroup: spec.Cgroup, Exec: true})
		tramp = append([]string{exe, ShimArg, string(t), "--"}, argv...)
	} else {
		tramp = append([]string{"/bin/sh", "-c", shellScript(l, spec.Cgroup), "sundial-shim"}, argv...)
	}
	return s.forkExec(tramp[0], tramp, attr)
}

// forkExec starts the task, or returns the exit code a shell gives for a
// program it cannot execute.
func (s *supervisor) forkExec(path string, argv []string, attr *syscall.ProcAttr) int {
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sundial: cannot execute %s: %v\n", path, err)
		if err == syscall.ENOENT {
			return 127
		}
		return 126
	}
	s.pid = pid
	return 0
}

// shellScript is the /bin/sh trampoline's script: it joins the cgroup,
// sets the limits that ulimit sets the same way in every shell (CPU
// time, address space, open files) and executes "$@". Without -S or -H,
// ulimit sets both the soft and the hard limit (dash, bash, busybox), so
// the task cannot raise them again.
func shellScript(l Limits, cgroup string) string {
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
	return script.String()
}

// reap collects every child that has ended: the task, and descendants
// that were orphaned to the supervisor.
func (s *supervisor) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG|syscall.WALL, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 {
			return
		}
		if pid == s.pid {
			s.exited, s.status = true, ws
		}
	}
}

// signalTree sends sig to the task's process group and to every
// descendant of the supervisor, and, for SIGKILL, kills the run's cgroup.
func (s *supervisor) signalTree(sig syscall.Signal) {
	syscall.Kill(-s.pid, sig)
	for _, pid := range descendants(s.self) {
		syscall.Kill(pid, sig)
	}
	if sig == syscall.SIGKILL {
		s.killCgroup()
	}
}

// killCgroup kills whatever is in the run's cgroup, where the kernel can
// (cgroup.kill, Linux 5.14).
func (s *supervisor) killCgroup() {
	if s.cgroup == "" {
		return
	}
	if f, err := os.OpenFile(filepath.Join(s.cgroup, "cgroup.kill"), os.O_WRONLY, 0); err == nil {
		f.WriteString("1")
		f.Close()
	}
}

// cleanup kills whatever the task left running, once it has exited, and
// waits for it to go: until the supervisor has no children left (every
// descendant is a child's descendant, orphans being re-parented to the
// subreaper), or lingerWait has passed.
func (s *supervisor) cleanup(children <-chan os.Signal) {
	if !hasChildren() {
		return
	}
	killed := map[int]bool{}
	giveUp := time.Now().Add(lingerWait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		alive := descendants(s.self)
		for _, pid := range alive {
			if !killed[pid] {
				killed[pid] = true
				s.strays++
			}
			syscall.Kill(pid, syscall.SIGKILL)
		}
		// Not the task's process group: with the task reaped, its number
		// may name another group soon. Its members are descendants.
		s.killCgroup()
		s.reap()
		if !hasChildren() {
			return
		}
		if time.Now().After(giveUp) {
			s.lingering = len(alive)
			return
		}
		select {
		case <-children:
		case <-tick.C:
		}
	}
}

// report tells the server how the task ended and returns code, the
// supervisor's exit code.
func (s *supervisor) report(code int) int {
	r := report{code: code, fenced: s.fenced, strays: s.strays, lingering: s.lingering}
	if s.exited {
		r.code = s.status.ExitStatus()
		if s.status.Signaled() {
			r.code, r.signal = -1, int(s.status.Signal())
		}
	}
	fmt.Fprintln(s.ctl, r)
	return code
}

// report is the supervisor's last word: "X code signal fenced strays
// lingering".
type report struct {
	code, signal      int
	fenced            bool
	strays, lingering int
}

func (r report) String() string {
	fenced := 0
	if r.fenced {
		fenced = 1
	}
	return fmt.Sprintf("X %d %d %d %d %d", r.code, r.signal, fenced, r.strays, r.lingering)
}

func parseReport(line string) (report, bool) {
	f := strings.Fields(line)
	if len(f) != 6 || f[0] != "X" {
		return report{}, false
	}
	var n [5]int
	for i := range n {
		v, err := strconv.Atoi(f[i+1])
		if err != nil {
			return report{}, false
		}
		n[i] = v
	}
	return report{code: n[0], signal: n[1], fenced: n[2] == 1, strays: n[3], lingering: n[4]}, true
}

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

// rlimitNproc is RLIMIT_NPROC, which package syscall does not name on
// every platform.
const rlimitNproc = 6

// monoNow reads CLOCK_MONOTONIC, which every process on the host reads
// alike, so that a deadline handed to the supervisor means the same
// instant there however late the message arrives.
func monoNow() int64 {
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// monoAt is t on CLOCK_MONOTONIC.
func monoAt(t time.Time) int64 {
	now := monoNow()
	d := time.Until(t)
	if d > 0 && int64(d) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(d)
}

// closeOnExecFrom marks every file descriptor from fd on close-on-exec.
func closeOnExecFrom(fd int) {
	const sysCloseRange, closeRangeCloexec = 436, 4
	if _, _, e := syscall.RawSyscall(sysCloseRange, uintptr(fd), math.MaxUint32, closeRangeCloexec); e == 0 {
		return
	}
	// Before Linux 5.11.
	names, _ := os.ReadDir("/proc/self/fd")
	for _, n := range names {
		if n, err := strconv.Atoi(n.Name()); err == nil && n >= fd {
			syscall.CloseOnExec(n)
		}
	}
}

// hasChildren reports whether the supervisor has a child, running or
// not yet reaped.
func hasChildren() bool {
	var info [128]byte
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, 0 /* P_ALL */, 0, uintptr(unsafe.Pointer(&info)),
			syscall.WEXITED|syscall.WNOHANG|syscall.WNOWAIT|syscall.WALL, 0, 0)
		if e != syscall.EINTR {
			return e != syscall.ECHILD
		}
	}
}
