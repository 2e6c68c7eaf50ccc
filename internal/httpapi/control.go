package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sundialhq/sundial"
)

// The operator's controls over what runs: cancel a run, the runs a job's
// pause or removal leaves going (and cancel them), the cluster-wide pause,
// and pause, resume and run-now of many jobs at once.

// RunRef is a run of a job that has not ended: where it is and on which
// node, as a job's pause or removal found it (and left it, or canceled it).
type RunRef struct {
	ID     string            `json:"id"`
	Status sundial.RunStatus `json:"status"`
	// Node is the node that claimed it (pending or running).
	Node      string    `json:"node,omitempty"`
	ClaimedAt time.Time `json:"claimed_at,omitzero"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// CancelRequested: its node has been asked to stop it.
	CancelRequested bool `json:"cancel_requested,omitempty"`
}

func refOf(r sundial.Run) RunRef {
	return RunRef{ID: r.ID, Status: r.Status, Node: r.Node, ClaimedAt: r.ClaimedAt, StartedAt: r.StartedAt, CancelRequested: r.CancelRequested}
}

// PausedJob is the answer to a job's pause: the job, and its runs that had
// not ended (still running unless cancel_running=true canceled them).
type PausedJob struct {
	JobView
	RunningRuns []RunRef `json:"running_runs"`
}

// JobRemoval is the answer to a job's removal: its runs that had not ended
// (still running unless cancel_running=true canceled them). The history
// of its runs stays.
type JobRemoval struct {
	ID          string   `json:"id"`
	RunningRuns []RunRef `json:"running_runs"`
}

// cancelRunningParam reads ?cancel_running=true|false (default false).
func cancelRunningParam(r *http.Request) (bool, error) {
	b, err := boolParam(r, "cancel_running")
	if err != nil || b == nil {
		return false, err
	}
	return *b, nil
}

// activeRuns returns the job's runs that have not ended: executing on a
// node (pending, running), then waiting to start (scheduled retries,
// queued behind a running instance).
func (a *API) activeRuns(ctx context.Context, jobID string) ([]sundial.Run, error) {
	runs, err := a.s.RunningRuns(ctx, jobID)
	if err != nil {
		return nil, err
	}
	for _, st := range []sundial.RunStatus{sundial.StatusScheduled, sundial.StatusQueued} {
		more, err := a.s.Runs(ctx, sundial.RunFilter{JobID: jobID, Status: st})
		if err != nil {
			return nil, err
		}
		runs = append(runs, more...)
	}
	return runs, nil
}

// settleRuns returns the job's runs that have not ended after a change to
// the job (via names it for the audit log) and, when cancel is set,
// cancels each of them first, auditing every cancellation. A run that
// ended meanwhile is left out.
func (a *API) settleRuns(ctx context.Context, jobID string, cancel bool, via string) ([]RunRef, error) {
	runs, err := a.activeRuns(ctx, jobID)
	if err != nil {
		return nil, err
	}
	out := make([]RunRef, 0, len(runs))
	for _, r := range runs {
		if cancel {
			c, err := a.s.CancelRun(ctx, r.ID)
			switch {
			case errors.Is(err, sundial.ErrRunEnded), errors.Is(err, sundial.ErrRunNotFound):
				continue
			case err != nil:
				return nil, err
			}
			a.audit(ctx, "run.cancel", c.ID, cancelDetail(c, via))
			r = c
		}
		out = append(out, refOf(r))
	}
	return out, nil
}

// cancelDetail is the audit detail of a run's cancellation.
func cancelDetail(r sundial.Run, via string) map[string]any {
	d := map[string]any{"job_id": r.JobID, "status": r.Status}
	if r.CancelRequested && r.Status != sundial.StatusCanceled {
		d["status"] = "cancel_requested"
		d["node"] = r.Node
	}
	if via != "" {
		d["via"] = via
	}
	return d
}

// cancelRun cancels a run: 200 when it was canceled at once (it had not
// started), 202 when its node was asked to stop it; 409 when it had ended.
func (a *API) cancelRun(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	run, err := a.s.CancelRun(r.Context(), id)
	if errors.Is(err, sundial.ErrRunEnded) {
		return fmt.Errorf("run %q has already ended: %s at %s: %w", id, run.Status, run.EndedAt.UTC().Format(time.RFC3339), sundial.ErrRunEnded)
	}
	if err != nil {
		return err
	}
	a.audit(r.Context(), "run.cancel", run.ID, cancelDetail(run, ""))
	w.Header().Set("Location", v1+"/runs/"+run.ID)
	status := http.StatusAccepted
	if run.Status == sundial.StatusCanceled {
		status = http.StatusOK
	}
	return writeJSON(w, status, run)
}

// SchedulerState is the cluster-wide pause, as the store keeps it.
type SchedulerState struct {
	// Paused is true while no node fires jobs or starts retries; runs in
	// progress go on. Since is when the pause began.
	Paused bool      `json:"paused"`
	Since  time.Time `json:"since,omitzero"`
	// Changed is set on a pause or resume that changed the state (false:
	// it was so already).
	Changed *bool `json:"changed,omitempty"`
}

func (a *API) schedulerState(w http.ResponseWriter, r *http.Request) error {
	paused, since, err := a.s.Paused(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, SchedulerState{Paused: paused, Since: since})
}

func (a *API) pauseScheduler(w http.ResponseWriter, r *http.Request) error {
	return a.setSchedulerPaused(w, r, true)
}

func (a *API) resumeScheduler(w http.ResponseWriter, r *http.Request) error {
	return a.setSchedulerPaused(w, r, false)
}

// setSchedulerPaused pauses or resumes every node sharing the store. A
// request that finds the state as asked changes (and audits) nothing.
func (a *API) setSchedulerPaused(w http.ResponseWriter, r *http.Request, pause bool) error {
	ctx := r.Context()
	paused, _, err := a.s.Paused(ctx)
	if err != nil {
		return err
	}
	changed := paused != pause
	if changed {
		action := "scheduler.resume"
		if pause {
			action, err = "scheduler.pause", a.s.Pause(ctx)
		} else {
			err = a.s.Resume(ctx)
		}
		if err != nil {
			return err
		}
		a.audit(ctx, action, "cluster", nil)
	}
	paused, since, err := a.s.Paused(ctx)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, SchedulerState{Paused: paused, Since: since, Changed: &changed})
}

// bulkAction is what a bulk route does to each selected job.
type bulkAction string

const (
	bulkPause  bulkAction = "pause"
	bulkResume bulkAction = "resume"
	bulkRun    bulkAction = "run"
)

// BulkSelector says which jobs a bulk action took: those with the tag and
// in the queue (both when both are given), or every job (all).
type BulkSelector struct {
	Tag   string  `json:"tag,omitempty"`
	Queue *string `json:"queue,omitempty"`
	All   bool    `json:"all,omitempty"`
}

// BulkResult is what a bulk action did to one job.
type BulkResult struct {
	ID string `json:"id"`
	// Outcome is "paused", "resumed" or "started" (a run now), "unchanged"
	// (it was paused, or active, already) or "failed".
	Outcome string `json:"outcome"`
	// RunID is the run a run-now started.
	RunID string `json:"run_id,omitempty"`
	// Error and Status say why the action failed for this job, and the
	// HTTP status the single-job route would have answered.
	Error  string `json:"error,omitempty"`
	Status int    `json:"status,omitempty"`
	// RunningRuns are a paused job's runs that had not ended.
	RunningRuns []RunRef `json:"running_runs,omitempty"`
}

// BulkAnswer is the answer of a bulk action: one result per selected job,
// by job ID, and the counts.
type BulkAnswer struct {
	Action   string       `json:"action"`
	Selector BulkSelector `json:"selector"`
	Matched  int          `json:"matched"`
	Changed  int          `json:"changed"`
	Failed   int          `json:"failed"`
	Results  []BulkResult `json:"results"`
}

// bulkSelector reads ?tag= &queue= &all=; without a tag or a queue it
// needs all=true, so that nobody acts on every job by accident.
func bulkSelector(r *http.Request) (BulkSelector, error) {
	q := r.URL.Query()
	sel := BulkSelector{Tag: q.Get("tag")}
	if q.Has("queue") {
		queue := q.Get("queue")
		sel.Queue = &queue
	}
	all, err := boolParam(r, "all")
	if err != nil {
		return sel, err
	}
	sel.All = all != nil && *all
	if sel.Tag == "" && sel.Queue == nil && !sel.All {
		return sel, badInput("all", "no jobs selected: give tag or queue (or both), or all=true to act on every job")
	}
	return sel, nil
}

// bulk pauses, resumes or runs now every job the selector takes, each on
// its own: a job that fails is reported and the others go on. Every change
// is audited per job, with the selector.
func (a *API) bulk(action bulkAction) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sel, err := bulkSelector(r)
		if err != nil {
			return err
		}
		cancel, err := cancelRunningParam(r)
		if err != nil {
			return err
		}
		if cancel && action != bulkPause {
			return badInput("cancel_running", "only a pause can cancel running runs")
		}
		ctx := r.Context()
		jobs, err := a.s.Jobs(ctx, sundial.JobFilter{Tag: sel.Tag, Queue: sel.Queue})
		if err != nil {
			return err
		}
		out := BulkAnswer{Action: string(action), Selector: sel, Matched: len(jobs), Results: make([]BulkResult, 0, len(jobs))}
		detail := map[string]any{"bulk": sel}
		if cancel {
			detail["cancel_running"] = true
		}
		for _, j := range jobs {
			res := BulkResult{ID: j.ID}
			var err error
			switch {
			case action == bulkResume && !j.Paused:
				res.Outcome = "unchanged"
			case action == bulkPause:
				// A job paused already is unchanged, but its runs are
				// listed (and canceled, when asked) all the same.
				res.Outcome = "unchanged"
				if !j.Paused {
					if _, err = a.s.PauseJob(ctx, j.ID); err != nil {
						res.Outcome = ""
						break
					}
					res.Outcome = "paused"
					a.audit(ctx, "job.pause", j.ID, detail)
				}
				if res.RunningRuns, err = a.settleRuns(ctx, j.ID, cancel, "job.pause"); err != nil {
					err = fmt.Errorf("its runs could not be listed or canceled: %w", err)
				}
			case action == bulkResume:
				if _, err = a.s.ResumeJob(ctx, j.ID); err == nil {
					res.Outcome = "resumed"
					a.audit(ctx, "job.resume", j.ID, detail)
				}
			default:
				var run sundial.Run
				if run, err = a.s.RunNow(ctx, j.ID, nil); err == nil {
					res.Outcome, res.RunID = "started", run.ID
					a.audit(ctx, "job.run", j.ID, map[string]any{"run_id": run.ID, "bulk": sel})
				}
			}
			if err != nil {
				err = a.explainTask(err)
				res.Error = err.Error()
				res.Status, _, _ = classify(err)
				if res.Status == http.StatusInternalServerError {
					a.log.Error("bulk action failed for a job", "action", action, "job_id", j.ID, "err", err)
					res.Error = "the server could not complete this for the job; its log has the cause"
				}
				if res.Outcome == "" {
					res.Outcome = "failed"
				}
				out.Failed++
			}
			if res.Outcome != "unchanged" && res.Outcome != "failed" && res.Outcome != "" {
				out.Changed++
			}
			out.Results = append(out.Results, res)
		}
		return writeJSON(w, http.StatusOK, out)
	}
}
