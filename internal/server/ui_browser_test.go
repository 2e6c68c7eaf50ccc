package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sundialhq/sundial"
)

// chromium returns the path of a Chromium, or skips the test.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on this machine: install Debian's chromium (.ci/run does) to run the browser tests")
	return ""
}

// TestWebUIInABrowser drives the web UI in headless Chromium the way a new
// user would: log in, create a cron job in the editor and see its preview,
// run it and watch the run succeed with its output, pause and resume it,
// upload a script and roll it back, and read the UI in Chinese. It saves a
// screenshot of every page in $SUNDIAL_SCREENSHOTS (default: a temporary
// directory).
func TestWebUIInABrowser(t *testing.T) {
	shots := os.Getenv("SUNDIAL_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	dir := t.TempDir()
	srv := start(t, Config{DB: "sqlite:" + filepath.Join(dir, "s.db"), PollInterval: Duration(time.Second)}, Options{Version: "test"})
	b := newBrowser(t, shots)
	step, shot := b.step, b.shot
	waitText, set, click, waitJS := uiWaitText, uiSet, uiClick, uiWaitJS

	step("login page",
		chromedp.Navigate(srv.base+"/"),
		chromedp.WaitVisible("#token", chromedp.ByQuery),
		shot("login"),
		chromedp.SendKeys("#token", srv.token, chromedp.ByQuery),
		click("#login button[type=submit]"), // as a person does: the page logs in through the API
		waitText("main h1", "Dashboard"),
		waitText("#who", "initial-admin"),
		shot("dashboard"))

	step("create a cron job in the editor, with its preview",
		chromedp.Navigate(srv.base+"/#/jobs/new"),
		chromedp.WaitVisible("#e-id", chromedp.ByQuery),
		chromedp.SendKeys("#e-id", "nightly-report", chromedp.ByQuery),
		chromedp.SendKeys("#e-name", "Nightly report", chromedp.ByQuery),
		set("#k-task", "echo"),
		set("#o-args", `{"report": "nightly"}`),
		set("#t-tz", "Europe/London"),
		set("#t-expr", ""),
		chromedp.SendKeys("#t-expr", "30 2 * * 1-5", chromedp.ByQuery),
		waitText("#preview", "02:30"),
		waitText("#preview", "Europe/London"),
		shot("editor"))
	var fires int
	step("ten fire times", chromedp.Evaluate(`document.querySelectorAll("#preview .fires li").length`, &fires))
	if fires != 10 {
		t.Errorf("the preview lists %d fire times, want 10", fires)
	}
	step("a bad expression is explained while typing",
		chromedp.SendKeys("#t-expr", "9", chromedp.ByQuery), // "30 2 * * 1-59"
		waitText("#preview", "out of range"),
		set("#t-expr", "30 2 * * 1-5"),
		chromedp.SendKeys("#t-expr", " ", chromedp.ByQuery),
		waitText("#preview", "02:30"),
		click(`#editor button[type="submit"]`),
		waitText("main h1", "Nightly report"),
		shot("job"))

	step("edit it: the change is saved, the rest kept",
		chromedp.Navigate(srv.base+"/#/jobs/nightly-report/edit"),
		chromedp.WaitVisible("#t-expr", chromedp.ByQuery),
		set("#t-expr", "0 3 * * *"),
		waitText("#preview", "03:00"),
		click(`#editor button[type="submit"]`),
		waitText("main h1", "Nightly report"),
		waitText("#job-schedule", "At 03:00 (Europe/London)"),
		waitJS(`document.querySelector("#job-next time").title.includes("(Europe/London)")`))
	step("run it now and watch the run succeed with its output",
		click(`button[data-act="run"]`),
		waitText("main h1", "nightly-report"),
		waitText("main .head .badge", "succeeded"),
		waitText("#output", "echo"),
		shot("run"))

	step("a new user's first job: the editor's own template, a command, saved and run as it is",
		chromedp.Navigate(srv.base+"/#/jobs/new"),
		chromedp.WaitVisible("#e-id", chromedp.ByQuery),
		chromedp.SendKeys("#e-id", "hello", chromedp.ByQuery),
		waitText("#preview", "Monday through Friday"),
		click(`#editor button[type="submit"]`),
		waitText("main h1", "hello"),
		click(`button[data-act="run"]`),
		waitText("main .head .badge", "succeeded"),
		waitText("#output", "hello from sundial"))
	step("run it again from its run page: a new attempt of the same fire",
		chromedp.Evaluate(`window.firstRun = location.hash`, nil),
		click(`main .head button[data-act="retry-run"]`),
		// The new attempt's own page, not the first run's still showing.
		waitJS(`location.hash !== window.firstRun && /Attempt\s*2/.test(document.querySelector("main .kv")?.innerText || "")`),
		waitText("main .head .badge", "succeeded"))
	step("backfill the past week of it: a run for each weekday fire, followed to the end",
		chromedp.Navigate(srv.base+"/#/jobs/hello"),
		click("#backfill-link"),
		chromedp.WaitVisible("#bf-from", chromedp.ByQuery),
		set("#bf-from", time.Now().Add(-7*24*time.Hour).Format("2006-01-02T15:04")),
		set("#bf-max", "3"),
		click(`#backfill-form button[type="submit"]`),
		waitText("#bf-state", "all ended"),
		waitText("#bf-state", "succeeded"))

	// A backfill of a small past range whose fires are known: an hourly
	// job in UTC, from half past an hour to half past another, three
	// hours apart, has exactly three fires in between.
	if code := srv.call("POST", "/api/v1/jobs", srv.token, map[string]any{"id": "hourly", "task": "echo",
		"trigger": map[string]any{"type": "cron", "expr": "0 * * * *", "timezone": "UTC"}}, nil); code != 201 {
		t.Fatalf("create hourly = %d", code)
	}
	hour := time.Now().UTC().Truncate(time.Hour)
	bfFrom, bfTo := hour.Add(-3*time.Hour-30*time.Minute), hour.Add(-30*time.Minute)
	// setInstant puts an instant into a datetime-local input, in the
	// browser's own zone (which the page reads it in).
	setInstant := func(sel string, at time.Time) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`(() => { const d = new Date(%q), p = (n) => String(n).padStart(2, "0");
			const el = document.querySelector(%q);
			el.value = d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" + p(d.getMinutes());
			el.dispatchEvent(new Event("input", {bubbles: true})); el.dispatchEvent(new Event("change", {bubbles: true})); })()`, at.Format(time.RFC3339), sel), nil)
	}
	type backfillRun struct {
		ScheduledAt time.Time `json:"scheduled_at"`
		Status      string    `json:"status"`
		Backfill    string    `json:"backfill"`
	}
	backfillRuns := func(job string) []backfillRun {
		var page struct {
			Runs []backfillRun `json:"runs"`
		}
		srv.call("GET", "/api/v1/runs?limit=100&job_id="+job, srv.token, nil, &page)
		var out []backfillRun
		for _, r := range page.Runs {
			if r.Backfill != "" {
				out = append(out, r)
			}
		}
		return out
	}
	step("backfill three past hours of an hourly job from its page",
		chromedp.Navigate(srv.base+"/#/jobs/hourly"),
		click("#backfill-link"),
		chromedp.WaitVisible("#bf-from", chromedp.ByQuery),
		setInstant("#bf-from", bfFrom),
		setInstant("#bf-to", bfTo),
		click(`#backfill-form button[type="submit"]`),
		waitText("#bf-state", "3 runs, all ended"),
		shot("backfill"))
	var progress struct {
		Runs int  `json:"runs"`
		Done bool `json:"done"`
	}
	waitFor(t, "the backfill to end, as the API tells it", func() bool {
		runs := backfillRuns("hourly")
		if len(runs) == 0 {
			return false
		}
		srv.call("GET", "/api/v1/backfills/"+runs[0].Backfill, srv.token, nil, &progress)
		return progress.Done
	})
	if runs := backfillRuns("hourly"); progress.Runs != 3 || len(runs) != 3 {
		t.Errorf("the backfill of %s–%s has %d runs (the API lists %d), want 3", bfFrom, bfTo, progress.Runs, len(runs))
	} else {
		for _, r := range runs {
			if r.Status != "succeeded" || !r.ScheduledAt.Truncate(time.Hour).Equal(r.ScheduledAt) || r.ScheduledAt.Before(bfFrom) || r.ScheduledAt.After(bfTo) {
				t.Errorf("backfill run %+v: want a succeeded run on the hour between %s and %s", r, bfFrom, bfTo)
			}
		}
	}
	step("a chain: a job with no trigger of its own, started each time another ends",
		chromedp.Navigate(srv.base+"/#/jobs/new"),
		chromedp.WaitVisible("#e-id", chromedp.ByQuery),
		chromedp.SendKeys("#e-id", "loader", chromedp.ByQuery),
		set("#t-type", "none"),
		waitText("#preview", "Never by itself"),
		click(`#editor button[type="submit"]`),
		waitText("main h1", "loader"),
		chromedp.Navigate(srv.base+"/#/jobs/hello/edit"),
		chromedp.WaitVisible("#o-then", chromedp.ByQuery),
		chromedp.SendKeys("#o-then", "loader", chromedp.ByQuery),
		click(`#editor button[type="submit"]`),
		waitText("#chain-then", "loader"),
		click(`main .head button[data-act="run"]`),
		waitText("main .head .badge", "succeeded"),
		chromedp.Navigate(srv.base+"/#/jobs/loader"),
		waitText("#chain-from", "hello"),
		waitText("#runs", "after hello"),
		waitText("#runs", "succeeded"))
	step("a combination of triggers, written as JSON",
		chromedp.Navigate(srv.base+"/#/jobs/new"),
		chromedp.WaitVisible("#e-id", chromedp.ByQuery),
		chromedp.SendKeys("#e-id", "combo", chromedp.ByQuery),
		set("#t-type", "or"),
		waitText("#preview", "Whenever any fires"),
		click(`#editor button[type="submit"]`),
		waitText("main h1", "combo"),
		waitText("main", "Whenever any fires"))
	ics, err := filepath.Abs("../../docs/examples/cn-2026.ics")
	if err != nil {
		t.Fatal(err)
	}
	step("a holiday calendar made from an .ics file, followed by a job's trigger",
		chromedp.Navigate(srv.base+"/#/calendars"),
		click("#cal-new"),
		chromedp.WaitVisible("#cal-name", chromedp.ByQuery),
		chromedp.SendKeys("#cal-name", "cn", chromedp.ByQuery),
		chromedp.SetUploadFiles("#cal-ics", []string{ics}, chromedp.ByQuery),
		waitJS(`document.querySelector("#cal-holidays").value.trim().split("\n").length === 33 && document.querySelector("#cal-working").value.includes("2026-10-10 国庆节 补班")`),
		click(`#calendar button[type="submit"]`),
		waitText("main h1", "Calendar cn"),
		chromedp.Navigate(srv.base+"/#/jobs/new"),
		chromedp.WaitVisible("#e-id", chromedp.ByQuery),
		chromedp.SendKeys("#e-id", "workday-report", chromedp.ByQuery),
		set("#k-task", "echo"),
		set("#t-tz", "Asia/Shanghai"),
		set("#t-expr", "0 9 * * *"),
		set("#t-cal", "cn"),
		set("#t-rule", "workdays"),
		waitText("#preview", "workdays of calendar cn"),
		// Ten fire times, none on a weekend: the calendar's rule is applied.
		waitJS(`(() => { const ts = [...document.querySelectorAll("#preview .fires time")];
			return ts.length === 10 && ts.every((x) => ![0, 6].includes(new Date(x.textContent.slice(0, 10) + "T00:00:00Z").getUTCDay())); })()`),
		shot("calendar-editor"),
		click(`#editor button[type="submit"]`),
		waitText("main h1", "workday-report"),
		chromedp.Navigate(srv.base+"/#/calendars/cn"),
		waitText("main", "workday-report"))
	var calJob struct {
		Trigger struct {
			Calendar struct {
				Name     string   `json:"name"`
				Rule     string   `json:"rule"`
				Holidays []string `json:"holidays"`
			} `json:"calendar"`
		} `json:"trigger"`
	}
	srv.call("GET", "/api/v1/jobs/workday-report", srv.token, nil, &calJob)
	if c := calJob.Trigger.Calendar; c.Name != "cn" || c.Rule != "workdays" || len(c.Holidays) != 33 {
		t.Errorf("the job saved from the editor has the calendar %+v, want cn, workdays, with its 33 holidays", c)
	}
	step("a broadcast job: its run is a shard, shown as such",
		chromedp.Navigate(srv.base+"/#/jobs/new"),
		chromedp.WaitVisible("#e-id", chromedp.ByQuery),
		chromedp.SendKeys("#e-id", "fanout", chromedp.ByQuery),
		set("#k-task", "echo"),
		set("#t-type", "none"),
		click("#o-broadcast"),
		click(`#editor button[type="submit"]`),
		waitText("main h1", "fanout"),
		click(`main .head button[data-act="run"]`),
		waitText("main", "shard 0 of 1"), // the run's page
		waitText("main .head .badge", "succeeded"),
		chromedp.Navigate(srv.base+"/#/jobs/fanout"),
		waitText("#runs", "shard 0 of 1"))

	step("pause and resume it from the list",
		chromedp.Navigate(srv.base+"/#/jobs"),
		waitText("#jobs", "Nightly report"),
		click(`#jobs button[data-act="pause"][data-id="nightly-report"]`),
		waitText("#jobs", "paused"),
		click(`#jobs button[data-act="resume"][data-id="nightly-report"]`),
		chromedp.WaitVisible(`#jobs button[data-act="pause"][data-id="nightly-report"]`, chromedp.ByQuery),
		// The schedule names its zone; the next fire, in the reader's
		// zone, shows the job's own on hover.
		waitText("#jobs", "At 03:00 (Europe/London)"),
		waitJS(`document.querySelector('#jobs a[href="#/jobs/nightly-report"]').closest("tr").querySelector("time").title.includes("(Europe/London)")`),
		shot("jobs"))

	// A long-running command, canceled from its run page; claimed and
	// started are shown apart.
	for _, job := range []map[string]any{
		{"id": "long-export", "task": "command", "args": map[string]any{"shell": true, "argv": []string{"echo export started; sleep 300"}},
			"trigger": "0 4 * * *", "tags": []string{"batch"}},
		{"id": "short-export", "task": "echo", "trigger": "0 5 * * *", "tags": []string{"batch"}},
	} {
		if code := srv.call("POST", "/api/v1/jobs", srv.token, job, nil); code != 201 {
			t.Fatalf("create %s = %d", job["id"], code)
		}
	}
	runStatus := func(id string) string {
		var r struct {
			Status string `json:"status"`
		}
		srv.call("GET", "/api/v1/runs/"+id, srv.token, nil, &r)
		return r.Status
	}
	// Confirmation dialogs answer yes, and say what they asked.
	stubConfirm := chromedp.Evaluate(`window.asked = []; window.confirm = (msg) => { window.asked.push(msg); return true; }`, nil)
	var runURL string
	var asked []string
	step("cancel a long-running command from its run page",
		chromedp.Navigate(srv.base+"/#/jobs/long-export"),
		waitText("main h1", "long-export"),
		click(`main .head button[data-act="run"]`),
		waitText("#output", "export started"),
		waitText("main .kv", "Claimed by a node"),
		waitText("main .kv", "Task started"),
		stubConfirm,
		chromedp.Location(&runURL),
		click(`main .head button[data-act="cancel-run"]`),
		waitText("main .head .badge", "canceled"),
		shot("run-canceled"))
	runID := runURL[strings.LastIndex(runURL, "/")+1:]
	if got := runStatus(runID); got != "canceled" {
		t.Errorf("the run canceled from its page is %q", got)
	}
	step("what the cancel asked", chromedp.Evaluate(`window.asked`, &asked))
	if len(asked) != 1 || !strings.Contains(asked[0], "long-export") {
		t.Errorf("the cancel asked %q", asked)
	}

	// Pausing a job with a run going on asks what to do with the run.
	var run struct {
		ID string `json:"id"`
	}
	srv.call("POST", "/api/v1/jobs/long-export/run", srv.token, nil, &run)
	waitFor(t, "the run to start", func() bool { return runStatus(run.ID) == "running" })
	step("pause a job with a run going on: asked, and the run canceled",
		chromedp.Navigate(srv.base+"/#/jobs/long-export"),
		waitText("main h1", "long-export"),
		click(`main .head button[data-act="pause"]`),
		chromedp.WaitVisible("dialog.ask", chromedp.ByQuery),
		waitText("dialog.ask", run.ID),
		waitText("dialog.ask", "running"),
		shot("pause-ask"),
		click(`dialog.ask button[value="cancel"]`),
		chromedp.WaitVisible(`main .head button[data-act="resume"]`, chromedp.ByQuery))
	waitFor(t, "the run to be canceled", func() bool { return runStatus(run.ID) == "canceled" })

	jobPaused := func(id string) bool {
		var j struct {
			Paused bool `json:"paused"`
		}
		srv.call("GET", "/api/v1/jobs/"+id, srv.token, nil, &j)
		return j.Paused
	}
	step("pause and resume the jobs of a tag at once",
		chromedp.Navigate(srv.base+"/#/jobs"),
		waitText("#jobs", "short-export"),
		stubConfirm,
		set("#f-tag", "batch"),
		waitText("#bulk", "batch"),
		waitText("#bulk", "2"),
		click(`#bulk button[data-bulk="pause"]`),
		waitText("#toasts", "1 changed, 1 unchanged"))
	if !jobPaused("short-export") || !jobPaused("long-export") || jobPaused("nightly-report") {
		t.Errorf("after pausing tag batch: short-export %v, long-export %v, nightly-report %v", jobPaused("short-export"), jobPaused("long-export"), jobPaused("nightly-report"))
	}
	step("resume them",
		click(`#bulk button[data-bulk="resume"]`),
		waitText("#toasts", "2 changed"),
		set("#f-tag", ""),
		chromedp.WaitNotPresent(`#bulk:not([hidden])`, chromedp.ByQuery))
	if jobPaused("short-export") || jobPaused("long-export") {
		t.Error("the jobs of tag batch are still paused")
	}

	// Export the jobs of a tag to a file, add a job to the file and import
	// it: a dry run that changes nothing, then Apply.
	downloads := t.TempDir()
	var exported []string
	step("export the jobs of tag batch: a file is downloaded",
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads),
		chromedp.Navigate(srv.base+"/#/jobs"),
		click("#transfer-link"),
		waitText("main h1", "Export and import"),
		set("#x-tag", "batch"),
		click(`#export-form button[type="submit"]`),
		waitText("#export-result", "Exported 2 jobs"),
		chromedp.ActionFunc(func(ctx context.Context) error {
			// The file is there once it is whole: Chromium may show it
			// by its name before it has written it.
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				exported, _ = filepath.Glob(filepath.Join(downloads, "sundial-jobs-*.json"))
				if len(exported) > 0 {
					if data, err := os.ReadFile(exported[0]); err == nil && json.Valid(data) {
						return nil
					}
				}
			}
			return fmt.Errorf("no whole export in %s: %v", downloads, exported)
		}))
	if name := filepath.Base(exported[0]); !regexp.MustCompile(`^sundial-jobs-batch-\d{4}-\d{2}-\d{2}\.json$`).MatchString(name) {
		t.Errorf("the export is named %q, want sundial-jobs-batch-<date>.json", name)
	}
	var doc struct {
		Format int              `json:"sundial_export"`
		Jobs   []map[string]any `json:"jobs"`
	}
	data, _ := os.ReadFile(exported[0])
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("the export is not JSON: %v\n%s", err, data)
	}
	var ids []string
	for _, j := range doc.Jobs {
		ids = append(ids, fmt.Sprint(j["id"]))
	}
	slices.Sort(ids)
	if doc.Format != 1 || !slices.Equal(ids, []string{"long-export", "short-export"}) {
		t.Errorf("the export has format %d and jobs %v, want 1 and the jobs of tag batch", doc.Format, ids)
	}
	doc.Jobs = append(doc.Jobs, map[string]any{"id": "imported-report", "task": "echo", "trigger": "0 6 * * *", "tags": []string{"imported"}})
	data, _ = json.Marshal(doc)
	toImport := filepath.Join(dir, "import.json")
	os.WriteFile(toImport, data, 0o644)
	notJSON := filepath.Join(dir, "jobs.yaml")
	os.WriteFile(notJSON, []byte("jobs:\n  - id: x\n"), 0o644)
	noID := filepath.Join(dir, "no-id.json")
	os.WriteFile(noID, []byte(`{"jobs": [{"task": "echo", "trigger": "0 6 * * *"}]}`), 0o644)
	jobStatus := func(id string) int { return srv.call("GET", "/api/v1/jobs/"+id, srv.token, nil, nil) }

	step("import: a YAML file and a job without an ID are refused, clearly",
		chromedp.SetUploadFiles("#im-file", []string{notJSON}, chromedp.ByQuery),
		click("#im-check"),
		waitText("#im-error", "not JSON"),
		chromedp.SetUploadFiles("#im-file", []string{noID}, chromedp.ByQuery),
		click("#im-check"),
		waitText("#im-error", "jobs[0].id"),
		shot("transfer-error"),
		waitJS(`document.querySelector("#im-apply").disabled`))
	step("import: the dry run reports one job to create and changes nothing",
		chromedp.SetUploadFiles("#im-file", []string{toImport}, chromedp.ByQuery),
		waitJS(`document.querySelector("#im-error").hidden`),
		click("#im-check"),
		waitText("#im-title", "Dry run"),
		waitJS(`!!document.querySelector('#im-items tr[data-id="imported-report"][data-action="created"]')`),
		waitJS(`!!document.querySelector('#im-items tr[data-id="short-export"][data-action="unchanged"]')`),
		waitJS(`!document.querySelector("#im-apply").disabled`),
		shot("transfer"))
	if code := jobStatus("imported-report"); code != 404 {
		t.Errorf("after the dry run, GET the imported job = %d, want 404", code)
	}
	step("import: Apply",
		click("#im-apply"),
		waitText("#im-title", "Imported"),
		waitJS(`!!document.querySelector('#im-items tr[data-id="imported-report"][data-action="created"] a')`),
		waitJS(`document.querySelector("#im-apply").disabled`))
	var imported struct {
		Task string   `json:"task"`
		Tags []string `json:"tags"`
	}
	if code := srv.call("GET", "/api/v1/jobs/imported-report", srv.token, nil, &imported); code != 200 || imported.Task != "echo" || !slices.Equal(imported.Tags, []string{"imported"}) {
		t.Errorf("after Apply, GET the imported job = %d %+v", code, imported)
	}

	step("pause scheduling on every node: a banner on every page, and its Resume clears it",
		chromedp.Navigate(srv.base+"/#/nodes"),
		waitText("#scheduler", "Scheduling on every node"),
		stubConfirm,
		click(`#scheduler button[data-act="scheduler-pause"]`),
		waitText("#banner", "Scheduling is paused on every node"),
		chromedp.Reload(),
		waitText("main h1", "Nodes"),
		waitText("#banner", "Scheduling is paused on every node"),
		chromedp.Navigate(srv.base+"/#/jobs"),
		waitText("#jobs", "short-export"),
		waitText("#banner", "paused"),
		shot("paused"),
		click(`#banner button[data-act="scheduler-resume"]`),
		chromedp.WaitNotVisible("#banner", chromedp.ByQuery))
	var sched struct {
		Paused bool `json:"paused"`
	}
	srv.call("GET", "/api/v1/scheduler", srv.token, nil, &sched)
	if sched.Paused {
		t.Error("the scheduler is still paused after the banner's Resume")
	}

	// Workers: a job names a worker's task ahead of its worker and waits;
	// a worker session serves it and runs it; the Workers page shows both.
	var wtok struct {
		Token string `json:"token"`
	}
	if code := srv.call("POST", "/api/v1/tokens", srv.token, map[string]string{"name": "billing", "role": "worker"}, &wtok); code != 201 {
		t.Fatalf("create a worker token = %d", code)
	}
	step("no worker yet: the Workers page says how to start one",
		chromedp.Navigate(srv.base+"/#/workers"),
		waitText("main h1", "Workers"),
		waitText("#workers-empty", "sundial token create --name NAME --role worker"),
		waitText("#workers-empty", "flask --app app sundial worker"),
		waitText("#worker-tasks", "No worker tasks yet"),
		shot("workers-empty"))
	step("a job of a worker task no worker has served: refused, then declared from the editor",
		chromedp.Navigate(srv.base+"/#/jobs/new"),
		chromedp.WaitVisible("#e-id", chromedp.ByQuery),
		chromedp.SendKeys("#e-id", "weekly-mail", chromedp.ByQuery),
		waitJS(`document.querySelector('[data-for="k-wtask"]').hidden`),
		set("#k-task", ""), // Worker task…
		waitJS(`!document.querySelector('[data-for="k-wtask"]').hidden && !document.querySelector('[data-for="o-args"]').closest(".kind").hidden`),
		set("#k-wtask", "send_report"),
		set("#o-args", `{"to": "ops"}`),
		click(`#editor button[type="submit"]`),
		waitText("#form-error", "no worker has served"),
		waitText("#err-k-declare", "Tick this"),
		shot("editor-worker-task"),
		click("#k-declare"),
		click(`#editor button[type="submit"]`),
		waitText("main h1", "weekly-mail"),
		waitText("#job-waiting", "No live worker serves the task send_report"),
		waitJS(`document.querySelector("#job-waiting .st-waiting").title.includes("no live worker serves task")`),
		shot("job-waiting"),
		chromedp.Navigate(srv.base+"/#/jobs"),
		waitText("#jobs", "weekly-mail"),
		waitJS(`!!document.querySelector('#jobs a[href="#/jobs/weekly-mail"]').closest("tr").querySelector(".st-waiting")`),
		chromedp.Navigate(srv.base+"/#/workers"),
		waitText(`#worker-tasks tr[data-task="send_report"]`, "no live worker"),
		waitText(`#worker-tasks tr[data-task="send_report"]`, "weekly-mail"))
	var mail struct {
		Task    string `json:"task"`
		Args    map[string]string
		Waiting string `json:"waiting"`
	}
	if srv.call("GET", "/api/v1/jobs/weekly-mail", srv.token, nil, &mail); mail.Task != "send_report" || mail.Args["to"] != "ops" || mail.Waiting == "" {
		t.Errorf("the job declared from the editor is %+v, want task send_report, its args, and waiting", mail)
	}

	// What a worker says about itself is shown as text, never as markup.
	const hostile = `<img src=x onerror="window.pwned=1">`
	var sess struct {
		Session string `json:"session"`
	}
	if code := srv.call("POST", "/api/v1/worker/sessions", wtok.Token, map[string]any{"name": "w1", "tasks": []string{"send_report", hostile},
		"capacity": 4, "host": "web-7", "pid": 4242, "version": hostile}, &sess); code != 201 {
		t.Fatalf("open a worker session = %d", code)
	}
	worker := func(what, path string, body, out any) {
		t.Helper()
		if code := srv.call("POST", "/api/v1/worker/sessions/"+url.PathEscape(sess.Session)+path, wtok.Token, body, out); code != 200 {
			t.Fatalf("%s = %d", what, code)
		}
	}
	step("the Workers page shows the live session and who serves the task",
		chromedp.Navigate(srv.base+"/#/"),
		waitText("main h1", "Dashboard"),
		chromedp.Navigate(srv.base+"/#/workers"),
		waitJS(`document.querySelector('#worker-sessions tr[data-worker="w1"]')?.dataset.state === "live"`),
		waitText(`#worker-sessions tr[data-worker="w1"]`, "0 / 4"),
		waitText(`#worker-sessions tr[data-worker="w1"]`, "web-7:4242"),
		waitText(`#worker-sessions tr[data-worker="w1"]`, hostile),
		waitText(`#worker-tasks tr[data-task="send_report"]`, "w1"),
		waitJS(`!document.querySelector("main img") && window.pwned === undefined`),
		shot("workers"),
		chromedp.Navigate(srv.base+"/#/jobs/weekly-mail"),
		waitText("main h1", "weekly-mail"),
		waitJS(`!document.querySelector("#job-waiting, main .st-waiting")`))
	var runPath string
	step("run it now: the run waits for the worker",
		click(`main .head button[data-act="run"]`),
		waitJS(`location.hash.startsWith("#/runs/")`),
		waitText("main h1", "Run of weekly-mail"),
		chromedp.Location(&runPath))
	worker("heartbeat", "/heartbeat", map[string]any{"runs": []string{}}, nil)
	var claimed struct {
		Runs []struct {
			ID      string `json:"id"`
			Attempt int    `json:"attempt"`
		} `json:"runs"`
	}
	worker("claim", "/claim", map[string]any{"limit": 1, "wait_ms": 10000}, &claimed)
	if len(claimed.Runs) != 1 || !strings.HasSuffix(runPath, "/"+claimed.Runs[0].ID) {
		t.Fatalf("the worker claimed %+v, want the run of %s", claimed.Runs, runPath)
	}
	worker("finish", "/runs/"+claimed.Runs[0].ID+"/finish", map[string]any{"attempt": claimed.Runs[0].Attempt, "status": "succeeded", "output": "sent to ops"}, nil)
	step("the run page names the worker that ran it, and links to the Workers page",
		waitText("main .head .badge", "succeeded"),
		waitText("#output", "sent to ops"),
		waitText("#run-node", "worker w1"),
		waitJS(`document.querySelector("#run-node a").getAttribute("href") === "#/workers"`),
		shot("run-worker"))
	if code := srv.call("DELETE", "/api/v1/worker/sessions/"+url.PathEscape(sess.Session), wtok.Token, nil, nil); code != 204 {
		t.Fatalf("close the worker session = %d", code)
	}
	step("the worker stopped: shown stopped, and the job waits again",
		chromedp.Navigate(srv.base+"/#/workers"),
		waitJS(`document.querySelector('#worker-sessions tr[data-worker="w1"]')?.dataset.state === "stopped"`),
		waitText(`#worker-tasks tr[data-task="send_report"]`, "no live worker"),
		chromedp.Navigate(srv.base+"/#/jobs/weekly-mail"),
		waitText("#job-waiting", "send_report"),
		// The editor offers the worker task the server knows, and keeps it.
		chromedp.Navigate(srv.base+"/#/jobs/weekly-mail/edit"),
		chromedp.WaitVisible("#e-id", chromedp.ByQuery),
		waitJS(`document.querySelector("#k-task").value === "send_report" && document.querySelector('[data-for="k-wtask"]').hidden`),
		set("#e-name", "Weekly mail"),
		click(`#editor button[type="submit"]`),
		waitText("main h1", "Weekly mail"))
	mail.Args = nil
	if srv.call("GET", "/api/v1/jobs/weekly-mail", srv.token, nil, &mail); mail.Task != "send_report" || mail.Args["to"] != "ops" {
		t.Errorf("the worker task's job edited in the editor is %+v, want task send_report and its args", mail)
	}

	// Typing while events keep arriving: runs of an echo job, one every
	// 150 ms, each a few events. Live updates refresh the page at least
	// every couple of seconds all the while (a debounce would wait for a
	// pause that never comes), and a refresh keeps what is being typed,
	// and the focus.
	stopEvents := make(chan struct{})
	eventsDone := make(chan struct{})
	go func() {
		defer close(eventsDone)
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopEvents:
				return
			case <-tick.C:
				req, _ := http.NewRequest("POST", srv.base+"/api/v1/jobs/hourly/run", nil)
				req.Header.Set("Authorization", "Bearer "+srv.token)
				req.Header.Set("Content-Type", "application/json")
				if res, err := srv.client.Do(req); err == nil {
					res.Body.Close()
				}
			}
		}
	}()
	// refreshes waits for two refreshes of the page by live updates, and
	// says how long they took.
	refreshes := func(what string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var took float64
			err := chromedp.Run(ctx,
				chromedp.Evaluate(`window.n0 = +(document.querySelector("main").dataset.refreshes || 0); window.t0 = performance.now()`, nil),
				waitJS(`+(document.querySelector("main").dataset.refreshes || 0) >= window.n0 + 2`),
				chromedp.Evaluate(`performance.now() - window.t0`, &took))
			if err == nil && took > 8000 {
				t.Errorf("%s: two refreshes took %.1f s while events kept coming; want a refresh every couple of seconds", what, took/1000)
			}
			return err
		})
	}
	typed := func(sel, want string) chromedp.Action {
		return waitJS(fmt.Sprintf(`document.querySelector(%q).value === %q && document.activeElement === document.querySelector(%q)`, sel, want, sel))
	}
	step("type a script's name while events arrive: refreshes keep it, and the focus",
		chromedp.Navigate(srv.base+"/#/scripts"),
		chromedp.WaitVisible("#ns-name", chromedp.ByQuery),
		chromedp.Focus("#ns-name", chromedp.ByQuery),
		chromedp.SendKeys("#ns-name", "week", chromedp.ByQuery),
		refreshes("the Scripts page"),
		typed("#ns-name", "week"),
		chromedp.SendKeys("#ns-name", "ly-report", chromedp.ByQuery),
		refreshes("the Scripts page"),
		typed("#ns-name", "weekly-report"))
	step("fill in the job editor while events arrive: nothing typed is lost",
		chromedp.Navigate(srv.base+"/#/jobs/new"),
		chromedp.WaitVisible("#e-id", chromedp.ByQuery),
		chromedp.SendKeys("#e-id", "weekly", chromedp.ByQuery),
		chromedp.SendKeys("#e-name", "Weekly", chromedp.ByQuery),
		set("#t-expr", "0 8 * * 1"),
		waitText("#preview", "08:00"),
		refreshes("the editor"),
		chromedp.SendKeys("#e-name", " mail", chromedp.ByQuery),
		refreshes("the editor"),
		typed("#e-name", "Weekly mail"),
		waitJS(`document.querySelector("#e-id").value === "weekly" && document.querySelector("#t-expr").value === "0 8 * * 1"`),
		waitText("#preview", "08:00"))
	close(stopEvents)
	<-eventsDone

	setSource := func(src string) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`document.querySelector(".CodeMirror").CodeMirror.setValue(%q)`, src), nil)
	}
	step("upload a script, change it, roll it back",
		chromedp.Navigate(srv.base+"/#/scripts"),
		chromedp.WaitVisible("#ns-name", chromedp.ByQuery),
		// In one step of the page's script: a refresh may replace the
		// input between finding it and typing into it.
		set("#ns-name", "report"),
		click("#new-script button"),
		chromedp.WaitVisible(".CodeMirror", chromedp.ByQuery),
		setSource("def run(days=1):\n    return {'days': days}\n"),
		click("#save"),
		waitText("main .head", "version 1"),
		setSource("def run(days=1):\n    return {'days': days * 2}\n"),
		click("#save"),
		waitText("main .head", "version 2"),
		click("#compare"),
		waitText("#diff", "days * 2"),
		// Confirmation dialogs answer yes, and say what they asked.
		chromedp.Evaluate(`window.asked = []; window.confirm = (msg) => { window.asked.push(msg); return true; }`, nil),
		click(`button[data-rollback="1"]`),
		waitText("main .head", "version 3"),
		waitText("main table", "rollback to version 1"),
		chromedp.SendKeys("#test-kwargs", `{"days": 7}`, chromedp.ByQuery),
		click("#test"),
		waitText("#test-result", `"days": 7`),
		click("#compare"),
		waitText("#diff", "- "),
		shot("script"))
	var source string
	asked = nil
	step("the rolled-back source", chromedp.Evaluate(`document.querySelector(".CodeMirror").CodeMirror.getValue()`, &source),
		chromedp.Evaluate(`window.asked`, &asked))
	if len(asked) != 1 || !strings.Contains(asked[0], "version 1") {
		t.Errorf("the rollback asked %q", asked)
	}
	if source != "def run(days=1):\n    return {'days': days}\n" {
		t.Errorf("source after the rollback = %q", source)
	}

	step("the other pages",
		chromedp.Navigate(srv.base+"/#/scripts"), waitText("main table", "report"), shot("scripts"),
		chromedp.Navigate(srv.base+"/#/nodes"), waitText("main table", "PID"), shot("nodes"),
		chromedp.Navigate(srv.base+"/#/settings"), waitText("main", "initial-admin"), shot("settings"),
		chromedp.Navigate(srv.base+"/#/"), waitText("main h1", "Dashboard"), waitText("main", "Nightly report"))

	step("switch to Simplified Chinese",
		set("#lang", "zh"),
		waitText("main h1", "仪表盘"),
		waitText("#nav", "任务"),
		shot("dashboard-zh"),
		chromedp.Navigate(srv.base+"/#/jobs"), waitText("main h1", "任务"), waitText("#jobs", "立即运行"),
		waitText("#jobs", "在 03:00"), shot("jobs-zh"))

	step("dark theme, on a phone",
		click("#theme"),
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(srv.base+"/#/"), waitText("main h1", "仪表盘"), shot("dashboard-phone-dark"))

	step("log out: the session ends, a reload asks to log in again",
		click("#logout"),
		chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.Navigate(srv.base+"/#/jobs"),
		chromedp.WaitVisible("#token", chromedp.ByQuery))

	// A viewer may export but not import: the page offers no import.
	var viewer struct {
		Token string `json:"token"`
	}
	if code := srv.call("POST", "/api/v1/tokens", srv.token, map[string]string{"name": "reader", "role": "viewer"}, &viewer); code != 201 {
		t.Fatalf("create a viewer token = %d", code)
	}
	step("a viewer: export, and no import",
		chromedp.SendKeys("#token", viewer.Token, chromedp.ByQuery),
		click("#login button[type=submit]"),
		waitText("#who", "reader"),
		chromedp.Navigate(srv.base+"/#/jobs"),
		chromedp.WaitVisible("#transfer-link", chromedp.ByQuery),
		click("#transfer-link"),
		chromedp.WaitVisible("#export-form", chromedp.ByQuery),
		waitJS(`!!document.querySelector("#im-adminonly") && !document.querySelector("#im-file, #im-check, #im-apply")`))
}

