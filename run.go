package sundial

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
)

// RunStatus is the state of one run of a job.
type RunStatus string

const (
	// StatusQueued waits for a running instance of its job to end
	// (overlap policy "queue").
	StatusQueued RunStatus = "queued"
	// StatusScheduled waits until NotBefore: a retry in its backoff, or
	// the shard of a broadcast fire waiting for its node (Run.Node) to
	// pick it up.
	StatusScheduled RunStatus = "scheduled"
	// StatusPending is claimed by a scheduler and waits for a worker.
	StatusPending RunStatus = "pending"
	// StatusRunning is executing.
	StatusRunning RunStatus = "running"
	// StatusSucceeded returned without error.
	StatusSucceeded RunStatus = "succeeded"
	// StatusFailed returned an error or panicked.
	StatusFailed RunStatus = "failed"
	// StatusTimedOut ran past the job's timeout.
	StatusTimedOut RunStatus = "timed_out"
	// StatusMissed fired later than the misfire grace and did not run.
	StatusMissed RunStatus = "missed"
	// StatusSkipped did not run: coalesced into a later fire, or the job
	// was already running at its MaxInstances.
	StatusSkipped RunStatus = "skipped"
	// StatusInterrupted was stopped by its own node: a shutdown, or a
	// lease the node could not renew in time (it stops the run itself
	// before the lease ends, so that no other node retries it while it
	// still runs). It is retried if the job allows retries.
	StatusInterrupted RunStatus = "interrupted"
	// StatusLost was claimed by a node that stopped renewing its lease (it
	// died, froze, or lost the store); it is retried if the job allows
	// retries.
	StatusLost RunStatus = "lost"
	// StatusCanceled was canceled on request (Scheduler.CancelRun): before
	// it started, or by its node stopping it.
	StatusCanceled RunStatus = "canceled"
)

// Executing reports whether the run is claimed to run now: pending (waiting
// for a worker) or running.
func (s RunStatus) Executing() bool { return s == StatusPending || s == StatusRunning }

// Active reports whether the run has not ended yet.
func (s RunStatus) Active() bool {
	switch s {
	case StatusQueued, StatusScheduled, StatusPending, StatusRunning:
		return true
	}
	return false
}

// Run is one fire of a job: a record of what was scheduled, what ran and
// how it ended.
type Run struct {
	// ID identifies the run.
	ID string `json:"id"`
	// JobID and Task say what ran.
	JobID string `json:"job_id"`
	Task  string `json:"task"`
	// ScheduledAt is the fire time the run belongs to; retries of one fire
	// share it.
	ScheduledAt time.Time `json:"scheduled_at"`
	// NotBefore is when a scheduled retry may start.
	NotBefore time.Time `json:"not_before,omitzero"`
	// ClaimedAt is when a node claimed the run to execute it; StartedAt
	// is when its task actually started, and EndedAt when the run ended.
	ClaimedAt time.Time `json:"claimed_at,omitzero"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// Status is where the run is in its life.
	Status RunStatus `json:"status"`
	// Attempt counts tries of one fire, from 1.
	Attempt int `json:"attempt"`
	// Manual marks a run started by RunNow rather than by the trigger.
	Manual bool `json:"manual,omitempty"`
	// Backfill is the ID of the backfill that recorded the run for a past
	// fire (Scheduler.Backfill); empty for runs of the trigger's own fires.
	Backfill string `json:"backfill,omitempty"`
	// Upstream is the run whose end started this one through a chain
	// (JobOptions.Then); nil for other runs. One run is recorded per
	// upstream run and chained job.
	Upstream *UpstreamRun `json:"upstream,omitempty"`
	// Shard is the part of a broadcast fire (JobOptions.Broadcast) that
	// this run is: one shard per live node, retries keeping theirs. nil
	// for the runs of other jobs and for a broadcast job's backfill (see
	// ShardOrWhole).
	Shard *Shard `json:"shard,omitempty"`
	// Queue is the job's queue when the run was recorded.
	Queue string `json:"queue,omitempty"`
	// Node is the scheduler that claimed the run; LeaseUntil is when that
	// claim lapses unless the node renews it (on the store's clock). On a
	// scheduled or queued shard of a broadcast fire, Node is the node the
	// shard waits for — no other may claim it — and LeaseUntil the
	// deadline for that node to pick it up, which its heartbeats extend
	// while it lives; past it the shard is lost (Store.ReapLost).
	Node       string    `json:"node,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	// Incarnation is the process start of Node that holds the run: the
	// fencing token every write about an executing run must carry.
	Incarnation string `json:"incarnation,omitempty"`
	// CancelRequested is set by CancelRun on a run that is executing; its
	// node stops it and records it canceled.
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Args is the JSON handed to the task.
	Args json.RawMessage `json:"args,omitempty"`
	// Result is the task's return value as JSON.
	Result json.RawMessage `json:"result,omitempty"`
	// Error is why the run failed, missed or was skipped.
	Error string `json:"error,omitempty"`
	// Output is the tail of what the run wrote to Output(ctx) and logged
	// through Logger(ctx), at most Config.OutputLimit bytes.
	Output string `json:"output,omitempty"`
	// Exit is how the run's child process ended, for tasks that run one
	// (RecordExit).
	Exit *ExitStatus `json:"exit,omitempty"`
}

