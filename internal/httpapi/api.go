// Package httpapi serves Sundial's HTTP API: the REST API v1 under
// /api/v1 (with its OpenAPI document), the Flask-APScheduler-compatible
// routes under /scheduler, and the token authentication and audit log
// they share. It talks to a sundial.Scheduler and the server's
// admin.Store, and knows no concrete store.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/secrets"
)

// Config configures an API.
type Config struct {
	// Scheduler runs the jobs; required. It need not be started: an
	// API-only node serves the whole API from the shared store.
	Scheduler *sundial.Scheduler
	// Admin keeps tokens and the audit log; required.
	Admin admin.Store
	// NoAuth turns authentication off: every request acts as an admin.
	// The server allows it only on a loopback address.
	NoAuth bool
	// FlaskPrefix is where the Flask-APScheduler-compatible routes live.
	// Default "/scheduler".
	FlaskPrefix string
	// MaxBodyBytes bounds request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// Version is reported by the status route.
	Version string
	// Logger receives request logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// RunWait bounds how long the Flask-compatible run route waits for the
	// run to end. Default 5 minutes.
	RunWait time.Duration
	// CheckScript checks an uploaded script before it is stored (see
	// task.Kinds.CheckScript); nil stores scripts unchecked.
	CheckScript func(ctx context.Context, lang, name, source string) (warning string, err error)
	// CanMail says that the server has SMTP settings: without them, a job
	// whose notifications name e-mail addresses is refused.
	CanMail bool
	// Vault keeps secrets; nil refuses to store them.
	Vault *secrets.Vault
	// TestRunner runs a script's text once for the UI's "test run"; nil
	// refuses.
	TestRunner TestRunner
	// Guard refuses requests from where they should not come, and says
	// which came over HTTPS and from which client. Nil is NewGuard of a
	// zero GuardConfig.
	Guard *Guard
	// SessionIdle ends a web UI session unused for this long. Default
	// DefaultSessionIdle.
	SessionIdle time.Duration
	// SessionMaxAge ends a web UI session this long after login however
	// much it is used. Default DefaultSessionMaxAge.
	SessionMaxAge time.Duration
	// FailedAuthBurst is how many failed authentications a client may make
	// in a row before it must wait; FailedAuthEvery gives it one more
	// each. Defaults 10 and 6s (10 a minute).
	FailedAuthBurst int
	FailedAuthEvery time.Duration
	// OnAuthFailure, when set, is told of each failed authentication with
	// its reason: "invalid" (an unknown, revoked or malformed credential),
	// "expired" (an expired token or ended session) or "throttled" (a
	// client refused for too many failures).
	OnAuthFailure func(reason string)
	// ProxyAuth, when set, logs in the users that an authenticating
	// reverse proxy names in a header (see sso.go).
	ProxyAuth *ProxyAuthConfig
	// OIDC, when set, logs the web UI in through an OpenID Connect
	// provider (see oidc.go).
	OIDC *OIDCConfig
}

// API is the HTTP API. Create it with New and serve Handler.
type API struct {
	s       *sundial.Scheduler
	admin   admin.Store
	noAuth  bool
	prefix  string
	maxBody int64
	version string
	log     *slog.Logger
	now     func() time.Time
	runWait time.Duration
	routes  []Route
	mux     *http.ServeMux
	stopped atomic.Bool // Flask-compatible "shutdown": firing stopped on this node
	touchMu sync.Mutex
	touched map[string]time.Time // when each token's last use was recorded

	checkScript func(ctx context.Context, lang, name, source string) (string, error)
	canMail     bool
	vault       *secrets.Vault
	testRunner  TestRunner

	guard         *Guard
	sessionIdle   time.Duration
	sessionMaxAge time.Duration
	failures      *failureLimiter
	onAuthFailure func(reason string)
	proxy         *proxyAuth
	oidc          *oidcAuth
}

// Route is one registered operation, for the OpenAPI test and docs.
type Route struct {
	Method  string
	Pattern string
	Role    admin.Role // "" for routes open to everyone
}

