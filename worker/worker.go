// Package worker serves Go functions to a remote Sundial server: a Go
// service registers its tasks by name, as it would with a
// sundial.Scheduler, and runs them in-process while the server keeps the
// schedule, the exactly-once claim, the history and the retries
// (docs/workers.md).
//
//	w, err := worker.New(worker.Config{URL: "https://sundial.internal", Token: os.Getenv("SUNDIAL_TOKEN")})
//	w.Register("send_report", sundial.Typed(sendReport))
//	err = w.Run(ctx) // until ctx is done, then a graceful stop
//
// A worker holds each run under a lease that its heartbeat renews; a run
// whose lease it could not renew for 3/4 of the lease's length is stopped
// (its context is canceled) and reported interrupted, before the server
// gives it to another worker. A task must honour its context.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/jsoninput"
)

// Config configures a Worker. URL is required.
type Config struct {
	// URL is the server's base URL, such as "http://127.0.0.1:8080".
	URL string
	// Token is an API token of the worker role (or admin).
	Token string
	// Name identifies this process among the server's workers; default
	// host name and process ID. Two live processes must not share one.
	Name string
	// Capacity bounds the runs executing at once. Default 8.
	Capacity int
	// ShutdownGrace is how long Run waits, once its context is done, for
	// running runs to finish before it cancels them. Default 30s.
	ShutdownGrace time.Duration
	// HTTPClient makes the requests. Default: a client without an overall
	// timeout (claims wait up to 25 s), each call bounded by its context.
	HTTPClient *http.Client
	// Logger receives the worker's logs. Default slog.Default().
	Logger *slog.Logger
	// Version is told to the server, for operators.
	Version string
}

// Worker runs the tasks registered with it for one server. Create one with
// New, Register its tasks, then Run it.
type Worker struct {
	cfg Config
	c   *client
	log *slog.Logger

	mu    sync.Mutex
	tasks map[string]sundial.TaskFunc
	runs  map[string]*execution // by run ID
	slots chan struct{}
	fatal error // why serving stopped for good, other than ctx
}

// execution is one run this worker executes.
type execution struct {
	run    sundial.Run
	stop   context.CancelCauseFunc
	base   time.Time // monotonic: start of the last renewal that covered it
	silent bool      // no longer ours: do not report it
	// scope carries the run's Lease to its task; nil until the task starts.
	scope *sundial.RunScope
}

// killAfter is the share of the lease after its last renewal by which a
// run's work must have stopped: what the task's Lease deadline says, so
// that a supervised child (the command kind) is killed then even when this
// process is frozen. It is the nodes' 7/8: after the worker's own fence at
// 3/4 and before the server gives the run away at the whole lease.
func killAfter(ttl time.Duration) time.Duration { return ttl * 7 / 8 }

// fenceAfter is the share of the lease after its last renewal at which the
// worker stops a run (and before which it may start one): 3/4, as on nodes.
func fenceAfter(ttl time.Duration) time.Duration { return ttl * 3 / 4 }

var (
	errCanceled = errors.New("canceled on request")
	errFenced   = errors.New("the worker could not renew its lease in time")
	errNotHeld  = errors.New("the server gave the run to another worker")
	errShutdown = errors.New("the worker stopped before the run ended")
	errTimeout  = errors.New("run timed out")
)

