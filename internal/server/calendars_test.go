package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/store/memstore"
)

// A config file's calendars, from an .ics file beside it and written out,
// are reconciled before the jobs that name them; an unchanged file changes
// nothing, not even the jobs' copies of the dates.
func TestConfigCalendars(t *testing.T) {
	dir := t.TempDir()
	ics, err := os.ReadFile("../../docs/examples/cn-2026.ics")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "holidays"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "holidays", "cn.ics"), ics, 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(text string) Config {
		path := filepath.Join(dir, "sundial.yaml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := ReadConfigFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	file := `
calendars:
  - name: cn
    ics: holidays/cn.ics
  - name: plant
    holidays: ["2026-08-03", {date: "2026-08-04", name: shutdown}]
jobs:
  - id: daily
    task: echo
    trigger: {type: cron, expr: "0 9 * * *", timezone: Asia/Shanghai, calendar: {name: cn, rule: workdays}}
`
	ctx := context.Background()
	s, _ := sundial.New(sundial.Config{Store: memstore.New(memstore.Options{}), Logger: slog.New(slog.DiscardHandler)})
	s.Register("echo", func(context.Context, sundial.Run) (any, error) { return nil, nil })
	records := admin.NewMemory()
	log := slog.New(slog.DiscardHandler)
	start := func(c Config) {
		t.Helper()
		cals, err := c.CalendarDocuments()
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := c.JobDocuments()
		if err != nil {
			t.Fatal(err)
		}
		if err := reconcileCalendars(ctx, s, records, c.File, cals, log); err != nil {
			t.Fatal(err)
		}
		if err := reconcile(ctx, s, records, c.File, jobs, log); err != nil {
			t.Fatal(err)
		}
		if err := pruneCalendars(ctx, s, records, c.File, cals, log); err != nil {
			t.Fatal(err)
		}
	}
	state := func() string {
		cals, _ := s.Calendars(ctx)
		var parts []string
		for _, c := range cals {
			parts = append(parts, fmt.Sprintf("%s:v%d:%s:%d+%d", c.Name, c.Version, c.Source, len(c.Holidays), len(c.WorkingDays)))
		}
		j, _ := s.Job(ctx, "daily")
		return strings.Join(parts, " ") + fmt.Sprintf(" daily:v%d", j.Version)
	}
	c := write(file)
	start(c)
	if got := state(); got != "cn:v1:config:33+6 daily:v1 plant:v1:config:2+0" && got != "cn:v1:config:33+6 plant:v1:config:2+0 daily:v1" {
		t.Fatalf("after the first start: %s", got)
	}
	start(c)
	if got := state(); got != "cn:v1:config:33+6 plant:v1:config:2+0 daily:v1" {
		t.Fatalf("an unchanged file changed something: %s", got)
	}
	// A new holiday reschedules the job; a calendar dropped from the file
	// goes, unless a job still names it.
	c = write(strings.Replace(strings.Replace(file, "ics: holidays/cn.ics", "ics: holidays/cn.ics\n    holidays: [\"2026-12-31\"]", 1),
		"  - name: plant\n    holidays: [\"2026-08-03\", {date: \"2026-08-04\", name: shutdown}]\n", "", 1))
	start(c)
	if got := state(); got != "cn:v2:config:34+6 daily:v2" {
		t.Fatalf("after the file changed: %s", got)
	}
	// An API job naming cn keeps it when the file drops it; once that job
	// is gone, the next start removes it.
	j, _ := s.Job(ctx, "daily")
	j.ID, j.Source = "api-job", admin.SourceAPI
	if _, err := s.AddJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	c = write("jobs: []\n")
	start(c)
	if got := state(); got != "cn:v2:config:34+6 daily:v0" {
		t.Fatalf("a calendar an API job names, no longer in the file: %s", got)
	}
	if err := s.RemoveJob(ctx, "api-job"); err != nil {
		t.Fatal(err)
	}
	start(c)
	if got := state(); got != " daily:v0" {
		t.Fatalf("a calendar no longer in the file and named by no job: %s", got)
	}

	bad := []struct{ text, want string }{
		{"calendars:\n  - name: x\n    holidays: [\"2026-02-30\"]\n", `field "holidays[0].date"`},
		{"calendars:\n  - name: x\n  - name: x\n", `calendars[0] has the same name`},
		{"calendars:\n  - name: x\n    ics: missing.ics\n", `setting "ics"`},
		{"calendars:\n  - name: x\n    working_day_pattern: 补班\n", `applies to an ics file only`},
	}
	for _, b := range bad {
		path := filepath.Join(dir, "bad.yaml")
		os.WriteFile(path, []byte(b.text), 0o644)
		if _, err := ReadConfigFile(path); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("config %q: %v, want an error with %s", b.text, err, b.want)
		}
	}
}
