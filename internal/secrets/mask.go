package secrets

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// MinMaskLength is the shortest value masked: shorter ones would turn
// ordinary text into asterisks. It applies to each line of a multi-line
// value too.
const MinMaskLength = 4

// maskText replaces every form of a value.
const maskText = "****"

// Masker replaces secret values with "****" in every form a program is
// likely to print them: raw, JSON-escaped, URL-encoded, as Python's repr,
// and line by line for a value of several lines (see forms). It is safe
// for concurrent use; a nil Masker masks nothing.
//
// A run masks with a Masker of the values granted to it alone, so that
// another job's output is never touched; the server's logs use one that
// knows every value.
type Masker struct {
	mu     sync.Mutex
	values map[string][]string // value → its forms
	m      atomic.Pointer[matcher]
}

// NewMasker returns a masker of values (those shorter than MinMaskLength
// are left out).
func NewMasker(values ...string) *Masker {
	m := &Masker{values: map[string][]string{}}
	for _, v := range values {
		if len(v) >= MinMaskLength && m.values[v] == nil {
			m.values[v] = forms(v)
		}
	}
	m.rebuild()
	return m
}

// Add makes m mask value (when at least MinMaskLength long).
func (m *Masker) Add(value string) {
	if m == nil || len(value) < MinMaskLength {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.values[value] != nil {
		return
	}
	m.values[value] = forms(value)
	m.rebuild()
}

func (m *Masker) rebuild() {
	var all []string
	for _, f := range m.values {
		all = append(all, f...)
	}
	m.m.Store(newMatcher(all))
}

func (m *Masker) matcher() *matcher {
	if m == nil {
		return nil
	}
	return m.m.Load()
}

// Mask returns s with every form of every value replaced.
func (m *Masker) Mask(s string) string {
	mt := m.matcher()
	if mt == nil {
		return s
	}
	out, _, changed := maskTo(mt, nil, s, true)
	if !changed {
		return s
	}
	return string(out)
}

// MaskJSON masks a JSON document so that it stays JSON: inside string
// values and keys (decoded, masked, encoded again when a value was in
// them), and a number or literal (true, false, null) in which a value
// occurs becomes the string "****" whole. doc must be valid JSON; it is
// returned as it is when nothing was masked.
func (m *Masker) MaskJSON(doc []byte) []byte {
	mt := m.matcher()
	if mt == nil {
		return doc
	}
	var out []byte
	done := 0
	replace := func(from, to int, with []byte) {
		out = append(out, doc[done:from]...)
		out = append(out, with...)
		done = to
	}
	for i := 0; i < len(doc); {
		switch c := doc[i]; {
		case c == '"':
			end := stringEnd(doc, i)
			if masked, ok := mt.maskString(doc[i:end]); ok {
				replace(i, end, masked)
			}
			i = end
		case literalByte(c):
			end := i
			for end < len(doc) && literalByte(doc[end]) {
				end++
			}
			if _, l, _ := next(mt, doc[i:end], 0, true); l > 0 {
				replace(i, end, []byte(`"`+maskText+`"`))
			}
			i = end
		default:
			i++
		}
	}
	if out == nil {
		return doc
	}
	return append(out, doc[done:]...)
}

// stringEnd returns the index after the JSON string that starts at doc[i].
func stringEnd(doc []byte, i int) int {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(doc)
}

func literalByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

// maskString masks the JSON string token tok, and reports whether it
// changed anything.
func (mt *matcher) maskString(tok []byte) ([]byte, bool) {
	if len(tok) < 2 {
		return nil, false
	}
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		// Without escapes the text is the value, and masking it keeps it
		// a valid string: "****" needs no escape.
		out, _, changed := maskTo(mt, []byte{'"'}, inner, true)
		return append(out, '"'), changed
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return nil, false
	}
	masked, _, changed := maskTo(mt, nil, s, true)
	if !changed {
		return nil, false
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(string(masked))
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), true
}

// Writer masks what passes through it to another writer, as it streams:
// it holds back a tail that may be the start of a form until the next
// write shows whether it is one, so a value split across two writes is
// still masked. Close writes what it holds. It is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	mt      *matcher
	w       io.Writer
	pending []byte
	buf     []byte
}

// NewWriter returns a writer that masks m's values on their way to w.
// Values added to m later are not masked by it.
func (m *Masker) NewWriter(w io.Writer) *Writer { return &Writer{mt: m.matcher(), w: w} }