// New checks cfg and returns a Worker.
func New(cfg Config) (*Worker, error) {
	if cfg.URL == "" {
		return nil, errors.New("worker: Config.URL is required")
	}
	if cfg.Capacity < 0 || cfg.Capacity > sundial.MaxWorkerCapacity {
		return nil, fmt.Errorf("worker: Config.Capacity %d is not from 1 to %d", cfg.Capacity, sundial.MaxWorkerCapacity)
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = 8
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 30 * time.Second
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Worker{cfg: cfg, c: &client{base: trimBase(cfg.URL), token: cfg.Token, http: hc},
		log: cfg.Logger.With("worker", cfg.Name), tasks: map[string]sundial.TaskFunc{}, runs: map[string]*execution{},
		slots: make(chan struct{}, cfg.Capacity)}, nil
}

// Register serves fn under the task name; jobs on the server name it.
// Register every task before Run.
func (w *Worker) Register(name string, fn sundial.TaskFunc) error {
	if name == "" || fn == nil {
		return errors.New("worker: Register needs a task name and a function")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.tasks[name]; ok {
		return fmt.Errorf("worker: task %q is registered already", name)
	}
	w.tasks[name] = fn
	return nil
}

// Run serves the registered tasks until ctx is done, then stops claiming,
// waits up to ShutdownGrace for the running runs, reports them and closes
// its session. It returns nil after a graceful stop, or the error that
// kept it from opening a session (a bad token, a bad task name).
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	tasks := make([]string, 0, len(w.tasks))
	for name := range w.tasks {
		tasks = append(tasks, name)
	}
	w.mu.Unlock()
	if len(tasks) == 0 {
		return errors.New("worker: no task registered")
	}
	slices.Sort(tasks)
	host, _ := os.Hostname()
	req := sessionRequest{Name: w.cfg.Name, Tasks: tasks, Capacity: w.cfg.Capacity, Host: host, PID: os.Getpid(), Version: w.cfg.Version}
	for ctx.Err() == nil {
		s, err := w.openSession(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !w.serve(ctx, s) {
			continue // the session was replaced: open another
		}
		if w.fatal != nil {
			return w.fatal
		}
	}
	return nil
}

// claimWait is how long a claim waits on the server for a run to fall due.
const claimWait = 20 * time.Second

// openSession opens a session, waiting while the name is held by a session
// that still looks alive (a previous process of this worker that the
// server has not yet seen die) and while the server is out of reach.
func (w *Worker) openSession(ctx context.Context, req sessionRequest) (session, error) {
	wait := 500 * time.Millisecond
	for {
		s, err := w.c.open(ctx, req)
		switch st := status(err); {
		case err == nil:
			w.log.Info("worker session opened", "session", s.ID, "tasks", req.Tasks, "capacity", req.Capacity)
			return s, nil
		case problem(err, "worker-session-limit"):
			// Other workers of the token must stop (or close) first: a
			// slow retry, not a tight loop against the server.
			w.log.Error("the token's workers hold the most live sessions the server allows; retrying", "err", err, "retry_in", time.Minute)
			wait = time.Minute
		case st == http.StatusConflict:
			w.log.Warn("the worker name is held by a session that still looks alive; waiting for its lease to end", "err", err)
			wait = 5 * time.Second
		case st >= 400 && st < 500:
			return session{}, fmt.Errorf("worker: open session: %w", err)
		default:
			w.log.Warn("opening a worker session failed; retrying", "err", err, "retry_in", wait)
			wait = min(2*wait, 5*time.Second)
		}
		select {
		case <-ctx.Done():
			return session{}, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// serve claims and executes runs in session s until ctx is done (true,
// after the graceful stop) or the session is replaced (false).
func (w *Worker) serve(ctx context.Context, s session) bool {
	sctx, endSession := context.WithCancelCause(ctx)
	defer endSession(nil)
	runsCtx, stopRuns := context.WithCancelCause(context.Background())
	defer stopRuns(nil)
	var wg sync.WaitGroup
	beatsDone := make(chan struct{})
	go func() {
		defer close(beatsDone)
		w.heartbeats(sctx, s, endSession)
	}()

	for sctx.Err() == nil {
		select { // a free slot first
		case w.slots <- struct{}{}:
		case <-sctx.Done():
			continue
		}
		free := 1 + w.cfg.Capacity - len(w.slots)
		asked := time.Now()
		// A half-open connection must not stop claiming for good: the
		// poll ends by itself a little after its wait.
		cctx, cancelClaim := context.WithTimeout(sctx, claimWait+10*time.Second)
		runs, err := w.c.claim(cctx, s, free, claimWait)
		cancelClaim()
		answered := time.Now()
		<-w.slots
		if err != nil {
			if sctx.Err() != nil {
				break
			}
			if st := status(err); st == http.StatusGone {
				endSession(errSessionGone)
				break
			} else if st == http.StatusUnauthorized || st == http.StatusForbidden {
				endSession(fmt.Errorf("worker: the server refused the token: %w", err))
				break
			}
			w.log.Warn("claiming runs failed; retrying", "err", err)
			select {
			case <-sctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, cr := range runs {
			// The poll may have waited long before the claim: the lease
			// dates from the ask plus the server's wait before claiming,
			// which is no later than the claim on this clock. Dating it from
			// the answer's arrival would trust a read that a freeze may have
			// delayed past the lease.
			base := asked
			if cr.ClaimedAfterMS != nil {
				base = asked.Add(min(time.Duration(*cr.ClaimedAfterMS)*time.Millisecond, answered.Sub(asked)))
			}
			if age := time.Since(base); age >= fenceAfter(s.leaseTTL()) {
				// This process was frozen (or the answer was slow) past the
				// point where a run may start. Given back, the run is due
				// again at once; left alone, it would end lost, and be run
				// again only if its job allows a retry.
				w.log.Warn("a claimed run arrived with its lease 3/4 used: not started, given back", "job_id", cr.JobID,
					"task", cr.Task, "run_id", cr.ID, "lease_age", age.Round(time.Millisecond))
				w.giveBack(s, cr.Run)
				continue
			}
			w.slots <- struct{}{}
			rctx, stop := context.WithCancelCause(runsCtx)
			e := &execution{run: cr.Run, stop: stop, base: base}
			w.mu.Lock()
			w.runs[cr.ID] = e
			w.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-w.slots }()
				w.execute(rctx, s, e, time.Duration(cr.TimeoutMS)*time.Millisecond)
			}()
		}
	}
	replaced := errors.Is(context.Cause(sctx), errSessionGone)
	if cause := context.Cause(sctx); cause != nil && !replaced && ctx.Err() == nil {
		w.fatal = cause // refused: stop, and say why
	}
	if replaced {
		w.log.Warn("the server replaced this worker's session: its runs are no longer ours; opening a new one")
		w.stopAll(errNotHeld, true)
	} else {
		// Graceful stop: the runs get ShutdownGrace to finish.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(w.cfg.ShutdownGrace):
			w.log.Warn("runs still running at the end of the shutdown grace: stopping them", "grace", w.cfg.ShutdownGrace)
			w.stopAll(errShutdown, false)
		}
	}
	wg.Wait()
	<-beatsDone
	if !replaced {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := w.c.close(cctx, s); err != nil {
			w.log.Warn("closing the worker session failed; the server sees it stop a lease later", "err", err)
		}
		cancel()
		w.log.Info("worker stopped")
	}
	return !replaced
}

var errSessionGone = errors.New("worker session replaced")

// giveBack releases a run this worker received and will not start. A
// refusal means the run is no longer the session's (lost or replaced):
// nothing is left to give back.
func (w *Worker) giveBack(s session, run sundial.Run) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.release(ctx, s, run.ID); err != nil && status(err) != http.StatusConflict && status(err) != http.StatusGone {
		w.log.Warn("giving back a run failed; its lease recovers it", "job_id", run.JobID, "task", run.Task, "run_id", run.ID, "err", err)
	}
}

func (w *Worker) stopAll(cause error, silent bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.runs {
		e.silent = e.silent || silent
		e.stop(cause)
	}
}

// heartbeats renews the leases of the runs every third of a lease (also
// when idle: it is how the server knows the worker lives), applies what the
// server says of them, and stops runs whose lease could not be renewed for
// 3/4 of its length.
func (w *Worker) heartbeats(ctx context.Context, s session, endSession context.CancelCauseFunc) {
	ttl := s.leaseTTL()
	every := time.Duration(s.HeartbeatMS) * time.Millisecond
	if every <= 0 {
		every = ttl / 3
	}
	fence := fenceAfter(ttl)
	beat := time.NewTicker(every)
	defer beat.Stop()
	check := time.NewTicker(max(ttl/20, 10*time.Millisecond))
	defer check.Stop()
	for {
		select {
		case <-beat.C:
			// Runs are renewed until their reports are in, also while the
			// session winds down.
			w.renew(ctx, s, endSession, every)
			if ctx.Err() != nil && w.running() == 0 {
				return
			}
		case <-check.C:
			w.mu.Lock()
			for _, e := range w.runs {
				if time.Since(e.base) >= fence {
					e.stop(errFenced)
				}
			}
			n := len(w.runs)
			w.mu.Unlock()
			if ctx.Err() != nil && n == 0 {
				return
			}
		}
	}
}

func (w *Worker) running() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.runs)
}

func (w *Worker) renew(ctx context.Context, s session, endSession context.CancelCauseFunc, timeout time.Duration) {
	start := time.Now()
	w.mu.Lock()
	ids := make([]string, 0, len(w.runs))
	for id := range w.runs {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	b, err := w.c.heartbeat(bctx, s, ids)
	cancel()
	if status(err) == http.StatusGone {
		endSession(errSessionGone)
		return
	}
	if err != nil {
		w.log.Warn("heartbeat failed; runs keep their lease until 3/4 of it", "err", err)
		return
	}
	held := map[string]bool{}
	for _, id := range b.Held {
		held[id] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		e := w.runs[id]
		switch {
		case e == nil:
		case !held[id]:
			e.silent = true
			e.stop(errNotHeld)
		case slices.Contains(b.Cancel, id):
			e.stop(errCanceled)
		default:
			e.base = start
			if e.scope != nil {
				e.scope.HoldUntil(start.Add(killAfter(s.leaseTTL())))
			}
		}
	}
}

// execute runs one claimed run and reports its outcome.
func (w *Worker) execute(ctx context.Context, s session, e *execution, timeout time.Duration) {
	run := e.run
	log := w.log.With("job_id", run.JobID, "task", run.Task, "run_id", run.ID, "attempt", run.Attempt)
	defer func() {
		w.mu.Lock()
		delete(w.runs, run.ID)
		w.mu.Unlock()
	}()
	w.mu.Lock()
	fn := w.tasks[run.Task]
	w.mu.Unlock()
	cancelTimeout := context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancelTimeout = context.WithTimeoutCause(ctx, timeout, errTimeout)
	}
	defer cancelTimeout()
	ttl := s.leaseTTL()
	w.mu.Lock()
	deadline := e.base.Add(killAfter(ttl))
	w.mu.Unlock()
	rctx, scope := sundial.NewRunScope(ctx, w.log, run, s.OutputLimit, deadline)
	defer scope.EndLease()
	w.mu.Lock()
	e.scope = scope
	// A renewal since deadline was read moved e.base on; and the lease is
	// judged once more where the task starts, as on a node: this process
	// may have been frozen since the claim.
	scope.HoldUntil(e.base.Add(killAfter(ttl)))
	if time.Since(e.base) >= fenceAfter(ttl) {
		e.stop(errFenced)
	}
	w.mu.Unlock()
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		w.stream(ctx, s, run.ID, scope)
	}()
	var result any
	var err error
	if ctx.Err() != nil {
		err = context.Cause(ctx) // not started: fenced, or stopped meanwhile
	} else {
		log.Debug("run started")
		result, err = call(rctx, fn, run)
	}
	cause := context.Cause(ctx)
	e.stop(nil) // ends the stream
	<-streamDone

	o := outcome{Attempt: run.Attempt, Status: string(sundial.StatusSucceeded)}
	o.Output, _ = scope.Output()
	if x := scope.Exit(); x != nil {
		o.ExitCode, o.Signal = &x.Code, x.Signal
	}
	switch {
	case err == nil:
		if result != nil {
			b, merr := jsoninput.Marshal(result)
			switch {
			case merr != nil:
				o.Status, o.Error = string(sundial.StatusFailed), "result is not JSON: "+merr.Error()
			case len(b) > sundial.MaxResultBytes:
				o.Status, o.Error = string(sundial.StatusFailed), fmt.Sprintf("the result is %d bytes of JSON, more than the %d a run keeps", len(b), sundial.MaxResultBytes)
			default:
				o.Result = b
			}
		}
	case errors.Is(cause, errTimeout):
		o.Status, o.Error = string(sundial.StatusTimedOut), fmt.Sprintf("timed out after %s: %v", timeout, err)
	case errors.Is(cause, errCanceled):
		o.Status, o.Error = string(sundial.StatusCanceled), err.Error()
	case errors.Is(cause, errFenced), errors.Is(cause, errShutdown), errors.Is(cause, errNotHeld):
		o.Status, o.Error = string(sundial.StatusInterrupted), fmt.Sprintf("stopped by its worker: %v: %v", cause, err)
	default:
		o.Status, o.Error = string(sundial.StatusFailed), err.Error()
	}
	w.mu.Lock()
	silent := e.silent
	w.mu.Unlock()
	if silent {
		log.Warn("run stopped: it is no longer this worker's", "reason", cause)
		return
	}
	w.report(s, run, o, log)
}

