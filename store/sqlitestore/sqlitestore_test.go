package sqlitestore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/sqlitestore"
	"github.com/sundialhq/sundial/store/storetest"
	"github.com/sundialhq/sundial/trigger"
)

// mustOpen opens a store on a file in the test's temp dir or fails the test.
func mustOpen(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sundial.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "sundial.db"))
	})
}

// TestReopenKeepsEverything checks that jobs and runs survive closing and
// reopening the file, and that migrating an up-to-date file is a no-op.
func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	ctx := context.Background()
	first, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Populate(t, first)
	first.Close()
	storetest.CheckPopulated(t, mustOpen(t, path))
}

func TestLegacyDurationsMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	s := mustOpen(t, path)
	storetest.LegacyDurations(t, s, s.DB(), func() sundial.Store { return mustOpen(t, path) })
}

func TestLegacyBoundsMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	s := mustOpen(t, path)
	storetest.LegacyBounds(t, s, s.DB(), func() sundial.Store { return mustOpen(t, path) })
}

// TestSeveralHandlesOnOneFile opens the same file through separate pools,
// as separate processes would, and has them claim concurrently.
func TestSeveralHandlesOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	var stores []sundial.Store
	for range 4 {
		stores = append(stores, mustOpen(t, path))
	}
	storetest.ConcurrentClaims(t, stores)
}

// TestBackfillAcrossProcesses: three handles on one file backfill the
// same range at once; each fire runs once.
func TestBackfillAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	var stores []sundial.Store
	for range 3 {
		stores = append(stores, mustOpen(t, path))
	}
	storetest.Backfill(t, stores)
}

// TestChainsAcrossProcesses: three handles on one file run a chain; the
// chained job runs once per upstream run.
func TestChainsAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	var stores []sundial.Store
	for range 3 {
		stores = append(stores, mustOpen(t, path))
	}
	storetest.Chains(t, stores)
}

// TestCalendarsAcrossProcesses: three handles on one file follow a
// calendar that one of them changes.
func TestCalendarsAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	var stores []sundial.Store
	for range 3 {
		stores = append(stores, mustOpen(t, path))
	}
	storetest.CalendarReplicas(t, stores)
}

// TestBroadcastAcrossProcesses: broadcast jobs on schedulers (three
// handles on one file) that come, go and die; each fire runs one shard per
// live node, each once.
func TestBroadcastAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	var stores []sundial.Store
	for range 3 {
		stores = append(stores, mustOpen(t, path))
	}
	storetest.Broadcast(t, stores)
}

// TestSchedulersShareOneFile runs four schedulers on one SQLite file, as
// four gunicorn workers would: every fire runs once.
func TestSchedulersShareOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	var stores []sundial.Store
	for range 4 {
		stores = append(stores, mustOpen(t, path))
	}
	storetest.ExactlyOnce(t, stores)
}

func TestMain(m *testing.M) {
	storetest.RunWorkerIfAsked(func(ctx context.Context) (sundial.Store, func(), error) {
		s, err := sqlitestore.Open(ctx, os.Getenv("SUNDIAL_STORETEST_SQLITE"))
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	})
	os.Exit(m.Run())
}

// TestManyProcesses runs 4 processes on one SQLite file, 500 jobs firing
// every second for 30 seconds (5 in -short mode): every fire once.
func TestManyProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	window := 30 * time.Second
	if testing.Short() {
		window = 5 * time.Second
	}
	c := storetest.NewCluster(t, 30*time.Second, "SUNDIAL_STORETEST_SQLITE="+path)
	storetest.ManyProcesses(t, mustOpen(t, path), c, 4, 500, window)
}

// TestCrash kills a process with SIGKILL while it runs a job.
func TestCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	c := storetest.NewCluster(t, 2*time.Second, "SUNDIAL_STORETEST_SQLITE="+path)
	storetest.CrashAndRetry(t, mustOpen(t, path), c)
}

// TestRestart stops everything for longer than the jobs' intervals and
// starts again on the same file.
func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	storetest.Restart(t, func(t *testing.T) (sundial.Store, func()) {
		s, err := sqlitestore.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s, func() { s.Close() }
	})
}

// TestClusterPauseSurvivesARestart: a pause made through one scheduler
// holds for another process's scheduler and across a restart of both.
func TestClusterPauseSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.db")
	ctx := context.Background()
	newScheduler := func() *sundial.Scheduler {
		s, err := sundial.New(sundial.Config{Store: mustOpen(t, path)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := newScheduler(), newScheduler()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	if paused, _, err := b.Paused(ctx); err != nil || !paused {
		t.Errorf("another handle sees paused %v, %v", paused, err)
	}
	a.Shutdown(ctx)
	restarted := newScheduler()
	if err := restarted.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer restarted.Shutdown(ctx)
	if paused, since, err := restarted.Paused(ctx); err != nil || !paused || since.IsZero() {
		t.Errorf("after a restart: paused %v since %s, %v", paused, since, err)
	}
	if err := restarted.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if paused, _, _ := b.Paused(ctx); paused {
		t.Error("still paused after Resume")
	}
}

// TestPoolOfOneConnection: a store over a caller's pool capped at one
// connection (New) must not keep that connection for its writes — reads
// would wait for it for ever — and works as before.
func TestPoolOfOneConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "sundial.db")+"?_txlock=immediate&_busy_timeout=10000&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	s, err := sqlitestore.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().Truncate(time.Second)
	if _, err := s.CreateJob(ctx, sundial.Job{ID: "j", Task: "t", Trigger: trigger.Spec{Type: "cron", Expr: "* * * * *"}, NextRunAt: now}, now); err != nil {
		t.Fatal(err)
	}
	plan := func(job sundial.Job, _ int, _ bool) (sundial.Job, []sundial.Run) {
		run := sundial.Run{ID: "r", JobID: job.ID, Task: job.Task, ScheduledAt: job.NextRunAt, Status: sundial.StatusPending, Attempt: 1}
		job.NextRunAt = job.NextRunAt.Add(time.Minute)
		return job, []sundial.Run{run}
	}
	runs, err := s.Claim(ctx, sundial.ClaimRequest{Now: now, Limit: 10, Node: "n", Incarnation: "i", LeaseUntil: now.Add(time.Minute)}, plan)
	if err != nil || len(runs) != 1 {
		t.Fatalf("claim = %+v, %v; want one run", runs, err)
	}
	// A read after the write: it needs the one connection.
	job, err := s.GetJob(ctx, "j")
	if err != nil || !job.NextRunAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("job after the claim: next run %v, %v; want %v", job.NextRunAt, err, now.Add(time.Minute))
	}
	if _, err := s.Claim(ctx, sundial.ClaimRequest{Now: now, Limit: 10, Node: "n", Incarnation: "i", LeaseUntil: now.Add(time.Minute)}, plan); err != nil {
		t.Fatalf("a second claim: %v", err)
	}
}
