package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Requests that never reach a route: Go's HTTP server answers a request it
// cannot parse (a malformed %-escape in the path such as /api/v1/jobs/%ZZ,
// a bad header) itself, in plain text, and a ServeMux redirects a path that
// is not in its clean form (/api/v1/jobs/x/../y) to the clean one — with a
// 307, which repeats a DELETE on whatever the clean path names.

// PlainPaths answers a request under /api/ whose path is not in its clean
// form (a "." or ".." segment, an empty segment) with a 404 problem instead
// of passing it to next, whose ServeMux would redirect it. Wrap the
// server's whole handler with it.
func (a *API) PlainPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") && cleanPath(p) != p {
			a.writeProblem(w, r, fmt.Errorf("%w: %q is not a plain path (no \".\", \"..\" or empty segments)", errNoRoute, p))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPath is path.Clean keeping a trailing slash, as ServeMux does.
func cleanPath(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// ProblemListener wraps l so that the answer Go's HTTP server writes to a
// request it cannot parse is a problem document rather than plain text.
// Wrap the listener the server serves, beneath any TLS: the server writes
// that answer straight to the connection, past every handler.
func ProblemListener(l net.Listener) net.Listener { return problemListener{l} }

type problemListener struct{ net.Listener }

func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &problemConn{Conn: c}, nil
}

// problemConn rewrites the one write that is net/http's own answer to an
// unparsable request: a single write of a status line, exactly these two
// headers (never a Date, which every handler's answer has) and a one-line
// body, after which the server closes the connection.
type problemConn struct{ net.Conn }

var serverError = regexp.MustCompile("^HTTP/1\\.1 ([45][0-9][0-9]) ([^\r\n]*)\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n[^\r\n]*$")

func (c *problemConn) Write(p []byte) (int, error) {
	m := serverError.FindSubmatch(p)
	if m == nil {
		return c.Conn.Write(p)
	}
	status, _ := strconv.Atoi(string(m[1]))
	detail := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(string(m[2]), http.StatusText(status)), ":"))
	if detail == "" {
		detail = "the request is not valid HTTP/1.1: a path with a malformed %-escape (such as %ZZ; write % as %25), a malformed header or request line"
	}
	body, _ := json.Marshal(Problem{Type: "https://sundial.dev/problems/malformed-request", Title: "Malformed request",
		Status: status, Detail: detail})
	var out bytes.Buffer
	fmt.Fprintf(&out, "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nX-Content-Type-Options: nosniff\r\n"+
		"Connection: close\r\nContent-Length: %d\r\n\r\n%s", status, http.StatusText(status), len(body), body)
	if _, err := c.Conn.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite lets the server half-close the connection after its answer,
// as it does with a bare TCP connection.
func (c *problemConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