// UpstreamRun is what a chained run knows of the run that started it. A
// broadcast fire starts its chains once, when complete: its upstream run is
// then the shard that ended last, Status is the fire's outcome (succeeded
// when every shard succeeded, else the status of the first shard that
// failed, timed out, was interrupted or lost), and Result is a JSON array
// of every shard's result, by index (null for a shard without one).
type UpstreamRun struct {
	ID          string          `json:"id"`
	JobID       string          `json:"job_id"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	Status      RunStatus       `json:"status"`
	Result      json.RawMessage `json:"result,omitempty"`
}

// Shard is one part of a broadcast fire: the fire runs Total shards, one
// on each live node of its queue, numbered from 0 in the order of the
// nodes' IDs. A node's index is the place of its ID among the nodes alive
// at that fire, so it changes as nodes join and leave: a task must take
// its share of the work from Index and Total, never from the node it runs
// on.
type Shard struct {
	Index int `json:"index"`
	Total int `json:"total"`
}

// ShardOrWhole returns the run's shard, or shard 0 of 1 for a run that is
// its whole fire, so that a task written for broadcast jobs does all the
// work when its job is not broadcast.
func (r Run) ShardOrWhole() Shard {
	if r.Shard != nil {
		return *r.Shard
	}
	return Shard{Index: 0, Total: 1}
}

// FireKey identifies the fire a run belongs to, stable across retries and
// across processes: the job ID and the scheduled time, and a shard's index.
// A task can use it to de-duplicate its own side effects downstream.
func (r Run) FireKey() string {
	key := r.JobID + "@" + r.ScheduledAt.UTC().Format(time.RFC3339Nano)
	switch {
	case r.Upstream != nil:
		key += "/after/" + r.Upstream.ID
	case r.Manual && r.Shard != nil:
		key += "/manual" // the shards of one manual fire share its instant
	case r.Manual:
		key += "/manual/" + r.ID
	}
	if r.Shard != nil {
		key += "/shard/" + strconv.Itoa(r.Shard.Index)
	}
	return key
}

// Clone returns a deep copy.
func (r Run) Clone() Run {
	r.Args = slices.Clone(r.Args)
	r.Result = slices.Clone(r.Result)
	if r.Exit != nil {
		e := *r.Exit
		r.Exit = &e
	}
	if r.Upstream != nil {
		u := *r.Upstream
		u.Result = slices.Clone(u.Result)
		r.Upstream = &u
	}
	if r.Shard != nil {
		sh := *r.Shard
		r.Shard = &sh
	}
	return r
}
