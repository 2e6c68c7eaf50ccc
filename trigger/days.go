package trigger

import (
	"fmt"
	"slices"
	"time"
)

// DayRule says which days a calendar lets a trigger fire on. The rules are
// not [Option] values, unlike the other rule types of this package: a rule
// alone names no calendar, so give it with [OnCalendar] or [OnDays].
type DayRule string

const (
	// ExcludeHolidays allows every day except the calendar's holidays. It
	// is the default when the rule is empty.
	ExcludeHolidays DayRule = "exclude"
	// OnlyHolidays allows only the calendar's holidays: its listed dates,
	// for a calendar of dates rather than of days off.
	OnlyHolidays DayRule = "only"
	// Workdays allows Monday to Friday, minus the holidays, plus the working
	// days (such as China's make-up working Saturdays, 调休). A date that is
	// both a holiday and a working day is a working day.
	Workdays DayRule = "workdays"
	// RestDays is the complement of Workdays: weekends and holidays, minus
	// the working days.
	RestDays DayRule = "rest_days"
)

func (r DayRule) valid() bool {
	return r == "" || r == ExcludeHolidays || r == OnlyHolidays || r == Workdays || r == RestDays
}

// MaxCalendarDates is the most dates, holidays and working days together,
// that one calendar may list.
const MaxCalendarDates = 10000

// calendarHorizonYears bounds a DayFilter's search for an allowed fire.
const calendarHorizonYears = 30

// maxDayJumps bounds a DayFilter's jumps over disallowed days. Within the
// horizon it is reached only by a calendar that lists dates centuries
// ahead together with a trigger that keeps landing on disallowed days.
const maxDayJumps = 50000

// DayCalendar is a calendar attached to a trigger (Spec.Calendar): its
// dates, and the rule that turns them into the days the trigger may fire on.
//
//	{"name": "cn-holidays", "rule": "workdays", "holidays": ["2026-10-01"], "working_days": ["2026-10-10"], "version": 3}
type DayCalendar struct {
	// Name names a stored calendar; the server fills Holidays, WorkingDays
	// and Version from it when it stores the job.
	Name string `json:"name,omitempty"`
	// Rule is exclude (the default), only, workdays or rest_days.
	Rule DayRule `json:"rule,omitempty"`
	// Holidays are dates "2006-01-02".
	Holidays []string `json:"holidays,omitempty"`
	// WorkingDays are dates "2006-01-02" that are working days although
	// they fall on a weekend; the workdays and rest_days rules use them,
	// exclude and only ignore them.
	WorkingDays []string `json:"working_days,omitempty"`
	// Version is the named calendar's version that these dates are from.
	Version int64 `json:"version,omitempty"`
}

// Validate checks the rule, the version and every date, and reports the
// first fault as a *[ParseError] whose field is the path within the
// calendar, such as "holidays[3]". Duplicate dates are allowed. A calendar
// without a name whose rule is only and that lists no holidays is refused
// too, with an error wrapping [ErrNeverFires]; a named one may still be
// waiting for its dates.
func (d DayCalendar) Validate() error {
	if _, err := compileDays(d); err != nil {
		return err
	}
	return nil
}

// compiledDays is a DayCalendar ready for lookups: its dates as sorted, unique
// day numbers (days since 1970-01-01).
type compiledDays struct {
	name              string
	rule              DayRule
	holidays, working []int64
	last              int64 // the last listed date of either kind
	listed            bool  // some date is listed, so last is meaningful
}

