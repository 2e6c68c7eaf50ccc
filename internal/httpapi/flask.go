package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/task"
	"github.com/sundialhq/sundial/trigger"
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
		out = append(out, flaskDict(j))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) flaskGetJob(w http.ResponseWriter, r *http.Request) error {
	j, err := a.s.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, flaskDict(j))
}

func (a *API) flaskAddJob(w http.ResponseWriter, r *http.Request) error {
	fields, err := flaskFields(r)
	if err != nil {
		return err
	}
	job := sundial.Job{Source: admin.SourceAPI}
	ch, err := a.applyFlask(&job, fields, true)
	if err != nil {
		return err
	}
	var opts []sundial.AddOption
	if ch.replace {
		opts = append(opts, sundial.ReplaceExisting())
	}
	job.Paused = ch.pause
	created, err := a.s.AddJob(r.Context(), job, opts...)
	if errors.Is(err, sundial.ErrJobExists) {
		return &flaskError{http.StatusConflict, fmt.Sprintf("Job %s already exists.", job.ID)}
	}
	if err != nil {
		return err
	}
	a.audit(r.Context(), "job.create", created.ID, flaskDict(created))
	return writeJSON(w, http.StatusOK, flaskDict(created))
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
	ch, err := a.applyFlask(&job, fields, false)
	if err != nil {
		return err
	}
	job.Source = ""
	updated, err := a.s.UpdateJob(r.Context(), job)
	if err != nil {
		return err
	}
	if ch.pause && !updated.Paused {
		if updated, err = a.s.PauseJob(r.Context(), id); err != nil {
			return err
		}
	}
	a.audit(r.Context(), "job.update", id, flaskDict(updated))
	return writeJSON(w, http.StatusOK, flaskDict(updated))
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
	return writeJSON(w, http.StatusOK, flaskDict(j))
}

func (a *API) flaskResumeJob(w http.ResponseWriter, r *http.Request) error {
	j, err := a.s.ResumeJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.audit(r.Context(), "job.resume", j.ID, nil)
	return writeJSON(w, http.StatusOK, flaskDict(j))
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
	return writeJSON(w, http.StatusOK, flaskDict(j))
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

// Trigger keywords by trigger, as APScheduler names them.
var (
	cronKeys     = []string{"year", "month", "day", "week", "day_of_week", "hour", "minute", "second"}
	intervalKeys = []string{"weeks", "days", "hours", "minutes", "seconds"}
	commonKeys   = []string{"start_date", "end_date", "timezone", "jitter"}
	flaskKeys    = []string{"id", "name", "func", "args", "kwargs", "trigger", "run_date", "expr", "spec", "misfire_grace_time",
		"coalesce", "max_instances", "replace_existing", "next_run_time", "jobstore", "executor"}
)

// flaskChanges are the parts of a Flask job dict that are not job fields.
type flaskChanges struct{ pause, replace bool }

func badField(key, format string, args ...any) error {
	return &flaskError{http.StatusBadRequest, key + ": " + fmt.Sprintf(format, args...)}
}

func decodeField[T any](fields map[string]json.RawMessage, key string, v *T) (bool, error) {
	raw, ok := fields[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return true, badField(key, "a JSON %s cannot be a %s", te.Value, te.Type)
		}
		return true, badField(key, "%v", err)
	}
	return true, nil
}

