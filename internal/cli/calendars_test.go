package cli

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/trigger"
)

// The documented example, China's 2026 holidays, as YAML and as an
// iCalendar file, sets the same days; a job on its workdays skips the
// National Day week and fires on the make-up Saturday.
func TestCalendarsCommands(t *testing.T) {
	a := newAPIServer(t)
	out := a.mustCLI(admin.RoleAdmin, "calendars", "set", "cn", "-f", "../../docs/examples/cn-2026.yaml")
	if !strings.Contains(out, "calendar cn version 1: 33 holidays, 6 working days (2026-01-01 … 2026-10-10)") {
		t.Fatalf("set -f:\n%s", out)
	}
	fromYAML, err := a.s.Calendar(context.Background(), "cn")
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := a.cli(admin.RoleOperator, "calendars", "set", "cn", "-f", "../../docs/examples/cn-2026.yaml"); code == ExitOK ||
		!strings.Contains(errOut, "role") {
		t.Fatalf("an operator set a calendar: exit %d: %s", code, errOut)
	}
	out = a.mustCLI(admin.RoleAdmin, "calendars", "set", "cn", "--ics", "../../docs/examples/cn-2026.ics", "--description", fromYAML.Description)
	if !strings.Contains(out, "calendar cn version 2: 33 holidays, 6 working days") {
		t.Fatalf("set --ics:\n%s", out)
	}
	fromICS, _ := a.s.Calendar(context.Background(), "cn")
	dates := func(days []sundial.CalendarDay) []string {
		var out []string
		for _, d := range days {
			out = append(out, d.Date)
		}
		return out
	}
	if !slices.Equal(dates(fromICS.Holidays), dates(fromYAML.Holidays)) || !slices.Equal(dates(fromICS.WorkingDays), dates(fromYAML.WorkingDays)) {
		t.Fatalf("the .ics example and the YAML example differ:\n%v %v\n%v %v", dates(fromICS.Holidays), dates(fromICS.WorkingDays),
			dates(fromYAML.Holidays), dates(fromYAML.WorkingDays))
	}

	spec := trigger.CronExpr("0 9 * * *", trigger.InZone("Asia/Shanghai"))
	spec.Calendar = &trigger.DayCalendar{Name: "cn", Rule: trigger.Workdays}
	if _, err := a.s.AddJob(context.Background(), sundial.Job{ID: "daily-report", Task: "echo", Trigger: spec}); err != nil {
		t.Fatal(err)
	}
	list := a.mustCLI(admin.RoleViewer, "calendars", "list")
	if !strings.Contains(list, "cn") || !strings.Contains(list, "33") {
		t.Fatalf("list:\n%s", list)
	}
	show := a.mustCLI(admin.RoleViewer, "calendars", "show", "cn")
	if !strings.Contains(show, "2026-10-10  Sat  working day  国庆节 补班") || !strings.Contains(show, "named by jobs: daily-report") {
		t.Fatalf("show:\n%s", show)
	}
	next := a.mustCLI(admin.RoleViewer, "cron", "next", "0 9 * * *", "--tz", "Asia/Shanghai", "--calendar", "cn", "--rule", "workdays",
		"--from", "2026-09-30T12:00:00+08:00", "-n", "4")
	if want := "2026-10-08T09:00:00+08:00\n2026-10-09T09:00:00+08:00\n2026-10-10T09:00:00+08:00\n2026-10-12T09:00:00+08:00\n"; next != want {
		t.Fatalf("cron next with the calendar:\n%s\nwant\n%s", next, want)
	}
	// Strictly after --from through a server's calendar too.
	next = a.mustCLI(admin.RoleViewer, "cron", "next", "0 9 * * *", "--tz", "Asia/Shanghai", "--calendar", "cn", "--rule", "workdays",
		"--from", "2026-10-08T09:00:00+08:00", "-n", "1")
	if want := "2026-10-09T09:00:00+08:00\n"; next != want {
		t.Fatalf("cron next --from on a fire time, with the calendar:\n%s\nwant\n%s", next, want)
	}
	explain := a.mustCLI(admin.RoleViewer, "cron", "explain", "0 9 * * *", "--calendar", "cn", "--rule", "workdays", "-n", "1")
	if !strings.Contains(explain, "cn") {
		t.Fatalf("cron explain does not mention the calendar:\n%s", explain)
	}

	code, _, errOut := a.cli(admin.RoleAdmin, "calendars", "delete", "cn")
	if code == ExitOK || !strings.Contains(errOut, "daily-report") {
		t.Fatalf("deleting a calendar a job names: exit %d: %s", code, errOut)
	}
	if err := a.s.RemoveJob(context.Background(), "daily-report"); err != nil {
		t.Fatal(err)
	}
	a.mustCLI(admin.RoleAdmin, "calendars", "delete", "cn")
	if _, err := a.s.Calendar(context.Background(), "cn"); !errors.Is(err, sundial.ErrCalendarNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if code, _, errOut := a.cli(admin.RoleAdmin, "calendars", "set", "x"); code != ExitUsage || !strings.Contains(errOut, "-f FILE or --ics FILE") {
		t.Fatalf("set without a file: exit %d: %s", code, errOut)
	}
}

// A broadcast job's runs are listed with their shard and node.
func TestRunsListShowsShards(t *testing.T) {
	a := newAPIServer(t)
	if _, err := a.s.AddJob(context.Background(), sundial.Job{ID: "fanout", Task: "echo", Trigger: trigger.None(),
		Options: sundial.JobOptions{Broadcast: true}}); err != nil {
		t.Fatal(err)
	}
	out := a.mustCLI(admin.RoleOperator, "jobs", "run", "fanout", "--wait")
	if !strings.Contains(out, "succeeded") {
		t.Fatalf("run --wait:\n%s", out)
	}
	list := a.mustCLI(admin.RoleViewer, "runs", "list", "--job", "fanout")
	if !strings.Contains(list, "SHARD") || !strings.Contains(list, " 0/1 ") || !strings.Contains(list, a.s.NodeID()) {
		t.Fatalf("runs list of a broadcast job:\n%s", list)
	}
	if plain := a.mustCLI(admin.RoleViewer, "runs", "list", "--job", "nope"); strings.Contains(plain, "SHARD") {
		t.Fatalf("a page without shards has a SHARD column:\n%s", plain)
	}
}
