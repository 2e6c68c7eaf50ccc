package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/apsched"
)

// The Flask-APScheduler-compatible routes: the same 13 routes, methods,
// status codes and bodies as Flask-APScheduler's API, so that tooling
// written for it works unchanged. Jobs are APScheduler job dicts; `func`
// names a task. Errors are {"error_message": "…"}, with 400 (where the
// original answers 500) for bad input.

func (a *API) registerFlask() {
	e := a.writeFlaskError
	p := a.prefix
	viewer, operator, adm := admin.RoleViewer, admin.RoleOperator, admin.RoleAdmin
	a.handle("GET", p, viewer, e, a.flaskInfo)
	a.handle("POST", p+"/pause", adm, e, a.flaskPause)
	a.handle("POST", p+"/resume", adm, e, a.flaskResume)
	a.handle("POST", p+"/start", adm, e, a.flaskStart)
	a.handle("POST", p+"/shutdown", adm, e, a.flaskShutdown)
	a.handle("GET", p+"/jobs", viewer, e, a.flaskListJobs)
	a.handle("POST", p+"/jobs", adm, e, a.flaskAddJob)
	a.handle("GET", p+"/jobs/{id}", viewer, e, a.flaskGetJob)
	a.handle("PATCH", p+"/jobs/{id}", adm, e, a.flaskUpdateJob)
	a.handle("DELETE", p+"/jobs/{id}", adm, e, a.flaskDeleteJob)
	a.handle("POST", p+"/jobs/{id}/pause", operator, e, a.flaskPauseJob)
	a.handle("POST", p+"/jobs/{id}/resume", operator, e, a.flaskResumeJob)
	a.handle("POST", p+"/jobs/{id}/run", operator, e, a.flaskRunJob)
}

// flaskError is an error with the status Flask-APScheduler gives it.
type flaskError struct {
	status int
	msg    string
}

func (e *flaskError) Error() string { return e.msg }

func (a *API) writeFlaskError(w http.ResponseWriter, r *http.Request, err error) {
	err = a.explainTask(err)
	var fe *flaskError
	status, msg := http.StatusInternalServerError, err.Error()
	switch {
	case errors.As(err, &fe):
		status = fe.status
	case errors.Is(err, sundial.ErrJobNotFound):
		status, msg = http.StatusNotFound, fmt.Sprintf("Job %s not found", r.PathValue("id"))
	default:
		status, _, _ = classify(err)
		if status == http.StatusPreconditionFailed {
			status = http.StatusConflict
		}
	}
	if status == http.StatusInternalServerError {
		a.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		// A problem document, without the Basic challenge that
		// Flask-APScheduler sends: a browser would prompt, keep the
		// password and send it with every request, a page of another
		// site's included.
		a.writeProblem(w, r, err)
		return
	}
	writeJSON(w, status, map[string]string{"error_message": msg})
}

func (a *API) flaskInfo(w http.ResponseWriter, r *http.Request) error {
	host, _ := os.Hostname()
	return writeJSON(w, http.StatusOK, map[string]any{"current_host": host, "allowed_hosts": []string{"*"}, "running": a.running()})
}

// running reports whether this node fires jobs, as APScheduler's
// scheduler.running does (a paused scheduler is still running).
func (a *API) running() bool { return a.s.Status().Running && !a.stopped.Load() }