// uiBrowser is a headless Chromium driven by a test: steps that fail the
// test with a screenshot and the page, and the script errors of the page.
type uiBrowser struct {
	t     *testing.T
	ctx   context.Context
	shots string

	mu       sync.Mutex
	jsErrors []string
}

// newBrowser starts Chromium (or skips the test) for the test's life,
// writing screenshots to shots.
func newBrowser(t *testing.T, shots string) *uiBrowser {
	t.Helper()
	exe := chromium(t)
	os.MkdirAll(shots, 0o755)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900)) // chromedp makes a fresh profile and removes it once the browser has exited
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	// Start the browser in ctx itself: a step's shorter context ends its
	// actions, not the tab.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	b := &uiBrowser{t: t, ctx: ctx, shots: shots}
	// Script errors fail the test.
	chromedp.ListenTarget(ctx, func(ev any) {
		if ev, ok := ev.(*runtime.EventExceptionThrown); ok {
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.mu.Lock()
			b.jsErrors = append(b.jsErrors, msg)
			b.mu.Unlock()
		}
	})
	t.Cleanup(func() {
		if errs := b.scriptErrors(); len(errs) > 0 {
			t.Errorf("script errors in the page: %v", errs)
		}
	})
	return b
}

func (b *uiBrowser) scriptErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.jsErrors...)
}

