package sundial

import (
	"context"
	"time"
)

// Store keeps jobs and runs, and is the one place where schedulers
// coordinate: a fire is claimed in one atomic step, so any number of
// schedulers sharing a store fire each scheduled run once. Implementations
// live under store/ and all pass the conformance suite in store/storetest.
// Every method must be safe for concurrent use and must not keep or hand
// out memory that the caller may change (copy jobs and runs in and out).
type Store interface {
	// A store keeps the calendars that jobs' triggers name.
	CalendarStore
	// A store keeps which tasks workers serve (workers.go).
	WorkerStore

	// CreateJob stores a new job with Version 1 and CreatedAt/UpdatedAt
	// set, or returns ErrJobExists.
	CreateJob(ctx context.Context, job Job, now time.Time) (Job, error)
	// UpdateJob replaces a job whose stored Version equals job.Version,
	// and returns it with the version increased; ErrVersionConflict if the
	// versions differ, ErrJobNotFound if there is no such job.
	UpdateJob(ctx context.Context, job Job, now time.Time) (Job, error)
	// DeleteJob removes a job; its runs stay as history.
	DeleteJob(ctx context.Context, id string) error
	// GetJob returns one job or ErrJobNotFound.
	GetJob(ctx context.Context, id string) (Job, error)
	// ListJobs returns the jobs that pass the filter, ordered by ID.
	ListJobs(ctx context.Context, f JobFilter) ([]Job, error)

	// NextWake returns the earliest instant at which a Claim by node
	// would find work: the earliest NextRunAt of an unpaused job, or
	// NotBefore of a scheduled run that waits for any node or for this
	// one (a shard of a broadcast fire waits for its own node, Run.Node,
	// and must not wake the others) — leaving out the jobs and runs of
	// worker tasks, which scheduler nodes never claim. Zero means nothing
	// is scheduled, or the scheduler is paused cluster-wide.
	NextWake(ctx context.Context, node string) (time.Time, error)
	// Claim atomically takes due work, at most req.Limit items, in the
	// queues req.Queues (all queues when empty):
	//
	//   - runs with StatusScheduled and NotBefore at or before req.Now
	//     become StatusPending, claimed at req.Now, and are returned: those
	//     that wait for any node (Node empty) in the queues, and those that
	//     wait for req.Node whatever their queue (it was chosen for it);
	//   - for each unpaused job with NextRunAt at or before req.Now
	//     (earliest first), plan decides the job's new state and the runs
	//     to record; the store writes both in the same atomic step and
	//     returns the new runs that are to execute (StatusPending). The
	//     other runs are stored as planned, with their Node and LeaseUntil
	//     (the shards of a broadcast fire that wait for other nodes). A
	//     claim changes the job's schedule state, never its Version.
	//
	// Returned runs carry ClaimedAt = req.Now and are leased to
	// req.Incarnation of req.Node until req.LeaseUntil. A run whose job,
	// scheduled time, attempt and manual flag equal a stored run's is
	// never inserted twice; shards (Run.Shard) are told apart by their
	// index. While the scheduler is paused cluster-wide
	// (SetPaused), Claim takes nothing and returns ErrSchedulerPaused.
	Claim(ctx context.Context, req ClaimRequest, plan PlanFunc) ([]Run, error)

	// CreateRun stores a new run, or returns ErrDuplicateRun.
	CreateRun(ctx context.Context, run Run) error
	// UpdateRun records what the holder of an executing run did with it:
	// it replaces the stored run only while that run is pending or running
	// and held by run.Incarnation (the fencing token), with the same job,
	// scheduled time and attempt. Otherwise it writes nothing and returns
	// ErrRunLost (the run was marked lost, canceled before it started,
	// ended, or is held by another incarnation) or ErrRunNotFound.
	UpdateRun(ctx context.Context, run Run) error
	// GetRun returns one run or ErrRunNotFound.
	GetRun(ctx context.Context, id string) (Run, error)
	// ListRuns returns the runs that pass the filter, newest fire first.
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)
	// PromoteQueued turns the oldest queued run of the job into a
	// scheduled run due at now, reporting whether there was one. When that
	// run is a shard, every queued shard of its fire (same scheduled time
	// and attempt) is promoted with it — each keeping the node it waits
	// for — but only while no shard of the job is scheduled, pending or
	// running: a broadcast job runs one fire at a time.
	PromoteQueued(ctx context.Context, jobID string, now time.Time) (bool, error)
	// CancelRun cancels a run that has not ended: a queued or scheduled
	// run becomes StatusCanceled at once (ended at now); a pending or
	// running run gets CancelRequested, for its node to stop it and
	// record it canceled. It returns the run as stored afterwards, or
	// ErrRunEnded (with the run) or ErrRunNotFound.
	CancelRun(ctx context.Context, id string, now time.Time) (Run, error)

	// SetPaused pauses (true) or resumes (false) every scheduler sharing
	// the store: while paused, Claim takes nothing. It is kept across
	// restarts.
	SetPaused(ctx context.Context, paused bool, now time.Time) error
	// Paused reports whether the scheduler is paused cluster-wide and
	// since when (zero when it is not).
	Paused(ctx context.Context) (paused bool, since time.Time, err error)

	// RegisterNode records a new incarnation of a scheduler process
	// (node.Incarnation), replacing the record of an earlier one. The
	// pending and running runs held by an earlier incarnation of the same
	// node ID are marked StatusLost at now and returned, each once: that
	// process is gone, and its runs are recovered at once instead of a
	// lease later.
	RegisterNode(ctx context.Context, node Node, now time.Time) ([]Run, error)
	// Heartbeat marks the node alive at req.Now (and in standby when
	// req.Standby) — when req.Incarnation is the node's registered one, so
	// that a zombie of an earlier incarnation does not speak for the
	// node — and extends to req.LeaseUntil the lease of each run in
	// req.Runs that is pending or running and held by req.Incarnation.
	// Unless req.Standby, it extends to req.LeaseUntil too the pick-up
	// deadline of the scheduled and queued runs that wait for req.Node
	// (shards of broadcast fires). It returns the held runs' IDs, and
	// which of them have CancelRequested: a run the node executes that is
	// not among them is no longer its own. A run the node no longer names
	// (its last record could not be written) is left to lapse and be
	// recovered. It records len(req.Runs) as the node's Busy, and reports
	// Replaced when req.Incarnation is not the node's registered one.
	Heartbeat(ctx context.Context, req HeartbeatRequest) (HeartbeatResult, error)
	// ReapLost marks pending and running runs whose lease ended before
	// now as StatusLost (their node stopped renewing: it died, froze or
	// lost the store) — or as StatusCanceled when a cancel was requested —
	// and so too scheduled runs that wait for a node whose pick-up
	// deadline (LeaseUntil) ended before now (it died or left before
	// taking its shard), and returns them, each exactly once across all
	// callers.
	ReapLost(ctx context.Context, now time.Time) ([]Run, error)
	// ListNodes returns the known nodes, ordered by ID.
	ListNodes(ctx context.Context) ([]Node, error)

	// PruneRuns deletes ended runs that ended before olderThan (when not
	// zero) or are older than the newest keepPerJob runs of their job
	// (when above zero), and returns how many it deleted. It never deletes
	// a run that has not ended. When several nodes prune at once, one
	// does the work and the others return 0.
	PruneRuns(ctx context.Context, olderThan time.Time, keepPerJob int) (int, error)
}

