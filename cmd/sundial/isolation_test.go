package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/task/isolate"
)

// sharedDir is a directory that every user may enter and write, unlike
// t.TempDir's: the tasks of a server started as root run as an
// unprivileged user.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sundial-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

const testKey = "q83vEgVKbBtRgx1nfEaJfJ7T3xEs9Y7rjyUkzQMY0rI="

// probe is a task that tries to reach the server with pid, its database
// and key file, and prints one line per try.
func probe(t *testing.T, pid int, db, keyFile string) string {
	t.Helper()
	p := strconv.Itoa(pid)
	// An address the server has mapped, to read its memory at.
	maps, err := os.ReadFile("/proc/" + p + "/maps")
	if err != nil {
		t.Fatal(err)
	}
	start, _, _ := strings.Cut(string(maps), "-")
	addr, err := strconv.ParseUint(start, 16, 64)
	if err != nil {
		t.Fatalf("/proc/%s/maps: %q", p, maps[:min(len(maps), 100)])
	}
	lines := []string{
		`echo "uid $(id -u)"`,
		"head -c 1 '" + db + "' >/dev/null 2>&1 && echo 'database: read' || echo 'database: denied'",
		"echo x 2>/dev/null >> '" + db + "' && echo 'database write: done' || echo 'database write: denied'",
		"head -c 1 /proc/" + p + "/environ >/dev/null 2>&1 && echo 'environ: read' || echo 'environ: denied'",
		"dd if=/proc/" + p + "/mem of=/dev/null bs=1 count=1 skip=" + strconv.FormatUint(addr, 10) + " 2>/dev/null && echo 'memory: read' || echo 'memory: denied'",
		"kill -0 " + p + " 2>/dev/null && echo 'signal: sent' || echo 'signal: denied'",
		"env | grep -q SUNDIAL_SECRET_KEY && echo 'task env: has the key' || echo 'task env: clean'",
	}
	if keyFile != "" {
		lines = append(lines, "head -c 1 '"+keyFile+"' >/dev/null 2>&1 && echo 'key file: read' || echo 'key file: denied'")
	}
	return strings.Join(lines, "\n")
}

// probeRun adds and runs the probe job and returns its output.
func probeRun(t *testing.T, srv *server, script string) string {
	t.Helper()
	args, _ := json.Marshal(map[string]any{"argv": []string{"sh", "-c", script}})
	srv.mustCLI(t, "jobs", "add", "--id", "probe", "--task", "command", "--trigger", "@daily", "--args", string(args))
	var run sundial.Run
	out := srv.mustCLI(t, "jobs", "run", "probe", "--wait", "--json")
	if err := json.Unmarshal([]byte(out), &run); err != nil || run.Status != sundial.StatusSucceeded {
		t.Fatalf("the probe did not run: %v %s; logs:\n%s", err, out, readFile(srv.logs.Name()))
	}
	return run.Output
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("no line %q in the task's output:\n%s", w, out)
		}
	}
}

// nodeFacts are the facts of the server's one node.
func nodeFacts(t *testing.T, srv *server) map[string]string {
	t.Helper()
	var st struct{ Nodes []sundial.Node }
	json.Unmarshal([]byte(srv.mustCLI(t, "status", "--json")), &st)
	if len(st.Nodes) != 1 {
		t.Fatalf("status shows %d nodes", len(st.Nodes))
	}
	return st.Nodes[0].Facts
}

// TestTasksCannotReachTheServer: a server started as root runs tasks as an
// unprivileged user, which cannot read the key file, the database or the
// server's environment and memory, nor signal it; the key given in the
// environment is gone from the server's environment once it started and
// never in a task's; `sundial status` says how the node confines its
// tasks.
func TestTasksCannotReachTheServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("run as root (as CI does): a server started by another user cannot switch its tasks to another user (see TestTasksOfANonRootServer)")
	}
	u, err := isolate.DefaultUser()
	if err != nil {
		t.Skip(err)
	}
	for _, keyFrom := range []string{"environment", "file"} {
		t.Run("key from the "+keyFrom, func(t *testing.T) {
			dir := sharedDir(t) // only the files' own permissions keep the task out
			db := filepath.Join(dir, "sundial.db")
			keyFile := ""
			cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--poll-interval", "500ms", "--db", "sqlite:"+db)
			cmd.Env = append(os.Environ(), "SUNDIAL_TOKEN=", "SUNDIAL_SERVER=", "SUNDIAL_SECRET_KEY=", "SUNDIAL_SECRET_KEY_FILE=")
			if keyFrom == "environment" {
				cmd.Env = append(cmd.Env, "SUNDIAL_SECRET_KEY="+testKey)
			} else {
				keyFile = filepath.Join(dir, "key")
				os.WriteFile(keyFile, []byte(testKey+"\n"), 0o600)
				cmd.Env = append(cmd.Env, "SUNDIAL_SECRET_KEY_FILE="+keyFile)
			}
			srv := serveCmd(t, dir, true, cmd)
			pid := cmd.Process.Pid

			out := probeRun(t, srv, probe(t, pid, db, keyFile))
			wantLines(t, out, "uid "+strconv.Itoa(int(u.UID)), "database: denied", "database write: denied", "environ: denied", "memory: denied",
				"signal: denied", "task env: clean")
			if keyFile != "" {
				wantLines(t, out, "key file: denied")
			}
			if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err != nil || strings.Contains(string(env), testKey) ||
				strings.Contains(string(env), "SUNDIAL_SECRET_KEY") {
				t.Errorf("the server's /proc/PID/environ still holds the key (%v)", err)
			}
			facts := nodeFacts(t, srv)
			if facts["run_as"] != u.String() || facts["non_dumpable"] != "yes" || facts["landlock"] == "" || facts["cgroup_limits"] == "" {
				t.Errorf("node facts = %v", facts)
			}
			if table := srv.mustCLI(t, "status"); !strings.Contains(table, "RUN AS") || !strings.Contains(table, u.String()) {
				t.Errorf("status lacks the isolation table:\n%s", table)
			}
			// The secrets work: the key was read before it left.
			set := exec.Command(bin, "secrets", "set", "PROBE")
			set.Env = append(os.Environ(), "SUNDIAL_SERVER="+srv.base, "SUNDIAL_TOKEN="+srv.token)
			set.Stdin = strings.NewReader("probe-value\n")
			if out, err := set.CombinedOutput(); err != nil {
				t.Errorf("secrets set: %v %s", err, out)
			}
		})
	}
}

