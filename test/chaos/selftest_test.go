package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// These tests check the instrument: the checker on synthetic witness data
// with seeded defects, and the witness script's real output. They run in
// every `go test ./...`.

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const tick = 100 * time.Millisecond

// synth builds a clean history: job "j" fires every second for five
// seconds, each fire runs once on node n1 for 300 ms and succeeds.
type synth struct {
	in CheckInput
}

func newSynth() *synth {
	s := &synth{in: CheckInput{Tolerance: 20 * time.Millisecond, RecoveryBound: 5 * time.Second,
		Jobs: []JobPlan{{ID: "j", Every: time.Second, First: t0, Until: t0.Add(5 * time.Second), MaxAttempts: 3}}}}
	for i := range 5 {
		at := t0.Add(time.Duration(i) * time.Second)
		e := s.exec("j", at, 1, 1, at.Add(10*time.Millisecond), 300*time.Millisecond, true)
		s.run("j", at, 1, sundial.StatusSucceeded, "n1", e.Last.Add(5*time.Millisecond))
	}
	return s
}

// exec adds an execution on incarnation inc (node "n<inc>") that starts
// at start, ticks every 100 ms for d and ends (or is killed) then.
func (s *synth) exec(job string, sched time.Time, attempt, inc int, start time.Time, d time.Duration, ended bool) *Exec {
	e := Exec{Job: job, Sched: sched, Attempt: attempt, Inc: inc, Node: fmt.Sprint("n", inc), PID: 1000 + len(s.in.Execs),
		RunID: fmt.Sprintf("r-%s-%d", sched.Format("150405"), attempt), Start: start, Last: start, Ended: ended}
	for t := start.Add(tick); !t.After(start.Add(d)); t = t.Add(tick) {
		e.lines = append(e.lines, t)
		e.Last = t
		e.Ticks++
	}
	s.in.Execs = append(s.in.Execs, e)
	return &s.in.Execs[len(s.in.Execs)-1]
}

func (s *synth) run(job string, sched time.Time, attempt int, status sundial.RunStatus, node string, ended time.Time) {
	s.in.Runs = append(s.in.Runs, sundial.Run{ID: fmt.Sprintf("r-%s-%d", sched.Format("150405"), attempt), JobID: job,
		ScheduledAt: sched, Attempt: attempt, Status: status, Node: node, StartedAt: sched, EndedAt: ended})
}

// drop removes every record and execution of a fire.
func (s *synth) drop(sched time.Time) {
	var runs []sundial.Run
	for _, r := range s.in.Runs {
		if !r.ScheduledAt.Equal(sched) {
			runs = append(runs, r)
		}
	}
	var execs []Exec
	for _, e := range s.in.Execs {
		if !e.Sched.Equal(sched) {
			execs = append(execs, e)
		}
	}
	s.in.Runs, s.in.Execs = runs, execs
}

func counts(rep Report) map[string]int {
	c := map[string]int{}
	for _, v := range rep.Violations {
		c[v.Invariant]++
	}
	return c
}

func expect(t *testing.T, rep Report, want map[string]int) {
	t.Helper()
	got := counts(rep)
	for _, inv := range invariants {
		if got[inv] != want[inv] {
			t.Errorf("%s: %d violations, want %d", inv, got[inv], want[inv])
		}
	}
	if t.Failed() {
		for _, v := range rep.Violations {
			t.Logf("%s %s: %s", v.Invariant, v.Fire, v.Detail)
		}
	}
}

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestCheckerCleanHistory(t *testing.T) {
	s := newSynth()
	rep := Check(s.in)
	expect(t, rep, nil)
	if rep.Fires != 5 || rep.Execs != 5 || rep.Runs != 5 {
		t.Errorf("fires %d execs %d runs %d, want 5 each", rep.Fires, rep.Execs, rep.Runs)
	}
}

func TestCheckerSilentLoss(t *testing.T) {
	s := newSynth()
	s.drop(at(2))
	expect(t, Check(s.in), map[string]int{InvSilentLoss: 1})

	// A fire recorded as missed, or one that ran but whose record is
	// absent, is not silent (the second is unrecorded).
	s = newSynth()
	s.drop(at(2))
	s.run("j", at(2), 1, sundial.StatusMissed, "n1", at(2.5))
	s.drop(at(3))
	s.exec("j", at(3), 1, 1, at(3.01), 200*time.Millisecond, true)
	expect(t, Check(s.in), map[string]int{InvUnrecorded: 1})
}

func TestCheckerDuplicate(t *testing.T) {
	s := newSynth()
	// A second execution of attempt 1 of fire 1, after the first ended
	// and before the record did.
	s.in.Runs[1].EndedAt = at(1.9)
	s.exec("j", at(1), 1, 1, at(1.5), 200*time.Millisecond, true)
	expect(t, Check(s.in), map[string]int{InvDuplicate: 1})
	// The same while the first runs: an overlap too.
	s.exec("j", at(1), 1, 2, at(1.2), 200*time.Millisecond, true)
	expect(t, Check(s.in), map[string]int{InvDuplicate: 2, InvOverlap: 1, InvForeign: 1})
}

