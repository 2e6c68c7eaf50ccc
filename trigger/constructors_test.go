package trigger

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestConstructorsEqualHandWritten checks that each constructor returns
// exactly the spec a caller would write by hand, that it survives JSON and
// ParseSpec unchanged, and that both build to the same fire times.
func TestConstructorsEqualHandWritten(t *testing.T) {
	t.Parallel()
	london := mustZone(t, "Europe/London")
	paris := mustZone(t, "Europe/Paris")
	shanghai := mustZone(t, "Asia/Shanghai")
	newYork := mustZone(t, "America/New_York")
	jan1 := mustTime(t, "2026-01-01T00:00:00Z")
	feb1 := mustTime(t, "2026-02-01T00:00:00Z")

	tests := []struct {
		name string
		got  Spec
		want Spec
		from string
	}{
		{"cron in a zone", CronExpr("0 9 * * 1-5", In(london)),
			Spec{Type: "cron", Expr: "0 9 * * 1-5", Timezone: "Europe/London"}, "2026-03-27T12:00:00Z"},
		{"cron in a zone by name", CronExpr("0 9 * * 1-5", InZone("Europe/London")),
			Spec{Type: "cron", Expr: "0 9 * * 1-5", Timezone: "Europe/London"}, "2026-03-27T12:00:00Z"},
		{"cron in UTC", CronExpr("0 9 * * *", In(time.UTC)),
			Spec{Type: "cron", Expr: "0 9 * * *", Timezone: "UTC"}, "2026-01-01T00:00:00Z"},
		{"nil zone is unset", CronExpr("0 9 * * *", InZone("Europe/London"), In(nil)),
			Spec{Type: "cron", Expr: "0 9 * * *"}, "2026-01-01T00:00:00Z"},
		{"crontab named", CronExpr("0 9 * * 7", Crontab),
			Spec{Type: "cron", Expr: "0 9 * * 7", Dialect: Crontab}, "2026-01-01T00:00:00Z"},
		{"quartz", CronExpr("0 0 10 ? * 6#3", Quartz, In(paris)),
			Spec{Type: "cron", Expr: "0 0 10 ? * 6#3", Dialect: Quartz, Timezone: "Europe/Paris"}, "2026-01-01T00:00:00Z"},
		{"dialect by conversion", CronExpr("0 0 10 ? * 6#3", Dialect("quartz")),
			Spec{Type: "cron", Expr: "0 0 10 ? * 6#3", Dialect: Quartz}, "2026-01-01T00:00:00Z"},
		{"cron with CRON_TZ", CronExpr("CRON_TZ=Asia/Tokyo 0 9 * * *"),
			Spec{Type: "cron", Expr: "CRON_TZ=Asia/Tokyo 0 9 * * *"}, "2026-01-01T00:00:00Z"},
		{"cron daylight-saving rules", CronExpr("30 1 * * *", In(london), SkipGap, BothPasses),
			Spec{Type: "cron", Expr: "30 1 * * *", Timezone: "Europe/London", SpringForward: SkipGap, FallBack: BothPasses},
			"2026-03-28T00:00:00Z"},
		{"cron between dates", CronExpr("0 * * * *", From(jan1.Add(90*time.Minute)), Until(jan1.Add(4*time.Hour))),
			Spec{Type: "cron", Expr: "0 * * * *", StartDate: "2026-01-01T01:30:00Z", EndDate: "2026-01-01T04:00:00Z"},
			"2026-01-01T00:00:00Z"},
		{"cron jittered", CronExpr("0 9 * * *", MaxJitter(time.Minute), JitterSeed(7)),
			Spec{Type: "cron", Expr: "0 9 * * *", Jitter: Duration(time.Minute), JitterSeed: 7}, "2026-01-01T00:00:00Z"},
		{"apscheduler fields", APSchedulerCron(CronFields{DayOfWeek: "mon-fri", Hour: "9"}, InZone("Asia/Shanghai")),
			Spec{Type: "cron", Dialect: APScheduler, Fields: &CronFields{DayOfWeek: "mon-fri", Hour: "9"}, Timezone: "Asia/Shanghai"},
			"2026-01-02T12:00:00Z"},
		{"apscheduler last friday", APSchedulerCron(CronFields{Day: "last fri", Hour: "17", Minute: "30"}),
			Spec{Type: "cron", Dialect: APScheduler, Fields: &CronFields{Day: "last fri", Hour: "17", Minute: "30"}},
			"2026-01-01T00:00:00Z"},
		{"every 90 seconds", Every(90*time.Second, From(jan1)),
			Spec{Type: "interval", Seconds: 90, StartDate: "2026-01-01T00:00:00Z"}, "2026-01-01T00:02:00Z"},
		{"every 5 minutes", Every(5*time.Minute, From(jan1)),
			Spec{Type: "interval", Minutes: 5, StartDate: "2026-01-01T00:00:00Z"}, "2026-01-01T00:07:00Z"},
		{"every 90 minutes", Every(90*time.Minute, From(jan1)),
			Spec{Type: "interval", Minutes: 90, StartDate: "2026-01-01T00:00:00Z"}, "2026-01-01T00:00:00Z"},
		{"every 2 hours", Every(2*time.Hour, From(jan1)),
			Spec{Type: "interval", Hours: 2, StartDate: "2026-01-01T00:00:00Z"}, "2026-01-01T00:00:00Z"},
		{"every 1.5 seconds", Every(1500*time.Millisecond, From(jan1)),
			Spec{Type: "interval", Seconds: 1.5, StartDate: "2026-01-01T00:00:00Z"}, "2026-01-01T00:00:00Z"},
		{"every 1 hour and 1 second", Every(time.Hour+time.Second, From(jan1)),
			Spec{Type: "interval", Seconds: 3601, StartDate: "2026-01-01T00:00:00Z"}, "2026-01-01T00:00:00Z"},
		{"every day is elapsed time", Every(24*time.Hour, In(newYork), From(mustTime(t, "2026-03-07T12:00:00-05:00"))),
			Spec{Type: "interval", Hours: 24, Timezone: "America/New_York", StartDate: "2026-03-07T12:00:00-05:00"},
			"2026-03-07T12:00:00-05:00"},
		{"every without a start", Every(30 * time.Second),
			Spec{Type: "interval", Seconds: 30}, "2026-01-01T00:00:10Z"},
		{"every, bounded and jittered", Every(time.Hour, From(jan1), Until(jan1.Add(3*time.Hour)), MaxJitter(5*time.Minute), JitterSeed(1)),
			Spec{Type: "interval", Hours: 1, StartDate: "2026-01-01T00:00:00Z", EndDate: "2026-01-01T03:00:00Z",
				Jitter: Duration(5 * time.Minute), JitterSeed: 1}, "2026-01-01T00:00:00Z"},
		{"at an instant", At(time.Date(2026, 12, 24, 18, 0, 0, 0, paris)),
			Spec{Type: "date", RunDate: "2026-12-24T18:00:00+01:00"}, "2026-01-01T00:00:00Z"},
		{"at in a zone", At(time.Date(2026, 12, 24, 18, 0, 0, 0, paris), In(london)),
			Spec{Type: "date", RunDate: "2026-12-24T18:00:00+01:00", Timezone: "Europe/London"}, "2026-01-01T00:00:00Z"},
		{"at keeps fractions", At(jan1.Add(1500 * time.Millisecond)),
			Spec{Type: "date", RunDate: "2026-01-01T00:00:01.5Z"}, "2026-01-01T00:00:00Z"},
		{"at, jittered", At(feb1, MaxJitter(time.Minute), JitterSeed(9)),
			Spec{Type: "date", RunDate: "2026-02-01T00:00:00Z", Jitter: Duration(time.Minute), JitterSeed: 9}, "2026-01-01T00:00:00Z"},
		{"calendar monthly on the 31st", EveryCalendar(1, Months, time.Date(2026, 1, 31, 9, 0, 0, 0, shanghai)),
			Spec{Type: "calendar", Months: 1, Hour: 9, Timezone: "Asia/Shanghai", StartDate: "2026-01-31T09:00:00+08:00"},
			"2026-01-01T00:00:00Z"},
		{"calendar skips short months", EveryCalendar(1, Months, time.Date(2026, 1, 31, 9, 30, 15, 0, time.UTC), SkipMonth),
			Spec{Type: "calendar", Months: 1, Hour: 9, Minute: 30, Second: 15, Timezone: "UTC",
				StartDate: "2026-01-31T09:30:15Z", MissingDay: SkipMonth}, "2026-01-01T00:00:00Z"},
		{"calendar every two weeks until", EveryCalendar(2, Weeks, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), Until(feb1)),
			Spec{Type: "calendar", Weeks: 2, Hour: 9, Timezone: "UTC", StartDate: "2026-01-05T09:00:00Z",
				EndDate: "2026-02-01T00:00:00Z"}, "2026-01-01T00:00:00Z"},
		{"calendar yearly on a leap day", EveryCalendar(1, Years, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)),
			Spec{Type: "calendar", Years: 1, Timezone: "UTC", StartDate: "2024-02-29T00:00:00Z"}, "2024-01-01T00:00:00Z"},
		{"calendar daily across spring forward", EveryCalendar(1, Days, time.Date(2026, 3, 6, 2, 30, 0, 0, newYork), SkipGap),
			Spec{Type: "calendar", Days: 1, Hour: 2, Minute: 30, Timezone: "America/New_York",
				StartDate: "2026-03-06T02:30:00-05:00", SpringForward: SkipGap}, "2026-03-06T00:00:00Z"},
		{"calendar drops fractions of a second", EveryCalendar(3, Days, jan1.Add(999*time.Millisecond)),
			Spec{Type: "calendar", Days: 3, Timezone: "UTC", StartDate: "2026-01-01T00:00:00Z"}, "2026-01-01T00:00:00Z"},
		{"calendar moved to another zone", EveryCalendar(1, Days, time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC), In(london)),
			Spec{Type: "calendar", Days: 1, Hour: 9, Timezone: "Europe/London", StartDate: "2026-01-01T09:00:00Z"},
			"2026-03-27T12:00:00Z"},
		{"any of", AnyOf(CronExpr("0 9 * * 1-5"), CronExpr("0 11 * * 0,6")),
			Spec{Type: "or", Triggers: []Spec{{Type: "cron", Expr: "0 9 * * 1-5"}, {Type: "cron", Expr: "0 11 * * 0,6"}}},
			"2026-01-02T12:00:00Z"},
		{"all of: Friday the 13th", AllOf(CronExpr("0 0 13 * *"), CronExpr("0 0 * * 5")),
			Spec{Type: "and", Triggers: []Spec{{Type: "cron", Expr: "0 0 13 * *"}, {Type: "cron", Expr: "0 0 * * 5"}}},
			"2026-01-01T00:00:00Z"},
		{"options on a combination", AnyOf(At(feb1), Every(time.Hour, From(jan1))).With(MaxJitter(time.Minute), JitterSeed(3)),
			Spec{Type: "or", Triggers: []Spec{{Type: "date", RunDate: "2026-02-01T00:00:00Z"},
				{Type: "interval", Hours: 1, StartDate: "2026-01-01T00:00:00Z"}}, Jitter: Duration(time.Minute), JitterSeed: 3},
			"2026-01-31T22:30:00Z"},
		{"nested combinations", AllOf(AnyOf(CronExpr("0 9 * * *"), CronExpr("0 17 * * *")), CronExpr("0 * * * 1")),
			Spec{Type: "and", Triggers: []Spec{
				{Type: "or", Triggers: []Spec{{Type: "cron", Expr: "0 9 * * *"}, {Type: "cron", Expr: "0 17 * * *"}}},
				{Type: "cron", Expr: "0 * * * 1"}}},
			"2026-01-01T00:00:00Z"},
		{"cron on working days", CronExpr("0 9 * * *", In(shanghai), OnDays(*china2026(Workdays))),
			Spec{Type: "cron", Expr: "0 9 * * *", Timezone: "Asia/Shanghai", Calendar: china2026(Workdays)}, "2026-09-28T00:00:00Z"},
		{"every hour except holidays", Every(time.Hour, From(jan1), OnDays(DayCalendar{Holidays: []string{"2026-01-01"}})),
			Spec{Type: "interval", Hours: 1, StartDate: "2026-01-01T00:00:00Z", Calendar: &DayCalendar{Holidays: []string{"2026-01-01"}}},
			"2026-01-01T00:00:00Z"},
		{"named calendar", CronExpr("0 9 * * *", OnCalendar("cn-holidays", Workdays)),
			Spec{Type: "cron", Expr: "0 9 * * *", Calendar: &DayCalendar{Name: "cn-holidays", Rule: Workdays}}, "2026-01-01T00:00:00Z"},
		{"later options win", CronExpr("0 9 * * *", InZone("Europe/Paris"), In(london), nil),
			Spec{Type: "cron", Expr: "0 9 * * *", Timezone: "Europe/London"}, "2026-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Fatalf("constructor gave\n%+v\nwant the hand-written\n%+v", tt.got, tt.want)
			}
			b, err := json.Marshal(tt.got)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := ParseSpec(b)
			if err != nil {
				t.Fatalf("ParseSpec(%s): %v", b, err)
			}
			if !reflect.DeepEqual(parsed, tt.got) {
				t.Fatalf("JSON round trip of %s gave\n%+v\nwant\n%+v", b, parsed, tt.got)
			}
			from := mustTime(t, tt.from)
			var want []string
			for i, s := range []Spec{tt.want, tt.got, parsed} {
				tr, err := s.Build()
				if err != nil {
					t.Fatalf("spec %d: Build: %v", i, err)
				}
				got := fires(tr, from, 5)
				if i == 0 {
					if len(got) == 0 {
						t.Fatal("the hand-written spec never fires")
					}
					want = got
				} else if !equalStrings(got, want) {
					t.Fatalf("spec %d fires at %v, the hand-written spec at %v", i, got, want)
				}
			}
		})
	}
}