// report sends a run's outcome, retrying while the server is out of reach
// for as long as the lease could last; a refusal (the run is no longer
// ours) is final.
func (w *Worker) report(s session, run sundial.Run, o outcome, log *slog.Logger) {
	deadline := time.Now().Add(s.leaseTTL())
	wait := 200 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.c.finish(ctx, s, run.ID, o)
		cancel()
		switch st := status(err); {
		case err == nil:
			log.Info("run ended", "status", o.Status)
			return
		case st == http.StatusConflict || st == http.StatusGone || st == http.StatusNotFound:
			log.Warn("the server refused the run's outcome: the run is no longer this worker's", "status", o.Status, "err", err)
			return
		case st >= 400 && st < 500 || time.Now().After(deadline):
			log.Error("reporting the run's outcome failed; its lease recovers it", "status", o.Status, "err", err)
			return
		}
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
	}
}

// stream saves the run's output on the server every 2 s while it grows, for
// people following the run.
func (w *Worker) stream(ctx context.Context, s session, runID string, scope *sundial.RunScope) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	var sent uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		text, writes := scope.Output()
		if writes == sent {
			continue
		}
		sent = writes
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := w.c.output(octx, s, runID, text); err != nil && ctx.Err() == nil {
			w.log.Debug("saving a run's output failed", "run_id", runID, "err", err)
		}
		cancel()
	}
}

// call runs the task, turning a panic into an error with the stack.
func call(ctx context.Context, fn sundial.TaskFunc, run sundial.Run) (result any, err error) {
	if fn == nil {
		return nil, &sundial.UnknownTaskError{Task: run.Task}
	}
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(ctx, run.Clone())
}
