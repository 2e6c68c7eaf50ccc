package storetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// Broadcast runs broadcast jobs on schedulers sharing the stores (handles
// on one database, or one store given several times), in real time:
//
//   - on three nodes a fire is three shards, 0..2 of 3, one on each node in
//     the order of their IDs, each executed once, and one complete fire:
//     its chain starts once;
//   - a node that shuts down is out of the next fires (2 shards), two
//     that join are in them (4);
//   - a node that dies in the middle of its shard loses it at the end of
//     its lease, and another node runs the shard's retry;
//   - while a shard of a fire still runs, the next fires are skipped, and
//     no two fires' shards ever run at once.
func Broadcast(t *testing.T, stores []sundial.Store) {
	t.Run("Membership", func(t *testing.T) { broadcastMembership(t, stores) })
	t.Run("DeadNode", func(t *testing.T) { broadcastDeadNode(t, stores) })
	t.Run("Overlap", func(t *testing.T) { broadcastOverlap(t, stores) })
}

// broadcastLease is the nodes' lease: they renew every third of it, and
// learn of each other as often.
const broadcastLease = 2 * time.Second

// startNodes starts a scheduler for each ID, on the stores in turn, with
// the tasks that register registers; Shutdown at the end of the test
// stops those still running.
func startNodes(t *testing.T, stores []sundial.Store, register func(*sundial.Scheduler), ids ...string) map[string]*sundial.Scheduler {
	t.Helper()
	out := map[string]*sundial.Scheduler{}
	for i, id := range ids {
		s, err := sundial.New(sundial.Config{Store: stores[i%len(stores)], NodeID: id, LeaseTTL: broadcastLease, Workers: 4,
			MaxSleep: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		register(s)
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s.Shutdown(ctx)
		})
		out[id] = s
	}
	return out
}

// tally counts the executions of each run (by fire key and attempt) and
// notes fires whose shards ran at the same time as another fire's.
type tally struct {
	mu        sync.Mutex
	ran       map[string]int
	executing map[time.Time]int
	overlaps  []string
}

func (c *tally) start(r sundial.Run) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ran == nil {
		c.ran, c.executing = map[string]int{}, map[time.Time]int{}
	}
	c.ran[fmt.Sprintf("%s#%d", r.FireKey(), r.Attempt)]++
	for f, n := range c.executing {
		if n > 0 && !f.Equal(r.ScheduledAt) {
			c.overlaps = append(c.overlaps, fmt.Sprintf("%s started while a shard of the fire at %s ran", r.FireKey(), f.Format(time.StampMilli)))
		}
	}
	c.executing[r.ScheduledAt]++
}

func (c *tally) end(r sundial.Run) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.executing[r.ScheduledAt]--
}

// check fails the test for a run executed more than once, a started run
// not executed once, and an overlap.
func (c *tally) check(t *testing.T, runs []sundial.Run) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range runs {
		key := fmt.Sprintf("%s#%d", r.FireKey(), r.Attempt)
		if n := c.ran[key]; n > 1 || !r.StartedAt.IsZero() && n != 1 {
			t.Errorf("%s (%s) was executed %d times", key, r.Status, n)
		}
	}
	for _, o := range c.overlaps {
		t.Error(o)
	}
}

// fire is the last attempt of each shard of one broadcast fire.
type fire struct {
	at     time.Time
	shards []sundial.Run
}

// complete reports whether every shard of the fire is recorded and
// succeeded.
func (f fire) complete() bool {
	for _, r := range f.shards {
		if r.ID == "" || r.Status != sundial.StatusSucceeded {
			return false
		}
	}
	return len(f.shards) > 0
}

// nodes returns the nodes the fire's shards ran on, in shard order.
func (f fire) nodes() string {
	var ids []string
	for _, r := range f.shards {
		ids = append(ids, r.Node)
	}
	return strings.Join(ids, ",")
}