// New returns an API over cfg.
func New(cfg Config) (*API, error) {
	if cfg.Scheduler == nil || cfg.Admin == nil {
		return nil, errors.New("httpapi: Config.Scheduler and Config.Admin are required")
	}
	a := &API{s: cfg.Scheduler, admin: cfg.Admin, noAuth: cfg.NoAuth, prefix: cfg.FlaskPrefix, maxBody: cfg.MaxBodyBytes,
		version: cfg.Version, log: cfg.Logger, now: cfg.Now, runWait: cfg.RunWait, mux: http.NewServeMux(), touched: map[string]time.Time{},
		checkScript: cfg.CheckScript, canMail: cfg.CanMail, vault: cfg.Vault, testRunner: cfg.TestRunner}
	if a.prefix == "" {
		a.prefix = "/scheduler"
	}
	a.prefix = "/" + strings.Trim(a.prefix, "/")
	if a.maxBody <= 0 {
		a.maxBody = 1 << 20
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.runWait <= 0 {
		a.runWait = 5 * time.Minute
	}
	if err := a.securityDefaults(cfg); err != nil {
		return nil, err
	}
	a.registerV1()
	a.registerWorkers()
	a.registerSession()
	a.registerOIDC()
	a.registerCode()
	a.registerTransfer()
	a.registerBackfill()
	a.registerCalendars()
	a.registerOutput()
	a.registerEvents()
	a.registerFlask()
	return a, nil
}

// Routes returns the registered operations.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

// Handler returns the API's handler: every route, behind the guard, with
// authentication, body limits, panic recovery and request logs.
func (a *API) Handler() http.Handler {
	routes := a.guard.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := a.mux.Handler(r); pattern == "" && strings.HasPrefix(r.URL.Path, "/api/") {
			a.mux.ServeHTTP(&unmatched{ResponseWriter: w, a: a, r: r}, r)
			return
		}
		a.mux.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answers may carry tokens, secrets and sessions: never cached.
		w.Header().Set("Cache-Control", "no-store")
		routes.ServeHTTP(w, r)
	})
}

// handlerFunc is a route's handler; a returned error becomes the response.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers a route that needs role (none when role is "").
// errs renders the route's errors (problem JSON, or the Flask form).
func (a *API) handle(method, pattern string, role admin.Role, errs errorWriter, h handlerFunc) {
	a.routes = append(a.routes, Route{Method: method, Pattern: pattern, Role: role})
	a.mux.Handle(method+" "+pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("panic in API handler", "method", method, "route", pattern, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					errs(sw, r, fmt.Errorf("internal error"))
				}
			}
			level := slog.LevelInfo
			switch {
			case sw.status >= 500:
				level = slog.LevelError
			case sw.status < 400 && strings.HasPrefix(pattern, v1+"/worker/"):
				level = slog.LevelDebug // every worker calls these every few seconds
			}
			a.log.Log(r.Context(), level, "http request", "method", r.Method, "route", pattern, "path", r.URL.Path,
				"status", sw.status, "duration", a.now().Sub(start), "actor", actorOf(r.Context()))
		}()
		r.Body = http.MaxBytesReader(sw, r.Body, a.maxBody)
		if role != "" {
			p, err := a.authenticate(r)
			if err != nil {
				a.refuse(sw, r, errs, err)
				return
			}
			if !p.Role.Allows(role) {
				errs(sw, r, &forbiddenError{have: p.Role, need: role})
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		}
		if err := h(sw, r); err != nil {
			errs(sw, r, err)
		}
	}))
}

// statusWriter remembers the status written, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streamed responses through.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// audit records a change; a failure to record is logged, and does not undo
// the change that was made.
func (a *API) audit(ctx context.Context, action, target string, detail any) {
	entry := admin.AuditEntry{At: a.now(), Actor: actorOf(ctx), Action: action, Target: target}
	if detail != nil {
		if b, err := marshal(detail); err == nil {
			entry.Detail = b
		}
	}
	if _, err := a.admin.AppendAudit(context.WithoutCancel(ctx), entry); err != nil {
		a.log.Error("audit log write failed", "action", action, "target", target, "err", err)
	}
}
