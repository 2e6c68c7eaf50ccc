package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/httpapi"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sundial test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// login opens a web UI session on the server with its first token, with
// the extra headers, and returns the answer's cookies.
func (r *running) login(client *http.Client, header ...string) []*http.Cookie {
	r.t.Helper()
	req, _ := http.NewRequest("POST", r.base+"/api/v1/session", strings.NewReader(`{"token": "`+r.token+`"}`))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 || len(res.Cookies()) != 2 {
		r.t.Fatalf("login = %d, cookies %v", res.StatusCode, res.Cookies())
	}
	return res.Cookies()
}

func TestTLSListener(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := selfSigned(t, dir)
	srv := start(t, Config{DB: "sqlite:" + filepath.Join(dir, "s.db"), TLSCert: cert, TLSKey: key}, Options{Version: "test"})
	if !strings.Contains(srv.out.String(), "https://127.0.0.1:") || !strings.Contains(srv.out.String(), srv.base+"/?token=") {
		t.Errorf("the first start does not print an https address:\n%s", srv.out)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := client.Get(srv.base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /healthz over TLS: %v %v", err, res)
	}
	res.Body.Close()
	for _, c := range srv.login(client) {
		if !c.Secure || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie %s over TLS: Secure %v, SameSite %v", c.Name, c.Secure, c.SameSite)
		}
	}
	// Plain HTTP gets no answer from a TLS listener.
	if res, err := http.Get(strings.Replace(srv.base, "https:", "http:", 1) + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Error("plain HTTP answered 200 on the TLS listener")
	}
}

func TestSecureCookieBehindATrustedProxy(t *testing.T) {
	for _, c := range []struct {
		name    string
		proxies []string
		secure  bool
	}{
		{"trusted", []string{"127.0.0.1/32"}, true},
		{"not trusted", []string{"10.0.0.0/8"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := start(t, Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "s.db"), TrustedProxies: c.proxies}, Options{Version: "test"})
			for _, ck := range srv.login(srv.client, "X-Forwarded-Proto", "https") {
				if ck.Secure != c.secure {
					t.Errorf("cookie %s with X-Forwarded-Proto: https from 127.0.0.1, proxies %v: Secure %v", ck.Name, c.proxies, ck.Secure)
				}
			}
		})
	}
}

// TestNoWebPageCanRunCode replays the report against a real server with
// --insecure-no-auth: a cross-site text/plain POST to the test-run route
// and a DNS-rebinding Host are refused; the server's own page's request
// works. Every answer, the UI's included, is nosniff.
func TestNoWebPageCanRunCode(t *testing.T) {
	srv := start(t, Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "s.db"), InsecureNoAuth: true, AllowedHosts: []string{"sundial.test"}},
		Options{Version: "test"})
	send := func(method, path, body string, header ...string) (int, http.Header, string) {
		req, _ := http.NewRequest(method, srv.base+path, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			if header[i] == "Host" {
				req.Host = header[i+1]
			} else {
				req.Header.Set(header[i], header[i+1])
			}
		}
		res, err := srv.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	script := `{"lang": "sh", "source": "echo pwned"}`
	for _, c := range []struct {
		header []string
		status int
	}{
		{[]string{"Content-Type", "text/plain", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"}, 403},
		{[]string{"Content-Type", "text/plain"}, 415},
		{[]string{"Content-Type", "application/json", "Origin", "http://evil.example"}, 403},
		{[]string{"Content-Type", "application/json", "Host", "evil.example:8080"}, 421},
	} {
		if code, _, body := send("POST", "/api/v1/scripts/test-run", script, c.header...); code != c.status || strings.Contains(body, "pwned") {
			t.Errorf("test run with %v = %d %s, want %d", c.header, code, body, c.status)
		}
	}
	for _, host := range []string{"evil.example", "evil.example:80"} {
		if code, _, _ := send("GET", "/api/v1/jobs", "", "Host", host); code != 421 {
			t.Errorf("GET with Host %s = %d, want 421", host, code)
		}
	}
	if code, _, body := send("GET", "/api/v1/jobs", "", "Host", "sundial.test:8080"); code != 200 {
		t.Errorf("GET with the allowed host = %d %s", code, body)
	}
	if code, _, body := send("POST", "/api/v1/scripts/test-run", script, "Content-Type", "application/json", "Origin", srv.base); code != 200 {
		t.Errorf("the server's own page's test run = %d %s", code, body)
	}
	for _, path := range []string{"/", "/static/app.js", "/api/v1/jobs", "/api/v1/nope", "/healthz", "/metrics", "/scheduler/jobs"} {
		code, h, _ := send("GET", path, "")
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s (%d) lacks nosniff", path, code)
		}
		if api := strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/scheduler"); api && h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q", path, h.Get("Cache-Control"))
		}
	}
}

