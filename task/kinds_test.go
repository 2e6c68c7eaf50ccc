package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/task/isolate"
)

// The test binary doubles as the isolation shim.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == isolate.ShimArg {
		os.Exit(isolate.ShimMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// fakeSecrets is a SecretSource over a map.
type fakeSecrets map[string]string

func (f fakeSecrets) Reveal(_ context.Context, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		v, ok := f[n]
		if !ok {
			return nil, fmt.Errorf("secret %q: %w", n, admin.ErrSecretNotFound)
		}
		out[n] = v
	}
	return out, nil
}

// fakeScripts is a ScriptSource over a list of versions.
type fakeScripts struct {
	mu      sync.Mutex
	scripts []admin.Script
}

func (f *fakeScripts) add(name, lang, source string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := 1
	for _, s := range f.scripts {
		if s.Name == name {
			v++
		}
	}
	f.scripts = append(f.scripts, admin.Script{Name: name, Version: v, Lang: lang, Source: source, Checksum: "0123456789abcdef"})
}

func (f *fakeScripts) GetScript(_ context.Context, name string, version int) (admin.Script, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var found *admin.Script
	for i := range f.scripts {
		s := &f.scripts[i]
		if s.Name == name && (version == 0 || s.Version == version) {
			found = s
		}
	}
	if found == nil {
		return admin.Script{}, admin.ErrScriptNotFound
	}
	return *found, nil
}

const canary = "canary-s3cr3t-7f3a"

func newKinds(t *testing.T) *Kinds {
	project, _ := filepath.Abs("testdata/project")
	return &Kinds{Runner: &isolate.Runner{}, Grace: time.Second, Limits: isolate.Limits{OpenFiles: 1024},
		Python: Python{Path: []string{project}}, Scripts: &fakeScripts{},
		Secrets: fakeSecrets{"DB_PASSWORD": canary, "APP_TOKEN": "tok-" + canary}}
}

