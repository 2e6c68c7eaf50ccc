package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/store/memstore"
)

// flaskConfig is a Flask team's scheduler settings as they keep them: a
// task-name registry (TASK_FUNCTIONS) and Flask-APScheduler JOBS entries.
const flaskConfig = `
task_functions:
  cleanup: "reports.tasks:cleanup"
  report: "reports.tasks:daily_report"
JOBS:
  - id: nightly-cleanup
    func: cleanup
    trigger: cron
    hour: 3
    minute: 30
    timezone: Asia/Shanghai
    misfire_grace_time: 3600
    coalesce: true
    max_instances: 2
    replace_existing: true
  - id: sync
    func: "reports.tasks:sync"
    trigger: interval
    minutes: 5
    start_date: "2026-01-01 00:00:00"
    kwargs: {full: false}
  - id: xmas
    func: report
    trigger: date
    run_date: "2030-12-24 18:00:00"
    timezone: Europe/Berlin
    args: [1, 2]
  - id: weekdays
    func: echo
    trigger: cron
    day_of_week: mon-fri
    hour: 9
    next_run_time: null
`

func TestFlaskJobsInTheConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.yaml")
	if err := os.WriteFile(path, []byte(flaskConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := cfg.JobDocuments()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]sundial.Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	args := func(j sundial.Job) string {
		var v any
		json.Unmarshal(j.Args, &v)
		b, _ := json.Marshal(v)
		return string(b)
	}
	cleanup := byID["nightly-cleanup"]
	if cleanup.Task != "python" || args(cleanup) != `{"func":"reports.tasks:cleanup"}` ||
		cleanup.Trigger.Fields == nil || cleanup.Trigger.Fields.Hour != "3" || cleanup.Trigger.Fields.Minute != "30" ||
		cleanup.Trigger.Timezone != "Asia/Shanghai" || cleanup.Options.MisfireGrace != time.Hour || cleanup.Options.MaxInstances != 2 ||
		cleanup.Source != admin.SourceConfig {
		t.Errorf("nightly-cleanup = %+v (args %s, fields %+v)", cleanup, args(cleanup), cleanup.Trigger.Fields)
	}
	if sync := byID["sync"]; sync.Task != "python" || args(sync) != `{"args":[],"func":"reports.tasks:sync","kwargs":{"full":false}}` ||
		sync.Trigger.Type != "interval" || sync.Trigger.Minutes != 5 || sync.Trigger.StartDate != "2026-01-01 00:00:00" {
		t.Errorf("sync = %+v (args %s)", sync, args(sync))
	}
	if xmas := byID["xmas"]; xmas.Task != "python" || args(xmas) != `{"args":[1,2],"func":"reports.tasks:daily_report","kwargs":{}}` ||
		xmas.Trigger.Type != "date" || xmas.Trigger.RunDate != "2030-12-24 18:00:00" || xmas.Trigger.Timezone != "Europe/Berlin" {
		t.Errorf("xmas = %+v (args %s)", xmas, args(xmas))
	}
	if wd := byID["weekdays"]; wd.Task != "echo" || !wd.Paused || wd.Trigger.Fields == nil || wd.Trigger.Fields.DayOfWeek != "mon-fri" {
		t.Errorf("weekdays = %+v", wd)
	}

	// Reconciled twice, the jobs are created once and left alone after.
	ctx := context.Background()
	s, err := sundial.New(sundial.Config{Store: memstore.New(memstore.Options{}), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"python", "echo"} {
		s.Register(name, func(context.Context, sundial.Run) (any, error) { return nil, nil })
	}
	records := admin.NewMemory()
	for range 2 {
		if err := reconcile(ctx, s, records, path, jobs, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
	}
	stored, _ := s.Jobs(ctx, sundial.JobFilter{})
	for _, j := range stored {
		if j.Version != 1 {
			t.Errorf("job %s at version %d after two identical starts", j.ID, j.Version)
		}
	}
	if len(stored) != 4 {
		t.Errorf("%d jobs stored, want 4", len(stored))
	}
}

func TestFlaskJobsInTheConfigFileRefused(t *testing.T) {
	for name, c := range map[string]struct{ text, want string }{
		"no run_date":     {"JOBS:\n  - {id: a, func: 'm:f', trigger: date}\n", `field "run_date": is required for a date trigger in a config file`},
		"bad keyword":     {"JOBS:\n  - {id: a, func: 'm:f', trigger: cron, hours: 3}\n", `field "hours": does not apply to a cron trigger`},
		"bad registry":    {"task_functions: {cleanup: 'not a function'}\nJOBS: []\n", `setting "task_functions.cleanup"`},
		"unknown keyword": {"JOBS:\n  - {id: a, func: 'm:f', trigger: cron, hour: 3, colour: red}\n", `field "colour": unknown field`},
		"no id":           {"JOBS:\n  - {func: 'm:f', trigger: cron, hour: 3}\n", `field "id": is required`},
	} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadConfigFile(path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %s", name, err, c.want)
		}
	}
}
