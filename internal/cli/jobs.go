package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/internal/jobdoc"
	"github.com/sundialhq/sundial/internal/transfer"
	"github.com/sundialhq/sundial/trigger"
)

func newJobsCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "jobs", Short: "List, add, change, pause, resume, run and remove jobs on a server",
		Example: `  sundial jobs add --id nightly-report --task echo --trigger '{"type": "cron", "expr": "0 3 * * *", "timezone": "Europe/Berlin"}'
  sundial jobs list
  sundial jobs run nightly-report --wait`}
	cf.register(cmd)
	cmd.AddCommand(jobsList(env, &cf), jobsGet(env, &cf), jobsAdd(env, &cf), jobsUpdate(env, &cf),
		jobsPause(env, &cf), jobsResume(env, &cf), jobsRun(env, &cf), jobsRemove(env, &cf),
		jobsExport(env, &cf), jobsImport(env, &cf), jobsBackfill(env, &cf))
	return cmd
}

func jobsList(env Env, cf *clientFlags) *cobra.Command {
	var tag, task, queue, paused string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List jobs",
		Long: `List jobs: a crontab expression as written, any other trigger in words, with
the time zone it fires in. --json prints GET /api/v1/jobs's {"jobs": […]}
with every page's jobs, which 'jobs import' and 'jobs add -f' read back.`,
		Example: `  sundial jobs list
  sundial jobs list --tag reports --paused false
  sundial jobs list --json > jobs.json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := cf.client(env)
			q := url.Values{"limit": {"1000"}}
			for k, v := range map[string]string{"tag": tag, "task": task, "paused": paused} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if cmd.Flags().Changed("queue") {
				q.Set("queue", queue)
			}
			var jobs []httpapi.JobView
			var raws []json.RawMessage
			for {
				var page struct {
					Jobs       []json.RawMessage `json:"jobs"`
					NextCursor string            `json:"next_cursor"`
				}
				if _, err := c.do(cmd.Context(), "GET", "/api/v1/jobs?"+q.Encode(), nil, &page); err != nil {
					return err
				}
				for _, raw := range page.Jobs {
					var j httpapi.JobView
					json.Unmarshal(raw, &j)
					jobs, raws = append(jobs, j), append(raws, raw)
				}
				if page.NextCursor == "" {
					break
				}
				q.Set("cursor", page.NextCursor)
			}
			if cf.json {
				// GET /api/v1/jobs's shape: every page's jobs in one
				// {"jobs": […]}, which has no next page.
				if raws == nil {
					raws = []json.RawMessage{}
				}
				return printValue(env.Stdout, map[string][]json.RawMessage{"jobs": raws})
			}
			rows := make([][]string, 0, len(jobs))
			for _, j := range jobs {
				state := "active"
				if j.Paused {
					state = "paused"
				}
				rows = append(rows, []string{j.ID, j.Task, triggerCell(j), when(j.NextRunAt), state})
			}
			return table(env.Stdout, []string{"ID", "TASK", "TRIGGER", "NEXT RUN", "STATE"}, rows)
		},
	}
	f := cmd.Flags()
	f.StringVar(&tag, "tag", "", "only jobs with this tag")
	f.StringVar(&task, "task", "", "only jobs of this task")
	f.StringVar(&queue, "queue", "", "only jobs of this queue")
	f.StringVar(&paused, "paused", "", "true: only paused jobs; false: only active ones")
	return cmd
}

// triggerCell is a job's trigger in the jobs table: a plain cron
// expression as written, any other trigger in words; with the time zone it
// fires in when it names one.
func triggerCell(j httpapi.JobView) string {
	if expr, ok := plainCron(j.Trigger); ok {
		return withZone(expr, triggerZone(j.Trigger))
	}
	return schedule(j)
}

// triggerSpec is a job's trigger in `jobs get`: a plain cron expression as
// written (with its zone), any other trigger as its JSON spec.
func triggerSpec(j httpapi.JobView) string {
	if expr, ok := plainCron(j.Trigger); ok {
		return withZone(expr, triggerZone(j.Trigger))
	}
	b, err := marshalJSON(j.Trigger)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// plainCron returns a cron trigger's expression when the expression says
// all there is to the trigger: no calendar, bounds or jitter beside it.
func plainCron(s trigger.Spec) (string, bool) {
	plain := s.Type == "cron" && s.Expr != "" && s.Calendar == nil && s.StartDate == "" && s.EndDate == "" && s.Jitter == 0
	return s.Expr, plain
}

// schedule describes a job's trigger in words, with its time zone: the
// server's description (the API's JobView.Description), or this CLI's when
// an older server sent none.
func schedule(j httpapi.JobView) string {
	text := j.Description
	if text == "" {
		t, err := j.Trigger.Build()
		if err != nil {
			b, _ := marshalJSON(j.Trigger)
			return string(b)
		}
		text = trigger.Describe(t)
	}
	return withZone(text, triggerZone(j.Trigger))
}

// triggerZone names the time zones a trigger fires in (none: UTC).
func triggerZone(s trigger.Spec) string { return strings.Join(s.Zones(), ", ") }

// withZone appends "(zone)" to a schedule that does not name it already.
func withZone(text, zone string) string {
	if zone == "" || strings.Contains(text, zone) {
		return text
	}
	return text + " (" + zone + ")"
}

func jobsGet(env Env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a job",
		Example: `  sundial jobs get nightly-report
  sundial jobs get nightly-report --json > nightly-report.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/jobs/"+url.PathEscape(args[0]), nil, &raw); err != nil {
				return err
			}
			return showJob(env.Stdout, raw, cf.json)
		},
	}
}

