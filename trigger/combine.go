package trigger

import "time"

// Or fires whenever any of its triggers fires: its next fire time is the
// earliest of theirs. It is safe for concurrent use if its triggers are.
type Or []Trigger

// Next returns the earliest next fire time of the triggers.
func (o Or) Next(prev, now time.Time) time.Time {
	var best time.Time
	for _, t := range o {
		if n := t.Next(prev, now); !n.IsZero() && (best.IsZero() || n.Before(best)) {
			best = n
		}
	}
	return best
}

// andRounds bounds how long And looks for a time all its triggers agree on.
const andRounds = 10000

// And fires only at instants at which all of its triggers fire, such as
// "every Friday" and "the 13th of the month". It is safe for concurrent use
// if its triggers are.
type And []Trigger

// Next returns the first instant that every trigger agrees on. It gives up,
// returning zero, if they have not agreed within 10,000 rounds of
// catching up with one another.
func (a And) Next(prev, now time.Time) time.Time {
	if len(a) == 0 {
		return time.Time{}
	}
	var cand time.Time
	for _, t := range a {
		n := t.Next(prev, now)
		if n.IsZero() {
			return time.Time{}
		}
		if n.After(cand) {
			cand = n
		}
	}
	for range andRounds {
		agreed := true
		// Each trigger's first fire at or after the candidate.
		probe := cand.Add(-time.Nanosecond)
		for _, t := range a {
			n := t.Next(probe, now)
			if n.IsZero() {
				return time.Time{}
			}
			if !n.Equal(cand) {
				agreed = false
				if n.After(cand) {
					cand = n
				}
			}
		}
		if agreed {
			return cand
		}
	}
	return time.Time{}
}

// Jitter delays each fire of a trigger by a random span in [0, Max), to
// spread jobs that would otherwise all start at the same instant.
//
// The delay is a pure function of Seed and the undelayed fire time, so the
// same job computes the same fire times on every replica and after every
// restart, and tests are reproducible; give each job its own Seed (the
// scheduler derives one from the job ID). Max should be smaller than the
// spacing between fires; where it is not, some fires are skipped so that
// fire times stay strictly increasing.
type Jitter struct {
	// Trigger is the schedule whose fires are delayed.
	Trigger Trigger
	// Max bounds the delay; zero or less disables jitter.
	Max time.Duration
	// Seed selects the random sequence.
	Seed uint64
}

// Next returns the next delayed fire time after prev.
func (j Jitter) Next(prev, now time.Time) time.Time {
	if j.Max <= 0 {
		return j.Trigger.Next(prev, now)
	}
	if prev.IsZero() {
		n := j.Trigger.Next(prev, now)
		if n.IsZero() {
			return n
		}
		return n.Add(j.Delay(n))
	}
	// prev is a delayed fire: its undelayed time lies in (prev-Max, prev].
	// Walk the undelayed fires from there to the first that lands later.
	n := j.Trigger.Next(prev.Add(-j.Max), now)
	for range andRounds {
		if n.IsZero() {
			return n
		}
		if f := n.Add(j.Delay(n)); f.After(prev) {
			return f
		}
		n = j.Trigger.Next(n, now)
	}
	return time.Time{}
}

// Delay returns the delay that Jitter adds to the undelayed fire time at.
func (j Jitter) Delay(at time.Time) time.Duration {
	if j.Max <= 0 {
		return 0
	}
	return time.Duration(splitmix64(j.Seed^uint64(at.UnixNano())) % uint64(j.Max))
}

// splitmix64 is a fast, well-mixed hash of one word (Steele et al.).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Bounded limits another trigger's fires to the instants from Start to End
// (both inclusive; a zero bound is open). Cron, interval and calendar
// triggers bound themselves; Bounded serves the rest (date, and, or), so
// start_date and end_date mean one thing on every spec. It is safe for
// concurrent use if its trigger is.
type Bounded struct {
	Trigger    Trigger
	Start, End time.Time
}

// Next returns the trigger's next fire time within the bounds.
func (b Bounded) Next(prev, now time.Time) time.Time {
	n := b.Trigger.Next(prev, now)
	if !n.IsZero() && !b.Start.IsZero() && n.Before(b.Start) {
		// The first fire at or after Start: Next is strictly after its prev.
		n = b.Trigger.Next(b.Start.Add(-time.Nanosecond), now)
	}
	if n.IsZero() || (!b.End.IsZero() && n.After(b.End)) {
		return time.Time{}
	}
	return n
}

// Never never fires by itself: a job with it runs only when something
// starts it — the end of another job's run (a chain), or a person. It is
// the "none" trigger type.
type Never struct{}

// Next returns zero: no fire.
func (Never) Next(_, _ time.Time) time.Time { return time.Time{} }
