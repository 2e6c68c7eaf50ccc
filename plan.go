package sundial

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/sundialhq/sundial/trigger"
)

// The claim decision: what a due job's fires become. It is a pure function
// of the job, its trigger and options, the store's clock and the job's runs
// in flight, so that every store applies the same rules inside its atomic
// claim, and the rules can be read and tested in one place.

// maxBacklog bounds the fires of one job recorded in one claim after a long
// stop; older ones are summarised in one missed run.
const maxBacklog = 1000

// fireState is what the claim decision reads about one due job.
type fireState struct {
	// Job is the stored job; its NextRunAt is due.
	Job *Job
	// Trigger is the job's built trigger, Options its resolved options.
	Trigger trigger.Trigger
	Options *JobOptions
	// Now is the claim's instant on the store's clock.
	Now time.Time
	// Active counts the job's pending and running runs; Queued says
	// whether one of its runs waits in the queue (overlap "queue").
	Active int
	Queued bool
	// Nodes are the nodes a broadcast job's fire runs on, one shard each
	// in this order: the live nodes of the job's queue by ID, the claiming
	// node (Self) among them. PickUpBy is when the shards that wait for
	// the other nodes are lost if not picked up (their heartbeats extend
	// it).
	Nodes    []string
	Self     string
	PickUpBy time.Time
}

// firePlan is the claim decision: the job's next fire and the runs to
// record, each pending (to execute now), queued, missed or skipped.
type firePlan struct {
	NextRunAt time.Time
	Runs      []Run
}

// planFires decides every fire of a due job from its NextRunAt up to now:
//
//   - fires are kept to the microsecond, the precision of the durable
//     stores; a backlog after a long stop is recorded up to maxBacklog fires,
//     and the rest counted in the last missed run's reason;
//   - a fire later than the misfire grace is recorded missed;
//   - of the fires left, all but the last are skipped when coalescing;
//   - at MaxInstances runs in flight, a fire is queued (overlap "queue", one
//     at most), skipped ("skip"), or run anyway ("allow");
//   - the job's next fire is the first after now (none past the trigger's
//     end_date, which the trigger itself enforces), and
//     none while a fixed-delay interval job's run is in flight (its next
//     fire counts from that run's end);
//   - a broadcast job's fire that runs or is queued becomes one shard per
//     node (see broadcast); a missed or skipped one stays one run.
//
// newID names the runs.
func planFires(in fireState, newID func() string) firePlan {
	return planJobFires(in.Job, in.Options, in, newID, nil)
}

// planJobFires is planFires with the job and its options given apart from
// in, whose Job and Options it ignores: the claim passes them so, so that
// they stay on its stack (in itself leaks into the runs it plans, through
// its times and node names, and would take them to the heap with it). The
// runs are appended to into, like append does (the plan's Runs are into
// and then the new runs): a claim plans into one buffer kept across
// claims instead of allocating runs for each job.
func planJobFires(job *Job, opts *JobOptions, in fireState, newID func() string, into []Run) firePlan {
	t, now := in.Trigger, in.Now
	// A trigger time within the same microsecond as the fire before it is
	// that fire again (a date trigger read back from a store, say), not a
	// new one.
	following := func(after time.Time, n time.Time) time.Time {
		for !n.IsZero() && !n.Truncate(time.Microsecond).After(after) {
			n = t.Next(n, now)
		}
		return n
	}
	due := job.NextRunAt.Truncate(time.Microsecond)
	fires := []time.Time{due}
	next := following(due, t.Next(job.NextRunAt, now))
	for !next.IsZero() && !next.After(now) && len(fires) < maxBacklog {
		f := next.Truncate(time.Microsecond)
		fires = append(fires, f)
		next = following(f, t.Next(next, now))
	}
	var beyond int
	for !next.IsZero() && !next.After(now) && beyond < maxBacklog*100 {
		// A very long stop: count the rest without recording each.
		beyond++
		next = following(next.Truncate(time.Microsecond), t.Next(next, now))
	}

	base := len(into)
	runs := slices.Grow(into, len(fires))
	record := func(at time.Time, status RunStatus, reason string) {
		r := Run{ID: newID(), JobID: job.ID, Task: job.Task, ScheduledAt: at, Status: status,
			Attempt: 1, Args: job.Args, Error: reason, Queue: job.Queue}
		if status == StatusMissed || status == StatusSkipped {
			r.EndedAt = now
		}
		runs = append(runs, r)
	}
	var eligible []time.Time
	for i, f := range fires {
		if late := now.Sub(f); opts.MisfireGrace >= 0 && late > opts.MisfireGrace {
			reason := fmt.Sprintf("due %s ago, beyond the misfire grace of %s", late.Round(time.Millisecond), opts.MisfireGrace)
			if i == len(fires)-1 && beyond > 0 {
				reason += fmt.Sprintf("; %d later fires were missed too", beyond)
			}
			record(f, StatusMissed, reason)
			continue
		}
		eligible = append(eligible, f)
	}
	if *opts.Coalesce && len(eligible) > 1 {
		last := eligible[len(eligible)-1]
		for _, f := range eligible[:len(eligible)-1] {
			record(f, StatusSkipped, "coalesced into the fire at "+last.Format(time.RFC3339Nano))
		}
		eligible = eligible[len(eligible)-1:]
	}
	active, queued, started := in.Active, in.Queued, false
	for _, f := range eligible {
		if active >= opts.MaxInstances && opts.Overlap != OverlapAllow {
			if opts.Overlap == OverlapQueue && !queued {
				record(f, StatusQueued, "")
				queued = true
				continue
			}
			record(f, StatusSkipped, fmt.Sprintf("max instances (%d) already running", opts.MaxInstances))
			continue
		}
		record(f, StatusPending, "")
		active++
		started = true
	}
	if opts.FixedDelay && (started || queued) && isInterval(t) {
		next = time.Time{} // counted from the end of the run
	}
	if opts.Broadcast {
		// The parts of in that broadcast reads, not in itself: in points
		// to the job, which would then escape to the heap on every claim.
		runs = append(runs[:base], broadcast(runs[base:], in.Nodes, in.Self, in.PickUpBy, newID)...)
	}
	return firePlan{NextRunAt: next, Runs: runs}
}

