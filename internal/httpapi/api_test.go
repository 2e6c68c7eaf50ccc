package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
)

func TestRoutesMatchOpenAPI(t *testing.T) {
	h := newHarness(t)
	registered := map[string]Route{}
	for _, r := range h.api.Routes() {
		registered[strings.ToLower(r.Method)+" "+r.Pattern] = r
		op, ok := h.doc.Paths[r.Pattern][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("route %s %s is missing from openapi.json", r.Method, r.Pattern)
			continue
		}
		if op.Role != string(r.Role) {
			t.Errorf("%s %s: openapi.json says role %q, the route needs %q", r.Method, r.Pattern, op.Role, r.Role)
		}
	}
	for path, ops := range h.doc.Paths {
		for method := range ops {
			if _, ok := registered[method+" "+path]; !ok {
				t.Errorf("openapi.json documents %s %s, which is not a route", strings.ToUpper(method), path)
			}
		}
	}
	if len(registered) != 68+13 {
		t.Errorf("%d routes, want 68 API v1 routes and 13 Flask-APScheduler routes", len(registered))
	}
	res := h.do("", "GET", "/api/v1/openapi.json", nil)
	var doc map[string]any
	res.json(t, &doc)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("served document: openapi = %v", doc["openapi"])
	}
}

// TestEveryRouteChecksTheRole calls every route as nobody, as a bad token
// and as each role: a role below the route's gets 403, no token 401, and a
// sufficient role gets past authentication (whatever the route then says
// about the made-up ID).
func TestEveryRouteChecksTheRole(t *testing.T) {
	h := newHarness(t)
	roles := []admin.Role{"", admin.RoleViewer, admin.RoleOperator, admin.RoleAdmin}
	for _, r := range h.api.Routes() {
		path := strings.ReplaceAll(r.Pattern, "{id}", "no-such-id")
		for _, role := range roles {
			res := h.do(role, r.Method, path, nil)
			switch {
			case r.Role == "":
				if res.status == 401 || res.status == 403 {
					t.Errorf("%s %s is open to all, but answered %d", r.Method, path, res.status)
				}
			case role == "":
				if res.status != 401 {
					t.Errorf("%s %s without a token = %d, want 401", r.Method, path, res.status)
				}
			case !role.Allows(r.Role):
				if res.status != 403 {
					t.Errorf("%s %s as %s = %d, want 403 (needs %s)", r.Method, path, role, res.status, r.Role)
				}
			default:
				if res.status == 401 || res.status == 403 {
					t.Errorf("%s %s as %s = %d, want it allowed", r.Method, path, role, res.status)
				}
			}
		}
	}
	// A shutdown above must not linger into other checks.
	h.api.stopped.Store(false)
}

func TestFailedAuthSaysNothingAboutTokens(t *testing.T) {
	h := newHarness(t)
	secret := h.tokens[admin.RoleAdmin]
	var revoked string
	{
		res := h.do(admin.RoleAdmin, "POST", "/api/v1/tokens", map[string]string{"name": "temp", "role": "viewer"})
		var tok NewTokenView
		res.json(t, &tok)
		revoked = tok.Secret
		if h.do(admin.RoleAdmin, "DELETE", "/api/v1/tokens/"+tok.ID, nil).status != 204 {
			t.Fatal("revoke failed")
		}
	}
	var bodies []string
	for _, auth := range []string{"", "Bearer nonsense", "Bearer " + secret + "x", "Bearer " + revoked, "Basic " + "Zm9vOmJhcg=="} {
		res := h.do("", "GET", "/api/v1/jobs", nil, "Authorization", auth)
		if res.status != 401 {
			t.Errorf("Authorization %q = %d, want 401", auth, res.status)
		}
		bodies = append(bodies, strings.ReplaceAll(string(res.body), secret, ""))
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("failed-auth bodies differ, which tells tokens apart:\n%s\n%s", bodies[0], b)
		}
	}
	// Basic auth with the token as the password works (Flask-APScheduler
	// clients send it so), as does the UI's session cookie; a cookie that
	// carries a token is refused: cookies carry sessions only.
	if res := h.do("", "GET", "/scheduler/jobs", nil, "Authorization", basic("any", secret)); res.status != 200 {
		t.Errorf("basic auth = %d", res.status)
	}
	if res := h.do("", "GET", "/api/v1/whoami", nil, "Cookie", h.login(admin.RoleAdmin).cookies); res.status != 200 {
		t.Errorf("session cookie auth = %d", res.status)
	}
	if res := h.do("", "GET", "/api/v1/whoami", nil, "Cookie", CookieName+"="+secret); res.status != 401 {
		t.Errorf("a token in the session cookie = %d, want 401", res.status)
	}
}

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")
}

