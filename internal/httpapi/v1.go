package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/jobdoc"
	"github.com/sundialhq/sundial/trigger"
)

const v1 = "/api/v1"

func (a *API) registerV1() {
	p := a.writeProblem
	viewer, operator, adm := admin.RoleViewer, admin.RoleOperator, admin.RoleAdmin
	a.handle("GET", v1+"/openapi.json", "", p, a.openAPI)
	a.handle("GET", v1+"/jobs", viewer, p, a.listJobs)
	a.handle("POST", v1+"/jobs", adm, p, a.createJob)
	a.handle("GET", v1+"/jobs/{id}", viewer, p, a.getJob)
	a.handle("PUT", v1+"/jobs/{id}", adm, p, a.replaceJob)
	a.handle("PATCH", v1+"/jobs/{id}", adm, p, a.patchJob)
	a.handle("DELETE", v1+"/jobs/{id}", adm, p, a.deleteJob)
	a.handle("POST", v1+"/jobs/{id}/pause", operator, p, a.pauseJob)
	a.handle("POST", v1+"/jobs/{id}/resume", operator, p, a.resumeJob)
	a.handle("POST", v1+"/jobs/{id}/run", operator, p, a.runJob)
	a.handle("POST", v1+"/jobs/pause", operator, p, a.bulk(bulkPause))
	a.handle("POST", v1+"/jobs/resume", operator, p, a.bulk(bulkResume))
	a.handle("POST", v1+"/jobs/run", operator, p, a.bulk(bulkRun))
	a.handle("GET", v1+"/runs", viewer, p, a.listRuns)
	a.handle("GET", v1+"/runs/{id}", viewer, p, a.getRun)
	a.handle("POST", v1+"/runs/{id}/cancel", operator, p, a.cancelRun)
	a.handle("GET", v1+"/status", viewer, p, a.status)
	a.handle("GET", v1+"/stats", viewer, p, a.stats)
	a.handle("GET", v1+"/meta", viewer, p, a.meta)
	a.handle("GET", v1+"/scheduler", viewer, p, a.schedulerState)
	a.handle("POST", v1+"/scheduler/pause", operator, p, a.pauseScheduler)
	a.handle("POST", v1+"/scheduler/resume", operator, p, a.resumeScheduler)
	a.handle("GET", v1+"/tasks", viewer, p, a.tasks)
	a.handle("POST", v1+"/cron/preview", viewer, p, a.cronPreview)
	a.handle("GET", v1+"/audit", operator, p, a.listAudit)
	a.handle("GET", v1+"/whoami", viewer, p, a.whoami)
	a.handle("GET", v1+"/tokens", adm, p, a.listTokens)
	a.handle("POST", v1+"/tokens", adm, p, a.createToken)
	a.handle("DELETE", v1+"/tokens/{id}", adm, p, a.revokeToken)
	a.handle("POST", v1+"/tokens/{id}/rotate", adm, p, a.rotateToken)
}

// JobView is a job as the API shows it: the job and its trigger described
// in plain English.
type JobView struct {
	sundial.Job
	Description string `json:"description,omitempty"`
	// Waiting says why the job's runs wait instead of running: its task
	// is a worker task that no live worker serves (docs/workers.md).
	Waiting string `json:"waiting,omitempty"`
}

// view shows a job with its trigger described in the request's language
// (Accept-Language: English, or zh for Simplified Chinese).
func view(r *http.Request, j sundial.Job) JobView {
	v := JobView{Job: j}
	if t, err := j.Trigger.Build(); err == nil {
		// "At 03:00" must say in which zone: a Berlin job's 03:00 is not
		// the reader's.
		v.Description = trigger.DescribeIn(t, language(r))
		if zones := strings.Join(j.Trigger.Zones(), ", "); zones != "" && !strings.Contains(v.Description, zones) {
			v.Description += " (" + zones + ")"
		}
	}
	return v
}

// language is the first language the request accepts.
func language(r *http.Request) string {
	first, _, _ := strings.Cut(r.Header.Get("Accept-Language"), ",")
	first, _, _ = strings.Cut(first, ";")
	return strings.TrimSpace(first)
}

