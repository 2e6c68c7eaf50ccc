package httpapi

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/secrets"
)

func TestScripts(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.CheckScript = func(_ context.Context, lang, name, source string) (string, error) {
			if lang != "python" && lang != "sh" {
				return "", fmt.Errorf("language %q is not one of python, sh", lang)
			}
			if strings.Contains(source, "def run(:") {
				return "", errors.New("python does not compile:\n  File \"" + name + "\", line 1\nSyntaxError: invalid syntax")
			}
			return "", nil
		}
	})
	adm, viewer := admin.RoleAdmin, admin.RoleViewer
	for i, src := range []string{"def run():\n    return 1\n", "def run():\n    return 2\n"} {
		res := h.do(adm, "POST", "/api/v1/scripts", ScriptUpload{Name: "report", Lang: "python", Source: src})
		var v ScriptView
		res.json(t, &v)
		if res.status != 201 || v.Version != i+1 || len(v.Checksum) != 64 || !strings.Contains(v.Author, "admin-token") || v.Source != src {
			t.Fatalf("push %d = %d %s", i, res.status, res.body)
		}
	}
	// Pushing the latest source again adds no version.
	again := h.do(adm, "POST", "/api/v1/scripts", ScriptUpload{Name: "report", Lang: "python", Source: "def run():\n    return 2\n"})
	var same ScriptView
	again.json(t, &same)
	if again.status != 200 || !same.Unchanged || same.Version != 2 {
		t.Errorf("pushing the latest source again = %d %s, want 200, unchanged, version 2", again.status, again.body)
	}
	for _, c := range []struct {
		up    ScriptUpload
		field string
	}{
		{ScriptUpload{Name: "bad", Lang: "python", Source: "def run(:\n"}, "source"},
		{ScriptUpload{Name: "x", Lang: "ruby", Source: "puts 1"}, "lang"},
		{ScriptUpload{Name: "../x", Lang: "sh", Source: "true"}, "name"},
		{ScriptUpload{Name: "x", Lang: "sh", Source: "  "}, "source"},
	} {
		res := h.do(adm, "POST", "/api/v1/scripts", c.up)
		var p Problem
		res.json(t, &p)
		if res.status != 400 || p.Field != c.field {
			t.Errorf("push %+v = %d %+v, want 400 on %s", c.up, res.status, p, c.field)
		}
	}
	if res := h.do(adm, "POST", "/api/v1/scripts", ScriptUpload{Name: "bad", Lang: "python", Source: "def run(:\n"}); !strings.Contains(string(res.body), "SyntaxError") {
		t.Errorf("compile error not shown: %s", res.body)
	}
	var list map[string][]admin.Script
	h.do(viewer, "GET", "/api/v1/scripts", nil).json(t, &list)
	if len(list["scripts"]) != 1 || list["scripts"][0].Version != 2 || list["scripts"][0].Source != "" {
		t.Errorf("list = %+v", list)
	}
	res := h.do(adm, "POST", "/api/v1/scripts/report/rollback", RollbackRequest{Version: 1})
	var v ScriptView
	res.json(t, &v)
	if res.status != 201 || v.Version != 3 || v.Source != "def run():\n    return 1\n" || v.Note != "rollback to version 1" {
		t.Errorf("rollback = %d %s", res.status, res.body)
	}
	var versions map[string][]admin.Script
	h.do(viewer, "GET", "/api/v1/scripts/report/versions", nil).json(t, &versions)
	if len(versions["versions"]) != 3 || versions["versions"][0].Version != 3 {
		t.Errorf("versions = %+v", versions)
	}
	var sc admin.Script
	h.do(viewer, "GET", "/api/v1/scripts/report/versions/2", nil).json(t, &sc)
	if sc.Source != "def run():\n    return 2\n" {
		t.Errorf("version 2 = %+v", sc)
	}
	for path, want := range map[string]int{"/api/v1/scripts/nope": 404, "/api/v1/scripts/report/versions/9": 404, "/api/v1/scripts/report/versions/x": 400, "/api/v1/scripts/nope/versions": 404} {
		if res := h.do(viewer, "GET", path, nil); res.status != want {
			t.Errorf("GET %s = %d, want %d", path, res.status, want)
		}
	}
	var audit AuditList
	h.do(adm, "GET", "/api/v1/audit?target=report", nil).json(t, &audit)
	if len(audit.Entries) != 3 || audit.Entries[0].Action != "script.rollback" || audit.Entries[2].Action != "script.push" {
		t.Errorf("audit = %+v", audit.Entries)
	}
}

