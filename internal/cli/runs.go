package cli

import (
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
	"github.com/sundialhq/sundial/internal/server"
)

func newRunsCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "runs", Short: "List and show the runs of jobs"}
	cf.register(cmd)
	var job, status string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if job != "" {
				q.Set("job_id", job)
			}
			if status != "" {
				q.Set("status", status)
			}
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/runs?"+q.Encode(), nil, &raw); err != nil {
				return err
			}
			var page httpapi.RunList
			json.Unmarshal(raw, &page)
			if cf.json {
				b, _ := json.Marshal(page.Runs)
				return printJSON(env.Stdout, b)
			}
			rows := make([][]string, 0, len(page.Runs))
			for _, r := range page.Runs {
				rows = append(rows, []string{r.ID, r.JobID, string(r.Status), when(r.ScheduledAt), duration(r), strconv.Itoa(r.Attempt), oneLine(r.Error, 60)})
			}
			return table(env.Stdout, []string{"RUN", "JOB", "STATUS", "SCHEDULED", "TOOK", "ATTEMPT", "ERROR"}, rows)
		},
	}
	list.Flags().StringVar(&job, "job", "", "only runs of this job")
	list.Flags().StringVar(&status, "status", "", "only runs in this status (succeeded, failed, running …)")
	list.Flags().IntVar(&limit, "limit", 20, "how many runs, 1 to 1000")
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a run with its result, error and output",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/runs/"+url.PathEscape(args[0]), nil, &raw); err != nil {
				return err
			}
			return showRun(env.Stdout, raw, cf.json)
		},
	}
	cmd.AddCommand(list, get)
	return cmd
}

func duration(r sundial.Run) string {
	if r.StartedAt.IsZero() || r.EndedAt.IsZero() {
		return "-"
	}
	return r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
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
	rows := [][]string{{"run", r.ID}, {"job", r.JobID}, {"task", r.Task}, {"status", string(r.Status)}, {"attempt", strconv.Itoa(r.Attempt)},
		{"scheduled", when(r.ScheduledAt)}, {"started", when(r.StartedAt)}, {"ended", when(r.EndedAt)}, {"took", duration(r)},
		{"node", r.Node}, {"args", string(r.Args)}, {"result", string(r.Result)}, {"error", r.Error}}
	if r.Manual {
		rows = append(rows, []string{"manual", "yes"})
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
			fmt.Fprintf(env.Stdout, "server %s: node %s, scheduling %v, paused %v\n", st.Version, st.Node.Node, st.Scheduling, st.Node.Paused)
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

func newTokenCommand(env Env) *cobra.Command {
	var cf clientFlags
	var db string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list, rotate and revoke API tokens",
		Long: `Create, list, rotate and revoke API tokens through a server (with an admin
token), or directly in the store with --db (for whoever can open the database,
such as when the only admin token is lost).`,
	}
	cf.register(cmd)
	cmd.PersistentFlags().StringVar(&db, "db", "", "work on this store directly: sqlite:PATH or postgres://… (env SUNDIAL_DB is not read)")
	var name, role string
	create := &cobra.Command{
		Use:   "create --name NAME --role viewer|operator|admin",
		Short: "Create a token; its secret is printed once",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !sundial.Role(role).Valid() {
				return usagef("--role %q is not viewer, operator or admin", role)
			}
			if strings.TrimSpace(name) == "" {
				return usagef("give the token a --name, such as ci")
			}
			var tok httpapi.NewTokenView
			if db != "" {
				st, closeStore, err := server.OpenStore(cmd.Context(), db)
				if err != nil {
					return err
				}
				defer closeStore()
				secret, t := httpapi.NewToken(name, sundial.Role(role), "cli --db", env.now())
				if err := st.CreateToken(cmd.Context(), t); err != nil {
					return err
				}
				detail, _ := json.Marshal(map[string]string{"name": name, "role": role})
				if _, err := st.AppendAudit(cmd.Context(), sundial.AuditEntry{At: env.now(), Actor: "cli --db", Action: "token.create", Target: t.ID, Detail: detail}); err != nil {
					return err
				}
				tok = httpapi.NewTokenView{Token: t, Secret: secret}
			} else {
				body, _ := json.Marshal(httpapi.TokenRequest{Name: name, Role: sundial.Role(role)})
				if _, err := cf.client(env).do(cmd.Context(), "POST", "/api/v1/tokens", body, &tok); err != nil {
					return err
				}
			}
			return showNewToken(env.Stdout, tok, cf.json)
		},
	}
	create.Flags().StringVar(&name, "name", "", "what the token is for, such as ci or grafana")
	create.Flags().StringVar(&role, "role", "", "viewer (read), operator (pause, resume, run) or admin (everything)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var tokens []sundial.Token
			if db != "" {
				st, closeStore, err := server.OpenStore(cmd.Context(), db)
				if err != nil {
					return err
				}
				defer closeStore()
				if tokens, err = st.ListTokens(cmd.Context()); err != nil {
					return err
				}
			} else {
				var out struct {
					Tokens []sundial.Token `json:"tokens"`
				}
				if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/tokens", nil, &out); err != nil {
					return err
				}
				tokens = out.Tokens
			}
			if cf.json {
				if tokens == nil {
					tokens = []sundial.Token{}
				}
				b, _ := json.Marshal(tokens)
				return printJSON(env.Stdout, b)
			}
			rows := make([][]string, 0, len(tokens))
			for _, t := range tokens {
				state := "active"
				if !t.RevokedAt.IsZero() {
					state = "revoked " + when(t.RevokedAt)
				}
				rows = append(rows, []string{t.ID, t.Name, string(t.Role), when(t.CreatedAt), when(t.LastUsedAt), state})
			}
			return table(env.Stdout, []string{"ID", "NAME", "ROLE", "CREATED", "LAST USED", "STATE"}, rows)
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token: it stops working at once",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if db != "" {
				st, closeStore, err := server.OpenStore(cmd.Context(), db)
				if err != nil {
					return err
				}
				defer closeStore()
				if err := st.RevokeToken(cmd.Context(), args[0], env.now()); err != nil {
					return &apiError{status: 404, detail: fmt.Sprintf("token %q: %v", args[0], err)}
				}
				st.AppendAudit(cmd.Context(), sundial.AuditEntry{At: env.now(), Actor: "cli --db", Action: "token.revoke", Target: args[0]})
			} else if _, err := cf.client(env).do(cmd.Context(), "DELETE", "/api/v1/tokens/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			_, err := fmt.Fprintf(env.Stdout, "revoked token %s\n", args[0])
			return err
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate ID",
		Short: "Replace a token with a new secret of the same name and role; the old one stops working",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if db != "" {
				return usagef("rotate works through a server; with --db, create a new token and revoke the old one")
			}
			var tok httpapi.NewTokenView
			if _, err := cf.client(env).do(cmd.Context(), "POST", "/api/v1/tokens/"+url.PathEscape(args[0])+"/rotate", nil, &tok); err != nil {
				return err
			}
			return showNewToken(env.Stdout, tok, cf.json)
		},
	}
	cmd.AddCommand(create, list, revoke, rotate)
	return cmd
}

func showNewToken(w io.Writer, tok httpapi.NewTokenView, asJSON bool) error {
	if asJSON {
		b, _ := json.Marshal(tok)
		return printJSON(w, b)
	}
	_, err := fmt.Fprintf(w, "token %s (%s, %s) created. Its secret is shown only now:\n\n    %s\n\n", tok.ID, tok.Name, tok.Role, tok.Secret)
	return err
}
