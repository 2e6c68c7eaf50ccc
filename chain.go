package sundial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// chain starts the jobs that a run's job chains to (JobOptions.Then), once
// its fire has ended for good: retried is true when another attempt was
// planned, and then the chain waits for that attempt. Each chained run is
// keyed by the upstream run, so that a second call for the same run — a
// replica, or a recovery — records nothing new. A shard of a broadcast
// fire starts nothing itself: its fire does, once complete (shardEnded).
func (s *Scheduler) chain(run Run, opts JobOptions, retried bool) {
	if len(opts.Then) == 0 || retried || run.Shard != nil {
		return
	}
	up := UpstreamRun{ID: run.ID, JobID: run.JobID, ScheduledAt: run.ScheduledAt, Status: run.Status, Result: run.Result}
	s.startChains(&run, opts.Then, up, run.EndedAt, time.Time{})
}

// startChains records, for each chain that follows up's status, a run of
// the chained job due at end and carrying up — for a broadcast job, a
// broadcast fire. from is the run whose end this is, for the logs. When
// unchangedSince is set (a recovery, long after the end), a chained job
// changed since then — paused, resumed, edited — starts nothing: what it
// was at the end is not known.
func (s *Scheduler) startChains(from *Run, then []Chain, up UpstreamRun, end, unchangedSince time.Time) {
	for _, c := range then {
		if !c.follows(up.Status) {
			continue
		}
		ctx, cancel := s.storeCtx()
		job, err := s.store.GetJob(ctx, c.Job)
		cancel()
		switch {
		case errors.Is(err, ErrJobNotFound):
			s.logRun(slog.LevelWarn, "chained job not found; nothing started", from, "then", c.Job)
			continue
		case err != nil:
			s.logRun(slog.LevelError, "reading a chained job failed; nothing started", from, "then", c.Job, "err", err)
			continue
		case job.Paused:
			s.logRun(slog.LevelInfo, "chained job is paused; nothing started", from, "then", c.Job)
			continue
		case !unchangedSince.IsZero() && job.UpdatedAt.After(unchangedSince):
			continue
		}
		at := end.Truncate(time.Microsecond)
		u := up
		u.Result = slices.Clone(up.Result)
		notBefore := at
		if !unchangedSince.IsZero() {
			// Recovered late: due now, not judged missed for the delay.
			notBefore = s.now().Truncate(time.Microsecond)
		}
		next := Run{ID: newID(), JobID: job.ID, Task: job.Task, ScheduledAt: at, NotBefore: notBefore, Status: StatusScheduled,
			Attempt: 1, Args: job.Args, Queue: job.Queue, Upstream: &u}
		recorded, err := s.recordFire(next, job)
		switch {
		case errors.Is(err, ErrDuplicateRun):
			continue // recorded already, for this upstream run
		case err != nil:
			s.logRun(slog.LevelError, "recording a chained run failed", from, "then", c.Job, "err", err)
			continue
		}
		s.logRun(slog.LevelInfo, "chained run recorded", from, "then", c.Job, "chained_run_id", recorded[0].ID, "runs", len(recorded))
		for i := range recorded {
			s.publishRun(EventRunChained, &recorded[i])
		}
		s.signal()
	}
}

// checkChains refuses a job whose chain (JobOptions.Then) would start
// itself again, directly or through other jobs, naming the cycle.
func (s *Scheduler) checkChains(ctx context.Context, job *Job) error {
	if len(job.Options.Then) == 0 {
		return nil
	}
	then := map[string][]string{}
	for j, err := range s.allJobs(ctx, JobFilter{}) {
		if err != nil {
			return fmt.Errorf("checking the chain of %s: %w", *job, err)
		}
		for _, c := range j.Options.Then {
			then[j.ID] = append(then[j.ID], c.Job)
		}
	}
	then[job.ID] = nil
	for _, c := range job.Options.Then {
		then[job.ID] = append(then[job.ID], c.Job)
	}
	// Depth first from the job: a path back to it is the cycle.
	var path []string
	seen := map[string]bool{}
	var walk func(id string) []string
	walk = func(id string) []string {
		path = append(path, id)
		defer func() { path = path[:len(path)-1] }()
		for _, next := range then[id] {
			if next == job.ID {
				return append(slices.Clone(path), next)
			}
			if !seen[next] {
				seen[next] = true
				if cycle := walk(next); cycle != nil {
					return cycle
				}
			}
		}
		return nil
	}
	if cycle := walk(job.ID); cycle != nil {
		return invalidf("options.then", "the chain would start %s again: %s", job.ID, strings.Join(cycle, " → "))
	}
	return nil
}

