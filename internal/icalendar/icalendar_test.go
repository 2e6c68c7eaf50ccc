package icalendar

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/trigger"
)

// readFile reads a test file, checking that it keeps the CRLF line endings
// and folded lines that the tests rely on.
func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(data, []byte("\r\n")) != bytes.Count(data, []byte("\n")) {
		t.Fatalf("%s has lines not ended by CRLF", name)
	}
	if !bytes.Contains(data, []byte("\r\n ")) {
		t.Fatalf("%s has no folded line", name)
	}
	return data
}

func list(pairs ...string) []Entry {
	var out []Entry
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Entry{Date: pairs[i], Name: pairs[i+1]})
	}
	return out
}

func days(first string, n int, name string) []string {
	var out []string
	for i := range n {
		d := []byte(first)
		d[9] += byte(i) // within one decade of days
		out = append(out, string(d), name)
	}
	return out
}

func TestReadFiles(t *testing.T) {
	t.Parallel()
	var cnHolidays []string
	cnHolidays = append(cnHolidays, days("2026-01-01", 3, "元旦")...)
	cnHolidays = append(cnHolidays, days("2026-02-15", 5, "春节假期（2月15日至2月23日）")...)
	cnHolidays = append(cnHolidays, "2026-02-20", "春节假期（2月15日至2月23日）", "2026-02-21", "春节假期（2月15日至2月23日）",
		"2026-02-22", "春节假期（2月15日至2月23日）", "2026-02-23", "春节假期（2月15日至2月23日）")
	cnHolidays = append(cnHolidays, "2026-09-25", "中秋节")
	cnHolidays = append(cnHolidays, days("2026-10-01", 7, "国庆节")...)
	tests := []struct {
		file string
		opts Options
		want Result
	}{
		{"cn-2026.ics", Options{}, Result{
			Holidays: list(cnHolidays...),
			WorkingDays: list("2026-02-14", "春节调休上班", "2026-02-28", "春节 补班", "2026-09-20", "国庆节 补班",
				"2026-10-10", "补班"),
			Skipped: []string{`"元旦（旧安排）" on 2025-12-31: cancelled`,
				`2026-10-10: both a holiday ("国庆节 休息") and a working day ("补班"); kept as a working day`},
		}},
		{"us-2026.ics", Options{}, Result{
			Holidays: list("2026-06-01", "Summer picnic", "2026-07-03", "Independence Day, observed",
				"2026-09-04", "Labor Day weekend begins", "2026-11-24", "Non-working day",
				"2026-11-26", "Thanksgiving", "2026-11-27", "Thanksgiving", "2026-12-25", "Christmas Day",
				"2026-12-31", "Office closes early"),
			WorkingDays: list("2026-11-28", "Company working day (inventory)"),
			Skipped: []string{`"Team standup" on 2026-01-05: recurring event not expanded`,
				`"Renovation" on 2026-01-01: spans 424 days, more than 366`},
		}},
		{"us-2026.ics", Options{WorkingDay: regexp.MustCompile(`(?i)christmas|picnic`)}, Result{
			Holidays: list("2026-07-03", "Independence Day, observed",
				"2026-09-04", "Labor Day weekend begins", "2026-11-24", "Non-working day",
				"2026-11-26", "Thanksgiving", "2026-11-27", "Thanksgiving",
				"2026-11-28", "Company working day (inventory)", "2026-12-31", "Office closes early"),
			WorkingDays: list("2026-06-01", "Summer picnic", "2026-12-25", "Christmas Day"),
			Skipped: []string{`"Team standup" on 2026-01-05: recurring event not expanded`,
				`"Renovation" on 2026-01-01: spans 424 days, more than 366`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := Read(bytes.NewReader(readFile(t, tt.file)), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Read(%s) =\n%+v\nwant\n%+v", tt.file, got, tt.want)
			}
			// What Read gives is what a trigger's calendar takes.
			cal := trigger.DayCalendar{Rule: trigger.Workdays}
			for _, e := range got.Holidays {
				cal.Holidays = append(cal.Holidays, e.Date)
			}
			for _, e := range got.WorkingDays {
				cal.WorkingDays = append(cal.WorkingDays, e.Date)
			}
			if err := cal.Validate(); err != nil {
				t.Errorf("the dates do not make a calendar: %v", err)
			}
		})
	}
}

// event wraps VEVENT lines in a calendar, with CRLF line endings.
func event(lines ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:e@t\r\n" +
		strings.Join(lines, "\r\n") + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

func TestReadEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ics      string
		holidays []Entry
		skipped  []string
	}{
		{"one all-day event without DTEND", event("DTSTART;VALUE=DATE:20261001", "SUMMARY:A"), list("2026-10-01", "A"), nil},
		{"a date without VALUE=DATE", event("DTSTART:20261001", "DTEND:20261003", "SUMMARY:A"),
			list("2026-10-01", "A", "2026-10-02", "A"), nil},
		{"DTEND equal to DTSTART", event("DTSTART;VALUE=DATE:20261001", "DTEND;VALUE=DATE:20261001", "SUMMARY:A"),
			list("2026-10-01", "A"), nil},
		{"across a month and a leap day", event("DTSTART;VALUE=DATE:20280228", "DTEND;VALUE=DATE:20280302", "SUMMARY:A"),
			list("2028-02-28", "A", "2028-02-29", "A", "2028-03-01", "A"), nil},
		{"a week by DURATION", event("DTSTART;VALUE=DATE:20261001", "DURATION:P1W", "SUMMARY:A"),
			list(days("2026-10-01", 7, "A")...), nil},
		{"a date-time counts on its start date only", event("DTSTART;TZID=Asia/Shanghai:20261001T230000",
			"DTEND;TZID=Asia/Shanghai:20261003T010000", "SUMMARY:A"), list("2026-10-01", "A"), nil},
		{"an unknown TZID still has its date", event("DTSTART;TZID=Mars/Olympus:20261001T090000", "SUMMARY:A"),
			list("2026-10-01", "A"), nil},
		{"an event without a SUMMARY", event("DTSTART;VALUE=DATE:20261001"), list("2026-10-01", ""), nil},
		{"no DTSTART", event("SUMMARY:A"), nil, []string{`"A": no DTSTART`}},
		{"a bad DTSTART", event("DTSTART;VALUE=DATE:2026-10-01", "SUMMARY:A"), nil,
			[]string{`"A": DTSTART "2026-10-01" is not a date or date-time such as 20261001 or 20261001T090000`}},
		{"a date that does not exist", event("DTSTART;VALUE=DATE:20260230", "SUMMARY:A"), nil,
			[]string{`"A": DTSTART "20260230" is not a real date`}},
		{"DTEND before DTSTART", event("DTSTART;VALUE=DATE:20261003", "DTEND;VALUE=DATE:20261001"), nil,
			[]string{`an event without a SUMMARY on 2026-10-03: ends before it starts`}},
		{"a DURATION of hours on a date", event("DTSTART;VALUE=DATE:20261001", "DURATION:PT36H", "SUMMARY:A"), nil,
			[]string{`"A" on 2026-10-01: DURATION "PT36H" is not a whole number of days or weeks`}},
		{"a DURATION beyond a year", event("DTSTART;VALUE=DATE:20261001", "DURATION:P99999999999W", "SUMMARY:A"), nil,
			[]string{`"A" on 2026-10-01: spans 699999999993 days, more than 366`}},
		{"a DURATION past any number", event("DTSTART;VALUE=DATE:20261001", "DURATION:P9999999999999999999D", "SUMMARY:A"), nil,
			[]string{`"A" on 2026-10-01: DURATION "P9999999999999999999D" is not a whole number of days or weeks`}},
		{"a DURATION of 53 weeks", event("DTSTART;VALUE=DATE:20261001", "DURATION:P53W", "SUMMARY:A"), nil,
			[]string{`"A" on 2026-10-01: spans 371 days, more than 366`}},
		{"RDATE", event("DTSTART;VALUE=DATE:20261001", "RDATE;VALUE=DATE:20271001", "SUMMARY:A"), nil,
			[]string{`"A" on 2026-10-01: recurring event not expanded`}},
		{"EXDATE", event("DTSTART;VALUE=DATE:20261001", "EXDATE;VALUE=DATE:20271001", "SUMMARY:A"), nil,
			[]string{`"A" on 2026-10-01: recurring event not expanded`}},
		{"one occurrence changed", event("DTSTART;VALUE=DATE:20261002", "RECURRENCE-ID;VALUE=DATE:20261001", "SUMMARY:A"), nil,
			[]string{`"A" on 2026-10-02: changes one occurrence of a recurring event, which is not expanded`}},
		{"cancelled in lower case", event("DTSTART;VALUE=DATE:20261001", "STATUS:cancelled", "SUMMARY:A"), nil,
			[]string{`"A" on 2026-10-01: cancelled`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Read(strings.NewReader(tt.ics), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Holidays, tt.holidays) && (len(got.Holidays) != 0 || len(tt.holidays) != 0) {
				t.Errorf("holidays = %+v, want %+v", got.Holidays, tt.holidays)
			}
			if !reflect.DeepEqual(got.Skipped, tt.skipped) {
				t.Errorf("skipped = %q, want %q", got.Skipped, tt.skipped)
			}
		})
	}
}

