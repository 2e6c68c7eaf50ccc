package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// CronFields are APScheduler 3 CronTrigger keyword fields, the form that
// Flask-APScheduler configs use. An empty field is not given; fields are
// defaulted as APScheduler does (see [ParseAPScheduler]).
type CronFields struct {
	Year      FieldExpr `json:"year,omitempty"`
	Month     FieldExpr `json:"month,omitempty"`
	Day       FieldExpr `json:"day,omitempty"`
	Week      FieldExpr `json:"week,omitempty"`
	DayOfWeek FieldExpr `json:"day_of_week,omitempty"`
	Hour      FieldExpr `json:"hour,omitempty"`
	Minute    FieldExpr `json:"minute,omitempty"`
	Second    FieldExpr `json:"second,omitempty"`
}

// FieldExpr is one APScheduler field expression. In JSON it is a string or
// a whole number, as APScheduler accepts both ("hour": 9 or "hour": "9-17").
type FieldExpr string

// UnmarshalJSON accepts a JSON string or a whole number.
func (f *FieldExpr) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FieldExpr(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if _, ok := parseNumber(string(b)); ok {
		*f = FieldExpr(b)
		return nil
	}
	return errors.New("must be a string or a whole number, got " + string(b))
}

var apsFieldNames = [8]string{"year", "month", "day", "week", "day_of_week", "hour", "minute", "second"}

// ParseCronFields reads APScheduler keyword fields from a JSON object such
// as {"day_of_week": "mon-fri", "hour": 9}. Unknown keys are errors.
func ParseCronFields(text string) (CronFields, error) {
	const dialect = "apscheduler"
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return CronFields{}, parseErrorf(dialect, "expression", text,
			`expected a JSON object of fields such as {"day_of_week": "mon-fri", "hour": 9}: %v`, err)
	}
	var f CronFields
	for key, value := range raw {
		var dst *FieldExpr
		switch key {
		case "year":
			dst = &f.Year
		case "month":
			dst = &f.Month
		case "day":
			dst = &f.Day
		case "week":
			dst = &f.Week
		case "day_of_week":
			dst = &f.DayOfWeek
		case "hour":
			dst = &f.Hour
		case "minute":
			dst = &f.Minute
		case "second":
			dst = &f.Second
		default:
			return CronFields{}, parseErrorf(dialect, key, key,
				"unknown field %q: expected one of %s", key, strings.Join(apsFieldNames[:], ", "))
		}
		if err := dst.UnmarshalJSON(value); err != nil {
			return CronFields{}, parseErrorf(dialect, key, string(value), "%v", err)
		}
	}
	return f, nil
}

