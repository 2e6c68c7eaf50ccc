package sundial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// What a running task writes besides its result: a logger scoped to the
// run, an output whose tail is kept with the run (and followed live), and
// how the task's child process ended.

type loggerKey struct{}

// DefaultOutputLimit is the default of Config.OutputLimit: a run keeps the
// last 64 KiB of its output.
const DefaultOutputLimit = 64 << 10

// runLogger is what a run's context carries; the scoped logger and the
// output buffer are built only when a task asks for them, so runs that
// never log pay nothing.
type runLogger struct {
	base  *slog.Logger
	run   *Run
	limit int
	out   atomic.Pointer[tailBuffer]
	exit  atomic.Pointer[ExitStatus]
}

func (l *runLogger) output() *tailBuffer {
	if t := l.out.Load(); t != nil {
		return t
	}
	l.out.CompareAndSwap(nil, newTailBuffer(l.limit))
	return l.out.Load()
}

// captured returns the run's output so far, "" when it wrote none.
func (l *runLogger) captured() string {
	if t := l.out.Load(); t != nil {
		return t.String()
	}
	return ""
}

// ended wakes the run's followers, if any: the output is complete.
func (l *runLogger) ended() {
	if t := l.out.Load(); t != nil {
		t.Write(nil)
	}
}

// ExitStatus is how a run's child process ended, for tasks that run one.
type ExitStatus struct {
	// Code is the exit status, -1 when a signal ended the process.
	Code int `json:"code"`
	// Signal names the signal that ended it, if one did.
	Signal string `json:"signal,omitempty"`
}

// RecordExit records, in the run that ctx belongs to, how the process the
// task ran ended (Run.Exit). Outside a run it does nothing.
func RecordExit(ctx context.Context, code int, signal string) {
	if l, ok := ctx.Value(loggerKey{}).(*runLogger); ok {
		l.exit.Store(&ExitStatus{Code: code, Signal: signal})
	}
}

// Logger returns the logger of the run that ctx belongs to, with the
// attributes job_id, task, run_id and attempt; its lines also go to the
// run's output (Run.Output). Outside a run it returns slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*runLogger); ok {
		scoped := l.base.With("job_id", l.run.JobID, "task", l.run.Task, "run_id", l.run.ID, "attempt", l.run.Attempt)
		return slog.New(teeHandler{scoped.Handler(), slog.NewTextHandler(l.output(), nil)})
	}
	return slog.Default()
}

// Output returns the writer whose tail is kept as the run's output
// (Run.Output), for tasks that produce text rather than log lines. It is
// safe for concurrent use. Outside a run it returns io.Discard.
func Output(ctx context.Context) io.Writer {
	if l, ok := ctx.Value(loggerKey{}).(*runLogger); ok {
		return l.output()
	}
	return io.Discard
}

func withRunLogger(ctx context.Context, l *runLogger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// teeHandler sends each record to the scheduler's logger and to the run's
// output.
type teeHandler struct{ log, out slog.Handler }

func (h teeHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.log.Enabled(ctx, level) || h.out.Enabled(ctx, level)
}

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.log.Enabled(ctx, r.Level) {
		err = h.log.Handle(ctx, r.Clone())
	}
	if h.out.Enabled(ctx, r.Level) {
		err = errors.Join(err, h.out.Handle(ctx, r))
	}
	return err
}

func (h teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return teeHandler{h.log.WithAttrs(attrs), h.out.WithAttrs(attrs)}
}

func (h teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{h.log.WithGroup(name), h.out.WithGroup(name)}
}

// tailBuffer keeps the last max bytes written to it and counts the rest.
// Followers learn of each write through changed.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
	writes  uint64
	changed chan struct{} // closed at the next write; made only when a follower asks
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

// snapshot returns the text, a count of writes so far, and a channel
// closed at the next write, all as of one moment: a follower that waits on
// the channel misses no write after the text it has.
func (t *tailBuffer) snapshot() (string, uint64, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.changed == nil {
		t.changed = make(chan struct{})
	}
	return t.text(), t.writes, t.changed
}

// Write keeps p's tail; it never fails, so a chatty task is never stopped
// by its own output.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writes++
	if t.changed != nil { // a write with no follower allocates nothing
		close(t.changed)
		t.changed = nil
	}
	n := len(p)
	if len(p) >= t.max {
		t.dropped += int64(len(t.buf) + len(p) - t.max)
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.dropped += int64(over)
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the kept tail, after a note of the bytes cut before it.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.text()
}

// text is String with t.mu held.
func (t *tailBuffer) text() string {
	if t.dropped == 0 {
		return string(t.buf)
	}
	return fmt.Sprintf("[… %d bytes of earlier output cut …]\n", t.dropped) + strings.ToValidUTF8(string(t.buf), "")
}

// RunScope is what a run's context carries when the run executes outside a
// Scheduler — in a worker process (package worker) — so that Logger,
// Output, RecordExit and LeaseOf work in its task as they do on a
// scheduler node.
type RunScope struct {
	l     *runLogger
	lease *Lease
}

// NewRunScope returns ctx carrying the run's scope: a logger built on base
// with the run's attributes, an output that keeps its last limit bytes
// (DefaultOutputLimit when limit is not above zero), and the run's Lease
// with its first deadline (LeaseOf; HoldUntil moves it on). A zero
// deadline gives the run no Lease: LeaseOf returns nil.
func NewRunScope(ctx context.Context, base *slog.Logger, run Run, limit int, deadline time.Time) (context.Context, *RunScope) {
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	if base == nil {
		base = slog.Default()
	}
	r := run.Clone()
	l := &runLogger{base: base, run: &r, limit: limit}
	ctx = withRunLogger(ctx, l)
	if deadline.IsZero() {
		return ctx, &RunScope{l: l}
	}
	lease := &Lease{deadline: deadline}
	return context.WithValue(ctx, leaseKey{}, lease), &RunScope{l: l, lease: lease}
}

// HoldUntil moves the deadline of the run's Lease to deadline (on this
// process's monotonic clock), the instant by which the run's work must
// have stopped unless the lease is renewed again; an earlier deadline than
// the current one is ignored. A worker calls it after each renewal, so that the task's supervised children (the command
// kind) and the task itself (LeaseOf) see the same fence as on a node.
func (s *RunScope) HoldUntil(deadline time.Time) {
	if s.lease != nil {
		s.lease.renew(deadline)
	}
}

// EndLease marks the run's lease ended once the task has returned: whoever
// waits on its Renewed channel wakes for the last time.
func (s *RunScope) EndLease() {
	if s.lease != nil {
		s.lease.end()
	}
}

// Output returns the run's output so far, and a count of the writes made
// to it, which tells whether it changed since an earlier call.
func (s *RunScope) Output() (text string, writes uint64) {
	t := s.l.out.Load()
	if t == nil {
		return "", 0
	}
	text, writes, _ = t.snapshot()
	return text, writes
}

// Exit returns how the run's child process ended, as RecordExit recorded
// it, or nil.
func (s *RunScope) Exit() *ExitStatus { return s.l.exit.Load() }
