package trigger

import (
	"strconv"
	"strings"
)

// quartzWeekdays numbers weekdays as Quartz does: 1 = SUN … 7 = SAT.
var quartzWeekdays = map[string]int{"sun": 1, "mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7}

var (
	quartzSecond = fieldDef{name: "second", min: 0, max: 59, wrap: true}
	quartzMinute = fieldDef{name: "minute", min: 0, max: 59, wrap: true}
	quartzHour   = fieldDef{name: "hour", min: 0, max: 23, wrap: true}
	quartzDom    = fieldDef{name: "day-of-month", min: 1, max: 31, wrap: true}
	quartzMonth  = fieldDef{name: "month", min: 1, max: 12, names: monthNames, wrap: true}
	quartzDow    = fieldDef{name: "day-of-week", min: 1, max: 7, names: quartzWeekdays, wrap: true}
	quartzYear   = fieldDef{name: "year", min: 1970, max: 2199}
)

func parseQuartz(expr string, opts CronOptions) (*Cron, error) {
	const dialect = "quartz"
	loc, rest, err := splitZonePrefix(dialect, expr)
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(rest)
	if len(fields) != 6 && len(fields) != 7 {
		return nil, parseErrorf(dialect, "expression", rest,
			"expected 6 fields (second minute hour day-of-month month day-of-week) or 7 with a trailing year, got %d in %q", len(fields), rest)
	}
	c := &Cron{dialect: Quartz, loc: loc, zoneSet: loc != nil, yearMin: 1970, yearMax: 2199}
	if c.second, err = parseList(dialect, &quartzSecond, fields[0]); err != nil {
		return nil, err
	}
	if c.minute, err = parseList(dialect, &quartzMinute, fields[1]); err != nil {
		return nil, err
	}
	if c.hour, err = parseList(dialect, &quartzHour, fields[2]); err != nil {
		return nil, err
	}
	c.hourRepeats = repeatsAll(fields[2])
	if c.month, err = parseList(dialect, &quartzMonth, fields[4]); err != nil {
		return nil, err
	}
	domText, dowText := fields[3], fields[5]
	switch {
	case domText == "?" && dowText == "?":
		return nil, parseErrorf(dialect, "day-of-week", dowText, `"?" may stand in day-of-month or day-of-week, not both`)
	case domText != "?" && dowText != "?":
		return nil, parseErrorf(dialect, "day-of-week", dowText,
			`one of day-of-month (%q) and day-of-week (%q) must be "?", as Quartz requires`, domText, dowText)
	}
	c.domAny = domText == "?" || domText == "*"
	c.dowAny = dowText == "?" || dowText == "*"
	if !c.domAny {
		if c.dom, err = parseQuartzDom(domText); err != nil {
			return nil, err
		}
	}
	if !c.dowAny {
		if c.dow, err = parseQuartzDow(dowText); err != nil {
			return nil, err
		}
	}
	if len(fields) == 7 && fields[6] != "*" {
		if c.years, err = parseYears(dialect, &quartzYear, fields[6]); err != nil {
			return nil, err
		}
	}
	if err := c.finish(opts); err != nil {
		return nil, err
	}
	return c, nil
}

func parseQuartzDom(list string) (dayRules, error) {
	const dialect = "quartz"
	var r dayRules
	for _, tok := range strings.Split(list, ",") {
		upper := strings.ToUpper(tok)
		switch {
		case upper == "L":
			r.lastOffsets |= 1
		case upper == "LW":
			r.lastWeekday = true
		case strings.HasPrefix(upper, "L-"):
			n, ok := parseNumber(upper[2:])
			if !ok || n > 30 {
				return r, parseErrorf(dialect, "day-of-month", tok, "%q: the offset from the last day must be 0-30", tok)
			}
			r.lastOffsets |= 1 << uint(n)
		case strings.HasSuffix(upper, "W"):
			d, err := quartzDom.value(dialect, upper[:len(upper)-1])
			if err != nil {
				return r, parseErrorf(dialect, "day-of-month", tok, "%q: W needs one day 1-31 before it, as in 15W", tok)
			}
			r.nearest |= 1 << uint(d)
		default:
			b, err := quartzDom.parseAtom(dialect, tok)
			if err != nil {
				return r, err
			}
			r.days |= uint32(b)
		}
	}
	return r, nil
}

func parseQuartzDow(list string) (dayRules, error) {
	const dialect = "quartz"
	var r dayRules
	for _, tok := range strings.Split(list, ",") {
		upper := strings.ToUpper(tok)
		switch {
		case upper == "L": // alone, L is the last day of the week: Saturday
			r.weekdays |= 1 << 6
		case strings.Contains(upper, "#"):
			day, nth, _ := strings.Cut(upper, "#")
			w, err := quartzDow.value(dialect, day)
			if err != nil {
				return r, err
			}
			n, ok := parseNumber(nth)
			if !ok || n < 1 || n > 5 {
				return r, parseErrorf(dialect, "day-of-week", tok, "%q: the number after # must be 1-5", tok)
			}
			r.nth[n-1] |= 1 << uint(w-1)
		case len(upper) > 1 && strings.HasSuffix(upper, "L"):
			w, err := quartzDow.value(dialect, upper[:len(upper)-1])
			if err != nil {
				return r, err
			}
			r.lastOf |= 1 << uint(w-1)
		default:
			b, err := quartzDow.parseAtom(dialect, tok)
			if err != nil {
				return r, err
			}
			r.weekdays |= uint8(b >> 1) // Quartz 1-7 → 0-6 with 0 = Sunday
		}
	}
	return r, nil
}

// parseYears parses a year list into ranges; years do not fit a bit set.
func parseYears(dialect string, f *fieldDef, list string) ([]yRange, error) {
	var out []yRange
	for _, tok := range strings.Split(list, ",") {
		tok = strings.TrimSpace(tok)
		base, stepText, hasStep := strings.Cut(tok, "/")
		r := yRange{lo: f.min, hi: f.max, step: 1}
		if hasStep {
			n, ok := parseNumber(stepText)
			if !ok || n < 1 {
				return nil, parseErrorf(dialect, f.name, tok, "%q: step %q must be a whole number of at least 1", tok, stepText)
			}
			r.step = n
		}
		if base != "*" {
			loText, hiText, isRange := strings.Cut(base, "-")
			lo, err := f.value(dialect, loText)
			if err != nil {
				return nil, err
			}
			r.lo = lo
			switch {
			case isRange:
				hi, err := f.value(dialect, hiText)
				if err != nil {
					return nil, err
				}
				if hi < lo {
					return nil, parseErrorf(dialect, f.name, tok, "%q: range start %d is after its end %d", tok, lo, hi)
				}
				r.hi = hi
			case !hasStep:
				r.hi = lo
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func formatYears(rs []yRange) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		s := strconv.Itoa(r.lo)
		if r.hi != r.lo {
			s += "-" + strconv.Itoa(r.hi)
		}
		if r.step != 1 && r.hi != r.lo {
			s += "/" + strconv.Itoa(r.step)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

func (c *Cron) quartzString() string {
	var b strings.Builder
	if c.zoneSet {
		b.WriteString("CRON_TZ=" + c.loc.String() + " ")
	}
	b.WriteString(formatField(c.second, 0, 59, true, nil) + " ")
	b.WriteString(formatField(c.minute, 0, 59, true, nil) + " ")
	b.WriteString(formatField(c.hour, 0, 23, c.hourRepeats, nil) + " ")
	dom, dow := "?", "?"
	switch {
	case !c.domAny:
		dom = formatDayRules(&c.dom, false)
	case !c.dowAny:
		dow = formatDayRules(&c.dow, true)
	default:
		dom = "*"
	}
	b.WriteString(dom + " " + formatField(c.month, 1, 12, true, nil) + " " + dow)
	if c.years != nil {
		b.WriteString(" " + formatYears(c.years))
	}
	return b.String()
}

// formatDayRules writes one Quartz day field, specials after plain values.
func formatDayRules(r *dayRules, weekSide bool) string {
	var parts []string
	if weekSide {
		if r.weekdays != 0 {
			// Quartz numbers 1-7; shift the Sunday-first bits up by one.
			parts = append(parts, formatField(uint64(r.weekdays)<<1, 1, 7, false, nil))
		}
		for w := 0; w < 7; w++ {
			if r.lastOf&(1<<uint(w)) != 0 {
				parts = append(parts, strconv.Itoa(w+1)+"L")
			}
			for n := range r.nth {
				if r.nth[n]&(1<<uint(w)) != 0 {
					parts = append(parts, strconv.Itoa(w+1)+"#"+strconv.Itoa(n+1))
				}
			}
		}
		return strings.Join(parts, ",")
	}
	if r.days != 0 {
		parts = append(parts, formatField(uint64(r.days), 1, 31, false, nil))
	}
	for n := 0; n <= 30; n++ {
		if r.lastOffsets&(1<<uint(n)) != 0 {
			if n == 0 {
				parts = append(parts, "L")
			} else {
				parts = append(parts, "L-"+strconv.Itoa(n))
			}
		}
	}
	for d := 1; d <= 31; d++ {
		if r.nearest&(1<<uint(d)) != 0 {
			parts = append(parts, strconv.Itoa(d)+"W")
		}
	}
	if r.lastWeekday {
		parts = append(parts, "LW")
	}
	return strings.Join(parts, ",")
}
