package sundial_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
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

// The fencing decisions, in fake time: a run executes only while its node
// holds its lease.

func newScheduler(t *testing.T, cfg sundial.Config) *sundial.Scheduler {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := sundial.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func dateAt(d time.Duration) trigger.Spec {
	return trigger.Spec{Type: "date", RunDate: epoch.Add(d).Format(time.RFC3339Nano)}
}

// TestRunStoppedWhenLeaseCannotBeRenewed: a node whose heartbeats fail
// stops its run at 3/4 of the lease — before any other node may take it
// over — records it interrupted with the reason, and retries it.
func TestRunStoppedWhenLeaseCannotBeRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New(memstore.Options{})
		s := newScheduler(t, sundial.Config{Store: failingHeartbeat{store}, LeaseTTL: 8 * time.Second})
		var stopped atomic.Int64
		var attempts atomic.Int32
		s.Register("work", func(ctx context.Context, r sundial.Run) (any, error) {
			if attempts.Add(1) > 1 {
				return "done", nil
			}
			<-ctx.Done()
			stopped.Store(int64(time.Since(epoch)))
			return nil, ctx.Err()
		})
		ctx := context.Background()
		s.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(0),
			Options: sundial.JobOptions{MaxAttempts: 2, RetryBackoff: time.Second}})
		s.Start(ctx)
		time.Sleep(20 * time.Second)
		s.Shutdown(ctx)

		if got := time.Duration(stopped.Load()); got < 6*time.Second || got > 6500*time.Millisecond {
			t.Errorf("run stopped at %s, want at 3/4 of the 8s lease (6s)", got)
		}
		runs, _ := s.Runs(ctx, sundial.RunFilter{JobID: "j"})
		if len(runs) != 2 {
			t.Fatalf("runs: %s", summary(runs))
		}
		first, retry := runs[1], runs[0]
		if first.Status != sundial.StatusInterrupted || !strings.Contains(first.Error, "could not renew its lease") {
			t.Errorf("first attempt: %s %q; want interrupted, saying why", first.Status, first.Error)
		}
		if retry.Attempt != 2 || retry.Status != sundial.StatusSucceeded {
			t.Errorf("retry: attempt %d %s", retry.Attempt, retry.Status)
		}
	})
}

// freezingStore freezes its process — every call blocks — for a while
// after the first claim that returns runs, as SIGSTOP or a long pause
// would between a claim and the start of its runs.
type freezingStore struct {
	sundial.Store
	freeze  time.Duration
	frozen  atomic.Bool
	thawed  chan struct{}
	started sync.Once
}

func (f *freezingStore) wait() {
	if f.frozen.Load() {
		<-f.thawed
	}
}

func (f *freezingStore) Claim(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	f.wait()
	runs, err := f.Store.Claim(ctx, req, plan)
	if len(runs) > 0 {
		f.started.Do(func() {
			f.frozen.Store(true)
			time.AfterFunc(f.freeze, func() { f.frozen.Store(false); close(f.thawed) })
			<-f.thawed
		})
	}
	return runs, err
}

func (f *freezingStore) Heartbeat(ctx context.Context, req sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	f.wait()
	return f.Store.Heartbeat(ctx, req)
}