// applyFlask applies a Flask job dict to job: every key when creating,
// the given keys when modifying (APScheduler's modify_job). Options that
// the dict cannot express (timeouts, retries) are kept.
func (a *API) applyFlask(job *sundial.Job, fields map[string]json.RawMessage, creating bool) (flaskChanges, error) {
	var ch flaskChanges
	known := map[string]bool{}
	for _, k := range slices.Concat(flaskKeys, cronKeys, intervalKeys, commonKeys) {
		known[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !known[k] {
			return ch, badField(k, "unknown field")
		}
	}
	var id string
	if _, err := decodeField(fields, "id", &id); err != nil {
		return ch, err
	}
	if creating {
		job.ID = id
	} else if id != "" && id != job.ID {
		return ch, badField("id", "a job's id cannot change")
	}
	// func is a task name, or a Python reference (package.module:name),
	// which makes a python task: the user's existing function, unchanged.
	var fn string
	if ok, err := decodeField(fields, "func", &fn); err != nil {
		return ch, err
	} else if ok {
		if task.FuncRef.MatchString(fn) {
			job.Task = "python"
			setPythonFunc(job, fn)
		} else {
			job.Task = fn
		}
	}
	if creating && job.Task == "" {
		return ch, badField("func", "is required: a task name, or a Python function such as app.jobs:cleanup")
	}
	if ok, err := decodeField(fields, "name", &job.Name); err != nil {
		return ch, err
	} else if !ok && creating {
		job.Name = fn[strings.LastIndexAny(fn, ":.")+1:]
	}
	if err := applyArgs(job, fields); err != nil {
		return ch, err
	}
	hasTrigger := false
	for _, k := range slices.Concat([]string{"trigger", "run_date", "expr", "spec"}, cronKeys, intervalKeys, commonKeys) {
		_, present := fields[k]
		hasTrigger = hasTrigger || present
	}
	if _, ok := fields["trigger"]; hasTrigger && !ok && !creating {
		return ch, badField("trigger", "to change the schedule, send the trigger with all its fields")
	}
	if creating || hasTrigger {
		spec, err := a.flaskTrigger(fields)
		if err != nil {
			return ch, err
		}
		job.Trigger = spec
	}
	if raw, ok := fields["misfire_grace_time"]; ok {
		if string(raw) == "null" {
			job.Options.MisfireGrace = -1 // APScheduler's None: no limit
		} else {
			var secs float64
			if _, err := decodeField(fields, "misfire_grace_time", &secs); err != nil {
				return ch, err
			}
			if secs <= 0 {
				return ch, badField("misfire_grace_time", "%v must be a positive number of seconds or null", secs)
			}
			job.Options.MisfireGrace = time.Duration(secs * float64(time.Second))
		}
	}
	var coalesce bool
	if ok, err := decodeField(fields, "coalesce", &coalesce); err != nil {
		return ch, err
	} else if ok {
		job.Options.Coalesce = &coalesce
	}
	if _, err := decodeField(fields, "max_instances", &job.Options.MaxInstances); err != nil {
		return ch, err
	}
	if _, err := decodeField(fields, "replace_existing", &ch.replace); err != nil {
		return ch, err
	}
	if raw, ok := fields["next_run_time"]; ok {
		if string(raw) != "null" {
			return ch, badField("next_run_time", "only null (add the job paused) is supported; use start_date to delay the first run")
		}
		ch.pause = true
	}
	for _, k := range []string{"jobstore", "executor"} {
		var v string
		if _, err := decodeField(fields, k, &v); err != nil {
			return ch, err
		}
		if v != "" && v != "default" {
			return ch, badField(k, "%q: Sundial has one store and one pool of workers; leave it out or say \"default\"", v)
		}
	}
	return ch, nil
}

// applyArgs stores APScheduler's args and kwargs as the job's args:
// {"args": [...], "kwargs": {...}}.
func applyArgs(job *sundial.Job, fields map[string]json.RawMessage) error {
	_, hasArgs := fields["args"]
	_, hasKwargs := fields["kwargs"]
	if !hasArgs && !hasKwargs {
		return nil
	}
	args, kwargs := splitArgs(job.Args)
	if _, err := decodeField(fields, "args", &args); err != nil {
		return err
	}
	if _, err := decodeField(fields, "kwargs", &kwargs); err != nil {
		return err
	}
	if args == nil {
		args = []any{}
	}
	if kwargs == nil {
		kwargs = map[string]any{}
	}
	if job.Task == "python" {
		// A python task's args hold its function and settings too.
		m := argsMap(job.Args)
		m["args"], _ = json.Marshal(args)
		m["kwargs"], _ = json.Marshal(kwargs)
		job.Args, _ = json.Marshal(m)
		return nil
	}
	b, err := json.Marshal(map[string]any{"args": args, "kwargs": kwargs})
	if err != nil {
		return badField("args", "%v", err)
	}
	job.Args = b
	return nil
}

// argsMap returns a job's args as an object's members.
func argsMap(raw json.RawMessage) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m
}

