package sundial_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/trigger"
)

// Broadcast jobs in fake time: several schedulers, one store.

// nodes is a set of schedulers sharing one store, each registering the
// same tasks.
type nodes struct {
	t        *testing.T
	store    sundial.Store
	register func(s *sundial.Scheduler)
	cfg      sundial.Config
	running  map[string]*sundial.Scheduler
}

func newNodes(t *testing.T, cfg sundial.Config, register func(s *sundial.Scheduler)) *nodes {
	n := &nodes{t: t, store: memstore.New(memstore.Options{}), register: register, cfg: cfg, running: map[string]*sundial.Scheduler{}}
	t.Cleanup(func() {
		for _, s := range n.running {
			s.Shutdown(context.Background())
		}
	})
	return n
}

// start starts a node on the store (or on the one given).
func (n *nodes) start(id string, store ...sundial.Store) *sundial.Scheduler {
	n.t.Helper()
	cfg := n.cfg
	cfg.NodeID, cfg.Store, cfg.Logger = id, n.store, slog.New(slog.DiscardHandler)
	if len(store) > 0 {
		cfg.Store = store[0]
	}
	s, err := sundial.New(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	n.register(s)
	if err := s.Start(context.Background()); err != nil {
		n.t.Fatal(err)
	}
	n.running[id] = s
	return s
}

func (n *nodes) stop(id string) {
	n.t.Helper()
	if err := n.running[id].Shutdown(context.Background()); err != nil {
		n.t.Fatal(err)
	}
	delete(n.running, id)
}

func (n *nodes) runs(jobID string, at time.Time) []sundial.Run {
	n.t.Helper()
	f := sundial.RunFilter{JobID: jobID}
	if !at.IsZero() {
		f.Since, f.Until = at, at.Add(time.Microsecond)
	}
	runs, err := n.store.ListRuns(context.Background(), f)
	if err != nil {
		n.t.Fatal(err)
	}
	slices.SortFunc(runs, func(a, b sundial.Run) int {
		return cmpRuns(a, b)
	})
	return runs
}

// cmpRuns orders runs by fire, then shard, then attempt.
func cmpRuns(a, b sundial.Run) int {
	if c := a.ScheduledAt.Compare(b.ScheduledAt); c != 0 {
		return c
	}
	if c := a.ShardOrWhole().Index - b.ShardOrWhole().Index; c != 0 {
		return c
	}
	return a.Attempt - b.Attempt
}

// describe renders runs as "shard/total status on node" lines, attempts
// after the first marked.
func describe(runs []sundial.Run) string {
	var lines []string
	for _, r := range runs {
		sh := r.ShardOrWhole()
		line := fmt.Sprintf("%s %d/%d %s on %s", r.ScheduledAt.Format("15:04:05"), sh.Index, sh.Total, r.Status, r.Node)
		if r.Shard == nil {
			line = fmt.Sprintf("%s %s", r.ScheduledAt.Format("15:04:05"), r.Status)
		}
		if r.Attempt > 1 {
			line += fmt.Sprintf(" (attempt %d)", r.Attempt)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// executions counts each run's executions, by fire key and attempt.
type executions struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *executions) add(r sundial.Run) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[fmt.Sprintf("%s#%d", r.FireKey(), r.Attempt)]++
}

// once checks that every run was executed once if it started, never if
// it did not (a lost run may have started without its node recording it).
func (e *executions) once(t *testing.T, runs []sundial.Run) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range runs {
		key := fmt.Sprintf("%s#%d", r.FireKey(), r.Attempt)
		switch n := e.n[key]; {
		case !r.StartedAt.IsZero() && n != 1, r.StartedAt.IsZero() && r.Status != sundial.StatusLost && n != 0, n > 1:
			t.Errorf("%s (%s, started %v) was executed %d times", key, r.Status, !r.StartedAt.IsZero(), n)
		}
	}
}

// TestBroadcastFollowsTheNodes: a broadcast job's fire runs one shard on
// each live node, shard i on the i-th node by ID, each once; a fire is
// complete when all its shards are, and its chain starts once, with every
// shard's result. A node that shuts down or goes to standby is left out
// of the next fire; one that joins is in it.
func TestBroadcastFollowsTheNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran executions
		var afterMu sync.Mutex
		var after []sundial.Run
		n := newNodes(t, sundial.Config{}, func(s *sundial.Scheduler) {
			s.Register("shard", func(ctx context.Context, r sundial.Run) (any, error) {
				ran.add(r)
				return map[string]string{"node": r.Node}, nil
			})
			s.Register("after", func(ctx context.Context, r sundial.Run) (any, error) {
				afterMu.Lock()
				defer afterMu.Unlock()
				after = append(after, r)
				return nil, nil
			})
		})
		a := n.start("a")
		n.start("b")
		n.start("c")
		time.Sleep(10 * time.Second) // every node has heard of every other
		ctx := context.Background()
		if _, err := a.AddJob(ctx, sundial.Job{ID: "after", Task: "after", Trigger: trigger.None()}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.AddJob(ctx, sundial.Job{ID: "bc", Task: "shard", Trigger: cron("* * * * *"),
			Options: sundial.JobOptions{Broadcast: true, Then: []sundial.Chain{{Job: "after"}}}}); err != nil {
			t.Fatal(err)
		}
		fire := func(minute int) time.Time { return epoch.Add(time.Duration(minute) * time.Minute) }

		time.Sleep(time.Minute + 30*time.Second - 10*time.Second) // 00:01:30
		runs := n.runs("bc", fire(1))
		if got, want := describe(runs), "00:01:00 0/3 succeeded on a\n00:01:00 1/3 succeeded on b\n00:01:00 2/3 succeeded on c"; got != want {
			t.Fatalf("the fire at 00:01:\n%s\nwant:\n%s", got, want)
		}
		for i, r := range runs {
			if !strings.HasSuffix(r.FireKey(), fmt.Sprintf("/shard/%d", i)) {
				t.Errorf("shard %d's fire key %q", i, r.FireKey())
			}
		}
		afterMu.Lock()
		if len(after) != 1 || after[0].Upstream == nil || after[0].Upstream.Status != sundial.StatusSucceeded ||
			!after[0].Upstream.ScheduledAt.Equal(fire(1)) ||
			string(after[0].Upstream.Result) != `[{"node":"a"},{"node":"b"},{"node":"c"}]` {
			t.Errorf("the chain after the fire ran %d times: %+v; want once, with the fire and every shard's result", len(after), after)
		}
		afterMu.Unlock()

		n.stop("c")             // 00:01:30
		time.Sleep(time.Minute) // 00:02:30
		if got, want := describe(n.runs("bc", fire(2))), "00:02:00 0/2 succeeded on a\n00:02:00 1/2 succeeded on b"; got != want {
			t.Errorf("after c shut down, the fire at 00:02:\n%s\nwant:\n%s", got, want)
		}
		n.start("d")
		time.Sleep(time.Minute) // 00:03:30
		if got, want := describe(n.runs("bc", fire(3))), "00:03:00 0/3 succeeded on a\n00:03:00 1/3 succeeded on b\n00:03:00 2/3 succeeded on d"; got != want {
			t.Errorf("after d joined, the fire at 00:03:\n%s\nwant:\n%s", got, want)
		}
		n.running["b"].Standby(true)
		time.Sleep(time.Minute) // 00:04:30
		if got, want := describe(n.runs("bc", fire(4))), "00:04:00 0/2 succeeded on a\n00:04:00 1/2 succeeded on d"; got != want {
			t.Errorf("with b in standby, the fire at 00:04:\n%s\nwant:\n%s", got, want)
		}
		nodes, _ := a.Nodes(ctx)
		for _, nd := range nodes {
			if want := nd.ID == "b" || nd.ID == "c"; nd.Standby != want {
				t.Errorf("node %s: standby %v, want %v", nd.ID, nd.Standby, want)
			}
		}
		ran.once(t, n.runs("bc", time.Time{}))
		afterMu.Lock()
		defer afterMu.Unlock()
		if len(after) != 4 {
			t.Errorf("the chain ran %d times after 4 complete fires", len(after))
		}
	})
}

