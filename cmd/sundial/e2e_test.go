package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/pgtest"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
)

// The end-to-end tests build the real binary, start `sundial serve` on a
// free port and drive it with the CLI, as a user would.

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sundial-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "sundial")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sundial: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `sundial serve`.
type server struct {
	cmd   *exec.Cmd
	base  string
	token string
	logs  *os.File
	done  chan error
	// lastLine is the last line of standard output read at start.
	lastLine string
}

var (
	servingRE = regexp.MustCompile(`serving on (http://\S+)`)
	tokenRE   = regexp.MustCompile(`^\s+(sdl_[a-z2-7]+)\s*$`)
)

// serve starts the server in dir; firstStart says whether it will print
// a new admin token.
func serve(t *testing.T, dir string, firstStart bool, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--poll-interval", "500ms"}, args...)...)
	cmd.Env = append(os.Environ(), "SUNDIAL_TOKEN=", "SUNDIAL_SERVER=")
	return serveCmd(t, dir, firstStart, cmd)
}

// serveCmd starts cmd, a `sundial serve` made ready but for its working
// directory and its standard output and error, in dir.
func serveCmd(t *testing.T, dir string, firstStart bool, cmd *exec.Cmd) *server {
	t.Helper()
	logs, err := os.CreateTemp(dir, "server-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Dir = dir
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: logs, done: make(chan error, 1)}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		s.done <- cmd.Wait()
	}()
	// The address comes first; a first start then prints the token, and
	// the "Use the CLI" line last.
	timeout := time.After(30 * time.Second)
	for s.base == "" || (firstStart && !strings.HasPrefix(s.lastLine, "Use the CLI")) {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before serving; logs:\n%s", readFile(logs.Name()))
			}
			s.lastLine = line
			if m := servingRE.FindStringSubmatch(line); m != nil {
				s.base = m[1]
			}
			if m := tokenRE.FindStringSubmatch(line); m != nil {
				s.token = m[1]
			}
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("server did not start in 30s; logs:\n%s", readFile(logs.Name()))
		}
	}
	go func() {
		for range lines {
		}
	}()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("server exited with %v; logs:\n%s", err, readFile(s.logs.Name()))
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("server did not stop in 30s after SIGTERM")
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// cli runs the CLI against s and returns its stdout, stderr and exit code.
func (s *server) cli(t *testing.T, token string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SUNDIAL_SERVER="+s.base, "SUNDIAL_TOKEN="+token)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func (s *server) mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := s.cli(t, s.token, args...)
	if code != 0 {
		t.Fatalf("sundial %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func TestEndToEndSQLite(t *testing.T) {
	dir := t.TempDir()
	endToEnd(t, dir, "sqlite:"+filepath.Join(dir, "sundial.db"))
}

func TestEndToEndPostgres(t *testing.T) {
	endToEnd(t, t.TempDir(), pgtest.SchemaDSN(t))
}

func endToEnd(t *testing.T, dir, db string) {
	config := filepath.Join(dir, "sundial.yaml")
	os.WriteFile(config, []byte("jobs:\n  - id: from-config\n    task: echo\n    trigger: '0 3 * * *'\n    args: {from: file}\n"), 0o600)
	srv := serve(t, dir, true, "--db", db, "--config", config)
	if srv.token == "" {
		t.Fatal("the first start printed no admin token")
	}

	out := srv.mustCLI(t, "jobs", "add", "--id", "e2e", "--task", "echo", "--trigger", `{"type": "interval", "seconds": 1}`, "--args", `{"n": 1}`)
	if !strings.Contains(out, "added job e2e") {
		t.Errorf("jobs add: %s", out)
	}
	var list struct{ Jobs []sundial.Job } // {"jobs": […]}, as the API
	json.Unmarshal([]byte(srv.mustCLI(t, "jobs", "list", "--json")), &list)
	jobs := list.Jobs
	if len(jobs) != 2 || jobs[0].ID != "e2e" || jobs[1].ID != "from-config" || jobs[1].Source != admin.SourceConfig {
		t.Errorf("jobs list --json = %+v", jobs)
	}
	if table := srv.mustCLI(t, "jobs", "list"); !strings.HasPrefix(table, "ID ") || !strings.Contains(table, "from-config  echo  0 3 * * *") {
		t.Errorf("jobs list table:\n%s", table)
	}

	// The job fires on its own, and its runs are listed.
	var runs []sundial.Run
	deadline := time.Now().Add(20 * time.Second)
	for len(runs) < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		var page struct{ Runs []sundial.Run } // {"runs": […]}, as the API
		json.Unmarshal([]byte(srv.mustCLI(t, "runs", "list", "--job", "e2e", "--status", "succeeded", "--json")), &page)
		runs = page.Runs
	}
	if len(runs) < 2 {
		t.Fatalf("the interval job did not run twice in 20s; logs:\n%s", readFile(srv.logs.Name()))
	}
	if got := srv.mustCLI(t, "runs", "get", runs[0].ID); !strings.Contains(got, "status:    succeeded") || !strings.Contains(got, `result:    {"n":1}`) || !strings.Contains(got, "output:") {
		t.Errorf("runs get:\n%s", got)
	}
	if got := srv.mustCLI(t, "jobs", "run", "from-config", "--wait"); !strings.Contains(got, `result:    {"from":"file"}`) {
		t.Errorf("jobs run --wait:\n%s", got)
	}
	srv.mustCLI(t, "jobs", "pause", "e2e")
	var st struct {
		Scheduling bool
		Nodes      []sundial.Node
		Jobs       struct{ Total, Paused int }
	}
	json.Unmarshal([]byte(srv.mustCLI(t, "status", "--json")), &st)
	if !st.Scheduling || len(st.Nodes) != 1 || st.Jobs.Total != 2 || st.Jobs.Paused != 1 {
		t.Errorf("status = %+v", st)
	}
	if audit := srv.mustCLI(t, "audit", "list"); !strings.Contains(audit, "job.pause") || !strings.Contains(audit, "config:") {
		t.Errorf("audit list:\n%s", audit)
	}

	// Exit codes scripts can trust.
	for _, c := range []struct {
		token string
		args  []string
		code  int
	}{
		{srv.token, []string{"jobs", "get", "missing"}, 3},
		{"sdl_wrong", []string{"jobs", "list"}, 4},
		{srv.token, []string{"jobs", "add", "--task", "echo", "--trigger", "61 * * * *"}, 2},
		{srv.token, []string{"jobs", "add", "--id", "e2e", "--task", "echo", "--trigger", "@daily"}, 2},
		{srv.token, []string{"jobs", "add", "--id", "x", "--task", "nope", "--trigger", "@daily"}, 2},
	} {
		if _, errOut, code := srv.cli(t, c.token, c.args...); code != c.code {
			t.Errorf("sundial %s: exit %d (%s), want %d", strings.Join(c.args, " "), code, errOut, c.code)
		}
	}
	// A viewer token reads but cannot change.
	out = srv.mustCLI(t, "token", "create", "--name", "dash", "--role", "viewer")
	viewer := regexp.MustCompile(`sdl_[a-z2-7]+`).FindString(out)
	if _, _, code := srv.cli(t, viewer, "jobs", "list"); code != 0 {
		t.Errorf("viewer jobs list: exit %d", code)
	}
	if _, _, code := srv.cli(t, viewer, "jobs", "rm", "e2e"); code != 4 {
		t.Errorf("viewer jobs rm: exit %d, want 4", code)
	}

	// Flask-APScheduler tooling works unchanged (Python's urllib).
	if py, err := exec.LookPath("python3"); err == nil {
		cmd := exec.Command(py, "testdata/flask_client.py", srv.base, srv.token)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("flask_client.py: %v\n%s", err, out)
		}
	} else {
		t.Log("python3 not found: skipping the Flask-APScheduler client script")
	}

	// SIGTERM stops the server cleanly; a restart with a config that drops
	// the file's job removes it and keeps the API's job; no new token.
	srv.stop(t)
	os.WriteFile(config, []byte("jobs: []\n"), 0o600)
	again := serve(t, dir, false, "--db", db, "--config", config, "--scheduler=false")
	if again.token != "" {
		t.Errorf("a restart printed a new admin token")
	}
	again.token = srv.token
	list.Jobs = nil
	json.Unmarshal([]byte(again.mustCLI(t, "jobs", "list", "--json")), &list)
	jobs = list.Jobs
	if len(jobs) != 1 || jobs[0].ID != "e2e" { // the Python script removed its own job
		t.Errorf("after the restart with no config jobs: %+v", jobs)
	}
	again.stop(t)
	if _, errOut, code := again.cli(t, srv.token, "status"); code != 1 || !strings.Contains(errOut, "cannot reach the server") {
		t.Errorf("status with the server down: exit %d %s, want 1", code, errOut)
	}
	if strings.Contains(readFile(srv.logs.Name())+readFile(again.logs.Name()), srv.token) {
		t.Error("the admin token appears in the server's logs")
	}
}

