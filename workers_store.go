package sundial

import (
	"context"
	"time"
)

// WorkerStore is the part of a Store that knows the worker tasks: the
// tasks that workers — processes of the users' own applications, speaking
// to a server (docs/workers.md) — serve. Scheduler nodes never claim the
// runs of a worker task, even while no worker serves it: those runs wait
// for a worker.
type WorkerStore interface {
	// DeclareTasks records the tasks as worker tasks, declared at now (a
	// task declared before keeps its first declaration). When served, a
	// worker serves them now: their ServedAt becomes now.
	DeclareTasks(ctx context.Context, tasks []string, served bool, now time.Time) error
	// UndeclareTasks makes the tasks ordinary tasks again: scheduler nodes
	// claim their jobs and runs from then on. It reports how many were
	// worker tasks.
	UndeclareTasks(ctx context.Context, tasks []string) (int, error)
	// WorkerTasks returns the worker tasks, ordered by name.
	WorkerTasks(ctx context.Context) ([]WorkerTask, error)
	// NextWorkerWake returns the earliest instant at which a worker's
	// Claim for tasks in queues (all queues when empty) would find work:
	// the earliest NextRunAt of an unpaused job of those tasks, or
	// NotBefore of a scheduled run of theirs. Zero means nothing is
	// scheduled, or the scheduler is paused cluster-wide.
	NextWorkerWake(ctx context.Context, tasks, queues []string) (time.Time, error)
	// ReleaseRuns gives back runs that node's incarnation claimed but did
	// not start — pending, or running as a worker's claim records them,
	// which its holder vouches it did not start: each becomes a scheduled
	// run again, due at once, for any claimer of its queue. It returns how
	// many it released; runs in any other state, or held by another
	// incarnation, are left as they are.
	ReleaseRuns(ctx context.Context, node, incarnation string, ids []string) (int, error)
	// ForgetNodes deletes the records of nodes — scheduler processes and
	// worker sessions — last seen before seenBefore that no run which has
	// not ended names, and returns how many it deleted. Workers named
	// host-pid leave one record per process start; without this the list
	// would only grow.
	ForgetNodes(ctx context.Context, seenBefore time.Time) (int, error)
}

// WorkerTask is a task that workers serve.
type WorkerTask struct {
	// Name is the task's name, as jobs name it.
	Name string `json:"name"`
	// DeclaredAt is when the task was first declared: by a worker that
	// serves it, or ahead of its worker (DeclareTask).
	DeclaredAt time.Time `json:"declared_at"`
	// ServedAt is when a worker last opened a session serving it; zero
	// while no worker ever has.
	ServedAt time.Time `json:"served_at,omitzero"`
}