func compileDays(d DayCalendar) (compiledDays, *ParseError) {
	c := compiledDays{name: d.Name, rule: d.Rule}
	if c.rule == "" {
		c.rule = ExcludeHolidays
	}
	if !d.Rule.valid() {
		return c, parseErrorf("calendar", "rule", string(d.Rule), "%q is not one of exclude, only, workdays, rest_days", d.Rule)
	}
	if d.Version < 0 {
		return c, parseErrorf("calendar", "version", fmt.Sprint(d.Version), "%d must not be negative", d.Version)
	}
	if n := len(d.Holidays) + len(d.WorkingDays); n > MaxCalendarDates {
		field := "working_days"
		if len(d.Holidays) > MaxCalendarDates {
			field = "holidays"
		}
		return c, parseErrorf("calendar", field, "", "%d dates in all; a calendar lists at most %d", n, MaxCalendarDates)
	}
	var err *ParseError
	if c.holidays, err = dayNumbers("holidays", d.Holidays); err != nil {
		return c, err
	}
	if c.working, err = dayNumbers("working_days", d.WorkingDays); err != nil {
		return c, err
	}
	if c.rule == ExcludeHolidays || c.rule == OnlyHolidays {
		c.working = nil
	}
	if n := len(c.holidays); n > 0 {
		c.last, c.listed = c.holidays[n-1], true
	}
	if n := len(c.working); n > 0 && (!c.listed || c.working[n-1] > c.last) {
		c.last, c.listed = c.working[n-1], true
	}
	if d.Name == "" && c.rule == OnlyHolidays && len(c.holidays) == 0 {
		e := parseErrorf("calendar", "holidays", "", "required with rule only: the dates to fire on")
		e.Err = ErrNeverFires
		return c, e
	}
	return c, nil
}

// dayNumbers parses dates into sorted, unique day numbers.
func dayNumbers(field string, dates []string) ([]int64, *ParseError) {
	if len(dates) == 0 {
		return nil, nil
	}
	out := make([]int64, len(dates))
	for i, s := range dates {
		n, err := parseDay(s)
		if err != "" {
			return nil, parseErrorf("calendar", fmt.Sprintf("%s[%d]", field, i), s, "%q %s", s, err)
		}
		out[i] = n
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// parseDay reads exactly "YYYY-MM-DD", a real date in years 1 to 9999, as
// a day number; the error says why not.
func parseDay(s string) (int64, string) {
	const shape = "is not a date in the form 2006-01-02"
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, shape
	}
	num := func(part string) int {
		n := 0
		for _, r := range part {
			if r < '0' || r > '9' {
				return -1
			}
			n = n*10 + int(r-'0')
		}
		return n
	}
	y, m, d := num(s[:4]), num(s[5:7]), num(s[8:])
	if y < 0 || m < 0 || d < 0 {
		return 0, shape
	}
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, "is not a real date"
	}
	return daysFromCivil(y, m, d), ""
}

func contains(days []int64, d int64) bool {
	_, ok := slices.BinarySearch(days, d)
	return ok
}

// allows reports whether the rule lets a trigger fire on day d.
func (c *compiledDays) allows(d int64) bool {
	switch c.rule {
	case OnlyHolidays:
		return contains(c.holidays, d)
	case Workdays:
		return c.workday(d)
	case RestDays:
		return !c.workday(d)
	}
	return !contains(c.holidays, d)
}

func (c *compiledDays) workday(d int64) bool {
	if contains(c.working, d) {
		return true
	}
	wd := weekdayFromDays(d)
	return wd != 0 && wd != 6 && !contains(c.holidays, d)
}

// nextAllowed returns the first allowed day after d and no later than
// limit. Outside the listed dates every rule but only allows a day within
// a week, so the walk is as long as a run of listed dates at most.
func (c *compiledDays) nextAllowed(d, limit int64) (int64, bool) {
	if c.rule == OnlyHolidays {
		i, found := slices.BinarySearch(c.holidays, d)
		if found {
			i++
		}
		if i == len(c.holidays) || c.holidays[i] > limit {
			return 0, false
		}
		return c.holidays[i], true
	}
	for d++; d <= limit; d++ {
		if c.allows(d) {
			return d, true
		}
	}
	return 0, false
}

// DayFilter lets another trigger fire only on the days a calendar allows:
// a fire time is kept when its calendar day, read in Location, is allowed
// by the calendar's rule. A spec's calendar (Spec.Calendar) builds one. It
// is safe for concurrent use if its trigger is.
//
// Next does not step fire by fire through days the calendar excludes: it
// jumps to the start of the next allowed day (which daylight-saving time
// may move from 00:00) and asks the trigger again from there. It gives up,
// returning zero as a trigger that never fires again, when no allowed fire
// exists within 30 years after the latest of prev, now and the calendar's
// last listed date (or after 50,000 such jumps).
type DayFilter struct {
	// Trigger is the schedule whose fires are filtered.
	Trigger Trigger
	// Location is the zone in which a fire's calendar day is read; nil
	// means UTC.
	Location *time.Location
	days     compiledDays
}