// TestTaskKindsEndToEnd runs every task kind through the real server: a
// command, an HTTP call, an uploaded script and a Python function, from
// the config file, the CLI and the Flask-APScheduler routes, with a
// granted secret that must appear nowhere.
func TestTaskKindsEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	dir := t.TempDir()
	const secret = "e2e-canary-secret-5150"
	t.Setenv("SUNDIAL_SECRET_KEY", "q83vEgVKbBtRgx1nfEaJfJ7T3xEs9Y7rjyUkzQMY0rI=")
	t.Setenv("SUNDIAL_CANARY", "server-canary-value")
	// Tasks of a server started as root run as an unprivileged user: the
	// project must be where that user may read it.
	project := filepath.Join(sharedDir(t), "project")
	if err := os.CopyFS(project, os.DirFS("../../task/testdata/project")); err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"auth_ok": %v, "run": %q}`, r.Header.Get("Authorization") == "Bearer "+secret, r.Header.Get("X-Sundial-Run-Id"))
	}))
	defer hook.Close()
	config := filepath.Join(dir, "sundial.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`python:
  path: [%q]
jobs:
  - id: py-add
    task: python
    trigger: "0 4 * * *"
    args: {func: "jobs:add", args: [20, 1], kwargs: {scale: 2}}
`, project)), 0o600)
	srv := serve(t, dir, true, "--db", "sqlite:"+filepath.Join(dir, "s.db"), "--config", config)

	run := func(id string) sundial.Run {
		t.Helper()
		out, errOut, _ := srv.cli(t, srv.token, "jobs", "run", id, "--wait", "--json")
		var r sundial.Run
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("jobs run %s: %s %s", id, out, errOut)
		}
		var compact bytes.Buffer
		json.Compact(&compact, r.Result) // --json prints indented
		r.Result = compact.Bytes()
		return r
	}
	setSecret := exec.Command(bin, "secrets", "set", "DB_PASSWORD")
	setSecret.Env = append(os.Environ(), "SUNDIAL_SERVER="+srv.base, "SUNDIAL_TOKEN="+srv.token)
	setSecret.Stdin = strings.NewReader(secret + "\n")
	if out, err := setSecret.CombinedOutput(); err != nil {
		t.Fatalf("secrets set: %v %s", err, out)
	}
	script := filepath.Join(dir, "report.py")
	os.WriteFile(script, []byte("import os\n\nasync def run(days=1):\n    print('secret is', os.environ['DB_PASSWORD'])\n    return {'days': days}\n"), 0o600)
	srv.mustCLI(t, "scripts", "push", script)
	broken := filepath.Join(dir, "broken.py")
	os.WriteFile(broken, []byte("def run(:\n"), 0o600)
	if _, errOut, code := srv.cli(t, srv.token, "scripts", "push", broken); code != 2 || !strings.Contains(errOut, "SyntaxError") {
		t.Errorf("pushing a syntax error: exit %d %s", code, errOut)
	}
	jobs := filepath.Join(dir, "jobs.yaml")
	os.WriteFile(jobs, []byte(fmt.Sprintf(`
