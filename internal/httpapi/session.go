package httpapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

// The web UI logs in with an API token once and then carries a session:
// a random secret in an HttpOnly cookie, of which the store keeps only the
// hash. The session ends after an idle timeout, at an absolute end (never
// later than its token's), at logout, and when its token is revoked.

// SessionPrefix starts every session secret, so that people and secret
// scanners tell it from an API token.
const SessionPrefix = "sds_"

// Default session lifetimes.
const (
	DefaultSessionIdle   = 12 * time.Hour
	DefaultSessionMaxAge = 7 * 24 * time.Hour
)

// sessionTouchEvery is how often a session's last use is written: its
// idle timeout is judged to this precision.
const sessionTouchEvery = time.Minute

// securityDefaults sets the guard, session lifetimes and failure limits
// of cfg, or their defaults.
func (a *API) securityDefaults(cfg Config) error {
	a.guard = cfg.Guard
	if a.guard == nil {
		a.guard, _ = NewGuard(GuardConfig{})
	}
	a.sessionIdle, a.sessionMaxAge = cmp.Or(cfg.SessionIdle, DefaultSessionIdle), cmp.Or(cfg.SessionMaxAge, DefaultSessionMaxAge)
	if a.sessionIdle < 0 || a.sessionMaxAge < 0 || cfg.FailedAuthBurst < 0 || cfg.FailedAuthEvery < 0 {
		return errors.New("httpapi: session lifetimes and failure limits must not be negative")
	}
	a.failures = newFailureLimiter(cmp.Or(cfg.FailedAuthBurst, 10), cmp.Or(cfg.FailedAuthEvery, 6*time.Second), 10000)
	a.onAuthFailure = cfg.OnAuthFailure
	if a.onAuthFailure == nil {
		a.onAuthFailure = func(string) {}
	}
	var err error
	if a.proxy, err = newProxyAuth(cfg.ProxyAuth); err != nil {
		return err
	}
	a.oidc, err = newOIDCAuth(cfg.OIDC)
	return err
}

func (a *API) registerSession() {
	p := a.writeProblem
	a.handle("POST", v1+"/session", "", p, a.login)
	a.handle("DELETE", v1+"/session", "", p, a.logout)
}

// LoginRequest opens a web UI session with an API token.
type LoginRequest struct {
	Token string `json:"token"`
}

// SessionView is the session just opened: who it acts as, and when it
// ends at the latest.
type SessionView struct {
	Whoami
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var req LoginRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if a.noAuth {
		return writeJSON(w, http.StatusCreated, SessionView{Whoami: Whoami{Name: "no-auth", Role: admin.RoleAdmin}})
	}
	s, err := a.StartSession(w, r, req.Token)
	var th *throttledError
	switch {
	case errors.As(err, &th):
		a.refuse(w, r, a.writeProblem, err)
		return nil
	case err == errUnauthorized:
		return &authError{reason: "invalid", msg: "that is not a live API token: paste a token that sundial token create or the first start printed"}
	case err != nil:
		return err
	}
	return writeJSON(w, http.StatusCreated, SessionView{Whoami: Whoami{TokenID: s.TokenID, Name: s.Name, Role: s.Role}, ExpiresAt: s.ExpiresAt})
}

// StartSession checks secret as an API token and opens a session for it:
// it sets the session and CSRF cookies on w. It is the web UI's login,
// also through the link that the first start prints. Failures count
// against the client like any failed authentication.
func (a *API) StartSession(w http.ResponseWriter, r *http.Request, secret string) (admin.Session, error) {
	if a.noAuth {
		return admin.Session{Name: "no-auth", Role: admin.RoleAdmin}, nil
	}
	if err := a.throttled(r); err != nil {
		return admin.Session{}, err
	}
	t, err := a.liveToken(r.Context(), secret)
	if err != nil {
		a.failed(r, err)
		return admin.Session{}, err
	}
	if t.Role == admin.RoleWorker {
		return admin.Session{}, &forbiddenError{have: t.Role, need: admin.RoleViewer}
	}
	ctx := context.WithValue(r.Context(), principalKey{}, principal{TokenID: t.ID, Name: t.Name, Role: t.Role})
	return a.openSession(w, r.WithContext(ctx), t.ID, t.ExpiresAt)
}

