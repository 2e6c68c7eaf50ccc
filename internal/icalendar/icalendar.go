// Package icalendar reads the days of an iCalendar (.ics) file, such as a
// public-holiday feed, into the holidays and working days of a Sundial
// calendar. It is the one user of github.com/arran4/golang-ical, which
// parses the file's structure (components, folded lines, escapes); the
// dates are read here, as written, so that no machine's local zone can move
// them.
//
// An all-day event (DTSTART;VALUE=DATE) covers its start date up to but
// not including DTEND (one day without DTEND; DURATION in days or weeks is
// read too). An event at a time of day counts on the date its DTSTART
// shows, in its own TZID, in UTC or floating alike. Recurring events are
// not expanded: a holiday feed lists each year's dates as single events, and
// an RRULE reaches into years no one has decreed yet.
package icalendar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/sundialhq/sundial"
)

// MaxFileSize is the largest file Read accepts, in bytes. A holiday feed
// covering many years is well under a megabyte.
const MaxFileSize = 16 << 20

// maxEventDays is the longest event Read imports: a year, leap or not.
const maxEventDays = 366

// ErrMalformed is wrapped by the error for input that is not an iCalendar
// file that can be read.
var ErrMalformed = errors.New("not a readable iCalendar file")

// ErrNoEvents is wrapped by the error for a file without any event.
var ErrNoEvents = errors.New("no events")

// Entry is one day of an imported calendar: its date, and as its name
// the SUMMARY of the event that covers it. It is a calendar's own day, so
// that what Read finds goes into a sundial.Calendar as it is.
type Entry = sundial.CalendarDay

// Options configures Read. The zero value is ready to use.
type Options struct {
	// WorkingDay selects the events that are working days, such as China's
	// make-up working days (调休), by their SUMMARY; the others are
	// holidays. Nil means the default: a summary that contains 补班 or 上班
	// (as in 调休上班), or "working day", "work day" or "workday" in any
	// case but not after "non" ("Non-working day" is a holiday).
	WorkingDay *regexp.Regexp
}

// Result is what Read found: days sorted by date, each listed once.
type Result struct {
	// Holidays are the days of the events that are not working days.
	Holidays []Entry `json:"holidays"`
	// WorkingDays are the days of the events that Options.WorkingDay
	// selects. A day that events make both a holiday and a working day is
	// a working day, and noted in Skipped.
	WorkingDays []Entry `json:"working_days"`
	// Skipped says, for people, which events (or days) were not imported
	// and why, in the order of the file.
	Skipped []string `json:"skipped"`
}

var (
	defaultWorkingDay = regexp.MustCompile(`(?i)补班|上班|work(?:ing)? ?day`)
	nonWorkingDay     = regexp.MustCompile(`(?i)non[- ]?work(?:ing)? ?day`)
)

// MaxDates bounds the days one file may cover, holidays and working days
// together: as many as one calendar holds (trigger.MaxCalendarDates), so
// that a small file of long events cannot expand into millions of dates.
const MaxDates = 10000

// Read reads an iCalendar file of at most MaxFileSize bytes. Its error
// wraps ErrMalformed for a file it cannot parse and ErrNoEvents for one
// without a VEVENT; an event it cannot use is not an error but a line in
// Result.Skipped.
func Read(r io.Reader, o Options) (Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return Result{}, fmt.Errorf("icalendar: reading: %w", err)
	}
	if len(data) > MaxFileSize {
		return Result{}, fmt.Errorf("icalendar: %w: larger than %d MiB", ErrMalformed, MaxFileSize>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if len(bytes.TrimSpace(data)) == 0 {
		return Result{}, fmt.Errorf("icalendar: %w: the file is empty", ErrMalformed)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(data))
	if err != nil {
		return Result{}, fmt.Errorf("icalendar: %w: %w", ErrMalformed, err)
	}
	events := cal.Events()
	if len(events) == 0 {
		return Result{}, fmt.Errorf("icalendar: %w: the file has no VEVENT", ErrNoEvents)
	}
	working := func(summary string) bool {
		if o.WorkingDay != nil {
			return o.WorkingDay.MatchString(summary)
		}
		return defaultWorkingDay.MatchString(summary) && !nonWorkingDay.MatchString(summary)
	}

	var res Result
	holidays, workdays := map[string]string{}, map[string]string{}
	for _, ev := range events {
		summary := strings.TrimSpace(value(ev, ics.ComponentPropertySummary))
		days, reason := eventDays(ev)
		if reason != "" {
			res.Skipped = append(res.Skipped, label(summary, days)+": "+reason)
			continue
		}
		into := holidays
		if working(summary) {
			into = workdays
		}
		for _, d := range days {
			if _, seen := into[d]; !seen {
				into[d] = summary
			}
		}
		if len(holidays)+len(workdays) > MaxDates {
			return Result{}, fmt.Errorf("icalendar: the events cover more than %d days, more than a calendar holds: %w", MaxDates, ErrMalformed)
		}
	}
	for _, d := range slices.Sorted(maps.Keys(workdays)) {
		if name, both := holidays[d]; both {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%s: both a holiday (%q) and a working day (%q); kept as a working day",
				d, name, workdays[d]))
			delete(holidays, d)
		}
	}
	res.Holidays, res.WorkingDays = entries(holidays), entries(workdays)
	return res, nil
}

