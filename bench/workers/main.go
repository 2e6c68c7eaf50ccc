// Command workers measures Sundial's workers (docs/workers.md) against a
// real server: the per-run overhead of a no-op task in a warm worker, the
// latency from a run's fire time to its start on an idle worker, and the
// throughput of one worker with 8 slots — for the Go worker and the Python
// worker (fork and thread isolation), on SQLite and, when
// SUNDIAL_TEST_POSTGRES is set, PostgreSQL. It also measures the two
// baselines the overhead is compared with: the server's own python task
// kind calling a no-op function, and a bare `python3 -c pass`.
//
//	cd bench && go run ./workers -count 3
//
// Each repetition starts a fresh server (internal/server.Run, what
// `sundial serve` runs, in this process) per database and worker, starts
// the worker as a process of its own, creates one-shot jobs through the
// API, and reads the runs back from GET /api/v1/runs. It prints a table
// per repetition and, at the end, the medians over the repetitions.
// Not part of `go test`: it takes minutes (docs/benchmarks.md, "Workers").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/task"
)

// options are the benchmark's flags.
type options struct {
	count    int
	n, warm  int
	spacing  time.Duration
	burst    int
	baseN    int
	capacity int
	kinds    []workerKind
	dbs      []string
	keep     bool
	// alsoPython is another interpreter whose bare start is measured.
	alsoPython string
}

func main() {
	var o options
	var kinds, dbs string
	flag.IntVar(&o.count, "count", 3, "repetitions")
	flag.IntVar(&o.n, "n", 200, "runs measured per worker for latency and overhead")
	flag.IntVar(&o.warm, "warm", 5, "runs before those, not measured (the worker warms up)")
	flag.DurationVar(&o.spacing, "spacing", 100*time.Millisecond, "time between fires in the latency runs (plus up to half of it, at random)")
	flag.IntVar(&o.burst, "burst", 1000, "runs due at once in the throughput runs")
	flag.IntVar(&o.baseN, "base-n", 30, "runs of each baseline (python task kind, bare python3)")
	flag.IntVar(&o.capacity, "capacity", 8, "the worker's slots")
	flag.StringVar(&kinds, "workers", "go,python-fork,python-thread", "workers to measure")
	flag.StringVar(&dbs, "db", "", "databases: sqlite,postgres (default sqlite, and postgres when SUNDIAL_TEST_POSTGRES is set)")
	flag.BoolVar(&o.keep, "keep", false, "keep the directory of logs and databases")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process (the server and the benchmark) to the file")
	py := flag.String("python", "/usr/bin/python3", "the interpreter of the Python worker and of the baselines")
	flag.StringVar(&o.alsoPython, "also-python", "python3", "another interpreter whose bare start is measured (the python3 on PATH; empty: none)")
	flag.Parse()
	for k := range strings.SplitSeq(kinds, ",") {
		if !slices.Contains(allKinds, workerKind(k)) {
			fail(fmt.Errorf("-workers: %q is not one of %v", k, allKinds))
		}
		o.kinds = append(o.kinds, workerKind(k))
	}
	if dbs == "" {
		dbs = "sqlite"
		if os.Getenv("SUNDIAL_TEST_POSTGRES") != "" {
			dbs += ",postgres"
		}
	}
	for d := range strings.SplitSeq(dbs, ",") {
		if d != "sqlite" && d != "postgres" {
			fail(fmt.Errorf("-db: %q is not sqlite or postgres", d))
		}
		o.dbs = append(o.dbs, d)
	}
	if o.count < 1 || o.n < 1 || o.warm < 0 || o.burst < 1 || o.baseN < 1 || o.spacing <= 0 {
		fail(errors.New("-count, -n, -burst, -base-n and -spacing must be positive, -warm not negative"))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "sundial-bench-workers-")
	if err != nil {
		fail(err)
	}
	p, err := locate(ctx, dir, *py)
	if err != nil {
		fail(err)
	}
	fmt.Printf("logs and databases in %s\n", dir)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	var all []row
	for rep := 1; rep <= o.count && ctx.Err() == nil; rep++ {
		rows, err := repetition(ctx, o, p, filepath.Join(dir, fmt.Sprintf("rep%d", rep)))
		if err != nil {
			fmt.Fprintf(os.Stderr, "repetition %d: %v (logs in %s)\n", rep, err, dir)
			os.Exit(1)
		}
		fmt.Printf("\nrepetition %d of %d, %s\n", rep, o.count, time.Now().Format(time.DateTime))
		printRows(rows, false)
		all = append(all, rows...)
	}
	if o.count > 1 {
		fmt.Printf("\nmedians of %d repetitions (p50 range over them in brackets)\n", o.count)
		printRows(medians(all), true)
	}
	if !o.keep {
		os.RemoveAll(dir)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "workers:", err)
	os.Exit(2)
}