// TestFrozenNodeDoesNotStartWhatOthersTookOver: node A claims a fire and
// freezes for three leases before starting it; node B marks the run lost
// and runs the retry. When A wakes it must not start the run.
func TestFrozenNodeDoesNotStartWhatOthersTookOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New(memstore.Options{})
		var mu sync.Mutex
		ran := map[string][]int{}
		task := func(node string) sundial.TaskFunc {
			return func(ctx context.Context, r sundial.Run) (any, error) {
				mu.Lock()
				ran[node] = append(ran[node], r.Attempt)
				mu.Unlock()
				return nil, nil
			}
		}
		frozen := &freezingStore{Store: store, freeze: 15 * time.Second, thawed: make(chan struct{})}
		a := newScheduler(t, sundial.Config{Store: frozen, NodeID: "a", LeaseTTL: 3 * time.Second})
		a.Register("work", task("a"))
		b := newScheduler(t, sundial.Config{Store: store, NodeID: "b", LeaseTTL: 3 * time.Second})
		b.Register("work", task("b"))
		b.Standby(true) // A claims the fire
		ctx := context.Background()
		a.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(time.Second),
			Options: sundial.JobOptions{MaxAttempts: 2, RetryBackoff: time.Second}})
		a.Start(ctx)
		b.Start(ctx)
		time.Sleep(2 * time.Second)
		b.Standby(false)
		time.Sleep(30 * time.Second)
		a.Shutdown(ctx)
		b.Shutdown(ctx)

		mu.Lock()
		defer mu.Unlock()
		if len(ran["a"]) != 0 || len(ran["b"]) != 1 || ran["b"][0] != 2 {
			t.Errorf("executions: %v; want none on the frozen node and attempt 2 on b", ran)
		}
		runs, _ := b.Runs(ctx, sundial.RunFilter{JobID: "j"})
		if len(runs) != 2 || runs[1].Status != sundial.StatusLost || runs[0].Status != sundial.StatusSucceeded {
			t.Errorf("runs:\n%s\nwant attempt 1 lost, attempt 2 succeeded", summary(runs))
		}
	})
}

// TestStaleLeaseRenewedBeforeStart: a node frozen between claim and start
// for less than a lease, whose run nobody took over, renews the lease and
// starts the run; its claim and start times are recorded apart.
func TestStaleLeaseRenewedBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &freezingStore{Store: memstore.New(memstore.Options{}), freeze: 9 * time.Second, thawed: make(chan struct{})}
		s := newScheduler(t, sundial.Config{Store: store, LeaseTTL: 10 * time.Second})
		s.Register("work", ok)
		ctx := context.Background()
		s.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(time.Second)})
		s.Start(ctx)
		time.Sleep(20 * time.Second)
		s.Shutdown(ctx)
		runs, _ := s.Runs(ctx, sundial.RunFilter{JobID: "j"})
		if len(runs) != 1 || runs[0].Status != sundial.StatusSucceeded {
			t.Fatalf("runs:\n%s", summary(runs))
		}
		if r := runs[0]; !r.ClaimedAt.Equal(epoch.Add(time.Second)) || !r.StartedAt.Equal(epoch.Add(10*time.Second)) {
			t.Errorf("claimed %s started %s; want claimed at 00:00:01, started after the freeze at 00:00:10", r.ClaimedAt, r.StartedAt)
		}
	})
}

// TestStartTooLateIsMissed: a run that could not start within its misfire
// grace after its claim is recorded missed, not started.
func TestStartTooLateIsMissed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &freezingStore{Store: memstore.New(memstore.Options{}), freeze: 40 * time.Second, thawed: make(chan struct{})}
		s := newScheduler(t, sundial.Config{Store: store, LeaseTTL: time.Minute})
		var ran atomic.Int32
		s.Register("work", func(context.Context, sundial.Run) (any, error) { ran.Add(1); return nil, nil })
		ctx := context.Background()
		s.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(time.Second), Options: sundial.JobOptions{MisfireGrace: 30 * time.Second}})
		s.Start(ctx)
		time.Sleep(time.Minute)
		s.Shutdown(ctx)
		runs, _ := s.Runs(ctx, sundial.RunFilter{JobID: "j"})
		if ran.Load() != 0 || len(runs) != 1 || runs[0].Status != sundial.StatusMissed || !strings.Contains(runs[0].Error, "misfire grace") {
			t.Errorf("ran %d times; runs: %+v; want it missed, not run", ran.Load(), runs)
		}
	})
}

// downStore fails every call once down is set: a crashed process's store
// handle.
type downStore struct {
	sundial.Store
	down atomic.Bool
}

var errCrashed = errors.New("the process is gone")

func (d *downStore) UpdateRuns(ctx context.Context, runs []sundial.Run) ([]error, error) {
	if d.down.Load() {
		return nil, errCrashed
	}
	return d.Store.(sundial.RunBatchUpdater).UpdateRuns(ctx, runs)
}