// JobList is a page of jobs; NextCursor fetches the next page.
type JobList struct {
	Jobs       []JobView `json:"jobs"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

func etag(j sundial.Job) string { return `"` + strconv.FormatInt(j.Version, 10) + `"` }

// ifMatch returns the version an If-Match header pins, 0 when absent.
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || v <= 0 {
		return 0, badInput("If-Match", "%q is not a job version such as \"3\" (the ETag of a GET)", h)
	}
	return v, nil
}

// limitParam reads ?limit= (default 100, at most 1000).
func limitParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, badInput("limit", "%q is not a whole number from 1 to 1000", s)
	}
	return n, nil
}

func boolParam(r *http.Request, name string) (*bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, badInput(name, "%q is not true or false", s)
	}
	return &b, nil
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	paused, err := boolParam(r, "paused")
	if err != nil {
		return err
	}
	f := sundial.JobFilter{Tag: q.Get("tag"), Task: q.Get("task"), Paused: paused, Limit: limit + 1}
	if q.Has("queue") {
		queue := q.Get("queue")
		f.Queue = &queue
	}
	if q.Has("source") {
		source := q.Get("source")
		f.Source = &source
	}
	if c := q.Get("cursor"); c != "" {
		id, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return badInput("cursor", "%q is not a cursor from next_cursor", c)
		}
		f.AfterID = string(id)
	}
	jobs, err := a.s.Jobs(r.Context(), f)
	if err != nil {
		return err
	}
	out := JobList{Jobs: make([]JobView, 0, len(jobs))}
	if len(jobs) > limit {
		jobs = jobs[:limit]
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(jobs[limit-1].ID))
	}
	waits := a.workerWaits(r.Context())
	for _, j := range jobs {
		v := view(r, j)
		v.Waiting = waits(j.Task)
		out.Jobs = append(out.Jobs, v)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) getJob(w http.ResponseWriter, r *http.Request) error {
	j, err := a.s.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(j))
	v := view(r, j)
	v.Waiting = a.workerWaits(r.Context())(j.Task)
	return writeJSON(w, http.StatusOK, v)
}

// readJob decodes a job document from the body.
func readJob(r *http.Request) (sundial.Job, error) {
	data, err := readBody(r)
	if err != nil {
		return sundial.Job{}, err
	}
	return jobdoc.Decode(data)
}

func (a *API) createJob(w http.ResponseWriter, r *http.Request) error {
	job, err := readJob(r)
	if err != nil {
		return err
	}
	job.Source = admin.SourceAPI
	if err := a.checkJobSave(r, job, nil); err != nil {
		return err
	}
	opts, err := declareParam(r)
	if err != nil {
		return err
	}
	created, err := a.s.AddJob(r.Context(), job, opts...)
	if err != nil {
		return err
	}
	a.audit(r.Context(), "job.create", created.ID, jobdoc.FromJob(created))
	w.Header().Set("Location", v1+"/jobs/"+created.ID)
	w.Header().Set("ETag", etag(created))
	return writeJSON(w, http.StatusCreated, view(r, created))
}

// update replaces job id's definition with job, honouring If-Match, and
// sets its pause state as the document says.
func (a *API) update(w http.ResponseWriter, r *http.Request, id string, job sundial.Job, version int64) error {
	if job.ID != "" && job.ID != id {
		return &sundial.InvalidJobError{Field: "id", Err: fmt.Errorf("%q differs from the job in the path, %q", job.ID, id)}
	}
	job.ID, job.Version = id, version
	job.Source = ""
	stored, err := a.s.Job(r.Context(), id)
	if err != nil {
		return err
	}
	if err := a.checkJobSave(r, job, &stored); err != nil {
		return err
	}
	opts, err := declareParam(r)
	if err != nil {
		return err
	}
	updated, err := a.s.UpdateJob(r.Context(), job, opts...)
	if err != nil {
		return err
	}
	if job.Paused != updated.Paused {
		change := a.s.ResumeJob
		if job.Paused {
			change = a.s.PauseJob
		}
		if updated, err = change(r.Context(), id); err != nil {
			return err
		}
	}
	a.audit(r.Context(), "job.update", id, jobdoc.FromJob(updated))
	w.Header().Set("ETag", etag(updated))
	return writeJSON(w, http.StatusOK, view(r, updated))
}

func (a *API) replaceJob(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	job, err := readJob(r)
	if err != nil {
		return err
	}
	return a.update(w, r, r.PathValue("id"), job, version)
}

// patchJob applies a JSON merge patch (RFC 7396) to the job's document.
func (a *API) patchJob(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	data, err := readBody(r)
	if err != nil {
		return err
	}
	var patch map[string]any
	if err := decodeJSON(data, &patch); err != nil {
		return err
	}
	if patch == nil {
		return badInput("(body)", "expected a merge patch, a JSON object, got null")
	}
	id := r.PathValue("id")
	stored, err := a.s.Job(r.Context(), id)
	if err != nil {
		return err
	}
	if err := checkVersion(stored, version); err != nil {
		return err
	}
	before := docMap(jobdoc.FromJob(stored))
	merged, _ := json.Marshal(mergePatch(docMap(jobdoc.FromJob(stored)), patch))
	job, err := jobdoc.Decode(merged)
	if err != nil {
		return err
	}
	if reflect.DeepEqual(docMap(jobdoc.FromJob(job)), before) {
		// A patch that changes nothing writes nothing: the version, which
		// editors hold, stays.
		w.Header().Set("ETag", etag(stored))
		return writeJSON(w, http.StatusOK, view(r, stored))
	}
	return a.update(w, r, id, job, stored.Version)
}

// docMap returns a job document as JSON members, in which two documents
// of the same job are equal however their args' keys were ordered.
func docMap(d jobdoc.Doc) map[string]any {
	b, _ := json.Marshal(d)
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// checkVersion refuses a change pinned (If-Match) to a version the job
// has left; version 0 pins nothing.
func checkVersion(stored sundial.Job, version int64) error {
	if version != 0 && version != stored.Version {
		return fmt.Errorf("job %q: have version %d, stored is %d: %w", stored.ID, version, stored.Version, sundial.ErrVersionConflict)
	}
	return nil
}

// mergePatch applies patch to target as RFC 7396 says: null removes a
// member, objects merge, anything else replaces.
func mergePatch(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, v := range patch {
		switch v := v.(type) {
		case nil:
			delete(target, k)
		case map[string]any:
			sub, _ := target[k].(map[string]any)
			target[k] = mergePatch(sub, v)
		default:
			target[k] = v
		}
	}
	return target
}

func (a *API) deleteJob(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	cancel, err := cancelRunningParam(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if version != 0 {
		stored, err := a.s.Job(r.Context(), id)
		if err != nil {
			return err
		}
		if err := checkVersion(stored, version); err != nil {
			return err
		}
	}
	if err := a.s.RemoveJob(r.Context(), id); err != nil {
		return err
	}
	var detail any
	if cancel {
		detail = map[string]bool{"cancel_running": true}
	}
	a.audit(r.Context(), "job.delete", id, detail)
	runs, err := a.settleRuns(r.Context(), id, cancel, "job.delete")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, JobRemoval{ID: id, RunningRuns: runs})
}

func (a *API) pauseJob(w http.ResponseWriter, r *http.Request) error {
	cancel, err := cancelRunningParam(r)
	if err != nil {
		return err
	}
	j, err := a.s.PauseJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var detail any
	if cancel {
		detail = map[string]bool{"cancel_running": true}
	}
	a.audit(r.Context(), "job.pause", j.ID, detail)
	runs, err := a.settleRuns(r.Context(), j.ID, cancel, "job.pause")
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(j))
	return writeJSON(w, http.StatusOK, PausedJob{JobView: view(r, j), RunningRuns: runs})
}

func (a *API) resumeJob(w http.ResponseWriter, r *http.Request) error {
	j, err := a.s.ResumeJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.audit(r.Context(), "job.resume", j.ID, nil)
	w.Header().Set("ETag", etag(j))
	return writeJSON(w, http.StatusOK, view(r, j))
}

// RunRequest is the optional body of a run-now request.
type RunRequest struct {
	// Args replace the job's args for this run.
	Args json.RawMessage `json:"args,omitempty"`
}

func (a *API) runJob(w http.ResponseWriter, r *http.Request) error {
	var req RunRequest
	data, err := readBody(r)
	if err != nil {
		return err
	}
	// The body is optional: none runs the job with its own args.
	if len(bytes.TrimSpace(data)) > 0 {
		if err := decodeJSON(data, &req); err != nil {
			return err
		}
	}
	if string(bytes.TrimSpace(req.Args)) == "null" {
		req.Args = nil // "args": null is no args of the run's own
	}
	// Args can change what code runs (a command's argv): only admins may
	// replace them; operators run jobs as they are.
	if p, _ := r.Context().Value(principalKey{}).(principal); req.Args != nil && !p.Role.Allows(admin.RoleAdmin) {
		return &forbiddenError{have: p.Role, need: admin.RoleAdmin}
	}
	run, err := a.s.RunNow(r.Context(), r.PathValue("id"), req.Args)
	if err != nil {
		return err
	}
	detail := map[string]any{"run_id": run.ID}
	if req.Args != nil {
		detail["args"] = req.Args
	}
	a.audit(r.Context(), "job.run", run.JobID, detail)
	w.Header().Set("Location", v1+"/runs/"+run.ID)
	return writeJSON(w, http.StatusAccepted, run)
}

// RunList is a page of runs, without their output; NextCursor fetches
// the next page.
type RunList struct {
	Runs       []sundial.Run `json:"runs"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

type runCursor struct {
	At      time.Time `json:"t"`
	Attempt int       `json:"a"`
	ID      string    `json:"i"`
}

func timeParam(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badInput(name, "%q is not an RFC 3339 time such as 2026-11-22T09:00:00Z", s)
	}
	return t, nil
}