// locate finds the repository from the bench module (`go env GOMOD`) and
// builds the Go worker into dir.
func locate(ctx context.Context, dir, python string) (paths, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return paths{}, fmt.Errorf("go env GOMOD: %w", err)
	}
	bench := filepath.Dir(strings.TrimSpace(string(out)))
	if _, err := os.Stat(filepath.Join(bench, "workers", "goworker", "main.go")); err != nil {
		return paths{}, fmt.Errorf("run this from the bench module (cd bench && go run ./workers): %w", err)
	}
	p := paths{repo: filepath.Dir(bench), pytasks: filepath.Join(bench, "workers", "pytasks"),
		goworker: filepath.Join(dir, "goworker"), python: python}
	build := exec.CommandContext(ctx, "go", "build", "-o", p.goworker, "./workers/goworker")
	build.Dir, build.Stdout, build.Stderr = bench, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return paths{}, fmt.Errorf("build the Go worker: %w", err)
	}
	if err := exec.CommandContext(ctx, python, "-c", "pass").Run(); err != nil {
		return paths{}, fmt.Errorf("-python %s: %w", python, err)
	}
	return p, nil
}

// row is one line of the results: a distribution in milliseconds (n, p50,
// p90, p99), or a rate (perSec) for throughput.
type row struct {
	db, what, metric string
	n                int
	p50, p90, p99    float64
	perSec           float64
	lo, hi           float64 // the p50's (or rate's) range over repetitions, in medians
	note             string
}

func dist(db, what, metric string, xs []float64) row {
	return row{db: db, what: what, metric: metric, n: len(xs),
		p50: percentile(xs, 0.50), p90: percentile(xs, 0.90), p99: percentile(xs, 0.99)}
}

// repetition measures the baselines and every worker on every database
// once, each on a fresh server.
func repetition(ctx context.Context, o options, p paths, dir string) ([]row, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	rows, err := baselines(ctx, o, p, dir)
	if err != nil {
		return nil, err
	}
	for _, db := range o.dbs {
		for _, kind := range o.kinds {
			r, err := measureWorker(ctx, o, p, filepath.Join(dir, db+"-"+string(kind)), db, kind)
			if err != nil {
				return nil, fmt.Errorf("%s worker on %s: %w", kind, db, err)
			}
			rows = append(rows, r...)
		}
	}
	return rows, nil
}

// schedule returns n fire times from start, spacing apart plus up to half
// a spacing at random (fixed seed), so that fires do not fall in step with
// anything periodic in the worker or the server.
func schedule(start time.Time, n int, spacing time.Duration, seed uint64) []time.Time {
	rng := rand.New(rand.NewPCG(seed, 0x5d1a1))
	at := make([]time.Time, n)
	for i := range at {
		at[i] = start.Add(time.Duration(i)*spacing + time.Duration(rng.Int64N(int64(spacing/2)+1)))
	}
	return at
}

