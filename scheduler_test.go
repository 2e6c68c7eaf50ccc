package sundial_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	_ "time/tzdata"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/trigger"
)

// The tests run inside testing/synctest bubbles: time is fake, starts at
// 2000-01-01T00:00:00Z (a Saturday), and advances only when every goroutine
// is blocked, so nothing sleeps and nothing flakes. A cron job added at
// exactly 00:00:00 fires at 00:00:00: the first fire is at or after now.

type bundle struct {
	s     *sundial.Scheduler
	store *memstore.Store
	ctx   context.Context
}

func setup(t *testing.T, cfg sundial.Config) *bundle {
	t.Helper()
	store := memstore.New(memstore.Options{})
	cfg.Store = store
	if cfg.Retention.PerJob == 0 {
		cfg.Retention.PerJob = 10000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := sundial.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{s: s, store: store, ctx: context.Background()}
}

func (b *bundle) register(t *testing.T, name string, fn sundial.TaskFunc) {
	t.Helper()
	if err := b.s.Register(name, fn); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) add(t *testing.T, job sundial.Job) sundial.Job {
	t.Helper()
	j, err := b.s.AddJob(b.ctx, job)
	if err != nil {
		t.Fatalf("AddJob(%s): %v", job.ID, err)
	}
	return j
}

func (b *bundle) start(t *testing.T) {
	t.Helper()
	if err := b.s.Start(b.ctx); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) stop(t *testing.T) {
	t.Helper()
	if err := b.s.Shutdown(b.ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// runs returns the job's runs, oldest fire first.
func (b *bundle) runs(t *testing.T, jobID string) []sundial.Run {
	t.Helper()
	runs, err := b.s.Runs(b.ctx, sundial.RunFilter{JobID: jobID})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	return runs
}

// summary renders runs as "HH:MM:SS status" lines in fire order.
func summary(runs []sundial.Run) string {
	var lines []string
	for _, r := range runs {
		lines = append(lines, r.ScheduledAt.UTC().Format("15:04:05")+" "+string(r.Status))
	}
	return strings.Join(lines, "\n")
}

func cron(expr string) trigger.Spec { return trigger.Spec{Type: "cron", Expr: expr} }

func every(d time.Duration) trigger.Spec {
	return trigger.Spec{Type: "interval", Seconds: d.Seconds()}
}

func ok(context.Context, sundial.Run) (any, error) { return "ok", nil }

// sleeper returns a task that takes d of (fake) time, honouring ctx.
func sleeper(d time.Duration) sundial.TaskFunc {
	return func(ctx context.Context, _ sundial.Run) (any, error) {
		select {
		case <-time.After(d):
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func TestCronJobFiresOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		var mu sync.Mutex
		var late []time.Duration
		b.register(t, "tick", func(_ context.Context, r sundial.Run) (any, error) {
			mu.Lock()
			late = append(late, time.Since(r.ScheduledAt))
			mu.Unlock()
			return map[string]int{"n": 1}, nil
		})
		b.add(t, sundial.Job{ID: "j", Task: "tick", Trigger: cron("*/10 * * * * *")})
		b.start(t)
		time.Sleep(35 * time.Second)
		b.stop(t)

		runs := b.runs(t, "j")
		if got, want := summary(runs), "00:00:00 succeeded\n00:00:10 succeeded\n00:00:20 succeeded\n00:00:30 succeeded"; got != want {
			t.Errorf("runs:\n%s\nwant:\n%s", got, want)
		}
		for _, d := range late {
			if d != 0 {
				t.Errorf("a run started %s late; fake time has no excuse", d)
			}
		}
		if string(runs[0].Result) != `{"n":1}` || runs[0].Attempt != 1 || runs[0].StartedAt.IsZero() || runs[0].EndedAt.IsZero() {
			t.Errorf("run record = %+v", runs[0])
		}
	})
}

func TestFiresInOrderAcrossJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{Workers: 1})
		var mu sync.Mutex
		var order []string
		b.register(t, "record", func(_ context.Context, r sundial.Run) (any, error) {
			mu.Lock()
			order = append(order, r.JobID)
			mu.Unlock()
			return nil, nil
		})
		start := time.Now()
		for i, id := range []string{"c", "a", "d", "b"} {
			at := start.Add(time.Duration([]int{3, 1, 4, 2}[i]) * time.Second)
			b.add(t, sundial.Job{ID: id, Task: "record", Trigger: trigger.Spec{Type: "date", RunDate: at.Format(time.RFC3339)}})
		}
		b.start(t)
		time.Sleep(5 * time.Second)
		b.stop(t)
		if got := strings.Join(order, ""); got != "abcd" {
			t.Errorf("ran in order %q, want abcd (by fire time)", got)
		}
	})
}

func TestMisfireAndCoalesce(t *testing.T) {
	tests := []struct {
		name     string
		opts     sundial.JobOptions
		want     string
		succeeds int
	}{
		{"defaults: older than 60s missed, the rest coalesced", sundial.JobOptions{},
			"00:00:00 succeeded\n00:00:10 missed\n00:00:20 missed\n00:00:30 missed\n00:00:40 skipped\n00:00:50 skipped\n00:01:00 skipped\n00:01:10 skipped\n00:01:20 skipped\n00:01:30 skipped\n00:01:40 succeeded\n00:01:50 succeeded", 2},
		{"no grace limit", sundial.JobOptions{MisfireGrace: -1},
			"00:00:00 succeeded\n00:00:10 skipped\n00:00:20 skipped\n00:00:30 skipped\n00:00:40 skipped\n00:00:50 skipped\n00:01:00 skipped\n00:01:10 skipped\n00:01:20 skipped\n00:01:30 skipped\n00:01:40 succeeded\n00:01:50 succeeded", 2},
		{"coalesce off runs every fire within grace", sundial.JobOptions{Coalesce: new(false), MaxInstances: 10},
			"00:00:00 succeeded\n00:00:10 missed\n00:00:20 missed\n00:00:30 missed\n00:00:40 succeeded\n00:00:50 succeeded\n00:01:00 succeeded\n00:01:10 succeeded\n00:01:20 succeeded\n00:01:30 succeeded\n00:01:40 succeeded\n00:01:50 succeeded", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, sundial.Config{})
				b.register(t, "tick", ok)
				b.add(t, sundial.Job{ID: "j", Task: "tick", Trigger: cron("*/10 * * * * *"), Options: tt.opts})
				b.start(t)
				// The scheduler stalls (a paused process) from 00:00:05 to 00:01:40.
				time.Sleep(5 * time.Second)
				b.s.Pause(context.Background())
				time.Sleep(95 * time.Second)
				b.s.Resume(context.Background())
				time.Sleep(15 * time.Second)
				b.stop(t)
				if got := summary(b.runs(t, "j")); got != tt.want {
					t.Errorf("runs:\n%s\nwant:\n%s", got, tt.want)
				}
			})
		})
	}
}

