package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/server"
	"github.com/sundialhq/sundial/task"
)

// benchServer is a real Sundial server (internal/server.Run, what
// `sundial serve` runs) in this process, on a loopback port, with an admin
// token and a worker token.
type benchServer struct {
	base        string
	admin       string // admin token
	workerToken string
	http        *http.Client
	stop        func() error
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader in
// different goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var tokenRE = regexp.MustCompile(`sdl_[a-z2-7]+`)

// startServer starts a server on db, its logs in logPath, with python
// tasks run by py; it has the server's defaults otherwise (lease 15 s,
// poll interval 5 s, 10 scheduler workers, info logs).
func startServer(ctx context.Context, db, logPath string, py task.Python) (*benchServer, error) {
	logs, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	out := &lockedBuffer{}
	addr := make(chan string, 1)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	cfg := server.Config{Addr: "127.0.0.1:0", DB: db, Python: py}
	opts := server.Options{Out: out, Logs: logs, Version: "bench", Listening: func(a string) { addr <- a }}
	go func() { done <- server.Run(sctx, cfg, opts) }()
	s := &benchServer{http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-done:
		cancel()
		logs.Close()
		return nil, fmt.Errorf("the server did not start: %w (its log: %s)", err, logPath)
	case <-time.After(30 * time.Second):
		cancel()
		return nil, fmt.Errorf("the server did not start in 30s (its log: %s)", logPath)
	}
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(40 * time.Second):
				stopErr = errors.New("the server did not stop in 40s")
			}
			logs.Close()
		})
		return stopErr
	}
	s.admin = tokenRE.FindString(out.String())
	if s.admin == "" {
		s.stop()
		return nil, fmt.Errorf("the server printed no admin token: %q", out.String())
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := s.call(ctx, "POST", "/api/v1/tokens", s.admin, map[string]any{"name": "bench-workers", "role": "worker"}, &tok); err != nil {
		s.stop()
		return nil, fmt.Errorf("create a worker token: %w", err)
	}
	s.workerToken = tok.Token
	return s, nil
}

// call makes one API request with the token; a status other than 2xx is
// an error with the problem's text.
func (s *benchServer) call(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// createDateJobs creates one one-shot job per fire time, named prefix-NNNN,
// with four requests in flight.
func (s *benchServer) createDateJobs(ctx context.Context, prefix, taskName string, args any, at []time.Time) error {
	jobs := make(chan int)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				job := map[string]any{"id": fmt.Sprintf("%s-%04d", prefix, i), "task": taskName,
					"trigger": map[string]any{"type": "date", "run_date": at[i].UTC().Format(time.RFC3339Nano)}}
				if args != nil {
					job["args"] = args
				}
				if err := s.call(ctx, "POST", "/api/v1/jobs?declare_task=true", s.admin, job, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range at {
		select {
		case jobs <- i:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// runs returns every run whose job ID starts with prefix, following the
// listing's pages.
func (s *benchServer) runs(ctx context.Context, prefix string) ([]sundial.Run, error) {
	var out []sundial.Run
	cursor := ""
	for {
		var page struct {
			Runs       []sundial.Run `json:"runs"`
			NextCursor string        `json:"next_cursor"`
		}
		path := "/api/v1/runs?limit=1000"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := s.call(ctx, "GET", path, s.admin, nil, &page); err != nil {
			return nil, err
		}
		for _, r := range page.Runs {
			if strings.HasPrefix(r.JobID, prefix+"-") {
				out = append(out, r)
			}
		}
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// waitRuns waits until n runs of the prefix's jobs have ended, looking
// every 250 ms, and returns them.
func (s *benchServer) waitRuns(ctx context.Context, prefix string, n int, timeout time.Duration) ([]sundial.Run, error) {
	deadline := time.Now().Add(timeout)
	for {
		runs, err := s.runs(ctx, prefix)
		if err != nil {
			return nil, err
		}
		ended := 0
		for _, r := range runs {
			if !r.EndedAt.IsZero() {
				ended++
			}
		}
		if ended >= n {
			return runs, nil
		}
		if time.Now().After(deadline) {
			return runs, fmt.Errorf("%d of %d runs of %s-* ended after %s", ended, n, prefix, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// workerLive waits until the worker named name has a live session.
func (s *benchServer) workerLive(ctx context.Context, name string, exited <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var list struct {
			Workers []struct {
				Name string `json:"name"`
				Live bool   `json:"live"`
			} `json:"workers"`
		}
		if err := s.call(ctx, "GET", "/api/v1/workers", s.admin, nil, &list); err != nil {
			return err
		}
		for _, w := range list.Workers {
			if w.Name == name && w.Live {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("worker %s exited before it opened a session", name)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("worker %s opened no session in 60s", name)
}

// database is a fresh store for one server: a SQLite file in dir, or a
// schema of its own in the PostgreSQL database that SUNDIAL_TEST_POSTGRES
// names (dropped by the returned func).
func database(ctx context.Context, kind, dir string) (dsn string, drop func(), err error) {
	if kind == "sqlite" {
		return "sqlite:" + filepath.Join(dir, "sundial.db"), func() {}, nil
	}
	base := os.Getenv("SUNDIAL_TEST_POSTGRES")
	if base == "" {
		return "", nil, errors.New("set SUNDIAL_TEST_POSTGRES to benchmark PostgreSQL")
	}
	pool, err := pgxpool.New(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("SUNDIAL_TEST_POSTGRES: %w", err)
	}
	schema := "sundial_bench_" + strings.ToLower(rand.Text()[:12])
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		pool.Close()
		return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	drop = func() {
		pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		pool.Close()
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("SUNDIAL_TEST_POSTGRES: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}