// baselines: the server's python task kind calling a function that does
// nothing (run ended_at − started_at, as recorded), and a bare
// `python3 -c pass` started from Go (wall time), with the same
// interpreter as the Python worker.
func baselines(ctx context.Context, o options, p paths, dir string) ([]row, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s, err := startServer(ctx, "sqlite:"+filepath.Join(dir, "baseline.db"), filepath.Join(dir, "baseline-server.log"),
		task.Python{Executable: p.python, Path: []string{p.pytasks}})
	if err != nil {
		return nil, err
	}
	defer s.stop()
	// Far enough apart that one run ends before the next starts.
	at := schedule(time.Now().Add(2*time.Second), o.baseN, 400*time.Millisecond, 1)
	if err := s.createDateJobs(ctx, "pytask", "python", map[string]any{"func": "plain_noop:noop"}, at); err != nil {
		return nil, err
	}
	runs, err := s.waitRuns(ctx, "pytask", o.baseN, time.Until(at[len(at)-1])+60*time.Second)
	if err != nil {
		return nil, err
	}
	var took []float64
	bad := 0
	for _, r := range runs {
		if r.Status != sundial.StatusSucceeded {
			bad++
			continue
		}
		took = append(took, ms(r.EndedAt.Sub(r.StartedAt)))
	}
	if bad > 0 {
		return nil, fmt.Errorf("%d python task runs did not succeed (first: %s %s)", bad, runs[0].Status, runs[0].Error)
	}
	rows := []row{dist("sqlite", "python task kind (server), "+p.python, "ended−started", took)}
	pythons := []string{p.python}
	if o.alsoPython != "" {
		if other, err := exec.LookPath(o.alsoPython); err == nil && other != p.python {
			pythons = append(pythons, other)
		}
	}
	for _, py := range pythons {
		var bare []float64
		for range o.baseN {
			t0 := time.Now()
			if err := exec.CommandContext(ctx, py, "-c", "pass").Run(); err != nil {
				return nil, fmt.Errorf("%s -c pass: %w", py, err)
			}
			bare = append(bare, ms(time.Since(t0)))
		}
		rows = append(rows, dist("-", "bare "+py+" -c pass", "wall time", bare))
	}
	return rows, nil
}