// apsWeekdays numbers weekdays as APScheduler does: 0 = Monday … 6 = Sunday.
var apsWeekdays = map[string]int{"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

var apsDefs = [8]fieldDef{
	{name: "year", min: 1970, max: maxYear},
	{name: "month", min: 1, max: 12, names: monthNames},
	{name: "day", min: 1, max: 31},
	{name: "week", min: 1, max: 53},
	{name: "day_of_week", min: 0, max: 6, names: apsWeekdays},
	{name: "hour", min: 0, max: 23},
	{name: "minute", min: 0, max: 59},
	{name: "second", min: 0, max: 59},
}

// apsDefaults are the values APScheduler gives to fields less significant
// than the least significant one given.
var apsDefaults = [8]string{"*", "1", "1", "*", "*", "0", "0", "0"}

var apsPositions = map[string]int{"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "last": -1}

// ParseAPScheduler builds a schedule from APScheduler CronTrigger fields.
// As in APScheduler, fields more significant than the least significant one
// given default to "*" and less significant ones to their minimum (week and
// day_of_week to "*"); with no field given every field is "*". All fields
// must match (there is no crontab-style OR of day and day_of_week).
func ParseAPScheduler(fields CronFields, opts CronOptions) (*Cron, error) {
	const dialect = "apscheduler"
	given := [8]string{string(fields.Year), string(fields.Month), string(fields.Day), string(fields.Week),
		string(fields.DayOfWeek), string(fields.Hour), string(fields.Minute), string(fields.Second)}
	last := -1
	for i, g := range given {
		if g != "" {
			last = i
		}
	}
	var expr [8]string
	for i, g := range given {
		switch {
		case g != "":
			expr[i] = strings.TrimSpace(g)
		case last >= 0 && i > last:
			expr[i] = apsDefaults[i]
		default:
			expr[i] = "*"
		}
	}
	c := &Cron{dialect: APScheduler, yearMin: 1970, yearMax: maxYear}
	var err error
	if expr[0] != "*" {
		if c.years, err = parseYears(dialect, &apsDefs[0], expr[0]); err != nil {
			return nil, err
		}
	}
	if c.month, err = parseAPSList(&apsDefs[1], expr[1]); err != nil {
		return nil, err
	}
	c.domAny = expr[2] == "*"
	if !c.domAny {
		if c.dom, err = parseAPSDay(expr[2]); err != nil {
			return nil, err
		}
	}
	if expr[3] != "*" {
		if c.weeks, err = parseAPSList(&apsDefs[3], expr[3]); err != nil {
			return nil, err
		}
	}
	c.dowAny = expr[4] == "*"
	if !c.dowAny {
		ws, err := parseAPSList(&apsDefs[4], expr[4])
		if err != nil {
			return nil, err
		}
		c.dow.weekdays = apsToSundayFirst(ws)
	}
	if c.hour, err = parseAPSList(&apsDefs[5], expr[5]); err != nil {
		return nil, err
	}
	c.hourRepeats = repeatsAll(expr[5])
	if c.minute, err = parseAPSList(&apsDefs[6], expr[6]); err != nil {
		return nil, err
	}
	if c.second, err = parseAPSList(&apsDefs[7], expr[7]); err != nil {
		return nil, err
	}
	if err := c.finish(opts); err != nil {
		return nil, err
	}
	return c, nil
}

func parseAPSList(f *fieldDef, list string) (uint64, error) {
	var set uint64
	for _, tok := range strings.Split(list, ",") {
		b, err := f.parseAtom("apscheduler", strings.TrimSpace(tok))
		if err != nil {
			return 0, err
		}
		set |= b
	}
	return set, nil
}

// apsToSundayFirst converts day_of_week bits (0 = Monday) to 0 = Sunday.
func apsToSundayFirst(ws uint64) uint8 {
	return uint8(ws<<1&0x7e | ws>>6&1)
}

// sundayFirstToAPS is the inverse of apsToSundayFirst.
func sundayFirstToAPS(ws uint8) uint64 {
	return uint64(ws>>1) | uint64(ws&1)<<6
}

func parseAPSDay(list string) (dayRules, error) {
	const dialect = "apscheduler"
	var r dayRules
	for _, tok := range strings.Split(list, ",") {
		tok = strings.TrimSpace(tok)
		lower := strings.ToLower(tok)
		if lower == "last" {
			r.lastOffsets |= 1
			continue
		}
		if pos, day, ok := strings.Cut(lower, " "); ok {
			n, okPos := apsPositions[pos]
			w, okDay := apsWeekdays[strings.TrimSpace(day)]
			if !okPos || !okDay {
				return r, parseErrorf(dialect, "day", tok,
					"%q is not a weekday position such as \"2nd mon\" or \"last fri\"", tok)
			}
			bit := uint8(1) << uint((w+1)%7)
			if n < 0 {
				r.lastOf |= bit
			} else {
				r.nth[n-1] |= bit
			}
			continue
		}
		b, err := apsDefs[2].parseAtom(dialect, tok)
		if err != nil {
			return r, err
		}
		r.days |= uint32(b)
	}
	return r, nil
}

var apsOrdinals = [5]string{"1st", "2nd", "3rd", "4th", "5th"}

// apsExprs returns the canonical expression of every field, in APScheduler's
// field order.
func (c *Cron) apsExprs() [8]string {
	var e [8]string
	e[0] = "*"
	if c.years != nil {
		e[0] = formatYears(c.years)
	}
	e[1] = formatField(c.month, 1, 12, true, nil)
	e[2] = "*"
	if !c.domAny {
		var parts []string
		if c.dom.days != 0 {
			parts = append(parts, formatField(uint64(c.dom.days), 1, 31, false, nil))
		}
		if c.dom.lastOffsets&1 != 0 {
			parts = append(parts, "last")
		}
		for n := range c.dom.nth {
			for w := 0; w < 7; w++ {
				if c.dom.nth[n]&(1<<uint(w)) != 0 {
					parts = append(parts, apsOrdinals[n]+" "+shortWeekdays[w])
				}
			}
		}
		for w := 0; w < 7; w++ {
			if c.dom.lastOf&(1<<uint(w)) != 0 {
				parts = append(parts, "last "+shortWeekdays[w])
			}
		}
		e[2] = strings.Join(parts, ",")
	}
	e[3] = "*"
	if c.weeks != 0 {
		e[3] = formatField(c.weeks, 1, 53, false, nil)
	}
	e[4] = "*"
	if !c.dowAny {
		e[4] = formatField(sundayFirstToAPS(c.dow.weekdays), 0, 6, false, func(v int) string {
			return shortWeekdays[(v+1)%7]
		})
	}
	e[5] = formatField(c.hour, 0, 23, c.hourRepeats, nil)
	e[6] = formatField(c.minute, 0, 59, true, nil)
	e[7] = formatField(c.second, 0, 59, true, nil)
	return e
}

// Fields returns the schedule as APScheduler fields in canonical form, for
// a schedule parsed in the APScheduler dialect; other dialects return false.
func (c *Cron) Fields() (CronFields, bool) {
	if c.dialect != APScheduler {
		return CronFields{}, false
	}
	e := c.apsFieldsGiven()
	return CronFields{Year: FieldExpr(e[0]), Month: FieldExpr(e[1]), Day: FieldExpr(e[2]), Week: FieldExpr(e[3]),
		DayOfWeek: FieldExpr(e[4]), Hour: FieldExpr(e[5]), Minute: FieldExpr(e[6]), Second: FieldExpr(e[7])}, true
}

// apsFieldsGiven returns the fields that must be written for the canonical
// form to parse back to the same schedule: every field that is not "*",
// plus "*" fields after the last of those whose default is not "*".
func (c *Cron) apsFieldsGiven() [8]string {
	e := c.apsExprs()
	last := -1
	for i, v := range e {
		if v != "*" {
			last = i
		}
	}
	var out [8]string
	for i, v := range e {
		if v != "*" || (last >= 0 && i > last && apsDefaults[i] != "*") {
			out[i] = v
		}
	}
	return out
}

func (c *Cron) apsString() string {
	e := c.apsFieldsGiven()
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range e {
		if v == "" {
			continue
		}
		if b.Len() > 1 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(apsFieldNames[i]) + ": " + strconv.Quote(v))
	}
	b.WriteByte('}')
	return b.String()
}
