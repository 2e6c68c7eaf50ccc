package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial/internal/httpapi"
)

// newSchedulerCommand pauses and resumes the scheduler cluster-wide.
func newSchedulerCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Pause and resume firing on every node sharing the store",
		Example: `  sundial scheduler pause    # before maintenance of what the jobs touch
  sundial scheduler status
  sundial scheduler resume`,
	}
	cf.register(cmd)
	change := func(action, short, example string) *cobra.Command {
		return &cobra.Command{
			Use:     action,
			Short:   short,
			Example: example,
			Args:    exactArgs(0),
			RunE: func(cmd *cobra.Command, _ []string) error {
				var raw json.RawMessage
				if _, err := cf.client(env).do(cmd.Context(), "POST", "/api/v1/scheduler/"+action, nil, &raw); err != nil {
					return err
				}
				return showSchedulerState(env.Stdout, raw, cf.json)
			},
		}
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether the scheduler is paused, and since when",
		Example: `  sundial scheduler status
  sundial scheduler status --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/scheduler", nil, &raw); err != nil {
				return err
			}
			return showSchedulerState(env.Stdout, raw, cf.json)
		},
	}
	cmd.AddCommand(
		change("pause", "Pause the scheduler on every node: no fires and no retries start until resumed; runs in progress go on",
			"  sundial scheduler pause"),
		change("resume", "Resume the scheduler on every node; fires missed meanwhile follow each job's misfire rules",
			"  sundial scheduler resume"),
		status)
	return cmd
}

func showSchedulerState(w io.Writer, raw []byte, asJSON bool) error {
	if asJSON {
		return printJSON(w, raw)
	}
	var st httpapi.SchedulerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	changed := st.Changed == nil || *st.Changed
	var err error
	switch {
	case st.Paused && changed:
		_, err = fmt.Fprintf(w, "paused: no node fires jobs until `sundial scheduler resume` (since %s)\n", when(st.Since))
	case st.Paused:
		_, err = fmt.Fprintf(w, "paused since %s\n", when(st.Since))
	case st.Changed != nil && *st.Changed:
		_, err = fmt.Fprintln(w, "resumed: the nodes fire jobs again")
	default:
		_, err = fmt.Fprintln(w, "not paused: the nodes fire jobs")
	}
	return err
}
