package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/internal/jobdoc"
	"github.com/sundialhq/sundial/internal/transfer"
	"github.com/sundialhq/sundial/trigger"
)

// transferServer is an API server that also runs scripts (by name), so
// that script jobs can be stored.
func transferServer(t *testing.T) *apiServer {
	a := newAPIServer(t)
	a.s.Register("script", func(context.Context, sundial.Run) (any, error) { return nil, nil })
	return a
}

func (a *apiServer) pushScript(name, source string) admin.Script {
	a.t.Helper()
	sum := sha256.Sum256([]byte(source))
	sc, err := a.records.AddScriptVersion(context.Background(), admin.Script{Name: name, Lang: "sh", Source: source,
		Checksum: hex.EncodeToString(sum[:]), Author: "test", CreatedAt: time.Now()})
	if err != nil {
		a.t.Fatal(err)
	}
	return sc
}

func (a *apiServer) addJob(j sundial.Job) {
	a.t.Helper()
	if _, err := a.s.AddJob(context.Background(), j); err != nil {
		a.t.Fatalf("AddJob(%s): %v", j.ID, err)
	}
}

// docsOf returns the server's jobs as documents, by ID.
func (a *apiServer) docsOf() map[string]string {
	a.t.Helper()
	jobs, err := a.s.Jobs(context.Background(), sundial.JobFilter{})
	if err != nil {
		a.t.Fatal(err)
	}
	out := map[string]string{}
	for _, j := range jobs {
		b, _ := json.Marshal(jobdoc.FromJob(j))
		out[j.ID] = string(b)
	}
	return out
}

