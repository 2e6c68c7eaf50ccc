package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/pgtest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/pgstore"
	"github.com/sundialhq/sundial/store/storetest"
	"github.com/sundialhq/sundial/trigger"
)

// testSchema creates a schema of its own for one test and returns pools
// whose search_path points at it; the schema is dropped afterwards.
func testSchema(t *testing.T, pools int) []*pgxpool.Pool {
	t.Helper()
	dsn := pgtest.SchemaDSN(t)
	var out []*pgxpool.Pool
	for range pools {
		p, err := pgxpool.New(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	t.Cleanup(func() { // before the schema is dropped
		for _, p := range out {
			p.Close()
		}
	})
	return out
}

func mustNew(t *testing.T, pool *pgxpool.Pool) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sundial.Store {
		return mustNew(t, testSchema(t, 1)[0])
	})
}

func TestReopenKeepsEverything(t *testing.T) {
	pools := testSchema(t, 2)
	first := mustNew(t, pools[0])
	storetest.Populate(t, first)
	first.Close()
	storetest.CheckPopulated(t, mustNew(t, pools[1]))
}

func TestLegacyDurationsMigrated(t *testing.T) {
	pools := testSchema(t, 2)
	s := mustNew(t, pools[0])
	storetest.LegacyDurations(t, s, s.DB(), func() sundial.Store { return mustNew(t, pools[1]) })
}

