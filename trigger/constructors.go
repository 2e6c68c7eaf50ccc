package trigger

import (
	"math"
	"slices"
	"time"
)

// This file holds the typed constructors of Spec. Each one only fills in
// fields, so that a constructed spec and a hand-written one are the same
// value: one validation path (Spec.Build), one JSON form, one set of tests.

// Option sets an optional field of a [Spec] made by a constructor such as
// [CronExpr] or [Every], or by [Spec.With]. Besides the functions that
// return one ([In], [InZone], [From], [Until], [MaxJitter], [JitterSeed],
// [OnCalendar], [OnDays]), the constants of [Dialect], [SpringForward],
// [FallBack] and [MissingDay] are options themselves, so a dialect or a
// rule reads as one word (a [DayRule] is not: it needs its calendar):
//
//	trigger.CronExpr("0 0 10 ? * 6#3", trigger.Quartz, trigger.SkipGap)
//
// An option that does not apply to the trigger type, such as a dialect on
// an interval, is reported by [Spec.Build] like the same field in JSON.
type Option interface {
	apply(*Spec)
}

// optionFunc adapts a function to an Option.
type optionFunc func(*Spec)

func (f optionFunc) apply(s *Spec) { f(s) }

// apply makes a Dialect an Option that selects it.
func (d Dialect) apply(s *Spec) { s.Dialect = d }

// apply makes a SpringForward rule an Option that selects it.
func (p SpringForward) apply(s *Spec) { s.SpringForward = p }

// apply makes a FallBack rule an Option that selects it.
func (p FallBack) apply(s *Spec) { s.FallBack = p }

// apply makes a MissingDay rule an Option that selects it.
func (m MissingDay) apply(s *Spec) { s.MissingDay = m }

// With returns a copy of the spec with the options applied in order, so
// that options reach specs that constructors do not take them for, such
// as the result of [AnyOf].
func (s Spec) With(opts ...Option) Spec {
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	return s
}

// CronExpr returns a cron spec for a crontab expression, or for another
// dialect's expression given the [Dialect] as an option; it is named for
// the expression because [Cron] is the parsed trigger.
//
//	trigger.CronExpr("0 9 * * 1-5", trigger.In(london))
//	trigger.CronExpr("0 0 10 ? * 6#3", trigger.Quartz)
//
// The APScheduler dialect takes keyword fields, not an expression: use
// [APSchedulerCron].
func CronExpr(expr string, opts ...Option) Spec {
	return Spec{Type: "cron", Expr: expr}.With(opts...)
}

// APSchedulerCron returns a cron spec of APScheduler CronTrigger keyword
// fields, the form Flask-APScheduler configs hold, so that a schedule
// ported from Python keeps its meaning (day_of_week 0 is Monday).
//
//	trigger.APSchedulerCron(trigger.CronFields{DayOfWeek: "mon-fri", Hour: "9"})
func APSchedulerCron(fields CronFields, opts ...Option) Spec {
	return Spec{Type: "cron", Dialect: APScheduler, Fields: &fields}.With(opts...)
}

// Every returns an interval spec that fires every d of elapsed time, so
// daylight-saving changes do not move it; for a wall-clock time every day
// use [CronExpr] or [EveryCalendar]. Without [From] the first fire is one
// interval after the job is stored.
//
// The spec holds d in the largest of hours, minutes and seconds that
// divides it, as a person would write it: Every(90*time.Second) is
// {"seconds": 90} and Every(2*time.Hour) is {"hours": 2}.
func Every(d time.Duration, opts ...Option) Spec {
	s := Spec{Type: "interval"}
	switch {
	case d != 0 && d%time.Hour == 0:
		s.Hours = int(d / time.Hour)
	case d != 0 && d%time.Minute == 0:
		s.Minutes = int(d / time.Minute)
	default:
		s.Seconds = d.Seconds()
		// Past about 58 days a fraction of a second no longer survives a
		// float64 of seconds; whole minutes keep the rest exact.
		if time.Duration(math.Round(s.Seconds*float64(time.Second))) != d {
			s.Minutes = int(d / time.Minute)
			s.Seconds = (d % time.Minute).Seconds()
		}
	}
	return s.With(opts...)
}