func TestExportImportRoundTrip(t *testing.T) {
	from := transferServer(t)
	from.pushScript("report.sh", "echo v1\n")
	from.pushScript("report.sh", "echo v2\necho more\n")
	from.pushScript("report.sh", "echo v3\n")
	from.addJob(sundial.Job{ID: "nightly", Name: "Nightly", Task: "echo", Tags: []string{"etl"}, Queue: "batch",
		Trigger: trigger.CronExpr("0 3 * * *", trigger.InZone("Europe/Berlin")), Args: json.RawMessage(`{"say":"hi","secrets":["db_pass"]}`),
		Options: sundial.JobOptions{MaxAttempts: 3, Timeout: 90 * time.Second}})
	from.addJob(sundial.Job{ID: "every", Task: "echo", Trigger: trigger.Every(90 * time.Minute)})
	if _, err := from.s.AddCalendar(context.Background(), sundial.Calendar{Name: "cn", Description: "节假日",
		Holidays: []sundial.CalendarDay{{Date: "2026-10-01", Name: "国庆节"}}, WorkingDays: []sundial.CalendarDay{{Date: "2026-10-10"}}}); err != nil {
		t.Fatal(err)
	}
	workdays := trigger.CronExpr("0 9 * * *", trigger.InZone("Asia/Shanghai"))
	workdays.Calendar = &trigger.DayCalendar{Name: "cn", Rule: trigger.Workdays}
	from.addJob(sundial.Job{ID: "workday", Task: "echo", Trigger: workdays})
	from.addJob(sundial.Job{ID: "pinned", Task: "script", Trigger: trigger.CronExpr("*/5 * * * *"), Args: json.RawMessage(`{"script":"report.sh","version":2}`)})
	from.addJob(sundial.Job{ID: "latest", Task: "script", Trigger: trigger.CronExpr("*/5 * * * *"), Args: json.RawMessage(`{"script":"report.sh"}`), Paused: true})
	if _, err := from.s.PauseJob(context.Background(), "latest"); err != nil {
		t.Fatal(err)
	}
	exported := from.mustCLI(admin.RoleViewer, "jobs", "export")
	if strings.Contains(exported, "created_at") || !strings.Contains(exported, "echo v2\n") || !strings.Contains(exported, "- db_pass") ||
		!strings.Contains(exported, "国庆节") || strings.Count(exported, "2026-10-01") != 1 {
		t.Fatalf("export:\n%s", exported)
	}
	file := filepath.Join(t.TempDir(), "jobs.yaml")
	if err := os.WriteFile(file, []byte(exported), 0o600); err != nil {
		t.Fatal(err)
	}

	to := transferServer(t)
	dry := to.mustCLI(admin.RoleAdmin, "jobs", "import", file, "--dry-run")
	if !strings.Contains(dry, "dry run, nothing changed: calendars: 1 created; jobs: 5 created; scripts: 2 created; secrets: 1 missing") || len(to.docsOf()) != 0 {
		t.Fatalf("dry run:\n%s\njobs after it: %v", dry, to.docsOf())
	}
	if out := to.mustCLI(admin.RoleAdmin, "jobs", "import", file); !strings.Contains(out, "calendars: 1 created; jobs: 5 created; scripts: 2 created; secrets: 1 missing") {
		t.Fatalf("import:\n%s", out)
	}
	// The same jobs, except that the pin follows the text: the new server
	// numbers its versions from 1.
	want, got := from.docsOf(), to.docsOf()
	want["pinned"] = strings.Replace(want["pinned"], `"version":2`, `"version":1`, 1)
	for id, w := range want {
		if got[id] != w {
			t.Errorf("job %s after the round trip:\n got %s\nwant %s", id, got[id], w)
		}
	}
	if sc, err := to.records.GetScript(context.Background(), "report.sh", 1); err != nil || sc.Source != "echo v2\necho more\n" {
		t.Errorf("the pinned version's text on the new server: %q, %v", sc.Source, err)
	}
	if j, err := to.s.Job(context.Background(), "latest"); err != nil || !j.Paused {
		t.Errorf("a paused job imports paused: %+v, %v", j.Paused, err)
	}

	// Importing again changes nothing; a changed job is skipped unless
	// replacing, and then updated.
	if out := to.mustCLI(admin.RoleAdmin, "jobs", "import", file); !strings.Contains(out, "calendars: 1 unchanged; jobs: 5 unchanged; scripts: 2 unchanged") {
		t.Fatalf("second import:\n%s", out)
	}
	changed := strings.Replace(exported, "0 3 * * *", "0 4 * * *", 1)
	if err := os.WriteFile(file, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := to.mustCLI(admin.RoleAdmin, "jobs", "import", file); !strings.Contains(out, "jobs: 1 skipped, 4 unchanged") {
		t.Fatalf("import of a changed job without --replace:\n%s", out)
	}
	if out := to.mustCLI(admin.RoleAdmin, "jobs", "import", file, "--replace"); !strings.Contains(out, "jobs: 4 unchanged, 1 updated") {
		t.Fatalf("import with --replace:\n%s", out)
	}
	if j, _ := to.s.Job(context.Background(), "nightly"); j.Trigger.Expr != "0 4 * * *" {
		t.Errorf("replaced job's trigger: %+v", j.Trigger)
	}
}

// TestListOutputImports: what `jobs list --json` prints is accepted by
// `jobs add -f` and by `jobs import`.
func TestListOutputImports(t *testing.T) {
	from := transferServer(t)
	from.addJob(sundial.Job{ID: "a", Task: "echo", Trigger: trigger.CronExpr("0 9 * * 1-5")})
	from.addJob(sundial.Job{ID: "b", Task: "echo", Trigger: trigger.Every(time.Hour), Tags: []string{"x"}})
	listed := from.mustCLI(admin.RoleViewer, "jobs", "list", "--json")
	file := filepath.Join(t.TempDir(), "list.json")
	if err := os.WriteFile(file, []byte(listed), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, verb := range [][]string{{"add", "-f"}, {"import"}} {
		to := transferServer(t)
		to.mustCLI(admin.RoleAdmin, append(append([]string{"jobs"}, verb...), file)...)
		want, got := from.docsOf(), to.docsOf()
		for id, w := range want {
			if got[id] != w {
				t.Errorf("jobs %s: job %s:\n got %s\nwant %s", verb[0], id, got[id], w)
			}
		}
	}
}

// TestImportRefusesBadDocuments: every job is checked before anything
// changes, and the error names the job's place and field.
func TestImportRefusesBadDocuments(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"bad trigger", `{"sundial_export": 1, "jobs": [{"id": "ok", "task": "echo", "trigger": "* * * * *"}, {"id": "x", "task": "echo", "trigger": "61 * * * *"}]}`, `jobs[1].trigger`},
		{"no id", `{"jobs": [{"task": "echo", "trigger": "* * * * *"}]}`, "jobs[0].id: is required"},
		{"twice", `[{"id": "a", "task": "echo", "trigger": "* * * * *"}, {"id": "a", "task": "echo", "trigger": "* * * * *"}]`, `[1].id: "a" appears twice`},
		{"newer format", `{"sundial_export": 2, "jobs": []}`, "sundial_export: format 2 is newer"},
		{"unknown field", `{"jobs": [{"id": "a", "task": "echo", "trigger": "* * * * *", "colour": "red"}]}`, "jobs[0].colour"},
		{"empty", `{"sundial_export": 1, "jobs": []}`, "nothing to import"},
		{"bad member", `{"sundial_export": 1, "jobs": "x"}`, "jobs:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := transfer.Read([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Read: %v, want an error containing %q", err, tc.want)
			}
			a := transferServer(t)
			file := filepath.Join(t.TempDir(), "bad.json")
			if err := os.WriteFile(file, []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			if code, _, errOut := a.cli(admin.RoleAdmin, "jobs", "import", file); code == ExitOK || !strings.Contains(errOut, tc.want) {
				t.Errorf("import exit %d, stderr %q; want a failure naming %q", code, errOut, tc.want)
			}
			if len(a.docsOf()) != 0 {
				t.Errorf("a refused import stored jobs: %v", a.docsOf())
			}
		})
	}
}

