package sundial

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// A worker is a process of the users' own application — a Flask app, a Go
// service — that executes the runs of the tasks it serves, in-process,
// while the scheduler keeps the schedule, the claim, the history and the
// retries (docs/workers.md). A server speaks for its workers: each of them
// opens a session (a node of kind NodeWorker whose incarnation is the
// session), claims due runs of its tasks through the server, renews their
// leases and reports their outcomes. Every fencing rule of scheduler nodes
// holds: a claim is one atomic step of the store, a write about a run is
// accepted only from the session that holds it, and a session that stops
// renewing loses its runs to the reaper, which retries them per the job.

// Sentinel errors of worker sessions, checkable with errors.Is.
var (
	// ErrWorkerNameInUse: a live session holds the worker name.
	ErrWorkerNameInUse = errors.New("worker name is in use by a live session")
	// ErrWorkerSessionGone: the session was replaced by a newer one of the
	// same name, or never existed; its worker must stop its runs and open
	// a new session.
	ErrWorkerSessionGone = errors.New("worker session is gone")
	// ErrWorkerSessionLimit: the token (or, without authentication,
	// everyone) has MaxWorkerSessionsPerToken live sessions already.
	ErrWorkerSessionLimit = errors.New("too many live worker sessions for one token")
	// ErrInvalidWorker: a field of a worker's request is invalid; the error
	// is an *InvalidWorkerError.
	ErrInvalidWorker = errors.New("invalid worker request")
)

// InvalidWorkerError names the field of a worker's request at fault.
type InvalidWorkerError struct {
	// Field is the field's JSON name, such as "tasks[2]" or "capacity".
	Field string
	// Err describes the problem.
	Err error
}

// Error returns "invalid worker request: field F: problem".
func (e *InvalidWorkerError) Error() string {
	return fmt.Sprintf("invalid worker request: field %q: %v", e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *InvalidWorkerError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalidWorker) true.
func (e *InvalidWorkerError) Is(target error) bool { return target == ErrInvalidWorker }

func invalidWorker(field, format string, args ...any) error {
	return &InvalidWorkerError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Limits on what a worker announces.
const (
	MaxWorkerTasks    = 1000
	MaxWorkerCapacity = 1000
	maxWorkerName     = 100
	maxTaskName       = 200
)

// MaxWorkerSessionsPerToken bounds the live sessions (renewed within two
// leases) that the workers of one token may hold at once: every session is
// a node record that claims and heartbeats read, so a token leaked to a
// loop that opens sessions under fresh names must not grow them without
// end. A session reopened under its own name does not count twice.
const MaxWorkerSessionsPerToken = 256

// WorkerInfo is what a worker announces when it opens a session.
type WorkerInfo struct {
	// Name identifies the worker process; unique among live workers
	// (letters, digits and "._:-", at most 100).
	Name string
	// Tasks are the task names it serves (1 to MaxWorkerTasks).
	Tasks []string
	// Capacity is how many runs it executes at once (1 to
	// MaxWorkerCapacity).
	Capacity int
	// Queues are the queues it claims from; empty means all. A server
	// sets them from the worker's token.
	Queues []string
	// Host, PID and Version are for operators.
	Host    string
	PID     int
	Version string
	// Replace takes the name over from a session that still looks alive:
	// for a worker that knows its previous process is dead.
	Replace bool
	// Token is the API token the session is opened with (a server's
	// business): the session is that token's, and only it may take the
	// name over. AnyToken (an admin) may take over any name.
	Token    string
	AnyToken bool
}

// WorkerSession is an open session of a worker.
type WorkerSession struct {
	// ID is the session's token: the worker name and the session's
	// incarnation, "name~incarnation".
	ID string `json:"session"`
	// Name is the worker's name; Node its node ID ("worker:" + Name).
	Name string `json:"name"`
	Node string `json:"node"`
	// Incarnation is the fencing token of the session's claims.
	Incarnation string   `json:"-"`
	Tasks       []string `json:"tasks"`
	Queues      []string `json:"queues"`
	Capacity    int      `json:"capacity"`
	// Token is the API token the session was opened with ("" without
	// one).
	Token string `json:"-"`
	// LeaseTTL is how long a claimed run stays the session's without a
	// heartbeat; the worker renews every third of it and stops a run it
	// could not renew for 3/4 of it.
	LeaseTTL time.Duration `json:"-"`
	// OutputLimit bounds the output kept with a run.
	OutputLimit int `json:"output_limit"`
}

// WorkerNodeID is the node ID of the worker named name.
func WorkerNodeID(name string) string { return "worker:" + name }

// ParseWorkerSession splits a session token into the worker's name and the
// session's incarnation.
func ParseWorkerSession(id string) (name, incarnation string, err error) {
	i := strings.LastIndexByte(id, '~')
	if i <= 0 || i == len(id)-1 {
		return "", "", fmt.Errorf("%w: %q is not a session token (name~session)", ErrWorkerSessionGone, id)
	}
	return id[:i], id[i+1:], nil
}

// workerState is what a scheduler keeps for the workers it speaks for.
type workerState struct {
	// pulse wakes the claims that wait for work (long polls) whenever
	// work may have come: a job added or changed here or in another
	// process, a retry planned, a run released.
	pulse      pulse
	watchOnce  sync.Once
	clockOnce  sync.Once
	sessionsMu sync.Mutex
	sessions   map[string]cachedSession // by session ID
}

type cachedSession struct {
	s    WorkerSession
	seen time.Time // monotonic: when the store last confirmed it
}

// pulse is a broadcast: every waiter of a pulse wakes when it fires.
type pulse struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel that the next fire closes.
func (p *pulse) wait() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == nil {
		p.ch = make(chan struct{})
	}
	return p.ch
}

// fire wakes every waiter.
func (p *pulse) fire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch != nil {
		close(p.ch)
		p.ch = nil
	}
}

