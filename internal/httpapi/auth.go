package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

// TokenPrefix starts every API token, so that secret scanners and people
// recognise one.
const TokenPrefix = "sdl_"

// CookieName is the cookie that carries a web UI session: a random
// secret of its own (see session.go), never an API token.
const CookieName = "sundial_session"

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewToken returns a new token's secret and its record (which keeps only
// the secret's hash). The secret is shown once and never stored.
func NewToken(name string, role admin.Role, createdBy string, now time.Time) (secret string, t admin.Token) {
	var b [32]byte
	rand.Read(b[:])
	secret = TokenPrefix + tokenEncoding.EncodeToString(b[:])
	var id [8]byte
	rand.Read(id[:])
	return secret, admin.Token{ID: tokenEncoding.EncodeToString(id[:]), Name: name, Role: role,
		Hash: HashToken(secret), CreatedAt: now, CreatedBy: createdBy}
}

// HashToken returns the hash under which a token is stored. Tokens are 256
// random bits, so a plain SHA-256 is enough: there is nothing to guess.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// principal is who a request acts as.
type principal struct {
	TokenID string
	Name    string
	Role    admin.Role
	// Queues hold a worker token to some queues (admin.Token.Queues).
	Queues []string
}

type principalKey struct{}

// actorOf names the request's principal for the audit log and logs.
func actorOf(ctx context.Context) string {
	p, ok := ctx.Value(principalKey{}).(principal)
	switch {
	case !ok:
		return "anonymous"
	case p.TokenID == "":
		return p.Name
	}
	return fmt.Sprintf("token:%s (%s)", p.TokenID, p.Name)
}

// errUnauthorized is every failed authentication: one answer whether the
// token is missing, unknown, malformed or revoked, so that no answer tells
// whether a token exists.
var errUnauthorized = errors.New("authentication required: send an API token as \"Authorization: Bearer <token>\"")

type forbiddenError struct{ have, need admin.Role }

func (e *forbiddenError) Error() string {
	return fmt.Sprintf("this token's role %q may not do this; it needs %q", e.have, e.need)
}

// credential is what a request authenticates with.
type credential struct {
	secret string
	cookie bool // the UI's session cookie, not a header
}

// credentialOf finds the request's credential: a bearer token, the
// password of basic auth (what Flask-APScheduler clients send), or the
// UI's session cookie. secret is "" when there is none.
func credentialOf(r *http.Request) credential {
	if h := r.Header.Get("Authorization"); h != "" {
		if v, ok := strings.CutPrefix(h, "Bearer "); ok {
			return credential{secret: strings.TrimSpace(v)}
		}
		_, pw, _ := r.BasicAuth()
		return credential{secret: pw}
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return credential{secret: c.Value, cookie: true}
	}
	return credential{}
}

// authenticate finds who the request acts as. A client whose failed
// attempts ran out is refused before its credential is looked at; a
// credential that fails counts against its client.
func (a *API) authenticate(r *http.Request) (principal, error) {
	if a.noAuth {
		return principal{Name: "no-auth", Role: admin.RoleAdmin}, nil
	}
	if err := a.throttled(r); err != nil {
		return principal{}, err
	}
	cred := credentialOf(r)
	if cred.secret == "" || cred.cookie {
		// A trusted proxy's word outranks a session cookie: it says who
		// the user is now.
		if p, ok, err := a.proxyPrincipal(r); ok {
			return p, err
		}
	}
	var p principal
	var err error
	if cred.cookie {
		p, err = a.sessionPrincipal(r, cred.secret)
	} else {
		p, err = a.tokenPrincipal(r.Context(), cred.secret)
	}
	if err != nil && cred.secret != "" {
		a.failed(r, err)
	}
	return p, err
}

// throttled returns a *throttledError when the request's client must
// wait before it may try to authenticate again.
func (a *API) throttled(r *http.Request) error {
	if wait := a.failures.wait(a.guard.ClientKey(r), a.now()); wait > 0 {
		a.onAuthFailure("throttled")
		return &throttledError{wait: wait}
	}
	return nil
}