// TestBackfillAndRetryCommands drives a backfill and a retry end to end:
// CLI, API, scheduler.
func TestBackfillAndRetryCommands(t *testing.T) {
	a := newAPIServer(t)
	a.addJob(sundial.Job{ID: "report", Task: "echo", Trigger: trigger.CronExpr("0 * * * *")})
	now := time.Now().UTC().Truncate(time.Hour)
	from, to := now.Add(-5*time.Hour).Format(time.RFC3339), now.Add(-time.Hour).Format(time.RFC3339)
	out := a.mustCLI(admin.RoleOperator, "jobs", "backfill", "report", "--from", from, "--to", to, "--max-concurrent", "2", "--wait")
	if !strings.Contains(out, "5 runs recorded, 0 fires skipped") || !strings.Contains(out, "5 runs: 5 succeeded") {
		t.Fatalf("backfill --wait:\n%s", out)
	}
	id := strings.Fields(strings.SplitN(out, "backfill ", 2)[1])[0]
	listed := a.mustCLI(admin.RoleViewer, "runs", "list", "--backfill", id, "--json")
	var page httpapi.RunList
	if err := json.Unmarshal([]byte(listed), &page); err != nil || len(page.Runs) != 5 {
		t.Fatalf("runs list --backfill: %v\n%s", err, listed)
	}
	runs := page.Runs
	if !runs[0].ScheduledAt.Equal(now.Add(-time.Hour)) || !runs[4].ScheduledAt.Equal(now.Add(-5*time.Hour)) {
		t.Errorf("backfilled fires: newest %s, oldest %s", runs[0].ScheduledAt, runs[4].ScheduledAt)
	}
	again := a.mustCLI(admin.RoleOperator, "jobs", "backfill", "report", "--from", from, "--to", to)
	if !strings.Contains(again, "0 runs recorded, 5 fires skipped") {
		t.Errorf("a second backfill of the range:\n%s", again)
	}
	retried := a.mustCLI(admin.RoleOperator, "runs", "retry", runs[2].ID, "--wait")
	if !strings.Contains(retried, "attempt 2 of job report's fire") || !strings.Contains(retried, "succeeded") {
		t.Errorf("runs retry --wait:\n%s", retried)
	}
	if out := a.mustCLI(admin.RoleOperator, "runs", "cancel", "--backfill", id); !strings.Contains(out, "0 runs canceled") {
		t.Errorf("cancel of an ended backfill:\n%s", out)
	}
	if code, _, errOut := a.cli(admin.RoleOperator, "jobs", "backfill", "report", "--from", to, "--to", from); code != ExitUsage || !strings.Contains(errOut, `"to"`) {
		t.Errorf("a backward range: exit %d, %s", code, errOut)
	}
	if code, _, _ := a.cli(admin.RoleViewer, "jobs", "backfill", "report", "--from", from, "--to", to); code != ExitAuth {
		t.Errorf("a viewer's backfill: exit %d, want %d", code, ExitAuth)
	}
}

// TestLibraryExportImports: what a Go program's Scheduler.Export writes,
// `sundial jobs import` reads, and a server's export reads back into a
// program (Scheduler.Import) as the same definitions.
func TestLibraryExportImports(t *testing.T) {
	from := transferServer(t)
	if _, err := from.s.AddCalendar(context.Background(), sundial.Calendar{Name: "cn", Holidays: []sundial.CalendarDay{{Date: "2026-10-01"}}}); err != nil {
		t.Fatal(err)
	}
	spec := trigger.CronExpr("0 9 * * *", trigger.OnCalendar("cn", trigger.Workdays))
	from.addJob(sundial.Job{ID: "daily", Task: "echo", Trigger: spec, Args: json.RawMessage(`{"say":"hi"}`)})
	defs, err := from.s.Export(context.Background(), sundial.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := json.Marshal(defs)
	file := filepath.Join(t.TempDir(), "defs.json")
	if err := os.WriteFile(file, text, 0o600); err != nil {
		t.Fatal(err)
	}
	to := transferServer(t)
	if out := to.mustCLI(admin.RoleAdmin, "jobs", "import", file); !strings.Contains(out, "calendars: 1 created; jobs: 1 created") {
		t.Fatalf("import of a library export:\n%s", out)
	}
	exported := to.mustCLI(admin.RoleViewer, "jobs", "export", "--json")
	var back sundial.Definitions
	if err := json.Unmarshal([]byte(exported), &back); err != nil {
		t.Fatalf("a server export does not read as definitions: %v\n%s", err, exported)
	}
	if got, _ := json.Marshal(back); string(got) != string(text) {
		t.Fatalf("server export read as definitions:\n got %s\nwant %s", got, text)
	}
}