// Write masks p and writes what can be decided; it never fails (a run's
// output is best effort), and returns len(p).
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mt == nil {
		w.w.Write(p)
		return len(p), nil
	}
	in := p
	if len(w.pending) > 0 {
		w.pending = append(w.pending, p...)
		in = w.pending
	}
	w.flush(in, false)
	return len(p), nil
}

// flush writes the masked part of in that is decided (all of it when
// final) and keeps the rest.
func (w *Writer) flush(in []byte, final bool) {
	out, n, changed := maskTo(w.mt, w.buf[:0], in, final)
	switch {
	case changed:
		w.w.Write(out)
		w.buf = out[:0]
	case n > 0:
		w.w.Write(in[:n])
	}
	w.pending = append(w.pending[:0], in[n:]...)
}

// Close writes what the writer holds back.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		w.flush(w.pending, true)
	}
	return nil
}

// matcher finds forms in text with Wu and Manber's algorithm: it slides
// a window as long as the shortest form along the text, and jumps by how
// far the window's last two bytes are from the end of any form's first
// window; where that is 0, it compares the forms that begin with the
// window's first byte. Ordinary text is skipped several bytes at a time.
type matcher struct {
	window int // the shortest form's length, at most maxWindow
	// reach is, by a byte pair, the furthest it ends in any form's first
	// window (0: in none); the window may jump window-1-reach bytes. It
	// is kept this way round so that a new table needs no filling.
	reach [1 << 16]uint8
	first [256][]string        // the forms by their first byte, longest first
	pairs [1 << 16 / 64]uint64 // the byte pairs that begin a form
}

// maxWindow bounds the window, and so the jumps, to what reach holds.
const maxWindow = 255

