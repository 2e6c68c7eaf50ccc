// Package server wires a Sundial server together: the config, the store a
// DSN names, the scheduler with its tasks, the HTTP API, metrics, health
// checks and a graceful shutdown. It is the one place that knows every
// concrete type; cmd/sundial reaches it through internal/cli.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/internal/notify"
	"github.com/sundialhq/sundial/internal/secrets"
	"github.com/sundialhq/sundial/internal/webui"
	"github.com/sundialhq/sundial/task"
)

// Options are what a server gets from the process that runs it.
type Options struct {
	// Out receives what a person must read once: the address, and the
	// first admin token. Logs go to Logs.
	Out, Logs io.Writer
	// Version is reported by the API and recorded with the node.
	Version string
	// Tasks are registered besides the built-in ones: a Go program can
	// serve its own functions as tasks.
	Tasks map[string]sundial.TaskFunc
	// Listening, when set, is called with the bound address once the
	// server accepts connections (tests listen on port 0).
	Listening func(addr string)
}

// Run starts a server and serves until ctx is done, then shuts down: it
// stops claiming, lets running runs finish within the shutdown grace,
// then cancels and records them, and closes the store.
func Run(ctx context.Context, cfg Config, opts Options) error {
	cfg = cfg.withDefaults()
	// The server-wide masker knows every secret's value, for the server's
	// own logs only: a run masks with the secrets granted to it alone.
	masker := secrets.NewMasker()
	log, err := NewLogger(opts.Logs, cfg.Log, masker)
	if err != nil {
		return err
	}
	// Secrets read from the environment leave it before any child
	// starts; then no process of this user may read this one's memory.
	if err := forgetSecretEnv(); err != nil {
		log.Warn("could not overwrite the secrets in this process's initial environment (/proc/PID/environ)", "err", err)
	}
	dumpable := nonDumpable()
	key, err := loadKey(cfg)
	if err != nil {
		return err
	}
	if err := notify.ValidateAll(cfg.Notify, "notify"); err != nil {
		return fmt.Errorf("config %s: %w", cfg.File, err)
	}
	if cfg.InsecureNoAuth && !loopback(cfg.Addr) {
		return fmt.Errorf("--insecure-no-auth is allowed only on a loopback address such as 127.0.0.1:8080, not %q: anyone who reaches %s could run code", cfg.Addr, cfg.Addr)
	}
	if err := CheckLeaseTTL("lease_ttl", time.Duration(*cfg.LeaseTTL)); err != nil {
		return err
	}
	guard, tlsConfig, err := cfg.webSecurity()
	if err != nil {
		return err
	}
	basePath, err := cfg.CleanBasePath()
	if err != nil {
		return err
	}
	jobs, err := cfg.JobDocuments()
	if err != nil {
		return err
	}
	calendars, err := cfg.CalendarDocuments()
	if err != nil {
		return err
	}

	store, records, closeStore, err := OpenStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	// Closing a store waits for the calls in progress; one that hangs (a
	// database behind a dead network path) must not hold the process.
	closeStoreBounded := sync.OnceFunc(func() {
		if !within(storeCloseBound, closeStore) {
			log.Warn("the store did not close in time: calls to it still hang; exiting without waiting", "waited", storeCloseBound)
		}
	})
	defer closeStoreBounded()
	iso, err := newIsolation(cfg, sqlitePath(cfg.DB), dumpable, log)
	if err != nil {
		return err
	}
	m := newMetrics()
	nodeID := cfg.NodeID
	if nodeID == "" {
		nodeID = sundial.NewNodeID()
	}
	log = log.With("node", nodeID)
	s, err := sundial.New(sundial.Config{
		Store:       instrument(store, m),
		Workers:     cfg.Workers,
		Logger:      log,
		MaxSleep:    time.Duration(cfg.PollInterval),
		LeaseTTL:    time.Duration(*cfg.LeaseTTL),
		NodeID:      nodeID,
		Queues:      cfg.Queues,
		Version:     opts.Version,
		NodeFacts:   iso.facts,
		Retention:   sundial.Retention{MaxAge: time.Duration(cfg.Retention.MaxAge), PerJob: cfg.Retention.PerJob},
		OutputLimit: cfg.OutputLimit,
	})
	if err != nil {
		return err
	}
	vault, err := secrets.NewVault(records, key, masker)
	if err != nil {
		return err
	}
	if err := vault.LoadMasks(ctx); err != nil {
		return err
	}
	if err := s.Register("echo", task.Echo); err != nil {
		return err
	}
	kinds := &task.Kinds{Runner: iso.runner, Limits: iso.limits,
		Grace: time.Duration(cfg.Isolation.Grace), Python: cfg.Python, Scripts: records, Secrets: vault,
	}
	if err := kinds.Register(s); err != nil {
		return err
	}
	for name, fn := range opts.Tasks {
		if err := s.Register(name, fn); err != nil {
			return err
		}
	}
	if err := s.DeclareWorkerTasks(ctx, cfg.WorkerTasks...); err != nil {
		return &ConfigError{Err: fmt.Errorf("config %s: worker_tasks: %w", cfg.File, err)}
	}
	known, err := s.KnownTasks(ctx)
	if err != nil {
		return err
	}
	if err := cfg.CheckJobs(jobs, known); err != nil {
		return err
	}
	if err := reconcileCalendars(ctx, s, records, cfg.File, calendars, log); err != nil {
		return err
	}
	if err := reconcile(ctx, s, records, cfg.File, jobs, log); err != nil {
		return err
	}
	if err := pruneCalendars(ctx, s, records, cfg.File, calendars, log); err != nil {
		return err
	}

	oidc, err := cfg.oidc()
	if err != nil {
		return err
	}
	api, err := httpapi.New(httpapi.Config{Scheduler: s, Admin: records, NoAuth: cfg.InsecureNoAuth, FlaskPrefix: cfg.FlaskPrefix,
		MaxBodyBytes: cfg.MaxBodyBytes, Version: opts.Version, Logger: log, CheckScript: kinds.CheckScript, CanMail: cfg.SMTP.Host != "", Vault: vault,
		TestRunner: testRunner(kinds), Guard: guard, SessionIdle: time.Duration(cfg.Session.IdleTimeout),
		SessionMaxAge: time.Duration(cfg.Session.MaxAge), OnAuthFailure: m.authFailure, ProxyAuth: cfg.ProxyAuth, OIDC: oidc})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	ln = httpapi.ProblemListener(ln) // a request Go's server cannot parse gets a problem document
	base := "http://" + ln.Addr().String()
	if tlsConfig != nil {
		ln, base = tls.NewListener(ln, tlsConfig), "https://"+ln.Addr().String()
	}
	secret, err := firstToken(ctx, records, cfg.InsecureNoAuth, log)
	if err != nil {
		ln.Close()
		return err
	}

	if *cfg.Scheduler {
		if err := s.Start(ctx); err != nil {
			ln.Close()
			return err
		}
	}
	metricsCtx, stopMetrics := context.WithCancel(context.Background())
	defer stopMetrics()
	m.watch(metricsCtx, s)
	// A run's error was masked with its own secrets when it was stored;
	// the server-wide masker is for the logs alone.
	notifier := notify.New(notify.Config{Global: cfg.Notify, Job: s.Job, Logger: log, Secrets: cfg.NotifySecrets, Reveal: vault.Reveal,
		SMTP: notify.SMTP{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username, Password: cfg.SMTP.Password, From: cfg.SMTP.From}})
	notifications := watchNotifications(s, notifier, log)

	var stopping atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/api/", api.Handler())
	mux.Handle(strings.TrimSuffix(prefixOr(cfg.FlaskPrefix), "/"), api.Handler())
	mux.Handle(prefixOr(cfg.FlaskPrefix)+"/", api.Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeHealth(w, http.StatusOK, "ok", "")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if reason := notReady(r.Context(), &stopping, store, s, *cfg.Scheduler, time.Duration(cfg.PollInterval)); reason != "" {
			writeHealth(w, http.StatusServiceUnavailable, "not ready", reason)
			return
		}
		writeHealth(w, http.StatusOK, "ready", "")
	})
	mux.Handle("/", webui.Handler(webui.Config{Login: func(w http.ResponseWriter, r *http.Request, secret string) error {
		_, err := api.StartSession(w, r, secret)
		return err
	}}))
	srv := &http.Server{Handler: guard.Wrap(underBasePath(basePath, api.PlainPaths(mux))), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	mode := "scheduler and API"
	if !*cfg.Scheduler {
		mode = "API only: this node claims no jobs"
	}
	base += basePath // the addresses printed name the prefix the server answers under
	log.Info("sundial serving", "addr", base, "db", RedactDSN(cfg.DB), "mode", mode, "config", cfg.File, "lease_ttl", time.Duration(*cfg.LeaseTTL))
	fmt.Fprintf(opts.Out, "Sundial is serving on %s (%s)\n", base, mode)
	if secret != "" {
		fmt.Fprintf(opts.Out, "\nAn admin token was created for this first start. It is shown only now; the server keeps only its hash.\n\n"+
			"    %s\n\nLog in:        %s/?token=%s\nUse the CLI:   export SUNDIAL_SERVER=%s SUNDIAL_TOKEN=%s\n\n", secret, base, secret, base, secret)
	}
	if opts.Listening != nil {
		opts.Listening(ln.Addr().String())
	}

	var serveErr error
	select {
	case err := <-served:
		serveErr = fmt.Errorf("http server: %w", err)
		log.Error("the HTTP server failed; shutting down", "err", err)
	case <-ctx.Done():
	}
	stopping.Store(true)
	// Every step of the stop is bounded, so that the process ends even when
	// the store hangs: the runs get the grace, then their processes up to
	// isolation.grace to end; a run that could not be recorded is recovered
	// by its lease.
	grace := time.Duration(cfg.ShutdownGrace)
	log.Info("shutting down: no new claims; waiting for running runs", "grace", grace, "running", s.Status().InFlight)
	graceCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	schedulerBound := grace + time.Duration(cfg.Isolation.Grace) + schedulerStopBound
	stopped := within(schedulerBound, func() {
		if err := s.Shutdown(graceCtx); err != nil {
			log.Warn("shutdown grace over: running runs were cancelled", "grace", grace)
		}
	})
	if !stopped {
		log.Error("the scheduler did not stop in time (its store calls hang?); exiting without it: its runs are recovered by their leases", "waited", schedulerBound)
	}
	httpCtx, cancelHTTP := context.WithTimeout(context.Background(), httpStopBound)
	defer cancelHTTP()
	if err := srv.Shutdown(httpCtx); err != nil {
		srv.Close()
	}
	// A scheduler that ran and stopped has ended its events: the last ones
	// are notified. Otherwise no more will come.
	notifications.stop(notifyStopBound, stopped && *cfg.Scheduler)
	closeStoreBounded()
	log.Info("sundial stopped")
	return serveErr
}