// TestConstructorErrors checks that invalid input never panics and that
// Build reports it naming the field, exactly as for the same JSON.
func TestConstructorErrors(t *testing.T) {
	t.Parallel()
	jan1 := mustTime(t, "2026-01-01T00:00:00Z")
	tests := []struct {
		name  string
		spec  Spec
		field string
	}{
		{"empty cron", CronExpr(""), "expr"},
		{"bad cron", CronExpr("0 24 * * *"), "hour"},
		{"unknown dialect", CronExpr("0 9 * * *", Dialect("cronie")), "dialect"},
		{"apscheduler takes fields", CronExpr("0 9 * * *", APScheduler), "expr"},
		{"fields need apscheduler", APSchedulerCron(CronFields{Hour: "9"}, Quartz), "fields"},
		{"bad apscheduler field", APSchedulerCron(CronFields{Hour: "25"}), "hour"},
		{"unknown zone", CronExpr("0 9 * * *", InZone("Mars/Olympus")), "timezone"},
		{"local zone", CronExpr("0 9 * * *", In(time.Local)), "timezone"},
		{"fixed zone", CronExpr("0 9 * * *", In(time.FixedZone("UTC+8", 8*3600))), "timezone"},
		{"zone conflicts with CRON_TZ", CronExpr("CRON_TZ=Asia/Tokyo 0 9 * * *", InZone("Europe/London")), "timezone"},
		{"bad gap rule", CronExpr("0 9 * * *", SpringForward("later")), "spring_forward"},
		{"bad overlap rule", CronExpr("0 9 * * *", FallBack("twice")), "fall_back"},
		{"end before start", CronExpr("0 9 * * *", From(jan1), Until(jan1.Add(-time.Hour))), "end_date"},
		{"zero interval", Every(0), "seconds"},
		{"negative seconds", Every(-time.Second), "seconds"},
		{"negative minutes", Every(-time.Minute), "minutes"},
		{"negative hours", Every(-time.Hour), "hours"},
		{"huge interval", Every(math.MaxInt64), "minutes"},
		{"most negative interval", Every(math.MinInt64), "seconds"},
		{"negative jitter", Every(time.Hour, MaxJitter(-time.Second)), "jitter"},
		{"dialect on an interval", Every(time.Hour, Quartz), "dialect"},
		{"missing day on an interval", Every(time.Hour, SkipMonth), "missing_day"},
		{"zero date", At(time.Time{}), "run_date"},
		{"date past year 9999", At(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), "run_date"},
		{"date before year 0", At(time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)), "run_date"},
		{"date ending before it starts", At(jan1, From(jan1), Until(jan1.Add(-time.Hour))), "end_date"},
		{"zero calendar count", EveryCalendar(0, Months, jan1), "years"},
		{"negative calendar count", EveryCalendar(-1, Months, jan1), "months"},
		{"unknown calendar unit", EveryCalendar(1, CalendarUnit("hours"), jan1), "years"},
		{"calendar without a start", EveryCalendar(1, Days, time.Time{}), "start_date"},
		{"calendar in the local zone", EveryCalendar(1, Days, time.Date(2026, 1, 1, 9, 0, 0, 0, time.Local)), "timezone"},
		{"bad missing day", EveryCalendar(1, Months, jan1, MissingDay("never")), "missing_day"},
		{"empty any of", AnyOf(), "triggers"},
		{"empty all of", AllOf([]Spec{}...), "triggers"},
		{"bad part", AllOf(CronExpr("0 9 * * *"), Every(0)), "triggers[1].seconds"},
		{"bad calendar date", CronExpr("0 9 * * *", OnDays(DayCalendar{Holidays: []string{"2026-01-01", "01/02/2026"}})), "calendar.holidays[1]"},
		{"bad day rule", Every(time.Hour, OnCalendar("cn", DayRule("weekdays"))), "calendar.rule"},
		{"calendar on none", None().With(OnCalendar("cn", Workdays)), "calendar"},
		{"bad calendar in a part", AnyOf(CronExpr("0 9 * * *", OnDays(DayCalendar{WorkingDays: []string{"2026-02-29"}}))), "triggers[0].calendar.working_days[0]"},
		{"combination ending before it starts", AnyOf(CronExpr("0 9 * * *")).With(From(jan1), Until(jan1.Add(-time.Hour))), "end_date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.spec.Build()
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Build() error = %v, want a *ParseError", err)
			}
			if pe.Field != tt.field {
				t.Fatalf("Build() error %q names field %q, want %q", err, pe.Field, tt.field)
			}
			b, err := json.Marshal(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if _, jsonErr := ParseSpec(b); jsonErr == nil || jsonErr.Error() != pe.Error() {
				t.Fatalf("ParseSpec(%s) error = %v, want the same as Build's: %v", b, jsonErr, pe)
			}
		})
	}
}