// broadcast turns each fire of a broadcast job that runs or is queued into
// one shard per node, nodes[i] running shard i. The shard of the claiming
// node (self) of a fire that runs is pending, to execute at once; the others are
// scheduled at the fire, each waiting for its node until pickUpBy. A
// queued fire's shards are queued, each waiting for its node: they start
// together when the fire in flight has ended.
func broadcast(runs []Run, nodes []string, self string, pickUpBy time.Time, newID func() string) []Run {
	if len(nodes) == 0 {
		nodes = []string{self}
	}
	out := make([]Run, 0, len(runs))
	for _, r := range runs {
		if r.Status != StatusPending && r.Status != StatusQueued {
			out = append(out, r)
			continue
		}
		for i, node := range nodes {
			sh := r
			if i > 0 {
				sh.ID = newID()
			}
			sh.Shard = &Shard{Index: i, Total: len(nodes)}
			switch {
			case r.Status == StatusPending && node == self:
				// Leased to the claiming node by the store.
			case r.Status == StatusPending:
				sh.Status, sh.NotBefore, sh.Node, sh.LeaseUntil = StatusScheduled, r.ScheduledAt, node, pickUpBy
			default:
				sh.Node, sh.LeaseUntil = node, pickUpBy
			}
			out = append(out, sh)
		}
	}
	return out
}

// isInterval reports whether t is an interval trigger, jittered or
// restricted to a calendar's days or not.
func isInterval(t trigger.Trigger) bool {
	switch t := t.(type) {
	case trigger.Interval:
		return true
	case trigger.Jitter:
		return isInterval(t.Trigger)
	case *trigger.DayFilter:
		return isInterval(t.Trigger)
	}
	return false
}

// triggers caches built triggers by their spec. A claim builds the due
// job's trigger from its spec on every fire, and building one costs a
// parse (~0.3 us for a cron expression) and, for a spec with a time zone,
// loading the zone from the system's database (~7 us and 9 KB). A built
// trigger is an immutable value, a pure function of its spec, so jobs with
// equal specs share one.
type triggerCache struct {
	mu  sync.Mutex
	m   map[string]trigger.Trigger
	key []byte // scratch for the key of a lookup
}

// maxCachedTriggers bounds the cache; when full it starts over.
const maxCachedTriggers = 4096

// build returns the spec's trigger, built or from the cache.
func (c *triggerCache) build(spec *trigger.Spec) (trigger.Trigger, error) {
	c.mu.Lock()
	c.key = appendSpecKey(c.key[:0], spec)
	if t, ok := c.m[string(c.key)]; ok {
		c.mu.Unlock()
		return t, nil
	}
	c.mu.Unlock()
	t, err := spec.Build()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedTriggers {
		c.m = make(map[string]trigger.Trigger)
	}
	c.m[string(appendSpecKey(c.key[:0], spec))] = t
	return t, nil
}

// appendSpecKey appends an exact encoding of every field of the spec: two
// specs have the same key only when they are equal. TestSpecKeyCoversEveryField
// fails when a field is added to trigger.Spec and not here.
func appendSpecKey(b []byte, s *trigger.Spec) []byte {
	str := func(v string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	num := func(v int64) { b = binary.AppendVarint(b, v) }
	flag := func(set bool) {
		if set {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	list := func(l []string) {
		flag(l != nil)
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, v := range l {
			str(v)
		}
	}
	str(s.Type)
	str(s.Expr)
	str(string(s.Dialect))
	flag(s.Fields != nil)
	if f := s.Fields; f != nil {
		for _, v := range []trigger.FieldExpr{f.Year, f.Month, f.Day, f.Week, f.DayOfWeek, f.Hour, f.Minute, f.Second} {
			str(string(v))
		}
	}
	for _, v := range []int{s.Weeks, s.Days, s.Hours, s.Minutes, s.Years, s.Months, s.Hour, s.Minute, s.Second} {
		num(int64(v))
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Seconds))
	str(string(s.MissingDay))
	str(s.RunDate)
	flag(s.Triggers != nil)
	b = binary.AppendUvarint(b, uint64(len(s.Triggers)))
	for i := range s.Triggers {
		b = appendSpecKey(b, &s.Triggers[i])
	}
	str(s.Timezone)
	str(s.StartDate)
	str(s.EndDate)
	num(int64(s.Jitter))
	b = binary.AppendUvarint(b, s.JitterSeed)
	str(string(s.SpringForward))
	str(string(s.FallBack))
	flag(s.Calendar != nil)
	if c := s.Calendar; c != nil {
		str(c.Name)
		str(string(c.Rule))
		list(c.Holidays)
		list(c.WorkingDays)
		num(c.Version)
	}
	return b
}
