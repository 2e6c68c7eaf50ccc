// Package webui serves Sundial's web UI: static files embedded in the
// binary (no Node at build or run time; vendor.sh records the vendored
// libraries) and a page that is a client of API v1 — the same data path
// as the CLI. The page logs in through the API (POST /api/v1/session),
// which keeps the browser's session in an HttpOnly, SameSite=Strict
// cookie next to a CSRF token; the login link printed at the first start
// (/?token=…) opens a session the same way.
package webui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Config configures the UI.
type Config struct {
	// Login opens a session for an API token's secret, setting its
	// cookies on w (httpapi.API.StartSession); it serves the login link.
	// Nil refuses the link.
	Login func(w http.ResponseWriter, r *http.Request, secret string) error
}

// Handler returns the UI's handler: / and /static/ for the page, and the
// login link /?token=…. The page names every URL relative to itself (the
// API as api/v1/…), so that the handler and the API may be mounted under
// a path prefix together.
func Handler(cfg Config) http.Handler {
	sub, _ := fs.Sub(static, "static")
	index, _ := fs.ReadFile(sub, "index.html")
	files := http.FileServerFS(sub)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		// The login link printed at first start: /?token=…
		if secret := r.URL.Query().Get("token"); secret != "" {
			w.Header().Set("Cache-Control", "no-store")
			if !fromUser(r) || cfg.Login == nil || cfg.Login(w, r, secret) != nil {
				redirect(w, "./?error=1#/login")
				return
			}
			redirect(w, "./")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(index)
	})
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		// A name no file can have (such as %ff, not UTF-8) is not found;
		// the file server would call it an internal error.
		if name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/"); name != "" && !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})))
	return mux
}

// redirect sends the browser to a place relative to the page: the UI may
// be served under a path prefix this handler does not see (--base-path,
// or a reverse proxy that strips one), so it never names an absolute path.
// (http.Redirect would make it absolute from the request's path.)
func redirect(w http.ResponseWriter, to string) {
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusSeeOther)
}

// fromUser reports whether a navigation came from the user (typed,
// pasted, opened from a terminal) or from this server's own page, not
// from a link on another site: a page of another site must not log the
// browser in with a token of its choosing.
func fromUser(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "none", "same-origin":
		return true
	}
	return false
}

// secure sets the headers that keep the page from being framed, sniffed
// or fed scripts from elsewhere.
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}