func showJob(w io.Writer, raw []byte, asJSON bool) error {
	if asJSON {
		return printJSON(w, raw)
	}
	var j httpapi.JobView
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	state := "active"
	if j.Paused {
		state = "paused"
		if j.PauseReason != "" {
			state += " (" + j.PauseReason + ")"
		}
	}
	opts, err := marshalJSON(j.Options)
	if err != nil {
		return err
	}
	rows := [][]string{{"id", j.ID}, {"name", j.Name}, {"task", j.Task}, {"trigger", triggerSpec(j)}, {"schedule", schedule(j)},
		{"next run", when(j.NextRunAt)}, {"state", state}, {"args", string(unescapeHTML(j.Args))}, {"tags", strings.Join(j.Tags, ", ")},
		{"queue", j.Queue}, {"options", string(opts)}, {"source", j.Source}, {"version", strconv.FormatInt(j.Version, 10)},
		{"updated", when(j.UpdatedAt)}}
	for _, r := range rows {
		if r[1] != "" {
			fmt.Fprintf(w, "%-10s %s\n", r[0]+":", r[1])
		}
	}
	return nil
}

// readJobs reads job documents from a YAML or JSON file ("-": stdin): one
// job, a list of jobs, or a config file's "jobs:" list.
func readJobs(env Env, path string) ([]json.RawMessage, error) {
	data, err := readFile(env, path)
	if err != nil {
		return nil, err
	}
	j, err := jobdoc.YAMLToJSON(data)
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	j = bytes.TrimSpace(j)
	var list []json.RawMessage
	switch {
	case len(j) > 0 && j[0] == '[':
		err = json.Unmarshal(j, &list)
	default:
		var cfg struct {
			Jobs []json.RawMessage `json:"jobs"`
		}
		if json.Unmarshal(j, &cfg) == nil && cfg.Jobs != nil {
			list = cfg.Jobs
		} else {
			list = []json.RawMessage{j}
		}
	}
	if err != nil || len(list) == 0 {
		return nil, usagef("%s: no job documents found", path)
	}
	for i, raw := range list {
		// A job as `jobs list --json` or `jobs get --json` shows it carries
		// its state, which the server sets itself.
		list[i] = transfer.Clean(raw)
		if _, err := jobdoc.Decode(list[i]); err != nil {
			return nil, usagef("%s: job %d: %v", path, i+1, err)
		}
	}
	return list, nil
}