func TestFailedAuthenticationMetric(t *testing.T) {
	srv := start(t, Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "s.db")}, Options{Version: "test"})
	metric := func(reason string) string {
		res, err := http.Get(srv.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, `sundial_auth_failures_total{reason="`+reason+`"} `) {
				return strings.Fields(line)[1]
			}
		}
		return "absent"
	}
	if got := metric("invalid"); got != "0" {
		t.Errorf("before any failure: %s", got)
	}
	for range 12 {
		srv.call("GET", "/api/v1/jobs", "sdl_wrong", nil, nil)
	}
	// The server's default: 10 failures, then the client waits.
	if got, throttled := metric("invalid"), metric("throttled"); got != "10" || throttled != "2" {
		t.Errorf("after 12 wrong tokens: invalid %s, throttled %s; want 10 and 2", got, throttled)
	}
	req, _ := http.NewRequest("GET", srv.base+"/scheduler/jobs", nil)
	req.SetBasicAuth("admin", "wrong")
	res, err := srv.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" || strings.Contains(res.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("throttled Basic attempt = %d %v", res.StatusCode, res.Header)
	}
}

func TestWebSecuritySettings(t *testing.T) {
	env := map[string]string{"SUNDIAL_TLS_CERT": "/c.pem", "SUNDIAL_TLS_KEY": "/k.pem", "SUNDIAL_ALLOWED_HOSTS": "a.example,b.example",
		"SUNDIAL_ALLOWED_ORIGINS": "https://a.example", "SUNDIAL_TRUSTED_PROXIES": "10.0.0.0/8", "SUNDIAL_SESSION_IDLE_TIMEOUT": "30m",
		"SUNDIAL_SESSION_MAX_AGE": "86400"}
	var c Config
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.TLSCert != "/c.pem" || c.TLSKey != "/k.pem" || strings.Join(c.AllowedHosts, " ") != "a.example b.example" ||
		c.AllowedOrigins[0] != "https://a.example" || c.TrustedProxies[0] != "10.0.0.0/8" ||
		c.Session.IdleTimeout != Duration(30*time.Minute) || c.Session.MaxAge != Duration(24*time.Hour) {
		t.Errorf("from the environment: %+v", c)
	}
	file := filepath.Join(t.TempDir(), "sundial.yaml")
	os.WriteFile(file, []byte("allowed_hosts: [sundial.internal]\ntrusted_proxies: [127.0.0.1]\nsession:\n  idle_timeout: 1h\n  max_age: 48h\n"), 0o600)
	c, err := ReadConfigFile(file)
	if err != nil || c.AllowedHosts[0] != "sundial.internal" || c.Session.MaxAge != Duration(48*time.Hour) {
		t.Errorf("from the file: %+v, %v", c, err)
	}
	for _, bad := range []struct {
		cfg  Config
		want string
	}{
		{Config{TLSCert: "/c.pem"}, "tls_cert and tls_key"},
		{Config{TLSCert: "/nope.pem", TLSKey: "/nope.key"}, "tls_cert /nope.pem"},
		{Config{TrustedProxies: []string{"proxy.example"}}, "trusted_proxies"},
		{Config{AllowedOrigins: []string{"a.example"}}, "allowed_origins"},
		{Config{Session: SessionConfig{IdleTimeout: Duration(-time.Minute)}}, "session.idle_timeout"},
	} {
		if _, _, err := bad.cfg.withDefaults().webSecurity(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want an error naming %s", bad.cfg, err, bad.want)
		}
	}
}

func TestSessionSecretsMaskedInLogs(t *testing.T) {
	session := "sds_abcdefghijklmnopqrstuvwxyz234567"
	if got := Mask("cookie " + session + " and sdl_abcdefghijklmnopqrstuvwxyz234567"); got != "cookie sds_**** and sdl_****" {
		t.Errorf("Mask = %q", got)
	}
}

