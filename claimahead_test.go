package sundial_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
)

// Claims ahead of the workers (issue #16), in fake time: while a backlog of
// due work lasts, a node claims runs ahead of its free workers into a
// queue, at most a pool's worth, so that its claims are large; the queued
// runs are held, renewed and judged at their start like any other.

// slowClaims is a store whose claims take a while, as a durable store's
// write transaction and commit do. At each claim it notes the limit asked
// for and the runs the scheduler had in flight (claimed and not ended).
type slowClaims struct {
	sundial.Store
	delay time.Duration
	// sched is read at each claim; the test clears it before Shutdown,
	// whose lock Status would wait for.
	sched     atomic.Pointer[sundial.Scheduler]
	standby   atomic.Bool // claims are counted as made in standby
	mu        sync.Mutex
	claims    []claimSeen
	inStandby int
}

type claimSeen struct{ limit, inflight int }

func (c *slowClaims) Claim(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	if s := c.sched.Load(); s != nil {
		seen := claimSeen{limit: req.Limit, inflight: s.Status().InFlight}
		c.mu.Lock()
		c.claims = append(c.claims, seen)
		if c.standby.Load() {
			c.inStandby++
		}
		c.mu.Unlock()
	}
	time.Sleep(c.delay)
	return c.Store.Claim(ctx, req, plan)
}

// seen returns the claims noted so far.
func (c *slowClaims) seen() []claimSeen {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]claimSeen(nil), c.claims...)
}

// claimTest is a scheduler of a few workers over a store of slow claims,
// with n one-shot jobs due at once.
type claimTest struct {
	s     *sundial.Scheduler
	store *slowClaims
	ctx   context.Context
}

func newClaimTest(t *testing.T, workers, n int, task sundial.TaskFunc) *claimTest {
	t.Helper()
	store := &slowClaims{Store: memstore.New(memstore.Options{}), delay: 5 * time.Millisecond}
	s := newScheduler(t, sundial.Config{Store: store, Workers: workers, LeaseTTL: 8 * time.Second,
		Retention: sundial.Retention{PerJob: 10}})
	if err := s.Register("work", task); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		if _, err := s.AddJob(ctx, sundial.Job{ID: fmt.Sprintf("j%03d", i), Task: "work", Trigger: dateAt(0),
			Options: sundial.JobOptions{MaxAttempts: 1, MisfireGrace: -1}}); err != nil {
			t.Fatal(err)
		}
	}
	store.sched.Store(s)
	return &claimTest{s: s, store: store, ctx: ctx}
}

// shutdown stops noting claims, then shuts the scheduler down with ctx.
func (c *claimTest) shutdown(ctx context.Context) error {
	c.store.sched.Store(nil)
	return c.s.Shutdown(ctx)
}

// runsByJob returns every run, by job ID.
func (c *claimTest) runsByJob(t *testing.T) map[string][]sundial.Run {
	t.Helper()
	runs, err := c.s.Runs(c.ctx, sundial.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]sundial.Run{}
	for _, r := range runs {
		by[r.JobID] = append(by[r.JobID], r)
	}
	return by
}

// TestClaimsAheadOnlyWithABacklog: short runs with a backlog are claimed
// ahead of the workers, never more than a pool's worth; with no backlog,
// or with runs long next to a claim, a claim takes the free workers only.
func TestClaimsAheadOnlyWithABacklog(t *testing.T) {
	const workers = 4
	for _, tc := range []struct {
		name  string
		jobs  int
		task  time.Duration
		ahead bool // claims ahead are expected
	}{
		{name: "backlog of short runs", jobs: 300, task: time.Millisecond, ahead: true},
		{name: "no backlog", jobs: workers - 1, task: time.Millisecond},
		{name: "backlog of long runs", jobs: 40, task: 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newClaimTest(t, workers, tc.jobs, sleeper(tc.task))
				c.s.Start(c.ctx)
				time.Sleep(2 * time.Minute)
				if err := c.shutdown(c.ctx); err != nil {
					t.Fatal(err)
				}
				ahead := 0
				for _, cl := range c.store.seen() {
					bound := workers
					if tc.ahead {
						bound = 2 * workers
					}
					if cl.inflight+cl.limit > bound {
						t.Errorf("a claim of up to %d runs with %d in flight: more than %d", cl.limit, cl.inflight, bound)
					}
					if cl.inflight+cl.limit > workers {
						ahead++
					}
				}
				if tc.ahead && ahead == 0 {
					t.Errorf("no claim ahead of the workers in %d claims", len(c.store.seen()))
				}
				for id, runs := range c.runsByJob(t) {
					if len(runs) != 1 || runs[0].Status != sundial.StatusSucceeded {
						t.Errorf("job %s: %s", id, summary(runs))
					}
				}
				if n := len(c.runsByJob(t)); n != tc.jobs {
					t.Errorf("%d jobs ran, want %d", n, tc.jobs)
				}
			})
		})
	}
}

