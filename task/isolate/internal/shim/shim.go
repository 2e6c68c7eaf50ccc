// Package shim is the supervisor every isolate child runs under, and the
// trampoline that sets resource limits and executes a task.
//
// Its init takes over a binary started with Arg, and the supervisor's
// start is on every run's path, so the package imports only what the
// runtime initialises first (os, os/signal, runtime, syscall, time): the linker
// orders package initialisation by import path among the packages whose
// imports are done, and an import such as strings or strconv, which
// sorts late, would let most of a large binary's packages initialise
// before this one. Hence the few string helpers in text.go.
// TestImports keeps it so.
package shim

import (
	"math"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// Arg is the first argument that makes a binary importing this package
// act as the shim.
const Arg = "__sundial_shim"

// A binary started with Arg is the shim: this runs before main and
// TestMain. It exits at once, without os.Exit's hooks: it has nothing to
// flush, and a race-enabled binary (a test's) would sleep a second in
// them.
func init() {
	if len(os.Args) > 1 && os.Args[1] == Arg {
		syscall.Exit(Main(os.Args[2:]))
	}
}

// Spec is what the server tells the shim.
type Spec struct {
	// CPUSeconds, AddressSpace, OpenFiles and Processes are resource
	// limits (RLIMIT_CPU, _AS, _NOFILE, _NPROC); 0 sets none.
	CPUSeconds, AddressSpace, OpenFiles, Processes uint64
	// Cgroup is the run's cgroup directory; empty for none.
	Cgroup string
	// Grace is the time between SIGTERM and SIGKILL on a cancel.
	Grace time.Duration
	// Deadline is the keep-alive deadline on CLOCK_MONOTONIC, in
	// nanoseconds (see MonoAt); 0 for none.
	Deadline int64
	// NoShell sets every limit through the Go shim, never /bin/sh.
	NoShell bool
	// Exec makes the shim a trampoline, not a supervisor: it joins the
	// cgroup, sets the limits on itself, becomes the user and executes
	// the program.
	Exec bool
	// User runs the task as UID and GID, without supplementary groups;
	// the supervisor keeps the server's identity, so that it can still
	// kill the task's tree and manage its cgroup.
	User     bool
	UID, GID uint32
	// Landlock confines the task with the Landlock ruleset that the
	// supervisor finds on its LandlockFD, enforced with these flags.
	Landlock      bool
	LandlockFlags uint32
}

// LandlockFD is the supervisor's descriptor of the task's Landlock
// ruleset.
const LandlockFD = 4

// Args returns the shim's arguments, those after Arg, that run argv
// under s.
func (s Spec) Args(argv []string) []string {
	var a []string
	for _, f := range []struct {
		key string
		v   uint64
	}{{"cpu", s.CPUSeconds}, {"as", s.AddressSpace}, {"nofile", s.OpenFiles}, {"nproc", s.Processes}, {"grace", uint64(s.Grace)}} {
		if f.v > 0 {
			a = append(a, f.key+"="+utoa(f.v))
		}
	}
	if s.Deadline != 0 {
		a = append(a, "deadline="+itoa(s.Deadline))
	}
	if s.NoShell {
		a = append(a, "noshell")
	}
	if s.Exec {
		a = append(a, "exec")
	}
	if s.User {
		a = append(a, "user="+utoa(uint64(s.UID))+":"+utoa(uint64(s.GID)))
	}
	if s.Landlock {
		a = append(a, "landlock="+utoa(uint64(s.LandlockFlags)))
	}
	if s.Cgroup != "" {
		a = append(a, "cgroup="+s.Cgroup)
	}
	return append(append(a, "--"), argv...)
}

// parse reads Args' output back.
func parse(args []string) (Spec, []string, bool) {
	var s Spec
	for i, a := range args {
		if a == "--" {
			return s, args[i+1:], i+1 < len(args)
		}
		key, value, _ := cut(a, '=')
		ok := true
		switch key {
		case "cpu":
			s.CPUSeconds, ok = atou(value)
		case "as":
			s.AddressSpace, ok = atou(value)
		case "nofile":
			s.OpenFiles, ok = atou(value)
		case "nproc":
			s.Processes, ok = atou(value)
		case "grace":
			var ns int64
			ns, ok = atoi(value)
			s.Grace = time.Duration(ns)
		case "deadline":
			s.Deadline, ok = atoi(value)
		case "noshell":
			s.NoShell = true
		case "exec":
			s.Exec = true
		case "cgroup":
			s.Cgroup = value
		case "user":
			uid, gid, _ := cut(value, ':')
			var u, g uint64
			u, ok = atou(uid)
			if ok {
				g, ok = atou(gid)
			}
			ok = ok && u <= math.MaxUint32 && g <= math.MaxUint32
			s.User, s.UID, s.GID = true, uint32(u), uint32(g)
		case "landlock":
			var f uint64
			f, ok = atou(value)
			ok = ok && f <= math.MaxUint32
			s.Landlock, s.LandlockFlags = true, uint32(f)
		default:
			ok = false
		}
		if !ok {
			return s, nil, false
		}
	}
	return s, nil, false
}

// The supervisor's exit status when it killed the tree for a missed
// keep-alive deadline (its report on the control socket says more).
const fencedExit = 124

// supervisorFiles is the least open-files limit the supervisor sets on
// itself; a lower one goes through a trampoline, so that the supervisor
// keeps the descriptors it needs.
const supervisorFiles = 32

// lingerWait bounds how long the supervisor waits for killed descendants
// to go.
const lingerWait = 10 * time.Second

// Main runs the shim with args, those after Arg, and returns the exit
// code to use. As a supervisor (the server's end of the control socket is
// its fd 3) it starts the program in its own process group, with the
// limits and in the cgroup; kills the program's whole tree when the
// server asks, when the server dies, when the keep-alive deadline passes
// and when the program exits; and reports how it ended. As a trampoline
// it sets the limits on itself and executes the program (127: the
// program was not found, as a shell says).
func Main(args []string) int {
	spec, argv, ok := parse(args)
	if !ok {
		warn("sundial shim: usage: [KEY=VALUE...] -- PROGRAM [ARGS]")
		return 2
	}
	if spec.Exec {
		return trampoline(spec, argv)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(3, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		warn("sundial shim: no control socket on fd 3")
		return 2
	}
	return supervise(spec, argv)
}

// warn writes a line to stderr.
func warn(parts ...string) {
	line := ""
	for _, p := range parts {
		line += p
	}
	os.Stderr.WriteString(line + "\n")
}

// trampoline joins the cgroup, sets the limits, becomes the user and
// executes argv.
func trampoline(spec Spec, argv []string) int {
	// The identity it takes is this thread's, and the program is executed
	// from it: other threads end with the exec.
	runtime.LockOSThread()
	if spec.Cgroup != "" {
		if err := os.WriteFile(spec.Cgroup+"/cgroup.procs", []byte("0"), 0); err != nil {
			warn("sundial shim: join cgroup: ", err.Error())
			return 2
		}
	}
	for _, lim := range []struct {
		resource int
		value    uint64
		name     string
	}{{syscall.RLIMIT_CPU, spec.CPUSeconds, "cpu"}, {syscall.RLIMIT_AS, spec.AddressSpace, "address space"},
		{syscall.RLIMIT_NOFILE, spec.OpenFiles, "open files"}, {rlimitNproc, spec.Processes, "processes"}} {
		if lim.value == 0 {
			continue
		}
		if err := setLimit(lim.resource, lim.value); err != nil {
			warn("sundial shim: limit ", lim.name, " to ", utoa(lim.value), ": ", err.Error())
			return 2
		}
	}
	if spec.User {
		if err := becomeUser(spec.UID, spec.GID); err != nil {
			warn("sundial shim: become uid ", utoa(uint64(spec.UID)), " gid ", utoa(uint64(spec.GID)), ": ", err.Error())
			return 2
		}
	}
	path, code := lookPath(argv[0], nil)
	if code != 0 {
		return code
	}
	err := syscall.Exec(path, argv, os.Environ())
	warn("sundial: cannot execute ", path, ": ", err.Error())
	return 126
}

// becomeUser gives the calling thread the user's identity for good (real,
// effective and saved IDs), without supplementary groups.
func becomeUser(uid, gid uint32) error {
	for _, call := range [...]struct{ trap, arg uintptr }{{syscall.SYS_SETGROUPS, 0}, {syscall.SYS_SETGID, uintptr(gid)}, {syscall.SYS_SETUID, uintptr(uid)}} {
		if _, _, e := syscall.RawSyscall(call.trap, call.arg, 0, 0); e != 0 {
			return e
		}
	}
	return nil
}

// confine enforces the Landlock ruleset on LandlockFD on the calling
// thread, which then forks the task: the task, and all it starts, are
// confined; the supervisor's other threads are not.
func confine(flags uint32) error {
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); e != 0 {
		return e
	}
	if _, _, e := syscall.RawSyscall(sysLandlockRestrictSelf, LandlockFD, uintptr(flags), 0); e != 0 {
		return e
	}
	syscall.Close(LandlockFD)
	return nil
}

// setLimit sets both the soft and the hard limit, so that the task
// cannot raise them again.
func setLimit(resource int, v uint64) error {
	return syscall.Setrlimit(resource, &syscall.Rlimit{Cur: v, Max: v})
}

// lookPath finds a program as a shell would (PATH from the environment,
// an empty entry meaning the working directory), or says why not and
// returns the exit code for it. With user, it finds what that user may
// execute, as the user's shell would: a directory of the server's own on
// PATH is passed over.
func lookPath(name string, user *syscall.Credential) (string, int) {
	ok := func(p string) bool { return executable(p) && (user == nil || executableBy(p, user.Uid, user.Gid)) }
	if _, _, slash := cut(name, '/'); slash {
		if ok(name) {
			return name, 0
		}
	} else {
		for rest, more := os.Getenv("PATH"), true; more; {
			var dir string
			dir, rest, more = cut(rest, ':')
			if dir == "" {
				dir = "."
			}
			if p := dir + "/" + name; ok(p) {
				return p, 0
			}
		}
	}
	warn("sundial: ", name, ": not found on this host (PATH=", os.Getenv("PATH"), ")")
	return "", 127
}

func executable(path string) bool {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil || st.Mode&syscall.S_IFMT == syscall.S_IFDIR || st.Mode&0o111 == 0 {
		return false
	}
	return syscall.Access(path, 1 /* X_OK */) == nil
}

// executableBy reports whether uid and gid (without supplementary
// groups) may execute path, by the permission bits of the file and of
// each directory on the way to it (ACLs aside).
func executableBy(path string, uid, gid uint32) bool {
	may := func(p string) bool {
		var st syscall.Stat_t
		if syscall.Stat(p, &st) != nil {
			return false
		}
		switch {
		case st.Uid == uid:
			return st.Mode&0o100 != 0
		case st.Gid == gid:
			return st.Mode&0o010 != 0
		}
		return st.Mode&0o001 != 0
	}
	for i := 1; i < len(path); i++ {
		if path[i] == '/' && !may(path[:i]) {
			return false
		}
	}
	return may(path)
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
	// strays and lingering are as in Report.
	strays, lingering int
}

func supervise(spec Spec, argv []string) int {
	// Only stdin, stdout and stderr reach the task: not the control
	// socket, nor what the server inherited without close-on-exec.
	closeOnExecFrom(3)
	// The task is started from this thread (see confine), and only this
	// goroutine runs on it.
	runtime.LockOSThread()
	s := &supervisor{ctl: os.NewFile(3, "sundial-control"), self: os.Getpid(), ppid: os.Getppid(), cgroup: spec.Cgroup}
	// Another run's task, of the same user, cannot read this process's
	// memory or environment (/proc/PID/environ, ptrace).
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0)
	// Orphans of the task (setsid, double fork) become our children.
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		warn("sundial shim: cannot become a subreaper: ", e.Error())
		return s.report(2)
	}
	children := make(chan os.Signal, 1)
	signal.Notify(children, syscall.SIGCHLD)
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)

	if spec.Landlock {
		if err := confine(spec.LandlockFlags); err != nil {
			warn("sundial shim: cannot confine the task with Landlock: ", err.Error())
			return s.report(2)
		}
	}
	if code := s.start(spec, argv); code != 0 {
		return s.report(code)
	}
	defer func() {
		if r := recover(); r != nil {
			s.signalTree(syscall.SIGKILL) // a bug of ours is no reason to let the tree run
			panic(r)
		}
	}()
	s.ctl.WriteString("P " + itoa(int64(s.pid)) + "\n")

	messages := make(chan string, 4)
	go readLines(s.ctl, messages)
	var fence *time.Timer
	var fenceC, graceC <-chan time.Time
	setDeadline := func(mono int64) {
		if s.fenced {
			return
		}
		d := time.Duration(mono - MonoNow())
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
			case len(m) > 2 && m[:2] == "D ":
				if mono, ok := atoi(m[2:]); ok {
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
func (s *supervisor) start(spec Spec, argv []string) int {
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2},
		// Should the supervisor die first, the task dies with it.
		Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}}
	var user *syscall.Credential
	if spec.User {
		user = &syscall.Credential{Uid: spec.UID, Gid: spec.GID, Groups: []uint32{}}
	}
	if spec.CPUSeconds == 0 && spec.AddressSpace == 0 && spec.Processes == 0 && (spec.OpenFiles == 0 || spec.OpenFiles >= supervisorFiles) {
		path, code := lookPath(argv[0], user)
		if code != 0 {
			return code
		}
		if spec.OpenFiles > 0 {
			if err := setLimit(syscall.RLIMIT_NOFILE, spec.OpenFiles); err != nil {
				warn("sundial shim: limit open files to ", utoa(spec.OpenFiles), ": ", err.Error())
				return 2
			}
		}
		attr.Sys.Credential = user
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
	// A shell started as the task's user could not join the cgroup: the
	// Go shim joins it first, then becomes the user.
	if spec.Processes > 0 || spec.NoShell || (user != nil && spec.Cgroup != "") {
		t := Spec{CPUSeconds: spec.CPUSeconds, AddressSpace: spec.AddressSpace, OpenFiles: spec.OpenFiles, Processes: spec.Processes,
			Cgroup: spec.Cgroup, Exec: true, User: spec.User, UID: spec.UID, GID: spec.GID}
		tramp = append([]string{"/proc/self/exe", Arg}, t.Args(argv)...)
		attr.Sys.Credential = nil
	} else {
		tramp = append([]string{"/bin/sh", "-c", shellScript(spec), "sundial-shim"}, argv...)
		attr.Sys.Credential = user
	}
	return s.forkExec(tramp[0], tramp, attr)
}