// shot saves a screenshot of the page as shots/name.jpg.
func (b *uiBrowser) shot(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var buf []byte
		chromedp.Evaluate(`document.querySelector("#toasts").replaceChildren()`, nil).Do(ctx)
		if err := chromedp.FullScreenshot(&buf, 85).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(b.shots, name+".jpg"), buf, 0o644)
	})
}

// step runs actions, or fails the test with what the page shows.
func (b *uiBrowser) step(name string, actions ...chromedp.Action) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, actions...); err != nil {
		var html, toasts string
		chromedp.Run(b.ctx, b.shot("failure"), chromedp.OuterHTML("main", &html, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector("#toasts").innerText`, &toasts))
		b.t.Fatalf("%s: %v (script errors: %v)\ntoasts: %s\npage: %.2000s", name, err, b.scriptErrors(), toasts, html)
	}
}

// uiWaitText waits until the element sel shows text.
func uiWaitText(sel, text string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(20 * time.Second)
		var got string
		for time.Now().Before(deadline) {
			if err := chromedp.Run(ctx, chromedp.Text(sel, &got, chromedp.ByQuery, chromedp.AtLeast(0))); err == nil && strings.Contains(got, text) {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("%s never showed %q; it shows %q", sel, text, got)
	})
}

// uiSet changes a form control as a person would: the value, then the
// input and change events the page listens to.
func uiSet(sel, value string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q;
		el.dispatchEvent(new Event("input", {bubbles: true})); el.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel, value), nil)
}

// uiClick finds the element and clicks it in one step of the page's own
// script: the page re-renders on live updates, and a node found by one
// DevTools call may be gone by the next (chromedp.Click is two).
func uiClick(sel string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(20 * time.Second)
		for {
			var clicked bool
			if err := chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(`(() => { const el = document.querySelector(%q);
				if (!el || el.disabled) return false; el.scrollIntoView({block: "center"}); el.click(); return true; })()`, sel), &clicked)); err != nil {
				return err
			}
			if clicked {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("no %s to click", sel)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// uiWaitJS waits until a script expression of the page is true.
func uiWaitJS(expr string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(20 * time.Second)
		for {
			var ok bool
			if err := chromedp.Run(ctx, chromedp.Evaluate(expr, &ok)); err != nil {
				return err
			}
			if ok {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s never held", expr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// uiMoreCrossesARefresh presses the Load more button sel while a refresh
// of the page is under way (picking the language refetches the page), and
// holds the refresh's answer back until More's has come in: its call to
// loadOnly, a path that only the refresh asks for, waits for a gate. The
// refresh must not land with the rows shown when it started: rows must
// match want at once, not after a later refresh mends the list (the row
// the reader was at and the scroll would be gone by then).
func uiMoreCrossesARefresh(sel, loadOnly, rows string, want int) chromedp.Action {
	return chromedp.Tasks{
		chromedp.Evaluate(fmt.Sprintf(`(() => {
			const fetch0 = window.fetch;
			let open;
			const gate = new Promise((resolve) => (open = resolve));
			const settled = (flag) => (res) => {
				setTimeout(() => (window.crossed[flag] = true), 200);
				return res;
			};
			window.crossed = { open, restore: () => (window.fetch = fetch0) };
			window.fetch = (url, init) => {
				if (String(url).endsWith(%q)) return gate.then(() => fetch0(url, init)).then(settled("refreshIn"));
				if (String(url).includes("cursor=")) return fetch0(url, init).then(settled("moreIn"));
				return fetch0(url, init);
			};
			document.querySelector(%q).click();
			document.querySelector("#lang").dispatchEvent(new Event("change"));
		})()`, loadOnly, sel), nil),
		uiWaitJS(`window.crossed.moreIn === true`),
		chromedp.Evaluate(`window.crossed.open()`, nil),
		uiWaitJS(`window.crossed.refreshIn === true`),
		chromedp.Evaluate(`window.crossed.restore()`, nil),
		chromedp.ActionFunc(func(ctx context.Context) error {
			var n int
			if err := chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%q).length`, rows), &n).Do(ctx); err != nil {
				return err
			}
			if n != want {
				return fmt.Errorf("a refresh that crossed Load more shows %d rows, want %d", n, want)
			}
			return nil
		}),
	}
}

