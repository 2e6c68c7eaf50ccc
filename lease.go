package sundial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// A node holds each run it executes under a lease in the store, renewed by
// its heartbeat every LeaseTTL/3. The rules that keep a run from executing
// anywhere its node does not hold it (fencing):
//
//   - the lease's age is judged on the monotonic clock from the start of
//     the last renewal that covered the run, so a process that was frozen
//     notices on waking, whatever the wall clock did;
//   - a run is started only while its lease is fresh; a stale one is
//     renewed first, and not started if the renewal fails;
//   - a run whose lease could not be renewed for fenceAfter (3/4 of the
//     TTL) is stopped by its node, which records it interrupted; a child
//     process of a task is killed by its own supervisor at killAfter (7/8),
//     even when the node is frozen (see Lease);
//   - other nodes mark a run lost only after its whole TTL, so the run has
//     stopped by then;
//   - every write about a run carries the holder's incarnation and the
//     attempt, and the store refuses it once the run is no longer held.

// errFenced, errCanceled and errNotHeld are the causes with which a node
// stops a run it executes.
var (
	errFenced   = errors.New("the node could not renew its lease in time")
	errCanceled = errors.New("canceled on request")
	errNotHeld  = errors.New("the node no longer holds the run")
)

// holding is this node's hold on one run it executes.
type holding struct {
	// known is when the claim that granted the run had returned; base is
	// the start of the last renewal that covered it (both monotonic).
	known, base time.Time
	// until is the lease's end on the store's clock.
	until time.Time
	// lost is set when a heartbeat found the run no longer held, canceled
	// when a cancel was asked for (both guarded by holdings.mu).
	lost, canceled bool
	// stop cancels the running task's context; nil until it starts.
	stop context.CancelCauseFunc
	// lease is what the task sees (LeaseOf); a field rather than a
	// pointer, so that it costs no allocation of its own.
	lease Lease
}

// holdings are the runs this node executes, by ID: their executions, in
// which the holding and, while the task runs, its live output are.
type holdings struct {
	mu sync.Mutex
	m  map[string]*execution
}

// add holds the run that x executes, claimed at claimStart (monotonic)
// and known to this node at known, leased until until on the store's
// clock: the holding lives in the execution, so that holding a run costs
// no allocation of its own.
func (h *holdings) add(x *execution, claimStart, known, until time.Time, killAfter time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addLocked(x, claimStart, known, until, killAfter)
}

// addAll holds the runs of a claim's executions, under one lock.
func (h *holdings) addAll(xs []*execution, claimStart, known time.Time, killAfter time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, x := range xs {
		h.addLocked(x, claimStart, known, x.run.LeaseUntil, killAfter)
	}
}

func (h *holdings) addLocked(x *execution, claimStart, known, until time.Time, killAfter time.Duration) {
	if h.m == nil {
		h.m = map[string]*execution{}
	}
	hd := &x.hold
	hd.known, hd.base, hd.until = known, claimStart, until
	hd.lease.deadline = claimStart.Add(killAfter)
	h.m[x.run.ID] = x
}

// get returns the execution of a run this node holds, or nil.
func (h *holdings) get(id string) *execution {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[id]
}

// outputs appends to dst the IDs and output buffers of the runs whose
// tasks are running and have written output.
func (h *holdings) outputs(dst []liveOutput) []liveOutput {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, x := range h.m {
		if !x.live.Load() {
			continue
		}
		if t := x.logger.out.Load(); t != nil {
			dst = append(dst, liveOutput{id: id, out: t})
		}
	}
	return dst
}

// liveOutput is the output buffer of a running task.
type liveOutput struct {
	id  string
	out *tailBuffer
}

// ids returns the IDs of the runs this node executes.
func (h *holdings) ids() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.m))
	for id := range h.m {
		out = append(out, id)
	}
	return out
}

func (h *holdings) remove(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if x, ok := h.m[id]; ok {
		x.hold.lease.end()
		delete(h.m, id)
	}
}

