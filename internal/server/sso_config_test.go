package server

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sundialhq/sundial/internal/admin"
)

func TestSSOSettings(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sundial.yaml")
	os.WriteFile(path, []byte(`
trusted_proxies: [10.0.0.5]
proxy_auth:
  groups_header: X-Forwarded-Groups
  roles: {admin: [sundial-admins], viewer: [staff]}
  default_role: viewer
`), 0o600)
	cfg, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.ProxyAuth; p == nil || p.GroupsHeader != "X-Forwarded-Groups" || p.DefaultRole != admin.RoleViewer || !slices.Equal(p.Roles.Admin, []string{"sundial-admins"}) {
		t.Errorf("proxy_auth = %+v", cfg.ProxyAuth)
	}
	// The header setting alone turns proxy login on.
	var bare Config
	if err := bare.ApplyEnv(func(k string) string {
		return map[string]string{"SUNDIAL_PROXY_AUTH_HEADER": "X-Auth-Request-User"}[k]
	}); err != nil {
		t.Fatal(err)
	}
	if bare.ProxyAuth == nil || bare.ProxyAuth.Header != "X-Auth-Request-User" {
		t.Errorf("from the environment: proxy_auth %+v", bare.ProxyAuth)
	}
}