var runStatuses = []sundial.RunStatus{sundial.StatusQueued, sundial.StatusScheduled, sundial.StatusPending, sundial.StatusRunning,
	sundial.StatusSucceeded, sundial.StatusFailed, sundial.StatusTimedOut, sundial.StatusMissed, sundial.StatusSkipped,
	sundial.StatusInterrupted, sundial.StatusLost, sundial.StatusCanceled}

func (a *API) listRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	f := sundial.RunFilter{JobID: q.Get("job_id"), Backfill: q.Get("backfill"), Limit: limit + 1}
	if s := q.Get("status"); s != "" {
		known := false
		for _, st := range runStatuses {
			known = known || string(st) == s
		}
		if !known {
			return badInput("status", "%q is not a run status (%v)", s, runStatuses)
		}
		f.Status = sundial.RunStatus(s)
	}
	if f.Since, err = timeParam(r, "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(r, "until"); err != nil {
		return err
	}
	if c := q.Get("cursor"); c != "" {
		var rc runCursor
		raw, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || json.Unmarshal(raw, &rc) != nil || rc.ID == "" {
			return badInput("cursor", "%q is not a cursor from next_cursor", c)
		}
		f.After = &sundial.RunCursor{ScheduledAt: rc.At, Attempt: rc.Attempt, ID: rc.ID}
	}
	runs, err := a.s.Runs(r.Context(), f)
	if err != nil {
		return err
	}
	out := RunList{Runs: runs}
	if out.Runs == nil {
		out.Runs = []sundial.Run{}
	}
	if len(runs) > limit {
		out.Runs = runs[:limit]
		last := runs[limit-1]
		b, _ := json.Marshal(runCursor{At: last.ScheduledAt, Attempt: last.Attempt, ID: last.ID})
		out.NextCursor = base64.RawURLEncoding.EncodeToString(b)
	}
	for i := range out.Runs {
		out.Runs[i].Output = "" // listings stay small; GET /runs/{id} has it
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) getRun(w http.ResponseWriter, r *http.Request) error {
	run, err := a.s.RunByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

// StatusView is the scheduler's state as the status route shows it.
type StatusView struct {
	Version string `json:"version,omitempty"`
	// Node is this server's scheduler; Scheduling is false on an API-only
	// node, which claims nothing.
	Node       sundial.Status `json:"node"`
	Scheduling bool           `json:"scheduling"`
	Nodes      []sundial.Node `json:"nodes"`
	Jobs       struct {
		Total  int `json:"total"`
		Paused int `json:"paused"`
	} `json:"jobs"`
	// Runs counts the runs that have not ended, by status: the queue depth.
	Runs map[sundial.RunStatus]int `json:"runs"`
	// Paused is true while the scheduler is paused cluster-wide, since
	// PausedSince, as the store says.
	Paused      bool      `json:"paused"`
	PausedSince time.Time `json:"paused_since,omitzero"`
}

func (a *API) status(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	out := StatusView{Version: a.version, Node: a.s.Status(), Runs: map[sundial.RunStatus]int{}}
	out.Scheduling = out.Node.Running && !a.stopped.Load()
	var err error
	if out.Paused, out.PausedSince, err = a.s.Paused(ctx); err != nil {
		return err
	}
	if out.Nodes, err = a.s.Nodes(ctx); err != nil {
		return err
	}
	if out.Nodes == nil {
		out.Nodes = []sundial.Node{}
	}
	jobs, err := a.s.Jobs(ctx, sundial.JobFilter{})
	if err != nil {
		return err
	}
	for _, j := range jobs {
		out.Jobs.Total++
		if j.Paused {
			out.Jobs.Paused++
		}
	}
	for _, st := range []sundial.RunStatus{sundial.StatusQueued, sundial.StatusScheduled, sundial.StatusPending, sundial.StatusRunning} {
		runs, err := a.s.Runs(ctx, sundial.RunFilter{Status: st})
		if err != nil {
			return err
		}
		out.Runs[st] = len(runs)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) tasks(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string][]string{"tasks": a.s.Tasks()})
}

