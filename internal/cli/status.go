package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
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
		Example: `  sundial status
  sundial status --json --server https://sundial.example.com`,
		Args: exactArgs(0),
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
			if err := table(env.Stdout, []string{"NODE", "HOST", "PID", "QUEUES", "STARTED", "LAST SEEN"}, rows); err != nil {
				return err
			}
			return factsTable(env.Stdout, st.Nodes)
		},
	}
	cf.register(cmd)
	return cmd
}

// knownFacts are the node facts shown first, in this order: how each node
// confines its tasks (docs/security.md).
var knownFacts = []string{"run_as", "landlock", "cgroup_limits", "non_dumpable"}

// factsTable shows what the nodes say about themselves, one column per
// fact, when any does.
func factsTable(w io.Writer, nodes []sundial.Node) error {
	var keys []string
	for _, n := range nodes {
		for k := range n.Facts {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	rank := func(k string) int {
		if i := slices.Index(knownFacts, k); i >= 0 {
			return i
		}
		return len(knownFacts)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b)) })
	header := []string{"NODE"}
	for _, k := range keys {
		header = append(header, strings.ToUpper(strings.ReplaceAll(k, "_", " ")))
	}
	rows := make([][]string, 0, len(nodes))
	for _, n := range nodes {
		row := []string{n.ID}
		for _, k := range keys {
			row = append(row, cmp.Or(n.Facts[k], "-"))
		}
		rows = append(rows, row)
	}
	fmt.Fprintln(w, "\ntasks' isolation:")
	return table(w, header, rows)
}

func newAuditCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit log: who changed what, when",
		Example: `  sundial audit list
  sundial audit list --target nightly-report`}
	cf.register(cmd)
	var target string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit entries, newest first",
		Example: `  sundial audit list --limit 200
  sundial audit list --target nightly-report
  sundial audit list --json   # {"entries": […], "next_cursor": …}, as GET /api/v1/audit`,
		Args: exactArgs(0),
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
			if cf.json {
				return printJSON(env.Stdout, raw) // {"entries": […], "next_cursor": …}
			}
			if err := json.Unmarshal(raw, &page); err != nil {
				return fmt.Errorf("reading the audit log: %w", err)
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
