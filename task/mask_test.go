package task

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sundialhq/sundial"
)

// printForms is a command task's program: it prints the secret named by
// argv[1] in every form Python writes it — raw, JSON-escaped (\u and \"
// forms), repr of str and bytes, ascii(), URL-encoded, and line by line —
// each to stdout and to stderr in its own write, lists what it printed in
// the file argv[2], and then either stores a result holding the value or
// fails with a traceback.
const printForms = `
import json, os, sys, traceback, urllib.parse
v = os.environ[sys.argv[1]]
forms = {
    "raw": v, "json": json.dumps(v)[1:-1], "json utf-8": json.dumps(v, ensure_ascii=False)[1:-1],
    "repr": repr(v)[1:-1], "ascii": ascii(v)[1:-1], "repr bytes": repr(v.encode())[2:-1],
    "quote": urllib.parse.quote(v), "quote safe=''": urllib.parse.quote(v, safe=""), "quote_plus": urllib.parse.quote_plus(v),
}
for i, line in enumerate(l.strip() for l in v.splitlines()):
    if len(line) >= 4:
        forms["line %d" % i] = line
for name, f in forms.items():
    print(name + ": " + f, flush=True)
    sys.stderr.write(name + "=" + f + "\n")
    sys.stderr.flush()
json.dump(list(forms.values()), open(sys.argv[2], "w"))
if sys.argv[3] == "result":
    json.dump({"v": v, "dumped": json.dumps(v), "n": int(v) if v.isdigit() else 0, "list": [v, repr(v)], v: 1},
              open(os.environ["SUNDIAL_RESULT"], "w"))
else:
    try:
        raise ValueError("cannot log in with %r" % v)
    except ValueError:
        with open(os.environ["SUNDIAL_ERROR"], "w") as f:
            f.write(traceback.format_exc() + "\n".join(forms.values()))
        raise
`

// maskedSecrets are granted, one at a time, to the table's runs.
var maskedSecrets = map[string]string{
	"QUOTED":  `p"ä\ss w0rd's`,
	"URLISH":  "a+b/c d?e&f=g#h%i",
	"UNICODE": "päss-東京-😀",
	"PIN":     "31337",
	"PEM": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n" +
		"l2Zq3q/+Zm9vYmFy\r\nx1==\n-----END PRIVATE KEY-----\n",
}

// TestEveryFormOfASecretIsMasked grants each secret to a command task that
// prints it in every form, and wants no form in what the run stored: its
// output, result or error.
func TestEveryFormOfASecretIsMasked(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("Debian's /usr/bin/python3 is not installed (.ci/run installs it)")
	}
	k := newKinds(t)
	k.Secrets = fakeSecrets(maskedSecrets)
	for name := range maskedSecrets {
		for _, mode := range []string{"result", "error"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				printed := filepath.Join(t.TempDir(), "printed.json")
				args, _ := json.Marshal(map[string]any{"argv": []string{py, "-c", printForms, name, printed, mode}, "secrets": []string{name}})
				run, logged := runTask(t, k, "command", string(args))
				var forms []string
				b, err := os.ReadFile(printed)
				if err != nil || json.Unmarshal(b, &forms) != nil || len(forms) < 9 {
					t.Fatalf("the task did not run: %v %s\n%s %q", err, b, run.Status, run.Error)
				}
				stored := run.Output + "\n" + run.Error + "\n" + string(run.Result) + "\n" + logged
				for _, f := range forms {
					if len(f) >= 4 && strings.Contains(stored, f) {
						t.Errorf("the form %q is stored:\n%s", f, stored)
					}
				}
				want := sundial.StatusSucceeded
				if mode == "error" {
					want = sundial.StatusFailed
				}
				if run.Status != want || !strings.Contains(run.Output, "raw: ****\n") || !strings.Contains(run.Output, "raw=****\n") {
					t.Errorf("run %s %q, output:\n%s", run.Status, run.Error, run.Output)
				}
				if mode == "result" && !json.Valid(run.Result) {
					t.Errorf("result %s is not JSON", run.Result)
				}
				if mode == "error" && !strings.Contains(run.Error, "ValueError: cannot log in with") {
					t.Errorf("error %q", run.Error)
				}
			})
		}
	}
}