// flaskPause pauses the scheduler cluster-wide: every replica stops firing.
func (a *API) flaskPause(w http.ResponseWriter, r *http.Request) error {
	if err := a.s.Pause(r.Context()); err != nil {
		return err
	}
	a.audit(r.Context(), "scheduler.pause", "cluster", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) flaskResume(w http.ResponseWriter, r *http.Request) error {
	if !a.running() {
		return &flaskError{http.StatusBadRequest, "Scheduler is not running"}
	}
	if err := a.s.Resume(r.Context()); err != nil {
		return err
	}
	a.audit(r.Context(), "scheduler.resume", "cluster", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// flaskStart undoes flaskShutdown: firing on this node resumes. A node
// started without a scheduler (API-only) cannot start one.
func (a *API) flaskStart(w http.ResponseWriter, r *http.Request) error {
	switch {
	case !a.s.Status().Running:
		return &flaskError{http.StatusBadRequest, "This node runs no scheduler (started with SUNDIAL_SCHEDULER=false)"}
	case !a.stopped.Load():
		return &flaskError{http.StatusBadRequest, "Scheduler is already running"}
	}
	a.stopped.Store(false)
	a.s.Standby(false)
	a.audit(r.Context(), "scheduler.start", a.s.NodeID(), nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// flaskShutdown stops firing on this node; runs in progress finish. The
// process and its API keep running, so that start can undo it.
func (a *API) flaskShutdown(w http.ResponseWriter, r *http.Request) error {
	if !a.running() {
		return &flaskError{http.StatusBadRequest, "Scheduler is not running"}
	}
	a.stopped.Store(true)
	a.s.Standby(true)
	a.audit(r.Context(), "scheduler.shutdown", a.s.NodeID(), nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) flaskListJobs(w http.ResponseWriter, r *http.Request) error {
	jobs, err := a.s.Jobs(r.Context(), sundial.JobFilter{})
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, apsched.Dict(j))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) flaskGetJob(w http.ResponseWriter, r *http.Request) error {
	j, err := a.s.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apsched.Dict(j))
}

func (a *API) flaskAddJob(w http.ResponseWriter, r *http.Request) error {
	fields, err := flaskFields(r)
	if err != nil {
		return err
	}
	job := sundial.Job{Source: admin.SourceAPI}
	ch, err := apsched.Apply(&job, fields, apsched.Options{Creating: true, Now: a.now()})
	if err != nil {
		return flaskInput(err)
	}
	if job.ID == "" {
		// Flask-APScheduler's add_job takes the id as a required argument:
		// a client written for it that leaves it out has a bug, which a
		// generated id would hide until it adds the job a second time.
		return &flaskError{http.StatusBadRequest, `id: is required, as in Flask-APScheduler (POST /api/v1/jobs generates one when it is left out)`}
	}
	var opts []sundial.AddOption
	if ch.Replace {
		opts = append(opts, sundial.ReplaceExisting())
	}
	job.Paused = ch.Pause
	created, err := a.s.AddJob(r.Context(), job, opts...)
	if errors.Is(err, sundial.ErrJobExists) {
		return &flaskError{http.StatusConflict, fmt.Sprintf("Job %s already exists.", job.ID)}
	}
	if err != nil {
		return err
	}
	a.audit(r.Context(), "job.create", created.ID, apsched.Dict(created))
	return writeJSON(w, http.StatusOK, apsched.Dict(created))
}

func (a *API) flaskUpdateJob(w http.ResponseWriter, r *http.Request) error {
	fields, err := flaskFields(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	job, err := a.s.Job(r.Context(), id)
	if err != nil {
		return err
	}
	ch, err := apsched.Apply(&job, fields, apsched.Options{Now: a.now()})
	if err != nil {
		return flaskInput(err)
	}
	job.Source = ""
	updated, err := a.s.UpdateJob(r.Context(), job)
	if err != nil {
		return err
	}
	if ch.Pause && !updated.Paused {
		if updated, err = a.s.PauseJob(r.Context(), id); err != nil {
			return err
		}
	}
	a.audit(r.Context(), "job.update", id, apsched.Dict(updated))
	return writeJSON(w, http.StatusOK, apsched.Dict(updated))
}

func (a *API) flaskDeleteJob(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := a.s.RemoveJob(r.Context(), id); err != nil {
		return err
	}
	a.audit(r.Context(), "job.delete", id, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) flaskPauseJob(w http.ResponseWriter, r *http.Request) error {
	j, err := a.s.PauseJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.audit(r.Context(), "job.pause", j.ID, nil)
	return writeJSON(w, http.StatusOK, apsched.Dict(j))
}

func (a *API) flaskResumeJob(w http.ResponseWriter, r *http.Request) error {
	j, err := a.s.ResumeJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.audit(r.Context(), "job.resume", j.ID, nil)
	return writeJSON(w, http.StatusOK, apsched.Dict(j))
}

// flaskRunJob runs the job now and answers when the run has ended, as
// Flask-APScheduler (which calls the function in the request) does: 200
// with the job, or 500 with the run's error when it failed.
func (a *API) flaskRunJob(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	run, err := a.s.RunNow(r.Context(), id, nil)
	if err != nil {
		return err
	}
	a.audit(r.Context(), "job.run", id, map[string]string{"run_id": run.ID})
	ctx, cancel := context.WithTimeout(r.Context(), a.runWait)
	defer cancel()
	run, err = a.waitForEnd(ctx, run.ID)
	if err != nil {
		return &flaskError{http.StatusGatewayTimeout, fmt.Sprintf("Run %s of job %s has not ended yet: %v", run.ID, id, err)}
	}
	if run.Status != sundial.StatusSucceeded {
		return &flaskError{http.StatusInternalServerError, fmt.Sprintf("Run %s of job %s %s: %s", run.ID, id, run.Status, run.Error)}
	}
	j, err := a.s.Job(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apsched.Dict(j))
}

// waitForEnd polls the store until the run ends: the run may execute on
// any node sharing the store, so events of this process would not do.
func (a *API) waitForEnd(ctx context.Context, id string) (sundial.Run, error) {
	wait := 5 * time.Millisecond
	for {
		run, err := a.s.RunByID(ctx, id)
		if err != nil {
			return run, err
		}
		if !run.Status.Active() {
			return run, nil
		}
		select {
		case <-ctx.Done():
			return run, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// flaskFields reads the body as a JSON object, as request.get_json(force=True).
func flaskFields(r *http.Request) (map[string]json.RawMessage, error) {
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return nil, &flaskError{http.StatusBadRequest, "The request body must be a JSON object"}
	}
	return fields, nil
}

// flaskInput answers a bad job dict with 400, as a Flask-compatible error.
func flaskInput(err error) error {
	var fe *apsched.FieldError
	if errors.As(err, &fe) {
		return &flaskError{http.StatusBadRequest, fe.Error()}
	}
	return err
}