// TestBasePath serves everything under a prefix: the API, the UI, the
// login link and health checks answer there, the paths of Locations and
// cookies the handlers write from the root are written under it, and
// nothing answers outside it.
func TestBasePath(t *testing.T) {
	srv := start(t, Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "s.db"), BasePath: "/tools/sundial/"}, Options{Version: "test"})
	const p = "/tools/sundial"
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) *http.Response {
		t.Helper()
		res, err := noRedirect.Get(srv.base + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for _, c := range []struct {
		path     string
		status   int
		location string
	}{
		{p + "/", 200, ""},
		{p + "/static/app.js", 200, ""},
		{p + "/healthz", 200, ""},
		{p + "/api/v1/openapi.json", 200, ""},
		{p, 301, p + "/"},
		{p + "?token=x", 301, p + "/?token=x"},
		{"/", 404, ""},
		{"/api/v1/openapi.json", 404, ""},
		{"/healthz", 404, ""},
		{"/tools/sundialx/", 404, ""},
	} {
		if res := get(c.path); res.StatusCode != c.status || res.Header.Get("Location") != c.location {
			t.Errorf("GET %s = %d, Location %q; want %d, %q", c.path, res.StatusCode, res.Header.Get("Location"), c.status, c.location)
		}
	}

	// The login link: the page's address, relative; cookies under the prefix.
	res := get(p + "/?token=" + srv.token)
	if res.StatusCode != 303 || res.Header.Get("Location") != "./" || len(res.Cookies()) != 2 {
		t.Fatalf("the login link = %d, Location %q, cookies %v", res.StatusCode, res.Header.Get("Location"), res.Cookies())
	}
	for _, c := range res.Cookies() {
		if c.Path != p+"/" {
			t.Errorf("cookie %s has Path %q, want %s/", c.Name, c.Path, p)
		}
	}
	// A Location the API writes names the prefix.
	if code := srv.call("POST", p+"/api/v1/jobs", srv.token, map[string]any{"id": "x", "task": "echo", "trigger": map[string]any{"type": "none"}}, nil); code != 201 {
		t.Fatalf("create a job = %d", code)
	}
	req, _ := http.NewRequest("POST", srv.base+p+"/api/v1/jobs/x/run", nil)
	req.Header.Set("Authorization", "Bearer "+srv.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, p+"/api/v1/runs/") {
		t.Errorf("run now: Location %q, want it under %s", loc, p)
	}
	// The event stream comes through as it is written.
	ereq, _ := http.NewRequest("GET", srv.base+p+"/api/v1/events", nil)
	ereq.Header.Set("Authorization", "Bearer "+srv.token)
	eres, err := srv.client.Do(ereq)
	if err != nil {
		t.Fatal(err)
	}
	defer eres.Body.Close()
	buf := make([]byte, 1)
	if _, err := eres.Body.Read(buf); eres.StatusCode != 200 || err != nil {
		t.Errorf("GET events under the prefix = %d, first read: %v", eres.StatusCode, err)
	}
}

func TestCleanBasePath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""}, {"/", ""}, {"/sundial", "/sundial"}, {"/sundial/", "/sundial"}, {"/a/b-c_d.e~f", "/a/b-c_d.e~f"},
	} {
		if got, err := (Config{BasePath: c.in}).CleanBasePath(); err != nil || got != c.want {
			t.Errorf("base_path %q = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"sundial", "/a/../b", "/a/./b", "//a", "/a b", "/a?b", "/a#b", "/a%2fb", "/a//b"} {
		if _, err := (Config{BasePath: bad}).CleanBasePath(); err == nil || !strings.Contains(err.Error(), "base_path") {
			t.Errorf("base_path %q: err %v, want one naming base_path", bad, err)
		}
	}
}

// TestUnderBasePathTellsTheAPI: a request served under the prefix carries
// it to the API (httpapi.BasePath), which names its absolute URLs — the
// single sign-on callback — with it.
func TestUnderBasePathTellsTheAPI(t *testing.T) {
	var seen string
	h := underBasePath("/tools/sundial", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = httpapi.BasePath(r.Context()) + " " + r.URL.Path
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/tools/sundial/api/v1/oidc/login", nil))
	if seen != "/tools/sundial /api/v1/oidc/login" {
		t.Errorf("the API saw base path and path %q", seen)
	}
}
