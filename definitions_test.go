package sundial_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// Export → JSON → Import into another scheduler gives the same
// definitions; importing again changes nothing.
func TestExportImportRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		from := setup(t, sundial.Config{})
		from.register(t, "report", ok)
		if _, err := from.s.AddCalendar(from.ctx, sundial.Calendar{Name: "office", Description: "days off",
			Holidays: []sundial.CalendarDay{{Date: "2000-01-03", Name: "bridge"}}}); err != nil {
			t.Fatal(err)
		}
		spec := cron("0 9 * * *")
		spec.Calendar = &trigger.DayCalendar{Name: "office", Rule: trigger.Workdays}
		from.add(t, sundial.Job{ID: "daily", Task: "report", Trigger: spec, Tags: []string{"etl"},
			Options: sundial.JobOptions{MaxAttempts: 3, Timeout: time.Minute}})
		from.add(t, sundial.Job{ID: "every", Task: "report", Trigger: every(90 * time.Minute), Paused: true})
		if _, err := from.s.PauseJob(from.ctx, "every"); err != nil {
			t.Fatal(err)
		}
		defs, err := from.s.Export(from.ctx, sundial.JobFilter{})
		if err != nil {
			t.Fatal(err)
		}
		text, _ := json.Marshal(defs)
		for _, state := range []string{"next_run_at", "created_at", `"version"`, "2000-01-03\"]"} {
			if strings.Contains(string(text), state) {
				t.Errorf("the export carries %s: %s", state, text)
			}
		}

		to := setup(t, sundial.Config{})
		to.register(t, "report", ok)
		var read sundial.Definitions
		if err := json.Unmarshal(text, &read); err != nil {
			t.Fatal(err)
		}
		actions := func(rep sundial.ImportReport) string {
			var parts []string
			for _, it := range rep.Items {
				parts = append(parts, it.Kind+" "+it.ID+" "+it.Action)
			}
			return strings.Join(parts, ", ")
		}
		rep, err := to.s.Import(to.ctx, read, sundial.ImportOptions{DryRun: true})
		if got := actions(rep); err != nil || got != "calendar office created, job daily created, job every created" {
			t.Fatalf("dry run: %s, %v", got, err)
		}
		if jobs, _ := to.s.Jobs(to.ctx, sundial.JobFilter{}); len(jobs) != 0 {
			t.Fatal("a dry run stored jobs")
		}
		if _, err := to.s.Import(to.ctx, read, sundial.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		again, _ := to.s.Export(to.ctx, sundial.JobFilter{})
		if got, _ := json.Marshal(again); string(got) != string(text) {
			t.Fatalf("after the round trip:\n got %s\nwant %s", got, text)
		}
		if j, _ := to.s.Job(to.ctx, "daily"); j.Trigger.Calendar == nil || len(j.Trigger.Calendar.Holidays) != 1 {
			t.Fatalf("the imported job's calendar was not filled in: %+v", j.Trigger.Calendar)
		}
		rep, err = to.s.Import(to.ctx, read, sundial.ImportOptions{})
		if got := actions(rep); err != nil || got != "calendar office unchanged, job daily unchanged, job every unchanged" {
			t.Fatalf("second import: %s, %v", got, err)
		}
		read.Jobs[0].Tags = []string{"changed"}
		rep, _ = to.s.Import(to.ctx, read, sundial.ImportOptions{})
		if got := actions(rep); !strings.Contains(got, "job daily skipped") {
			t.Fatalf("a changed job without replace: %s", got)
		}
		rep, _ = to.s.Import(to.ctx, read, sundial.ImportOptions{Replace: true})
		if got := actions(rep); !strings.Contains(got, "job daily updated") {
			t.Fatalf("a changed job with replace: %s", got)
		}
		ghost := sundial.Definitions{Jobs: []sundial.Job{{ID: "g", Task: "report", Trigger: trigger.CronExpr("0 9 * * *", trigger.OnCalendar("ghost", trigger.Workdays))}}}
		if _, err := to.s.Import(to.ctx, ghost, sundial.ImportOptions{DryRun: true}); !errors.Is(err, sundial.ErrCalendarNotFound) {
			t.Fatalf("a dry run of a job naming a calendar neither imported nor here: %v", err)
		}
		read.Jobs[1].Task = "unregistered"
		if _, err := to.s.Import(to.ctx, read, sundial.ImportOptions{Replace: true}); err == nil || !strings.Contains(err.Error(), "unregistered") {
			t.Fatalf("an import with an unknown task: %v", err)
		}
	})
}
