package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/pgtest"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/server"
	"github.com/sundialhq/sundial/trigger"
)

// Clock skew cannot be injected into a Go binary from outside (LD_PRELOAD
// does not move Go's clock), so this part drives the library: two
// schedulers on one PostgreSQL database, a healthy one and one whose
// Config.Now is off by the skew. DESIGN.md: "leases and due-ness are
// judged on the store's clock" — so a node ahead must not claim fires
// early nor mark the healthy node's runs lost, and a node behind must not
// have its live runs marked lost by the healthy one.

func TestClockSkew(t *testing.T) {
	if mode == "" {
		t.Skip("the clock-skew test is part of the chaos suite; enable it with SUNDIAL_CHAOS=short (or long)")
	}
	for _, c := range []struct {
		name string
		skew time.Duration
	}{{"ahead-30s", 30 * time.Second}, {"behind-30s", -30 * time.Second}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // two databases, four light schedulers
			skewRun(t, c.skew)
		})
	}
}

// skewDB returns a fresh database: on the suite's private PostgreSQL when
// the machine has one, else a fresh schema on SUNDIAL_TEST_POSTGRES.
func skewDB(t *testing.T) string {
	pg, err := sharedPG()
	if err == nil {
		dsn, err := pg.createDB(fmt.Sprintf("skew_%d", time.Now().UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		return dsn
	}
	if !errors.Is(err, errNoPG) {
		t.Fatalf("starting the suite's private PostgreSQL: %v", err)
	}
	if os.Getenv(pgtest.EnvVar) == "" {
		t.Skipf("%v, and %s is not set: skipping the clock-skew test", err, pgtest.EnvVar)
	}
	return pgtest.SchemaDSN(t)
}

// skewExec is one execution, timed on the real clock.
type skewExec struct {
	node       string
	run        sundial.Run
	start, end time.Time
}

func skewRun(t *testing.T, skew time.Duration) {
	ctx := context.Background()
	dsn := skewDB(t)
	const ttl = 3 * time.Second
	var mu sync.Mutex
	var execs []skewExec
	work := func(node string) sundial.TaskFunc {
		return func(ctx context.Context, run sundial.Run) (any, error) {
			var args struct{ MS int }
			json.Unmarshal(run.Args, &args)
			e := skewExec{node: node, run: run, start: time.Now()}
			select {
			case <-time.After(time.Duration(args.MS) * time.Millisecond):
			case <-ctx.Done():
			}
			e.end = time.Now()
			mu.Lock()
			execs = append(execs, e)
			mu.Unlock()
			return nil, ctx.Err()
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	newNode := func(node string, now func() time.Time, queues ...string) *sundial.Scheduler {
		st, _, closeStore, err := server.OpenStore(ctx, dsn) // a pool of its own, as a replica has
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeStore)
		s, err := sundial.New(sundial.Config{Store: st, NodeID: node, Now: now, LeaseTTL: ttl, MaxSleep: 500 * time.Millisecond,
			Workers: 8, Queues: queues, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Register("work", work(node)); err != nil {
			t.Fatal(err)
		}
		return s
	}
	healthy := newNode("healthy", nil, "shared", "healthy")
	skewed := newNode("skewed", func() time.Time { return time.Now().Add(skew) }, "shared", "skewed")

	// "every" fires each second on either node; "long-healthy" runs 5 s on
	// the healthy node only (queue "healthy"); "long-skewed" is started by
	// hand on the skewed node.
	no := false
	first := time.Now().Truncate(time.Second).Add(4 * time.Second)
	end := first.Add(8 * time.Second)
	interval := func(every time.Duration) trigger.Spec {
		return trigger.Spec{Type: "interval", Seconds: every.Seconds(), StartDate: first.UTC().Format(time.RFC3339),
			EndDate: end.Add(-time.Millisecond).UTC().Format(time.RFC3339Nano)}
	}
	jobs := []sundial.Job{
		{ID: "every", Task: "work", Queue: "shared", Trigger: interval(time.Second), Args: json.RawMessage(`{"ms": 100}`),
			Options: sundial.JobOptions{Coalesce: &no}},
		{ID: "long-healthy", Task: "work", Queue: "healthy", Trigger: interval(6 * time.Second), Args: json.RawMessage(`{"ms": 5000}`)},
		{ID: "long-skewed", Task: "work", Queue: "skewed", Trigger: trigger.Spec{Type: "cron", Expr: "0 0 1 1 *"}, Args: json.RawMessage(`{"ms": 5000}`)},
	}
	for _, j := range jobs {
		if _, err := healthy.AddJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*sundial.Scheduler{healthy, skewed} {
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := skewed.RunNow(ctx, "long-skewed", nil); err != nil {
		t.Fatal(err)
	}

	// While it runs, no run record may name a fire that is not yet due
	// on the real clock (whatever became of it: run, skipped, missed),
	// and the every-second job's next fire may not be further ahead than
	// its first fire or one period.
	var early []string
	seen := map[string]bool{}
	for time.Now().Before(end.Add(6 * time.Second)) {
		now := time.Now()
		if runs, err := healthy.Runs(ctx, sundial.RunFilter{Since: now.Add(tolerance)}); err == nil {
			for _, r := range runs {
				if !r.Manual && !seen[r.ID] {
					seen[r.ID] = true
					by := ""
					if r.Node != "" {
						by = " by " + r.Node
					}
					early = append(early, fmt.Sprintf("%s recorded %s%s %s before it was due", r.FireKey(), r.Status, by,
						r.ScheduledAt.Sub(now).Round(time.Millisecond)))
				}
			}
		}
		if j, err := healthy.Job(ctx, "every"); err == nil && !j.NextRunAt.IsZero() {
			if limit := maxTime(first, now.Add(time.Second)).Add(250 * time.Millisecond); j.NextRunAt.After(limit) {
				early = append(early, fmt.Sprintf("the job's next fire was %s at %s", j.NextRunAt.Format("15:04:05"), now.Format("15:04:05.000")))
			}
		}
		time.Sleep(100 * time.Millisecond) // sampling the store while the schedulers run
	}
	for _, s := range []*sundial.Scheduler{healthy, skewed} {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s.Shutdown(sctx)
		cancel()
	}
	runs, err := healthy.Runs(ctx, sundial.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}

	var problems []string
	for _, e := range early {
		problems = append(problems, "claimed early: "+e)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range execs {
		if !e.run.Manual && e.start.Before(e.run.ScheduledAt.Add(-50*time.Millisecond)) {
			problems = append(problems, fmt.Sprintf("%s started on %s at %s, %s before its fire time",
				e.run.FireKey(), e.node, e.start.Format("15:04:05.000"), e.run.ScheduledAt.Sub(e.start).Round(time.Millisecond)))
		}
	}
	fires := map[string]int{}
	heldBy := map[string]bool{}
	for _, r := range runs {
		if r.JobID == "every" {
			fires[r.ScheduledAt.UTC().Format(time.RFC3339)]++
		}
		if r.Status == sundial.StatusLost {
			problems = append(problems, fmt.Sprintf("%s (attempt %d) of the live node %s was marked lost: %s", r.FireKey(), r.Attempt, r.Node, r.Error))
		}
		if strings.HasPrefix(r.JobID, "long-") && r.Status == sundial.StatusSucceeded {
			heldBy[r.JobID] = true
		}
	}
	for at := first; at.Before(end); at = at.Add(time.Second) {
		if n := fires[at.UTC().Format(time.RFC3339)]; n != 1 {
			problems = append(problems, fmt.Sprintf("every@%s has %d run records, want 1", at.Format("15:04:05"), n))
		}
	}
	for _, j := range []string{"long-healthy", "long-skewed"} {
		if !heldBy[j] {
			problems = append(problems, fmt.Sprintf("no run of %s succeeded", j))
		}
	}
	t.Logf("skew %s: %d run records, %d executions, %d problems", skew, len(runs), len(execs), len(problems))
	for _, p := range problems {
		t.Error(p)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
