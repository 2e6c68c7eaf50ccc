package worker

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// fakeServer answers the worker protocol for one run; its heartbeats fail
// when beatsFail is set, and it records the outcomes reported.
type fakeServer struct {
	mu        sync.Mutex
	beatsFail bool
	cancel    bool
	claimed   bool
	outcomes  []outcome
	closed    bool
	// holdClaim delays the answer that carries the run, after its claim
	// (claimed_after_ms 0), as a freeze of the worker before reading it
	// would; released records the runs given back.
	holdClaim time.Duration
	released  []string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Method == "POST" && r.URL.Path == "/api/v1/worker/sessions":
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(session{ID: "w~s1", Name: "w", LeaseTTLMS: 400, HeartbeatMS: 100, OutputLimit: 1000})
	case strings.HasSuffix(r.URL.Path, "/claim"):
		var runs []claimedRun
		if !f.claimed {
			f.claimed = true
			zero := int64(0)
			runs = append(runs, claimedRun{Run: sundial.Run{ID: "r1", JobID: "j", Task: "block", Attempt: 1}, ClaimedAfterMS: &zero})
			if f.holdClaim > 0 {
				f.mu.Unlock()
				time.Sleep(f.holdClaim)
				f.mu.Lock()
			}
		} else {
			f.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			f.mu.Lock()
		}
		json.NewEncoder(w).Encode(map[string]any{"runs": runs})
	case strings.HasSuffix(r.URL.Path, "/heartbeat"):
		if f.beatsFail {
			w.WriteHeader(503)
			return
		}
		var req struct{ Runs []string }
		json.Unmarshal(body, &req)
		b := beat{Held: req.Runs, Cancel: []string{}}
		if f.cancel {
			b.Cancel = req.Runs
		}
		json.NewEncoder(w).Encode(b)
	case strings.HasSuffix(r.URL.Path, "/finish"):
		var o outcome
		json.Unmarshal(body, &o)
		f.outcomes = append(f.outcomes, o)
		json.NewEncoder(w).Encode(map[string]any{"run": map[string]any{}})
	case strings.HasSuffix(r.URL.Path, "/release"):
		f.released = append(f.released, strings.Split(r.URL.Path, "/")[7])
		w.WriteHeader(204)
	case strings.HasSuffix(r.URL.Path, "/output"):
		w.WriteHeader(204)
	case r.Method == "DELETE":
		f.closed = true
		w.WriteHeader(204)
	default:
		w.WriteHeader(404)
	}
}

func (f *fakeServer) outcome() (outcome, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.outcomes) == 0 {
		return outcome{}, false
	}
	return f.outcomes[0], true
}