func TestJobLifecycle(t *testing.T) {
	h := newHarness(t)
	adm, op, viewer := admin.RoleAdmin, admin.RoleOperator, admin.RoleViewer

	res := h.do(adm, "POST", "/api/v1/jobs", `{"id": "report", "task": "echo", "args": {"to": "ops"},
		"trigger": {"type": "cron", "expr": "0 9 * * 1-5", "timezone": "Europe/London"},
		"tags": ["daily"], "options": {"timeout": "30s", "max_attempts": 2}}`)
	if res.status != 201 || res.header.Get("Location") != "/api/v1/jobs/report" || res.header.Get("ETag") != `"1"` {
		t.Fatalf("create = %d %v %s", res.status, res.header, res.body)
	}
	var job JobView
	res.json(t, &job)
	if job.Source != "api" || job.Options.Timeout != 30*time.Second || job.NextRunAt.IsZero() ||
		job.Description == "" || !strings.Contains(string(res.body), `"timeout":"30s"`) {
		t.Errorf("created job = %s", res.body)
	}

	// A string trigger is a crontab expression.
	if res := h.do(adm, "POST", "/api/v1/jobs", `{"id": "tick", "task": "echo", "trigger": "*/5 * * * *"}`); res.status != 201 {
		t.Fatalf("create with a string trigger = %d %s", res.status, res.body)
	}
	for i := range 3 {
		h.do(adm, "POST", "/api/v1/jobs", fmt.Sprintf(`{"id": "z%d", "task": "echo", "trigger": "@hourly", "queue": "slow"}`, i))
	}

	// Listing: filters and pages.
	var list JobList
	h.do(viewer, "GET", "/api/v1/jobs?tag=daily", nil).json(t, &list)
	if len(list.Jobs) != 1 || list.Jobs[0].ID != "report" {
		t.Errorf("tag filter = %+v", list)
	}
	var ids []string
	for cursor := ""; ; {
		var page JobList
		h.do(viewer, "GET", "/api/v1/jobs?limit=2&cursor="+cursor, nil).json(t, &page)
		for _, j := range page.Jobs {
			ids = append(ids, j.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if fmt.Sprint(ids) != "[report tick z0 z1 z2]" {
		t.Errorf("paged IDs = %v", ids)
	}
	h.do(viewer, "GET", "/api/v1/jobs?queue=slow&limit=1", nil).json(t, &list)
	if len(list.Jobs) != 1 || list.Jobs[0].ID != "z0" || list.NextCursor == "" {
		t.Errorf("queue filter, limit 1 = %+v", list)
	}

	// Replace with If-Match: the current version works once; the stale one
	// is refused and changes nothing.
	put := `{"task": "echo", "trigger": "0 10 * * *", "tags": ["daily"]}`
	res = h.do(adm, "PUT", "/api/v1/jobs/report", put, "If-Match", `"1"`)
	if res.status != 200 || res.header.Get("ETag") != `"2"` {
		t.Fatalf("PUT = %d %s", res.status, res.body)
	}
	res = h.do(adm, "PUT", "/api/v1/jobs/report", `{"task": "echo", "trigger": "0 11 * * *"}`, "If-Match", `"1"`)
	if res.status != 412 {
		t.Errorf("stale PUT = %d %s, want 412", res.status, res.body)
	}
	h.do(viewer, "GET", "/api/v1/jobs/report", nil).json(t, &job)
	if job.Trigger.Expr != "0 10 * * *" || job.Version != 2 {
		t.Errorf("after the refused PUT: %+v", job.Job)
	}

	// Merge patch: change one thing, keep the rest.
	res = h.do(adm, "PATCH", "/api/v1/jobs/report", `{"name": "Morning report", "options": {"max_attempts": 5}}`, "If-Match", `"2"`)
	res.json(t, &job)
	if res.status != 200 || job.Name != "Morning report" || job.Options.MaxAttempts != 5 || job.Trigger.Expr != "0 10 * * *" || !job.HasTag("daily") {
		t.Errorf("PATCH = %d %s", res.status, res.body)
	}
	if res := h.do(adm, "PATCH", "/api/v1/jobs/report", `{"paused": true}`); res.status != 200 || !strings.Contains(string(res.body), `"paused":true`) {
		t.Errorf("PATCH paused = %d %s", res.status, res.body)
	}

	// Operator actions.
	h.do(op, "POST", "/api/v1/jobs/report/resume", nil).json(t, &job)
	if job.Paused || job.NextRunAt.IsZero() {
		t.Errorf("resumed job = %+v", job.Job)
	}
	job = JobView{}
	h.do(op, "POST", "/api/v1/jobs/report/pause", nil).json(t, &job)
	if !job.Paused || !job.NextRunAt.IsZero() {
		t.Errorf("paused job = %+v", job.Job)
	}
	if res := h.do(op, "POST", "/api/v1/jobs/report/run", `{"args": {"to": "me"}}`); res.status != 403 {
		t.Errorf("an operator replaced a job's args: %d", res.status)
	}
	res = h.do(adm, "POST", "/api/v1/jobs/report/run", `{"args": {"to": "me"}}`)
	var run sundial.Run
	res.json(t, &run)
	if res.status != 202 || res.header.Get("Location") != "/api/v1/runs/"+run.ID || !run.Manual {
		t.Fatalf("run now = %d %s", res.status, res.body)
	}
	run = h.waitRun(run.ID)
	if run.Status != sundial.StatusSucceeded || string(run.Result) != `{"to":"me"}` || !strings.Contains(run.Output, "echoing") {
		t.Errorf("run = %+v", run)
	}
	var runs RunList
	h.do(viewer, "GET", "/api/v1/runs?job_id=report&status=succeeded", nil).json(t, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].ID != run.ID || runs.Runs[0].Output != "" {
		t.Errorf("runs = %+v", runs)
	}

	// Delete with a stale If-Match is refused; then it works.
	if res := h.do(adm, "DELETE", "/api/v1/jobs/report", nil, "If-Match", `"1"`); res.status != 412 {
		t.Errorf("stale DELETE = %d", res.status)
	}
	if res := h.do(adm, "DELETE", "/api/v1/jobs/report", nil); res.status != 200 || !strings.Contains(string(res.body), `"running_runs":[]`) {
		t.Errorf("DELETE = %d %s", res.status, res.body)
	}
	if res := h.do(viewer, "GET", "/api/v1/jobs/report", nil); res.status != 404 {
		t.Errorf("GET deleted = %d", res.status)
	}

	// The audit log has every change, newest first, with who made it.
	var audit AuditList
	h.do(op, "GET", "/api/v1/audit?target=report", nil).json(t, &audit)
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action)
	}
	want := "[job.delete job.run job.pause job.resume job.update job.update job.update job.create]"
	if !strings.Contains(string(audit.Entries[1].Detail), `"args"`) {
		t.Errorf("run-now with args: audit detail %s lacks the args", audit.Entries[1].Detail)
	}
	if fmt.Sprint(actions) != want {
		t.Errorf("audit actions = %v, want %s", actions, want)
	}
	if len(audit.Entries) > 0 && !strings.Contains(audit.Entries[0].Actor, "admin-token") {
		t.Errorf("audit actor = %q", audit.Entries[0].Actor)
	}
	var page AuditList
	h.do(op, "GET", "/api/v1/audit?target=report&limit=3&cursor="+fmt.Sprint(audit.Entries[2].ID), nil).json(t, &page)
	if len(page.Entries) != 3 || page.Entries[0].Action != "job.resume" {
		t.Errorf("audit page = %+v", page)
	}
}

func (h *harness) waitRun(id string) sundial.Run {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	run, err := h.api.waitForEnd(ctx, id)
	if err != nil {
		h.t.Fatalf("run %s did not end: %v", id, err)
	}
	return run
}

// TestBadInputMatrix sends bad input to every writing route: each is a 4xx
// problem naming the field, and nothing stored changes.
func TestBadInputMatrix(t *testing.T) {
	h := newHarness(t)
	adm := admin.RoleAdmin
	if res := h.do(adm, "POST", "/api/v1/jobs", `{"id": "keep", "task": "echo", "trigger": "0 9 * * *"}`); res.status != 201 {
		t.Fatal(res.status)
	}
	huge := `{"id": "big", "task": "echo", "trigger": "0 9 * * *", "args": "` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		field                    string
	}{
		{"malformed JSON", "POST", "/api/v1/jobs", `{"id": "x", "task": `, nil, 400, "(document)"},
		{"not an object", "POST", "/api/v1/jobs", `[1, 2]`, nil, 400, "(document)"},
		{"empty body", "POST", "/api/v1/jobs", ``, nil, 400, "(document)"},
		{"trailing data", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": "@daily"} {}`, nil, 400, "(document)"},
		{"wrong type", "POST", "/api/v1/jobs", `{"id": 7, "task": "echo", "trigger": "@daily"}`, nil, 400, "id"},
		{"wrong option type", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": "@daily", "options": {"max_attempts": "3"}}`, nil, 400, "options.max_attempts"},
		{"bad duration", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": "@daily", "options": {"timeout": "soon"}}`, nil, 400, "options.timeout"},
		{"unknown field", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": "@daily", "colour": "red"}`, nil, 400, "colour"},
		{"unknown option", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": "@daily", "options": {"retries": 3}}`, nil, 400, "options.retries"},
		{"huge body", "POST", "/api/v1/jobs", huge, nil, 413, ""},
		{"bad cron", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": "61 * * * *"}`, nil, 400, "trigger"},
		{"bad cron in spec", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": {"type": "cron", "expr": "* * 32 * *"}}`, nil, 400, "trigger.day-of-month"},
		{"unknown zone", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": {"type": "cron", "expr": "@daily", "timezone": "Mars/Olympus"}}`, nil, 400, "trigger.timezone"},
		{"unknown task", "POST", "/api/v1/jobs", `{"id": "x", "task": "nope", "trigger": "@daily"}`, nil, 400, "task"},
		{"missing task", "POST", "/api/v1/jobs", `{"id": "x", "trigger": "@daily"}`, nil, 400, "task"},
		{"missing trigger", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo"}`, nil, 400, "trigger"},
		{"bad id", "POST", "/api/v1/jobs", `{"id": "a b", "task": "echo", "trigger": "@daily"}`, nil, 400, "id"},
		{"duplicate id", "POST", "/api/v1/jobs", `{"id": "keep", "task": "echo", "trigger": "@hourly"}`, nil, 409, "id"},
		{"wrong If-Match", "PUT", "/api/v1/jobs/keep", `{"task": "echo", "trigger": "@hourly"}`, []string{"If-Match", `"9"`}, 412, "If-Match"},
		{"garbled If-Match", "PUT", "/api/v1/jobs/keep", `{"task": "echo", "trigger": "@hourly"}`, []string{"If-Match", `soon`}, 400, "If-Match"},
		{"id differs from path", "PUT", "/api/v1/jobs/keep", `{"id": "other", "task": "echo", "trigger": "@hourly"}`, nil, 400, "id"},
		{"bad cron in PUT", "PUT", "/api/v1/jobs/keep", `{"task": "echo", "trigger": "0 25 * * *"}`, nil, 400, "trigger"},
		{"patch not an object", "PATCH", "/api/v1/jobs/keep", `"x"`, nil, 400, "(body)"},
		{"patch null", "PATCH", "/api/v1/jobs/keep", `null`, nil, 400, "(body)"},
		{"patch with a bad grace", "PATCH", "/api/v1/jobs/keep", `{"options": {"misfire_grace": "-5m"}}`, nil, 400, "options.misfire_grace"},
		{"id .", "POST", "/api/v1/jobs", `{"id": ".", "task": "echo", "trigger": "@daily"}`, nil, 400, "id"},
		{"id ..", "POST", "/api/v1/jobs", `{"id": "..", "task": "echo", "trigger": "@daily"}`, nil, 400, "id"},
		{"id with a slash", "POST", "/api/v1/jobs", `{"id": "a/b", "task": "echo", "trigger": "@daily"}`, nil, 400, "id"},
		{"585-year interval", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": {"type": "interval", "weeks": 30500}}`, nil, 400, "trigger.weeks"},
		{"huge jitter", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": {"type": "interval", "hours": 1, "jitter": "9999999h"}}`, nil, 400, "trigger.jitter"},
		{"negative grace", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": "@daily", "options": {"misfire_grace": -1}}`, nil, 400, "options.misfire_grace"},
		{"huge timeout", "POST", "/api/v1/jobs", `{"id": "x", "task": "echo", "trigger": "@daily", "options": {"timeout": "900000h"}}`, nil, 400, "options.timeout"},
		{"run body not an object", "POST", "/api/v1/jobs/keep/run", `[1]`, nil, 400, "(body)"},
		{"run body null", "POST", "/api/v1/jobs/keep/run", `null`, nil, 400, "(body)"},
		{"preview from not a time", "POST", "/api/v1/cron/preview", `{"trigger": "@daily", "from": 1}`, nil, 400, "from"},
		{"bad cron in PATCH", "PATCH", "/api/v1/jobs/keep", `{"trigger": "0 0 30 2 *"}`, nil, 400, "trigger"},
		{"unknown field in PATCH", "PATCH", "/api/v1/jobs/keep", `{"colour": "red"}`, nil, 400, "colour"},
		{"run args not JSON", "POST", "/api/v1/jobs/keep/run", `{"args": }`, nil, 400, "(body)"},
		{"run unknown field", "POST", "/api/v1/jobs/keep/run", `{"arguments": 1}`, nil, 400, "arguments"},
		{"bad limit", "GET", "/api/v1/jobs?limit=0", ``, nil, 400, "limit"},
		{"bad paused", "GET", "/api/v1/jobs?paused=maybe", ``, nil, 400, "paused"},
		{"bad cursor", "GET", "/api/v1/jobs?cursor=%25%25", ``, nil, 400, "cursor"},
		{"bad run status", "GET", "/api/v1/runs?status=exploded", ``, nil, 400, "status"},
		{"bad since", "GET", "/api/v1/runs?since=yesterday", ``, nil, 400, "since"},
		{"bad run cursor", "GET", "/api/v1/runs?cursor=bm9wZQ", ``, nil, 400, "cursor"},
		{"preview bad count", "POST", "/api/v1/cron/preview", `{"trigger": "@daily", "count": 1000}`, nil, 400, "count"},
		{"preview bad cron", "POST", "/api/v1/cron/preview", `{"trigger": "@fortnightly"}`, nil, 400, "trigger"},
		{"token bad role", "POST", "/api/v1/tokens", `{"name": "x", "role": "root"}`, nil, 400, "role"},
		{"token no name", "POST", "/api/v1/tokens", `{"role": "viewer"}`, nil, 400, "name"},
		{"audit bad cursor", "GET", "/api/v1/audit?cursor=x", ``, nil, 400, "cursor"},
		{"pause, bad cancel_running", "POST", "/api/v1/jobs/keep/pause?cancel_running=maybe", ``, nil, 400, "cancel_running"},
		{"delete, bad cancel_running", "DELETE", "/api/v1/jobs/keep?cancel_running=maybe", ``, nil, 400, "cancel_running"},
		{"bulk pause without a selector", "POST", "/api/v1/jobs/pause", ``, nil, 400, "all"},
		{"bulk resume, bad all", "POST", "/api/v1/jobs/resume?all=x", ``, nil, 400, "all"},
		{"bulk run, cancel_running", "POST", "/api/v1/jobs/run?tag=x&cancel_running=true", ``, nil, 400, "cancel_running"},
		{"cancel an unknown run", "POST", "/api/v1/runs/nope/cancel", ``, nil, 404, ""},
		{"unknown route", "GET", "/api/v1/nothing", ``, nil, 404, ""},
		{"wrong method", "PUT", "/api/v1/runs", ``, nil, 405, ""},
	}
	before := h.snapshot()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := h.do(adm, c.method, c.path, c.body, c.header...)
			if res.status != c.status {
				t.Errorf("status = %d, want %d: %s", res.status, c.status, res.body)
			}
			var p Problem
			if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q, want application/problem+json", ct)
			}
			res.json(t, &p)
			if p.Status != c.status || p.Title == "" || p.Type == "" || p.Field != c.field {
				t.Errorf("problem = %+v, want status %d, field %q", p, c.status, c.field)
			}
		})
	}
	if after := h.snapshot(); after != before {
		t.Errorf("bad input changed the store:\nbefore %s\nafter  %s", before, after)
	}
}

// TestRunNowArgsAreCheckedAsStoredArgs: a run's own args go through the
// task's check, as a job's args do, and a refused run is not recorded.
func TestRunNowArgsAreCheckedAsStoredArgs(t *testing.T) {
	h := newHarness(t)
	h.s.Register("strict", func(ctx context.Context, r sundial.Run) (any, error) { return nil, nil },
		sundial.ValidateArgs(func(args json.RawMessage) error {
			var a struct {
				URL string `json:"url"`
			}
			json.Unmarshal(args, &a)
			if a.URL == "" {
				return &sundial.InvalidJobError{Field: "args.url", Err: errors.New("is required")}
			}
			return nil
		}))
	adm := admin.RoleAdmin
	if res := h.do(adm, "POST", "/api/v1/jobs", `{"id": "s", "task": "strict", "args": {"url": "https://x"}, "trigger": "@daily"}`); res.status != 201 {
		t.Fatalf("create = %d %s", res.status, res.body)
	}
	if res := h.do(adm, "POST", "/api/v1/jobs", `{"id": "t", "task": "strict", "args": {}, "trigger": "@daily"}`); res.status != 400 {
		t.Errorf("stored args not checked: %d %s", res.status, res.body)
	}
	before := h.snapshot()
	res := h.do(adm, "POST", "/api/v1/jobs/s/run", `{"args": {"colour": "red"}}`)
	if p := h.problem(res, 400, "args.url"); !strings.Contains(p.Detail, "is required") {
		t.Errorf("run-now with bad args: %+v", p)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("a refused run-now changed the store:\nbefore %s\nafter  %s", before, after)
	}
	if res := h.do(adm, "POST", "/api/v1/jobs/s/run", `{"args": {"url": "https://y"}}`); res.status != 202 {
		t.Errorf("run-now with good args = %d %s", res.status, res.body)
	}
}

// TestMisfireGraceNone: "none" is the one way to say no limit, and it
// reads back as it was written; a patch that changes nothing keeps the
// version.
func TestMisfireGraceNone(t *testing.T) {
	h := newHarness(t)
	adm := admin.RoleAdmin
	res := h.do(adm, "POST", "/api/v1/jobs", `{"id": "n", "task": "echo", "trigger": "@daily", "options": {"misfire_grace": "none"}}`)
	var job JobView
	res.json(t, &job)
	if res.status != 201 || job.Options.MisfireGrace != sundial.NoMisfireLimit || !strings.Contains(string(res.body), `"misfire_grace":"none"`) {
		t.Fatalf("create = %d %s", res.status, res.body)
	}
	for _, patch := range []string{`{}`, `{"options": {"misfire_grace": "none"}}`, `{"paused": false}`} {
		res = h.do(adm, "PATCH", "/api/v1/jobs/n", patch)
		if res.status != 200 || res.header.Get("ETag") != `"1"` {
			t.Errorf("PATCH %s = %d ETag %s, want 200 at version 1: %s", patch, res.status, res.header.Get("ETag"), res.body)
		}
	}
	res = h.do(adm, "PATCH", "/api/v1/jobs/n", `{"options": {"misfire_grace": "90s"}}`)
	if res.status != 200 || res.header.Get("ETag") != `"2"` || !strings.Contains(string(res.body), `"misfire_grace":"1m30s"`) {
		t.Errorf("PATCH grace = %d %s", res.status, res.body)
	}
}

// goTypeName matches what a Go error message says of Go types and fields,
// which mean nothing to a person writing JSON.
var goTypeName = regexp.MustCompile(`\b(httpapi|sundial|trigger|admin|task|jobdoc|isolate|secrets|json|time|reflect)\.[A-Z]|Go (value|struct)|map\[|\[\][a-z*]|interface \{|struct \{|childSettings|UnmarshalJSON`)

// bodyShape is a request body the matrix sends to every route.
type bodyShape struct {
	name, body string
	// refused: a route that takes a body must answer 4xx.
	refused bool
}

func bodyShapes(maxBody int) []bodyShape {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	return []bodyShape{
		{"empty", "", false}, // refused where the body is required
		{"null", "null", true},
		{"array", "[]", true},
		{"string", `"x"`, true},
		{"number", "1", true},
		{"object", "{}", false},
		{"deeply nested", deep, true},
		{"deeply nested member", `{"args": ` + deep + `}`, true},
		{"huge", `{"name": "` + strings.Repeat("x", maxBody+1) + `"}`, true},
		{"invalid UTF-8", "{\"\xff\xfe\": \"\xff\"}", true},
		{"unknown field", `{"no_such_field": 1}`, true},
		{"trailing data", `{} {}`, true},
		{"malformed", `{"a": `, true},
	}
}

// TestEveryRouteEveryBodyShape sends every body shape, and every property
// of the route's documented body with a wrong type, to every route the API
// has (so a new route is covered as soon as it is registered): never a
// 5xx, every error a problem document (the Flask-compatible routes: their
// {"error_message"}) whose message names no Go type, and a refused request
// changes nothing stored.
func TestEveryRouteEveryBodyShape(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody *struct {
				Required bool `json:"required"`
				Content  map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Type any `json:"type"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	wrong := map[string]string{"string": "12345", "integer": `"x"`, "number": `"x"`, "boolean": `"x"`, "array": `"x"`, "object": `"x"`}
	routes := newHarness(t).api.Routes()
	for _, route := range routes {
		t.Run(route.Method+" "+route.Pattern, func(t *testing.T) {
			h, path := matrixHarness(t, route)
			op := doc.Paths[route.Pattern][strings.ToLower(route.Method)]
			shapes := bodyShapes(int(h.api.maxBody))
			if rb := op.RequestBody; rb != nil {
				schema := doc.Components.Schemas[strings.TrimPrefix(rb.Content["application/json"].Schema.Ref, "#/components/schemas/")]
				for _, name := range slices.Sorted(maps.Keys(schema.Properties)) {
					if typ, ok := schema.Properties[name].Type.(string); ok && wrong[typ] != "" {
						shapes = append(shapes, bodyShape{"wrong type: " + name, fmt.Sprintf(`{%q: %s}`, name, wrong[typ]), true})
					}
				}
			}
			for _, shape := range shapes {
				before := h.snapshot()
				res := h.do(admin.RoleAdmin, route.Method, path, shape.body, "Content-Type", "application/json")
				after := h.snapshot()
				label := fmt.Sprintf("%s %s with %s", route.Method, path, shape.name)
				refused := op.RequestBody != nil && (shape.refused || shape.name == "empty" && op.RequestBody.Required)
				switch {
				case res.status >= 500 && !(strings.HasSuffix(route.Pattern, "/run") && strings.HasPrefix(route.Pattern, h.api.prefix)):
					t.Errorf("%s = %d: %s", label, res.status, res.body)
				case refused && (res.status < 400 || res.status >= 500):
					t.Errorf("%s = %d, want it refused: %s", label, res.status, res.body)
				}
				if res.status < 400 {
					continue
				}
				if before != after {
					t.Errorf("%s = %d, and it changed the store:\nbefore %s\nafter  %s", label, res.status, before, after)
				}
				msg := checkErrorBody(t, label, route, res, h.api.prefix)
				// An API v1 body's type errors name the member as written.
				// (A Flask-compatible route may first say a required key
				// is missing, as the original does.)
				want := strings.TrimPrefix(shape.name, "wrong type: ")
				if shape.name == "unknown field" {
					want = "no_such_field"
				}
				if want != shape.name && op.RequestBody != nil && !strings.HasPrefix(route.Pattern, h.api.prefix) &&
					(res.status != 400 || !strings.HasPrefix(msg.field, want)) {
					t.Errorf("%s = %d naming %q, want a 400 naming %q: %s", label, res.status, msg.field, want, res.body)
				}
			}
		})
	}
}

// errorBody is what an error answer says: its message, and the field it
// names (a problem's field; the Flask form's "field: " prefix).
type errorBody struct{ msg, field string }

// checkErrorBody checks that an error answer has the shape of its route
// family and names no Go type.
func checkErrorBody(t *testing.T, label string, route Route, res response, flaskPrefix string) errorBody {
	t.Helper()
	var out errorBody
	if strings.HasPrefix(route.Pattern, flaskPrefix) {
		var fe map[string]string
		if json.Unmarshal(res.body, &fe) != nil || fe["error_message"] == "" {
			t.Errorf("%s = %d, not a Flask error: %s", label, res.status, res.body)
		}
		out.msg = fe["error_message"]
		out.field, _, _ = strings.Cut(out.msg, ":")
	} else {
		var p Problem
		if ct := res.header.Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(res.body, &p) != nil ||
			p.Status != res.status || p.Title == "" || p.Type == "" {
			t.Errorf("%s = %d, not a problem document (%s): %s", label, res.status, ct, res.body)
		}
		out.msg, out.field = p.Detail, p.Field
	}
	if goTypeName.MatchString(out.msg) || goTypeName.MatchString(out.field) {
		t.Errorf("%s = %d, names a Go type: %s", label, res.status, res.body)
	}
	return out
}

// matrixHarness returns a harness with one of each thing a route can name
// — a job, an ended run of it, a script, a token — and the route's path
// naming them, so that each route reads its body as it would for real.
func matrixHarness(t *testing.T, route Route) (*harness, string) {
	t.Helper()
	h := newHarness(t, func(c *Config) {
		c.TestRunner = func(ctx context.Context, req TestRunRequest) (TestRun, error) {
			return TestRun{Status: sundial.StatusSucceeded, Output: "ok"}, nil
		}
	})
	adm := admin.RoleAdmin
	if res := h.do(adm, "POST", "/api/v1/jobs", `{"id": "keep", "task": "echo", "trigger": "0 9 1 1 *", "paused": true}`); res.status != 201 {
		t.Fatalf("fixture job: %d %s", res.status, res.body)
	}
	var run sundial.Run
	h.do(adm, "POST", "/api/v1/jobs/keep/run", nil).json(t, &run)
	h.waitRun(run.ID)
	if res := h.do(adm, "POST", "/api/v1/scripts", ScriptUpload{Name: "s1", Lang: "sh", Source: "echo hi"}); res.status != 201 {
		t.Fatalf("fixture script: %d %s", res.status, res.body)
	}
	tokens, _ := h.records.ListTokens(context.Background())
	var viewerToken string
	for _, tok := range tokens {
		if tok.Role == admin.RoleViewer {
			viewerToken = tok.ID
		}
	}
	id := "keep"
	switch {
	case strings.Contains(route.Pattern, "/runs/"):
		id = run.ID
	case strings.Contains(route.Pattern, "/tokens/"):
		id = viewerToken
	}
	path := strings.NewReplacer("{id}", id, "{name}", "s1", "{version}", "1").Replace(route.Pattern)
	if strings.HasSuffix(path, "/jobs/pause") || strings.HasSuffix(path, "/jobs/resume") || strings.HasSuffix(path, "/jobs/run") {
		path += "?all=true"
	}
	return h, path
}

func TestTokens(t *testing.T) {
	h := newHarness(t)
	adm := admin.RoleAdmin
	res := h.do(adm, "POST", "/api/v1/tokens", map[string]string{"name": "ci", "role": "operator"})
	var created NewTokenView
	res.json(t, &created)
	if res.status != 201 || !strings.HasPrefix(created.Secret, TokenPrefix) || created.Role != admin.RoleOperator {
		t.Fatalf("create = %d %s", res.status, res.body)
	}
	h.tokens["ci"] = created.Secret
	var me Whoami
	h.do("ci", "GET", "/api/v1/whoami", nil).json(t, &me)
	if me.Name != "ci" || me.Role != admin.RoleOperator || me.TokenID != created.ID {
		t.Errorf("whoami = %+v", me)
	}
	list := h.do(adm, "GET", "/api/v1/tokens", nil)
	if strings.Contains(string(list.body), created.Secret) || strings.Contains(string(list.body), "hash") {
		t.Errorf("token list shows a secret or hash: %s", list.body)
	}
	res = h.do(adm, "POST", "/api/v1/tokens/"+created.ID+"/rotate", nil)
	var rotated NewTokenView
	res.json(t, &rotated)
	if res.status != 201 || rotated.Secret == created.Secret || rotated.Name != "ci" || rotated.Role != admin.RoleOperator {
		t.Fatalf("rotate = %d %s", res.status, res.body)
	}
	if res := h.do("ci", "GET", "/api/v1/whoami", nil); res.status != 401 {
		t.Errorf("old secret after rotation = %d, want 401", res.status)
	}
	h.tokens["ci2"] = rotated.Secret
	if res := h.do("ci2", "GET", "/api/v1/whoami", nil); res.status != 200 {
		t.Errorf("new secret = %d", res.status)
	}
	if res := h.do(adm, "DELETE", "/api/v1/tokens/"+rotated.ID, nil); res.status != 204 {
		t.Errorf("revoke = %d", res.status)
	}
	if res := h.do("ci2", "GET", "/api/v1/whoami", nil); res.status != 401 {
		t.Errorf("revoked secret = %d, want 401", res.status)
	}
	if res := h.do(adm, "DELETE", "/api/v1/tokens/"+rotated.ID, nil); res.status != 404 {
		t.Errorf("second revoke = %d, want 404", res.status)
	}
	var audit AuditList
	h.do(adm, "GET", "/api/v1/audit", nil).json(t, &audit)
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action)
		if strings.Contains(string(e.Detail), TokenPrefix) {
			t.Errorf("audit entry holds a secret: %s", e.Detail)
		}
	}
	if fmt.Sprint(actions) != "[token.revoke token.rotate token.create]" {
		t.Errorf("audit = %v", actions)
	}
}

func TestCronPreview(t *testing.T) {
	h := newHarness(t)
	res := h.do(admin.RoleViewer, "POST", "/api/v1/cron/preview",
		`{"trigger": {"type": "cron", "expr": "30 2 * * *", "timezone": "Europe/London"}, "count": 3, "from": "2026-03-28T00:00:00Z"}`)
	var p Preview
	res.json(t, &p)
	// 29 March 2026: clocks go forward at 01:00 GMT, 02:30 exists (BST).
	want := []string{"2026-03-28T02:30:00Z", "2026-03-29T02:30:00+01:00", "2026-03-30T02:30:00+01:00"}
	var got []string
	for _, n := range p.Next {
		got = append(got, n.Format(time.RFC3339))
	}
	if !slices.Equal(got, want) || p.Timezone != "Europe/London" || !strings.Contains(p.Description, "02:30") {
		t.Errorf("preview = %+v (%v), want %v", p, got, want)
	}
	var once Preview
	h.do(admin.RoleViewer, "POST", "/api/v1/cron/preview", `{"trigger": {"type": "date", "run_date": "2030-01-01T00:00:00Z"}}`).json(t, &once)
	if len(once.Next) != 1 {
		t.Errorf("a date trigger previews %d fires, want 1", len(once.Next))
	}
}

func TestStatusAndTasks(t *testing.T) {
	h := newHarness(t)
	h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "a", "task": "echo", "trigger": "@daily", "paused": true}`)
	var st StatusView
	h.do(admin.RoleViewer, "GET", "/api/v1/status", nil).json(t, &st)
	if !st.Scheduling || st.Jobs.Total != 1 || st.Jobs.Paused != 1 || len(st.Nodes) != 1 || st.Node.Node != st.Nodes[0].ID {
		t.Errorf("status = %+v", st)
	}
	var tasks map[string][]string
	h.do(admin.RoleViewer, "GET", "/api/v1/tasks", nil).json(t, &tasks)
	if fmt.Sprint(tasks["tasks"]) != "[echo fail gate]" {
		t.Errorf("tasks = %v", tasks)
	}
}

func TestNoAuthActsAsAdmin(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoAuth = true })
	var me Whoami
	h.do("", "GET", "/api/v1/whoami", nil).json(t, &me)
	if me.Role != admin.RoleAdmin {
		t.Errorf("whoami without auth = %+v", me)
	}
	if res := h.do("", "POST", "/api/v1/jobs", `{"id": "a", "task": "echo", "trigger": "@daily"}`); res.status != 201 {
		t.Errorf("create without auth = %d", res.status)
	}
}

func TestDescriptionsInTheRequestsLanguage(t *testing.T) {
	h := newHarness(t)
	h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "d", "task": "echo", "trigger": "0 9 * * 1-5"}`)
	var en, zh JobView
	h.do(admin.RoleViewer, "GET", "/api/v1/jobs/d", nil).json(t, &en)
	h.do(admin.RoleViewer, "GET", "/api/v1/jobs/d", nil, "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8").json(t, &zh)
	if en.Description != "At 09:00, Monday through Friday" || zh.Description != "在 09:00，周一至周五" {
		t.Errorf("descriptions: %q, %q", en.Description, zh.Description)
	}
	var p Preview
	h.do(admin.RoleViewer, "POST", "/api/v1/cron/preview", `{"trigger": "*/5 * * * *"}`, "Accept-Language", "zh").json(t, &p)
	if p.Description != "每 5 分钟" {
		t.Errorf("preview in Chinese: %q", p.Description)
	}
}
