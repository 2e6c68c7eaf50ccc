package trigger

import (
	"strconv"
	"time"
)

// CalendarUnit is the unit a [Calendar] trigger counts in.
type CalendarUnit string

const (
	// Days counts whole calendar days.
	Days CalendarUnit = "days"
	// Weeks counts whole weeks; the weekday is the start date's.
	Weeks CalendarUnit = "weeks"
	// Months counts calendar months; the day of the month is the start date's.
	Months CalendarUnit = "months"
	// Years counts calendar years; month and day are the start date's.
	Years CalendarUnit = "years"
)

// MissingDay chooses what a [Calendar] trigger does in a month that lacks
// its day, such as the 31st in April or the 29th of February. It is also an
// [Option] of [EveryCalendar].
type MissingDay string

const (
	// LastDay fires on the month's last day instead (the default): "every
	// month on the 31st" fires on 30 April and 28 or 29 February.
	LastDay MissingDay = "last"
	// SkipMonth does not fire in that month.
	SkipMonth MissingDay = "skip"
)

// Calendar fires every N days, weeks, months or years at a fixed wall-clock
// time in its zone, counting from the date of its start. Unlike [Interval]
// it follows the calendar: across a daylight-saving change it still fires at
// 09:00 wall-clock time. It is safe for concurrent use; build one with
// [NewCalendar] or from a [Spec].
type Calendar struct {
	unit       CalendarUnit
	every      int
	hour, min  int
	sec        int
	loc        *time.Location
	ay, am, ad int   // the start date in loc: the anchor of the count
	anchorDays int64 // the anchor as days since 1970-01-01
	missing    MissingDay
	start, end time.Time
	gap        SpringForward
	overlap    FallBack
}

// CalendarOptions configures [NewCalendar].
type CalendarOptions struct {
	// Unit and Every: fire every Every units; Every must be at least 1.
	Unit  CalendarUnit
	Every int
	// Hour, Minute and Second are the wall-clock time of each fire.
	Hour, Minute, Second int
	// Start is required: its date in Location anchors the count, and no fire
	// is earlier than Start.
	Start time.Time
	// End, when set, is the latest instant the trigger may fire.
	End time.Time
	// Location is the zone of the wall-clock time; nil means UTC.
	Location *time.Location
	// MissingDay is the rule for months that lack the day; empty is LastDay.
	MissingDay MissingDay
	// SpringForward and FallBack override the daylight-saving rules; empty
	// selects RunAfterGap and FirstPass.
	SpringForward SpringForward
	FallBack      FallBack
}

// maxCalendarCount is the most units of a calendar period: a hundred
// years, as for every span (MaxDuration).
func maxCalendarCount(u CalendarUnit) int {
	switch u {
	case Years:
		return 100
	case Months:
		return 1200
	case Weeks:
		return 5217
	}
	return 36525
}

