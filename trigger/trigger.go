// Package trigger decides when jobs fire: cron expressions in three
// dialects (crontab, Quartz, APScheduler), fixed intervals, single dates,
// calendar intervals, and/or combinations and jitter, each of which a
// holiday calendar can restrict to working days or keep off holidays
// ([DayCalendar], [DayFilter]).
//
// It is pure code that touches only the values it is given: no clock of
// its own (the scheduler owns time and passes now in), no goroutines, no
// randomness beyond what a seed determines, and no I/O except the zone
// database that [time.LoadLocation] reads when a spec names a zone (a
// binary that must not depend on the host's zoneinfo imports time/tzdata).
// Every trigger works in its own time zone and is safe for concurrent use.
//
// A trigger is written to and read from a [Spec], the JSON form in which
// jobs are stored and sent over the API. Go programs build one with the
// constructors [CronExpr], [APSchedulerCron], [Every], [EveryCalendar],
// [At], [AnyOf] and [AllOf], refined by [Option] values:
//
//	trigger.CronExpr("0 9 * * 1-5", trigger.In(london))
//	trigger.Every(90*time.Second, trigger.MaxJitter(10*time.Second))
//
// The constructors never fail and never panic: they only fill in fields,
// and return exactly the spec a caller would write by hand. Invalid input
// is reported where every spec is checked, by [Spec.Build] (which
// [ParseSpec] and the scheduler's AddJob call), as a *[ParseError] naming
// the JSON field at fault. One rule keeps a constructor call usable inside
// a struct literal such as a job's, and a spec valid or not whatever made it.
//
// Daylight-saving time is handled by rule, not by accident; docs/time.md
// states the rules and [SpringForward] and [FallBack] select them.
package trigger

import "time"

// Trigger reports when a job fires next.
//
// Next returns the earliest fire time strictly after prev. When prev is zero
// (the job has not fired yet) it returns the earliest fire time at or after
// now; a [Date] trigger is the one exception, returning its instant even when
// it has just passed so that the scheduler's misfire rules can decide. A zero
// result means the trigger will never fire again. Results are strictly
// increasing in prev and carry the trigger's time zone.
type Trigger interface {
	Next(prev, now time.Time) time.Time
}

// SpringForward chooses what happens to a fire time that falls in the gap
// when clocks move forward and the wall-clock time does not exist. It is
// also an [Option], so a constructor takes the rule as one word.
type SpringForward string

const (
	// RunAfterGap fires once, at the first instant after the gap. It is the
	// default for schedules at fixed wall-clock times.
	RunAfterGap SpringForward = "run_after"
	// SkipGap drops fire times that do not exist. It is the default for
	// schedules that repeat every few seconds or minutes.
	SkipGap SpringForward = "skip"
)

// FallBack chooses what happens to a fire time that falls in the hour that
// repeats when clocks move back and the wall-clock time exists twice. It is
// also an [Option], so a constructor takes the rule as one word.
type FallBack string

const (
	// FirstPass fires at the first occurrence only. It is the default for
	// schedules at fixed wall-clock times.
	FirstPass FallBack = "first"
	// LastPass fires at the second occurrence only.
	LastPass FallBack = "last"
	// BothPasses fires at both occurrences. It is the default for schedules
	// that repeat every few seconds or minutes, which keep firing as real
	// time passes.
	BothPasses FallBack = "both"
)

func (p SpringForward) valid() bool { return p == "" || p == RunAfterGap || p == SkipGap }

func (p FallBack) valid() bool {
	return p == "" || p == FirstPass || p == LastPass || p == BothPasses
}

// searchYears bounds every search for a fire time. The Gregorian calendar
// repeats every 400 years, so a schedule without a year restriction that has
// no fire time within 400 years has none at all.
const searchYears = 400

// maxYear is the last year any trigger can fire in.
const maxYear = 9999