// validWorkerName reports whether a worker name is well formed.
func validWorkerName(name string) error {
	if name == "" || len(name) > maxWorkerName {
		return invalidWorker("name", "%q must have 1 to %d characters", name, maxWorkerName)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '.' && c != '_' && c != ':' && c != '-' {
			return invalidWorker("name", "%q may hold only letters, digits and \"._:-\"", name)
		}
	}
	return nil
}

// validTaskName reports whether a task name can be a worker task's.
func validTaskName(field, name string) error {
	if name == "" || len(name) > maxTaskName || strings.TrimSpace(name) != name {
		return invalidWorker(field, "%q must have 1 to %d characters, without surrounding spaces", name, maxTaskName)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return invalidWorker(field, "%q holds a control character", name)
		}
	}
	return nil
}

// OpenWorkerSession opens a session for a worker: it records the worker's
// tasks as worker tasks (served now) and the worker as a node of kind
// NodeWorker. The runs that an earlier session of the same name held are
// marked lost at once and retried per their jobs. A name whose session
// renewed its leases within a lease is refused with ErrWorkerNameInUse
// unless info.Replace; a task that this scheduler runs itself (registered)
// cannot be served by workers.
func (s *Scheduler) OpenWorkerSession(ctx context.Context, info WorkerInfo) (WorkerSession, error) {
	if err := validWorkerName(info.Name); err != nil {
		return WorkerSession{}, err
	}
	if len(info.Tasks) == 0 || len(info.Tasks) > MaxWorkerTasks {
		return WorkerSession{}, invalidWorker("tasks", "a worker serves 1 to %d tasks, not %d", MaxWorkerTasks, len(info.Tasks))
	}
	for i, t := range info.Tasks {
		field := fmt.Sprintf("tasks[%d]", i)
		if err := validTaskName(field, t); err != nil {
			return WorkerSession{}, err
		}
		if _, ok := s.task(t); ok {
			return WorkerSession{}, invalidWorker(field, "%q is a task this server runs itself; workers serve tasks of their own names", t)
		}
	}
	if info.Capacity < 1 || info.Capacity > MaxWorkerCapacity {
		return WorkerSession{}, invalidWorker("capacity", "%d is not from 1 to %d", info.Capacity, MaxWorkerCapacity)
	}
	s.workerClock()
	tasks := slices.Clone(info.Tasks)
	slices.Sort(tasks)
	tasks = slices.Compact(tasks)
	node := Node{ID: WorkerNodeID(info.Name), Incarnation: newID(), Kind: NodeWorker, Tasks: tasks, Capacity: info.Capacity,
		Queues: slices.Clone(info.Queues), Host: info.Host, PID: info.PID, Version: info.Version}
	if info.Token != "" {
		node.Facts = map[string]string{tokenFact: info.Token}
	}
	nodes, err := s.store.ListNodes(ctx)
	if err != nil {
		return WorkerSession{}, fmt.Errorf("open worker session: %w", err)
	}
	now := s.now()
	live := 0
	for _, n := range nodes {
		if n.ID != node.ID {
			if n.Kind == NodeWorker && !n.Standby && now.Sub(n.LastSeen) < 2*s.leaseTTL && n.Facts[tokenFact] == info.Token {
				live++
			}
			continue
		}
		if owner := n.Facts[tokenFact]; owner != info.Token && !info.AnyToken {
			// Another token's worker: taking its name would take its runs.
			return WorkerSession{}, fmt.Errorf("open worker session %q: the name belongs to the sessions of another token: %w; give this worker a name of its own",
				info.Name, ErrWorkerNameInUse)
		}
		// A session's runs may hold leases until 5/3 of a lease after its
		// last renewal (it may claim until 2/3 of a lease after it): its
		// name is free only after that, unless the caller knows the
		// process is dead.
		if since := now.Sub(n.LastSeen); !info.Replace && !n.Standby && since < 2*s.leaseTTL {
			return WorkerSession{}, fmt.Errorf("open worker session %q: its session on host %q (pid %d) renewed its leases %s ago: %w; give each worker process its own name, or send replace when that process is dead",
				info.Name, n.Host, n.PID, since.Round(time.Millisecond), ErrWorkerNameInUse)
		}
	}
	if live >= MaxWorkerSessionsPerToken {
		return WorkerSession{}, fmt.Errorf("open worker session %q: its token's workers hold %d live sessions: %w (at most %d; close the sessions of stopped workers, or give another group of workers a token of its own)",
			info.Name, live, ErrWorkerSessionLimit, MaxWorkerSessionsPerToken)
	}
	if err := s.checkTaskRoom(ctx, tasks); err != nil {
		return WorkerSession{}, err
	}
	if err := s.store.DeclareTasks(ctx, tasks, true, now); err != nil {
		return WorkerSession{}, fmt.Errorf("open worker session: %w", err)
	}
	node.StartedAt, node.LastSeen = now, now
	orphans, err := s.store.RegisterNode(ctx, node, now)
	if err != nil {
		return WorkerSession{}, fmt.Errorf("open worker session: %w", err)
	}
	for _, r := range orphans {
		s.handleLost(r)
	}
	sess := s.sessionOf(info.Name, node)
	s.cacheSession(sess)
	s.log.Info("worker session opened", "worker", info.Name, "session", node.Incarnation, "tasks", tasks,
		"capacity", info.Capacity, "host", info.Host, "pid", info.PID)
	s.events.publish(Event{Kind: EventWorkerJoined, Time: now, Worker: info.Name})
	return sess, nil
}

