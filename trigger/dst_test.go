package trigger

import (
	"fmt"
	"testing"
	"time"
)

// Transitions used below, from the IANA database (zdump -v):
//
//	Europe/London        2026-03-29 01:00 GMT → 02:00 BST;  2026-10-25 02:00 BST → 01:00 GMT
//	America/New_York     2026-03-08 02:00 EST → 03:00 EDT;  2026-11-01 02:00 EDT → 01:00 EST
//	Australia/Lord_Howe  2026-04-05 02:00 +11 → 01:30 +1030; 2026-10-04 02:00 +1030 → 02:30 +11
//	America/Sao_Paulo    2018-11-04 00:00 -03 → 01:00 -02;   2018-02-17 24:00 -02 → 23:00 -03
//	Asia/Shanghai        1988-04-17 02:00 CST → 03:00 CDT;   1988-09-11 02:00 CDT → 01:00 CST
//	UTC                  never
func TestDaylightSavingRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		zone string
		spec Spec
		from string
		want []string
	}{
		// Spring forward: a fixed time in the gap fires once, at the first instant after it.
		{"london gap fixed", "Europe/London", cronSpec("30 1 * * *"), "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"}},
		{"london gap skip", "Europe/London", withGap(cronSpec("30 1 * * *"), SkipGap), "2026-03-28T12:00:00Z",
			[]string{"2026-03-30T01:30:00+01:00"}},
		{"new york gap fixed", "America/New_York", cronSpec("30 2 * * *"), "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"new york gap two fixed times fire once", "America/New_York", cronSpec("0,30 2 * * *"), "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"new york gap with a fire right after it", "America/New_York", cronSpec("0 2,3 * * *"), "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"lord howe 30 minute gap", "Australia/Lord_Howe", cronSpec("15 2 * * *"), "2026-10-03T00:00:00Z",
			[]string{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"}},
		{"sao paulo midnight gap", "America/Sao_Paulo", cronSpec("0 0 * * *"), "2018-11-03T12:00:00Z",
			[]string{"2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"}},
		{"shanghai 1988 gap", "Asia/Shanghai", cronSpec("30 2 * * *"), "1988-04-16T00:00:00Z",
			[]string{"1988-04-17T03:00:00+09:00", "1988-04-18T02:30:00+09:00"}},
		{"quartz gap", "America/New_York", Spec{Type: "cron", Dialect: Quartz, Expr: "0 30 2 * * ?"}, "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00"}},
		{"apscheduler gap", "America/New_York", Spec{Type: "cron", Dialect: APScheduler, Fields: &CronFields{Hour: "2", Minute: "30"}}, "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00"}},
		{"calendar gap", "America/New_York", Spec{Type: "calendar", Days: 1, Hour: 2, Minute: 30, StartDate: "2026-03-01"}, "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},

		// Fall back: a fixed time in the overlap fires once, at its first occurrence.
		{"london overlap first", "Europe/London", cronSpec("30 1 * * *"), "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00Z"}},
		{"london overlap last", "Europe/London", withOverlap(cronSpec("30 1 * * *"), LastPass), "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"}},
		{"london overlap both", "Europe/London", withOverlap(cronSpec("30 1 * * *"), BothPasses), "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T01:30:00+01:00", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"}},
		{"new york overlap first", "America/New_York", cronSpec("30 1 * * *"), "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"new york 02:00 after overlap is unique", "America/New_York", cronSpec("0 2 * * *"), "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T02:00:00-05:00", "2026-11-02T02:00:00-05:00"}},
		{"lord howe 30 minute overlap first", "Australia/Lord_Howe", cronSpec("45 1 * * *"), "2026-04-04T00:00:00Z",
			[]string{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
		{"lord howe 30 minute overlap last", "Australia/Lord_Howe", withOverlap(cronSpec("45 1 * * *"), LastPass), "2026-04-04T00:00:00Z",
			[]string{"2026-04-05T01:45:00+10:30", "2026-04-06T01:45:00+10:30"}},
		{"sao paulo overlap before midnight", "America/Sao_Paulo", cronSpec("30 23 * * *"), "2018-02-17T12:00:00Z",
			[]string{"2018-02-17T23:30:00-02:00", "2018-02-18T23:30:00-03:00"}},
		{"shanghai 1988 overlap", "Asia/Shanghai", cronSpec("30 1 * * *"), "1988-09-10T00:00:00Z",
			[]string{"1988-09-11T01:30:00+09:00", "1988-09-12T01:30:00+08:00"}},
		{"calendar overlap", "Europe/London", Spec{Type: "calendar", Days: 1, Hour: 1, Minute: 30, StartDate: "2026-10-01"}, "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00Z"}},

		// Schedules that repeat through the day keep firing as real time passes.
		{"london every 30 minutes across gap", "Europe/London", cronSpec("*/30 * * * *"), "2026-03-29T00:00:00Z",
			[]string{"2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z", "2026-03-29T02:00:00+01:00", "2026-03-29T02:30:00+01:00"}},
		{"london every 30 minutes across overlap", "Europe/London", cronSpec("*/30 * * * *"), "2026-10-24T23:30:00Z",
			[]string{"2026-10-25T00:30:00+01:00", "2026-10-25T01:00:00+01:00", "2026-10-25T01:30:00+01:00",
				"2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z"}},
		{"new york hourly across overlap", "America/New_York", cronSpec("0 * * * *"), "2026-11-01T04:30:00Z",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"new york every 30 minutes overlap first only", "America/New_York", withOverlap(cronSpec("*/30 * * * *"), FirstPass), "2026-11-01T05:00:00Z",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00"}},
		{"lord howe every 10 minutes across gap", "Australia/Lord_Howe", cronSpec("*/10 * * * *"), "2026-10-03T15:20:00Z",
			[]string{"2026-10-04T01:50:00+10:30", "2026-10-04T02:30:00+11:00", "2026-10-04T02:40:00+11:00"}},
		{"utc has no anomalies", "UTC", cronSpec("30 1 * * *"), "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T01:30:00Z", "2026-03-30T01:30:00Z"}},
		{"shanghai today is plain +08:00", "Asia/Shanghai", cronSpec("30 2 * * *"), "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T02:30:00+08:00", "2026-03-30T02:30:00+08:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			s.Timezone = tt.zone
			tr, err := s.Build()
			if err != nil {
				t.Fatal(err)
			}
			got := fires(tr, mustTime(t, tt.from), len(tt.want))
			if !equalStrings(got, tt.want) {
				t.Errorf("from %s:\n got %v\nwant %v", tt.from, got, tt.want)
			}
		})
	}
}

