package sundial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/sundialhq/sundial/internal/jsoninput"
	"github.com/sundialhq/sundial/trigger"
)

// worker executes the claimed runs handed to it, one at a time; the pool
// has Config.Workers of them.
func (s *Scheduler) worker() {
	defer s.workersWG.Done()
	for x := range s.work {
		s.execute(x)
		s.inflight.Add(-1)
		s.claims.finished.Add(1)
		if s.claimMore() {
			s.workerState.pulse.fire() // what signal does, but for waking the loop
			continue
		}
		s.signal()
	}
}

var errTimeout = errors.New("run timed out")

// execute runs one claimed run to its end and records everything about it.
func (s *Scheduler) execute(x *execution) {
	run := &x.run
	// The node holds the run, and names it in its heartbeats, until the
	// recorder has written its end (or given up on it): see recorder.
	if s.forced.Load() {
		run.Status, run.Error, run.EndedAt = StatusInterrupted, "scheduler shut down before the run started", s.now()
		s.updateRun(*run)
		s.publishRun(EventRunInterrupted, run)
		return
	}
	var opts JobOptions
	var jobErr error
	if x.known {
		opts = x.opts
	} else {
		ctx, cancel := s.storeCtx()
		var job Job
		job, jobErr = s.store.GetJob(ctx, run.JobID)
		cancel()
		opts = job.Options.resolve(s.defaults)
	}
	hd := &x.hold
	if ok, settled := s.mayStart(run, hd, opts); !ok {
		if !run.Status.Executing() { // recorded as ended, not started
			s.afterEnd(*run, opts, jobErr, settled)
		}
		return
	}
	fn, ok := s.task(run.Task)

	var result any
	var err error
	// Every run has a context of its own, which its node cancels to stop
	// it: on request, when the lease cannot be renewed, on timeout and on
	// a forced shutdown. The stop is in place before anything can block
	// (the record of the start waits when the recorder is behind), and the
	// lease is judged once more as it is put in place. The context is not
	// a child of s.runCtx: every run would register with it, under its
	// lock, in its map of children; a forced shutdown stops the held runs
	// itself (stopAll), and a run whose stop is put in place after that
	// sees s.runCtx ended here.
	runCtx, stop := context.WithCancelCause(context.Background())
	cancel := context.CancelFunc(func() {})
	if opts.Timeout > 0 {
		runCtx, cancel = context.WithTimeoutCause(runCtx, opts.Timeout, errTimeout)
	}
	mono, now := s.clock()
	s.held.mu.Lock()
	hd.stop = stop
	switch {
	case s.runCtx.Err() != nil:
		stop(context.Canceled)
	case hd.lost:
		stop(errNotHeld)
	case hd.canceled:
		stop(errCanceled)
	case s.staleAt(hd, mono, now):
		stop(errFenced)
	}
	s.held.mu.Unlock()

	run.Status, run.StartedAt = StatusRunning, now
	s.recordAsync(*run) // the task need not wait for the record of its start
	s.publishRun(EventRunStarted, run)
	if s.logs(slog.LevelDebug) { // the attributes would cost allocations
		s.logRun(slog.LevelDebug, "run started", run, "scheduled_at", run.ScheduledAt, "late", run.StartedAt.Sub(run.ScheduledAt))
	}

	switch {
	case !ok:
		err = &UnknownTaskError{Task: run.Task}
	case jobErr != nil && !run.Manual && errors.Is(jobErr, ErrJobNotFound):
		err = fmt.Errorf("job %q was removed before the run started", run.JobID)
	default:
		rl := &x.logger
		rl.base, rl.run, rl.limit = s.log, run, s.outputLimit
		x.ctx = runContext{Context: runCtx, logger: rl, lease: &hd.lease}
		x.live.Store(true)
		result, err = call(&x.ctx, fn, *run)
		x.live.Store(false) // before ended wakes the followers: see LiveOutput
		run.Output = rl.captured()
		if e := rl.exit.Load(); e != nil {
			run.Exit = e
		}
		rl.ended()
	}
	cause := context.Cause(runCtx)
	cancel()
	stop(nil)

	run.EndedAt = s.now()
	retry := false
	switch {
	case err == nil:
		run.Status = StatusSucceeded
		if result != nil {
			b, merr := jsoninput.Marshal(result)
			if merr != nil {
				run.Status, run.Error = StatusFailed, "result is not JSON: "+merr.Error()
			} else {
				run.Result = b
			}
		}
	case errors.Is(cause, errTimeout):
		run.Status, run.Error = StatusTimedOut, fmt.Sprintf("timed out after %s: %v", opts.Timeout, err)
		retry = true
	case errors.Is(cause, errCanceled):
		run.Status, run.Error = StatusCanceled, "canceled on request: "+err.Error()
	case errors.Is(cause, errFenced), errors.Is(cause, errNotHeld):
		run.Status = StatusInterrupted
		run.Error = fmt.Sprintf("stopped by its node: %v (lease %s, stopped at 3/4 of it): %v", cause, s.leaseTTL, err)
		retry = true
	case s.forced.Load() && cause != nil:
		run.Status, run.Error = StatusInterrupted, "interrupted by shutdown: "+err.Error()
	default:
		run.Status, run.Error = StatusFailed, err.Error()
		retry = true
	}
	retry = retry && run.Attempt < opts.MaxAttempts && !s.forced.Load()
	settled := false
	switch {
	case retry && run.Shard != nil:
		// A shard's next attempt is recorded before its end, so that a
		// node reading the fire meanwhile sees it coming (fireShards). Its
		// key — the fire, attempt and index — records it once even when
		// the node that marks this run lost plans it too; it is due a
		// backoff after this end.
		if retry = s.planRetry(*run, opts); retry {
			s.updateRun(*run)
		} else {
			settled = s.updateRun(*run) == nil
		}
	case retry:
		// The next attempt is planned only once this one's end is
		// recorded, and only by its holder: if the store refused the
		// record (the run was marked lost meanwhile), the node that marked
		// it plans the retry, and no attempt starts before its predecessor
		// is recorded as ended.
		retry = s.updateRun(*run) == nil
	case run.Shard != nil:
		// Written before the fire is read: of two shards ending at once
		// on two nodes, at least one then sees both ended.
		settled = s.updateRun(*run) == nil
	default:
		// The worker does not wait for the record: the recorder writes it
		// in order, with others, and Shutdown flushes it. The worker is
		// free for the next run at once; a full recorder queue holds
		// workers back.
		s.recordAsync(*run)
	}
	s.finish(*run, opts)

	if retry && run.Shard == nil {
		s.planRetry(*run, opts)
	}
	s.chain(*run, opts, retry)
	s.afterEnd(*run, opts, jobErr, settled)
}

