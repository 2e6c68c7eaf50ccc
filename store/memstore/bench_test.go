package memstore_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/trigger"
)

// BenchmarkClaimCycle is the store's part of one fire of a job among
// 10,000 due every second, as the scheduler's busy workers make it: a
// claim of one run, then the record of its end, one run kept per job.
// The plan is the least one can be (the next second, one run), so that
// the store's own work is what is measured.
//
//	go test -run '^$' -bench ClaimCycle -benchmem ./store/memstore/
func BenchmarkClaimCycle(b *testing.B) {
	const jobs = 10_000
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range jobs {
		job := sundial.Job{ID: fmt.Sprint("job-", i), Task: "t", Trigger: trigger.Spec{Type: "cron", Expr: "* * * * * *"}, NextRunAt: start}
		if _, err := s.CreateJob(ctx, job, start); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.PruneRuns(ctx, time.Time{}, 1); err != nil {
		b.Fatal(err)
	}
	n := 0
	var run sundial.Run
	plan := func(job sundial.Job, _ int, _ bool) (sundial.Job, []sundial.Run) {
		n++
		run = sundial.Run{ID: "run-" + strconv.Itoa(n), JobID: job.ID, Task: job.Task, ScheduledAt: job.NextRunAt,
			Status: sundial.StatusPending, Attempt: 1}
		job.NextRunAt = job.NextRunAt.Add(time.Second)
		return job, []sundial.Run{run}
	}
	now := start
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%jobs == 0 {
			now = start.Add(time.Duration(i/jobs) * time.Second) // the next second's fires are due
		}
		req := sundial.ClaimRequest{Now: now, Limit: 1, Node: "n", Incarnation: "i", LeaseUntil: now.Add(time.Minute)}
		runs, err := s.Claim(ctx, req, plan)
		if err != nil || len(runs) != 1 {
			b.Fatalf("claim %d: %d runs, %v", i, len(runs), err)
		}
		r := runs[0]
		r.Status, r.StartedAt, r.EndedAt = sundial.StatusSucceeded, now, now
		if answers, err := s.UpdateRuns(ctx, []sundial.Run{r}); err != nil || answers[0] != nil {
			b.Fatalf("record %d: %v %v", i, answers, err)
		}
	}
}

// BenchmarkCreateJob is the store's part of adding an idle job, a million
// to one store as bench/'s BenchmarkAddMillion adds them (a daily cron
// job, no args); a store is made anew for each million.
//
//	go test -run '^$' -bench CreateJob -benchmem ./store/memstore/
func BenchmarkCreateJob(b *testing.B) {
	const perStore = 1_000_000
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	next := now.Add(27 * time.Hour)
	var s *memstore.Store
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%perStore == 0 {
			s = memstore.New(memstore.Options{})
		}
		job := sundial.Job{ID: "daily-" + strconv.Itoa(i), Task: "noop", Trigger: trigger.Spec{Type: "cron", Expr: "0 3 * * *"}, NextRunAt: next}
		if _, err := s.CreateJob(ctx, job, now); err != nil {
			b.Fatal(err)
		}
	}
}
