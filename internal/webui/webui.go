// Package webui serves Sundial's web UI: static files embedded in the
// binary (no Node at build or run time; vendor.sh records the vendored
// libraries), a page that is a client of API v1 — the same data path as
// the CLI — and the login that keeps an API token in an HttpOnly,
// SameSite=Strict cookie next to a CSRF token.
package webui

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/httpapi"
)

//go:embed static
var static embed.FS

// Config configures the UI.
type Config struct {
	// Admin checks tokens at login.
	Admin admin.Store
	// NoAuth skips the login: the server runs without authentication.
	NoAuth bool
}

// CSRFCookie holds the token that state-changing API requests made with
// the session cookie must repeat in the X-CSRF-Token header.
const CSRFCookie = httpapi.CSRFCookie

// sessionAge is how long a browser stays logged in.
const sessionAge = 30 * 24 * time.Hour

// Handler returns the UI's handler: / and /static/ for the page, and
// /ui/login and /ui/logout.
func Handler(cfg Config) http.Handler {
	sub, _ := fs.Sub(static, "static")
	index, _ := fs.ReadFile(sub, "index.html")
	files := http.FileServerFS(sub)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// The login link printed at first start: /?token=…
		if secret := r.URL.Query().Get("token"); secret != "" {
			if !login(w, r, cfg, secret) {
				http.Redirect(w, r, "/?error=1#/login", http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		secure(w)
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
	mux.HandleFunc("POST /ui/login", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if !login(w, r, cfg, r.PostFormValue("token")) {
			http.Redirect(w, r, "/?error=1#/login", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/#/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /ui/logout", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		c, err := r.Cookie(CSRFCookie)
		if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
			http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		for _, name := range []string{httpapi.CookieName, CSRFCookie} {
			http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: name == httpapi.CookieName,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		}
		http.Redirect(w, r, "/#/login", http.StatusSeeOther)
	})
	return mux
}

// login checks secret and, when it is a live token, sets the session and
// CSRF cookies.
func login(w http.ResponseWriter, r *http.Request, cfg Config, secret string) bool {
	if !cfg.NoAuth {
		if secret == "" {
			return false
		}
		if _, err := cfg.Admin.TokenByHash(r.Context(), httpapi.HashToken(secret)); err != nil {
			return false
		}
	}
	var b [32]byte
	rand.Read(b[:])
	age := int(sessionAge / time.Second)
	http.SetCookie(w, &http.Cookie{Name: httpapi.CookieName, Value: secret, Path: "/", MaxAge: age, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	// Readable by the page's script, which sends it back in a header: a
	// page of another site can neither read it nor set the header.
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: base64.RawURLEncoding.EncodeToString(b[:]), Path: "/", MaxAge: age,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return true
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
