package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sundialhq/sundial"
)

// workerKind is one of the workers measured.
type workerKind string

const (
	goWorker     workerKind = "go"
	pyForkWorker workerKind = "python-fork"
	pyThread     workerKind = "python-thread"
)

var allKinds = []workerKind{goWorker, pyForkWorker, pyThread}

// paths are where the benchmark finds what it starts.
type paths struct {
	repo     string // the repository's root
	pytasks  string // bench/workers/pytasks
	goworker string // the built Go worker
	python   string // the interpreter of the Python worker and the python task kind
}

// workerProc is a worker process, with the times its logs give per run.
type workerProc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}

	mu      sync.Mutex
	started map[string]time.Time // run ID → "run started"
	ended   map[string]time.Time // run ID → the log line after the report was accepted
	tail    []string             // the last lines of its log, for errors
}

// startWorker starts a worker of the kind with capacity slots, serving the
// task "noop", logging to logPath as well.
func startWorker(ctx context.Context, kind workerKind, p paths, s *benchServer, name string, capacity int, logPath string) (*workerProc, error) {
	var cmd *exec.Cmd
	switch kind {
	case goWorker:
		cmd = exec.CommandContext(ctx, p.goworker, "-url", s.base, "-name", name, "-capacity", fmt.Sprint(capacity))
		cmd.Env = os.Environ()
	case pyForkWorker, pyThread:
		isolation := strings.TrimPrefix(string(kind), "python-")
		cmd = exec.CommandContext(ctx, p.python, "-m", "sundial.worker", "--server", s.base, "--tasks", "bench_tasks",
			"--name", name, "--capacity", fmt.Sprint(capacity), "--isolation", isolation)
		cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(p.repo, "python")+string(os.PathListSeparator)+p.pytasks)
	default:
		return nil, fmt.Errorf("unknown worker kind %q", kind)
	}
	cmd.Env = append(cmd.Env, "SUNDIAL_TOKEN="+s.workerToken)
	// Its own process group: a Ctrl-C of the benchmark reaches it through
	// the context, once, and the Python fork server dies with the worker.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	cmd.Stdout = logFile
	w := &workerProc{name: name, cmd: cmd, exited: make(chan struct{}), started: map[string]time.Time{}, ended: map[string]time.Time{}}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start the %s worker: %w", kind, err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		w.readLog(io.TeeReader(stderr, logFile))
	}()
	go func() {
		<-read
		cmd.Wait()
		logFile.Close()
		close(w.exited)
	}()
	if err := s.workerLive(ctx, name, w.exited); err != nil {
		w.stop()
		return nil, fmt.Errorf("%w; its log ends with:\n%s", err, w.logTail())
	}
	return w, nil
}

// logLine is what the benchmark reads of a worker's JSON log line: the Go
// worker's slog and the Python worker's formatter both write these keys.
type logLine struct {
	Time   time.Time `json:"time"`
	Msg    string    `json:"msg"`
	RunID  string    `json:"run_id"`
	Status string    `json:"status"`
}

func (w *workerProc) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		var l logLine
		json.Unmarshal([]byte(line), &l)
		w.mu.Lock()
		switch {
		case l.RunID == "":
		case l.Msg == "run started":
			w.started[l.RunID] = l.Time
		case l.Msg == "run ended" || strings.HasPrefix(l.Msg, "run succeeded"):
			// The Go worker logs "run ended" and the Python worker "run
			// succeeded" once the server accepted the report.
			w.ended[l.RunID] = l.Time
		}
		w.tail = append(w.tail, line)
		if len(w.tail) > 30 {
			w.tail = w.tail[1:]
		}
		w.mu.Unlock()
	}
}

func (w *workerProc) logTail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.tail, "\n")
}

// startToReport is how long the worker took from logging a run's start to
// logging that its report was accepted, for the runs it has both of. The
// server records a run's end before it answers the report, so the last
// lines may still be on their way: it waits up to 5 s for them.
func (w *workerProc) startToReport(ids []string) []float64 {
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		var out []float64
		for _, id := range ids {
			s, ok1 := w.started[id]
			e, ok2 := w.ended[id]
			if ok1 && ok2 {
				out = append(out, ms(e.Sub(s)))
			}
		}
		w.mu.Unlock()
		if len(out) == len(ids) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dueToStart is how long after its fire time each run's start was logged
// by the worker (its "run started" line, on the same host's clock), for the
// runs it logged.
func (w *workerProc) dueToStart(runs []sundial.Run) []float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []float64
	for _, r := range runs {
		if t, ok := w.started[r.ID]; ok {
			out = append(out, ms(t.Sub(r.ScheduledAt)))
		}
	}
	return out
}

// stop asks the worker to stop gracefully (SIGTERM) and waits for it.
func (w *workerProc) stop() {
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		<-w.exited
	}
}
