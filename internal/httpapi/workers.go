package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
)

// The worker protocol (docs/workers.md): a worker opens a session, claims
// due runs of its tasks with a long poll, renews their leases, saves their
// output and reports their outcomes. Any server replica answers any call:
// a session lives in the store, not in the process.

// maxClaimWait bounds a claim's long poll, under the timeouts of common
// proxies (often 30 or 60 seconds).
const maxClaimWait = 25 * time.Second

func (a *API) registerWorkers() {
	p := a.writeProblem
	w, viewer := admin.RoleWorker, admin.RoleViewer
	a.handle("GET", v1+"/workers", viewer, p, a.listWorkers)
	a.handle("DELETE", v1+"/workers/tasks/{task}", admin.RoleAdmin, p, a.undeclareTask)
	a.handle("POST", v1+"/worker/sessions", w, p, a.openWorkerSession)
	a.handle("DELETE", v1+"/worker/sessions/{session}", w, p, a.closeWorkerSession)
	a.handle("POST", v1+"/worker/sessions/{session}/claim", w, p, a.workerClaim)
	a.handle("POST", v1+"/worker/sessions/{session}/heartbeat", w, p, a.workerHeartbeat)
	a.handle("PUT", v1+"/worker/sessions/{session}/runs/{id}/output", w, p, a.workerOutput)
	a.handle("POST", v1+"/worker/sessions/{session}/runs/{id}/finish", w, p, a.workerFinish)
	a.handle("POST", v1+"/worker/sessions/{session}/runs/{id}/release", w, p, a.workerRelease)
}

// declareParam reads ?declare_task=true: the job may name a worker's task
// ahead of its worker.
func declareParam(r *http.Request) ([]sundial.AddOption, error) {
	declare, err := boolParam(r, "declare_task")
	if err != nil || declare == nil || !*declare {
		return nil, err
	}
	return []sundial.AddOption{sundial.DeclareTask()}, nil
}

// WorkerSessionRequest opens a worker session.
type WorkerSessionRequest struct {
	Name     string   `json:"name"`
	Tasks    []string `json:"tasks"`
	Capacity int      `json:"capacity"`
	Host     string   `json:"host,omitempty"`
	PID      int      `json:"pid,omitempty"`
	Version  string   `json:"version,omitempty"`
	// Replace takes the name over from a session that still looks alive.
	Replace bool `json:"replace,omitempty"`
}

// WorkerSessionView is an open session, as its worker needs it.
type WorkerSessionView struct {
	sundial.WorkerSession
	LeaseTTLMillis  int64 `json:"lease_ttl_ms"`
	HeartbeatMillis int64 `json:"heartbeat_ms"`
}

func sessionView(s sundial.WorkerSession) WorkerSessionView {
	return WorkerSessionView{WorkerSession: s, LeaseTTLMillis: s.LeaseTTL.Milliseconds(), HeartbeatMillis: (s.LeaseTTL / 3).Milliseconds()}
}

func (a *API) openWorkerSession(w http.ResponseWriter, r *http.Request) error {
	var req WorkerSessionRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req.Host) > 200 {
		return badInput("host", "%d characters; at most 200", len(req.Host))
	}
	if len(req.Version) > 200 {
		return badInput("version", "%d characters; at most 200", len(req.Version))
	}
	p, _ := r.Context().Value(principalKey{}).(principal)
	sess, err := a.s.OpenWorkerSession(r.Context(), sundial.WorkerInfo{Name: req.Name, Tasks: req.Tasks, Capacity: req.Capacity,
		Queues: p.Queues, Host: req.Host, PID: req.PID, Version: req.Version, Replace: req.Replace,
		Token: p.TokenID, AnyToken: p.Role == admin.RoleAdmin})
	if err != nil {
		return err
	}
	a.audit(r.Context(), "worker.session", sess.Name, map[string]any{"tasks": sess.Tasks, "capacity": sess.Capacity, "queues": sess.Queues})
	return writeJSON(w, http.StatusCreated, sessionView(sess))
}