func TestSecrets(t *testing.T) {
	noKey := newHarness(t)
	if res := noKey.do(admin.RoleAdmin, "PUT", "/api/v1/secrets/DB_PASSWORD", SecretValue{Value: "x"}); res.status != 409 || !strings.Contains(string(res.body), "SUNDIAL_SECRET_KEY") {
		t.Errorf("PUT without a key = %d %s", res.status, res.body)
	}
	var vault *secrets.Vault
	h := newHarness(t, func(c *Config) {
		key := make([]byte, 32)
		rand.Read(key)
		vault, _ = secrets.NewVault(c.Admin, key, secrets.NewMasker())
		c.Vault = vault
	})
	adm := admin.RoleAdmin
	canary := "pw-canary-91ab"
	if res := h.do(adm, "PUT", "/api/v1/secrets/DB_PASSWORD", SecretValue{Value: canary}); res.status != 204 {
		t.Fatalf("PUT = %d %s", res.status, res.body)
	}
	for _, c := range []struct {
		name, body string
		status     int
	}{{"lower", `{"value": "x1234"}`, 400}, {"OK_NAME", `{"value": ""}`, 400}, {"OK_NAME", `{"valeu": "x"}`, 400}} {
		if res := h.do(adm, "PUT", "/api/v1/secrets/"+c.name, c.body); res.status != c.status {
			t.Errorf("PUT %s %s = %d", c.name, c.body, res.status)
		}
	}
	res := h.do(adm, "GET", "/api/v1/secrets", nil)
	if !strings.Contains(string(res.body), `"name":"DB_PASSWORD"`) || strings.Contains(string(res.body), canary) {
		t.Errorf("list = %s", res.body)
	}
	if res := h.do(admin.RoleOperator, "GET", "/api/v1/secrets", nil); res.status != 403 {
		t.Errorf("operator lists secrets: %d", res.status)
	}
	if got, _ := vault.Reveal(context.Background(), []string{"DB_PASSWORD"}); got["DB_PASSWORD"] != canary {
		t.Errorf("Reveal = %v", got)
	}
	var audit AuditList
	h.do(adm, "GET", "/api/v1/audit", nil).json(t, &audit)
	if strings.Contains(string(mustJSON(audit)), canary) || audit.Entries[0].Action != "secret.put" {
		t.Errorf("audit = %+v", audit.Entries)
	}
	if res := h.do(adm, "DELETE", "/api/v1/secrets/DB_PASSWORD", nil); res.status != 204 {
		t.Errorf("DELETE = %d", res.status)
	}
	if res := h.do(adm, "DELETE", "/api/v1/secrets/DB_PASSWORD", nil); res.status != 404 {
		t.Errorf("DELETE again = %d", res.status)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestFollowOutput follows a run's output as server-sent events over real
// HTTP while it runs, then gets its end.
func TestFollowOutput(t *testing.T) {
	h := newHarness(t)
	h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "g", "task": "gate", "trigger": "@yearly"}`)
	var run sundial.Run
	h.do(admin.RoleOperator, "POST", "/api/v1/jobs/g/run", nil).json(t, &run)
	srv := httptest.NewServer(h.api.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/runs/"+run.ID+"/output?follow=1", nil)
	req.Header.Set("Authorization", "Bearer "+h.tokens[admin.RoleViewer])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", res.Header.Get("Content-Type"))
	}
	events := make(chan [2]string)
	go func() {
		sc := bufio.NewScanner(res.Body)
		var name string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- [2]string{name, strings.TrimPrefix(line, "data: ")}
			}
		}
		close(events)
	}()
	var seen [][2]string
	next := func() [2]string {
		select {
		case e := <-events:
			seen = append(seen, e)
			return e
		case <-time.After(30 * time.Second):
			stored, _ := h.s.RunByID(context.Background(), run.ID)
			live, _, ok := h.s.LiveOutput(run.ID)
			t.Fatalf("no event in 30s; events so far %q; stored run %s %q; live %v %q", seen, stored.Status, stored.Output, ok, live)
		}
		return [2]string{}
	}
	if e := next(); e[0] != "output" || e[1] != `{"text":"before the gate\n"}` {
		t.Errorf("first event = %v", e)
	}
	close(h.gate)
	var text strings.Builder
	for {
		e := next()
		if e[0] == "end" {
			var end sundial.Run
			json.Unmarshal([]byte(e[1]), &end)
			if end.Status != sundial.StatusSucceeded || string(end.Result) != `"through"` {
				t.Errorf("end = %s", e[1])
			}
			break
		}
		var oe OutputEvent
		json.Unmarshal([]byte(e[1]), &oe)
		text.WriteString(oe.Text)
	}
	if text.String() != "after the gate\n" {
		t.Errorf("followed text = %q", text.String())
	}
	plain := h.do(admin.RoleViewer, "GET", "/api/v1/runs/"+run.ID+"/output", nil)
	if string(plain.body) != "before the gate\nafter the gate\n" {
		t.Errorf("plain output = %q", plain.body)
	}
}

func TestCookieAuthNeedsCSRFToken(t *testing.T) {
	h := newHarness(t)
	s := h.login(admin.RoleAdmin)
	cookies := CookieName + "=" + s.secret + "; " + CSRFCookie + "=csrf-value-123"
	if res := h.do("", "GET", "/api/v1/jobs", nil, "Cookie", cookies); res.status != 200 {
		t.Errorf("GET with the cookie = %d", res.status)
	}
	body := `{"id": "x", "task": "echo", "trigger": "@daily"}`
	if res := h.do("", "POST", "/api/v1/jobs", body, "Cookie", cookies); res.status != 403 || !strings.Contains(string(res.body), "CSRF") {
		t.Errorf("POST with the cookie, no CSRF header = %d %s", res.status, res.body)
	}
	if res := h.do("", "POST", "/api/v1/jobs", body, "Cookie", cookies, CSRFHeader, "wrong"); res.status != 403 {
		t.Errorf("POST with a wrong CSRF header = %d", res.status)
	}
	if res := h.do("", "POST", "/api/v1/jobs", body, "Cookie", cookies, CSRFHeader, "csrf-value-123"); res.status != 201 {
		t.Errorf("POST with the CSRF header = %d %s", res.status, res.body)
	}
	// A bearer token is not a browser's ambient credential: no CSRF token needed.
	if res := h.do(admin.RoleAdmin, "DELETE", "/api/v1/jobs/x", nil); res.status != 200 {
		t.Errorf("DELETE with a bearer token = %d", res.status)
	}
}

func TestEventStream(t *testing.T) {
	h := newHarness(t)
	srv := httptest.NewServer(h.api.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+h.tokens[admin.RoleViewer])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "e", "task": "echo", "trigger": "@daily"}`)
	h.do(admin.RoleOperator, "POST", "/api/v1/jobs/e/run", nil)
	// A worker that comes and goes: the Workers page and the jobs waiting
	// for a worker update at once.
	var sess WorkerSessionView
	h.do(admin.RoleAdmin, "POST", "/api/v1/worker/sessions", `{"name": "ev-1", "tasks": ["send_report"], "capacity": 1}`).json(t, &sess)
	if res := h.do(admin.RoleAdmin, "DELETE", "/api/v1/worker/sessions/"+sess.ID, nil); res.status >= 300 {
		t.Fatalf("close the worker session = %d %s", res.status, res.body)
	}
	sc := bufio.NewScanner(res.Body)
	kinds := map[string]bool{}
	deadline := time.After(20 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for !kinds["job_added"] || !kinds["run_succeeded"] || !kinds["worker_joined"] || !kinds["worker_left"] {
		select {
		case line := <-lines:
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var ce ChangeEvent
				json.Unmarshal([]byte(data), &ce)
				if ce.JobID == "e" || ce.Worker == "ev-1" {
					kinds[ce.Kind] = true
				}
			}
		case <-deadline:
			t.Fatalf("events seen: %v", kinds)
		}
	}
}

