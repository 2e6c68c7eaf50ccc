// Package trigger decides when jobs fire: cron expressions in three
// dialects (crontab, Quartz, APScheduler), fixed intervals, single dates,
// calendar intervals, and/or combinations and jitter.
//
// Every trigger is pure computation in its own time zone: no I/O, no clock,
// no goroutines, safe for concurrent use. The scheduler owns time and passes
// it in. A trigger is written to and read from a [Spec], the JSON form in
// which jobs are stored and sent over the API.
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
// when clocks move forward and the wall-clock time does not exist.
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
// repeats when clocks move back and the wall-clock time exists twice.
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
