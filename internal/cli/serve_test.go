package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveLeaseTTL runs `sundial serve` with args and the environment env,
// and returns the lease TTL its node reports in /api/v1/status.
func serveLeaseTTL(t *testing.T, env map[string]string, args ...string) time.Duration {
	t.Helper()
	var out, errOut lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--insecure-no-auth", "--db", "sqlite:" + filepath.Join(t.TempDir(), "s.db")}, args...)
	go func() {
		done <- Run(ctx, args, Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }})
	}()
	defer func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("serve exited %d: %s", code, errOut.String())
		}
	}()
	serving := regexp.MustCompile(`serving on (http://\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for !serving.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	res, err := http.Get(serving.FindStringSubmatch(out.String())[1] + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st struct {
		Node struct {
			LeaseTTL time.Duration `json:"lease_ttl"`
		} `json:"node"`
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Node.LeaseTTL
}

// TestServeLeaseTTL: --lease-ttl and SUNDIAL_LEASE_TTL set the scheduler's
// lease TTL (15s by default, the flag over the environment); under 1s is
// a usage error naming the flag or variable and the value.
func TestServeLeaseTTL(t *testing.T) {
	if got := serveLeaseTTL(t, nil); got != 15*time.Second {
		t.Errorf("default lease TTL = %s, want 15s", got)
	}
	if got := serveLeaseTTL(t, map[string]string{"SUNDIAL_LEASE_TTL": "4s"}); got != 4*time.Second {
		t.Errorf("SUNDIAL_LEASE_TTL=4s: lease TTL = %s", got)
	}
	if got := serveLeaseTTL(t, map[string]string{"SUNDIAL_LEASE_TTL": "4s"}, "--lease-ttl", "2s"); got != 2*time.Second {
		t.Errorf("--lease-ttl 2s over SUNDIAL_LEASE_TTL=4s: lease TTL = %s", got)
	}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--lease-ttl", "500ms"}, "--lease-ttl 500ms: must be at least 1s"},
		{nil, []string{"--lease-ttl", "0s"}, "--lease-ttl 0s: must be at least 1s"},
		{map[string]string{"SUNDIAL_LEASE_TTL": "999ms"}, nil, "environment SUNDIAL_LEASE_TTL 999ms: must be at least 1s"},
		{map[string]string{"SUNDIAL_LEASE_TTL": "soon"}, nil, `environment SUNDIAL_LEASE_TTL="soon": not a duration`},
	} {
		var out, errOut bytes.Buffer
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(t.TempDir(), "s.db")}, c.args...)
		code := Run(context.Background(), args, Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return c.env[k] }})
		if code != ExitUsage || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("serve %v with %v: exit %d, stderr %q; want %d and %q", c.args, c.env, code, errOut.String(), ExitUsage, c.want)
		}
	}
}
