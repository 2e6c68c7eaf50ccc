package secrets

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// maskSecrets are values with every kind of character an encoder treats
// specially.
var maskSecrets = []string{
	"plainASCII123",
	`p"ä\ss w0rd`,
	"it's/a+b=c&d?e#f@g:h;i,j$k!l*m(n)o~",
	"tab\there\x01ctl\x7fdel",
	"emoji😀<&>\u2028end",
	"ünïcödé-ß-東京",
	"-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\r\nBKcwggSjAgEAAoIBAQC7/+x=\nab\n-----END KEY-----\n",
}

// encoded is one way a program printed a value.
type encoded struct{ how, text string }

// realEncodings returns each value as real encoders write it, without
// the quotes around it: Go's, and Python's and JavaScript's when they are
// installed (one process each for all the values).
func realEncodings(t *testing.T, values ...string) map[string][]encoded {
	t.Helper()
	all := map[string][]encoded{}
	for _, v := range values {
		all[v] = goEncodings(v)
	}
	scriptEncodings(t, values, all)
	return all
}

func goEncodings(v string) []encoded {
	var noHTML bytes.Buffer
	enc := json.NewEncoder(&noHTML)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	goJSON, _ := json.Marshal(v)
	u := url.URL{Scheme: "https", Host: "h", Path: "/" + v}
	out := []encoded{
		{"raw", v},
		{"Go json.Marshal", string(goJSON[1 : len(goJSON)-1])},
		{"Go json without HTML escapes", strings.TrimSpace(noHTML.String())[1 : len(strings.TrimSpace(noHTML.String()))-1]},
		{"Go url.QueryEscape", url.QueryEscape(v)},
		{"Go url.PathEscape", url.PathEscape(v)},
		{"Go url.Values", strings.TrimPrefix(url.Values{"k": {v}}.Encode(), "k=")},
		{"Go URL path", strings.TrimPrefix(u.String(), "https://h/")},
	}
	return out
}

const pythonEncoders = `
import json, sys, urllib.parse
print(json.dumps([[
    ["json.dumps", json.dumps(v)[1:-1]],
    ["json.dumps ensure_ascii=False", json.dumps(v, ensure_ascii=False)[1:-1]],
    ["repr", repr(v)[1:-1]],
    ["ascii", ascii(v)[1:-1]],
    ["repr of bytes", repr(v.encode())[2:-1]],
    ["quote", urllib.parse.quote(v)],
    ["quote safe=''", urllib.parse.quote(v, safe='')],
    ["quote_plus", urllib.parse.quote_plus(v)],
    ["urlencode", urllib.parse.urlencode({"k": v})[2:]],
] for v in json.load(sys.stdin)]))
`

const nodeEncoders = `
console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(0, "utf8")).map(v => [
  ["JSON.stringify", JSON.stringify(v).slice(1, -1)],
  ["encodeURIComponent", encodeURIComponent(v)],
  ["encodeURI", encodeURI(v)],
  ["URLSearchParams", new URLSearchParams({k: v}).toString().slice(2)],
])));
`

func scriptEncodings(t *testing.T, values []string, all map[string][]encoded) {
	for _, s := range []struct{ prog, flag, src string }{{python(), "-c", pythonEncoders}, {"node", "-e", nodeEncoders}} {
		if _, err := exec.LookPath(s.prog); err != nil {
			t.Logf("%s is not installed: its encodings are not compared", s.prog)
			continue
		}
		cmd := exec.Command(s.prog, s.flag, s.src)
		in, _ := json.Marshal(values)
		cmd.Stdin = bytes.NewReader(in)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", s.prog, err)
		}
		var pairs [][][2]string
		if err := json.Unmarshal(b, &pairs); err != nil || len(pairs) != len(values) {
			t.Fatalf("%s printed %s: %v", s.prog, b, err)
		}
		for i, v := range values {
			for _, p := range pairs[i] {
				all[v] = append(all[v], encoded{s.prog + " " + p[0], p[1]})
			}
		}
	}
}

// python is Debian's interpreter when it is there (quicker to start than
// a version manager's shim), else python3.
func python() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// TestMaskEveryEncoding prints each secret in each real encoding inside
// other text, and wants exactly the secret replaced.
func TestMaskEveryEncoding(t *testing.T) {
	encodings := realEncodings(t, maskSecrets...)
	for _, v := range maskSecrets {
		m := NewMasker(v)
		for _, e := range encodings[v] {
			in := "before " + e.text + " after"
			if got := m.Mask(in); got != "before **** after" {
				t.Errorf("%q, %s: Mask(%q) = %q", v, e.how, in, got)
			}
		}
	}
}

