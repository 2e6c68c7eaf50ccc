package trigger

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSpecTriggers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec string
		from string
		want []string
	}{
		{"interval aligned to start", `{"type": "interval", "minutes": 5, "start_date": "2026-01-01T00:00:00Z"}`, "2026-01-01T00:07:00Z",
			[]string{"2026-01-01T00:10:00Z", "2026-01-01T00:15:00Z"}},
		{"interval on the grid includes now", `{"type": "interval", "minutes": 5, "start_date": "2026-01-01T00:00:00Z"}`, "2026-01-01T00:10:00Z",
			[]string{"2026-01-01T00:10:00Z", "2026-01-01T00:15:00Z"}},
		{"interval before its start", `{"type": "interval", "hours": 1, "start_date": "2026-02-01 09:00", "timezone": "Asia/Shanghai"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-02-01T09:00:00+08:00", "2026-02-01T10:00:00+08:00"}},
		{"interval without start waits one interval", `{"type": "interval", "seconds": 30}`, "2026-01-01T00:00:10Z",
			[]string{"2026-01-01T00:00:40Z", "2026-01-01T00:01:10Z"}},
		{"interval sums its units", `{"type": "interval", "weeks": 1, "days": 1, "hours": 1, "minutes": 1, "seconds": 1.5, "start_date": "2026-01-01T00:00:00Z"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T00:00:00Z", "2026-01-09T01:01:01Z"}},
		{"interval stops at its end", `{"type": "interval", "days": 1, "start_date": "2026-01-01T00:00:00Z", "end_date": "2026-01-02T00:00:00Z"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"}},
		{"interval is real time across DST", `{"type": "interval", "hours": 12, "start_date": "2026-03-07T12:00:00-05:00", "timezone": "America/New_York"}`, "2026-03-07T17:00:00Z",
			[]string{"2026-03-07T12:00:00-05:00", "2026-03-08T00:00:00-05:00", "2026-03-08T13:00:00-04:00"}},
		{"date fires once", `{"type": "date", "run_date": "2026-12-24T18:00:00+01:00"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-12-24T18:00:00+01:00"}},
		{"date in its zone", `{"type": "date", "run_date": "2026-12-24 18:00", "timezone": "Europe/London"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-12-24T18:00:00Z"}},
		{"date just passed still fires", `{"type": "date", "run_date": "2026-01-01T00:00:00Z"}`, "2026-01-01T00:00:01Z",
			[]string{"2026-01-01T00:00:00Z"}},
		{"calendar every month on the 31st", `{"type": "calendar", "months": 1, "hour": 9, "start_date": "2026-01-31"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-01-31T09:00:00Z", "2026-02-28T09:00:00Z", "2026-03-31T09:00:00Z", "2026-04-30T09:00:00Z", "2026-05-31T09:00:00Z"}},
		{"calendar skips months without the day", `{"type": "calendar", "months": 1, "hour": 9, "start_date": "2026-01-31", "missing_day": "skip"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-01-31T09:00:00Z", "2026-03-31T09:00:00Z", "2026-05-31T09:00:00Z"}},
		{"calendar every two weeks", `{"type": "calendar", "weeks": 2, "hour": 9, "start_date": "2026-01-05"}`, "2026-01-06T00:00:00Z",
			[]string{"2026-01-19T09:00:00Z", "2026-02-02T09:00:00Z"}},
		{"calendar leap day yearly", `{"type": "calendar", "years": 1, "start_date": "2024-02-29"}`, "2024-01-01T00:00:00Z",
			[]string{"2024-02-29T00:00:00Z", "2025-02-28T00:00:00Z", "2026-02-28T00:00:00Z", "2027-02-28T00:00:00Z", "2028-02-29T00:00:00Z"}},
		{"calendar leap day yearly skip", `{"type": "calendar", "years": 1, "start_date": "2024-02-29", "missing_day": "skip"}`, "2024-01-01T00:00:00Z",
			[]string{"2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"}},
		{"calendar quarterly from a late start time", `{"type": "calendar", "months": 3, "hour": 9, "minute": 30, "start_date": "2026-01-15T10:00:00Z"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-04-15T09:30:00Z", "2026-07-15T09:30:00Z"}},
		{"calendar every 3 days far ahead", `{"type": "calendar", "days": 3, "start_date": "2026-01-01"}`, "2030-01-01T00:00:01Z",
			[]string{"2030-01-04T00:00:00Z", "2030-01-07T00:00:00Z"}},
		{"or is the earliest", `{"type": "or", "triggers": [{"type": "cron", "expr": "0 9 * * *"}, {"type": "cron", "expr": "0 17 * * *"}]}`, "2026-01-01T10:00:00Z",
			[]string{"2026-01-01T17:00:00Z", "2026-01-02T09:00:00Z", "2026-01-02T17:00:00Z"}},
		{"and is when all agree: Friday the 13th", `{"type": "and", "triggers": [{"type": "cron", "expr": "0 0 13 * *"}, {"type": "cron", "expr": "0 0 * * 5"}]}`, "2026-01-01T00:00:00Z",
			[]string{"2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z", "2026-11-13T00:00:00Z", "2027-08-13T00:00:00Z"}},
		{"and of a date and a cron", `{"type": "and", "triggers": [{"type": "date", "run_date": "2026-05-01T09:00:00Z"}, {"type": "cron", "expr": "0 9 * * *"}]}`, "2026-01-01T00:00:00Z",
			[]string{"2026-05-01T09:00:00Z"}},
		{"or bounded by its own dates", `{"type": "or", "triggers": [{"type": "cron", "expr": "0 9 * * *"}, {"type": "cron", "expr": "0 17 * * *"}], "start_date": "2026-01-02 12:00", "end_date": "2026-01-03 09:00"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-01-02T17:00:00Z", "2026-01-03T09:00:00Z"}},
		{"and bounded in its zone", `{"type": "and", "triggers": [{"type": "cron", "expr": "0 0 13 * *", "timezone": "Asia/Shanghai"}, {"type": "cron", "expr": "0 0 * * 5", "timezone": "Asia/Shanghai"}], "start_date": "2026-03-01", "timezone": "Asia/Shanghai"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-03-13T00:00:00+08:00", "2026-11-13T00:00:00+08:00"}},
		{"date within its bounds", `{"type": "date", "run_date": "2026-05-01T09:00:00Z", "start_date": "2026-05-01T09:00:00Z", "end_date": "2026-05-01T09:00:00Z"}`, "2026-01-01T00:00:00Z",
			[]string{"2026-05-01T09:00:00Z"}},
		{"date before its start never fires", `{"type": "date", "run_date": "2026-05-01T09:00:00Z", "start_date": "2026-06-01"}`, "2026-01-01T00:00:00Z",
			nil},
		{"date after its end never fires", `{"type": "date", "run_date": "2026-05-01T09:00:00Z", "end_date": "2026-04-30"}`, "2026-01-01T00:00:00Z",
			nil},
		{"none never fires", `{"type": "none"}`, "2026-01-01T00:00:00Z", nil},
		{"and that never agrees", `{"type": "and", "triggers": [{"type": "date", "run_date": "2026-05-01T09:30:00Z"}, {"type": "cron", "expr": "0 9 * * *"}]}`, "2026-01-01T00:00:00Z",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSpec([]byte(tt.spec))
			if err != nil {
				t.Fatal(err)
			}
			tr, err := s.Build()
			if err != nil {
				t.Fatal(err)
			}
			n := len(tt.want)
			if n == 0 {
				n = 1
			}
			got := fires(tr, mustTime(t, tt.from), n)
			if !equalStrings(got, tt.want) {
				t.Errorf("from %s:\n got %v\nwant %v", tt.from, got, tt.want)
			}
		})
	}
}

func TestSpecErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec string
		want string
	}{
		{`{}`, `trigger: field "type": required: one of cron, interval, date, calendar, and, or, none`},
		{`{"type": "none", "start_date": "2026-01-01"}`, `none: field "type": a none trigger never fires, so it takes no start_date, end_date or jitter`},
		{`{"type": "weekly"}`, `trigger: field "type": "weekly" is not one of cron, interval, date, calendar, and, or, none`},
		{`{"type": "cron", "expr": "0 9 * * *", "hours": 2}`, `cron: field "hours": does not apply to a cron trigger`},
		{`{"type": "cron", "expr": "0 9 * * *", "colour": "red"}`, `trigger: field "colour": unknown field "colour"`},
		{`{"type": "cron", "expr": 9}`, `trigger: field "expr": expected a string, got the number 9: put it in quotes, "9"`},
		{`{"type": "cron"}`, `cron: field "expr": required, e.g. "0 9 * * 1-5"`},
		{`{"type": "cron", "expr": "0 25 * * *"}`, `crontab: field "hour": 25 is out of range 0-23`},
		{`{"type": "cron", "expr": "0 9 * * *", "timezone": "Moon/Base"}`, `cron: field "timezone": "Moon/Base" is not a known IANA time zone such as Europe/London or UTC`},
		{`{"type": "cron", "expr": "0 9 * * *", "timezone": "Local"}`, `cron: field "timezone": "Local" is not a known IANA time zone such as Europe/London or UTC`},
		{`{"type": "cron", "expr": "CRON_TZ=Asia/Tokyo 0 9 * * *", "timezone": "Europe/London"}`, `cron: field "timezone": "Europe/London" conflicts with the expression's own zone "Asia/Tokyo"`},
		{`{"type": "cron", "dialect": "apscheduler", "expr": "0 9 * * *"}`, `apscheduler: field "expr": the apscheduler dialect takes "fields", not "expr"`},
		{`{"type": "cron", "dialect": "apscheduler", "fields": {"hour": 30}}`, `apscheduler: field "hour": 30 is out of range 0-23`},
		{`{"type": "cron", "expr": "0 9 * * *", "spring_forward": "later"}`, `crontab: field "spring_forward": "later" is not one of run_after, skip`},
		{`{"type": "cron", "expr": "0 9 * * *", "fall_back": "middle"}`, `crontab: field "fall_back": "middle" is not one of first, last, both`},
		{`{"type": "cron", "expr": "0 9 * * *", "start_date": "tomorrow"}`, `cron: field "start_date": "tomorrow" is not an RFC 3339 time (2026-01-02T15:04:05Z) or a date like 2026-01-02 15:04:05`},
		{`{"type": "cron", "expr": "0 9 * * *", "start_date": "2026-02-01", "end_date": "2026-01-01"}`, `cron: field "end_date": 2026-01-01 is before start_date 2026-02-01`},
		{`{"type": "interval"}`, `interval: field "seconds": the interval must be longer than zero: set weeks, days, hours, minutes or seconds`},
		{`{"type": "interval", "minutes": 0}`, `interval: field "minutes": 0 minutes makes an interval of zero: it must be longer than zero`},
		{`{"type": "interval", "Hours": 0, "seconds": 0.0}`, `interval: field "hours": 0 hours and 0.0 seconds make an interval of zero: it must be longer than zero`},
		{`{"type": "interval", "weeks": null, "seconds": 1e-12}`, `interval: field "seconds": 1e-12 seconds makes an interval of zero: it must be longer than zero`},
		{`{"type": "or", "triggers": [{"type": "cron", "expr": "0 9 * * *"}, {"type": "and", "triggers": [{"type": "interval", "days": 0}]}]}`,
			`interval: field "triggers[1].triggers[0].days": 0 days makes an interval of zero: it must be longer than zero`},
		{`{"type": "interval", "minutes": -5}`, `interval: field "minutes": -5 must not be negative`},
		{`{"type": "interval", "minutes": 5, "jitter": "-3s"}`, `interval: field "jitter": -3s must not be negative`},
		{`{"type": "interval", "weeks": 30500}`, `interval: field "weeks": 30500 weeks make the interval longer than 100 years (876600h)`},
		{`{"type": "interval", "weeks": 5217, "days": 6, "hours": 24}`, `interval: field "hours": 24 hours make the interval longer than 100 years (876600h)`},
		{`{"type": "interval", "days": 9223372036854775807}`, `interval: field "days": 9223372036854775807 days make the interval longer than 100 years (876600h)`},
		{`{"type": "interval", "seconds": 3155760000.5}`, `interval: field "seconds": 3155760000.5 seconds make the interval longer than 100 years (876600h)`},
		{`{"type": "interval", "minutes": 5, "jitter": "900000h"}`, `trigger: field "jitter": "900000h" is longer than 100 years (876600h)`},
		{`{"type": "interval", "minutes": 5, "jitter": 1e10}`, `trigger: field "jitter": 1e10 seconds is longer than 100 years (876600h)`},
		{`{"type": "or", "triggers": [{"type": "interval", "minutes": 5, "jitter": "99999999999h"}]}`, `trigger: field "triggers[0].jitter": "99999999999h" is longer than 100 years (876600h)`},
		{`{"type": "calendar", "years": 101, "start_date": "2026-01-01"}`, `calendar: field "years": 101 is out of range 1-100 (at most 100 years (876600h))`},
		{`{"type": "cron", "expr": "@every 900000h"}`, `crontab: field "@every": "900000h" is longer than 100 years (876600h)`},
		{`{"type": "cron", "fields": 3}`, `trigger: field "fields": expected an object, got the number 3`},
		{`{"type": "or", "triggers": [{"type": "cron", "colour": 1}]}`, `trigger: field "triggers[0].colour": unknown field "colour"`},
		{`{"type": "interval", "minutes": 5, "jitter": "soon"}`, `trigger: field "jitter": "soon" is not a duration such as 30s or 1h30m, or a number of seconds`},
		{`{"type": "date"}`, `date: field "run_date": required`},
		{`{"type": "date", "run_date": "2026-13-01"}`, `date: field "run_date": "2026-13-01" is not an RFC 3339 time (2026-01-02T15:04:05Z) or a date like 2026-01-02 15:04:05`},
		{`{"type": "calendar", "months": 1}`, `calendar: field "start_date": required: its date anchors the count`},
		{`{"type": "calendar", "months": 1, "days": 2, "start_date": "2026-01-01"}`, `calendar: field "years": set exactly one of years, months, weeks, days (got 2)`},
		{`{"type": "calendar", "months": 1, "hour": 24, "start_date": "2026-01-01"}`, `calendar: field "hour": 24 is out of range 0-23`},
		{`{"type": "calendar", "months": 1, "start_date": "2026-01-01", "missing_day": "never"}`, `calendar: field "missing_day": "never" is not one of last, skip`},
		{`{"type": "or", "triggers": []}`, `or: field "triggers": required: a list of at least one trigger`},
		{`{"type": "or", "triggers": [{"type": "cron", "expr": "0 9 * * *"}, {"type": "interval"}]}`, `interval: field "triggers[1].seconds": the interval must be longer than zero: set weeks, days, hours, minutes or seconds`},
		{`{"type": "cron", "expr": "0 9 * * *"} {}`, `trigger: unexpected data after the JSON value`},
		{`{"type": "cron",`, `trigger: truncated JSON`},
	}
	for _, tt := range tests {
		_, err := ParseSpec([]byte(tt.spec))
		if err == nil {
			t.Errorf("ParseSpec(%s) succeeded, want %q", tt.spec, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("ParseSpec(%s):\n got %s\nwant %s", tt.spec, err, tt.want)
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("ParseSpec(%s) error is %T, want *ParseError", tt.spec, err)
		}
	}
}

func TestSpecJSONRoundTrip(t *testing.T) {
	t.Parallel()
	specs := []string{
		`{"type":"cron","expr":"0 9 * * 1-5","timezone":"Europe/London","jitter":"30s","jitter_seed":7}`,
		`{"type":"cron","dialect":"apscheduler","fields":{"day_of_week":"mon-fri","hour":"9"},"start_date":"2026-01-01T00:00:00Z"}`,
		`{"type":"interval","minutes":5,"seconds":0.25,"end_date":"2027-01-01T00:00:00Z"}`,
		`{"type":"calendar","months":1,"hour":9,"start_date":"2026-01-31","missing_day":"skip","spring_forward":"skip","fall_back":"both"}`,
		`{"type":"or","triggers":[{"type":"date","run_date":"2026-05-01T09:00:00Z"},{"type":"cron","dialect":"quartz","expr":"0 0 10 ? * 6#3"}]}`,
		`{"type":"interval","minutes":30,"calendar":{"name":"cn","rule":"rest_days","holidays":["2026-10-01"],"working_days":["2026-10-10"],"version":7}}`,
	}
	for _, text := range specs {
		s, err := ParseSpec([]byte(text))
		if err != nil {
			t.Fatalf("ParseSpec(%s): %v", text, err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpec(out)
		if err != nil {
			t.Fatalf("ParseSpec(%s) of its own output: %v", out, err)
		}
		if !reflect.DeepEqual(s, back) {
			t.Errorf("round trip changed the spec:\n%+v\n%+v", s, back)
		}
	}
}

func TestJitterNumberOfSeconds(t *testing.T) {
	t.Parallel()
	s, err := ParseSpec([]byte(`{"type": "interval", "minutes": 1, "jitter": 10}`))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(s.Jitter) != 10*time.Second {
		t.Errorf("jitter = %v, want 10s (APScheduler gives seconds)", time.Duration(s.Jitter))
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	start := mustTime(t, "2026-01-01T00:00:00Z")
	grid := Interval{Every: time.Minute, Start: start}
	j := Jitter{Trigger: grid, Max: 10 * time.Second, Seed: 42}

	var prev time.Time
	for i := range 1000 {
		next := j.Next(prev, start)
		nominal := start.Add(time.Duration(i) * time.Minute)
		if d := next.Sub(nominal); d < 0 || d >= 10*time.Second {
			t.Fatalf("fire %d at %s is %s from its grid time %s, want [0, 10s)", i, next, d, nominal)
		}
		prev = next
	}

	// The same seed gives the same times (replicas agree); another seed differs.
	again := Jitter{Trigger: grid, Max: 10 * time.Second, Seed: 42}
	other := Jitter{Trigger: grid, Max: 10 * time.Second, Seed: 43}
	a, b, c := fires(j, start, 20), fires(again, start, 20), fires(other, start, 20)
	if !equalStrings(a, b) {
		t.Errorf("same seed, different fires:\n%v\n%v", a, b)
	}
	if equalStrings(a, c) {
		t.Errorf("different seeds gave identical fires %v", a)
	}

	// Cron with jitter: one fire per hour, never before the hour.
	hourly := Jitter{Trigger: mustCron(t, Crontab, "0 * * * *", CronOptions{}), Max: 30 * time.Minute, Seed: 1}
	prev = time.Time{}
	for i := range 500 {
		next := hourly.Next(prev, start)
		if want := start.Add(time.Duration(i) * time.Hour); next.Before(want) || !next.Before(want.Add(30*time.Minute)) {
			t.Fatalf("fire %d at %s, want within 30m after %s", i, next, want)
		}
		prev = next
	}
}

// TestJitterLargerThanSpacing checks the documented degradation: fires stay
// strictly increasing even when the jitter exceeds the spacing.
func TestJitterLargerThanSpacing(t *testing.T) {
	t.Parallel()
	start := mustTime(t, "2026-01-01T00:00:00Z")
	j := Jitter{Trigger: Interval{Every: time.Second, Start: start}, Max: time.Minute, Seed: 9}
	var prev time.Time
	for range 1000 {
		next := j.Next(prev, start)
		if next.IsZero() || (!prev.IsZero() && !next.After(prev)) {
			t.Fatalf("fire %s after %s is not strictly later", next, prev)
		}
		prev = next
	}
}

func TestPin(t *testing.T) {
	t.Parallel()
	now := mustTime(t, "2026-01-01T10:00:00Z")
	s, err := ParseSpec([]byte(`{"type": "or", "triggers": [{"type": "interval", "minutes": 5, "jitter": "20s"}, {"type": "cron", "expr": "0 9 * * *"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := s.Pin(now)
	if err != nil {
		t.Fatal(err)
	}
	if got := pinned.Triggers[0].StartDate; got != "2026-01-01T10:05:00Z" {
		t.Errorf("pinned start_date = %q, want 2026-01-01T10:05:00Z", got)
	}
	if s.Triggers[0].StartDate != "" {
		t.Errorf("Pin changed the original spec")
	}
	if pinned.Triggers[1].StartDate != "" {
		t.Errorf("Pin set a start_date on a cron trigger")
	}
}

func TestDescribeTriggers(t *testing.T) {
	t.Parallel()
	tests := []struct{ spec, want string }{
		{`{"type": "calendar", "months": 1, "hour": 9, "start_date": "2026-01-31"}`, "At 09:00, every month on day 31 (the last day where that day does not exist)"},
		{`{"type": "calendar", "weeks": 2, "hour": 9, "start_date": "2026-01-05"}`, "At 09:00, every 2 weeks on Monday"},
		{`{"type": "interval", "minutes": 5}`, "Every 5m0s"},
		{`{"type": "cron", "expr": "0 9 * * *", "jitter": "1m"}`, "At 09:00, delayed by up to 1m0s"},
		{`{"type": "date", "run_date": "2026-12-24T18:00:00Z"}`, "Once, at 2026-12-24T18:00:00Z"},
		{`{"type": "none"}`, "Never by itself: when started by another job or by hand"},
		{`{"type": "or", "triggers": [{"type": "cron", "expr": "0 9 * * *"}], "start_date": "2026-03-01T00:00:00Z", "end_date": "2026-03-31T00:00:00Z"}`,
			"Whenever any fires: (At 09:00), from 2026-03-01T00:00:00Z, until 2026-03-31T00:00:00Z"},
	}
	for _, tt := range tests {
		s, err := ParseSpec([]byte(tt.spec))
		if err != nil {
			t.Fatal(err)
		}
		tr, _ := s.Build()
		if got := Describe(tr); got != tt.want {
			t.Errorf("Describe(%s) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

// TestNaiveDatesFollowTheRules checks that a wall-clock start_date in a gap
// or overlap resolves like a fire time, not as time.Date happens to.
func TestNaiveDatesFollowTheRules(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	gap, err := parseSpecDate("date", "run_date", "2026-03-08 02:30", ny)
	if err != nil {
		t.Fatal(err)
	}
	if got := gap.Format(time.RFC3339); got != "2026-03-08T03:00:00-04:00" {
		t.Errorf("time in the gap resolved to %s, want the first instant after it", got)
	}
	overlap, err := parseSpecDate("date", "run_date", "2026-11-01 01:30", ny)
	if err != nil {
		t.Fatal(err)
	}
	if got := overlap.In(ny).Format(time.RFC3339); got != "2026-11-01T01:30:00-04:00" {
		t.Errorf("time in the overlap resolved to %s, want its first occurrence", got)
	}
	if _, err := parseSpecDate("date", "run_date", "2026-02-30", ny); err == nil || !strings.Contains(err.Error(), "run_date") {
		t.Errorf("February 30 accepted: %v", err)
	}
}
