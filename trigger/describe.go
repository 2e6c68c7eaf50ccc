package trigger

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Describe returns a plain-English description of the schedule, such as
// "At 09:00, Monday through Friday".
func (c *Cron) Describe() string {
	if c.every > 0 {
		return "Every " + c.every.String()
	}
	parts := []string{c.describeTime()}
	if day := c.describeDays(); day != "" {
		parts = append(parts, day)
	}
	if c.month != fullSet(1, 12) {
		parts = append(parts, "in "+joinRuns(values(c.month), func(m int) string { return monthDisplay[m] }))
	}
	if c.years != nil {
		var ys []string
		for _, r := range c.years {
			switch {
			case r.lo == r.hi:
				ys = append(ys, strconv.Itoa(r.lo))
			case r.step == 1:
				ys = append(ys, fmt.Sprintf("%d through %d", r.lo, r.hi))
			default:
				ys = append(ys, fmt.Sprintf("every %d years from %d through %d", r.step, r.lo, r.hi))
			}
		}
		parts = append(parts, "in "+joinAnd(ys))
	}
	return strings.Join(parts, ", ")
}

func values(set uint64) []int {
	var out []int
	for s := set; s != 0; s &= s - 1 {
		out = append(out, bits.TrailingZeros64(s))
	}
	return out
}