// TestMaskLineByLine prints a multi-line value one line at a time: every
// line at least MinMaskLength long is masked, shorter ones are kept.
func TestMaskLineByLine(t *testing.T) {
	pem := maskSecrets[len(maskSecrets)-1]
	m := NewMasker(pem)
	var lines []string
	for line := range strings.Lines(pem) {
		lines = append(lines, strings.TrimSpace(line))
	}
	encodings := realEncodings(t, lines...)
	for _, line := range lines {
		want := "> ****;"
		if len(line) < MinMaskLength {
			want = "> " + line + ";"
		}
		for _, e := range encodings[line] {
			if got := m.Mask("> " + e.text + ";"); got != want {
				t.Errorf("line %q, %s: %q, want %q", line, e.how, got, want)
			}
		}
	}
	if got := m.Mask("key:\n" + pem + "done"); got != "key:\n****done" {
		t.Errorf("the whole value: %q", got)
	}
}

// TestMaskPythonContexts masks values inside what Python prints around
// them: reprs of longer strings, dicts and lists (which pick their own
// quotes), json.dumps of a dict, and a traceback.
func TestMaskPythonContexts(t *testing.T) {
	if _, err := exec.LookPath(python()); err != nil {
		t.Skip("python3 is not installed")
	}
	encodings := realEncodings(t, maskSecrets...)
	for _, v := range maskSecrets {
		in, _ := json.Marshal(v)
		cmd := exec.Command(python(), "-c", `
import json, sys, traceback
v = json.load(sys.stdin)
print(repr("pw=" + v + "!"))
print(repr({"pw": v, "n": 1}), repr([v.encode()]))
print(json.dumps({"pw": v}), json.dumps({"pw": "x" + v}, ensure_ascii=False))
try:
    raise ValueError("bad password %r" % v)
except ValueError:
    traceback.print_exc(file=sys.stdout)
`)
		cmd.Stdin = bytes.NewReader(in)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		got := NewMasker(v).Mask(string(out))
		if !strings.Contains(got, "pw=****!") || strings.Count(got, "****") < 6 {
			t.Errorf("%q: %s", v, got)
		}
		for _, e := range encodings[v] {
			if len(e.text) >= MinMaskLength && strings.Contains(got, e.text) {
				t.Errorf("%q: its %s form %q is left in:\n%s", v, e.how, e.text, got)
			}
		}
	}
}

func TestMaskerBasics(t *testing.T) {
	var none *Masker
	if none.Mask("abcd") != "abcd" || string(none.MaskJSON([]byte(`"abcd"`))) != `"abcd"` {
		t.Error("a nil masker changed text")
	}
	m := NewMasker("abc", "hunter2")
	if got := m.Mask("abc hunter2 hunter hunter22"); got != "abc **** hunter ****2" {
		t.Errorf("Mask = %q", got)
	}
	// The longer of two overlapping values is masked whole.
	m.Add("hunter2-long")
	if got := m.Mask("x hunter2-long y"); got != "x **** y" {
		t.Errorf("overlap: %q", got)
	}
	s := "nothing to mask here"
	if got := m.Mask(s); got != s {
		t.Errorf("Mask = %q", got)
	}
}

