package httpapi

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sundialhq/sundial/internal/admin"
)

// Single sign-on, part one: a reverse proxy that authenticates (such as
// oauth2-proxy or nginx with auth_request) names the user in a header.
// The header is believed only from the addresses in trusted_proxies; from
// anywhere else anyone could send it, so it is ignored. Each request is
// authenticated by the header anew: no session, nothing to revoke, the
// proxy decides.

// DefaultProxyUserHeader is the header that names a proxy-authenticated
// user unless ProxyAuthConfig.Header says otherwise.
const DefaultProxyUserHeader = "X-Forwarded-User"

// RoleMap names, for each role, the users or groups (or, for OpenID
// Connect, the values of the role claim) that have it. A user listed under
// several roles has the highest.
type RoleMap struct {
	Admin    []string `json:"admin,omitempty"`
	Operator []string `json:"operator,omitempty"`
	Viewer   []string `json:"viewer,omitempty"`
}

// roleOf returns the highest role that lists one of names, or def.
func (m RoleMap) roleOf(names []string, def admin.Role) admin.Role {
	for _, rl := range []struct {
		role  admin.Role
		names []string
	}{{admin.RoleAdmin, m.Admin}, {admin.RoleOperator, m.Operator}, {admin.RoleViewer, m.Viewer}} {
		for _, n := range names {
			if n != "" && slices.Contains(rl.names, n) {
				return rl.role
			}
		}
	}
	return def
}

// checkDefaultRole refuses a default role that is not a role; setting
// names it as the user wrote it.
func checkDefaultRole(setting string, r admin.Role) error {
	if r != "" && (!r.Valid() || r == admin.RoleWorker) {
		return fmt.Errorf("%s: %q is not a role: give viewer, operator or admin, or leave it out to refuse users no role lists", setting, r)
	}
	return nil
}

// ProxyAuthConfig lets an authenticating reverse proxy log users in by a
// header, believed from trusted_proxies only.
type ProxyAuthConfig struct {
	// Header names the user. Default X-Forwarded-User.
	Header string `json:"header,omitempty"`
	// GroupsHeader, when set, lists the user's groups, separated by
	// commas (such as X-Forwarded-Groups).
	GroupsHeader string `json:"groups_header,omitempty"`
	// Roles maps users and groups to roles.
	Roles RoleMap `json:"roles,omitzero"`
	// DefaultRole is the role of a user that Roles does not list; ""
	// refuses them.
	DefaultRole admin.Role `json:"default_role,omitempty"`
	// Secret, when set, must also come in the ProxySecretHeader header:
	// then a process that can reach the server from a trusted address
	// (a task on the proxy's host, say) cannot name a user. Never read
	// from the config file.
	Secret string `json:"-"`
}

// ProxySecretHeader carries ProxyAuthConfig.Secret from the proxy.
const ProxySecretHeader = "X-Sundial-Proxy-Secret"

// proxyAuth is a checked ProxyAuthConfig.
type proxyAuth struct {
	header, groups string
	roles          RoleMap
	def            admin.Role
	secret         string
}

func newProxyAuth(cfg *ProxyAuthConfig) (*proxyAuth, error) {
	if cfg == nil {
		return nil, nil
	}
	if err := checkDefaultRole("proxy_auth.default_role", cfg.DefaultRole); err != nil {
		return nil, err
	}
	p := &proxyAuth{header: http.CanonicalHeaderKey(strings.TrimSpace(cfg.Header)), groups: http.CanonicalHeaderKey(strings.TrimSpace(cfg.GroupsHeader)),
		roles: cfg.Roles, def: cfg.DefaultRole, secret: cfg.Secret}
	if p.header == "" {
		p.header = DefaultProxyUserHeader
	}
	if strings.EqualFold(p.header, "Authorization") || strings.EqualFold(p.header, "Cookie") {
		return nil, fmt.Errorf("proxy_auth.header: %q carries credentials of its own: name the header in which the proxy passes the user, such as X-Forwarded-User", cfg.Header)
	}
	return p, nil
}

// proxyPrincipal returns who a trusted proxy says the request acts as;
// ok is false when the request carries no proxy user header, or one that
// is not believed (it did not come from a trusted proxy: logged, and
// ignored). A user the role map gives no role is refused.
func (a *API) proxyPrincipal(r *http.Request) (p principal, ok bool, err error) {
	if a.proxy == nil {
		return principal{}, false, nil
	}
	user := strings.TrimSpace(r.Header.Get(a.proxy.header))
	if user == "" {
		return principal{}, false, nil
	}
	if !a.guard.fromProxy(r) {
		// The value is not logged: whoever sent it chose it.
		a.log.Warn("ignored a proxy user header from an address not in trusted_proxies", "header", a.proxy.header, "remote_addr", r.RemoteAddr)
		return principal{}, false, nil
	}
	if a.proxy.secret != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get(ProxySecretHeader)), []byte(a.proxy.secret)) != 1 {
		a.log.Warn("ignored a proxy user header without the proxy's secret", "header", a.proxy.header, "secret_header", ProxySecretHeader,
			"remote_addr", r.RemoteAddr)
		return principal{}, false, nil
	}
	names := []string{user}
	if a.proxy.groups != "" {
		for _, g := range strings.Split(strings.Join(r.Header.Values(a.proxy.groups), ","), ",") {
			names = append(names, strings.TrimSpace(g))
		}
	}
	role := a.proxy.roles.roleOf(names, a.proxy.def)
	if role == "" {
		return principal{}, true, noRole(fmt.Sprintf("the proxy authenticated %q, but proxy_auth.roles gives that user and their groups no role "+
			"(and proxy_auth.default_role is not set): ask an admin to map them to viewer, operator or admin", user))
	}
	return principal{Name: "proxy:" + user, Role: role}, true, nil
}

// noRole refuses a user whom single sign-on authenticated but no role
// mapping lets in.
func noRole(detail string) *refusal {
	return &refusal{status: http.StatusForbidden, kind: "no-role", title: "No role for this user", detail: detail}
}

func (f *refusal) Error() string { return f.detail }
