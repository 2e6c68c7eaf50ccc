// Package task holds the task kinds a Sundial server offers to jobs that
// cannot register Go functions: each is a sundial.TaskFunc, registered by
// the server under its kind's name.
package task

import (
	"context"
	"encoding/json"

	"github.com/sundialhq/sundial"
)

// Echo is the task "echo": it writes the run's args to the run's output and
// returns them as its result. It is for trying a server out and for
// checking, from outside, that its schedulers fire.
func Echo(ctx context.Context, run sundial.Run) (any, error) {
	sundial.Logger(ctx).Info("echo", "args", string(run.Args), "scheduled_at", run.ScheduledAt)
	if len(run.Args) == 0 {
		return nil, nil
	}
	return json.RawMessage(run.Args), nil
}
