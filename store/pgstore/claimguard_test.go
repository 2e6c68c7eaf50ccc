package pgstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// TestClaimRollsBackWhenAJobIsNotWritten checks the guard in the claim's
// last batch: the jobs are advanced and their runs inserted in one
// statement sent with the COMMIT, and if a job was not written at the
// version the claim read, the statement must fail and nothing of the claim
// may stay — no run inserted, no job advanced. The row locks taken in the
// first batch keep that from happening to a real claim; a trigger that
// skips one job's update stands in for a job that changed under it.
func TestClaimRollsBackWhenAJobIsNotWritten(t *testing.T) {
	ctx := context.Background()
	pool := testSchema(t, 1)[0]
	s := mustNew(t, pool)
	t0 := time.Now().Truncate(time.Minute)
	for _, id := range []string{"kept", "skipped"} {
		if _, err := s.CreateJob(ctx, sundial.Job{ID: id, Task: "task", Trigger: trigger.Spec{Type: "cron", Expr: "* * * * *"}, NextRunAt: t0}, t0); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(job sundial.Job, _ int, _ bool) (sundial.Job, []sundial.Run) {
		run := sundial.Run{ID: "run-" + job.ID, JobID: job.ID, Task: job.Task, ScheduledAt: job.NextRunAt, Status: sundial.StatusPending, Attempt: 1}
		job.NextRunAt = job.NextRunAt.Add(time.Minute)
		return job, []sundial.Run{run}
	}
	claim := func() ([]sundial.Run, error) {
		return s.Claim(ctx, sundial.ClaimRequest{Now: t0, Limit: 10, Node: "n", Incarnation: "i", LeaseUntil: t0.Add(time.Minute)}, plan)
	}
	if _, err := pool.Exec(ctx, `CREATE FUNCTION skip_update() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF OLD.id = 'skipped' THEN RETURN NULL; END IF; RETURN NEW; END $$;
		CREATE TRIGGER skip_update BEFORE UPDATE ON sundial_jobs FOR EACH ROW EXECUTE FUNCTION skip_update()`); err != nil {
		t.Fatal(err)
	}

	runs, err := claim()
	if err == nil || !strings.Contains(err.Error(), "a job claimed changed during the claim") {
		t.Fatalf("a claim with a job left unwritten = %+v, %v; want the guard's error", runs, err)
	}
	if got, err := s.ListRuns(ctx, sundial.RunFilter{}); err != nil || len(got) != 0 {
		t.Errorf("runs after the failed claim = %+v, %v; want none", got, err)
	}
	for _, id := range []string{"kept", "skipped"} {
		if j, err := s.GetJob(ctx, id); err != nil || !j.NextRunAt.Equal(t0) {
			t.Errorf("job %s after the failed claim: next run %v, %v; want %v, untouched", id, j.NextRunAt, err, t0)
		}
	}

	if _, err := pool.Exec(ctx, `DROP TRIGGER skip_update ON sundial_jobs`); err != nil {
		t.Fatal(err)
	}
	runs, err = claim()
	if err != nil || len(runs) != 2 {
		t.Fatalf("the claim once both jobs can be written = %+v, %v; want both jobs' runs", runs, err)
	}
}
