package sundial_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/trigger"
)

// The library quick-start: a scheduler on the in-memory store, one task,
// one job on a cron schedule that also runs once at start.
func Example() {
	ctx := context.Background()
	s, err := sundial.New(sundial.Config{Store: memstore.New(memstore.Options{})})
	if err != nil {
		panic(err)
	}
	s.Register("hello", func(ctx context.Context, run sundial.Run) (any, error) {
		sundial.Logger(ctx).Info("hello from a job") // carries job_id, task, run_id, attempt
		return "hello", nil
	})
	done := s.Subscribe(1, sundial.EventRunSucceeded)
	s.AddJob(ctx, sundial.Job{
		ID:      "hello",
		Task:    "hello",
		Trigger: trigger.CronExpr("0 9 * * 1-5", trigger.InZone("Europe/London")),
		Options: sundial.JobOptions{RunOnStart: true},
	})
	s.Start(ctx)
	defer s.Shutdown(ctx)

	e := <-done.C
	fmt.Println(e.Run.JobID, e.Run.Status, string(e.Run.Result))
	// Output: hello succeeded "hello"
}

// App holds what tasks need. This is Go's answer to Flask's "application
// context": a task is a method (or closure) over the application's own
// dependencies, so it can never run "outside" of them.
type App struct {
	mu     sync.Mutex
	emails []string // stands in for a database pool, a mailer, a config
}

// SendReminder is a task that takes typed arguments.
func (a *App) SendReminder(ctx context.Context, run sundial.Run, args struct {
	To string `json:"to"`
}) (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.emails = append(a.emails, args.To)
	// run.FireKey() is stable across retries: use it to de-duplicate.
	return map[string]any{"sent_to": args.To, "attempt": run.Attempt}, nil
}

func ExampleTyped() {
	ctx := context.Background()
	app := &App{}
	s, _ := sundial.New(sundial.Config{Store: memstore.New(memstore.Options{})})
	s.Register("remind", sundial.Typed(app.SendReminder))

	done := s.Subscribe(1, sundial.EventRunSucceeded)
	s.AddJob(ctx, sundial.Job{
		ID:      "remind-ada",
		Task:    "remind",
		Args:    []byte(`{"to": "ada@example.com"}`),
		Trigger: trigger.Every(24 * time.Hour),
		Options: sundial.JobOptions{RunOnStart: true, MaxAttempts: 3},
	})
	s.Start(ctx)
	defer s.Shutdown(ctx)

	e := <-done.C
	fmt.Println(string(e.Run.Result))
	// Output: {"attempt":1,"sent_to":"ada@example.com"}
}

// A broadcast job runs each fire on every node sharing the store, one
// shard each: here every scheduler process runs its share of 1,000
// accounts. A node takes the accounts whose number falls on its shard's
// index; with one node it is shard 0 of 1 and takes them all.
func ExampleRun_ShardOrWhole() {
	ctx := context.Background()
	s, _ := sundial.New(sundial.Config{Store: memstore.New(memstore.Options{})})
	s.Register("reconcile", func(ctx context.Context, run sundial.Run) (any, error) {
		shard := run.ShardOrWhole()
		done := 0
		for account := shard.Index; account < 1000; account += shard.Total {
			done++ // reconcile(account)
		}
		return done, nil
	})
	finished := s.Subscribe(1, sundial.EventRunSucceeded)
	s.AddJob(ctx, sundial.Job{
		ID:      "reconcile",
		Task:    "reconcile",
		Trigger: trigger.CronExpr("0 2 * * *"),
		Options: sundial.JobOptions{Broadcast: true, RunOnStart: true},
	})
	s.Start(ctx)
	defer s.Shutdown(ctx)

	e := <-finished.C
	fmt.Println(e.Run.Shard.Index, "of", e.Run.Shard.Total, "reconciled", string(e.Run.Result))
	// Output: 0 of 1 reconciled 1000
}
