package trigger

import (
	"math/bits"
	"time"
)

// Dialect names a cron expression language. Sundial never guesses the
// dialect from the expression: the same text means different things in
// different dialects (day-of-week 1 is Monday in crontab, Sunday in Quartz).
// A Dialect is also an [Option] of [CronExpr], which reads as one word.
type Dialect string

const (
	// Crontab is Vixie cron: 5 fields "min hour dom month dow", or 6 with
	// a leading seconds field; day-of-week 0-7 with 0 and 7 = Sunday.
	Crontab Dialect = "crontab"
	// Quartz is the Quartz Scheduler (and xxl-job) syntax: 6 or 7 fields
	// "sec min hour dom month dow [year]", day-of-week 1-7 = SUN-SAT.
	Quartz Dialect = "quartz"
	// APScheduler is APScheduler 3's CronTrigger keyword fields, given as a
	// JSON object; day_of_week 0-6 = Monday-Sunday.
	APScheduler Dialect = "apscheduler"
)

// CronOptions configures a parsed cron expression. The zero value is valid.
type CronOptions struct {
	// Location is the time zone of an expression that does not name one with
	// a CRON_TZ= or TZ= prefix. Nil means UTC.
	Location *time.Location
	// SpringForward overrides the gap rule; empty selects the default, which
	// depends on the schedule (see docs/time.md).
	SpringForward SpringForward
	// FallBack overrides the overlap rule; empty selects the default.
	FallBack FallBack
	// Start, when set, is the earliest instant the schedule may fire.
	Start time.Time
	// End, when set, is the latest instant the schedule may fire.
	End time.Time
}

// Cron is a parsed cron expression: a schedule of wall-clock times in one
// time zone. It is immutable and safe for concurrent use.
type Cron struct {
	dialect Dialect
	loc     *time.Location
	zoneSet bool          // the expression named its zone with CRON_TZ=
	every   time.Duration // "@every 90s": a fixed interval instead of fields

	second, minute, hour, month uint64 // bit n set: value n matches
	dom, dow                    dayRules
	domAny, dowAny              bool     // the side is "*" or "?": it does not restrict
	dayOr                       bool     // Vixie: a day matches if either side matches
	weeks                       uint64   // bits 1-53 (APScheduler "week"); 0 = any
	years                       []yRange // nil = any year
	yearMin, yearMax            int      // the dialect's year range

	hourRepeats bool // hour is "*" or "*/n": the schedule repeats through the day
	gap         SpringForward
	overlap     FallBack
	start, end  time.Time
}

// yRange is a year range with a step; lo == hi for one year.
type yRange struct{ lo, hi, step int }

// dayRules is one side of the day match (day-of-month or day-of-week),
// including Quartz's and APScheduler's special forms.
type dayRules struct {
	days        uint32   // bit d: day-of-month d
	weekdays    uint8    // bit w: every weekday w (0 = Sunday)
	lastOffsets uint32   // bit n: n days before the month's last day ("L", "L-3", "last")
	nearest     uint32   // bit d: the weekday nearest day d ("15W")
	lastWeekday bool     // the month's last Monday-Friday ("LW")
	lastOf      uint8    // bit w: the month's last weekday w ("5L", "last fri")
	nth         [5]uint8 // nth[n-1] bit w: the month's n-th weekday w ("6#3", "3rd fri")

	// byFirst[f] marks the days of a month starting on weekday f that fall
	// on one of weekdays; computed once by finish so Next need not loop.
	byFirst [7]uint32
}

func (r *dayRules) precompute() {
	for f := range r.byFirst {
		var m uint32
		for ws := r.weekdays; ws != 0; ws &= ws - 1 {
			w := bits.TrailingZeros8(ws)
			m |= weekly << uint(1+(w-f+7)%7)
		}
		r.byFirst[f] = m
	}
}

func (r *dayRules) special() bool {
	return r.lastOffsets|r.nearest != 0 || r.lastWeekday || r.lastOf != 0 ||
		r.nth[0]|r.nth[1]|r.nth[2]|r.nth[3]|r.nth[4] != 0
}

// weekly has bits 0, 7, 14, 21, 28: shifted to a first occurrence, it marks
// every occurrence of one weekday in a month.
const weekly = 1 | 1<<7 | 1<<14 | 1<<21 | 1<<28

