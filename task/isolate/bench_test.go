package isolate

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"
)

// The cost of Run beyond starting the program itself (compare
// task.BenchmarkBareExec): the supervisor's start, the pipes, the
// working directory, the cleanup.

func benchRun(b *testing.B, r *Runner, c Cmd) {
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		res, err := r.Run(context.Background(), c)
		if err != nil || res.ExitCode != 0 {
			b.Fatal(res, err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkRun: no limits.
func BenchmarkRun(b *testing.B) {
	benchRun(b, &Runner{}, Cmd{Argv: []string{"/bin/true"}})
}

// BenchmarkRunOpenFiles: the server's default limit (1024 open files).
func BenchmarkRunOpenFiles(b *testing.B) {
	benchRun(b, &Runner{}, Cmd{Argv: []string{"/bin/true"}, Limits: Limits{OpenFiles: 1024}})
}

// BenchmarkRunCPU: a CPU-time limit.
func BenchmarkRunCPU(b *testing.B) {
	benchRun(b, &Runner{}, Cmd{Argv: []string{"/bin/true"}, Limits: Limits{CPUSeconds: 60, OpenFiles: 1024}})
}

// BenchmarkRunProcesses: a process limit.
func BenchmarkRunProcesses(b *testing.B) {
	benchRun(b, &Runner{}, Cmd{Argv: []string{"/bin/true"}, Limits: Limits{Processes: 4000}})
}

// BenchmarkRunBinary: no limits, with the binary in $SUNDIAL_BENCH_BINARY
// (go build ./cmd/sundial) as the supervisor, as in production; the test
// binary, which the other benchmarks use, starts faster.
func BenchmarkRunBinary(b *testing.B) {
	bin := os.Getenv("SUNDIAL_BENCH_BINARY")
	if bin == "" {
		b.Skip("set SUNDIAL_BENCH_BINARY to a sundial binary")
	}
	benchRun(b, &Runner{Shim: []string{bin, ShimArg}}, Cmd{Argv: []string{"/bin/true"}})
}

// BenchmarkRunConfined: as a server runs tasks: as another user (when
// root), with Landlock keeping them from a database file (where the
// kernel has it) and a private working directory.
func BenchmarkRunConfined(b *testing.B) {
	r := &Runner{Landlock: true, Protect: []string{b.TempDir() + "/sundial.db"}}
	if os.Geteuid() == 0 {
		u, err := DefaultUser()
		if err != nil {
			b.Skip(err)
		}
		r.User = &u
	}
	benchRun(b, r, Cmd{Argv: []string{"/bin/true"}, Limits: Limits{OpenFiles: 1024}})
}
