package httpapi

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

// loggedIn is a web UI session opened through POST /api/v1/session.
type loggedIn struct {
	secret, csrf string
	session      *http.Cookie
	// cookies is the Cookie header a browser sends back, and header the
	// headers of a change it makes (the cookies and the CSRF token).
	cookies string
	header  []string
}

// login opens a session with role's token.
func (h *harness) login(role admin.Role) loggedIn {
	h.t.Helper()
	res := h.do("", "POST", "/api/v1/session", map[string]string{"token": h.tokens[role]})
	if res.status != 201 {
		h.t.Fatalf("login = %d %s", res.status, res.body)
	}
	var s loggedIn
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		switch c.Name {
		case CookieName:
			s.secret, s.session = c.Value, c
		case CSRFCookie:
			s.csrf = c.Value
		}
	}
	if s.secret == "" || s.csrf == "" {
		h.t.Fatalf("login set the cookies %v", res.header.Values("Set-Cookie"))
	}
	s.cookies = CookieName + "=" + s.secret + "; " + CSRFCookie + "=" + s.csrf
	s.header = []string{"Cookie", s.cookies, CSRFHeader, s.csrf}
	return s
}

// clock is a test's time, moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func withClock(c *clock) func(*Config) { return func(cfg *Config) { cfg.Now = c.Now } }

func TestSessionCookieIsNotTheToken(t *testing.T) {
	h := newHarness(t)
	token := h.tokens[admin.RoleOperator]
	res := h.do("", "POST", "/api/v1/session", map[string]string{"token": token})
	var view SessionView
	res.json(t, &view)
	if res.status != 201 || view.Name != "operator-token" || view.Role != admin.RoleOperator || view.ExpiresAt.IsZero() {
		t.Fatalf("login = %d %s", res.status, res.body)
	}
	cookies := (&http.Response{Header: res.header}).Cookies()
	if len(cookies) != 2 {
		t.Fatalf("cookies %v", cookies)
	}
	session, csrf := cookies[0], cookies[1]
	if session.Name != CookieName || !strings.HasPrefix(session.Value, SessionPrefix) || strings.Contains(session.Value, token) ||
		strings.Contains(token, session.Value) || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure ||
		session.Path != "/" || session.MaxAge <= 0 {
		t.Errorf("session cookie %+v", session)
	}
	if csrf.Name != CSRFCookie || csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode || len(csrf.Value) < 40 {
		t.Errorf("CSRF cookie %+v", csrf)
	}
	// The store keeps the session's hash, never its secret nor the token.
	s, err := h.records.SessionByHash(context.Background(), HashToken(session.Value))
	if err != nil || s.Role != admin.RoleOperator || string(s.Hash) == session.Value {
		t.Errorf("stored session %+v, %v", s, err)
	}
	if _, err := h.records.SessionByHash(context.Background(), HashToken(token)); err == nil {
		t.Error("a session is stored under the token's hash")
	}
	if got := h.do("", "GET", "/api/v1/whoami", nil, "Cookie", CookieName+"="+session.Value); got.status != 200 || !strings.Contains(string(got.body), "operator") {
		t.Errorf("whoami with the session = %d %s", got.status, got.body)
	}
	// A session's cookie is no API token.
	if got := h.do("", "GET", "/api/v1/whoami", nil, "Authorization", "Bearer "+session.Value); got.status != 401 {
		t.Errorf("the session's secret as a bearer token = %d", got.status)
	}
	if got := h.do("", "POST", "/api/v1/session", map[string]string{"token": "sdl_wrong"}); got.status != 401 || len(got.header.Values("Set-Cookie")) != 0 {
		t.Errorf("login with a wrong token = %d %v", got.status, got.header)
	}
	if got := h.do("", "POST", "/api/v1/session", `{"token": 1}`); got.status != 400 {
		t.Errorf("login with a number = %d", got.status)
	}
}

