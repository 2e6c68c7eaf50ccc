package httpapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
)

type flaskJob map[string]any

func TestFlaskJobs(t *testing.T) {
	h := newHarness(t)
	adm, op, viewer := admin.RoleAdmin, admin.RoleOperator, admin.RoleViewer

	res := h.do(adm, "POST", "/scheduler/jobs", `{"id": "job1", "func": "echo", "trigger": "interval", "seconds": 10, "args": [1, 2], "kwargs": {"a": 1}}`)
	var j flaskJob
	res.json(t, &j)
	if res.status != 200 || j["trigger"] != "interval" || j["seconds"] != 10.0 || j["name"] != "echo" || j["func"] != "echo" ||
		j["misfire_grace_time"] != 60.0 || j["max_instances"] != 1.0 || j["start_date"] == nil || j["next_run_time"] == nil {
		t.Fatalf("add interval = %d %s", res.status, res.body)
	}
	if a, _ := j["args"].([]any); len(a) != 2 || j["kwargs"].(map[string]any)["a"] != 1.0 {
		t.Errorf("args, kwargs = %v %v", j["args"], j["kwargs"])
	}

	res = h.do(adm, "POST", "/scheduler/jobs", `{"id": "c", "func": "echo", "trigger": "cron", "day_of_week": "mon-fri", "hour": 9,
		"minute": "30", "timezone": "Asia/Shanghai", "misfire_grace_time": null, "coalesce": false, "max_instances": 3}`)
	j = nil
	res.json(t, &j)
	next, _ := j["next_run_time"].(string)
	if res.status != 200 || j["hour"] != "9" || j["minute"] != "30" || j["day_of_week"] != "mon-fri" || !strings.HasSuffix(next, "T09:30:00+08:00") ||
		j["misfire_grace_time"] != nil || j["max_instances"] != 3.0 {
		t.Errorf("add cron = %d %s", res.status, res.body)
	}
	if _, ok := j["second"]; ok {
		t.Errorf("a field that was not given is shown: %s", res.body)
	}
	stored, _ := h.s.Job(context.Background(), "c")
	if *stored.Options.Coalesce || stored.Options.MisfireGrace >= 0 {
		t.Errorf("stored options = %+v", stored.Options)
	}

	if res := h.do(adm, "POST", "/scheduler/jobs", `{"id": "d", "func": "echo", "trigger": "date", "run_date": "2031-01-02T03:04:05+00:00"}`); res.status != 200 ||
		!strings.Contains(string(res.body), `"run_date":"2031-01-02T03:04:05+00:00"`) {
		t.Errorf("add date = %d %s", res.status, res.body)
	}
	if res := h.do(adm, "POST", "/scheduler/jobs", `{"id": "p", "func": "echo", "trigger": "cron", "hour": 1, "next_run_time": null}`); res.status != 200 ||
		!strings.Contains(string(res.body), `"next_run_time":null`) {
		t.Errorf("add paused = %d %s", res.status, res.body)
	}

	// Conflicts and replacement.
	res = h.do(adm, "POST", "/scheduler/jobs", `{"id": "job1", "func": "echo", "trigger": "interval", "minutes": 1}`)
	if res.status != 409 || string(res.body) != `{"error_message":"Job job1 already exists."}`+"\n" {
		t.Errorf("duplicate = %d %s", res.status, res.body)
	}
	if res := h.do(adm, "POST", "/scheduler/jobs", `{"id": "job1", "func": "echo", "trigger": "interval", "minutes": 1, "args": [1, 2], "kwargs": {"a": 1}, "replace_existing": true}`); res.status != 200 ||
		!strings.Contains(string(res.body), `"minutes":1`) {
		t.Errorf("replace_existing = %d %s", res.status, res.body)
	}

	var all []flaskJob
	h.do(viewer, "GET", "/scheduler/jobs", nil).json(t, &all)
	if len(all) != 4 {
		t.Errorf("list = %d jobs", len(all))
	}
	res = h.do(viewer, "GET", "/scheduler/jobs/nope", nil)
	if res.status != 404 || string(res.body) != `{"error_message":"Job nope not found"}`+"\n" {
		t.Errorf("get missing = %d %s", res.status, res.body)
	}

	// Modify: a new trigger replaces the old one; other keys change alone.
	j = nil
	h.do(adm, "PATCH", "/scheduler/jobs/c", `{"trigger": "cron", "hour": 10, "minute": 15}`).json(t, &j)
	if j["hour"] != "10" || j["minute"] != "15" || j["day_of_week"] != nil {
		t.Errorf("patch trigger = %v", j)
	}
	j = nil
	h.do(adm, "PATCH", "/scheduler/jobs/c", `{"name": "renamed", "kwargs": {"b": 2}}`).json(t, &j)
	if j["name"] != "renamed" || j["hour"] != "10" || j["kwargs"].(map[string]any)["b"] != 2.0 {
		t.Errorf("patch name = %v", j)
	}
	if stored, _ := h.s.Job(context.Background(), "c"); stored.Options.MaxInstances != 3 {
		t.Errorf("patch lost an option: %+v", stored.Options)
	}

	// Pause and resume.
	j = nil
	h.do(op, "POST", "/scheduler/jobs/c/pause", nil).json(t, &j)
	if j["next_run_time"] != nil {
		t.Errorf("paused next_run_time = %v", j["next_run_time"])
	}
	j = nil
	h.do(op, "POST", "/scheduler/jobs/c/resume", nil).json(t, &j)
	if j["next_run_time"] == nil {
		t.Errorf("resumed next_run_time = nil")
	}

	// Run answers after the run: the run is recorded, with the job's args.
	res = h.do(op, "POST", "/scheduler/jobs/job1/run", nil)
	if res.status != 200 {
		t.Fatalf("run = %d %s", res.status, res.body)
	}
	runs, _ := h.s.Runs(context.Background(), sundial.RunFilter{JobID: "job1"})
	if len(runs) != 1 || runs[0].Status != sundial.StatusSucceeded || string(runs[0].Result) != `{"args":[1,2],"kwargs":{"a":1}}` {
		t.Errorf("runs after run = %+v", runs)
	}
	h.do(adm, "POST", "/scheduler/jobs", `{"id": "bad", "func": "fail", "trigger": "cron", "hour": 3}`)
	res = h.do(op, "POST", "/scheduler/jobs/bad/run", nil)
	if res.status != 500 || !strings.Contains(string(res.body), "the database is on fire") {
		t.Errorf("failing run = %d %s", res.status, res.body)
	}

	if res := h.do(adm, "DELETE", "/scheduler/jobs/job1", nil); res.status != 204 {
		t.Errorf("delete = %d", res.status)
	}
	if res := h.do(adm, "DELETE", "/scheduler/jobs/job1", nil); res.status != 404 {
		t.Errorf("delete again = %d", res.status)
	}
}