// WorkerSession returns the open session with the ID, or an error matching
// ErrWorkerSessionGone.
func (s *Scheduler) WorkerSession(ctx context.Context, id string) (WorkerSession, error) {
	name, inc, err := ParseWorkerSession(id)
	if err != nil {
		return WorkerSession{}, err
	}
	w := &s.workerState
	w.sessionsMu.Lock()
	c, ok := w.sessions[id]
	w.sessionsMu.Unlock()
	// A session confirmed within a third of a lease is taken on trust:
	// a replaced one learns so at its next heartbeat, and its claims in
	// the meantime are fenced like any other.
	if ok && time.Since(c.seen) < s.leaseTTL/3 {
		return c.s, nil
	}
	nodes, err := s.store.ListNodes(ctx)
	if err != nil {
		return WorkerSession{}, fmt.Errorf("worker session: %w", err)
	}
	for _, n := range nodes {
		if n.ID == WorkerNodeID(name) && n.Kind == NodeWorker && n.Incarnation == inc && !n.Standby {
			sess := s.sessionOf(name, n)
			s.cacheSession(sess)
			return sess, nil
		}
	}
	s.forgetSession(id)
	return WorkerSession{}, fmt.Errorf("worker session %q: %w (it was closed, a newer session of worker %q replaced it, or it never was)", id, ErrWorkerSessionGone, name)
}

// sessionOf is the session that a worker's node record stands for.
func (s *Scheduler) sessionOf(name string, n Node) WorkerSession {
	sess := WorkerSession{ID: name + "~" + n.Incarnation, Name: name, Node: n.ID, Incarnation: n.Incarnation, Tasks: n.Tasks,
		Queues: n.Queues, Capacity: n.Capacity, Token: n.Facts[tokenFact], LeaseTTL: s.leaseTTL, OutputLimit: s.outputLimit}
	if sess.Queues == nil {
		sess.Queues = []string{}
	}
	return sess
}

func (s *Scheduler) cacheSession(sess WorkerSession) {
	w := &s.workerState
	w.sessionsMu.Lock()
	defer w.sessionsMu.Unlock()
	if w.sessions == nil {
		w.sessions = map[string]cachedSession{}
	}
	for id, c := range w.sessions {
		if c.s.Name == sess.Name || time.Since(c.seen) > 10*s.leaseTTL {
			delete(w.sessions, id)
		}
	}
	w.sessions[sess.ID] = cachedSession{s: sess, seen: time.Now()}
}

func (s *Scheduler) forgetSession(id string) {
	w := &s.workerState
	w.sessionsMu.Lock()
	defer w.sessionsMu.Unlock()
	delete(w.sessions, id)
}