// quickJob builds a job document from flags.
type quickJob struct {
	id, name, task, trig, args, queue string
	tags                              []string
	paused                            bool
}

func (q *quickJob) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&q.id, "id", "", "job ID (generated when empty)")
	f.StringVar(&q.name, "name", "", "job name")
	f.StringVar(&q.task, "task", "", "task to run, such as echo")
	f.StringVar(&q.trig, "trigger", "", `crontab expression, or a trigger spec as JSON such as '{"type": "interval", "minutes": 5}'`)
	f.StringVar(&q.args, "args", "", "the task's args, as JSON")
	f.StringVar(&q.queue, "queue", "", "queue")
	f.StringSliceVar(&q.tags, "tag", nil, "tag (repeatable)")
	f.BoolVar(&q.paused, "paused", false, "add the job paused")
}

func (q *quickJob) doc() (json.RawMessage, error) {
	d := map[string]any{"task": q.task, "paused": q.paused}
	for k, v := range map[string]string{"id": q.id, "name": q.name, "queue": q.queue} {
		if v != "" {
			d[k] = v
		}
	}
	if len(q.tags) > 0 {
		d["tags"] = q.tags
	}
	if t := strings.TrimSpace(q.trig); strings.HasPrefix(t, "{") {
		d["trigger"] = json.RawMessage(t)
	} else if t != "" {
		d["trigger"] = t
	}
	if q.args != "" {
		if !json.Valid([]byte(q.args)) {
			return nil, usagef("--args %q is not JSON", q.args)
		}
		d["args"] = json.RawMessage(q.args)
	}
	b, err := marshalJSON(d)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if _, err := jobdoc.Decode(b); err != nil {
		return nil, usagef("%v", err)
	}
	return b, nil
}

func jobsAdd(env Env, cf *clientFlags) *cobra.Command {
	var file string
	var declare bool
	var q quickJob
	cmd := &cobra.Command{
		Use:   "add [-f FILE | --task T --trigger T] [--declare-task]",
		Short: "Add jobs from a YAML or JSON file (the config file's job shape), or one from flags",
		Example: `  sundial jobs add --id heartbeat --task echo --trigger '*/5 * * * *' --args '{"say": "hi"}'
  sundial jobs add -f jobs.yaml
  sundial jobs add --id nightly --task send_report --trigger '0 3 * * *' --declare-task   # a worker's task, before its worker connects`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var docs []json.RawMessage
			switch {
			case file != "":
				var err error
				if docs, err = readJobs(env, file); err != nil {
					return err
				}
			case q.task != "":
				d, err := q.doc()
				if err != nil {
					return err
				}
				docs = []json.RawMessage{d}
			default:
				return usagef("give -f FILE, or --task and --trigger")
			}
			c := cf.client(env)
			path := "/api/v1/jobs"
			if declare {
				path += "?declare_task=true"
			}
			for _, d := range docs {
				var raw json.RawMessage
				if _, err := c.do(cmd.Context(), "POST", path, d, &raw); err != nil {
					return err
				}
				if err := showJobLine(env.Stdout, raw, cf.json, "added"); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file of jobs, - for stdin")
	cmd.Flags().BoolVar(&declare, "declare-task", false, "accept a task no worker has served yet, as a worker task: its runs wait for a worker (docs/workers.md)")
	q.register(cmd)
	return cmd
}

// showJobLine prints one changed job: JSON, or a line for people.
func showJobLine(w io.Writer, raw []byte, asJSON bool, verb string) error {
	if asJSON {
		return printJSON(w, raw)
	}
	var j httpapi.JobView
	json.Unmarshal(raw, &j)
	next := "not scheduled"
	if !j.NextRunAt.IsZero() {
		next = "next run " + when(j.NextRunAt)
	}
	if j.Paused {
		next = "paused"
	}
	_, err := fmt.Fprintf(w, "%s job %s (%s, %s)\n", verb, j.ID, j.Task, next)
	return err
}

func jobsUpdate(env Env, cf *clientFlags) *cobra.Command {
	var file string
	var version int64
	cmd := &cobra.Command{
		Use:   "update ID -f FILE",
		Short: "Replace a job's definition with the one in a YAML or JSON file",
		Example: `  sundial jobs get nightly-report --json > nightly-report.json   # edit it, then:
  sundial jobs update nightly-report -f nightly-report.json --if-version 3`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usagef("give the new definition with -f FILE")
			}
			docs, err := readJobs(env, file)
			if err != nil {
				return err
			}
			if len(docs) != 1 {
				return usagef("%s holds %d jobs; update takes one", file, len(docs))
			}
			var header []string
			if version > 0 {
				header = []string{"If-Match", strconv.Quote(strconv.FormatInt(version, 10))}
			}
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "PUT", "/api/v1/jobs/"+url.PathEscape(args[0]), docs[0], &raw, header...); err != nil {
				return err
			}
			return showJobLine(env.Stdout, raw, cf.json, "updated")
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "YAML or JSON file of the job, - for stdin")
	cmd.Flags().Int64Var(&version, "if-version", 0, "change only if the job is still at this version (see jobs get)")
	return cmd
}