func TestFlaskBadInput(t *testing.T) {
	h := newHarness(t)
	h.do(admin.RoleAdmin, "POST", "/scheduler/jobs", `{"id": "keep", "func": "echo", "trigger": "cron", "hour": 1}`)
	before := h.snapshot()
	for _, c := range []struct{ method, path, body, want string }{
		{"POST", "/scheduler/jobs", `not json`, "JSON object"},
		{"POST", "/scheduler/jobs", `{"id": "x", "func": "echo", "trigger": "cron", "hour": 25}`, "hour"},
		{"POST", "/scheduler/jobs", `{"id": "x", "func": "echo", "trigger": "weekly"}`, `"weekly" is not cron, interval or date`},
		{"POST", "/scheduler/jobs", `{"id": "x", "func": "echo", "trigger": "interval", "hour": 1}`, "hour: does not apply to a interval trigger"},
		{"POST", "/scheduler/jobs", `{"id": "x", "func": "nope", "trigger": "interval", "hours": 1}`, `unknown task "nope"`},
		{"POST", "/scheduler/jobs", `{"id": "x", "trigger": "interval", "hours": 1}`, "func: is required"},
		// Flask-APScheduler's add_job requires the id; a generated one
		// would hide a client's bug until it adds the job again.
		{"POST", "/scheduler/jobs", `{"func": "echo", "trigger": "interval", "hours": 1}`, "id: is required"},
		{"POST", "/scheduler/jobs", `{"id": null, "func": "echo", "trigger": "interval", "hours": 1}`, "id: is required"},
		{"POST", "/scheduler/jobs", `{"id": "", "func": "echo", "trigger": "interval", "hours": 1}`, "id: is required"},
		{"POST", "/scheduler/jobs", `{"id": 7, "func": "echo", "trigger": "interval", "hours": 1}`, "id: expected a string"},
		{"POST", "/scheduler/jobs", `{"id": "x", "func": "echo", "trigger": "interval", "hours": "one"}`, "hours: expected a whole number, got a string"},
		{"POST", "/scheduler/jobs", `{"id": "x", "func": "echo", "trigger": "cron", "hour": 1, "colour": "red"}`, "colour: unknown field"},
		{"POST", "/scheduler/jobs", `{"id": "x", "func": "echo", "trigger": "cron", "hour": 1, "timezone": "Mars/Base"}`, "Mars/Base"},
		{"POST", "/scheduler/jobs", `{"id": "x", "func": "echo", "trigger": "cron", "hour": 1, "next_run_time": "2030-01-01"}`, "next_run_time"},
		{"POST", "/scheduler/jobs", `{"id": "x", "func": "echo", "trigger": "cron", "hour": 1, "misfire_grace_time": -5}`, "misfire_grace_time"},
		{"POST", "/scheduler/jobs", `{"id": "x", "func": "echo", "trigger": "cron", "hour": 1, "args": {"a": 1}}`, "args: expected an array, got an object"},
		{"PATCH", "/scheduler/jobs/keep", `{"hour": 2}`, "send the trigger with all its fields"},
		{"PATCH", "/scheduler/jobs/keep", `{"id": "other"}`, "cannot change"},
		{"PATCH", "/scheduler/jobs/keep", `{"trigger": "cron", "minute": 61}`, "minute"},
	} {
		res := h.do(admin.RoleAdmin, c.method, c.path, c.body)
		var e map[string]string
		res.json(t, &e)
		if res.status != 400 || !strings.Contains(e["error_message"], c.want) {
			t.Errorf("%s %s %s = %d %s, want 400 saying %q", c.method, c.path, c.body, res.status, res.body, c.want)
		}
	}
	if after := h.snapshot(); after != before {
		t.Errorf("bad input changed the store:\n%s\n%s", before, after)
	}
}

