package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/httpapi"
)

func newRunsCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "runs", Short: "List, show and cancel the runs of jobs",
		Example: `  sundial runs list --status failed
  sundial runs get 8b8kxjjy3whaert0t3vjbt4jzc
  sundial runs logs -f 8b8kxjjy3whaert0t3vjbt4jzc`}
	cf.register(cmd)
	var job, status, backfill string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Example: `  sundial runs list
  sundial runs list --job nightly-report --status failed --limit 50
  sundial runs list --json | jq -r '.runs[].id'   # {"runs": […], "next_cursor": …}, as GET /api/v1/runs`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if job != "" {
				q.Set("job_id", job)
			}
			if status != "" {
				q.Set("status", status)
			}
			if backfill != "" {
				q.Set("backfill", backfill)
			}
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/runs?"+q.Encode(), nil, &raw); err != nil {
				return err
			}
			if cf.json {
				// The API's own shape, {"runs": […], "next_cursor": …}.
				return printJSON(env.Stdout, raw)
			}
			var page httpapi.RunList
			if err := json.Unmarshal(raw, &page); err != nil {
				return fmt.Errorf("reading the runs: %w", err)
			}
			// A SHARD column only when the page holds shards of broadcast
			// fires, which it lists next to each other (same fire time).
			sharded := slices.ContainsFunc(page.Runs, func(r sundial.Run) bool { return r.Shard != nil })
			rows := make([][]string, 0, len(page.Runs))
			for _, r := range page.Runs {
				row := []string{r.ID, r.JobID, string(r.Status), when(r.ScheduledAt), duration(r), strconv.Itoa(r.Attempt)}
				if sharded {
					shard := "-"
					if r.Shard != nil {
						shard = fmt.Sprintf("%d/%d", r.Shard.Index, r.Shard.Total)
					}
					row = append(row, shard, r.Node)
				}
				rows = append(rows, append(row, oneLine(r.Error, 60)))
			}
			header := []string{"RUN", "JOB", "STATUS", "SCHEDULED", "TOOK", "ATTEMPT"}
			if sharded {
				header = append(header, "SHARD", "NODE")
			}
			return table(env.Stdout, append(header, "ERROR"), rows)
		},
	}
	list.Flags().StringVar(&job, "job", "", "only runs of this job")
	list.Flags().StringVar(&status, "status", "", "only runs in this status (succeeded, failed, running, canceled …)")
	list.Flags().StringVar(&backfill, "backfill", "", "only runs of this backfill")
	list.Flags().IntVar(&limit, "limit", 20, "how many runs, 1 to 1000")
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a run with its result, error and output",
		Example: `  sundial runs get 8b8kxjjy3whaert0t3vjbt4jzc
  sundial runs get 8b8kxjjy3whaert0t3vjbt4jzc --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/runs/"+url.PathEscape(args[0]), nil, &raw); err != nil {
				return err
			}
			return showRun(env.Stdout, raw, cf.json)
		},
	}
	cmd.AddCommand(list, get, runsLogs(env, &cf), runsCancel(env, &cf), runsRetry(env, &cf))
	return cmd
}

func runsCancel(env Env, cf *clientFlags) *cobra.Command {
	var wait bool
	var backfill string
	cmd := &cobra.Command{
		Use:   "cancel RUN_ID | --backfill ID",
		Short: "Cancel a run: one waiting to start at once; a running one is stopped by its node (its processes killed)",
		Long: `Cancel a run. A run waiting to start (queued, scheduled) is canceled at once;