// session returns the request's session, held to the queues of the
// request's token: a worker token of other queues cannot use it.
func (a *API) session(r *http.Request) (sundial.WorkerSession, error) {
	sess, err := a.s.WorkerSession(r.Context(), r.PathValue("session"))
	if err != nil {
		return sess, err
	}
	// A session is its token's: another token — of other queues or not —
	// cannot claim, renew or report for it, even knowing its ID.
	p, _ := r.Context().Value(principalKey{}).(principal)
	if p.Role == admin.RoleWorker && sess.Token != p.TokenID {
		return sundial.WorkerSession{}, &forbiddenError{have: p.Role, need: admin.RoleWorker}
	}
	return sess, nil
}

func (a *API) closeWorkerSession(w http.ResponseWriter, r *http.Request) error {
	sess, err := a.session(r)
	if err != nil {
		return err
	}
	if err := a.s.CloseWorkerSession(r.Context(), sess); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// WorkerClaimRequest asks for due runs.
type WorkerClaimRequest struct {
	// Limit is the worker's free slots, 1 to its capacity.
	Limit int `json:"limit"`
	// WaitMillis is how long to wait for a run to fall due, at most 25 s.
	WaitMillis int64 `json:"wait_ms"`
}

// WorkerRunView is a run handed to a worker.
type WorkerRunView struct {
	sundial.Run
	TimeoutMillis int64 `json:"timeout_ms"`
	// ClaimedAfterMillis is how long after the poll arrived the run was
	// claimed: the worker dates its lease from when it sent the poll plus
	// this (sundial.WorkerRun.ClaimedAfter).
	ClaimedAfterMillis int64 `json:"claimed_after_ms"`
}

func (a *API) workerClaim(w http.ResponseWriter, r *http.Request) error {
	var req WorkerClaimRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.WaitMillis < 0 || req.WaitMillis > maxClaimWait.Milliseconds() {
		return badInput("wait_ms", "%d is not from 0 to %d", req.WaitMillis, maxClaimWait.Milliseconds())
	}
	sess, err := a.session(r)
	if err != nil {
		return err
	}
	runs, err := a.s.ClaimForWorker(r.Context(), sess, req.Limit, time.Duration(req.WaitMillis)*time.Millisecond)
	if err != nil {
		return err
	}
	out := make([]WorkerRunView, len(runs))
	for i, run := range runs {
		out[i] = WorkerRunView{Run: run.Run, TimeoutMillis: run.Timeout.Milliseconds(), ClaimedAfterMillis: run.ClaimedAfter.Milliseconds()}
	}
	return writeJSON(w, http.StatusOK, map[string][]WorkerRunView{"runs": out})
}

// WorkerHeartbeatRequest renews the leases of a worker's runs.
type WorkerHeartbeatRequest struct {
	Runs []string `json:"runs"`
}

// WorkerHeartbeatView says which runs the worker still holds.
type WorkerHeartbeatView struct {
	Held           []string  `json:"held"`
	Cancel         []string  `json:"cancel"`
	LeaseUntil     time.Time `json:"lease_until"`
	LeaseTTLMillis int64     `json:"lease_ttl_ms"`
}

func (a *API) workerHeartbeat(w http.ResponseWriter, r *http.Request) error {
	var req WorkerHeartbeatRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	sess, err := a.session(r)
	if err != nil {
		return err
	}
	res, until, err := a.s.WorkerHeartbeat(r.Context(), sess, req.Runs)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, WorkerHeartbeatView{Held: res.Held, Cancel: res.Cancel, LeaseUntil: until, LeaseTTLMillis: sess.LeaseTTL.Milliseconds()})
}

// WorkerOutputRequest saves a run's output so far.
type WorkerOutputRequest struct {
	Output string `json:"output"`
}

