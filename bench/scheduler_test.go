package bench

// Scheduler workloads side by side: Sundial (in-memory store, and in the
// workloads that fire jobs also on a SQLite file), robfig/cron v3,
// go-co-op/gocron v2, and the floor: bare Go timers doing the same work
// with no scheduler at all.
//
//	cd bench
//	go test -run '^$' -bench 'Idle|Add' -benchmem -count 6 | tee idle.txt
//	go test -run '^$' -bench 'Dispatch|Lateness' -benchtime 1x -count 5 -timeout 1h | tee fire.txt
//	benchstat -col /impl idle.txt fire.txt
//
// Dispatch and lateness run in real time (seconds each): they measure the
// schedulers' timing, which a fake clock would hide.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/robfig/cron/v3"
	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/store/sqlitestore"
	"github.com/sundialhq/sundial/trigger"
)

var impls = []string{"floor", "robfig", "gocron", "sundial"}

// fireImpls are the implementations of the workloads that fire jobs:
// impls and Sundial on a SQLite file ("sundial-sqlite", the same settings
// as "sundial", every run written to the file). The idle workloads leave
// it out: what an idle job costs there is a row on disk, not memory.
var fireImpls = append(slices.Clone(impls), "sundial-sqlite")

// scheduler adapts each implementation to the workloads.
type scheduler interface {
	// addDaily adds a job firing daily at 03:00 (idle for hours).
	addDaily(i int)
	// addOnce adds a job firing once at at, calling fn.
	addOnce(i int, at time.Time, fn func())
	// addEverySecond adds a job firing at every whole second; fn gets the
	// fire time.
	addEverySecond(i int, fn func(scheduled time.Time))
	start()
	stop()
}

func newScheduler(tb testing.TB, impl string) scheduler {
	switch impl {
	case "floor":
		return &floor{}
	case "robfig":
		return &robfigSched{c: cron.New(cron.WithSeconds())}
	case "gocron":
		s, err := gocron.NewScheduler()
		if err != nil {
			tb.Fatal(err)
		}
		return &gocronSched{s: s, tb: tb}
	case "sundial", "sundial-sqlite":
		var store sundial.Store = memstore.New(memstore.Options{})
		if impl == "sundial-sqlite" {
			st, err := sqlitestore.Open(context.Background(), filepath.Join(tb.TempDir(), "sundial.db"))
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { st.Close() })
			store = st
		}
		s, err := sundial.New(sundial.Config{
			Store: store, Retention: sundial.Retention{PerJob: 1},
			Workers: 8,
			Logger:  slog.New(slog.DiscardHandler),
		})
		if err != nil {
			tb.Fatal(err)
		}
		return &sundialSched{s: s, tb: tb}
	}
	tb.Fatalf("unknown impl %q", impl)
	return nil
}

// floor is no scheduler: one Go timer per job.
type floor struct {
	mu     sync.Mutex
	timers []*time.Timer
}

func (f *floor) keep(t *time.Timer) {
	f.mu.Lock()
	f.timers = append(f.timers, t)
	f.mu.Unlock()
}

func (f *floor) addDaily(int) {
	f.keep(time.AfterFunc(untilDaily(time.Now()), func() {}))
}

func (f *floor) addOnce(_ int, at time.Time, fn func()) {
	f.keep(time.AfterFunc(time.Until(at), fn))
}

func (f *floor) addEverySecond(_ int, fn func(time.Time)) {
	var t atomic.Pointer[time.Timer]
	next := time.Now().Truncate(time.Second).Add(time.Second)
	fire := func() { // timer callbacks of one timer never overlap
		scheduled := next
		next = next.Add(time.Second)
		t.Load().Reset(time.Until(next))
		fn(scheduled)
	}
	t.Store(time.AfterFunc(time.Hour, fire))
	t.Load().Reset(time.Until(next))
	f.keep(t.Load())
}

func (f *floor) start() {}
func (f *floor) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.timers {
		t.Stop()
	}
}

func untilDaily(now time.Time) time.Duration {
	next := time.Date(now.Year(), now.Month(), now.Day(), 3, 0, 0, 0, now.Location())
	if !next.After(now) {
		next = next.AddDate(0, 0, 1)
	}
	return next.Sub(now)
}

type robfigSched struct{ c *cron.Cron }

// onceSchedule fires once, for robfig, which has no one-shot jobs.
type onceSchedule struct{ at time.Time }

func (o onceSchedule) Next(t time.Time) time.Time {
	if t.Before(o.at) {
		return o.at
	}
	return time.Time{}
}

