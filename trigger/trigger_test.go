package trigger

import (
	"testing"
	"time"
	_ "time/tzdata" // the DST tables must not depend on the machine's zoneinfo
)

// mustZone loads an IANA zone or fails the test.
func mustZone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

// mustTime parses an RFC 3339 time or fails the test.
func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatalf("parse time %q: %v", s, err)
	}
	return t
}

// mustCron parses a cron expression or fails the test.
func mustCron(tb testing.TB, d Dialect, expr string, opts CronOptions) *Cron {
	tb.Helper()
	c, err := ParseCron(d, expr, opts)
	if err != nil {
		tb.Fatalf("ParseCron(%s, %q): %v", d, expr, err)
	}
	return c
}

// fires returns the first n fire times at or after from, formatted RFC 3339
// in the trigger's zone.
func fires(tr Trigger, from time.Time, n int) []string {
	var out []string
	var prev time.Time
	for range n {
		next := tr.Next(prev, from)
		if next.IsZero() {
			break
		}
		out = append(out, next.Format(time.RFC3339))
		prev = next
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
