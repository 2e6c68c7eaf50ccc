package task

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/jsoninput"
	"github.com/sundialhq/sundial/internal/secrets"
	"github.com/sundialhq/sundial/task/isolate"
	"github.com/sundialhq/sundial/trigger"
)

// SecretSource reveals the secrets a run was granted.
type SecretSource interface {
	Reveal(ctx context.Context, names []string) (map[string]string, error)
}

// ScriptSource finds uploaded scripts (version 0: the latest).
type ScriptSource interface {
	GetScript(ctx context.Context, name string, version int) (admin.Script, error)
}

// Python configures the python kind and Python scripts.
type Python struct {
	// Executable is the interpreter. Default: Venv's bin/python when Venv
	// is set, else python3.
	Executable string `json:"executable,omitempty"`
	// Venv is a virtualenv directory.
	Venv string `json:"venv,omitempty"`
	// Path lists the project directories put first on sys.path; the first
	// is the working directory of python tasks.
	Path []string `json:"path,omitempty"`
	// AppFactory, such as "app:create_app", makes python tasks run inside
	// `with create_app().app_context():`.
	AppFactory string `json:"app_factory,omitempty"`
}

func (p Python) executable() string {
	switch {
	case p.Executable != "":
		return p.Executable
	case p.Venv != "":
		return filepath.Join(p.Venv, "bin", "python")
	}
	return "python3"
}

// Kinds are the task kinds a server offers — command, http, script and
// python — and what they share. Register them on a scheduler.
type Kinds struct {
	// Runner starts child processes.
	Runner *isolate.Runner
	// Limits are every child's resource limits unless its job sets its own.
	Limits isolate.Limits
	// Grace is the time between SIGTERM and SIGKILL. Default 5s.
	Grace time.Duration
	// Python configures the python kind.
	Python Python
	// Interpreters maps a script language to its program; defaults:
	// python → Python's executable, sh → sh, bash → bash, node → node.
	Interpreters map[string]string
	// Scripts finds uploaded scripts; nil disables the script kind.
	Scripts ScriptSource
	// Secrets reveals granted secrets; nil makes jobs that ask for
	// secrets fail. A run's output, result and error are masked with the
	// values granted to it, and only those: another job's output is
	// never touched.
	Secrets SecretSource
	// HTTP is the client of the http kind. Default: a client without a
	// timeout of its own (each request has the task's).
	HTTP *http.Client
}

// Register registers the kinds on s, each with its argument check.
func (k *Kinds) Register(s *sundial.Scheduler) error {
	for _, r := range []struct {
		name     string
		fn       sundial.TaskFunc
		validate func(json.RawMessage) error
	}{
		{"command", k.command, validateCommand},
		{"http", k.http, validateHTTP},
		{"python", k.python, validatePython},
		{"script", k.script, k.validateScript},
	} {
		validate := r.validate
		if r.name != "http" {
			validate = k.enforceable(validate)
		}
		if err := s.Register(r.name, r.fn, sundial.ValidateArgs(validate)); err != nil {
			return err
		}
	}
	return nil
}

// enforceable adds to a kind's check that the job asks for no limit this
// host cannot enforce, unless the server accepts unenforced limits.
func (k *Kinds) enforceable(validate func(json.RawMessage) error) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		if err := validate(raw); err != nil {
			return err
		}
		var a childSettings
		if json.Unmarshal(raw, &a) != nil || a.Limits == nil || k.Runner == nil || k.Runner.AcceptUnenforced {
			return nil
		}
		if bad := k.Runner.Unenforceable(*a.Limits); len(bad) > 0 {
			return argErr("limits."+bad[0].Field, "cannot be enforced on this host: %s; remove it, or set isolation.accept_unenforced_limits: true on the server to run the job without it", bad[0].Why)
		}
		return nil
	}
}

// childSettings are the settings every kind that starts a process takes.
type childSettings struct {
	// Dir is the working directory; empty for a fresh one per run.
	Dir string `json:"dir,omitempty"`
	// Env is added to the child's environment.
	Env map[string]string `json:"env,omitempty"`
	// Secrets are granted to the child as environment variables.
	Secrets []string `json:"secrets,omitempty"`
	// Limits replace the server's default limits for this job.
	Limits *isolate.Limits `json:"limits,omitempty"`
}