func (r *robfigSched) addDaily(int) {
	r.c.AddFunc("0 0 3 * * *", func() {})
}

func (r *robfigSched) addOnce(_ int, at time.Time, fn func()) {
	r.c.Schedule(onceSchedule{at}, cron.FuncJob(fn))
}

func (r *robfigSched) addEverySecond(_ int, fn func(time.Time)) {
	r.c.AddFunc("* * * * * *", func() { fn(time.Now().Truncate(time.Second)) })
}

func (r *robfigSched) start() { r.c.Start() }
func (r *robfigSched) stop()  { <-r.c.Stop().Done() }

type gocronSched struct {
	s  gocron.Scheduler
	tb testing.TB
}

func (g *gocronSched) add(def gocron.JobDefinition, fn any) {
	if _, err := g.s.NewJob(def, gocron.NewTask(fn)); err != nil {
		g.tb.Fatal(err)
	}
}

func (g *gocronSched) addDaily(int) { g.add(gocron.CronJob("0 3 * * *", false), func() {}) }

func (g *gocronSched) addOnce(_ int, at time.Time, fn func()) {
	g.add(gocron.OneTimeJob(gocron.OneTimeJobStartDateTime(at)), fn)
}

func (g *gocronSched) addEverySecond(_ int, fn func(time.Time)) {
	g.add(gocron.CronJob("* * * * * *", true), func() { fn(time.Now().Truncate(time.Second)) })
}

func (g *gocronSched) start() { g.s.Start() }
func (g *gocronSched) stop()  { g.s.Shutdown() }

type sundialSched struct {
	s     *sundial.Scheduler
	tb    testing.TB
	mu    sync.Mutex // guards tasks
	tasks map[string]bool
	// fns are the jobs' functions by the number in their IDs. The
	// workloads whose jobs have one add them all before the scheduler
	// starts, so that a run finds its function without a lock or a map,
	// as robfig's and gocron's jobs hold theirs: the harness's routing
	// is not Sundial's cost.
	fns []func(sundial.Run)
}

// job registers the task name once (Sundial tasks are registered by name)
// and routes each run to the function of its job, job number i; a job
// without one (an idle job) costs the harness nothing, as it costs the
// other implementations nothing. A job with a function must be added
// before start.
func (s *sundialSched) job(j sundial.Job, i int, fn func(sundial.Run)) {
	s.mu.Lock()
	if s.tasks == nil {
		s.tasks = map[string]bool{}
	}
	if fn != nil {
		if i >= len(s.fns) {
			s.fns = append(s.fns, make([]func(sundial.Run), i+1-len(s.fns))...)
		}
		s.fns[i] = fn
	}
	if !s.tasks[j.Task] {
		s.tasks[j.Task] = true
		s.s.Register(j.Task, func(_ context.Context, r sundial.Run) (any, error) {
			if f := s.fn(r.JobID); f != nil {
				f(r)
			}
			return nil, nil
		})
	}
	s.mu.Unlock()
	if _, err := s.s.AddJob(context.Background(), j); err != nil {
		s.tb.Fatal(err)
	}
}

// fn returns the function of the job with the ID, nil for none.
func (s *sundialSched) fn(id string) func(sundial.Run) {
	i, err := strconv.Atoi(id[strings.LastIndexByte(id, '-')+1:])
	if err != nil || i >= len(s.fns) {
		return nil
	}
	return s.fns[i]
}

func (s *sundialSched) addDaily(i int) {
	s.job(sundial.Job{ID: "daily-" + strconv.Itoa(i), Task: "noop", Trigger: trigger.Spec{Type: "cron", Expr: "0 3 * * *"}}, i, nil)
}

func (s *sundialSched) addOnce(i int, at time.Time, fn func()) {
	s.job(sundial.Job{ID: fmt.Sprint("once-", i), Task: "once",
		Trigger: trigger.Spec{Type: "date", RunDate: at.Format(time.RFC3339Nano)}}, i, func(sundial.Run) { fn() })
}

func (s *sundialSched) addEverySecond(i int, fn func(time.Time)) {
	s.job(sundial.Job{ID: fmt.Sprint("second-", i), Task: "second", Trigger: trigger.Spec{Type: "cron", Expr: "* * * * * *"}},
		i, func(r sundial.Run) { fn(r.ScheduledAt) })
}

func (s *sundialSched) start() { s.s.Start(context.Background()) }
func (s *sundialSched) stop()  { s.s.Shutdown(context.Background()) }