// execution is one run claimed to execute on this node, from its claim
// to its end: the run, its job's resolved options when the claim knew them
// (known false: read the job), this node's hold on it, its logger and the
// values of its context, in one allocation rather than six.
type execution struct {
	run   Run
	opts  JobOptions
	known bool
	// live is set while the task runs: its output is then read from
	// logger (Scheduler.LiveOutput, flushOutputs), found by the run's ID
	// among the holdings.
	live   atomic.Bool
	hold   holding
	logger runLogger
	ctx    runContext
}

// runContext is a running task's context: its node's cancelation, and the
// values that Logger, Output, RecordExit and LeaseOf read from it.
type runContext struct {
	context.Context
	logger *runLogger
	lease  *Lease
}

// Value answers the run's own keys and passes the others on.
func (c *runContext) Value(key any) any {
	switch key.(type) {
	case loggerKey:
		return c.logger
	case leaseKey:
		return c.lease
	}
	return c.Context.Value(key)
}

// afterEnd does what the end of a run makes due, however it ended: a
// fixed-delay job's next fire counts from it, and a queued run of its job
// may start. For a shard of a broadcast fire, that is done once the whole
// fire is complete, which only a shard that settled can tell: its end is
// recorded and no retry follows it.
func (s *Scheduler) afterEnd(run Run, opts JobOptions, jobErr error, settled bool) {
	if run.Shard != nil {
		if settled && jobErr == nil {
			s.shardEnded(run, opts)
		}
		return
	}
	if opts.FixedDelay && !run.Manual && jobErr == nil {
		s.scheduleAfterRun(run.JobID, run.EndedAt)
	}
	if opts.Overlap != OverlapQueue && run.Backfill == "" {
		return // only the queue policy and backfills keep runs waiting for this one
	}
	ctx, cancelStore := s.storeCtx()
	defer cancelStore()
	if promoted, err := s.store.PromoteQueued(ctx, run.JobID, s.now()); err != nil {
		s.logRun(slog.LevelError, "promoting a queued run failed", &run, "err", err)
	} else if promoted {
		s.signal()
	}
}