// measureWorker measures one worker on a fresh server: latency and
// overhead on fires spaced apart (the worker idle in its long poll between
// them), then throughput on a burst of fires due at once.
func measureWorker(ctx context.Context, o options, p paths, dir, db string, kind workerKind) ([]row, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	dsn, drop, err := database(ctx, db, dir)
	if err != nil {
		return nil, err
	}
	defer drop()
	s, err := startServer(ctx, dsn, filepath.Join(dir, "server.log"), task.Python{Executable: p.python})
	if err != nil {
		return nil, err
	}
	defer s.stop()
	name := "bench-" + string(kind)
	w, err := startWorker(ctx, kind, p, s, name, o.capacity, filepath.Join(dir, "worker.log"))
	if err != nil {
		return nil, err
	}
	defer w.stop()

	// Latency and overhead: the worker waits in its long poll for each fire.
	total := o.warm + o.n
	start := time.Now().Add(time.Second + time.Duration(total)*5*time.Millisecond)
	at := schedule(start, total, o.spacing, 2)
	if err := s.createDateJobs(ctx, "lat", "noop", nil, at); err != nil {
		return nil, err
	}
	if late := time.Since(start); late > 0 {
		return nil, fmt.Errorf("creating the jobs ended %s after the first fire: raise the margin", late)
	}
	runs, err := s.waitRuns(ctx, "lat", total, time.Until(at[len(at)-1])+60*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w; the worker's log ends with:\n%s", err, w.logTail())
	}
	slices.SortFunc(runs, func(a, b sundial.Run) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	var late, took []float64
	var ids []string
	var measured []sundial.Run
	bad := 0
	for i, r := range runs {
		if r.Status != sundial.StatusSucceeded {
			bad++
			continue
		}
		if i < o.warm {
			continue
		}
		late = append(late, ms(r.StartedAt.Sub(r.ScheduledAt)))
		took = append(took, ms(r.EndedAt.Sub(r.StartedAt)))
		ids = append(ids, r.ID)
		measured = append(measured, r)
	}
	if bad > 0 {
		return nil, fmt.Errorf("%d of %d runs did not succeed", bad, len(runs))
	}
	rows := []row{
		dist(db, string(kind), "due→start, server (started−scheduled)", late),
		dist(db, string(kind), "due→start, worker (its log−scheduled)", w.dueToStart(measured)),
		dist(db, string(kind), "overhead, server (ended−started)", took),
		dist(db, string(kind), "overhead, worker (start→report)", w.startToReport(ids)),
	}

	// Throughput: a burst of fires due at once, the worker's slots full.
	due := time.Now().Add(time.Second + time.Duration(o.burst)*5*time.Millisecond)
	burst := make([]time.Time, o.burst)
	for i := range burst {
		burst[i] = due
	}
	if err := s.createDateJobs(ctx, "burst", "noop", nil, burst); err != nil {
		return nil, err
	}
	if late := time.Since(due); late > 0 {
		return nil, fmt.Errorf("creating the burst's jobs ended %s after it was due: raise the margin", late)
	}
	runs, err = s.waitRuns(ctx, "burst", o.burst, time.Until(due)+180*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w; the worker's log ends with:\n%s", err, w.logTail())
	}
	var first, last time.Time
	bad = 0
	for _, r := range runs {
		if r.Status != sundial.StatusSucceeded {
			bad++
		}
		if first.IsZero() || r.StartedAt.Before(first) {
			first = r.StartedAt
		}
		if r.EndedAt.After(last) {
			last = r.EndedAt
		}
	}
	if bad > 0 {
		return nil, fmt.Errorf("%d of %d burst runs did not succeed", bad, len(runs))
	}
	span := last.Sub(first)
	rows = append(rows, row{db: db, what: string(kind), metric: fmt.Sprintf("throughput, %d slots (runs/s)", o.capacity),
		n: len(runs), perSec: float64(len(runs)) / span.Seconds(), note: fmt.Sprintf("%d runs in %.2f s", len(runs), span.Seconds())})
	return rows, nil
}

// medians folds the rows of every repetition into one per line: the
// median of each figure, and the range of the p50 (or rate).
func medians(all []row) []row {
	type key struct{ db, what, metric string }
	var order []key
	groups := map[key][]row{}
	for _, r := range all {
		k := key{r.db, r.what, r.metric}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []row
	for _, k := range order {
		g := groups[k]
		pick := func(f func(row) float64) []float64 {
			xs := make([]float64, len(g))
			for i, r := range g {
				xs[i] = f(r)
			}
			return xs
		}
		m := row{db: k.db, what: k.what, metric: k.metric, n: g[0].n,
			p50: median(pick(func(r row) float64 { return r.p50 })), p90: median(pick(func(r row) float64 { return r.p90 })),
			p99: median(pick(func(r row) float64 { return r.p99 })), perSec: median(pick(func(r row) float64 { return r.perSec }))}
		headline := pick(func(r row) float64 { return r.p50 })
		if g[0].perSec != 0 {
			headline = pick(func(r row) float64 { return r.perSec })
		}
		m.lo, m.hi = slices.Min(headline), slices.Max(headline)
		out = append(out, m)
	}
	return out
}

func printRows(rows []row, ranges bool) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "db\tworker / baseline\tmetric\tn\tp50 ms\tp90 ms\tp99 ms\truns/s\t")
	for _, r := range rows {
		rng := ""
		if ranges {
			rng = fmt.Sprintf(" [%.1f–%.1f]", r.lo, r.hi)
		}
		if r.perSec != 0 {
			if ranges {
				rng = fmt.Sprintf(" [%.0f–%.0f]", r.lo, r.hi)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t\t\t\t%.0f%s\t%s\n", r.db, r.what, r.metric, r.n, r.perSec, rng, r.note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f%s\t%.1f\t%.1f\t\n", r.db, r.what, r.metric, r.n, r.p50, rng, r.p90, r.p99)
	}
	tw.Flush()
}