func TestOverlapPolicies(t *testing.T) {
	tests := []struct {
		overlap sundial.Overlap
		want    string
	}{
		// Each run takes 100s; the job fires every minute. Under "queue" the
		// 00:01 fire waits and runs 00:01:40-00:03:20, the 00:02 fire waits
		// for it, and the 00:03 fire finds one already waiting.
		{sundial.OverlapSkip, "00:00:00 succeeded\n00:01:00 skipped\n00:02:00 succeeded\n00:03:00 skipped\n00:04:00 succeeded"},
		{sundial.OverlapQueue, "00:00:00 succeeded\n00:01:00 succeeded\n00:02:00 succeeded\n00:03:00 skipped"},
		{sundial.OverlapAllow, "00:00:00 succeeded\n00:01:00 succeeded\n00:02:00 succeeded\n00:03:00 succeeded\n00:04:00 succeeded"},
	}
	for _, tt := range tests {
		t.Run(string(tt.overlap), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := setup(t, sundial.Config{})
				var running, peak atomic.Int32
				b.register(t, "slow", func(ctx context.Context, r sundial.Run) (any, error) {
					n := running.Add(1)
					defer running.Add(-1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					return sleeper(100*time.Second)(ctx, r)
				})
				b.add(t, sundial.Job{ID: "j", Task: "slow", Trigger: cron("* * * * *"),
					Options: sundial.JobOptions{Overlap: tt.overlap, MisfireGrace: -1}})
				b.start(t)
				time.Sleep(4*time.Minute + 30*time.Second)
				b.stop(t)
				if got := summary(b.runs(t, "j")); !strings.HasPrefix(got, tt.want) {
					t.Errorf("runs:\n%s\nwant them to start with:\n%s", got, tt.want)
				}
				wantPeak := int32(1)
				if tt.overlap == sundial.OverlapAllow {
					wantPeak = 2
				}
				if peak.Load() != wantPeak {
					t.Errorf("at most %d runs at once, want %d", peak.Load(), wantPeak)
				}
			})
		})
	}
}

func TestRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		var calls atomic.Int32
		var starts []time.Time
		var mu sync.Mutex
		b.register(t, "flaky", func(_ context.Context, r sundial.Run) (any, error) {
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
			if calls.Add(1) < 3 {
				return nil, fmt.Errorf("attempt %d failed", r.Attempt)
			}
			return r.FireKey(), nil
		})
		b.add(t, sundial.Job{ID: "j", Task: "flaky", Trigger: trigger.Spec{Type: "date", RunDate: "2000-01-01T00:01:00Z"},
			Options: sundial.JobOptions{MaxAttempts: 3, RetryBackoff: 10 * time.Second}})
		b.start(t)
		time.Sleep(5 * time.Minute)
		b.stop(t)

		runs := b.runs(t, "j")
		if len(runs) != 3 {
			t.Fatalf("%d runs, want 3 attempts:\n%s", len(runs), summary(runs))
		}
		for i, r := range runs {
			want := sundial.StatusFailed
			if i == 2 {
				want = sundial.StatusSucceeded
			}
			if r.Attempt != i+1 || r.Status != want || !r.ScheduledAt.Equal(runs[0].ScheduledAt) {
				t.Errorf("attempt %d: %+v", i+1, r)
			}
		}
		if len(starts) != 3 {
			t.Fatalf("%d starts", len(starts))
		}
		if d := starts[1].Sub(starts[0]); d < 5*time.Second || d > 10*time.Second {
			t.Errorf("first retry after %s, want 5s-10s (10s backoff with jitter)", d)
		}
		if d := starts[2].Sub(starts[1]); d < 10*time.Second || d > 20*time.Second {
			t.Errorf("second retry after %s, want 10s-20s (doubled)", d)
		}
		var result string
		if err := json.Unmarshal(runs[2].Result, &result); err != nil || result != "j@2000-01-01T00:01:00Z" {
			t.Errorf("fire key seen by the last attempt = %q (%v), want the fire's stable key", result, err)
		}
	})
}

func TestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "stuck", sleeper(time.Hour))
		b.add(t, sundial.Job{ID: "j", Task: "stuck", Trigger: trigger.Spec{Type: "date", RunDate: "2000-01-01T00:00:10Z"},
			Options: sundial.JobOptions{Timeout: 5 * time.Second}})
		b.start(t)
		time.Sleep(time.Minute)
		b.stop(t)
		runs := b.runs(t, "j")
		if len(runs) != 1 || runs[0].Status != sundial.StatusTimedOut || runs[0].EndedAt.Sub(runs[0].StartedAt) != 5*time.Second {
			t.Fatalf("runs = %+v, want one timed_out after 5s", runs)
		}
		if !strings.Contains(runs[0].Error, "timed out after 5s") {
			t.Errorf("error %q does not say it timed out", runs[0].Error)
		}
	})
}