// TestEveryIsExact checks that Every(d) builds an interval of exactly d,
// directly and through JSON, across the whole range an interval accepts.
func TestEveryIsExact(t *testing.T) {
	t.Parallel()
	const limit = MaxDuration
	durations := []time.Duration{time.Nanosecond, time.Microsecond, 999 * time.Millisecond, time.Second,
		59*time.Second + time.Nanosecond, time.Minute, time.Hour + time.Nanosecond, 58 * 24 * time.Hour,
		limit - time.Nanosecond, limit - time.Minute, limit}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		durations = append(durations, time.Duration(rng.Int64N(int64(limit)))+1)
	}
	for _, d := range durations {
		spec := Every(d)
		b, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ParseSpec(b)
		if err != nil {
			t.Fatalf("Every(%v): ParseSpec(%s): %v", d, b, err)
		}
		for _, s := range []Spec{spec, parsed} {
			tr, err := s.Build()
			if err != nil {
				t.Fatalf("Every(%v) = %s: Build: %v", d, b, err)
			}
			if got := tr.(Interval).Every; got != d {
				t.Fatalf("Every(%v) = %s builds an interval of %v", d, b, got)
			}
		}
	}
}

// TestConstructorsCopy checks that a spec does not share the caller's
// slice or struct, so changing them later does not change the job.
func TestConstructorsCopy(t *testing.T) {
	t.Parallel()
	parts := []Spec{CronExpr("0 9 * * *"), CronExpr("0 17 * * *")}
	fields := CronFields{Hour: "9"}
	or, and, aps := AnyOf(parts...), AllOf(parts...), APSchedulerCron(fields)
	parts[0].Expr, fields.Hour = "changed", "changed"
	if or.Triggers[0].Expr != "0 9 * * *" || and.Triggers[0].Expr != "0 9 * * *" || aps.Fields.Hour != "9" {
		t.Fatalf("specs changed with their arguments: %+v %+v %+v", or, and, *aps.Fields)
	}
	base := CronExpr("0 9 * * *")
	_ = base.With(InZone("Europe/London"))
	if base.Timezone != "" {
		t.Fatalf("With changed its receiver: %+v", base)
	}
}