// NewCalendar returns a calendar-interval trigger, or a *ParseError naming
// the invalid option.
func NewCalendar(o CalendarOptions) (*Calendar, error) {
	const kind = "calendar"
	switch o.Unit {
	case Days, Weeks, Months, Years:
	default:
		return nil, parseErrorf(kind, "unit", string(o.Unit), "%q is not one of days, weeks, months, years", o.Unit)
	}
	if most := maxCalendarCount(o.Unit); o.Every < 1 || o.Every > most {
		return nil, parseErrorf(kind, string(o.Unit), strconv.Itoa(o.Every), "%d is out of range 1-%d (at most %s)", o.Every, most, maxDurationText)
	}
	if o.Hour < 0 || o.Hour > 23 {
		return nil, parseErrorf(kind, "hour", strconv.Itoa(o.Hour), "%d is out of range 0-23", o.Hour)
	}
	if o.Minute < 0 || o.Minute > 59 {
		return nil, parseErrorf(kind, "minute", strconv.Itoa(o.Minute), "%d is out of range 0-59", o.Minute)
	}
	if o.Second < 0 || o.Second > 59 {
		return nil, parseErrorf(kind, "second", strconv.Itoa(o.Second), "%d is out of range 0-59", o.Second)
	}
	if o.Start.IsZero() {
		return nil, parseErrorf(kind, "start_date", "", "required: its date anchors the count")
	}
	if !o.End.IsZero() && o.End.Before(o.Start) {
		return nil, parseErrorf(kind, "end_date", o.End.Format(time.RFC3339), "%s is before start_date %s",
			o.End.Format(time.RFC3339), o.Start.Format(time.RFC3339))
	}
	switch o.MissingDay {
	case "":
		o.MissingDay = LastDay
	case LastDay, SkipMonth:
	default:
		return nil, parseErrorf(kind, "missing_day", string(o.MissingDay), "%q is not one of last, skip", o.MissingDay)
	}
	if !o.SpringForward.valid() {
		return nil, parseErrorf(kind, "spring_forward", string(o.SpringForward), "%q is not one of run_after, skip", o.SpringForward)
	}
	if !o.FallBack.valid() {
		return nil, parseErrorf(kind, "fall_back", string(o.FallBack), "%q is not one of first, last, both", o.FallBack)
	}
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	c := &Calendar{unit: o.Unit, every: o.Every, hour: o.Hour, min: o.Minute, sec: o.Second, loc: loc,
		missing: o.MissingDay, start: o.Start, end: o.End, gap: RunAfterGap, overlap: FirstPass}
	if o.SpringForward != "" {
		c.gap = o.SpringForward
	}
	if o.FallBack != "" {
		c.overlap = o.FallBack
	}
	local := o.Start.In(loc)
	c.ay, c.am, c.ad = local.Year(), int(local.Month()), local.Day()
	c.anchorDays = daysFromCivil(c.ay, c.am, c.ad)
	return c, nil
}

// Next returns the next fire time. See [Trigger].
func (c *Calendar) Next(prev, now time.Time) time.Time {
	after := prev
	if after.IsZero() {
		after = now.Add(-time.Nanosecond)
	}
	if after.Before(c.start) {
		after = c.start.Add(-time.Nanosecond)
	}
	t := nextInZone(c, c.loc, after, c.gap, c.overlap)
	if !c.end.IsZero() && t.After(c.end) {
		return time.Time{}
	}
	return t
}

// fireDay returns the day (since 1970-01-01) of the k-th fire, or false
// when that month lacks the day and the rule is SkipMonth.
func (c *Calendar) fireDay(k int64) (int64, bool) {
	switch c.unit {
	case Days:
		return c.anchorDays + k*int64(c.every), true
	case Weeks:
		return c.anchorDays + 7*k*int64(c.every), true
	}
	months := k * int64(c.every)
	if c.unit == Years {
		months *= 12
	}
	total := int64(c.ay)*12 + int64(c.am-1) + months
	y, m := int(total/12), int(total%12)+1
	if y > maxYear {
		return 0, false
	}
	d := c.ad
	if n := daysIn(y, m); d > n {
		if c.missing == SkipMonth {
			return 0, false
		}
		d = n
	}
	return daysFromCivil(y, m, d), true
}

// nextCivil implements civilMatcher: it estimates the count k of the first
// fire at or after from, then steps forward past skipped months.
func (c *Calendar) nextCivil(from int64) (int64, bool) {
	tod := int64(c.hour*secondsPerHour + c.min*secondsPerMinute + c.sec)
	fromDay := from / secondsPerDay
	if from%secondsPerDay < 0 {
		fromDay--
	}
	var k int64
	switch c.unit {
	case Days:
		k = (fromDay - c.anchorDays) / int64(c.every)
	case Weeks:
		k = (fromDay - c.anchorDays) / (7 * int64(c.every))
	default:
		fy, fm, _ := civilFromDays(fromDay)
		span := int64(c.every)
		if c.unit == Years {
			span *= 12
		}
		k = (int64(fy-c.ay)*12 + int64(fm-c.am)) / span
	}
	k = max(k-1, 0)
	for range 12 * searchYears {
		day, ok := c.fireDay(k)
		k++
		if !ok {
			continue // a month without the day, under SkipMonth
		}
		if day > daysFromCivil(maxYear, 12, 31) {
			return 0, false
		}
		if fire := day*secondsPerDay + tod; fire >= from {
			return fire, true
		}
	}
	return 0, false
}