func TestPanicIsRecordedWithStack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "boom", panicky)
		b.add(t, sundial.Job{ID: "j", Task: "boom", Trigger: trigger.Spec{Type: "date", RunDate: "2000-01-01T00:00:10Z"}})
		b.start(t)
		time.Sleep(time.Minute)
		b.stop(t)
		runs := b.runs(t, "j")
		if len(runs) != 1 || runs[0].Status != sundial.StatusFailed {
			t.Fatalf("runs = %+v, want one failed", runs)
		}
		if !strings.Contains(runs[0].Error, "panic: runtime error: index out of range") || !strings.Contains(runs[0].Error, "panicky") {
			t.Errorf("error %q lacks the panic and its stack", runs[0].Error)
		}
	})
}

func panicky(context.Context, sundial.Run) (any, error) {
	var s []int
	return s[3], nil
}

func TestShutdownWaitsForRunningRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "work", sleeper(30*time.Second))
		b.add(t, sundial.Job{ID: "j", Task: "work", Trigger: cron("* * * * *")})
		b.start(t)
		time.Sleep(70 * time.Second) // the run started at 00:01:00
		ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
		defer cancel()
		if err := b.s.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown = %v, want nil: the run ends within the grace", err)
		}
		if got := summary(b.runs(t, "j")); got != "00:00:00 succeeded\n00:01:00 succeeded" {
			t.Errorf("runs:\n%s", got)
		}
		if time.Now().After(time.Date(2000, 1, 1, 0, 1, 30, 0, time.UTC)) {
			t.Errorf("Shutdown returned at %s, after the run ended at 00:01:30", time.Now())
		}
	})
}

func TestShutdownInterruptsAfterGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "long", sleeper(time.Hour))
		b.add(t, sundial.Job{ID: "j", Task: "long", Trigger: cron("* * * * *")})
		b.start(t)
		time.Sleep(70 * time.Second)
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancel()
		if err := b.s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
		}
		// The 00:00 run holds the only instance; the 00:01 fire is skipped.
		if got := summary(b.runs(t, "j")); got != "00:00:00 interrupted\n00:01:00 skipped" {
			t.Fatalf("runs:\n%s", got)
		}
		if _, err := b.s.RunNow(b.ctx, "j", nil); !errors.Is(err, sundial.ErrNotRunning) {
			t.Errorf("RunNow after Shutdown = %v, want ErrNotRunning", err)
		}
	})
}

func TestPauseAndResumeJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "tick", ok)
		b.add(t, sundial.Job{ID: "j", Task: "tick", Trigger: cron("* * * * *")})
		b.start(t)
		time.Sleep(90 * time.Second) // fired at 00:01
		paused, err := b.s.PauseJob(b.ctx, "j")
		if err != nil || !paused.Paused || !paused.NextRunAt.IsZero() {
			t.Fatalf("PauseJob = %+v, %v", paused, err)
		}
		time.Sleep(3 * time.Minute) // 00:04:30: no fires while paused
		resumed, err := b.s.ResumeJob(b.ctx, "j")
		if err != nil || resumed.Paused || !resumed.NextRunAt.Equal(time.Date(2000, 1, 1, 0, 5, 0, 0, time.UTC)) {
			t.Fatalf("ResumeJob = %+v, %v", resumed, err)
		}
		time.Sleep(time.Minute)
		b.stop(t)
		if got := summary(b.runs(t, "j")); got != "00:00:00 succeeded\n00:01:00 succeeded\n00:05:00 succeeded" {
			t.Errorf("runs:\n%s", got)
		}
	})
}

func TestRunOnStartAndIntervals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "tick", ok)
		b.add(t, sundial.Job{ID: "now", Task: "tick", Trigger: every(time.Hour), Options: sundial.JobOptions{RunOnStart: true}})
		b.add(t, sundial.Job{ID: "later", Task: "tick", Trigger: every(time.Hour)})
		b.start(t)
		time.Sleep(2*time.Hour + time.Minute)
		b.stop(t)
		if got := summary(b.runs(t, "now")); got != "00:00:00 succeeded\n01:00:00 succeeded\n02:00:00 succeeded" {
			t.Errorf("RunOnStart job runs:\n%s", got)
		}
		if got := summary(b.runs(t, "later")); got != "01:00:00 succeeded\n02:00:00 succeeded" {
			t.Errorf("interval job (first fire one interval after adding) runs:\n%s", got)
		}
	})
}

// TestBoundsOnTheTrigger: start_date and end_date, on the trigger, bound
// every kind of fire: the trigger's own, running on start, fixed delay.
func TestBoundsOnTheTrigger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "tick", ok)
		b.register(t, "work", sleeper(20*time.Second))
		at := func(h, m, s int) time.Time { return time.Date(2000, 1, 1, h, m, s, 0, time.UTC) }
		b.add(t, sundial.Job{ID: "window", Task: "tick", Trigger: trigger.CronExpr("*/30 * * * *", trigger.From(at(0, 45, 0)), trigger.Until(at(1, 30, 0)))})
		b.add(t, sundial.Job{ID: "on-start-before-its-start", Task: "tick", Trigger: trigger.CronExpr("0 * * * *", trigger.From(at(0, 20, 0))),
			Options: sundial.JobOptions{RunOnStart: true}})
		b.add(t, sundial.Job{ID: "ended", Task: "tick", Trigger: trigger.CronExpr("* * * * *", trigger.Until(at(0, 0, 0).Add(-time.Hour))),
			Options: sundial.JobOptions{RunOnStart: true}})
		b.add(t, sundial.Job{ID: "delay", Task: "work", Trigger: trigger.Every(time.Minute, trigger.From(at(0, 1, 0)), trigger.Until(at(0, 3, 0))),
			Options: sundial.JobOptions{FixedDelay: true}})
		b.add(t, sundial.Job{ID: "any", Task: "tick", Trigger: trigger.AnyOf(trigger.CronExpr("0 * * * *"), trigger.CronExpr("30 * * * *")).
			With(trigger.From(at(0, 10, 0)), trigger.Until(at(1, 0, 0)))})
		b.start(t)
		time.Sleep(2*time.Hour + time.Minute)
		b.stop(t)
		for _, tt := range []struct{ job, want string }{
			{"window", "01:00:00 succeeded\n01:30:00 succeeded"},
			{"on-start-before-its-start", "00:00:00 succeeded\n01:00:00 succeeded\n02:00:00 succeeded"},
			{"ended", ""},
			// 00:01 runs until 00:01:20, 00:02:20 until 00:02:40; 00:03:40 is past the end.
			{"delay", "00:01:00 succeeded\n00:02:20 succeeded"},
			{"any", "00:30:00 succeeded\n01:00:00 succeeded"},
		} {
			if got := summary(b.runs(t, tt.job)); got != tt.want {
				t.Errorf("job %s runs:\n%s\nwant:\n%s", tt.job, got, tt.want)
			}
		}
	})
}

