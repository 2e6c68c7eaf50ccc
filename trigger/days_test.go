package trigger

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// china2026 is the National Day holiday of 2026 with its make-up working
// days: Sunday 20 September and Saturday 10 October.
func china2026(rule DayRule) *DayCalendar {
	return &DayCalendar{Rule: rule,
		Holidays:    []string{"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"},
		WorkingDays: []string{"2026-09-20", "2026-10-10"}}
}

func TestChinaCalendarWeekdays(t *testing.T) {
	t.Parallel()
	// The example is only worth its name if the make-up days are a weekend.
	for date, want := range map[string]time.Weekday{"2026-09-20": time.Sunday, "2026-10-10": time.Saturday, "2026-10-01": time.Thursday} {
		d, _ := time.Parse(time.DateOnly, date)
		if d.Weekday() != want {
			t.Fatalf("%s is a %s, not a %s", date, d.Weekday(), want)
		}
	}
}

func TestDayFilterRules(t *testing.T) {
	t.Parallel()
	daily := Spec{Type: "cron", Expr: "0 9 * * *", Timezone: "Asia/Shanghai"}
	with := func(s Spec, c *DayCalendar) Spec { s.Calendar = c; return s }
	at9 := func(days ...string) []string {
		out := make([]string, len(days))
		for i, d := range days {
			out[i] = "2026-" + d + "T09:00:00+08:00"
		}
		return out
	}
	tests := []struct {
		name string
		spec Spec
		from string
		n    int
		want []string
	}{
		{"workdays with make-up days", with(daily, china2026(Workdays)), "2026-09-18T00:00:00+08:00", 14,
			at9("09-18", "09-20", "09-21", "09-22", "09-23", "09-24", "09-25", "09-28", "09-29", "09-30",
				"10-08", "10-09", "10-10", "10-12")},
		{"exclude holidays", with(daily, china2026(ExcludeHolidays)), "2026-09-30T00:00:00+08:00", 5,
			at9("09-30", "10-08", "10-09", "10-10", "10-11")},
		{"empty rule is exclude", with(daily, &DayCalendar{Holidays: []string{"2026-10-01", "2026-10-02"}}), "2026-09-30T10:00:00+08:00", 2,
			at9("10-03", "10-04")},
		{"only holidays, then never", with(daily, china2026(OnlyHolidays)), "2026-09-01T00:00:00+08:00", 10,
			at9("10-01", "10-02", "10-03", "10-04", "10-05", "10-06", "10-07")},
		{"rest days", with(daily, china2026(RestDays)), "2026-09-18T00:00:00+08:00", 12,
			at9("09-19", "09-26", "09-27", "10-01", "10-02", "10-03", "10-04", "10-05", "10-06", "10-07", "10-11", "10-17")},
		{"workdays without dates are Monday to Friday", with(daily, &DayCalendar{Rule: Workdays}), "2026-10-09T10:00:00+08:00", 2,
			at9("10-12", "10-13")},
		{"a working day that is also a holiday is a working day", with(daily, &DayCalendar{Rule: Workdays,
			Holidays: []string{"2026-10-10", "2026-10-12"}, WorkingDays: []string{"2026-10-10"}}), "2026-10-09T10:00:00+08:00", 2,
			at9("10-10", "10-13")},
		{"duplicates are one date", with(daily, &DayCalendar{Holidays: []string{"2026-10-02", "2026-10-01", "2026-10-02"}}), "2026-10-01T00:00:00+08:00", 1,
			at9("10-03")},
		{"the day is read in the CRON_TZ zone", with(Spec{Type: "cron", Expr: "CRON_TZ=Asia/Shanghai 0 1 * * *"},
			&DayCalendar{Holidays: []string{"2026-10-01"}}), "2026-09-30T12:00:00Z", 1,
			[]string{"2026-10-02T01:00:00+08:00"}},
		{"the day is read in the spec's zone", with(Spec{Type: "interval", Hours: 24, StartDate: "2026-09-29T17:00:00Z", Timezone: "Asia/Shanghai"},
			&DayCalendar{Holidays: []string{"2026-10-01"}}), "2026-09-29T00:00:00Z", 3,
			[]string{"2026-09-30T01:00:00+08:00", "2026-10-02T01:00:00+08:00", "2026-10-03T01:00:00+08:00"}},
		{"UTC without a zone", with(Spec{Type: "interval", Hours: 24, StartDate: "2026-09-29T17:00:00+08:00"},
			&DayCalendar{Holidays: []string{"2026-10-01"}}), "2026-09-29T00:00:00Z", 2,
			[]string{"2026-09-29T09:00:00Z", "2026-09-30T09:00:00Z"}},
		{"calendar trigger", with(Spec{Type: "calendar", Days: 1, Hour: 9, StartDate: "2026-09-28", Timezone: "Asia/Shanghai"},
			china2026(Workdays)), "2026-09-30T10:00:00+08:00", 2, at9("10-08", "10-09")},
		{"apscheduler cron", with(Spec{Type: "cron", Dialect: APScheduler, Fields: &CronFields{Hour: "9"}, Timezone: "Asia/Shanghai"},
			china2026(Workdays)), "2026-09-30T10:00:00+08:00", 2, at9("10-08", "10-09")},
		{"or filtered as a whole", with(Spec{Type: "or", Timezone: "Asia/Shanghai", Triggers: []Spec{
			{Type: "cron", Expr: "0 9 * * *", Timezone: "Asia/Shanghai"}, {Type: "cron", Expr: "0 17 * * *", Timezone: "Asia/Shanghai"}}},
			china2026(ExcludeHolidays)), "2026-09-30T10:00:00+08:00", 3,
			[]string{"2026-09-30T17:00:00+08:00", "2026-10-08T09:00:00+08:00", "2026-10-08T17:00:00+08:00"}},
		{"a part's own calendar", Spec{Type: "or", Triggers: []Spec{
			with(Spec{Type: "cron", Expr: "0 9 * * *", Timezone: "Asia/Shanghai"}, china2026(ExcludeHolidays)),
			{Type: "cron", Expr: "0 17 * * *", Timezone: "Asia/Shanghai"}}}, "2026-09-30T10:00:00+08:00", 3,
			[]string{"2026-09-30T17:00:00+08:00", "2026-10-01T17:00:00+08:00", "2026-10-02T17:00:00+08:00"}},
		{"and bounded after the filter", with(Spec{Type: "and", Timezone: "Asia/Shanghai", EndDate: "2026-10-09 12:00", Triggers: []Spec{
			{Type: "cron", Expr: "0 9 * * *", Timezone: "Asia/Shanghai"}}}, china2026(Workdays)), "2026-09-30T10:00:00+08:00", 5,
			at9("10-08", "10-09")},
		{"date on a holiday never fires", with(Spec{Type: "date", RunDate: "2026-10-01 09:00", Timezone: "Asia/Shanghai"},
			china2026(ExcludeHolidays)), "2026-09-01T00:00:00Z", 1, nil},
		{"date on a working Saturday fires", with(Spec{Type: "date", RunDate: "2026-10-10 09:00", Timezone: "Asia/Shanghai"},
			china2026(Workdays)), "2026-09-01T00:00:00Z", 2, at9("10-10")},
		{"only dates all in the past", with(daily, &DayCalendar{Rule: OnlyHolidays, Holidays: []string{"2020-01-01", "2021-01-01"}}),
			"2026-01-01T00:00:00Z", 1, nil},
		{"workdays for a Saturday-only schedule", with(Spec{Type: "cron", Expr: "0 9 * * 6", Timezone: "Asia/Shanghai"}, china2026(Workdays)),
			"2026-09-01T00:00:00Z", 3, at9("10-10")},
		{"a named calendar without dates yet is Monday to Friday", with(daily, &DayCalendar{Name: "cn", Rule: Workdays}),
			"2026-10-09T10:00:00+08:00", 1, at9("10-12")},
		{"a named only calendar without dates never fires", with(daily, &DayCalendar{Name: "cn", Rule: OnlyHolidays}),
			"2026-10-09T10:00:00+08:00", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, err := tt.spec.Build()
			if err != nil {
				t.Fatal(err)
			}
			if got := fires(tr, mustTime(t, tt.from), tt.n); !equalStrings(got, tt.want) {
				t.Errorf("fires\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// counting counts the calls of a trigger's Next and records their prevs.
type counting struct {
	Trigger
	calls int
	prevs []time.Time
}

func (c *counting) Next(prev, now time.Time) time.Time {
	c.calls++
	c.prevs = append(c.prevs, prev)
	return c.Trigger.Next(prev, now)
}

// TestDayFilterJumps checks that a long excluded period costs a jump, not
// a call per fire, and that the jump lands at the start of the next
// allowed day, also where daylight-saving time moves that start.
func TestDayFilterJumps(t *testing.T) {
	t.Parallel()
	shanghai := mustZone(t, "Asia/Shanghai")
	saoPaulo := mustZone(t, "America/Sao_Paulo")
	havana := mustZone(t, "America/Havana")
	nineDays := DayCalendar{Holidays: []string{"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05",
		"2026-10-06", "2026-10-07", "2026-10-08", "2026-10-09"}}
	tests := []struct {
		name      string
		inner     Trigger
		days      DayCalendar
		loc       *time.Location
		prev      string
		want      string
		wantStart string // the prev the inner trigger is asked from after the jump, plus 1ns
		maxCalls  int
	}{
		{"every second over nine days", Interval{Every: time.Second, Start: mustTime(t, "2026-09-01T00:00:00+08:00"), Location: shanghai},
			nineDays, shanghai, "2026-09-30T23:59:59+08:00", "2026-10-10T00:00:00+08:00", "2026-10-10T00:00:00+08:00", 2},
		{"every 30 minutes over nine days", Interval{Every: 30 * time.Minute, Start: mustTime(t, "2026-09-01T00:10:00+08:00"), Location: shanghai},
			nineDays, shanghai, "2026-09-30T23:40:00+08:00", "2026-10-10T00:10:00+08:00", "2026-10-10T00:00:00+08:00", 2},
		{"cron every second over nine days", mustCron(t, Crontab, "* * * * * *", CronOptions{Location: shanghai}),
			nineDays, shanghai, "2026-09-30T23:59:59+08:00", "2026-10-10T00:00:00+08:00", "2026-10-10T00:00:00+08:00", 2},
		// Clocks went from 00:00 to 01:00 on 4 November 2018: that day
		// began at 01:00, and time.Date(…, 0, 0, …) gives 23:00 the day before.
		{"day that starts at 01:00", Interval{Every: 30 * time.Minute, Start: mustTime(t, "2018-11-01T00:00:00-03:00"), Location: saoPaulo},
			DayCalendar{Holidays: []string{"2018-11-03"}}, saoPaulo, "2018-11-02T23:30:00-03:00", "2018-11-04T01:00:00-02:00", "2018-11-04T01:00:00-02:00", 2},
		{"midnight in the gap with a cron", mustCron(t, Crontab, "30 0 * * *", CronOptions{Location: saoPaulo}),
			DayCalendar{Holidays: []string{"2018-11-03"}}, saoPaulo, "2018-11-02T00:30:00-03:00", "2018-11-04T01:00:00-02:00", "2018-11-04T01:00:00-02:00", 2},
		// Clocks went from 01:00 back to 00:00 on 4 November 2018: the day
		// starts at the first midnight.
		{"day whose first hour repeats", Interval{Every: 15 * time.Minute, Start: mustTime(t, "2018-11-01T00:00:00Z"), Location: havana},
			DayCalendar{Holidays: []string{"2018-11-03"}}, havana, "2018-11-02T23:45:00-04:00", "2018-11-04T00:00:00-04:00", "2018-11-04T00:00:00-04:00", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inner := &counting{Trigger: tt.inner}
			f, err := NewDayFilter(inner, tt.days, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			prev := mustTime(t, tt.prev)
			got := f.Next(prev, prev)
			if want := mustTime(t, tt.want); !got.Equal(want) {
				t.Fatalf("Next(%s) = %s, want %s", tt.prev, got, tt.want)
			}
			if inner.calls > tt.maxCalls {
				t.Errorf("the inner trigger was asked %d times, want at most %d", inner.calls, tt.maxCalls)
			}
			if jumped := inner.prevs[len(inner.prevs)-1].Add(time.Nanosecond); !jumped.Equal(mustTime(t, tt.wantStart)) {
				t.Errorf("jumped to %s, want the start of the day %s", jumped, tt.wantStart)
			}
			if got.Location() != tt.loc {
				t.Errorf("result in %s, want the trigger's zone %s", got.Location(), tt.loc)
			}
		})
	}
}

// TestDayFilterUnanchoredInterval checks that an interval without a start
// keeps counting from its last fire across the excluded days.
func TestDayFilterUnanchoredInterval(t *testing.T) {
	t.Parallel()
	shanghai := mustZone(t, "Asia/Shanghai")
	f, err := NewDayFilter(Interval{Every: 30 * time.Minute, Location: shanghai}, *china2026(ExcludeHolidays), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	prev := mustTime(t, "2026-09-30T23:45:10+08:00")
	if got, want := f.Next(prev, prev), mustTime(t, "2026-10-08T00:15:10+08:00"); !got.Equal(want) {
		t.Errorf("Next = %s, want %s", got, want)
	}
}

// TestDayFilterGivesUp checks that a trigger that never lands on an
// allowed day returns zero after a bounded search.
func TestDayFilterGivesUp(t *testing.T) {
	t.Parallel()
	now := mustTime(t, "2026-01-01T00:00:00Z")
	saturdays := mustCron(t, Crontab, "0 9 * * 6", CronOptions{})
	inner := &counting{Trigger: saturdays}
	f, err := NewDayFilter(inner, DayCalendar{Rule: Workdays, WorkingDays: []string{"2027-01-05"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Next(time.Time{}, now); !got.IsZero() {
		t.Fatalf("Next = %s, want zero", got)
	}
	// One jump a week, for 30 years after the last listed date.
	if weeks := 31 * 53; inner.calls > weeks {
		t.Errorf("the inner trigger was asked %d times, want at most %d", inner.calls, weeks)
	}
	if inner.calls < 30*52 {
		t.Errorf("gave up after %d calls, before the 30-year horizon", inner.calls)
	}
	// A fire just within the horizon is found.
	far := mustCron(t, Crontab, "0 9 * * 6", CronOptions{})
	f, err = NewDayFilter(Or{far, Date{At: mustTime(t, "2055-12-01T09:00:00Z")}}, DayCalendar{Rule: Workdays}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Next(time.Time{}, now); !got.Equal(mustTime(t, "2055-12-01T09:00:00Z")) {
		t.Errorf("Next = %s, want the fire almost 30 years ahead", got)
	}
	// One just beyond it is not.
	f, err = NewDayFilter(Or{far, Date{At: mustTime(t, "2056-01-02T09:00:00Z")}}, DayCalendar{Rule: Workdays}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Next(time.Time{}, now); !got.IsZero() {
		t.Errorf("Next = %s, want zero beyond the horizon", got)
	}
}

// TestDayFilterMatchesBruteForce compares the filter with stepping fire
// by fire through the inner trigger and checking each day by hand, for
// random calendars, in zones with daylight-saving time.
func TestDayFilterMatchesBruteForce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(14, 2026))
	zones := []string{"America/Sao_Paulo", "America/New_York", "Asia/Shanghai", "America/Havana", "Australia/Lord_Howe"}
	start := mustTime(t, "2018-01-01T00:00:00Z")
	for round := range 40 {
		loc := mustZone(t, zones[round%len(zones)])
		var cal DayCalendar
		cal.Rule = []DayRule{ExcludeHolidays, OnlyHolidays, Workdays, RestDays}[round%4]
		holidays, working := map[string]bool{}, map[string]bool{}
		for range 120 {
			d := start.AddDate(0, 0, rng.IntN(900)).Format(time.DateOnly)
			cal.Holidays = append(cal.Holidays, d)
			holidays[d] = true
		}
		for range 20 {
			d := start.AddDate(0, 0, rng.IntN(900)).Format(time.DateOnly)
			cal.WorkingDays = append(cal.WorkingDays, d)
			working[d] = true
		}
		allowed := func(at time.Time) bool {
			l := at.In(loc)
			d := l.Format(time.DateOnly)
			weekday := l.Weekday() != time.Saturday && l.Weekday() != time.Sunday
			switch cal.Rule {
			case OnlyHolidays:
				return holidays[d]
			case Workdays:
				return working[d] || (weekday && !holidays[d])
			case RestDays:
				return !(working[d] || (weekday && !holidays[d]))
			}
			return !holidays[d]
		}
		var inner Trigger
		switch round % 3 {
		case 0:
			inner = mustCron(t, Crontab, fmt.Sprintf("%d */%d * * *", rng.IntN(60), 1+rng.IntN(7)), CronOptions{Location: loc})
		case 1:
			inner = Interval{Every: time.Duration(1+rng.IntN(600)) * time.Minute, Start: start.Add(time.Duration(rng.IntN(3600)) * time.Second), Location: loc}
		default:
			inner = mustCron(t, Crontab, "0 0 * * *", CronOptions{Location: loc}) // midnight, where DST moves it
		}
		f, err := NewDayFilter(inner, cal, loc)
		if err != nil {
			t.Fatal(err)
		}
		var want []time.Time
		for n := inner.Next(time.Time{}, start); !n.IsZero() && len(want) < 300 && n.Year() < 2021; n = inner.Next(n, start) {
			if allowed(n) {
				want = append(want, n)
			}
		}
		if len(want) < 10 {
			t.Fatalf("round %d: only %d fires to compare", round, len(want))
		}
		var got []time.Time
		for n := f.Next(time.Time{}, start); !n.IsZero() && len(got) < len(want); n = f.Next(n, start) {
			got = append(got, n)
		}
		if !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Fatalf("round %d (%s, %s, %v): filter and brute force differ\n got %v\nwant %v", round, loc, cal.Rule, inner, got, want)
		}
	}
}

func TestDayFilterAllows(t *testing.T) {
	t.Parallel()
	shanghai := mustZone(t, "Asia/Shanghai")
	f, err := NewDayFilter(Never{}, *china2026(Workdays), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	for at, want := range map[string]bool{
		"2026-10-10T09:00:00+08:00": true,  // a make-up Saturday
		"2026-10-11T09:00:00+08:00": false, // a Sunday
		"2026-10-01T09:00:00+08:00": false, // National Day
		"2026-09-30T16:30:00Z":      false, // 00:30 on 1 October in Shanghai
		"2026-09-30T15:30:00Z":      true,  // 23:30 on 30 September in Shanghai
	} {
		if got := f.Allows(mustTime(t, at)); got != want {
			t.Errorf("Allows(%s) = %v, want %v", at, got, want)
		}
	}
	// A literal filter without a calendar lets every fire through.
	lit := &DayFilter{Trigger: mustCron(t, Crontab, "0 9 * * *", CronOptions{})}
	if got := fires(lit, mustTime(t, "2026-10-01T00:00:00Z"), 2); !equalStrings(got, []string{"2026-10-01T09:00:00Z", "2026-10-02T09:00:00Z"}) {
		t.Errorf("literal filter fires %v", got)
	}
}

// TestDayFilterInsideJitterAndBounds checks the order of the wrappers:
// the calendar filters the undelayed fire times, inside the bounds.
func TestDayFilterInsideJitterAndBounds(t *testing.T) {
	t.Parallel()
	s := Spec{Type: "date", RunDate: "2026-10-08T09:00:00Z", StartDate: "2026-01-01", Jitter: Duration(time.Hour), Calendar: china2026(ExcludeHolidays)}
	tr, err := s.Build()
	if err != nil {
		t.Fatal(err)
	}
	j, ok := tr.(Jitter)
	if !ok {
		t.Fatalf("built %T, want Jitter outside", tr)
	}
	b, ok := j.Trigger.(Bounded)
	if !ok {
		t.Fatalf("Jitter wraps %T, want Bounded", j.Trigger)
	}
	if _, ok := b.Trigger.(*DayFilter); !ok {
		t.Fatalf("Bounded wraps %T, want *DayFilter", b.Trigger)
	}
	// 23:59 on an allowed day, delayed into a holiday, still fires: the
	// calendar judges the undelayed time.
	late := Spec{Type: "cron", Expr: "59 23 * * *", Timezone: "Asia/Shanghai", Jitter: Duration(50 * time.Minute), JitterSeed: 3,
		Calendar: china2026(ExcludeHolidays)}
	tr, err = late.Build()
	if err != nil {
		t.Fatal(err)
	}
	got := tr.Next(time.Time{}, mustTime(t, "2026-09-30T12:00:00+08:00"))
	undelayed := mustTime(t, "2026-09-30T23:59:00+08:00")
	if d := got.Sub(undelayed); d < 0 || d >= 50*time.Minute {
		t.Fatalf("Next = %s, want within 50m after %s", got, undelayed)
	}
}

func TestDayCalendarErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec  string
		want  string
		never bool
	}{
		{`{"type": "cron", "expr": "0 9 * * *", "calendar": {"rule": "weekdays"}}`,
			`cron: field "calendar.rule": "weekdays" is not one of exclude, only, workdays, rest_days`, false},
		{`{"type": "cron", "expr": "0 9 * * *", "calendar": {"holidays": ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-4"]}}`,
			`cron: field "calendar.holidays[3]": "2026-10-4" is not a date in the form 2006-01-02`, false},
		{`{"type": "interval", "hours": 1, "calendar": {"rule": "workdays", "working_days": ["2026-02-30"]}}`,
			`interval: field "calendar.working_days[0]": "2026-02-30" is not a real date`, false},
		{`{"type": "cron", "expr": "0 9 * * *", "calendar": {"holidays": ["2026-10-01T00:00:00Z"]}}`,
			`cron: field "calendar.holidays[0]": "2026-10-01T00:00:00Z" is not a date in the form 2006-01-02`, false},
		{`{"type": "cron", "expr": "0 9 * * *", "calendar": {"holidays": ["0000-01-01"]}}`,
			`cron: field "calendar.holidays[0]": "0000-01-01" is not a real date`, false},
		{`{"type": "cron", "expr": "0 9 * * *", "calendar": {"holidays": ["+026-01-01"]}}`,
			`cron: field "calendar.holidays[0]": "+026-01-01" is not a date in the form 2006-01-02`, false},
		{`{"type": "cron", "expr": "0 9 * * *", "calendar": {"version": -1}}`,
			`cron: field "calendar.version": -1 must not be negative`, false},
		{`{"type": "cron", "expr": "0 9 * * *", "calendar": {"rule": "only"}}`,
			`cron: field "calendar.holidays": required with rule only: the dates to fire on`, true},
		{`{"type": "none", "calendar": {"name": "cn"}}`,
			`none: field "calendar": a none trigger never fires, so it takes no calendar`, false},
		{`{"type": "or", "triggers": [{"type": "cron", "expr": "0 9 * * *"}, {"type": "date", "run_date": "2026-10-01", "calendar": {"holidays": ["2026-13-01"]}}]}`,
			`date: field "triggers[1].calendar.holidays[0]": "2026-13-01" is not a real date`, false},
		{`{"type": "cron", "expr": "0 9 * * *", "calendar": {"holidays": "2026-10-01"}}`,
			`trigger: field "calendar.holidays": expected an array, got a string: write a list of strings, such as ["2026-10-01"]`, false},
		{`{"type": "cron", "expr": "0 9 * * *", "calendar": {"dates": []}}`,
			`trigger: field "calendar.dates": unknown field "dates"`, false},
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
		if got := errors.Is(err, ErrNeverFires); got != tt.never {
			t.Errorf("ParseSpec(%s): errors.Is(ErrNeverFires) = %v, want %v", tt.spec, got, tt.never)
		}
	}
}

func TestDayCalendarSize(t *testing.T) {
	t.Parallel()
	dates := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = time.Date(2000, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		}
		return out
	}
	if err := (DayCalendar{Holidays: dates(MaxCalendarDates)}).Validate(); err != nil {
		t.Fatalf("%d dates: %v", MaxCalendarDates, err)
	}
	var pe *ParseError
	err := DayCalendar{Holidays: dates(MaxCalendarDates - 1), WorkingDays: dates(2)}.Validate()
	if !errors.As(err, &pe) || pe.Field != "working_days" || !strings.Contains(pe.Msg, "10001 dates") {
		t.Fatalf("one date too many: %v", err)
	}
	_, err = CronExpr("0 9 * * *", OnDays(DayCalendar{Holidays: dates(MaxCalendarDates + 1)})).Build()
	if !errors.As(err, &pe) || pe.Field != "calendar.holidays" {
		t.Fatalf("one holiday too many: %v", err)
	}
}

func TestDayCalendarJSON(t *testing.T) {
	t.Parallel()
	text := `{"type":"cron","expr":"0 9 * * *","timezone":"Asia/Shanghai","calendar":{"name":"cn-holidays","rule":"workdays",` +
		`"holidays":["2026-10-01","2026-10-02"],"working_days":["2026-10-10"],"version":3}}`
	s, err := ParseSpec([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := &DayCalendar{Name: "cn-holidays", Rule: Workdays, Holidays: []string{"2026-10-01", "2026-10-02"},
		WorkingDays: []string{"2026-10-10"}, Version: 3}
	if !reflect.DeepEqual(s.Calendar, want) {
		t.Fatalf("calendar = %+v, want %+v", s.Calendar, want)
	}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != text {
		t.Fatalf("Marshal =\n%s\nwant\n%s", out, text)
	}
	out, _ = json.Marshal(CronExpr("0 9 * * *", OnCalendar("cn", "")))
	if want := `{"type":"cron","expr":"0 9 * * *","calendar":{"name":"cn"}}`; string(out) != want {
		t.Fatalf("Marshal = %s, want %s", out, want)
	}
}

func TestDayCalendarOptions(t *testing.T) {
	t.Parallel()
	holidays := []string{"2026-10-01"}
	opt := OnDays(DayCalendar{Rule: Workdays, Holidays: holidays})
	a := CronExpr("0 9 * * *", opt)
	holidays[0] = "2026-12-25"
	b := Every(time.Hour, opt)
	a.Calendar.Holidays[0] = "changed"
	if b.Calendar.Holidays[0] != "2026-10-01" {
		t.Fatalf("specs share their dates with the caller or each other: %v", b.Calendar.Holidays)
	}
	if got := CronExpr("0 9 * * *", OnCalendar("cn", Workdays)).Calendar; !reflect.DeepEqual(got, &DayCalendar{Name: "cn", Rule: Workdays}) {
		t.Fatalf("OnCalendar set %+v", got)
	}
}

func TestPinWithCalendar(t *testing.T) {
	t.Parallel()
	now := mustTime(t, "2026-01-01T10:00:00Z")
	s := Every(5*time.Minute, MaxJitter(20*time.Second), OnCalendar("cn", Workdays))
	pinned, err := s.Pin(now)
	if err != nil {
		t.Fatal(err)
	}
	if pinned.StartDate != "2026-01-01T10:05:00Z" {
		t.Errorf("pinned start_date = %q, want 2026-01-01T10:05:00Z", pinned.StartDate)
	}
}

func TestDescribeDayCalendar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec   Spec
		en, zh string
	}{
		{CronExpr("0 9 * * *", OnCalendar("cn-holidays", Workdays)),
			"At 09:00, on workdays of calendar cn-holidays", "在 09:00，日历 cn-holidays 的工作日"},
		{CronExpr("0 9 * * *", OnCalendar("cn-holidays", "")),
			"At 09:00, except the holidays of calendar cn-holidays", "在 09:00，日历 cn-holidays 的节假日除外"},
		{CronExpr("0 9 * * *", OnCalendar("paydays", OnlyHolidays)),
			"At 09:00, only on the dates of calendar paydays", "在 09:00，仅在日历 paydays 所列日期"},
		{CronExpr("0 9 * * *", OnCalendar("cn", RestDays)),
			"At 09:00, on rest days of calendar cn", "在 09:00，日历 cn 的休息日"},
		{CronExpr("0 9 * * *", OnDays(*china2026(Workdays))),
			"At 09:00, on workdays (calendar of 9 dates)", "在 09:00，工作日（日历共 9 天）"},
		{CronExpr("0 9 * * *", OnDays(DayCalendar{Holidays: []string{"2026-12-25", "2026-12-25"}})),
			"At 09:00, except holidays (calendar of 1 date)", "在 09:00，节假日除外（日历共 1 天）"},
		{CronExpr("0 9 * * *", OnDays(*china2026(OnlyHolidays))),
			"At 09:00, only on the listed dates (calendar of 7 dates)", "在 09:00，仅在所列日期（日历共 7 天）"},
		{CronExpr("0 9 * * *", OnDays(*china2026(RestDays)), MaxJitter(time.Minute)),
			"At 09:00, on rest days (calendar of 9 dates), delayed by up to 1m0s", "在 09:00，休息日（日历共 9 天），随机延迟最多 1m0s"},
	}
	for _, tt := range tests {
		tr, err := tt.spec.Build()
		if err != nil {
			t.Fatal(err)
		}
		if got := Describe(tr); got != tt.en {
			t.Errorf("Describe = %q, want %q", got, tt.en)
		}
		if got := DescribeIn(tr, "zh-CN"); got != tt.zh {
			t.Errorf("DescribeIn zh = %q, want %q", got, tt.zh)
		}
	}
}
