package trigger

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/jsoninput"
)

// Spec is the JSON form of a trigger, in which jobs are stored and sent over
// the API. Type selects the trigger and which fields apply:
//
//	{"type": "cron", "expr": "0 9 * * 1-5", "timezone": "Europe/London"}
//	{"type": "cron", "dialect": "quartz", "expr": "0 0 10 ? * 6#3"}
//	{"type": "cron", "dialect": "apscheduler", "fields": {"day_of_week": "mon-fri", "hour": 9}}
//	{"type": "interval", "minutes": 5, "start_date": "2026-01-01T00:00:00Z", "jitter": "30s"}
//	{"type": "date", "run_date": "2026-12-24T18:00:00+01:00"}
//	{"type": "calendar", "months": 1, "hour": 9, "start_date": "2026-01-31", "timezone": "Asia/Shanghai"}
//	{"type": "or", "triggers": [{…}, {…}]}
//	{"type": "cron", "expr": "0 9 * * *", "timezone": "Asia/Shanghai", "calendar": {"name": "cn-holidays", "rule": "workdays"}}
//
// Field names follow APScheduler where it has them. Dates are RFC 3339, or
// "2006-01-02[ 15:04[:05]]" read as wall-clock time in the spec's time zone.
//
// Go callers build the same values with constructors such as [CronExpr],
// [Every] and [At], which read better and cannot misspell a type.
type Spec struct {
	// Type is one of cron, interval, date, calendar, and, or, none (never
	// fires by itself: a job started only by another job's run or by hand).
	Type string `json:"type"`

	// Expr is the cron expression (crontab or quartz dialect).
	Expr string `json:"expr,omitempty"`
	// Dialect is crontab (the default), quartz or apscheduler.
	Dialect Dialect `json:"dialect,omitempty"`
	// Fields are the APScheduler keyword fields (apscheduler dialect).
	Fields *CronFields `json:"fields,omitempty"`

	// Weeks, Days, Hours, Minutes and Seconds add up to an interval's span;
	// Seconds may be fractional. Weeks and Days also serve calendar.
	Weeks   int     `json:"weeks,omitempty"`
	Days    int     `json:"days,omitempty"`
	Hours   int     `json:"hours,omitempty"`
	Minutes int     `json:"minutes,omitempty"`
	Seconds float64 `json:"seconds,omitempty"`

	// Years and Months are calendar counts; exactly one of years, months,
	// weeks, days is set on a calendar trigger.
	Years  int `json:"years,omitempty"`
	Months int `json:"months,omitempty"`
	// Hour, Minute and Second are a calendar trigger's wall-clock time.
	Hour   int `json:"hour,omitempty"`
	Minute int `json:"minute,omitempty"`
	Second int `json:"second,omitempty"`
	// MissingDay is last (default) or skip, for months that lack the day.
	MissingDay MissingDay `json:"missing_day,omitempty"`

	// RunDate is a date trigger's instant.
	RunDate string `json:"run_date,omitempty"`

	// Triggers are the parts of an and or or trigger.
	Triggers []Spec `json:"triggers,omitempty"`

	// Timezone is an IANA zone name; empty means UTC (or a cron
	// expression's own CRON_TZ= prefix).
	Timezone string `json:"timezone,omitempty"`
	// StartDate and EndDate bound the fire times (inclusive) of every
	// type. An interval's or calendar's StartDate is also its anchor: the
	// first fire, from which the others are counted.
	StartDate string `json:"start_date,omitempty"`
	EndDate   string `json:"end_date,omitempty"`
	// Jitter delays each fire by a random span up to this much.
	Jitter Duration `json:"jitter,omitempty"`
	// JitterSeed selects the jitter's random sequence (see [Jitter]).
	JitterSeed uint64 `json:"jitter_seed,omitempty"`
	// SpringForward and FallBack override the daylight-saving rules of
	// cron and calendar triggers (see docs/time.md).
	SpringForward SpringForward `json:"spring_forward,omitempty"`
	FallBack      FallBack      `json:"fall_back,omitempty"`
	// Calendar lets the trigger fire only on the days a calendar allows,
	// such as working days (see [DayCalendar] and [DayFilter]). A fire's day is
	// read in the zone the trigger fires in; on an and or or trigger the
	// calendar filters the combined fires. Every type but none takes one.
	Calendar *DayCalendar `json:"calendar,omitempty"`
}