func setPythonFunc(job *sundial.Job, fn string) {
	m := argsMap(job.Args)
	m["func"], _ = json.Marshal(fn)
	job.Args, _ = json.Marshal(m)
}

// flaskFunc returns what Flask-APScheduler shows as func: the task name,
// or a python task's function reference.
func flaskFunc(j sundial.Job) string {
	if j.Task == "python" {
		var a struct{ Func string }
		json.Unmarshal(j.Args, &a)
		return a.Func
	}
	return j.Task
}

// splitArgs returns a job's args as APScheduler's args and kwargs: the
// members of {"args": [...], "kwargs": {...}} (a python task's args add
// "func" and settings), else an object as kwargs, anything else as args.
func splitArgs(raw json.RawMessage) ([]any, map[string]any) {
	args, kwargs := []any{}, map[string]any{}
	if len(raw) == 0 {
		return args, kwargs
	}
	m := argsMap(raw)
	pair := m["func"] != nil
	if !pair && len(m) > 0 {
		pair = true
		for k := range m {
			pair = pair && (k == "args" || k == "kwargs")
		}
	}
	if pair {
		var a []any
		var kw map[string]any
		errA, errK := json.Unmarshal(orNull(m["args"]), &a), json.Unmarshal(orNull(m["kwargs"]), &kw)
		if m["func"] != nil || errA == nil && errK == nil {
			if a != nil {
				args = a
			}
			if kw != nil {
				kwargs = kw
			}
			return args, kwargs
		}
	}
	var v any
	json.Unmarshal(raw, &v)
	switch v := v.(type) {
	case map[string]any:
		return args, v
	case []any:
		return v, kwargs
	}
	return []any{v}, kwargs
}

func orNull(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return json.RawMessage("null")
	}
	return raw
}

// flaskTrigger builds a trigger spec from APScheduler's keywords.
func (a *API) flaskTrigger(fields map[string]json.RawMessage) (trigger.Spec, error) {
	var spec trigger.Spec
	var kind string
	if _, err := decodeField(fields, "trigger", &kind); err != nil {
		return spec, err
	}
	if kind == "" {
		kind = "date" // APScheduler's default: run once, now
	}
	for _, k := range []string{"start_date", "end_date", "timezone"} {
		var v string
		if _, err := decodeField(fields, k, &v); err != nil {
			return spec, err
		}
		switch k {
		case "start_date":
			spec.StartDate = v
		case "end_date":
			spec.EndDate = v
		case "timezone":
			spec.Timezone = v
		}
	}
	if _, err := decodeField(fields, "jitter", &spec.Jitter); err != nil {
		return spec, err
	}
	only := func(allowed ...string) error {
		for _, k := range slices.Concat(cronKeys, intervalKeys, []string{"run_date", "expr", "spec"}) {
			if _, ok := fields[k]; ok && !slices.Contains(allowed, k) {
				return badField(k, "does not apply to a %s trigger", kind)
			}
		}
		return nil
	}
	switch kind {
	case "cron":
		if err := only(append([]string{"expr"}, cronKeys...)...); err != nil {
			return spec, err
		}
		spec.Type = "cron"
		if _, err := decodeField(fields, "expr", &spec.Expr); err != nil {
			return spec, err
		}
		if spec.Expr == "" {
			var cf trigger.CronFields
			sub := map[string]json.RawMessage{}
			for _, k := range cronKeys {
				if v, ok := fields[k]; ok {
					sub[k] = v
				}
			}
			b, _ := json.Marshal(sub)
			if err := json.Unmarshal(b, &cf); err != nil {
				return spec, badField("trigger", "cron fields: %v", err)
			}
			spec.Dialect, spec.Fields = trigger.APScheduler, &cf
		}
	case "interval":
		if err := only(intervalKeys...); err != nil {
			return spec, err
		}
		spec.Type = "interval"
		for k, dst := range map[string]*int{"weeks": &spec.Weeks, "days": &spec.Days, "hours": &spec.Hours, "minutes": &spec.Minutes} {
			if _, err := decodeField(fields, k, dst); err != nil {
				return spec, err
			}
		}
		if _, err := decodeField(fields, "seconds", &spec.Seconds); err != nil {
			return spec, err
		}
	case "date":
		if err := only("run_date"); err != nil {
			return spec, err
		}
		spec.Type = "date"
		if _, err := decodeField(fields, "run_date", &spec.RunDate); err != nil {
			return spec, err
		}
		if spec.RunDate == "" {
			spec.RunDate = a.now().UTC().Format(time.RFC3339Nano)
		}
	default:
		if raw, ok := fields["spec"]; ok {
			s, err := trigger.ParseSpec(raw)
			if err != nil {
				return spec, badField("spec", "%v", err)
			}
			return s, nil
		}
		return spec, badField("trigger", "%q is not cron, interval or date", kind)
	}
	if _, err := spec.Build(); err != nil {
		field := "trigger"
		var pe *trigger.ParseError
		if errors.As(err, &pe) && pe.Field != "" {
			field = pe.Field
		}
		return spec, badField(field, "%v", err)
	}
	return spec, nil
}