// PreviewRequest asks for a trigger's next fire times.
type PreviewRequest struct {
	// Trigger is a trigger spec, or a string read as a crontab expression.
	Trigger json.RawMessage `json:"trigger"`
	// Count is how many fire times to list: default 10, at most 100.
	Count int `json:"count,omitempty"`
	// From is where to start; default now.
	From time.Time `json:"from,omitzero"`
}

// Preview is a trigger's description and next fire times.
type Preview struct {
	Description string      `json:"description"`
	Timezone    string      `json:"timezone"`
	Next        []time.Time `json:"next"`
}

func (a *API) cronPreview(w http.ResponseWriter, r *http.Request) error {
	var req PreviewRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Count == 0 {
		req.Count = 10
	}
	if req.Count < 1 || req.Count > 100 {
		return badInput("count", "%d is not from 1 to 100", req.Count)
	}
	spec, err := jobdoc.Trigger(req.Trigger)
	if err != nil {
		return err
	}
	if spec, err = a.s.ResolveCalendars(r.Context(), spec); err != nil {
		return err
	}
	if req.From.IsZero() {
		req.From = a.now()
	}
	if pinned, err := spec.Pin(req.From); err == nil {
		spec = pinned
	}
	t, err := spec.Build()
	if err != nil {
		return &sundial.InvalidJobError{Field: "trigger", Err: err}
	}
	loc := time.UTC
	if spec.Timezone != "" {
		if l, err := time.LoadLocation(spec.Timezone); err == nil {
			loc = l
		}
	}
	out := Preview{Description: trigger.DescribeIn(t, language(r)), Timezone: loc.String(), Next: []time.Time{}}
	var prev time.Time
	for from := req.From; len(out.Next) < req.Count; {
		next := t.Next(prev, from)
		if next.IsZero() {
			break
		}
		out.Next = append(out.Next, next.In(loc))
		prev, from = next, next.Add(time.Nanosecond)
	}
	return writeJSON(w, http.StatusOK, out)
}

