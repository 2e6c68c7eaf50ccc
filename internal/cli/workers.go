package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial/internal/httpapi"
)

func newWorkersCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "workers",
		Short: "Workers: processes of your own applications that run their tasks (docs/workers.md)",
		Long: `A worker is a process of your application — a Flask app run with
"flask sundial worker", a Go service with package worker — that serves
named tasks. The server keeps the schedule and the history; the runs of a
worker task execute only on workers, and wait while none serves it.`,
		Example: `  sundial workers list
  sundial workers list --json   # {"workers": […], "tasks": […]}, as GET /api/v1/workers`,
	}
	cf.register(cmd)
	list := &cobra.Command{
		Use:   "list",
		Short: "List worker sessions and the worker tasks, with the live workers serving each",
		Example: `  sundial workers list
  sundial workers list --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/workers", nil, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw)
			}
			var out httpapi.WorkerList
			if err := json.Unmarshal(raw, &out); err != nil {
				return err
			}
			rows := make([][]string, 0, len(out.Workers))
			for _, w := range out.Workers {
				state := "live"
				switch {
				case w.Standby:
					state = "stopped"
				case !w.Live:
					state = "silent"
				}
				rows = append(rows, []string{w.Name, state, fmt.Sprintf("%d/%d", w.Busy, w.Capacity), strings.Join(w.Tasks, ", "),
					w.Host + pid(w.PID), when(w.LastSeen), w.Version})
			}
			if err := table(env.Stdout, []string{"WORKER", "STATE", "BUSY", "TASKS", "HOST", "LAST SEEN", "VERSION"}, rows); err != nil {
				return err
			}
			rows = rows[:0]
			for _, t := range out.Tasks {
				served := strings.Join(t.LiveWorkers, ", ")
				if served == "" {
					served = "no live worker: its runs wait"
				}
				rows = append(rows, []string{t.Name, served, when(t.DeclaredAt)})
			}
			fmt.Fprintln(env.Stdout)
			return table(env.Stdout, []string{"TASK", "SERVED BY", "DECLARED"}, rows)
		},
	}
	forget := &cobra.Command{
		Use:     "forget-task TASK",
		Short:   "Undeclare a worker task (declared by mistake, or its workers gone for good): scheduler nodes run its jobs from then on",
		Example: `  sundial workers forget-task send_report`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := cf.client(env).do(cmd.Context(), "DELETE", "/api/v1/workers/tasks/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s is no longer a worker task\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, forget)
	return cmd
}

// pid shows a process ID after a host name, when there is one.
func pid(p int) string {
	if p <= 0 {
		return ""
	}
	return ":" + strconv.Itoa(p)
}