// BenchmarkAddIdle measures adding a job that is idle for hours, with the
// scheduler stopped and running.
func BenchmarkAddIdle(b *testing.B) {
	for _, impl := range impls {
		for _, running := range []bool{false, true} {
			if impl == "floor" && running {
				continue // no scheduler to run
			}
			b.Run(fmt.Sprintf("running=%v/impl=%s", running, impl), func(b *testing.B) {
				s := newScheduler(b, impl)
				if running {
					s.start()
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					s.addDaily(i)
					i++
				}
				b.StopTimer()
				s.stop()
			})
		}
	}
}

// BenchmarkIdleMemory reports the heap held per idle job, 100,000 jobs,
// measured once the scheduler has started and settled (gocron takes jobs in
// through its own goroutine).
func BenchmarkIdleMemory(b *testing.B) {
	const n = 100_000
	for _, impl := range impls {
		b.Run("impl="+impl, func(b *testing.B) {
			for b.Loop() {
				s := newScheduler(b, impl)
				before := heapAlloc()
				for i := range n {
					s.addDaily(i)
				}
				s.start()
				time.Sleep(500 * time.Millisecond)
				after := heapAlloc()
				b.ReportMetric(float64(after-before)/n, "B/job")
				s.stop()
			}
		})
	}
}

// BenchmarkIdleRSS reports the resident memory per idle job, 100,000 jobs,
// each implementation in a process of its own (this test binary run again)
// so that none inherits another's heap: rss-B/job once the scheduler has
// started, settled and collected its garbage, rss-freed-B/job once the Go
// runtime has also returned its free memory to the system
// (debug.FreeOSMemory, which its background scavenger does over minutes).
func BenchmarkIdleRSS(b *testing.B) {
	for _, impl := range impls {
		b.Run("impl="+impl, func(b *testing.B) {
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestIdleRSSChild$", "-test.v")
				cmd.Env = append(os.Environ(), "BENCH_RSS_IMPL="+impl)
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				var settled, freed float64
				if _, err := fmt.Sscanf(string(out[max(bytes.Index(out, []byte("rss-per-job")), 0):]), "rss-per-job %f %f", &settled, &freed); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				b.ReportMetric(settled, "rss-B/job")
				b.ReportMetric(freed, "rss-freed-B/job")
			}
		})
	}
}

// TestIdleRSSChild is BenchmarkIdleRSS's child process.
func TestIdleRSSChild(t *testing.T) {
	impl := os.Getenv("BENCH_RSS_IMPL")
	if impl == "" {
		t.Skip("run by BenchmarkIdleRSS")
	}
	const n = 100_000
	s := newScheduler(t, impl)
	runtime.GC()
	debug.FreeOSMemory()
	before := rss(t)
	for i := range n {
		s.addDaily(i)
	}
	s.start()
	time.Sleep(500 * time.Millisecond)
	runtime.GC()
	settled := rss(t)
	debug.FreeOSMemory()
	freed := rss(t)
	fmt.Printf("rss-per-job %.1f %.1f\n", float64(settled-before)/n, float64(freed-before)/n)
	s.stop()
}

