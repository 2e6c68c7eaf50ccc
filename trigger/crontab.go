package trigger

import (
	"strconv"
	"strings"
	"time"
)

var (
	crontabSecond = fieldDef{name: "second", min: 0, max: 59}
	crontabMinute = fieldDef{name: "minute", min: 0, max: 59}
	crontabHour   = fieldDef{name: "hour", min: 0, max: 23}
	crontabDom    = fieldDef{name: "day-of-month", min: 1, max: 31}
	crontabMonth  = fieldDef{name: "month", min: 1, max: 12, names: monthNames}
	crontabDow    = fieldDef{name: "day-of-week", min: 0, max: 7, names: sundayFirstNames}
)

var crontabDescriptors = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// ParseCron parses a cron expression of the given dialect; an empty dialect
// means [Crontab]. For [APScheduler] the expression is a JSON object of its
// keyword fields, such as {"day_of_week": "mon-fri", "hour": 9}.
func ParseCron(dialect Dialect, expr string, opts CronOptions) (*Cron, error) {
	switch dialect {
	case Crontab, "":
		return parseCrontab(expr, opts)
	case Quartz:
		return parseQuartz(expr, opts)
	case APScheduler:
		fields, err := ParseCronFields(expr)
		if err != nil {
			return nil, err
		}
		return ParseAPScheduler(fields, opts)
	}
	return nil, parseErrorf("cron", "dialect", string(dialect),
		"%q is not one of crontab, quartz, apscheduler", dialect)
}

// splitZonePrefix removes a leading "CRON_TZ=Zone " or "TZ=Zone " and loads
// the zone it names.
func splitZonePrefix(dialect, expr string) (*time.Location, string, error) {
	expr = strings.TrimSpace(expr)
	var key string
	switch {
	case strings.HasPrefix(expr, "CRON_TZ="):
		key = "CRON_TZ"
	case strings.HasPrefix(expr, "TZ="):
		key = "TZ"
	default:
		return nil, expr, nil
	}
	zone, rest, _ := strings.Cut(expr[len(key)+1:], " ")
	loc, err := loadZone(zone)
	if err != nil {
		return nil, "", parseErrorf(dialect, key, zone, "%v", err)
	}
	return loc, strings.TrimSpace(rest), nil
}

// loadZone loads an IANA zone by name. Unlike time.LoadLocation it refuses
// "Local" and the empty name: a stored schedule must not change meaning
// with the machine that reads it.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, &zoneError{name: name}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, &zoneError{name: name, suggestion: SuggestZone(name)}
	}
	return loc, nil
}

// zoneError is an unknown zone name, and the zone it most likely means.
type zoneError struct{ name, suggestion string }

func (e *zoneError) Error() string {
	if e.suggestion != "" {
		return strconv.Quote(e.name) + " is not a known IANA time zone: did you mean " + strconv.Quote(e.suggestion) + "?"
	}
	return strconv.Quote(e.name) + " is not a known IANA time zone such as Europe/London or UTC"
}

func parseCrontab(expr string, opts CronOptions) (*Cron, error) {
	const dialect = "crontab"
	loc, rest, err := splitZonePrefix(dialect, expr)
	if err != nil {
		return nil, err
	}
	c := &Cron{dialect: Crontab, loc: loc, zoneSet: loc != nil, yearMin: 1970, yearMax: maxYear}
	if strings.HasPrefix(rest, "@") {
		name, arg, _ := strings.Cut(rest, " ")
		switch lower := strings.ToLower(name); {
		case lower == "@every":
			arg = strings.TrimSpace(arg)
			d, err := time.ParseDuration(arg)
			if err != nil || d <= 0 {
				return nil, parseErrorf(dialect, "@every", arg, "%q is not a positive Go duration such as 90s or 1h30m", arg)
			}
			if d > MaxDuration {
				return nil, parseErrorf(dialect, "@every", arg, "%q is longer than %s", arg, maxDurationText)
			}
			c.every = d
			if err := c.finish(opts); err != nil {
				return nil, err
			}
			return c, nil
		case crontabDescriptors[lower] != "":
			if strings.TrimSpace(arg) != "" {
				return nil, parseErrorf(dialect, "expression", arg, "unexpected %q after %s", arg, name)
			}
			rest = crontabDescriptors[lower]
		default:
			return nil, parseErrorf(dialect, "expression", name,
				"%q is not one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every", name)
		}
	}
	fields := strings.Fields(rest)
	switch len(fields) {
	case 5:
		c.second = 1
	case 6:
		if c.second, err = parseList(dialect, &crontabSecond, fields[0]); err != nil {
			return nil, err
		}
		fields = fields[1:]
	default:
		return nil, parseErrorf(dialect, "expression", rest,
			"expected 5 fields (minute hour day-of-month month day-of-week) or 6 with leading seconds, got %d in %q", len(fields), rest)
	}
	if c.minute, err = parseList(dialect, &crontabMinute, fields[0]); err != nil {
		return nil, err
	}
	if c.hour, err = parseList(dialect, &crontabHour, fields[1]); err != nil {
		return nil, err
	}
	c.hourRepeats = repeatsAll(fields[1])
	c.domAny = fields[2] == "*"
	if !c.domAny {
		days, err := parseList(dialect, &crontabDom, fields[2])
		if err != nil {
			return nil, err
		}
		c.dom.days = uint32(days)
	}
	if c.month, err = parseList(dialect, &crontabMonth, fields[3]); err != nil {
		return nil, err
	}
	c.dowAny = fields[4] == "*"
	if !c.dowAny {
		ws, err := parseList(dialect, &crontabDow, fields[4])
		if err != nil {
			return nil, err
		}
		if ws&(1<<7) != 0 { // 7 is Sunday too
			ws = ws&^(1<<7) | 1
		}
		c.dow.weekdays = uint8(ws)
	}
	c.dayOr = !c.domAny && !c.dowAny
	if err := c.finish(opts); err != nil {
		return nil, err
	}
	return c, nil
}

