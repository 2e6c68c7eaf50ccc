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
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

// TokenPrefix starts every API token, so that secret scanners and people
// recognise one.
const TokenPrefix = "sdl_"

// CookieName is the cookie that carries a token for the web UI.
const CookieName = "sundial_token"

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

// authenticate finds the request's token: a bearer token, the password
// of basic auth (what Flask-APScheduler clients send), or the UI's cookie.
func (a *API) authenticate(r *http.Request) (principal, error) {
	if a.noAuth {
		return principal{Name: "no-auth", Role: admin.RoleAdmin}, nil
	}
	secret, fromCookie := "", false
	if h := r.Header.Get("Authorization"); h != "" {
		if v, ok := strings.CutPrefix(h, "Bearer "); ok {
			secret = strings.TrimSpace(v)
		} else if _, pw, ok := r.BasicAuth(); ok {
			secret = pw
		}
	} else if c, err := r.Cookie(CookieName); err == nil {
		secret, fromCookie = c.Value, true
	}
	if !strings.HasPrefix(secret, TokenPrefix) {
		return principal{}, errUnauthorized
	}
	t, err := a.admin.TokenByHash(r.Context(), HashToken(secret))
	if errors.Is(err, admin.ErrTokenNotFound) {
		return principal{}, errUnauthorized
	}
	if err != nil {
		return principal{}, fmt.Errorf("check token: %w", err)
	}
	if fromCookie && !safeMethod(r.Method) && !csrfOK(r) {
		return principal{}, errCSRF
	}
	a.touch(r.Context(), t.ID)
	return principal{TokenID: t.ID, Name: t.Name, Role: t.Role}, nil
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
