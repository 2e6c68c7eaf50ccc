package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/internal/jobdoc"
)

func newJobsCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "jobs", Short: "List, add, change, pause, resume, run and remove jobs on a server"}
	cf.register(cmd)
	cmd.AddCommand(jobsList(env, &cf), jobsGet(env, &cf), jobsAdd(env, &cf), jobsUpdate(env, &cf),
		jobsAction(env, &cf, "pause", "Pause a job: it stops firing until resumed"),
		jobsAction(env, &cf, "resume", "Resume a paused job from now on"),
		jobsRun(env, &cf), jobsRemove(env, &cf))
	return cmd
}

func jobsList(env Env, cf *clientFlags) *cobra.Command {
	var tag, task, queue, paused string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List jobs",
		Args:  exactArgs(0),
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
				b, _ := json.Marshal(raws)
				if raws == nil {
					b = []byte("[]")
				}
				return printJSON(env.Stdout, b)
			}
			rows := make([][]string, 0, len(jobs))
			for _, j := range jobs {
				state := "active"
				if j.Paused {
					state = "paused"
				}
				rows = append(rows, []string{j.ID, j.Task, triggerText(j.Job), when(j.NextRunAt), state})
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

// triggerText is a job's trigger in a table cell.
func triggerText(j sundial.Job) string {
	if j.Trigger.Type == "cron" && j.Trigger.Expr != "" {
		return j.Trigger.Expr
	}
	b, _ := json.Marshal(j.Trigger)
	return string(b)
}

func jobsGet(env Env, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a job",
		Args:  exactArgs(1),
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
	opts, _ := json.Marshal(j.Options)
	rows := [][]string{{"id", j.ID}, {"name", j.Name}, {"task", j.Task}, {"trigger", triggerText(j.Job)}, {"schedule", j.Description},
		{"next run", when(j.NextRunAt)}, {"state", state}, {"args", string(j.Args)}, {"tags", strings.Join(j.Tags, ", ")},
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
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(env.stdin())
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, usagef("%v", err)
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
		if _, err := jobdoc.Decode(raw); err != nil {
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
	b, err := json.Marshal(d)
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
	var q quickJob
	cmd := &cobra.Command{
		Use:   "add [-f FILE | --task T --trigger T]",
		Short: "Add jobs from a YAML or JSON file (the config file's job shape), or one from flags",
		Example: `  sundial jobs add --id heartbeat --task echo --trigger '*/5 * * * *' --args '{"say": "hi"}'
  sundial jobs add -f jobs.yaml`,
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
			for _, d := range docs {
				var raw json.RawMessage
				if _, err := c.do(cmd.Context(), "POST", "/api/v1/jobs", d, &raw); err != nil {
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
		Args:  exactArgs(1),
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

func jobsAction(env Env, cf *clientFlags, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action + " ID",
		Short: short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "POST", "/api/v1/jobs/"+url.PathEscape(args[0])+"/"+action, nil, &raw); err != nil {
				return err
			}
			return showJobLine(env.Stdout, raw, cf.json, action+"d")
		},
	}
}

func jobsRun(env Env, cf *clientFlags) *cobra.Command {
	var args string
	var wait bool
	cmd := &cobra.Command{
		Use:   "run ID",
		Short: "Run a job now; with --wait, wait for the run and exit 1 if it failed",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			var body []byte
			if args != "" {
				if !json.Valid([]byte(args)) {
					return usagef("--args %q is not JSON", args)
				}
				body, _ = json.Marshal(httpapi.RunRequest{Args: json.RawMessage(args)})
			}
			c := cf.client(env)
			var run sundial.Run
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/jobs/"+url.PathEscape(ids[0])+"/run", body, &run); err != nil {
				return err
			}
			if !wait {
				if cf.json {
					b, _ := json.Marshal(run)
					return printJSON(env.Stdout, b)
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
	return &cobra.Command{
		Use:     "rm ID",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove a job; its run history stays",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := cf.client(env).do(cmd.Context(), "DELETE", "/api/v1/jobs/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, []byte(`{"removed":`+strconv.Quote(args[0])+`}`))
			}
			_, err := fmt.Fprintf(env.Stdout, "removed job %s\n", args[0])
			return err
		},
	}
}
