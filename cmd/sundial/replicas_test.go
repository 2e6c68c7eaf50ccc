package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/pgtest"
)

// syncFile is a process's standard output, read while it runs.
type syncFile struct {
	mu sync.Mutex
	b  strings.Builder
}

func (f *syncFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b.Write(p)
}

func (f *syncFile) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b.String()
}

// TestReplicaProcessesStartTogether starts ten `sundial serve --config
// sundial.yaml` processes at the same moment on an empty database, as
// docs/deploy.md says replicas may: all ten serve and are ready, each
// config job is stored once, and one of them prints the first admin token.
func TestReplicaProcessesStartTogether(t *testing.T) {
	for _, store := range []struct {
		name string
		db   func(t *testing.T, dir string) string
	}{
		{"sqlite", func(t *testing.T, dir string) string { return "sqlite:" + filepath.Join(dir, "sundial.db") }},
		{"postgres", func(t *testing.T, dir string) string { return pgtest.SchemaDSN(t) }},
	} {
		t.Run(store.name, func(t *testing.T) {
			const n = 10
			dir := t.TempDir()
			config := filepath.Join(dir, "sundial.yaml")
			os.WriteFile(config, []byte(fmt.Sprintf(`db: %q
jobs:
  - {id: tick, task: echo, trigger: {type: interval, seconds: 30}}
  - {id: report, task: echo, trigger: "0 9 * * 1-5"}
`, store.db(t, dir))), 0o600)
			cmds := make([]*exec.Cmd, n)
			outs := make([]*syncFile, n)
			errs := make([]*syncFile, n)
			done := make([]chan error, n)
			for i := range n {
				cmd := exec.Command(bin, "serve", "--config", config, "--addr", "127.0.0.1:0", "--poll-interval", "500ms", "--node-id", fmt.Sprint("replica-", i))
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "SUNDIAL_TOKEN=", "SUNDIAL_SERVER=")
				outs[i], errs[i], done[i] = &syncFile{}, &syncFile{}, make(chan error, 1)
				cmd.Stdout, cmd.Stderr = outs[i], errs[i]
				cmds[i] = cmd
			}
			for i, cmd := range cmds {
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				go func() { done[i] <- cmd.Wait() }()
			}
			t.Cleanup(func() {
				for i, cmd := range cmds {
					if cmd.ProcessState == nil {
						cmd.Process.Kill()
						<-done[i]
					}
				}
			})
			bases := make([]string, n)
			deadline := time.Now().Add(30 * time.Second)
			for i := range n {
				for bases[i] == "" {
					if m := servingRE.FindStringSubmatch(outs[i].String()); m != nil {
						bases[i] = m[1]
						break
					}
					select {
					case err := <-done[i]:
						t.Fatalf("replica %d exited (%v) before serving:\n%s", i, err, errs[i])
					default:
					}
					if time.Now().After(deadline) {
						t.Fatalf("replica %d did not serve in 30s:\n%s", i, errs[i])
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			var token string
			printed := 0
			for i := range n {
				for time.Now().Before(deadline) {
					res, err := http.Get(bases[i] + "/readyz")
					if err == nil {
						res.Body.Close()
						if res.StatusCode == 200 {
							break
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
				for _, line := range strings.Split(outs[i].String(), "\n") {
					if m := tokenRE.FindStringSubmatch(line); m != nil {
						token = m[1]
						printed++
					}
				}
				if strings.Contains(errs[i].String(), "level=ERROR") {
					t.Errorf("replica %d logged an error:\n%s", i, errs[i])
				}
			}
			if printed != 1 {
				t.Fatalf("%d replicas printed a first admin token, want 1", printed)
			}
			for i := range n {
				req, _ := http.NewRequest("GET", bases[i]+"/readyz", nil)
				res, err := http.DefaultClient.Do(req)
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("replica %d: readyz %v %v", i, err, res)
				}
				res.Body.Close()
				req, _ = http.NewRequest("GET", bases[i]+"/api/v1/jobs", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				res, err = http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var list struct {
					Jobs []struct {
						ID      string `json:"id"`
						Version int64  `json:"version"`
					} `json:"jobs"`
				}
				json.NewDecoder(res.Body).Decode(&list)
				res.Body.Close()
				if got := fmt.Sprint(list.Jobs); got != "[{report 1} {tick 1}]" {
					t.Errorf("replica %d sees jobs %s, want report and tick at version 1", i, got)
				}
			}
			// They stop together too, promptly: nothing is running.
			sent := time.Now()
			for _, cmd := range cmds {
				cmd.Process.Signal(syscall.SIGTERM)
			}
			for i := range n {
				select {
				case err := <-done[i]:
					if err != nil {
						t.Errorf("replica %d exited with %v:\n%s", i, err, errs[i])
					}
				case <-time.After(time.Until(sent.Add(10 * time.Second))):
					t.Errorf("replica %d did not stop within 10s of SIGTERM:\n%s", i, errs[i])
					cmds[i].Process.Kill()
					<-done[i]
				}
			}
			t.Logf("%d replicas stopped %s after SIGTERM", n, time.Since(sent).Round(time.Millisecond))
		})
	}
}