// Duration is a time.Duration as Sundial reads it everywhere — jobs,
// triggers, config files, the environment, the API and the CLI: a string
// is a Go duration ("90s", "1h30m"), a number is seconds (APScheduler's
// and most people's convention; "90" and 90 are a minute and a half). It
// writes as a Go duration string.
type Duration time.Duration

// MaxDuration is the longest span Sundial accepts anywhere: a duration
// (jitter, timeouts, misfire grace, retry backoff), an interval, a
// calendar period or @every. A hundred years is far beyond any schedule,
// and far inside time.Duration's range (about 292 years), so that no sum
// or doubling of such spans overflows.
const MaxDuration = 36525 * 24 * time.Hour

// maxDurationText names MaxDuration in messages.
const maxDurationText = "100 years (876600h)"

// ParseDuration reads a duration as Duration does: a Go duration string,
// or a decimal number of seconds. Either is at most MaxDuration long, in
// either direction.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if math.IsNaN(f) {
			return 0, durationError(fmt.Sprintf("%s is not a number of seconds", s))
		}
		if math.IsInf(f, 0) || math.Abs(f) > MaxDuration.Seconds() {
			return 0, durationError(fmt.Sprintf("%s seconds is longer than %s", s, maxDurationText))
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		if wellFormed(s) {
			return 0, durationError(fmt.Sprintf("%q is longer than %s", s, maxDurationText))
		}
		return 0, durationError(fmt.Sprintf("%q is not a duration such as 30s or 1h30m, or a number of seconds", s))
	}
	if v > MaxDuration || v < -MaxDuration {
		return 0, durationError(fmt.Sprintf("%q is longer than %s", s, maxDurationText))
	}
	return v, nil
}

// wellFormed reports whether s has the shape of a Go duration, such as
// "1.5h30m", so that time.ParseDuration refused it only for its size.
func wellFormed(s string) bool {
	t := strings.TrimLeft(s, "+-")
	if t == "" {
		return false
	}
	digits := func(r rune) bool { return (r >= '0' && r <= '9') || r == '.' }
	for t != "" {
		i := strings.IndexFunc(t, func(r rune) bool { return !digits(r) })
		if i <= 0 {
			return false
		}
		t = t[i:]
		j := strings.IndexFunc(t, digits)
		if j < 0 {
			j = len(t)
		}
		switch t[:j] {
		case "ns", "us", "µs", "μs", "ms", "s", "m", "h":
		default:
			return false
		}
		t = t[j:]
	}
	return true
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
	} else if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return durationError(fmt.Sprintf("%s is not a duration such as \"30s\" or a number of seconds", b))
	}
	v, err := ParseDuration(text)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// durationError is a bad Duration (in a Spec, jitter is the one Duration
// field).
type durationError string

func (e durationError) Error() string { return string(e) }

// maxSpecDepth bounds the nesting of and/or specs.
const maxSpecDepth = 8

// ParseSpec reads a Spec from JSON, rejecting unknown fields, and checks
// that it builds. The error names the field at fault, as the JSON spells
// its path ("triggers[1].jitter").
func ParseSpec(data []byte) (Spec, error) {
	var s Spec
	if err := jsoninput.Decode(data, &s); err != nil {
		var p *jsoninput.Problem
		if errors.As(err, &p) {
			return Spec{}, &ParseError{Dialect: "trigger", Field: p.Path, Msg: p.Msg}
		}
		return Spec{}, &ParseError{Dialect: "trigger", Msg: err.Error(), Err: err}
	}
	if _, err := s.Build(); err != nil {
		var pe *ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, errZeroInterval) {
			return Spec{}, zeroIntervalAsWritten(data, pe)
		}
		return Spec{}, err
	}
	return s, nil
}

// errZeroInterval marks the error of an interval whose parts add up to
// zero, which ParseSpec words again in the terms of the JSON.
var errZeroInterval = errors.New("zero interval")

// intervalParts are an interval's span fields, in the order they add up.
var intervalParts = []string{"weeks", "days", "hours", "minutes", "seconds"}