func (d *downStore) Heartbeat(ctx context.Context, req sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	if d.down.Load() {
		return sundial.HeartbeatResult{}, errCrashed
	}
	return d.Store.Heartbeat(ctx, req)
}

func (d *downStore) Claim(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	if d.down.Load() {
		return nil, errCrashed
	}
	return d.Store.Claim(ctx, req, plan)
}

// TestRestartedNodeRecoversItsRunsAtOnce: a node with a fixed ID dies
// mid-run and starts again: the new incarnation marks the old one's run
// lost on start and retries it, without waiting for the lease (10 min).
func TestRestartedNodeRecoversItsRunsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New(memstore.Options{})
		crashed := &downStore{Store: store}
		release := make(chan struct{})
		first := newScheduler(t, sundial.Config{Store: crashed, NodeID: "n", LeaseTTL: 10 * time.Minute})
		first.Register("work", func(ctx context.Context, r sundial.Run) (any, error) {
			<-release
			return nil, nil
		})
		ctx := context.Background()
		first.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(time.Second),
			Options: sundial.JobOptions{MaxAttempts: 2, RetryBackoff: time.Second}})
		first.Start(ctx)
		time.Sleep(5 * time.Second)
		crashed.down.Store(true) // the first incarnation is gone

		second := newScheduler(t, sundial.Config{Store: store, NodeID: "n", LeaseTTL: 10 * time.Minute})
		second.Register("work", ok)
		second.Start(ctx)
		time.Sleep(5 * time.Second)
		runs, _ := second.Runs(ctx, sundial.RunFilter{JobID: "j"})
		if len(runs) != 2 || runs[1].Status != sundial.StatusLost || !strings.Contains(runs[1].Error, "restarted") ||
			runs[0].Status != sundial.StatusSucceeded {
			t.Errorf("runs 5s after the restart:\n%s\nwant attempt 1 lost (restarted), attempt 2 succeeded", summary(runs))
		}
		second.Shutdown(ctx)
		close(release)
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		first.Shutdown(sctx)
	})
}

// clockStore is a store with a clock of its own, 30 seconds behind this
// host's: the scheduler must follow it.
type clockStore struct{ sundial.Store }

func (clockStore) Now(context.Context) (time.Time, error) {
	return time.Now().Add(-30 * time.Second), nil
}

func TestSchedulerFollowsTheStoreClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScheduler(t, sundial.Config{Store: clockStore{memstore.New(memstore.Options{})}})
		var ranAt atomic.Int64
		s.Register("work", func(context.Context, sundial.Run) (any, error) { ranAt.Store(time.Now().UnixNano()); return nil, nil })
		ctx := context.Background()
		s.Start(ctx)
		// Due at 00:01:00 on the store's clock, which this host reads at
		// 00:01:30.
		s.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(time.Minute)})
		time.Sleep(2 * time.Minute)
		s.Shutdown(ctx)
		if got := time.Unix(0, ranAt.Load()).UTC(); !got.Equal(epoch.Add(90 * time.Second)) {
			t.Errorf("ran at host time %s, want 00:01:30 (00:01:00 on the store's clock)", got.Format(time.TimeOnly))
		}
		if st := s.Status(); st.ClockOffset != -30*time.Second || !st.ClockSkewed {
			t.Errorf("status: offset %s skewed %v", st.ClockOffset, st.ClockSkewed)
		}
	})
}

