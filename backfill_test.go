package sundial_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sundialhq/sundial"
)

// runsOf lists a backfill's runs as "HH:MM:SS status attempt" lines,
// earliest fire first.
func runsOf(t *testing.T, b *bundle, backfill string) string {
	t.Helper()
	runs, err := b.s.Runs(b.ctx, sundial.RunFilter{Backfill: backfill})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		lines = append(lines, r.ScheduledAt.UTC().Format("15:04")+" "+string(r.Status)+" #"+string(rune('0'+r.Attempt)))
	}
	return strings.Join(lines, "\n")
}

func TestBackfill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		var mu sync.Mutex
		var keys []string
		running, most := 0, 0
		b.register(t, "etl", func(ctx context.Context, r sundial.Run) (any, error) {
			mu.Lock()
			keys, running = append(keys, r.FireKey()), running+1
			most = max(most, running)
			mu.Unlock()
			time.Sleep(time.Minute)
			mu.Lock()
			running--
			mu.Unlock()
			return nil, nil
		})
		b.start(t)
		defer b.stop(t)
		time.Sleep(61 * time.Minute)
		b.add(t, sundial.Job{ID: "etl", Task: "etl", Trigger: cron("*/5 * * * *")})
		time.Sleep(31 * time.Minute) // the trigger's own fires: 01:05 … 01:30

		at := func(h, m int) time.Time { return time.Date(2000, 1, 1, h, m, 0, 0, time.UTC) }
		rep, err := b.s.Backfill(b.ctx, "etl", at(0, 0), at(0, 55), sundial.BackfillOptions{MaxConcurrent: 3})
		if err != nil || len(rep.Runs) != 12 || len(rep.Skipped) != 0 {
			t.Fatalf("Backfill(00:00-00:55) = %d runs, %d skipped, %v; want 12 runs", len(rep.Runs), len(rep.Skipped), err)
		}
		time.Sleep(10 * time.Minute) // 12 one-minute runs, three at a time
		got := runsOf(t, b, rep.ID)
		if strings.Count(got, "succeeded #1") != 12 || strings.Count(got, "\n") != 11 || !strings.HasPrefix(got, "00:00 ") || !strings.HasSuffix(got, "00:55 succeeded #1") {
			t.Errorf("backfill runs:\n%s", got)
		}
		mu.Lock()
		if most != 3 {
			t.Errorf("at most %d runs at once, want MaxConcurrent 3", most)
		}
		if !slices.Contains(keys, "etl@2000-01-01T00:25:00Z") {
			t.Errorf("fire keys %v lack etl@2000-01-01T00:25:00Z: a backfilled run keys on its past fire", keys)
		}
		mu.Unlock()

		// A range over fires that have runs records only the one that has
		// none; Rerun records a second attempt of a fire.
		again, err := b.s.Backfill(b.ctx, "etl", at(0, 30), at(1, 30), sundial.BackfillOptions{})
		if err != nil || len(again.Runs) != 1 || !again.Runs[0].ScheduledAt.Equal(at(1, 0)) || len(again.Skipped) != 12 {
			t.Fatalf("overlapping Backfill = %d runs, %d skipped, %v; want only 01:00, 12 skipped", len(again.Runs), len(again.Skipped), err)
		}
		rerun, err := b.s.Backfill(b.ctx, "etl", at(0, 5), at(0, 5), sundial.BackfillOptions{Rerun: true})
		if err != nil || len(rerun.Runs) != 1 || rerun.Runs[0].Attempt != 2 {
			t.Fatalf("Rerun Backfill = %+v, %v; want attempt 2 of 00:05", rerun.Runs, err)
		}
		time.Sleep(5 * time.Minute)
		if got := runsOf(t, b, rerun.ID); got != "00:05 succeeded #2" {
			t.Errorf("rerun: %s", got)
		}
	})
}

func TestBackfillCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "slow", sleeper(time.Hour))
		b.add(t, sundial.Job{ID: "j", Task: "slow", Trigger: cron("0 0 1 1 *")})
		b.start(t)
		defer b.stop(t)
		time.Sleep(2 * time.Hour)
		rep, err := b.s.Backfill(b.ctx, "j", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), sundial.BackfillOptions{})
		if err != nil || len(rep.Runs) != 10 {
			t.Fatalf("Backfill = %d runs, %v; want the 10 yearly fires of the 1990s", len(rep.Runs), err)
		}
		time.Sleep(90 * time.Minute) // 1990 has run, 1991 is running
		n, err := b.s.CancelBackfill(b.ctx, rep.ID)
		if err != nil || n != 9 {
			t.Fatalf("CancelBackfill = %d, %v; want 9 (the running one and 8 queued)", n, err)
		}
		time.Sleep(3 * time.Hour)
		got := runsOf(t, b, rep.ID)
		if strings.Count(got, "succeeded") != 1 || strings.Count(got, "canceled") != 9 {
			t.Errorf("after canceling:\n%s", got)
		}
		if _, err := b.s.CancelBackfill(b.ctx, "nope"); !errors.Is(err, sundial.ErrRunNotFound) {
			t.Errorf("CancelBackfill of no backfill: %v", err)
		}
	})
}

func TestRetryRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		calls := 0
		b.register(t, "flaky", func(ctx context.Context, r sundial.Run) (any, error) {
			calls++
			if calls == 1 {
				return nil, errors.New("boom")
			}
			return r.FireKey(), nil
		})
		b.register(t, "slow", sleeper(2*time.Hour))
		b.add(t, sundial.Job{ID: "j", Task: "flaky", Trigger: cron("0 * * * *")})
		b.add(t, sundial.Job{ID: "s", Task: "slow", Trigger: cron("0 * * * *")})
		b.start(t)
		defer b.stop(t)
		time.Sleep(70 * time.Minute)
		runs := b.runs(t, "j")
		if len(runs) != 2 || runs[0].Status != sundial.StatusFailed {
			t.Fatalf("runs: %s", summary(runs))
		}
		retry, err := b.s.RetryRun(b.ctx, runs[0].ID)
		if err != nil || retry.Attempt != 2 || !retry.ScheduledAt.Equal(runs[0].ScheduledAt) || retry.FireKey() != runs[0].FireKey() {
			t.Fatalf("RetryRun = %+v, %v; want attempt 2 of the same fire", retry, err)
		}
		time.Sleep(time.Minute)
		got, err := b.s.RunByID(b.ctx, retry.ID)
		if err != nil || got.Status != sundial.StatusSucceeded || string(got.Result) != `"j@2000-01-01T00:00:00Z"` {
			t.Errorf("the retry: %s %s, %v", got.Status, got.Result, err)
		}
		running, err := b.s.Runs(b.ctx, sundial.RunFilter{JobID: "s", Status: sundial.StatusRunning})
		if err != nil || len(running) != 1 {
			t.Fatalf("running runs of s: %d, %v", len(running), err)
		}
		if _, err := b.s.RetryRun(b.ctx, running[0].ID); !errors.Is(err, sundial.ErrRunNotEnded) {
			t.Errorf("RetryRun of a running run: %v, want ErrRunNotEnded", err)
		}
	})
}

func TestBackfillRefusesBadRanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "tick", ok)
		b.add(t, sundial.Job{ID: "j", Task: "tick", Trigger: cron("* * * * *")})
		now := time.Now()
		for _, tc := range []struct {
			name     string
			from, to time.Time
			o        sundial.BackfillOptions
			field    string
		}{
			{"future", now.Add(-time.Hour), now.Add(time.Hour), sundial.BackfillOptions{}, "to"},
			{"backwards", now.Add(-time.Hour), now.Add(-2 * time.Hour), sundial.BackfillOptions{}, "to"},
			{"no from", time.Time{}, now, sundial.BackfillOptions{}, "from"},
			{"too many fires", now.Add(-10 * 24 * time.Hour), now, sundial.BackfillOptions{}, "to"},
			{"negative concurrency", now.Add(-time.Hour), now, sundial.BackfillOptions{MaxConcurrent: -1}, "max_concurrent"},
		} {
			_, err := b.s.Backfill(b.ctx, "j", tc.from, tc.to, tc.o)
			var invalid *sundial.InvalidJobError
			if !errors.As(err, &invalid) || invalid.Field != tc.field {
				t.Errorf("%s: %v, want an invalid %s", tc.name, err, tc.field)
			}
		}
		if _, err := b.s.Backfill(b.ctx, "nope", now.Add(-time.Hour), now, sundial.BackfillOptions{}); !errors.Is(err, sundial.ErrJobNotFound) {
			t.Errorf("backfill of no job: %v", err)
		}
		if runs := b.runs(t, "j"); len(runs) != 0 {
			t.Errorf("refused backfills recorded %d runs", len(runs))
		}
	})
}