// AuditList is a page of the audit log, newest first.
type AuditList struct {
	Entries    []admin.AuditEntry `json:"entries"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	f := admin.AuditFilter{Target: r.URL.Query().Get("target"), Limit: limit + 1}
	if c := r.URL.Query().Get("cursor"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			return badInput("cursor", "%q is not a cursor from next_cursor", c)
		}
		f.BeforeID = id
	}
	entries, err := a.admin.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	out := AuditList{Entries: entries}
	if out.Entries == nil {
		out.Entries = []admin.AuditEntry{}
	}
	if len(entries) > limit {
		out.Entries = entries[:limit]
		out.NextCursor = strconv.FormatInt(entries[limit-1].ID, 10)
	}
	return writeJSON(w, http.StatusOK, out)
}

// Whoami is the caller's identity.
type Whoami struct {
	TokenID string     `json:"token_id,omitempty"`
	Name    string     `json:"name"`
	Role    admin.Role `json:"role"`
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request) error {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return writeJSON(w, http.StatusOK, Whoami{TokenID: p.TokenID, Name: p.Name, Role: p.Role})
}

// TokenRequest creates a token.
type TokenRequest struct {
	Name string     `json:"name"`
	Role admin.Role `json:"role"`
	// ExpiresAt, when set, is when the token stops working.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Queues hold a worker token to these queues; empty means all.
	Queues []string `json:"queues,omitempty"`
}

// NewTokenView is a token just created or rotated, with its secret: the
// only time the secret is shown.
type NewTokenView struct {
	admin.Token
	Secret string `json:"token"`
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	tokens, err := a.admin.ListTokens(r.Context())
	if err != nil {
		return err
	}
	if tokens == nil {
		tokens = []admin.Token{}
	}
	return writeJSON(w, http.StatusOK, map[string][]admin.Token{"tokens": tokens})
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	var req TokenRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Name) == "" || len(req.Name) > 100 {
		return badInput("name", "%q: give the token a name of 1 to 100 characters, such as \"ci\"", req.Name)
	}
	if !req.Role.Valid() {
		return badInput("role", "%q is not viewer, operator, admin or worker", req.Role)
	}
	if len(req.Queues) > 0 && req.Role != admin.RoleWorker {
		return badInput("queues", "only a worker token is held to queues; a %s token sees every queue", req.Role)
	}
	for i, q := range req.Queues {
		if strings.TrimSpace(q) != q || len(q) > 100 {
			return badInput(fmt.Sprintf("queues[%d]", i), "%q is not a queue name (at most 100 characters, no surrounding spaces)", q)
		}
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(a.now()) {
		return badInput("expires_at", "%s is not in the future", req.ExpiresAt.Format(time.RFC3339))
	}
	secret, t := NewToken(req.Name, req.Role, actorOf(r.Context()), a.now())
	t.ExpiresAt, t.Queues = req.ExpiresAt, req.Queues
	if err := a.admin.CreateToken(r.Context(), t); err != nil {
		return err
	}
	a.audit(r.Context(), "token.create", t.ID, map[string]string{"name": t.Name, "role": string(t.Role)})
	return writeJSON(w, http.StatusCreated, NewTokenView{Token: t, Secret: secret})
}

func (a *API) findToken(r *http.Request, id string) (admin.Token, error) {
	tokens, err := a.admin.ListTokens(r.Context())
	if err != nil {
		return admin.Token{}, err
	}
	for _, t := range tokens {
		if t.ID == id && t.RevokedAt.IsZero() {
			return t, nil
		}
	}
	return admin.Token{}, fmt.Errorf("token %q: %w", id, admin.ErrTokenNotFound)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := a.admin.RevokeToken(r.Context(), id, a.now()); err != nil {
		return fmt.Errorf("token %q: %w", id, err)
	}
	a.audit(r.Context(), "token.revoke", id, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateToken replaces a token with a new secret of the same name, role
// and lifetime, and revokes the old one.
func (a *API) rotateToken(w http.ResponseWriter, r *http.Request) error {
	old, err := a.findToken(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	secret, t := NewToken(old.Name, old.Role, actorOf(r.Context()), a.now())
	t.Queues = old.Queues
	if !old.ExpiresAt.IsZero() { // the new secret lives as long as the old one was given
		t.ExpiresAt = t.CreatedAt.Add(old.ExpiresAt.Sub(old.CreatedAt))
	}
	if err := a.admin.CreateToken(r.Context(), t); err != nil {
		return err
	}
	if err := a.admin.RevokeToken(r.Context(), old.ID, a.now()); err != nil && !errors.Is(err, admin.ErrTokenNotFound) {
		return err
	}
	a.audit(r.Context(), "token.rotate", old.ID, map[string]string{"new_token_id": t.ID})
	return writeJSON(w, http.StatusCreated, NewTokenView{Token: t, Secret: secret})
}
