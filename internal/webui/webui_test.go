package webui

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sundialhq/sundial"
)

func newUI(t *testing.T) (http.Handler, *[]string) {
	var logins []string
	login := func(w http.ResponseWriter, r *http.Request, secret string) error {
		logins = append(logins, secret)
		if secret != "sdl_good" {
			return errors.New("not a token")
		}
		http.SetCookie(w, &http.Cookie{Name: "sundial_session", Value: "sds_x"})
		return nil
	}
	return Handler(Config{Login: login}), &logins
}

func TestPagesAndAssets(t *testing.T) {
	ui, _ := newUI(t)
	for path, want := range map[string]string{
		"/":                             `<script type="module" src="static/app.js">`,
		"/static/app.js":                "function route",
		"/static/js/pages/dashboard.js": "export function dashboardPage",
		"/static/i18n.js":               `"nav.dashboard": "仪表盘"`,
		"/static/style.css":             `[data-theme="dark"]`,
		"/static/vendor/codemirror/codemirror.js": "CodeMirror",
		"/static/vendor/diff/diff.min.js":         "diffLines",
		"/static/vendor/lit-html/lit-html.js":     "lit-html",
	} {
		rec := httptest.NewRecorder()
		ui.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s = %d, lacks %q", path, rec.Code, want)
		}
		// Module scripts must come with a JavaScript type, or the browser refuses them.
		if strings.HasSuffix(path, ".js") && !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
			t.Errorf("GET %s: Content-Type %q", path, rec.Header().Get("Content-Type"))
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
	// Missing and impossible names are not found, never an internal error.
	for _, path := range []string{"/static/nope.js", "/static/%ff", "/static/a/%ff/b", "/static/%00", "/static/a%5Cb", "/static/%2e%2e/x"} {
		rec := httptest.NewRecorder()
		ui.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 404 {
			t.Errorf("GET %s = %d, want 404", path, rec.Code)
		}
	}
}

// TestLoginLink: the link printed at the first start opens a session
// through the API's login, unless a page of another site sent the
// browser there; the answer is never cached.
func TestLoginLink(t *testing.T) {
	ui, logins := newUI(t)
	for _, c := range []struct {
		token, site string
		to          string
		tried       bool
	}{
		// Relative: the UI may be served under a path prefix.
		{"sdl_good", "", "./", true},
		{"sdl_good", "none", "./", true},
		{"sdl_good", "same-origin", "./", true},
		{"sdl_wrong", "none", "./?error=1#/login", true},
		{"sdl_good", "cross-site", "./?error=1#/login", false},
		{"sdl_good", "same-site", "./?error=1#/login", false},
	} {
		*logins = nil
		req := httptest.NewRequest("GET", "/?token="+c.token, nil)
		if c.site != "" {
			req.Header.Set("Sec-Fetch-Site", c.site)
		}
		rec := httptest.NewRecorder()
		ui.ServeHTTP(rec, req)
		if rec.Code != 303 || rec.Header().Get("Location") != c.to || rec.Header().Get("Cache-Control") != "no-store" ||
			rec.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s from %q = %d %v", c.token, c.site, rec.Code, rec.Header())
		}
		if tried := len(*logins) == 1 && (*logins)[0] == c.token; tried != c.tried {
			t.Errorf("%s from %q: logins %v", c.token, c.site, *logins)
		}
	}
	// Logging in and out is the API's (POST and DELETE /api/v1/session).
	for _, path := range []string{"/ui/login", "/ui/logout"} {
		rec := httptest.NewRecorder()
		ui.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader("token=sdl_good")))
		if rec.Code != 404 && rec.Code != 405 {
			t.Errorf("POST %s = %d", path, rec.Code)
		}
	}
}

// modules returns the UI's own JavaScript modules (not the vendored
// libraries), by path.
func modules(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p == "static/vendor" {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".js") {
			b, err := fs.ReadFile(static, p)
			out[p] = string(b)
			return err
		}
		return nil
	})
	if err != nil || len(out) < 10 {
		t.Fatalf("read %d modules: %v", len(out), err)
	}
	return out
}