// workerClock reads the store's clock once on a scheduler that does not
// run (an API-only server node): its heartbeat would measure it otherwise.
func (s *Scheduler) workerClock() {
	s.state.RLock()
	started := s.started
	s.state.RUnlock()
	if !started {
		s.workerState.clockOnce.Do(s.measureClock)
	}
}

// watchWorkerChanges makes changes from other processes wake the claims
// that wait here, on a scheduler whose loop does not watch them already.
func (s *Scheduler) watchWorkerChanges() {
	s.workerState.watchOnce.Do(func() {
		s.state.RLock()
		started := s.started
		s.state.RUnlock()
		n, ok := s.store.(ChangeNotifier)
		if started || !ok {
			return
		}
		changes := n.Changes(s.life)
		go func() {
			for range changes {
				s.workerState.pulse.fire()
			}
		}()
	})
}

// WorkerRun is a run handed to a worker: recorded as running, started now
// and leased to its session.
type WorkerRun struct {
	Run
	// Timeout is the job's run timeout (0: none); the worker enforces it.
	Timeout time.Duration
	// ClaimedAfter is how long after ClaimForWorker was called the run was
	// claimed (its lease began no earlier), on this process's monotonic
	// clock. A worker dates the lease from when it sent its poll plus
	// this: a lower bound of the claim on its own clock, whatever the
	// network did and however late it read the answer. Dating from when
	// the answer arrived instead would let a worker frozen between the
	// claim and its read start a run whose lease has lapsed.
	ClaimedAfter time.Duration
}

