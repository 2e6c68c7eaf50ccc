package sundial

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
)

// TaskFunc is the code a job runs. ctx is cancelled when the run times out
// or the scheduler shuts down, and carries a logger scoped to the run (see
// [Logger]). The returned value is stored as the run's result, as JSON; a
// non-nil error fails the run.
//
// Tasks get their dependencies (a database pool, a config) the way any Go
// function does: register a closure or a method value over them. There is
// no global application context to lose.
type TaskFunc func(ctx context.Context, run Run) (any, error)

// Typed adapts a function that takes its job's arguments as a decoded
// value. Args that do not decode into A fail the run with a clear error.
func Typed[A any](fn func(ctx context.Context, run Run, args A) (any, error)) TaskFunc {
	return func(ctx context.Context, run Run) (any, error) {
		var args A
		if len(run.Args) > 0 && string(run.Args) != "null" {
			if err := json.Unmarshal(run.Args, &args); err != nil {
				return nil, fmt.Errorf("decode args of job %q into %T: %w", run.JobID, args, err)
			}
		}
		return fn(ctx, run, args)
	}
}

type loggerKey struct{}

// runLogger is what a run's context carries; the scoped logger is built
// only when a task asks for it, so runs that never log pay nothing.
type runLogger struct {
	base *slog.Logger
	run  *Run
}

// Logger returns the logger of the run that ctx belongs to, with the
// attributes job_id, task, run_id and attempt; outside a run it returns
// slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*runLogger); ok {
		return l.base.With("job_id", l.run.JobID, "task", l.run.Task, "run_id", l.run.ID, "attempt", l.run.Attempt)
	}
	return slog.Default()
}

func withRunLogger(ctx context.Context, base *slog.Logger, run *Run) context.Context {
	return context.WithValue(ctx, loggerKey{}, &runLogger{base: base, run: run})
}
