package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/store/memstore"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a server started by start.
type running struct {
	t      *testing.T
	base   string
	out    *syncBuffer
	logs   *syncBuffer
	token  string
	stop   func() error
	client *http.Client
}

var tokenRE = regexp.MustCompile(`sdl_[a-z2-7]+`)

func start(t *testing.T, cfg Config, opts Options) *running {
	t.Helper()
	r, err := launch(t, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// launch starts a server and waits until it listens, or returns why not;
// it may be called from any goroutine.
func launch(t *testing.T, cfg Config, opts Options) (*running, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	r := &running{t: t, out: &syncBuffer{}, logs: &syncBuffer{}, client: &http.Client{Timeout: 10 * time.Second}}
	opts.Out, opts.Logs = r.out, r.logs
	addr := make(chan string, 1)
	opts.Listening = func(a string) { addr <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, opts) }()
	select {
	case a := <-addr:
		r.base = "http://" + a
		if cfg.TLSCert != "" {
			r.base = "https://" + a
		}
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("server did not start: %v\nlogs:\n%s", err, r.logs)
	case <-time.After(20 * time.Second):
		cancel()
		return nil, errors.New("server did not start in 20s")
	}
	r.token = tokenRE.FindString(r.out.String())
	var once sync.Once
	var stopErr error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("server did not stop in 30s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { r.stop() })
	return r, nil
}

func (r *running) call(method, path, token string, body any, out any) int {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := r.client.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			r.t.Fatalf("%s %s = %d, not JSON: %s", method, path, res.StatusCode, data)
		}
	}
	return res.StatusCode
}

