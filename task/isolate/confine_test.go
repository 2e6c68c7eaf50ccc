package isolate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// taskUser is the unprivileged user tasks of a root server run as; the
// test is skipped when this process cannot switch users.
func taskUser(t *testing.T) User {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running tasks as another user needs root (CI runs the tests as root)")
	}
	u, err := DefaultUser()
	if err != nil {
		t.Skipf("no unprivileged user on this host: %v", err)
	}
	return u
}

// publicDir is a directory every user may pass through, unlike
// t.TempDir's, so that only the permissions of what is in it count.
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sundial-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// probe is a shell script that reports, one line each, what a task can
// do: "read NAME: ok" or "read NAME: denied", and so on.
func probe(lines ...string) []string {
	return []string{"sh", "-c", strings.Join(lines, "\n")}
}

func canRead(label, path string) string {
	return "cat '" + path + "' >/dev/null 2>&1 && echo 'read " + label + ": ok' || echo 'read " + label + ": denied'"
}

func canSignal(pid int) string {
	return "kill -0 " + strconv.Itoa(pid) + " 2>/dev/null && echo 'signal: ok' || echo 'signal: denied'"
}

func wantLines(t *testing.T, name, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("%s: no line %q in:\n%s", name, w, out)
		}
	}
}

// TestRunAsUser: with Runner.User, the task runs as that user, without
// the server's groups, with the user's HOME and a working directory and
// files of its own, on every way the supervisor starts it; it cannot read
// the server's private files nor signal the server.
func TestRunAsUser(t *testing.T) {
	u := taskUser(t)
	secret := filepath.Join(publicDir(t), "key")
	if err := os.WriteFile(secret, []byte("canary"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A plain directory stands in for a cgroup: the kernel cannot start a
	// process in it, so the Go shim joins it, then becomes the user.
	cgroup := t.TempDir()
	for name, c := range map[string]struct {
		r *Runner
		l Limits
	}{
		"direct":     {&Runner{}, Limits{}},
		"sh-ulimit":  {&Runner{}, Limits{CPUSeconds: 100}},
		"go-ulimit":  {&Runner{NoShell: true}, Limits{CPUSeconds: 100}},
		"go-process": {&Runner{}, Limits{Processes: 10000}},
		"go-cgroup":  {&Runner{Cgroup: cgroup}, Limits{Pids: 100}},
	} {
		t.Run(name, func(t *testing.T) {
			c.r.User = &u
			res, out, err := runWith(c.r, context.Background(), Cmd{Limits: c.l,
				Prepare: func(dir string) error { return os.WriteFile(filepath.Join(dir, "given"), []byte("ok"), 0o600) },
				Argv: probe(`echo "uid $(id -u) gid $(id -g) groups $(id -G)"`, `echo "home $HOME user $USER $LOGNAME"`,
					canRead("key", secret), canRead("given", "given"), `echo made > made && echo "write: $(cat made)"`,
					canSignal(os.Getpid()))})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("Run = %+v, %v\n%s", res, err, out)
			}
			id := strconv.Itoa(int(u.UID))
			gid := strconv.Itoa(int(u.GID))
			wantLines(t, name, out, "uid "+id+" gid "+gid+" groups "+gid, "home "+u.Home+" user "+u.Name+" "+u.Name,
				"read key: denied", "read given: ok", "write: made", "signal: denied")
		})
	}
}

// TestRunAsUserFindsItsOwnPrograms: a directory on PATH that the task's
// user cannot enter is passed over, as the user's shell would.
func TestRunAsUserFindsItsOwnPrograms(t *testing.T) {
	u := taskUser(t)
	private, public := t.TempDir(), publicDir(t)
	for dir, says := range map[string]string{private: "private", public: "public"} {
		if err := os.WriteFile(filepath.Join(dir, "sundial-prog"), []byte("#!/bin/sh\necho "+says+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := &Runner{User: &u, Getenv: func(name string) string {
		if name == "PATH" {
			return private + ":" + public + ":/usr/bin:/bin"
		}
		return ""
	}}
	res, out, err := runWith(r, context.Background(), Cmd{Argv: []string{"sundial-prog"}})
	if err != nil || res.ExitCode != 0 || out != "public\n" {
		t.Errorf("Run = %+v, %q, %v; want the program the user may run", res, out, err)
	}
}

// TestLandlockConfines: with Landlock, a task — even one running as root,
// as here — cannot read or write what the Runner protects, nor other
// runs' files under a protected RunDir (it may list names: the
// directories on the way keep the right to be listed); it cannot signal
// this process where the kernel scopes signals; it still reads what lies
// beside a protected file and works in its own directories.
func TestLandlockConfines(t *testing.T) {
	st := landlockOrSkip(t)
	data := publicDir(t)
	for _, f := range []string{"sundial.db", "key", "beside"} {
		if err := os.WriteFile(filepath.Join(data, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runDir := publicDir(t)
	other := filepath.Join(runDir, "sundial-run-other", "d")
	os.MkdirAll(other, 0o777)
	os.WriteFile(filepath.Join(other, "result.json"), []byte("{}"), 0o666)
	r := &Runner{Landlock: true, RunDir: runDir, Protect: []string{filepath.Join(data, "sundial.db"), filepath.Join(data, "key"), runDir}}
	control, remove, err := r.PrivateDir("ctl")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	res, out, err := runWith(r, context.Background(), Cmd{Private: []string{control},
		Argv: probe(canRead("db", filepath.Join(data, "sundial.db")), canRead("key", filepath.Join(data, "key")),
			canRead("beside", filepath.Join(data, "beside")), canRead("other run", filepath.Join(other, "result.json")),
			"echo x 2>/dev/null > '"+filepath.Join(data, "sundial.db")+"' && echo 'write db: ok' || echo 'write db: denied'",
			"echo x 2>/dev/null > '"+filepath.Join(other, "result.json")+"' && echo 'write other run: ok' || echo 'write other run: denied'",
			"touch '"+filepath.Join(data, "new")+"' 2>/dev/null && echo 'create beside: ok' || echo 'create beside: denied'",
			`echo made > made && echo "write own: $(cat made)"`,
			"echo '{\"ok\": 1}' > '"+filepath.Join(control, "result.json")+"' && echo 'write control: ok'",
			canSignal(os.Getpid()))})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v\n%s", res, err, out)
	}
	wantLines(t, "landlock", out, "read db: denied", "read key: denied", "read beside: ok", "read other run: denied",
		"write db: denied", "write other run: denied", "create beside: denied", "write own: made", "write control: ok")
	if st.Signals {
		wantLines(t, "landlock", out, "signal: denied")
	} else {
		t.Logf("this kernel's Landlock (%s) does not scope signals: a task of the server's own user could signal it", st)
	}
	if b, _ := os.ReadFile(filepath.Join(data, "sundial.db")); string(b) != "sundial.db" {
		t.Errorf("the protected file was changed: %q", b)
	}
}

func landlockOrSkip(t *testing.T) LandlockStatus {
	t.Helper()
	st := DetectLandlock()
	if st.ABI == 0 {
		t.Skip("this kernel has no Landlock (or it is not enabled at boot: lsm=...,landlock): tasks run without it, and the server says so in its node facts")
	}
	return st
}

// TestLandlockKeepsRunsApart: two tasks of one user (nobody when the tests
// run as root) each in a Landlock sandbox of its own: one cannot read the
// other's environment (its secrets) nor signal it. Without Landlock it
// can, which shows what the sandbox adds.
func TestLandlockKeepsRunsApart(t *testing.T) {
	landlockOrSkip(t)
	var u *User
	if os.Geteuid() == 0 {
		nobody := taskUser(t)
		u = &nobody
	}
	for _, confined := range []bool{true, false} {
		r := &Runner{Landlock: confined, User: u}
		pidDir, remove, err := r.PrivateDir("ctl")
		if err != nil {
			t.Fatal(err)
		}
		defer remove()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, _, err := runWith(r, ctx, Cmd{Private: []string{pidDir}, Env: map[string]string{"DB_PASSWORD": "canary"},
				Argv: []string{"sh", "-c", "echo $$ > '" + pidDir + "/pid.tmp' && mv '" + pidDir + "/pid.tmp' '" + pidDir + "/pid' && exec sleep 60"}})
			done <- err
		}()
		var pid string
		for pid == "" {
			select {
			case err := <-done:
				t.Fatalf("the first task ended before it wrote its pid: %v", err)
			case <-time.After(5 * time.Millisecond):
			}
			b, _ := os.ReadFile(filepath.Join(pidDir, "pid"))
			pid = strings.TrimSpace(string(b))
		}
		_, out, err := runWith(r, context.Background(), Cmd{Argv: probe(
			"grep -q canary /proc/"+pid+"/environ 2>/dev/null && echo 'read environ: ok' || echo 'read environ: denied'",
			"kill -0 "+pid+" 2>/dev/null && echo 'signal: ok' || echo 'signal: denied'")})
		cancel()
		<-done
		if err != nil {
			t.Fatal(err)
		}
		if confined {
			wantLines(t, "confined", out, "read environ: denied")
			if DetectLandlock().Signals {
				wantLines(t, "confined", out, "signal: denied")
			}
		} else if !strings.Contains(out, "read environ: ok") {
			t.Logf("without Landlock, another task's environment is out of reach here too (%q): the check above shows less", out)
		}
	}
}

// TestUnenforcedLimits: a memory or pids limit without a cgroup is
// refused before anything starts, naming the limit and why; a Runner
// that accepts unenforced limits runs the task and says so in its output.
func TestUnenforcedLimits(t *testing.T) {
	for _, l := range []Limits{{MemoryBytes: 64 << 20}, {Pids: 10}} {
		field := "limits.memory_bytes"
		if l.Pids > 0 {
			field = "limits.pids"
		}
		res, out, err := run(t, context.Background(), Cmd{Argv: []string{"sh", "-c", "echo started"}, Limits: l})
		if !errors.Is(err, ErrUnenforced) || !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), field+" cannot be enforced on this host") ||
			!strings.Contains(err.Error(), "cgroup v2") || out != "" || res.ExitCode != 0 {
			t.Errorf("%+v without a cgroup: %+v %q %v", l, res, out, err)
		}
		res, out, err = runWith(&Runner{AcceptUnenforced: true}, context.Background(), Cmd{Argv: []string{"sh", "-c", "echo started"}, Limits: l})
		if err != nil || res.ExitCode != 0 || !strings.HasPrefix(out, "[sundial: warning: "+field+" cannot be enforced") || !strings.HasSuffix(out, "]\nstarted\n") {
			t.Errorf("%+v accepted unenforced: %+v %q %v", l, res, out, err)
		}
	}
	if got := (&Runner{Cgroup: "/sys/fs/cgroup/sundial"}).Unenforceable(Limits{MemoryBytes: 1, Pids: 1}); len(got) != 0 {
		t.Errorf("a Runner with a cgroup cannot enforce %v", got)
	}
}

// TestCgroupLimitsEnforced: on a host with a delegated cgroup v2, the
// memory and pids limits hold.
func TestCgroupLimitsEnforced(t *testing.T) {
	parent := DetectCgroup("")
	if parent == "" {
		t.Skip("no delegated cgroup v2 here (cgroup v1, or /sys/fs/cgroup not writable, or the memory and pids controllers not delegated): jobs asking for memory_bytes or pids are refused on this host; run as root on a cgroup v2 host to test enforcement")
	}
	r := &Runner{Cgroup: parent}
	res, out, err := runWith(r, context.Background(), Cmd{Argv: []string{"sh", "-c", "x=$(head -c 400000000 /dev/zero | tr '\\0' a); echo ${#x}"},
		Limits: Limits{MemoryBytes: 64 << 20}})
	if err == nil && res.ExitCode == 0 && strings.TrimSpace(out) == "400000000" {
		t.Errorf("400 MB fit in a 64 MiB memory limit: %+v", res)
	}
	res, out, err = runWith(r, context.Background(), Cmd{Argv: []string{"sh", "-c", "for i in $(seq 30); do sleep 5 & done 2>/dev/null; n=$(jobs -p | wc -l); kill $(jobs -p); echo $n"},
		Limits: Limits{Pids: 10}})
	if n, _ := strconv.Atoi(strings.TrimSpace(out)); err != nil || n >= 10 {
		t.Errorf("30 processes with a pids limit of 10: %d started; %+v %v", n, res, err)
	}
}

// TestReadChildFile: what a task leaves for the server is read only when
// it is a regular file of its own, and up to a limit.
func TestReadChildFile(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	os.WriteFile(path("result.json"), []byte(`{"ok":1}`), 0o600)
	os.WriteFile(path("secret"), []byte("canary"), 0o600)
	os.Symlink(path("secret"), path("symlink"))
	os.Link(path("secret"), path("hardlink"))
	syscall.Mkfifo(path("fifo"), 0o600)
	if b, err := ReadChildFile(path("result.json"), 100); err != nil || string(b) != `{"ok":1}` {
		t.Errorf("regular file: %q %v", b, err)
	}
	if _, err := ReadChildFile(path("result.json"), 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	for _, name := range []string{"symlink", "hardlink", "fifo"} {
		if b, err := ReadChildFile(path(name), 100); err == nil || strings.Contains(string(b), "canary") {
			t.Errorf("%s read: %q %v", name, b, err)
		}
	}
}

func TestLookupUser(t *testing.T) {
	if _, err := LookupUser("nobody"); err != nil {
		t.Skipf("no user nobody here: %v", err)
	}
	for _, c := range []struct {
		spec string
		err  string
	}{
		{"root", "must not run as root"},
		{"0", "must not run as root"},
		{"nobody:root", "must not run as root"},
		{"no-such-user-sundial", `user "no-such-user-sundial"`},
		{"nobody:no-such-group-sundial", `group "no-such-group-sundial"`},
		{"", "give a user"},
		{"nobody:", "give a user"},
	} {
		if _, err := LookupUser(c.spec); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("LookupUser(%q) = %v, want an error with %q", c.spec, err, c.err)
		}
	}
	u, err := LookupUser("nobody")
	if err != nil || u.UID == 0 || u.GID == 0 || u.Name != "nobody" {
		t.Errorf("nobody = %+v, %v", u, err)
	}
	if byID, err := LookupUser(strconv.Itoa(int(u.UID))); err != nil || byID != u {
		t.Errorf("by uid: %+v %v, want %+v", byID, err, u)
	}
}