// NewDayFilter returns a filter that lets t fire on the days that d
// allows, read in loc (nil means UTC). The error is a *[ParseError] as
// [DayCalendar.Validate] reports it.
func NewDayFilter(t Trigger, d DayCalendar, loc *time.Location) (*DayFilter, error) {
	c, err := compileDays(d)
	if err != nil {
		return nil, err
	}
	return &DayFilter{Trigger: t, Location: loc, days: c}, nil
}

func (f *DayFilter) loc() *time.Location {
	if f.Location == nil {
		return time.UTC
	}
	return f.Location
}

// dayOf returns the day number of t's calendar day in the filter's zone.
func (f *DayFilter) dayOf(t time.Time) int64 {
	y, m, d := t.In(f.loc()).Date()
	return daysFromCivil(y, int(m), d)
}

// Allows reports whether the calendar lets the trigger fire at t.
func (f *DayFilter) Allows(t time.Time) bool { return f.days.allows(f.dayOf(t)) }

// Next returns the trigger's first fire after prev (at or after now when
// prev is zero) that falls on an allowed day. See [DayFilter] for when it
// gives up.
func (f *DayFilter) Next(prev, now time.Time) time.Time {
	inner := f.Trigger
	n := inner.Next(prev, now)
	if n.IsZero() || f.Allows(n) {
		return n
	}
	ref := now
	if prev.After(ref) {
		ref = prev
	}
	from := f.dayOf(ref)
	if f.days.listed && f.days.last > from {
		from = f.days.last
	}
	y, m, d := civilFromDays(from)
	limit := daysFromCivil(y+calendarHorizonYears, m, d)
	if iv, ok := inner.(Interval); ok && iv.Start.IsZero() {
		// Without an anchor an interval counts from prev; asked again from
		// the start of a day it would count from there. Anchor it on its
		// first fire to keep the fires on one grid.
		iv.Start = n
		inner = iv
	}
	for range maxDayJumps {
		day := f.dayOf(n)
		if day > limit {
			return time.Time{}
		}
		if f.days.allows(day) {
			return n
		}
		next, ok := f.days.nextAllowed(day, limit)
		if !ok {
			return time.Time{}
		}
		start := nextInZone(atOrAfter(next*secondsPerDay), f.loc(), n, RunAfterGap, BothPasses)
		if start.IsZero() {
			return start
		}
		// The first fire at or after the start of the day: Next is
		// strictly after its prev.
		if n = inner.Next(start.Add(-time.Nanosecond), now); n.IsZero() {
			return n
		}
	}
	return time.Time{}
}

// atOrAfter matches every wall-clock second from its value on: the first
// instant it matches after a time is the start of a day when the value is
// that day's midnight, wherever daylight-saving time moves the midnight.
type atOrAfter int64

func (a atOrAfter) nextCivil(from int64) (int64, bool) { return max(from, int64(a)), true }

// OnCalendar attaches a named calendar to the spec, with the rule that
// says which of its days the trigger may fire on (empty means
// [ExcludeHolidays]). A server fills in the calendar's dates when it
// stores the job; without one, use [OnDays].
//
//	trigger.CronExpr("0 9 * * *", trigger.InZone("Asia/Shanghai"), trigger.OnCalendar("cn-holidays", trigger.Workdays))
func OnCalendar(name string, rule DayRule) Option {
	return optionFunc(func(s *Spec) { s.Calendar = &DayCalendar{Name: name, Rule: rule} })
}

// OnDays attaches a calendar given in full, for programs without a server
// to hold named calendars. The spec keeps its own copy of the dates.
//
//	trigger.Every(30*time.Minute, trigger.OnDays(trigger.DayCalendar{Rule: trigger.ExcludeHolidays, Holidays: []string{"2026-12-25"}}))
func OnDays(d DayCalendar) Option {
	d.Holidays, d.WorkingDays = slices.Clone(d.Holidays), slices.Clone(d.WorkingDays)
	return optionFunc(func(s *Spec) {
		c := d
		c.Holidays, c.WorkingDays = slices.Clone(d.Holidays), slices.Clone(d.WorkingDays)
		s.Calendar = &c
	})
}