// partition is a store that a node loses contact with when cut: every
// call fails, as across a network partition or for a node that froze.
type partition struct {
	sundial.Store
	cut atomic.Bool
}

var errPartition = errors.New("connection refused")

func (p *partition) err() error {
	if p.cut.Load() {
		return errPartition
	}
	return nil
}

func (p *partition) NextWake(ctx context.Context, node string) (time.Time, error) {
	if err := p.err(); err != nil {
		return time.Time{}, err
	}
	return p.Store.NextWake(ctx, node)
}

func (p *partition) Claim(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	if err := p.err(); err != nil {
		return nil, err
	}
	return p.Store.Claim(ctx, req, plan)
}

func (p *partition) CreateRun(ctx context.Context, r sundial.Run) error {
	if err := p.err(); err != nil {
		return err
	}
	return p.Store.CreateRun(ctx, r)
}

func (p *partition) UpdateRun(ctx context.Context, r sundial.Run) error {
	if err := p.err(); err != nil {
		return err
	}
	return p.Store.UpdateRun(ctx, r)
}

func (p *partition) GetJob(ctx context.Context, id string) (sundial.Job, error) {
	if err := p.err(); err != nil {
		return sundial.Job{}, err
	}
	return p.Store.GetJob(ctx, id)
}

func (p *partition) ListRuns(ctx context.Context, f sundial.RunFilter) ([]sundial.Run, error) {
	if err := p.err(); err != nil {
		return nil, err
	}
	return p.Store.ListRuns(ctx, f)
}

