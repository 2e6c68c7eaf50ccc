package sundial

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sundialhq/sundial/trigger"
)

// Job is a task scheduled on a trigger. The fields under "state" are kept
// by the scheduler and the store; callers set the others.
type Job struct {
	// ID identifies the job; AddJob generates one when it is empty. It is
	// 1 to 200 ASCII letters, digits and . _ - ~ : @, starting with a
	// letter or digit, so that it is a URL path segment as it is.
	ID string `json:"id"`
	// Name is for people; it need not be unique.
	Name string `json:"name,omitempty"`
	// Task names a registered task function.
	Task string `json:"task"`
	// Args is the JSON handed to the task in Run.Args.
	Args json.RawMessage `json:"args,omitempty"`
	// Trigger says when the job fires.
	Trigger trigger.Spec `json:"trigger"`
	// Tags label the job for filtering.
	Tags []string `json:"tags,omitempty"`
	// Queue pins the job to the schedulers that serve it (Config.Queues);
	// empty is the default queue.
	Queue string `json:"queue,omitempty"`
	// Options tune misfires, overlap, timeouts and retries.
	Options JobOptions `json:"options"`
	// Source says who manages the job: "" for a program using the
	// library; a server marks the jobs it manages ("api", "config"). A
	// server start removes the config-file jobs that its file no longer
	// declares and never touches the others.
	Source string `json:"source,omitempty"`

	// Paused jobs do not fire; PauseReason says why a job was paused by
	// the scheduler rather than by a person (a quarantined job).
	Paused      bool   `json:"paused"`
	PauseReason string `json:"pause_reason,omitempty"`

	// NextRunAt is the next scheduled fire (state); zero when the job is
	// paused, finished, or waiting for its run to end (fixed delay).
	NextRunAt time.Time `json:"next_run_at,omitzero"`
	// Version increases with every change (state), for optimistic concurrency.
	Version int64 `json:"version,omitempty"`
	// CreatedAt and UpdatedAt are kept by the store (state).
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Overlap is what happens when a job fires while MaxInstances of its runs
// are still running.
type Overlap string

const (
	// OverlapSkip records the new fire as skipped (the default).
	OverlapSkip Overlap = "skip"
	// OverlapQueue keeps one fire waiting and runs it when a running one
	// ends; further fires are skipped.
	OverlapQueue Overlap = "queue"
	// OverlapAllow runs the new fire anyway, beyond MaxInstances.
	OverlapAllow Overlap = "allow"
)

// JobOptions tune how a job runs. A zero field takes the scheduler's
// default (Config.Defaults), and then the built-in default given here.
type JobOptions struct {
	// RunOnStart fires the job once as soon as it is added or resumed,
	// then follows the trigger (APScheduler's next_run_time=now).
	RunOnStart bool `json:"run_on_start,omitempty"`
	// MisfireGrace is how late a fire may start and still run; later
	// fires are recorded as missed. Default 60s; NoMisfireLimit, "none" in
	// JSON, means no limit. Other negative values are refused.
	MisfireGrace time.Duration `json:"misfire_grace,omitempty"`
	// Coalesce runs a backlog of fires of one job as a single run, the
	// others recorded as skipped. Default true.
	Coalesce *bool `json:"coalesce,omitempty"`
	// MaxInstances bounds concurrent runs of the job. Default 1.
	MaxInstances int `json:"max_instances,omitempty"`
	// Overlap applies when MaxInstances are running. Default skip.
	Overlap Overlap `json:"overlap,omitempty"`
	// Timeout cancels a run's context after this long; the run is recorded
	// as timed_out. Default none.
	Timeout time.Duration `json:"timeout,omitempty"`
	// MaxAttempts is the number of tries of one fire, the first included.
	// Default 1 (no retries).
	MaxAttempts int `json:"max_attempts,omitempty"`
	// RetryBackoff is the delay before the first retry; it doubles for each
	// further one, up to MaxRetryBackoff, with random jitter of up to half.
	// Defaults 1s and 1h.
	RetryBackoff    time.Duration `json:"retry_backoff,omitempty"`
	MaxRetryBackoff time.Duration `json:"max_retry_backoff,omitempty"`
	// FixedDelay counts an interval trigger's next fire from the end of the
	// previous run instead of from the previous fire (fixed rate).
	FixedDelay bool `json:"fixed_delay,omitempty"`
	// Notify sends word of the job's runs; a server checks and delivers
	// it (internal/notify), the library alone neither.
	Notify []Notification `json:"notify,omitempty"`
	// Then starts other jobs when a fire of this one has ended for good:
	// succeeded, or failed with no attempt left (xxl-job's child jobs).
	Then []Chain `json:"then,omitempty"`
	// Broadcast runs each fire on every live node of the job's queue at
	// once, one shard each (Run.Shard; xxl-job's sharding broadcast). The
	// fire is complete when every shard has ended for good; only then do
	// its chains start, a queued fire of the job start, and a fixed delay
	// count. A broadcast job runs one fire at a time: MaxInstances must be
	// 0 or 1, and Config.Defaults.MaxInstances does not apply to it.
	Broadcast bool `json:"broadcast,omitempty"`
}

// ChainOn says which ends of a run start a chained job.
type ChainOn string

// The ends a Chain can follow. A run that was canceled, missed or skipped
// starts nothing.
const (
	// ChainOnSuccess follows a succeeded run (the default).
	ChainOnSuccess ChainOn = "success"
	// ChainOnFailure follows a run that failed, timed out, was interrupted
	// or lost, with no attempt left.
	ChainOnFailure ChainOn = "failure"
	// ChainOnAlways follows either.
	ChainOnAlways ChainOn = "always"
)

// Chain starts Job when a run of the job that holds it ends as On says.
// The chained run is recorded once per upstream run, on any number of
// replicas, and carries it (Run.Upstream).
type Chain struct {
	Job string  `json:"job"`
	On  ChainOn `json:"on,omitempty"`
}

// follows reports whether a run that ended in status starts the chain.
func (c Chain) follows(status RunStatus) bool {
	ok := status == StatusSucceeded
	failed := status == StatusFailed || status == StatusTimedOut || status == StatusInterrupted || status == StatusLost
	switch c.On {
	case ChainOnFailure:
		return failed
	case ChainOnAlways:
		return ok || failed
	}
	return ok
}

// Notification says where to send word of a job's runs, and of which.
type Notification struct {
	// On lists the run statuses to notify: failed (the default), timed_out,
	// lost, missed, succeeded.
	On []RunStatus `json:"on,omitempty"`
	// Webhook is a URL to POST to, in Format.
	Webhook string `json:"webhook,omitempty"`
	// Format of the webhook's body: json (the default), slack, dingtalk,
	// feishu or wecom (their robots' text messages).
	Format string `json:"format,omitempty"`
	// Email lists addresses to mail, through the server's SMTP settings.
	Email []string `json:"email,omitempty"`
	// Secret names a sealed secret of the server (sundial secrets set
	// NAME) that holds the signing secret (加签) of a DingTalk or Feishu
	// robot: the job keeps the name, never the value.
	Secret string `json:"secret,omitempty"`
}

// Notifies reports whether n asks for runs ending in status.
func (n Notification) Notifies(status RunStatus) bool {
	if len(n.On) == 0 {
		return status == StatusFailed || status == StatusTimedOut || status == StatusLost
	}
	return slices.Contains(n.On, status)
}

// NoMisfireLimit is the MisfireGrace of a job whose fires run however
// late they start (APScheduler's misfire_grace_time=None); its JSON form
// is "none".
const NoMisfireLimit time.Duration = -1

// Built-in defaults, chosen so that a job is not silently "missed by
// 0:00:01" (APScheduler's default grace is one second).
const (
	DefaultMisfireGrace    = 60 * time.Second
	DefaultMaxInstances    = 1
	DefaultRetryBackoff    = time.Second
	DefaultMaxRetryBackoff = time.Hour
)

// coalesceByDefault is the built-in default of JobOptions.Coalesce.
var coalesceByDefault = true

// resolve fills zero fields from d, then from the built-in defaults.
func (o JobOptions) resolve(d JobOptions) JobOptions {
	if o.MisfireGrace == 0 {
		o.MisfireGrace = d.MisfireGrace
	}
	if o.MisfireGrace == 0 {
		o.MisfireGrace = DefaultMisfireGrace
	}
	if o.Coalesce == nil {
		o.Coalesce = d.Coalesce
	}
	if o.Coalesce == nil {
		o.Coalesce = &coalesceByDefault // shared: resolved options are read, never written through
	}
	if o.MaxInstances == 0 {
		o.MaxInstances = orDefault(d.MaxInstances, DefaultMaxInstances)
	}
	if o.Broadcast {
		// One fire at a time: a fire is in flight while any of its shards is.
		o.MaxInstances = 1
	}
	if o.Overlap == "" {
		o.Overlap = d.Overlap
	}
	if o.Overlap == "" {
		o.Overlap = OverlapSkip
	}
	if o.Timeout == 0 {
		o.Timeout = d.Timeout
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = orDefault(d.MaxAttempts, 1)
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = orDefault(d.RetryBackoff, DefaultRetryBackoff)
	}
	if o.MaxRetryBackoff == 0 {
		o.MaxRetryBackoff = orDefault(d.MaxRetryBackoff, DefaultMaxRetryBackoff)
	}
	return o
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// validate checks the options a caller set, naming the bad field.
func (o JobOptions) validate() error {
	switch {
	case o.MaxInstances < 0:
		return invalidf("options.max_instances", "%d must not be negative", o.MaxInstances)
	case o.Overlap != "" && o.Overlap != OverlapSkip && o.Overlap != OverlapQueue && o.Overlap != OverlapAllow:
		return invalidf("options.overlap", "%q is not one of skip, queue, allow", o.Overlap)
	case o.MisfireGrace < 0 && o.MisfireGrace != NoMisfireLimit:
		return invalidf("options.misfire_grace", "%s must not be negative; \"none\" means no limit", o.MisfireGrace)
	case o.MaxAttempts < 0:
		return invalidf("options.max_attempts", "%d must not be negative", o.MaxAttempts)
	case o.Broadcast && o.Overlap == OverlapAllow:
		return invalidf("options.overlap", "%q: a broadcast job runs one fire at a time, on every node; use skip or queue", o.Overlap)
	case o.Broadcast && o.MaxInstances > 1:
		return invalidf("options.max_instances", "%d: a broadcast job runs one fire at a time, on every node (a fire is in flight while any of its shards is); use 1, or leave it out", o.MaxInstances)
	}
	for i, c := range o.Then {
		field := fmt.Sprintf("options.then[%d]", i)
		if err := validID(c.Job); err != nil {
			return invalidf(field+".job", "%v", errors.Unwrap(err))
		}
		if c.On != "" && c.On != ChainOnSuccess && c.On != ChainOnFailure && c.On != ChainOnAlways {
			return invalidf(field+".on", "%q is not one of success, failure, always", c.On)
		}
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"options.misfire_grace", o.MisfireGrace}, {"options.timeout", o.Timeout},
		{"options.retry_backoff", o.RetryBackoff}, {"options.max_retry_backoff", o.MaxRetryBackoff}} {
		switch {
		case d.v < 0 && d.field != "options.misfire_grace":
			return invalidf(d.field, "%s must not be negative", d.v)
		case d.v > trigger.MaxDuration:
			return invalidf(d.field, "%s is longer than 100 years", d.v)
		}
	}
	return nil
}

// Clone returns a deep copy, so that a caller's changes never reach the
// store's copy.
func (j Job) Clone() Job {
	j.own()
	return j
}

// own gives the job copies of the memory it shares with others, as Clone
// does, in place: AddJob's path passes the job (about 700 bytes) by
// pointer instead of copying it at every step.
func (j *Job) own() {
	if j.Args != nil {
		j.Args = slices.Clone(j.Args)
	}
	if j.Tags != nil {
		j.Tags = slices.Clone(j.Tags)
	}
	if j.Options.Coalesce != nil {
		c := *j.Options.Coalesce
		j.Options.Coalesce = &c
	}
	ownSpec(&j.Trigger)
	if j.Options.Notify != nil {
		j.Options.Notify = slices.Clone(j.Options.Notify)
	}
	if j.Options.Then != nil {
		j.Options.Then = slices.Clone(j.Options.Then)
	}
}

func cloneSpec(s trigger.Spec) trigger.Spec {
	ownSpec(&s)
	return s
}

// ownSpec gives the spec copies of the memory it shares, in place.
func ownSpec(s *trigger.Spec) {
	if s.Fields != nil {
		f := *s.Fields
		s.Fields = &f
	}
	if s.Calendar != nil {
		d := *s.Calendar
		d.Holidays, d.WorkingDays = slices.Clone(d.Holidays), slices.Clone(d.WorkingDays)
		s.Calendar = &d
	}
	if s.Triggers != nil {
		subs := make([]trigger.Spec, len(s.Triggers))
		for i, sub := range s.Triggers {
			subs[i] = cloneSpec(sub)
		}
		s.Triggers = subs
	}
}

// HasTag reports whether the job carries the tag.
func (j Job) HasTag(tag string) bool { return slices.Contains(j.Tags, tag) }

// String names the job and its task, for logs and errors.
func (j Job) String() string { return fmt.Sprintf("job %q (task %q)", j.ID, j.Task) }