// zeroIntervalAsWritten rewords a zero-interval error to name the span
// fields the JSON did write, and their values: {"minutes": 0} is wrong in
// "minutes", not in "seconds", which a spec decoded from it cannot tell
// from an absent one.
func zeroIntervalAsWritten(data []byte, pe *ParseError) error {
	prefix := strings.TrimSuffix(pe.Field, "seconds")
	obj, ok := specObjectAt(data, prefix)
	if !ok {
		return pe
	}
	var written []string
	field, token := "", ""
	for _, name := range intervalParts {
		raw, ok := member(obj, name)
		value := string(bytes.TrimSpace(raw))
		if !ok || value == "null" {
			continue
		}
		if field == "" {
			field, token = name, value
		}
		written = append(written, value+" "+name)
	}
	if field == "" {
		return pe
	}
	verb := " makes"
	if len(written) > 1 {
		verb = " make"
	}
	msg := strings.Join(written, " and ") + verb + " an interval of zero: it must be longer than zero"
	return &ParseError{Dialect: pe.Dialect, Field: prefix + field, Token: token, Msg: msg, Err: pe.Err}
}

// specObjectAt returns the members of the spec object at a path that
// Spec.build reports with a trailing dot ("", "triggers[1].",
// "triggers[0].triggers[2].").
func specObjectAt(data []byte, path string) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return nil, false
	}
	for path != "" {
		var elem string
		elem, path, _ = strings.Cut(path, ".")
		var i int
		if _, err := fmt.Sscanf(elem, "triggers[%d]", &i); err != nil {
			return nil, false
		}
		var subs []json.RawMessage
		raw, _ := member(obj, "triggers")
		if json.Unmarshal(raw, &subs) != nil || i < 0 || i >= len(subs) ||
			json.Unmarshal(subs[i], &obj) != nil {
			return nil, false
		}
	}
	return obj, true
}

// member finds an object's member as encoding/json matches names:
// exactly, else ignoring case.
func member(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if raw, ok := obj[name]; ok {
		return raw, true
	}
	for key, raw := range obj {
		if strings.EqualFold(key, name) {
			return raw, true
		}
	}
	return nil, false
}

// Build returns the trigger the spec describes, or a *ParseError that
// names the field at fault.
func (s Spec) Build() (Trigger, error) { return s.build(0) }

// Bounds returns the instants that start_date and end_date name, read in
// the spec's time zone; an unset bound is zero. Bounds within the parts of
// an and or or trigger are theirs alone and not reported.
func (s Spec) Bounds() (start, end time.Time, err error) {
	_, start, end, err = s.bounds()
	return start, end, err
}

func (s Spec) bounds() (loc *time.Location, start, end time.Time, err error) {
	kind := cmp.Or(s.Type, "trigger")
	loc = time.UTC
	if s.Timezone != "" {
		if loc, err = loadZone(s.Timezone); err != nil {
			return nil, start, end, parseErrorf(kind, "timezone", s.Timezone, "%v", err)
		}
	}
	if start, err = parseSpecDate(kind, "start_date", s.StartDate, loc); err != nil {
		return nil, start, end, err
	}
	if end, err = parseSpecDate(kind, "end_date", s.EndDate, loc); err != nil {
		return nil, start, end, err
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return nil, start, end, parseErrorf(kind, "end_date", s.EndDate, "%s is before start_date %s", s.EndDate, s.StartDate)
	}
	return loc, start, end, nil
}