func TestCheckerOverlapAndTicksAfterLease(t *testing.T) {
	s := newSynth()
	s.drop(at(3))
	// Attempt 1 is marked lost at 4.0 but its process ticks on to 5.0;
	// attempt 2 starts at 4.1 on another node and succeeds.
	s.exec("j", at(3), 1, 1, at(3.01), 2*time.Second, true)
	s.run("j", at(3), 1, sundial.StatusLost, "n1", at(4))
	s.exec("j", at(3), 2, 2, at(4.1), 300*time.Millisecond, true)
	s.run("j", at(3), 2, sundial.StatusSucceeded, "n2", at(4.5))
	expect(t, Check(s.in), map[string]int{InvOverlap: 1, InvTickAfter: 1})

	// The same, with attempt 1 killed at 3.9: clean.
	s = newSynth()
	s.drop(at(3))
	s.exec("j", at(3), 1, 1, at(3.01), 800*time.Millisecond, false)
	s.run("j", at(3), 1, sundial.StatusLost, "n1", at(4))
	s.exec("j", at(3), 2, 2, at(4.1), 300*time.Millisecond, true)
	s.run("j", at(3), 2, sundial.StatusSucceeded, "n2", at(4.5))
	expect(t, Check(s.in), nil)
}

func TestCheckerToleranceAtLeaseEnd(t *testing.T) {
	s := newSynth()
	s.drop(at(3))
	// The last tick falls 10 ms after the recorded end (tolerance 20 ms).
	e := s.exec("j", at(3), 1, 1, at(3.01), 500*time.Millisecond, false)
	s.run("j", at(3), 1, sundial.StatusLost, "n1", e.Last.Add(-10*time.Millisecond))
	expect(t, Check(s.in), nil)
	// 30 ms after: a violation.
	s.in.Runs[len(s.in.Runs)-1].EndedAt = e.Last.Add(-30 * time.Millisecond)
	expect(t, Check(s.in), map[string]int{InvTickAfter: 1})
}

func TestCheckerStartAfterLease(t *testing.T) {
	s := newSynth()
	s.drop(at(3))
	// A zombie: the run was marked lost at 3.5, a stopped node woke and
	// started it at 6.
	s.run("j", at(3), 1, sundial.StatusLost, "n1", at(3.5))
	s.exec("j", at(3), 1, 1, at(6), 300*time.Millisecond, true)
	expect(t, Check(s.in), map[string]int{InvStartAfter: 1})
}

func TestCheckerRetryWithoutLoss(t *testing.T) {
	s := newSynth()
	s.drop(at(3))
	// Attempt 1 failed (not lost or interrupted), and attempt 2 ran.
	s.exec("j", at(3), 1, 1, at(3.01), 100*time.Millisecond, true)
	s.run("j", at(3), 1, sundial.StatusFailed, "n1", at(3.2))
	s.exec("j", at(3), 2, 1, at(3.3), 100*time.Millisecond, true)
	s.run("j", at(3), 2, sundial.StatusSucceeded, "n1", at(3.5))
	// Attempt 2 of fire 4 started before attempt 1 was marked lost.
	s.drop(at(4))
	s.exec("j", at(4), 1, 1, at(4.01), 100*time.Millisecond, false)
	s.run("j", at(4), 1, sundial.StatusLost, "n1", at(4.6))
	s.exec("j", at(4), 2, 2, at(4.3), 100*time.Millisecond, true)
	s.run("j", at(4), 2, sundial.StatusSucceeded, "n2", at(4.5))
	expect(t, Check(s.in), map[string]int{InvRetryNoLoss: 2})
}

func TestCheckerStuckAndForeign(t *testing.T) {
	s := newSynth()
	s.in.Runs[1].Status, s.in.Runs[1].EndedAt = sundial.StatusRunning, time.Time{}
	s.in.Runs[2].Node = "n9"
	s.in.Faults = []Fault{{Nemesis: "early", At: at(0.5)}, {Nemesis: "late", At: at(1.5)}, {Nemesis: "later", At: at(2.5)}}
	rep := Check(s.in)
	expect(t, rep, map[string]int{InvStuck: 1, InvForeign: 1})
	// The run stuck since 1.0 is counted under the fault it outlived.
	for _, v := range rep.Violations {
		if v.Invariant == InvStuck && rep.Faults[v.Fault].Nemesis != "late" {
			t.Errorf("stuck run counted under %s", rep.Faults[v.Fault].Nemesis)
		}
	}
}