// TestStandbyStopsClaimsAhead: a node put in standby during a backlog
// claims nothing more, ahead or not, and runs what it had queued.
func TestStandbyStopsClaimsAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClaimTest(t, 4, 300, sleeper(time.Millisecond))
		c.s.Start(c.ctx)
		time.Sleep(50 * time.Millisecond)
		c.s.Standby(true)
		c.store.standby.Store(true)
		time.Sleep(time.Minute)
		c.store.mu.Lock()
		n := c.store.inStandby
		c.store.mu.Unlock()
		if n != 0 {
			t.Errorf("%d claims in standby", n)
		}
		if n := c.s.Status().InFlight; n != 0 {
			t.Errorf("%d runs in flight a minute into standby, want the queue run", n)
		}
		if err := c.shutdown(c.ctx); err != nil {
			t.Fatal(err)
		}
		ran := 0
		for id, runs := range c.runsByJob(t) {
			if len(runs) != 1 || runs[0].Status != sundial.StatusSucceeded {
				t.Errorf("job %s: %s", id, summary(runs))
			}
			ran++
		}
		if ran == 0 || ran == 300 {
			t.Errorf("%d of 300 jobs ran before the standby; want some, not all", ran)
		}
	})
}

// heartbeatSwitch is a store whose heartbeats fail once down is set.
type heartbeatSwitch struct {
	*slowClaims
	down atomic.Bool
}

func (h *heartbeatSwitch) Heartbeat(ctx context.Context, req sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	if h.down.Load() {
		return sundial.HeartbeatResult{}, errCrashed
	}
	return h.slowClaims.Heartbeat(ctx, req)
}