// logs collects the scheduler's log lines, to grep for secrets.
type logs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// runTask runs one job of kind with args to its end and returns the run.
func runTask(t *testing.T, k *Kinds, kind, args string, opts ...func(*sundial.Job)) (sundial.Run, string) {
	t.Helper()
	var lg logs
	s, err := sundial.New(sundial.Config{Store: memstore.New(memstore.Options{}), Logger: slog.New(slog.NewTextHandler(&lg, nil)),
		OutputLimit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Register(s); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	job := sundial.Job{ID: "j", Task: kind, Args: json.RawMessage(args), Trigger: sundialDaily}
	for _, o := range opts {
		o(&job)
	}
	if _, err := s.AddJob(ctx, job); err != nil {
		t.Fatalf("AddJob(%s %s): %v", kind, args, err)
	}
	s.Start(ctx)
	defer s.Shutdown(ctx)
	run, err := s.RunNow(ctx, "j", nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, _ := s.RunByID(ctx, run.ID)
		if !got.Status.Active() {
			s.Shutdown(ctx)
			return got, lg.b.String()
		}
		if time.Now().After(deadline) {
			t.Fatalf("run did not end: %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCommandResultProtocol(t *testing.T) {
	k := newKinds(t)
	for _, c := range []struct {
		name, args, result, output string
	}{
		{"last stdout line", `{"argv": ["sh", "-c", "echo working; echo 'warn' >&2; echo '{\"rows\": 3}'"]}`, `{"rows":3}`, "working\n"},
		{"result file", `{"argv": ["sh", "-c", "echo '[1, 2]' > \"$SUNDIAL_RESULT\"; echo done"]}`, "[1,2]", "done\n"},
		{"no JSON", `{"argv": ["echo", "plain words"]}`, "", "plain words\n"},
		{"shell", `{"shell": true, "argv": ["echo $((6 * 7))"]}`, "42", "42\n"},
		{"env and dir", `{"argv": ["sh", "-c", "echo \"$GREETING\" from $(basename $PWD)"], "env": {"GREETING": "hi"}, "dir": "testdata"}`, "", "hi from testdata\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			run, _ := runTask(t, k, "command", c.args)
			if run.Status != sundial.StatusSucceeded || string(run.Result) != c.result || !strings.Contains(run.Output, c.output) ||
				run.Exit == nil || run.Exit.Code != 0 {
				t.Errorf("run = %s %q, result %s, output %q, exit %+v", run.Status, run.Error, run.Result, run.Output, run.Exit)
			}
		})
	}
}

func TestCommandFailures(t *testing.T) {
	k := newKinds(t)
	run, _ := runTask(t, k, "command", `{"argv": ["sh", "-c", "echo partial; echo 'disk full' >&2; exit 3"]}`)
	if run.Status != sundial.StatusFailed || run.Error != "exit status 3: disk full" || run.Exit.Code != 3 {
		t.Errorf("exit 3: %s %q %+v", run.Status, run.Error, run.Exit)
	}
	run, _ = runTask(t, k, "command", `{"argv": ["sh", "-c", "sleep 0.05; echo '{not json' > \"$SUNDIAL_RESULT\""]}`)
	if run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "does not hold JSON") {
		t.Errorf("bad result file: %s %q", run.Status, run.Error)
	}
	run, _ = runTask(t, k, "command", `{"argv": ["no-such-program-xyz"]}`)
	if run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "program not found") || run.Exit.Code != 127 {
		t.Errorf("missing program: %s %q", run.Status, run.Error)
	}
	start := time.Now()
	run, _ = runTask(t, k, "command", `{"argv": ["sleep", "30"], "timeout": "200ms"}`)
	if run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "timeout of 200ms") || run.Exit.Signal == "" || time.Since(start) > 10*time.Second {
		t.Errorf("timeout: %s %q %+v", run.Status, run.Error, run.Exit)
	}
	run, _ = runTask(t, k, "command", `{"argv": ["sleep", "30"]}`, func(j *sundial.Job) { j.Options.Timeout = 200 * time.Millisecond })
	if run.Status != sundial.StatusTimedOut {
		t.Errorf("job timeout: %s %q", run.Status, run.Error)
	}
}

func TestRunIdentityReachesTheChild(t *testing.T) {
	run, _ := runTask(t, newKinds(t), "command", `{"argv": ["sh", "-c", "env | grep ^SUNDIAL_ | sort"]}`)
	for _, want := range []string{"SUNDIAL_JOB_ID=j\n", "SUNDIAL_RUN_ID=" + run.ID + "\n", "SUNDIAL_FIRE_KEY=" + run.FireKey() + "\n",
		"SUNDIAL_SCHEDULED_AT=" + run.ScheduledAt.UTC().Format(time.RFC3339Nano) + "\n", "SUNDIAL_ATTEMPT=1\n", "SUNDIAL_RESULT=",
		"SUNDIAL_SHARD_INDEX=0\n", "SUNDIAL_SHARD_TOTAL=1\n"} {
		if !strings.Contains(run.Output, want) {
			t.Errorf("child env lacks %q:\n%s", want, run.Output)
		}
	}
}

// TestShardReachesTheChild: each node's child in a broadcast fire learns
// its shard in SUNDIAL_SHARD_INDEX and SUNDIAL_SHARD_TOTAL (and an http
// task's request in X-Sundial-Shard-Index and -Total).
func TestShardReachesTheChild(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sh is not installed")
	}
	store := memstore.New(memstore.Options{})
	ctx := context.Background()
	var schedulers []*sundial.Scheduler
	for _, id := range []string{"a", "b"} {
		s, err := sundial.New(sundial.Config{Store: store, NodeID: id, MaxSleep: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := newKinds(t).Register(s); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer s.Shutdown(ctx)
		schedulers = append(schedulers, s)
	}
	b := schedulers[1] // started second, it knows of a already
	if _, err := b.AddJob(ctx, sundial.Job{ID: "bc", Task: "command", Trigger: sundialDaily, Options: sundial.JobOptions{Broadcast: true},
		Args: json.RawMessage(`{"argv": ["sh", "-c", "echo \"shard $SUNDIAL_SHARD_INDEX of $SUNDIAL_SHARD_TOTAL\""]}`)}); err != nil {
		t.Fatal(err)
	}
	run, err := b.RunNow(ctx, "bc", nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		runs, _ := b.Runs(ctx, sundial.RunFilter{JobID: "bc", Since: run.ScheduledAt, Until: run.ScheduledAt.Add(time.Microsecond)})
		var outputs []string
		done := len(runs) == 2
		for _, r := range runs {
			done = done && !r.Status.Active()
			outputs = append(outputs, r.Node+": "+strings.TrimSpace(r.Output))
		}
		slices.Sort(outputs)
		if done {
			if got := strings.Join(outputs, "; "); got != "a: shard 0 of 2; b: shard 1 of 2" {
				t.Errorf("the children said %q", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broadcast fire did not end: %v", outputs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	id := identity(sundial.Run{JobID: "j", Shard: &sundial.Shard{Index: 2, Total: 3}})
	if id["SUNDIAL_SHARD_INDEX"] != "2" || id["SUNDIAL_SHARD_TOTAL"] != "3" || headerName("SUNDIAL_SHARD_INDEX") != "Sundial-Shard-Index" {
		t.Errorf("identity of shard 2 of 3: %v", id)
	}
}

// TestSecretsAreGrantedAndMasked grants a secret to one job and checks
// that its value reaches the child but nothing stored or logged.
func TestSecretsAreGrantedAndMasked(t *testing.T) {
	t.Setenv("APP_TOKEN", "server-side-"+canary) // the server's own environment never reaches a child
	k := newKinds(t)
	run, logged := runTask(t, k, "command", `{"argv": ["sh", "-c", "echo pw=$DB_PASSWORD; echo token=${APP_TOKEN:-none}; echo \"{\\\"pw\\\": \\\"$DB_PASSWORD\\\"}\"; echo fail $DB_PASSWORD >&2; exit 1"], "secrets": ["DB_PASSWORD"]}`)
	everything := run.Output + run.Error + string(run.Result) + logged
	if strings.Contains(everything, canary) {
		t.Errorf("the secret leaked:\n%s", everything)
	}
	if !strings.Contains(run.Output, "pw=****") || !strings.Contains(run.Output, "token=none") || !strings.Contains(run.Output, "fail ****") || !strings.HasPrefix(run.Error, "exit status 1") {
		t.Errorf("output %q, error %q", run.Output, run.Error)
	}
	run, logged = runTask(t, k, "python", `{"func": "jobs:leak", "secrets": ["DB_PASSWORD"]}`)
	if everything := run.Output + run.Error + string(run.Result) + logged; strings.Contains(everything, canary) || run.Status != sundial.StatusSucceeded ||
		string(run.Result) != `{"pw":"****"}` {
		t.Errorf("python leak: %s %s %q", run.Status, run.Result, everything)
	}
	run, _ = runTask(t, k, "command", `{"argv": ["true"], "secrets": ["NOPE"]}`)
	if run.Status != sundial.StatusFailed || !strings.Contains(run.Error, `secret "NOPE"`) {
		t.Errorf("missing secret: %s %q", run.Status, run.Error)
	}
}

func TestHTTPKind(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, gotBody = r, string(b)
		mu.Unlock()
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"deleted": 12, "echo": %q}`, r.Header.Get("Authorization"))
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
			fmt.Fprint(w, "short and stout")
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	k := newKinds(t)
	run, logged := runTask(t, k, "http", `{"url": "`+srv.URL+`/json", "body": {"days": 30}, "headers": {"Authorization": "Bearer ${APP_TOKEN}"},
		"secrets": ["APP_TOKEN"], "store_response": true}`)
	if run.Status != sundial.StatusSucceeded || string(run.Result) != `{"deleted":12,"echo":"Bearer ****"}` {
		t.Errorf("json call: %s %q %s", run.Status, run.Error, run.Result)
	}
	mu.Lock()
	if got.Method != "POST" || got.Header.Get("Authorization") != "Bearer tok-"+canary || got.Header.Get("X-Sundial-Run-Id") != run.ID ||
		got.Header.Get("X-Sundial-Fire-Key") != run.FireKey() || gotBody != `{"days": 30}` || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request: %s %v %s", got.Method, got.Header, gotBody)
	}
	mu.Unlock()
	if strings.Contains(run.Output+logged, canary) || !strings.Contains(run.Output, "200 OK") {
		t.Errorf("output %q", run.Output)
	}
	if run, _ := runTask(t, k, "http", `{"method": "delete", "url": "`+srv.URL+`/gone"}`); run.Status != sundial.StatusSucceeded || string(run.Result) != `{"status":204}` {
		t.Errorf("204: %s %s", run.Status, run.Result)
	}
	if run, _ := runTask(t, k, "http", `{"url": "`+srv.URL+`/teapot"}`); run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "418 I'm a teapot: short and stout") {
		t.Errorf("418: %s %q", run.Status, run.Error)
	}
	if run, _ := runTask(t, k, "http", `{"url": "`+srv.URL+`/teapot", "expect": [418]}`); run.Status != sundial.StatusSucceeded {
		t.Errorf("418 expected: %s %q", run.Status, run.Error)
	}
}

func TestArgumentsAreCheckedWhenTheJobIsStored(t *testing.T) {
	k := newKinds(t)
	s, _ := sundial.New(sundial.Config{Store: memstore.New(memstore.Options{}), Logger: slog.New(slog.DiscardHandler)})
	k.Register(s)
	for _, c := range []struct{ kind, args, field string }{
		{"command", `{}`, "args.argv"},
		{"command", `{"argv": ["a", "b"], "shell": true}`, "args.argv"},
		{"command", `{"argv": ["ls"], "colour": 1}`, "args.colour"},
		{"command", `{"argv": "ls"}`, "args.argv"},
		{"command", `{"argv": ["ls"], "timeout": "soon"}`, "args.timeout"},
		{"command", `{"argv": ["ls"], "limits": {"memory_bytes": "1G"}}`, "args.limits.memory_bytes"},
		{"command", `{"argv": ["ls"], "limits": {"colour": 1}}`, "args.limits.colour"},
		{"command", `{"argv": ["ls"], "env": {"A": 1}}`, "args.env.A"},
		{"command", `"ls"`, "args"},
		{"http", `{"url": "ftp://x"}`, "args.url"},
		{"http", `{"url": "https://x", "expect": [999]}`, "args.expect"},
		{"http", `{"url": "https://x", "method": "GET /"}`, "args.method"},
		{"python", `{"func": "jobs.add"}`, "args.func"},
		{"python", `{"func": "jobs:add", "args": {"a": 1}}`, "args.args"},
		{"script", `{"script": "missing"}`, "args.script"},
		{"script", `{"script": "../etc"}`, "args.script"},
	} {
		_, err := s.AddJob(context.Background(), sundial.Job{ID: "x", Task: c.kind, Args: json.RawMessage(c.args), Trigger: sundialDaily})
		var ij *sundial.InvalidJobError
		if !errors.As(err, &ij) || ij.Field != c.field {
			t.Errorf("%s %s: %v, want an error on %s", c.kind, c.args, err, c.field)
		}
		if strings.Contains(fmt.Sprint(err), "childSettings") || strings.Contains(fmt.Sprint(err), "isolate.") {
			t.Errorf("%s %s: %v names a Go type", c.kind, c.args, err)
		}
	}
}

func TestPythonKind(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	k := newKinds(t)
	run, _ := runTask(t, k, "python", `{"func": "jobs:add", "args": [2, 3], "kwargs": {"scale": 10}}`)
	if run.Status != sundial.StatusSucceeded || string(run.Result) != `{"sum":50,"cwd":"project"}` {
		t.Errorf("add: %s %q %s %s", run.Status, run.Error, run.Result, run.Output)
	}
	if run, _ := runTask(t, k, "python", `{"func": "jobs:slow_hello", "args": ["ada"]}`); string(run.Result) != `"hello ada"` {
		t.Errorf("async: %s %q %s", run.Status, run.Error, run.Result)
	}
	if run, _ := runTask(t, k, "python", `{"func": "jobs:odd_value"}`); string(run.Result) != `"{1, 2}"` {
		t.Errorf("non-JSON value: %s %q %s", run.Status, run.Error, run.Result)
	}
	run, _ = runTask(t, k, "python", `{"func": "jobs:boom"}`)
	if run.Status != sundial.StatusFailed || run.Error != "ValueError: the ledger does not balance" ||
		!strings.Contains(run.Output, "Traceback (most recent call last)") || !strings.Contains(run.Output, `jobs.py", line 20, in boom`) {
		t.Errorf("raise: %s %q %q", run.Status, run.Error, run.Output)
	}
	if run, _ := runTask(t, k, "python", `{"func": "jobs:nope"}`); !strings.Contains(run.Error, "AttributeError") {
		t.Errorf("missing function: %q", run.Error)
	}
	k.Python.Executable = "python3.0-not-here"
	if run, _ := runTask(t, k, "python", `{"func": "jobs:add", "args": [1, 1]}`); run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "python3.0-not-here: not found on this host") {
		t.Errorf("missing interpreter: %s %q", run.Status, run.Error)
	}
}

// TestFlaskAppContext runs a function that uses Flask-SQLAlchemy's
// db.session directly, as APScheduler jobs in Flask apps do: with the app
// factory configured it runs inside the app context and its row is there.
func TestFlaskAppContext(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import flask, flask_sqlalchemy").Run(); err != nil {
		t.Skip("Debian's python3-flask and python3-flask-sqlalchemy are not installed (.ci/run installs them)")
	}
	k := newKinds(t)
	app, _ := filepath.Abs("testdata/flaskapp")
	db := filepath.Join(t.TempDir(), "app.db")
	k.Python = Python{Executable: py, Path: []string{app}, AppFactory: "app:create_app"}
	args := `{"func": "tasks:record_visit", "args": ["from sundial"], "env": {"APP_DB": "` + db + `"}}`
	run, _ := runTask(t, k, "python", args)
	if run.Status != sundial.StatusSucceeded || string(run.Result) != `{"visits":1}` {
		t.Fatalf("run = %s %q %s", run.Status, run.Error, run.Output)
	}
	out, err := exec.Command(py, "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('select note from visit').fetchall())", db).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "[('from sundial',)]" {
		t.Errorf("rows in the app's database: %s %v", out, err)
	}
	// Without the factory, the same function fails the way it does under
	// APScheduler.
	k.Python.AppFactory = ""
	run, _ = runTask(t, k, "python", args)
	if run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "application context") {
		t.Errorf("without an app factory: %s %q", run.Status, run.Error)
	}
}

func TestScripts(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	k := newKinds(t)
	scripts := k.Scripts.(*fakeScripts)
	scripts.add("report", "python", "import os\n\ndef run(days=1, **kw):\n    print('cwd is fresh:', 'sundial-run-' in os.getcwd())\n    return {'days': days, 'file': os.path.basename(__file__)}\n")
	scripts.add("report", "python", "import asyncio\n\nasync def run(days=1):\n    await asyncio.sleep(0)\n    return days * 2\n")
	scripts.add("broken", "python", "def run(:\n    pass\n")
	scripts.add("greet", "sh", "echo \"hello $1 from sh\"; echo \"$SUNDIAL_ARGS\"\n")
	scripts.add("js", "node", "console.log(JSON.stringify({n: process.argv.length}))\n")

	run, _ := runTask(t, k, "script", `{"script": "report", "version": 1, "kwargs": {"days": 7}}`)
	if run.Status != sundial.StatusSucceeded || string(run.Result) != `{"days":7,"file":"script.py"}` || !strings.Contains(run.Output, "cwd is fresh: True") ||
		!strings.Contains(run.Output, "script report version 1") {
		t.Errorf("pinned version: %s %q %s %q", run.Status, run.Error, run.Result, run.Output)
	}
	if run, _ := runTask(t, k, "script", `{"script": "report", "kwargs": {"days": 7}}`); string(run.Result) != "14" {
		t.Errorf("latest (async): %s %q %s", run.Status, run.Error, run.Result)
	}
	if run, _ := runTask(t, k, "script", `{"script": "broken"}`); run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "SyntaxError") {
		t.Errorf("syntax error at run time: %s %q", run.Status, run.Error)
	}
	if run, _ := runTask(t, k, "script", `{"script": "greet", "args": ["ada", 2]}`); !strings.Contains(run.Output, "hello ada from sh") ||
		!strings.Contains(run.Output, `{"args":["ada",2],"kwargs":null}`) {
		t.Errorf("sh script: %s %q %q", run.Status, run.Error, run.Output)
	}
	k.Interpreters = map[string]string{"node": "node-missing-xyz"}
	if run, _ := runTask(t, k, "script", `{"script": "js"}`); run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "node-missing-xyz: not found on this host") {
		t.Errorf("missing node: %s %q", run.Status, run.Error)
	}

	// Uploads are compiled first where the interpreter exists.
	ctx := context.Background()
	if _, err := k.CheckScript(ctx, "python", "broken.py", "def run(:\n    pass\n"); err == nil || !strings.Contains(err.Error(), "SyntaxError") || !strings.Contains(err.Error(), "broken.py") {
		t.Errorf("python compile check: %v", err)
	}
	if w, err := k.CheckScript(ctx, "python", "ok.py", "def run():\n    return 1\n"); w != "" || err != nil {
		t.Errorf("good python: %q %v", w, err)
	}
	for _, ok := range []string{"async def run():\n    pass\n", "from report import main as run\n", "run = print\n"} {
		if _, err := k.CheckScript(ctx, "python", "ok.py", ok); err != nil {
			t.Errorf("a script with run() as %q refused: %v", ok, err)
		}
	}
	if _, err := k.CheckScript(ctx, "python", "norun.py", "def main():\n    return 1\n"); err == nil || !strings.Contains(err.Error(), "norun.py defines no run()") {
		t.Errorf("a script without run(): %v, want a refusal naming the file and run()", err)
	}
	if _, err := k.CheckScript(ctx, "bash", "x.sh", "if then fi\n"); err == nil {
		t.Error("bash -n accepted a syntax error")
	}
	if w, err := k.CheckScript(ctx, "node", "x.js", "console.log(1)\n"); err != nil || !strings.Contains(w, "node-missing-xyz is not installed") {
		t.Errorf("missing node at upload: %q %v", w, err)
	}
	if _, err := k.CheckScript(ctx, "ruby", "x.rb", "puts 1"); err == nil {
		t.Error("an unknown language was accepted")
	}
}