// forkExec starts the task, or returns the exit code a shell gives for a
// program it cannot execute.
func (s *supervisor) forkExec(path string, argv []string, attr *syscall.ProcAttr) int {
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		warn("sundial: cannot execute ", path, ": ", err.Error())
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
func shellScript(spec Spec) string {
	script := ""
	if spec.Cgroup != "" {
		script += "echo 0 > '" + without(spec.Cgroup, '\'') + "/cgroup.procs' || exit 2\n"
	}
	for _, lim := range []struct {
		flag  string
		value uint64
	}{{"-t", spec.CPUSeconds}, {"-v", spec.AddressSpace / 1024}, {"-n", spec.OpenFiles}} {
		if lim.value > 0 {
			l := "ulimit " + lim.flag + " " + utoa(lim.value)
			script += l + " || { echo 'sundial: cannot set " + l + "' >&2; exit 2; }\n"
		}
	}
	script += `command -v "$1" >/dev/null 2>&1 || { echo "sundial: $1: not found on this host (PATH=$PATH)" >&2; exit 127; }` + "\n"
	return script + `exec "$@"`
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
	if f, err := os.OpenFile(s.cgroup+"/cgroup.kill", os.O_WRONLY, 0); err == nil {
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
	r := Report{Code: code, Fenced: s.fenced, Strays: s.strays, Lingering: s.lingering}
	if s.exited {
		r.Code = s.status.ExitStatus()
		if s.status.Signaled() {
			r.Code, r.Signal = -1, int(s.status.Signal())
		}
	}
	s.ctl.WriteString(r.String() + "\n")
	return code
}

// Report is the supervisor's last word on the control socket: how the
// task ended.
type Report struct {
	// Code is the exit status, -1 when a signal ended the task.
	Code int
	// Signal is the signal that ended it, 0 for none.
	Signal int
	// Fenced, Strays and Lingering are as in isolate.Result.
	Fenced            bool
	Strays, Lingering int
}

// String is the report as the supervisor writes it: "X code signal
// fenced strays lingering".
func (r Report) String() string {
	fenced := "0"
	if r.Fenced {
		fenced = "1"
	}
	return "X " + itoa(int64(r.Code)) + " " + itoa(int64(r.Signal)) + " " + fenced + " " + itoa(int64(r.Strays)) + " " + itoa(int64(r.Lingering))
}

// ParseReport reads a line the supervisor wrote; ok is false when it is
// not a report.
func ParseReport(line string) (r Report, ok bool) {
	f := fields(line)
	if len(f) != 6 || f[0] != "X" {
		return Report{}, false
	}
	var n [5]int
	for i := range n {
		v, ok := atoi(f[i+1])
		if !ok || v != int64(int(v)) {
			return Report{}, false
		}
		n[i] = int(v)
	}
	return Report{Code: n[0], Signal: n[1], Fenced: n[2] == 1, Strays: n[3], Lingering: n[4]}, true
}

// prctl(2) options.
const (
	prSetDumpable       = 4
	prSetChildSubreaper = 36
	prSetNoNewPrivs     = 38
)

// sysLandlockRestrictSelf is landlock_restrict_self(2), the same number
// on every architecture.
const sysLandlockRestrictSelf = 446

// rlimitNproc is RLIMIT_NPROC, which package syscall does not name on
// every platform.
const rlimitNproc = 6

// MonoNow reads CLOCK_MONOTONIC, which every process on the host reads
// alike, so that a deadline handed to the supervisor means the same
// instant there however late the message arrives.
func MonoNow() int64 {
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// MonoAt is t on CLOCK_MONOTONIC.
func MonoAt(t time.Time) int64 {
	now := MonoNow()
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
		if n, ok := atoi(n.Name()); ok && n >= int64(fd) {
			syscall.CloseOnExec(int(n))
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
