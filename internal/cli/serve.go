package cli

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/internal/server"
)

func newServeCommand(env Env) *cobra.Command {
	var (
		configPath, db, addr, nodeID, logFormat, logLevel string
		runAs, keyFile, basePath                          string
		scheduler, noAuth                                 bool
		workers                                           int
		queues                                            []string
		grace, poll, leaseTTL                             time.Duration
		tlsCert, tlsKey                                   string
		allowedHosts, allowedOrigins, trustedProxies      []string
		sessionIdle, sessionMaxAge                        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Sundial server: scheduler, REST API and metrics",
		Long: `Run the Sundial server: the scheduler, the REST API (/api/v1), the
Flask-APScheduler-compatible routes (/scheduler), /metrics, /healthz and /readyz.

Settings come from defaults, then the config file, then SUNDIAL_* environment
variables, then flags. SIGTERM or SIGINT stops claiming and lets running runs
finish within --shutdown-grace; a second signal exits at once.

Tokens: the first start on a store that has no token creates an admin token
(ID initial-admin) and prints it once on standard output, with a login link
for the web UI and the line that exports SUNDIAL_SERVER and SUNDIAL_TOKEN for
the CLI. The server keeps only its hash, so it cannot show it again (under
systemd it is in the journal of that first start). Later, with an admin
token:

  sundial token create --name ci --role operator

or, without one, as whoever can open the database (the server may be
running):

  sundial token create --name me --role admin --db sqlite:./sundial.db

With --insecure-no-auth no token is created or needed.`,
		Example: `  sundial serve
  sundial serve --config sundial.yaml
  sundial serve --db postgres://sundial@db.internal/sundial --addr 0.0.0.0:8080 --tls-cert cert.pem --tls-key key.pem
  sundial serve --scheduler=false --addr 127.0.0.1:8081   # an API-only node: claims no jobs
  sundial serve --insecure-no-auth                          # loopback only, no tokens`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg server.Config
			if configPath == "" {
				configPath = env.getenv("SUNDIAL_CONFIG")
			}
			if configPath != "" {
				var err error
				if cfg, err = server.ReadConfigFile(configPath); err != nil {
					return usageError{err}
				}
			}
			if err := cfg.ApplyEnv(env.getenv); err != nil {
				return usageError{err}
			}
			f := cmd.Flags()
			set := func(name string, apply func()) {
				if f.Changed(name) {
					apply()
				}
			}
			set("db", func() { cfg.DB = db })
			set("addr", func() { cfg.Addr = addr })
			set("scheduler", func() { cfg.Scheduler = &scheduler })
			set("insecure-no-auth", func() { cfg.InsecureNoAuth = noAuth })
			set("workers", func() { cfg.Workers = workers })
			set("queues", func() { cfg.Queues = queues })
			set("node-id", func() { cfg.NodeID = nodeID })
			set("log-format", func() { cfg.Log.Format = logFormat })
			set("log-level", func() { cfg.Log.Level = logLevel })
			set("shutdown-grace", func() { cfg.ShutdownGrace = server.Duration(grace) })
			set("poll-interval", func() { cfg.PollInterval = server.Duration(poll) })
			set("tls-cert", func() { cfg.TLSCert = tlsCert })
			set("tls-key", func() { cfg.TLSKey = tlsKey })
			set("allowed-hosts", func() { cfg.AllowedHosts = allowedHosts })
			set("allowed-origins", func() { cfg.AllowedOrigins = allowedOrigins })
			set("trusted-proxies", func() { cfg.TrustedProxies = trustedProxies })
			set("session-idle-timeout", func() { cfg.Session.IdleTimeout = server.Duration(sessionIdle) })
			set("session-max-age", func() { cfg.Session.MaxAge = server.Duration(sessionMaxAge) })
			set("run-as", func() { cfg.RunAs = runAs })
			set("secret-key-file", func() { cfg.SecretKeyFile = keyFile })
			set("base-path", func() { cfg.BasePath = basePath })
			if f.Changed("lease-ttl") {
				if err := server.CheckLeaseTTL("--lease-ttl", leaseTTL); err != nil {
					return usageError{err}
				}
				ttl := server.Duration(leaseTTL)
				cfg.LeaseTTL = &ttl
			}
			err := server.Run(cmd.Context(), cfg, server.Options{Out: env.Stdout, Logs: env.Stderr, Version: versionString()})
			if _, bad := errors.AsType[*server.ConfigError](err); bad {
				return usageError{err} // a mistake in the file: exit 2, like a bad flag
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "YAML config file with settings and a jobs: list (env SUNDIAL_CONFIG)")
	f.StringVar(&db, "db", server.DefaultDB, "store: sqlite:PATH or postgres://… (env SUNDIAL_DB)")
	f.StringVar(&addr, "addr", server.DefaultAddr, "listen address (env SUNDIAL_ADDR)")
	f.BoolVar(&scheduler, "scheduler", true, "claim and run jobs; false serves the API only (env SUNDIAL_SCHEDULER, ENABLE_SCHEDULER)")
	f.BoolVar(&noAuth, "insecure-no-auth", false, "turn authentication off; loopback addresses only (env SUNDIAL_INSECURE_NO_AUTH)")
	f.IntVar(&workers, "workers", 10, "runs executing at once on this node (env SUNDIAL_WORKERS)")
	f.StringSliceVar(&queues, "queues", nil, "queues this node claims from, comma-separated; all when empty (env SUNDIAL_QUEUES)")
	f.StringVar(&nodeID, "node-id", "", "this node's name in the store (env SUNDIAL_NODE_ID)")
	f.StringVar(&logFormat, "log-format", "text", "text or json (env SUNDIAL_LOG_FORMAT)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error (env SUNDIAL_LOG_LEVEL)")
	f.StringVar(&runAs, "run-as", "", "user or user:group that tasks run as; a server started as root defaults to sundial, else nobody (env SUNDIAL_RUN_AS)")
	f.StringVar(&basePath, "base-path", "", "serve the UI and the API under this path prefix, such as /sundial, for a reverse proxy that forwards it (env SUNDIAL_BASE_PATH)")
	f.StringVar(&keyFile, "secret-key-file", "", "file holding the key that seals secrets, instead of SUNDIAL_SECRET_KEY (env SUNDIAL_SECRET_KEY_FILE)")
	grace, leaseTTL, poll = server.DefaultShutdownGrace, server.DefaultLeaseTTL, server.DefaultPollInterval
	f.Var((*durationValue)(&grace), "shutdown-grace", "how long running runs may finish at shutdown (env SUNDIAL_SHUTDOWN_GRACE)")
	f.Var((*durationValue)(&leaseTTL), "lease-ttl", "how long this node's runs stay its own without a renewal; a dead node's runs are retried at most lease-ttl + lease-ttl/3 after it stops (env SUNDIAL_LEASE_TTL)")
	f.Var((*durationValue)(&poll), "poll-interval", "longest sleep of the scheduler loop between looks at the store (env SUNDIAL_POLL_INTERVAL)")
	f.StringVar(&tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain); needs --tls-key (env SUNDIAL_TLS_CERT)")
	f.StringVar(&tlsKey, "tls-key", "", "the PEM key of --tls-cert (env SUNDIAL_TLS_KEY)")
	f.StringSliceVar(&allowedHosts, "allowed-hosts", nil, "host names the Host header may give besides loopback ones when listening on loopback, comma-separated (env SUNDIAL_ALLOWED_HOSTS)")
	f.StringSliceVar(&allowedOrigins, "allowed-origins", nil, "origins besides the server's own whose pages may make changes, such as https://sundial.example.com (env SUNDIAL_ALLOWED_ORIGINS)")
	f.StringSliceVar(&trustedProxies, "trusted-proxies", nil, "addresses or CIDR prefixes of reverse proxies whose X-Forwarded-* headers are believed (env SUNDIAL_TRUSTED_PROXIES)")
	sessionIdle, sessionMaxAge = httpapi.DefaultSessionIdle, httpapi.DefaultSessionMaxAge
	f.Var((*durationValue)(&sessionIdle), "session-idle-timeout", "a web UI session unused this long ends (env SUNDIAL_SESSION_IDLE_TIMEOUT)")
	f.Var((*durationValue)(&sessionMaxAge), "session-max-age", "a web UI session ends this long after login, however used (env SUNDIAL_SESSION_MAX_AGE)")
	return cmd
}
