package task

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// The overhead of a command task is what it costs beyond starting the
// process itself: the shim's re-execution, the scrubbed environment, the
// working and control directories, the pipes, the group kill. Compare
// BenchmarkBareExec (os/exec, nothing else) with BenchmarkCommandTask;
// likewise a python task with `python3 -c pass`.

func p50(b *testing.B, run func()) {
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		run()
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

func BenchmarkBareExec(b *testing.B) {
	p50(b, func() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkCommandTask(b *testing.B) {
	k := newKinds(&testing.T{})
	run := sundial.Run{ID: "r", JobID: "j", Task: "command", Attempt: 1, ScheduledAt: time.Now(), Args: json.RawMessage(`{"argv": ["/bin/true"]}`)}
	p50(b, func() {
		if _, err := k.command(context.Background(), run); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkBarePython(b *testing.B) {
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skip("python3 is not installed")
	}
	p50(b, func() {
		if err := exec.Command("python3", "-c", "pass").Run(); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkPythonTask(b *testing.B) {
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skip("python3 is not installed")
	}
	k := newKinds(&testing.T{})
	run := sundial.Run{ID: "r", JobID: "j", Task: "python", Attempt: 1, ScheduledAt: time.Now(), Args: json.RawMessage(`{"func": "plain:ping"}`)}
	p50(b, func() {
		if _, err := k.python(context.Background(), run); err != nil {
			b.Fatal(err)
		}
	})
}