// jobsPause pauses one job, or every job a selector takes.
func jobsPause(env Env, cf *clientFlags) *cobra.Command {
	var sel selector
	var cancelRunning bool
	cmd := &cobra.Command{
		Use:   "pause [ID | --tag T | --queue Q | --all]",
		Short: "Pause a job, or every job with a tag or in a queue: it stops firing until resumed",
		Long: `Pause a job, or every job with a tag or in a queue: it stops firing until
resumed. Runs of the job that are going on are listed; they finish unless
--cancel-running stops them too.`,
		Example: `  sundial jobs pause nightly-report
  sundial jobs pause --tag reports --cancel-running
  sundial jobs pause --queue slow`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if cancelRunning {
				q.Set("cancel_running", "true")
			}
			if len(args) == 0 {
				return bulkAction(cmd, env, cf, "pause", sel, q)
			}
			if err := sel.none(); err != nil {
				return err
			}
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "POST", "/api/v1/jobs/"+url.PathEscape(args[0])+"/pause?"+q.Encode(), nil, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw)
			}
			if err := showJobLine(env.Stdout, raw, false, "paused"); err != nil {
				return err
			}
			var out httpapi.PausedJob
			json.Unmarshal(raw, &out)
			showRunningRuns(env.Stdout, out.RunningRuns, ", or all with `sundial jobs pause --cancel-running "+args[0]+"`")
			return nil
		},
	}
	sel.register(cmd, "pause")
	cmd.Flags().BoolVar(&cancelRunning, "cancel-running", false, "also cancel the job's runs that have not ended (default: they finish)")
	return cmd
}

func jobsResume(env Env, cf *clientFlags) *cobra.Command {
	var sel selector
	cmd := &cobra.Command{
		Use:   "resume [ID | --tag T | --queue Q | --all]",
		Short: "Resume a paused job, or every job with a tag or in a queue, from now on",
		Example: `  sundial jobs resume nightly-report
  sundial jobs resume --tag reports`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return bulkAction(cmd, env, cf, "resume", sel, url.Values{})
			}
			if err := sel.none(); err != nil {
				return err
			}
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "POST", "/api/v1/jobs/"+url.PathEscape(args[0])+"/resume", nil, &raw); err != nil {
				return err
			}
			return showJobLine(env.Stdout, raw, cf.json, "resumed")
		},
	}
	sel.register(cmd, "resume")
	return cmd
}

