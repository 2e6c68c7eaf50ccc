package sundial

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"time"
)

// Broadcast jobs (JobOptions.Broadcast): each fire runs on every live node
// of the job's queue, one shard each.
//
//   - Which nodes: those the store saw within a lease (Node.LastSeen) that
//     are not in standby and serve the job's queue, ordered by ID; shard i
//     runs on the i-th. Each node keeps the list from its heartbeat
//     (peers), so that a claim costs no extra query; a node that joins is
//     in the fires claimed a heartbeat later, one that shuts down or goes
//     to standby is out of them a heartbeat later, and one that dies is
//     out of them a lease later.
//   - The claim records every shard of the fire in its atomic step
//     (planFires): the claiming node's own shard executes at once, the
//     others wait, scheduled, for their nodes (Run.Node). Only that node
//     claims a shard that waits for it; its heartbeats keep the shard's
//     pick-up deadline (Run.LeaseUntil) ahead. A node that dies or leaves
//     before taking its shard lets the deadline pass: the shard is lost
//     and retried as the job allows, by any node.
//   - Shards are runs like any other: leased, fenced, retried (keeping
//     their index) and recorded one by one; their unique key holds their
//     index, so no shard of a fire is recorded twice.
//   - A fire is complete when every shard has ended for good (shardEnded).
//     The end of a shard is written before its fire is read, so that of
//     several shards ending at once on several nodes at least one sees the
//     fire complete; what completion starts is keyed so that two nodes
//     seeing it start it once.

// refreshPeers keeps the store's list of nodes, for broadcast fires.
func (s *Scheduler) refreshPeers(ctx context.Context) {
	nodes, err := s.store.ListNodes(ctx)
	if err != nil {
		s.log.Warn("listing nodes failed; broadcast fires keep the last list", "node", s.node.ID, "err", err)
		return
	}
	s.peers.Store(&nodes)
}

// broadcastNodes returns the nodes a broadcast fire of a job in queue runs
// on, by ID: the live nodes of the queue as this node last heard of them,
// and this node itself while it takes work.
func (s *Scheduler) broadcastNodes(queue string) []string {
	var nodes []Node
	if p := s.peers.Load(); p != nil {
		nodes = *p
	}
	ids := liveNodes(nodes, queue, s.now(), s.leaseTTL, s.node.ID)
	if !s.standby.Load() && !s.leaving.Load() && serves(s.node.Queues, queue) {
		i, _ := slices.BinarySearch(ids, s.node.ID)
		ids = slices.Insert(ids, i, s.node.ID)
	}
	return ids
}

