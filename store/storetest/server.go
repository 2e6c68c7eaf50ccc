package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// testListPages walks job and run listings a page at a time: every item
// once, in order, with the filters applied before the limit.
func testListPages(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	for i := range 7 {
		j := job(fmt.Sprintf("j%d", i), t0)
		if i%2 == 0 {
			j.Source = "config"
		}
		mustCreate(t, s, j)
	}
	var pages []string
	f := sundial.JobFilter{Limit: 3}
	for {
		page := must(s.ListJobs(ctx, f))
		if len(page) == 0 {
			break
		}
		pages = append(pages, jobIDs(page))
		f.AfterID = page[len(page)-1].ID
	}
	if got := fmt.Sprint(pages); got != "[j0,j1,j2 j3,j4,j5 j6]" {
		t.Errorf("job pages = %s", got)
	}
	config := "config"
	if got := jobIDs(must(s.ListJobs(ctx, sundial.JobFilter{Source: &config, AfterID: "j0", Limit: 2}))); got != "j2,j4" {
		t.Errorf("config jobs after j0, 2 = %s, want j2,j4", got)
	}
	if got := jobIDs(must(s.ListJobs(ctx, sundial.JobFilter{Tag: "t-j5", Limit: 1}))); got != "j5" {
		t.Errorf("tag t-j5, limit 1 = %s, want j5 (the tag is filtered before the limit)", got)
	}

	// Runs: retries share a fire time; the listing orders by fire, then
	// attempt, then ID, and the cursor continues exactly there.
	var want []string
	for i := range 4 {
		for attempt := 2; attempt >= 1; attempt-- {
			r := sundial.Run{ID: fmt.Sprintf("r%d-%d", i, attempt), JobID: "j1", Task: "task",
				ScheduledAt: t0.Add(time.Duration(3-i) * time.Minute), Status: sundial.StatusFailed, Attempt: attempt}
			if err := s.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			want = append(want, r.ID)
		}
	}
	var got []string
	rf := sundial.RunFilter{JobID: "j1", Limit: 3}
	for {
		page := must(s.ListRuns(ctx, rf))
		if len(page) == 0 {
			break
		}
		got = append(got, runIDs(page)...)
		c := sundial.CursorOf(page[len(page)-1])
		rf.After = &c
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("run pages = %v, want %v", got, want)
	}
}

func testSourceAndOutput(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	j := job("a", t0)
	j.Source = "api"
	j = mustCreate(t, s, j)
	j.Source = "config"
	if _, err := s.UpdateJob(ctx, j, t0); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetJob(ctx, "a")).Source; got != "config" {
		t.Errorf("source after update = %q, want config", got)
	}
	r := sundial.Run{ID: "r", JobID: "a", Task: "task", ScheduledAt: t0, Status: sundial.StatusRunning, Attempt: 1}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.Status, r.EndedAt, r.Output = sundial.StatusSucceeded, t0.Add(time.Second), "line 1\nline 2 — ✓\n"
	if err := s.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := must(s.GetRun(ctx, "r")).Output; got != r.Output {
		t.Errorf("output = %q, want %q", got, r.Output)
	}
}

func testExitAndLiveOutput(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	r := sundial.Run{ID: "r", JobID: "a", Task: "task", ScheduledAt: t0, Status: sundial.StatusRunning, Attempt: 1, Incarnation: "inc-1"}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if w, ok := s.(sundial.RunOutputWriter); ok {
		if err := w.UpdateRunOutput(ctx, "r", "inc-1", "so far\n"); err != nil {
			t.Fatal(err)
		}
		// Another incarnation's flush is fenced off.
		if err := w.UpdateRunOutput(ctx, "r", "inc-0", "a zombie's output\n"); err != nil {
			t.Fatal(err)
		}
		if got := must(s.GetRun(ctx, "r")); got.Output != "so far\n" || got.Status != sundial.StatusRunning {
			t.Errorf("after UpdateRunOutput: %q %s", got.Output, got.Status)
		}
	}
	r.Status, r.EndedAt, r.Output = sundial.StatusFailed, t0.Add(time.Second), "all of it\n"
	r.Exit = &sundial.ExitStatus{Code: -1, Signal: "killed"}
	if err := s.UpdateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if w, ok := s.(sundial.RunOutputWriter); ok {
		w.UpdateRunOutput(ctx, "r", "inc-1", "late flush\n") // the run has ended: changes nothing
	}
	got := must(s.GetRun(ctx, "r"))
	if got.Output != "all of it\n" || got.Exit == nil || *got.Exit != *r.Exit {
		t.Errorf("ended run: output %q, exit %+v", got.Output, got.Exit)
	}
}
