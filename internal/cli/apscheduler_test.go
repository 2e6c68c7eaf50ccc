package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
)

// debianPython is the interpreter with Debian's python3-apscheduler.
const debianPython = "/usr/bin/python3"

// apschedulerStore makes an APScheduler SQLAlchemy job store with
// Debian's APScheduler, as a Flask app would have left it.
func apschedulerStore(t *testing.T) string {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import apscheduler, sqlalchemy").Run(); err != nil {
		t.Skipf("needs APScheduler and SQLAlchemy under %s (apt-get install python3-apscheduler python3-sqlalchemy): %v", debianPython, err)
	}
	url := "sqlite:///" + filepath.Join(t.TempDir(), "jobs.sqlite")
	if out, err := exec.Command(debianPython, "testdata/apscheduler_store.py", url).CombinedOutput(); err != nil {
		t.Fatalf("making the job store: %v\n%s", err, out)
	}
	return url
}

func TestImportAPScheduler(t *testing.T) {
	url := apschedulerStore(t)
	a := newAPIServer(t)
	a.s.Register("python", func(context.Context, sundial.Run) (any, error) { return nil, nil })
	code, out, errOut := a.cli(admin.RoleAdmin, "import", "apscheduler", "--url", url, "--python", debianPython)
	if code != ExitFailure || !strings.Contains(errOut, "not imported: either: ValueError: a OrTrigger cannot be described") ||
		!strings.Contains(errOut, "1 of 5 jobs could not be imported") || !strings.Contains(out, "jobs: 4 created") {
		t.Fatalf("import: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	job := func(id string) sundial.Job {
		j, err := a.s.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	var args struct {
		Func   string         `json:"func"`
		Args   []any          `json:"args"`
		Kwargs map[string]any `json:"kwargs"`
	}
	report := job("report")
	json.Unmarshal(report.Args, &args)
	if report.Task != "python" || args.Func != "json:dumps" || len(args.Args) != 1 || args.Kwargs["indent"] != 2.0 ||
		report.Name != "Daily report" || report.Trigger.Fields == nil || report.Trigger.Fields.DayOfWeek != "mon-fri" ||
		report.Trigger.Fields.Hour != "9" || report.Trigger.Timezone != "Europe/Berlin" ||
		report.Options.MisfireGrace != 2*time.Minute || report.Options.MaxInstances != 2 {
		t.Errorf("report = %+v (args %s, fields %+v)", report, report.Args, report.Trigger.Fields)
	}
	sync := job("sync")
	if _, err := sync.Trigger.Build(); err != nil || sync.Trigger.Type != "interval" || sync.Trigger.Seconds != 300 ||
		time.Duration(sync.Trigger.Jitter) != 10*time.Second || sync.Trigger.StartDate != "2026-01-01T00:00:00+08:00" {
		t.Errorf("sync = %+v: the interval keeps its grid from 2026-01-01 00:00 in Shanghai", sync.Trigger)
	}
	if once := job("once"); once.Trigger.Type != "date" || once.NextRunAt.UTC().Format(time.RFC3339) != "2030-12-24T10:00:00Z" {
		t.Errorf("once = %+v, next %s", once.Trigger, once.NextRunAt)
	}
	if paused := job("paused"); !paused.Paused || paused.Trigger.Fields.Minute != "*/15" {
		t.Errorf("paused = %+v", paused)
	}

	// Importing again changes nothing; -o writes an export that imports.
	if _, out, _ := a.cli(admin.RoleAdmin, "import", "apscheduler", "--url", url, "--python", debianPython); !strings.Contains(out, "jobs: 4 unchanged") {
		t.Errorf("a second import:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "jobs.yaml")
	if code, _, errOut := a.cli(admin.RoleAdmin, "import", "apscheduler", "--url", url, "--python", debianPython, "-o", file); code != ExitFailure || !strings.Contains(errOut, "either") {
		t.Fatalf("import -o: exit %d, %s", code, errOut)
	}
	if text, err := os.ReadFile(file); err != nil || !strings.Contains(string(text), "func: json:dumps") {
		t.Fatalf("the written export: %v\n%s", err, text)
	}
	fresh := newAPIServer(t)
	fresh.s.Register("python", func(context.Context, sundial.Run) (any, error) { return nil, nil })
	if out := fresh.mustCLI(admin.RoleAdmin, "jobs", "import", file); !strings.Contains(out, "jobs: 4 created") {
		t.Errorf("importing the written export:\n%s", out)
	}
}

func TestImportAPSchedulerWithoutItsPython(t *testing.T) {
	a := newAPIServer(t)
	code, _, errOut := a.cli(admin.RoleAdmin, "import", "apscheduler", "--url", "sqlite:///nope.sqlite", "--python", "/nonexistent/python3")
	if code != ExitFailure || !strings.Contains(errOut, "/nonexistent/python3") {
		t.Errorf("exit %d, %s; want a failure naming the interpreter", code, errOut)
	}
}