func (s Spec) build(depth int) (Trigger, error) {
	kind := s.Type
	if kind == "" {
		return nil, parseErrorf("trigger", "type", "", "required: one of cron, interval, date, calendar, and, or, none")
	}
	if depth > maxSpecDepth {
		return nil, parseErrorf(kind, "triggers", "", "nested more than %d levels deep", maxSpecDepth)
	}
	loc, start, end, err := s.bounds()
	if err != nil {
		return nil, err
	}
	if s.Jitter < 0 {
		return nil, parseErrorf(kind, "jitter", time.Duration(s.Jitter).String(), "%s must not be negative", time.Duration(s.Jitter))
	}
	if err := s.onlyFieldsOf(kind); err != nil {
		return nil, err
	}
	var t Trigger
	switch kind {
	case "cron":
		t, err = s.buildCron(loc, start, end)
	case "interval":
		t, err = s.buildInterval(loc, start, end)
	case "date":
		if s.RunDate == "" {
			return nil, parseErrorf(kind, "run_date", "", "required")
		}
		var at time.Time
		if at, err = parseSpecDate(kind, "run_date", s.RunDate, loc); err == nil {
			if s.Timezone != "" {
				at = at.In(loc)
			}
			t = Date{At: at}
		}
	case "calendar":
		t, err = s.buildCalendar(loc, start, end)
	case "and", "or":
		t, err = s.buildCombination(depth)
	case "none":
		if s.StartDate != "" || s.EndDate != "" || s.Jitter != 0 {
			return nil, parseErrorf(kind, "type", kind, "a none trigger never fires, so it takes no start_date, end_date or jitter")
		}
		if s.Calendar != nil {
			return nil, parseErrorf(kind, "calendar", "", "a none trigger never fires, so it takes no calendar")
		}
		t = Never{}
	default:
		return nil, parseErrorf("trigger", "type", kind, "%q is not one of cron, interval, date, calendar, and, or, none", kind)
	}
	if err != nil {
		return nil, err
	}
	if s.Calendar != nil {
		// A cron expression's CRON_TZ= zone is the one its fires are in.
		zone := loc
		if c, ok := t.(*Cron); ok {
			zone = c.loc
		}
		if t, err = NewDayFilter(t, *s.Calendar, zone); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				inner := *pe
				inner.Dialect, inner.Field = kind, "calendar."+pe.Field
				return nil, &inner
			}
			return nil, err
		}
	}
	if (kind == "date" || kind == "and" || kind == "or") && (!start.IsZero() || !end.IsZero()) {
		t = Bounded{Trigger: t, Start: start, End: end}
	}
	if s.Jitter > 0 {
		t = Jitter{Trigger: t, Max: time.Duration(s.Jitter), Seed: s.JitterSeed}
	}
	return t, nil
}

// onlyFieldsOf rejects fields that do not apply to the trigger type, so
// that a typo such as "hour" on an interval is an error, not ignored.
func (s Spec) onlyFieldsOf(kind string) error {
	type field struct {
		name  string
		set   bool
		kinds string
	}
	fields := []field{
		{"expr", s.Expr != "", "cron"},
		{"dialect", s.Dialect != "", "cron"},
		{"fields", s.Fields != nil, "cron"},
		{"weeks", s.Weeks != 0, "interval calendar"},
		{"days", s.Days != 0, "interval calendar"},
		{"hours", s.Hours != 0, "interval"},
		{"minutes", s.Minutes != 0, "interval"},
		{"seconds", s.Seconds != 0, "interval"},
		{"years", s.Years != 0, "calendar"},
		{"months", s.Months != 0, "calendar"},
		{"hour", s.Hour != 0, "calendar"},
		{"minute", s.Minute != 0, "calendar"},
		{"second", s.Second != 0, "calendar"},
		{"missing_day", s.MissingDay != "", "calendar"},
		{"run_date", s.RunDate != "", "date"},
		{"triggers", s.Triggers != nil, "and or"},
		{"spring_forward", s.SpringForward != "", "cron calendar"},
		{"fall_back", s.FallBack != "", "cron calendar"},
	}
	for _, f := range fields {
		if f.set && !strings.Contains(" "+f.kinds+" ", " "+kind+" ") {
			return parseErrorf(kind, f.name, f.name, "does not apply to a %s trigger", kind)
		}
	}
	return nil
}