func cronSpec(expr string) Spec { return Spec{Type: "cron", Expr: expr} }

func withGap(s Spec, p SpringForward) Spec { s.SpringForward = p; return s }

func withOverlap(s Spec, p FallBack) Spec { s.FallBack = p; return s }

var dstZones = []string{"UTC", "Asia/Shanghai", "Europe/London", "America/New_York", "Australia/Lord_Howe", "America/Sao_Paulo"}

// TestFixedTimeFiresOncePerDay walks two years (three for Sao Paulo, which
// last changed its clocks in 2019) of daily schedules at times in and around
// every transition: each local day gets exactly one fire.
func TestFixedTimeFiresOncePerDay(t *testing.T) {
	t.Parallel()
	for _, zone := range dstZones {
		loc := mustZone(t, zone)
		for _, hm := range [][2]int{{0, 0}, {0, 30}, {1, 0}, {1, 30}, {1, 45}, {2, 0}, {2, 15}, {2, 30}, {3, 0}, {23, 30}} {
			expr := fmt.Sprintf("%d %d * * *", hm[1], hm[0])
			c := mustCron(t, Crontab, expr, CronOptions{Location: loc})
			from := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
			end := time.Date(2020, 12, 31, 0, 0, 0, 0, time.UTC)
			if zone != "America/Sao_Paulo" {
				from, end = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
			}
			seen := map[string]bool{}
			var prev time.Time
			for {
				next := c.Next(prev, from)
				if next.IsZero() || next.After(end) {
					break
				}
				if !prev.IsZero() && !next.After(prev) {
					t.Fatalf("%s %s: fire %s is not after %s", zone, expr, next, prev)
				}
				day := next.Format("2006-01-02")
				if seen[day] {
					t.Fatalf("%s %s: second fire on %s at %s", zone, expr, day, next)
				}
				seen[day] = true
				prev = next
			}
			days := int(end.Sub(from).Hours()/24) - 1
			if len(seen) < days {
				t.Errorf("%s %s: fired on %d days, want at least %d", zone, expr, len(seen), days)
			}
		}
	}
}

// TestRepeatingKeepsRealTime checks the other rule: every 15 minutes stays
// 15 minutes of real time apart through every transition of every zone,
// gaps and overlaps alike (all of them are multiples of 15 minutes).
func TestRepeatingKeepsRealTime(t *testing.T) {
	t.Parallel()
	for _, zone := range dstZones {
		loc := mustZone(t, zone)
		c := mustCron(t, Crontab, "*/15 * * * *", CronOptions{Location: loc})
		from := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
		if zone != "America/Sao_Paulo" {
			from = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		prev := c.Next(time.Time{}, from)
		for i := 0; i < 4*24*366; i++ {
			next := c.Next(prev, from)
			if d := next.Sub(prev); d != 15*time.Minute {
				t.Fatalf("%s: %s follows %s after %s, want 15m", zone, next, prev, d)
			}
			prev = next
		}
	}
}

// TestLeapYearEndInRuleZones checks fires through the last day of leap
// years far enough ahead that zones compute their transitions from a rule,
// where Go reports a zone period ending before the instant asked about
// (golang/go#81583); the search once stood still there and gave up.
func TestLeapYearEndInRuleZones(t *testing.T) {
	t.Parallel()
	for _, zone := range []string{"America/New_York", "Europe/London", "Australia/Sydney"} {
		loc := mustZone(t, zone)
		daily := mustCron(t, Crontab, "0 9 * * *", CronOptions{Location: loc})
		quarterly := mustCron(t, Crontab, "*/15 * * * *", CronOptions{Location: loc})
		for _, y := range []int{2040, 2096} {
			from := time.Date(y, 12, 30, 9, 0, 0, 0, loc)
			want := []string{from.Format(time.RFC3339), from.AddDate(0, 0, 1).Format(time.RFC3339), from.AddDate(0, 0, 2).Format(time.RFC3339)}
			if got := fires(daily, from, 3); !equalStrings(got, want) {
				t.Errorf("%s %d: daily fires %v, want %v", zone, y, got, want)
			}
			prev := quarterly.Next(time.Time{}, from)
			for range 4 * 24 * 3 {
				next := quarterly.Next(prev, from)
				if next.Sub(prev) != 15*time.Minute {
					t.Fatalf("%s: %s follows %s", zone, next, prev)
				}
				prev = next
			}
		}
	}
}