// ClaimRequest says what a Claim may take and for whom.
type ClaimRequest struct {
	// Now is the claiming scheduler's reading of the store's clock.
	Now time.Time
	// Limit bounds the items taken (free workers).
	Limit int
	// Node is the claiming scheduler's node ID and Incarnation its
	// process start; LeaseUntil is when its lease on the claimed runs
	// ends unless renewed by Heartbeat.
	Node        string
	Incarnation string
	LeaseUntil  time.Time
	// Queues restricts the claim to jobs in these queues; empty means all.
	Queues []string
	// Tasks, when set, makes this a worker's claim: only the jobs and
	// runs of these worker tasks. Empty is a scheduler node's claim, which
	// leaves every worker task out.
	Tasks []string
	// Buffer, when not nil, is memory the store may return the claimed
	// runs in (appended to Buffer[:0]) instead of a slice of their own: a
	// caller that claims again and again keeps it across its claims and
	// reads each result before the next. A store may ignore it.
	Buffer []Run
}

// HeartbeatRequest renews the leases of one node incarnation.
type HeartbeatRequest struct {
	// Node and Incarnation say whose leases to renew.
	Node, Incarnation string
	// Now is the node's reading of the store's clock; LeaseUntil is the
	// new end of its leases.
	Now, LeaseUntil time.Time
	// Runs are the IDs of the runs the node executes: only their leases
	// are renewed.
	Runs []string
	// Standby says that the node takes no new work (Scheduler.Standby, or
	// it is shutting down): broadcast fires leave it out, and the shards
	// that wait for it are no longer kept for it.
	Standby bool
}