func (s Spec) buildCron(loc *time.Location, start, end time.Time) (Trigger, error) {
	opts := CronOptions{Location: loc, SpringForward: s.SpringForward, FallBack: s.FallBack, Start: start, End: end}
	switch s.Dialect {
	case APScheduler:
		if s.Expr != "" {
			return nil, parseErrorf("apscheduler", "expr", s.Expr, `the apscheduler dialect takes "fields", not "expr"`)
		}
		if s.Fields == nil {
			return nil, parseErrorf("apscheduler", "fields", "", `required, e.g. {"day_of_week": "mon-fri", "hour": 9}`)
		}
		return ParseAPScheduler(*s.Fields, opts)
	case Crontab, Quartz, "":
		if s.Fields != nil {
			return nil, parseErrorf("cron", "fields", "", `"fields" is for the apscheduler dialect; use "expr"`)
		}
		if strings.TrimSpace(s.Expr) == "" {
			return nil, parseErrorf("cron", "expr", "", "required, e.g. \"0 9 * * 1-5\"")
		}
		c, err := ParseCron(s.Dialect, s.Expr, opts)
		if err != nil {
			return nil, err
		}
		if c.zoneSet && s.Timezone != "" && c.loc.String() != loc.String() {
			return nil, parseErrorf("cron", "timezone", s.Timezone,
				"%q conflicts with the expression's own zone %q", s.Timezone, c.loc.String())
		}
		return c, nil
	}
	return nil, parseErrorf("cron", "dialect", string(s.Dialect), "%q is not one of crontab, quartz, apscheduler", s.Dialect)
}

func (s Spec) buildInterval(loc *time.Location, start, end time.Time) (Trigger, error) {
	const kind = "interval"
	if math.IsNaN(s.Seconds) {
		return nil, parseErrorf(kind, "seconds", "NaN", "NaN is not a number of seconds")
	}
	parts := []struct {
		name, text string
		n          float64
		unit       time.Duration
	}{{"weeks", strconv.Itoa(s.Weeks), float64(s.Weeks), 7 * 24 * time.Hour}, {"days", strconv.Itoa(s.Days), float64(s.Days), 24 * time.Hour},
		{"hours", strconv.Itoa(s.Hours), float64(s.Hours), time.Hour}, {"minutes", strconv.Itoa(s.Minutes), float64(s.Minutes), time.Minute},
		{"seconds", secondsText(s.Seconds), s.Seconds, time.Second}}
	// Add up in float64 seconds, which cannot overflow, before any
	// time.Duration arithmetic, which wraps: 30500 weeks once came out as
	// 25 minutes.
	total := 0.0
	for _, p := range parts {
		text := p.text
		if p.n < 0 {
			return nil, parseErrorf(kind, p.name, text, "%s must not be negative", text)
		}
		if total += p.n * p.unit.Seconds(); total > MaxDuration.Seconds() {
			return nil, parseErrorf(kind, p.name, text, "%s %s make the interval longer than %s", text, p.name, maxDurationText)
		}
	}
	every := time.Duration(s.Weeks)*7*24*time.Hour + time.Duration(s.Days)*24*time.Hour + time.Duration(s.Hours)*time.Hour +
		time.Duration(s.Minutes)*time.Minute + time.Duration(math.Round(s.Seconds*float64(time.Second)))
	if every <= 0 {
		pe := parseErrorf(kind, "seconds", "", "the interval must be longer than zero: set weeks, days, hours, minutes or seconds")
		pe.Err = errZeroInterval
		return nil, pe
	}
	return Interval{Every: every, Start: start, End: end, Location: loc}, nil
}

// secondsText writes a number of seconds as people write it: 90.5, or
// 1e+300 rather than three hundred digits.
func secondsText(f float64) string {
	if math.Abs(f) >= 1e15 {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func (s Spec) buildCalendar(loc *time.Location, start, end time.Time) (Trigger, error) {
	var unit CalendarUnit
	every, set := 0, 0
	for _, p := range []struct {
		unit CalendarUnit
		n    int
	}{{Years, s.Years}, {Months, s.Months}, {Weeks, s.Weeks}, {Days, s.Days}} {
		if p.n != 0 {
			unit, every = p.unit, p.n
			set++
		}
	}
	if set != 1 {
		return nil, parseErrorf("calendar", "years", "", "set exactly one of years, months, weeks, days (got %d)", set)
	}
	return NewCalendar(CalendarOptions{Unit: unit, Every: every, Hour: s.Hour, Minute: s.Minute, Second: s.Second,
		Start: start, End: end, Location: loc, MissingDay: s.MissingDay, SpringForward: s.SpringForward, FallBack: s.FallBack})
}

func (s Spec) buildCombination(depth int) (Trigger, error) {
	if len(s.Triggers) < 1 {
		return nil, parseErrorf(s.Type, "triggers", "", "required: a list of at least one trigger")
	}
	parts := make([]Trigger, 0, len(s.Triggers))
	for i, sub := range s.Triggers {
		t, err := sub.build(depth + 1)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				inner := *pe
				inner.Field = fmt.Sprintf("triggers[%d].%s", i, pe.Field)
				if pe.Field == "" {
					inner.Field = fmt.Sprintf("triggers[%d]", i)
				}
				return nil, &inner
			}
			return nil, err
		}
		parts = append(parts, t)
	}
	if s.Type == "and" {
		return And(parts), nil
	}
	return Or(parts), nil
}

