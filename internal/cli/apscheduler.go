package cli

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/apsched"
	"github.com/sundialhq/sundial/internal/jobdoc"
	"github.com/sundialhq/sundial/internal/transfer"
)

// apschedulerJobs prints an APScheduler 3 SQLAlchemy job store's jobs as
// JSON; it runs under the user's own interpreter, the one that can
// unpickle them.
//
//go:embed apscheduler_jobs.py
var apschedulerJobs string

func newImportCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "import", Short: "Bring jobs over from another scheduler",
		Example: `  sundial import apscheduler --url sqlite:///instance/jobs.sqlite --python venv/bin/python --dry-run`}
	cmd.AddCommand(importAPScheduler(env))
	return cmd
}

func importAPScheduler(env Env) *cobra.Command {
	var cf clientFlags
	var dbURL, table, python, out string
	var dryRun, replace bool
	cmd := &cobra.Command{
		Use:   "apscheduler --url DB_URL [--dry-run] [--replace] [-o FILE]",
		Short: "Import the jobs of an APScheduler SQLAlchemy job store",
		Long: `Import reads the jobs of an APScheduler 3 SQLAlchemy job store (the
apscheduler_jobs table) with your own Python interpreter — the one with
APScheduler installed, which can unpickle them — and creates the same jobs
on the server: func references become python tasks, cron, interval and date
triggers keep their fields, zones and dates, paused jobs stay paused, and
misfire_grace_time, coalesce and max_instances carry over (APScheduler's
default grace of 1 second too: raise it if jobs were "missed by 0:00:01").
Jobs it cannot map (combined triggers, functions that are not module:name
references, args JSON cannot hold) are listed, and it exits 1 after
importing the rest. With -o it writes the jobs as an export file instead.`,
		Example: `  sundial import apscheduler --url sqlite:///instance/jobs.sqlite --python venv/bin/python --dry-run
  sundial import apscheduler --url postgresql://app@db/app -o jobs.yaml`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var stdout, stderr bytes.Buffer
			run := exec.CommandContext(cmd.Context(), python, "-c", apschedulerJobs, dbURL, table)
			run.Stdout, run.Stderr = &stdout, &stderr
			if err := run.Run(); err != nil {
				return fmt.Errorf("reading the job store with %s: %v: %s", python, err, lastLines(stderr.String(), 5))
			}
			var entries []map[string]json.RawMessage
			if err := json.Unmarshal(stdout.Bytes(), &entries); err != nil {
				return fmt.Errorf("reading the job store with %s: unexpected output: %v", python, err)
			}
			doc := transfer.Document{Format: transfer.Format, Jobs: []jobdoc.Doc{}}
			var unmapped []string
			for _, e := range entries {
				var id string
				json.Unmarshal(e["id"], &id)
				if msg, ok := e["error"]; ok {
					unmapped = append(unmapped, fmt.Sprintf("%s: %s", id, strings.Trim(string(msg), `"`)))
					continue
				}
				var job sundial.Job
				ch, err := apsched.Apply(&job, e, apsched.Options{Creating: true})
				if err != nil {
					unmapped = append(unmapped, fmt.Sprintf("%s: %v", id, err))
					continue
				}
				job.Paused = ch.Pause
				doc.Jobs = append(doc.Jobs, jobdoc.FromJob(job))
			}
			for _, u := range unmapped {
				fmt.Fprintln(env.Stderr, "not imported:", u)
			}
			body, err := marshalJSON(doc)
			if err != nil {
				return err
			}
			switch {
			case out != "":
				text, err := jsonToYAML(body)
				if err != nil {
					return err
				}
				if err := writeOut(env, out, text); err != nil {
					return err
				}
			case len(doc.Jobs) > 0:
				if err := postImport(cmd.Context(), env, &cf, body, dryRun, replace); err != nil {
					return err
				}
			}
			if len(unmapped) > 0 {
				return fmt.Errorf("%d of %d jobs could not be imported (listed above)", len(unmapped), len(entries))
			}
			return nil
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&dbURL, "url", "", "the job store's SQLAlchemy URL, such as sqlite:///jobs.sqlite (required)")
	f.StringVar(&table, "table", "apscheduler_jobs", "the job store's table")
	f.StringVar(&python, "python", "python3", "the Python interpreter that has APScheduler and SQLAlchemy")
	f.BoolVar(&dryRun, "dry-run", false, "report what would change, and change nothing")
	f.BoolVar(&replace, "replace", false, "update jobs that exist with a different definition (default: skip them)")
	f.StringVarP(&out, "output", "o", "", "write the jobs to this file as an export instead of importing them (- for standard output)")
	cmd.MarkFlagRequired("url")
	return cmd
}

// lastLines returns the last n lines of text, where a Python traceback
// says what went wrong.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
