package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/admin"
)

// proxyHarness is a harness behind an authenticating proxy at 192.0.2.1
// (the address httptest requests come from) or, with trusted false, with
// only 10.0.0.0/8 trusted, so that the requests come from elsewhere.
func proxyHarness(t *testing.T, trusted bool, cfg ProxyAuthConfig, logs *bytes.Buffer) *harness {
	t.Helper()
	proxies := []string{"192.0.2.1"}
	if !trusted {
		proxies = []string{"10.0.0.0/8"}
	}
	g, err := NewGuard(GuardConfig{TrustedProxies: proxies})
	if err != nil {
		t.Fatal(err)
	}
	return newHarness(t, func(c *Config) {
		c.Guard, c.ProxyAuth = g, &cfg
		if logs != nil {
			c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		}
	})
}

// asProxyUser sends a request as the proxy naming user, with groups when
// they are not "".
func (h *harness) asProxyUser(method, path, body, user, groups string) response {
	h.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Forwarded-User", user)
	if groups != "" {
		req.Header.Set("X-Forwarded-Groups", groups)
	}
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	return h.serve(req)
}

func TestProxyAuth(t *testing.T) {
	cfg := ProxyAuthConfig{GroupsHeader: "X-Forwarded-Groups",
		Roles: RoleMap{Admin: []string{"sundial-admins"}, Operator: []string{"carol"}, Viewer: []string{"staff"}}}
	cases := []struct {
		name, user, groups string
		def                admin.Role
		status             int
		role               admin.Role
	}{
		{"a group maps to admin", "alice", "staff, sundial-admins", "", 200, admin.RoleAdmin},
		{"the user maps to operator", "carol", "", "", 200, admin.RoleOperator},
		{"the highest role wins", "carol", "staff", "", 200, admin.RoleOperator},
		{"no mapping is refused", "bob", "others", "", 403, ""},
		{"no mapping with a default role", "bob", "others", admin.RoleViewer, 200, admin.RoleViewer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfg
			cfg.DefaultRole = c.def
			h := proxyHarness(t, true, cfg, nil)
			res := h.asProxyUser("GET", "/api/v1/whoami", "", c.user, c.groups)
			if res.status != c.status {
				t.Fatalf("whoami = %d %s, want %d", res.status, res.body, c.status)
			}
			if c.status != 200 {
				if !strings.Contains(string(res.body), "proxy_auth.roles") {
					t.Errorf("the refusal does not say what to configure: %s", res.body)
				}
				return
			}
			var me Whoami
			res.json(t, &me)
			if me.Name != "proxy:"+c.user || me.Role != c.role {
				t.Errorf("whoami = %+v, want proxy:%s as %s", me, c.user, c.role)
			}
		})
	}
}

func TestProxyAuthActsAndIsAudited(t *testing.T) {
	h := proxyHarness(t, true, ProxyAuthConfig{Roles: RoleMap{Admin: []string{"alice"}}}, nil)
	if res := h.asProxyUser("POST", "/api/v1/jobs", `{"id": "p1", "task": "echo", "trigger": "@daily"}`, "alice", ""); res.status != 201 {
		t.Fatalf("create as proxy:alice = %d %s", res.status, res.body)
	}
	entries, err := h.records.ListAudit(context.Background(), admin.AuditFilter{Target: "p1"})
	if err != nil || len(entries) != 1 || entries[0].Actor != "proxy:alice" {
		t.Errorf("audit = %+v, %v; want one entry by proxy:alice", entries, err)
	}
	// Only an admin may write: a proxy user's role holds like a token's.
	h2 := proxyHarness(t, true, ProxyAuthConfig{DefaultRole: admin.RoleViewer}, nil)
	if res := h2.asProxyUser("POST", "/api/v1/jobs", `{"id": "p2", "task": "echo", "trigger": "@daily"}`, "dave", ""); res.status != 403 {
		t.Errorf("create as a viewer proxy user = %d, want 403", res.status)
	}
}

func TestProxyHeaderIgnoredFromUntrustedAddress(t *testing.T) {
	var logs bytes.Buffer
	h := proxyHarness(t, false, ProxyAuthConfig{DefaultRole: admin.RoleAdmin}, &logs)
	if res := h.asProxyUser("GET", "/api/v1/whoami", "", "mallory-wants-in", ""); res.status != 401 {
		t.Errorf("whoami with the header from an untrusted address = %d %s, want 401", res.status, res.body)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "not in trusted_proxies") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "mallory-wants-in") {
		t.Errorf("the log repeats the header's value:\n%s", logs.String())
	}
	// A token still works from there.
	if res := h.do(admin.RoleViewer, "GET", "/api/v1/whoami", nil, "X-Forwarded-User", "mallory"); res.status != 200 || !strings.Contains(string(res.body), "viewer-token") {
		t.Errorf("whoami with a token and the header = %d %s", res.status, res.body)
	}
}

func TestProxyAuthSecret(t *testing.T) {
	var logs bytes.Buffer
	h := proxyHarness(t, true, ProxyAuthConfig{DefaultRole: admin.RoleAdmin, Secret: "proxy-s3cret"}, &logs)
	for _, c := range []struct {
		name, secret string
		status       int
	}{{"no secret", "", 401}, {"wrong secret", "guess", 401}, {"the secret", "proxy-s3cret", 200}} {
		req := httptest.NewRequest("GET", "/api/v1/whoami", nil)
		req.Header.Set("X-Forwarded-User", "alice")
		if c.secret != "" {
			req.Header.Set(ProxySecretHeader, c.secret)
		}
		if res := h.serve(req); res.status != c.status {
			t.Errorf("%s: whoami = %d %s, want %d", c.name, res.status, res.body, c.status)
		}
	}
	if !strings.Contains(logs.String(), "without the proxy's secret") || strings.Contains(logs.String(), "guess") {
		t.Errorf("log:\n%s", logs.String())
	}
}

func TestProxyAuthSettings(t *testing.T) {
	for _, cfg := range []ProxyAuthConfig{{DefaultRole: "root"}, {Header: "Authorization"}} {
		if _, err := New(Config{Scheduler: newHarness(t).s, Admin: admin.NewMemory(), ProxyAuth: &cfg}); err == nil || !strings.Contains(err.Error(), "proxy_auth.") {
			t.Errorf("%+v: err = %v, want one naming the setting", cfg, err)
		}
	}
}