// FuzzConstructors feeds arbitrary input to every constructor: none may
// panic, and Build either succeeds or returns a *ParseError.
func FuzzConstructors(f *testing.F) {
	f.Add("0 9 * * 1-5", int64(90*time.Second), int64(1767225600000000000), 1, "Europe/London", "quartz")
	f.Add("", int64(0), int64(0), 0, "", "")
	f.Add("0 0 10 ? * 6#3", int64(-1), int64(math.MaxInt64), -5, "Local", "apscheduler")
	f.Add("@every 1s", int64(math.MinInt64), int64(math.MinInt64), math.MaxInt, "UTC", "crontab")
	f.Fuzz(func(t *testing.T, expr string, d, unixNano int64, n int, zone, dialect string) {
		at := time.Unix(0, unixNano)
		opts := []Option{InZone(zone), Dialect(dialect), From(at), Until(at.Add(time.Duration(d))),
			MaxJitter(time.Duration(d)), JitterSeed(uint64(unixNano))}
		specs := []Spec{
			CronExpr(expr, opts...),
			APSchedulerCron(CronFields{Hour: FieldExpr(expr)}, opts...),
			Every(time.Duration(d), opts...),
			Every(time.Duration(d), InZone(zone)),
			At(at, opts...),
			EveryCalendar(n, CalendarUnit(dialect), at, opts...),
			EveryCalendar(n, Months, at, MissingDay(dialect)),
			CronExpr(expr, OnDays(DayCalendar{Rule: DayRule(dialect), Holidays: []string{zone, at.Format(time.DateOnly)}})),
			Every(time.Duration(d), OnCalendar(zone, DayRule(dialect))),
		}
		specs = append(specs, AnyOf(specs...), AllOf(specs...).With(opts...))
		for _, s := range specs {
			if _, err := s.Build(); err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("%+v: Build error %v is not a *ParseError", s, err)
				}
			}
		}
	})
}