func clock(h, m, s int) string {
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

func (c *Cron) describeTime() string {
	sec, min, hour := values(c.second), values(c.minute), values(c.hour)
	allSec, allMin, allHour := c.second == fullSet(0, 59), c.minute == fullSet(0, 59), c.hour == fullSet(0, 23)
	secStep, secEvery := starStep(c.second, 0, 59)
	minStep, minEvery := starStep(c.minute, 0, 59)
	oneSec, oneMin := len(sec) == 1, len(min) == 1

	// Fixed times of day: "At 09:00" or "At 09:00, 12:00 and 18:30".
	if oneSec && oneMin && len(hour) <= 4 {
		times := make([]string, len(hour))
		for i, h := range hour {
			times[i] = clock(h, min[0], sec[0])
		}
		return "At " + joinAnd(times)
	}
	hourRange := ""
	if !allHour {
		hourRange = describeHours(c.hour, hour)
	}
	with := func(s string) string {
		if hourRange == "" {
			return s
		}
		return s + ", " + hourRange
	}
	onTheMinute := oneSec && sec[0] == 0
	switch {
	case allSec && allMin:
		return with("Every second")
	case secEvery && allMin:
		return with(fmt.Sprintf("Every %d seconds", secStep))
	case onTheMinute && allMin:
		return with("Every minute")
	case onTheMinute && minEvery:
		return with(fmt.Sprintf("Every %d minutes", minStep))
	case onTheMinute && oneMin && allHour:
		if min[0] == 0 {
			return "Every hour, on the hour"
		}
		return fmt.Sprintf("At %d minutes past every hour", min[0])
	case onTheMinute && oneMin && min[0] == 0:
		return "On the hour, " + hourRange
	case onTheMinute && oneMin:
		return fmt.Sprintf("At %d minutes past the hour, %s", min[0], hourRange)
	}
	var p []string
	switch {
	case allSec:
		p = append(p, "every second")
	case secEvery:
		p = append(p, fmt.Sprintf("every %d seconds", secStep))
	case !onTheMinute:
		p = append(p, "at second "+joinRuns(sec, strconv.Itoa))
	}
	switch {
	case allMin:
		p = append(p, "of every minute")
	case minEvery:
		p = append(p, fmt.Sprintf("every %d minutes", minStep))
	default:
		p = append(p, "at minute "+joinRuns(min, strconv.Itoa))
	}
	if hourRange != "" {
		p = append(p, hourRange)
	}
	out := strings.Join(p, ", ")
	return strings.ToUpper(out[:1]) + out[1:]
}

func describeHours(set uint64, hours []int) string {
	if step, ok := starStep(set, 0, 23); ok {
		return fmt.Sprintf("every %d hours", step)
	}
	if hours[len(hours)-1]-hours[0] == len(hours)-1 {
		return fmt.Sprintf("between %02d:00 and %02d:59", hours[0], hours[len(hours)-1])
	}
	return "during hours " + joinRuns(hours, func(h int) string { return fmt.Sprintf("%02d", h) })
}

var ordinals = [5]string{"first", "second", "third", "fourth", "fifth"}

func (c *Cron) describeDays() string {
	var dom, dow string
	if !c.domAny {
		dom = describeDomSide(&c.dom)
	}
	if !c.dowAny {
		dow = describeDowSide(&c.dow)
	}
	var out string
	switch {
	case dom != "" && dow != "" && c.dayOr:
		out = dom + " or " + dow
	case dom != "" && dow != "":
		out = dom + ", if it is " + strings.TrimPrefix(dow, "on ")
	default:
		out = dom + dow
	}
	if c.weeks != 0 {
		w := "in ISO week " + joinRuns(values(c.weeks), strconv.Itoa)
		if out != "" {
			return out + ", " + w
		}
		return w
	}
	return out
}

func describeDomSide(r *dayRules) string {
	var p []string
	if r.days != 0 {
		days := values(uint64(r.days))
		word := "day "
		if len(days) > 1 {
			word = "days "
		}
		p = append(p, "on "+word+joinRuns(days, strconv.Itoa)+" of the month")
	}
	for _, n := range values(uint64(r.lastOffsets)) {
		if n == 0 {
			p = append(p, "on the last day of the month")
		} else {
			p = append(p, fmt.Sprintf("%d days before the last day of the month", n))
		}
	}
	for _, d := range values(uint64(r.nearest)) {
		p = append(p, fmt.Sprintf("on the weekday nearest day %d of the month", d))
	}
	if r.lastWeekday {
		p = append(p, "on the last weekday of the month")
	}
	p = append(p, describePositions(r)...)
	return joinOr(p)
}

func describeDowSide(r *dayRules) string {
	var p []string
	if r.weekdays != 0 {
		// Weeks read Monday first: rotate Sunday to the end for the runs.
		var days []int
		for _, w := range values(uint64(r.weekdays)) {
			days = append(days, (w+6)%7)
		}
		slices.Sort(days)
		name := func(i int) string { return weekdayNames[(i+1)%7] }
		text := joinRuns(days, name)
		if len(days) == 1 || !strings.Contains(text, "through") {
			text = "on " + text
		}
		p = append(p, text)
	}
	p = append(p, describePositions(r)...)
	return joinOr(p)
}

func describePositions(r *dayRules) []string {
	var p []string
	for n := range r.nth {
		for _, w := range values(uint64(r.nth[n])) {
			p = append(p, "on the "+ordinals[n]+" "+weekdayNames[w]+" of the month")
		}
	}
	for _, w := range values(uint64(r.lastOf)) {
		p = append(p, "on the last "+weekdayNames[w]+" of the month")
	}
	return p
}

// joinRuns lists sorted values, runs of three or more as "a through b".
func joinRuns(vals []int, name func(int) string) string {
	var parts []string
	for i := 0; i < len(vals); {
		j := i
		for j+1 < len(vals) && vals[j+1] == vals[j]+1 {
			j++
		}
		if j-i >= 2 {
			parts = append(parts, name(vals[i])+" through "+name(vals[j]))
			i = j + 1
			continue
		}
		parts = append(parts, name(vals[i]))
		i++
	}
	return joinAnd(parts)
}

func joinAnd(parts []string) string { return joinWith(parts, " and ") }

func joinOr(parts []string) string { return joinWith(parts, " or ") }

func joinWith(parts []string, last string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + last + parts[len(parts)-1]
}

// Describe returns a plain-English description of a trigger built by this
// package, for people; other triggers are described by their Go type.
func Describe(t Trigger) string {
	switch t := t.(type) {
	case *Cron:
		return t.Describe()
	case Interval:
		s := "Every " + t.Every.String()
		if !t.Start.IsZero() {
			s += ", from " + t.Start.Format(time.RFC3339)
		}
		return s
	case Date:
		return "Once, at " + t.At.Format(time.RFC3339)
	case *Calendar:
		return t.Describe()
	case Jitter:
		return Describe(t.Trigger) + ", delayed by up to " + t.Max.String()
	case And:
		return "When all agree: " + describeEach(t)
	case Or:
		return "Whenever any fires: " + describeEach(t)
	}
	return fmt.Sprintf("%T", t)
}

func describeEach(ts []Trigger) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = "(" + Describe(t) + ")"
	}
	return strings.Join(parts, "; ")
}

// Describe returns a plain-English description, such as "At 09:00, every
// month on day 31 (the last day in shorter months)".
func (c *Calendar) Describe() string {
	at := "At " + clock(c.hour, c.min, c.sec)
	unit := strings.TrimSuffix(string(c.unit), "s")
	every := "every " + unit
	if c.every > 1 {
		every = fmt.Sprintf("every %d %s", c.every, c.unit)
	}
	switch c.unit {
	case Weeks:
		wd := weekdayFromDays(c.anchorDays)
		return fmt.Sprintf("%s, %s on %s", at, every, weekdayNames[wd])
	case Months, Years:
		day := fmt.Sprintf("day %d", c.ad)
		if c.unit == Years {
			day = fmt.Sprintf("%s %d", monthDisplay[c.am], c.ad)
		}
		s := fmt.Sprintf("%s, %s on %s", at, every, day)
		if c.ad > 28 {
			if c.missing == SkipMonth {
				s += " (skipped where that day does not exist)"
			} else {
				s += " (the last day where that day does not exist)"
			}
		}
		return s
	}
	return at + ", " + every
}
