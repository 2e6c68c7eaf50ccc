package memstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/sundialhq/sundial"
)

// DeclareTasks implements sundial.WorkerStore. The jobs and scheduled runs
// of a newly declared task move to the workers' heaps.
func (s *Store) DeclareTasks(_ context.Context, tasks []string, served bool, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fresh := map[string]bool{}
	for _, name := range tasks {
		t, ok := s.workerTasks[name]
		if !ok {
			t = sundial.WorkerTask{Name: name, DeclaredAt: now}
			fresh[name] = true
		}
		if served {
			t.ServedAt = now
		}
		s.workerTasks[name] = t
	}
	if len(fresh) == 0 {
		return nil
	}
	s.rehome(fresh, &s.waiting)
	return nil
}

// WorkerTasks implements sundial.WorkerStore.
func (s *Store) WorkerTasks(context.Context) ([]sundial.WorkerTask, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sundial.WorkerTask, 0, len(s.workerTasks))
	for _, t := range s.workerTasks {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b sundial.WorkerTask) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// NextWorkerWake implements sundial.WorkerStore. It scans the workers'
// heaps: they hold only the jobs and runs of worker tasks, and a worker
// asks only when it has found nothing to claim.
func (s *Store) NextWorkerWake(_ context.Context, tasks, queues []string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	if !s.paused.IsZero() {
		return next, nil
	}
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, slot := range s.workerDue.items {
		if e := slot.e; slices.Contains(tasks, e.task.Value()) && inQueues(e.queue(), queues) {
			earlier(e.nextRunAt())
		}
	}
	for _, e := range s.workerWaiting.items {
		if slices.Contains(tasks, e.run.Task) && inQueues(e.run.Queue, queues) {
			earlier(e.run.NotBefore)
		}
	}
	return next, nil
}

// ReleaseRuns implements sundial.WorkerStore.
func (s *Store) ReleaseRuns(_ context.Context, node, incarnation string, ids []string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range ids {
		e, ok := s.runs[id]
		if !ok || !e.run.Status.Executing() || e.run.Node != node || e.run.Incarnation != incarnation {
			continue
		}
		s.unindex(e)
		e.run.Status, e.run.Node, e.run.Incarnation = sundial.StatusScheduled, "", ""
		e.run.LeaseUntil, e.run.ClaimedAt, e.run.StartedAt = time.Time{}, time.Time{}, time.Time{}
		if e.run.NotBefore.IsZero() {
			e.run.NotBefore = e.run.ScheduledAt
		}
		s.index(e)
		n++
	}
	return n, nil
}

// ForgetNodes implements sundial.WorkerStore.
func (s *Store) ForgetNodes(_ context.Context, seenBefore time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	named := map[string]bool{}
	for _, e := range s.runs {
		if e.run.Status.Active() && e.run.Node != "" {
			named[e.run.Node] = true
		}
	}
	n := 0
	for id, node := range s.nodes {
		if node.LastSeen.Before(seenBefore) && !named[id] {
			delete(s.nodes, id)
			n++
		}
	}
	return n, nil
}

// UndeclareTasks implements sundial.WorkerStore. The jobs and scheduled
// runs of the tasks move back to the nodes' heaps.
func (s *Store) UndeclareTasks(_ context.Context, tasks []string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := map[string]bool{}
	for _, name := range tasks {
		if _, ok := s.workerTasks[name]; ok {
			delete(s.workerTasks, name)
			gone[name] = true
		}
	}
	if len(gone) == 0 {
		return 0, nil
	}
	s.rehome(gone, &s.workerWaiting)
	return len(gone), nil
}

// rehome puts the jobs of the tasks, and their scheduled runs waiting in
// from, into the heaps their tasks' kind now calls for. The caller holds
// the lock and has changed workerTasks.
func (s *Store) rehome(tasks map[string]bool, from *minHeap[*runEntry]) {
	for e := range s.jobs.all {
		if tasks[e.task.Value()] {
			s.place(e)
		}
	}
	var moved []*runEntry
	for _, e := range from.items {
		if tasks[e.run.Task] {
			moved = append(moved, e)
		}
	}
	for _, e := range moved {
		s.unindex(e)
		s.index(e)
	}
}