// mayStart checks, just before a claimed run starts, that this node still
// holds it and that it is not too late for it. Otherwise it records why the
// run did not start (retrying it if the job allows) and reports false, and
// whether the run settled: its end is recorded and no retry follows.
func (s *Scheduler) mayStart(run *Run, hd *holding, opts JobOptions) (ok, settled bool) {
	check := s.checkLease(hd) // the usual case needs nothing more: a fresh lease, no cancel
	ok, age, now := check.ok, check.age, check.now
	if !ok || check.canceled {
		return s.mayStartSlowly(run, hd, opts, ok, age)
	}
	return s.notLate(run, opts, now)
}

// mayStartSlowly is mayStart for a run whose lease is stale or whose
// cancel was asked for.
func (s *Scheduler) mayStartSlowly(run *Run, hd *holding, opts JobOptions, ok bool, age time.Duration) (bool, bool) {
	if lost, _ := s.held.flags(hd); !ok && !lost {
		// The lease is stale — this process was frozen, or the store was
		// out of reach: renew it before starting anything.
		t := time.NewTimer(s.leaseTTL / 3)
		select {
		case <-s.requestRenewal():
		case <-t.C:
		}
		t.Stop()
		ok, age = s.fresh(hd)
	}
	if !ok {
		if lost, _ := s.held.flags(hd); lost {
			// The store gave the run to others (it was marked lost): it
			// is theirs to record and retry.
			s.logRun(slog.LevelWarn, "run not started: this node no longer holds it", run, "lease_age", describeLease(age, s.leaseTTL))
			s.held.remove(run.ID)
			return false, false
		}
		run.Status, run.EndedAt = StatusInterrupted, s.now()
		run.Error = fmt.Sprintf("not started: this node could not renew its lease (last renewed %s ago, lease %s)", age.Round(time.Millisecond), s.leaseTTL)
		s.logRun(slog.LevelWarn, "run not started: its lease could not be renewed", run, "lease_age", describeLease(age, s.leaseTTL))
		retry := run.Attempt < opts.MaxAttempts
		if retry && run.Shard != nil {
			retry = s.planRetry(*run, opts) // before the end: see execute
		}
		if s.updateRun(*run) != nil {
			return false, false
		}
		s.publishRun(EventRunInterrupted, run)
		if retry && run.Shard == nil {
			s.planRetry(*run, opts)
		}
		s.chain(*run, opts, retry)
		return false, !retry
	}
	// A cancel may have come with the renewal above.
	if _, canceled := s.held.flags(hd); canceled {
		run.Status, run.EndedAt, run.Error = StatusCanceled, s.now(), "canceled on request before it started"
		if s.updateRun(*run) != nil {
			return false, false
		}
		s.logRun(slog.LevelInfo, "run canceled before it started", run)
		s.publishRun(EventRunCanceled, run)
		return false, true
	}
	return s.notLate(run, opts, s.now())
}

// notLate checks, at now, that a run that may start is not later than its
// job's misfire grace; otherwise it records the run missed and reports
// false (and that the run settled).
func (s *Scheduler) notLate(run *Run, opts JobOptions, now time.Time) (ok, settled bool) {
	due := run.ScheduledAt
	if !run.NotBefore.IsZero() {
		due = run.NotBefore // a retry or a promoted queued run
	}
	// A run started by hand or by another run's end is not the clock's:
	// late or not, it runs.
	if late := now.Sub(due); !run.Manual && run.Upstream == nil && opts.MisfireGrace >= 0 && late > opts.MisfireGrace {
		run.Status, run.EndedAt = StatusMissed, now
		run.Error = fmt.Sprintf("claimed at %s but could not start until %s after it was due, beyond the misfire grace of %s",
			run.ClaimedAt.Format(time.RFC3339Nano), late.Round(time.Millisecond), opts.MisfireGrace)
		s.logRun(slog.LevelWarn, "run missed", run, "scheduled_at", run.ScheduledAt, "reason", run.Error)
		if s.updateRun(*run) != nil {
			return false, false
		}
		s.publishRun(EventRunMissed, run)
		return false, true
	}
	return true, false
}

// logs reports whether the scheduler's logger takes records at level: a
// caller on the hot path asks before building attributes that allocate.
func (s *Scheduler) logs(level slog.Level) bool {
	return s.log.Enabled(context.Background(), level)
}

// logRun logs about a run with its identifying attributes, building them
// only when the level is enabled.
func (s *Scheduler) logRun(level slog.Level, msg string, run *Run, args ...any) {
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := append([]any{"job_id", run.JobID, "task", run.Task, "run_id", run.ID, "attempt", run.Attempt}, args...)
	s.log.Log(ctx, level, msg, attrs...)
}