// openSession opens a session for the request's principal — opened with
// token tokenID, or "" for single sign-on — ending at the latest at end
// (zero: no end but the session's own), and sets its cookies on w.
func (a *API) openSession(w http.ResponseWriter, r *http.Request, tokenID string, end time.Time) (admin.Session, error) {
	p, _ := r.Context().Value(principalKey{}).(principal)
	now := a.now()
	cookie, s := a.newSession(tokenID, p.Name, p.Role, end, now)
	if err := a.admin.CreateSession(r.Context(), s); err != nil {
		return admin.Session{}, err
	}
	// Logins are rare: the moment to forget sessions that ended.
	if _, err := a.admin.PruneSessions(context.WithoutCancel(r.Context()), now, now.Add(-a.sessionIdle)); err != nil {
		a.log.Warn("pruning ended sessions failed", "err", err)
	}
	a.setSessionCookies(w, r, cookie, s.ExpiresAt)
	a.audit(r.Context(), "session.login", cmp.Or(tokenID, p.Name), map[string]string{"session_id": s.ID})
	return s, nil
}

// newSession returns a new session: its cookie's secret and its record,
// which keeps only the secret's hash. It ends after the session's maximum
// age, or at tokenEnd when that is sooner.
func (a *API) newSession(tokenID, name string, role admin.Role, tokenEnd, now time.Time) (secret string, s admin.Session) {
	var b [32]byte
	rand.Read(b[:])
	secret = SessionPrefix + tokenEncoding.EncodeToString(b[:])
	var id [8]byte
	rand.Read(id[:])
	end := now.Add(a.sessionMaxAge)
	if !tokenEnd.IsZero() && tokenEnd.Before(end) {
		end = tokenEnd
	}
	return secret, admin.Session{ID: tokenEncoding.EncodeToString(id[:]), Hash: HashToken(secret), TokenID: tokenID, Name: name, Role: role,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: end}
}

// errSessionEnded: the session's cookie names a session that has ended
// (idle too long, past its end, logged out), or none.
var errSessionEnded = &authError{reason: "expired", msg: "your session has ended: log in again"}

// sessionPrincipal checks a session cookie. A change made with it must
// repeat the CSRF cookie in the X-CSRF-Token header.
func (a *API) sessionPrincipal(r *http.Request, secret string) (principal, error) {
	if !strings.HasPrefix(secret, SessionPrefix) {
		return principal{}, errUnauthorized
	}
	s, err := a.admin.SessionByHash(r.Context(), HashToken(secret))
	if errors.Is(err, admin.ErrSessionNotFound) {
		return principal{}, errSessionEnded
	}
	if err != nil {
		return principal{}, fmt.Errorf("check session: %w", err)
	}
	now := a.now()
	if !now.Before(s.ExpiresAt) || now.Sub(s.LastSeenAt) >= a.sessionIdle {
		return principal{}, errSessionEnded
	}
	if !safeMethod(r.Method) && !csrfOK(r) {
		return principal{}, errCSRF
	}
	if now.Sub(s.LastSeenAt) >= sessionTouchEvery {
		if err := a.admin.TouchSession(context.WithoutCancel(r.Context()), s.ID, now); err != nil {
			a.log.Warn("recording a session's use failed", "session_id", s.ID, "err", err)
		}
	}
	return principal{TokenID: s.TokenID, Name: s.Name, Role: s.Role}, nil
}

// logout ends the request's session, if it has one, and clears its
// cookies. It needs the CSRF token like any change made with the cookie.
func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	if cred := credentialOf(r); cred.cookie && !a.noAuth {
		if !csrfOK(r) {
			return errCSRF
		}
		s, err := a.admin.SessionByHash(r.Context(), HashToken(cred.secret))
		switch {
		case err == nil:
			if err := a.admin.RevokeSession(r.Context(), s.ID, a.now()); err != nil && !errors.Is(err, admin.ErrSessionNotFound) {
				return err
			}
			ctx := context.WithValue(r.Context(), principalKey{}, principal{TokenID: s.TokenID, Name: s.Name, Role: s.Role})
			a.audit(ctx, "session.logout", cmp.Or(s.TokenID, s.Name), map[string]string{"session_id": s.ID})
		case !errors.Is(err, admin.ErrSessionNotFound):
			return err
		}
	}
	a.clearSessionCookies(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setSessionCookies sets the session cookie (HttpOnly: the page's script
// never sees it) and the CSRF cookie (readable by the page's script, which
// repeats it in a header: a page of another site can neither read it nor
// set the header). Both are SameSite=Strict, and Secure when the client
// came over HTTPS.
func (a *API) setSessionCookies(w http.ResponseWriter, r *http.Request, secret string, end time.Time) {
	var b [32]byte
	rand.Read(b[:])
	age := max(int(end.Sub(a.now())/time.Second), 1)
	secure := a.guard.Secure(r)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: secret, Path: "/", MaxAge: age, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: base64.RawURLEncoding.EncodeToString(b[:]), Path: "/", MaxAge: age,
		SameSite: http.SameSiteStrictMode, Secure: secure})
}

func (a *API) clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	secure := a.guard.Secure(r)
	for _, name := range []string{CookieName, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: name == CookieName,
			SameSite: http.SameSiteStrictMode, Secure: secure})
	}
}
