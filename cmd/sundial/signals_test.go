package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondSignalExitsAtOnce starts `sundial serve` with SIGINT and
// SIGTERM ignored, as `sundial serve &` in a script leaves SIGINT, with a
// command running and a long shutdown grace. The first signal starts the
// graceful stop, which waits for the run; the second ends the process at
// once, with 128+signal and a line on stderr. (Before, the first signal
// gave SIGINT its launch disposition back — "ignore" — and INT then INT
// did not exit.)
func TestSecondSignalExitsAtOnce(t *testing.T) {
	for _, c := range []struct {
		name          string
		first, second syscall.Signal
	}{
		{"INT then INT", syscall.SIGINT, syscall.SIGINT},
		{"TERM then TERM", syscall.SIGTERM, syscall.SIGTERM},
		{"TERM then INT", syscall.SIGTERM, syscall.SIGINT},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			pidFile := filepath.Join(sharedDir(t), "task.pid") // the task's user writes it
			config := filepath.Join(dir, "sundial.yaml")
			os.WriteFile(config, []byte(fmt.Sprintf(`shutdown_grace: 10m
jobs:
  - id: long
    task: command
    trigger: {type: interval, hours: 1}
    args: {argv: [sh, -c, 'echo $$ > %s; exec sleep 600']}
    options: {run_on_start: true}
`, pidFile)), 0o600)
			// The shell sets both signals to "ignore", which exec keeps.
			cmd := exec.Command("sh", "-c", `trap '' INT TERM; exec "$0" "$@"`, bin, "serve", "--addr", "127.0.0.1:0",
				"--insecure-no-auth", "--poll-interval", "200ms", "--db", "sqlite:"+filepath.Join(dir, "s.db"), "--config", config)
			cmd.Dir = dir
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			base := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
						base <- m[1]
					}
				}
				done <- cmd.Wait()
			}()
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					<-done
				}
				// The task's process outlives a server that exits at
				// once (see below); end it.
				if b, err := os.ReadFile(pidFile); err == nil {
					if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
						syscall.Kill(-pid, syscall.SIGKILL)
						syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			})
			var url string
			select {
			case url = <-base:
			case err := <-done:
				t.Fatalf("server exited before serving: %v\n%s", err, stderr.String())
			case <-time.After(30 * time.Second):
				t.Fatalf("server did not start in 30s:\n%s", stderr.String())
			}
			running := func() bool {
				res, err := http.Get(url + "/api/v1/runs?job_id=long&status=running")
				if err != nil {
					return false
				}
				defer res.Body.Close()
				var runs struct{ Runs []json.RawMessage }
				json.NewDecoder(res.Body).Decode(&runs)
				return len(runs.Runs) == 1
			}
			deadline := time.Now().Add(20 * time.Second)
			for !running() {
				if time.Now().After(deadline) {
					t.Fatalf("the long run did not start:\n%s", stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}

			cmd.Process.Signal(c.first)
			// The graceful stop waits for the run (grace 10m): readyz
			// turns 503 and the process stays.
			deadline = time.Now().Add(10 * time.Second)
			for {
				res, err := http.Get(url + "/readyz")
				if err == nil {
					res.Body.Close()
					if res.StatusCode == 503 {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("readyz did not turn 503 after the first signal:\n%s", stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			select {
			case err := <-done:
				t.Fatalf("the first signal ended the process (%v); it should wait for the run:\n%s", err, stderr.String())
			case <-time.After(500 * time.Millisecond):
			}

			sent := time.Now()
			cmd.Process.Signal(c.second)
			select {
			case err := <-done:
				took := time.Since(sent)
				want := 128 + int(c.second)
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != want {
					t.Errorf("exit after the second signal: %v, want exit code %d", err, want)
				}
				if !strings.Contains(stderr.String(), "sundial: second signal ("+c.second.String()+"): exiting at once") {
					t.Errorf("stderr lacks the second signal's line:\n%s", stderr.String())
				}
				t.Logf("exited %s after the second signal", took.Round(time.Millisecond))
				// The task's process died with the server.
				b, err := os.ReadFile(pidFile)
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				if err != nil || pid == 0 {
					t.Fatalf("the task wrote no PID: %v", err)
				}
				deadline := time.Now().Add(2 * time.Second)
				for alive(pid) {
					if time.Now().After(deadline) {
						t.Errorf("the task's process %d outlived the server", pid)
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("the process did not exit within 5s of the second signal:\n%s", stderr.String())
			}
		})
	}
}

// alive reports whether pid is a process that has not exited (a zombie
// waiting for its parent has).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}
