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

	"github.com/sundialhq/sundial"
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
		Node sundial.Status `json:"node"`
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

// TestServeHelpSaysHowToGetAToken: `serve --help` tells how to get a token,
// and it happens as told: the first start prints the initial-admin token
// once; a later start prints none; `token create --db` makes one while the
// server runs, which the server accepts.
func TestServeHelpSaysHowToGetAToken(t *testing.T) {
	code, help, errOut := run(t, "serve", "--help")
	if code != ExitOK {
		t.Fatalf("serve --help: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"first start", "initial-admin", "prints it once", "sundial token create --name ci --role operator",
		"sundial token create --name me --role admin --db sqlite:./sundial.db", "Examples:", "sundial serve --config sundial.yaml"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, help)
		}
	}

	db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	serve := func() (url, out string, stop func()) {
		var stdout, stderr lockedBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", db}, Env{Stdout: &stdout, Stderr: &stderr,
				Getenv: func(string) string { return "" }})
		}()
		serving := regexp.MustCompile(`serving on (http://\S+)`)
		deadline := time.Now().Add(20 * time.Second)
		for !serving.MatchString(stdout.String()) {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("serve did not start: %s", stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		return serving.FindStringSubmatch(stdout.String())[1], stdout.String(), func() {
			cancel()
			if code := <-done; code != ExitOK {
				t.Errorf("serve exited %d: %s", code, stderr.String())
			}
		}
	}
	client := func(url, token string, args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), append(args, "--server", url, "--token", token), Env{Stdout: &out, Stderr: &errOut,
			Getenv: func(string) string { return "" }})
		return code, out.String() + errOut.String()
	}

	url, out, stop := serve()
	first := regexp.MustCompile(`SUNDIAL_TOKEN=(\S+)`).FindStringSubmatch(out)
	if first == nil || !strings.Contains(out, "An admin token was created for this first start") {
		stop()
		t.Fatalf("the first start printed no token:\n%s", out)
	}
	if code, list := client(url, first[1], "token", "list"); code != ExitOK || !strings.Contains(list, "initial-admin") {
		t.Errorf("token list with the first token: exit %d:\n%s", code, list)
	}
	// While the server runs, as whoever can open the database.
	code, created, errOut := run(t, "token", "create", "--name", "me", "--role", "admin", "--db", db, "--json")
	if code != ExitOK {
		t.Fatalf("token create --db: exit %d: %s", code, errOut)
	}
	var tok struct{ Token string }
	json.Unmarshal([]byte(created), &tok)
	if code, list := client(url, tok.Token, "jobs", "list"); code != ExitOK {
		t.Errorf("the server refused the token made with --db: exit %d: %s", code, list)
	}
	stop()

	url, out, stop = serve()
	defer stop()
	if strings.Contains(out, "admin token") {
		t.Errorf("a second start printed a token:\n%s", out)
	}
	if code, _ := client(url, tok.Token, "status"); code != ExitOK {
		t.Errorf("the token made with --db after a restart: exit %d", code)
	}
}
