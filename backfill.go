package sundial

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxBackfillFires bounds the fires one backfill records.
const MaxBackfillFires = 10_000

// BackfillOptions choose how Scheduler.Backfill treats a range of past
// fires.
type BackfillOptions struct {
	// Rerun records a new attempt for fires that have a run already; by
	// default those fires are skipped.
	Rerun bool
	// MaxConcurrent is how many of the backfill's runs may wait to start
	// or run at once; the others are recorded queued and start one by one
	// as earlier ones end. Default 1.
	MaxConcurrent int
}

// BackfillReport says what a backfill recorded.
type BackfillReport struct {
	// ID names the backfill: its runs carry it (Run.Backfill), so that
	// RunFilter.Backfill lists its progress and CancelBackfill stops it.
	ID    string    `json:"id"`
	JobID string    `json:"job_id"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	// Runs are the runs recorded, one per fire, earliest fire first.
	Runs []Run `json:"runs"`
	// Skipped are the fires that had a run already (without Rerun).
	Skipped []time.Time `json:"skipped,omitempty"`
}

// Backfill records a run for every fire of the job's trigger from from to
// to (both inclusive), each with the ScheduledAt, and so the FireKey, it
// would have had had it fired then — for report and ETL jobs that key on
// it. The fires must be past. Each fire is recorded once, on any number of
// replicas: a fire with a run already is skipped, unless Rerun records a
// further attempt. MaxConcurrent of the runs are scheduled at once and
// the rest queued; each end of one of them starts the next. Retries,
// timeouts and leases follow the job's options as for any fire. A
// broadcast job's past fires are not broadcast: each runs once, on one
// node, as its whole fire (Run.Shard is nil, ShardOrWhole 0 of 1) — the
// nodes alive then are not known, and those alive now may not be when a
// queued fire's turn comes.
func (s *Scheduler) Backfill(ctx context.Context, jobID string, from, to time.Time, o BackfillOptions) (BackfillReport, error) {
	now := s.now()
	switch {
	case from.IsZero():
		return BackfillReport{}, invalidf("from", "is required")
	case to.IsZero():
		return BackfillReport{}, invalidf("to", "is required")
	case to.Before(from):
		return BackfillReport{}, invalidf("to", "%s is before from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	case to.After(now):
		return BackfillReport{}, invalidf("to", "%s is in the future: a backfill records past fires, and the trigger fires the rest", to.Format(time.RFC3339))
	case o.MaxConcurrent < 0:
		return BackfillReport{}, invalidf("max_concurrent", "%d must not be negative", o.MaxConcurrent)
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = 1
	}
	job, err := s.store.GetJob(ctx, jobID)
	if err != nil {
		return BackfillReport{}, fmt.Errorf("backfill job %q: %w", jobID, err)
	}
	t, err := job.Trigger.Build()
	if err != nil {
		return BackfillReport{}, &InvalidJobError{Field: "trigger", Err: err}
	}
	var fires []time.Time
	for n := t.Next(time.Time{}, from); !n.IsZero() && !n.After(to); n = t.Next(n, n) {
		if n.Before(from) {
			continue // a date trigger's instant, which Next returns even when past
		}
		if len(fires) == MaxBackfillFires {
			return BackfillReport{}, invalidf("to", "the range holds more than %d fires: backfill it in parts", MaxBackfillFires)
		}
		fires = append(fires, n.Truncate(time.Microsecond))
	}
	attempts, err := s.lastAttempts(ctx, jobID, from, to, false)
	if err != nil {
		return BackfillReport{}, fmt.Errorf("backfill job %q: %w", jobID, err)
	}
	rep := BackfillReport{ID: newID(), JobID: jobID, From: from, To: to, Runs: []Run{}}
	for _, f := range fires {
		last := attempts[f.UnixMicro()]
		if last > 0 && !o.Rerun {
			rep.Skipped = append(rep.Skipped, f)
			continue
		}
		r := Run{ID: newID(), JobID: job.ID, Task: job.Task, ScheduledAt: f, Attempt: last + 1, Args: job.Args,
			Queue: job.Queue, Backfill: rep.ID, Status: StatusQueued}
		if len(rep.Runs) < o.MaxConcurrent {
			r.Status, r.NotBefore = StatusScheduled, now
		}
		switch err := s.store.CreateRun(ctx, r); {
		case errors.Is(err, ErrDuplicateRun):
			rep.Skipped = append(rep.Skipped, f) // another backfill recorded it meanwhile
			continue
		case err != nil:
			return rep, fmt.Errorf("backfill job %q: fire %s: %w", jobID, f.Format(time.RFC3339Nano), err)
		}
		rep.Runs = append(rep.Runs, r)
	}
	if len(rep.Runs) > 0 {
		s.log.Info("backfill recorded", "job_id", jobID, "backfill", rep.ID, "runs", len(rep.Runs), "skipped", len(rep.Skipped))
		s.signal()
	}
	return rep, nil
}

// lastAttempts returns the highest attempt of each fire of the job from
// from to to that has a run, by the fire's instant in microseconds.
// manual selects RunNow's runs instead of the trigger's and backfills'.
func (s *Scheduler) lastAttempts(ctx context.Context, jobID string, from, to time.Time, manual bool) (map[int64]int, error) {
	runs, err := s.store.ListRuns(ctx, RunFilter{JobID: jobID, Since: from.Truncate(time.Microsecond),
		Until: to.Truncate(time.Microsecond).Add(time.Microsecond)})
	if err != nil {
		return nil, err
	}
	last := map[int64]int{}
	for _, r := range runs {
		if k := r.ScheduledAt.UnixMicro(); r.Manual == manual && r.Attempt > last[k] {
			last[k] = r.Attempt
		}
	}
	return last, nil
}

// CancelBackfill cancels the runs of a backfill that have not ended — the
// queued ones first, so that none is started by an end that the canceling
// causes — and returns how many it canceled.
func (s *Scheduler) CancelBackfill(ctx context.Context, id string) (int, error) {
	runs, err := s.store.ListRuns(ctx, RunFilter{Backfill: id})
	if err != nil {
		return 0, fmt.Errorf("cancel backfill %q: %w", id, err)
	}
	if len(runs) == 0 {
		return 0, fmt.Errorf("cancel backfill %q: %w", id, ErrRunNotFound)
	}
	n := 0
	for _, queuedPass := range []bool{true, false} {
		for _, r := range runs {
			if !r.Status.Active() || (r.Status == StatusQueued) != queuedPass {
				continue
			}
			switch _, err := s.CancelRun(ctx, r.ID); {
			case errors.Is(err, ErrRunEnded):
			case err != nil:
				return n, fmt.Errorf("cancel backfill %q: %w", id, err)
			default:
				n++
			}
		}
	}
	return n, nil
}

// RetryRun records a new attempt of an ended run's fire, with the same
// ScheduledAt and FireKey and the run's args, to start at once; a shard of
// a broadcast fire is retried alone, keeping its index, on any node. It returns
// the new run, or an error matching ErrRunNotEnded, ErrRunNotFound or
// ErrJobNotFound.
func (s *Scheduler) RetryRun(ctx context.Context, id string) (Run, error) {
	orig, err := s.store.GetRun(ctx, id)
	if err != nil {
		return Run{}, fmt.Errorf("retry run %q: %w", id, err)
	}
	if orig.Status.Active() {
		return Run{}, fmt.Errorf("retry run %q (%s): %w", id, orig.Status, ErrRunNotEnded)
	}
	job, err := s.store.GetJob(ctx, orig.JobID)
	if err != nil {
		return Run{}, fmt.Errorf("retry run %q: %w", id, err)
	}
	for range 3 { // another retry of the same fire may take the attempt first
		last, err := s.lastAttempts(ctx, job.ID, orig.ScheduledAt, orig.ScheduledAt, orig.Manual)
		if err != nil {
			return Run{}, fmt.Errorf("retry run %q: %w", id, err)
		}
		r := Run{ID: newID(), JobID: job.ID, Task: job.Task, ScheduledAt: orig.ScheduledAt, NotBefore: s.now(),
			Status: StatusScheduled, Attempt: last[orig.ScheduledAt.UnixMicro()] + 1, Manual: orig.Manual,
			Args: orig.Args, Queue: job.Queue, Backfill: orig.Backfill, Upstream: orig.Upstream, Shard: orig.Shard}
		switch err := s.store.CreateRun(ctx, r); {
		case errors.Is(err, ErrDuplicateRun):
			continue
		case err != nil:
			return Run{}, fmt.Errorf("retry run %q: %w", id, err)
		}
		s.log.Info("run retried", "job_id", job.ID, "run_id", r.ID, "retry_of", id, "attempt", r.Attempt)
		s.signal()
		return r, nil
	}
	return Run{}, fmt.Errorf("retry run %q: %w", id, ErrDuplicateRun)
}