// decodeArgs reads a kind's args strictly, naming the field at fault.
func decodeArgs(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	// The error names the path as the args spell it (args.limits.pids),
	// never the Go struct the kinds share (childSettings).
	if err := jsoninput.Decode(raw, v); err != nil {
		var p *jsoninput.Problem
		if errors.As(err, &p) {
			return &sundial.InvalidJobError{Field: jsoninput.Under("args", p.Path), Err: errors.New(p.Msg)}
		}
		return &sundial.InvalidJobError{Field: "args", Err: err}
	}
	return nil
}

func argErr(field, format string, a ...any) error {
	return &sundial.InvalidJobError{Field: "args." + field, Err: fmt.Errorf(format, a...)}
}

// duration is a duration setting in Sundial's one form (trigger.Duration:
// a Go duration string, or a number of seconds); it must not be negative.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var v trigger.Duration
	if err := v.UnmarshalJSON(b); err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("%s must not be negative", time.Duration(v))
	}
	*d = duration(v)
	return nil
}

func validateSecrets(names []string) error {
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, "= \t\n") {
			return argErr("secrets", "%q is not a secret name", n)
		}
	}
	return nil
}

// child is one run's process as the kinds prepare it.
type child struct {
	argv     []string
	settings childSettings
	timeout  time.Duration
	extraEnv map[string]string
	prepare  func(dir string) error
	// control is a private directory for the result file and helper
	// files, apart from the working directory.
	control string
	// summarizes: what the child writes to $SUNDIAL_ERROR is its
	// failure's one line, the run's error as it stands (the Python
	// runner's exception line), not text to follow the exit status.
	summarizes bool
}

// runChild runs c for the run in ctx: identity and secrets in its
// environment, output masked into the run's output, the result read from
// $SUNDIAL_RESULT or the last stdout line.
func (k *Kinds) runChild(ctx context.Context, run sundial.Run, c child) (any, error) {
	return k.runChildWith(ctx, run, c, nil)
}

