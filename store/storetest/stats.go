package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// testRunStats checks the counts by hour and status, and the durations,
// of a store that counts itself.
func testRunStats(t *testing.T, s sundial.Store) {
	st, ok := s.(sundial.RunStatser)
	if !ok {
		t.Skip("the store does not count runs itself")
	}
	ctx := context.Background()
	mustCreate(t, s, job("a", time.Time{}))
	mustCreate(t, s, job("b", time.Time{}))
	add := func(id, jobID string, at time.Time, status sundial.RunStatus, ran time.Duration) {
		t.Helper()
		r := sundial.Run{ID: id, JobID: jobID, Task: "task", ScheduledAt: at, Status: status, Attempt: 1}
		if ran > 0 {
			r.StartedAt, r.EndedAt = at.Add(time.Second), at.Add(time.Second+ran)
		} else if !status.Active() {
			r.EndedAt = at
		}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	h := t0.Truncate(time.Hour)
	add("r1", "a", h.Add(time.Minute), sundial.StatusSucceeded, 2*time.Second)
	add("r2", "a", h.Add(2*time.Minute), sundial.StatusSucceeded, 4*time.Second)
	add("r3", "b", h.Add(3*time.Minute), sundial.StatusFailed, time.Second)
	add("r4", "a", h.Add(time.Hour+time.Minute), sundial.StatusMissed, 0)
	add("r5", "a", h.Add(2*time.Hour), sundial.StatusSucceeded, time.Second)  // outside the window
	add("r6", "a", h.Add(-time.Minute), sundial.StatusSucceeded, time.Second) // outside the window

	got, err := st.RunStats(ctx, sundial.RunStatsFilter{Since: h, Until: h.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := []sundial.RunBucket{
		{Hour: h, Status: sundial.StatusFailed, Count: 1, Timed: 1, Duration: time.Second, Longest: time.Second},
		{Hour: h, Status: sundial.StatusSucceeded, Count: 2, Timed: 2, Duration: 6 * time.Second, Longest: 4 * time.Second},
		{Hour: h.Add(time.Hour), Status: sundial.StatusMissed, Count: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RunStats =\n%+v\nwant\n%+v", got, want)
	}
	got, err = st.RunStats(ctx, sundial.RunStatsFilter{JobID: "b", Since: h, Until: h.Add(2 * time.Hour)})
	if err != nil || len(got) != 1 || got[0].Status != sundial.StatusFailed {
		t.Errorf("RunStats of job b = %+v, %v", got, err)
	}
}
