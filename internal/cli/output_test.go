package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/admin"
)

// topKeys returns the member names of a JSON object, or fails the test when
// out is not one.
func topKeys(t *testing.T, what, out string) []string {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("%s: not a JSON object: %v\n%s", what, err, out)
	}
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestListJSONIsTheAPIShape: every `list --json` prints the object its API
// route answers — {"runs": […]}, {"jobs": […]} … — never a bare array.
func TestListJSONIsTheAPIShape(t *testing.T) {
	a := newAPIServer(t)
	if out := a.mustCLI(admin.RoleViewer, "jobs", "list", "--json"); strings.TrimSpace(out) != "{\n  \"jobs\": []\n}" {
		t.Errorf("jobs list --json with no jobs = %q", out)
	}
	a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", "a", "--task", "echo", "--trigger", "@daily")
	a.mustCLI(admin.RoleOperator, "jobs", "run", "a", "--wait")
	a.mustCLI(admin.RoleOperator, "jobs", "run", "a", "--wait")

	for _, tc := range []struct {
		args []string
		keys []string
	}{
		{[]string{"jobs", "list"}, []string{"jobs"}},
		{[]string{"runs", "list"}, []string{"runs"}},
		{[]string{"runs", "list", "--limit", "1"}, []string{"next_cursor", "runs"}},
		{[]string{"audit", "list"}, []string{"entries"}},
		{[]string{"token", "list"}, []string{"tokens"}},
		{[]string{"scripts", "list"}, []string{"scripts"}},
		{[]string{"secrets", "list"}, []string{"secrets"}},
		{[]string{"calendars", "list"}, []string{"calendars"}},
	} {
		out := a.mustCLI(admin.RoleAdmin, append(tc.args, "--json")...)
		if got := topKeys(t, strings.Join(tc.args, " "), out); !slices.Equal(got, tc.keys) {
			t.Errorf("%s --json: members %v, want %v:\n%s", strings.Join(tc.args, " "), got, tc.keys, out)
		}
	}

	var runs struct {
		Runs []struct {
			JobID string `json:"job_id"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(a.mustCLI(admin.RoleViewer, "runs", "list", "--json")), &runs); err != nil ||
		len(runs.Runs) != 2 || runs.Runs[0].JobID != "a" {
		t.Errorf("runs list --json: %v %+v", err, runs)
	}
	var jobs struct {
		Jobs []struct {
			ID string `json:"id"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(a.mustCLI(admin.RoleViewer, "jobs", "list", "--json")), &jobs); err != nil || len(jobs.Jobs) != 1 || jobs.Jobs[0].ID != "a" {
		t.Errorf("jobs list --json: %v %+v", err, jobs)
	}

	// token list --db prints the same shape as through the server.
	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	if code, _, errOut := run(t, "token", "create", "--db", db, "--name", "x", "--role", "viewer"); code != ExitOK {
		t.Fatalf("token create --db: exit %d: %s", code, errOut)
	}
	code, out, errOut := run(t, "token", "list", "--db", db, "--json")
	if code != ExitOK {
		t.Fatalf("token list --db: exit %d: %s", code, errOut)
	}
	if got := topKeys(t, "token list --db --json", out); !slices.Equal(got, []string{"tokens"}) {
		t.Errorf("token list --db --json: members %v:\n%s", got, out)
	}
}

// TestJSONIsNotHTMLEscaped: &, < and > reach the terminal as they are, in
// --json output, in table cells and in what the CLI sends the server.
func TestJSONIsNotHTMLEscaped(t *testing.T) {
	a := newAPIServer(t)
	args := `{"url": "https://example.com/report?from=1&to=<2>"}`
	a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", "r", "--name", "R&D <nightly>", "--task", "echo", "--args", args,
		"--trigger", `{"type": "interval", "minutes": 5, "start_date": "2026-01-01T00:00:00Z"}`)
	stored, err := a.s.Job(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stored.Args), "from=1&to=<2>") {
		t.Errorf("the CLI sent the args escaped; stored %s", stored.Args)
	}
	for _, cmd := range [][]string{
		{"jobs", "get", "r"},
		{"jobs", "get", "r", "--json"},
		{"jobs", "list", "--json"},
		{"jobs", "run", "r", "--json"},
		{"jobs", "run", "r", "--wait"}, // the run's args and result (echo's result is its args)
		{"runs", "list", "--json"},
		{"jobs", "export", "--json"},
		{"audit", "list", "--json"},
	} {
		out := a.mustCLI(admin.RoleAdmin, cmd...)
		if strings.Contains(out, `\u00`) || !strings.Contains(out, "from=1&to=<2>") {
			t.Errorf("%s: escaped, or the args are missing:\n%s", strings.Join(cmd, " "), out)
		}
	}
	if out := a.mustCLI(admin.RoleAdmin, "jobs", "get", "r"); !strings.Contains(out, "name:      R&D <nightly>") {
		t.Errorf("jobs get:\n%s", out)
	}
	if out := a.mustCLI(admin.RoleAdmin, "cron", "explain", "--json", "-n", "1", "0 9 * * 1-5"); strings.Contains(out, `\u00`) {
		t.Errorf("cron explain --json escapes:\n%s", out)
	}
}

