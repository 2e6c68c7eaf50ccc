package sundial

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/sundialhq/sundial/trigger"
)

// Config configures a Scheduler. Only Store is required.
type Config struct {
	// Store keeps jobs and runs. Required.
	Store Store
	// Workers bounds the runs executing at once. Default 10.
	Workers int
	// Defaults are the job options for fields a job leaves zero; their
	// own zero fields fall back to the built-in defaults of JobOptions.
	Defaults JobOptions
	// Logger receives the scheduler's logs. Default slog.Default().
	Logger *slog.Logger
	// MaxSleep bounds how long the loop sleeps without looking at the
	// store, which catches wall-clock jumps and changes made by other
	// processes. Default 1 minute; must not be negative.
	MaxSleep time.Duration
	// Now is the wall clock. Default time.Now. Tests use testing/synctest
	// rather than replacing it; it is here to simulate clock jumps and
	// skew. A store with a clock of its own (Clock) corrects it.
	Now func() time.Time
	// NodeID names this scheduler in the store (runs record which node
	// claimed them). It may be stable across restarts: each Start is a new
	// incarnation of the node, which recovers the runs of the previous one
	// at once. Default: host name, process ID and a random suffix.
	NodeID string
	// Queues are the job queues this scheduler claims from; empty means
	// every queue. Other schedulers may serve other queues.
	Queues []string
	// LeaseTTL is how long a claimed run stays this node's without a
	// heartbeat; the node renews its leases every third of it and stops a
	// run itself when it could not renew for 3/4 of it. When a node dies,
	// its runs are marked lost at most LeaseTTL + LeaseTTL/3 after its last
	// renewal and retried if their job allows. Default 15s; must not be
	// negative.
	LeaseTTL time.Duration
	// StoreTimeout bounds every store call of the scheduler. Default 10s;
	// must not be negative.
	StoreTimeout time.Duration
	// MaxClockSkew is how far this node's clock may be from a store clock
	// (Clock) before Status reports it skewed and a warning is logged;
	// fires and leases follow the store's clock either way. Default 2s;
	// must not be negative.
	MaxClockSkew time.Duration
	// Version is recorded with the node, for operators. Default "".
	Version string
	// NodeFacts are recorded with the node, for operators (Node.Facts).
	NodeFacts map[string]string
	// Retention bounds the run history kept in the store.
	Retention Retention
	// OutputLimit bounds the output kept with a run (Run.Output): its last
	// OutputLimit bytes, after a note of how much was cut. Default
	// DefaultOutputLimit; must not be negative.
	OutputLimit int
	// OutputFlush is how often the output of executing runs is saved to a
	// store that implements RunOutputWriter, for followers in other
	// processes. Default 2s; negative never saves it before the run ends.
	OutputFlush time.Duration
}

// Retention bounds the run history. Runs that have not ended are never
// pruned. Pruning runs on one node at a time, every Interval.
type Retention struct {
	// MaxAge prunes runs that ended longer ago than this. Default 30 days;
	// negative keeps runs of any age.
	MaxAge time.Duration
	// PerJob keeps at most this many runs of each job. Default
	// DefaultRunsPerJob; negative keeps any number. An in-memory store
	// applies it as each run ends, the others at every Interval.
	PerJob int
	// Interval is how often to prune. Default 1 hour.
	Interval time.Duration
}

// Scheduler fires jobs and runs their tasks. Create one with New; every
// method is safe for concurrent use.
type Scheduler struct {
	store     Store
	log       *slog.Logger
	wall      func() time.Time // this host's clock (Config.Now)
	wallIsNow bool             // wall is time.Now (see clock)
	defaults  JobOptions
	workers   int
	maxSleep  time.Duration
	node      Node
	leaseTTL  time.Duration
	keep      Retention

	// Leases and fencing (lease.go).
	fenceAfter   time.Duration // stop a run whose lease is this old
	killAfter    time.Duration // a task's child dies at this age (Lease)
	storeTimeout time.Duration
	maxSkew      time.Duration
	offset       atomic.Int64 // store clock − wall clock, nanoseconds
	skewed       atomic.Bool
	skewLogged   atomic.Bool
	held         holdings
	beatNow      chan struct{}
	renewalMu    sync.Mutex
	renewalDone  chan struct{} // closed when the renewal in progress ends
	fenceDone    chan struct{}
	// life ends when Shutdown has finished, or when its deadline passed
	// and the last records had their short chance; store calls use it.
	life       context.Context
	lifeCancel context.CancelFunc

	tasksMu sync.RWMutex
	tasks   map[string]registered

	outputLimit int
	outputFlush time.Duration

	events eventHub

	paused   atomic.Bool  // the store said the cluster is paused
	standby  atomic.Bool  // this node claims nothing (Standby)
	lastTick atomic.Int64 // Unix nanoseconds of the loop's last pass
	inflight atomic.Int64 // runs handed to workers and not yet finished
	wake     chan struct{}

	// Broadcast fires (broadcast.go).
	leaving atomic.Bool            // Shutdown has stopped the loop
	peers   atomic.Pointer[[]Node] // the store's nodes at the last heartbeat

	// state guards the life cycle and sends on work.
	state            sync.RWMutex
	started          bool
	stopped          bool
	work             chan *execution
	loopCancel       context.CancelFunc
	claims           claimer      // the loop's and the workers' claims (loop.go)
	sleepUntil       atomic.Int64 // Unix ns the loop sleeps until, 0 while awake (signalFor)
	triggers         triggerCache // the claims' triggers by spec (plan.go)
	loopDone         chan struct{}
	workersWG        sync.WaitGroup
	runCtx           context.Context // ended by a forced shutdown, which stops every task's context
	runCancel        context.CancelFunc
	beatStop         chan struct{} // stops the heartbeat, the fence and housekeeping
	beatDone         chan struct{}
	housekeepingDone chan struct{}
	recovering       sync.WaitGroup // handleLost calls in flight
	workerState      workerState    // the workers this scheduler speaks for (workers.go)
	// records feeds the recorder, which writes run records in groups.
	records      chan record
	recorderDone chan struct{}
	forced       atomic.Bool // shutdown's deadline passed: interrupt runs
}

