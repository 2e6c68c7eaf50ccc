package httpapi

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

// testIdP is an OpenID Connect provider for tests: discovery, a JWKS with
// an RSA key made for the test, an authorization endpoint that sends the
// browser straight back with a code, and a token endpoint that checks the
// PKCE verifier and returns an ID token signed with the key. claims edits
// the ID token's claims before it is signed.
type testIdP struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	now    func() time.Time
	claims func(map[string]any)

	mu    sync.Mutex
	codes map[string]authRequest
}

// authRequest is what the authorization endpoint was asked.
type authRequest struct{ nonce, challenge, redirect string }

const testClientID = "sundial-test"

func newTestIdP(t *testing.T, now func() time.Time) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp := &testIdP{key: key, now: now, claims: func(map[string]any) {}, codes: map[string]authRequest{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		u := idp.srv.URL
		json.NewEncoder(w).Encode(map[string]any{"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token",
			"jwks_uri": u + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != testClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
			!strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		code := randomString()
		idp.mu.Lock()
		idp.codes[code] = authRequest{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		idp.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		idp.mu.Lock()
		req, ok := idp.codes[r.Form.Get("code")]
		delete(idp.codes, r.Form.Get("code"))
		idp.mu.Unlock()
		sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge || r.Form.Get("redirect_uri") != req.redirect {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error": "invalid_grant"}`))
			return
		}
		now := idp.now()
		claims := map[string]any{"iss": idp.srv.URL, "aud": testClientID, "sub": "u-1", "email": "alice@example.com", "email_verified": true,
			"groups": []string{"staff", "sundial-admins"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": req.nonce}
		idp.claims(claims)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": idp.sign(t, claims)})
	})
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	return idp
}

// sign returns claims as an RS256 JWT.
func (idp *testIdP) sign(t *testing.T, claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, idp.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// oidcHarness is a harness that logs in through idp.
func oidcHarness(t *testing.T, edit func(*OIDCConfig)) (*harness, *testIdP, *clock) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	idp := newTestIdP(t, clk.Now)
	cfg := OIDCConfig{Issuer: idp.srv.URL, ClientID: testClientID, ClientSecret: "s3cret",
		Roles: RoleMap{Admin: []string{"sundial-admins"}, Viewer: []string{"staff"}}}
	if edit != nil {
		edit(&cfg)
	}
	h := newHarness(t, func(c *Config) { c.OIDC, c.Now = &cfg, clk.Now })
	return h, idp, clk
}

// oidcLogin runs a login through the provider as a browser would, and
// returns the callback's answer. tamper may change the callback's query.
func (h *harness) oidcLogin(tamper func(url.Values)) response {
	h.t.Helper()
	start := h.do("", "GET", "/api/v1/oidc/login", nil)
	if start.status != 302 {
		h.t.Fatalf("login = %d %s", start.status, start.body)
	}
	var state *http.Cookie
	for _, c := range (&http.Response{Header: start.header}).Cookies() {
		if c.Name == oidcCookie {
			state = c
		}
	}
	if state == nil || !state.HttpOnly || state.SameSite != http.SameSiteLaxMode {
		h.t.Fatalf("login set %v, want an HttpOnly, SameSite=Lax state cookie", start.header.Values("Set-Cookie"))
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(start.header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != 302 || err != nil || back.Path != "/api/v1/oidc/callback" {
		h.t.Fatalf("the provider answered %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	q := back.Query()
	if tamper != nil {
		tamper(q)
	}
	return h.do("", "GET", back.Path+"?"+q.Encode(), nil, "Cookie", oidcCookie+"="+state.Value, "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate")
}

// sessionOf returns the session a login opened, as a browser keeps it.
func sessionOf(t *testing.T, res response) loggedIn {
	t.Helper()
	var s loggedIn
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		switch c.Name {
		case CookieName:
			s.secret = c.Value
		case CSRFCookie:
			s.csrf = c.Value
		}
	}
	if s.secret == "" || s.csrf == "" {
		t.Fatalf("the callback set %v, want the session cookies", res.header.Values("Set-Cookie"))
	}
	s.cookies = CookieName + "=" + s.secret + "; " + CSRFCookie + "=" + s.csrf
	s.header = []string{"Cookie", s.cookies, CSRFHeader, s.csrf}
	return s
}

func TestOIDCLogin(t *testing.T) {
	h, _, _ := oidcHarness(t, nil)
	var methods LoginMethods
	h.do("", "GET", "/api/v1/session/methods", nil).json(t, &methods)
	if !methods.OIDC || !methods.Token || methods.Proxy {
		t.Errorf("methods = %+v", methods)
	}
	res := h.oidcLogin(nil)
	if res.status != 303 || res.header.Get("Location") != "/" {
		t.Fatalf("callback = %d %s (Location %q)", res.status, res.body, res.header.Get("Location"))
	}
	s := sessionOf(t, res)
	var me Whoami
	h.do("", "GET", "/api/v1/whoami", nil, "Cookie", s.cookies).json(t, &me)
	if me.Name != "oidc:alice@example.com" || me.Role != admin.RoleAdmin || me.TokenID != "" {
		t.Errorf("whoami = %+v, want oidc:alice@example.com as admin", me)
	}
	if got := h.do("", "POST", "/api/v1/jobs", `{"id": "o1", "task": "echo", "trigger": "@daily"}`, s.header...); got.status != 201 {
		t.Errorf("create with the session = %d %s", got.status, got.body)
	}
	if got := h.do("", "DELETE", "/api/v1/session", nil, s.header...); got.status != 204 {
		t.Fatalf("logout = %d %s", got.status, got.body)
	}
	if got := h.do("", "GET", "/api/v1/whoami", nil, "Cookie", s.cookies); got.status != 401 {
		t.Errorf("whoami after logout = %d, want 401", got.status)
	}
	entries, _ := h.records.ListAudit(t.Context(), admin.AuditFilter{})
	var actions []string
	for _, e := range entries {
		if e.Actor == "oidc:alice@example.com" {
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, ",") != "session.logout,job.create,session.login" {
		t.Errorf("audit by oidc:alice@example.com = %v", actions)
	}
}

func TestOIDCRefusals(t *testing.T) {
	cases := []struct {
		name   string
		cfg    func(*OIDCConfig)
		claims func(map[string]any)
		tamper func(url.Values)
		status int
		says   string
	}{
		{name: "wrong state", tamper: func(q url.Values) { q.Set("state", "forged") }, status: 400, says: "state"},
		{name: "wrong code", tamper: func(q url.Values) { q.Set("code", "forged") }, status: 401, says: "code"},
		{name: "provider error", tamper: func(q url.Values) { q.Set("error", "access_denied") }, status: 403, says: "access_denied"},
		{name: "bad nonce", claims: func(c map[string]any) { c["nonce"] = "replayed" }, status: 401, says: "nonce"},
		{name: "other audience", claims: func(c map[string]any) { c["aud"] = "another-app" }, status: 401, says: "audience"},
		{name: "expired token", claims: func(c map[string]any) {
			c["iat"], c["exp"] = c["iat"].(int64)-7200, c["iat"].(int64)-3600
		}, status: 401, says: "expired"},
		{name: "other issuer", claims: func(c map[string]any) { c["iss"] = "https://evil.example" }, status: 401, says: "issuer"},
		{name: "no mapped group", claims: func(c map[string]any) { c["groups"] = []string{"contractors"} }, status: 403, says: "oidc.roles"},
		{name: "email domain not allowed", cfg: func(c *OIDCConfig) { c.AllowedEmailDomains = []string{"corp.example"} }, status: 403, says: "allowed_email_domains"},
		{name: "email not verified", cfg: func(c *OIDCConfig) { c.AllowedEmailDomains = []string{"example.com"} },
			claims: func(c map[string]any) { c["email_verified"] = false }, status: 403, says: "verified"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, idp, _ := oidcHarness(t, c.cfg)
			if c.claims != nil {
				idp.claims = c.claims
			}
			res := h.oidcLogin(c.tamper)
			if res.status != c.status || !strings.Contains(string(res.body), c.says) {
				t.Errorf("callback = %d %s, want %d saying %q", res.status, res.body, c.status, c.says)
			}
			for _, ck := range (&http.Response{Header: res.header}).Cookies() {
				if ck.Name == CookieName && ck.Value != "" {
					t.Errorf("a refused login set a session cookie")
				}
			}
		})
	}
}

func TestOIDCLoginExpires(t *testing.T) {
	h, _, clk := oidcHarness(t, func(c *OIDCConfig) { c.DefaultRole = admin.RoleViewer })
	start := h.do("", "GET", "/api/v1/oidc/login", nil)
	var state string
	for _, c := range (&http.Response{Header: start.header}).Cookies() {
		if c.Name == oidcCookie {
			state = c.Value
		}
	}
	loc, _ := url.Parse(start.header.Get("Location"))
	clk.mu.Lock()
	clk.now = clk.now.Add(oidcLoginTTL)
	clk.mu.Unlock()
	res := h.do("", "GET", "/api/v1/oidc/callback?code=x&state="+loc.Query().Get("state"), nil, "Cookie", oidcCookie+"="+state)
	if res.status != 400 || !strings.Contains(string(res.body), "10 minutes") {
		t.Errorf("a late callback = %d %s, want 400", res.status, res.body)
	}
	if res := h.do("", "GET", "/api/v1/oidc/callback?code=x&state=y", nil); res.status != 400 {
		t.Errorf("a callback without the login cookie = %d %s, want 400", res.status, res.body)
	}
}

func TestOIDCNotConfigured(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{"/api/v1/oidc/login", "/api/v1/oidc/callback?code=x&state=y"} {
		if res := h.do("", "GET", path, nil); res.status != 404 || !strings.Contains(string(res.body), "oidc.issuer") {
			t.Errorf("%s without OIDC = %d %s", path, res.status, res.body)
		}
	}
	var methods LoginMethods
	h.do("", "GET", "/api/v1/session/methods", nil).json(t, &methods)
	if methods.OIDC {
		t.Errorf("methods = %+v", methods)
	}
}

// TestOIDCCallbackUnderBasePath: a login that reached the API under a path
// prefix (base_path) sends the provider a callback under that prefix
// without oidc.redirect_url, and the state cookie keeps it for the
// exchange; a configured redirect_url wins.
func TestOIDCCallbackUnderBasePath(t *testing.T) {
	for _, tc := range []struct {
		name, configured, want string
	}{
		{"derived", "", "http://example.com/tools/sundial/api/v1/oidc/callback"},
		{"configured", "https://sso.example.com/cb", "https://sso.example.com/cb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _, _ := oidcHarness(t, func(c *OIDCConfig) { c.RedirectURL = tc.configured })
			req := httptest.NewRequest("GET", "/api/v1/oidc/login", nil)
			req = req.WithContext(WithBasePath(req.Context(), "/tools/sundial"))
			res := h.serve(req)
			if res.status != 302 {
				t.Fatalf("login = %d %s", res.status, res.body)
			}
			to, err := url.Parse(res.header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if got := to.Query().Get("redirect_uri"); got != tc.want {
				t.Errorf("redirect_uri = %q, want %q", got, tc.want)
			}
		})
	}
}
