package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sundialhq/sundial/internal/admin"
)

// Single sign-on, part two: OpenID Connect. The web UI's "Sign in with
// SSO" sends the browser to the provider with a state, a nonce and a PKCE
// challenge, all three kept in a short-lived cookie; the provider sends it
// back with a code, which the server exchanges for an ID token. A token
// that checks out (signature, issuer, audience, expiry, nonce) and whose
// claims map to a role opens a server-side session, as a token login does.

// OIDCConfig configures login through an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is
	// Issuer + "/.well-known/openid-configuration".
	Issuer string `json:"issuer,omitempty"`
	// ClientID and ClientSecret are the client registered with the
	// provider. The secret is never read from the config file.
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"-"`
	// RedirectURL is where the provider sends the browser back: the
	// server's /api/v1/oidc/callback as users reach it. Default: derived
	// from each login request (its scheme, and its host or the
	// X-Forwarded-Host of a trusted proxy).
	RedirectURL string `json:"redirect_url,omitempty"`
	// Scopes asked for besides openid. Default email, profile.
	Scopes []string `json:"scopes,omitempty"`
	// UserClaim names the user. Default email (then preferred_username,
	// then sub, whichever the token has).
	UserClaim string `json:"user_claim,omitempty"`
	// RoleClaim is the claim whose values (a string or a list) Roles maps
	// to roles. Default groups.
	RoleClaim string `json:"role_claim,omitempty"`
	// Roles maps values of RoleClaim to roles.
	Roles RoleMap `json:"roles,omitzero"`
	// DefaultRole is the role of a user whom Roles does not list; ""
	// refuses them.
	DefaultRole admin.Role `json:"default_role,omitempty"`
	// AllowedEmailDomains, when set, lets in only users whose verified
	// email address is in one of these domains.
	AllowedEmailDomains []string `json:"allowed_email_domains,omitempty"`
}

// oidcCookie keeps a login's state, nonce and PKCE verifier between the
// redirect to the provider and its return.
const oidcCookie = "sundial_oidc"

// oidcLoginTTL bounds how long a login at the provider may take.
const oidcLoginTTL = 10 * time.Minute

// oidcAuth is a checked OIDCConfig, with the provider once discovered.
type oidcAuth struct {
	cfg OIDCConfig

	mu       sync.Mutex
	provider *oidc.Provider
}

func newOIDCAuth(cfg *OIDCConfig) (*oidcAuth, error) {
	if cfg == nil {
		return nil, nil
	}
	c := *cfg
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("oidc.issuer: %q is not a URL such as https://accounts.example.com", c.Issuer)
	}
	if c.ClientID == "" {
		return nil, errors.New("oidc.client_id: is required: the client ID registered with the provider")
	}
	if c.RedirectURL != "" {
		if u, err := url.Parse(c.RedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("oidc.redirect_url: %q is not a URL such as https://sundial.example.com/api/v1/oidc/callback", c.RedirectURL)
		}
	}
	if err := checkDefaultRole("oidc.default_role", c.DefaultRole); err != nil {
		return nil, err
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"email", "profile"}
	}
	if !slices.Contains(c.Scopes, oidc.ScopeOpenID) {
		c.Scopes = append([]string{oidc.ScopeOpenID}, c.Scopes...)
	}
	if c.RoleClaim == "" {
		c.RoleClaim = "groups"
	}
	for i, d := range c.AllowedEmailDomains {
		c.AllowedEmailDomains[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
	}
	return &oidcAuth{cfg: c}, nil
}

// discover returns the provider, reading its discovery document the first
// time: a provider that is down when the server starts does not stop it.
func (o *oidcAuth) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	o.provider = p
	return p, nil
}

func (a *API) registerOIDC() {
	p := a.writeProblem
	a.handle("GET", v1+"/session/methods", "", p, a.loginMethods)
	a.handle("GET", v1+"/oidc/login", "", p, a.oidcLogin)
	a.handle("GET", v1+"/oidc/callback", "", p, a.oidcCallback)
}

// LoginMethods says how the web UI may log in: always with an API token;
// with OpenID Connect when it is configured; Proxy is set when an
// authenticating proxy may name the user.
type LoginMethods struct {
	Token bool `json:"token"`
	OIDC  bool `json:"oidc"`
	Proxy bool `json:"proxy"`
}

func (a *API) loginMethods(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, LoginMethods{Token: true, OIDC: a.oidc != nil, Proxy: a.proxy != nil})
}

var errNoOIDC = &refusal{status: http.StatusNotFound, kind: "not-found", title: "Not found",
	detail: "this server has no OpenID Connect login: set oidc.issuer and oidc.client_id (docs/security.md, Single sign-on)"}

// oidcState is what the login cookie keeps.
type oidcState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Redirect string `json:"r"`
	Expires  int64  `json:"e"`
}

func (a *API) oauth2Config(p *oidc.Provider, redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: a.oidc.cfg.ClientID, ClientSecret: a.oidc.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirect, Scopes: a.oidc.cfg.Scopes}
}

// oidcLogin sends the browser to the provider.
func (a *API) oidcLogin(w http.ResponseWriter, r *http.Request) error {
	if a.oidc == nil {
		return errNoOIDC
	}
	p, err := a.oidcProvider(r.Context())
	if err != nil {
		return err
	}
	st := oidcState{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(),
		Redirect: a.oidc.cfg.RedirectURL, Expires: a.now().Add(oidcLoginTTL).Unix()}
	if st.Redirect == "" {
		st.Redirect = a.ownURL(r) + BasePath(r.Context()) + v1 + "/oidc/callback"
	}
	b, _ := json.Marshal(st)
	// Lax, not Strict: the provider's redirect back is a navigation from
	// another site, which must carry the cookie.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: v1 + "/oidc/",
		MaxAge: int(oidcLoginTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.guard.Secure(r)})
	redirect(w, a.oauth2Config(p, st.Redirect).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
	return nil
}

// oidcProvider returns the provider, or a 502 refusal when its discovery
// document cannot be read.
func (a *API) oidcProvider(ctx context.Context) (*oidc.Provider, error) {
	p, err := a.oidc.discover(ctx)
	if err != nil {
		a.log.Warn("OpenID Connect discovery failed", "issuer", a.oidc.cfg.Issuer, "err", err)
		return nil, &refusal{status: http.StatusBadGateway, kind: "identity-provider-unavailable", title: "Identity provider unavailable",
			detail: fmt.Sprintf("the identity provider %s did not answer its discovery document: try again, or log in with an API token", a.oidc.cfg.Issuer)}
	}
	return p, nil
}

// basePathKey carries the path prefix a request reached the API under.
type basePathKey struct{}

// WithBasePath returns ctx for a request that reached the API under a path
// prefix (such as /sundial) which the server stripped: the API names its
// own absolute URLs with it — the single sign-on callback the provider
// sends the browser back to.
func WithBasePath(ctx context.Context, prefix string) context.Context {
	return context.WithValue(ctx, basePathKey{}, prefix)
}

// BasePath returns the prefix WithBasePath put in ctx, "" for none.
func BasePath(ctx context.Context) string {
	p, _ := ctx.Value(basePathKey{}).(string)
	return p
}

// ownURL returns the scheme and host the request reached this server by,
// as its browser sees them.
func (a *API) ownURL(r *http.Request) string {
	scheme, host := "http", r.Host
	if a.guard.Secure(r) {
		scheme = "https"
	}
	if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" && a.guard.fromProxy(r) {
		host = h
	}
	return scheme + "://" + host
}

// redirect sends the browser to location, without the HTML body that
// http.Redirect adds.
func redirect(w http.ResponseWriter, location string, status int) {
	w.Header().Set("Location", location)
	w.WriteHeader(status)
}

func randomString() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// oidcRefused is a login the provider's answer does not let through.
func oidcRefused(status int, detail string) *refusal {
	kind, title := "login-refused", "Login refused"
	if status == http.StatusBadRequest {
		kind, title = "login-expired", "Login expired or not started here"
	}
	return &refusal{status: status, kind: kind, title: title, detail: detail}
}

// oidcCallback takes the browser back from the provider: it checks the
// state, exchanges the code, verifies the ID token, maps the user to a
// role and opens a session.
func (a *API) oidcCallback(w http.ResponseWriter, r *http.Request) error {
	if a.oidc == nil {
		return errNoOIDC
	}
	st, err := a.oidcStateOf(r)
	// The login's cookie is spent, whatever comes of it.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: v1 + "/oidc/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: a.guard.Secure(r)})
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return oidcRefused(http.StatusForbidden, fmt.Sprintf("the identity provider refused the login: %.200s %.200s", e, q.Get("error_description")))
	}
	p, err := a.oidcProvider(r.Context())
	if err != nil {
		return err
	}
	tok, err := a.oauth2Config(p, st.Redirect).Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		a.log.Warn("OpenID Connect code exchange failed", "issuer", a.oidc.cfg.Issuer, "err", err)
		return oidcRefused(http.StatusUnauthorized, "the identity provider did not take the login's code: start the login again")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return oidcRefused(http.StatusUnauthorized, "the identity provider answered without an ID token: is the openid scope allowed for this client?")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: a.oidc.cfg.ClientID, Now: a.now}).Verify(r.Context(), raw)
	if err != nil {
		a.log.Warn("OpenID Connect ID token refused", "issuer", a.oidc.cfg.Issuer, "err", err)
		return oidcRefused(http.StatusUnauthorized, "the identity provider's ID token did not check out (signature, issuer, audience or expiry): "+err.Error())
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return oidcRefused(http.StatusUnauthorized, "the ID token's nonce is not this login's: start the login again")
	}
	user, role, err := a.oidcUser(idt)
	if err != nil {
		return err
	}
	ctx := context.WithValue(r.Context(), principalKey{}, principal{Name: "oidc:" + user, Role: role})
	if _, err := a.openSession(w, r.WithContext(ctx), "", time.Time{}); err != nil {
		return err
	}
	redirect(w, "/", http.StatusSeeOther)
	return nil
}

// oidcStateOf reads the login cookie and checks it against the callback's
// state.
func (a *API) oidcStateOf(r *http.Request) (oidcState, error) {
	var st oidcState
	c, err := r.Cookie(oidcCookie)
	if err != nil {
		return st, oidcRefused(http.StatusBadRequest, "this browser started no login here (or it took longer than 10 minutes): start it again from the login page")
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || json.Unmarshal(b, &st) != nil || st.State == "" {
		return st, oidcRefused(http.StatusBadRequest, "the login cookie is damaged: start the login again from the login page")
	}
	if a.now().Unix() >= st.Expires {
		return st, oidcRefused(http.StatusBadRequest, "the login took longer than 10 minutes: start it again from the login page")
	}
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("state")), []byte(st.State)) != 1 {
		return st, oidcRefused(http.StatusBadRequest, "the state the identity provider sent back is not this browser's login: start the login again from the login page")
	}
	return st, nil
}

// oidcUser names the ID token's user and maps their claims to a role.
func (a *API) oidcUser(idt *oidc.IDToken) (user string, role admin.Role, err error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", "", oidcRefused(http.StatusUnauthorized, "the ID token's claims are not JSON")
	}
	str := func(name string) string { s, _ := claims[name].(string); return s }
	cfg := a.oidc.cfg
	if cfg.UserClaim != "" {
		user = str(cfg.UserClaim)
	} else {
		user = str("email")
		if user == "" {
			user = str("preferred_username")
		}
	}
	if user == "" {
		user = idt.Subject
	}
	if len(cfg.AllowedEmailDomains) > 0 {
		email := strings.ToLower(str("email"))
		_, domain, _ := strings.Cut(email, "@")
		if verified, ok := claims["email_verified"].(bool); email == "" || ok && !verified || !slices.Contains(cfg.AllowedEmailDomains, domain) {
			return "", "", noRole(fmt.Sprintf("%q has no verified email address in the domains oidc.allowed_email_domains lets in", user))
		}
	}
	var values []string
	switch v := claims[cfg.RoleClaim].(type) {
	case string:
		values = []string{v}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				values = append(values, s)
			}
		}
	}
	role = cfg.Roles.roleOf(values, cfg.DefaultRole)
	if role == "" {
		return "", "", noRole(fmt.Sprintf("the identity provider authenticated %q, but oidc.roles gives none of their %q values a role "+
			"(and oidc.default_role is not set): ask an admin to map them to viewer, operator or admin", user, cfg.RoleClaim))
	}
	return user, role, nil
}
