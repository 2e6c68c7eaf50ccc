// Package memstore is an in-memory sundial.Store: for programs whose jobs
// need not survive a restart, and for tests. It keeps the same contract as
// the durable stores (it passes store/storetest): due jobs sit in a min-heap
// on their next fire time, and a claim is one critical section.
package memstore

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
	"unique"

	"github.com/sundialhq/sundial"
)

// Options configures a Store. It has no settings today: how many runs of
// each job are kept is the scheduler's Config.Retention, the one home of
// that setting, which the store applies as each run ends.
type Options struct{}

// Store is an in-memory sundial.Store. Create one with New.
type Store struct {
	mu        sync.Mutex
	keep      int      // ended runs kept per job, as the last PruneRuns asked; 0 for any number
	jobs      jobTable // by ID
	due       jobHeap  // dueable jobs by NextRunAt (jobs of worker tasks: workerDue)
	runs      map[string]*runEntry
	orphans   map[string]*history             // the histories of jobs not stored (removed, or never added), by job ID
	histories []*history                      // every history, in no order (history.pos), for PruneRuns
	executing []*runEntry                     // pending and running runs, for the reaper
	waiting   minHeap[*runEntry]              // scheduled runs that wait for any node, by NotBefore (of worker tasks: workerWaiting)
	targets   map[string]map[string]*runEntry // scheduled or queued runs that wait for a node, by node and ID
	jobOrder  []string                        // sorted job IDs, rebuilt lazily
	enc       encoder                         // for encoding jobs (jobcodec.go), its buffer kept across them
	lastTask  unique.Handle[string]           // the task of the job created last
	claimed   []*jobEntry                     // the due jobs a claim took, a buffer kept across claims
	spare     []*runEntry                     // entries of pruned runs, for reuse (see forget)
	zones     map[string]*time.Location       // the locations of the jobs' next fires, by name
	nodes     map[string]sundial.Node
	paused    time.Time // when the scheduler was paused cluster-wide; zero when not
	calendars map[string]sundial.Calendar

	// Worker tasks (workers.go) are claimed by workers only: their jobs
	// and runs wait in heaps of their own, so that a scheduler node's
	// claim and wake never step over them.
	workerTasks   map[string]sundial.WorkerTask
	workerDue     jobHeap
	workerWaiting minHeap[*runEntry]
}

var _ sundial.Store = (*Store)(nil)

type runEntry struct {
	run    sundial.Run
	hist   *history
	index  int  // position in its waiting heap, or -1
	exec   int  // position in Store.executing, or -1
	worker bool // the heap is workerWaiting
}

// history is what the store keeps of one job's runs. It is kept in the
// job's entry, so that a claim reaches it without a look-up by job ID, and
// in Store.orphans while no job with its ID is stored: runs stay when
// their job is removed, and a job added again with that ID takes them
// back. It goes when its last run is pruned, so a job that never ran has
// none.
type history struct {
	job  string
	pos  int         // in Store.histories
	runs []*runEntry // oldest first
	// keys indexes runs by key once there are more than a few; until then
	// a look through runs is cheaper.
	keys   map[runKey]*runEntry
	ended  int         // of runs, those that have ended
	active int         // runs in flight: pending, running, scheduled shards
	shards int         // shards in flight: scheduled, pending or running
	queued []*runEntry // queued runs, oldest first
}

// runKey is the unique key of a run within its job: its fire and
// attempt. Manual runs carry their ID, since two may be requested in the
// same instant, and chained runs their upstream run's, so that each is
// recorded once. Shards carry their index (the shards of one manual fire
// share its instant).
type runKey struct {
	sec     int64
	nsec    int32
	kind    keyKind
	attempt int
	shard   int    // the shard's index + 1; 0 for a run that is not a shard
	ref     string // the upstream run's ID (keyChained), the run's own (keyManual)
}

type keyKind uint8

const (
	keyFire        keyKind = iota // a fire of the trigger
	keyChained                    // started by another run's end
	keyManualShard                // a shard of a manual fire
	keyManual                     // a manual run
)

func keyOf(r *sundial.Run) runKey {
	k := runKey{sec: r.ScheduledAt.Unix(), nsec: int32(r.ScheduledAt.Nanosecond()), attempt: r.Attempt}
	switch {
	case r.Upstream != nil:
		k.kind, k.ref = keyChained, r.Upstream.ID
	case r.Manual && r.Shard != nil:
		k.kind = keyManualShard
	case r.Manual:
		k.kind, k.ref = keyManual, r.ID
	}
	if r.Shard != nil {
		k.shard = r.Shard.Index + 1
	}
	return k
}

