package trigger

import "time"

// civilMatcher finds wall-clock fire times, knowing nothing of zones.
type civilMatcher interface {
	// nextCivil returns the smallest matching civil second at or after from,
	// or false when there is none within the search bound.
	nextCivil(from int64) (int64, bool)
}

// nextInZone returns the first instant strictly after `after` at which the
// wall clock of loc shows a time that m matches, resolving gaps and overlaps
// by the given policies instead of leaving them to time.Date.
//
// It walks the zone's periods of constant UTC offset. Within one period wall
// time and instants map one to one. Between two periods the wall clock
// either jumps forward (a gap: wall times that never happen) or back (an
// overlap: wall times that happen twice, once in each period).
func nextInZone(m civilMatcher, loc *time.Location, after time.Time, gap SpringForward, overlap FallBack) time.Time {
	if loc == time.UTC {
		// One period without end: wall time is the instant.
		c, ok := m.nextCivil(after.Unix() + 1)
		if !ok {
			return time.Time{}
		}
		return time.Unix(c, 0).UTC()
	}
	at := after.Unix() // an instant in the current period; any fire is at least at+1
	from := int64(0)
	fromSet := false
	var known, knownFrom int64 // a search result, reused while it still answers
	haveKnown := false
	find := func(from int64) (int64, bool) {
		if haveKnown && from >= knownFrom && from <= known {
			return known, true
		}
		c, ok := m.nextCivil(from)
		if ok {
			known, knownFrom, haveKnown = c, from, true
		}
		return c, ok
	}

	for range 4 * searchYears * 3 { // a few zone periods per year at most
		t := time.Unix(at, 0).In(loc)
		_, off := t.Zone()
		off64 := int64(off)
		start, end := t.ZoneBounds()
		if !end.IsZero() && end.Unix() <= at {
			// In the last UTC day of a leap year that a zone's TZ rule
			// serves (after its last listed transition, e.g. 2040), Go
			// reports an end before the instant (golang/go#81583), and the
			// walk would stand still. The offset holds until the next UTC
			// midnight, where Go starts the following year.
			end = time.Unix((at/secondsPerDay+1)*secondsPerDay, 0)
		}
		if !fromSet {
			from = at + 1 + off64
		}
		fromSet = false
		limit := int64(1<<62 - 1)
		if !end.IsZero() {
			limit = end.Unix() + off64
		}
		for {
			c, ok := find(from)
			if !ok {
				return time.Time{}
			}
			if c >= limit {
				break
			}
			if overlap != BothPasses && isRepeated(loc, c, off64, start, end, overlap) {
				from = c + 1
				continue
			}
			return time.Unix(c-off64, 0).In(loc)
		}
		if end.IsZero() {
			return time.Time{}
		}
		endSec := end.Unix()
		_, nextOff := end.In(loc).Zone()
		next64 := int64(nextOff)
		if next64 > off64 && gap == RunAfterGap {
			// Wall times [endSec+off, endSec+nextOff) never happen; a match
			// there fires once, at the first instant after the gap.
			if c, ok := find(limit); ok && c < endSec+next64 {
				return end.In(loc)
			}
		}
		// The next match is far ahead: jump to its period instead of walking
		// every period in between. No wall time before it matches, so no gap
		// or overlap on the way can produce a fire.
		if c, ok := find(from); ok && c-limit > 4*secondsPerDay {
			at = c - off64 - 2*secondsPerDay
			continue
		}
		at = endSec
		from = endSec + next64
		fromSet = true
	}
	return time.Time{}
}

// isRepeated reports whether the wall time c, in the period [start, end) of
// offset off, is an occurrence that the overlap policy drops: the second
// pass under FirstPass, the first pass under LastPass.
func isRepeated(loc *time.Location, c, off int64, start, end time.Time, overlap FallBack) bool {
	switch overlap {
	case FirstPass:
		// Second pass: the previous period had a larger offset and its wall
		// clock already showed c.
		if start.IsZero() || c-(start.Unix()+off) >= secondsPerDay {
			return false
		}
		_, prevOff := time.Unix(start.Unix()-1, 0).In(loc).Zone()
		return int64(prevOff) > off && c < start.Unix()+int64(prevOff)
	case LastPass:
		// First pass: the next period has a smaller offset and its wall
		// clock will show c again.
		if end.IsZero() || end.Unix()+off-c > secondsPerDay {
			return false
		}
		_, nextOff := end.In(loc).Zone()
		return int64(nextOff) < off && c >= end.Unix()+int64(nextOff)
	}
	return false
}