// flaskDict renders a job as Flask-APScheduler's job_to_dict does.
func flaskDict(j sundial.Job) map[string]any {
	args, kwargs := splitArgs(j.Args)
	d := map[string]any{"id": j.ID, "name": j.Name, "func": flaskFunc(j), "args": args, "kwargs": kwargs}
	s := j.Trigger
	loc := time.UTC
	if s.Timezone != "" {
		if l, err := time.LoadLocation(s.Timezone); err == nil {
			loc = l
		}
	}
	dates := func() {
		if s.StartDate != "" {
			d["start_date"] = isoDate(s.StartDate, loc)
		}
		if s.EndDate != "" {
			d["end_date"] = isoDate(s.EndDate, loc)
		}
	}
	switch {
	case s.Type == "date":
		d["trigger"] = "date"
		d["run_date"] = isoDate(s.RunDate, loc)
	case s.Type == "interval":
		d["trigger"] = "interval"
		dates()
		for k, v := range map[string]int{"weeks": s.Weeks, "days": s.Days, "hours": s.Hours, "minutes": s.Minutes} {
			if v > 0 {
				d[k] = v
			}
		}
		if s.Seconds > 0 {
			d["seconds"] = s.Seconds
		}
	case s.Type == "cron" && s.Fields != nil:
		d["trigger"] = "cron"
		dates()
		f := s.Fields
		for k, v := range map[string]trigger.FieldExpr{"year": f.Year, "month": f.Month, "day": f.Day, "week": f.Week,
			"day_of_week": f.DayOfWeek, "hour": f.Hour, "minute": f.Minute, "second": f.Second} {
			if v != "" {
				d[k] = string(v)
			}
		}
	case s.Type == "cron":
		d["trigger"] = "cron"
		dates()
		d["expr"] = s.Expr
	default:
		d["trigger"] = s.Type
		d["spec"] = s
	}
	grace := any(nil)
	if g := j.Options.MisfireGrace; g >= 0 {
		if g == 0 {
			g = sundial.DefaultMisfireGrace
		}
		grace = g.Seconds()
	}
	d["misfire_grace_time"] = grace
	d["max_instances"] = max(j.Options.MaxInstances, 1)
	if j.NextRunAt.IsZero() {
		d["next_run_time"] = nil
	} else {
		d["next_run_time"] = isoformat(j.NextRunAt.In(loc))
	}
	return d
}

// isoformat writes t as Python's datetime.isoformat does.
func isoformat(t time.Time) string {
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000-07:00")
	}
	return t.Format("2006-01-02T15:04:05-07:00")
}

// isoDate renders a spec's date in the trigger's zone when it parses.
func isoDate(text string, loc *time.Location) string {
	if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
		return isoformat(t.In(loc))
	}
	return text
}