// mask returns the days (bits 1..mdays) of a month that the rules match,
// where firstWD is the weekday of the month's first day.
func (r *dayRules) mask(firstWD, mdays int) uint32 {
	m := r.days | r.byFirst[firstWD]
	if r.special() {
		for offs := r.lastOffsets; offs != 0; offs &= offs - 1 {
			if d := mdays - bits.TrailingZeros32(offs); d >= 1 {
				m |= 1 << uint(d)
			}
		}
		for ns := r.nearest; ns != 0; ns &= ns - 1 {
			// A day the month lacks has no nearest weekday, as plain "31".
			if d := bits.TrailingZeros32(ns); d <= mdays {
				m |= 1 << uint(nearestWeekday(d, firstWD, mdays))
			}
		}
		if r.lastWeekday {
			m |= 1 << uint(nearestWeekday(mdays, firstWD, mdays))
		}
		for ws := r.lastOf; ws != 0; ws &= ws - 1 {
			w := bits.TrailingZeros8(ws)
			first := 1 + (w-firstWD+7)%7
			m |= 1 << uint(first+(mdays-first)/7*7)
		}
		for n := range r.nth {
			for ws := r.nth[n]; ws != 0; ws &= ws - 1 {
				w := bits.TrailingZeros8(ws)
				if d := 1 + (w-firstWD+7)%7 + 7*n; d <= mdays {
					m |= 1 << uint(d)
				}
			}
		}
	}
	return m & (1<<uint(mdays+1) - 2)
}

// nearestWeekday returns the Monday-Friday nearest to day d, within the
// month (Quartz "W": the 1st falling on a Saturday gives Monday the 3rd).
func nearestWeekday(d, firstWD, mdays int) int {
	switch (firstWD + d - 1) % 7 {
	case 6: // Saturday
		if d == 1 {
			return d + 2
		}
		return d - 1
	case 0: // Sunday
		if d == mdays {
			return d - 2
		}
		return d + 1
	}
	return d
}

// dayMask returns the days of month mo of year y that the schedule
// matches, and the day number (since 1970-01-01) of the month's first day.
func (c *Cron) dayMask(y, mo int) (uint32, int64) {
	mdays := daysIn(y, mo)
	first := daysFromCivil(y, mo, 1)
	all := uint32(1<<uint(mdays+1) - 2)
	if c.domAny && c.dowAny && c.weeks == 0 {
		return all, first
	}
	firstWD := weekdayFromDays(first)
	var m uint32
	switch {
	case c.domAny && c.dowAny:
		m = all
	case c.domAny:
		m = c.dow.mask(firstWD, mdays)
	case c.dowAny:
		m = c.dom.mask(firstWD, mdays)
	case c.dayOr:
		m = c.dom.mask(firstWD, mdays) | c.dow.mask(firstWD, mdays)
	default:
		m = c.dom.mask(firstWD, mdays) & c.dow.mask(firstWD, mdays)
	}
	if c.weeks != 0 && m != 0 {
		for ds := m; ds != 0; ds &= ds - 1 {
			d := bits.TrailingZeros32(ds)
			if c.weeks&(1<<uint(isoWeek(y, mo, d))) == 0 {
				m &^= 1 << uint(d)
			}
		}
	}
	return m, first
}

// nextYear returns the first allowed year at or after y.
func (c *Cron) nextYear(y int) (int, bool) {
	if y < c.yearMin {
		y = c.yearMin
	}
	if c.years == nil {
		return y, y <= c.yearMax
	}
	best, found := 0, false
	for _, r := range c.years {
		if y > r.hi {
			continue
		}
		v := r.lo
		if y > r.lo {
			v = r.lo + (y-r.lo+r.step-1)/r.step*r.step
			if v > r.hi {
				continue
			}
		}
		if !found || v < best {
			best, found = v, true
		}
	}
	return best, found
}

// nextCivil implements civilMatcher by jumping field by field: a month
// that cannot match is skipped whole, a day is found with one bit scan.
func (c *Cron) nextCivil(from int64) (int64, bool) {
	y, mo, d, h, mi, s := splitCivil(from)
	if y < c.yearMin {
		y, mo, d, h, mi, s = c.yearMin, 1, 1, 0, 0, 0
	}
	yearsLeft := searchYears + 1
	for {
		ny, ok := c.nextYear(y)
		if !ok {
			return 0, false
		}
		if ny != y {
			y, mo, d, h, mi, s = ny, 1, 1, 0, 0, 0
			yearsLeft--
		}
		if yearsLeft <= 0 {
			return 0, false
		}
		months := c.month &^ (1<<uint(mo) - 1)
		if months == 0 {
			y, mo, d, h, mi, s = y+1, 1, 1, 0, 0, 0
			yearsLeft--
			continue
		}
		if nm := bits.TrailingZeros64(months); nm != mo {
			mo, d, h, mi, s = nm, 1, 0, 0, 0
		}
		mask, first := c.dayMask(y, mo)
		days := mask &^ (1<<uint(d) - 1)
		if days == 0 {
			mo, d, h, mi, s = mo+1, 1, 0, 0, 0
			if mo > 12 {
				y, mo = y+1, 1
				yearsLeft--
			}
			continue
		}
		if nd := bits.TrailingZeros32(days); nd != d {
			d, h, mi, s = nd, 0, 0, 0
		}
		for {
			hours := c.hour &^ (1<<uint(h) - 1)
			if hours == 0 {
				break
			}
			if nh := bits.TrailingZeros64(hours); nh != h {
				h, mi, s = nh, 0, 0
			}
			minutes := c.minute &^ (1<<uint(mi) - 1)
			if minutes == 0 {
				h, mi, s = h+1, 0, 0
				continue
			}
			if nmi := bits.TrailingZeros64(minutes); nmi != mi {
				mi, s = nmi, 0
			}
			seconds := c.second &^ (1<<uint(s) - 1)
			if seconds == 0 {
				mi, s = mi+1, 0
				if mi < 60 {
					continue
				}
				h, mi = h+1, 0
				continue
			}
			return (first+int64(d-1))*secondsPerDay +
				int64(h*secondsPerHour+mi*secondsPerMinute+bits.TrailingZeros64(seconds)), true
		}
		// No time left on this day: the next matching day starts at 00:00:00.
		d, h, mi, s = d+1, 0, 0, 0
		if d > 31 {
			mo, d = mo+1, 1
			if mo > 12 {
				y, mo = y+1, 1
				yearsLeft--
			}
		}
	}
}