// liveNodes returns, sorted, the IDs of the nodes but except that were seen
// within ttl before now, are not in standby and serve queue.
func liveNodes(nodes []Node, queue string, now time.Time, ttl time.Duration, except string) []string {
	var ids []string
	for _, n := range nodes {
		if n.ID != except && n.Kind == NodeScheduler && !n.Standby && now.Sub(n.LastSeen) <= ttl && serves(n.Queues, queue) {
			ids = append(ids, n.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// serves reports whether a node of queues (all when empty) serves queue.
func serves(queues []string, queue string) bool {
	return len(queues) == 0 || slices.Contains(queues, queue)
}

// shards returns the runs of a broadcast fire for base, one per node, each
// scheduled at base.NotBefore and waiting for its node until a lease from
// now; with no node, one shard that any node may take.
func (s *Scheduler) shards(base Run, nodes []string) []Run {
	if len(nodes) == 0 {
		base.Shard = &Shard{Index: 0, Total: 1}
		return []Run{base}
	}
	pickUpBy := s.now().Add(s.leaseTTL)
	out := make([]Run, len(nodes))
	for i, node := range nodes {
		sh := base.Clone()
		if i > 0 {
			sh.ID = newID()
		}
		sh.Shard = &Shard{Index: i, Total: len(nodes)}
		sh.Node, sh.LeaseUntil = node, pickUpBy
		out[i] = sh
	}
	return out
}

// recordFire records a fire that starts outside a claim (a chained run):
// base itself, or for a broadcast job one shard per live node. Shard 0 is
// recorded first: when it was recorded already (ErrDuplicateRun), another
// node recorded this fire and nothing more is.
func (s *Scheduler) recordFire(base Run, job Job) ([]Run, error) {
	runs := []Run{base}
	if job.Options.Broadcast {
		runs = s.shards(base, s.broadcastNodes(job.Queue))
	}
	for i := range runs {
		err := s.persist(func(ctx context.Context) error { return s.store.CreateRun(ctx, runs[i]) }, &runs[i], "recording a run")
		switch {
		case errors.Is(err, ErrDuplicateRun) && i > 0:
			continue
		case err != nil:
			return runs[:i], err
		}
	}
	return runs, nil
}

// sameFire reports whether two shards belong to one fire: the same job,
// fire time, origin (trigger, manual, chain or backfill) and number of
// shards.
func sameFire(a, b Run) bool {
	upstream := func(r Run) string {
		if r.Upstream == nil {
			return ""
		}
		return r.Upstream.ID
	}
	return a.Shard != nil && b.Shard != nil && a.Shard.Total == b.Shard.Total && a.JobID == b.JobID &&
		a.ScheduledAt.Equal(b.ScheduledAt) && a.Manual == b.Manual && a.Backfill == b.Backfill && upstream(a) == upstream(b)
}

// shardEnded is called once a shard's end is recorded and no retry
// follows it. When every shard of its fire has ended for good, the fire
// is complete: its chains start (once, however many nodes see it
// complete), a queued fire of the job may start, and a fixed-delay job's
// next fire counts from the last shard's end.
func (s *Scheduler) shardEnded(run Run, opts JobOptions) {
	shards := s.fireShards(run, opts)
	if shards == nil {
		return
	}
	last := shards[0]
	for _, r := range shards[1:] {
		if r.EndedAt.After(last.EndedAt) || r.EndedAt.Equal(last.EndedAt) && r.ID > last.ID {
			last = r
		}
	}
	s.logRun(slog.LevelInfo, "broadcast fire complete", &run, "scheduled_at", run.ScheduledAt, "shards", len(shards))
	if len(opts.Then) > 0 {
		results := make([]json.RawMessage, len(shards))
		for i, r := range shards {
			results[i] = r.Result
		}
		all, _ := json.Marshal(results)
		// Keyed by the shard that ended last: the same run for every node
		// that sees the fire complete, so the chained run is recorded once.
		up := UpstreamRun{ID: last.ID, JobID: run.JobID, ScheduledAt: run.ScheduledAt, Status: fireStatus(shards), Result: all}
		s.startChains(&run, opts.Then, up, last.EndedAt, time.Time{})
	}
	if opts.FixedDelay && !run.Manual {
		s.scheduleAfterRun(run.JobID, last.EndedAt)
	}
	if opts.Overlap == OverlapQueue {
		ctx, cancel := s.storeCtx()
		defer cancel()
		if promoted, err := s.store.PromoteQueued(ctx, run.JobID, s.now()); err != nil {
			s.logRun(slog.LevelError, "promoting a queued fire failed", &run, "err", err)
		} else if promoted {
			s.signal()
		}
	}
}

// fireShards returns the last attempt of every shard of run's fire, in
// index order, when each has ended for good; nil while one has not: it is
// waiting or executing, or it was lost and its recovery will plan its
// next attempt. (A shard that fails on its node has its next attempt
// recorded before its end, so an end without a later attempt is final.)
func (s *Scheduler) fireShards(run Run, opts JobOptions) []Run {
	var runs []Run
	err := s.persist(func(ctx context.Context) error {
		var err error
		runs, err = s.store.ListRuns(ctx, RunFilter{JobID: run.JobID, Since: run.ScheduledAt, Until: run.ScheduledAt.Add(time.Microsecond)})
		return err
	}, &run, "reading a broadcast fire")
	if err != nil {
		return nil
	}
	latest := make([]Run, run.Shard.Total)
	for _, r := range runs {
		if sameFire(r, run) && r.Shard.Index < len(latest) && r.Attempt > latest[r.Shard.Index].Attempt {
			latest[r.Shard.Index] = r
		}
	}
	for _, r := range latest {
		switch {
		case r.ID == "", r.Status.Active():
			return nil
		case r.ID != run.ID && r.Status == StatusLost && r.Attempt < opts.MaxAttempts:
			return nil
		}
	}
	return latest
}

// fireStatus is a broadcast fire's outcome, for its chains: succeeded when
// every shard succeeded, else the status of the first shard that failed
// (failed, timed out, interrupted or lost), else of the first that did
// not run (canceled, missed), which starts no chain.
func fireStatus(shards []Run) RunStatus {
	status := StatusSucceeded
	for _, r := range shards {
		switch r.Status {
		case StatusSucceeded:
		case StatusFailed, StatusTimedOut, StatusInterrupted, StatusLost:
			return r.Status
		default:
			if status == StatusSucceeded {
				status = r.Status
			}
		}
	}
	return status
}