func TestLogoutRevokesTheSession(t *testing.T) {
	h := newHarness(t)
	s := h.login(admin.RoleAdmin)
	other := h.login(admin.RoleAdmin)
	if res := h.do("", "GET", "/api/v1/whoami", nil, "Cookie", s.cookies); res.status != 200 {
		t.Fatalf("whoami = %d", res.status)
	}
	if res := h.do("", "DELETE", "/api/v1/session", nil, "Cookie", s.cookies); res.status != 403 {
		t.Errorf("logout without the CSRF token = %d, want 403", res.status)
	}
	res := h.do("", "DELETE", "/api/v1/session", nil, s.header...)
	cleared := (&http.Response{Header: res.header}).Cookies()
	if res.status != 204 || len(cleared) != 2 || cleared[0].MaxAge >= 0 || cleared[1].MaxAge >= 0 {
		t.Errorf("logout = %d %v", res.status, res.header.Values("Set-Cookie"))
	}
	// The old cookie no longer works, though a browser (or a thief) kept it.
	res = h.do("", "GET", "/api/v1/whoami", nil, "Cookie", s.cookies)
	if res.status != 401 || !strings.Contains(string(res.body), "session has ended") {
		t.Errorf("whoami with the logged-out cookie = %d %s", res.status, res.body)
	}
	if c := (&http.Response{Header: res.header}).Cookies(); len(c) != 2 || c[0].MaxAge >= 0 {
		t.Errorf("a 401 to an ended session does not clear its cookies: %v", res.header.Values("Set-Cookie"))
	}
	if res := h.do("", "POST", "/api/v1/scheduler/pause", nil, s.header...); res.status != 401 {
		t.Errorf("a change with the logged-out cookie = %d", res.status)
	}
	// Other sessions go on; logging out twice is harmless.
	if res := h.do("", "GET", "/api/v1/whoami", nil, "Cookie", other.cookies); res.status != 200 {
		t.Errorf("another session after a logout = %d", res.status)
	}
	if res := h.do("", "DELETE", "/api/v1/session", nil, s.header...); res.status != 204 {
		t.Errorf("second logout = %d", res.status)
	}
	var audit AuditList
	h.do(admin.RoleAdmin, "GET", "/api/v1/audit", nil).json(t, &audit)
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "session.logout session.login session.login") {
		t.Errorf("audit actions %q", got)
	}
}

func TestSessionsExpire(t *testing.T) {
	c := &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	h := newHarness(t, withClock(c), func(cfg *Config) { cfg.SessionIdle, cfg.SessionMaxAge = time.Hour, 10*time.Hour })
	ok := func(s loggedIn) bool {
		return h.do("", "GET", "/api/v1/whoami", nil, "Cookie", s.cookies).status == 200
	}

	// Idle: used every 50 minutes it lives; left alone for an hour it ends.
	busy, idle := h.login(admin.RoleViewer), h.login(admin.RoleViewer)
	for range 6 {
		c.Add(50 * time.Minute)
		if !ok(busy) {
			t.Fatalf("a session used every 50 minutes ended at %s", c.Now())
		}
	}
	if ok(idle) {
		t.Error("a session idle for 5 hours still works (idle timeout 1h)")
	}
	// Absolute: however busy, it ends 10 hours after login.
	for range 5 {
		c.Add(50 * time.Minute)
		if !ok(busy) {
			t.Fatalf("busy session ended early, at %s", c.Now())
		}
	}
	c.Add(51 * time.Minute) // 10h01m after login
	if ok(busy) {
		t.Error("a session still works past its absolute end")
	}

	// Revoking the token ends its sessions.
	s := h.login(admin.RoleOperator)
	var tokens map[string][]admin.Token
	h.do(admin.RoleAdmin, "GET", "/api/v1/tokens", nil).json(t, &tokens)
	for _, tok := range tokens["tokens"] {
		if tok.Role == admin.RoleOperator {
			h.do(admin.RoleAdmin, "DELETE", "/api/v1/tokens/"+tok.ID, nil)
		}
	}
	if ok(s) {
		t.Error("a session outlives its revoked token")
	}

	// A session ends with its token, when that comes first.
	res := h.do(admin.RoleAdmin, "POST", "/api/v1/tokens", TokenRequest{Name: "short", Role: admin.RoleViewer, ExpiresAt: c.Now().Add(30 * time.Minute)})
	var short NewTokenView
	res.json(t, &short)
	res = h.do("", "POST", "/api/v1/session", map[string]string{"token": short.Secret})
	var view SessionView
	res.json(t, &view)
	if !view.ExpiresAt.Equal(short.ExpiresAt) {
		t.Errorf("session of a token ending at %s ends at %s", short.ExpiresAt, view.ExpiresAt)
	}
}