// fires reads a broadcast job's fires, earliest first, checking that each
// is whole: every shard of one total, each index once per attempt.
func fires(t *testing.T, s sundial.Store, jobID string) []fire {
	t.Helper()
	runs, err := s.ListRuns(context.Background(), sundial.RunFilter{JobID: jobID})
	if err != nil {
		t.Fatal(err)
	}
	byTime := map[time.Time]*fire{}
	seen := map[string]bool{}
	var out []*fire
	for _, r := range runs {
		if r.Shard == nil {
			continue // a skipped or missed fire
		}
		f := byTime[r.ScheduledAt]
		if f == nil {
			f = &fire{at: r.ScheduledAt, shards: make([]sundial.Run, r.Shard.Total)}
			byTime[r.ScheduledAt] = f
			out = append(out, f)
		}
		key := fmt.Sprintf("%s#%d", r.FireKey(), r.Attempt)
		if r.Shard.Total != len(f.shards) || r.Shard.Index < 0 || r.Shard.Index >= r.Shard.Total || seen[key] {
			t.Fatalf("the fire at %s has shard %d of %d (attempt %d) among %d shards", r.ScheduledAt.Format(time.StampMilli),
				r.Shard.Index, r.Shard.Total, r.Attempt, len(f.shards))
		}
		seen[key] = true
		if r.Attempt > f.shards[r.Shard.Index].Attempt {
			f.shards[r.Shard.Index] = r
		}
	}
	slices.SortFunc(out, func(a, b *fire) int { return a.at.Compare(b.at) })
	var list []fire
	for _, f := range out {
		list = append(list, *f)
	}
	return list
}

// awaitFire waits for a complete fire later than after with total shards
// and returns it.
func awaitFire(t *testing.T, s sundial.Store, jobID string, after time.Time, total int) fire {
	t.Helper()
	var got fire
	waitFor(t, 30*time.Second, fmt.Sprintf("a complete fire of %d shards", total), func() (bool, string) {
		var seen []string
		for _, f := range fires(t, s, jobID) {
			seen = append(seen, fmt.Sprintf("%s: %d shards on %s", f.at.Format(time.StampMilli), len(f.shards), f.nodes()))
			if f.at.After(after) && len(f.shards) == total && f.complete() {
				got = f
				return true, ""
			}
		}
		return false, strings.Join(seen, "; ")
	})
	return got
}