// TestCancelRun: an executing run is stopped and recorded canceled, a
// scheduled retry is canceled before it starts, an ended run says so.
func TestCancelRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		var cause atomic.Value
		b.register(t, "work", func(ctx context.Context, r sundial.Run) (any, error) {
			<-ctx.Done()
			cause.Store(context.Cause(ctx).Error())
			return nil, ctx.Err()
		})
		b.add(t, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(time.Second), Options: sundial.JobOptions{MaxAttempts: 3}})
		b.start(t)
		time.Sleep(2 * time.Second)
		runs := b.runs(t, "j")
		if len(runs) != 1 || runs[0].Status != sundial.StatusRunning {
			t.Fatalf("runs: %s", summary(runs))
		}
		got, err := b.s.CancelRun(b.ctx, runs[0].ID)
		if err != nil || !got.CancelRequested {
			t.Fatalf("CancelRun = %+v, %v", got, err)
		}
		synctest.Wait()
		runs = b.runs(t, "j")
		if len(runs) != 1 || runs[0].Status != sundial.StatusCanceled || !runs[0].EndedAt.Equal(epoch.Add(2*time.Second)) {
			t.Errorf("after cancel (no retry of a canceled run):\n%s ended %s", summary(runs), runs[0].EndedAt)
		}
		if c, _ := cause.Load().(string); !strings.Contains(c, "canceled on request") {
			t.Errorf("the task's context ended with %q", c)
		}
		if _, err := b.s.CancelRun(b.ctx, runs[0].ID); !errors.Is(err, sundial.ErrRunEnded) {
			t.Errorf("canceling an ended run = %v, want ErrRunEnded", err)
		}
		b.stop(t)
	})
}

// TestClusterPause: a pause by one scheduler stops every scheduler on the
// store and is kept in it; a resume lets them fire again.
func TestClusterPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New(memstore.Options{})
		a := newScheduler(t, sundial.Config{Store: store, NodeID: "a"})
		b := newScheduler(t, sundial.Config{Store: store, NodeID: "b"})
		for _, s := range []*sundial.Scheduler{a, b} {
			s.Register("tick", ok)
		}
		ctx := context.Background()
		a.AddJob(ctx, sundial.Job{ID: "j", Task: "tick", Trigger: cron("*/10 * * * * *")})
		a.Start(ctx)
		b.Start(ctx)
		time.Sleep(5 * time.Second)
		if err := a.Pause(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		if paused, since, _ := b.Paused(ctx); !paused || !since.Equal(epoch.Add(5*time.Second)) {
			t.Errorf("b sees paused %v since %s", paused, since)
		}
		if !b.Status().Paused {
			t.Error("b's status does not show the pause")
		}
		if err := b.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)
		a.Shutdown(ctx)
		b.Shutdown(ctx)
		runs, _ := a.Runs(ctx, sundial.RunFilter{JobID: "j"})
		// 00:00:00 ran; 00:00:10 … 00:01:00 fell due while paused and are
		// coalesced into one run at the resume (00:01:05, in grace), then
		// 00:01:10, 00:01:20 and 00:01:30 ran.
		var ran int
		for _, r := range runs {
			if r.Status == sundial.StatusSucceeded {
				ran++
			}
		}
		if ran != 5 {
			t.Errorf("runs:\n%s\nwant 5 succeeded (none while paused)", summary(runs))
		}
	})
}

// hungStore never answers a write once hung: Shutdown must still return
// within its context, a second after it, leaving the run to its lease.
type hungStore struct {
	sundial.Store
	hung atomic.Bool
}

func (h *hungStore) UpdateRuns(ctx context.Context, runs []sundial.Run) ([]error, error) {
	if h.hung.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.Store.(sundial.RunBatchUpdater).UpdateRuns(ctx, runs)
}

func TestShutdownWithAHungStoreKeepsItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &hungStore{Store: memstore.New(memstore.Options{})}
		s := newScheduler(t, sundial.Config{Store: store, StoreTimeout: time.Hour})
		s.Register("work", sleeper(time.Hour))
		ctx := context.Background()
		s.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(time.Second)})
		s.Start(ctx)
		time.Sleep(2 * time.Second)
		store.hung.Store(true)
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := time.Now()
		err := s.Shutdown(sctx)
		if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 6*time.Second {
			t.Errorf("Shutdown = %v after %s; want the deadline's error within 6s", err, took)
		}
	})
}