// waitFor polls cond until it holds or 15 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeFirstStartTokenHealthAndMetrics(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	srv := start(t, Config{DB: db, PollInterval: Duration(200 * time.Millisecond)}, Options{Version: "test"})
	if srv.token == "" || !strings.Contains(srv.out.String(), srv.base+"/?token="+srv.token) {
		t.Fatalf("first start printed no token and login URL:\n%s", srv.out)
	}
	if strings.Contains(srv.logs.String(), srv.token) {
		t.Error("the token reached the logs")
	}
	var me map[string]string
	if code := srv.call("GET", "/api/v1/whoami", srv.token, nil, &me); code != 200 || me["role"] != "admin" {
		t.Errorf("whoami with the first token = %d %v", code, me)
	}
	// Ready once the scheduler's loop has looked at the store.
	waitFor(t, "readiness", func() bool { return srv.call("GET", "/readyz", "", nil, nil) == 200 })
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/api/v1/jobs": 401, "/api/v1/openapi.json": 200, "/": 200, "/api/v1/nope": 404} {
		if code := srv.call("GET", path, "", nil, nil); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
	// The login link opens a session: an HttpOnly, SameSite=Strict cookie
	// that is not the token.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Get(srv.base + "/?token=" + srv.token)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	c := res.Cookies()
	if res.StatusCode != 303 || len(c) != 2 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode || c[0].Value == srv.token ||
		!strings.HasPrefix(c[0].Value, "sds_") ||
		c[1].Name != "sundial_csrf" || c[1].HttpOnly || c[1].SameSite != http.SameSiteStrictMode {
		t.Errorf("login = %d %v", res.StatusCode, c)
	}
	if res, _ := noRedirect.Get(srv.base + "/?token=sdl_wrong"); res.StatusCode != 303 || len(res.Cookies()) != 0 || !strings.Contains(res.Header.Get("Location"), "error") {
		t.Errorf("login with a bad token = %d %v", res.StatusCode, res.Header)
	}

	// A job runs, and the metrics show it.
	job := map[string]any{"id": "hb", "task": "echo", "trigger": map[string]any{"type": "interval", "seconds": 0.2}}
	if code := srv.call("POST", "/api/v1/jobs", srv.token, job, nil); code != 201 {
		t.Fatalf("create = %d", code)
	}
	waitFor(t, "two runs", func() bool {
		var runs struct{ Runs []sundial.Run }
		srv.call("GET", "/api/v1/runs?job_id=hb&status=succeeded", srv.token, nil, &runs)
		return len(runs.Runs) >= 2
	})
	res, err = http.Get(srv.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`sundial_fires_total{outcome="started"}`, "sundial_fire_lateness_seconds_bucket", `sundial_run_duration_seconds_count{status="succeeded",task="echo"}`,
		"sundial_runs_running", "sundial_claim_errors_total 0", `sundial_store_operation_seconds_count{op="claim"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	// The second start creates no token: the first one still works.
	again := start(t, Config{DB: db}, Options{})
	if again.token != "" {
		t.Errorf("second start printed a token:\n%s", again.out)
	}
	if code := again.call("GET", "/api/v1/jobs/hb", srv.token, nil, nil); code != 200 {
		t.Errorf("first token after restart = %d", code)
	}
}

func TestInsecureNoAuthOnlyOnLoopback(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8080"} {
		err := Run(context.Background(), Config{DB: db, Addr: addr, InsecureNoAuth: true}, Options{Out: io.Discard, Logs: io.Discard})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--insecure-no-auth on %s: %v, want a refusal", addr, err)
		}
	}
	srv := start(t, Config{DB: db, InsecureNoAuth: true}, Options{})
	if srv.token != "" {
		t.Error("no-auth start printed a token")
	}
	if code := srv.call("GET", "/api/v1/jobs", "", nil, nil); code != 200 {
		t.Errorf("no-auth GET = %d", code)
	}
}

// slowTask runs until released or cancelled.
type slowTask struct {
	started chan string
	release chan struct{}
}

func (s *slowTask) run(ctx context.Context, r sundial.Run) (any, error) {
	s.started <- r.ID
	select {
	case <-s.release:
		return "finished", nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestShutdownLetsRunsFinishWithinTheGrace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		grace   time.Duration
		release bool
		want    sundial.RunStatus
	}{
		{"finishes in the grace", 10 * time.Second, true, sundial.StatusSucceeded},
		{"cancelled after the grace", 200 * time.Millisecond, false, sundial.StatusInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := "sqlite:" + filepath.Join(dir, "s.db")
			slow := &slowTask{started: make(chan string, 1), release: make(chan struct{})}
			cfg := Config{DB: db, InsecureNoAuth: true, ShutdownGrace: Duration(tc.grace),
				Jobs: []json.RawMessage{json.RawMessage(`{"id": "slow", "task": "slow", "trigger": {"type": "interval", "hours": 1}, "options": {"run_on_start": true}}`)}}
			srv := start(t, cfg, Options{Tasks: map[string]sundial.TaskFunc{"slow": slow.run}})
			runID := <-slow.started
			stopped := make(chan error, 1)
			go func() { stopped <- srv.stop() }()
			// While stopping, the server is not ready, and claims nothing new.
			waitFor(t, "readyz to fail", func() bool { return srv.call("GET", "/readyz", "", nil, nil) == 503 })
			if tc.release {
				close(slow.release)
			}
			if err := <-stopped; err != nil {
				t.Fatal(err)
			}
			after := start(t, Config{DB: db, InsecureNoAuth: true}, Options{Tasks: map[string]sundial.TaskFunc{"slow": func(context.Context, sundial.Run) (any, error) { return nil, nil }}})
			var run sundial.Run
			after.call("GET", "/api/v1/runs/"+runID, "", nil, &run)
			if run.Status != tc.want {
				t.Errorf("run after shutdown = %s (%s), want %s", run.Status, run.Error, tc.want)
			}
		})
	}
}

func TestAPIOnlyNodeClaimsNothing(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	off := false
	apiOnly := start(t, Config{DB: db, InsecureNoAuth: true, Scheduler: &off, NodeID: "api-only"}, Options{})
	var st struct {
		Scheduling bool `json:"scheduling"`
	}
	apiOnly.call("GET", "/api/v1/status", "", nil, &st)
	if st.Scheduling {
		t.Error("an API-only node says it is scheduling")
	}
	if code := apiOnly.call("GET", "/readyz", "", nil, nil); code != 200 {
		t.Errorf("API-only readyz = %d", code)
	}
	job := map[string]any{"id": "now", "task": "echo", "trigger": "@daily", "options": map[string]any{"run_on_start": true, "max_instances": 2}}
	if code := apiOnly.call("POST", "/api/v1/jobs", "", job, nil); code != 201 {
		t.Fatalf("create on the API-only node = %d", code)
	}
	var run sundial.Run
	if code := apiOnly.call("POST", "/api/v1/jobs/now/run", "", nil, &run); code != 202 || run.Status != sundial.StatusScheduled {
		t.Fatalf("run now on the API-only node = %d %+v", code, run)
	}
	var runs struct{ Runs []sundial.Run }
	// A scheduling node on the same store runs both the fire and the
	// run-now that the API-only node recorded: every run names it, none
	// the API-only node.
	start(t, Config{DB: db, InsecureNoAuth: true, NodeID: "worker"}, Options{})
	waitFor(t, "both runs to succeed on the worker", func() bool {
		apiOnly.call("GET", "/api/v1/runs?job_id=now", "", nil, &runs)
		return len(runs.Runs) == 2 && runs.Runs[0].Status == sundial.StatusSucceeded && runs.Runs[1].Status == sundial.StatusSucceeded
	})
	for _, r := range runs.Runs {
		if r.Node != "worker" {
			t.Errorf("run %s ran on %q, want worker", r.ID, r.Node)
		}
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", `
addr: 127.0.0.1:9999
workers: 4
shutdown_grace: 45s
lease_ttl: 20s
log: {format: json}
python: {path: [/srv/app], venv: /srv/app/.venv, app_factory: "app:create_app"}
isolation: {cpu_seconds: 60, address_space_mb: 2048, grace: 10s}
output_limit: 65536
notify:
  - {webhook: "https://hooks.example.com/x", format: slack}
smtp: {host: smtp.example.com, port: 587, from: sundial@example.com}
jobs:
  - id: report
    task: echo
    trigger: "0 9 * * 1-5"
    args: {to: ops}
    options: {timeout: 30s, max_attempts: 3}
  - id: sync
    task: echo
    trigger: {type: interval, minutes: 5}
`)
	cfg, err := ReadConfigFile(good)
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := cfg.JobDocuments()
	if cfg.Python.AppFactory != "app:create_app" || cfg.Python.Path[0] != "/srv/app" || cfg.Isolation.CPUSeconds != 60 ||
		cfg.Isolation.AddressSpaceMB != 2048 || cfg.Isolation.Grace != Duration(10*time.Second) || cfg.OutputLimit != 65536 ||
		len(cfg.Notify) != 1 || cfg.Notify[0].Format != "slack" || cfg.SMTP.Port != 587 {
		t.Errorf("task settings = %+v %+v %+v %+v", cfg.Python, cfg.Isolation, cfg.Notify, cfg.SMTP)
	}
	if cfg.LeaseTTL == nil || *cfg.LeaseTTL != Duration(20*time.Second) {
		t.Errorf("lease_ttl = %v, want 20s", cfg.LeaseTTL)
	}
	if cfg.Addr != "127.0.0.1:9999" || cfg.Workers != 4 || cfg.ShutdownGrace != Duration(45*time.Second) || cfg.Log.Format != "json" ||
		len(jobs) != 2 || jobs[0].Options.Timeout != 30*time.Second || string(jobs[0].Args) != `{"to":"ops"}` || jobs[1].Trigger.Minutes != 5 {
		t.Errorf("config = %+v, jobs %+v", cfg, jobs)
	}
	for name, c := range map[string]struct{ text, want string }{
		"bad.yaml":      {"jobs:\n  - id: a\n    task: echo\n    trigger: '0 25 * * *'\n", `jobs[0] (id "a"): invalid job: field "trigger"`},
		"field.yaml":    {"jobs:\n  - id: a\n    task: echo\n    trigger: {type: cron, expr: '@daily', timezone: Moon/Base}\n", `field "trigger.timezone"`},
		"noid.yaml":     {"jobs:\n  - task: echo\n    trigger: '@daily'\n", `jobs[0]: invalid job: field "id": is required`},
		"dup.yaml":      {"jobs:\n  - {id: a, task: echo, trigger: '@daily'}\n  - {id: a, task: echo, trigger: '@daily'}\n", `jobs[1] (id "a"): field "id"`},
		"setting.yaml":  {"adress: x\n", `unknown setting "adress"`},
		"type.yaml":     {"workers: many\n", `setting "workers"`},
		"option.yaml":   {"jobs:\n  - {id: a, task: echo, trigger: '@daily', options: {timeout: soon}}\n", `field "options.timeout"`},
		"notyaml.yaml":  {"jobs: [\n", "yaml"},
		"unknown.yaml":  {"jobs:\n  - {id: a, task: echo, trigger: '@daily', colour: red}\n", `field "colour"`},
		"duration.yaml": {"shutdown_grace: forever\n", `"forever" is not a duration`},
		"lease.yaml":    {"lease_ttl: 500ms\n", `setting "lease_ttl" 500ms: must be at least 1s`},
		"lease0.yaml":   {"lease_ttl: 0s\n", `setting "lease_ttl" 0s: must be at least 1s`},
	} {
		_, err := ReadConfigFile(write(name, c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want it to name the file and say %s", name, err, c.want)
		}
	}
	// An unknown task stops start-up, naming the file, the job and the field.
	unknown := write("unknown-task.yaml", "jobs:\n  - {id: a, task: sendmail, trigger: '@daily'}\n")
	cfg, err = ReadConfigFile(unknown)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB = "sqlite:" + filepath.Join(dir, "s.db")
	err = Run(context.Background(), cfg, Options{Out: io.Discard, Logs: io.Discard})
	if err == nil || !strings.Contains(err.Error(), `unknown-task.yaml:2:19: jobs[0] (id "a"): field "task": unknown task "sendmail"`) {
		t.Errorf("unknown task at start: %v", err)
	}
	// Declared as a worker task, it is a job like any other, whose runs
	// wait for a worker.
	declared, err := ReadConfigFile(write("worker-task.yaml", "worker_tasks: [sendmail]\njobs:\n  - {id: a, task: sendmail, trigger: '@daily'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	declared.DB, declared.InsecureNoAuth = "sqlite:"+filepath.Join(dir, "w.db"), true
	srv := start(t, declared, Options{})
	var workers struct {
		Tasks []sundial.WorkerTask `json:"tasks"`
	}
	if code := srv.call("GET", "/api/v1/workers", "", nil, &workers); code != 200 || len(workers.Tasks) != 1 || workers.Tasks[0].Name != "sendmail" {
		t.Errorf("GET /workers = %d %+v, want the declared task", code, workers)
	}
	if code := srv.call("GET", "/api/v1/jobs/a", "", nil, nil); code != 200 {
		t.Errorf("the job of a declared worker task = %d, want 200", code)
	}
	srv.stop()
	badNotify, err := ReadConfigFile(write("notify.yaml", "notify: [{webhook: 'https://x', format: telegram}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	badNotify.DB = cfg.DB
	err = Run(context.Background(), badNotify, Options{Out: io.Discard, Logs: io.Discard})
	if err == nil || !strings.Contains(err.Error(), `notify.yaml`) || !strings.Contains(err.Error(), `notify[0].format`) {
		t.Errorf("bad notification at start: %v", err)
	}
	badKey := Config{DB: cfg.DB, SecretKey: "short"}
	if err := Run(context.Background(), badKey, Options{Out: io.Discard, Logs: io.Discard}); err == nil || !strings.Contains(err.Error(), "SUNDIAL_SECRET_KEY") {
		t.Errorf("bad secret key at start: %v", err)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	env := map[string]string{"SUNDIAL_ADDR": "127.0.0.1:1", "SUNDIAL_DB": "postgres://u:pw@h/db", "ENABLE_SCHEDULER": "false",
		"SUNDIAL_WORKERS": "3", "SUNDIAL_QUEUES": "a,b", "SUNDIAL_SHUTDOWN_GRACE": "1m", "SUNDIAL_LOG_FORMAT": "json",
		"SUNDIAL_PYTHON_PATH": "/srv/app:/srv/lib", "SUNDIAL_PYTHON_EXECUTABLE": "/usr/bin/python3", "SUNDIAL_PYTHON_APP_FACTORY": "app:make",
		"SUNDIAL_SECRET_KEY": "k", "SUNDIAL_SMTP_PASSWORD": "pw", "SUNDIAL_LEASE_TTL": "1m"}
	var c Config
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:1" || c.DB != env["SUNDIAL_DB"] || *c.Scheduler || c.Workers != 3 || fmt.Sprint(c.Queues) != "[a b]" ||
		c.ShutdownGrace != Duration(time.Minute) || c.Log.Format != "json" || fmt.Sprint(c.Python.Path) != "[/srv/app /srv/lib]" ||
		c.Python.Executable != "/usr/bin/python3" || c.Python.AppFactory != "app:make" || c.SecretKey != "k" || c.SMTP.Password != "pw" ||
		c.LeaseTTL == nil || *c.LeaseTTL != Duration(time.Minute) {
		t.Errorf("config from env = %+v", c)
	}
	for k, v := range map[string]string{"SUNDIAL_SCHEDULER": "maybe", "SUNDIAL_WORKERS": "0", "SUNDIAL_SHUTDOWN_GRACE": "soon", "SUNDIAL_LEASE_TTL": "100ms"} {
		var c Config
		if err := c.ApplyEnv(func(name string) string {
			if name == k {
				return v
			}
			return ""
		}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}

// TestReconcile: the file's jobs are created, updated when they change
// and removed when dropped; API jobs are left alone; an unchanged file
// changes nothing (a pinned interval start date is not a change).
func TestReconcile(t *testing.T) {
	ctx := context.Background()
	store := memstore.New(memstore.Options{})
	records := admin.NewMemory()
	s, _ := sundial.New(sundial.Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
	s.Register("echo", func(context.Context, sundial.Run) (any, error) { return nil, nil })
	log := slog.New(slog.DiscardHandler)
	decode := func(docs ...string) []sundial.Job {
		var raws []json.RawMessage
		for _, d := range docs {
			raws = append(raws, json.RawMessage(d))
		}
		jobs, err := Config{Jobs: raws, File: "f.yaml"}.JobDocuments()
		if err != nil {
			t.Fatal(err)
		}
		return jobs
	}
	if _, err := s.AddJob(ctx, sundial.Job{ID: "api", Task: "echo", Trigger: sundial.Job{}.Trigger, Source: admin.SourceAPI}); err == nil {
		t.Fatal("a job without a trigger was accepted")
	}
	s.AddJob(ctx, sundial.Job{ID: "api", Task: "echo", Trigger: decode(`{"id":"x","task":"echo","trigger":"@daily"}`)[0].Trigger, Source: admin.SourceAPI})
	first := decode(`{"id":"a","task":"echo","trigger":{"type":"interval","minutes":5}}`, `{"id":"b","task":"echo","trigger":"@hourly","paused":true}`)
	if err := reconcile(ctx, s, records, "f.yaml", first, log); err != nil {
		t.Fatal(err)
	}
	versions := func() string {
		jobs, _ := s.Jobs(ctx, sundial.JobFilter{})
		var parts []string
		for _, j := range jobs {
			parts = append(parts, fmt.Sprintf("%s:v%d:%s:%v", j.ID, j.Version, j.Source, j.Paused))
		}
		return strings.Join(parts, " ")
	}
	if got := versions(); got != "a:v1:config:false api:v1:api:false b:v1:config:true" {
		t.Errorf("after the first start: %s", got)
	}
	if err := reconcile(ctx, s, records, "f.yaml", first, log); err != nil {
		t.Fatal(err)
	}
	if got := versions(); got != "a:v1:config:false api:v1:api:false b:v1:config:true" {
		t.Errorf("an unchanged file changed jobs: %s", got)
	}
	second := decode(`{"id":"a","task":"echo","trigger":{"type":"interval","minutes":10}}`, `{"id":"c","task":"echo","trigger":"@daily"}`)
	if err := reconcile(ctx, s, records, "f.yaml", second, log); err != nil {
		t.Fatal(err)
	}
	if got := versions(); got != "a:v2:config:false api:v1:api:false c:v1:config:false" {
		t.Errorf("after the file changed: %s", got)
	}
	entries, _ := records.ListAudit(ctx, admin.AuditFilter{})
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.Target+" by "+e.Actor)
	}
	want := "[job.delete b by config:f.yaml job.create c by config:f.yaml job.update a by config:f.yaml job.create b by config:f.yaml job.create a by config:f.yaml]"
	if fmt.Sprint(actions) != want {
		t.Errorf("audit = %v\nwant %s", actions, want)
	}
}

func TestLogsMaskSecrets(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, LogConfig{Format: "json", Level: "debug"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	canary := "sdl_abcdefghijklmnopqrstuvwxyz234567"
	log.Info("login with "+canary, "password", "hunter2", "Authorization", "Bearer xyz", "token_id", "tok123",
		"db", "postgres://app:s3cr3t@db:5432/x", slog.Group("req", "cookie", "sundial_token=abc", "path", "/x?token="+canary),
		"err", errors.New("dial postgres://app:s3cr3t@db failed"))
	log.With("api_key", "k-123").Warn("scoped", "SECRET_KEY", "zzz")
	out := buf.String()
	for _, secret := range []string{canary, "hunter2", "Bearer xyz", "s3cr3t", "sundial_token=abc", "k-123", "zzz"} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{"tok123", `"path":"/x?token=sdl_****"`, "postgres://app:****@db:5432/x"} {
		if !strings.Contains(out, kept) {
			t.Errorf("log lost %q:\n%s", kept, out)
		}
	}
	if RedactDSN("postgres://u:p@h/db?sslmode=disable") != "postgres://u:%2A%2A%2A%2A@h/db?sslmode=disable" {
		t.Errorf("RedactDSN = %s", RedactDSN("postgres://u:p@h/db?sslmode=disable"))
	}
}

func TestReadinessFailsWhenTheLoopStallsOrTheStoreIsGone(t *testing.T) {
	ctx := context.Background()
	st, _, closeStore, err := OpenStore(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := sundial.New(sundial.Config{Store: st, Logger: slog.New(slog.DiscardHandler), MaxSleep: 50 * time.Millisecond})
	var stopping atomicBool
	if r := notReady(ctx, &stopping.Bool, st, s, true, 50*time.Millisecond); !strings.Contains(r, "has not ticked") {
		t.Errorf("never-started loop: %q", r)
	}
	s.Start(ctx)
	waitFor(t, "the loop to tick", func() bool { return notReady(ctx, &stopping.Bool, st, s, true, 50*time.Millisecond) == "" })
	s.Shutdown(ctx)
	waitFor(t, "a stopped loop to be reported", func() bool {
		return strings.Contains(notReady(ctx, &stopping.Bool, st, s, true, 50*time.Millisecond), "has not ticked for")
	})
	if r := notReady(ctx, &stopping.Bool, st, s, false, 50*time.Millisecond); r != "" {
		t.Errorf("API-only node with a working store: %q", r)
	}
	closeStore()
	if r := notReady(ctx, &stopping.Bool, st, s, false, 50*time.Millisecond); !strings.Contains(r, "store unreachable") {
		t.Errorf("closed store: %q", r)
	}
}

type atomicBool struct{ Bool atomic.Bool }

// TestLeaseTTL: the server gives the scheduler its lease TTL, 15s unless
// set, and refuses one under a second, naming the setting and the value.
func TestLeaseTTL(t *testing.T) {
	dir := t.TempDir()
	status := func(srv *running) time.Duration {
		var st struct {
			Node sundial.Status `json:"node"`
		}
		srv.call("GET", "/api/v1/status", "", nil, &st)
		return st.Node.LeaseTTL
	}
	srv := start(t, Config{DB: "sqlite:" + filepath.Join(dir, "a.db"), InsecureNoAuth: true}, Options{})
	if got := status(srv); got != 15*time.Second {
		t.Errorf("default lease TTL = %s, want 15s", got)
	}
	if !strings.Contains(srv.logs.String(), "lease_ttl=15s") {
		t.Errorf("the start-up log does not name the lease TTL:\n%s", srv.logs)
	}
	two := Duration(2 * time.Second)
	if got := status(start(t, Config{DB: "sqlite:" + filepath.Join(dir, "b.db"), InsecureNoAuth: true, LeaseTTL: &two}, Options{})); got != 2*time.Second {
		t.Errorf("lease TTL = %s, want 2s", got)
	}
	short := Duration(300 * time.Millisecond)
	err := Run(context.Background(), Config{DB: "sqlite:" + filepath.Join(dir, "c.db"), LeaseTTL: &short}, Options{Out: io.Discard, Logs: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "lease_ttl 300ms: must be at least 1s") {
		t.Errorf("lease TTL 300ms: %v, want a refusal naming lease_ttl and 300ms", err)
	}
}