func TestReadWholeLeapYear(t *testing.T) {
	t.Parallel()
	got, err := Read(strings.NewReader(event("DTSTART;VALUE=DATE:20280101", "DTEND;VALUE=DATE:20290101", "SUMMARY:A")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Holidays); n != 366 || got.Holidays[0].Date != "2028-01-01" || got.Holidays[365].Date != "2028-12-31" {
		t.Fatalf("a 366-day event gave %d days, %v … %v", n, got.Holidays[0], got.Holidays[n-1])
	}
}

func TestDefaultWorkingDayPattern(t *testing.T) {
	t.Parallel()
	for summary, want := range map[string]bool{
		"补班": true, "国庆节 补班": true, "春节调休上班": true, "上班": true,
		"Working Day": true, "company WORKDAY": true, "work day": true,
		"国庆节": false, "调休": false, "Non-working day": false, "non working day": false, "Christmas Day": false,
	} {
		got, err := Read(strings.NewReader(event("DTSTART;VALUE=DATE:20261010", "SUMMARY:"+summary)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if isWorking := len(got.WorkingDays) == 1; isWorking != want || len(got.Holidays)+len(got.WorkingDays) != 1 {
			t.Errorf("%q: working day = %v, want %v", summary, isWorking, want)
		}
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ics  string
		want error
	}{
		{"not a calendar", "hello world\r\n", ErrMalformed},
		{"empty", " \r\n", ErrMalformed},
		{"an event that does not end", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261001\r\n", ErrMalformed},
		{"no VCALENDAR", "BEGIN:VEVENT\r\nDTSTART:20261001\r\nEND:VEVENT\r\n", ErrMalformed},
		{"too large", "BEGIN:VCALENDAR\r\n" + strings.Repeat("X-PAD:"+strings.Repeat("x", 1000)+"\r\n", MaxFileSize/1000), ErrMalformed},
		{"no events", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n", ErrNoEvents},
		{"nothing inside", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", ErrNoEvents},
	}
	for _, tt := range tests {
		_, err := Read(strings.NewReader(tt.ics), Options{})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
	}
	_, err := Read(strings.NewReader("hello world"), Options{})
	if err == nil || !strings.Contains(err.Error(), "not a readable iCalendar file") {
		t.Errorf("the error does not say what is wrong: %v", err)
	}
	_, err = Read(strings.NewReader("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "no events") {
		t.Errorf("the error does not say there are no events: %v", err)
	}
}

func TestReadByteOrderMark(t *testing.T) {
	t.Parallel()
	got, err := Read(strings.NewReader("\uFEFF"+event("DTSTART;VALUE=DATE:20261001", "SUMMARY:A")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Holidays, list("2026-10-01", "A")) {
		t.Errorf("holidays = %+v", got.Holidays)
	}
}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"cn-2026.ics", "us-2026.ics"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(event("DTSTART;VALUE=DATE:20261001", "DURATION:P3D", "SUMMARY:A")))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Read(bytes.NewReader(data), Options{})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoEvents) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrNoEvents", err)
			}
			return
		}
		for _, list := range [][]Entry{res.Holidays, res.WorkingDays} {
			for i, e := range list {
				if i > 0 && list[i-1].Date >= e.Date {
					t.Fatalf("dates not sorted and unique: %v then %v", list[i-1], e)
				}
			}
		}
		cal := trigger.DayCalendar{}
		for _, e := range res.Holidays {
			cal.Holidays = append(cal.Holidays, e.Date)
		}
		if len(cal.Holidays) <= trigger.MaxCalendarDates {
			if err := cal.Validate(); err != nil {
				t.Fatalf("Read gave a date a calendar refuses: %v", err)
			}
		}
	})
}

// A small file of long events does not expand past what a calendar holds.
func TestReadBoundsTheDays(t *testing.T) {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n")
	for y := 2000; y < 2030; y++ {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%d\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:%d0101\r\nDTEND;VALUE=DATE:%d1231\r\nSUMMARY:year %d\r\nEND:VEVENT\r\n", y, y, y, y)
	}
	b.WriteString("END:VCALENDAR\r\n")
	if _, err := Read(strings.NewReader(b.String()), Options{}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "more than 10000 days") {
		t.Fatalf("30 years of all-day events: %v, want a refusal", err)
	}
}
