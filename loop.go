package sundial

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// loop is the scheduler's one goroutine of its own: it sleeps until the
// store's next wake time, a change, a finished run or MaxSleep, then claims
// what is due and hands it to the workers. Nothing runs per job.
func (s *Scheduler) loop(ctx context.Context) {
	defer close(s.loopDone)
	timer := time.NewTimer(0)
	defer timer.Stop()
	backoff := time.Duration(0)
	for {
		s.sleepUntil.Store(0) // awake: an added job wakes it again (see signalFor)
		if !s.claimLock() {
			// A worker that freed up is claiming (claimMore), and wakes
			// the loop when it stops: waiting for the lock would only
			// claim again behind it, and holds the loop in a wait that a
			// testing/synctest bubble does not count as blocked.
			timer.Reset(s.maxSleep)
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			case <-timer.C:
			}
			continue
		}
		full, err := s.tick(ctx)
		s.claims.mu.Unlock()
		s.lastTick.Store(s.now().UnixNano())
		var wait time.Duration
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
			// What the loop has seen of the store is asleep until then.
			s.sleepUntil.Store(max(s.now().Add(wait).UnixNano(), 1))
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

// claimLock takes claims.mu for the loop, unless a worker holds it: then
// it reports false, and the worker wakes the loop once it lets go of it
// (see claimMore).
func (s *Scheduler) claimLock() bool {
	c := &s.claims
	if c.mu.TryLock() {
		return true
	}
	c.loopWaits.Store(true)
	// Taken once more after saying so: a worker that let go of the lock
	// before it could see loopWaits has let go of it for this try.
	if c.mu.TryLock() {
		c.loopWaits.Store(false)
		return true
	}
	return false
}

// signalFor wakes the loop for a job added with its next fire at next,
// unless the loop sleeps until before then anyway: its sleep was computed
// after the job was stored (then it wakes in time) or before (then
// sleepUntil is already set, or still 0 and the loop is woken). Adding many
// jobs that are not due soon then costs the loop nothing; waking it for
// each held the store's lock against the adds.
func (s *Scheduler) signalFor(next time.Time) {
	if until := s.sleepUntil.Load(); until == 0 || !next.IsZero() && next.UnixNano() < until {
		s.signal()
		return
	}
	s.workerState.pulse.fire() // what signal does but for the loop: worker claims wait on it
}

// sleepFor returns how long the loop may sleep before work falls due.
func (s *Scheduler) sleepFor(ctx context.Context) time.Duration {
	if s.inflight.Load() >= int64(s.workers) || s.standby.Load() {
		return s.maxSleep // a finished run, or the end of standby, wakes the loop
	}
	ctx, cancel := context.WithTimeout(ctx, s.storeTimeout)
	defer cancel()
	next, err := s.store.NextWake(ctx, s.node.ID)
	if err != nil || next.IsZero() {
		return s.maxSleep
	}
	return min(max(next.Sub(s.now()), 0), s.maxSleep)
}

// tick claims due work up to the room the pool has (see claimLimit) and
// dispatches it. It reports whether it claimed anything: then more may be
// due, and the loop claims again at once instead of asking the store when
// to wake. The caller holds claims.mu.
func (s *Scheduler) tick(ctx context.Context) (bool, error) {
	limit := s.claimLimit()
	if limit <= 0 || s.standby.Load() {
		return false, nil
	}
	c := &s.claims
	claimStart := time.Now() // the leases' age counts from here
	now := s.now()
	c.now, c.notes = now, c.notes.reset()
	if cap(c.runs) < limit {
		c.runs = make([]Run, 0, limit)
	}
	req := ClaimRequest{Now: now, Limit: limit, Node: s.node.ID, Incarnation: s.node.Incarnation,
		LeaseUntil: now.Add(s.leaseTTL), Queues: s.node.Queues, Buffer: c.runs}
	runs, err := s.store.Claim(c.bounded(claimStart, s.storeTimeout), req, c.plan)
	known := time.Now()
	full := err == nil && len(runs) >= limit
	c.backlog.Store(full)
	c.sizeQueue(full, s.workers, claimStart, known)
	if err != nil {
		return false, err
	}
	c.notes.publish(s)
	// Every claimed run is held before any is handed to a worker: a claim
	// may return more runs than there are free workers (a job's backlog),
	// and a run held only once a worker frees up would be missing from a
	// heartbeat that began meanwhile, which would then judge it lost. A
	// run's execution is made here, with its holding and options in it:
	// one allocation per run from claim to end.
	xs := c.execs[:0]
	next := 0 // runs come back in the order planned, mostly: see optionsOf
	for i := range runs {
		x := &execution{run: runs[i]}
		x.opts, x.known = c.notes.optionsOf(runs[i].ID, &next)
		xs = append(xs, x)
	}
	n := len(runs)
	clear(runs) // c.runs, mostly: it keeps no run alive until the next claim
	s.held.addAll(xs, claimStart, known, s.killAfter)
	s.inflight.Add(int64(len(xs)))
	for _, x := range xs {
		select {
		case s.work <- x:
		case <-ctx.Done():
			// Shutting down before the run could start: record it.
			run := x.run
			s.inflight.Add(-1)
			s.held.remove(run.ID)
			run.Status, run.Error, run.EndedAt = StatusInterrupted, "scheduler shut down before the run started", s.now()
			s.updateRun(run)
		}
	}
	clear(xs)
	c.execs = xs[:0]
	return n > 0, nil
}

// claimLimit returns how many runs the next claim may take: the free
// workers, plus, while a backlog of due work lasts, a queue of runs
// claimed ahead of them, so that workers that free up start the next run
// without waiting for a claim, and claims are large with a small pool (a
// claim is a write transaction and its commit on a durable store).
//
// The queue is bounded by one pool's worth, and adaptively by what the
// pool finishes in the time a claim takes (claimer.sizeQueue): a node
// whose tasks are long claims few or none ahead of its workers, leaving
// due runs to nodes that can start them.
// While runs are queued and no worker is free, the limit is 0 until half
// the queue has started: claims ahead are then at least that large.
func (s *Scheduler) claimLimit() int {
	c := &s.claims
	depth := 0
	if c.backlog.Load() {
		depth = c.depth
	}
	inflight := int(s.inflight.Load())
	room := s.workers + depth - inflight
	if inflight >= s.workers && 2*room < depth {
		return 0
	}
	return room
}

// claimer is the state of this node's claims. The loop claims, and so do
// workers as they free up while due work is backed up (claimMore): one at
// a time, under mu, which guards the rest.
type claimer struct {
	mu sync.Mutex
	// ctx is the loop's: claims end with it.
	ctx context.Context
	// backlog is set when the last claim took all it could: more may be
	// due.
	backlog atomic.Bool
	// loopWaits is set when the loop found mu taken by a worker, which
	// then wakes it (claimLock).
	loopWaits atomic.Bool
	// depth is how many runs the next claim may take ahead of the free
	// workers while the backlog lasts (see claimLimit and sizeQueue).
	depth int
	// finished counts the runs the workers have finished (or not
	// started): the claims read it to size the queue ahead, and
	// finishedBefore is what it was at backlogSince (monotonic), when the
	// first claim of the backlog returned.
	finished       atomic.Int64
	finishedBefore int64
	backlogSince   time.Time
	// bound is ctx with a deadline, shared by claims (see bounded), until
	// the monotonic instant until.
	bound   context.Context
	release context.CancelFunc
	until   time.Time
	// now is the current claim's instant, notes what it decided: plan
	// reads and writes them, and is made once (a closure per claim showed
	// in the profile when claims take one run each).
	now   time.Time
	notes claimNotes
	plan  PlanFunc
	// execs is the current claim's executions, a buffer kept across
	// claims; runs is the memory the store may return a claim's runs in
	// (ClaimRequest.Buffer), kept across claims too: a claim of several
	// jobs' runs otherwise costs a slice of them (a run's size per run),
	// which claims ahead of the workers, several runs each, made the
	// usual case.
	execs []*execution
	runs  []Run
}

// sizeQueue sets the depth of the queue ahead for the next claim, after a
// claim that started at start and returned at end (monotonic) and took all
// it could (full) or not: what the pool finishes in eight claims' time, at
// the rate it has finished runs since the backlog began, and at most a
// pool's worth (workers). A queued run then waits a few claims' time at
// most (the next claim starts when half the queue has started, see
// claimLimit). A pool of short runs queues a pool's worth, and its claims
// grow with the queue; a pool of long ones finishes few runs in that time
// and queues few or none, so a node does not hold runs that it cannot
// start soon and other nodes could. The rate is taken over the whole
// backlog, not since the last claim: long runs that end together would
// look fast then. (Twice a claim's time, the least that keeps workers busy
// during a claim, measured claims no larger than without a queue: small
// claims are quick, and kept the queue small.)
func (c *claimer) sizeQueue(full bool, workers int, start, end time.Time) {
	c.depth = 0
	if !full {
		c.backlogSince = time.Time{}
		return
	}
	finished := c.finished.Load()
	if c.backlogSince.IsZero() {
		c.backlogSince, c.finishedBefore = end, finished
		return
	}
	if elapsed := end.Sub(c.backlogSince); elapsed > 0 {
		ahead := 8 * (finished - c.finishedBefore) * int64(end.Sub(start)) / int64(elapsed)
		c.depth = int(min(int64(workers), ahead))
	}
}

// bounded returns a context bounding a claim that starts at start (on the
// monotonic clock) by the store timeout. A context with a deadline of its
// own costs a timer per claim, and claims take one run each when workers
// free up one by one: claims share one while it has 9/10 of the timeout
// left, so that each is bounded by 9/10 to all of it.
func (c *claimer) bounded(start time.Time, timeout time.Duration) context.Context {
	if c.bound == nil || c.bound.Err() != nil || c.until.Sub(start) < timeout-timeout/10 {
		if c.release != nil {
			c.release()
		}
		c.bound, c.release = context.WithTimeout(c.ctx, timeout)
		c.until = start.Add(timeout)
	}
	return c.bound
}

// claimMore claims due work from a worker that has just freed up, while
// the last claim took all it could: the work then starts without waiting
// for the loop to be woken and scheduled, which, when runs are short, is
// most of a run's cost. It reports whether it took all it could again, so
// that the loop need not be woken: the next worker to free up goes on.
// Errors are left to the loop, which the caller then wakes.
func (s *Scheduler) claimMore() bool {
	if !s.claims.backlog.Load() || !s.state.TryRLock() {
		return false
	}
	defer s.state.RUnlock() // sends on work stay before Shutdown closes it
	if s.stopped || !s.claims.mu.TryLock() {
		return false
	}
	more := s.claimWhileRoom()
	s.claims.mu.Unlock()
	if s.claims.loopWaits.Swap(false) {
		s.signal() // the loop found the lock taken (claimLock)
	}
	return more
}

// claimWhileRoom claims for the workers that freed up while a claim was
// made, as they found claims.mu taken, while there is work and room. No
// room means the queue ahead is still more than half full: a worker that
// frees up later claims. It reports false when the backlog has ended or a
// claim failed. The caller holds claims.mu.
func (s *Scheduler) claimWhileRoom() bool {
	for s.claimLimit() > 0 {
		full, err := s.tick(s.claims.ctx)
		if err != nil || !full || !s.claims.backlog.Load() {
			return false
		}
	}
	return true
}

// claimNotes collects what a claim decided, to be logged and published
// once the store has committed it.
type claimNotes struct {
	recorded    []Run
	quarantined []Job
	// pending are the resolved options of the runs planned pending, in
	// the order planned: a slice rather than a map, since the scheduler's
	// own claims read them in that order (one allocation per claim, not
	// one per run).
	pending []plannedOptions
	// options are the same by run ID, for the claims made for workers
	// (workers.go), which look them up by ID.
	options map[string]*JobOptions
	// runs holds the runs planned, every job's in turn: the plan returns
	// each job's part of it. The claim's caller reads the runs the store
	// returns (which may be these, in place) before the next claim resets
	// it.
	runs []Run
}

// reset empties the notes for the next claim, keeping their memory.
func (n claimNotes) reset() claimNotes {
	clear(n.recorded)
	clear(n.quarantined)
	clear(n.runs)
	return claimNotes{recorded: n.recorded[:0], quarantined: n.quarantined[:0], pending: n.pending[:0], runs: n.runs[:0]}
}

// plannedOptions are the resolved options of one run planned pending.
type plannedOptions struct {
	id   string
	opts JobOptions
}

// optionsOf returns the resolved options of a pending run, and whether the
// claim planned it (a run claimed from the waiting runs — a retry, a shard
// — was not planned: read its job). The store returns runs in the order
// they were planned, so the search starts at *next, where the last one
// was found, and wraps around.
func (n *claimNotes) optionsOf(id string, next *int) (JobOptions, bool) {
	for k := range n.pending {
		i := (*next + k) % len(n.pending)
		if n.pending[i].id == id {
			*next = i + 1
			return n.pending[i].opts, true
		}
	}
	return JobOptions{}, false
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

// plan returns the claim decision for fires due at now (see planJob).
func (s *Scheduler) plan(now time.Time, notes *claimNotes, worker bool) PlanFunc {
	return func(job Job, active int, queued bool) (Job, []Run) {
		return s.planJob(job, active, queued, now, notes, worker)
	}
}

// planJob is the claim decision for the fires of a job due at now (see
// planFires), with the job quarantined when it can no longer load: paused
// with the reason, never deleted.
func (s *Scheduler) planJob(job Job, active int, queued bool, now time.Time, notes *claimNotes, worker bool) (Job, []Run) {
	t, reason := s.loadable(job, worker)
	if reason != "" {
		job.Paused, job.PauseReason, job.NextRunAt = true, reason, time.Time{}
		notes.quarantined = append(notes.quarantined, job)
		return job, nil
	}
	opts := job.Options.resolve(s.defaults)
	in := fireState{Trigger: t, Now: now, Active: active, Queued: queued}
	if opts.Broadcast && !worker {
		in.Nodes, in.Self, in.PickUpBy = s.broadcastNodes(job.Queue), s.node.ID, now.Add(s.leaseTTL)
	}
	// The runs go to the notes' buffer, which the store keeps no
	// reference to (see PlanFunc): planned runs cost no allocation.
	before := len(notes.runs)
	p := planJobFires(&job, &opts, in, newID, notes.runs) // not in in: see planJobFires
	notes.runs = p.Runs
	runs := p.Runs[before:len(p.Runs):len(p.Runs)] // capped: appending to them must not overwrite the next job's
	for i := range runs {
		r := &runs[i]
		switch r.Status {
		case StatusMissed, StatusSkipped:
			notes.recorded = append(notes.recorded, *r)
		case StatusPending:
			if worker {
				if notes.options == nil {
					notes.options = map[string]*JobOptions{}
				}
				o := opts
				notes.options[r.ID] = &o
				continue
			}
			notes.pending = append(notes.pending, plannedOptions{id: r.ID, opts: opts})
		}
	}
	job.NextRunAt = p.NextRunAt
	return job, runs
}