// TestJobsListTriggerColumn: a plain crontab expression shows as written;
// any other trigger in words; with the zone it fires in when it has one.
func TestJobsListTriggerColumn(t *testing.T) {
	a := newAPIServer(t)
	for _, tc := range []struct{ id, trigger, want string }{
		{"plain", "0 9 * * 1-5", "0 9 * * 1-5"},
		{"plain-zone", `{"type": "cron", "expr": "0 3 * * *", "timezone": "Europe/Berlin"}`, "0 3 * * * (Europe/Berlin)"},
		{"prefix", "CRON_TZ=Asia/Tokyo 0 9 * * *", "CRON_TZ=Asia/Tokyo 0 9 * * *"},
		{"fields", `{"type": "cron", "dialect": "apscheduler", "fields": {"hour": 3, "minute": 0}, "timezone": "Europe/Berlin"}`,
			"At 03:00 (Europe/Berlin)"},
		{"interval", `{"type": "interval", "hours": 2}`, "Every 2h0m0s"},
		{"bounded", `{"type": "cron", "expr": "CRON_TZ=Asia/Tokyo 30 8 * * *", "end_date": "2099-01-01T00:00:00Z"}`, "At 08:30 (Asia/Tokyo)"},
		{"none", `{"type": "none"}`, "Never"},
	} {
		a.mustCLI(admin.RoleAdmin, "jobs", "add", "--id", tc.id, "--task", "echo", "--trigger", tc.trigger)
		out := a.mustCLI(admin.RoleViewer, "jobs", "list")
		var line string
		for l := range strings.SplitSeq(out, "\n") {
			if strings.HasPrefix(l, tc.id+" ") {
				line = l
			}
		}
		if !strings.Contains(line, tc.want) || strings.Contains(line, "{") {
			t.Errorf("%s: jobs list row %q lacks %q", tc.id, line, tc.want)
		}
	}
	get := a.mustCLI(admin.RoleViewer, "jobs", "get", "fields")
	if !strings.Contains(get, "schedule:  At 03:00 (Europe/Berlin)\n") || !strings.Contains(get, `"timezone":"Europe/Berlin"`) {
		t.Errorf("jobs get of a non-crontab trigger:\n%s", get)
	}
	if get := a.mustCLI(admin.RoleViewer, "jobs", "get", "plain-zone"); !strings.Contains(get, "trigger:   0 3 * * * (Europe/Berlin)\n") {
		t.Errorf("jobs get of a crontab trigger with a zone:\n%s", get)
	}
}

func TestUnescapeHTML(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`{"a":"x\u0026y\u003cz\u003E"}`, `{"a":"x&y<z>"}`},
		{`{"a":"\\u0026"}`, `{"a":"\\u0026"}`},                            // an escaped backslash, then text
		{`{"a":"\"\u0026\"","b":"\u00e9"}`, `{"a":"\"&\"","b":"\u00e9"}`}, // other escapes stay
		{`["\u0026",1]`, `["&",1]`},
		{`"\u002`, `"\u002`}, // cut short: copied as it is
	} {
		if got := string(unescapeHTML([]byte(tc.in))); got != tc.want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
