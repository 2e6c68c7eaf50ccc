package sundial

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/sundialhq/sundial/trigger"
)

// maxBacklog bounds the fires of one job recorded in one claim after a long
// stop; older ones are summarised in one missed run.
const maxBacklog = 1000

// loop is the scheduler's one goroutine of its own: it sleeps until the
// store's next wake time, a change, a finished run or MaxSleep, then claims
// what is due and hands it to the workers. Nothing runs per job.
func (s *Scheduler) loop(ctx context.Context) {
	defer close(s.loopDone)
	timer := time.NewTimer(0)
	defer timer.Stop()
	backoff := time.Duration(0)
	for {
		full, err := s.tick(ctx)
		s.lastTick.Store(s.now().UnixNano())
		wait := s.maxSleep
		paused := errors.Is(err, ErrSchedulerPaused)
		s.paused.Store(paused)
		switch {
		case paused:
			// Look again soon: a resume by another process on a store
			// that does not notify is seen within a second.
			backoff, wait = 0, min(s.maxSleep, time.Second)
		case err != nil && ctx.Err() == nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), 30*time.Second)
			s.log.Error("claiming due jobs failed; retrying", "err", err, "retry_in", backoff)
			wait = backoff
		case full:
			wait = 0 // work came back: more may be due, claim again at once
			backoff = 0
		default:
			backoff = 0
			wait = s.sleepFor(ctx)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// sleepFor returns how long the loop may sleep before work falls due.
func (s *Scheduler) sleepFor(ctx context.Context) time.Duration {
	if s.inflight.Load() >= int64(s.workers) {
		return s.maxSleep // a finished run wakes the loop
	}
	ctx, cancel := context.WithTimeout(ctx, s.storeTimeout)
	defer cancel()
	next, err := s.store.NextWake(ctx)
	if err != nil || next.IsZero() {
		return s.maxSleep
	}
	return min(max(next.Sub(s.now()), 0), s.maxSleep)
}

// tick claims due work up to the free capacity of the pool and dispatches
// it. It reports whether it claimed anything: then more may be due, and
// the loop claims again at once instead of asking the store when to wake.
func (s *Scheduler) tick(ctx context.Context) (bool, error) {
	free := s.workers - int(s.inflight.Load())
	if free <= 0 || s.standby.Load() {
		return false, nil
	}
	claimStart := time.Now() // the leases' age counts from here
	now := s.now()
	var notes claimNotes
	req := ClaimRequest{Now: now, Limit: free, Node: s.node.ID, Incarnation: s.node.Incarnation,
		LeaseUntil: now.Add(s.leaseTTL), Queues: s.node.Queues}
	claimCtx, cancel := context.WithTimeout(ctx, s.storeTimeout)
	runs, err := s.store.Claim(claimCtx, req, s.plan(now, &notes))
	cancel()
	if err != nil {
		return false, err
	}
	known := time.Now()
	notes.publish(s)
	for _, run := range runs {
		s.held.add(run.ID, claimStart, known, run.LeaseUntil, s.killAfter)
		s.inflight.Add(1)
		select {
		case s.work <- dispatch{run: run, opts: notes.options[run.ID]}:
		case <-ctx.Done():
			// Shutting down before the run could start: record it.
			s.inflight.Add(-1)
			s.held.remove(run.ID)
			run.Status, run.Error, run.EndedAt = StatusInterrupted, "scheduler shut down before the run started", s.now()
			s.updateRun(run)
		}
	}
	return len(runs) > 0, nil
}

// claimNotes collects what a claim decided, to be logged and published
// once the store has committed it.
type claimNotes struct {
	recorded    []Run
	quarantined []Job
	options     map[string]*JobOptions // resolved options by pending run ID
}

// dispatch is a claimed run on its way to a worker, with its job's
// resolved options when the claim knew them (nil: read the job).
type dispatch struct {
	run  Run
	opts *JobOptions
}

func (n *claimNotes) publish(s *Scheduler) {
	for i := range n.quarantined {
		j := n.quarantined[i]
		s.log.Warn("job quarantined", "job_id", j.ID, "task", j.Task, "reason", j.PauseReason)
		s.publishJob(EventJobQuarantined, &j)
	}
	for i := range n.recorded {
		r := n.recorded[i]
		switch r.Status {
		case StatusMissed:
			s.log.Warn("run missed", "job_id", r.JobID, "task", r.Task, "run_id", r.ID,
				"scheduled_at", r.ScheduledAt, "reason", r.Error)
			s.publishRun(EventRunMissed, &r)
		case StatusSkipped:
			s.log.Info("run skipped", "job_id", r.JobID, "task", r.Task, "run_id", r.ID,
				"scheduled_at", r.ScheduledAt, "reason", r.Error)
			s.publishRun(EventRunSkipped, &r)
		}
	}
}

// plan returns the claim decision for fires due at now: misfires,
// coalescing and overlap are settled here, inside the store's atomic step,
// and every fire becomes a run row of some status.
func (s *Scheduler) plan(now time.Time, notes *claimNotes) PlanFunc {
	return func(job Job, active int, queued bool) (Job, []Run) {
		t, reason := s.loadable(job)
		if reason != "" {
			job.Paused, job.PauseReason, job.NextRunAt = true, reason, time.Time{}
			notes.quarantined = append(notes.quarantined, job)
			return job, nil
		}
		opts := job.Options.resolve(s.defaults)

		// Fire times are kept to the microsecond, the precision of the
		// durable stores: a trigger time within the same microsecond as the
		// fire before it is that fire again (a date trigger read back from
		// a store, say), not a new one.
		due := job.NextRunAt.Truncate(time.Microsecond)
		fires := []time.Time{due}
		following := func(after time.Time, n time.Time) time.Time {
			for !n.IsZero() && !n.Truncate(time.Microsecond).After(after) {
				n = t.Next(n, now)
			}
			return n
		}
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
		if !opts.EndAt.IsZero() && next.After(opts.EndAt) {
			next = time.Time{}
		}

		runs := make([]Run, 0, len(fires))
		record := func(at time.Time, status RunStatus, reason string) {
			r := Run{ID: newID(), JobID: job.ID, Task: job.Task, ScheduledAt: at, Status: status,
				Attempt: 1, Args: job.Args, Error: reason, Queue: job.Queue}
			if status == StatusPending {
				r.ClaimedAt, r.LeaseUntil = now, now.Add(s.leaseTTL)
				r.Node, r.Incarnation = s.node.ID, s.node.Incarnation
			}
			if status == StatusMissed || status == StatusSkipped {
				r.EndedAt = now
				notes.recorded = append(notes.recorded, r)
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
		started := false
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
			if notes.options == nil {
				notes.options = map[string]*JobOptions{}
			}
			notes.options[runs[len(runs)-1].ID] = &opts
			active++
			started = true
		}
		if opts.FixedDelay && (started || queued) && isInterval(t) {
			next = time.Time{} // counted from the end of the run
		}
		job.NextRunAt = next
		return job, runs
	}
}

// isInterval reports whether t is an interval trigger, jittered or not.
func isInterval(t trigger.Trigger) bool {
	switch t := t.(type) {
	case trigger.Interval:
		return true
	case trigger.Jitter:
		return isInterval(t.Trigger)
	}
	return false
}

func (s *Scheduler) worker() {
	defer s.workersWG.Done()
	for d := range s.work {
		s.execute(d)
		s.inflight.Add(-1)
		s.signal()
	}
}

var errTimeout = errors.New("run timed out")

// execute runs one claimed run to its end and records everything about it.
func (s *Scheduler) execute(d dispatch) {
	run := d.run
	defer s.held.remove(run.ID)
	if s.forced.Load() {
		run.Status, run.Error, run.EndedAt = StatusInterrupted, "scheduler shut down before the run started", s.now()
		s.updateRun(run)
		s.publishRun(EventRunInterrupted, &run)
		return
	}
	var opts JobOptions
	var jobErr error
	if d.opts != nil {
		opts = *d.opts
	} else {
		ctx, cancel := s.storeCtx()
		var job Job
		job, jobErr = s.store.GetJob(ctx, run.JobID)
		cancel()
		opts = job.Options.resolve(s.defaults)
	}
	hd := s.held.get(run.ID)
	if !s.mayStart(&run, hd, opts) {
		return
	}
	fn, ok := s.task(run.Task)

	run.Status, run.StartedAt = StatusRunning, s.now()
	s.recordAsync(run) // the task need not wait for the record of its start
	s.publishRun(EventRunStarted, &run)
	s.logRun(slog.LevelDebug, "run started", &run, "scheduled_at", run.ScheduledAt, "late", run.StartedAt.Sub(run.ScheduledAt))

	var result any
	var err error
	// Every run has a context of its own, which its node cancels to stop
	// it: on request, when the lease cannot be renewed, on timeout and on
	// a forced shutdown (the parent).
	runCtx, stop := context.WithCancelCause(s.runCtx)
	cancel := context.CancelFunc(func() {})
	if opts.Timeout > 0 {
		runCtx, cancel = context.WithTimeoutCause(runCtx, opts.Timeout, errTimeout)
	}
	s.held.mu.Lock()
	hd.stop = stop
	if hd.lost {
		stop(errNotHeld)
	}
	s.held.mu.Unlock()
	switch {
	case !ok:
		err = &UnknownTaskError{Task: run.Task}
	case jobErr != nil && !run.Manual && errors.Is(jobErr, ErrJobNotFound):
		err = fmt.Errorf("job %q was removed before the run started", run.JobID)
	default:
		rl := &runLogger{base: s.log, run: &run, limit: s.outputLimit}
		s.live.Store(run.ID, rl)
		result, err = call(context.WithValue(withRunLogger(runCtx, rl), leaseKey{}, hd.lease), fn, run)
		s.live.Delete(run.ID)
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
			b, merr := json.Marshal(result)
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
	// The worker does not wait for the record: the recorder writes it in
	// order, with others, and Shutdown flushes it. The worker is free for
	// the next run at once; a full recorder queue holds workers back.
	s.recordAsync(run)
	s.finish(run, opts)

	if retry && run.Attempt < opts.MaxAttempts && !s.forced.Load() {
		s.planRetry(run, opts)
	}
	if opts.FixedDelay && !run.Manual && jobErr == nil {
		s.scheduleAfterRun(run.JobID, run.EndedAt)
	}
	if opts.Overlap != OverlapQueue {
		return // only the queue policy keeps runs waiting for this one
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
// run did not start (retrying it if the job allows) and reports false.
func (s *Scheduler) mayStart(run *Run, hd *holding, opts JobOptions) bool {
	ok, age := s.fresh(hd)
	if !ok && !hd.lost {
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
		if hd.lost {
			// The store gave the run to others (it was marked lost): it
			// is theirs to record and retry.
			s.logRun(slog.LevelWarn, "run not started: this node no longer holds it", run, "lease_age", describeLease(age, s.leaseTTL))
			return false
		}
		run.Status, run.EndedAt = StatusInterrupted, s.now()
		run.Error = fmt.Sprintf("not started: this node could not renew its lease (last renewed %s ago, lease %s)", age.Round(time.Millisecond), s.leaseTTL)
		s.logRun(slog.LevelWarn, "run not started: its lease could not be renewed", run, "lease_age", describeLease(age, s.leaseTTL))
		if s.updateRun(*run) == nil {
			s.publishRun(EventRunInterrupted, run)
			if run.Attempt < opts.MaxAttempts {
				s.planRetry(*run, opts)
			}
		}
		return false
	}
	due := run.ScheduledAt
	if !run.NotBefore.IsZero() {
		due = run.NotBefore // a retry or a promoted queued run
	}
	if late := s.now().Sub(due); !run.Manual && opts.MisfireGrace >= 0 && late > opts.MisfireGrace {
		run.Status, run.EndedAt = StatusMissed, s.now()
		run.Error = fmt.Sprintf("claimed at %s but could not start until %s after it was due, beyond the misfire grace of %s",
			run.ClaimedAt.Format(time.RFC3339Nano), late.Round(time.Millisecond), opts.MisfireGrace)
		s.logRun(slog.LevelWarn, "run missed", run, "scheduled_at", run.ScheduledAt, "reason", run.Error)
		if s.updateRun(*run) == nil {
			s.publishRun(EventRunMissed, run)
		}
		return false
	}
	return true
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

func (s *Scheduler) finish(run Run, opts JobOptions) {
	d := run.EndedAt.Sub(run.StartedAt)
	switch run.Status {
	case StatusSucceeded:
		s.logRun(slog.LevelInfo, "run succeeded", &run, "duration", d)
		s.publishRun(EventRunSucceeded, &run)
	case StatusTimedOut:
		s.logRun(slog.LevelWarn, "run timed out", &run, "duration", d, "timeout", opts.Timeout)
		s.publishRun(EventRunTimedOut, &run)
	case StatusInterrupted:
		s.logRun(slog.LevelWarn, "run interrupted", &run, "duration", d, "reason", run.Error)
		s.publishRun(EventRunInterrupted, &run)
	case StatusCanceled:
		s.logRun(slog.LevelInfo, "run canceled", &run, "duration", d)
		s.publishRun(EventRunCanceled, &run)
	default:
		s.logRun(slog.LevelWarn, "run failed", &run, "duration", d, "err", run.Error)
		s.publishRun(EventRunFailed, &run)
	}
}

// planRetry records the next attempt of a failed fire, due after an
// exponential backoff with jitter.
func (s *Scheduler) planRetry(run Run, opts JobOptions) {
	backoff := opts.RetryBackoff
	for i := 1; i < run.Attempt && backoff < opts.MaxRetryBackoff; i++ {
		backoff *= 2
	}
	backoff = min(backoff, opts.MaxRetryBackoff)
	// Equal jitter: at least half the backoff, so retries of many jobs
	// that failed together spread out but never come early.
	delay := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
	retry := Run{ID: newID(), JobID: run.JobID, Task: run.Task, ScheduledAt: run.ScheduledAt,
		NotBefore: run.EndedAt.Add(delay), Status: StatusScheduled, Attempt: run.Attempt + 1,
		Manual: run.Manual, Args: run.Args, Queue: run.Queue}
	if err := s.persist(func(ctx context.Context) error { return s.store.CreateRun(ctx, retry) }, &retry, "recording a retry"); err != nil {
		if !errors.Is(err, ErrDuplicateRun) { // another node planned it first
			s.logRun(slog.LevelError, "recording a retry failed", &run, "err", err)
		}
		return
	}
	s.logRun(slog.LevelInfo, "retry planned", &run, "next_attempt", retry.Attempt, "not_before", retry.NotBefore)
	s.publishRun(EventRunRetryPlanned, &retry)
	s.signal()
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
		if end := j.Options.EndAt; !end.IsZero() && j.NextRunAt.After(end) {
			j.NextRunAt = time.Time{}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrJobNotFound) {
		s.log.Error("scheduling a fixed-delay job failed", "job_id", jobID, "err", err)
	}
}

// nextAfterRun is the fire one interval after end.
func nextAfterRun(t trigger.Trigger, end time.Time) time.Time {
	switch t := t.(type) {
	case trigger.Interval:
		return end.Add(t.Every)
	case trigger.Jitter:
		n := nextAfterRun(t.Trigger, end)
		return n.Add(t.Delay(n))
	}
	return t.Next(end, end)
}

// updateRun records a run and waits until it is written.
func (s *Scheduler) updateRun(run Run) error {
	done := make(chan error, 1)
	s.records <- record{run: run, done: done}
	err := <-done
	if errors.Is(err, ErrRunLost) {
		s.logRun(slog.LevelWarn, "this node no longer holds the run (lost, canceled or taken over); its record is refused", &run,
			"status", run.Status)
	}
	return err
}

// recordAsync records a run without waiting; records are written in order.
func (s *Scheduler) recordAsync(run Run) { s.records <- record{run: run} }

// record is a run to write, and where to report how it went.
type record struct {
	run  Run
	done chan error // nil: nobody waits
}

// maxRecordBatch bounds the runs written in one transaction.
const maxRecordBatch = 256

// recorder writes run records in groups: it takes every record waiting,
// writes them in one transaction when the store can (RunBatchUpdater),
// and answers the workers waiting on them. Under load many runs share one
// commit, and a run whose start and end wait together is written once;
// when idle a record is written at once.
func (s *Scheduler) recorder() {
	defer close(s.recorderDone)
	batcher, canBatch := s.store.(RunBatchUpdater)
	for first := range s.records {
		batch := []record{first}
	more:
		for len(batch) < maxRecordBatch {
			select {
			case r, ok := <-s.records:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		// A record carries the whole run: only the last one of each run
		// needs writing.
		last := make(map[string]int, len(batch))
		for i, r := range batch {
			last[r.run.ID] = i
		}
		writes := make([]int, 0, len(last))
		for i, r := range batch {
			if last[r.run.ID] == i {
				writes = append(writes, i)
			}
		}
		answers := make([]error, len(batch))
		if canBatch {
			runs := make([]Run, len(writes))
			for k, i := range writes {
				runs[k] = batch[i].run
			}
			var got []error
			err := s.persist(func(ctx context.Context) error {
				var err error
				got, err = batcher.UpdateRuns(ctx, runs)
				return err
			}, &runs[0], fmt.Sprintf("recording %d runs", len(runs)))
			for k, i := range writes {
				answers[i] = err
				if err == nil {
					answers[i] = got[k]
				}
			}
		} else {
			for _, i := range writes {
				answers[i] = s.persist(func(ctx context.Context) error { return s.store.UpdateRun(ctx, batch[i].run) }, &batch[i].run, "recording the run")
			}
		}
		for i, r := range batch {
			answer := answers[last[r.run.ID]]
			if r.done != nil {
				r.done <- answer
			} else if errors.Is(answer, ErrRunLost) && last[r.run.ID] == i {
				s.logRun(slog.LevelWarn, "this node no longer holds the run (lost, canceled or taken over); its record is refused", &batch[i].run,
					"status", r.run.Status)
			}
		}
	}
}

// persist performs a store write that must not be lost — a run's outcome,
// a planned retry — retrying through transient failures (the database is
// busy, restarting, unreachable) with backoff, for up to five minutes or
// until the scheduler's life ends (a second after Shutdown's deadline):
// then the run is left to its lease. Errors that are answers rather than
// failures (not found, lost, duplicate) are returned at once.
func (s *Scheduler) persist(write func(context.Context) error, run *Run, what string) error {
	backoff := 50 * time.Millisecond
	deadline := time.Now().Add(5 * time.Minute)
	for attempt := 1; ; attempt++ {
		ctx, cancel := s.storeCtx()
		err := write(ctx)
		cancel()
		if err == nil || isAnswer(err) {
			return err
		}
		if s.life.Err() != nil || time.Now().After(deadline) {
			s.logRun(slog.LevelError, what+" failed; giving up (the run's lease recovers it)", run, "status", run.Status, "err", err, "tries", attempt)
			return err
		}
		if attempt == 1 {
			s.logRun(slog.LevelWarn, what+" failed; retrying", run, "status", run.Status, "err", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.life.Done():
		}
		t.Stop()
		backoff = min(2*backoff, 5*time.Second)
	}
}

// isAnswer reports whether a store error is a definite answer, which
// retrying would not change.
func isAnswer(err error) bool {
	for _, answer := range []error{ErrRunLost, ErrRunNotFound, ErrDuplicateRun, ErrJobNotFound, ErrJobExists, ErrVersionConflict} {
		if errors.Is(err, answer) {
			return true
		}
	}
	return false
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