// TestWebUIUnderABasePath serves everything under /sundial and drives the
// UI there: the login link printed at the first start, the dashboard's
// counts against a store holding more than 1,000 runs of the last day
// (exact, from the server, not counted from a page of runs), and the job
// page, whose loaded pages of runs, open details and scroll position an
// in-place refresh keeps.
func TestWebUIUnderABasePath(t *testing.T) {
	shots := os.Getenv("SUNDIAL_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	db := filepath.Join(t.TempDir(), "s.db")
	srv := start(t, Config{DB: "sqlite:" + db, PollInterval: Duration(time.Second), BasePath: "/sundial/"}, Options{Version: "test"})
	const base = "/sundial"
	if link := srv.base + base + "/?token=" + srv.token; !strings.Contains(srv.out.String(), link) ||
		!strings.Contains(srv.out.String(), "SUNDIAL_SERVER="+srv.base+base+" ") {
		t.Fatalf("the first start prints no login link %s and server %s:\n%s", link, srv.base+base, srv.out)
	}

	// 1,200 runs of four jobs in the last 22 hours, a tenth failed and a
	// tenth timed out, written to the store the server uses.
	const jobs, runs = 4, 1200
	for i := range jobs {
		if code := srv.call("POST", base+"/api/v1/jobs", srv.token, map[string]any{"id": fmt.Sprintf("busy-%d", i), "task": "echo",
			"trigger": map[string]any{"type": "none"}}, nil); code != 201 {
			t.Fatalf("create busy-%d = %d", i, code)
		}
	}
	ctx := context.Background()
	st, _, closeStore, err := OpenStore(ctx, "sqlite:"+db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	want := map[sundial.RunStatus]int{}
	for i := range runs {
		status := sundial.StatusSucceeded
		switch i % 10 {
		case 0:
			status = sundial.StatusFailed
		case 5:
			status = sundial.StatusTimedOut
		}
		want[status]++
		at := now.Add(-time.Duration(i+1) * 65 * time.Second).Truncate(time.Second)
		started := at.Add(time.Second)
		if err := st.CreateRun(ctx, sundial.Run{ID: fmt.Sprintf("seed%05d", i), JobID: fmt.Sprintf("busy-%d", i%jobs), Task: "echo",
			ScheduledAt: at, ClaimedAt: at, StartedAt: started, EndedAt: started.Add(time.Duration(200+i%9*100) * time.Millisecond),
			Status: status, Attempt: 1, Node: "seed-node"}); err != nil {
			t.Fatalf("seed run %d: %v", i, err)
		}
	}
	closeStore()
	var stats struct {
		Total    int                       `json:"total"`
		ByStatus map[sundial.RunStatus]int `json:"by_status"`
	}
	if srv.call("GET", base+"/api/v1/stats?since=24h", srv.token, nil, &stats); stats.Total != runs ||
		stats.ByStatus[sundial.StatusFailed] != want[sundial.StatusFailed] || stats.ByStatus[sundial.StatusTimedOut] != want[sundial.StatusTimedOut] {
		t.Fatalf("GET /stats = %+v, want %d runs, %v", stats, runs, want)
	}
	failed := want[sundial.StatusFailed] + want[sundial.StatusTimedOut]

	b := newBrowser(t, shots)
	step, waitText, waitJS, click := b.step, uiWaitText, uiWaitJS, uiClick
	step("the login link, under the prefix",
		chromedp.Navigate(srv.base+base+"/?token="+srv.token),
		waitText("main h1", "Dashboard"),
		waitJS(`location.pathname === "/sundial/" && location.search === ""`),
		waitText("#who", "initial-admin"))
	step("the dashboard counts every run of the day, from the server",
		waitJS(fmt.Sprintf(`document.querySelector("#stat-runs24 .n")?.dataset.n === "%d" && document.querySelector("#stat-failed24 .n")?.dataset.n === "%d"`, runs, failed)),
		waitText("#stat-runs24", "1,200"),
		// Axis labels are hours, counts and durations with their unit: rounded.
		waitJS(`(() => { const labels = [...document.querySelectorAll("#charts text.axis")].map((x) => x.textContent);
			return labels.length > 10 && labels.every((x) => /^(\d\d:00|[\d,]+|\d+(\.\d)? (ms|s|min|h))$/.test(x)); })()`),
		b.shot("dashboard-busy"))
	var axis []string
	step("the axes", chromedp.Evaluate(`[...document.querySelectorAll("#charts text.axis")].filter((x) => !x.textContent.includes(":")).map((x) => x.textContent)`, &axis))
	// Runs take 0.2 to 1 s, about 0.6 s an hour on average: the axis's
	// top is the next round duration.
	if !slices.Contains(axis, "800 ms") && !slices.Contains(axis, "1 s") {
		t.Errorf("the chart axes read %q; want the durations' top at 800 ms or 1 s", axis)
	}

	// A hundred more jobs: the list shows a page of 100, and Load more the
	// rest (the busy ones sort last).
	for i := range 100 {
		if code := srv.call("POST", base+"/api/v1/jobs", srv.token, map[string]any{"id": fmt.Sprintf("bulk-%03d", i), "task": "echo",
			"trigger": map[string]any{"type": "none"}}, nil); code != 201 {
			t.Fatalf("create bulk-%03d = %d", i, code)
		}
	}
	step("the jobs list pages: Load more, and the search among the jobs loaded",
		chromedp.Navigate(srv.base+base+"/#/jobs"),
		waitText("#jobs", "bulk-099"),
		waitJS(`document.querySelectorAll("#jobs tbody tr").length === 100 && !document.querySelector("#jobs").textContent.includes("busy-0")`),
		uiMoreCrossesARefresh("#jobs-more", "api/v1/runs?limit=500", "#jobs tbody tr", 104),
		waitText("#jobs", "busy-3"),
		waitJS(`document.querySelectorAll("#jobs tbody tr").length === 104 && !document.querySelector("#jobs-more")`),
		uiSet("#f-q", "busy"),
		waitJS(`document.querySelectorAll("#jobs tbody tr").length === 4`))
	step("a job's page, under the prefix",
		chromedp.Navigate(srv.base+base+"/#/jobs/busy-0"),
		waitJS(`document.querySelectorAll("#runs tr").length === 50`),
		uiMoreCrossesARefresh("#more", "api/v1/status", "#runs tr", 100),
		// What a reader does on the page: a row to come back to, the
		// definition opened, the page scrolled down.
		chromedp.Evaluate(`document.querySelectorAll("#runs tr")[79].dataset.mark = "kept";
			document.querySelector("#job-definition").open = true;
			window.scrollTo(0, document.body.scrollHeight); window.y0 = window.scrollY; window.y0 > 0`, nil))
	var run struct {
		ID string `json:"id"`
	}
	if code := srv.call("POST", base+"/api/v1/jobs/busy-0/run", srv.token, nil, &run); code != 202 && code != 201 {
		t.Fatalf("run busy-0 = %d", code)
	}
	step("a refresh brings the new run in place: the pages loaded, the row, the details and the scroll stay",
		waitJS(fmt.Sprintf(`document.querySelector("#runs tr")?.dataset.run === %q`, run.ID)),
		waitJS(`document.querySelectorAll("#runs tr").length === 100 && !!document.querySelector('#runs tr[data-mark="kept"]') &&
			document.querySelector("#job-definition").open && window.scrollY > window.y0 - 100`),
		click("#more"),
		waitJS(`document.querySelectorAll("#runs tr").length === 150`))

	// Live updates paused: a run ends and the page stays as it was, also
	// after a reload (the choice is kept); resumed, the page catches up.
	step("pause live updates",
		click("#live"),
		waitText("#live", "Updates paused"),
		waitJS(`localStorage.getItem("sundial-live") === "paused" && document.querySelector("#live").getAttribute("aria-pressed") === "true"`),
		chromedp.Evaluate(`window.first = document.querySelector("#runs tr").dataset.run;
			window.r0 = +(document.querySelector("main").dataset.refreshes || 0); window.t0 = performance.now()`, nil))
	var paused struct {
		ID string `json:"id"`
	}
	srv.call("POST", base+"/api/v1/jobs/busy-0/run", srv.token, nil, &paused)
	waitFor(t, "the run to end", func() bool {
		var r struct {
			Status string `json:"status"`
		}
		srv.call("GET", base+"/api/v1/runs/"+paused.ID, srv.token, nil, &r)
		return r.Status == "succeeded"
	})
	var still bool
	step("paused: the page does not change",
		// Longer than a refresh takes while live (0.4 s after an event).
		waitJS(`performance.now() - window.t0 > 3000`),
		chromedp.Evaluate(`document.querySelector("#runs tr").dataset.run === window.first && +(document.querySelector("main").dataset.refreshes || 0) === window.r0`, &still))
	if !still {
		t.Error("the job page refreshed while live updates were paused")
	}
	step("paused after a reload too; resumed, the page catches up",
		chromedp.Reload(),
		waitText("#live", "Updates paused"),
		waitJS(fmt.Sprintf(`document.querySelector("#runs tr")?.dataset.run === %q`, paused.ID)),
		click("#live"),
		waitText("#live", "Live"),
		waitJS(`localStorage.getItem("sundial-live") === null && document.querySelector("#live").getAttribute("aria-pressed") === "false"`))
}
