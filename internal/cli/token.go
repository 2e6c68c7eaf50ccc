package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/internal/server"
)

func newTokenCommand(env Env) *cobra.Command {
	var cf clientFlags
	var db string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list, rotate and revoke API tokens",
		Long: `Create, list, rotate and revoke API tokens through a server (with an admin
token), or directly in the store with --db (for whoever can open the database,
such as when the only admin token is lost).`,
		Example: `  sundial token create --name ci --role operator --expires 720h
  sundial token list
  sundial token create --name me --role admin --db sqlite:./sundial.db   # no token at hand: straight into the store`,
	}
	cf.register(cmd)
	cmd.PersistentFlags().StringVar(&db, "db", "", "work on this store directly: sqlite:PATH or postgres://… (env SUNDIAL_DB is not read)")
	var name, role string
	var queues []string
	var expires time.Duration
	create := &cobra.Command{
		Use:   "create --name NAME --role viewer|operator|admin|worker [--queue Q]… [--expires 720h]",
		Short: "Create a token; its secret is printed once",
		Example: `  sundial token create --name ci --role operator --expires 720h
  sundial token create --name grafana --role viewer
  sundial token create --name billing-workers --role worker --queue billing   # for sundial-worker / worker.Worker
  sundial token create --name me --role admin --db sqlite:./sundial.db   # no token at hand: straight into the store`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !admin.Role(role).Valid() {
				return usagef("--role %q is not viewer, operator, admin or worker", role)
			}
			if len(queues) > 0 && admin.Role(role) != admin.RoleWorker {
				return usagef("--queue holds a worker token to queues; a %s token sees every queue", role)
			}
			if strings.TrimSpace(name) == "" {
				return usagef("give the token a --name, such as ci")
			}
			if expires < 0 {
				return usagef("--expires %s: give a positive duration such as 720h (30 days)", expires)
			}
			var end time.Time
			if expires > 0 {
				end = env.now().Add(expires).UTC()
			}
			var tok httpapi.NewTokenView
			if db != "" {
				_, st, closeStore, err := server.OpenStore(cmd.Context(), db)
				if err != nil {
					return err
				}
				defer closeStore()
				secret, t := httpapi.NewToken(name, admin.Role(role), "cli --db", env.now())
				t.ExpiresAt, t.Queues = end, queues
				if err := st.CreateToken(cmd.Context(), t); err != nil {
					return err
				}
				detail, _ := marshalJSON(map[string]string{"name": name, "role": role})
				if _, err := st.AppendAudit(cmd.Context(), admin.AuditEntry{At: env.now(), Actor: "cli --db", Action: "token.create", Target: t.ID, Detail: detail}); err != nil {
					return err
				}
				tok = httpapi.NewTokenView{Token: t, Secret: secret}
			} else {
				body, _ := marshalJSON(httpapi.TokenRequest{Name: name, Role: admin.Role(role), ExpiresAt: end, Queues: queues})
				if _, err := cf.client(env).do(cmd.Context(), "POST", "/api/v1/tokens", body, &tok); err != nil {
					return err
				}
			}
			return showNewToken(env.Stdout, tok, cf.json)
		},
	}
	create.Flags().StringVar(&name, "name", "", "what the token is for, such as ci or grafana")
	create.Flags().StringVar(&role, "role", "", "viewer (read), operator (pause, resume, run), admin (everything) or worker (runs a worker's tasks, nothing else)")
	create.Flags().StringArrayVar(&queues, "queue", nil, "for a worker token: a queue its workers may claim from (repeat for several; all when none)")
	create.Flags().Var((*durationValue)(&expires), "expires", "the token stops working this long from now, such as 720h; never when not given")
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Example: `  sundial token list
  sundial token list --db sqlite:./sundial.db
  sundial token list --json   # {"tokens": […]}, as GET /api/v1/tokens`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var tokens []admin.Token
			if db != "" {
				_, st, closeStore, err := server.OpenStore(cmd.Context(), db)
				if err != nil {
					return err
				}
				defer closeStore()
				if tokens, err = st.ListTokens(cmd.Context()); err != nil {
					return err
				}
			} else {
				var out struct {
					Tokens []admin.Token `json:"tokens"`
				}
				if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/tokens", nil, &out); err != nil {
					return err
				}
				tokens = out.Tokens
			}
			if cf.json {
				// GET /api/v1/tokens's shape, also with --db.
				if tokens == nil {
					tokens = []admin.Token{}
				}
				return printValue(env.Stdout, map[string][]admin.Token{"tokens": tokens})
			}
			rows := make([][]string, 0, len(tokens))
			for _, t := range tokens {
				state := "active"
				switch {
				case !t.RevokedAt.IsZero():
					state = "revoked " + when(t.RevokedAt)
				case t.Expired(env.now()):
					state = "expired " + when(t.ExpiresAt)
				case !t.ExpiresAt.IsZero():
					state = "active, expires " + when(t.ExpiresAt)
				}
				rows = append(rows, []string{t.ID, t.Name, string(t.Role), when(t.CreatedAt), when(t.LastUsedAt), state})
			}
			return table(env.Stdout, []string{"ID", "NAME", "ROLE", "CREATED", "LAST USED", "STATE"}, rows)
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token: it stops working at once",
		Example: `  sundial token revoke initial-admin   # the first start's token, once you have made your own
  sundial token revoke hx3kq7mbw2e4y --db sqlite:./sundial.db`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if db != "" {
				_, st, closeStore, err := server.OpenStore(cmd.Context(), db)
				if err != nil {
					return err
				}
				defer closeStore()
				if err := st.RevokeToken(cmd.Context(), args[0], env.now()); err != nil {
					return &apiError{status: 404, detail: fmt.Sprintf("token %q: %v", args[0], err)}
				}
				st.AppendAudit(cmd.Context(), admin.AuditEntry{At: env.now(), Actor: "cli --db", Action: "token.revoke", Target: args[0]})
			} else if _, err := cf.client(env).do(cmd.Context(), "DELETE", "/api/v1/tokens/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			_, err := fmt.Fprintf(env.Stdout, "revoked token %s\n", args[0])
			return err
		},
	}
	rotate := &cobra.Command{
		Use:     "rotate ID",
		Short:   "Replace a token with a new secret of the same name and role; the old one stops working",
		Example: `  sundial token rotate hx3kq7mbw2e4y`,
		Args:    exactArgs(1),
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
		return printValue(w, tok)
	}
	expiry := ""
	if !tok.ExpiresAt.IsZero() {
		expiry = ", expires " + tok.ExpiresAt.Format(time.RFC3339)
	}
	_, err := fmt.Fprintf(w, "token %s (%s, %s%s) created. Its secret is shown only now:\n\n    %s\n\n", tok.ID, tok.Name, tok.Role, expiry, tok.Secret)
	return err
}
