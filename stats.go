package sundial

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// RunBucket counts the runs of one job-independent hour in one status: the
// runs whose fire time (ScheduledAt) falls in the hour.
type RunBucket struct {
	// Hour is the start of the hour, UTC.
	Hour   time.Time
	Status RunStatus
	Count  int
	// Timed counts the runs that started and ended; Duration is their
	// total time from start to end, and Longest the longest of them.
	Timed    int
	Duration time.Duration
	Longest  time.Duration
}

// RunStatsFilter selects the runs that RunStats counts.
type RunStatsFilter struct {
	// JobID selects the runs of one job; empty counts every job.
	JobID string
	// Since and Until bound ScheduledAt (inclusive, exclusive); both are
	// required.
	Since, Until time.Time
}

// RunStatser is an optional capability of a Store: it counts runs by hour
// and status itself (an aggregate query), so that totals stay exact and
// cheap whatever the number of runs. Scheduler.RunStats reads runs one by
// one from a store without it.
type RunStatser interface {
	// RunStats returns the buckets of the runs that pass the filter,
	// ordered by hour, then status; hours and statuses without a run are
	// left out.
	RunStats(ctx context.Context, f RunStatsFilter) ([]RunBucket, error)
}

// MaxStatsWindow bounds the window of RunStats.
const MaxStatsWindow = 31 * 24 * time.Hour

// RunStats counts the runs fired in [f.Since, f.Until) by hour and status,
// with their durations: the totals a dashboard shows, exact at any volume.
func (s *Scheduler) RunStats(ctx context.Context, f RunStatsFilter) ([]RunBucket, error) {
	if f.Since.IsZero() || f.Until.IsZero() || !f.Since.Before(f.Until) {
		return nil, fmt.Errorf("run stats: the window %s to %s is empty", f.Since, f.Until)
	}
	if f.Until.Sub(f.Since) > MaxStatsWindow {
		return nil, fmt.Errorf("run stats: the window %s is longer than %s", f.Until.Sub(f.Since), MaxStatsWindow)
	}
	if st, ok := s.store.(RunStatser); ok {
		return st.RunStats(ctx, f)
	}
	var acc BucketCounter
	filter := RunFilter{JobID: f.JobID, Since: f.Since, Until: f.Until, Limit: 1000}
	for {
		runs, err := s.store.ListRuns(ctx, filter)
		if err != nil {
			return nil, fmt.Errorf("run stats: %w", err)
		}
		for i := range runs {
			acc.Add(&runs[i])
		}
		if len(runs) < filter.Limit {
			return acc.Buckets(), nil
		}
		c := CursorOf(runs[len(runs)-1])
		filter.After = &c
	}
}

// BucketCounter adds runs up into RunBuckets, for stores that count in
// code. The zero value is ready.
type BucketCounter struct {
	m map[bucketKey]*RunBucket
}

type bucketKey struct {
	hour   int64
	status RunStatus
}

// Add counts a run.
func (c *BucketCounter) Add(r *Run) {
	if c.m == nil {
		c.m = map[bucketKey]*RunBucket{}
	}
	hour := r.ScheduledAt.UTC().Truncate(time.Hour)
	k := bucketKey{hour.Unix(), r.Status}
	b := c.m[k]
	if b == nil {
		b = &RunBucket{Hour: hour, Status: r.Status}
		c.m[k] = b
	}
	b.Count++
	if !r.StartedAt.IsZero() && !r.EndedAt.IsZero() {
		d := r.EndedAt.Sub(r.StartedAt)
		b.Timed++
		b.Duration += d
		b.Longest = max(b.Longest, d)
	}
}

// Buckets returns the counts, ordered by hour, then status.
func (c *BucketCounter) Buckets() []RunBucket {
	out := make([]RunBucket, 0, len(c.m))
	for _, b := range c.m {
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b RunBucket) int {
		if c := a.Hour.Compare(b.Hour); c != 0 {
			return c
		}
		switch {
		case a.Status < b.Status:
			return -1
		case a.Status > b.Status:
			return 1
		}
		return 0
	})
	return out
}