func TestCheckerRecovery(t *testing.T) {
	s := newSynth()
	s.in.Jobs = append(s.in.Jobs, JobPlan{ID: "long", Every: 10 * time.Second, First: t0, Until: t0.Add(time.Second)})
	s.exec("long", t0, 1, 1, at(0.01), 3*time.Second, false) // killed at 3.01
	s.run("long", t0, 1, sundial.StatusLost, "n1", at(6))
	s.exec("long", t0, 2, 2, at(6.2), 500*time.Millisecond, true)
	s.run("long", t0, 2, sundial.StatusSucceeded, "n2", at(6.8))
	s.in.Faults = []Fault{{Nemesis: "kill-9", Target: "a", Incs: []int{1}, Nodes: []string{"n1"}, At: at(3.05)}}
	rep := Check(s.in)
	expect(t, rep, nil)
	// Both jobs ran on n1 at 3.05? Only "long" did; "j"'s fire 3 ran 3.01-3.31.
	if f := rep.Faults[0]; !f.Recovered || f.Recovery != at(6.2).Sub(at(3.05)) || strings.Join(f.Affected, ",") != "j,long" {
		t.Errorf("fault figure %+v", f)
	}
	s.in.RecoveryBound = 2 * time.Second
	expect(t, Check(s.in), map[string]int{InvSlowRecovery: 1})
	// Without the retry's success, it never recovers.
	s.in.Runs[len(s.in.Runs)-1].Status = sundial.StatusFailed
	expect(t, Check(s.in), map[string]int{InvNeverRecovers: 1})
	// A retry that a later fault struck while it ran counts as recovered
	// from the first fault.
	// (The retry's record says failed here: the later fault ended it.)
	s.in.RecoveryBound = 5 * time.Second
	s.in.Faults = append(s.in.Faults, Fault{Nemesis: "kill-9-tree", Target: "b", Incs: []int{2}, Nodes: []string{"n2"}, At: at(6.5)})
	rep = Check(s.in)
	expect(t, rep, map[string]int{InvNeverRecovers: 1}) // the later fault's: nothing ran after it
	if f := rep.Faults[0]; !f.Recovered || f.Recovery != at(6.2).Sub(at(3.05)) {
		t.Errorf("fault figure %+v", f)
	}
	if f := rep.Faults[1]; f.Recovered || strings.Join(f.Affected, ",") != "long" {
		t.Errorf("later fault figure %+v", f)
	}
	// A fault on another node affects nothing.
	s.in.Faults = []Fault{{Nemesis: "sigstop", Target: "b", Incs: []int{7}, Nodes: []string{"n7"}, At: at(3.05)}}
	rep = Check(s.in)
	expect(t, rep, nil)
	if f := rep.Faults[0]; !f.Recovered || len(f.Affected) != 0 {
		t.Errorf("fault figure %+v", f)
	}
	if table := Table(map[string]Report{"synthetic": rep}); !strings.Contains(table, "sigstop") {
		t.Errorf("table:\n%s", table)
	}
}

// TestWitnessScript runs the real witness script, once to its end and
// once killed, and reads what it wrote.
func TestWitnessScript(t *testing.T) {
	if _, err := exec.LookPath("date"); err != nil {
		t.Skip("no date(1)")
	}
	dir := t.TempDir()
	w := filepath.Join(dir, "w")
	tmp := filepath.Join(dir, "inc", "7", "sundial-run-1")
	for _, d := range []string{w, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(id, ms string) *exec.Cmd {
		cmd := exec.Command("/bin/sh", "-c", witnessScript)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CHAOS_W=" + w, "CHAOS_MS=" + ms, "TMPDIR=" + tmp,
			"SUNDIAL_JOB_ID=job-x", "SUNDIAL_RUN_ID=" + id, "SUNDIAL_ATTEMPT=2", "SUNDIAL_SCHEDULED_AT=2026-03-01T12:00:01Z"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	done := run("run-done", "300")
	killed := run("run-killed", "5000")
	if err := done.Wait(); err != nil {
		t.Fatal(err)
	}
	// Wait for the second one's first tick, then kill it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(w, fmt.Sprintf("run-killed.%d", killed.Process.Pid)))
		if strings.Contains(string(b), "tick") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tick from the witness in 10s: %q", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-killed.Process.Pid, syscall.SIGKILL)
	killed.Wait()

	execs, err := readWitnesses(w)
	if err != nil {
		t.Fatal(err)
	}
	if len(execs) != 2 {
		t.Fatalf("%d executions read, want 2: %+v", len(execs), execs)
	}
	for _, e := range execs {
		want := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
		if e.Job != "job-x" || !e.Sched.Equal(want) || e.Attempt != 2 || e.Inc != 7 || e.PPID != os.Getpid() || e.Start.IsZero() {
			t.Errorf("execution %+v", e)
		}
		switch e.RunID {
		case "run-done":
			if !e.Ended || e.Ticks < 1 || e.Last.Sub(e.Start) < 300*time.Millisecond || e.PID != done.Process.Pid {
				t.Errorf("finished execution: ended %v, %d ticks, %s", e.Ended, e.Ticks, e.Last.Sub(e.Start))
			}
		case "run-killed":
			if e.Ended || e.Ticks < 1 || e.PID != killed.Process.Pid {
				t.Errorf("killed execution: ended %v, %d ticks", e.Ended, e.Ticks)
			}
		}
	}
}
