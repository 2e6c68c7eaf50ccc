package storetest

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// LegacyDurations checks the migration of job options that an early
// version stored as numbers of nanoseconds, now that a number means
// seconds: a job is stored, its options are set to the old form straight
// in db, the migration is forgotten, and reopen (which opens the store
// again, migrating) must read the old values right.
func LegacyDurations(t *testing.T, s sundial.Store, db *sql.DB, reopen func() sundial.Store) {
	t.Helper()
	ctx := context.Background()
	mustCreate(t, s, sundial.Job{ID: "legacy", Task: "task", Trigger: trigger.Every(time.Minute)})
	unmigrate(t, db, 6,
		`UPDATE sundial_jobs SET options = '{"misfire_grace":90000000000,"timeout":"2m","retry_backoff":1500000000,"max_attempts":2}' WHERE id = 'legacy'`)
	got, err := reopen().GetJob(ctx, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	o := got.Options
	if o.MisfireGrace != 90*time.Second || o.Timeout != 2*time.Minute || o.RetryBackoff != 1500*time.Millisecond || o.MaxAttempts != 2 {
		t.Errorf("after the migration: misfire_grace %s, timeout %s, retry_backoff %s, max_attempts %d; want 1m30s, 2m, 1.5s, 2",
			o.MisfireGrace, o.Timeout, o.RetryBackoff, o.MaxAttempts)
	}
}

// unmigrate writes the old form of some data with updates and forgets
// that migration version ran, so that the next open runs it again.
func unmigrate(t *testing.T, db *sql.DB, version int, updates ...string) {
	t.Helper()
	for _, q := range updates {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(context.Background(), `DELETE FROM sundial_migrations WHERE version = `+strconv.Itoa(version)); err != nil {
		t.Fatal(err)
	}
}

// LegacyBounds checks the migration of the bounds that jobs once kept in
// their options (start_at, end_at) to their triggers: after it, each job
// fires at exactly the instants it fired at before, and a job whose
// bounds cannot move is paused with a reason that quotes them.
func LegacyBounds(t *testing.T, s sundial.Store, db *sql.DB, reopen func() sundial.Store) {
	t.Helper()
	ctx := context.Background()
	at := func(text string) time.Time {
		v, err := time.Parse(time.RFC3339, text)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	jobs := []struct {
		id      string
		spec    trigger.Spec
		options string
		want    []string // every fire from 2026-01-01 on
	}{
		{"cron", trigger.CronExpr("0 * * * *", trigger.Until(at("2026-01-01T09:00:00Z"))),
			`{"start_at":"2026-01-01T05:30:00Z","end_at":"2026-01-01T08:00:00Z","max_attempts":2}`,
			[]string{"2026-01-01T06:00:00Z", "2026-01-01T07:00:00Z", "2026-01-01T08:00:00Z"}},
		{"interval", trigger.Every(time.Hour, trigger.From(at("2026-01-01T00:10:00Z"))),
			`{"start_at":"2026-01-01T05:30:00Z","end_at":"2026-01-01T07:30:00Z"}`,
			[]string{"2026-01-01T06:10:00Z", "2026-01-01T07:10:00Z"}},
		{"calendar", trigger.EveryCalendar(1, trigger.Months, at("2026-01-31T09:00:00Z")),
			`{"start_at":"2026-02-15T00:00:00Z","end_at":"2026-04-01T00:00:00Z"}`,
			[]string{"2026-02-28T09:00:00Z", "2026-03-31T09:00:00Z"}},
		{"date", trigger.At(at("2026-03-01T00:00:00Z")), `{"end_at":"2026-02-01T00:00:00Z"}`, nil},
	}
	var updates []string
	for _, j := range jobs {
		mustCreate(t, s, sundial.Job{ID: j.id, Task: "task", Trigger: j.spec})
		updates = append(updates, `UPDATE sundial_jobs SET options = '`+j.options+`' WHERE id = '`+j.id+`'`)
	}
	mustCreate(t, s, sundial.Job{ID: "impossible", Task: "task", Trigger: trigger.CronExpr("0 * * * *", trigger.From(at("2026-02-01T00:00:00Z")))})
	updates = append(updates, `UPDATE sundial_jobs SET options = '{"end_at":"2026-01-01T00:00:00Z"}' WHERE id = 'impossible'`)
	unmigrate(t, db, 7, updates...)

	migrated := reopen()
	for _, j := range jobs {
		got, err := migrated.GetJob(ctx, j.id)
		if err != nil {
			t.Fatalf("job %s: %v", j.id, err)
		}
		if got.Paused {
			t.Errorf("job %s paused: %s", j.id, got.PauseReason)
		}
		tr, err := got.Trigger.Build()
		if err != nil {
			t.Fatalf("job %s: migrated trigger %+v: %v", j.id, got.Trigger, err)
		}
		var fires []string
		for n := tr.Next(time.Time{}, at("2026-01-01T00:00:00Z")); !n.IsZero() && len(fires) <= len(j.want); n = tr.Next(n, n) {
			fires = append(fires, n.UTC().Format(time.RFC3339))
		}
		if !slices.Equal(fires, j.want) {
			t.Errorf("job %s (trigger now %+v) fires %v, want %v", j.id, got.Trigger, fires, j.want)
		}
	}
	if got, err := migrated.GetJob(ctx, "cron"); err != nil || got.Options.MaxAttempts != 2 {
		t.Errorf("the other options were not kept: %+v, %v", got.Options, err)
	}
	got, err := migrated.GetJob(ctx, "impossible")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Paused || !got.NextRunAt.IsZero() || !strings.Contains(got.PauseReason, `end_at "2026-01-01T00:00:00Z"`) {
		t.Errorf("a job whose bounds cannot move: paused %v, next %s, reason %q; want paused with the bounds quoted",
			got.Paused, got.NextRunAt, got.PauseReason)
	}
}