func (p *partition) Heartbeat(ctx context.Context, req sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	if err := p.err(); err != nil {
		return sundial.HeartbeatResult{}, err
	}
	return p.Store.Heartbeat(ctx, req)
}

func (p *partition) ReapLost(ctx context.Context, now time.Time) ([]sundial.Run, error) {
	if err := p.err(); err != nil {
		return nil, err
	}
	return p.Store.ReapLost(ctx, now)
}

func (p *partition) ListNodes(ctx context.Context) ([]sundial.Node, error) {
	if err := p.err(); err != nil {
		return nil, err
	}
	return p.Store.ListNodes(ctx)
}

func (p *partition) PromoteQueued(ctx context.Context, jobID string, now time.Time) (bool, error) {
	if err := p.err(); err != nil {
		return false, err
	}
	return p.Store.PromoteQueued(ctx, jobID, now)
}

// TestBroadcastShardOfADeadNode: a node that dies holding its shard loses
// it at the end of its lease; another node runs the shard's retry, and the
// fire completes then, its chain starting once. The next fire leaves the
// dead node out.
func TestBroadcastShardOfADeadNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran executions
		var chained atomic.Int32
		started := make(chan struct{})
		n := newNodes(t, sundial.Config{}, func(s *sundial.Scheduler) {
			s.Register("shard", func(ctx context.Context, r sundial.Run) (any, error) {
				ran.add(r)
				if r.Node == "v" && r.Attempt == 1 {
					close(started)
					<-ctx.Done() // until its node stops it
					return nil, ctx.Err()
				}
				return nil, nil
			})
			s.Register("after", func(ctx context.Context, r sundial.Run) (any, error) {
				chained.Add(1)
				return nil, nil
			})
		})
		dead := &partition{Store: n.store}
		a := n.start("a")
		n.start("b")
		n.start("v", dead)
		time.Sleep(10 * time.Second)
		ctx := context.Background()
		a.AddJob(ctx, sundial.Job{ID: "after", Task: "after", Trigger: trigger.None()})
		if _, err := a.AddJob(ctx, sundial.Job{ID: "bc", Task: "shard", Trigger: cron("* * * * *"),
			Options: sundial.JobOptions{Broadcast: true, MaxAttempts: 2, Then: []sundial.Chain{{Job: "after"}}}}); err != nil {
			t.Fatal(err)
		}
		<-started // 00:01:00
		dead.cut.Store(true)
		time.Sleep(50 * time.Second) // 00:01:50
		fire := epoch.Add(time.Minute)
		want := "00:01:00 0/3 succeeded on a\n00:01:00 1/3 succeeded on b\n00:01:00 2/3 lost on v\n00:01:00 2/3 succeeded on %s (attempt 2)"
		runs := n.runs("bc", fire)
		if len(runs) != 4 || describe(runs) != fmt.Sprintf(want, runs[3].Node) || runs[3].Node == "v" {
			t.Errorf("the fire at 00:01:\n%s\nwant:\n%s", describe(runs), fmt.Sprintf(want, "a or b"))
		}
		if got := chained.Load(); got != 1 {
			t.Errorf("the chain ran %d times after the fire completed, want once", got)
		}
		time.Sleep(40 * time.Second) // 00:02:30
		if got, want := describe(n.runs("bc", fire.Add(time.Minute))), "00:02:00 0/2 succeeded on a\n00:02:00 1/2 succeeded on b"; got != want {
			t.Errorf("the fire after v died:\n%s\nwant:\n%s", got, want)
		}
		dead.cut.Store(false) // let v's late writes be refused rather than retried
		n.stop("v")
		runs = n.runs("bc", fire)
		if runs[2].Status != sundial.StatusLost {
			t.Errorf("v's late outcome overwrote the lost shard: %s", runs[2].Status)
		}
		ran.once(t, n.runs("bc", time.Time{}))
	})
}

