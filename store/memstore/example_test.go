package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/trigger"
)

// An in-memory store suits a program whose jobs are declared in code at
// every start and need no history across restarts.
func ExampleNew() {
	s, err := sundial.New(sundial.Config{Store: memstore.New(memstore.Options{})})
	if err != nil {
		panic(err)
	}
	s.Register("greet", func(ctx context.Context, run sundial.Run) (any, error) {
		return "hello", nil
	})
	ctx := context.Background()
	job, err := s.AddJob(ctx, sundial.Job{ID: "greet", Task: "greet",
		Trigger: trigger.At(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))})
	if err != nil {
		panic(err)
	}
	fmt.Println(job.ID, "fires at", job.NextRunAt.Format(time.RFC3339))
	// Output: greet fires at 2030-01-01T09:00:00Z
}