// TestLeaseReachesTheTask: a task sees its lease, whose deadline moves on
// with every renewal.
func TestLeaseReachesTheTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{LeaseTTL: 8 * time.Second})
		deadlines := make(chan time.Time, 10)
		b.register(t, "work", func(ctx context.Context, r sundial.Run) (any, error) {
			l := sundial.LeaseOf(ctx)
			if l == nil {
				return nil, errors.New("no lease")
			}
			for range 3 {
				ch := l.Renewed()
				deadlines <- l.Deadline()
				<-ch
			}
			return nil, nil
		})
		b.add(t, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(0)})
		b.start(t)
		time.Sleep(time.Minute)
		b.stop(t)
		close(deadlines)
		var got []time.Time
		for d := range deadlines {
			got = append(got, d)
		}
		if len(got) != 3 || !got[1].After(got[0]) || !got[2].After(got[1]) {
			t.Fatalf("deadlines seen: %v", got)
		}
		if first := got[0].Sub(epoch); first != 7*time.Second {
			t.Errorf("first deadline %s after the claim, want 7/8 of the 8s lease", first)
		}
		if runs := b.runs(t, "j"); len(runs) != 1 || runs[0].Status != sundial.StatusSucceeded {
			t.Errorf("runs: %s", summary(runs))
		}
	})
}

func TestConfigValidation(t *testing.T) {
	store := memstore.New(memstore.Options{})
	for _, tt := range []struct {
		cfg  sundial.Config
		want string
	}{
		{sundial.Config{}, "Config.Store is required"},
		{sundial.Config{Store: store, Workers: -1}, "Config.Workers -1 must not be negative"},
		{sundial.Config{Store: store, MaxSleep: -time.Second}, "Config.MaxSleep -1s must not be negative"},
		{sundial.Config{Store: store, LeaseTTL: -time.Second}, "Config.LeaseTTL -1s must not be negative"},
		{sundial.Config{Store: store, StoreTimeout: -time.Second}, "Config.StoreTimeout -1s must not be negative"},
		{sundial.Config{Store: store, MaxClockSkew: -time.Second}, "Config.MaxClockSkew -1s must not be negative"},
		{sundial.Config{Store: store, OutputLimit: -1}, "Config.OutputLimit -1 must not be negative"},
		{sundial.Config{Store: store, Retention: sundial.Retention{Interval: -time.Hour}}, "Config.Retention.Interval -1h0m0s must not be negative"},
		{sundial.Config{Store: store, Defaults: sundial.JobOptions{MaxInstances: -2}}, "Config.Defaults"},
	} {
		_, err := sundial.New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
		}
	}
}

// TestEditingABusyJobDoesNotConflict: fires do not change a job's version,
// so an edit that names the version it read is not refused because the
// job fired meanwhile.
func TestEditingABusyJobDoesNotConflict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "tick", ok)
		read := b.add(t, sundial.Job{ID: "j", Task: "tick", Trigger: every(time.Second)})
		b.start(t)
		time.Sleep(10 * time.Second)
		read.Name = "edited while busy"
		updated, err := b.s.UpdateJob(b.ctx, read)
		if err != nil || updated.Version != read.Version+1 {
			t.Errorf("UpdateJob with the version read 10 fires ago = version %d, %v", updated.Version, err)
		}
		b.stop(t)
	})
}

// TestNodeIDOfALiveProcessIsRefused: a second process on this host under
// the node ID of a live one is refused, since starting would take the live
// one's runs; a dead one's ID is taken over (the restart case).
func TestNodeIDOfALiveProcessIsRefused(t *testing.T) {
	store := memstore.New(memstore.Options{})
	host, _ := os.Hostname()
	ctx := context.Background()
	now := time.Now()
	// The test's parent process is alive; PID 0x7ffffff0 is not.
	store.RegisterNode(ctx, sundial.Node{ID: "live", Host: host, PID: os.Getppid(), Incarnation: "x", StartedAt: now, LastSeen: now}, now)
	store.RegisterNode(ctx, sundial.Node{ID: "dead", Host: host, PID: 0x7ffffff0, Incarnation: "y", StartedAt: now, LastSeen: now}, now)
	live := newScheduler(t, sundial.Config{Store: store, NodeID: "live"})
	if err := live.Start(ctx); !errors.Is(err, sundial.ErrNodeIDInUse) {
		t.Errorf("Start under a live process's node ID = %v, want ErrNodeIDInUse", err)
		live.Shutdown(ctx)
	}
	dead := newScheduler(t, sundial.Config{Store: store, NodeID: "dead"})
	if err := dead.Start(ctx); err != nil {
		t.Errorf("Start under a dead process's node ID = %v", err)
	}
	dead.Shutdown(ctx)
}