func TestTokenExpiry(t *testing.T) {
	c := &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	h := newHarness(t, withClock(c))
	if res := h.do(admin.RoleAdmin, "POST", "/api/v1/tokens", TokenRequest{Name: "old", Role: admin.RoleViewer, ExpiresAt: c.Now().Add(-time.Second)}); res.status != 400 ||
		!strings.Contains(string(res.body), `"field":"expires_at"`) {
		t.Errorf("a token ending in the past = %d %s", res.status, res.body)
	}
	end := c.Now().Add(720 * time.Hour)
	res := h.do(admin.RoleAdmin, "POST", "/api/v1/tokens", TokenRequest{Name: "ci", Role: admin.RoleViewer, ExpiresAt: end})
	var tok NewTokenView
	res.json(t, &tok)
	if res.status != 201 || !tok.ExpiresAt.Equal(end) || !strings.Contains(string(res.body), `"expires_at"`) {
		t.Fatalf("create = %d %s", res.status, res.body)
	}
	use := func(secret string) response {
		return h.do("", "GET", "/api/v1/whoami", nil, "Authorization", "Bearer "+secret)
	}
	c.Add(719 * time.Hour)
	if res := use(tok.Secret); res.status != 200 {
		t.Errorf("before its end = %d", res.status)
	}
	// Rotating gives the new secret the same lifetime, from now.
	res = h.do(admin.RoleAdmin, "POST", "/api/v1/tokens/"+tok.ID+"/rotate", nil)
	var rotated NewTokenView
	res.json(t, &rotated)
	if want := c.Now().Add(720 * time.Hour); !rotated.ExpiresAt.Equal(want) {
		t.Errorf("rotated token ends at %s, want %s", rotated.ExpiresAt, want)
	}
	c.Add(720 * time.Hour)
	res = use(rotated.Secret)
	if res.status != 401 || !strings.Contains(string(res.body), "expired at") || res.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("after its end = %d %s", res.status, res.body)
	}
	if res := h.do("", "POST", "/api/v1/session", map[string]string{"token": rotated.Secret}); res.status != 401 || !strings.Contains(string(res.body), "expired") {
		t.Errorf("login with an expired token = %d %s", res.status, res.body)
	}
}

func TestSecureCookie(t *testing.T) {
	guard, err := NewGuard(GuardConfig{TrustedProxies: []string{"10.0.0.0/8", "fd00::1"}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(cfg *Config) { cfg.Guard = guard })
	for _, c := range []struct {
		name   string
		remote string
		tls    bool
		proto  string
		secure bool
	}{
		{"plain HTTP", "192.0.2.7:5000", false, "", false},
		{"TLS", "192.0.2.7:5000", true, "", true},
		{"a trusted proxy says https", "10.1.2.3:5000", false, "https", true},
		{"a trusted IPv6 proxy says https", "[fd00::1]:5000", false, "https", true},
		{"a trusted proxy says http", "10.1.2.3:5000", false, "http", false},
		{"an untrusted address says https", "192.0.2.7:5000", false, "https", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"token": "`+h.tokens[admin.RoleViewer]+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = c.remote
			if c.tls {
				req.TLS = &tls.ConnectionState{}
			}
			if c.proto != "" {
				req.Header.Set("X-Forwarded-Proto", c.proto)
			}
			res := h.serve(req)
			cookies := (&http.Response{Header: res.header}).Cookies()
			if res.status != 201 || len(cookies) != 2 {
				t.Fatalf("login = %d %v", res.status, cookies)
			}
			for _, ck := range cookies {
				if ck.Secure != c.secure {
					t.Errorf("%s: Secure = %v, want %v", ck.Name, ck.Secure, c.secure)
				}
			}
		})
	}
}
