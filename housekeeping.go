package sundial

import "time"

// housekeeping prunes the run history soon after start and every
// Retention.Interval, and saves
// the output of executing runs every OutputFlush, apart from the heartbeat
// so that neither can delay a lease renewal.
func (s *Scheduler) housekeeping() {
	defer close(s.housekeepingDone)
	prune := time.NewTicker(s.keep.Interval)
	defer prune.Stop()
	// The output of executing runs is saved for followers elsewhere when
	// the store can keep it.
	var flush <-chan time.Time
	writer, canFlush := s.store.(RunOutputWriter)
	if canFlush && s.outputFlush > 0 {
		t := time.NewTicker(s.outputFlush)
		defer t.Stop()
		flush = t.C
	}
	saved := map[string]uint64{}
	// A first pass soon after start — the store learns the bound (an
	// in-memory one applies it as runs end) and a node that was down
	// prunes its backlog — but not at once, where it would contend with
	// the first claim for SQLite's write lock.
	first := time.NewTimer(min(s.keep.Interval, s.leaseTTL/3))
	defer first.Stop()
	sweep := time.NewTicker(chainSweepEvery)
	defer sweep.Stop()
	swept := s.now().Add(-chainSweepFirst - chainSweepLag) // the ends the next sweep starts from
	for {
		select {
		case <-s.beatStop:
			return
		case <-first.C:
			s.prune()
			swept = s.sweepChainsFrom(swept)
		case <-sweep.C:
			swept = s.sweepChainsFrom(swept)
		case <-prune.C:
			s.prune()
		case <-flush:
			s.flushOutputs(writer, saved)
		}
	}
}

// prune applies the retention policy.
func (s *Scheduler) prune() {
	var olderThan time.Time
	if s.keep.MaxAge > 0 {
		olderThan = s.now().Add(-s.keep.MaxAge)
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	n, err := s.store.PruneRuns(ctx, olderThan, max(s.keep.PerJob, 0))
	if err != nil {
		s.log.Error("pruning run history failed", "node", s.node.ID, "err", err)
		return
	}
	if n > 0 {
		s.log.Info("pruned run history", "node", s.node.ID, "runs", n)
	}
	forgot, err := s.store.ForgetNodes(ctx, s.now().Add(-NodeMemory))
	if err != nil {
		s.log.Error("forgetting old nodes failed", "node", s.node.ID, "err", err)
	} else if forgot > 0 {
		s.log.Info("forgot nodes and worker sessions not seen for a while", "node", s.node.ID, "nodes", forgot, "after", NodeMemory)
	}
}

// NodeMemory is how long the store keeps the record of a node or worker
// session that is no longer seen (and that no unfinished run names).
const NodeMemory = 72 * time.Hour

// flushOutputs saves the output of executing runs that wrote since the
// last save, so that followers in other processes see it grow. The writes
// carry this node's incarnation: a run it no longer holds is not written.
func (s *Scheduler) flushOutputs(w RunOutputWriter, saved map[string]uint64) {
	// Read under the holdings' lock, written after it: a store write must
	// not hold up the heartbeat or the fence.
	live := s.held.outputs(nil)
	seen := make(map[string]bool, len(live))
	for _, l := range live {
		seen[l.id] = true
		text, writes, _ := l.out.snapshot()
		if writes == saved[l.id] {
			continue
		}
		ctx, cancel := s.storeCtx()
		err := w.UpdateRunOutput(ctx, l.id, s.node.Incarnation, text)
		cancel()
		if err != nil && s.life.Err() == nil {
			s.log.Warn("saving a running run's output failed", "run_id", l.id, "err", err)
			continue
		}
		saved[l.id] = writes
	}
	for id := range saved {
		if !seen[id] {
			delete(saved, id)
		}
	}
}

// sweepChainsFrom sweeps for unstarted chains over the ends since from
// that are chainSweepLag old, and returns where the next sweep starts:
// where this one stopped, or from again when it could not finish.
func (s *Scheduler) sweepChainsFrom(from time.Time) time.Time {
	until := s.now().Add(-chainSweepLag)
	if !until.After(from) || !s.sweepChains(from, until) {
		return from
	}
	return until
}