// HeartbeatResult is what a Heartbeat found.
type HeartbeatResult struct {
	// Held lists the pending and running runs the incarnation holds,
	// whose leases were renewed.
	Held []string
	// Cancel lists those of Held whose cancel was requested.
	Cancel []string
	// Replaced is set when the node has no record or a newer incarnation
	// registered: this one speaks for nothing (a worker session that was
	// replaced must stop).
	Replaced bool
}

// Node is a scheduler process as the store knows it.
type Node struct {
	// ID names the node (a host or a role); it is stable across restarts
	// when configured, so a restart finds its previous runs.
	ID string `json:"id"`
	// Incarnation identifies one process start of the node.
	Incarnation string    `json:"incarnation,omitempty"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	Version     string    `json:"version"`
	Queues      []string  `json:"queues,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	LastSeen    time.Time `json:"last_seen"`
	// Standby is set while the node takes no new work: in standby
	// (Scheduler.Standby) or shutting down. Broadcast fires run on the
	// nodes seen within a lease that are not in standby.
	Standby bool `json:"standby,omitempty"`
	// Facts are what the node says about itself for operators, name to
	// value, such as how it confines its tasks (Config.NodeFacts); stores
	// keep them as given.
	Facts map[string]string `json:"facts,omitempty"`
	// Kind is NodeScheduler (empty) for a scheduler process, or
	// NodeWorker for a worker session (workers.go).
	Kind NodeKind `json:"kind,omitempty"`
	// Tasks are the tasks a worker serves, sorted; Capacity is how many
	// runs it executes at once.
	Tasks    []string `json:"tasks,omitempty"`
	Capacity int      `json:"capacity,omitempty"`
	// Busy is how many runs the node held at its last heartbeat.
	Busy int `json:"busy"`
}

// NodeKind tells scheduler nodes from worker sessions.
type NodeKind string

const (
	// NodeScheduler is a scheduler process: it claims and executes runs
	// of every task but the worker tasks.
	NodeScheduler NodeKind = ""
	// NodeWorker is a worker session: a process of an application that
	// executes the runs of the worker tasks it serves (workers.go).
	NodeWorker NodeKind = "worker"
)

// Clock is an optional capability of a Store whose clock is not the host's:
// the store tells its own time, and every scheduler sharing it judges
// due-ness and leases on that one clock (it measures its offset to it).
// PostgreSQL implements it; SQLite, on one host, needs not.
type Clock interface {
	// Now returns the store's current time.
	Now(ctx context.Context) (time.Time, error)
}

// PlanFunc decides, inside Claim's atomic step, what a due job's fire
// becomes. active is the number of the job's runs in flight — pending or
// running, and the scheduled shards of broadcast fires (a fire is in
// flight while any of its shards is) — and queued reports whether one is
// queued. It returns the job's new
// state (its NextRunAt at least) and the runs to record: StatusPending for
// runs to execute now (the store leases them to the claiming incarnation;
// it treats StatusRunning alike), StatusMissed or StatusSkipped for the
// record, StatusQueued to wait for a running instance, StatusScheduled for
// the shards that other nodes are to run (Node and LeaseUntil set). A claim writes only the
// job's schedule state — NextRunAt, Paused and PauseReason — and ignores
// other changes. A plan must not change the job's slices (Args, Tags) in
// place: a store may hand it its own copy. A store keeps no reference to
// the returned slice of runs once Claim returns — it may return the runs
// in it, in place, as Claim's result — so that a plan may reuse that
// memory for its next claim once the caller has read the result.
type PlanFunc func(job Job, active int, queued bool) (Job, []Run)