// The bounds of the steps of a stop after the runs' grace: at most
// schedulerStopBound + httpStopBound + notifyStopBound + storeCloseBound,
// 9 seconds, besides shutdown_grace and isolation.grace.
const (
	// schedulerStopBound is for recording the runs once they have ended.
	schedulerStopBound = 2 * time.Second
	// httpStopBound is for requests in progress, such as a log follower.
	httpStopBound = 2 * time.Second
	// notifyStopBound is for the notifications of the last runs.
	notifyStopBound = 3 * time.Second
	// storeCloseBound is for closing the store.
	storeCloseBound = 2 * time.Second
)

// within runs f and waits for it at most d; it reports whether f returned.
// When it did not, f goes on in the background.
func within(d time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// notifications hands the runs that this node records to the notifier.
type notifications struct {
	n      *notify.Notifier
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

// watchNotifications subscribes before it returns, so that no run ending
// later is missed. (notify.Notifier.Watch does the same, but cannot say
// when it has queued its last notification, and the notifier must not be
// closed before: see stop.)
func watchNotifications(s *sundial.Scheduler, n *notify.Notifier, log *slog.Logger) *notifications {
	ctx, cancel := context.WithCancel(context.Background())
	w := &notifications{n: n, log: log, cancel: cancel, done: make(chan struct{})}
	sub := s.Subscribe(4096, sundial.EventRunSucceeded, sundial.EventRunFailed, sundial.EventRunTimedOut, sundial.EventRunMissed,
		sundial.EventRunSkipped, sundial.EventRunInterrupted, sundial.EventRunLost)
	go func() {
		<-ctx.Done()
		sub.Close()
	}()
	go func() {
		defer close(w.done)
		var lastDropped uint64
		for e := range sub.C {
			if d := sub.Dropped(); d != lastDropped {
				log.Warn("notifications fell behind: some runs were not notified", "missed_events", d-lastDropped)
				lastDropped = d
			}
			if e.Run != nil {
				n.Notify(ctx, *e.Run)
			}
		}
	}()
	return w
}

// stop queues the notifications of the runs recorded last, delivers what
// it can within d and gives up on the rest. With drain, the scheduler has
// stopped and its events end: each is queued after its job's own
// notification settings are read from the store, and a store that hangs
// is given up on at half of d (then only the server's notify settings
// apply). Without, the events are not waited for.
func (w *notifications) stop(d time.Duration, drain bool) {
	deadline := time.Now().Add(d)
	if !drain {
		w.cancel()
	}
	if !within(d/2, func() { <-w.done }) {
		w.cancel()
		if !within(time.Until(deadline), func() { <-w.done }) {
			// Still queueing: closing the notifier now would panic.
			w.log.Warn("the notifications of the last runs were not sent: the store does not answer", "waited", d)
			return
		}
	}
	w.cancel()
	if !within(time.Until(deadline), w.n.Close) {
		w.log.Warn("notifications still being delivered were given up", "waited", d)
	}
}

// underBasePath serves next under prefix (such as /sundial; "" serves it
// as it is): prefix/x reaches next as /x, prefix itself is sent to
// prefix/, and every other path is not found. next writes the paths of
// its Location headers and cookies from the root (the API names a run it
// created /api/v1/runs/…): they are written under prefix. The absolute
// URLs the API builds (the single sign-on callback) learn the prefix from
// the request's context (httpapi.WithBasePath).
func underBasePath(prefix string, next http.Handler) http.Handler {
	if prefix == "" {
		return next
	}
	strip := http.StripPrefix(prefix, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == prefix:
			to := prefix + "/"
			if r.URL.RawQuery != "" {
				to += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", to)
			w.WriteHeader(http.StatusMovedPermanently)
		case strings.HasPrefix(p, prefix+"/"):
			strip.ServeHTTP(&underPrefix{ResponseWriter: w, prefix: prefix}, r.WithContext(httpapi.WithBasePath(r.Context(), prefix)))
		default:
			writeHealth(w, http.StatusNotFound, "not found", fmt.Sprintf("this server serves everything under %s/ (base_path)", prefix))
		}
	})
}

// underPrefix writes the root-relative Location and cookie paths of an
// answer under prefix.
type underPrefix struct {
	http.ResponseWriter
	prefix  string
	written bool
}

func (w *underPrefix) fix() {
	if w.written {
		return
	}
	w.written = true
	h := w.Header()
	if loc := h.Get("Location"); strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") {
		h.Set("Location", w.prefix+loc)
	}
	for i, line := range h["Set-Cookie"] {
		if c, err := http.ParseSetCookie(line); err == nil && strings.HasPrefix(c.Path, "/") {
			c.Path = w.prefix + c.Path
			h["Set-Cookie"][i] = c.String()
		}
	}
}