// chainedFrom returns the jobs whose chains start id.
func (s *Scheduler) chainedFrom(ctx context.Context, id string) ([]string, error) {
	var from []string
	for j, err := range s.allJobs(ctx, JobFilter{}) {
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(j.Options.Then, func(c Chain) bool { return c.Job == id }) {
			from = append(from, j.ID)
		}
	}
	return from, nil
}

// allJobs yields every job that f selects (its Limit and AfterID aside),
// reading a page at a time.
func (s *Scheduler) allJobs(ctx context.Context, f JobFilter) func(yield func(Job, error) bool) {
	return func(yield func(Job, error) bool) {
		f.Limit, f.AfterID = 500, ""
		for {
			jobs, err := s.store.ListJobs(ctx, f)
			if err != nil {
				yield(Job{}, err)
				return
			}
			for _, j := range jobs {
				if !yield(j, nil) {
					return
				}
			}
			if len(jobs) < f.Limit {
				return
			}
			f.AfterID = jobs[len(jobs)-1].ID
		}
	}
}

// Chained runs are recorded after the upstream run's end, in a second
// write: a node that stops between the two leaves the chain unstarted. Every
// scheduler sweeps for such ends every chainSweepEvery, over the ends since
// its previous sweep (at start, the last chainSweepFirst) that are at least
// chainSweepLag old — by then a live node has recorded its chains, and a
// retry its end was followed by — and records what is missing; the key of
// a chained run makes a second record impossible while the run is kept.
const (
	chainSweepEvery = 5 * time.Minute
	chainSweepFirst = 30 * time.Minute
	chainSweepLag   = 6 * time.Minute // persist gives up on a write after 5
	// chainSweepRunAge bounds how long before its end a swept run may have
	// been scheduled: the sweep lists runs by fire time.
	chainSweepRunAge = 24 * time.Hour
)

// sweepChains records the chained runs of the runs that ended for good
// from from to until and whose chains were not started, and reports
// whether it looked at every job. It passes over:
//   - runs of a job changed since they ended (its chains then are not
//     known) and chained jobs changed since (paused, resumed, edited);
//   - failed ends with attempts left (their retry decides);
//   - the shards of broadcast fires;
//   - a chained job with no kept run from before the end: its chained run
//     may have been recorded and pruned since, and must not run twice.
func (s *Scheduler) sweepChains(from, until time.Time) bool {
	ctx, cancel := context.WithTimeout(s.life, time.Minute)
	defer cancel()
	for job, err := range s.allJobs(ctx, JobFilter{}) {
		if err != nil {
			if ctx.Err() == nil || s.life.Err() == nil {
				s.log.Warn("sweeping for unstarted chains failed", "err", err)
			}
			return false
		}
		if len(job.Options.Then) == 0 {
			continue
		}
		opts := job.Options.resolve(s.defaults)
		runs, err := s.store.ListRuns(ctx, RunFilter{JobID: job.ID, Since: from.Add(-chainSweepRunAge)})
		if err != nil {
			s.log.Warn("sweeping for unstarted chains failed", "job_id", job.ID, "err", err)
			return false
		}
		// The last attempt of each fire decides; runs list newest first,
		// highest attempt first.
		seen := map[string]bool{}
		for _, r := range runs {
			fire := r.ScheduledAt.String() + "|" + r.Backfill
			if r.Manual {
				fire += "|manual"
			}
			if r.Upstream != nil {
				fire += "|" + r.Upstream.ID
			}
			if seen[fire] {
				continue
			}
			seen[fire] = true
			switch {
			case r.Shard != nil, r.Status.Active(), r.EndedAt.Before(from), r.EndedAt.After(until),
				r.EndedAt.Before(job.UpdatedAt), r.Status != StatusSucceeded && r.Attempt < opts.MaxAttempts:
				continue
			}
			then := s.chainsWithHistory(ctx, job.Options.Then, r.EndedAt)
			if len(then) == 0 {
				continue
			}
			up := UpstreamRun{ID: r.ID, JobID: r.JobID, ScheduledAt: r.ScheduledAt, Status: r.Status, Result: r.Result}
			s.startChains(&r, then, up, r.EndedAt, r.EndedAt)
		}
	}
	return true
}

// chainsWithHistory returns the chains whose job has a kept run scheduled
// at or before end: run history is pruned oldest first, so the chained run
// of an end is missing because it was never recorded, not pruned.
func (s *Scheduler) chainsWithHistory(ctx context.Context, then []Chain, end time.Time) []Chain {
	var out []Chain
	for _, c := range then {
		older, err := s.store.ListRuns(ctx, RunFilter{JobID: c.Job, Until: end.Add(time.Microsecond), Limit: 1})
		if err == nil && len(older) > 0 {
			out = append(out, c)
		}
	}
	return out
}