// New returns a scheduler over cfg.Store. Register tasks, add jobs, then
// Start it. A Config field out of its range fails with an error naming it.
func New(cfg Config) (*Scheduler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Scheduler{
		store:        cfg.Store,
		log:          cfg.Logger,
		wall:         cfg.Now,
		defaults:     cfg.Defaults,
		workers:      orDefault(cfg.Workers, 10),
		maxSleep:     orDefault(cfg.MaxSleep, time.Minute),
		leaseTTL:     orDefault(cfg.LeaseTTL, DefaultLeaseTTL),
		storeTimeout: orDefault(cfg.StoreTimeout, 10*time.Second),
		maxSkew:      orDefault(cfg.MaxClockSkew, 2*time.Second),
		tasks:        map[string]registered{},
		wake:         make(chan struct{}, 1),
		beatNow:      make(chan struct{}, 1),
		renewalDone:  make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.wall == nil {
		s.wall, s.wallIsNow = time.Now, true
	}
	s.fenceAfter, s.killAfter = s.leaseTTL*3/4, s.leaseTTL*7/8
	s.keep = Retention{MaxAge: orDefault(cfg.Retention.MaxAge, 30*24*time.Hour),
		PerJob: orDefault(cfg.Retention.PerJob, DefaultRunsPerJob), Interval: orDefault(cfg.Retention.Interval, time.Hour)}
	host, _ := os.Hostname()
	s.node = Node{ID: cfg.NodeID, Host: host, PID: os.Getpid(), Version: cfg.Version, Queues: slices.Clone(cfg.Queues),
		Facts: maps.Clone(cfg.NodeFacts)}
	if s.node.ID == "" {
		s.node.ID = NewNodeID()
	}
	s.outputLimit = orDefault(cfg.OutputLimit, DefaultOutputLimit)
	s.outputFlush = orDefault(cfg.OutputFlush, 2*time.Second)
	s.runCtx, s.runCancel = context.WithCancel(context.Background())
	s.life, s.lifeCancel = context.WithCancel(context.Background())
	return s, nil
}

// DefaultRunsPerJob is Config.Retention.PerJob's default.
const DefaultRunsPerJob = 1000

// DefaultLeaseTTL is Config.LeaseTTL's default.
const DefaultLeaseTTL = 15 * time.Second

// validate checks every field, naming the first one out of its range.
func (c Config) validate() error {
	if c.Store == nil {
		return errors.New("sundial: Config.Store is required (memstore.New for an in-memory store)")
	}
	negative := []struct {
		field string
		bad   bool
		value any
	}{
		{"Workers", c.Workers < 0, c.Workers},
		{"MaxSleep", c.MaxSleep < 0, c.MaxSleep},
		{"LeaseTTL", c.LeaseTTL < 0, c.LeaseTTL},
		{"StoreTimeout", c.StoreTimeout < 0, c.StoreTimeout},
		{"MaxClockSkew", c.MaxClockSkew < 0, c.MaxClockSkew},
		{"OutputLimit", c.OutputLimit < 0, c.OutputLimit},
		{"Retention.Interval", c.Retention.Interval < 0, c.Retention.Interval},
	}
	for _, n := range negative {
		if n.bad {
			return fmt.Errorf("sundial: Config.%s %v must not be negative", n.field, n.value)
		}
	}
	if err := c.Defaults.validate(); err != nil {
		return fmt.Errorf("sundial: Config.Defaults: %w", err)
	}
	return nil
}

// NewNodeID returns a node ID for this process: host name, process ID and
// a random suffix.
func NewNodeID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), newID()[:6])
}

// now is the store's clock as this node reads it: the wall clock corrected
// by the offset the heartbeat measures (zero for stores on this host's
// clock). Fires, leases and the times recorded on runs all use it.
func (s *Scheduler) now() time.Time {
	return s.wall().Add(time.Duration(s.offset.Load()))
}

// clock reads the monotonic clock and the store's clock (now) together:
// in one reading when the wall clock is time.Now, which the hot path reads
// several times per run.
func (s *Scheduler) clock() (mono, now time.Time) {
	mono = time.Now()
	if s.wallIsNow {
		return mono, mono.Add(time.Duration(s.offset.Load()))
	}
	return mono, s.now()
}

// registered is a task and its argument check.
type registered struct {
	fn       TaskFunc
	validate func(args json.RawMessage) error
}

// TaskOption configures a registered task.
type TaskOption func(*registered)

// ValidateArgs makes AddJob and UpdateJob check a job's args for the task
// with v, so that bad settings are refused when the job is stored rather
// than when it runs. An *InvalidJobError from v is returned as it is (its
// field such as "args.url"); another error is reported on the field
// "args".
func ValidateArgs(v func(args json.RawMessage) error) TaskOption {
	return func(r *registered) { r.validate = v }
}

// Register makes fn runnable by jobs whose Task is name. Names are
// registered once; register before Start so that stored jobs naming the
// task are not quarantined.
func (s *Scheduler) Register(name string, fn TaskFunc, opts ...TaskOption) error {
	if name == "" || strings.TrimSpace(name) != name {
		return fmt.Errorf("sundial: task name %q must be non-empty without surrounding spaces", name)
	}
	if fn == nil {
		return fmt.Errorf("sundial: task %q: function is nil", name)
	}
	r := registered{fn: fn}
	for _, opt := range opts {
		opt(&r)
	}
	s.tasksMu.Lock()
	defer s.tasksMu.Unlock()
	if _, ok := s.tasks[name]; ok {
		return fmt.Errorf("sundial: task %q is already registered", name)
	}
	s.tasks[name] = r
	return nil
}