// EveryCalendar returns a calendar spec that fires every n days, weeks,
// months or years at first's wall-clock time (to the second) in first's
// location, starting at first: unlike [Every] it keeps 09:00 at 09:00
// across daylight-saving changes, and every month on the 31st follows
// [MissingDay].
//
//	first := time.Date(2026, 1, 31, 9, 0, 0, 0, shanghai)
//	trigger.EveryCalendar(1, trigger.Months, first) // 31 Jan, 28 Feb, 31 Mar, 30 Apr …
//
// first's location must come from [time.LoadLocation], since the spec
// stores its name; [In] or [InZone] replace the zone and keep the
// wall-clock time.
func EveryCalendar(n int, unit CalendarUnit, first time.Time, opts ...Option) Spec {
	s := Spec{Type: "calendar", Hour: first.Hour(), Minute: first.Minute(), Second: first.Second(),
		Timezone: first.Location().String(), StartDate: formatDate(first.Truncate(time.Second))}
	switch unit {
	case Years:
		s.Years = n
	case Months:
		s.Months = n
	case Weeks:
		s.Weeks = n
	case Days:
		s.Days = n
	}
	return s.With(opts...)
}

// At returns a date spec that fires once, at t. A zero t leaves run_date
// unset, which Build reports, rather than meaning the year 1.
func At(t time.Time, opts ...Option) Spec {
	return Spec{Type: "date", RunDate: formatDate(t)}.With(opts...)
}

// AnyOf returns an or spec that fires whenever any of the specs fires,
// such as 09:00 on weekdays and 11:00 at weekends.
func AnyOf(specs ...Spec) Spec {
	return Spec{Type: "or", Triggers: slices.Clone(specs)}
}

// AllOf returns an and spec that fires only when all of the specs fire at
// the same instant, such as a Friday that is the 13th, which one crontab
// expression cannot say (its day fields match if either does).
func AllOf(specs ...Spec) Spec {
	return Spec{Type: "and", Triggers: slices.Clone(specs)}
}

// In sets the spec's time zone, in which cron and calendar times are
// wall-clock times and fire times are reported. The spec stores the zone's
// name, so loc must come from [time.LoadLocation] (or be [time.UTC]):
// [time.Local] and [time.FixedZone] zones are reported by Build, since a
// stored schedule must not change meaning with the machine that reads it.
// A nil loc leaves the zone unset, which means UTC.
func In(loc *time.Location) Option {
	return optionFunc(func(s *Spec) {
		s.Timezone = ""
		if loc != nil {
			s.Timezone = loc.String()
		}
	})
}

// InZone sets the spec's time zone by IANA name, such as "Europe/London",
// for callers that hold the name (from config) rather than a loaded zone.
func InZone(name string) Option {
	return optionFunc(func(s *Spec) { s.Timezone = name })
}

// From sets the earliest instant the trigger may fire (start_date); for
// [Every] it is also the first fire and anchors the grid, so fire times
// stay on it across restarts. A zero t leaves it unset.
func From(t time.Time) Option {
	return optionFunc(func(s *Spec) { s.StartDate = formatDate(t) })
}

// Until sets the latest instant the trigger may fire (end_date), after
// which it never fires again. A zero t leaves it unset.
func Until(t time.Time) Option {
	return optionFunc(func(s *Spec) { s.EndDate = formatDate(t) })
}

// MaxJitter delays each fire by a random span below d, to spread jobs
// that would otherwise all start at the same instant (see [Jitter]).
func MaxJitter(d time.Duration) Option {
	return optionFunc(func(s *Spec) { s.Jitter = Duration(d) })
}

// JitterSeed selects the jitter's random sequence, so that jobs with the
// same schedule and different seeds are spread apart (see [Jitter]).
func JitterSeed(seed uint64) Option {
	return optionFunc(func(s *Spec) { s.JitterSeed = seed })
}

// formatDate writes an instant as a spec stores it: RFC 3339 with its
// offset and any fraction of a second; zero is "", the unset field.
func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// None returns the spec of a trigger that never fires by itself, for a job
// that runs only when another job's run starts it (JobOptions.Then) or a
// person does.
func None() Spec { return Spec{Type: "none"} }
