package sundial

import (
	"context"
	"encoding/json"
	"fmt"
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