// finish logs and publishes how a run ended.
func (s *Scheduler) finish(run Run, opts JobOptions) {
	level, msg, kind := slog.LevelWarn, "run failed", EventRunFailed
	switch run.Status {
	case StatusSucceeded:
		level, msg, kind = slog.LevelInfo, "run succeeded", EventRunSucceeded
	case StatusTimedOut:
		msg, kind = "run timed out", EventRunTimedOut
	case StatusInterrupted:
		msg, kind = "run interrupted", EventRunInterrupted
	case StatusCanceled:
		level, msg, kind = slog.LevelInfo, "run canceled", EventRunCanceled
	}
	if s.logs(level) { // the attributes would cost allocations
		d := run.EndedAt.Sub(run.StartedAt)
		switch run.Status {
		case StatusSucceeded, StatusCanceled:
			s.logRun(level, msg, &run, "duration", d)
		case StatusTimedOut:
			s.logRun(level, msg, &run, "duration", d, "timeout", opts.Timeout)
		case StatusInterrupted:
			s.logRun(level, msg, &run, "duration", d, "reason", run.Error)
		default:
			s.logRun(level, msg, &run, "duration", d, "err", run.Error)
		}
	}
	s.publishRun(kind, &run)
}

// planRetry records the next attempt of a failed fire, due after an
// exponential backoff with jitter, and reports whether it is recorded (by
// this call, or before it by another node). The attempt keeps the run's
// shard, upstream run and backfill; a shard's next attempt may run on any
// node.
func (s *Scheduler) planRetry(run Run, opts JobOptions) bool {
	backoff := opts.RetryBackoff
	for i := 1; i < run.Attempt && backoff < opts.MaxRetryBackoff; i++ {
		backoff *= 2
	}
	backoff = min(backoff, opts.MaxRetryBackoff)
	// Equal jitter: at least half the backoff, so retries of many jobs
	// that failed together spread out but never come early.
	delay := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
	prev := run.Clone()
	retry := Run{ID: newID(), JobID: run.JobID, Task: run.Task, ScheduledAt: run.ScheduledAt,
		NotBefore: run.EndedAt.Add(delay), Status: StatusScheduled, Attempt: run.Attempt + 1,
		Manual: run.Manual, Args: run.Args, Queue: run.Queue, Backfill: run.Backfill, Upstream: prev.Upstream, Shard: prev.Shard}
	if err := s.persist(func(ctx context.Context) error { return s.store.CreateRun(ctx, retry) }, &retry, "recording a retry"); err != nil {
		if errors.Is(err, ErrDuplicateRun) { // another node planned it first
			return true
		}
		s.logRun(slog.LevelError, "recording a retry failed", &run, "err", err)
		return false
	}
	s.logRun(slog.LevelInfo, "retry planned", &run, "next_attempt", retry.Attempt, "not_before", retry.NotBefore)
	s.publishRun(EventRunRetryPlanned, &retry)
	s.signal()
	return true
}

// scheduleAfterRun sets a fixed-delay job's next fire from the end of its run.
func (s *Scheduler) scheduleAfterRun(jobID string, end time.Time) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	_, err := s.modify(ctx, jobID, 0, func(j *Job) error {
		if j.Paused || !j.NextRunAt.IsZero() {
			return nil
		}
		t, err := j.Trigger.Build()
		if err != nil {
			return err
		}
		j.NextRunAt = nextAfterRun(t, end)
		return nil
	})
	if err != nil && !errors.Is(err, ErrJobNotFound) {
		s.log.Error("scheduling a fixed-delay job failed", "job_id", jobID, "err", err)
	}
}

// nextAfterRun is the fire one interval after end, or zero past the
// trigger's end_date.
func nextAfterRun(t trigger.Trigger, end time.Time) time.Time {
	switch t := t.(type) {
	case trigger.Interval:
		n := end.Add(t.Every)
		if !t.End.IsZero() && n.After(t.End) {
			return time.Time{}
		}
		return n
	case trigger.Jitter:
		n := nextAfterRun(t.Trigger, end)
		if n.IsZero() {
			return n
		}
		return n.Add(t.Delay(n))
	case *trigger.DayFilter:
		// The delay, then the trigger's first fire on a day the calendar
		// allows.
		n := nextAfterRun(t.Trigger, end)
		if n.IsZero() || t.Allows(n) {
			return n
		}
		return t.Next(n, n)
	}
	return t.Next(end, end)
}

// call runs the task, turning a panic into an error with the stack.
func call(ctx context.Context, fn TaskFunc, run Run) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(ctx, run.Clone())
}