// flags returns what heartbeats and cancels have said about the run.
func (h *holdings) flags(hd *holding) (lost, canceled bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return hd.lost, hd.canceled
}

// leaseCheck is what this node knows of a run's lease at one instant.
type leaseCheck struct {
	// ok is true when the lease is young enough to start or keep running
	// the run; age is the lease's age.
	ok  bool
	age time.Duration
	// lost and canceled are what heartbeats and cancels have said.
	lost, canceled bool
	// now is the instant, on the store's clock.
	now time.Time
}

// checkLease judges the run's lease now, under one lock and one clock
// reading.
func (s *Scheduler) checkLease(hd *holding) leaseCheck {
	mono, now := s.clock()
	s.held.mu.Lock()
	defer s.held.mu.Unlock()
	return leaseCheck{ok: !hd.lost && !s.staleAt(hd, mono, now), age: mono.Sub(hd.base), lost: hd.lost, canceled: hd.canceled, now: now}
}

// fresh reports whether the run's lease is young enough to start or keep
// running it, and the lease's age.
func (s *Scheduler) fresh(hd *holding) (bool, time.Duration) {
	c := s.checkLease(hd)
	return c.ok, c.age
}

// stale reports whether a run's lease is too old to keep running it: not
// renewed for fenceAfter on the monotonic clock, or as near its end on the
// store's clock (a suspended host's monotonic clock stands still). The
// caller holds holdings.mu.
func (s *Scheduler) stale(hd *holding, now time.Time) bool {
	return s.staleAt(hd, time.Now(), now)
}

// staleAt is stale with the monotonic clock read by the caller (mono).
func (s *Scheduler) staleAt(hd *holding, mono, now time.Time) bool {
	return mono.Sub(hd.base) >= s.fenceAfter || !now.Before(hd.until.Add(s.fenceAfter-s.leaseTTL))
}

// stopHeld stops a run this node executes, with cause.
func (s *Scheduler) stopHeld(id string, cause error) {
	s.held.mu.Lock()
	defer s.held.mu.Unlock()
	x := s.held.m[id]
	if x == nil {
		return
	}
	hd := &x.hold
	if cause == errCanceled {
		hd.canceled = true // stopped as soon as it starts, if it has not yet
	}
	if hd.stop != nil {
		hd.stop(cause)
	}
}

// stopAll stops every run this node executes, with cause: a forced
// shutdown.
func (h *holdings) stopAll(cause error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, x := range h.m {
		if x.hold.stop != nil {
			x.hold.stop(cause)
		}
	}
}

// Lease is the hold of this node on the run executing in a context, for
// tasks that run work outside the process, such as a child process: the
// work must stop by Deadline unless the lease is renewed, and must be
// stopped by something that keeps running when this process is frozen (a
// supervisor process with its own timer), since a frozen node can stop
// nothing while other nodes take over its runs.
type Lease struct {
	mu       sync.Mutex
	deadline time.Time
	// renewed is made when a task first asks for it (most never do), and
	// made anew after each renewal closes it.
	renewed chan struct{}
	ended   bool
}

// LeaseOf returns the lease of the run executing in ctx, or nil outside a
// run started by a Scheduler or by a worker (NewRunScope).
func LeaseOf(ctx context.Context) *Lease {
	l, _ := ctx.Value(leaseKey{}).(*Lease)
	return l
}

type leaseKey struct{}

// Deadline returns the instant, on this process's monotonic clock, by
// which the run's work must have stopped unless the lease is renewed.
func (l *Lease) Deadline() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline
}

// Renewed returns a channel closed at the lease's next renewal or when the
// run ends; call Deadline and Renewed again after it is closed. Once the
// run has ended (its context is done too) the channel stays closed.
func (l *Lease) Renewed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.renewed == nil {
		l.renewed = make(chan struct{})
		if l.ended {
			close(l.renewed)
		}
	}
	return l.renewed
}

func (l *Lease) renew(deadline time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended || !deadline.After(l.deadline) {
		return
	}
	l.deadline = deadline
	if l.renewed != nil {
		close(l.renewed)
		l.renewed = nil // the next Renewed makes one
	}
}

