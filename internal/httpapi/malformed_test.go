package httpapi

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

// TestMalformedRequestsGetProblems sends, over a real connection, requests
// Go's HTTP server cannot parse: the server's own answer arrives as a
// problem document, and a good request on the same listener is untouched.
func TestMalformedRequestsGetProblems(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoAuth = true })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h.api.PlainPaths(h.api.Handler()), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ProblemListener(ln))
	t.Cleanup(func() { srv.Close() })

	send := func(raw string) (*http.Response, []byte) {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, raw)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		body, _ := io.ReadAll(res.Body)
		return res, body
	}
	for _, raw := range []string{
		"GET /api/v1/jobs/%ZZ HTTP/1.1\r\nHost: x\r\n\r\n",
		"DELETE /api/v1/jobs/a%2 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /static/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /api/v1/jobs HTTP/1.1\r\n\r\n", // no Host
		"GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
	} {
		res, body := send(raw)
		var p Problem
		if res.StatusCode != 400 || res.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(body, &p) != nil ||
			p.Status != 400 || p.Title == "" || p.Detail == "" {
			t.Errorf("%q = %d %s %s, want a 400 problem", raw, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
	res, body := send("GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n")
	if res.StatusCode != 200 || !strings.Contains(string(body), `"role":"admin"`) {
		t.Errorf("a good request = %d %s", res.StatusCode, body)
	}
}

// TestPathsThatAreNotPlainAreNotRedirected: a ServeMux redirects
// /api/v1/jobs/x/../y to /api/v1/jobs/y with a 307, which repeats a DELETE
// on y. Such paths are not found instead, and nothing is deleted.
func TestPathsThatAreNotPlainAreNotRedirected(t *testing.T) {
	h := newHarness(t)
	if res := h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "y", "task": "echo", "trigger": "@daily"}`); res.status != 201 {
		t.Fatal(res.status)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", h.api.Handler())
	handler := h.api.PlainPaths(mux)
	for _, p := range []string{"/api/v1/jobs/x/../y", "/api/v1/jobs/y/.", "/api/v1//jobs/y", "/api/v1/jobs/%2e%2e", "/api/v1/jobs/./y"} {
		req, _ := http.NewRequest("DELETE", "http://x"+p, nil)
		req.Header.Set("Authorization", "Bearer "+h.tokens[admin.RoleAdmin])
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		var prob Problem
		if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &prob) != nil {
			t.Errorf("DELETE %s = %d %v %s, want a 404 problem", p, rec.Code, rec.Header(), rec.Body)
		}
	}
	if res := h.do(admin.RoleViewer, "GET", "/api/v1/jobs/y", nil); res.status != 200 {
		t.Errorf("job y after the requests: %d", res.status)
	}
}
