package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"
)

// run executes the CLI with a fixed clock (Saturday 2026-03-07 12:00 UTC)
// and UTC as the local zone.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := Env{
		Stdout: &out, Stderr: &errOut,
		Now:   func() time.Time { return time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC) },
		Local: time.UTC,
	}
	code = Run(context.Background(), args, env)
	return code, out.String(), errOut.String()
}

func TestCronNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"defaults to now and 10", []string{"cron", "next", "0 9 * * 1-5"},
			"2026-03-09T09:00:00Z\n2026-03-10T09:00:00Z\n2026-03-11T09:00:00Z\n2026-03-12T09:00:00Z\n2026-03-13T09:00:00Z\n" +
				"2026-03-16T09:00:00Z\n2026-03-17T09:00:00Z\n2026-03-18T09:00:00Z\n2026-03-19T09:00:00Z\n2026-03-20T09:00:00Z\n"},
		// Strictly after --from, as croner, cron-parser, robfig/cron, gronx
		// and croniter list them: a --from on a fire time is not listed.
		{"from on a fire time", []string{"cron", "next", "-n", "2", "--from", "2026-01-01T00:00:00Z", "*/5 * * * *"},
			"2026-01-01T00:05:00Z\n2026-01-01T00:10:00Z\n"},
		{"from a nanosecond before", []string{"cron", "next", "-n", "1", "--from", "2025-12-31T23:59:59.999999999Z", "*/5 * * * *"},
			"2026-01-01T00:00:00Z\n"},
		{"from just after", []string{"cron", "next", "-n", "1", "--from", "2026-01-01T00:00:00.000000001Z", "*/5 * * * *"},
			"2026-01-01T00:05:00Z\n"},
		{"from on a fire time in another offset", []string{"cron", "next", "-n", "1", "--tz", "Asia/Shanghai", "--from", "2026-03-09T01:00:00Z", "0 9 * * *"},
			"2026-03-10T09:00:00+08:00\n"},
		{"seconds field", []string{"cron", "next", "-n", "2", "--from", "2026-01-01T00:00:30Z", "*/30 * * * * *"},
			"2026-01-01T00:01:00Z\n2026-01-01T00:01:30Z\n"},
		{"calendar file, from on a fire time", []string{"cron", "next", "-n", "2", "--tz", "Asia/Shanghai", "--calendar", "../../docs/examples/cn-2026.ics",
			"--rule", "workdays", "--from", "2026-10-09T09:00:00+08:00", "0 9 * * *"},
			"2026-10-10T09:00:00+08:00\n2026-10-12T09:00:00+08:00\n"},
		{"zone flag and DST gap", []string{"cron", "next", "--tz", "America/New_York", "-n", "2", "30 2 * * *"},
			"2026-03-08T03:00:00-04:00\n2026-03-09T02:30:00-04:00\n"},
		{"skip rule", []string{"cron", "next", "--tz", "America/New_York", "--spring-forward", "skip", "-n", "1", "30 2 * * *"},
			"2026-03-09T02:30:00-04:00\n"},
		{"CRON_TZ prefix", []string{"cron", "next", "-n", "1", "CRON_TZ=Asia/Shanghai 0 9 * * *"},
			"2026-03-08T09:00:00+08:00\n"},
		{"quartz", []string{"cron", "next", "--dialect", "quartz", "-n", "2", "0 0 10 ? * 6#3"},
			"2026-03-20T10:00:00Z\n2026-04-17T10:00:00Z\n"},
		{"apscheduler", []string{"cron", "next", "--dialect", "apscheduler", "-n", "1", `{"day_of_week": "mon-fri", "hour": 9}`},
			"2026-03-09T09:00:00Z\n"},
		{"json", []string{"cron", "next", "--json", "-n", "2", "@daily"},
			"[\n  \"2026-03-08T00:00:00Z\",\n  \"2026-03-09T00:00:00Z\"\n]\n"},
		{"until the last", []string{"cron", "next", "--dialect", "quartz", "-n", "5", "0 0 0 1 1 ? 2027-2028"},
			"2027-01-01T00:00:00Z\n2028-01-01T00:00:00Z\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if out != tt.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tt.want)
			}
		})
	}
}

func TestCronNextBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"cron", "next", "0 24 * * *"}, ExitUsage, `crontab: field "hour": 24 is out of range 0-23`},
		{[]string{"cron", "next", "--dialect", "quartz", "0 0 12 * * *"}, ExitUsage, `quartz: field "day-of-week"`},
		{[]string{"cron", "next", "--dialect", "cobol", "* * * * *"}, ExitUsage, `cron: field "dialect": "cobol" is not one of crontab, quartz, apscheduler`},
		{[]string{"cron", "next", "--tz", "Nowhere/Town", "* * * * *"}, ExitUsage, `--tz "Nowhere/Town" is not a known IANA time zone`},
		{[]string{"cron", "next", "--tz", "Europe/London", "CRON_TZ=Asia/Tokyo 0 9 * * *"}, ExitUsage, "conflicts with the expression's own zone Asia/Tokyo"},
		{[]string{"cron", "next", "--from", "yesterday", "* * * * *"}, ExitUsage, `--from "yesterday" is not an RFC 3339 time`},
		{[]string{"cron", "next", "-n", "0", "* * * * *"}, ExitUsage, "-n 0 is out of range 1-1000"},
		{[]string{"cron", "next", "--nope", "* * * * *"}, ExitUsage, "unknown flag: --nope"},
		{[]string{"cron", "next"}, ExitUsage, "accepts 1 arg(s), received 0"},
		{[]string{"cron", "next", "--dialect", "quartz", "0 0 0 1 1 ? 1999"}, ExitFailure, "has no fire time after 2026-03-07T12:00:00Z"},
	}
	for _, tt := range tests {
		code, out, errOut := run(t, tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tt.args, code, tt.code, errOut)
		}
		if !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("%v: stderr %q does not contain %q", tt.args, errOut, tt.wantErr)
		}
		if out != "" {
			t.Errorf("%v: wrote %q to stdout on error", tt.args, out)
		}
	}
}