// end wakes whoever waits on Renewed for the last time: the channel stays
// closed.
func (l *Lease) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ended {
		l.ended = true
		if l.renewed != nil {
			close(l.renewed)
		}
	}
}

// heartbeat renews this node's leases every LeaseTTL/3 (or at once when
// asked) and marks the runs of dead nodes lost. It runs until Shutdown has
// waited for the workers, so runs finishing during a graceful shutdown
// keep their leases.
func (s *Scheduler) heartbeat() {
	defer close(s.beatDone)
	ticker := time.NewTicker(s.leaseTTL / 3)
	defer ticker.Stop()
	for {
		select {
		case <-s.beatStop:
			return
		case <-ticker.C:
		case <-s.beatNow:
		}
		s.renew()
	}
}

// requestRenewal makes the heartbeat renew at once and returns a channel
// closed when a renewal that started after this call has ended.
func (s *Scheduler) requestRenewal() <-chan struct{} {
	s.renewalMu.Lock()
	ch := s.renewalDone
	s.renewalMu.Unlock()
	select {
	case s.beatNow <- struct{}{}:
	default:
	}
	return ch
}

// renew is one heartbeat: measure the store's clock, renew the leases,
// stop the runs this node no longer holds, and reap dead nodes' runs.
func (s *Scheduler) renew() {
	s.renewalMu.Lock()
	done := s.renewalDone
	s.renewalDone = make(chan struct{})
	s.renewalMu.Unlock()
	defer close(done)

	s.measureClock()
	start := time.Now()
	now := s.now()
	req := HeartbeatRequest{Node: s.node.ID, Incarnation: s.node.Incarnation, Now: now, LeaseUntil: now.Add(s.leaseTTL),
		Runs: s.held.ids(), Standby: s.standby.Load() || s.leaving.Load()}
	ctx, cancel := context.WithTimeout(s.life, s.leaseTTL/3)
	res, err := s.store.Heartbeat(ctx, req)
	cancel()
	if err != nil {
		s.log.Error("renewing leases failed", "node", s.node.ID, "err", err)
		return
	}
	s.renewed(start, req.LeaseUntil, res)

	ctx, cancel = s.storeCtx()
	s.refreshPeers(ctx)
	cancel()

	ctx, cancel = s.storeCtx()
	lost, err := s.store.ReapLost(ctx, now)
	cancel()
	if err != nil {
		s.log.Error("looking for lost runs failed", "node", s.node.ID, "err", err)
		return
	}
	s.recover(lost)
}

// recover records and retries lost runs in a goroutine of its own, so that
// a slow store write (planRetry persists through outages) cannot hold up
// the heartbeat and let this node's own leases lapse.
func (s *Scheduler) recover(lost []Run) {
	if len(lost) == 0 {
		return
	}
	s.recovering.Add(1)
	go func() {
		defer s.recovering.Done()
		for i := range lost {
			s.handleLost(lost[i])
		}
	}()
}

// renewed applies a heartbeat's answer to the runs this node executes:
// renewed leases start again from the renewal's start; runs that were
// known before it and are no longer held are stopped, as are runs whose
// cancel was requested.
func (s *Scheduler) renewed(start, until time.Time, res HeartbeatResult) {
	held := make(map[string]bool, len(res.Held))
	for _, id := range res.Held {
		held[id] = true
	}
	cancels := make(map[string]bool, len(res.Cancel))
	for _, id := range res.Cancel {
		cancels[id] = true
	}
	s.held.mu.Lock()
	defer s.held.mu.Unlock()
	for id, x := range s.held.m {
		hd := &x.hold
		switch {
		case held[id]:
			if !start.After(hd.base) {
				// Claimed after this heartbeat began: the claim's lease is
				// the newer one.
				continue
			}
			hd.base, hd.until = start, until
			hd.lease.renew(start.Add(s.killAfter))
			if cancels[id] {
				hd.canceled = true
				if hd.stop != nil {
					hd.stop(errCanceled)
				}
			}
		case hd.known.Before(start):
			// The claim had returned before this heartbeat began, so the
			// heartbeat saw the run: the store no longer gives it to us.
			hd.lost = true
			if hd.stop != nil {
				hd.stop(errNotHeld)
			}
		}
	}
}

