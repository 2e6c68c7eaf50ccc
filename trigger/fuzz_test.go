package trigger

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// The fuzz targets check that no input panics, that every error is a
// *ParseError, that the canonical form of a parsed expression parses back
// to the same schedule, and that fire times strictly increase.
// Run one with: go test ./trigger -run '^$' -fuzz FuzzCrontab -fuzztime 1m

var fuzzNow = time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)

func FuzzCrontab(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "0 9 * * 1-5", "0 0 29 2 1", "@every 90s", "@daily",
		"CRON_TZ=Europe/London 30 1 * * *", "*/10 * * * * *", "10-40/10 8 * * sun,SAT", "0 0 1,15 */2 *", "5/15 * * * *",
		"@every 876600h", "@every 2562047h47m16.854775807s", "@every 9999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) { checkCron(t, Crontab, expr) })
}

func FuzzQuartz(f *testing.F) {
	for _, s := range []string{"0 0 10 ? * 6#3", "0 0 10 LW * ?", "0 15 10 L-3 * ?", "0 15 10 ? * 6L 2027-2030",
		"0 0/5 14,18 * * ?", "0 0 22-2 * * ?", "0 0 12 15W * ?", "0 0 0 1 1 ? 2030/5", "0 0 12 ? * MON-FRI",
		"0 0 0 1 1 ? 2030/999999999", "0 0 0 ? * 6L 1970-2199/999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) { checkCron(t, Quartz, expr) })
}

func FuzzAPScheduler(f *testing.F) {
	for _, s := range []string{`{"day_of_week": "mon-fri", "hour": 9}`, `{"day": "last fri"}`, `{"day": "2nd mon,last"}`,
		`{"minute": "*/20"}`, `{"year": "2027-2030/2", "month": "jan-mar"}`, `{"week": 2, "day_of_week": 0}`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) { checkCron(t, APScheduler, expr) })
}

func FuzzSpec(f *testing.F) {
	for _, s := range []string{
		`{"type": "cron", "expr": "0 9 * * 1-5", "timezone": "America/New_York", "jitter": 30}`,
		`{"type": "interval", "minutes": 5, "start_date": "2026-01-01 09:00"}`,
		`{"type": "date", "run_date": "2026-03-08 02:30", "timezone": "America/New_York"}`,
		`{"type": "calendar", "months": 1, "start_date": "2026-01-31", "missing_day": "skip"}`,
		`{"type": "and", "triggers": [{"type": "cron", "expr": "0 0 13 * *"}, {"type": "cron", "expr": "0 0 * * 5"}]}`,
		// Spans at and past the hundred-year bound, which once wrapped.
		`{"type": "interval", "weeks": 30500}`, `{"type": "interval", "weeks": 5217, "days": 6, "hours": 24}`,
		`{"type": "interval", "weeks": 9223372036854775807, "days": 9223372036854775807}`, `{"type": "interval", "seconds": 1e300}`,
		`{"type": "interval", "minutes": 5, "jitter": "2562047h"}`, `{"type": "interval", "minutes": 5, "jitter": 1e300}`,
		`{"type": "calendar", "years": 100, "start_date": "2026-01-01"}`, `{"type": "calendar", "days": 36526, "start_date": "2026-01-01"}`,
		`{"type": "or", "triggers": [{"type": "interval", "hours": 1, "jitter": "-1ns"}]}`,
		`{"type": "cron", "expr": "0 9 * * *", "timezone": "Asia/Shanghai", "calendar": {"name": "cn", "rule": "workdays", "holidays": ["2026-10-01", "2026-10-02"], "working_days": ["2026-10-10"], "version": 2}}`,
		`{"type": "interval", "seconds": 1, "calendar": {"rule": "only", "holidays": ["2026-03-08", "2026-03-08"]}}`,
		`{"type": "date", "run_date": "2026-03-08", "calendar": {"rule": "rest_days"}, "jitter": 5}`,
		`{"type": "or", "triggers": [{"type": "cron", "expr": "0 9 * * 6", "calendar": {"rule": "workdays"}}], "calendar": {"holidays": ["9999-12-31"]}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSpec([]byte(text))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseSpec(%q) error %v is %T, not *ParseError", text, err, err)
			}
			return
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := ParseSpec(out)
		if err != nil {
			t.Fatalf("ParseSpec of marshalled %s: %v", out, err)
		}
		if !reflect.DeepEqual(s, back) {
			t.Fatalf("JSON round trip changed the spec:\n%+v\n%+v", s, back)
		}
		tr, err := s.Build()
		if err != nil {
			t.Fatalf("Build after ParseSpec: %v", err)
		}
		checkIncreasing(t, tr)
	})
}

func checkCron(t *testing.T, d Dialect, expr string) {
	c, err := ParseCron(d, expr, CronOptions{})
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("ParseCron(%q) error %v is %T, not *ParseError", expr, err, err)
		}
		return
	}
	canon := c.String()
	again, err := ParseCron(d, canon, CronOptions{})
	if err != nil {
		t.Fatalf("canonical form %q of %q does not parse: %v", canon, expr, err)
	}
	if !sameSchedule(c, again) {
		t.Fatalf("%q and its canonical form %q differ:\n%+v\n%+v", expr, canon, c, again)
	}
	if s := again.String(); s != canon {
		t.Fatalf("canonical form is not stable: %q, then %q", canon, s)
	}
	_ = c.Describe()
	checkIncreasing(t, c)
}

// sameSchedule compares two schedules, their zones by name.
func sameSchedule(a, b *Cron) bool {
	x, y := *a, *b
	if x.loc.String() != y.loc.String() {
		return false
	}
	x.loc, y.loc = nil, nil
	return reflect.DeepEqual(x, y)
}

func checkIncreasing(t *testing.T, tr Trigger) {
	var prev time.Time
	for range 5 {
		next := tr.Next(prev, fuzzNow)
		if next.IsZero() {
			return
		}
		if !prev.IsZero() && !next.After(prev) {
			t.Fatalf("fire %s does not follow %s", next, prev)
		}
		prev = next
	}
}