// TestBroadcastOneFireAtATime: while a shard of a fire still runs, the
// next fire waits (overlap queue) on every node, the one after is skipped;
// the queued fire starts, whole, when the last shard ends (00:03:30), and
// the fires go on. No two fires' shards ever run at once.
func TestBroadcastOneFireAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		executing := map[time.Time]int{}
		var overlaps []string
		n := newNodes(t, sundial.Config{MaxSleep: 5 * time.Second}, func(s *sundial.Scheduler) {
			s.Register("shard", func(ctx context.Context, r sundial.Run) (any, error) {
				mu.Lock()
				for f, k := range executing {
					if k > 0 && !f.Equal(r.ScheduledAt) {
						overlaps = append(overlaps, fmt.Sprintf("%s started while %s ran", r.FireKey(), f.Format(time.TimeOnly)))
					}
				}
				executing[r.ScheduledAt]++
				mu.Unlock()
				defer func() {
					mu.Lock()
					executing[r.ScheduledAt]--
					mu.Unlock()
				}()
				if r.Node == "b" && r.ScheduledAt.Equal(epoch.Add(time.Minute)) {
					time.Sleep(2*time.Minute + 30*time.Second) // until 00:03:30
				}
				return nil, nil
			})
		})
		a := n.start("a")
		n.start("b")
		time.Sleep(10 * time.Second)
		if _, err := a.AddJob(context.Background(), sundial.Job{ID: "bc", Task: "shard", Trigger: cron("* * * * *"),
			Options: sundial.JobOptions{Broadcast: true, Overlap: sundial.OverlapQueue}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5*time.Minute + 30*time.Second - 10*time.Second) // 00:05:30
		var lines []string
		for _, r := range n.runs("bc", time.Time{}) {
			lines = append(lines, describe([]sundial.Run{r}))
		}
		want := `00:01:00 0/2 succeeded on a
00:01:00 1/2 succeeded on b
00:02:00 0/2 succeeded on a
00:02:00 1/2 succeeded on b
00:03:00 skipped
00:04:00 0/2 succeeded on a
00:04:00 1/2 succeeded on b
00:05:00 0/2 succeeded on a
00:05:00 1/2 succeeded on b`
		if got := strings.Join(lines, "\n"); got != want {
			t.Errorf("runs:\n%s\nwant:\n%s", got, want)
		}
		for _, r := range n.runs("bc", epoch.Add(2*time.Minute)) {
			if r.StartedAt.Before(epoch.Add(3*time.Minute + 30*time.Second)) {
				t.Errorf("shard %d of the queued fire started at %s, before the fire in flight ended", r.Shard.Index, r.StartedAt.Format(time.TimeOnly))
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, o := range overlaps {
			t.Error(o)
		}
	})
}