// Next returns the first fire time strictly after prev or, when prev is
// zero, at or after now. See [Trigger].
func (c *Cron) Next(prev, now time.Time) time.Time {
	after := prev
	if after.IsZero() {
		after = now.Add(-time.Nanosecond)
	}
	if c.every > 0 {
		return c.nextEvery(prev, now)
	}
	if !c.start.IsZero() && after.Before(c.start) {
		after = c.start.Add(-time.Nanosecond)
	}
	t := nextInZone(c, c.loc, after, c.gap, c.overlap)
	if !c.end.IsZero() && t.After(c.end) {
		return time.Time{}
	}
	return t
}

func (c *Cron) nextEvery(prev, now time.Time) time.Time {
	var t time.Time
	switch {
	case prev.IsZero() && !c.start.IsZero() && now.Before(c.start):
		t = c.start
	case prev.IsZero():
		t = now.Add(c.every)
	default:
		t = prev.Add(c.every)
	}
	if !c.end.IsZero() && t.After(c.end) {
		return time.Time{}
	}
	return t.In(c.loc)
}

// Location returns the schedule's time zone.
func (c *Cron) Location() *time.Location { return c.loc }

// Dialect returns the dialect the expression was written in.
func (c *Cron) Dialect() Dialect { return c.dialect }

// HasZonePrefix reports whether the expression named its own time zone with
// a CRON_TZ= or TZ= prefix.
func (c *Cron) HasZonePrefix() bool { return c.zoneSet }

// Policies returns the daylight-saving rules in force, defaults resolved.
func (c *Cron) Policies() (SpringForward, FallBack) { return c.gap, c.overlap }

// finish applies options, resolves the default daylight-saving rules and
// rejects a schedule that can never fire.
func (c *Cron) finish(opts CronOptions) error {
	dialect := string(c.dialect)
	c.dom.precompute()
	c.dow.precompute()
	if !c.zoneSet {
		c.loc = opts.Location
		if c.loc == nil {
			c.loc = time.UTC
		}
	}
	if !opts.SpringForward.valid() {
		return parseErrorf(dialect, "spring_forward", string(opts.SpringForward),
			"%q is not one of run_after, skip", opts.SpringForward)
	}
	if !opts.FallBack.valid() {
		return parseErrorf(dialect, "fall_back", string(opts.FallBack),
			"%q is not one of first, last, both", opts.FallBack)
	}
	c.gap, c.overlap = RunAfterGap, FirstPass
	if c.hourRepeats {
		c.gap, c.overlap = SkipGap, BothPasses
	}
	if opts.SpringForward != "" {
		c.gap = opts.SpringForward
	}
	if opts.FallBack != "" {
		c.overlap = opts.FallBack
	}
	c.start, c.end = opts.Start, opts.End
	if !c.start.IsZero() && !c.end.IsZero() && c.end.Before(c.start) {
		return parseErrorf(dialect, "end_date", c.end.Format(time.RFC3339),
			"%s is before start_date %s", c.end.Format(time.RFC3339), c.start.Format(time.RFC3339))
	}
	if c.every > 0 {
		return nil
	}
	if _, ok := c.nextCivil(civilSeconds(c.yearMin, 1, 1, 0, 0, 0)); !ok {
		return &ParseError{Dialect: dialect, Field: "expression", Token: c.String(),
			Msg: "no date matches all fields: the schedule never fires", Err: ErrNeverFires}
	}
	return nil
}