// fence stops, every LeaseTTL/16, the runs whose leases this node could not
// renew in time. It is a goroutine of its own so that a heartbeat stuck in
// a store call cannot delay it.
func (s *Scheduler) fence() {
	defer close(s.fenceDone)
	ticker := time.NewTicker(max(s.leaseTTL/16, time.Millisecond))
	defer ticker.Stop()
	for {
		select {
		case <-s.beatStop:
			return
		case <-ticker.C:
		}
		now := s.now()
		s.held.mu.Lock()
		for _, x := range s.held.m {
			if hd := &x.hold; hd.stop != nil && s.stale(hd, now) {
				hd.stop(errFenced)
			}
		}
		s.held.mu.Unlock()
	}
}

// measureClock measures this node's offset to the store's clock, when the
// store has one of its own, and adjusts s.now by it.
func (s *Scheduler) measureClock() {
	c, ok := s.store.(Clock)
	if !ok {
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	before := s.wall()
	storeNow, err := c.Now(ctx)
	after := s.wall()
	if err != nil {
		s.log.Warn("reading the store's clock failed", "node", s.node.ID, "err", err)
		return
	}
	offset := storeNow.Sub(before.Add(after.Sub(before) / 2))
	s.offset.Store(int64(offset))
	skewed := offset > s.maxSkew || offset < -s.maxSkew
	if s.skewed.Swap(skewed) != skewed || skewed && !s.skewLogged.Swap(true) {
		if skewed {
			s.log.Warn("this node's clock is off the store's; fires and leases follow the store's clock",
				"node", s.node.ID, "offset", offset, "max_clock_skew", s.maxSkew)
		} else {
			s.skewLogged.Store(false)
			s.log.Info("this node's clock agrees with the store's again", "node", s.node.ID, "offset", offset)
		}
	}
}

// storeCtx bounds one store call by Config.StoreTimeout within the
// scheduler's lifetime.
func (s *Scheduler) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.life, s.storeTimeout)
}

// handleLost records a run whose node died or restarted, and retries it if
// its job allows another attempt.
func (s *Scheduler) handleLost(run Run) {
	switch {
	case run.Status == StatusCanceled:
		s.logRun(slog.LevelInfo, "run canceled: its node stopped before it could", &run, "node", run.Node)
		s.publishRun(EventRunCanceled, &run)
	case run.ClaimedAt.IsZero():
		s.logRun(slog.LevelWarn, "run lost: the node it waited for did not take it in time", &run, "node", run.Node,
			"lease_until", run.LeaseUntil, "reason", run.Error)
		s.publishRun(EventRunLost, &run)
	default:
		s.logRun(slog.LevelWarn, "run lost: its node stopped renewing the lease", &run, "node", run.Node,
			"lease_until", run.LeaseUntil, "reason", run.Error)
		s.publishRun(EventRunLost, &run)
	}
	ctx, cancel := s.storeCtx()
	job, err := s.store.GetJob(ctx, run.JobID)
	cancel()
	if err != nil {
		return // removed since: nothing to retry or to schedule
	}
	opts := job.Options.resolve(s.defaults)
	if run.EndedAt.IsZero() {
		run.EndedAt = s.now()
	}
	retry := run.Status == StatusLost && run.Attempt < opts.MaxAttempts
	if retry {
		retry = s.planRetry(run, opts)
	}
	s.chain(run, opts, retry)
	s.afterEnd(run, opts, nil, !retry)
}

// describeLease is a log attribute value for a lease age.
func describeLease(age, ttl time.Duration) string {
	return fmt.Sprintf("%s of %s", age.Round(time.Millisecond), ttl)
}