func (a *API) workerOutput(w http.ResponseWriter, r *http.Request) error {
	var req WorkerOutputRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	sess, err := a.session(r)
	if err != nil {
		return err
	}
	if err := a.s.WorkerRunOutput(r.Context(), sess, r.PathValue("id"), req.Output); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// WorkerFinishRequest reports how a worker's run ended.
type WorkerFinishRequest struct {
	Attempt  int               `json:"attempt"`
	Status   sundial.RunStatus `json:"status"`
	Result   json.RawMessage   `json:"result,omitempty"`
	Error    string            `json:"error,omitempty"`
	ExitCode *int              `json:"exit_code,omitempty"`
	Signal   string            `json:"signal,omitempty"`
	Output   string            `json:"output,omitempty"`
}

func (a *API) workerFinish(w http.ResponseWriter, r *http.Request) error {
	var req WorkerFinishRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Attempt < 1 {
		return badInput("attempt", "%d: give the attempt of the run as claimed (1 or more)", req.Attempt)
	}
	sess, err := a.session(r)
	if err != nil {
		return err
	}
	out := sundial.WorkerOutcome{Attempt: req.Attempt, Status: req.Status, Result: req.Result, Error: req.Error, Output: req.Output}
	if req.ExitCode != nil || req.Signal != "" {
		out.Exit = &sundial.ExitStatus{Code: -1, Signal: req.Signal}
		if req.ExitCode != nil {
			out.Exit.Code = *req.ExitCode
		}
	}
	run, err := a.s.FinishWorkerRun(r.Context(), sess, r.PathValue("id"), out)
	if errors.Is(err, sundial.ErrRunLost) {
		return &refusal{status: http.StatusConflict, kind: "run-not-held", title: "The run is no longer this session's",
			detail: err.Error() + ". Its outcome is not recorded: the run was marked lost and may have run again elsewhere."}
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]sundial.Run{"run": run})
}

// WorkerView is a worker session as operators see it.
type WorkerView struct {
	sundial.Node
	Name string `json:"name"`
	// Live is true while the session renews its leases and has not closed.
	Live bool `json:"live"`
}

// WorkerTaskView is a worker task with the live workers that serve it.
type WorkerTaskView struct {
	sundial.WorkerTask
	LiveWorkers []string `json:"live_workers"`
}

// WorkerList is what GET /workers answers.
type WorkerList struct {
	Workers []WorkerView     `json:"workers"`
	Tasks   []WorkerTaskView `json:"tasks"`
}

func (a *API) listWorkers(w http.ResponseWriter, r *http.Request) error {
	nodes, tasks, err := a.s.Workers(r.Context())
	if err != nil {
		return err
	}
	out := WorkerList{Workers: []WorkerView{}, Tasks: []WorkerTaskView{}}
	serving := map[string][]string{}
	for _, n := range nodes {
		v := WorkerView{Node: n, Name: n.ID[len("worker:"):], Live: a.s.WorkerLive(n)}
		v.Incarnation = "" // the session's secret part: a viewer must not act as the worker
		out.Workers = append(out.Workers, v)
		if v.Live {
			for _, t := range n.Tasks {
				serving[t] = append(serving[t], v.Name)
			}
		}
	}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, WorkerTaskView{WorkerTask: t, LiveWorkers: append([]string{}, serving[t.Name]...)})
	}
	return writeJSON(w, http.StatusOK, out)
}

// workerWaits returns what keeps a task's runs waiting, for the jobs of
// one request: a worker task that no live worker serves. Listing the
// workers fails soft: a job is then shown without the note.
func (a *API) workerWaits(ctx context.Context) func(task string) string {
	nodes, tasks, err := a.s.Workers(ctx)
	if err != nil || len(tasks) == 0 {
		return func(string) string { return "" }
	}
	live := map[string]bool{}
	for _, n := range nodes {
		if a.s.WorkerLive(n) {
			for _, t := range n.Tasks {
				live[t] = true
			}
		}
	}
	worker := map[string]bool{}
	for _, t := range tasks {
		worker[t.Name] = true
	}
	return func(task string) string {
		if worker[task] && !live[task] {
			return fmt.Sprintf("no live worker serves task %q: its runs wait for one", task)
		}
		return ""
	}
}

func (a *API) workerRelease(w http.ResponseWriter, r *http.Request) error {
	sess, err := a.session(r)
	if err != nil {
		return err
	}
	if err := a.s.ReleaseWorkerRun(r.Context(), sess, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) undeclareTask(w http.ResponseWriter, r *http.Request) error {
	task := r.PathValue("task")
	if err := a.s.UndeclareWorkerTask(r.Context(), task); err != nil {
		switch {
		case errors.Is(err, sundial.ErrUnknownTask):
			return &refusal{status: http.StatusNotFound, kind: "not-found", title: "Not found", detail: err.Error()}
		case errors.Is(err, sundial.ErrWorkerTaskServed):
			return &refusal{status: http.StatusConflict, kind: "conflict", title: "Conflict", detail: err.Error()}
		}
		return err
	}
	a.audit(r.Context(), "worker.task.undeclare", task, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