// rss returns the process's resident memory in bytes (Linux).
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// BenchmarkAddMillion times adding 1,000,000 idle jobs to a running scheduler.
func BenchmarkAddMillion(b *testing.B) {
	const n = 1_000_000
	for _, impl := range []string{"floor", "gocron", "sundial"} { // robfig re-sorts on every add while running: hours
		b.Run("impl="+impl, func(b *testing.B) {
			for b.Loop() {
				s := newScheduler(b, impl)
				s.start()
				start := time.Now()
				for i := range n {
					s.addDaily(i)
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/million")
				s.stop()
			}
		})
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// freshHeap starts a dispatch or lateness run with a collection, so that
// each implementation's collector paces itself on its own heap, not on
// what the benchmarks before it in the process left (a lateness run after
// the dispatch of 100,000 jobs went through without one collection, and
// the same run alone collected 10 times).
func freshHeap() { runtime.GC() }

// BenchmarkDispatch adds 100,000 (or 10,000) one-shot jobs due at one
// instant and reports fires per second from that instant until the last
// has run.
func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{100_000, 10_000} {
		for _, impl := range fireImpls {
			b.Run(fmt.Sprintf("jobs=%d/impl=%s", n, impl), func(b *testing.B) { dispatch(b, impl, n) })
		}
	}
}

// dispatch is one BenchmarkDispatch workload: n jobs of impl.
func dispatch(b *testing.B, impl string, n int) {
	for range b.N {
		freshHeap()
		// Jobs are added before the scheduler starts: robfig takes
		// ~170µs per add while running, too long for 100,000; on
		// SQLite each add is a transaction of its own.
		s := newScheduler(b, impl)
		var count atomic.Int64
		var last atomic.Int64
		done := make(chan struct{})
		lead := 3 * time.Second
		if impl == "sundial-sqlite" {
			lead += time.Duration(n) * 200 * time.Microsecond
		}
		at := time.Now().Add(lead)
		for i := range n {
			s.addOnce(i, at, func() {
				if count.Add(1) == int64(n) {
					last.Store(time.Now().UnixNano())
					close(done)
				}
			})
		}
		s.start()
		if time.Now().After(at) {
			b.Fatalf("adding %d jobs took past the fire time", n)
		}
		// The process's CPU time from just before the instant until
		// the last fire: a second view, less noisy than fires/s on a
		// shared machine (it counts garbage collection too).
		time.Sleep(time.Until(at) - 20*time.Millisecond)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		cpu := cpuTime()
		select {
		case <-done:
		case <-time.After(time.Minute):
			b.Fatalf("only %d of %d fired within a minute", count.Load(), n)
		}
		cpu = cpuTime() - cpu
		runtime.ReadMemStats(&m1)
		elapsed := time.Unix(0, last.Load()).Sub(at)
		fires := float64(n)
		b.ReportMetric(fires/elapsed.Seconds(), "fires/s")
		b.ReportMetric(float64(cpu.Nanoseconds())/fires, "cpu-ns/fire")
		// Allocations from just before the instant to the last fire:
		// what the collector has to keep up with per fire.
		b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/fires, "allocs/fire")
		b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/fires, "B/fire")
		b.ReportMetric(float64(m1.NumGC-m0.NumGC), "gcs")
		s.stop()
	}
}

// BenchmarkLateness runs N jobs due at every whole second for 10 seconds
// and reports the lateness (start minus scheduled time) at p50 and p99,
// and the fires missed or doubled.
func BenchmarkLateness(b *testing.B) {
	const seconds = 10
	for _, n := range []int{100, 1000, 10000} {
		for _, impl := range fireImpls {
			b.Run(fmt.Sprintf("jobs=%d/impl=%s", n, impl), func(b *testing.B) {
				for range b.N {
					freshHeap()
					s := newScheduler(b, impl)
					first := time.Now().Truncate(time.Second).Add(3 * time.Second)
					counts := make([]atomic.Int32, n*seconds)
					var mu sync.Mutex
					late := make([]time.Duration, 0, n*seconds)
					for i := range n {
						s.addEverySecond(i, func(scheduled time.Time) {
							d := time.Since(scheduled)
							slot := int(scheduled.Sub(first) / time.Second)
							if slot < 0 || slot >= seconds {
								return
							}
							counts[i*seconds+slot].Add(1)
							mu.Lock()
							late = append(late, d)
							mu.Unlock()
						})
					}
					s.start()
					// CPU and allocations from just before the first fire to
					// just after the last: the cost per fire, steadier than
					// the lateness on a shared machine.
					time.Sleep(time.Until(first) - 100*time.Millisecond)
					var m0, m1 runtime.MemStats
					runtime.ReadMemStats(&m0)
					cpu := cpuTime()
					time.Sleep(time.Until(first.Add(seconds*time.Second + 500*time.Millisecond)))
					cpu = cpuTime() - cpu
					runtime.ReadMemStats(&m1)
					s.stop()
					fires := float64(n * seconds)
					b.ReportMetric(float64(cpu.Nanoseconds())/fires, "cpu-ns/fire")
					b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/fires, "B/fire")
					b.ReportMetric(float64(m1.NumGC-m0.NumGC), "gcs")
					mu.Lock()
					reportFires(b, counts, late)
					mu.Unlock()
				}
			})
		}
	}
}

// reportFires reports the lateness percentiles of late (which it sorts)
// and how many fires ran never (counts[i] 0) or more than once.
func reportFires(b *testing.B, counts []atomic.Int32, late []time.Duration) {
	missed, doubled := 0, 0
	for i := range counts {
		switch c := counts[i].Load(); {
		case c == 0:
			missed++
		case c > 1:
			doubled++
		}
	}
	slices.Sort(late)
	p := func(q float64) float64 {
		if len(late) == 0 {
			return 0
		}
		return float64(late[int(q*float64(len(late)-1))].Microseconds())
	}
	b.ReportMetric(p(0.50), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
	b.ReportMetric(float64(missed), "missed")
	b.ReportMetric(float64(doubled), "doubled")
}
