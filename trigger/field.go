package trigger

import (
	"math/bits"
	"strconv"
	"strings"
)

// fieldDef describes one field of a cron dialect: its name as the dialect
// spells it, its range, and the names it accepts for values.
type fieldDef struct {
	name     string
	min, max int
	names    map[string]int // lower-case name → value
	wrap     bool           // a range may wrap around (Quartz "22-2")
}

var monthNames = map[string]int{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

// sundayFirstNames numbers weekdays as crontab does (0 = Sunday).
var sundayFirstNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

// weekdayNames are the display names, indexed by weekday with 0 = Sunday.
var weekdayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// shortWeekdays are the three-letter names, indexed with 0 = Sunday.
var shortWeekdays = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

var monthDisplay = [13]string{"", "January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December"}

// parseNumber parses an unsigned decimal, rejecting signs and spaces that
// strconv.Atoi would accept.
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// value parses one value of the field: a number or, where the field has
// names, a case-insensitive name.
func (f *fieldDef) value(dialect, tok string) (int, error) {
	if n, ok := parseNumber(tok); ok {
		if n < f.min || n > f.max {
			return 0, parseErrorf(dialect, f.name, tok, "%s is out of range %d-%d", tok, f.min, f.max)
		}
		return n, nil
	}
	if f.names != nil {
		if n, ok := f.names[strings.ToLower(tok)]; ok {
			return n, nil
		}
	}
	if tok == "" {
		return 0, parseErrorf(dialect, f.name, tok, "empty value")
	}
	return 0, parseErrorf(dialect, f.name, tok, "%q is not a valid value", tok)
}

// parseAtom parses one list element without dialect specials: "*", "*/n",
// "a", "a-b", "a-b/n" or "a/n" (a through the maximum, every n). It returns
// the values as bits numbered from 0.
func (f *fieldDef) parseAtom(dialect, tok string) (uint64, error) {
	base, stepText, hasStep := strings.Cut(tok, "/")
	step := 1
	if hasStep {
		n, ok := parseNumber(stepText)
		if !ok || n < 1 {
			return 0, parseErrorf(dialect, f.name, tok, "%q: step %q must be a whole number of at least 1", tok, stepText)
		}
		if n > f.max-f.min+1 {
			return 0, parseErrorf(dialect, f.name, tok, "%q: step %d is larger than the field's range %d-%d", tok, n, f.min, f.max)
		}
		step = n
	}
	var lo, hi int
	switch {
	case base == "*":
		lo, hi = f.min, f.max
	default:
		loText, hiText, isRange := strings.Cut(base, "-")
		var err error
		if lo, err = f.value(dialect, loText); err != nil {
			return 0, err
		}
		switch {
		case isRange:
			if hi, err = f.value(dialect, hiText); err != nil {
				return 0, err
			}
			if hi < lo && !f.wrap {
				return 0, parseErrorf(dialect, f.name, tok, "%q: range start %d is after its end %d", tok, lo, hi)
			}
		case hasStep:
			hi = f.max
		default:
			hi = lo
		}
	}
	var set uint64
	if hi < lo { // wrapping range: lo..max, then min..hi, stepping across the seam
		span := f.max - f.min + 1
		for i := 0; i <= hi+span-lo; i += step {
			v := lo + i
			if v > f.max {
				v -= span
			}
			set |= 1 << uint(v)
		}
		return set, nil
	}
	for v := lo; v <= hi; v += step {
		set |= 1 << uint(v)
	}
	return set, nil
}

// formatBits writes a set of values compactly and exactly: runs become
// ranges, an evenly spaced set becomes "lo-hi/step" (or "*/step" from the
// minimum), so that parsing the text yields the same set.
func formatBits(set uint64, min, max int, name func(int) string) string {
	if name == nil {
		name = strconv.Itoa
	}
	var vals []int
	for s := set; s != 0; s &= s - 1 {
		vals = append(vals, bits.TrailingZeros64(s))
	}
	if len(vals) >= 3 {
		step := vals[1] - vals[0]
		even := step > 1
		for i := 2; i < len(vals) && even; i++ {
			even = vals[i]-vals[i-1] == step
		}
		if even {
			last := vals[len(vals)-1]
			if vals[0] == min && last+step > max {
				return "*/" + strconv.Itoa(step)
			}
			return name(vals[0]) + "-" + name(last) + "/" + strconv.Itoa(step)
		}
	}
	var b strings.Builder
	for i := 0; i < len(vals); {
		j := i
		for j+1 < len(vals) && vals[j+1] == vals[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name(vals[i]))
		switch {
		case j == i+1:
			b.WriteByte(',')
			b.WriteString(name(vals[j]))
		case j > i:
			b.WriteByte('-')
			b.WriteString(name(vals[j]))
		}
		i = j + 1
	}
	return b.String()
}

// fullSet returns the bits min..max.
func fullSet(min, max int) uint64 {
	return (^uint64(0) >> uint(63-max)) &^ (1<<uint(min) - 1)
}