func broadcastMembership(t *testing.T, stores []sundial.Store) {
	ctx := context.Background()
	var c tally
	var chainMu sync.Mutex
	chained := map[time.Time]int{} // upstream fire → chained runs executed
	register := func(s *sundial.Scheduler) {
		s.Register("shard", func(_ context.Context, r sundial.Run) (any, error) {
			c.start(r)
			defer c.end(r)
			return r.Shard.Index, nil
		})
		s.Register("after", func(_ context.Context, r sundial.Run) (any, error) {
			chainMu.Lock()
			defer chainMu.Unlock()
			if r.Upstream != nil && r.JobID == "m-after" {
				chained[r.Upstream.ScheduledAt]++
			}
			return nil, nil
		})
	}
	nodes := startNodes(t, stores, register, "m-a", "m-b", "m-c")
	a, store := nodes["m-a"], stores[0]
	if _, err := a.AddJob(ctx, sundial.Job{ID: "m-after", Task: "after", Trigger: trigger.None()}); err != nil {
		t.Fatal(err)
	}
	// The first fire comes once every node has heard of the others.
	start := time.Now().Add(2 * broadcastLease / 3)
	if _, err := a.AddJob(ctx, sundial.Job{ID: "m-bc", Task: "shard", Trigger: trigger.Every(1500*time.Millisecond, trigger.From(start)),
		Options: sundial.JobOptions{Broadcast: true, Then: []sundial.Chain{{Job: "m-after"}}}}); err != nil {
		t.Fatal(err)
	}
	three := awaitFire(t, store, "m-bc", time.Time{}, 3)
	if got := three.nodes(); got != "m-a,m-b,m-c" {
		t.Errorf("the fire at %s ran on %s, want m-a,m-b,m-c (shard i on the i-th node by ID)", three.at.Format(time.StampMilli), got)
	}
	waitFor(t, 10*time.Second, "the chain after the fire", func() (bool, string) {
		chainMu.Lock()
		defer chainMu.Unlock()
		return chained[three.at] > 0, fmt.Sprint(chained)
	})

	if err := nodes["m-c"].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	left := time.Now()
	two := awaitFire(t, store, "m-bc", left, 2)
	if got := two.nodes(); got != "m-a,m-b" {
		t.Errorf("after m-c shut down, the fire at %s ran on %s, want m-a,m-b", two.at.Format(time.StampMilli), got)
	}

	more := startNodes(t, stores, register, "m-d", "m-e")
	four := awaitFire(t, store, "m-bc", two.at, 4)
	if got := four.nodes(); got != "m-a,m-b,m-d,m-e" {
		t.Errorf("after m-d and m-e joined, the fire at %s ran on %s, want m-a,m-b,m-d,m-e", four.at.Format(time.StampMilli), got)
	}
	for _, f := range fires(t, store, "m-bc") {
		if f.at.After(two.at) && f.at.Before(four.at) && len(f.shards) != 2 && len(f.shards) != 4 {
			t.Errorf("the fire at %s, after m-c left, has %d shards", f.at.Format(time.StampMilli), len(f.shards))
		}
	}
	a.PauseJob(ctx, "m-bc")
	// A fire recorded before the pause still runs, and a complete fire's
	// chain starts just after the record that completes it: the nodes stop
	// only once both are done, or a chained run would wait for the next
	// node to come.
	waitFor(t, 20*time.Second, "the fires in flight and their chains", func() (bool, string) {
		for _, job := range []string{"m-bc", "m-after"} {
			runs, err := store.ListRuns(ctx, sundial.RunFilter{JobID: job})
			if err != nil {
				return false, err.Error()
			}
			for _, r := range runs {
				if r.Status.Active() {
					return false, describeRun(r) + " is not over"
				}
			}
		}
		chainMu.Lock()
		defer chainMu.Unlock()
		for _, f := range fires(t, store, "m-bc") {
			if f.complete() && chained[f.at] == 0 {
				return false, fmt.Sprintf("the fire at %s is complete and its chain has not run", f.at.Format(time.StampMilli))
			}
		}
		return true, ""
	})
	for _, s := range append(slices.Collect(mapValues(nodes)), slices.Collect(mapValues(more))...) {
		s.Shutdown(ctx)
	}
	runs, _ := store.ListRuns(ctx, sundial.RunFilter{JobID: "m-bc"})
	c.check(t, runs)
	chainMu.Lock()
	defer chainMu.Unlock()
	for _, f := range fires(t, store, "m-bc") {
		if want := map[bool]int{true: 1, false: 0}[f.complete()]; chained[f.at] != want {
			t.Errorf("the fire at %s (complete: %v) started the chain %d times, want %d", f.at.Format(time.StampMilli), f.complete(), chained[f.at], want)
		}
	}
}