// TestEveryStringIsTranslated: both languages have the same keys, every key
// the modules name exists, and no translation is left in English by mistake.
func TestEveryStringIsTranslated(t *testing.T) {
	i18n, _ := fs.ReadFile(static, "static/i18n.js")
	var app strings.Builder
	for p, src := range modules(t) {
		if p != "static/i18n.js" {
			app.WriteString(src)
		}
	}
	dict := func(name string) map[string]string {
		start := strings.Index(string(i18n), "const "+name+" = {")
		end := strings.Index(string(i18n)[start:], "\n};")
		out := map[string]string{}
		for _, m := range regexp.MustCompile(`(?m)^\s+"([a-z0-9_.]+)": "((?:[^"\\]|\\.)*)",$`).FindAllStringSubmatch(string(i18n)[start:start+end], -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	en, zh := dict("en"), dict("zh")
	if len(en) < 200 {
		t.Fatalf("read %d English strings; the dictionary format changed?", len(en))
	}
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("no Chinese for %q", k)
		}
	}
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("Chinese %q has no English", k)
		}
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bt[x]?\("([a-z0-9_.]+)"`).FindAllStringSubmatch(app.String(), -1) {
		if !strings.HasSuffix(m[1], ".") { // a prefix of keys built from data, checked below
			used[m[1]] = true
		}
	}
	// Keys built from data: t("status." + r.status) and the like.
	for _, prefix := range regexp.MustCompile(`\bt\("([a-z.]+\.)" \+`).FindAllStringSubmatch(app.String(), -1) {
		found := false
		for k := range en {
			found = found || strings.HasPrefix(k, prefix[1])
		}
		if !found {
			t.Errorf("no strings for keys built from %q", prefix[1])
		}
	}
	for k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("the UI uses %q, which has no string", k)
		}
	}
	for _, st := range []sundial.RunStatus{sundial.StatusQueued, sundial.StatusScheduled, sundial.StatusPending, sundial.StatusRunning,
		sundial.StatusSucceeded, sundial.StatusFailed, sundial.StatusTimedOut, sundial.StatusMissed, sundial.StatusSkipped,
		sundial.StatusInterrupted, sundial.StatusLost, sundial.StatusCanceled} {
		if _, ok := zh["status."+string(st)]; !ok {
			t.Errorf("no string for run status %s", st)
		}
	}
	// Strings that must differ between the languages (not just copied).
	same := 0
	for k, v := range en {
		if zh[k] == v && !slices.Contains([]string{"field.id", "hint.json", "kind.url", "source.api"}, k) && !strings.HasPrefix(k, "unit.") {
			same++
			t.Errorf("%q is the same in both languages: %q", k, v)
		}
	}
}

// TestModulesLinkAndStaySafe reads the UI's modules as a browser would
// link them: every relative import names an embedded file that exports
// each name imported. And what keeps the page safe and movable holds:
// no markup from strings (innerHTML, unsafeHTML), and no absolute URL of
// the server's (the UI may be served under a path prefix).
func TestModulesLinkAndStaySafe(t *testing.T) {
	mods := modules(t)
	importRE := regexp.MustCompile(`(?s)\bimport\s+(?:\{([^}]*)\}\s+from\s+)?"([^"]+)"`)
	reexportRE := regexp.MustCompile(`(?s)\bexport\s+\{([^}]*)\}\s+from\s+"([^"]+)"`)
	declRE := regexp.MustCompile(`\bexport\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)`)
	exports := func(p, src string) map[string]bool {
		out := map[string]bool{}
		for _, m := range declRE.FindAllStringSubmatch(src, -1) {
			out[m[1]] = true
		}
		for _, m := range reexportRE.FindAllStringSubmatch(src, -1) {
			for _, name := range strings.Split(m[1], ",") {
				if f := strings.Fields(name); len(f) > 0 {
					out[f[len(f)-1]] = true
				}
			}
		}
		return out
	}
	for p, src := range mods {
		for _, m := range append(importRE.FindAllStringSubmatch(src, -1), reexportRE.FindAllStringSubmatch(src, -1)...) {
			target := path.Join(path.Dir(p), m[2])
			if !strings.HasPrefix(m[2], ".") {
				t.Errorf("%s imports %q: not a relative path", p, m[2])
				continue
			}
			b, err := fs.ReadFile(static, target)
			if err != nil {
				t.Errorf("%s imports %q: %v", p, m[2], err)
				continue
			}
			if strings.HasPrefix(target, "static/vendor/") {
				continue // a library's own exports
			}
			have := exports(target, string(b))
			for _, name := range strings.Split(m[1], ",") {
				if f := strings.Fields(name); len(f) > 0 && !have[f[0]] {
					t.Errorf("%s imports %s from %q, which does not export it", p, f[0], m[2])
				}
			}
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "unsafeHTML", `"/api/`, "`/api/", `"/static/`, `"/?`} {
			if strings.Contains(src, bad) {
				t.Errorf("%s uses %s", p, bad)
			}
		}
	}
	index, _ := fs.ReadFile(static, "static/index.html")
	if regexp.MustCompile(`(src|href)="/`).Match(index) {
		t.Errorf("index.html names an absolute path:\n%s", index)
	}
}
