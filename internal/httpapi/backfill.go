package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
)

// Backfills and retries: runs recorded for past fires on request.

func (a *API) registerBackfill() {
	p := a.writeProblem
	operator := admin.RoleOperator
	a.handle("POST", v1+"/jobs/{id}/backfill", operator, p, a.backfill)
	a.handle("GET", v1+"/backfills/{id}", admin.RoleViewer, p, a.backfillProgress)
	a.handle("POST", v1+"/backfills/{id}/cancel", operator, p, a.cancelBackfill)
	a.handle("POST", v1+"/runs/{id}/retry", operator, p, a.retryRun)
}

// BackfillRequest asks for a run for every fire of a job in a past range.
type BackfillRequest struct {
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	MaxConcurrent int       `json:"max_concurrent,omitempty"`
	Rerun         bool      `json:"rerun,omitempty"`
}

// BackfillProgress is a backfill's runs counted by status.
type BackfillProgress struct {
	ID    string `json:"id"`
	JobID string `json:"job_id,omitempty"`
	// Runs counts the backfill's runs, retries included; Statuses splits
	// them by status.
	Runs     int                       `json:"runs"`
	Statuses map[sundial.RunStatus]int `json:"statuses"`
	// Done is true once every run has ended.
	Done bool `json:"done"`
	// Recorded and Skipped are set on the answer that starts a backfill:
	// fires recorded, and fires skipped because they had a run already.
	Recorded int `json:"recorded,omitempty"`
	Skipped  int `json:"skipped,omitempty"`
}

func (a *API) backfill(w http.ResponseWriter, r *http.Request) error {
	var req BackfillRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	rep, err := a.s.Backfill(r.Context(), id, req.From, req.To, sundial.BackfillOptions{MaxConcurrent: req.MaxConcurrent, Rerun: req.Rerun})
	if err != nil {
		return err
	}
	a.audit(r.Context(), "job.backfill", id, map[string]any{"backfill": rep.ID, "from": req.From, "to": req.To,
		"recorded": len(rep.Runs), "skipped": len(rep.Skipped), "rerun": req.Rerun})
	p := progressOf(rep.ID, rep.Runs)
	p.JobID, p.Recorded, p.Skipped = id, len(rep.Runs), len(rep.Skipped)
	w.Header().Set("Location", v1+"/backfills/"+rep.ID)
	return writeJSON(w, http.StatusCreated, p)
}

func progressOf(id string, runs []sundial.Run) BackfillProgress {
	p := BackfillProgress{ID: id, Runs: len(runs), Statuses: map[sundial.RunStatus]int{}, Done: true}
	for _, r := range runs {
		p.JobID = r.JobID
		p.Statuses[r.Status]++
		p.Done = p.Done && !r.Status.Active()
	}
	return p
}

func (a *API) backfillProgress(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	runs, err := a.s.Runs(r.Context(), sundial.RunFilter{Backfill: id})
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return fmt.Errorf("backfill %q: no runs: %w", id, sundial.ErrRunNotFound)
	}
	return writeJSON(w, http.StatusOK, progressOf(id, runs))
}

func (a *API) cancelBackfill(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	n, err := a.s.CancelBackfill(r.Context(), id)
	if err != nil {
		return err
	}
	a.audit(r.Context(), "backfill.cancel", id, map[string]any{"canceled": n})
	return writeJSON(w, http.StatusOK, map[string]int{"canceled": n})
}

func (a *API) retryRun(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	run, err := a.s.RetryRun(r.Context(), id)
	if err != nil {
		return err
	}
	a.audit(r.Context(), "run.retry", id, map[string]any{"run": run.ID, "attempt": run.Attempt})
	w.Header().Set("Location", v1+"/runs/"+run.ID)
	return writeJSON(w, http.StatusCreated, run)
}