func TestMaskJSONStaysJSON(t *testing.T) {
	m := NewMasker("31337", `q"uo\te`, "päss", "true")
	for _, c := range []struct{ in, want string }{
		{`{"n": 31337, "m": 1313370, "s": "x31337y", "k31337": [true, false, null]}`,
			`{"n": "****", "m": "****", "s": "x****y", "k****": ["****", false, null]}`},
		{`{"pw": "q\"uo\\te", "a": "p\u00e4ss!", "b": "päss", "c": "\u0070äss"}`,
			`{"pw": "****", "a": "****!", "b": "****", "c": "****"}`},
		{`{"untouched": "p\u00e4s", "n": 3133, "e": "\"\\"}`, `{"untouched": "p\u00e4s", "n": 3133, "e": "\"\\"}`},
		{`31337`, `"****"`},
		{`"a <b> & päss"`, `"a <b> & ****"`},
	} {
		got := m.MaskJSON([]byte(c.in))
		if string(got) != c.want || !json.Valid(got) {
			t.Errorf("MaskJSON(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	// A document without a value comes back as it is.
	in := []byte(`{"a": "\u00e4"}`)
	if got := m.MaskJSON(in); &got[0] != &in[0] {
		t.Error("an unchanged document was copied")
	}
}

func FuzzMaskJSON(f *testing.F) {
	f.Add(`{"a": "secret-1", "n": 12345, "l": [true, "x\u0073ecret-1"]}`, "secret-1")
	f.Add(`[1234, 12345, -1234e5]`, "1234")
	f.Add(`{"q": "a\"b\\c"}`, `a"b\c`)
	f.Add(`"null"`, "null")
	f.Fuzz(func(t *testing.T, doc, secret string) {
		if !json.Valid([]byte(doc)) || len(secret) < MinMaskLength || strings.Contains(secret, "*") || !utf8.ValidString(secret) {
			t.Skip()
		}
		out := NewMasker(secret).MaskJSON([]byte(doc))
		if !json.Valid(out) {
			t.Fatalf("MaskJSON(%s) with %q = %s: not JSON", doc, secret, out)
		}
		var v any
		json.Unmarshal(out, &v)
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				if strings.Contains(v, secret) {
					t.Fatalf("MaskJSON(%s) with %q = %s: the value is in %q", doc, secret, out, v)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for k, e := range v {
					walk(k)
					walk(e)
				}
			}
		}
		walk(v)
	})
}

// writes feeds parts to a masking writer and returns what came out.
func writes(m *Masker, parts ...string) string {
	var out bytes.Buffer
	w := m.NewWriter(&out)
	for _, p := range parts {
		w.Write([]byte(p))
	}
	w.Close()
	return out.String()
}

// TestWriterSplitWrites splits every form of every value across two and
// three writes at every place, and across one write per byte.
func TestWriterSplitWrites(t *testing.T) {
	for _, v := range maskSecrets {
		m := NewMasker(v)
		for _, form := range forms(v) {
			in := "start " + form + " end\n"
			want := m.Mask(in)
			if !strings.Contains(want, "****") || strings.Contains(want, form) {
				t.Fatalf("%q: Mask(%q) = %q", v, in, want)
			}
			for i := 1; i < len(in); i++ {
				if got := writes(m, in[:i], in[i:]); got != want {
					t.Fatalf("%q split at %d: %q, want %q", in, i, got, want)
				}
				j := i + (len(in)-i)/2
				if got := writes(m, in[:i], in[i:j], in[j:]); got != want {
					t.Fatalf("%q split at %d, %d: %q, want %q", in, i, j, got, want)
				}
			}
			bytewise := make([]string, len(in))
			for i := 0; i < len(in); i++ {
				bytewise[i] = in[i : i+1]
			}
			if got := writes(m, bytewise...); got != want {
				t.Fatalf("%q byte by byte: %q, want %q", in, got, want)
			}
		}
	}
}

// TestWriterHoldsBackOnlyWhatMayBeAValue checks that output streams: the
// writer passes on at once all but a tail that may begin a value.
func TestWriterHoldsBackOnlyWhatMayBeAValue(t *testing.T) {
	var out bytes.Buffer
	w := NewMasker("hunter2").NewWriter(&out)
	for _, c := range []struct{ write, passed string }{
		{"progress 10%\n", "progress 10%\n"},
		{"user hun", "progress 10%\nuser "},
		{"ter", "progress 10%\nuser "},
		{"2!", "progress 10%\nuser ****!"},
		{"hunt", "progress 10%\nuser ****!"},
		{"ed", "progress 10%\nuser ****!hunted"},
		{" hu", "progress 10%\nuser ****!hunted "},
	} {
		w.Write([]byte(c.write))
		if out.String() != c.passed {
			t.Errorf("after %q: passed %q, want %q", c.write, out.String(), c.passed)
		}
	}
	w.Close()
	if want := "progress 10%\nuser ****!hunted hu"; out.String() != want {
		t.Errorf("after Close: %q, want %q", out.String(), want)
	}
	var plain bytes.Buffer
	none := NewMasker().NewWriter(&plain)
	none.Write([]byte("no values: "))
	none.Write([]byte("all passes"))
	if plain.String() != "no values: all passes" {
		t.Errorf("without values: %q", plain.String())
	}
}
