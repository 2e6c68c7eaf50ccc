package sundial

import (
	"errors"
	"fmt"
)

// Sentinel errors, checkable with errors.Is.
var (
	// ErrJobNotFound: no job has the ID.
	ErrJobNotFound = errors.New("job not found")
	// ErrJobExists: a job with the ID exists and ReplaceExisting was not given.
	ErrJobExists = errors.New("job already exists")
	// ErrVersionConflict: the job changed since the version the caller read.
	ErrVersionConflict = errors.New("job version conflict")
	// ErrRunNotFound: no run has the ID.
	ErrRunNotFound = errors.New("run not found")
	// ErrDuplicateRun: a run for the same job, fire time and attempt exists.
	ErrDuplicateRun = errors.New("duplicate run")
	// ErrUnknownTask: no task is registered under the name.
	ErrUnknownTask = errors.New("unknown task")
	// ErrInvalidJob: a job field is invalid; the error is an *InvalidJobError.
	ErrInvalidJob = errors.New("invalid job")
	// ErrRunLost: the writer no longer holds the run — its lease ran out
	// and it was marked lost, another incarnation of the node holds it, or
	// it has ended — so the write was refused (fencing).
	ErrRunLost = errors.New("run is no longer held by this node")
	// ErrRunEnded: the run has ended already; it cannot be canceled.
	ErrRunEnded = errors.New("run has already ended")
	// ErrJobInChain: other jobs start the job when they end
	// (JobOptions.Then), so it cannot be removed.
	ErrJobInChain = errors.New("job is in another job's chain")
	// ErrRunNotEnded: the run has not ended yet; it cannot be retried.
	ErrRunNotEnded = errors.New("run has not ended")
	// ErrSchedulerPaused: the scheduler is paused cluster-wide
	// (Scheduler.Pause); a claim takes nothing.
	ErrSchedulerPaused = errors.New("scheduler is paused")
	// ErrNotRunning: the scheduler has not been started or has shut down.
	ErrNotRunning = errors.New("scheduler is not running")
)

// InvalidJobError names the job field at fault and what is wrong with it.
type InvalidJobError struct {
	// Field is the field's JSON path, such as "trigger.expr" or "options.timeout".
	Field string
	// Err describes the problem; it may be a *trigger.ParseError.
	Err error
}

// Error returns "invalid job: field F: problem".
func (e *InvalidJobError) Error() string {
	return fmt.Sprintf("invalid job: field %q: %v", e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *InvalidJobError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalidJob) true.
func (e *InvalidJobError) Is(target error) bool { return target == ErrInvalidJob }

func invalidf(field, format string, args ...any) error {
	return &InvalidJobError{Field: field, Err: fmt.Errorf(format, args...)}
}

// UnknownTaskError names a task that is not registered.
type UnknownTaskError struct{ Task string }

// Error returns the message naming the task.
func (e *UnknownTaskError) Error() string {
	return fmt.Sprintf("unknown task %q: it is not registered here (Scheduler.Register) and no worker has served it (declare a worker's task ahead of the worker: DeclareTask)", e.Task)
}

// Is makes errors.Is(err, ErrUnknownTask) true.
func (e *UnknownTaskError) Is(target error) bool { return target == ErrUnknownTask }