// TestTasksOfANonRootServer: a server started as an unprivileged user
// (nobody) cannot switch users: its tasks run as itself, and Landlock and
// its being non-dumpable keep them from its key file, its database, its
// environment and memory, and from signalling it.
func TestTasksOfANonRootServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("run as root (as CI does): the test starts the server as nobody")
	}
	if st := isolate.DetectLandlock(); st.ABI == 0 {
		t.Skip("this kernel has no Landlock: a server that is not root cannot keep its tasks from its files (its node facts say landlock: unavailable)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	dir := sharedDir(t)
	os.Chmod(dir, 0o755)
	// The binary, where nobody may run it.
	server := filepath.Join(dir, "sundial")
	copyFile(t, bin, server, 0o755)
	data := filepath.Join(dir, "data")
	os.Mkdir(data, 0o700)
	keyFile := filepath.Join(data, "key")
	os.WriteFile(keyFile, []byte(testKey), 0o600)
	for _, p := range []string{data, keyFile} {
		os.Chown(p, uid, gid)
	}
	db := filepath.Join(data, "sundial.db")
	cmd := exec.Command(server, "serve", "--addr", "127.0.0.1:0", "--poll-interval", "500ms", "--db", "sqlite:"+db, "--secret-key-file", keyFile)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	srv := serveCmd(t, dir, true, cmd)
	pid := cmd.Process.Pid

	out := probeRun(t, srv, probe(t, pid, db, keyFile))
	wantLines(t, out, "uid "+nobody.Uid, "database: denied", "database write: denied", "environ: denied", "memory: denied", "key file: denied", "task env: clean")
	facts := nodeFacts(t, srv)
	if isolate.DetectLandlock().Signals {
		wantLines(t, out, "signal: denied")
	} else {
		t.Logf("Landlock here (%s) does not scope signals: the task could signal the server", facts["landlock"])
	}
	// Non-dumpable: the kernel gives the server's /proc files to root.
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/environ", pid), &st); err != nil || st.Uid != 0 {
		t.Errorf("/proc/%d/environ belongs to uid %d (%v): the server is dumpable", pid, st.Uid, err)
	}
	if !strings.HasPrefix(facts["run_as"], "the server's own: nobody") || !strings.HasPrefix(facts["landlock"], "abi ") || facts["non_dumpable"] != "yes" {
		t.Errorf("node facts = %v", facts)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLimitsRefusedWithoutCgroupV2: on a host without a delegated cgroup
// v2, a job asking for a memory limit is refused with the reason; with
// isolation.accept_unenforced_limits it is saved, and its runs say that
// the limit did not hold.
func TestLimitsRefusedWithoutCgroupV2(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "sundial.db")
	srv := serve(t, dir, true, "--db", db, "--node-id", "n1")
	if nodeFacts(t, srv)["cgroup_limits"] == "enforced" {
		t.Skip("this host has a delegated cgroup v2: memory limits hold here (task/isolate's TestCgroupLimitsEnforced checks them)")
	}
	limited := `{"argv": ["echo", "ran"], "limits": {"memory_bytes": 67108864}}`
	_, errOut, code := srv.cli(t, srv.token, "jobs", "add", "--id", "mem", "--task", "command", "--trigger", "@daily", "--args", limited)
	if code != 2 || !strings.Contains(errOut, "args.limits.memory_bytes") || !strings.Contains(errOut, "cgroup v2") ||
		!strings.Contains(errOut, "accept_unenforced_limits") {
		t.Errorf("a job with a memory limit: exit %d %s", code, errOut)
	}
	token := srv.token
	srv.stop(t)

	config := filepath.Join(dir, "sundial.yaml")
	os.WriteFile(config, []byte("isolation:\n  accept_unenforced_limits: true\n"), 0o600)
	srv = serve(t, dir, false, "--db", db, "--node-id", "n1", "--config", config)
	srv.token = token
	srv.mustCLI(t, "jobs", "add", "--id", "mem", "--task", "command", "--trigger", "@daily", "--args", limited)
	var run sundial.Run
	json.Unmarshal([]byte(srv.mustCLI(t, "jobs", "run", "mem", "--wait", "--json")), &run)
	if run.Status != sundial.StatusSucceeded || !strings.Contains(run.Output, "[sundial: warning: limits.memory_bytes cannot be enforced on this host") ||
		!strings.Contains(run.Output, "ran\n") {
		t.Errorf("accepted unenforced: %s %q %q", run.Status, run.Error, run.Output)
	}
	if got := nodeFacts(t, srv)["cgroup_limits"]; got != "unavailable: accepted unenforced" {
		t.Errorf("cgroup_limits fact = %q", got)
	}
}