// NeedsPin reports whether Pin may change the spec: an interval without a
// start_date, or a combination, whose parts may be one. A caller holding
// the spec by pointer can skip Pin, and its copy of the spec, otherwise.
func (s *Spec) NeedsPin() bool {
	return len(s.Triggers) > 0 || s.Type == "interval" && s.StartDate == ""
}

// Pin returns a copy of the spec whose interval triggers, at any depth,
// have a start_date: now plus the interval where none was given. A
// scheduler pins a spec once when it stores the job, so that its fire times
// stay on one grid across restarts and jitter.
func (s Spec) Pin(now time.Time) (Spec, error) {
	if !s.NeedsPin() {
		return s, nil
	}
	if len(s.Triggers) > 0 {
		subs := make([]Spec, len(s.Triggers))
		for i, sub := range s.Triggers {
			p, err := sub.Pin(now)
			if err != nil {
				return Spec{}, err
			}
			subs[i] = p
		}
		s.Triggers = subs
	}
	if s.Type != "interval" || s.StartDate != "" {
		return s, nil
	}
	t, err := s.Build()
	if err != nil {
		return Spec{}, err
	}
	for done := false; !done; {
		switch w := t.(type) {
		case Jitter:
			t = w.Trigger
		case *DayFilter:
			t = w.Trigger
		default:
			done = true
		}
	}
	iv := t.(Interval)
	s.StartDate = now.Add(iv.Every).In(iv.Location).Format(time.RFC3339Nano)
	return s, nil
}

var naiveLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// parseSpecDate reads an RFC 3339 instant, or a wall-clock date and time in
// loc resolved by the fixed-time rules: a time in a gap is the first instant
// after it, a time in an overlap its first occurrence.
func parseSpecDate(kind, field, text string, loc *time.Location) (time.Time, error) {
	if text == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
		return t, nil
	}
	for _, layout := range naiveLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			c := civilSeconds(t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
			from := time.Unix(c-2*secondsPerDay, 0)
			at := nextInZone(exactCivil(c), loc, from, RunAfterGap, FirstPass)
			if at.IsZero() {
				break
			}
			return at.Add(time.Duration(t.Nanosecond())), nil
		}
	}
	return time.Time{}, parseErrorf(kind, field, text,
		"%q is not an RFC 3339 time (2026-01-02T15:04:05Z) or a date like 2026-01-02 15:04:05", text)
}

// exactCivil matches one wall-clock second.
type exactCivil int64

func (e exactCivil) nextCivil(from int64) (int64, bool) {
	return int64(e), from <= int64(e)
}

// Zones names the time zones the trigger fires in, in order of first
// mention: its timezone, a cron expression's CRON_TZ= prefix, and those of
// an and or or trigger's parts. None means UTC.
func (s Spec) Zones() []string {
	var zones []string
	var walk func(s Spec)
	walk = func(s Spec) {
		zone := s.Timezone
		if zone == "" && s.Type == "cron" && s.Expr != "" {
			dialect := s.Dialect
			if dialect == "" {
				dialect = Crontab
			}
			if c, err := ParseCron(dialect, s.Expr, CronOptions{}); err == nil && c.HasZonePrefix() {
				zone = c.Location().String()
			}
		}
		if zone != "" && !slices.Contains(zones, zone) {
			zones = append(zones, zone)
		}
		for _, part := range s.Triggers {
			walk(part)
		}
	}
	walk(s)
	return zones
}