func newMatcher(forms []string) *matcher {
	if len(forms) == 0 {
		return nil
	}
	slices.SortFunc(forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	forms = slices.Compact(forms)
	// Every form is at least MinMaskLength long: the window holds two
	// pairs at least.
	mt := &matcher{window: min(len(forms[len(forms)-1]), maxWindow)}
	for _, f := range forms {
		mt.first[f[0]] = append(mt.first[f[0]], f)
		p := pairIndex(f[0], f[1])
		mt.pairs[p/64] |= 1 << (p % 64)
		for q := 1; q < mt.window; q++ {
			p := pairIndex(f[q-1], f[q])
			mt.reach[p] = max(mt.reach[p], uint8(q))
		}
	}
	return mt
}

func pairIndex(a, b byte) int { return int(a)<<8 | int(b) }

func (mt *matcher) pair(a, b byte) bool {
	p := pairIndex(a, b)
	return mt.pairs[p/64]&(1<<(p%64)) != 0
}

// text is what a matcher reads: a string or bytes.
type text interface{ ~string | ~[]byte }

// next finds the leftmost form in s at or after i, the longest there:
// its start and length. Without one, start is len(s) and length 0 —
// unless more input may come (!final) and the end of s may be the
// beginning of a form: then start is where that beginning is, length 0.
func next[S text](mt *matcher, s S, i int, final bool) (start, length int, _ bool) {
	n, w := len(s), mt.window
	for end := i + w - 1; end < n; {
		if sh := w - 1 - int(mt.reach[pairIndex(s[end-1], s[end])]); sh > 0 {
			end += sh
			continue
		}
		if p := end - w + 1; mt.pair(s[p], s[p+1]) {
			if l, partial := at(mt, s, p, final); l > 0 || partial {
				return p, l, partial
			}
		}
		end++
	}
	if !final {
		// Where no window fits, a form can only begin; and where one
		// begins before the last byte, the last pair is in its window.
		from := max(i, n-w+1)
		if n-from >= 2 && mt.reach[pairIndex(s[n-2], s[n-1])] == 0 {
			from = n - 1
		}
		for p := from; p < n; p++ {
			if p+1 < n && !mt.pair(s[p], s[p+1]) {
				continue
			}
			if _, partial := at(mt, s, p, false); partial {
				return p, 0, true
			}
		}
	}
	return n, 0, false
}

// at returns the length of the longest form at s[p:], or, when more
// input may come (!final), whether a longer one may be there.
func at[S text](mt *matcher, s S, p int, final bool) (int, bool) {
	rest := len(s) - p
	partial := false
	for _, f := range mt.first[s[p]] {
		if len(f) > rest {
			partial = partial || !final && string(s[p:]) == f[:rest]
		} else if string(s[p:p+len(f)]) == f {
			if partial {
				return 0, true
			}
			return len(f), false
		}
	}
	return 0, partial
}

// maskTo appends s masked to dst, up to what is decided (all of s when
// final). It returns dst, how much of s it consumed, and whether it
// masked anything; when it did not, it appended nothing, and the caller
// uses s[:consumed] itself.
func maskTo[S text](mt *matcher, dst []byte, s S, final bool) (_ []byte, consumed int, changed bool) {
	done := 0
	for i := 0; ; {
		start, l, _ := next(mt, s, i, final)
		if l == 0 {
			if changed {
				dst = append(dst, s[done:start]...)
			}
			return dst, start, changed
		}
		dst = append(dst, s[done:start]...)
		dst = append(dst, maskText...)
		changed, i = true, start+l
		done = i
	}
}

// forms returns the ways a program may print value:
//
//   - raw;
//   - JSON-escaped as Go's encoding/json writes it (with and without its
//     HTML escapes), as JavaScript's JSON.stringify and Python's json.dumps
//     with ensure_ascii=False write it (quotes, backslashes and control
//     characters escaped), and with ensure_ascii=True (every non-ASCII
//     character as \uXXXX, lower-case hex digits; upper-case ones as other
//     languages write them; and "/" as "\/", as PHP does);
//   - URL-encoded for a query (space as "+": Go's url.QueryEscape,
//     Python's quote_plus, HTML forms), strictly (space as %20: Python's
//     quote, with and without its safe "/"), for a path (Go's
//     url.PathEscape and URL.String), and by JavaScript's
//     encodeURIComponent and encodeURI;
//   - inside Python's repr of a str (printable non-ASCII as is), ascii()
//     or Python 2's repr of unicode (non-ASCII as \xNN, \uNNNN), and repr
//     of the bytes of its UTF-8 encoding (\xNN), each with "'" escaped or
//     not (Python quotes with '"' when a value holds "'" and no '"');
//   - for a value of several lines, each line (trimmed) at least
//     MinMaskLength long, in all the forms above: a PEM key printed line
//     by line leaks none of its lines.
//
// The surrounding quotes are never part of a form: a value inside a longer
// string is masked too.
func forms(value string) []string {
	all := encodings(value)
	if strings.ContainsAny(value, "\r\n") {
		for line := range strings.FieldsFuncSeq(value, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if line = strings.TrimSpace(line); len(line) >= MinMaskLength {
				all = append(all, encodings(line)...)
			}
		}
	}
	slices.Sort(all)
	return slices.Compact(all)
}

func encodings(v string) []string {
	plain := true
	for i := 0; i < len(v) && plain; i++ {
		c := v[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if plain {
		// Letters, digits, "-", "_" and "." are written as they are by
		// every encoder.
		return []string{v}
	}
	return []string{
		v,
		goJSON(v, true), goJSON(v, false),
		jsonEscape(v, false, false, false), jsonEscape(v, true, false, false), jsonEscape(v, true, true, false), jsonEscape(v, true, false, true),
		percent(v, unreserved, true), percent(v, unreserved, false), percent(v, pythonQuoteSafe, false), percent(v, goPathSafe, false), percent(v, goURLPathSafe, false),
		percent(v, jsComponentSafe, false), percent(v, jsURISafe, false), percent(v, formSafe, true),
		pyRepr(v, true, false), pyRepr(v, false, false), pyRepr(v, true, true), pyRepr(v, false, true),
		pyBytes(v, true), pyBytes(v, false),
	}
}

// goJSON is v as Go's encoding/json writes it, without the quotes.
func goJSON(v string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	enc.Encode(v)
	s := strings.TrimSuffix(b.String(), "\n")
	return s[1 : len(s)-1]
}

// jsonEscape is v JSON-escaped as JavaScript and Python write it:
// quotes, backslashes and control characters escaped; with ascii, also
// DEL and every non-ASCII character (as UTF-16, \ud83d\ude00); upper
// gives the hex digits in upper case; slash escapes "/".
func jsonEscape(v string, ascii, upper, slash bool) string {
	if printableExcept(v, `"\/`) || !slash && printableExcept(v, `"\`) {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for _, r := range v {
		switch {
		case escapeCommon(&b, r, '"', true):
		case r == '/' && slash:
			b.WriteString(`\/`)
		case r < 0x20 || ascii && r == 0x7f:
			writeHex(&b, `\u`, r, 4, upper)
		case ascii && r > 0x7f:
			if r1, r2 := utf16Pair(r); r1 != 0 {
				writeHex(&b, `\u`, r1, 4, upper)
				writeHex(&b, `\u`, r2, 4, upper)
			} else {
				writeHex(&b, `\u`, r, 4, upper)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// utf16Pair is r's surrogate pair, or zeros when r needs none.
func utf16Pair(r rune) (rune, rune) {
	if r < 0x10000 || r > unicode.MaxRune {
		return 0, 0
	}
	r -= 0x10000
	return 0xd800 + r>>10, 0xdc00 + r&0x3ff
}

// What URL encoders leave as it is, besides ASCII letters and digits.
const (
	unreserved      = "-_.~"                 // Go's QueryEscape, Python's quote(safe="") and quote_plus
	pythonQuoteSafe = "-_.~/"                // Python's quote with its default safe="/"
	goPathSafe      = "-_.~$&+:=@"           // Go's PathEscape
	goURLPathSafe   = "-_.~$&+,/:;=@"        // Go's URL.String, for a path
	jsComponentSafe = "-_.!~*'()"            // encodeURIComponent
	jsURISafe       = "-_.!~*'();/?:@&=+$,#" // encodeURI
	formSafe        = "*-._"                 // application/x-www-form-urlencoded (URLSearchParams)
)

// percent is v percent-encoded (upper-case hex digits), leaving letters,
// digits and safe as they are; plus writes a space as "+".
func percent(v, safe string, plus bool) string {
	var b strings.Builder
	b.Grow(3 * len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ' && plus:
			b.WriteByte('+')
		case c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(safe, c) >= 0):
			b.WriteByte(c)
		default:
			writeHex(&b, "%", rune(c), 2, true)
		}
	}
	return b.String()
}

// pyRepr is v as Python writes it inside repr() of a str (ascii: inside
// ascii(), or Python 2's repr of unicode); quote escapes "'".
func pyRepr(v string, quote, ascii bool) string {
	if printableExcept(v, `\'`) || !quote && printableExcept(v, `\`) {
		return v
	}
	var b strings.Builder
	b.Grow(2 * len(v))
	for _, r := range v {
		switch {
		case pyEscape(&b, r, quote):
		case r < 0x7f || !ascii && unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			writeHex(&b, `\x`, r, 2, false)
		case r < 0x10000:
			writeHex(&b, `\u`, r, 4, false)
		default:
			writeHex(&b, `\U`, r, 8, false)
		}
	}
	return b.String()
}

// pyBytes is v's UTF-8 bytes as Python writes them inside repr() of
// bytes; quote escapes "'".
func pyBytes(v string, quote bool) string {
	if printableExcept(v, `\'`) || !quote && printableExcept(v, `\`) {
		return v
	}
	var b strings.Builder
	b.Grow(2 * len(v))
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case pyEscape(&b, rune(c), quote):
		case c >= 0x80:
			writeHex(&b, `\x`, rune(c), 2, false)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// pyEscape writes the escape of an ASCII r that every Python repr
// escapes — a backslash, the quote (when quote), \n, \r, \t, other
// control characters and DEL — and reports whether r is one.
func pyEscape(b *strings.Builder, r rune, quote bool) bool {
	q := rune(-1)
	if quote {
		q = '\''
	}
	switch {
	case escapeCommon(b, r, q, false):
	case r < 0x20 || r == 0x7f:
		writeHex(b, `\x`, r, 2, false)
	default:
		return false
	}
	return true
}

// escapeCommon writes the escapes JSON and Python share — a backslash,
// the quote q (-1: none), \n, \r and \t; and \b and \f for json — and
// reports whether r is one of them.
func escapeCommon(b *strings.Builder, r, q rune, json bool) bool {
	switch {
	case r == '\\' || r == q:
		b.WriteByte('\\')
		b.WriteRune(r)
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\r':
		b.WriteString(`\r`)
	case r == '\t':
		b.WriteString(`\t`)
	case json && r == '\b':
		b.WriteString(`\b`)
	case json && r == '\f':
		b.WriteString(`\f`)
	default:
		return false
	}
	return true
}

// writeHex writes prefix and then r in digits hex digits.
func writeHex(b *strings.Builder, prefix string, r rune, digits int, upper bool) {
	hex := "0123456789abcdef"
	if upper {
		hex = "0123456789ABCDEF"
	}
	b.WriteString(prefix)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b.WriteByte(hex[r>>shift&0xf])
	}
}

// printableExcept reports whether v is printable ASCII without any of the
// bytes in special: what every escaping that is not URL encoding leaves
// as it is.
func printableExcept(v, special string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e || strings.IndexByte(special, v[i]) >= 0 {
			return false
		}
	}
	return true
}