// TestASecretSplitAcrossWritesIsMasked prints a secret in two writes of
// the child (with a pause between them, so that the pipe most likely
// delivers two; the masking writer's own test splits at every byte), raw
// and JSON-escaped with the split inside a \u escape.
func TestASecretSplitAcrossWritesIsMasked(t *testing.T) {
	k := newKinds(t)
	k.Secrets = fakeSecrets(maskedSecrets)
	script := `printf 'pw=%s' "$1"; sleep 0.1; printf '%s\n' "$2"; printf '%s' "$3"; sleep 0.1; printf '%s\n' "$4"`
	args, _ := json.Marshal(map[string]any{"argv": []string{"sh", "-c", script, "sh", `p"ä`, `\ss w0rd's`, `p\"\u00`, `e4\\ss w0rd's`},
		"secrets": []string{"QUOTED"}})
	run, _ := runTask(t, k, "command", string(args))
	if run.Status != sundial.StatusSucceeded || run.Output != "pw=****\n****\n" {
		t.Errorf("run %s %q, output %q", run.Status, run.Error, run.Output)
	}
}

// TestMaskingIsPerRun gives one job a secret that another job's result
// holds as a number: the job granted it has the number masked in a result
// that stays JSON; the other is untouched and succeeds.
func TestMaskingIsPerRun(t *testing.T) {
	k := newKinds(t)
	k.Secrets = fakeSecrets(maskedSecrets)
	run, _ := runTask(t, k, "command", `{"argv": ["sh", "-c", "echo pin $PIN; echo \"{\\\"pin\\\": $PIN, \\\"s\\\": \\\"$PIN\\\"}\""], "secrets": ["PIN"]}`)
	if run.Status != sundial.StatusSucceeded || string(run.Result) != `{"pin":"****","s":"****"}` || run.Output != "pin ****\n{\"pin\": ****, \"s\": \"****\"}\n" {
		t.Errorf("granted: %s %q %s %q", run.Status, run.Error, run.Result, run.Output)
	}
	run, _ = runTask(t, k, "command", `{"argv": ["sh", "-c", "echo rows 31337; echo '{\"rows\": 31337, \"note\": \"31337\"}'"]}`)
	if run.Status != sundial.StatusSucceeded || string(run.Result) != `{"rows":31337,"note":"31337"}` || run.Output != "rows 31337\n{\"rows\": 31337, \"note\": \"31337\"}\n" {
		t.Errorf("not granted: %s %q %s %q", run.Status, run.Error, run.Result, run.Output)
	}
}

// TestHTTPSecretsAreEscapedForWhereTheyStand sends a secret holding JSON's
// and URLs' special characters in a JSON body, a form body, a text body,
// a URL path and a query: each arrives as the value itself, the body stays
// JSON, and the run stores no form of it.
func TestHTTPSecretsAreEscapedForWhereTheyStand(t *testing.T) {
	const secret = `s3"cr\et/a b+c&d=e?f#g%h`
	type received struct {
		path, query, contentType, body string
		form                           url.Values
	}
	var mu sync.Mutex
	var got received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = received{path: r.URL.Path, query: r.URL.Query().Get("q"), contentType: r.Header.Get("Content-Type"), body: string(b)}
		got.form, _ = url.ParseQuery(string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"echo": string(b), "path": r.URL.Path})
	}))
	defer srv.Close()
	k := newKinds(t)
	k.Secrets = fakeSecrets{"PW": secret}
	for _, c := range []struct {
		name, args string
		check      func(received) bool
	}{
		{"JSON body", `{"url": "` + srv.URL + `/login", "body": {"user": "ada", "pw": "${PW}", "${PW}": ["x ${PW} y"]}}`, func(r received) bool {
			var v map[string]any
			err := json.Unmarshal([]byte(r.body), &v)
			return err == nil && v["pw"] == secret && v[secret].([]any)[0] == "x "+secret+" y" && r.contentType == "application/json"
		}},
		{"JSON text body", `{"url": "` + srv.URL + `/login", "body": "{\"pw\": \"${PW}\"}", "headers": {"content-type": "application/vnd.api+json"}}`, func(r received) bool {
			var v map[string]string
			return json.Unmarshal([]byte(r.body), &v) == nil && v["pw"] == secret
		}},
		{"form body", `{"url": "` + srv.URL + `/login", "body": "user=ada&pw=${PW}", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}`, func(r received) bool {
			return r.form.Get("pw") == secret && r.form.Get("user") == "ada"
		}},
		{"text body", `{"url": "` + srv.URL + `/login", "body": "pw is ${PW}"}`, func(r received) bool {
			return r.body == "pw is "+secret && strings.HasPrefix(r.contentType, "text/plain")
		}},
		{"path and query", `{"url": "` + srv.URL + `/hooks/${PW}/x?q=${PW}#${PW}"}`, func(r received) bool {
			return r.path == "/hooks/"+secret+"/x" && r.query == secret
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			run, logged := runTask(t, k, "http", strings.TrimSuffix(c.args, "}")+`, "secrets": ["PW"], "store_response": true}`)
			mu.Lock()
			r := got
			mu.Unlock()
			if run.Status != sundial.StatusSucceeded || !c.check(r) {
				t.Errorf("run %s %q; the server received %+v", run.Status, run.Error, r)
			}
			stored := run.Output + run.Error + string(run.Result) + logged
			for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), `s3\"cr\\et`, "cr\\et/a b"} {
				if strings.Contains(stored, form) {
					t.Errorf("%q is stored:\n%s", form, stored)
				}
			}
			if !json.Valid(run.Result) || !strings.Contains(string(run.Result), "****") {
				t.Errorf("result %s", run.Result)
			}
		})
	}
}

