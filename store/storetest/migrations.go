package storetest

import (
	"context"
	"database/sql"
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
	for _, q := range []string{
		`UPDATE sundial_jobs SET options = '{"misfire_grace":90000000000,"timeout":"2m","retry_backoff":1500000000,"max_attempts":2}' WHERE id = 'legacy'`,
		`DELETE FROM sundial_migrations WHERE version = 6`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
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