// Tasks returns the names of the registered tasks, sorted.
func (s *Scheduler) Tasks() []string {
	s.tasksMu.RLock()
	defer s.tasksMu.RUnlock()
	names := make([]string, 0, len(s.tasks))
	for name := range s.tasks {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (s *Scheduler) task(name string) (TaskFunc, bool) {
	r, ok := s.registered(name)
	return r.fn, ok
}

func (s *Scheduler) registered(name string) (registered, bool) {
	s.tasksMu.RLock()
	defer s.tasksMu.RUnlock()
	fn, ok := s.tasks[name]
	return fn, ok
}

// Subscribe delivers events of the given kinds (all kinds when none are
// given) on a channel with room for buffer events; see Subscription.
func (s *Scheduler) Subscribe(buffer int, kinds ...EventKind) *Subscription {
	return s.events.subscribe(buffer, kinds)
}

func (s *Scheduler) publish(kind EventKind, job *Job, run *Run) {
	s.events.publish(Event{Kind: kind, Time: s.now(), Job: job, Run: run})
}

// publishJob publishes a job event, building it only when someone listens.
func (s *Scheduler) publishJob(kind EventKind, job *Job) {
	if !s.events.active() {
		return
	}
	j := job.Clone()
	s.events.publish(Event{Kind: kind, Time: s.now(), Job: &j})
}

// publishRun publishes a run event with its own copy of the run, built
// only when someone listens.
func (s *Scheduler) publishRun(kind EventKind, run *Run) {
	if !s.events.active() {
		return
	}
	r := run.Clone()
	s.events.publish(Event{Kind: kind, Time: s.now(), Run: &r})
}

// signal wakes the loop; it never blocks.
func (s *Scheduler) signal() {
	s.workerState.pulse.fire()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// AddOption changes how AddJob treats an existing job.
type AddOption func(*addOptions)

type addOptions struct{ replace, declare bool }

// optionsOf applies the options. The options it applies take their
// struct's address, which moves it to the heap: an allocation per add
// unless there are none.
func optionsOf(opts []AddOption) addOptions {
	if len(opts) == 0 {
		return addOptions{}
	}
	var o addOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// ReplaceExisting makes AddJob replace a job with the same ID instead of
// failing with ErrJobExists.
func ReplaceExisting() AddOption { return func(o *addOptions) { o.replace = true } }

const maxIDLength = 200

// validID checks a job ID by the one rule for IDs: 1 to 200 ASCII
// letters, digits and the marks . _ - ~ : @, starting with a letter or
// digit. Such an ID is its own URL path segment (never escaped, never
// "." or ".." that a path cleaner removes), a word in a shell and a
// file name, with no look-alike or invisible characters. The error is an
// *InvalidJobError on the field "id".
func validID(id string) error {
	switch {
	case id == "":
		return invalidf("id", "required")
	case len(id) > maxIDLength:
		return invalidf("id", "%d bytes is longer than %d", len(id), maxIDLength)
	case !isAlnum(id[0]):
		return invalidf("id", "%q must start with a letter or digit", id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && !strings.ContainsRune("._-~:@", rune(c)) {
			r, _ := utf8.DecodeRuneInString(id[i:])
			return invalidf("id", "%q: %q is not allowed; use letters, digits and . _ - ~ : @", id, r)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// check validates a job against the registry and returns its trigger.
// The ID is checked when a job is added (validID), not here: a job stored
// under an ID from before the rule can still be changed and resumed.
func (s *Scheduler) check(ctx context.Context, job *Job, declare bool) (trigger.Trigger, error) {
	if job.Task == "" {
		return nil, invalidf("task", "required")
	}
	if r, ok := s.registered(job.Task); ok {
		if err := r.checkArgs(job.Args); err != nil {
			return nil, err
		}
	} else {
		// Not run here: a worker task (docs/workers.md), served by a
		// worker before or declared now.
		known, err := s.isWorkerTask(ctx, job.Task)
		if err != nil {
			return nil, err
		}
		if !known && !declare {
			return nil, &InvalidJobError{Field: "task", Err: &UnknownTaskError{Task: job.Task}}
		}
		if len(job.Args) > 0 && !json.Valid(job.Args) {
			return nil, invalidf("args", "not valid JSON")
		}
		if job.Options.Broadcast {
			return nil, invalidf("options.broadcast", "a broadcast runs on every scheduler node, and task %q is a worker task: workers share its runs instead", job.Task)
		}
	}
	t, err := s.triggers.build(&job.Trigger) // as a claim will: parsed once for equal specs
	if err != nil {
		var pe *trigger.ParseError
		if errors.As(err, &pe) && pe.Field != "" {
			return nil, &InvalidJobError{Field: "trigger." + pe.Field, Err: err}
		}
		return nil, &InvalidJobError{Field: "trigger", Err: err}
	}
	if err := job.Options.validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// checkArgs checks args as the task's ValidateArgs says, the same for a
// job's args and a run's own (RunNow).
func (r registered) checkArgs(args json.RawMessage) error {
	if len(args) > 0 && !json.Valid(args) {
		return invalidf("args", "not valid JSON")
	}
	if r.validate == nil {
		return nil
	}
	if err := r.validate(args); err != nil {
		var ij *InvalidJobError
		if errors.As(err, &ij) {
			return err
		}
		return &InvalidJobError{Field: "args", Err: err}
	}
	return nil
}

// firstFire is the job's first fire at or after now. Running on start is
// APScheduler's next_run_time=now: it fires now even before the trigger's
// start_date (an interval's start_date is its grid's anchor, pinned one
// interval ahead), but not once the trigger has no fire left.
func (s *Scheduler) firstFire(job *Job, t trigger.Trigger, now time.Time, onStart bool) time.Time {
	if job.Paused {
		return time.Time{}
	}
	next := t.Next(time.Time{}, now)
	if next.IsZero() || !onStart || !job.Options.RunOnStart {
		return next
	}
	return now
}

// AddJob validates and stores a job and schedules its first fire. An empty
// ID is generated. A job naming an unregistered task fails with an error
// matching ErrUnknownTask; a bad field with an *InvalidJobError naming it;
// an existing ID with ErrJobExists unless ReplaceExisting is given.
func (s *Scheduler) AddJob(ctx context.Context, job Job, opts ...AddOption) (Job, error) {
	o := optionsOf(opts)
	// The job is passed by pointer from here on: it is about 700 bytes,
	// and copying it through every step was a tenth of an add.
	job.own()
	if job.ID == "" {
		job.ID = newID()
	}
	if err := validID(job.ID); err != nil {
		return Job{}, err
	}
	now, t, err := s.prepare(ctx, &job, o.declare)
	if err != nil {
		return Job{}, err
	}
	job.PauseReason, job.Version = "", 0
	job.NextRunAt = s.firstFire(&job, t, now, true)
	created, err := s.store.CreateJob(ctx, job, now)
	if errors.Is(err, ErrJobExists) && o.replace {
		replaced, err := s.replace(ctx, job, now)
		if err != nil {
			return Job{}, err
		}
		s.catchUpCalendars(ctx, &replaced)
		return replaced, nil
	}
	if err != nil {
		return Job{}, fmt.Errorf("add %s: %w", job, err)
	}
	s.catchUpCalendars(ctx, &created)
	s.publishJob(EventJobAdded, &created)
	s.signalFor(created.NextRunAt)
	return created, nil
}

func (s *Scheduler) replace(ctx context.Context, job Job, now time.Time) (Job, error) {
	for range 5 {
		old, err := s.store.GetJob(ctx, job.ID)
		if err != nil {
			return Job{}, fmt.Errorf("replace %s: %w", job, err)
		}
		job.Version, job.CreatedAt = old.Version, old.CreatedAt
		updated, err := s.store.UpdateJob(ctx, job, now)
		if errors.Is(err, ErrVersionConflict) {
			continue
		}
		if err != nil {
			return Job{}, fmt.Errorf("replace %s: %w", job, err)
		}
		s.publishJob(EventJobUpdated, &updated)
		s.signal()
		return updated, nil
	}
	return Job{}, fmt.Errorf("replace %s: %w", job, ErrVersionConflict)
}

// UpdateJob changes a job's name, task, args, trigger, tags, queue and
// options (and its source, when job.Source is set) and recomputes its next
// fire; whether it is paused is left as it was.
// A non-zero job.Version must equal the stored one, so that two editors
// cannot silently overwrite each other (ErrVersionConflict). DeclareTask
// is the one option it takes.
func (s *Scheduler) UpdateJob(ctx context.Context, job Job, opts ...AddOption) (Job, error) {
	o := optionsOf(opts)
	job.own()
	now, t, err := s.prepare(ctx, &job, o.declare)
	if err != nil {
		return Job{}, err
	}
	updated, err := s.modify(ctx, job.ID, job.Version, func(stored *Job) error {
		stored.Name, stored.Task, stored.Args, stored.Trigger = job.Name, job.Task, job.Args, job.Trigger
		stored.Tags, stored.Options, stored.Queue = job.Tags, job.Options, job.Queue
		if job.Source != "" {
			stored.Source = job.Source
		}
		stored.NextRunAt = s.firstFire(stored, t, now, false)
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	s.catchUpCalendars(ctx, &updated)
	return updated, nil
}

// prepare readies a job that AddJob or UpdateJob is given, and which owns
// its memory (Job.own), in place: it fills in its calendars' dates, pins an
// interval's start, checks the job and its chains, and declares its task
// when asked. It returns the time it read and the job's trigger.
func (s *Scheduler) prepare(ctx context.Context, job *Job, declare bool) (time.Time, trigger.Trigger, error) {
	if err := s.resolveCalendars(ctx, &job.Trigger); err != nil {
		return time.Time{}, nil, err
	}
	now := s.now()
	if job.Trigger.NeedsPin() {
		if pinned, err := job.Trigger.Pin(now); err == nil {
			job.Trigger = pinned
		}
	}
	t, err := s.check(ctx, job, declare)
	if err != nil {
		return time.Time{}, nil, err
	}
	if err := s.checkChains(ctx, job); err != nil {
		return time.Time{}, nil, err
	}
	if err := s.declare(ctx, job.Task, declare, now); err != nil {
		return time.Time{}, nil, err
	}
	return now, t, nil
}

// modify applies change to the stored job and saves it, retrying on a
// concurrent change unless the caller pinned a version.
func (s *Scheduler) modify(ctx context.Context, id string, version int64, change func(*Job) error) (Job, error) {
	for range 10 {
		stored, err := s.store.GetJob(ctx, id)
		if err != nil {
			return Job{}, fmt.Errorf("job %q: %w", id, err)
		}
		if version != 0 && stored.Version != version {
			return Job{}, fmt.Errorf("job %q: have version %d, stored is %d: %w", id, version, stored.Version, ErrVersionConflict)
		}
		if err := change(&stored); err != nil {
			return Job{}, err
		}
		updated, err := s.store.UpdateJob(ctx, stored, s.now())
		if errors.Is(err, ErrVersionConflict) && version == 0 {
			continue
		}
		if err != nil {
			return Job{}, fmt.Errorf("job %q: %w", id, err)
		}
		s.publishJob(EventJobUpdated, &updated)
		s.signal()
		return updated, nil
	}
	return Job{}, fmt.Errorf("job %q: %w", id, ErrVersionConflict)
}

// RemoveJob deletes a job; its runs stay in the history. Runs already
// started finish.
func (s *Scheduler) RemoveJob(ctx context.Context, id string) error {
	job, err := s.store.GetJob(ctx, id)
	if err != nil {
		return fmt.Errorf("remove job %q: %w", id, err)
	}
	from, err := s.chainedFrom(ctx, id)
	if err != nil {
		return fmt.Errorf("remove job %q: %w", id, err)
	}
	if len(from) > 0 {
		return fmt.Errorf("remove job %q: %s start it when they end (options.then): take it out of their chains first: %w",
			id, strings.Join(from, ", "), ErrJobInChain)
	}
	if err := s.store.DeleteJob(ctx, id); err != nil {
		return fmt.Errorf("remove job %q: %w", id, err)
	}
	s.publishJob(EventJobRemoved, &job)
	return nil
}

// PauseJob stops a job from firing until ResumeJob.
func (s *Scheduler) PauseJob(ctx context.Context, id string) (Job, error) {
	return s.modify(ctx, id, 0, func(j *Job) error {
		j.Paused, j.PauseReason, j.NextRunAt = true, "", time.Time{}
		return nil
	})
}

// ResumeJob lets a paused (or quarantined) job fire again from now on. A
// quarantined job resumes only once its task is registered and its trigger
// is valid again.
func (s *Scheduler) ResumeJob(ctx context.Context, id string) (Job, error) {
	now := s.now()
	return s.modify(ctx, id, 0, func(j *Job) error {
		j.Paused, j.PauseReason = false, ""
		t, err := s.check(ctx, j, false)
		if err != nil {
			return fmt.Errorf("resume job %q: %w", id, err)
		}
		j.NextRunAt = s.firstFire(j, t, now, false)
		return nil
	})
}

// Job returns one job, or an error matching ErrJobNotFound.
func (s *Scheduler) Job(ctx context.Context, id string) (Job, error) {
	job, err := s.store.GetJob(ctx, id)
	if err != nil {
		return Job{}, fmt.Errorf("job %q: %w", id, err)
	}
	return job, nil
}

// Jobs lists the jobs that pass the filter.
func (s *Scheduler) Jobs(ctx context.Context, f JobFilter) ([]Job, error) {
	return s.store.ListJobs(ctx, f)
}

// RunByID returns one run, or an error matching ErrRunNotFound.
func (s *Scheduler) RunByID(ctx context.Context, id string) (Run, error) {
	run, err := s.store.GetRun(ctx, id)
	if err != nil {
		return Run{}, fmt.Errorf("run %q: %w", id, err)
	}
	return run, nil
}

// Runs lists the runs that pass the filter, newest first.
func (s *Scheduler) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	return s.store.ListRuns(ctx, f)
}

// RunNow runs a job once, now, outside its schedule, with args (or the
// job's own args when args is nil), which the job's task checks as it
// checks a job's args (ValidateArgs). It returns the run as recorded when it
// was queued for a worker; follow it with Run or Subscribe. A scheduler
// that was never started (an API-only server node) records the run as
// scheduled and due now: the first scheduler sharing the store claims and
// runs it. After Shutdown it fails with ErrNotRunning.
//
// A broadcast job's run is a manual broadcast fire: one shard for each
// live node of the job's queue, each waiting for its node, and this
// node's own shard, which it returns, run at once (else it returns shard
// 0). With no live node it is one shard (0 of 1) that any node may take.
func (s *Scheduler) RunNow(ctx context.Context, id string, args json.RawMessage) (Run, error) {
	job, err := s.store.GetJob(ctx, id)
	if err != nil {
		return Run{}, fmt.Errorf("run job %q now: %w", id, err)
	}
	if args == nil {
		args = job.Args
	} else if r, ok := s.registered(job.Task); ok {
		if err := r.checkArgs(args); err != nil {
			return Run{}, err
		}
	} else if !json.Valid(args) {
		return Run{}, invalidf("args", "not valid JSON")
	}
	s.state.RLock()
	defer s.state.RUnlock()
	if s.stopped {
		return Run{}, fmt.Errorf("run job %q now: %w", id, ErrNotRunning)
	}
	now := s.now()
	run := Run{ID: newID(), JobID: job.ID, Task: job.Task, ScheduledAt: now.Truncate(time.Microsecond),
		Attempt: 1, Manual: true, Args: args, Queue: job.Queue}
	runs := []Run{run}
	if job.Options.Broadcast {
		var nodes []string
		if s.started {
			nodes = s.broadcastNodes(job.Queue)
		} else {
			all, err := s.store.ListNodes(ctx)
			if err != nil {
				return Run{}, fmt.Errorf("run job %q now: %w", id, err)
			}
			nodes = liveNodes(all, job.Queue, now, s.leaseTTL, "")
		}
		runs = s.shards(run, nodes)
	}
	// Every run waits, scheduled, for its node (or any node), but the one
	// that this node runs at once.
	// A worker task's run waits for a worker, also when a task of its
	// name is registered here: scheduler nodes never run worker tasks.
	_, local := s.task(job.Task)
	if local {
		worker, err := s.isWorkerTask(ctx, job.Task)
		if err != nil {
			return Run{}, fmt.Errorf("run job %q now: %w", id, err)
		}
		local = !worker
	}
	mine := -1
	for i := range runs {
		r := &runs[i]
		if s.started && local && (r.Shard == nil || r.Node == s.node.ID) {
			mine = i
			continue
		}
		r.Status, r.NotBefore = StatusScheduled, r.ScheduledAt
		if err := s.store.CreateRun(ctx, *r); err != nil {
			return Run{}, fmt.Errorf("run job %q now: %w", id, err)
		}
	}
	if mine < 0 {
		s.signal()
		return runs[0], nil
	}
	return s.runHere(ctx, runs[mine], job)
}

// runHere records a run as claimed by this node and hands it to a worker.
func (s *Scheduler) runHere(ctx context.Context, run Run, job Job) (Run, error) {
	claimStart := time.Now()
	now := s.now()
	run.Status, run.ClaimedAt = StatusPending, now
	run.Node, run.Incarnation, run.LeaseUntil = s.node.ID, s.node.Incarnation, now.Add(s.leaseTTL)
	if err := s.store.CreateRun(ctx, run); err != nil {
		return Run{}, fmt.Errorf("run job %q now: %w", job.ID, err)
	}
	x := &execution{run: run, opts: job.Options.resolve(s.defaults), known: true}
	s.held.add(x, claimStart, time.Now(), run.LeaseUntil, s.killAfter)
	s.inflight.Add(1)
	select {
	case s.work <- x:
	case <-ctx.Done():
		s.inflight.Add(-1)
		s.held.remove(run.ID)
		run.Status, run.Error, run.EndedAt = StatusInterrupted, "not started: "+ctx.Err().Error(), s.now()
		wctx, cancel := s.storeCtx()
		_ = s.store.UpdateRun(wctx, run)
		cancel()
		return run, ctx.Err()
	}
	return run, nil
}

// CancelRun cancels a run that has not ended. A queued or scheduled run is
// recorded canceled at once. An executing run is stopped by its node — at
// once when that is this process, else at the node's next heartbeat (at
// once on a store that notifies changes) — which records it canceled; a
// task's child processes are killed whole. It returns the run as stored
// after the request, an error matching ErrRunEnded when it had ended, or
// ErrRunNotFound.
func (s *Scheduler) CancelRun(ctx context.Context, id string) (Run, error) {
	run, err := s.store.CancelRun(ctx, id, s.now())
	if err != nil {
		return run, fmt.Errorf("cancel run %q: %w", id, err)
	}
	switch {
	case run.Status == StatusCanceled:
		s.logRun(slog.LevelInfo, "run canceled before it started", &run)
		s.publishRun(EventRunCanceled, &run)
		if run.Shard != nil {
			// Its end may complete its broadcast fire.
			if job, err := s.store.GetJob(ctx, run.JobID); err == nil {
				s.afterEnd(run, job.Options.resolve(s.defaults), nil, true)
			}
		}
	case run.Incarnation == s.node.Incarnation:
		s.stopHeld(id, errCanceled)
	}
	return run, nil
}

// RunningRuns returns the job's runs that are pending or running, on any
// node, so that a caller can say what pausing or removing the job leaves
// running (and cancel them with CancelRun).
func (s *Scheduler) RunningRuns(ctx context.Context, jobID string) ([]Run, error) {
	var out []Run
	for _, st := range []RunStatus{StatusPending, StatusRunning} {
		runs, err := s.store.ListRuns(ctx, RunFilter{JobID: jobID, Status: st})
		if err != nil {
			return nil, fmt.Errorf("running runs of job %q: %w", jobID, err)
		}
		out = append(out, runs...)
	}
	return out, nil
}

// Pause stops every scheduler sharing the store from firing jobs and
// starting retries, until Resume; runs in progress go on. The pause is kept
// in the store: it holds across restarts, and other processes see it at
// their next claim.
func (s *Scheduler) Pause(ctx context.Context) error {
	if err := s.store.SetPaused(ctx, true, s.now()); err != nil {
		return fmt.Errorf("pause the scheduler: %w", err)
	}
	s.paused.Store(true)
	s.publish(EventSchedulerPaused, nil, nil)
	return nil
}

// Resume lets every scheduler sharing the store fire again; fires that fell
// due meanwhile follow each job's misfire rules.
func (s *Scheduler) Resume(ctx context.Context) error {
	if err := s.store.SetPaused(ctx, false, s.now()); err != nil {
		return fmt.Errorf("resume the scheduler: %w", err)
	}
	s.paused.Store(false)
	s.publish(EventSchedulerResumed, nil, nil)
	s.signal()
	return nil
}

// Standby stops (true) or restarts (false) this node's claiming of due
// work, leaving other nodes and the cluster-wide pause alone: runs in
// progress go on, and the node still renews its leases and serves.
//
// A node in standby is left out of broadcast fires claimed after its next
// heartbeat, which it makes at once; the shards that already wait for it
// are lost when their pick-up deadline passes, and retried elsewhere as
// their job allows.
func (s *Scheduler) Standby(on bool) {
	s.standby.Store(on)
	s.requestRenewal()
	if !on {
		s.signal()
	}
}

// Paused reports whether the scheduler is paused cluster-wide, and since
// when, as the store says.
func (s *Scheduler) Paused(ctx context.Context) (bool, time.Time, error) {
	paused, since, err := s.store.Paused(ctx)
	if err != nil {
		return false, time.Time{}, fmt.Errorf("scheduler paused: %w", err)
	}
	s.paused.Store(paused)
	return paused, since, nil
}

// Start starts the loop and the workers in the background; the scheduler
// runs until Shutdown. Nothing is loaded whole: stored jobs are read as
// they fall due, and a stored job that can no longer run (its task is not
// registered, its trigger no longer parses) is quarantined then: paused,
// with the reason in PauseReason, never deleted. ctx bounds the start-up.
func (s *Scheduler) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.state.Lock()
	defer s.state.Unlock()
	if s.started {
		return errors.New("sundial: scheduler already started")
	}
	s.measureClock()
	if err := s.checkNodeIDFree(ctx); err != nil {
		return err
	}
	s.node.Incarnation = newID()
	s.node.StartedAt = s.now()
	s.node.LastSeen = s.node.StartedAt
	s.node.Standby = s.standby.Load()
	orphans, err := s.store.RegisterNode(ctx, s.node, s.node.StartedAt)
	if err != nil {
		return fmt.Errorf("sundial: start: register node %s: %w", s.node.ID, err)
	}
	s.started = true
	s.records, s.recorderDone = make(chan record, max(4*s.workers, 2*maxRecordBatch)), make(chan struct{})
	go s.recorder()
	s.beatStop, s.beatDone, s.fenceDone = make(chan struct{}), make(chan struct{}), make(chan struct{})
	s.housekeepingDone = make(chan struct{})
	go s.heartbeat()
	go s.fence()
	go s.housekeeping()
	s.work = make(chan *execution, 2*s.workers) // the pool and the queue ahead of it (claimLimit)
	loopCtx, cancel := context.WithCancel(context.Background())
	s.loopCancel, s.loopDone = cancel, make(chan struct{})
	s.claims.ctx = loopCtx
	s.claims.plan = func(job Job, active int, queued bool) (Job, []Run) {
		return s.planJob(job, active, queued, s.claims.now, &s.claims.notes, false)
	}
	for range s.workers {
		s.workersWG.Add(1)
		go s.worker()
	}
	if n, ok := s.store.(ChangeNotifier); ok {
		changes := n.Changes(loopCtx)
		go func() {
			for range changes {
				s.signal()
				// A change may be a cancel request for a run held here.
				if s.inflight.Load() > 0 {
					s.requestRenewal()
				}
			}
		}()
	}
	s.recover(orphans) // the previous incarnation died holding these
	s.syncCalendars(ctx)
	s.warnShadowedTasks(ctx)
	go s.loop(loopCtx)
	return nil
}

// ErrNodeIDInUse is Start's error when another live process on this host
// runs a scheduler under the same node ID: a new incarnation takes over its
// node's runs, so two live processes must not share one ID.
var ErrNodeIDInUse = errors.New("node ID is in use by a live process")

// checkNodeIDFree refuses to start under the node ID of another process on
// this host that is alive and renewed its leases lately: starting would
// take its runs away while it still runs them. A process that died (the
// restart this is for) has no live PID.
func (s *Scheduler) checkNodeIDFree(ctx context.Context) error {
	nodes, err := s.store.ListNodes(ctx)
	if err != nil {
		return fmt.Errorf("sundial: start: list nodes: %w", err)
	}
	s.peers.Store(&nodes) // until the first heartbeat
	for _, n := range nodes {
		if n.ID != s.node.ID || n.Host != s.node.Host || n.PID == s.node.PID || n.PID <= 0 {
			continue
		}
		if since := s.now().Sub(n.LastSeen); since < 2*s.leaseTTL && processAlive(n.PID) {
			return fmt.Errorf("sundial: start: node ID %q: process %d on this host renewed its leases %s ago and is alive: %w; give each process its own node ID",
				n.ID, n.PID, since.Round(time.Millisecond), ErrNodeIDInUse)
		}
	}
	return nil
}

// processAlive reports whether a process with the PID exists on this host.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// loadable returns a stored job's trigger, or why the job cannot run. A
// worker's task is its worker's to know.
func (s *Scheduler) loadable(job Job, worker bool) (trigger.Trigger, string) {
	if _, ok := s.task(job.Task); !ok && !worker {
		return nil, fmt.Sprintf("task %q is not registered", job.Task)
	}
	t, err := s.triggers.build(&job.Trigger)
	if err != nil {
		return nil, "trigger no longer valid: " + err.Error()
	}
	return t, ""
}

// Shutdown stops firing, then waits for running runs until ctx is done;
// after that it cancels them, records them as interrupted, waits for them
// to return and returns ctx's error. Tasks must honour their context for a
// forced shutdown to end.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.state.Lock()
	if !s.started || s.stopped {
		s.state.Unlock()
		return nil
	}
	s.stopped = true
	s.loopCancel()
	<-s.loopDone
	close(s.work)
	s.state.Unlock()
	// The node takes no new work: a heartbeat at once tells the others,
	// which leave it out of the broadcast fires they claim from their
	// next heartbeat on.
	s.leaving.Store(true)
	s.requestRenewal()

	done := make(chan struct{})
	go func() {
		s.workersWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.forced.Store(true)
		s.runCancel()
		s.held.stopAll(context.Canceled) // after runCancel: see execute
		// The last records get a short chance; then store calls end, and
		// the runs they could not record are recovered by their leases.
		time.AfterFunc(time.Second, s.lifeCancel)
		<-done
	}
	s.runCancel()
	close(s.records) // every worker has finished: flush what is left
	// The flush and the recovery of lost runs keep Shutdown's deadline
	// too: past it, store calls end and what is not written is left to
	// the leases.
	stopWrites := context.AfterFunc(ctx, func() { time.AfterFunc(time.Second, s.lifeCancel) })
	defer stopWrites()
	<-s.recorderDone
	close(s.beatStop)
	<-s.beatDone
	<-s.fenceDone
	<-s.housekeepingDone
	s.recovering.Wait()
	s.farewell()
	s.lifeCancel()
	s.events.closeAll()
	return err
}

// farewell is the node's last heartbeat, once it holds no run: it says the
// node takes no more work, so that other nodes leave it out of broadcast
// fires from their next heartbeat on, instead of a lease after its last
// one. (The heartbeat that Shutdown asked for at its start may not have
// run before the heartbeat stopped.)
func (s *Scheduler) farewell() {
	ctx, cancel := s.storeCtx()
	defer cancel()
	now := s.now()
	req := HeartbeatRequest{Node: s.node.ID, Incarnation: s.node.Incarnation, Now: now, LeaseUntil: now, Standby: true}
	if _, err := s.store.Heartbeat(ctx, req); err != nil && s.life.Err() == nil {
		s.log.Warn("the last heartbeat failed; other nodes leave this one out of broadcast fires a lease later", "node", s.node.ID, "err", err)
	}
}

// Status is a scheduler's state, for health checks and operators.
type Status struct {
	// Node is this scheduler's node ID, and Incarnation its current
	// process start (empty when not running).
	Node        string `json:"node"`
	Incarnation string `json:"incarnation,omitempty"`
	// Running is true between Start and Shutdown.
	Running bool `json:"running"`
	// Paused is true while the scheduler is paused cluster-wide, as this
	// node last read it from the store.
	Paused bool `json:"paused"`
	// ClockOffset is the store's clock minus this node's, as last
	// measured (zero for stores on this host's clock); ClockSkewed is
	// true when it exceeds Config.MaxClockSkew.
	ClockOffset time.Duration `json:"clock_offset"`
	ClockSkewed bool          `json:"clock_skewed,omitempty"`
	// Standby is true while this node claims nothing (Standby).
	Standby bool `json:"standby,omitempty"`
	// LeaseTTL is Config.LeaseTTL as resolved.
	LeaseTTL time.Duration `json:"lease_ttl"`
	// LastTick is when the loop last looked for due work; the loop looks
	// at least every MaxSleep, so an older LastTick means it is stuck.
	LastTick time.Time `json:"last_tick,omitzero"`
	// MaxSleep is Config.MaxSleep as resolved.
	MaxSleep time.Duration `json:"max_sleep"`
	// InFlight counts the runs this node claimed to execute and has not
	// finished: those running, and those queued for a worker, up to
	// Workers more while a backlog of short runs lasts.
	InFlight int `json:"in_flight"`
	// Workers is the size of the worker pool.
	Workers int `json:"workers"`
}

// statusJSON is Status with its durations in Sundial's one JSON form.
type statusJSON struct {
	plainStatus
	MaxSleep    trigger.Duration `json:"max_sleep"`
	ClockOffset trigger.Duration `json:"clock_offset"`
	LeaseTTL    trigger.Duration `json:"lease_ttl"`
}

// plainStatus is Status without its JSON methods.
type plainStatus Status

// MarshalJSON writes the durations as Go duration strings, Sundial's one
// form (trigger.Duration).
func (st Status) MarshalJSON() ([]byte, error) {
	return json.Marshal(statusJSON{plainStatus(st), trigger.Duration(st.MaxSleep), trigger.Duration(st.ClockOffset), trigger.Duration(st.LeaseTTL)})
}

// UnmarshalJSON reads the durations as strings or numbers of seconds.
func (st *Status) UnmarshalJSON(b []byte) error {
	var v statusJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*st = Status(v.plainStatus)
	st.MaxSleep, st.ClockOffset, st.LeaseTTL = time.Duration(v.MaxSleep), time.Duration(v.ClockOffset), time.Duration(v.LeaseTTL)
	return nil
}

// Status returns the scheduler's state.
func (s *Scheduler) Status() Status {
	s.state.RLock()
	running := s.started && !s.stopped
	incarnation := s.node.Incarnation
	s.state.RUnlock()
	st := Status{Node: s.node.ID, Running: running, Paused: s.paused.Load(), MaxSleep: s.maxSleep,
		InFlight: int(s.inflight.Load()), Workers: s.workers, LeaseTTL: s.leaseTTL,
		ClockOffset: time.Duration(s.offset.Load()), ClockSkewed: s.skewed.Load(), Standby: s.standby.Load()}
	if n := s.lastTick.Load(); n != 0 {
		st.LastTick = time.Unix(0, n)
	}
	if running {
		st.Incarnation = incarnation
	}
	return st
}

// LiveOutput returns the output so far of a run executing in this
// process, a channel closed at its next write or when the run ends, and
// true; false when the run is not executing here (read it from the store
// then).
func (s *Scheduler) LiveOutput(runID string) (text string, changed <-chan struct{}, ok bool) {
	x := s.held.get(runID)
	if x == nil || !x.live.Load() {
		return "", nil, false
	}
	text, _, ch := x.logger.output().snapshot()
	// Still running after the snapshot: the run's end wakes the followers
	// after live is cleared, so it closes ch. Otherwise the run ended
	// meanwhile and ch might never close.
	if !x.live.Load() {
		return "", nil, false
	}
	return text, ch, true
}

// NodeID returns the scheduler's node ID.
func (s *Scheduler) NodeID() string { return s.node.ID }

// Nodes lists the scheduler nodes known to the store (Workers lists the
// worker sessions).
func (s *Scheduler) Nodes(ctx context.Context) ([]Node, error) {
	nodes, err := s.store.ListNodes(ctx)
	return slices.DeleteFunc(nodes, func(n Node) bool { return n.Kind != NodeScheduler }), err
}

// idEncoding is Crockford-style base32: lower case, no padding, URL-safe.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newID returns a random 128-bit identifier in 26 characters.
func newID() string {
	var b [16]byte
	ids.read(b[:])
	var out [26]byte
	idEncoding.Encode(out[:], b[:])
	return string(out[:])
}

// ids hands out the random bytes of IDs from a buffer filled from
// crypto/rand a page at a time: every run has an ID, and where the kernel
// has no vDSO getrandom each read of crypto/rand is a system call.
var ids randomBuffer

type randomBuffer struct {
	mu   sync.Mutex
	buf  [4096]byte
	next int // bytes of buf handed out; len(buf) when none are left
}

func (r *randomBuffer) read(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next == 0 || r.next+len(b) > len(r.buf) {
		rand.Read(r.buf[:])
		r.next = 0
	}
	n := copy(b, r.buf[r.next:])
	clear(r.buf[r.next : r.next+n]) // handed out once: never kept here
	r.next += n
}
