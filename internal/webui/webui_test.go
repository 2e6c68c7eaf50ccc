package webui

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/httpapi"
)

func newUI(t *testing.T) (http.Handler, string) {
	store := admin.NewMemory()
	secret, tok := httpapi.NewToken("me", admin.RoleAdmin, "test", time.Now())
	if err := store.CreateToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return Handler(Config{Admin: store}), secret
}

func TestPagesAndAssets(t *testing.T) {
	ui, _ := newUI(t)
	for path, want := range map[string]string{
		"/":                 `<script type="module" src="/static/app.js">`,
		"/static/app.js":    "function dashboardPage",
		"/static/i18n.js":   `"nav.dashboard": "仪表盘"`,
		"/static/style.css": `[data-theme="dark"]`,
		"/static/vendor/codemirror/codemirror.js": "CodeMirror",
		"/static/vendor/diff/diff.min.js":         "diffLines",
	} {
		rec := httptest.NewRecorder()
		ui.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s = %d, lacks %q", path, rec.Code, want)
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

func TestLoginAndLogout(t *testing.T) {
	ui, secret := newUI(t)
	post := func(path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		ui.ServeHTTP(rec, req)
		return rec
	}
	rec := post("/ui/login", url.Values{"token": {"sdl_wrong"}})
	if rec.Code != 303 || !strings.Contains(rec.Header().Get("Location"), "error") || len(rec.Result().Cookies()) != 0 {
		t.Errorf("bad login = %d %v", rec.Code, rec.Header())
	}
	rec = post("/ui/login", url.Values{"token": {secret}})
	cookies := rec.Result().Cookies()
	if rec.Code != 303 || len(cookies) != 2 {
		t.Fatalf("login = %d %v", rec.Code, cookies)
	}
	session, csrf := cookies[0], cookies[1]
	if session.Name != httpapi.CookieName || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Value != secret ||
		csrf.Name != CSRFCookie || csrf.HttpOnly || len(csrf.Value) < 40 {
		t.Errorf("cookies = %+v %+v", session, csrf)
	}
	if rec := post("/ui/logout", url.Values{"csrf": {"forged"}}, session, csrf); rec.Code != 403 {
		t.Errorf("logout without the CSRF token = %d", rec.Code)
	}
	rec = post("/ui/logout", url.Values{"csrf": {csrf.Value}}, session, csrf)
	if rec.Code != 303 || len(rec.Result().Cookies()) != 2 || rec.Result().Cookies()[0].MaxAge >= 0 {
		t.Errorf("logout = %d %v", rec.Code, rec.Result().Cookies())
	}
	// The first start's login link.
	rec = httptest.NewRecorder()
	ui.ServeHTTP(rec, httptest.NewRequest("GET", "/?token="+secret, nil))
	if rec.Code != 303 || len(rec.Result().Cookies()) != 2 {
		t.Errorf("login link = %d", rec.Code)
	}
}

// TestEveryStringIsTranslated: both languages have the same keys, every key
// app.js names exists, and no translation is left in English by mistake.
func TestEveryStringIsTranslated(t *testing.T) {
	i18n, _ := fs.ReadFile(static, "static/i18n.js")
	app, _ := fs.ReadFile(static, "static/app.js")
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
	for _, m := range regexp.MustCompile(`\bt\("([a-z0-9_.]+)"`).FindAllStringSubmatch(string(app), -1) {
		if !strings.HasSuffix(m[1], ".") { // a prefix of keys built from data, checked below
			used[m[1]] = true
		}
	}
	// Keys built from data: t("status." + r.status) and the like.
	for _, prefix := range regexp.MustCompile(`\bt\("([a-z]+\.)" \+`).FindAllStringSubmatch(string(app), -1) {
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
			t.Errorf("app.js uses %q, which has no string", k)
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