// inFlight reports whether a run counts against its job's MaxInstances:
// it executes, or it is a shard of a broadcast fire waiting to start (a
// fire is in flight while any of its shards is).
func inFlight(r *sundial.Run) bool {
	return r.Status.Executing() || r.Status == sundial.StatusScheduled && r.Shard != nil
}

// New returns an empty store.
func New(opts Options) *Store {
	keep := sundial.DefaultRunsPerJob // until the scheduler's first PruneRuns
	byNotBefore := func(a, b *runEntry) bool { return a.run.NotBefore.Before(b.run.NotBefore) }
	return &Store{
		keep:          keep,
		waiting:       minHeap[*runEntry]{less: byNotBefore},
		workerWaiting: minHeap[*runEntry]{less: byNotBefore},
		workerTasks:   map[string]sundial.WorkerTask{},
		jobs:          newJobTable(),
		runs:          map[string]*runEntry{},
		orphans:       map[string]*history{},
		targets:       map[string]map[string]*runEntry{},
		nodes:         map[string]sundial.Node{},
		calendars:     map[string]sundial.Calendar{},
	}
}

// zone returns the store's copy of a location: a trigger loads its zone
// anew each time it is built, so that jobs that fired would otherwise each
// keep a copy of their zone's rules.
func (s *Store) zone(loc *time.Location) *time.Location {
	name := loc.String()
	if z, ok := s.zones[name]; ok {
		return z
	}
	if s.zones == nil {
		s.zones = map[string]*time.Location{}
	}
	s.zones[name] = loc
	return loc
}

func dueable(e *jobEntry) bool { return !e.paused && e.hasNext() }

// place puts the entry in, or takes it out of, the due heap of its task's
// kind.
func (s *Store) place(e *jobEntry) {
	_, worker := s.workerTasks[e.task.Value()]
	if e.index >= 0 && (e.worker != worker || !dueable(e)) {
		s.jobHeap(e.worker).remove(int(e.index))
	}
	e.worker = worker
	switch {
	case dueable(e) && e.index < 0:
		s.jobHeap(worker).push(e)
	case dueable(e):
		s.jobHeap(worker).fix(int(e.index))
	}
}

func (s *Store) jobHeap(worker bool) *jobHeap {
	if worker {
		return &s.workerDue
	}
	return &s.due
}

func (s *Store) runHeap(worker bool) *minHeap[*runEntry] {
	if worker {
		return &s.workerWaiting
	}
	return &s.waiting
}