// TestBroadcastRetriesAndChains: a failing shard is retried alone,
// keeping its index, on any node; its fire completes only with the retry,
// and chains follow the fire's outcome: succeeded when every shard did,
// else the first failure.
func TestBroadcastRetriesAndChains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran executions
		var mu sync.Mutex
		var after []sundial.Run
		n := newNodes(t, sundial.Config{MaxSleep: 5 * time.Second}, func(s *sundial.Scheduler) {
			s.Register("shard", func(ctx context.Context, r sundial.Run) (any, error) {
				ran.add(r)
				switch {
				case r.JobID == "flaky" && r.Shard.Index == 1 && r.Attempt == 1:
					return nil, errors.New("flaky")
				case r.JobID == "broken" && r.Shard.Index == 0:
					return nil, errors.New("broken")
				}
				return r.Shard.Index, nil
			})
			s.Register("after", func(ctx context.Context, r sundial.Run) (any, error) {
				mu.Lock()
				defer mu.Unlock()
				after = append(after, r)
				return nil, nil
			})
		})
		a := n.start("a")
		n.start("b")
		time.Sleep(10 * time.Second)
		ctx := context.Background()
		a.AddJob(ctx, sundial.Job{ID: "after", Task: "after", Trigger: trigger.None()})
		for _, id := range []string{"flaky", "broken"} {
			if _, err := a.AddJob(ctx, sundial.Job{ID: id, Task: "shard", Trigger: trigger.Spec{Type: "date", RunDate: "2000-01-01T00:01:00Z"},
				Options: sundial.JobOptions{Broadcast: true, MaxAttempts: 2, RetryBackoff: time.Minute,
					Then: []sundial.Chain{{Job: "after", On: sundial.ChainOnAlways}}}}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Minute) // 00:01:10
		if got := describe(n.runs("flaky", time.Time{})); !strings.HasPrefix(got, "00:01:00 0/2 succeeded on a\n00:01:00 1/2 failed on b\n00:01:00 1/2 ") {
			t.Errorf("flaky's runs:\n%s", got)
		}
		mu.Lock()
		if len(after) != 0 {
			t.Errorf("a chain started before the retries ended: %+v", after[0].Upstream)
		}
		mu.Unlock()
		time.Sleep(2 * time.Minute) // 00:03:10
		runs := n.runs("flaky", time.Time{})
		if len(runs) != 3 || runs[2].Status != sundial.StatusSucceeded || runs[2].Attempt != 2 || *runs[2].Shard != (sundial.Shard{Index: 1, Total: 2}) {
			t.Errorf("flaky's runs:\n%s", describe(runs))
		}
		if got := describe(n.runs("broken", time.Time{})); !strings.HasPrefix(got, "00:01:00 0/2 failed on a\n00:01:00 0/2 failed on ") ||
			!strings.HasSuffix(got, "(attempt 2)\n00:01:00 1/2 succeeded on b") {
			t.Errorf("broken's runs:\n%s", got)
		}
		mu.Lock()
		defer mu.Unlock()
		outcome := map[string]string{}
		for _, r := range after {
			outcome[r.Upstream.JobID] += string(r.Upstream.Status) + " " + string(r.Upstream.Result) + ";"
		}
		if want := map[string]string{"flaky": "succeeded [0,1];", "broken": "failed [null,1];"}; fmt.Sprint(outcome) != fmt.Sprint(want) {
			t.Errorf("chained runs' upstream: %v, want %v", outcome, want)
		}
		ran.once(t, append(n.runs("flaky", time.Time{}), n.runs("broken", time.Time{})...))
	})
}