// eventDays returns the dates an event covers, or why it is not imported
// (with its first date, when known, for the message).
func eventDays(ev *ics.VEvent) (days []string, reason string) {
	start := ev.GetProperty(ics.ComponentPropertyDtStart)
	var first time.Time
	allDay := false
	if start != nil {
		var err error
		if first, allDay, err = parseDate(start); err != nil {
			return nil, "DTSTART " + err.Error()
		}
	}
	firstOnly := func() []string {
		if first.IsZero() {
			return nil
		}
		return []string{first.Format(time.DateOnly)}
	}
	switch {
	case strings.EqualFold(value(ev, ics.ComponentPropertyStatus), "CANCELLED"):
		return firstOnly(), "cancelled"
	case ev.HasProperty(ics.ComponentPropertyRrule) || ev.HasProperty(ics.ComponentPropertyRdate) ||
		ev.HasProperty(ics.ComponentPropertyExrule) || ev.HasProperty(ics.ComponentPropertyExdate):
		return firstOnly(), "recurring event not expanded"
	case ev.HasProperty(ics.ComponentPropertyRecurrenceId):
		return firstOnly(), "changes one occurrence of a recurring event, which is not expanded"
	case start == nil:
		return nil, "no DTSTART"
	}
	n := 1
	if allDay {
		if end := ev.GetProperty(ics.ComponentPropertyDtEnd); end != nil {
			last, _, err := parseDate(end)
			if err != nil {
				return firstOnly(), "DTEND " + err.Error()
			}
			if n = int(last.Sub(first).Hours() / 24); n < 0 {
				return firstOnly(), "ends before it starts"
			}
			n = max(n, 1) // DTEND equal to DTSTART: taken as the one day meant
		} else if dur := value(ev, ics.ComponentPropertyDuration); dur != "" {
			var ok bool
			if n, ok = durationDays(dur); !ok {
				return firstOnly(), fmt.Sprintf("DURATION %q is not a whole number of days or weeks", dur)
			}
			n = max(n, 1)
		}
	}
	if n > maxEventDays {
		return firstOnly(), fmt.Sprintf("spans %d days, more than %d", n, maxEventDays)
	}
	days = make([]string, n)
	for i := range days {
		days[i] = first.AddDate(0, 0, i).Format(time.DateOnly)
	}
	return days, ""
}

// parseDate reads the date of a DATE or DATE-TIME value as written:
// "20261001", "20261001T090000", "20261001T090000Z". allDay reports a DATE.
func parseDate(p *ics.IANAProperty) (date time.Time, allDay bool, err error) {
	v := strings.TrimSpace(p.Value)
	allDay = len(v) == 8
	if vt := p.ICalParameters[string(ics.ParameterValue)]; len(vt) > 0 && strings.EqualFold(vt[0], "DATE") {
		allDay = true
	}
	if len(v) < 8 || (len(v) > 8 && v[8] != 'T') || (allDay && len(v) != 8) {
		return time.Time{}, allDay, fmt.Errorf("%q is not a date or date-time such as 20261001 or 20261001T090000", v)
	}
	for _, c := range v[:8] {
		if c < '0' || c > '9' {
			return time.Time{}, allDay, fmt.Errorf("%q is not a date or date-time such as 20261001 or 20261001T090000", v)
		}
	}
	d, err := time.Parse("20060102", v[:8])
	if err != nil || d.Year() < 1 {
		return time.Time{}, allDay, fmt.Errorf("%q is not a real date", v)
	}
	return d, allDay, nil
}

// durationDays reads a DURATION of whole days or weeks, such as P3D or
// P1W (an all-day event's); other forms report false.
func durationDays(s string) (int, bool) {
	s = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "+")
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, false
	}
	unit := 1
	switch s[len(s)-1] {
	case 'D':
	case 'W':
		unit = 7
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s[1 : len(s)-1])
	if err != nil || n < 0 || n > math.MaxInt/unit {
		return 0, false
	}
	return n * unit, true
}

// value returns a property's value, or "" when the event lacks it.
func value(ev *ics.VEvent, p ics.ComponentProperty) string {
	if prop := ev.GetProperty(p); prop != nil {
		return prop.Value
	}
	return ""
}

// label names an event in a Skipped line.
func label(summary string, days []string) string {
	s := "an event without a SUMMARY"
	if summary != "" {
		s = strconv.Quote(summary)
	}
	if len(days) > 0 {
		s += " on " + days[0]
	}
	return s
}

func entries(m map[string]string) []Entry {
	out := make([]Entry, 0, len(m))
	for _, d := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Entry{Date: d, Name: m[d]})
	}
	return out
}