// TestQueuedRunsAreRenewedAndFenced: runs queued ahead of the workers are
// renewed by the heartbeat while they wait; once it can no longer renew
// them, a queued run whose lease is stale when a worker takes it is not
// started, but recorded interrupted, saying why.
func TestQueuedRunsAreRenewedAndFenced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 8 * time.Second
		var hb *heartbeatSwitch
		var mu sync.Mutex
		startedLate := map[string]time.Duration{} // job → time from claim to start, for runs started after the failure
		failedAt := time.Time{}
		task := func(ctx context.Context, r sundial.Run) (any, error) {
			mu.Lock()
			if !failedAt.IsZero() {
				startedLate[r.JobID] = time.Since(r.ClaimedAt)
			}
			mu.Unlock()
			switch r.JobID {
			case "j100": // holds the only worker for a lease, queued runs behind it
				time.Sleep(2 * ttl)
			case "j200": // from here on the heartbeat fails
				mu.Lock()
				failedAt = time.Now()
				mu.Unlock()
				hb.down.Store(true)
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(2 * ttl):
				}
			default:
				time.Sleep(time.Millisecond)
			}
			return nil, nil
		}
		store := &slowClaims{Store: memstore.New(memstore.Options{}), delay: 5 * time.Millisecond}
		hb = &heartbeatSwitch{slowClaims: store}
		s := newScheduler(t, sundial.Config{Store: hb, Workers: 1, LeaseTTL: ttl, Retention: sundial.Retention{PerJob: 10}})
		s.Register("work", task)
		ctx := context.Background()
		for i := range 300 {
			s.AddJob(ctx, sundial.Job{ID: fmt.Sprintf("j%03d", i), Task: "work", Trigger: dateAt(0),
				Options: sundial.JobOptions{MaxAttempts: 1, MisfireGrace: -1}})
		}
		store.sched.Store(s)
		s.Start(ctx)
		// j100 holds the worker for 16 s, two leases, with runs queued
		// behind it: they are renewed, and start when it ends.
		time.Sleep(time.Second)
		if n := s.Status().InFlight; n < 2 {
			t.Fatalf("%d runs in flight while j100 runs; want runs queued behind it; claims %v", n, store.seen())
		}
		time.Sleep(2 * ttl)
		// j200 then holds it while the heartbeat fails: the runs queued
		// behind it go stale.
		time.Sleep(2 * time.Minute)
		store.sched.Store(nil)
		s.Shutdown(ctx)

		runs, _ := s.Runs(ctx, sundial.RunFilter{})
		by := map[string][]sundial.Run{}
		for _, r := range runs {
			by[r.JobID] = append(by[r.JobID], r)
		}
		if len(by["j200"]) != 1 {
			t.Fatalf("j200: %s", summary(by["j200"]))
		}
		notStarted := 0
		for i := range 300 {
			id := fmt.Sprintf("j%03d", i)
			rs := by[id]
			if len(rs) != 1 {
				t.Errorf("job %s: %s", id, summary(rs))
				continue
			}
			r := rs[0]
			switch {
			case r.ClaimedAt.Before(by["j200"][0].ClaimedAt) && r.Status != sundial.StatusSucceeded:
				// Queued behind j100, or before: renewed while they waited.
				t.Errorf("%s, claimed before the heartbeat failed: %s %q", id, r.Status, r.Error)
			case id == "j200":
				if r.Status != sundial.StatusInterrupted {
					t.Errorf("j200: %s %q, want interrupted by its node", r.Status, r.Error)
				}
			case r.Status == sundial.StatusInterrupted && strings.Contains(r.Error, "not started: this node could not renew its lease"):
				notStarted++
				if _, ran := startedLate[id]; ran {
					t.Errorf("%s recorded not started, but its task ran", id)
				}
			case r.Status != sundial.StatusSucceeded:
				t.Errorf("%s: %s %q", id, r.Status, r.Error)
			}
		}
		if notStarted == 0 {
			t.Error("no queued run was left unstarted once its lease was stale")
		}
		for id, d := range startedLate {
			if id != "j200" && d >= ttl*3/4 {
				t.Errorf("%s started %s after its claim with its lease not renewed", id, d)
			}
		}
	})
}

// TestShutdownWithAQueue: a graceful shutdown runs the runs queued ahead
// of the workers, as it runs those it waits for; a forced one records them
// interrupted before they started. No run is left claimed, none doubled.
func TestShutdownWithAQueue(t *testing.T) {
	for _, forced := range []bool{false, true} {
		t.Run(fmt.Sprintf("forced=%v", forced), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hang := make(chan struct{}) // closed: the runs hang until stopped
				c := newClaimTest(t, 4, 300, func(ctx context.Context, r sundial.Run) (any, error) {
					select {
					case <-time.After(10 * time.Millisecond):
						return nil, nil
					case <-hang:
						<-ctx.Done()
						return nil, ctx.Err()
					}
				})
				c.s.Start(c.ctx)
				// Until runs are queued: the queue grows with the backlog.
				for c.s.Status().InFlight <= 4 {
					if time.Since(epoch) > time.Second {
						t.Fatalf("no run queued ahead of 4 workers; claims %v", c.store.seen())
					}
					time.Sleep(time.Millisecond)
				}
				ctx := c.ctx
				if forced {
					close(hang)
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, time.Second)
					defer cancel()
				}
				c.shutdown(ctx)
				notStarted := 0
				for id, runs := range c.runsByJob(t) {
					if len(runs) != 1 {
						t.Errorf("job %s: %s", id, summary(runs))
						continue
					}
					r := runs[0]
					switch {
					case r.Status == sundial.StatusSucceeded:
					case forced && r.Status == sundial.StatusInterrupted:
						if strings.Contains(r.Error, "before the run started") {
							notStarted++
						}
					default:
						t.Errorf("job %s: %s %q", id, r.Status, r.Error)
					}
				}
				if forced && notStarted == 0 {
					t.Error("a forced shutdown recorded no queued run as not started")
				}
			})
		})
	}
}
