package sundial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// updateRun records a run and waits until it is written.
func (s *Scheduler) updateRun(run Run) error {
	done := make(chan error, 1)
	s.records <- record{run: run, done: done}
	return <-done
}

// recordAsync records a run without waiting; records are written in order.
func (s *Scheduler) recordAsync(run Run) { s.records <- record{run: run} }

// record is a run to write, and where to report how it went.
type record struct {
	run  Run
	done chan error // nil: nobody waits
}

// maxRecordBatch bounds the runs written in one transaction.
const maxRecordBatch = 256

// recorder writes run records in groups: it takes every record waiting,
// writes them in one transaction when the store can (RunBatchUpdater),
// and answers the workers waiting on them. Under load many runs share one
// commit, and a run whose start and end wait together is written once;
// when idle a record is written at once.
func (s *Scheduler) recorder() {
	defer close(s.recorderDone)
	batcher, canBatch := s.store.(RunBatchUpdater)
	// The buffers live as long as the recorder: a busy scheduler writes a
	// batch per commit, and allocating them anew each time showed in its
	// profile.
	batch := make([]record, 0, maxRecordBatch)
	last := make(map[string]int, maxRecordBatch)
	lastOf := make([]int, maxRecordBatch) // by record: the index of its run's last
	var writes []int
	var runs []Run
	answers := make([]error, maxRecordBatch)
	for first := range s.records {
		batch = append(batch[:0], first)
	more:
		for len(batch) < maxRecordBatch {
			select {
			case r, ok := <-s.records:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		// A record carries the whole run: only the last one of each run
		// needs writing.
		// From the end, so that one look-up per record finds its run's
		// last (the map's hashing showed in the profile, a few per run).
		clear(last)
		writes = writes[:0]
		for i := len(batch) - 1; i >= 0; i-- {
			id := batch[i].run.ID
			j, seen := last[id]
			if !seen {
				j = i
				last[id] = i
				writes = append(writes, i)
			}
			lastOf[i] = j
		}
		slices.Reverse(writes) // in the order of the batch
		answers = answers[:len(batch)]
		clear(answers)
		if canBatch {
			runs = runs[:0]
			for _, i := range writes {
				runs = append(runs, batch[i].run)
			}
			var got []error
			err := s.persist(func(ctx context.Context) error {
				var err error
				got, err = batcher.UpdateRuns(ctx, runs)
				return err
			}, &runs[0], fmt.Sprintf("recording %d runs", len(runs)))
			for k, i := range writes {
				answers[i] = err
				if err == nil {
					answers[i] = got[k]
				}
			}
		} else {
			for _, i := range writes {
				answers[i] = s.persist(func(ctx context.Context) error { return s.store.UpdateRun(ctx, batch[i].run) }, &batch[i].run, "recording the run")
			}
		}
		for i := range batch {
			r := &batch[i]
			answer := answers[lastOf[i]]
			if lastOf[i] == i && !r.run.Status.Executing() {
				// The run's end is written, refused or given up on: the
				// node stops naming it in its heartbeats, so that a run
				// whose end could not be written lapses and is recovered.
				s.held.remove(r.run.ID)
			}
			if errors.Is(answer, ErrRunLost) && lastOf[i] == i {
				s.logRun(slog.LevelWarn, "this node no longer holds the run (lost, canceled or taken over); its record is refused", &r.run,
					"status", r.run.Status)
			}
			if r.done != nil {
				r.done <- answer
			}
		}
		clear(batch) // let the runs' memory go while the recorder waits
	}
}

// persist performs a store write that must not be lost — a run's outcome,
// a planned retry — retrying through transient failures (the database is
// busy, restarting, unreachable) with backoff, for up to five minutes or
// until the scheduler's life ends (a second after Shutdown's deadline):
// then the run is left to its lease. Errors that are answers rather than
// failures (not found, lost, duplicate) are returned at once.
func (s *Scheduler) persist(write func(context.Context) error, run *Run, what string) error {
	backoff := 50 * time.Millisecond
	deadline := time.Now().Add(5 * time.Minute)
	for attempt := 1; ; attempt++ {
		ctx, cancel := s.storeCtx()
		err := write(ctx)
		cancel()
		if err == nil || isAnswer(err) {
			return err
		}
		if s.life.Err() != nil || time.Now().After(deadline) {
			s.logRun(slog.LevelError, what+" failed; giving up (the run's lease recovers it)", run, "status", run.Status, "err", err, "tries", attempt)
			return err
		}
		if attempt == 1 {
			s.logRun(slog.LevelWarn, what+" failed; retrying", run, "status", run.Status, "err", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.life.Done():
		}
		t.Stop()
		backoff = min(2*backoff, 5*time.Second)
	}
}

// isAnswer reports whether a store error is a definite answer, which
// retrying would not change.
func isAnswer(err error) bool {
	for _, answer := range []error{ErrRunLost, ErrRunNotFound, ErrDuplicateRun, ErrJobNotFound, ErrJobExists, ErrVersionConflict} {
		if errors.Is(err, answer) {
			return true
		}
	}
	return false
}
