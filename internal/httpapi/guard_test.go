package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
)

// TestCrossSiteWritesRefusedInEveryAuthMode sends, in each auth mode, the
// writes a page of another site can make a browser send — a form or
// text/plain body, no Content-Type, a foreign Origin, Sec-Fetch-Site:
// cross-site — to the route that ran shell code in the report, and to job
// creation: each is refused before it acts. The same request as the
// server's own page makes it is accepted, so each refusal is the guard's.
func TestCrossSiteWritesRefusedInEveryAuthMode(t *testing.T) {
	const script = `{"lang": "sh", "source": "echo pwned"}`
	for _, mode := range []string{"insecure-no-auth", "session cookie", "basic", "bearer token"} {
		t.Run(mode, func(t *testing.T) {
			var mu sync.Mutex
			ran := 0
			h := newHarness(t, func(cfg *Config) {
				cfg.NoAuth = mode == "insecure-no-auth"
				cfg.TestRunner = func(context.Context, TestRunRequest) (TestRun, error) {
					mu.Lock()
					defer mu.Unlock()
					ran++
					return TestRun{Status: sundial.StatusSucceeded}, nil
				}
			})
			var auth []string
			switch mode {
			case "session cookie":
				auth = h.login(admin.RoleAdmin).header
			case "basic":
				auth = []string{"Authorization", basic("admin", h.tokens[admin.RoleAdmin])}
			case "bearer token":
				auth = []string{"Authorization", "Bearer " + h.tokens[admin.RoleAdmin]}
			}
			send := func(path, body string, header ...string) response {
				return h.do("", "POST", path, body, append(append([]string(nil), auth...), header...)...)
			}
			for i, c := range []struct {
				name   string
				header []string
				status int
				kind   string
			}{
				{"text/plain body", []string{"Content-Type", "text/plain"}, 415, "unsupported-media-type"},
				{"form body", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported-media-type"},
				{"multipart body", []string{"Content-Type", "multipart/form-data; boundary=x"}, 415, "unsupported-media-type"},
				{"no Content-Type", []string{"Content-Type", ""}, 415, "unsupported-media-type"},
				{"foreign Origin", []string{"Origin", "http://evil.example"}, 403, "cross-site"},
				{"another port of the same host", []string{"Origin", "http://example.com:3000"}, 403, "cross-site"},
				{"Origin null", []string{"Origin", "null"}, 403, "cross-site"},
				{"Sec-Fetch-Site: cross-site", []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross-site"},
				{"Sec-Fetch-Site: same-site", []string{"Sec-Fetch-Site", "same-site"}, 403, "cross-site"},
				{"foreign Origin with a JSON body", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403, "cross-site"},
			} {
				res := send("/api/v1/scripts/test-run", script, c.header...)
				if res.status != c.status || !strings.Contains(string(res.body), "problems/"+c.kind) ||
					res.header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("%s: test run = %d %s, want a %d %s problem", c.name, res.status, res.body, c.status, c.kind)
				}
				id := fmt.Sprintf("job-%d", i)
				if res := send("/api/v1/jobs", `{"id": "`+id+`", "task": "echo", "trigger": "@daily"}`, c.header...); res.status != c.status {
					t.Errorf("%s: create job = %d %s", c.name, res.status, res.body)
				}
				if _, err := h.s.Job(context.Background(), id); err == nil {
					t.Errorf("%s: the job was created", c.name)
				}
			}
			if ran != 0 {
				t.Errorf("the script ran %d times", ran)
			}
			// The server's own page: same origin, JSON.
			res := send("/api/v1/scripts/test-run", script, "Origin", "http://example.com", "Sec-Fetch-Site", "same-origin")
			if res.status != 200 || ran != 1 {
				t.Errorf("the server's own page's test run = %d %s (ran %d)", res.status, res.body, ran)
			}
			if res := send("/api/v1/jobs", `{"id": "mine", "task": "echo", "trigger": "@daily"}`, "Content-Type", "application/json; charset=utf-8"); res.status != 201 {
				t.Errorf("a JSON write from a client without Origin = %d %s", res.status, res.body)
			}
		})
	}
}

func TestCrossSiteReadsRefused(t *testing.T) {
	h := newHarness(t, func(cfg *Config) { cfg.NoAuth = true })
	for _, c := range []struct {
		header []string
		status int
	}{
		{[]string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "script"}, 403},
		{[]string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors", "Origin", "http://evil.example"}, 403},
		{[]string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"}, 200},
		{[]string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors"}, 200},
		{nil, 200},
	} {
		for _, path := range []string{"/api/v1/jobs", "/scheduler/jobs", "/api/v1/events"} {
			if res := h.do("", "GET", path, nil, c.header...); res.status != c.status {
				t.Errorf("GET %s with %v = %d, want %d", path, c.header, res.status, c.status)
			}
		}
	}
}

func TestRebindingHostRefusedOnLoopback(t *testing.T) {
	loop, err := NewGuard(GuardConfig{Loopback: true, AllowedHosts: []string{"Sundial.Internal", "10.9.8.7"}})
	if err != nil {
		t.Fatal(err)
	}
	open, _ := NewGuard(GuardConfig{})
	for _, c := range []struct {
		guard  *Guard
		host   string
		method string
		status int
	}{
		{loop, "attacker.example:8080", "GET", 421},
		{loop, "attacker.example", "POST", 421},
		{loop, "127.0.0.1.nip.io:8080", "GET", 421},
		{loop, "", "GET", 421},
		{loop, "localhost:8080", "GET", 200},
		{loop, "LOCALHOST.", "GET", 200},
		{loop, "app.localhost:8080", "GET", 200},
		{loop, "127.0.0.1:8080", "POST", 200},
		{loop, "127.1.2.3", "GET", 200},
		{loop, "[::1]:8080", "GET", 200},
		{loop, "sundial.internal:443", "GET", 200},
		{loop, "10.9.8.7:8080", "GET", 200},
		{open, "attacker.example:8080", "GET", 200},
	} {
		h := newHarness(t, func(cfg *Config) { cfg.NoAuth, cfg.Guard = true, c.guard })
		req := httptest.NewRequest(c.method, "/api/v1/scheduler/pause", strings.NewReader("{}"))
		if c.method == "GET" {
			req = httptest.NewRequest("GET", "/api/v1/jobs", nil)
		}
		req.Host = c.host
		req.Header.Set("Content-Type", "application/json")
		res := h.serve(req)
		if res.status != c.status {
			t.Errorf("%s with Host %q = %d %s, want %d", c.method, c.host, res.status, res.body, c.status)
		}
		if c.status == 421 && !strings.Contains(string(res.body), "allowed_hosts") {
			t.Errorf("the refusal does not say what to do: %s", res.body)
		}
	}
	for _, bad := range []GuardConfig{{AllowedHosts: []string{"http://x.example"}}, {AllowedHosts: []string{"x.example:80"}},
		{AllowedOrigins: []string{"x.example"}}, {AllowedOrigins: []string{"https://x.example/path"}}, {TrustedProxies: []string{"10.0.0.0/33"}}, {TrustedProxies: []string{"proxy"}}} {
		if _, err := NewGuard(bad); err == nil {
			t.Errorf("NewGuard(%+v) accepted it", bad)
		}
	}
}

func TestOriginBehindAProxy(t *testing.T) {
	guard, err := NewGuard(GuardConfig{TrustedProxies: []string{"10.0.0.1"}, AllowedOrigins: []string{"https://ops.example:443"}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(cfg *Config) { cfg.NoAuth, cfg.Guard = true, guard })
	for _, c := range []struct {
		remote, origin string
		header         []string
		status         int
	}{
		// The proxy terminates TLS and passes the public host on.
		{"10.0.0.1:1", "https://sundial.example", []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "sundial.example"}, 200},
		// The same headers from anywhere else are not believed.
		{"192.0.2.1:1", "https://sundial.example", []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "sundial.example"}, 403},
		// A configured origin, default port or not.
		{"192.0.2.1:1", "https://ops.example", []string{"Sec-Fetch-Site", "cross-site"}, 200},
		{"192.0.2.1:1", "http://ops.example", nil, 403},
		// The request's own host and scheme.
		{"192.0.2.1:1", "http://example.com:80", nil, 200},
		{"192.0.2.1:1", "https://example.com", nil, 403},
	} {
		req := httptest.NewRequest("POST", "/api/v1/scheduler/pause", nil)
		req.RemoteAddr = c.remote
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", c.origin)
		for i := 0; i+1 < len(c.header); i += 2 {
			req.Header.Set(c.header[i], c.header[i+1])
		}
		if res := h.serve(req); res.status != c.status {
			t.Errorf("Origin %s from %s %v = %d %s, want %d", c.origin, c.remote, c.header, res.status, res.body, c.status)
		}
	}
}

// TestNoBasicChallenge: no 401 asks a browser for a password (it would keep
// it and send it with every request, pages of other sites' included), and
// every 401 is a problem document.
func TestNoBasicChallenge(t *testing.T) {
	h := newHarness(t, func(cfg *Config) { cfg.FailedAuthBurst = 1000 })
	for _, r := range h.api.Routes() {
		if r.Role == "" {
			continue
		}
		path := strings.NewReplacer("{id}", "x", "{name}", "x", "{version}", "1").Replace(r.Pattern)
		for _, auth := range []string{"", basic("admin", "wrong"), "Bearer wrong"} {
			res := h.do("", r.Method, path, nil, "Authorization", auth)
			if res.status != 401 {
				t.Errorf("%s %s with %q = %d, want 401", r.Method, path, auth, res.status)
				continue
			}
			for _, v := range res.header.Values("WWW-Authenticate") {
				if !strings.HasPrefix(v, "Bearer ") {
					t.Errorf("%s %s: WWW-Authenticate %q", r.Method, path, v)
				}
			}
			if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s %s: 401 as %q", r.Method, path, ct)
			}
		}
	}
}

// TestHeadersOnEveryAnswer: nosniff on every answer, no-store on every
// API answer — JSON, problems, the mux's own 404s, run output, streams.
func TestHeadersOnEveryAnswer(t *testing.T) {
	h := newHarness(t)
	h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "e", "task": "echo", "trigger": "@daily"}`)
	var run sundial.Run
	h.do(admin.RoleOperator, "POST", "/api/v1/jobs/e/run", nil).json(t, &run)
	h.waitRun(run.ID)
	for _, c := range []struct {
		role         admin.Role
		method, path string
		body         any
	}{
		{admin.RoleAdmin, "POST", "/api/v1/tokens", `{"name": "x", "role": "viewer"}`},
		{"", "POST", "/api/v1/session", `{"token": "` + h.tokens[admin.RoleViewer] + `"}`},
		{"", "GET", "/api/v1/openapi.json", nil},
		{admin.RoleViewer, "GET", "/api/v1/jobs", nil},
		{admin.RoleViewer, "GET", "/api/v1/runs/" + run.ID + "/output", nil},
		{admin.RoleViewer, "GET", "/api/v1/events", nil},
		{admin.RoleViewer, "GET", "/api/v1/nope", nil},
		{admin.RoleViewer, "GET", "/scheduler/jobs", nil},
		{"", "GET", "/api/v1/jobs", nil},
		{admin.RoleViewer, "POST", "/api/v1/jobs", `{}`},
		{admin.RoleViewer, "POST", "/api/v1/jobs", "text"},
	} {
		var res response
		if c.body == "text" {
			res = h.do(c.role, c.method, c.path, "x", "Content-Type", "text/plain")
		} else {
			res = h.do(c.role, c.method, c.path, c.body)
		}
		if res.header.Get("X-Content-Type-Options") != "nosniff" || res.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s (%d): X-Content-Type-Options %q, Cache-Control %q", c.method, c.path, res.status,
				res.header.Get("X-Content-Type-Options"), res.header.Get("Cache-Control"))
		}
	}
}

func TestFailedAuthenticationsThrottled(t *testing.T) {
	c := &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	counted := map[string]int{}
	h := newHarness(t, withClock(c), func(cfg *Config) {
		cfg.FailedAuthBurst, cfg.FailedAuthEvery = 3, 20*time.Second
		cfg.OnAuthFailure = func(reason string) {
			mu.Lock()
			defer mu.Unlock()
			counted[reason]++
		}
	})
	from := func(addr, auth string) response {
		req := httptest.NewRequest("GET", "/api/v1/whoami", nil)
		req.RemoteAddr = addr
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return h.serve(req)
	}
	good := "Bearer " + h.tokens[admin.RoleViewer]
	// Successful authentications take nothing.
	for range 50 {
		if res := from("192.0.2.1:1000", good); res.status != 200 {
			t.Fatalf("a good token = %d", res.status)
		}
	}
	// A request without credentials guesses nothing.
	for range 10 {
		from("192.0.2.1:1000", "")
	}
	for i := range 3 {
		if res := from("192.0.2.1:1001", "Bearer sdl_guess"+fmt.Sprint(i)); res.status != 401 {
			t.Fatalf("guess %d = %d, want 401", i, res.status)
		}
	}
	// Out of attempts: refused, even with a good token, until one refills.
	for _, auth := range []string{"Bearer sdl_guess", good} {
		res := from("192.0.2.1:1002", auth)
		if res.status != 429 || res.header.Get("Retry-After") != "20" || !strings.Contains(string(res.body), "too-many-failures") {
			t.Errorf("after 3 failures, %q = %d %v %s", auth, res.status, res.header.Get("Retry-After"), res.body)
		}
	}
	if res := h.do("", "POST", "/api/v1/session", map[string]string{"token": h.tokens[admin.RoleViewer]}); res.status != 429 {
		t.Errorf("login from the throttled address = %d, want 429", res.status)
	}
	// Another address is not affected; an IPv6 client counts as its /64.
	if res := from("192.0.2.2:1000", good); res.status != 200 {
		t.Errorf("another address = %d", res.status)
	}
	if res := from("192.0.2.2:1000", "Bearer sdl_guess"); res.status != 401 {
		t.Errorf("another address's failure = %d", res.status)
	}
	for i := range 3 {
		from(fmt.Sprintf("[2001:db8::%d]:1", i+1), "Bearer sdl_guess")
	}
	if res := from("[2001:db8::ff]:1", good); res.status != 429 {
		t.Errorf("another address of the same /64 = %d, want 429", res.status)
	}
	c.Add(20 * time.Second)
	if res := from("192.0.2.1:1000", good); res.status != 200 {
		t.Errorf("after a refill, a good token = %d", res.status)
	}
	if res := from("192.0.2.1:1000", "Bearer sdl_guess"); res.status != 401 {
		t.Errorf("after a refill, one more guess = %d, want 401", res.status)
	}
	if res := from("192.0.2.1:1000", "Bearer sdl_guess"); res.status != 429 {
		t.Errorf("and the next = %d, want 429", res.status)
	}
	mu.Lock()
	defer mu.Unlock()
	if counted["invalid"] != 3+1+3+1 || counted["throttled"] != 2+1+1+1 {
		t.Errorf("counted %v, want invalid 8, throttled 5", counted)
	}
}

func TestFailureLimiterIsBounded(t *testing.T) {
	l := newFailureLimiter(2, time.Minute, 3)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 100 {
		l.fail(fmt.Sprint("client-", i), now.Add(time.Duration(i)*time.Millisecond))
	}
	if n := l.size(); n != 3 {
		t.Errorf("remembers %d clients, want at most 3", n)
	}
	// The newest are kept.
	l.fail("client-99", now)
	if l.wait("client-99", now.Add(time.Second)) == 0 {
		t.Error("the newest client was forgotten")
	}
}