- id: cmd
  task: command
  trigger: "@daily"
  args:
    argv: [sh, -c, 'echo "canary=${SUNDIAL_CANARY:-absent} pw=$DB_PASSWORD job=$SUNDIAL_JOB_ID"; echo "{\"ok\": true}"']
    secrets: [DB_PASSWORD]
- id: call
  task: http
  trigger: "@daily"
  args: {url: %q, headers: {Authorization: "Bearer ${DB_PASSWORD}"}, secrets: [DB_PASSWORD], store_response: true}
- id: report
  task: script
  trigger: "@daily"
  args: {script: report, kwargs: {days: 3}, secrets: [DB_PASSWORD]}
- id: slow
  task: command
  trigger: "@daily"
  args: {argv: [sh, -c, 'echo start; sleep 1; echo finish']}
`, hook.URL)), 0o600)
	srv.mustCLI(t, "jobs", "add", "-f", jobs)

	if r := run("cmd"); r.Status != sundial.StatusSucceeded || string(r.Result) != `{"ok":true}` ||
		!strings.Contains(r.Output, "canary=absent pw=**** job=cmd") || r.Exit == nil || r.Exit.Code != 0 {
		t.Errorf("command: %+v", r)
	}
	if r := run("call"); r.Status != sundial.StatusSucceeded || !strings.Contains(string(r.Result), `"auth_ok":true`) {
		t.Errorf("http: %s %q %s", r.Status, r.Error, r.Result)
	}
	if r := run("report"); r.Status != sundial.StatusSucceeded || string(r.Result) != `{"days":3}` || !strings.Contains(r.Output, "secret is ****") {
		t.Errorf("script: %s %q %s %q", r.Status, r.Error, r.Result, r.Output)
	}
	if r := run("py-add"); r.Status != sundial.StatusSucceeded || string(r.Result) != `{"sum":42,"cwd":"project"}` {
		t.Errorf("python from the config file: %s %q %s", r.Status, r.Error, r.Result)
	}

	// An existing Flask-APScheduler job JSON runs the user's function unchanged.
	req, _ := http.NewRequest("POST", srv.base+"/scheduler/jobs", strings.NewReader(`{"id": "flask", "func": "jobs:add", "args": [1, 2], "trigger": "interval", "hours": 1}`))
	req.SetBasicAuth("admin", srv.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("flask add: %v %v", err, res.Status)
	}
	res.Body.Close()
	if r := run("flask"); r.Status != sundial.StatusSucceeded || string(r.Result) != `{"sum":3,"cwd":"project"}` {
		t.Errorf("flask python job: %s %q %s", r.Status, r.Error, r.Result)
	}

	// Follow a running command's output.
	out, _, _ := srv.cli(t, srv.token, "jobs", "run", "slow", "--json")
	var started sundial.Run
	json.Unmarshal([]byte(out), &started)
	logs, errOut, code := srv.cli(t, srv.token, "runs", "logs", "-f", started.ID)
	if code != 0 || logs != "start\nfinish\n" || !strings.Contains(errOut, "succeeded") {
		t.Errorf("runs logs -f: exit %d %q %q", code, logs, errOut)
	}

	srv.stop(t)
	everything := readFile(srv.logs.Name())
	runs, _ := os.ReadFile(filepath.Join(dir, "s.db"))
	if strings.Contains(everything, secret) || strings.Contains(string(runs), secret) {
		t.Error("the secret appears in the server's logs or in clear in its database")
	}
}