a running one is stopped by the node that runs it, which kills the task's
processes and records the run canceled. With --wait, wait until the run
has ended and exit 1 unless it ended canceled. A run that has ended already
cannot be canceled (exit 2). With --backfill, cancel every run of a backfill
that has not ended.`,
		Example: `  sundial runs cancel 8b8kxjjy3whaert0t3vjbt4jzc
  sundial runs cancel 8b8kxjjy3whaert0t3vjbt4jzc --wait
  sundial runs cancel --backfill q3m7v0c2n9x4k8w1z5r6t2y8hd`,
		Args: func(cmd *cobra.Command, args []string) error {
			if backfill != "" {
				return exactArgs(0)(cmd, args)
			}
			return exactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c := cf.client(env)
			if backfill != "" {
				var out struct {
					Canceled int `json:"canceled"`
				}
				var raw json.RawMessage
				if _, err := c.do(cmd.Context(), "POST", "/api/v1/backfills/"+url.PathEscape(backfill)+"/cancel", nil, &raw); err != nil {
					return err
				}
				if cf.json {
					return printJSON(env.Stdout, raw)
				}
				json.Unmarshal(raw, &out)
				_, err := fmt.Fprintf(env.Stdout, "backfill %s: %s canceled\n", backfill, plural(out.Canceled, "run"))
				return err
			}
			var raw json.RawMessage
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/runs/"+url.PathEscape(args[0])+"/cancel", nil, &raw); err != nil {
				return err
			}
			var r sundial.Run
			json.Unmarshal(raw, &r)
			if wait && r.Status.Active() {
				if !cf.json {
					fmt.Fprintf(env.Stdout, "cancel requested for run %s of job %s on node %s; waiting for it to stop\n", r.ID, r.JobID, r.Node)
				}
				var err error
				if raw, err = waitRun(cmd.Context(), c, r.ID); err != nil {
					return err
				}
				json.Unmarshal(raw, &r)
			}
			switch {
			case cf.json:
				if err := printJSON(env.Stdout, raw); err != nil {
					return err
				}
			case r.Status == sundial.StatusCanceled:
				fmt.Fprintf(env.Stdout, "canceled run %s of job %s\n", r.ID, r.JobID)
			case r.Status.Active():
				fmt.Fprintf(env.Stdout, "cancel requested for run %s of job %s: node %s stops it (follow it with `sundial runs get %s`)\n", r.ID, r.JobID, r.Node, r.ID)
			}
			if wait && r.Status != sundial.StatusCanceled {
				return fmt.Errorf("run %s ended %s before its node stopped it", r.ID, r.Status)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the run has stopped")
	cmd.Flags().StringVar(&backfill, "backfill", "", "cancel the runs of this backfill that have not ended")
	return cmd
}

func duration(r sundial.Run) string {
	if r.StartedAt.IsZero() || r.EndedAt.IsZero() {
		return "-"
	}
	d := r.EndedAt.Sub(r.StartedAt)
	if d < time.Millisecond {
		// A quick task took some microseconds, not "0s".
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func showRun(w io.Writer, raw []byte, asJSON bool) error {
	if asJSON {
		return printJSON(w, raw)
	}
	var r sundial.Run
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	status := string(r.Status)
	if r.CancelRequested && r.Status.Active() {
		status += " (cancel requested)"
	}
	rows := [][]string{{"run", r.ID}, {"job", r.JobID}, {"task", r.Task}, {"status", status}, {"attempt", strconv.Itoa(r.Attempt)},
		{"scheduled", when(r.ScheduledAt)}, {"claimed", when(r.ClaimedAt)}, {"started", when(r.StartedAt)}, {"ended", when(r.EndedAt)},
		{"took", duration(r)}, {"node", r.Node}, {"args", string(unescapeHTML(r.Args))}, {"result", string(unescapeHTML(r.Result))}, {"error", r.Error}}
	if r.Manual {
		rows = append(rows, []string{"manual", "yes"})
	}
	if r.Exit != nil {
		exit := "status " + strconv.Itoa(r.Exit.Code)
		if r.Exit.Signal != "" {
			exit = "signal " + r.Exit.Signal
		}
		rows = append(rows, []string{"exit", exit})
	}
	for _, row := range rows {
		if row[1] != "" && row[1] != "-" {
			fmt.Fprintf(w, "%-10s %s\n", row[0]+":", row[1])
		}
	}
	if r.Output != "" {
		fmt.Fprintf(w, "output:\n%s", r.Output)
		if !strings.HasSuffix(r.Output, "\n") {
			fmt.Fprintln(w)
		}
	}
	return nil
}