// CreateJob implements sundial.Store.
func (s *Store) CreateJob(_ context.Context, job sundial.Job, now time.Time) (sundial.Job, error) {
	if job.ID == "" {
		return sundial.Job{}, errors.New("memstore: job ID is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	job.Version, job.CreatedAt, job.UpdatedAt = 1, now, now
	at, exists := s.jobs.place(job.ID)
	if exists {
		return sundial.Job{}, sundial.ErrJobExists
	}
	e := newJobEntry(&job, &s.enc, s.zone, s.lastTask) // a copy: it shares nothing with job that job's owner could change
	s.lastTask = e.task
	s.jobs.put(at, e)
	if h, ok := s.orphans[job.ID]; ok { // the runs of a job removed before
		e.hist = h
		delete(s.orphans, job.ID)
	}
	s.jobOrder = nil
	s.place(e)
	// What e.job() would return, without decoding what was just encoded:
	// a job that shares no memory with the caller's (Job.Clone copies
	// nothing when there are no slices or pointers to copy, but the whole
	// job, twice).
	if holdsReferences(&job) {
		job = job.Clone()
	}
	job.NextRunAt, job.CreatedAt, job.UpdatedAt = e.nextRunAt(), joined(e.createdSec, e.createdNsec), joined(e.updatedSec, e.updatedNsec)
	return job, nil
}

// holdsReferences reports whether the job holds slices or pointers: what a
// copy of it shares with it, and Job.Clone copies.
// TestHoldsReferences sets each such field of Job by reflection, so that
// one added to Job and forgotten here fails it.
func holdsReferences(j *sundial.Job) bool {
	o, t := &j.Options, &j.Trigger
	return j.Args != nil || j.Tags != nil || o.Coalesce != nil || o.Notify != nil || o.Then != nil ||
		t.Fields != nil || t.Triggers != nil || t.Calendar != nil
}

// UpdateJob implements sundial.Store.
func (s *Store) UpdateJob(_ context.Context, job sundial.Job, now time.Time) (sundial.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.jobs.get(job.ID)
	if e == nil {
		return sundial.Job{}, sundial.ErrJobNotFound
	}
	if e.version() != job.Version {
		return sundial.Job{}, sundial.ErrVersionConflict
	}
	job.Version, job.CreatedAt, job.UpdatedAt = job.Version+1, joined(e.createdSec, e.createdNsec), now
	job.ID = e.id()
	e.set(&job, &s.enc, s.zone)
	s.place(e)
	return e.job(), nil
}

// DeleteJob implements sundial.Store.
func (s *Store) DeleteJob(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.jobs.get(id)
	if e == nil {
		return sundial.ErrJobNotFound
	}
	if e.index >= 0 {
		s.jobHeap(e.worker).remove(int(e.index))
	}
	if e.hist != nil {
		s.orphans[id] = e.hist // runs stay when their job goes
	}
	s.jobs.remove(id)
	s.jobOrder = nil
	return nil
}

// GetJob implements sundial.Store.
func (s *Store) GetJob(_ context.Context, id string) (sundial.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.jobs.get(id)
	if e == nil {
		return sundial.Job{}, sundial.ErrJobNotFound
	}
	return e.job(), nil
}

// ListJobs implements sundial.Store.
func (s *Store) ListJobs(_ context.Context, f sundial.JobFilter) ([]sundial.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobOrder == nil {
		s.jobOrder = make([]string, 0, s.jobs.Len())
		for e := range s.jobs.all {
			s.jobOrder = append(s.jobOrder, e.id())
		}
		slices.Sort(s.jobOrder)
	}
	var out []sundial.Job
	start, _ := slices.BinarySearch(s.jobOrder, f.AfterID)
	for _, id := range s.jobOrder[start:] {
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		if j := s.jobs.get(id).job(); f.Match(j) {
			out = append(out, j)
		}
	}
	return out, nil
}

// NextWake implements sundial.Store.
func (s *Store) NextWake(_ context.Context, node string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	if !s.paused.IsZero() {
		return next, nil
	}
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if s.due.Len() > 0 {
		earlier(s.due.min().nextRunAt())
	}
	if s.waiting.Len() > 0 {
		earlier(s.waiting.items[0].run.NotBefore)
	}
	for _, e := range s.targets[node] {
		if e.run.Status == sundial.StatusScheduled {
			earlier(e.run.NotBefore)
		}
	}
	return next, nil
}

// Claim implements sundial.Store.
func (s *Store) Claim(_ context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.paused.IsZero() {
		return nil, sundial.ErrSchedulerPaused
	}
	now, limit := req.Now, req.Limit
	// The runs that wait for this node, whatever their queue (it was
	// chosen for them), then those that wait for any node of its queues.
	var mine []*runEntry
	for _, e := range s.targets[req.Node] {
		if e.run.Status == sundial.StatusScheduled && !e.run.NotBefore.After(now) {
			mine = append(mine, e)
		}
	}
	slices.SortFunc(mine, func(a, b *runEntry) int {
		return cmp.Or(a.run.NotBefore.Compare(b.run.NotBefore), cmp.Compare(a.run.ID, b.run.ID))
	})
	worker := len(req.Tasks) > 0
	if worker {
		mine = nil // a worker has no shards waiting for it
	}
	runDue := func(e *runEntry) bool { return !e.run.NotBefore.After(now) }
	runWanted := func(e *runEntry) bool {
		return inQueues(e.run.Queue, req.Queues) && (!worker || slices.Contains(req.Tasks, e.run.Task))
	}
	waitingRuns := append(mine[:min(len(mine), limit)], s.runHeap(worker).take(limit-min(len(mine), limit), runDue, runWanted)...)
	nowSec, nowNsec := split(now)
	jobDue := func(e *jobEntry) bool { return e.dueBy(nowSec, nowNsec) }
	jobWanted := func(e *jobEntry) bool {
		return (len(req.Queues) == 0 || inQueues(e.queue(), req.Queues)) && (!worker || slices.Contains(req.Tasks, e.task.Value()))
	}
	// Taken off the due heap; each goes back by place once planned.
	jobs := s.jobHeap(worker).takeInto(s.claimed[:0], limit-len(waitingRuns), jobDue, jobWanted)
	defer func() {
		clear(jobs)
		s.claimed = jobs[:0] // kept for the next claim
	}()
	var out []sundial.Run
	switch n := len(waitingRuns) + len(jobs); {
	case req.Buffer != nil:
		out = req.Buffer[:0]
	case n > 1:
		// Room for a run per item; the runs of one job alone are
		// returned in place.
		out = make([]sundial.Run, 0, n)
	}
	for _, e := range waitingRuns {
		s.setStatus(e, sundial.StatusPending) // before the lease: the indexes know the run by its node
		s.lease(&e.run, req)
		out = append(out, e.run.Clone())
	}
	for i, e := range jobs {
		id := e.id()
		active, queued := 0, false
		if h := e.hist; h != nil {
			active, queued = h.active, len(h.queued) > 0
		}
		// The plan gets a copy of the stored job, which it may keep.
		job := e.job()
		planned, runs := plan(job, active, queued)
		var err error
		switch {
		case planned.ID != id:
			err = fmt.Errorf("memstore: plan changed job ID %q to %q", id, planned.ID)
		case !planned.Paused && !planned.NextRunAt.IsZero() && !planned.NextRunAt.After(job.NextRunAt):
			err = fmt.Errorf("memstore: plan did not advance job %q past %s", id, job.NextRunAt)
		}
		if err != nil {
			for _, rest := range jobs[i:] {
				s.place(rest) // back in the heap as they were
			}
			return out, err
		}
		// A claim writes the job's schedule state only (see PlanFunc); the
		// version tracks the definition.
		e.setNext(planned.NextRunAt, s.zone)
		e.paused = planned.Paused
		if planned.PauseReason != job.PauseReason {
			job.PauseReason = planned.PauseReason
			e.setDef(&job, &s.enc)
		}
		s.place(e)
		// The plan's runs are the store's until Claim returns (see
		// PlanFunc): the ones to execute are returned in place (the store
		// keeps copies of its own).
		executing := runs[:0]
		for i := range runs {
			r := &runs[i]
			r.Queue = job.Queue // retries and queued runs stay in the job's queue
			if r.Status.Executing() {
				r.Status = sundial.StatusPending
				s.lease(r, req)
			}
			owner := e
			if r.JobID != id {
				owner = s.jobs.get(r.JobID)
			}
			if err := s.insertRunOf(r, owner); err != nil {
				continue // this fire was claimed before; never twice
			}
			if r.Status.Executing() {
				executing = append(executing, *r)
			}
		}
		if out == nil {
			out = executing
		} else {
			out = append(out, executing...)
		}
	}
	return out, nil
}

// lease gives a claimed run to the claiming incarnation (its status is the
// caller's to set).
func (s *Store) lease(r *sundial.Run, req sundial.ClaimRequest) {
	r.ClaimedAt = req.Now
	r.Node, r.Incarnation, r.LeaseUntil = req.Node, req.Incarnation, req.LeaseUntil
}

// insertRun adds a copy of a run and its indexes; the caller holds the
// lock.
func (s *Store) insertRun(r *sundial.Run) error {
	return s.insertRunOf(r, s.jobs.get(r.JobID))
}

// insertRunOf is insertRun with the entry of the run's job, nil when no
// job with its ID is stored.
func (s *Store) insertRunOf(r *sundial.Run, owner *jobEntry) error {
	if r.ID == "" || r.JobID == "" {
		return errors.New("memstore: run ID and job ID are required")
	}
	if _, ok := s.runs[r.ID]; ok {
		return sundial.ErrDuplicateRun
	}
	k := keyOf(r)
	var h *history
	if owner != nil {
		h = owner.hist
	} else {
		h = s.orphans[r.JobID]
	}
	if h == nil {
		h = s.addHistory(r.JobID, owner)
	} else if h.has(k) {
		return sundial.ErrDuplicateRun
	}
	var e *runEntry
	if n := len(s.spare); n > 0 {
		e, s.spare[n-1], s.spare = s.spare[n-1], nil, s.spare[:n-1]
	} else {
		e = new(runEntry)
	}
	*e = runEntry{hist: h, index: -1, exec: -1}
	e.own(r)
	s.runs[r.ID] = e
	h.add(e, k)
	status := r.Status
	e.run.Status = ""
	s.setStatus(e, status)
	return nil
}

// setStatus moves a run to a new status and keeps every index in step.
// The indexes know a waiting run by its node: change a run's Node only
// while it is in none (executing or ended).
func (s *Store) setStatus(e *runEntry, status sundial.RunStatus) {
	old := e.run.Status
	s.unindex(e)
	e.run.Status = status
	s.index(e)
	if !status.Active() && old.Active() || old == "" && !status.Active() {
		s.prune(e.hist)
	}
}

// ended reports whether a run counts as ended for retention (a run being
// inserted has no status yet).
func ended(r *sundial.Run) bool { return r.Status != "" && !r.Status.Active() }

// index adds a run to the indexes its status and node put it in.
func (s *Store) index(e *runEntry) {
	r, h := &e.run, e.hist
	if inFlight(r) {
		h.active++
		if r.Shard != nil {
			h.shards++
		}
	}
	if ended(r) {
		h.ended++
	}
	if r.Status.Executing() {
		e.exec = len(s.executing)
		s.executing = append(s.executing, e)
	}
	switch {
	case r.Status == sundial.StatusQueued:
		h.queued = append(h.queued, e)
	case r.Status == sundial.StatusScheduled && r.Node == "":
		_, e.worker = s.workerTasks[r.Task]
		heap.Push(s.runHeap(e.worker), e)
	}
	if (r.Status == sundial.StatusScheduled || r.Status == sundial.StatusQueued) && r.Node != "" {
		if s.targets[r.Node] == nil {
			s.targets[r.Node] = map[string]*runEntry{}
		}
		s.targets[r.Node][r.ID] = e
	}
}

// unindex takes a run out of every index.
func (s *Store) unindex(e *runEntry) {
	r, h := &e.run, e.hist
	if inFlight(r) {
		h.active--
		if r.Shard != nil {
			h.shards--
		}
	}
	if ended(r) {
		h.ended--
	}
	if e.exec >= 0 {
		last := s.executing[len(s.executing)-1]
		s.executing[e.exec], last.exec = last, e.exec
		s.executing[len(s.executing)-1] = nil
		s.executing = s.executing[:len(s.executing)-1]
		e.exec = -1
	}
	if r.Status == sundial.StatusQueued {
		h.queued = slices.DeleteFunc(h.queued, func(q *runEntry) bool { return q == e })
		if len(h.queued) == 0 {
			h.queued = nil
		}
	}
	if e.index >= 0 {
		heap.Remove(s.runHeap(e.worker), e.index)
	}
	if m := s.targets[r.Node]; m[r.ID] == e {
		delete(m, r.ID)
		if len(m) == 0 {
			delete(s.targets, r.Node)
		}
	}
}

// prune drops the oldest ended runs of a job beyond the retention.
func (s *Store) prune(h *history) {
	if s.keep <= 0 || h.ended <= s.keep {
		return
	}
	drop := h.ended - s.keep
	// The oldest runs are the ones to go, and they have mostly ended:
	// take them off the front, then look further only past an active one.
	for drop > 0 && ended(&h.runs[0].run) {
		s.forget(h.runs[0])
		h.runs[0] = nil
		h.runs = h.runs[1:]
		drop--
	}
	if drop > 0 {
		s.dropRuns(h, func(e *runEntry) bool {
			if drop > 0 && ended(&e.run) {
				drop--
				return true
			}
			return false
		})
	}
	if len(h.runs) == 0 {
		s.dropHistory(h)
	}
}

// historyOf returns the history of the job with the ID, nil when it has
// none.
func (s *Store) historyOf(jobID string) *history {
	if e := s.jobs.get(jobID); e != nil {
		return e.hist
	}
	return s.orphans[jobID]
}

// addHistory starts the history of a job at its first run; owner is the
// job's entry, nil when no job with its ID is stored.
func (s *Store) addHistory(jobID string, owner *jobEntry) *history {
	h := &history{job: jobID, pos: len(s.histories)}
	s.histories = append(s.histories, h)
	if owner != nil {
		owner.hist = h
	} else {
		s.orphans[jobID] = h
	}
	return h
}

// dropHistory forgets a history whose last run was pruned.
func (s *Store) dropHistory(h *history) {
	if e := s.jobs.get(h.job); e != nil && e.hist == h {
		e.hist = nil
	} else {
		delete(s.orphans, h.job)
	}
	last := s.histories[len(s.histories)-1]
	s.histories[h.pos], last.pos = last, h.pos
	s.histories[len(s.histories)-1] = nil
	s.histories = s.histories[:len(s.histories)-1]
}

// dropRuns forgets the runs of h that gone says go, in h's order, and
// keeps the others in place; it returns how many went.
func (s *Store) dropRuns(h *history, gone func(*runEntry) bool) int {
	kept := h.runs[:0]
	for _, e := range h.runs {
		if gone(e) {
			s.forget(e)
			continue
		}
		kept = append(kept, e)
	}
	n := len(h.runs) - len(kept)
	clear(h.runs[len(kept):])
	h.runs = kept
	return n
}

// forget removes an ended run from the store; the caller takes it out of
// its history's runs. The entry becomes a spare for the next run inserted
// (it is left as it was: a caller may still read the run it just ended).
func (s *Store) forget(e *runEntry) {
	e.hist.ended--
	delete(s.runs, e.run.ID)
	if e.hist.keys != nil {
		delete(e.hist.keys, keyOf(&e.run))
	}
	if len(s.spare) < maxSpare {
		s.spare = append(s.spare, e)
	}
}

// maxSpare bounds the entries of pruned runs kept for reuse. A store that
// keeps a few runs per job prunes about one run per run it inserts: reusing
// the entries spares the collector an object the size of a run per fire.
const maxSpare = 1024

// keysFrom is the number of runs from which a history indexes their keys.
const keysFrom = 8

// has reports whether the history holds a run with the key.
func (h *history) has(k runKey) bool {
	if h.keys != nil {
		_, ok := h.keys[k]
		return ok
	}
	for _, e := range h.runs {
		if keyOf(&e.run) == k {
			return true
		}
	}
	return false
}

// add appends a new run with key k.
func (h *history) add(e *runEntry, k runKey) {
	h.runs = append(h.runs, e)
	switch {
	case h.keys != nil:
		h.keys[k] = e
	case len(h.runs) > keysFrom:
		h.keys = make(map[runKey]*runEntry, 2*len(h.runs))
		for _, e := range h.runs {
			h.keys[keyOf(&e.run)] = e
		}
	}
}

// CreateRun implements sundial.Store.
func (s *Store) CreateRun(_ context.Context, run sundial.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insertRun(&run)
}

// UpdateRun implements sundial.Store.
func (s *Store) UpdateRun(_ context.Context, run sundial.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateRun(run)
}

var _ sundial.RunBatchUpdater = (*Store)(nil)

// UpdateRuns implements sundial.RunBatchUpdater.
func (s *Store) UpdateRuns(_ context.Context, runs []sundial.Run) ([]error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	answers := make([]error, len(runs))
	for i, r := range runs {
		answers[i] = s.updateRun(r)
	}
	return answers, nil
}

func (s *Store) updateRun(run sundial.Run) error {
	e, ok := s.runs[run.ID]
	if !ok {
		return sundial.ErrRunNotFound
	}
	if keyOf(&run) != keyOf(&e.run) {
		return fmt.Errorf("memstore: run %q: job, fire time, attempt and manual flag cannot change", run.ID)
	}
	if !e.run.Status.Executing() || e.run.Incarnation != run.Incarnation {
		return sundial.ErrRunLost // fenced: no longer the writer's run
	}
	// What the holder does not own: who holds it, and whether a cancel
	// was asked for meanwhile.
	run.Node, run.Incarnation, run.LeaseUntil = e.run.Node, e.run.Incarnation, e.run.LeaseUntil
	run.CancelRequested = e.run.CancelRequested
	status := run.Status
	run.Status = e.run.Status // setStatus moves it
	e.own(&run)
	s.setStatus(e, status)
	return nil
}

// own sets the entry's run to a copy of r that shares no memory with it:
// Run.Clone when r holds references, which copies the whole run twice
// over even when it holds none.
func (e *runEntry) own(r *sundial.Run) {
	if runHoldsReferences(r) {
		e.run = r.Clone()
		return
	}
	e.run = *r
}

// runHoldsReferences reports whether the run holds slices or pointers:
// what a copy of it shares with it, and Run.Clone copies.
// TestHoldsReferences sets each such field of Run by reflection.
func runHoldsReferences(r *sundial.Run) bool {
	return r.Args != nil || r.Result != nil || r.Exit != nil || r.Upstream != nil || r.Shard != nil
}

// GetRun implements sundial.Store.
func (s *Store) GetRun(_ context.Context, id string) (sundial.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.runs[id]
	if !ok {
		return sundial.Run{}, sundial.ErrRunNotFound
	}
	return e.run.Clone(), nil
}

// ListRuns implements sundial.Store.
func (s *Store) ListRuns(_ context.Context, f sundial.RunFilter) ([]sundial.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sundial.Run
	add := func(e *runEntry) {
		if f.Match(e.run) {
			out = append(out, e.run.Clone())
		}
	}
	if f.JobID != "" {
		if h := s.historyOf(f.JobID); h != nil {
			for _, e := range h.runs {
				add(e)
			}
		}
	} else {
		for _, e := range s.runs {
			add(e)
		}
	}
	slices.SortFunc(out, func(a, b sundial.Run) int {
		if c := b.ScheduledAt.Compare(a.ScheduledAt); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Attempt, a.Attempt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// PromoteQueued implements sundial.Store.
func (s *Store) PromoteQueued(_ context.Context, jobID string, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.historyOf(jobID)
	if h == nil || len(h.queued) == 0 {
		return false, nil
	}
	first := h.queued[0]
	if first.run.Shard == nil {
		first.run.NotBefore = now
		s.setStatus(first, sundial.StatusScheduled)
		return true, nil
	}
	if h.shards > 0 {
		return false, nil // a broadcast fire is in flight
	}
	var fire []*runEntry
	for _, e := range h.queued {
		if e.run.Shard != nil && e.run.ScheduledAt.Equal(first.run.ScheduledAt) && e.run.Attempt == first.run.Attempt {
			fire = append(fire, e)
		}
	}
	for _, e := range fire {
		e.run.NotBefore = now
		s.setStatus(e, sundial.StatusScheduled)
	}
	return true, nil
}

// minHeap is a container/heap of entries that know their own position,
// so that an entry can be fixed or removed in O(log n).
type minHeap[T interface{ setIndex(int) }] struct {
	items []T
	less  func(a, b T) bool
}

func (h *minHeap[T]) Len() int           { return len(h.items) }
func (h *minHeap[T]) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *minHeap[T]) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].setIndex(i)
	h.items[j].setIndex(j)
}
func (h *minHeap[T]) Push(x any) {
	e := x.(T)
	e.setIndex(len(h.items))
	h.items = append(h.items, e)
}
func (h *minHeap[T]) Pop() any {
	var zero T
	e := h.items[len(h.items)-1]
	h.items[len(h.items)-1] = zero
	h.items = h.items[:len(h.items)-1]
	e.setIndex(-1)
	return e
}

// take removes from the heap, earliest first, up to limit of the due
// entries that are wanted, and returns them; the caller puts back those
// that stay (their index is -1). Due entries that are not wanted (other
// queues) are stepped over and stay.
func (h *minHeap[T]) take(limit int, due, wanted func(T) bool) []T {
	var out, passed []T
	for len(out) < limit && h.Len() > 0 && due(h.items[0]) {
		e := heap.Pop(h).(T)
		if wanted(e) {
			out = append(out, e)
		} else {
			passed = append(passed, e)
		}
	}
	for _, e := range passed {
		heap.Push(h, e)
	}
	return out
}

func (e *runEntry) setIndex(i int) { e.index = i }

// RegisterNode implements sundial.Store.
func (s *Store) RegisterNode(_ context.Context, node sundial.Node, now time.Time) ([]sundial.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	node.Queues, node.Facts, node.Tasks = slices.Clone(node.Queues), maps.Clone(node.Facts), slices.Clone(node.Tasks)
	s.nodes[node.ID] = node
	var orphans []*runEntry
	for _, e := range s.executing {
		if e.run.Node == node.ID && e.run.Incarnation != node.Incarnation {
			orphans = append(orphans, e)
		}
	}
	var out []sundial.Run
	for _, e := range orphans { // reaping changes s.executing
		s.reap(e, now, fmt.Sprintf("node %s restarted (incarnation %s replaced %s)", node.ID, node.Incarnation, e.run.Incarnation))
		out = append(out, e.run.Clone())
	}
	return out, nil
}

// reap ends an executing run whose holder is gone: lost, or canceled when a
// cancel was asked for.
func (s *Store) reap(e *runEntry, now time.Time, reason string) {
	e.run.EndedAt, e.run.Error = now, reason
	if e.run.CancelRequested {
		e.run.Error = "canceled on request; " + reason
		s.setStatus(e, sundial.StatusCanceled)
		return
	}
	s.setStatus(e, sundial.StatusLost)
}

// Heartbeat implements sundial.Store.
func (s *Store) Heartbeat(_ context.Context, req sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res sundial.HeartbeatResult
	if n, ok := s.nodes[req.Node]; ok && n.Incarnation == req.Incarnation {
		n.LastSeen, n.Standby, n.Busy = req.Now, req.Standby, len(req.Runs)
		s.nodes[req.Node] = n
	} else {
		res.Replaced = true
	}
	if !req.Standby {
		for _, e := range s.targets[req.Node] {
			e.run.LeaseUntil = req.LeaseUntil
		}
	}
	for _, id := range req.Runs {
		e, ok := s.runs[id]
		if ok && e.run.Incarnation == req.Incarnation && e.run.Status.Executing() {
			e.run.LeaseUntil = req.LeaseUntil
			res.Held = append(res.Held, e.run.ID)
			if e.run.CancelRequested {
				res.Cancel = append(res.Cancel, e.run.ID)
			}
		}
	}
	return res, nil
}

// ReapLost implements sundial.Store.
func (s *Store) ReapLost(_ context.Context, now time.Time) ([]sundial.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sundial.Run
	var lapsed []*runEntry
	for _, e := range s.executing { // not every run: the reaper runs under the lock every few seconds
		if !e.run.LeaseUntil.IsZero() && e.run.LeaseUntil.Before(now) {
			lapsed = append(lapsed, e)
		}
	}
	for _, e := range lapsed { // reaping changes s.executing
		s.reap(e, now, fmt.Sprintf("node %s stopped renewing its lease (until %s)", e.run.Node, e.run.LeaseUntil.Format(time.RFC3339Nano)))
		out = append(out, e.run.Clone())
	}
	var unclaimed []*runEntry
	for _, m := range s.targets {
		for _, e := range m {
			if e.run.Status == sundial.StatusScheduled && !e.run.LeaseUntil.IsZero() && e.run.LeaseUntil.Before(now) {
				unclaimed = append(unclaimed, e)
			}
		}
	}
	for _, e := range unclaimed {
		s.reap(e, now, fmt.Sprintf("node %s did not take it by %s", e.run.Node, e.run.LeaseUntil.Format(time.RFC3339Nano)))
		out = append(out, e.run.Clone())
	}
	return out, nil
}

// CancelRun implements sundial.Store.
func (s *Store) CancelRun(_ context.Context, id string, now time.Time) (sundial.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.runs[id]
	switch {
	case !ok:
		return sundial.Run{}, sundial.ErrRunNotFound
	case e.run.Status.Executing():
		e.run.CancelRequested = true
	case e.run.Status.Active():
		e.run.EndedAt, e.run.Error = now, "canceled on request before it started"
		s.setStatus(e, sundial.StatusCanceled)
	default:
		return e.run.Clone(), sundial.ErrRunEnded
	}
	return e.run.Clone(), nil
}

// SetPaused implements sundial.Store.
func (s *Store) SetPaused(_ context.Context, paused bool, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !paused:
		s.paused = time.Time{}
	case s.paused.IsZero():
		s.paused = now
	}
	return nil
}

// Paused implements sundial.Store.
func (s *Store) Paused(context.Context) (bool, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.paused.IsZero(), s.paused, nil
}

// ListNodes implements sundial.Store.
func (s *Store) ListNodes(context.Context) ([]sundial.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sundial.Node, 0, len(s.nodes))
	for _, n := range s.nodes {
		n.Queues, n.Facts, n.Tasks = slices.Clone(n.Queues), maps.Clone(n.Facts), slices.Clone(n.Tasks)
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b sundial.Node) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// PruneRuns implements sundial.Store.
func (s *Store) PruneRuns(_ context.Context, olderThan time.Time, keepPerJob int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The bound also holds from now on, as each run ends: memory is what an
	// in-memory history costs.
	s.keep = max(keepPerJob, 0)
	pruned := 0
	// Backwards: dropping a history moves the last one into its place.
	for i := len(s.histories) - 1; i >= 0; i-- {
		h := s.histories[i]
		runs := slices.Clone(h.runs)
		// Newest fire first, as ListRuns orders them.
		slices.SortFunc(runs, func(a, b *runEntry) int {
			if c := b.run.ScheduledAt.Compare(a.run.ScheduledAt); c != 0 {
				return c
			}
			return cmp.Compare(b.run.Attempt, a.run.Attempt)
		})
		drop := map[*runEntry]bool{}
		for i, e := range runs {
			if e.run.Status.Active() {
				continue
			}
			if (keepPerJob > 0 && i >= keepPerJob) || (!olderThan.IsZero() && e.run.EndedAt.Before(olderThan)) {
				drop[e] = true
			}
		}
		if len(drop) == 0 {
			continue
		}
		pruned += s.dropRuns(h, func(e *runEntry) bool { return drop[e] })
		if len(h.runs) == 0 {
			s.dropHistory(h)
		}
	}
	return pruned, nil
}

// inQueues reports whether queue is one of queues (all when empty).
func inQueues(queue string, queues []string) bool {
	return len(queues) == 0 || slices.Contains(queues, queue)
}

var _ sundial.RunOutputWriter = (*Store)(nil)

// UpdateRunOutput implements sundial.RunOutputWriter.
func (s *Store) UpdateRunOutput(_ context.Context, runID, incarnation, output string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.runs[runID]; ok && e.run.Status.Executing() && e.run.Incarnation == incarnation {
		e.run.Output = output
	}
	return nil
}