// TestOldBoundsRefused: a job that still says options.start_at or end_at
// is refused with directions to the trigger, not silently unbounded.
func TestOldBoundsRefused(t *testing.T) {
	for _, field := range []string{"start_at", "end_at"} {
		var job sundial.Job
		err := json.Unmarshal([]byte(`{"task": "tick", "trigger": {"type": "cron", "expr": "* * * * *"}, "options": {"`+field+`": "2026-01-01T00:00:00Z"}}`), &job)
		var invalid *sundial.InvalidJobError
		if !errors.As(err, &invalid) || invalid.Field != "options."+field || !strings.Contains(err.Error(), "trigger.") {
			t.Errorf("options.%s: error %v, want an *InvalidJobError naming the field and the trigger", field, err)
		}
	}
}

func TestFixedDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "work", sleeper(20*time.Second))
		b.add(t, sundial.Job{ID: "j", Task: "work", Trigger: every(time.Minute), Options: sundial.JobOptions{FixedDelay: true}})
		b.start(t)
		time.Sleep(4 * time.Minute)
		b.stop(t)
		// 01:00 runs until 01:20, the next is a minute after that, and so on.
		if got := summary(b.runs(t, "j")); got != "00:01:00 succeeded\n00:02:20 succeeded\n00:03:40 succeeded" {
			t.Errorf("runs:\n%s", got)
		}
	})
}

func TestDaylightSavingThroughTheScheduler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Move the wall clock to 2026-03-07 12:00 New York time; the gap is
		// on 2026-03-08 at 02:00.
		offset := time.Until(time.Date(2026, 3, 7, 17, 0, 0, 0, time.UTC))
		b := setup(t, sundial.Config{Now: func() time.Time { return time.Now().Add(offset) }, MaxSleep: time.Hour})
		b.register(t, "tick", ok)
		spec := cron("30 2 * * *")
		spec.Timezone = "America/New_York"
		b.add(t, sundial.Job{ID: "j", Task: "tick", Trigger: spec})
		b.start(t)
		time.Sleep(48 * time.Hour)
		b.stop(t)
		runs := b.runs(t, "j")
		var got []string
		for _, r := range runs {
			got = append(got, r.ScheduledAt.Format(time.RFC3339)+" "+string(r.Status))
		}
		want := []string{"2026-03-08T03:00:00-04:00 succeeded", "2026-03-09T02:30:00-04:00 succeeded"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("runs %v, want %v", got, want)
		}
	})
}

func TestClockJumps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var offset atomic.Int64
		b := setup(t, sundial.Config{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
		b.register(t, "tick", ok)
		b.add(t, sundial.Job{ID: "j", Task: "tick", Trigger: cron("* * * * *")})
		b.start(t)
		time.Sleep(90 * time.Second) // fired at 00:01

		offset.Store(int64(time.Hour)) // the wall clock jumps an hour ahead
		time.Sleep(time.Minute)        // wall clock 01:02:30
		runs := b.runs(t, "j")
		ran := 0
		for _, r := range runs {
			if r.Status == sundial.StatusSucceeded {
				ran++
			}
		}
		// 00:01 ran; the backlog 00:02-01:01 is recorded missed/skipped and
		// runs once; 01:02 runs on time. Never a burst.
		if ran != 3 {
			t.Errorf("%d runs succeeded after a jump forward, want 3:\n%s", ran, summary(runs))
		}

		offset.Store(0) // and back an hour: wall clock 00:02:30
		time.Sleep(61 * time.Minute)
		seen := map[time.Time]int{}
		for _, r := range b.runs(t, "j") {
			seen[r.ScheduledAt]++
			if seen[r.ScheduledAt] > 1 {
				t.Errorf("fire %s recorded twice after a jump back", r.ScheduledAt)
			}
		}
		last := b.runs(t, "j")
		if l := last[len(last)-1]; l.Status != sundial.StatusSucceeded || !l.ScheduledAt.After(time.Date(2000, 1, 1, 1, 2, 0, 0, time.UTC)) {
			t.Errorf("after the jump back the job stopped: last run %s %s", l.ScheduledAt, l.Status)
		}
		b.stop(t)
	})
}

