package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/httpapi"
)

// backfillTimeLayouts are the forms --from and --to take besides RFC 3339,
// read in the local zone (--tz).
var backfillTimeLayouts = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"}

func parseWhen(flag, text string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, text); err == nil {
		return t, nil
	}
	for _, layout := range backfillTimeLayouts {
		if t, err := time.ParseInLocation(layout, text, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--%s %q: give a time such as 2026-11-01, \"2026-11-01 09:00\" or 2026-11-01T09:00:00Z", flag, text)
}

func jobsBackfill(env Env, cf *clientFlags) *cobra.Command {
	var from, to, zone string
	var maxConcurrent int
	var rerun, wait bool
	cmd := &cobra.Command{
		Use:   "backfill JOB --from T --to T [--max-concurrent N] [--rerun] [--wait]",
		Short: "Run a job for every fire time in a past range, each with the scheduled time and fire key it would have had",
		Long: `Backfill records a run for every fire of the job's trigger from --from to
--to (both inclusive, in the past), each with the scheduled_at and fire key
it would have had, for report and ETL jobs that key on them. Fires that have
a run already are skipped unless --rerun. At most --max-concurrent runs wait
or run at once; the rest start as earlier ones end. Follow it with --wait or
'sundial runs list --backfill ID'; stop it with 'sundial runs cancel --backfill ID'.`,
		Example: `  sundial jobs backfill nightly-report --from 2026-11-01 --to "2026-11-29 23:59" --max-concurrent 4 --wait`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			loc := env.local()
			if zone != "" {
				l, err := time.LoadLocation(zone)
				if err != nil {
					return usagef("--tz %q: %v", zone, err)
				}
				loc = l
			}
			var req httpapi.BackfillRequest
			var err error
			if req.From, err = parseWhen("from", from, loc); err != nil {
				return err
			}
			if req.To, err = parseWhen("to", to, loc); err != nil {
				return err
			}
			req.MaxConcurrent, req.Rerun = maxConcurrent, rerun
			body, _ := marshalJSON(req)
			c := cf.client(env)
			var raw json.RawMessage
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/jobs/"+url.PathEscape(args[0])+"/backfill", body, &raw); err != nil {
				return err
			}
			var p httpapi.BackfillProgress
			json.Unmarshal(raw, &p)
			if cf.json && !wait {
				return printJSON(env.Stdout, raw)
			}
			if !cf.json {
				fmt.Fprintf(env.Stdout, "backfill %s of job %s: %d runs recorded, %d fires skipped (they had a run)\n", p.ID, args[0], p.Recorded, p.Skipped)
			}
			if !wait || p.Recorded == 0 {
				return nil
			}
			return waitBackfill(cmd.Context(), env, c, p.ID, cf.json)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "first fire time to run (required)")
	f.StringVar(&to, "to", "", "last fire time to run, not in the future (required)")
	f.StringVar(&zone, "tz", "", "zone of --from and --to when they carry no offset (default: local)")
	f.IntVar(&maxConcurrent, "max-concurrent", 1, "runs of the backfill waiting or running at once")
	f.BoolVar(&rerun, "rerun", false, "run fires that have a run already again, as a new attempt")
	f.BoolVar(&wait, "wait", false, "show progress until every run has ended; exit 1 unless all succeeded")
	cmd.MarkFlagRequired("from")
	cmd.MarkFlagRequired("to")
	return cmd
}

// waitBackfill shows a backfill's progress until every run has ended.
func waitBackfill(ctx context.Context, env Env, c *client, id string, asJSON bool) error {
	delay, last := 100*time.Millisecond, ""
	for {
		var raw json.RawMessage
		if _, err := c.do(ctx, "GET", "/api/v1/backfills/"+url.PathEscape(id), nil, &raw); err != nil {
			return err
		}
		var p httpapi.BackfillProgress
		json.Unmarshal(raw, &p)
		if line := progressLine(p); line != last && !asJSON {
			fmt.Fprintln(env.Stdout, line)
			last = line
		}
		if p.Done {
			if asJSON {
				if err := printJSON(env.Stdout, raw); err != nil {
					return err
				}
			}
			if n := p.Statuses[sundial.StatusSucceeded]; n != p.Runs {
				return fmt.Errorf("backfill %s: %d of %d runs did not succeed (see `sundial runs list --backfill %s`)", id, p.Runs-n, p.Runs, id)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func progressLine(p httpapi.BackfillProgress) string {
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(p.Statuses)) {
		parts = append(parts, fmt.Sprintf("%d %s", p.Statuses[st], st))
	}
	return fmt.Sprintf("%d runs: %s", p.Runs, strings.Join(parts, ", "))
}

func runsRetry(env Env, cf *clientFlags) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "retry RUN_ID [--wait]",
		Short: "Run an ended run's fire again as a new attempt, with its scheduled time, fire key and args",
		Example: `  sundial runs retry 8b8kxjjy3whaert0t3vjbt4jzc
  sundial runs retry 8b8kxjjy3whaert0t3vjbt4jzc --wait`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := cf.client(env)
			var raw json.RawMessage
			if _, err := c.do(cmd.Context(), "POST", "/api/v1/runs/"+url.PathEscape(args[0])+"/retry", nil, &raw); err != nil {
				return err
			}
			var r sundial.Run
			json.Unmarshal(raw, &r)
			if wait {
				var err error
				if raw, err = waitRun(cmd.Context(), c, r.ID); err != nil {
					return err
				}
				json.Unmarshal(raw, &r)
			}
			if cf.json {
				if err := printJSON(env.Stdout, raw); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(env.Stdout, "run %s: attempt %d of job %s's fire at %s: %s\n", r.ID, r.Attempt, r.JobID, when(r.ScheduledAt), r.Status)
			}
			if wait && r.Status != sundial.StatusSucceeded {
				return fmt.Errorf("run %s ended %s: %s", r.ID, r.Status, oneLine(r.Error, 200))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the run ends; exit 1 unless it succeeded")
	return cmd
}