// selector chooses jobs by tag and queue for a bulk action.
type selector struct {
	tag, queue string
	all        bool
	cmd        *cobra.Command
}

func (s *selector) register(cmd *cobra.Command, verb string) {
	s.cmd = cmd
	f := cmd.Flags()
	f.StringVar(&s.tag, "tag", "", verb+" every job with this tag (instead of an ID)")
	f.StringVar(&s.queue, "queue", "", verb+` every job in this queue ("" for the default queue)`)
	f.BoolVar(&s.all, "all", false, verb+" every job")
}

func (s *selector) given() bool {
	return s.tag != "" || s.cmd.Flags().Changed("queue") || s.all
}

// none refuses a selector next to a job ID.
func (s *selector) none() error {
	if s.given() {
		return usagef("give a job ID or --tag, --queue or --all, not both")
	}
	return nil
}

// bulkAction pauses, resumes or runs the jobs sel takes, prints one line
// per job and fails (exit 1) if the action failed for any.
func bulkAction(cmd *cobra.Command, env Env, cf *clientFlags, action string, sel selector, q url.Values) error {
	if !sel.given() {
		return usagef("give a job ID, or --tag, --queue or --all to %s many jobs", action)
	}
	if sel.tag != "" {
		q.Set("tag", sel.tag)
	}
	if sel.cmd.Flags().Changed("queue") {
		q.Set("queue", sel.queue)
	}
	if sel.all {
		q.Set("all", "true")
	}
	var raw json.RawMessage
	if _, err := cf.client(env).do(cmd.Context(), "POST", "/api/v1/jobs/"+action+"?"+q.Encode(), nil, &raw); err != nil {
		return err
	}
	var out httpapi.BulkAnswer
	json.Unmarshal(raw, &out)
	if cf.json {
		if err := printJSON(env.Stdout, raw); err != nil {
			return err
		}
	} else {
		rows := make([][]string, 0, len(out.Results))
		for _, r := range out.Results {
			note := r.Error
			if r.RunID != "" {
				note = "run " + r.RunID
			}
			if n := len(r.RunningRuns); n > 0 {
				note = runsNote(r.RunningRuns)
			}
			rows = append(rows, []string{r.ID, r.Outcome, note})
		}
		if len(rows) > 0 {
			if err := table(env.Stdout, []string{"JOB", "OUTCOME", "NOTE"}, rows); err != nil {
				return err
			}
		}
		fmt.Fprintf(env.Stdout, "%s: %s selected, %d changed, %d unchanged, %d failed\n", action, plural(out.Matched, "job"), out.Changed,
			out.Matched-out.Changed-out.Failed, out.Failed)
	}
	if out.Failed > 0 {
		return fmt.Errorf("%s failed for %d of %s", action, out.Failed, plural(out.Matched, "job"))
	}
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// runsNote sums up a job's runs that had not ended, for a table cell.
func runsNote(runs []httpapi.RunRef) string {
	var parts []string
	for _, r := range runs {
		parts = append(parts, fmt.Sprintf("%s %s", r.ID, runState(r)))
	}
	return strings.Join(parts, "; ")
}

// runState says where a run that had not ended is now.
func runState(r httpapi.RunRef) string {
	state := string(r.Status)
	switch {
	case r.Status == sundial.StatusCanceled:
	case r.CancelRequested:
		state += ", cancel requested"
	}
	if r.Node != "" {
		state += " on " + r.Node
	}
	return state
}

// showRunningRuns prints the runs a job's pause or removal left going, or
// canceled, with how to stop them.
func showRunningRuns(w io.Writer, runs []httpapi.RunRef, orElse string) {
	still := false
	for _, r := range runs {
		fmt.Fprintf(w, "  run %s: %s\n", r.ID, runState(r))
		still = still || r.Status != sundial.StatusCanceled && !r.CancelRequested
	}
	if still {
		fmt.Fprintf(w, "  the runs above go on: stop one with `sundial runs cancel RUN_ID`%s\n", orElse)
	}
}

func jobsRun(env Env, cf *clientFlags) *cobra.Command {
	var args string
	var wait bool
	var sel selector
	cmd := &cobra.Command{
		Use:   "run [ID | --tag T | --queue Q | --all]",
		Short: "Run a job now, or every job with a tag or in a queue; with --wait, wait for the run and exit 1 if it failed",
		Example: `  sundial jobs run nightly-report
  sundial jobs run nightly-report --wait --args '{"date": "2026-11-01"}'
  sundial jobs run --tag reports`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			if len(ids) == 0 {
				if args != "" || wait {
					return usagef("--args and --wait take one job ID")
				}
				return bulkAction(cmd, env, cf, "run", sel, url.Values{})
			}
			if err := sel.none(); err != nil {
				return err
			}
			var body []byte
			if args != "" {
				if !json.Valid([]byte(args)) {
					return usagef("--args %q is not JSON", args)
				}
				body, _ = marshalJSON(httpapi.RunRequest{Args: json.RawMessage(args)})
			}
			c := cf.client(env)
			var raw json.RawMessage
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/jobs/"+url.PathEscape(ids[0])+"/run", body, &raw); err != nil {
				return err
			}
			var run sundial.Run
			if err := json.Unmarshal(raw, &run); err != nil {
				return fmt.Errorf("reading the run: %w", err)
			}
			if !wait {
				if cf.json {
					return printJSON(env.Stdout, raw)
				}
				_, err := fmt.Fprintf(env.Stdout, "started run %s of job %s\n", run.ID, run.JobID)
				return err
			}
			raw, err := waitRun(cmd.Context(), c, run.ID)
			if err != nil {
				return err
			}
			if err := showRun(env.Stdout, raw, cf.json); err != nil {
				return err
			}
			json.Unmarshal(raw, &run)
			if run.Status != sundial.StatusSucceeded {
				return fmt.Errorf("run %s %s", run.ID, run.Status)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&args, "args", "", "args for this run, as JSON (default: the job's)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the run ends and show it")
	sel.register(cmd, "run")
	return cmd
}

// waitRun polls a run until it ends.
func waitRun(ctx context.Context, c *client, id string) (json.RawMessage, error) {
	delay := 50 * time.Millisecond
	for {
		var raw json.RawMessage
		if _, err := c.do(ctx, "GET", "/api/v1/runs/"+url.PathEscape(id), nil, &raw); err != nil {
			return nil, err
		}
		var r sundial.Run
		json.Unmarshal(raw, &r)
		if !r.Status.Active() {
			return raw, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

func jobsRemove(env Env, cf *clientFlags) *cobra.Command {
	var cancelRunning bool
	cmd := &cobra.Command{
		Use:     "rm ID",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove a job; its run history stays",
		Long: `Remove a job; its run history stays. Runs of the job that are going on are
listed; they finish unless --cancel-running stops them too.`,
		Example: `  sundial jobs rm nightly-report
  sundial jobs rm nightly-report --cancel-running`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/v1/jobs/" + url.PathEscape(args[0])
			if cancelRunning {
				path += "?cancel_running=true"
			}
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "DELETE", path, nil, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw)
			}
			var out httpapi.JobRemoval
			json.Unmarshal(raw, &out)
			if _, err := fmt.Fprintf(env.Stdout, "removed job %s\n", args[0]); err != nil {
				return err
			}
			showRunningRuns(env.Stdout, out.RunningRuns, "")
			return nil
		},
	}
	cmd.Flags().BoolVar(&cancelRunning, "cancel-running", false, "also cancel the job's runs that have not ended (default: they finish)")
	return cmd
}