func TestUnknownTaskAndBadInput(t *testing.T) {
	b := setup(t, sundial.Config{})
	b.register(t, "tick", ok)
	_, err := b.s.AddJob(b.ctx, sundial.Job{ID: "j", Task: "nope", Trigger: cron("* * * * *")})
	var unknown *sundial.UnknownTaskError
	if !errors.Is(err, sundial.ErrUnknownTask) || !errors.As(err, &unknown) || unknown.Task != "nope" {
		t.Errorf("AddJob with an unregistered task: %v", err)
	}
	tests := []struct {
		job   sundial.Job
		field string
	}{
		{sundial.Job{Task: "tick", Trigger: cron("0 24 * * *")}, "trigger.hour"},
		{sundial.Job{Task: "tick", Trigger: trigger.Spec{Type: "weekly"}}, "trigger.type"},
		{sundial.Job{Task: "", Trigger: cron("* * * * *")}, "task"},
		{sundial.Job{ID: "has space", Task: "tick", Trigger: cron("* * * * *")}, "id"},
		{sundial.Job{Task: "tick", Trigger: cron("* * * * *"), Args: json.RawMessage(`{oops`)}, "args"},
		{sundial.Job{Task: "tick", Trigger: cron("* * * * *"), Options: sundial.JobOptions{Overlap: "sometimes"}}, "options.overlap"},
		{sundial.Job{Task: "tick", Trigger: cron("* * * * *"), Options: sundial.JobOptions{Timeout: -time.Second}}, "options.timeout"},
		{sundial.Job{Task: "tick", Trigger: cron("* * * * *"), Options: sundial.JobOptions{Timeout: 101 * 365 * 24 * time.Hour}}, "options.timeout"},
		{sundial.Job{Task: "tick", Trigger: cron("* * * * *"), Options: sundial.JobOptions{MaxRetryBackoff: 200 * 365 * 24 * time.Hour}}, "options.max_retry_backoff"},
		{sundial.Job{Task: "tick", Trigger: cron("* * * * *"), Options: sundial.JobOptions{MisfireGrace: -5 * time.Minute}}, "options.misfire_grace"},
		{sundial.Job{Task: "tick", Trigger: trigger.Spec{Type: "interval", Weeks: 30500}}, "trigger.weeks"},
	}
	// The one rule for IDs: what a URL path segment, a shell word and a
	// file name all take as they are.
	for _, id := range []string{".", "..", "a/b", "/", "a%2Fb", "%", "a?b", "a#b", " a", "a ", "a\tb", "a\x00b", "a\u202eb", "é", "-x", ".hidden", "_x",
		strings.Repeat("x", 201)} {
		tests = append(tests, struct {
			job   sundial.Job
			field string
		}{sundial.Job{ID: id, Task: "tick", Trigger: cron("* * * * *")}, "id"})
	}
	for _, id := range []string{"a", "report.daily", "user@example.com", "ns:job-1_x~2", "9", strings.Repeat("x", 200)} {
		if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: id, Task: "tick", Trigger: cron("* * * * *"), Paused: true}); err != nil {
			t.Errorf("AddJob with ID %q: %v", id, err)
		}
		if err := b.s.RemoveJob(b.ctx, id); err != nil {
			t.Error(err)
		}
	}
	if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "nolimit", Task: "tick", Trigger: cron("* * * * *"), Paused: true,
		Options: sundial.JobOptions{MisfireGrace: sundial.NoMisfireLimit}}); err != nil {
		t.Errorf("NoMisfireLimit refused: %v", err)
	}
	b.s.RemoveJob(b.ctx, "nolimit")
	for _, tt := range tests {
		_, err := b.s.AddJob(b.ctx, tt.job)
		var invalid *sundial.InvalidJobError
		if !errors.As(err, &invalid) || invalid.Field != tt.field || !errors.Is(err, sundial.ErrInvalidJob) {
			t.Errorf("AddJob(%+v) = %v, want an invalid %q", tt.job, err, tt.field)
		}
	}
	if jobs, _ := b.s.Jobs(b.ctx, sundial.JobFilter{}); len(jobs) != 0 {
		t.Errorf("invalid jobs were stored: %v", jobs)
	}
}

func TestAddReplaceUpdate(t *testing.T) {
	b := setup(t, sundial.Config{Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC) }})
	b.register(t, "tick", ok)
	j := b.add(t, sundial.Job{ID: "j", Name: "first", Task: "tick", Trigger: cron("* * * * *")})
	if j.Version != 1 || !j.NextRunAt.Equal(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)) {
		t.Errorf("added job: version %d next %s", j.Version, j.NextRunAt)
	}
	if _, err := b.s.AddJob(b.ctx, sundial.Job{ID: "j", Task: "tick", Trigger: cron("* * * * *")}); !errors.Is(err, sundial.ErrJobExists) {
		t.Errorf("second AddJob = %v, want ErrJobExists", err)
	}
	r, err := b.s.AddJob(b.ctx, sundial.Job{ID: "j", Name: "second", Task: "tick", Trigger: cron("0 * * * *")}, sundial.ReplaceExisting())
	if err != nil || r.Name != "second" || r.Version != 2 || !r.NextRunAt.Equal(time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("replace = %+v, %v", r, err)
	}
	r.Trigger = cron("30 * * * *")
	u, err := b.s.UpdateJob(b.ctx, r)
	if err != nil || u.Version != 3 || !u.NextRunAt.Equal(time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)) {
		t.Errorf("UpdateJob = %+v, %v", u, err)
	}
	if _, err := b.s.UpdateJob(b.ctx, r); !errors.Is(err, sundial.ErrVersionConflict) {
		t.Errorf("UpdateJob with a stale version = %v, want ErrVersionConflict", err)
	}
	if err := b.s.RemoveJob(b.ctx, "j"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.Job(b.ctx, "j"); !errors.Is(err, sundial.ErrJobNotFound) {
		t.Errorf("Job after RemoveJob = %v", err)
	}
	if err := b.s.RemoveJob(b.ctx, "j"); !errors.Is(err, sundial.ErrJobNotFound) {
		t.Errorf("second RemoveJob = %v", err)
	}
}

func TestQuarantineNeverDeletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		now := time.Now()
		for _, j := range []sundial.Job{
			{ID: "gone-task", Task: "removed", Trigger: cron("* * * * *"), NextRunAt: now.Add(time.Minute)},
			{ID: "bad-spec", Task: "tick", Trigger: trigger.Spec{Type: "cron", Expr: "61 * * * *"}, NextRunAt: now.Add(time.Minute)},
			{ID: "fine", Task: "tick", Trigger: cron("* * * * *"), NextRunAt: now.Add(time.Minute)},
		} {
			if _, err := b.store.CreateJob(b.ctx, j, now); err != nil {
				t.Fatal(err)
			}
		}
		b.register(t, "tick", ok)
		events := b.s.Subscribe(10, sundial.EventJobQuarantined)
		b.start(t)
		time.Sleep(90 * time.Second)
		b.stop(t)
		for _, id := range []string{"gone-task", "bad-spec"} {
			j, err := b.s.Job(b.ctx, id)
			if err != nil || !j.Paused || j.PauseReason == "" {
				t.Errorf("%s: %+v, %v; want paused with a reason", id, j, err)
			}
		}
		if j, _ := b.s.Job(b.ctx, "gone-task"); !strings.Contains(j.PauseReason, `task "removed" is not registered`) {
			t.Errorf("reason %q", j.PauseReason)
		}
		if got := summary(b.runs(t, "fine")); got != "00:01:00 succeeded" {
			t.Errorf("the healthy job's runs: %s", got)
		}
		n := 0
		for range events.C {
			n++
		}
		if n != 2 {
			t.Errorf("%d quarantine events, want 2", n)
		}
		if _, err := b.s.ResumeJob(b.ctx, "gone-task"); !errors.Is(err, sundial.ErrUnknownTask) {
			t.Errorf("ResumeJob of a job whose task is still missing = %v, want ErrUnknownTask", err)
		}
	})
}

func TestRunNowAndTypedTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs strings.Builder
		var logMu sync.Mutex
		handler := slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			logMu.Lock()
			defer logMu.Unlock()
			return logs.Write(p)
		}), &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})
		b := setup(t, sundial.Config{Logger: slog.New(handler)})
		type greeting struct {
			Name string `json:"name"`
		}
		b.register(t, "greet", sundial.Typed(func(ctx context.Context, r sundial.Run, g greeting) (any, error) {
			sundial.Logger(ctx).Info("greeting", "name", g.Name)
			return "hello " + g.Name, nil
		}))
		b.add(t, sundial.Job{ID: "j", Task: "greet", Trigger: cron("0 0 1 1 *"), Args: json.RawMessage(`{"name":"ada"}`)})
		b.start(t)
		first, err := b.s.RunNow(b.ctx, "j", nil)
		if err != nil {
			t.Fatal(err)
		}
		second, err := b.s.RunNow(b.ctx, "j", json.RawMessage(`{"name":"grace"}`))
		if err != nil {
			t.Fatal(err)
		}
		bad, err := b.s.RunNow(b.ctx, "j", json.RawMessage(`{"name":7}`))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		b.stop(t)
		check := func(id, status, result string) {
			t.Helper()
			r, err := b.s.RunByID(b.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Status) != status || string(r.Result) != result || !r.Manual {
				t.Errorf("run %s: %s %s manual=%v, want %s %s manual", id, r.Status, r.Result, r.Manual, status, result)
			}
		}
		check(first.ID, "succeeded", `"hello ada"`)
		check(second.ID, "succeeded", `"hello grace"`)
		check(bad.ID, "failed", "")
		if first.FireKey() == second.FireKey() {
			t.Errorf("two manual runs share the fire key %s", first.FireKey())
		}
		logMu.Lock()
		out := logs.String()
		logMu.Unlock()
		want := fmt.Sprintf(`level=INFO msg=greeting job_id=j task=greet run_id=%s attempt=1 name=ada`, first.ID)
		if !strings.Contains(out, want) {
			t.Errorf("task log line %q not in:\n%s", want, out)
		}
		if _, err := b.s.RunNow(b.ctx, "missing", nil); !errors.Is(err, sundial.ErrJobNotFound) {
			t.Errorf("RunNow of a missing job = %v", err)
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestEventsAndSlowSubscribers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "tick", ok)
		all := b.s.Subscribe(1000)
		slow := b.s.Subscribe(1, sundial.EventRunSucceeded)
		b.add(t, sundial.Job{ID: "j", Task: "tick", Trigger: cron("*/10 * * * * *")})
		b.start(t)
		time.Sleep(35 * time.Second)
		b.stop(t)
		var kinds []string
		for e := range all.C {
			kinds = append(kinds, string(e.Kind))
		}
		want := "job_added" + strings.Repeat(" run_started run_succeeded", 4)
		if got := strings.Join(kinds, " "); got != want {
			t.Errorf("events %q, want %q", got, want)
		}
		if slow.Dropped() != 3 {
			t.Errorf("slow subscriber dropped %d, want 3 (buffer 1, four events, never read)", slow.Dropped())
		}
	})
}

func TestJobsFilter(t *testing.T) {
	b := setup(t, sundial.Config{})
	b.register(t, "tick", ok)
	b.add(t, sundial.Job{ID: "a", Task: "tick", Trigger: cron("* * * * *"), Tags: []string{"billing"}})
	b.add(t, sundial.Job{ID: "b", Task: "tick", Trigger: cron("* * * * *"), Paused: true})
	b.add(t, sundial.Job{ID: "c", Task: "tick", Trigger: cron("* * * * *"), Tags: []string{"billing", "eu"}})
	ids := func(f sundial.JobFilter) string {
		jobs, err := b.s.Jobs(b.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, j := range jobs {
			s = append(s, j.ID)
		}
		return strings.Join(s, ",")
	}
	paused := true
	if got := ids(sundial.JobFilter{Tag: "billing"}); got != "a,c" {
		t.Errorf("tag billing: %s", got)
	}
	if got := ids(sundial.JobFilter{Paused: &paused}); got != "b" {
		t.Errorf("paused: %s", got)
	}
}

// TestConcurrentOperations hammers every operation from many goroutines
// while jobs fire; run it with -race.
func TestConcurrentOperations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{Workers: 4})
		b.register(t, "tick", sleeper(time.Second))
		b.start(t)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					id := fmt.Sprintf("g%d-%d", g, i%5)
					b.s.AddJob(b.ctx, sundial.Job{ID: id, Task: "tick", Trigger: cron("*/5 * * * * *")}, sundial.ReplaceExisting())
					b.s.PauseJob(b.ctx, id)
					b.s.ResumeJob(b.ctx, id)
					b.s.RunNow(b.ctx, id, nil)
					b.s.Jobs(b.ctx, sundial.JobFilter{})
					b.s.Runs(b.ctx, sundial.RunFilter{JobID: id, Limit: 5})
					if i%7 == 0 {
						b.s.RemoveJob(b.ctx, id)
					}
					time.Sleep(time.Second)
				}
			}()
		}
		wg.Wait()
		time.Sleep(10 * time.Second)
		b.stop(t)
		runs, _ := b.s.Runs(b.ctx, sundial.RunFilter{})
		seen := map[string]bool{}
		for _, r := range runs {
			key := fmt.Sprint(r.FireKey(), "#", r.Attempt)
			if seen[key] {
				t.Errorf("fire %s recorded twice", key)
			}
			seen[key] = true
			if r.Status.Active() {
				t.Errorf("run %s still %s after shutdown", r.ID, r.Status)
			}
		}
	})
}