// runChildWith is runChild for children whose argv names files in the
// control directory: argv, when set, builds it from that directory.
func (k *Kinds) runChildWith(ctx context.Context, run sundial.Run, c child, argv func(control string) []string) (any, error) {
	control, removeControl, err := k.Runner.PrivateDir("ctl")
	if err != nil {
		return nil, err
	}
	defer removeControl()
	c.control = control
	if argv != nil {
		c.argv = argv(control)
	}
	env := map[string]string{}
	for k, v := range c.settings.Env {
		env[k] = v
	}
	for k, v := range c.extraEnv {
		env[k] = v
	}
	values, masker, err := k.reveal(ctx, c.settings.Secrets)
	if err != nil {
		return nil, err
	}
	for name, v := range values {
		env[name] = v
	}
	resultFile := filepath.Join(control, "result.json")
	for name, v := range identity(run) {
		env[name] = v
	}
	if u := run.Upstream; u != nil && len(u.Result) > 0 && len(u.Result) <= maxUpstreamResult {
		env["SUNDIAL_UPSTREAM_RESULT"] = string(u.Result)
	}
	env["SUNDIAL_RESULT"] = resultFile
	env["SUNDIAL_ERROR"] = filepath.Join(control, "error.txt")

	limits := k.Limits
	if c.settings.Limits != nil {
		limits = *c.settings.Limits
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	// The last line of stderr (else of stdout) explains a failure; the
	// last line of stdout may be the result.
	lastOut, lastErr := &lastLine{}, &lastLine{}
	out := masker.NewWriter(outputOf(ctx))
	cmd := isolate.Cmd{Argv: c.argv, Dir: c.settings.Dir, Private: []string{control}, Prepare: c.prepare, Env: env,
		Output: out, Stdout: lastOut, Stderr: lastErr, Limits: limits, Grace: k.Grace}
	if lease := sundial.LeaseOf(ctx); lease != nil {
		// The child's supervisor kills its tree by the lease's deadline
		// unless the node renews it: a frozen or dead node cannot stop
		// the child itself, and another node may retry the run.
		keepAlive := make(chan time.Time, 1)
		stop := make(chan struct{})
		defer close(stop)
		cmd.Deadline, cmd.KeepAlive = lease.Deadline(), keepAlive
		go followLease(lease, keepAlive, stop)
	}
	res, runErr := k.Runner.Run(ctx, cmd)
	if res.Strays > 0 {
		fmt.Fprintf(out, "[sundial: the task left %d process(es) running after it exited; they were killed]\n", res.Strays)
	}
	if res.Lingering > 0 {
		// What could not be contained is recorded with the run.
		fmt.Fprintf(out, "[sundial: %d of the task's process(es) were still present 10s after SIGKILL (stuck in the kernel?)]\n", res.Lingering)
	}
	last := lastErr
	if last.lastAny() == "" {
		last = lastOut
	}
	out.Close()
	recordExit(ctx, res.ExitCode, res.Signal)
	if runErr != nil {
		if errors.Is(runErr, isolate.ErrStart) {
			return nil, runErr
		}
		if c.timeout > 0 && errors.Is(runErr, context.DeadlineExceeded) && ctx.Err() != nil {
			return nil, fmt.Errorf("the process ran past its timeout of %s and was killed", c.timeout)
		}
		if res.Fenced || errors.Is(runErr, isolate.ErrFenced) {
			return nil, fmt.Errorf("the process tree was killed by its supervisor: this node's lease on the run was not renewed in time: %w", runErr)
		}
		return nil, fmt.Errorf("the process was stopped (%s): %w", describeEnd(res), runErr)
	}
	if res.ExitCode != 0 {
		msg := describeEnd(res)
		if b, err := isolate.ReadChildFile(env["SUNDIAL_ERROR"], maxChildFile); err == nil && len(bytes.TrimSpace(b)) > 0 && c.summarizes {
			msg = tail(masker.Mask(strings.TrimSpace(string(b))), 16<<10)
		} else if err == nil && len(b) > 0 {
			// Masked before it is cut: a cut through a value would
			// leave its end unmasked.
			msg += ":\n" + tail(masker.Mask(string(b)), 16<<10)
		} else if l := last.lastAny(); l != "" {
			msg += ": " + masker.Mask(l)
		}
		if res.ExitCode == 127 {
			msg = "program not found: " + masker.Mask(last.lastAny())
		}
		return nil, errors.New(msg)
	}
	if b, err := isolate.ReadChildFile(resultFile, maxChildFile); errors.Is(err, isolate.ErrTooLarge) {
		return nil, fmt.Errorf("the file named by $SUNDIAL_RESULT is larger than %d MiB", maxChildFile>>20)
	} else if err == nil && len(bytes.TrimSpace(b)) > 0 {
		if !json.Valid(b) {
			return nil, fmt.Errorf("the file named by $SUNDIAL_RESULT does not hold JSON: %q", tail(masker.Mask(string(b)), 200))
		}
		return json.RawMessage(masker.MaskJSON(b)), nil
	}
	if l := strings.TrimSpace(lastOut.line()); l != "" && json.Valid([]byte(l)) {
		return json.RawMessage(masker.MaskJSON([]byte(l))), nil
	}
	return nil, nil
}

// maxChildFile bounds the result and error files a task writes.
const maxChildFile = 8 << 20

// followLease sends the lease's deadline to keepAlive at every renewal,
// the newest only, until stop is closed.
func followLease(lease *sundial.Lease, keepAlive chan time.Time, stop <-chan struct{}) {
	sent := lease.Deadline()
	for {
		renewed := lease.Renewed()
		select {
		case <-stop:
			return
		case <-renewed:
		}
		d := lease.Deadline()
		if !d.After(sent) {
			// The run ended (its lease's channel stays closed): nothing
			// more will come.
			<-stop
			return
		}
		select {
		case <-keepAlive: // an older deadline the runner has not taken yet
		default:
		}
		keepAlive <- d
		sent = d
	}
}

// reveal returns the values of the secrets granted to a run, and a
// masker of them alone for its output, result and error.
func (k *Kinds) reveal(ctx context.Context, names []string) (map[string]string, *secrets.Masker, error) {
	if len(names) == 0 {
		return nil, nil, nil
	}
	if k.Secrets == nil {
		return nil, nil, errors.New("this job is granted secrets, but the server has no secret store (set SUNDIAL_SECRET_KEY)")
	}
	values, err := k.Secrets.Reveal(ctx, names)
	if err != nil {
		return nil, nil, err
	}
	return values, secrets.NewMasker(slices.Collect(maps.Values(values))...), nil
}

// identity is the run's identity, for user code to de-duplicate its own
// side effects, its share of a broadcast fire (shard 0 of 1 for a run that
// is its whole fire, so that code written for broadcast jobs does all the
// work otherwise), and for a chained run the run that started it.
func identity(run sundial.Run) map[string]string {
	shard := run.ShardOrWhole()
	id := map[string]string{
		"SUNDIAL_JOB_ID":       run.JobID,
		"SUNDIAL_RUN_ID":       run.ID,
		"SUNDIAL_FIRE_KEY":     run.FireKey(),
		"SUNDIAL_SCHEDULED_AT": run.ScheduledAt.UTC().Format(time.RFC3339Nano),
		"SUNDIAL_ATTEMPT":      strconv.Itoa(run.Attempt),
		"SUNDIAL_SHARD_INDEX":  strconv.Itoa(shard.Index),
		"SUNDIAL_SHARD_TOTAL":  strconv.Itoa(shard.Total),
	}
	if u := run.Upstream; u != nil {
		id["SUNDIAL_UPSTREAM_RUN_ID"] = u.ID
		id["SUNDIAL_UPSTREAM_JOB_ID"] = u.JobID
		id["SUNDIAL_UPSTREAM_SCHEDULED_AT"] = u.ScheduledAt.UTC().Format(time.RFC3339Nano)
		id["SUNDIAL_UPSTREAM_STATUS"] = string(u.Status)
	}
	return id
}

// maxUpstreamResult bounds the upstream run's result handed to a chained
// run's child in SUNDIAL_UPSTREAM_RESULT, well under Linux's limit on one
// environment string (128 KiB); a larger one is read through the API.
const maxUpstreamResult = 64 << 10

func describeEnd(res isolate.Result) string {
	if res.Signal != "" {
		return "killed by signal: " + res.Signal
	}
	return "exit status " + strconv.Itoa(res.ExitCode)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// lastLine remembers the last non-empty line written to it.
type lastLine struct {
	mu   sync.Mutex
	done []byte
	cur  []byte
}

func (l *lastLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range p {
		if b == '\n' {
			if len(bytes.TrimSpace(l.cur)) > 0 {
				l.done = append(l.done[:0], l.cur...)
			}
			l.cur = l.cur[:0]
			continue
		}
		if len(l.cur) < 1<<20 {
			l.cur = append(l.cur, b)
		}
	}
	return len(p), nil
}

// line returns the last line, the unfinished one included.
func (l *lastLine) line() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(bytes.TrimSpace(l.cur)) > 0 {
		return string(l.cur)
	}
	return string(l.done)
}

func (l *lastLine) lastAny() string { return strings.TrimSpace(l.line()) }

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// runIO lets a run outside the scheduler (a test run) collect what the
// scheduler would: the output and the exit status.
type runIO struct {
	out  io.Writer
	exit *sundial.ExitStatus
}

type runIOKey struct{}

func outputOf(ctx context.Context) io.Writer {
	if io, ok := ctx.Value(runIOKey{}).(*runIO); ok {
		return io.out
	}
	return sundial.Output(ctx)
}

func recordExit(ctx context.Context, code int, signal string) {
	if io, ok := ctx.Value(runIOKey{}).(*runIO); ok {
		io.exit = &sundial.ExitStatus{Code: code, Signal: signal}
	}
	sundial.RecordExit(ctx, code, signal)
}
