// Package apsched reads and writes jobs in APScheduler's shape: the job
// dicts of Flask-APScheduler's API and config (JOBS), with APScheduler's
// trigger keywords (cron fields, interval spans, run_date), as Sundial
// jobs. The Flask-compatible API routes, the server's config file and
// `sundial import apscheduler` share it, so the three read a dict alike.
// It touches nothing but the values it is given.
package apsched

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/jsoninput"
	"github.com/sundialhq/sundial/task"
	"github.com/sundialhq/sundial/trigger"
)

// Trigger keywords by trigger, as APScheduler names them.
var (
	cronKeys     = []string{"year", "month", "day", "week", "day_of_week", "hour", "minute", "second"}
	intervalKeys = []string{"weeks", "days", "hours", "minutes", "seconds"}
	commonKeys   = []string{"start_date", "end_date", "timezone", "jitter"}
	flaskKeys    = []string{"id", "name", "func", "args", "kwargs", "trigger", "run_date", "expr", "spec", "misfire_grace_time",
		"coalesce", "max_instances", "replace_existing", "next_run_time", "jobstore", "executor"}
)

// Changes are the parts of a job dict that are not job fields.
type Changes struct {
	// Pause: next_run_time was null, APScheduler's way to add a job paused.
	Pause bool
	// Replace: replace_existing was true.
	Replace bool
}

// FieldError names the key of a job dict at fault, as the dict spells it.
type FieldError struct {
	Key, Msg string
}

// Error returns "key: problem".
func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

func badField(key, format string, args ...any) error {
	return &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Options say how Apply reads a job dict.
type Options struct {
	// Creating applies every key (add_job); otherwise only the keys given
	// change the job (modify_job).
	Creating bool
	// Now stands in for a date trigger without a run_date: run once, now.
	Now time.Time
	// Functions are stable task names for Python functions (the
	// TASK_FUNCTIONS pattern): a func naming one runs that function.
	Functions map[string]string
}

func decodeField[T any](fields map[string]json.RawMessage, key string, v *T) (bool, error) {
	raw, ok := fields[key]
	if !ok {
		return false, nil
	}
	if err := jsoninput.Decode(raw, v); err != nil {
		var p *jsoninput.Problem
		if errors.As(err, &p) {
			return true, badField(jsoninput.Under(key, p.Path), "%s", p.Msg)
		}
		return true, badField(key, "%v", err)
	}
	return true, nil
}

// Apply applies a job dict to job: every key when creating, the given keys
// when modifying (APScheduler's modify_job). Options that the dict cannot
// express (timeouts, retries) are kept. Its errors are *FieldError.
func Apply(job *sundial.Job, fields map[string]json.RawMessage, o Options) (Changes, error) {
	var ch Changes
	creating := o.Creating
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
	// which makes a python task: the user's existing function, unchanged;
	// or a name from Functions, which stands for such a reference.
	var fn string
	if ok, err := decodeField(fields, "func", &fn); err != nil {
		return ch, err
	} else if ok {
		if ref, named := o.Functions[fn]; named {
			if !task.FuncRef.MatchString(ref) {
				return ch, badField("func", "%q names %q, which is not a Python function such as app.jobs:cleanup", fn, ref)
			}
			job.Task = "python"
			setPythonFunc(job, ref)
		} else if task.FuncRef.MatchString(fn) {
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
		spec, err := triggerOf(fields, o.Now)
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
	if _, err := decodeField(fields, "replace_existing", &ch.Replace); err != nil {
		return ch, err
	}
	if raw, ok := fields["next_run_time"]; ok {
		if string(raw) != "null" {
			return ch, badField("next_run_time", "only null (add the job paused) is supported; use start_date to delay the first run")
		}
		ch.Pause = true
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

// funcOf returns what Flask-APScheduler shows as func: the task name, or a
// python task's function reference.
func funcOf(j sundial.Job) string {
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

// triggerOf builds a trigger spec from APScheduler's keywords.
func triggerOf(fields map[string]json.RawMessage, now time.Time) (trigger.Spec, error) {
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
		if spec.Weeks == 0 && spec.Days == 0 && spec.Hours == 0 && spec.Minutes == 0 && spec.Seconds == 0 {
			// Blame the field written, not the seconds they add up to.
			for _, k := range []string{"weeks", "days", "hours", "minutes", "seconds"} {
				if _, ok := fields[k]; ok {
					return spec, badField(k, "0 %s makes an interval of zero: it must be longer than zero", k)
				}
			}
			return spec, badField("trigger", "an interval trigger needs weeks, days, hours, minutes or seconds")
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
			spec.RunDate = now.UTC().Format(time.RFC3339Nano)
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

// Dict renders a job as Flask-APScheduler's job_to_dict does.
func Dict(j sundial.Job) map[string]any {
	args, kwargs := splitArgs(j.Args)
	d := map[string]any{"id": j.ID, "name": j.Name, "func": funcOf(j), "args": args, "kwargs": kwargs}
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
