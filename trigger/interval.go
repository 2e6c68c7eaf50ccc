package trigger

import (
	"math"
	"time"
)

// Interval fires every fixed span of real (elapsed) time, so daylight-saving
// changes do not move it. It is safe for concurrent use.
//
// With a Start it fires at Start and every Every after it, aligned to Start.
// Without one, the first fire is now plus Every (as in APScheduler) and each
// later fire is the previous one plus Every; a scheduler that wants an exact
// grid across restarts pins Start when it stores the job (see [Spec.Pin]).
type Interval struct {
	// Every is the span between fires; a trigger with Every <= 0 never fires.
	Every time.Duration
	// Start anchors the grid and is the first fire time; zero means none.
	Start time.Time
	// End, when set, is the latest instant the trigger may fire.
	End time.Time
	// Location is the zone of the returned times; nil means UTC.
	Location *time.Location
}

// Next returns the next fire time. See [Trigger].
func (iv Interval) Next(prev, now time.Time) time.Time {
	if iv.Every <= 0 {
		return time.Time{}
	}
	var t time.Time
	switch {
	case !iv.Start.IsZero():
		ref, inclusive := prev, false
		if prev.IsZero() {
			ref, inclusive = now, true
		}
		if ref.Before(iv.Start) {
			t = iv.Start
			break
		}
		elapsed := ref.Sub(iv.Start)
		if elapsed == math.MaxInt64 { // beyond what a Duration holds (292 years)
			return time.Time{}
		}
		steps := elapsed / iv.Every
		t = iv.Start.Add(steps * iv.Every)
		if t.Before(ref) || (!inclusive && t.Equal(ref)) {
			t = t.Add(iv.Every)
		}
	case prev.IsZero():
		t = now.Add(iv.Every)
	default:
		t = prev.Add(iv.Every)
	}
	if !iv.End.IsZero() && t.After(iv.End) {
		return time.Time{}
	}
	if iv.Location != nil {
		return t.In(iv.Location)
	}
	return t.UTC()
}

// Date fires once, at an instant. It is safe for concurrent use.
type Date struct {
	// At is the fire time.
	At time.Time
}

// Next returns At if the trigger has not fired yet, even when At has just
// passed: the scheduler's misfire grace decides whether a late fire runs.
func (d Date) Next(prev, _ time.Time) time.Time {
	if prev.IsZero() || prev.Before(d.At) {
		return d.At
	}
	return time.Time{}
}