// TestBroadcastRunNow: a broadcast job run now runs one manual shard on
// each live node — from a started node, its own shard at once; from an
// API-only scheduler that was never started, every shard waits for its
// node.
func TestBroadcastRunNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran executions
		n := newNodes(t, sundial.Config{MaxSleep: 5 * time.Second}, func(s *sundial.Scheduler) {
			s.Register("shard", func(ctx context.Context, r sundial.Run) (any, error) {
				ran.add(r)
				return nil, nil
			})
		})
		a := n.start("a")
		b := n.start("b")
		n.start("c")
		time.Sleep(10 * time.Second)
		ctx := context.Background()
		if _, err := a.AddJob(ctx, sundial.Job{ID: "bc", Task: "shard", Trigger: trigger.None(), Options: sundial.JobOptions{Broadcast: true}}); err != nil {
			t.Fatal(err)
		}
		run, err := b.RunNow(ctx, "bc", json.RawMessage(`{"n":1}`))
		if err != nil || run.Node != "b" || run.Shard == nil || *run.Shard != (sundial.Shard{Index: 1, Total: 3}) || !run.Manual {
			t.Fatalf("RunNow on b = %+v, %v; want b's own shard, 1 of 3, manual", run, err)
		}
		time.Sleep(10 * time.Second)
		runs := n.runs("bc", run.ScheduledAt)
		if got, want := describe(runs), "00:00:10 0/3 succeeded on a\n00:00:10 1/3 succeeded on b\n00:00:10 2/3 succeeded on c"; got != want {
			t.Errorf("the manual fire:\n%s\nwant:\n%s", got, want)
		}
		for _, r := range runs {
			if !r.Manual || string(r.Args) != `{"n":1}` || !strings.Contains(r.FireKey(), "/manual/shard/") {
				t.Errorf("shard %d: manual %v, args %s, fire key %s", r.Shard.Index, r.Manual, r.Args, r.FireKey())
			}
		}

		api := newScheduler(t, sundial.Config{Store: n.store, NodeID: "api"})
		api.Register("shard", ok)
		first, err := api.RunNow(ctx, "bc", nil)
		if err != nil || first.Status != sundial.StatusScheduled || first.Node != "a" {
			t.Fatalf("RunNow on an API-only node = %+v, %v; want shard 0, waiting for a", first, err)
		}
		time.Sleep(10 * time.Second)
		if got, want := describe(n.runs("bc", first.ScheduledAt)), "00:00:20 0/3 succeeded on a\n00:00:20 1/3 succeeded on b\n00:00:20 2/3 succeeded on c"; got != want {
			t.Errorf("the manual fire from an API-only node:\n%s\nwant:\n%s", got, want)
		}
		ran.once(t, n.runs("bc", time.Time{}))
	})
}