// TestActiveRunsIndexMigrated opens a database whose schema predates
// migration 0015, runs and all, and checks that the migration applies to
// it: the index of active runs replaces (job_id, status), and the data is
// whole.
func TestActiveRunsIndexMigrated(t *testing.T) {
	ctx := context.Background()
	pools := testSchema(t, 2)
	s := mustNew(t, pools[0])
	storetest.Populate(t, s)
	for _, q := range []string{
		`DROP INDEX sundial_runs_job_open`,
		`CREATE INDEX sundial_runs_job_status ON sundial_runs (job_id, status)`,
		`DELETE FROM sundial_migrations WHERE version = 15`,
	} {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	reopened := mustNew(t, pools[1])
	storetest.CheckPopulated(t, reopened)
	var indexes []string
	rows, err := reopened.DB().QueryContext(ctx, `SELECT indexname FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = 'sundial_runs' AND indexname IN ('sundial_runs_job_open', 'sundial_runs_job_status')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		indexes = append(indexes, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(indexes) != 1 || indexes[0] != "sundial_runs_job_open" {
		t.Errorf("indexes after the migration: %v, want [sundial_runs_job_open]", indexes)
	}
}

// TestBackfillAcrossReplicas: three replicas backfill the same range at
// once; each fire runs once.
func TestBackfillAcrossReplicas(t *testing.T) {
	pools := testSchema(t, 3)
	var stores []sundial.Store
	for _, p := range pools {
		stores = append(stores, mustNew(t, p))
	}
	storetest.Backfill(t, stores)
}

// TestChainsAcrossReplicas: three replicas run a chain; the chained job
// runs once per upstream run.
func TestChainsAcrossReplicas(t *testing.T) {
	pools := testSchema(t, 3)
	var stores []sundial.Store
	for _, p := range pools {
		stores = append(stores, mustNew(t, p))
	}
	storetest.Chains(t, stores)
}

// TestCalendarsAcrossReplicas: three replicas follow a calendar that one
// of them changes.
func TestCalendarsAcrossReplicas(t *testing.T) {
	pools := testSchema(t, 3)
	var stores []sundial.Store
	for _, p := range pools {
		stores = append(stores, mustNew(t, p))
	}
	storetest.CalendarReplicas(t, stores)
}

// TestBroadcastAcrossReplicas: broadcast jobs on replicas that come, go
// and die; each fire runs one shard per live node, each once.
func TestBroadcastAcrossReplicas(t *testing.T) {
	pools := testSchema(t, 3)
	var stores []sundial.Store
	for _, p := range pools {
		stores = append(stores, mustNew(t, p))
	}
	storetest.Broadcast(t, stores)
}

func TestLegacyBoundsMigrated(t *testing.T) {
	pools := testSchema(t, 2)
	s := mustNew(t, pools[0])
	storetest.LegacyBounds(t, s, s.DB(), func() sundial.Store { return mustNew(t, pools[1]) })
}

// TestReplicas has four stores on four pools (as four replicas would)
// migrate at once and then claim concurrently.
func TestReplicas(t *testing.T) {
	pools := testSchema(t, 4)
	stores := make([]sundial.Store, len(pools))
	errs := make(chan error, len(pools))
	for i, p := range pools {
		go func() {
			s, err := pgstore.New(context.Background(), p)
			if err == nil {
				stores[i] = s
				t.Cleanup(func() { s.Close() })
			}
			errs <- err
		}()
	}
	for range pools {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent migration: %v", err)
		}
	}
	storetest.ConcurrentClaims(t, stores)
}

// TestSchedulersShareOneDatabase runs four schedulers on one database, as
// four replicas would: every fire runs once.
func TestSchedulersShareOneDatabase(t *testing.T) {
	pools := testSchema(t, 4)
	var stores []sundial.Store
	for _, p := range pools {
		stores = append(stores, mustNew(t, p))
	}
	storetest.ExactlyOnce(t, stores)
}

func TestMain(m *testing.M) {
	storetest.RunWorkerIfAsked(func(ctx context.Context) (sundial.Store, func(), error) {
		cfg, err := pgxpool.ParseConfig(os.Getenv("SUNDIAL_TEST_POSTGRES"))
		if err != nil {
			return nil, nil, err
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = os.Getenv("SUNDIAL_STORETEST_SCHEMA")
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		s, err := pgstore.New(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return s, func() { s.Close(); pool.Close() }, nil
	})
	// The change listener and the schedulers live outside synctest
	// bubbles: every goroutine they start must be gone when the tests end.
	goleak.VerifyTestMain(m)
}

// schemaOf returns the schema a test pool works in.
func schemaOf(t *testing.T, pool *pgxpool.Pool) string {
	return pool.Config().ConnConfig.RuntimeParams["search_path"]
}

// TestManyProcesses runs 4 processes on one database, 500 jobs firing
// every second for 30 seconds (5 in -short mode): every fire once.
func TestManyProcesses(t *testing.T) {
	pool := testSchema(t, 1)[0]
	window := 30 * time.Second
	if testing.Short() {
		window = 5 * time.Second
	}
	c := storetest.NewCluster(t, 30*time.Second, "SUNDIAL_STORETEST_SCHEMA="+schemaOf(t, pool))
	storetest.ManyProcesses(t, mustNew(t, pool), c, 4, 500, window)
}

// TestCrash kills a replica with SIGKILL while it runs a job.
func TestCrash(t *testing.T) {
	pool := testSchema(t, 1)[0]
	c := storetest.NewCluster(t, 2*time.Second, "SUNDIAL_STORETEST_SCHEMA="+schemaOf(t, pool))
	storetest.CrashAndRetry(t, mustNew(t, pool), c)
}

// TestRestart stops everything for longer than the jobs' intervals and
// starts again on the same database.
func TestRestart(t *testing.T) {
	pools := testSchema(t, 2)
	next := 0
	storetest.Restart(t, func(t *testing.T) (sundial.Store, func()) {
		s, err := pgstore.New(context.Background(), pools[next])
		next++
		if err != nil {
			t.Fatal(err)
		}
		return s, func() { s.Close() }
	})
}

// TestNotifyWakesReplicas adds a job through one replica while another
// sleeps with an hour-long poll: LISTEN/NOTIFY wakes it at once.
func TestNotifyWakesReplicas(t *testing.T) {
	pools := testSchema(t, 2)
	ctx := context.Background()
	newScheduler := func(pool *pgxpool.Pool) *sundial.Scheduler {
		s, err := sundial.New(sundial.Config{Store: mustNew(t, pool), MaxSleep: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		s.Register("tick", func(context.Context, sundial.Run) (any, error) { return nil, nil })
		return s
	}
	api, sleeper := newScheduler(pools[0]), newScheduler(pools[1])
	done := sleeper.Subscribe(256, sundial.EventRunSucceeded)
	if err := sleeper.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Shutdown(ctx)
	// The sleeper listens from a connection of its own, set up in the
	// background: probe until a job added elsewhere wakes it, which shows
	// that it listens (with an hour-long poll nothing else would wake it).
	listening := false
	for i := 0; !listening; i++ {
		if i == 100 {
			t.Fatal("no probe job added elsewhere ran on the sleeping replica: it does not listen")
		}
		if _, err := api.AddJob(ctx, sundial.Job{ID: fmt.Sprint("probe-", i), Task: "tick",
			Trigger: trigger.Spec{Type: "date", RunDate: time.Now().Format(time.RFC3339Nano)}}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done.C:
			listening = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	added := time.Now()
	if _, err := api.AddJob(ctx, sundial.Job{ID: "now", Task: "tick",
		Trigger: trigger.Spec{Type: "date", RunDate: added.Format(time.RFC3339Nano)}}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-done.C:
			if e.Run.JobID != "now" {
				continue // a late probe
			}
			t.Logf("the sleeping replica ran the job %s after it was added", e.Time.Sub(added).Round(time.Millisecond))
			return
		case <-timeout:
			t.Fatal("the sleeping replica did not run a job added elsewhere: no notification")
		}
	}
}

// TestSkewedNodeFollowsTheDatabaseClock runs two schedulers on one database,
// one of them on a host clock 30 seconds fast: it measures the offset, says
// it is skewed, fires nothing early and marks none of the healthy node's
// runs lost, while the healthy node's long run holds its lease.
func TestSkewedNodeFollowsTheDatabaseClock(t *testing.T) {
	pools := testSchema(t, 2)
	ctx := context.Background()
	release := make(chan struct{})
	defer close(release)
	newNode := func(id string, pool *pgxpool.Pool, skew time.Duration) *sundial.Scheduler {
		s, err := sundial.New(sundial.Config{Store: mustNew(t, pool), NodeID: id, LeaseTTL: 2 * time.Second, MaxSleep: 100 * time.Millisecond,
			Now: func() time.Time { return time.Now().Add(skew) }, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		s.Register("hold", func(ctx context.Context, r sundial.Run) (any, error) {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return nil, nil
		})
		s.Register("at", func(ctx context.Context, r sundial.Run) (any, error) { return time.Now(), nil })
		t.Cleanup(func() { // after the deferred release
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s.Shutdown(ctx)
		})
		return s
	}
	healthy := newNode("healthy", pools[0], 0)
	if err := healthy.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := healthy.AddJob(ctx, sundial.Job{ID: "long", Task: "hold", Trigger: trigger.Spec{Type: "date", RunDate: "2000-01-01T00:00:00Z"},
		Options: sundial.JobOptions{MisfireGrace: -1}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		runs, _ := healthy.Runs(ctx, sundial.RunFilter{JobID: "long", Status: sundial.StatusRunning})
		return len(runs) == 1
	})
	// The healthy node stops claiming, so that the skewed one takes the
	// next fire, due 5 s from now on the database's clock.
	healthy.Standby(true)
	fast := newNode("fast", pools[1], 30*time.Second)
	if err := fast.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st := fast.Status(); !st.ClockSkewed || st.ClockOffset > -29*time.Second || st.ClockOffset < -31*time.Second {
		t.Fatalf("skewed node: offset %s skewed %v; want about -30s, skewed", st.ClockOffset, st.ClockSkewed)
	}
	due := time.Now().Add(5 * time.Second).UTC().Truncate(time.Second)
	if _, err := fast.AddJob(ctx, sundial.Job{ID: "at", Task: "at", Trigger: trigger.Spec{Type: "date", RunDate: due.Format(time.RFC3339)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		runs, _ := fast.Runs(ctx, sundial.RunFilter{JobID: "at", Status: sundial.StatusSucceeded})
		return len(runs) == 1
	})
	runs, _ := fast.Runs(ctx, sundial.RunFilter{JobID: "at"})
	var ranAt time.Time
	if err := json.Unmarshal(runs[0].Result, &ranAt); err != nil {
		t.Fatal(err)
	}
	if ranAt.Before(due) || runs[0].ClaimedAt.Before(due) || runs[0].Node != "fast" {
		t.Errorf("the skewed node ran the fire due at %s at %s (claimed %s on the database clock, node %s): early", due, ranAt, runs[0].ClaimedAt, runs[0].Node)
	}
	// Three leases later, the healthy node's long run is still its own.
	time.Sleep(3 * 2 * time.Second)
	long, _ := healthy.Runs(ctx, sundial.RunFilter{JobID: "long"})
	if len(long) != 1 || long[0].Status != sundial.StatusRunning {
		t.Errorf("the healthy node's run: %+v; want it running, not lost", long)
	}
}

var discard = slog.New(slog.DiscardHandler)

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCancelReachesTheOwningNode: a cancel requested through one replica
// stops a run executing on another at once (LISTEN/NOTIFY wakes its
// heartbeat), and that node records it canceled.
func TestCancelReachesTheOwningNode(t *testing.T) {
	pools := testSchema(t, 2)
	ctx := context.Background()
	stopped := make(chan time.Time, 1)
	owner, err := sundial.New(sundial.Config{Store: mustNew(t, pools[0]), NodeID: "owner", MaxSleep: 100 * time.Millisecond, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	owner.Register("hold", func(ctx context.Context, r sundial.Run) (any, error) {
		<-ctx.Done()
		stopped <- time.Now()
		return nil, ctx.Err()
	})
	// An API-only node: it knows the task's name but never starts.
	api, err := sundial.New(sundial.Config{Store: mustNew(t, pools[1]), NodeID: "api", Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	api.Register("hold", func(context.Context, sundial.Run) (any, error) { return nil, nil })
	if err := owner.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Shutdown(ctx) })
	if _, err := api.AddJob(ctx, sundial.Job{ID: "long", Task: "hold", Trigger: trigger.At(time.Now())}); err != nil {
		t.Fatal(err)
	}
	var run sundial.Run
	waitFor(t, func() bool {
		runs, _ := api.Runs(ctx, sundial.RunFilter{JobID: "long", Status: sundial.StatusRunning})
		if len(runs) == 1 {
			run = runs[0]
		}
		return len(runs) == 1
	})
	asked := time.Now()
	if _, err := api.CancelRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-stopped:
		t.Logf("the owning node stopped the run %s after the request", at.Sub(asked).Round(time.Millisecond))
		if at.Sub(asked) > time.Second {
			t.Errorf("the run stopped %s after the cancel, want within a second", at.Sub(asked))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the owning node did not stop the run")
	}
	waitFor(t, func() bool {
		got, _ := api.RunByID(ctx, run.ID)
		return got.Status == sundial.StatusCanceled
	})
}

// TestClaimAfterTheDatabaseDroppedItsConnections: the database restarted,
// so every connection the pool kept is broken, which shows only when one
// is used. The next claim still succeeds, on a new connection, as a
// statement that database/sql sends itself would: claims failing on one
// broken connection after another would double the scheduler's back-off
// each time, and hold its claims back for seconds after the restart.
func TestClaimAfterTheDatabaseDroppedItsConnections(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(pgtest.SchemaDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	app := "sundial_claim_" + strings.ToLower(rand.Text()[:8])
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // after the store's
	s := mustNew(t, pool)
	t0 := time.Now().Truncate(time.Minute)
	plan := func(job sundial.Job, _ int, _ bool) (sundial.Job, []sundial.Run) {
		run := sundial.Run{ID: "run-" + job.ID, JobID: job.ID, Task: job.Task, ScheduledAt: job.NextRunAt, Status: sundial.StatusPending, Attempt: 1}
		job.NextRunAt = time.Time{}
		return job, []sundial.Run{run}
	}
	claim := func() ([]sundial.Run, error) {
		return s.Claim(ctx, sundial.ClaimRequest{Now: t0, Limit: 10, Node: "n", Incarnation: "i", LeaseUntil: t0.Add(time.Minute)}, plan)
	}
	// Claims side by side: the pool keeps several connections.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := claim(); err != nil {
				t.Errorf("claim: %v", err)
			}
		})
	}
	wg.Wait()
	if _, err := s.CreateJob(ctx, sundial.Job{ID: "due", Task: "task", Trigger: trigger.Spec{Type: "cron", Expr: "* * * * *"}, NextRunAt: t0}, t0); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, os.Getenv(pgtest.EnvVar))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var dropped int
	if err := admin.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&dropped); err != nil || dropped < 2 {
		t.Fatalf("terminated %d of the store's connections (%v), want 2 or more", dropped, err)
	}
	runs, err := claim()
	if err != nil || len(runs) != 1 || runs[0].JobID != "due" {
		t.Fatalf("the claim after the connections were dropped = %+v, %v; want the due job's run", runs, err)
	}
}
