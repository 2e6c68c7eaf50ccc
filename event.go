package sundial

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// EventKind names what happened.
type EventKind string

// Event kinds: a job was added, updated, removed or quarantined; a run
// started, ended (succeeded, failed, timed out, interrupted, canceled, lost),
// was recorded without running (missed, skipped), had a retry planned, or
// was started by another job's run (chained); the scheduler was paused or
// resumed cluster-wide (from this process); a worker opened a session with
// this process, or closed it on its graceful stop.
const (
	EventJobAdded         EventKind = "job_added"
	EventJobUpdated       EventKind = "job_updated"
	EventJobRemoved       EventKind = "job_removed"
	EventJobQuarantined   EventKind = "job_quarantined"
	EventRunStarted       EventKind = "run_started"
	EventRunSucceeded     EventKind = "run_succeeded"
	EventRunFailed        EventKind = "run_failed"
	EventRunTimedOut      EventKind = "run_timed_out"
	EventRunMissed        EventKind = "run_missed"
	EventRunSkipped       EventKind = "run_skipped"
	EventRunInterrupted   EventKind = "run_interrupted"
	EventRunRetryPlanned  EventKind = "run_retry_planned"
	EventRunChained       EventKind = "run_chained"
	EventRunLost          EventKind = "run_lost"
	EventRunCanceled      EventKind = "run_canceled"
	EventSchedulerPaused  EventKind = "scheduler_paused"
	EventSchedulerResumed EventKind = "scheduler_resumed"
	EventWorkerJoined     EventKind = "worker_joined"
	EventWorkerLeft       EventKind = "worker_left"
)

// Event reports a change to a job, a run, the scheduler or a worker.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Time is when the scheduler published the event.
	Time time.Time
	// Job is set for job events.
	Job *Job
	// Run is set for run events.
	Run *Run
	// Worker is the worker's name, for worker events.
	Worker string
}

// Subscription receives events on C until Close. Its buffer is bounded and
// a full buffer drops events rather than slowing the scheduler; Dropped
// counts them.
type Subscription struct {
	// C delivers the events.
	C       <-chan Event
	c       chan Event
	kinds   []EventKind
	dropped atomic.Uint64
	closed  bool // guarded by the hub's mutex
	hub     *eventHub
}

// Dropped returns the number of events lost because C was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close stops delivery and closes C.
func (s *Subscription) Close() { s.hub.remove(s) }

type eventHub struct {
	mu    sync.Mutex
	subs  []*Subscription
	count atomic.Int32 // len(subs), read without the lock
}

// active reports whether anyone listens, so that publishers can skip
// building events nobody receives.
func (h *eventHub) active() bool { return h.count.Load() > 0 }

func (h *eventHub) subscribe(buffer int, kinds []EventKind) *Subscription {
	if buffer < 1 {
		buffer = 1
	}
	c := make(chan Event, buffer)
	s := &Subscription{C: c, c: c, kinds: slices.Clone(kinds), hub: h}
	h.mu.Lock()
	h.subs = append(h.subs, s)
	h.count.Store(int32(len(h.subs)))
	h.mu.Unlock()
	return s
}

func (h *eventHub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	h.subs = slices.DeleteFunc(h.subs, func(x *Subscription) bool { return x == s })
	h.count.Store(int32(len(h.subs)))
	close(s.c)
}

// publish delivers without ever blocking.
func (h *eventHub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.subs {
		if len(s.kinds) > 0 && !slices.Contains(s.kinds, e.Kind) {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

func (h *eventHub) closeAll() {
	h.mu.Lock()
	subs := h.subs
	h.subs = nil
	h.count.Store(0)
	for _, s := range subs {
		s.closed = true
		close(s.c)
	}
	h.mu.Unlock()
}
