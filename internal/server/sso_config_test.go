package server

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/admin"
)

func TestSSOSettings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sundial.yaml")
	secretFile := filepath.Join(dir, "oidc-secret")
	os.WriteFile(secretFile, []byte("from-the-file\n"), 0o600)
	os.WriteFile(path, []byte(`
trusted_proxies: [10.0.0.5]
proxy_auth:
  groups_header: X-Forwarded-Groups
  roles: {admin: [sundial-admins], viewer: [staff]}
  default_role: viewer
oidc:
  issuer: https://login.example.com
  client_id: sundial
  client_secret_file: `+secretFile+`
  role_claim: groups
  roles: {operator: [ops]}
  allowed_email_domains: [example.com]
`), 0o600)
	cfg, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.ProxyAuth; p == nil || p.GroupsHeader != "X-Forwarded-Groups" || p.DefaultRole != admin.RoleViewer || !slices.Equal(p.Roles.Admin, []string{"sundial-admins"}) {
		t.Errorf("proxy_auth = %+v", cfg.ProxyAuth)
	}
	o, err := cfg.oidc()
	if err != nil || o.Issuer != "https://login.example.com" || o.ClientSecret != "from-the-file" || o.Roles.Operator[0] != "ops" {
		t.Fatalf("oidc = %+v, %v", o, err)
	}
	// The environment's secret wins over the file; the header setting
	// alone turns proxy login on.
	env := map[string]string{"SUNDIAL_OIDC_CLIENT_SECRET": "from-env", "SUNDIAL_PROXY_AUTH_SECRET": "proxy-secret"}
	if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if o, _ := cfg.oidc(); o.ClientSecret != "from-env" || cfg.ProxyAuth.Secret != "proxy-secret" {
		t.Errorf("secrets = %q, %q, want the environment's", o.ClientSecret, cfg.ProxyAuth.Secret)
	}
	var bare Config
	if err := bare.ApplyEnv(func(k string) string {
		return map[string]string{"SUNDIAL_PROXY_AUTH_HEADER": "X-Auth-Request-User", "SUNDIAL_OIDC_ISSUER": "https://idp"}[k]
	}); err != nil {
		t.Fatal(err)
	}
	if bare.ProxyAuth == nil || bare.ProxyAuth.Header != "X-Auth-Request-User" || bare.OIDC == nil || bare.OIDC.Issuer != "https://idp" {
		t.Errorf("from the environment: proxy_auth %+v, oidc %+v", bare.ProxyAuth, bare.OIDC)
	}
	// The client secret is never a config file setting.
	os.WriteFile(path, []byte("oidc:\n  issuer: https://idp\n  client_secret: shh\n"), 0o600)
	if _, err := ReadConfigFile(path); err == nil || !strings.Contains(err.Error(), "oidc.client_secret") {
		t.Errorf("client_secret in the file: err = %v", err)
	}
	if _, err := (Config{OIDC: &OIDCConfig{ClientSecretFile: filepath.Join(dir, "missing")}}).oidc(); err == nil ||
		!strings.Contains(err.Error(), "oidc.client_secret_file") {
		t.Errorf("missing secret file: err = %v", err)
	}
}
