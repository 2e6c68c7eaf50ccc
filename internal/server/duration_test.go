package server

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDurationsAreOneForm: the config file and the environment read
// durations as everything else does — a Go duration string, or a number of
// seconds.
func TestDurationsAreOneForm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sundial.yaml")
	if err := os.WriteFile(path, []byte("poll_interval: 2\nshutdown_grace: \"1m30s\"\nlease_ttl: 20.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(cfg.PollInterval) != 2*time.Second || time.Duration(cfg.ShutdownGrace) != 90*time.Second ||
		cfg.LeaseTTL == nil || time.Duration(*cfg.LeaseTTL) != 20500*time.Millisecond {
		t.Errorf("from the file: poll %s, grace %s, lease %v", time.Duration(cfg.PollInterval), time.Duration(cfg.ShutdownGrace), cfg.LeaseTTL)
	}
	env := map[string]string{"SUNDIAL_POLL_INTERVAL": "3", "SUNDIAL_SHUTDOWN_GRACE": "45s", "SUNDIAL_LEASE_TTL": "30"}
	if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if time.Duration(cfg.PollInterval) != 3*time.Second || time.Duration(cfg.ShutdownGrace) != 45*time.Second || time.Duration(*cfg.LeaseTTL) != 30*time.Second {
		t.Errorf("from the environment: poll %s, grace %s, lease %s", time.Duration(cfg.PollInterval), time.Duration(cfg.ShutdownGrace), time.Duration(*cfg.LeaseTTL))
	}
	env = map[string]string{"SUNDIAL_POLL_INTERVAL": "soon"}
	if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("SUNDIAL_POLL_INTERVAL=soon was accepted")
	}
}