// TestWorkerStopsRuns: a run whose lease the worker cannot renew is
// stopped at 3/4 of the lease and reported interrupted; one the server
// cancels is stopped and reported canceled; a graceful stop closes the
// session.
func TestWorkerStopsRuns(t *testing.T) {
	for _, tc := range []struct {
		name              string
		beatsFail, cancel bool
		want              sundial.RunStatus
		wantErr           string
	}{
		{name: "fenced", beatsFail: true, want: sundial.StatusInterrupted, wantErr: "could not renew its lease"},
		{name: "canceled", cancel: true, want: sundial.StatusCanceled, wantErr: "canceled on request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeServer{beatsFail: tc.beatsFail, cancel: tc.cancel}
			srv := httptest.NewServer(f)
			defer srv.Close()
			w, err := New(Config{URL: srv.URL, Name: "w", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			started := time.Now()
			var stoppedAfter time.Duration
			w.Register("block", func(ctx context.Context, r sundial.Run) (any, error) {
				<-ctx.Done()
				stoppedAfter = time.Since(started)
				return nil, context.Cause(ctx)
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			deadline := time.Now().Add(10 * time.Second)
			var o outcome
			for ok := false; !ok; o, ok = f.outcome() {
				if time.Now().After(deadline) {
					t.Fatal("no outcome reported in 10s")
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if o.Status != string(tc.want) || !strings.Contains(o.Error, tc.wantErr) {
				t.Errorf("outcome = %s %q, want %s with %q", o.Status, o.Error, tc.want, tc.wantErr)
			}
			if tc.beatsFail && stoppedAfter > 400*time.Millisecond {
				t.Errorf("the run stopped %s after its claim, after its 400ms lease ended", stoppedAfter)
			}
			if !f.closed {
				t.Error("the worker did not close its session")
			}
		})
	}
}

func TestNewChecksConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a URL succeeded")
	}
	if _, err := New(Config{URL: "http://x", Capacity: -1}); err == nil {
		t.Error("New with capacity -1 succeeded")
	}
	w, _ := New(Config{URL: "http://x"})
	if err := w.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no task") {
		t.Errorf("Run with no task = %v", err)
	}
	w.Register("a", func(context.Context, sundial.Run) (any, error) { return nil, nil })
	if err := w.Register("a", func(context.Context, sundial.Run) (any, error) { return nil, nil }); err == nil {
		t.Error("registering a task twice succeeded")
	}
}

// TestWorkerLeaseFollowsRenewals: a task sees its run's lease (LeaseOf),
// as on a node: its deadline is 7/8 of the lease after the claim, and each
// renewal by the heartbeat moves it on, which is what a supervised child
// of the command kind is killed by.
func TestWorkerLeaseFollowsRenewals(t *testing.T) {
	f := &fakeServer{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	w, err := New(Config{URL: srv.URL, Name: "w", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		ok             bool
		first, renewed time.Duration // deadline - now, at start and after a renewal
		moved          bool
	}
	got := make(chan seen, 1)
	w.Register("block", func(ctx context.Context, r sundial.Run) (any, error) {
		lease := sundial.LeaseOf(ctx)
		if lease == nil {
			got <- seen{}
			return nil, nil
		}
		d0 := lease.Deadline()
		s := seen{ok: true, first: time.Until(d0)}
		select {
		case <-lease.Renewed():
		case <-ctx.Done():
			got <- s
			return nil, nil
		}
		d1 := lease.Deadline()
		s.renewed, s.moved = time.Until(d1), d1.After(d0)
		got <- s
		return "done", nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var s seen
	select {
	case s = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the task did not run in 10s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	const kill = 350 * time.Millisecond // 7/8 of the fake server's 400ms lease
	switch {
	case !s.ok:
		t.Fatal("LeaseOf(ctx) is nil in a worker's task")
	case s.first <= 0 || s.first > kill:
		t.Errorf("at the start the deadline is %s away, want within (0, %s]", s.first, kill)
	case !s.moved:
		t.Error("a renewal did not move the lease's deadline")
	case s.renewed <= 0 || s.renewed > kill:
		t.Errorf("after a renewal the deadline is %s away, want within (0, %s]", s.renewed, kill)
	}
}

// TestWorkerGivesBackARunItReadsTooLate: a run whose answer reaches the
// worker 3/4 into its lease (the worker was frozen before reading it) is
// not started, and is given back so that it is due again at once.
func TestWorkerGivesBackARunItReadsTooLate(t *testing.T) {
	f := &fakeServer{holdClaim: 350 * time.Millisecond} // of a 400ms lease
	srv := httptest.NewServer(f)
	defer srv.Close()
	w, err := New(Config{URL: srv.URL, Name: "w", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var started atomic.Bool
	w.Register("block", func(ctx context.Context, r sundial.Run) (any, error) {
		started.Store(true)
		return nil, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		n := len(f.released)
		f.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run was not given back in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, ok := f.outcome(); ok || started.Load() {
		t.Errorf("the late run was started (%v) or reported (%v)", started.Load(), ok)
	}
	if f.released[0] != "r1" {
		t.Errorf("released %v, want r1", f.released)
	}
}
