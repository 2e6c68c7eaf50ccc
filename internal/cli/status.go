package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/httpapi"
)

func newStatusCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the server's scheduler: nodes, jobs, queue depth",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/status", nil, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw)
			}
			var st httpapi.StatusView
			json.Unmarshal(raw, &st)
			fmt.Fprintf(env.Stdout, "server %s: node %s, scheduling %v, lease TTL %s, clock offset to the store %s\n", st.Version, st.Node.Node,
				st.Scheduling, st.Node.LeaseTTL, st.Node.ClockOffset)
			if st.Node.ClockSkewed {
				fmt.Fprintf(env.Stdout, "WARNING: this node's clock is %s off the store's; fix its time sync (fires and leases follow the store's clock)\n", st.Node.ClockOffset)
			}
			if st.Paused {
				fmt.Fprintf(env.Stdout, "PAUSED cluster-wide since %s: no node fires jobs until `sundial scheduler resume`\n", when(st.PausedSince))
			}
			fmt.Fprintf(env.Stdout, "jobs: %d (%d paused)\n", st.Jobs.Total, st.Jobs.Paused)
			fmt.Fprintf(env.Stdout, "runs not ended: %d running, %d pending, %d scheduled, %d queued\n\n",
				st.Runs[sundial.StatusRunning], st.Runs[sundial.StatusPending], st.Runs[sundial.StatusScheduled], st.Runs[sundial.StatusQueued])
			rows := make([][]string, 0, len(st.Nodes))
			for _, n := range st.Nodes {
				queues := strings.Join(n.Queues, ",")
				if queues == "" {
					queues = "all"
				}
				rows = append(rows, []string{n.ID, n.Host, strconv.Itoa(n.PID), queues, when(n.StartedAt), when(n.LastSeen)})
			}
			return table(env.Stdout, []string{"NODE", "HOST", "PID", "QUEUES", "STARTED", "LAST SEEN"}, rows)
		},
	}
	cf.register(cmd)
	return cmd
}

func newAuditCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit log: who changed what, when"}
	cf.register(cmd)
	var target string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit entries, newest first",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if target != "" {
				q.Set("target", target)
			}
			var page httpapi.AuditList
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/audit?"+q.Encode(), nil, &raw); err != nil {
				return err
			}
			json.Unmarshal(raw, &page)
			if cf.json {
				b, _ := json.Marshal(page.Entries)
				return printJSON(env.Stdout, b)
			}
			rows := make([][]string, 0, len(page.Entries))
			for _, e := range page.Entries {
				rows = append(rows, []string{when(e.At), e.Actor, e.Action, e.Target})
			}
			return table(env.Stdout, []string{"AT", "WHO", "ACTION", "TARGET"}, rows)
		},
	}
	list.Flags().StringVar(&target, "target", "", "only entries about this job or token")
	list.Flags().IntVar(&limit, "limit", 50, "how many entries, 1 to 1000")
	cmd.AddCommand(list)
	return cmd
}