// failingHeartbeat is a store whose node has lost contact: its heartbeats
// fail, as they would across a network partition.
type failingHeartbeat struct{ sundial.Store }

func (failingHeartbeat) Heartbeat(context.Context, sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	return sundial.HeartbeatResult{}, errors.New("connection refused")
}

// TestLostRunsAreRetriedElsewhere has node A claim a run and then lose the
// store: once its lease runs out, node B marks the run lost and runs the
// retry; A's late outcome is not recorded over it.
func TestLostRunsAreRetriedElsewhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New(memstore.Options{})
		release := make(chan struct{})
		var attempts sync.Map
		task := func(ctx context.Context, r sundial.Run) (any, error) {
			attempts.Store(r.Attempt, r.Node)
			if r.Attempt == 1 {
				<-release // node A hangs on to its run
			}
			return "ok", nil
		}
		newNode := func(id string, store sundial.Store) *sundial.Scheduler {
			s, err := sundial.New(sundial.Config{Store: store, NodeID: id, LeaseTTL: 3 * time.Second,
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			s.Register("work", task)
			return s
		}
		a := newNode("a", failingHeartbeat{store})
		ctx := context.Background()
		if _, err := a.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: trigger.Spec{Type: "date", RunDate: "2000-01-01T00:00:01Z"},
			Options: sundial.JobOptions{MaxAttempts: 2, RetryBackoff: time.Second}}); err != nil {
			t.Fatal(err)
		}
		a.Start(ctx)
		time.Sleep(2 * time.Second) // a claimed and started attempt 1
		b := newNode("b", store)
		b.Start(ctx)
		time.Sleep(10 * time.Second)

		runs, _ := b.Runs(ctx, sundial.RunFilter{JobID: "j"})
		var got []string
		for _, r := range runs {
			got = append(got, fmt.Sprintf("attempt %d %s on %s", r.Attempt, r.Status, r.Node))
		}
		want := "attempt 2 succeeded on b,attempt 1 lost on a"
		if strings.Join(got, ",") != want {
			t.Errorf("runs %v, want %s", got, want)
		}
		close(release) // a's task returns at last: its outcome must not overwrite "lost"
		a.Shutdown(ctx)
		b.Shutdown(ctx)
		if r, _ := b.Runs(ctx, sundial.RunFilter{JobID: "j", Status: sundial.StatusLost}); len(r) != 1 {
			t.Errorf("the lost run was overwritten by its late outcome")
		}
		nodes, _ := b.Nodes(ctx)
		if len(nodes) != 2 {
			t.Errorf("nodes = %+v, want a and b", nodes)
		}
	})
}

// TestQueuesPinJobs runs two schedulers on one store: the job in queue
// "gpu" runs only on the node that serves it.
func TestQueuesPinJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New(memstore.Options{})
		ctx := context.Background()
		var nodes []*sundial.Scheduler
		for _, cfg := range []sundial.Config{{NodeID: "cpu", Queues: []string{""}}, {NodeID: "gpu", Queues: []string{"gpu"}}} {
			cfg.Store, cfg.Logger = store, slog.New(slog.DiscardHandler)
			s, err := sundial.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s.Register("work", ok)
			nodes = append(nodes, s)
		}
		nodes[0].AddJob(ctx, sundial.Job{ID: "render", Task: "work", Queue: "gpu", Trigger: cron("*/10 * * * * *")})
		nodes[0].AddJob(ctx, sundial.Job{ID: "email", Task: "work", Trigger: cron("*/10 * * * * *")})
		for _, s := range nodes {
			s.Start(ctx)
		}
		time.Sleep(35 * time.Second)
		for _, s := range nodes {
			s.Shutdown(ctx)
		}
		runs, _ := nodes[0].Runs(ctx, sundial.RunFilter{})
		for _, r := range runs {
			want := "cpu"
			if r.JobID == "render" {
				want = "gpu"
			}
			if r.Node != want || r.Status != sundial.StatusSucceeded {
				t.Errorf("%s fire %s ran on %s (%s), want %s", r.JobID, r.ScheduledAt, r.Node, r.Status, want)
			}
		}
		if len(runs) != 8 {
			t.Errorf("%d runs, want 4 per job", len(runs))
		}
	})
}

func TestRetentionPrunesHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{Retention: sundial.Retention{PerJob: 3, MaxAge: -1, Interval: time.Minute}})
		b.register(t, "tick", ok)
		// Fires at :05, :15 … never coincide with the prunes at whole minutes.
		b.add(t, sundial.Job{ID: "j", Task: "tick", Trigger: cron("5-55/10 * * * * *")})
		b.start(t)
		time.Sleep(3*time.Minute + 2*time.Second) // the last prune ran at 00:03:00
		b.stop(t)
		if got := summary(b.runs(t, "j")); got != "00:02:35 succeeded\n00:02:45 succeeded\n00:02:55 succeeded" {
			t.Errorf("runs kept:\n%s\nwant the newest 3", got)
		}
	})
}