func TestTestRun(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.TestRunner = func(_ context.Context, req TestRunRequest) (TestRun, error) {
			return TestRun{Status: sundial.StatusSucceeded, Output: "ran " + req.Lang + ": " + req.Source, Result: json.RawMessage(`{"ok":true}`)}, nil
		}
	})
	res := h.do(admin.RoleAdmin, "POST", "/api/v1/scripts/test-run", TestRunRequest{Lang: "python", Source: "def run(): pass"})
	var tr TestRun
	res.json(t, &tr)
	if res.status != 200 || tr.Output != "ran python: def run(): pass" || string(tr.Result) != `{"ok":true}` {
		t.Errorf("test run = %d %s", res.status, res.body)
	}
	if res := h.do(admin.RoleAdmin, "POST", "/api/v1/scripts/test-run", TestRunRequest{Lang: "python"}); res.status != 400 {
		t.Errorf("empty source = %d", res.status)
	}
	if res := h.do(admin.RoleOperator, "POST", "/api/v1/scripts/test-run", TestRunRequest{Lang: "python", Source: "x"}); res.status != 403 {
		t.Errorf("operator test run = %d", res.status)
	}
	if res := newHarness(t).do(admin.RoleAdmin, "POST", "/api/v1/scripts/test-run", TestRunRequest{Lang: "python", Source: "x"}); res.status != 409 {
		t.Errorf("without a runner = %d", res.status)
	}
}