func TestCronExplain(t *testing.T) {
	t.Parallel()
	code, out, errOut := run(t, "cron", "explain", "0 9 * * 1-5")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `At 09:00, Monday through Friday
  canonical:  0 9 * * 1-5 (crontab)
  time zone:  UTC (spring forward: run_after, fall back: first)
  next:
    2026-03-09T09:00:00Z
    2026-03-10T09:00:00Z
    2026-03-11T09:00:00Z
    2026-03-12T09:00:00Z
    2026-03-13T09:00:00Z
`
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}

	code, out, _ = run(t, "cron", "explain", "--lang", "zh", "-n", "1", "0 9 * * 1-5")
	if code != ExitOK || !strings.HasPrefix(out, "在 09:00，周一至周五\n") {
		t.Errorf("--lang zh: exit %d, %q", code, out)
	}
	if code, _, errOut := run(t, "cron", "explain", "--lang", "fr", "0 9 * * *"); code != ExitUsage || !strings.Contains(errOut, "--lang") {
		t.Errorf("--lang fr: exit %d, %q", code, errOut)
	}

	code, out, _ = run(t, "cron", "explain", "--json", "-n", "1", "--dialect", "quartz", "0 0 10 ? * 6#3")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var got struct {
		Description string   `json:"description"`
		Canonical   string   `json:"canonical"`
		Next        []string `json:"next"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("explain --json printed %q: %v", out, err)
	}
	if got.Description != "At 10:00, on the third Friday of the month" || got.Canonical != "0 0 10 ? * 6#3" ||
		len(got.Next) != 1 || got.Next[0] != "2026-03-20T10:00:00Z" {
		t.Errorf("explain --json = %+v", got)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	code, out, _ := run(t, "version")
	if code != ExitOK || !strings.HasPrefix(out, "sundial ") || !strings.Contains(out, "  go:        go1.") || !strings.Contains(out, "  commit:    ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// TestVersionFromBuildInfo: the module version and the VCS facts the Go
// toolchain records, or what -ldflags "-X …cli.Version=…" sets.
func TestVersionFromBuildInfo(t *testing.T) {
	t.Parallel()
	stamped := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/sundialhq/sundial", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-03-07T12:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		name     string
		info     *debug.BuildInfo
		override string
		want     string
		line     string
	}{
		{"go install @v1.4.0 (modified)", stamped, "", "sundial v1.4.0\n  module:    github.com/sundialhq/sundial\n" +
			"  commit:    0123456789abcdef0123456789abcdef01234567, with uncommitted changes\n  committed: 2026-03-07T12:00:00Z\n",
			"sundial v1.4.0 (commit 0123456789ab, modified) go1.26.0 "},
		{"no VCS information", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/sundialhq/sundial", Version: "(devel)"}}, "",
			"sundial (devel)\n  module:    github.com/sundialhq/sundial\n  commit:    unknown (built without version control information)\n",
			"sundial (devel) go1.26.0 "},
		{"go install from the module proxy", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/sundialhq/sundial", Version: "v1.4.0"}}, "",
			"sundial v1.4.0\n  module:    github.com/sundialhq/sundial\n  commit:    not recorded (a module build: the version names the source)\n",
			"sundial v1.4.0 go1.26.0 "},
		{"-ldflags -X", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/sundialhq/sundial", Version: "(devel)"}}, "v1.5.0-rc.1",
			"sundial v1.5.0-rc.1\n  module:    github.com/sundialhq/sundial\n  commit:    unknown (built without version control information)\n",
			"sundial v1.5.0-rc.1 go1.26.0 "},
	} {
		b := readBuild(tc.info, true, tc.override)
		var out strings.Builder
		if err := writeVersion(&out, b); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), tc.want) || !strings.Contains(out.String(), "  go:        go1.26.0 ") {
			t.Errorf("%s: version prints\n%s\nwant it to start\n%s", tc.name, out.String(), tc.want)
		}
		if !strings.HasPrefix(b.line(), tc.line) {
			t.Errorf("%s: line %q, want it to start %q", tc.name, b.line(), tc.line)
		}
	}
}

func TestCronTZSuggestsAZone(t *testing.T) {
	code, _, errOut := run(t, "cron", "next", "--tz", "Berlin", "0 3 * * *")
	if code != ExitUsage || !strings.Contains(errOut, "did you mean Europe/Berlin?") {
		t.Errorf("--tz Berlin: exit %d, %s; want a usage error suggesting Europe/Berlin", code, errOut)
	}
}