// describeRun is a run in one line, for a failure's message.
func describeRun(r sundial.Run) string {
	s := fmt.Sprintf("%s %s attempt %d %s on %s, scheduled %s, ended %s", r.ID, r.JobID, r.Attempt, r.Status, r.Node,
		r.ScheduledAt.Format(time.StampMicro), r.EndedAt.Format(time.StampMicro))
	if r.Shard != nil {
		s += fmt.Sprintf(", shard %d of %d", r.Shard.Index, r.Shard.Total)
	}
	if r.Upstream != nil {
		s += fmt.Sprintf(", after %s (%s)", r.Upstream.ID, r.Upstream.Status)
	}
	return s
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// partitioned is a store that a node loses when cut: every call fails,
// as for a node that died or lost the network.
type partitioned struct {
	sundial.Store
	cut atomic.Bool
}

var errCut = errors.New("connection refused")

func (p *partitioned) fail() bool { return p.cut.Load() }

func (p *partitioned) NextWake(ctx context.Context, node string) (time.Time, error) {
	if p.fail() {
		return time.Time{}, errCut
	}
	return p.Store.NextWake(ctx, node)
}

func (p *partitioned) Claim(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	if p.fail() {
		return nil, errCut
	}
	return p.Store.Claim(ctx, req, plan)
}

func (p *partitioned) CreateRun(ctx context.Context, r sundial.Run) error {
	if p.fail() {
		return errCut
	}
	return p.Store.CreateRun(ctx, r)
}

func (p *partitioned) UpdateRun(ctx context.Context, r sundial.Run) error {
	if p.fail() {
		return errCut
	}
	return p.Store.UpdateRun(ctx, r)
}

func (p *partitioned) GetJob(ctx context.Context, id string) (sundial.Job, error) {
	if p.fail() {
		return sundial.Job{}, errCut
	}
	return p.Store.GetJob(ctx, id)
}

func (p *partitioned) ListRuns(ctx context.Context, f sundial.RunFilter) ([]sundial.Run, error) {
	if p.fail() {
		return nil, errCut
	}
	return p.Store.ListRuns(ctx, f)
}

func (p *partitioned) Heartbeat(ctx context.Context, req sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	if p.fail() {
		return sundial.HeartbeatResult{}, errCut
	}
	return p.Store.Heartbeat(ctx, req)
}

func (p *partitioned) ReapLost(ctx context.Context, now time.Time) ([]sundial.Run, error) {
	if p.fail() {
		return nil, errCut
	}
	return p.Store.ReapLost(ctx, now)
}

func (p *partitioned) ListNodes(ctx context.Context) ([]sundial.Node, error) {
	if p.fail() {
		return nil, errCut
	}
	return p.Store.ListNodes(ctx)
}

func (p *partitioned) PromoteQueued(ctx context.Context, jobID string, now time.Time) (bool, error) {
	if p.fail() {
		return false, errCut
	}
	return p.Store.PromoteQueued(ctx, jobID, now)
}

func broadcastDeadNode(t *testing.T, stores []sundial.Store) {
	ctx := context.Background()
	var c tally
	var chainedRuns atomic.Int32
	var chainMu sync.Mutex
	var chainLog []string // each chained execution, for a failure's message
	started := make(chan struct{})
	var once sync.Once
	register := func(s *sundial.Scheduler) {
		s.Register("shard", func(ctx context.Context, r sundial.Run) (any, error) {
			c.start(r)
			defer c.end(r)
			if r.Node == "k-v" && r.Attempt == 1 {
				once.Do(func() { close(started) })
				<-ctx.Done() // until its node stops it (it cannot renew)
				return nil, ctx.Err()
			}
			return nil, nil
		})
		s.Register("after", func(_ context.Context, r sundial.Run) (any, error) {
			if r.JobID != "k-after" {
				return nil, nil // a run the subtests before left on the shared store
			}
			chainedRuns.Add(1)
			chainMu.Lock()
			defer chainMu.Unlock()
			chainLog = append(chainLog, describeRun(r))
			return nil, nil
		})
	}
	nodes := startNodes(t, stores, register, "k-a", "k-b")
	dead := &partitioned{Store: stores[2%len(stores)]}
	victim := startNodes(t, []sundial.Store{dead}, register, "k-v")["k-v"]
	a, store := nodes["k-a"], stores[0]
	a.AddJob(ctx, sundial.Job{ID: "k-after", Task: "after", Trigger: trigger.None()})
	at := time.Now().Add(2 * broadcastLease / 3).UTC().Truncate(time.Millisecond)
	if _, err := a.AddJob(ctx, sundial.Job{ID: "k-bc", Task: "shard", Trigger: trigger.At(at),
		Options: sundial.JobOptions{Broadcast: true, MaxAttempts: 2, RetryBackoff: 100 * time.Millisecond,
			Then: []sundial.Chain{{Job: "k-after"}}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatalf("k-v did not start its shard; fires: %+v", fires(t, store, "k-bc"))
	}
	dead.cut.Store(true)
	f := awaitFire(t, store, "k-bc", time.Time{}, 3)
	runs, _ := store.ListRuns(ctx, sundial.RunFilter{JobID: "k-bc"})
	var lost, retried []sundial.Run
	for _, r := range runs {
		switch {
		case r.Status == sundial.StatusLost:
			lost = append(lost, r)
		case r.Attempt == 2:
			retried = append(retried, r)
		}
	}
	if len(lost) != 1 || lost[0].Node != "k-v" || len(retried) != 1 || retried[0].Node == "k-v" ||
		*retried[0].Shard != *lost[0].Shard || retried[0].Status != sundial.StatusSucceeded {
		t.Errorf("lost %+v, retried %+v; want k-v's shard lost and its retry, the same shard, succeeded on another node", lost, retried)
	}
	waitFor(t, 10*time.Second, "the chain after the fire", func() (bool, string) { return chainedRuns.Load() > 0, "" })
	dead.cut.Store(false) // k-v's late writes are refused rather than retried
	victim.Shutdown(ctx)
	for _, s := range nodes {
		s.Shutdown(ctx)
	}
	runs, _ = store.ListRuns(ctx, sundial.RunFilter{JobID: "k-bc"})
	if got := chainedRuns.Load(); got != 1 {
		chainMu.Lock()
		defer chainMu.Unlock()
		var shards []string
		for _, r := range runs {
			shards = append(shards, describeRun(r))
		}
		t.Errorf("the chain ran %d times after the fire at %s, want once:\n%s\nthe fire's shards:\n%s", got, f.at.Format(time.StampMilli),
			strings.Join(chainLog, "\n"), strings.Join(shards, "\n"))
	}
	for _, r := range runs {
		if r.ID == lost[0].ID && r.Status != sundial.StatusLost {
			t.Errorf("k-v's late outcome overwrote its lost shard: %s", r.Status)
		}
	}
	c.check(t, runs)
}

func broadcastOverlap(t *testing.T, stores []sundial.Store) {
	ctx := context.Background()
	var c tally
	release := make(chan struct{})
	held := make(chan time.Time, 1)
	register := func(s *sundial.Scheduler) {
		s.Register("shard", func(ctx context.Context, r sundial.Run) (any, error) {
			c.start(r)
			defer c.end(r)
			if r.Node == "o-b" {
				select {
				case held <- r.ScheduledAt: // the first fire's shard on o-b holds on
					select {
					case <-release:
					case <-ctx.Done():
					}
				default:
				}
			}
			return nil, nil
		})
	}
	nodes := startNodes(t, stores, register, "o-a", "o-b")
	a, store := nodes["o-a"], stores[0]
	start := time.Now().Add(2 * broadcastLease / 3)
	if _, err := a.AddJob(ctx, sundial.Job{ID: "o-bc", Task: "shard", Trigger: trigger.Every(300*time.Millisecond, trigger.From(start)),
		Options: sundial.JobOptions{Broadcast: true}}); err != nil {
		t.Fatal(err)
	}
	var first time.Time
	select {
	case first = <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("no shard started on o-b")
	}
	waitFor(t, 30*time.Second, "two fires skipped while a shard runs", func() (bool, string) {
		runs, _ := store.ListRuns(ctx, sundial.RunFilter{JobID: "o-bc", Status: sundial.StatusSkipped})
		return len(runs) >= 2, fmt.Sprintf("%d skipped", len(runs))
	})
	close(release)
	awaitFire(t, store, "o-bc", first, 2)
	a.PauseJob(ctx, "o-bc")
	for _, s := range nodes {
		s.Shutdown(ctx)
	}
	runs, _ := store.ListRuns(ctx, sundial.RunFilter{JobID: "o-bc"})
	for _, r := range runs {
		if r.Status == sundial.StatusSkipped && !strings.Contains(r.Error, "max instances (1) already running") {
			t.Errorf("a fire skipped because %q", r.Error)
		}
	}
	c.check(t, runs)
}