func TestFillURL(t *testing.T) {
	values := map[string]string{"A": "x/y z?&#", "U": "me@home:1"}
	for _, c := range []struct{ tmpl, want string }{
		{"https://h/p/${A}?k=${A}&n=${B}#${A}", "https://h/p/x/y%20z%3F&%23?k=x%2Fy+z%3F%26%23&n=${B}#x/y%20z%3F&%23"},
		{"https://${U}:${A}@h:8/${U}", "https://me%40home%3A1:x%2Fy%20z%3F%26%23@h:8/me@home:1"},
		{"https://h?${A}", "https://h?x%2Fy+z%3F%26%23"},
		{"https://h", "https://h"},
	} {
		if got := fillURL(c.tmpl, values); got != c.want {
			t.Errorf("fillURL(%s) = %s, want %s", c.tmpl, got, c.want)
		}
	}
}

// The python kind's results are written by json.dumps (\u escapes), and
// its errors are tracebacks (repr).
func TestPythonKindMasksEscapedForms(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	k := newKinds(t)
	k.Secrets = fakeSecrets{"DB_PASSWORD": "päss'wörd\\"}
	run, logged := runTask(t, k, "python", `{"func": "jobs:leak", "secrets": ["DB_PASSWORD"]}`)
	if run.Status != sundial.StatusSucceeded || string(run.Result) != `{"pw":"****"}` || strings.Contains(run.Output+logged, "p\\xe4ss") ||
		!strings.Contains(run.Output, "password is ****") {
		t.Errorf("python: %s %q %s %q", run.Status, run.Error, run.Result, run.Output)
	}
}

// TestCutsLeaveNoPartOfASecret: where text is cut to its tail (a result
// file that is not JSON, the error file, an http answer), it is masked
// before it is cut, so no end of a value is left.
func TestCutsLeaveNoPartOfASecret(t *testing.T) {
	const secret = "cut-me-canary-0123456789"
	end := secret[len(secret)-4:] // what a cut through the value would leave
	k := newKinds(t)
	k.Secrets = fakeSecrets{"PW": secret}
	run, _ := runTask(t, k, "command", `{"argv": ["sh", "-c", "printf '%s' \"$PW\" > \"$SUNDIAL_RESULT\"; head -c 195 /dev/zero | tr '\\0' x >> \"$SUNDIAL_RESULT\""], "secrets": ["PW"]}`)
	if run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "does not hold JSON") || strings.Contains(run.Error, end) {
		t.Errorf("result file: %s %q", run.Status, run.Error)
	}
	run, _ = runTask(t, k, "command", `{"argv": ["sh", "-c", "printf '%s' \"$PW\" > \"$SUNDIAL_ERROR\"; head -c 16380 /dev/zero | tr '\\0' x >> \"$SUNDIAL_ERROR\"; exit 1"], "secrets": ["PW"]}`)
	if run.Status != sundial.StatusFailed || !strings.HasPrefix(run.Error, "exit status 1:\n****x") || strings.Contains(run.Error, end) {
		t.Errorf("error file: %s %.60q", run.Status, run.Error)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, secret+strings.Repeat("x", 495))
	}))
	defer srv.Close()
	run, _ = runTask(t, k, "http", `{"url": "`+srv.URL+`", "secrets": ["PW"]}`)
	if run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "500 Internal Server Error") || strings.Contains(run.Error+run.Output, end) {
		t.Errorf("http answer: %s %q", run.Status, run.Error)
	}
}