// repeatsAll reports whether a field is "*" or "*/n": a schedule whose hour
// field repeats this way keeps firing as real time passes across a
// daylight-saving change.
func repeatsAll(field string) bool {
	return field == "*" || (strings.HasPrefix(field, "*/") && !strings.Contains(field, ","))
}

// parseList parses a comma-separated list of plain atoms.
func parseList(dialect string, f *fieldDef, list string) (uint64, error) {
	if list == "?" {
		if dialect == string(Quartz) {
			return 0, parseErrorf(dialect, f.name, list, `"?" is allowed only in day-of-month or day-of-week`)
		}
		return 0, parseErrorf(dialect, f.name, list, `"?" is Quartz syntax: use "*" in the %s dialect`, dialect)
	}
	var set uint64
	for {
		tok, rest, more := strings.Cut(list, ",")
		b, err := f.parseAtom(dialect, tok)
		if err != nil {
			return 0, err
		}
		set |= b
		if !more {
			return set, nil
		}
		list = rest
	}
}

// String returns the expression in canonical form: numbers instead of
// names, descriptors expanded, lists compacted. Parsing it in the same
// dialect yields the same schedule.
func (c *Cron) String() string {
	switch c.dialect {
	case Quartz:
		return c.quartzString()
	case APScheduler:
		return c.apsString()
	}
	var b strings.Builder
	if c.zoneSet {
		b.WriteString("CRON_TZ=" + c.loc.String() + " ")
	}
	if c.every > 0 {
		b.WriteString("@every " + c.every.String())
		return b.String()
	}
	if c.second != 1 {
		b.WriteString(formatField(c.second, 0, 59, true, nil) + " ")
	}
	b.WriteString(formatField(c.minute, 0, 59, true, nil) + " ")
	b.WriteString(formatField(c.hour, 0, 23, c.hourRepeats, nil) + " ")
	if c.domAny {
		b.WriteString("* ")
	} else {
		b.WriteString(formatField(uint64(c.dom.days), 1, 31, false, nil) + " ")
	}
	b.WriteString(formatField(c.month, 1, 12, true, nil) + " ")
	if c.dowAny {
		b.WriteString("*")
	} else {
		b.WriteString(formatField(uint64(c.dow.weekdays), 0, 6, false, nil))
	}
	return b.String()
}

// formatField formats a set of values; star allows "*" and "*/n" forms,
// which some fields must avoid because a star there changes the meaning.
func formatField(set uint64, min, max int, star bool, name func(int) string) string {
	if star {
		if set == fullSet(min, max) {
			return "*"
		}
		if step, ok := starStep(set, min, max); ok {
			return "*/" + strconv.Itoa(step)
		}
	}
	s := formatBits(set, min, max, name)
	if !star && strings.HasPrefix(s, "*/") {
		// Spell the progression out so that it does not read as a wildcard.
		step, _ := strconv.Atoi(s[2:])
		last := min
		for v := min; v <= max; v += step {
			last = v
		}
		n := strconv.Itoa
		if name != nil {
			n = name
		}
		return n(min) + "-" + n(last) + "/" + s[2:]
	}
	return s
}

// starStep reports whether set is exactly "*/step" for some step ≥ 2.
func starStep(set uint64, min, max int) (int, bool) {
	if set&(1<<uint(min)) == 0 {
		return 0, false
	}
	rest := set &^ (1 << uint(min))
	if rest == 0 {
		return 0, false
	}
	step := 0
	for v := min + 1; v <= max; v++ {
		if set&(1<<uint(v)) != 0 {
			step = v - min
			break
		}
	}
	var want uint64
	for v := min; v <= max; v += step {
		want |= 1 << uint(v)
	}
	return step, step >= 2 && want == set
}