func (w *underPrefix) WriteHeader(status int) {
	w.fix()
	w.ResponseWriter.WriteHeader(status)
}

func (w *underPrefix) Write(b []byte) (int, error) {
	w.fix()
	return w.ResponseWriter.Write(b)
}

// Flush lets streamed answers (events, a run's output) through.
func (w *underPrefix) Flush() {
	w.fix()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer beneath.
func (w *underPrefix) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func prefixOr(p string) string {
	if p == "" {
		return "/scheduler"
	}
	return "/" + strings.Trim(p, "/")
}

// webSecurity returns the guard of the server's HTTP answers and, when
// TLS is configured, its TLS settings.
func (c Config) webSecurity() (*httpapi.Guard, *tls.Config, error) {
	guard, err := httpapi.NewGuard(httpapi.GuardConfig{Loopback: loopback(c.Addr), AllowedHosts: c.AllowedHosts,
		AllowedOrigins: c.AllowedOrigins, TrustedProxies: c.TrustedProxies})
	if err != nil {
		return nil, nil, fmt.Errorf("setting %w", err)
	}
	for name, d := range map[string]Duration{"session.idle_timeout": c.Session.IdleTimeout, "session.max_age": c.Session.MaxAge} {
		if d < 0 {
			return nil, nil, fmt.Errorf("setting %s %s: must be a positive duration such as 12h", name, time.Duration(d))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, nil, errors.New("settings tls_cert and tls_key (--tls-cert, --tls-key) go together: give both or neither")
	}
	if c.TLSCert == "" {
		return guard, nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, nil, fmt.Errorf("tls_cert %s, tls_key %s: %w", c.TLSCert, c.TLSKey, err)
	}
	return guard, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// oidc returns the OpenID Connect settings with the client secret read
// from the environment or client_secret_file, or nil when none are set.
func (c Config) oidc() (*httpapi.OIDCConfig, error) {
	if c.OIDC == nil {
		return nil, nil
	}
	o := c.OIDC.OIDCConfig
	if o.ClientSecret == "" && c.OIDC.ClientSecretFile != "" {
		b, err := os.ReadFile(c.OIDC.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("setting oidc.client_secret_file: %w", err)
		}
		o.ClientSecret = strings.TrimSpace(string(b))
	}
	return &o, nil
}

// loopback reports whether addr listens on a loopback interface only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// firstTokenID is the ID of the first start's admin token. It is fixed so
// that the store's unique key lets one replica only create it when several
// start together on an empty database.
const firstTokenID = "initial-admin"

// firstToken creates an admin token when the store has never had one, so
// that there are no default credentials and no unauthenticated window. It
// returns the secret, to be shown once, or "" (another replica starting at
// the same moment may have created it: then that one shows it).
func firstToken(ctx context.Context, store admin.Store, noAuth bool, log *slog.Logger) (string, error) {
	if noAuth {
		return "", nil
	}
	tokens, err := store.ListTokens(ctx)
	if err != nil {
		return "", err
	}
	if len(tokens) > 0 {
		return "", nil
	}
	secret, t := httpapi.NewToken("initial-admin", admin.RoleAdmin, "system", time.Now())
	t.ID = firstTokenID
	if err := store.CreateToken(ctx, t); err != nil {
		// The insert fails on the unique ID when another replica won.
		if again, lerr := store.ListTokens(ctx); lerr == nil && slices.ContainsFunc(again, func(t admin.Token) bool { return t.ID == firstTokenID }) {
			log.Info("the first admin token was created by another node starting at the same time; that node printed it")
			return "", nil
		}
		return "", err
	}
	if _, err := store.AppendAudit(ctx, admin.AuditEntry{At: time.Now(), Actor: "system", Action: "token.create", Target: t.ID,
		Detail: []byte(`{"name":"initial-admin","role":"admin"}`)}); err != nil {
		return "", err
	}
	return secret, nil
}

// notReady returns why the server should not get traffic, or "".
func notReady(ctx context.Context, stopping *atomic.Bool, store sundial.Store, s *sundial.Scheduler, scheduling bool, poll time.Duration) string {
	if stopping.Load() {
		return "shutting down"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := store.NextWake(ctx, s.NodeID()); err != nil {
		return "store unreachable: " + Mask(err.Error())
	}
	st := s.Status()
	if st.ClockSkewed {
		return fmt.Sprintf("clock skewed: the store's clock is %s off this node's (store minus node); fix this host's time sync",
			st.ClockOffset.Round(time.Millisecond))
	}
	if scheduling {
		if late := time.Since(st.LastTick); st.LastTick.IsZero() || late > 3*poll {
			return fmt.Sprintf("scheduler loop has not ticked for %s (limit %s)", late.Round(time.Millisecond), 3*poll)
		}
	}
	return ""
}

func writeHealth(w http.ResponseWriter, status int, state, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if reason == "" {
		fmt.Fprintf(w, "{\"status\":%q}\n", state)
		return
	}
	fmt.Fprintf(w, "{\"status\":%q,\"reason\":%q}\n", state, reason)
}

// testRunner runs the web UI's "test run" of a script's text through the
// task kinds, as a run would, masked as a run's would be (with the secrets
// granted to it: none).
func testRunner(kinds *task.Kinds) httpapi.TestRunner {
	return func(ctx context.Context, req httpapi.TestRunRequest) (httpapi.TestRun, error) {
		res, err := kinds.TestScript(ctx, req.Lang, req.Source, req.Args, req.Kwargs)
		if err != nil {
			return httpapi.TestRun{}, &sundial.InvalidJobError{Field: "lang", Err: err}
		}
		out := httpapi.TestRun{Status: sundial.StatusSucceeded, Output: res.Output, Exit: res.Exit, DurationMS: res.Duration.Milliseconds()}
		if res.Err != nil {
			out.Status, out.Error = sundial.StatusFailed, res.Err.Error()
		} else if res.Result != nil {
			b, err := json.Marshal(res.Result)
			if err != nil {
				out.Status, out.Error = sundial.StatusFailed, "result is not JSON: "+err.Error()
			} else {
				out.Result = b
			}
		}
		return out, nil
	}
}
