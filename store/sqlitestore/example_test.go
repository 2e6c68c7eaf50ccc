package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/sqlitestore"
	"github.com/sundialhq/sundial/trigger"
)

// Every process that opens the same file shares its jobs and runs: each
// fire is claimed by one of them, and a job stored by one is there for the
// next start.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "sundial-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "sundial.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	s, err := sundial.New(sundial.Config{Store: store})
	if err != nil {
		panic(err)
	}
	s.Register("report", func(ctx context.Context, run sundial.Run) (any, error) { return nil, nil })
	if _, err := s.AddJob(ctx, sundial.Job{ID: "nightly", Task: "report",
		Trigger: trigger.CronExpr("0 3 * * *", trigger.InZone("Europe/Berlin"))}); err != nil {
		panic(err)
	}
	stored, _ := store.GetJob(ctx, "nightly")
	fmt.Println(stored.ID, stored.Trigger.Expr, stored.NextRunAt.After(time.Now()))
	// Output: nightly 0 3 * * * true
}