func TestFlaskSchedulerControl(t *testing.T) {
	h := newHarness(t)
	adm := admin.RoleAdmin
	info := func() bool {
		var m map[string]any
		h.do(admin.RoleViewer, "GET", "/scheduler", nil).json(t, &m)
		return m["running"].(bool)
	}
	if !info() {
		t.Error("running = false at start")
	}
	for _, step := range []struct {
		path   string
		status int
	}{{"/scheduler/pause", 204}, {"/scheduler/resume", 204}, {"/scheduler/start", 400}, {"/scheduler/shutdown", 204},
		{"/scheduler/shutdown", 400}, {"/scheduler/resume", 400}, {"/scheduler/start", 204}} {
		if res := h.do(adm, "POST", step.path, nil); res.status != step.status {
			t.Errorf("POST %s = %d %s, want %d", step.path, res.status, res.body, step.status)
		}
		if step.path == "/scheduler/shutdown" && step.status == 204 && info() {
			t.Error("running = true after shutdown")
		}
		if paused, _, _ := h.s.Paused(context.Background()); step.path == "/scheduler/pause" && !paused {
			t.Error("the scheduler is not paused cluster-wide after /scheduler/pause")
		}
	}
	if paused, _, _ := h.s.Paused(context.Background()); !info() || paused || h.s.Status().Standby {
		t.Errorf("after start: running %v, paused %v, standby %v", info(), paused, h.s.Status().Standby)
	}
	// A job due now fires once the scheduler is resumed.
	h.do(adm, "POST", "/scheduler/jobs", `{"id": "now", "func": "echo", "trigger": "date"}`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if runs, _ := h.s.Runs(context.Background(), sundial.RunFilter{JobID: "now", Status: sundial.StatusSucceeded}); len(runs) == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("a date job added without run_date did not run")
}