// failed counts a failed authentication against the request's client,
// when it was one (a store error is not).
func (a *API) failed(r *http.Request, err error) {
	if !errors.Is(err, errUnauthorized) {
		return
	}
	reason := "invalid"
	var ae *authError
	if errors.As(err, &ae) {
		reason = ae.reason
	}
	a.failures.fail(a.guard.ClientKey(r), a.now())
	a.onAuthFailure(reason)
}

// tokenPrincipal checks an API token.
func (a *API) tokenPrincipal(ctx context.Context, secret string) (principal, error) {
	t, err := a.liveToken(ctx, secret)
	if err != nil {
		return principal{}, err
	}
	a.touch(ctx, t.ID)
	return principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Queues: t.Queues}, nil
}

// liveToken returns the unrevoked, unexpired token whose secret this is.
func (a *API) liveToken(ctx context.Context, secret string) (admin.Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return admin.Token{}, errUnauthorized
	}
	t, err := a.admin.TokenByHash(ctx, HashToken(secret))
	if errors.Is(err, admin.ErrTokenNotFound) {
		return admin.Token{}, errUnauthorized
	}
	if err != nil {
		return admin.Token{}, fmt.Errorf("check token: %w", err)
	}
	if now := a.now(); t.Expired(now) {
		return admin.Token{}, &authError{reason: "expired",
			msg: fmt.Sprintf("this token expired at %s: ask an admin for a new one (sundial token create)", t.ExpiresAt.UTC().Format(time.RFC3339))}
	}
	return t, nil
}

// authError is a failed authentication that says more than
// errUnauthorized (which it is, to errors.Is): an expired token tells
// its holder so.
type authError struct{ reason, msg string }

func (e *authError) Error() string        { return e.msg }
func (e *authError) Is(target error) bool { return target == errUnauthorized }

// throttledError refuses a client whose failed authentications ran out.
type throttledError struct{ wait time.Duration }

func (e *throttledError) Error() string {
	return fmt.Sprintf("too many failed authentications from this address: try again in %s", e.retryAfter())
}

// retryAfter is the wait in whole seconds, rounded up.
func (e *throttledError) retryAfter() string {
	return strconv.FormatInt(int64((e.wait+time.Second-1)/time.Second), 10) + "s"
}

// refuse answers a request whose authentication failed: 429 with
// Retry-After to a throttled client, and otherwise errs' answer, with the
// cookies of a session that no longer works cleared.
func (a *API) refuse(w http.ResponseWriter, r *http.Request, errs errorWriter, err error) {
	var th *throttledError
	var ref *refusal
	if errors.As(err, &ref) {
		ref.write(w, r)
		return
	}
	if errors.As(err, &th) {
		w.Header().Set("Retry-After", strings.TrimSuffix(th.retryAfter(), "s"))
		(&refusal{status: http.StatusTooManyRequests, kind: "too-many-failures", title: "Too many failed authentications",
			detail: th.Error()}).write(w, r)
		return
	}
	if errors.Is(err, errUnauthorized) && credentialOf(r).cookie {
		a.clearSessionCookies(w, r)
	}
	errs(w, r, err)
}

// CSRFCookie and CSRFHeader: a request authenticated by the session cookie
// that changes anything must repeat the CSRF cookie's value in the header
// (double submit). Pages of other sites can neither read the cookie nor
// send the header.
const (
	CSRFCookie = "sundial_csrf"
	CSRFHeader = "X-CSRF-Token"
)

var errCSRF = errors.New("this request came with the session cookie but without the CSRF token: send the sundial_csrf cookie's value in the X-CSRF-Token header")

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func csrfOK(r *http.Request) bool {
	c, err := r.Cookie(CSRFCookie)
	h := r.Header.Get(CSRFHeader)
	return err == nil && c.Value != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(h)) == 1
}

// touch records a token's use at most once a minute: a write per request
// would cost more than the request.
func (a *API) touch(ctx context.Context, id string) {
	now := a.now()
	a.touchMu.Lock()
	last, seen := a.touched[id]
	if seen && now.Sub(last) < time.Minute {
		a.touchMu.Unlock()
		return
	}
	a.touched[id] = now
	a.touchMu.Unlock()
	if err := a.admin.TouchToken(context.WithoutCancel(ctx), id, now); err != nil {
		a.log.Warn("recording a token's use failed", "token_id", id, "err", err)
	}
}