// TestBroadcastFixedDelay: a fixed-delay broadcast job's next fire counts
// from the end of its fire's last shard.
func TestBroadcastFixedDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newNodes(t, sundial.Config{}, func(s *sundial.Scheduler) {
			s.Register("shard", func(ctx context.Context, r sundial.Run) (any, error) {
				if r.Node == "b" {
					time.Sleep(30 * time.Second)
				}
				return nil, nil
			})
		})
		a := n.start("a")
		n.start("b")
		time.Sleep(10 * time.Second)
		if _, err := a.AddJob(context.Background(), sundial.Job{ID: "bc", Task: "shard", Trigger: every(time.Minute),
			Options: sundial.JobOptions{Broadcast: true, FixedDelay: true}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Minute) // fires at 00:01:10, then a minute after 00:01:40
		var fires []string
		for _, r := range n.runs("bc", time.Time{}) {
			if r.Shard.Index == 0 {
				fires = append(fires, r.ScheduledAt.Format(time.TimeOnly))
			}
		}
		if got := strings.Join(fires, " "); got != "00:01:10 00:02:40" {
			t.Errorf("fires at %s, want 00:01:10 00:02:40", got)
		}
	})
}

// TestBroadcastSurvivesRestarts: a shard waiting for a node that restarts
// (under the same node ID) is taken by its next incarnation; a shard that
// was running on it is lost at once, on the restart, and retried.
func TestBroadcastSurvivesRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran executions
		n := newNodes(t, sundial.Config{}, func(s *sundial.Scheduler) {
			s.Register("shard", func(ctx context.Context, r sundial.Run) (any, error) {
				ran.add(r)
				if r.Node == "b" && r.Attempt == 1 && r.ScheduledAt.Equal(epoch.Add(2*time.Minute)) {
					<-ctx.Done() // held until its process "dies"
					return nil, ctx.Err()
				}
				return nil, nil
			})
		})
		a := n.start("a")
		first := &partition{Store: n.store}
		n.start("b", first)
		time.Sleep(10 * time.Second)
		ctx := context.Background()
		if _, err := a.AddJob(ctx, sundial.Job{ID: "bc", Task: "shard", Trigger: cron("* * * * *"),
			Options: sundial.JobOptions{Broadcast: true, MaxAttempts: 2, RetryBackoff: time.Second}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(42 * time.Second) // 00:00:52: b dies, a still counts it live at 00:01
		first.cut.Store(true)
		zombies := []*sundial.Scheduler{n.running["b"]}
		time.Sleep(13 * time.Second) // 00:01:05: b restarts, before its shard's pick-up deadline
		second := &partition{Store: n.store}
		b2 := n.start("b", second)
		time.Sleep(25 * time.Second) // 00:01:30
		runs := n.runs("bc", epoch.Add(time.Minute))
		if got, want := describe(runs), "00:01:00 0/2 succeeded on a\n00:01:00 1/2 succeeded on b"; got != want || runs[1].Incarnation != b2.Status().Incarnation {
			t.Errorf("the fire at 00:01, b restarted before taking its shard:\n%s\nwant:\n%s, by b's new incarnation", got, want)
		}

		time.Sleep(35 * time.Second) // 00:02:05: b holds its shard of the 00:02 fire, and dies
		second.cut.Store(true)
		zombies = append(zombies, b2)
		n.start("b")
		time.Sleep(25 * time.Second) // 00:02:30
		runs = n.runs("bc", epoch.Add(2*time.Minute))
		want := "00:02:00 0/2 succeeded on a\n00:02:00 1/2 lost on b\n00:02:00 1/2 succeeded on %s (attempt 2)"
		if len(runs) != 3 || describe(runs) != fmt.Sprintf(want, runs[2].Node) || !strings.Contains(runs[1].Error, "restarted") {
			t.Errorf("the fire at 00:02, b restarted holding its shard:\n%s (%s)\nwant:\n%s", describe(runs), runs[1].Error, fmt.Sprintf(want, "a or b"))
		}
		first.cut.Store(false)
		second.cut.Store(false)
		for _, z := range zombies {
			z.Shutdown(ctx)
		}
		nodes, _ := a.Nodes(ctx)
		for _, nd := range nodes {
			if nd.Standby {
				t.Errorf("node %s is in standby after an earlier incarnation shut down", nd.ID)
			}
		}
		ran.once(t, n.runs("bc", time.Time{}))
	})
}