var sundialDaily = triggerSpec("@daily")

func TestOutputIsBoundedToItsTail(t *testing.T) {
	// 3 MiB of numbered lines through a 1 MiB output limit.
	run, _ := runTask(t, newKinds(t), "command", `{"argv": ["sh", "-c", "seq 1 400000 | sed 's/$/ xxxx/'; echo last line"]}`)
	if run.Status != sundial.StatusSucceeded || !strings.HasPrefix(run.Output, "[… ") || !strings.Contains(run.Output[:80], "bytes of earlier output cut") ||
		!strings.HasSuffix(run.Output, "400000 xxxx\nlast line\n") || len(run.Output) > 1<<20+100 {
		t.Errorf("output: %d bytes, starts %q, ends %q", len(run.Output), run.Output[:60], run.Output[len(run.Output)-30:])
	}
}

// TestUpstreamIdentity: a chained run's child learns the run that started
// it; other runs' children see no upstream at all.
func TestUpstreamIdentity(t *testing.T) {
	at := time.Date(2026, 3, 7, 2, 0, 0, 0, time.UTC)
	run := sundial.Run{ID: "r2", JobID: "load", ScheduledAt: at.Add(time.Hour), Attempt: 1,
		Upstream: &sundial.UpstreamRun{ID: "r1", JobID: "extract", ScheduledAt: at, Status: sundial.StatusSucceeded}}
	got := identity(run)
	for k, want := range map[string]string{"SUNDIAL_UPSTREAM_RUN_ID": "r1", "SUNDIAL_UPSTREAM_JOB_ID": "extract",
		"SUNDIAL_UPSTREAM_SCHEDULED_AT": "2026-03-07T02:00:00Z", "SUNDIAL_UPSTREAM_STATUS": "succeeded",
		"SUNDIAL_FIRE_KEY": "load@2026-03-07T03:00:00Z/after/r1"} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	run.Upstream = nil
	for k := range identity(run) {
		if strings.HasPrefix(k, "SUNDIAL_UPSTREAM_") {
			t.Errorf("a run with no upstream has %s", k)
		}
	}
}