// flakyStore fails every call while down, as a database that went away.
type flakyStore struct {
	sundial.Store
	down atomic.Bool
}

var errDown = errors.New("dial tcp 127.0.0.1:5432: connection refused")

func (f *flakyStore) Claim(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Claim(ctx, req, plan)
}

func (f *flakyStore) UpdateRun(ctx context.Context, r sundial.Run) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.UpdateRun(ctx, r)
}

func (f *flakyStore) Heartbeat(ctx context.Context, req sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	if f.down.Load() {
		return sundial.HeartbeatResult{}, errDown
	}
	return f.Store.Heartbeat(ctx, req)
}

func (f *flakyStore) NextWake(ctx context.Context, node string) (time.Time, error) {
	if f.down.Load() {
		return time.Time{}, errDown
	}
	return f.Store.NextWake(ctx, node)
}

// TestStoreOutage takes the store away for 40 seconds while a run is in
// flight: the run finishes and its outcome is recorded once the store is
// back, fires that fell due meanwhile follow the misfire rules, nothing
// fires twice, and the job goes on.
func TestStoreOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &flakyStore{Store: memstore.New(memstore.Options{})}
		s, err := sundial.New(sundial.Config{Store: store, Logger: slog.New(slog.DiscardHandler), LeaseTTL: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		s.Register("work", sleeper(25*time.Second))
		ctx := context.Background()
		s.AddJob(ctx, sundial.Job{ID: "j", Task: "work", Trigger: cron("*/10 * * * * *"),
			Options: sundial.JobOptions{MisfireGrace: 15 * time.Second}})
		s.Start(ctx)
		time.Sleep(5 * time.Second)
		store.down.Store(true)
		time.Sleep(40 * time.Second)
		store.down.Store(false)
		time.Sleep(90 * time.Second)
		s.Shutdown(ctx)

		runs, _ := s.Runs(ctx, sundial.RunFilter{JobID: "j"})
		byFire := map[int64]int{}
		status := map[int64]sundial.RunStatus{}
		for _, r := range runs {
			byFire[r.ScheduledAt.Unix()]++
			status[r.ScheduledAt.Unix()] = r.Status
			if r.Status.Active() {
				t.Errorf("run of %s still %s", r.ScheduledAt, r.Status)
			}
		}
		for at, n := range byFire {
			if n != 1 {
				t.Errorf("fire %s recorded %d times", time.Unix(at, 0).UTC(), n)
			}
		}
		start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		if status[start] != sundial.StatusSucceeded {
			t.Errorf("the run in flight during the outage is %q, want succeeded", status[start])
		}
		if status[start+10] != sundial.StatusMissed {
			t.Errorf("the fire at 00:00:10, due during the outage, is %q, want missed", status[start+10])
		}
		after := 0 // runs of 25s every 10s: every third fire runs, the others skip
		for at, st := range status {
			if at >= start+60 && st == sundial.StatusSucceeded {
				after++
			}
		}
		if after < 2 {
			t.Errorf("only %d runs succeeded after the outage: the job did not go on\n%s", after, summary(runs))
		}
	})
}

// countingStore counts the store calls a scheduler makes.
type countingStore struct {
	sundial.Store
	calls atomic.Int64
}

func (c *countingStore) NextWake(ctx context.Context, node string) (time.Time, error) {
	c.calls.Add(1)
	return c.Store.NextWake(ctx, node)
}

func (c *countingStore) Claim(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	c.calls.Add(1)
	return c.Store.Claim(ctx, req, plan)
}

func (c *countingStore) Heartbeat(ctx context.Context, req sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	c.calls.Add(1)
	return c.Store.Heartbeat(ctx, req)
}

func (c *countingStore) ReapLost(ctx context.Context, now time.Time) ([]sundial.Run, error) {
	c.calls.Add(1)
	return c.Store.ReapLost(ctx, now)
}

// TestIdleLoad checks what an idle node costs its database: well under
// one store call per second with the default settings.
func TestIdleLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &countingStore{Store: memstore.New(memstore.Options{})}
		s, err := sundial.New(sundial.Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		s.Register("tick", ok)
		ctx := context.Background()
		s.AddJob(ctx, sundial.Job{ID: "daily", Task: "tick", Trigger: cron("0 3 * * *")}) // next fire at 03:00
		s.Start(ctx)
		time.Sleep(time.Minute) // settle
		before := store.calls.Load()
		time.Sleep(time.Hour)
		perSecond := float64(store.calls.Load()-before) / 3600
		s.Shutdown(ctx)
		t.Logf("idle: %.2f store calls per second", perSecond)
		if perSecond > 0.5 {
			t.Errorf("an idle node makes %.2f store calls per second, want at most 0.5", perSecond)
		}
	})
}

func TestRunNowBeforeStartIsClaimedOnStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "ok", ok)
		b.add(t, sundial.Job{ID: "j", Task: "ok", Trigger: cron("0 0 1 1 *")})
		run, err := b.s.RunNow(b.ctx, "j", json.RawMessage(`{"n":2}`))
		if err != nil || run.Status != sundial.StatusScheduled || !run.Manual {
			t.Fatalf("RunNow before Start = %+v, %v; want a scheduled manual run", run, err)
		}
		if got := b.s.Tasks(); fmt.Sprint(got) != "[ok]" {
			t.Errorf("Tasks = %v", got)
		}
		b.start(t)
		time.Sleep(time.Second)
		b.stop(t)
		got, err := b.s.RunByID(b.ctx, run.ID)
		if err != nil || got.Status != sundial.StatusSucceeded || string(got.Args) != `{"n":2}` {
			t.Errorf("run after Start = %+v, %v; want succeeded with its args", got, err)
		}
	})
}