// JobFilter selects jobs; zero fields select everything.
type JobFilter struct {
	// Tag selects jobs carrying the tag.
	Tag string
	// Paused, when set, selects paused (true) or unpaused (false) jobs.
	Paused *bool
	// Task selects jobs of one task.
	Task string
	// Queue, when set, selects the jobs of one queue.
	Queue *string
	// Source, when set, selects the jobs of one source (Job.Source).
	Source *string
	// AfterID selects jobs whose ID sorts after it: the cursor of a paged
	// listing.
	AfterID string
	// Limit caps the number of jobs returned; zero means no cap.
	Limit int
}

// Match reports whether the job passes the filter (Limit aside).
func (f JobFilter) Match(j Job) bool {
	return (f.Tag == "" || j.HasTag(f.Tag)) &&
		(f.Paused == nil || *f.Paused == j.Paused) &&
		(f.Task == "" || f.Task == j.Task) &&
		(f.Queue == nil || *f.Queue == j.Queue) &&
		(f.Source == nil || *f.Source == j.Source) &&
		(f.AfterID == "" || j.ID > f.AfterID)
}

// RunFilter selects runs; zero fields select everything.
type RunFilter struct {
	// JobID selects the runs of one job.
	JobID string
	// Status selects runs in one status.
	Status RunStatus
	// Backfill selects the runs of one backfill.
	Backfill string
	// Since and Until bound ScheduledAt (inclusive, exclusive).
	Since, Until time.Time
	// After, when set, selects the runs that come after it in list order
	// (newest fire first, then highest attempt, then ID): the cursor of a
	// paged listing.
	After *RunCursor
	// Limit caps the number of runs returned; zero means no cap.
	Limit int
}

// RunCursor is a position in a run listing: the last run of a page.
type RunCursor struct {
	ScheduledAt time.Time
	Attempt     int
	ID          string
}

// CursorOf returns the position of r in a run listing.
func CursorOf(r Run) RunCursor {
	return RunCursor{ScheduledAt: r.ScheduledAt, Attempt: r.Attempt, ID: r.ID}
}

// Match reports whether the run passes the filter (Limit aside).
func (f RunFilter) Match(r Run) bool {
	return (f.JobID == "" || f.JobID == r.JobID) &&
		(f.Status == "" || f.Status == r.Status) &&
		(f.Backfill == "" || f.Backfill == r.Backfill) &&
		(f.Since.IsZero() || !r.ScheduledAt.Before(f.Since)) &&
		(f.Until.IsZero() || r.ScheduledAt.Before(f.Until)) &&
		(f.After == nil || f.After.Before(r))
}

// Before reports whether the cursor's position comes before r in list
// order, so that r belongs to the next page.
func (c RunCursor) Before(r Run) bool {
	if !c.ScheduledAt.Equal(r.ScheduledAt) {
		return r.ScheduledAt.Before(c.ScheduledAt)
	}
	if c.Attempt != r.Attempt {
		return r.Attempt < c.Attempt
	}
	return r.ID > c.ID
}

// ChangeNotifier is an optional capability of a Store: it tells schedulers
// in every process at once when jobs change, so that a job added due now
// starts within milliseconds instead of at the next poll (MaxSleep).
// PostgreSQL implements it with LISTEN/NOTIFY.
type ChangeNotifier interface {
	// Changes delivers a value soon after any process adds, changes or
	// removes a job, until ctx is done; then it closes the channel. A
	// slow reader misses nothing that matters: one pending value stands
	// for any number of changes.
	Changes(ctx context.Context) <-chan struct{}
}

// RunBatchUpdater is an optional capability of a Store: it writes many runs
// in one transaction. The scheduler records the starts and ends of runs in
// groups through it, one commit for many runs instead of one each.
type RunBatchUpdater interface {
	// UpdateRuns applies UpdateRun to every run in one transaction. It
	// returns each run's answer (nil, ErrRunNotFound, ErrRunLost) in
	// order, or an error for the whole batch, which wrote nothing.
	UpdateRuns(ctx context.Context, runs []Run) ([]error, error)
}

// RunOutputWriter is an optional capability of a Store: it saves the output
// of a run while the run executes, so that people following the run from
// another process see it grow. The scheduler writes it every
// Config.OutputFlush.
type RunOutputWriter interface {
	// UpdateRunOutput sets the output of a run that is pending or running
	// and held by incarnation; it changes nothing else, and nothing once
	// the run has ended or is no longer held (fencing).
	UpdateRunOutput(ctx context.Context, runID, incarnation, output string) error
}