// ClaimForWorker takes up to limit due runs of the session's tasks and
// queues, waiting up to wait for one to fall due: it returns as soon as one
// does, within milliseconds of its fire time. The runs are recorded as
// running, leased to the session until a lease from now. A run that is due
// later than its job's misfire grace allows is recorded missed instead.
func (s *Scheduler) ClaimForWorker(ctx context.Context, sess WorkerSession, limit int, wait time.Duration) ([]WorkerRun, error) {
	if limit < 1 || limit > sess.Capacity {
		return nil, invalidWorker("limit", "%d is not from 1 to the session's capacity %d", limit, sess.Capacity)
	}
	s.watchWorkerChanges()
	called := time.Now()
	deadline := called.Add(wait)
	// Without a store that notifies, changes made by other processes are
	// seen by looking again every second.
	poll := time.Second
	if _, ok := s.store.(ChangeNotifier); ok {
		poll = max(s.maxSleep, time.Second)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		woken := s.workerState.pulse.wait() // before looking: a change meanwhile is not missed
		// Look before claiming: a claim is a write transaction, and idle
		// workers wake at every change of any job.
		wctx, cancel := context.WithTimeout(ctx, s.storeTimeout)
		next, err := s.store.NextWorkerWake(wctx, sess.Tasks, sess.Queues)
		cancel()
		if err != nil || (!next.IsZero() && !next.After(s.now())) {
			if s.workerResponsive(ctx, sess) {
				runs, err := s.claimForWorker(ctx, sess, limit, time.Since(called))
				if err != nil || len(runs) > 0 {
					return runs, err
				}
				next = s.now().Add(50 * time.Millisecond) // taken by another: look again soon
			} else {
				// A worker that missed a renewal may be frozen with this
				// poll still open: runs handed to it would only be lost a
				// lease later. It gets none until it renews, which a
				// worker that only lost the store for a moment does within
				// a third of a lease: look again then, not at the poll's end.
				next = s.now().Add(s.leaseTTL / 6)
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		sleep := min(left, poll)
		if !next.IsZero() {
			sleep = min(sleep, max(next.Sub(s.now()), 0))
		}
		timer.Reset(sleep)
		select {
		case <-ctx.Done():
			return nil, nil
		case <-woken:
		case <-timer.C:
		}
	}
}

// claimForWorker is one claim for a worker session.
// after is the time from the call of ClaimForWorker to this claim.
func (s *Scheduler) claimForWorker(ctx context.Context, sess WorkerSession, limit int, after time.Duration) ([]WorkerRun, error) {
	now := s.now()
	var notes claimNotes
	req := ClaimRequest{Now: now, Limit: limit, Node: sess.Node, Incarnation: sess.Incarnation,
		LeaseUntil: now.Add(s.leaseTTL), Queues: sess.Queues, Tasks: sess.Tasks}
	cctx, cancel := context.WithTimeout(ctx, s.storeTimeout)
	runs, err := s.store.Claim(cctx, req, s.plan(now, &notes, true))
	cancel()
	if errors.Is(err, ErrSchedulerPaused) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim for worker %s: %w", sess.Name, err)
	}
	notes.publish(s)
	if len(runs) == 0 {
		return nil, nil
	}
	if ctx.Err() != nil {
		// The worker is gone before it could hear of them: they go back.
		s.releaseWorkerRuns(sess, runs)
		return nil, nil
	}
	out := make([]WorkerRun, 0, len(runs))
	for _, run := range runs {
		opts := notes.options[run.ID]
		if opts == nil {
			job, err := s.store.GetJob(ctx, run.JobID)
			if err != nil && !errors.Is(err, ErrJobNotFound) {
				s.releaseWorkerRuns(sess, []Run{run})
				continue
			}
			o := job.Options.resolve(s.defaults)
			opts = &o
		}
		if s.missedByWorker(&run, *opts) {
			continue
		}
		run.Status, run.StartedAt = StatusRunning, s.now()
		wctx, cancel := s.storeCtx()
		err := s.store.UpdateRun(wctx, run)
		cancel()
		if err != nil {
			s.logRun(slog.LevelWarn, "recording a worker's start failed; the run's lease recovers it", &run, "worker", sess.Name, "err", err)
			continue
		}
		s.publishRun(EventRunStarted, &run)
		s.logRun(slog.LevelDebug, "run started on a worker", &run, "worker", sess.Name, "late", run.StartedAt.Sub(run.ScheduledAt))
		out = append(out, WorkerRun{Run: run, Timeout: opts.Timeout, ClaimedAfter: after})
	}
	if ctx.Err() != nil && len(out) > 0 {
		// The worker went away while they were recorded: it never hears
		// of them, so they go back rather than wait a lease to be lost.
		runs := make([]Run, len(out))
		for i := range out {
			runs[i] = out[i].Run
		}
		s.releaseWorkerRuns(sess, runs)
		return nil, nil
	}
	return out, nil
}

// workerResponsive reports whether the session's worker renewed within
// two thirds of a lease (it renews every third): a worker that missed a
// renewal may be frozen with its claim still open, and runs handed to it
// would only be lost a lease later.
func (s *Scheduler) workerResponsive(ctx context.Context, sess WorkerSession) bool {
	lctx, cancel := context.WithTimeout(ctx, s.storeTimeout)
	defer cancel()
	nodes, err := s.store.ListNodes(lctx)
	if err != nil {
		return true // the store's trouble is not the worker's: its lease guards the runs
	}
	for _, n := range nodes {
		if n.ID == sess.Node && n.Incarnation == sess.Incarnation {
			return !n.Standby && s.now().Sub(n.LastSeen) <= s.leaseTTL*2/3
		}
	}
	return false
}

// ReleaseWorkerRun gives back a run the session claimed and will not start
// (its worker is stopping): it becomes a scheduled run again, due at once,
// for another worker. A run the session no longer holds is left alone
// (ErrRunLost). The worker vouches that the run did not start: it holds it.
func (s *Scheduler) ReleaseWorkerRun(ctx context.Context, sess WorkerSession, runID string) error {
	n, err := s.store.ReleaseRuns(ctx, sess.Node, sess.Incarnation, []string{runID})
	if err != nil {
		return fmt.Errorf("release run %s: %w", runID, err)
	}
	if n == 0 {
		return fmt.Errorf("release run %s from worker %s: %w", runID, sess.Name, ErrRunLost)
	}
	s.signal()
	s.log.Info("run given back by its worker", "run_id", runID, "worker", sess.Name)
	return nil
}

// tokenFact is the node fact that names the token a worker session was
// opened with.
const tokenFact = "token_id"

// MaxWorkerTaskNames bounds the worker tasks a store keeps: every node's
// claim leaves them out, so a hostile worker must not grow them at will.
const MaxWorkerTaskNames = 10000

// checkTaskRoom refuses a session whose new task names would take the
// worker tasks beyond MaxWorkerTaskNames.
func (s *Scheduler) checkTaskRoom(ctx context.Context, tasks []string) error {
	known, err := s.store.WorkerTasks(ctx)
	if err != nil {
		return fmt.Errorf("open worker session: %w", err)
	}
	have := make(map[string]bool, len(known))
	for _, t := range known {
		have[t.Name] = true
	}
	fresh := 0
	for _, t := range tasks {
		if !have[t] {
			fresh++
		}
	}
	if len(known)+fresh > MaxWorkerTaskNames {
		return invalidWorker("tasks", "%d new task names would make %d worker tasks, more than %d", fresh, len(known)+fresh, MaxWorkerTaskNames)
	}
	return nil
}

// missedByWorker records a claimed run missed when it came to a worker
// later than its job's misfire grace allows — a retry or a queued run that
// waited while no worker served its task — and reports whether it did.
func (s *Scheduler) missedByWorker(run *Run, opts JobOptions) bool {
	due := run.ScheduledAt
	if !run.NotBefore.IsZero() {
		due = run.NotBefore
	}
	late := s.now().Sub(due)
	if run.Manual || run.Upstream != nil || opts.MisfireGrace < 0 || late <= opts.MisfireGrace {
		return false
	}
	run.Status, run.EndedAt = StatusMissed, s.now()
	run.Error = fmt.Sprintf("no worker took it until %s after it was due, beyond the misfire grace of %s",
		late.Round(time.Millisecond), opts.MisfireGrace)
	ctx, cancel := s.storeCtx()
	err := s.store.UpdateRun(ctx, *run)
	cancel()
	if err == nil {
		s.logRun(slog.LevelWarn, "run missed", run, "scheduled_at", run.ScheduledAt, "reason", run.Error)
		s.publishRun(EventRunMissed, run)
		// As for a node's miss: a queued run, a backfill's next, a fixed
		// delay may wait for this end.
		s.afterEnd(*run, opts, nil, true)
	}
	return true
}

func (s *Scheduler) releaseWorkerRuns(sess WorkerSession, runs []Run) {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	if _, err := s.store.ReleaseRuns(ctx, sess.Node, sess.Incarnation, ids); err != nil {
		s.log.Warn("releasing a worker's runs failed; their leases recover them", "worker", sess.Name, "err", err)
	}
	s.signal()
}

// WorkerHeartbeat renews the leases of the session's runs (ids) and marks
// the worker alive. It returns which of them the session still holds and
// which were asked to cancel, and the new end of their leases; a replaced
// session gets an error matching ErrWorkerSessionGone.
func (s *Scheduler) WorkerHeartbeat(ctx context.Context, sess WorkerSession, ids []string) (HeartbeatResult, time.Time, error) {
	if len(ids) > MaxWorkerCapacity {
		return HeartbeatResult{}, time.Time{}, invalidWorker("runs", "%d runs; a worker holds at most %d", len(ids), MaxWorkerCapacity)
	}
	// A heartbeat would reopen a closed session (standby): it must be
	// open now, as the store says, not as a cache remembers.
	s.forgetSession(sess.ID)
	if _, err := s.WorkerSession(ctx, sess.ID); err != nil {
		return HeartbeatResult{}, time.Time{}, err
	}
	now := s.now()
	until := now.Add(s.leaseTTL)
	res, err := s.store.Heartbeat(ctx, HeartbeatRequest{Node: sess.Node, Incarnation: sess.Incarnation, Now: now, LeaseUntil: until, Runs: ids})
	if err != nil {
		return HeartbeatResult{}, time.Time{}, fmt.Errorf("heartbeat of worker %s: %w", sess.Name, err)
	}
	if res.Replaced {
		s.forgetSession(sess.ID)
		return HeartbeatResult{}, time.Time{}, fmt.Errorf("heartbeat of worker %s: %w (a newer session replaced it)", sess.Name, ErrWorkerSessionGone)
	}
	s.cacheSession(sess)
	if res.Held == nil {
		res.Held = []string{}
	}
	if res.Cancel == nil {
		res.Cancel = []string{}
	}
	return res, until, nil
}

// CloseWorkerSession ends a session on its worker's graceful stop: the
// worker takes no more runs and is shown as stopped. Runs it still holds
// are left to their leases.
func (s *Scheduler) CloseWorkerSession(ctx context.Context, sess WorkerSession) error {
	now := s.now()
	if _, err := s.store.Heartbeat(ctx, HeartbeatRequest{Node: sess.Node, Incarnation: sess.Incarnation, Now: now, LeaseUntil: now, Standby: true}); err != nil {
		return fmt.Errorf("close worker session %s: %w", sess.Name, err)
	}
	s.forgetSession(sess.ID)
	s.log.Info("worker session closed", "worker", sess.Name, "session", sess.Incarnation)
	s.events.publish(Event{Kind: EventWorkerLeft, Time: now, Worker: sess.Name})
	return nil
}

// WorkerRunOutput saves the output of a run the session executes, so that
// people following the run see it grow; it keeps the last OutputLimit
// bytes, and does nothing once the session no longer holds the run.
func (s *Scheduler) WorkerRunOutput(ctx context.Context, sess WorkerSession, runID, output string) error {
	w, ok := s.store.(RunOutputWriter)
	if !ok {
		return nil
	}
	if err := w.UpdateRunOutput(ctx, runID, sess.Incarnation, s.tail(output)); err != nil {
		return fmt.Errorf("output of run %s: %w", runID, err)
	}
	return nil
}

// tail keeps the last OutputLimit bytes of output, as a run's own output
// is kept.
func (s *Scheduler) tail(output string) string {
	if len(output) <= s.outputLimit {
		return output
	}
	b := newTailBuffer(s.outputLimit)
	b.Write([]byte(output))
	return b.String()
}

// Bounds on a worker's report: a result is kept whole or refused; an
// error is cut.
const (
	MaxResultBytes = 256 << 10
	MaxErrorBytes  = 16 << 10
)

// WorkerOutcome is how a worker's run ended.
type WorkerOutcome struct {
	// Attempt is the run's attempt, as claimed: a report about another
	// attempt is refused.
	Attempt int
	// Status is one of StatusSucceeded, StatusFailed, StatusTimedOut,
	// StatusCanceled and StatusInterrupted.
	Status RunStatus
	// Result is the task's result, kept when it succeeded.
	Result json.RawMessage
	// Error says why it did not succeed.
	Error string
	// Exit is how a process the task ran ended, if it ran one.
	Exit *ExitStatus
	// Output is what the task printed.
	Output string
}

// FinishWorkerRun records how a run the session executed ended, and does
// what its end makes due, as for a run on a scheduler node: a retry, the
// chained jobs, a queued run, a fixed-delay job's next fire. A report from
// a session that no longer holds the run, or about another attempt, is
// refused with an error matching ErrRunLost: the run was marked lost and
// may have run again elsewhere, and history keeps what the cluster did.
func (s *Scheduler) FinishWorkerRun(ctx context.Context, sess WorkerSession, runID string, out WorkerOutcome) (Run, error) {
	switch out.Status {
	case StatusSucceeded, StatusFailed, StatusTimedOut, StatusCanceled, StatusInterrupted:
	default:
		return Run{}, invalidWorker("status", "%q is not one of succeeded, failed, timed_out, canceled, interrupted", out.Status)
	}
	// The run ended when its worker said so, not after the look-ups
	// below: its record's duration is the task's, not this server's.
	reported := s.now()
	if len(out.Result) > 0 && !json.Valid(out.Result) {
		return Run{}, invalidWorker("result", "not valid JSON")
	}
	if len(out.Result) > MaxResultBytes {
		return Run{}, invalidWorker("result", "%d bytes, more than the %d a run keeps: report the run failed, with a shorter error", len(out.Result), MaxResultBytes)
	}
	if len(out.Error) > MaxErrorBytes {
		out.Error = out.Error[:MaxErrorBytes] + " […]"
	}
	run, err := s.store.GetRun(ctx, runID)
	if err != nil {
		return Run{}, fmt.Errorf("finish run %s: %w", runID, err)
	}
	if run.Node != sess.Node || run.Incarnation != sess.Incarnation || !run.Status.Executing() || run.Attempt != out.Attempt {
		return run, fmt.Errorf("finish run %s (attempt %d) from worker %s: %w; it is %s, attempt %d, held by %s",
			runID, out.Attempt, sess.Name, ErrRunLost, run.Status, run.Attempt, orNone(run.Node))
	}
	job, jobErr := s.store.GetJob(ctx, run.JobID)
	opts := job.Options.resolve(s.defaults)
	if jobErr != nil {
		opts = JobOptions{}.resolve(s.defaults)
	}
	run.Status, run.EndedAt = out.Status, reported
	run.Output, run.Exit = s.tail(out.Output), out.Exit
	if run.StartedAt.IsZero() {
		run.StartedAt = run.EndedAt
	}
	retry := false
	switch out.Status {
	case StatusSucceeded:
		if len(out.Result) > 0 && string(out.Result) != "null" {
			run.Result = slices.Clone(out.Result)
		}
	case StatusCanceled:
		run.Error = "canceled on request: " + orNone(out.Error)
	default:
		run.Error, retry = orNone(out.Error), true
	}
	retry = retry && run.Attempt < opts.MaxAttempts
	if err := s.store.UpdateRun(ctx, run); err != nil {
		return run, fmt.Errorf("finish run %s from worker %s: %w", runID, sess.Name, err)
	}
	s.finish(run, opts)
	if retry {
		retry = s.planRetry(run, opts)
	}
	s.chain(run, opts, retry)
	s.afterEnd(run, opts, jobErr, !retry)
	return run, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Workers returns the worker sessions the store knows, newest first per
// name, and the worker tasks.
func (s *Scheduler) Workers(ctx context.Context) ([]Node, []WorkerTask, error) {
	nodes, err := s.store.ListNodes(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list workers: %w", err)
	}
	workers := slices.DeleteFunc(nodes, func(n Node) bool { return n.Kind != NodeWorker })
	tasks, err := s.store.WorkerTasks(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list worker tasks: %w", err)
	}
	return workers, tasks, nil
}

// WorkerLive reports whether a worker session renewed its leases within a
// lease and has not closed.
func (s *Scheduler) WorkerLive(n Node) bool {
	return n.Kind == NodeWorker && !n.Standby && s.now().Sub(n.LastSeen) < s.leaseTTL
}

// DeclareTask makes AddJob and UpdateJob accept a task that neither this
// scheduler nor any worker has served yet, and record it as a worker task:
// its runs wait for a worker that serves it.
func DeclareTask() AddOption { return func(o *addOptions) { o.declare = true } }

// declare records a task that this scheduler does not run as a worker task,
// when asked to.
func (s *Scheduler) declare(ctx context.Context, task string, asked bool, now time.Time) error {
	if !asked {
		return nil
	}
	if _, local := s.task(task); local {
		return nil
	}
	if err := s.store.DeclareTasks(ctx, []string{task}, false, now); err != nil {
		return fmt.Errorf("declare worker task %q: %w", task, err)
	}
	return nil
}

// DeclareWorkerTasks records tasks as worker tasks ahead of their workers
// (as a config file's worker_tasks do): jobs may name them, and their runs
// wait for a worker that serves them. A task this scheduler runs itself
// cannot be one.
func (s *Scheduler) DeclareWorkerTasks(ctx context.Context, tasks ...string) error {
	for i, t := range tasks {
		field := fmt.Sprintf("[%d]", i)
		if err := validTaskName(field, t); err != nil {
			return err
		}
		if _, ok := s.task(t); ok {
			return invalidWorker(field, "%q is a task this server runs itself", t)
		}
	}
	if len(tasks) == 0 {
		return nil
	}
	if err := s.store.DeclareTasks(ctx, tasks, false, s.now()); err != nil {
		return fmt.Errorf("declare worker tasks: %w", err)
	}
	return nil
}

// ErrWorkerTaskServed: a live worker serves the task, so it cannot stop
// being a worker task.
var ErrWorkerTaskServed = errors.New("a live worker serves the task")

// UndeclareWorkerTask makes a worker task an ordinary task again (one
// declared by mistake, or whose workers are gone for good): scheduler
// nodes claim its runs from then on — and quarantine its jobs if no node
// registers it. It fails with ErrWorkerTaskServed while a live worker
// serves it, and with ErrUnknownTask when it is not a worker task.
func (s *Scheduler) UndeclareWorkerTask(ctx context.Context, task string) error {
	nodes, _, err := s.Workers(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if s.WorkerLive(n) && slices.Contains(n.Tasks, task) {
			return fmt.Errorf("undeclare worker task %q: worker %s serves it: %w", task, strings.TrimPrefix(n.ID, "worker:"), ErrWorkerTaskServed)
		}
	}
	n, err := s.store.UndeclareTasks(ctx, []string{task})
	if err != nil {
		return fmt.Errorf("undeclare worker task %q: %w", task, err)
	}
	if n == 0 {
		return fmt.Errorf("undeclare worker task %q: it is not a worker task: %w", task, ErrUnknownTask)
	}
	s.signal()
	s.log.Info("worker task undeclared: scheduler nodes run it from now on", "task", task)
	return nil
}

// KnownTasks returns the tasks jobs may name: those registered here and
// the worker tasks, sorted.
func (s *Scheduler) KnownTasks(ctx context.Context) ([]string, error) {
	tasks, err := s.store.WorkerTasks(ctx)
	if err != nil {
		return nil, fmt.Errorf("worker tasks: %w", err)
	}
	out := s.Tasks()
	for _, t := range tasks {
		out = append(out, t.Name)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// isWorkerTask reports whether the store knows the task as a worker task.
func (s *Scheduler) isWorkerTask(ctx context.Context, task string) (bool, error) {
	tasks, err := s.store.WorkerTasks(ctx)
	if err != nil {
		return false, fmt.Errorf("worker tasks: %w", err)
	}
	return slices.ContainsFunc(tasks, func(t WorkerTask) bool { return t.Name == task }), nil
}

// warnShadowedTasks logs the tasks registered here that are also worker
// tasks: their runs wait for a worker, and this scheduler never runs them.
func (s *Scheduler) warnShadowedTasks(ctx context.Context) {
	tasks, err := s.store.WorkerTasks(ctx)
	if err != nil {
		return
	}
	for _, t := range tasks {
		if _, ok := s.task(t.Name); ok {
			s.log.Warn("a task registered here is also a worker task: its runs wait for a worker, and this scheduler never runs them",
				"task", t.Name, "declared_at", t.DeclaredAt)
		}
	}
}