// TestCancelBeforeStart: a run canceled after its claim and before its
// start (its node frozen in between) is recorded canceled and never runs.
func TestCancelBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &freezingStore{Store: memstore.New(memstore.Options{}), freeze: 16 * time.Second, thawed: make(chan struct{})}
		s := newScheduler(t, sundial.Config{Store: store, LeaseTTL: 20 * time.Second})
		var ran atomic.Int32
		s.Register("work", func(context.Context, sundial.Run) (any, error) { ran.Add(1); return nil, nil })
		ctx := context.Background()
		s.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(time.Second)})
		s.Start(ctx)
		time.Sleep(5 * time.Second) // claimed at 00:00:01, frozen until 00:00:17
		runs, _ := s.Runs(ctx, sundial.RunFilter{JobID: "j"})
		if len(runs) != 1 || runs[0].Status != sundial.StatusPending {
			t.Fatalf("runs: %s", summary(runs))
		}
		if got, err := s.CancelRun(ctx, runs[0].ID); err != nil || !got.CancelRequested {
			t.Fatalf("CancelRun = %+v, %v", got, err)
		}
		time.Sleep(30 * time.Second)
		s.Shutdown(ctx)
		runs, _ = s.Runs(ctx, sundial.RunFilter{JobID: "j"})
		if ran.Load() != 0 || len(runs) != 1 || runs[0].Status != sundial.StatusCanceled || !runs[0].StartedAt.IsZero() {
			t.Errorf("ran %d times; runs: %+v; want it canceled, never started", ran.Load(), runs)
		}
	})
}

// unrecordableStore refuses, for a while, to write any batch that holds
// the first attempt of job "j": the record of that run's end fails until
// the scheduler gives up on it.
type unrecordableStore struct {
	sundial.Store
	until time.Time
}

func (u *unrecordableStore) UpdateRuns(ctx context.Context, runs []sundial.Run) ([]error, error) {
	for _, r := range runs {
		if r.JobID == "j" && r.Attempt == 1 && time.Now().Before(u.until) {
			return nil, errors.New("disk full")
		}
	}
	return u.Store.(sundial.RunBatchUpdater).UpdateRuns(ctx, runs)
}

// TestUnrecordedEndIsRecovered: a run whose end could not be recorded is
// no longer renewed by its node once it has ended, so its lease lapses and
// it is recovered (lost, then retried) instead of staying running forever.
func TestUnrecordedEndIsRecovered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Longer than two of the recorder's five-minute tries: the start
		// and the end of the run may be written apart.
		store := &unrecordableStore{Store: memstore.New(memstore.Options{}), until: time.Now().Add(20 * time.Minute)}
		s := newScheduler(t, sundial.Config{Store: store, LeaseTTL: 3 * time.Second})
		s.Register("work", ok)
		ctx := context.Background()
		s.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: dateAt(time.Second),
			Options: sundial.JobOptions{MaxAttempts: 2, RetryBackoff: time.Second}})
		s.Start(ctx)
		time.Sleep(30 * time.Minute)
		s.Shutdown(ctx)
		runs, _ := s.Runs(ctx, sundial.RunFilter{JobID: "j"})
		if len(runs) != 2 || runs[1].Status != sundial.StatusLost || runs[0].Attempt != 2 || runs[0].Status != sundial.StatusSucceeded {
			t.Errorf("runs:\n%s\nwant attempt 1 lost (its end never recorded), attempt 2 succeeded", summary(runs))
		}
	})
}
