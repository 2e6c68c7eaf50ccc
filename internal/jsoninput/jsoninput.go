// Package jsoninput explains why encoding/json refused a document in the
// terms of the JSON its author wrote: the path of the value at fault, such
// as "limits.memory_bytes" or "triggers[1].jitter", and the kind of value
// wanted ("an object", "a whole number"). encoding/json's own messages
// name Go types and Go struct fields ("httpapi.RunRequest",
// "childSettings.limits"), which mean nothing to a person writing JSON,
// and give no path at all for unknown fields or for errors of types that
// decode themselves.
package jsoninput

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Problem is a decoding error located in the document.
type Problem struct {
	// Path is the JSON path of the value at fault ("" for the whole
	// document), as Join builds it.
	Path string
	// Msg says what is wrong, without Go type or field names.
	Msg string
}

// Error returns the path, if any, and the message.
func (p *Problem) Error() string {
	if p.Path == "" {
		return p.Msg
	}
	return fmt.Sprintf("%s: %s", p.Path, p.Msg)
}

// explain returns where and why decoding data into a value of type t
// failed with err, as Decode's error reports it. It walks data again
// beside t to find the first value that does not fit; err only shapes
// the answer for malformed JSON.
func explain(data []byte, t reflect.Type, err error) *Problem {
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return &Problem{Msg: fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))}
	case len(bytes.TrimSpace(data)) == 0:
		return &Problem{Msg: "empty: a JSON value is required"}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &Problem{Msg: "truncated JSON"}
	}
	w := walker{dec: json.NewDecoder(bytes.NewReader(data))}
	w.dec.UseNumber()
	if p := w.value(t, ""); p != nil {
		return p
	}
	// The walk found nothing: say what the decoder said, less any Go names.
	return &Problem{Msg: scrub(strings.TrimPrefix(err.Error(), "json: "))}
}

// Decode reads exactly one JSON value from data into v, refusing unknown
// fields, trailing data and a null where v is a struct (a document, which
// encoding/json would leave as it was); its error is a *Problem.
func Decode(data []byte, v any) error {
	if t := reflect.TypeOf(v).Elem(); t.Kind() == reflect.Struct && string(bytes.TrimSpace(data)) == "null" {
		return &Problem{Msg: fmt.Sprintf("expected %s, got null", want(t))}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return explain(data, reflect.TypeOf(v).Elem(), err)
	}
	if dec.More() {
		return &Problem{Msg: "unexpected data after the JSON value"}
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return &Problem{Msg: "unexpected data after the JSON value"}
	}
	return nil
}

// Join appends a path element to a path: an object member (".name", or
// `["odd key"]` for a key that is not a plain name) or an array index.
func Join(path string, elem any) string {
	switch e := elem.(type) {
	case int:
		return fmt.Sprintf("%s[%d]", path, e)
	case string:
		if plainKey.MatchString(e) {
			if path == "" {
				return e
			}
			return path + "." + e
		}
		return path + "[" + strconv.Quote(e) + "]"
	}
	return path
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// goName matches what encoding/json's messages say of Go types and
// fields: "Go struct field T.f of type x", "Go value of type p.T",
// "p.T", "map[string]any", "[]string".
var goName = regexp.MustCompile(`Go (?:struct field|value) (?:\S+ )?of type \S+|\b[a-z][a-z0-9]*\.[A-Z][A-Za-z0-9_]*|map\[[^\]\s]*\]\S*|\[\][*A-Za-z]\S*`)

// scrub removes Go type and field names from an error message.
func scrub(msg string) string {
	return strings.TrimSpace(goName.ReplaceAllString(msg, "a value of another kind"))
}

var (
	unmarshaler     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
	rawType         = reflect.TypeFor[json.RawMessage]()
)

// walker reads a document beside the Go type it should fit.
type walker struct{ dec *json.Decoder }

// value checks the next value against t. It returns nil when the value
// fits, and stops at the first that does not.
func (w *walker) value(t reflect.Type, path string) *Problem {
	if t == rawType || t.Kind() == reflect.Interface {
		var skip json.RawMessage
		if err := w.dec.Decode(&skip); err != nil {
			return &Problem{Path: path, Msg: "malformed JSON"}
		}
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return w.custom(t, path)
	}
	if t.Kind() == reflect.Pointer {
		return w.value(t.Elem(), path)
	}
	tok, err := w.dec.Token()
	if err != nil {
		return &Problem{Path: path, Msg: "malformed JSON"}
	}
	if tok == nil {
		return nil // null leaves any Go value as it was
	}
	if d, ok := tok.(json.Delim); ok {
		switch {
		case d == '{' && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map):
			return w.object(t, path)
		case d == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t.Elem().Kind() != reflect.Uint8:
			return w.array(t, path)
		}
		return &Problem{Path: path, Msg: fmt.Sprintf("expected %s, got %s", want(t), got(tok))}
	}
	return literal(t, tok, path)
}

// custom checks a value of a type that decodes itself, with its decoder.
func (w *walker) custom(t reflect.Type, path string) *Problem {
	var raw json.RawMessage
	if err := w.dec.Decode(&raw); err != nil {
		return &Problem{Path: path, Msg: "malformed JSON"}
	}
	if string(raw) == "null" {
		return nil
	}
	v := reflect.New(t).Interface()
	var err error
	if u, ok := v.(json.Unmarshaler); ok {
		err = u.UnmarshalJSON(raw)
	} else {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return &Problem{Path: path, Msg: fmt.Sprintf("expected a string, got %s", gotRaw(raw))}
		}
		err = v.(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
	}
	if err == nil {
		return nil
	}
	if t == timeType {
		return &Problem{Path: path, Msg: fmt.Sprintf("expected an RFC 3339 time such as \"2026-11-22T09:00:00Z\", got %s", shortRaw(raw))}
	}
	var inner *Problem
	if errors.As(err, &inner) {
		return &Problem{Path: Under(path, inner.Path), Msg: inner.Msg}
	}
	return &Problem{Path: path, Msg: scrub(strings.TrimPrefix(err.Error(), "json: "))}
}

// Under returns path sub, found within the value at path: Under("args",
// "limits.pids") is "args.limits.pids", and an empty sub is path itself.
func Under(path, sub string) string {
	switch {
	case sub == "":
		return path
	case path == "":
		return sub
	case strings.HasPrefix(sub, "["):
		return path + sub
	}
	return path + "." + sub
}

// object checks the members of an object after its '{'.
func (w *walker) object(t reflect.Type, path string) *Problem {
	var fields map[string]reflect.Type
	if t.Kind() == reflect.Struct {
		fields = map[string]reflect.Type{}
		collectFields(t, fields, 0)
	}
	for w.dec.More() {
		tok, err := w.dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return &Problem{Path: path, Msg: "malformed JSON"}
		}
		sub := Join(path, key)
		elem := t.Elem
		if fields != nil {
			ft, found := lookup(fields, key)
			if !found {
				return &Problem{Path: sub, Msg: fmt.Sprintf("unknown field %q", key)}
			}
			elem = func() reflect.Type { return ft }
		} else if p := mapKey(t.Key(), key, sub); p != nil {
			return p
		}
		if p := w.value(elem(), sub); p != nil {
			return p
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return &Problem{Path: path, Msg: "malformed JSON"}
	}
	return nil
}

// mapKey checks an object's key against the map's key type.
func mapKey(t reflect.Type, key, path string) *Problem {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, err := strconv.ParseInt(key, 10, t.Bits()); err != nil {
			return &Problem{Path: path, Msg: fmt.Sprintf("the key %q is not a whole number", key)}
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, err := strconv.ParseUint(key, 10, t.Bits()); err != nil {
			return &Problem{Path: path, Msg: fmt.Sprintf("the key %q is not a whole number from 0", key)}
		}
	}
	return nil
}

// array checks the elements of an array after its '['.
func (w *walker) array(t reflect.Type, path string) *Problem {
	for i := 0; w.dec.More(); i++ {
		if t.Kind() == reflect.Array && i >= t.Len() {
			return &Problem{Path: Join(path, i), Msg: fmt.Sprintf("too many elements: at most %d", t.Len())}
		}
		if p := w.value(t.Elem(), Join(path, i)); p != nil {
			return p
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return &Problem{Path: path, Msg: "malformed JSON"}
	}
	return nil
}

// literal checks a string, number or boolean against t.
func literal(t reflect.Type, tok json.Token, path string) *Problem {
	bad := &Problem{Path: path, Msg: fmt.Sprintf("expected %s, got %s%s", want(t), got(tok), hint(t, tok))}
	switch v := tok.(type) {
	case string:
		if t.Kind() == reflect.String || (t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8) {
			return nil
		}
	case bool:
		if t.Kind() == reflect.Bool {
			return nil
		}
	case json.Number:
		var err error
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			_, err = strconv.ParseInt(string(v), 10, t.Bits())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			_, err = strconv.ParseUint(string(v), 10, t.Bits())
		case reflect.Float32, reflect.Float64:
			_, err = strconv.ParseFloat(string(v), t.Bits())
		default:
			return bad
		}
		if err != nil {
			return &Problem{Path: path, Msg: fmt.Sprintf("expected %s, got %s", want(t), numberText(v))}
		}
		return nil
	}
	return bad
}

// hint says how to write a literal that has the wrong kind so that it
// fits t, when the mistake is a common one: a command line for a list of
// arguments ("ls -la" for ["ls", "-la"]), a number or boolean in quotes
// or one that needs them. It returns "" when there is nothing useful to
// add, and otherwise text that begins with ": ".
func hint(t reflect.Type, tok json.Token) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s, isString := tok.(string)
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		elem := t.Elem()
		for elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		if elem.Kind() == reflect.Uint8 {
			return ""
		}
		example := ""
		switch {
		case isString && elem.Kind() == reflect.String:
			words := strings.Fields(s)
			if len(words) == 0 || len(s) > 80 {
				words = []string{"a", "b"}
			}
			example = jsonList(words)
		case !isString && literal(elem, tok, "") == nil:
			example = "[" + strings.TrimPrefix(got(tok), "the number ") + "]"
		}
		if example == "" {
			return fmt.Sprintf(": write a list of %s", plural(elem))
		}
		return fmt.Sprintf(": write a list of %s, such as %s", plural(elem), example)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if isString && literal(t, json.Number(strings.TrimSpace(s)), "") == nil {
			return fmt.Sprintf(": write the number without quotes, %s", strings.TrimSpace(s))
		}
	case reflect.Bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "false":
			return fmt.Sprintf(": write %s without quotes", strings.ToLower(strings.TrimSpace(s)))
		case "yes", "no", "on", "off", "y", "n", "1", "0":
			return ": write true or false, without quotes"
		}
		if n, ok := tok.(json.Number); ok && (n == "0" || n == "1") {
			return ": write true or false"
		}
	case reflect.String:
		switch v := tok.(type) {
		case json.Number:
			return fmt.Sprintf(": put it in quotes, %q", string(v))
		case bool:
			return fmt.Sprintf(": put it in quotes, \"%t\"", v)
		}
	}
	return ""
}

// jsonList writes strings as a JSON list with a space after each comma,
// as people write one: ["ls", "-la"].
func jsonList(items []string) string {
	quoted := make([]string, len(items))
	for i, item := range items {
		b, _ := json.Marshal(item)
		quoted[i] = string(b)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// plural names the values of a list of t: "strings", "whole numbers".
func plural(t reflect.Type) string {
	switch w := want(t); w {
	case "an object":
		return "objects"
	case "an array":
		return "lists"
	case "true or false":
		return "true or false values"
	case "a different value":
		return "values"
	default:
		w = strings.TrimPrefix(strings.TrimPrefix(w, "an "), "a ")
		if noun, rest, ok := strings.Cut(w, " from "); ok {
			return noun + "s from " + rest
		}
		return w + "s"
	}
}

// collectFields gathers the JSON names of a struct's fields, promoting
// those of embedded structs as encoding/json does.
func collectFields(t reflect.Type, into map[string]reflect.Type, depth int) {
	if depth > 8 {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, into, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := into[name]; !taken {
			into[name] = f.Type
		}
	}
}

// lookup finds a key's field as encoding/json does: exactly, else
// ignoring case.
func lookup(fields map[string]reflect.Type, key string) (reflect.Type, bool) {
	if t, ok := fields[key]; ok {
		return t, true
	}
	for name, t := range fields {
		if strings.EqualFold(name, key) {
			return t, true
		}
	}
	return nil, false
}

// want describes the JSON a Go type takes, for people: "an object", "a
// whole number".
func want(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return "an RFC 3339 time string"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number from 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a different value"
}

// got describes a token for people.
func got(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return numberText(v)
	}
	return "null"
}

func gotRaw(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return "malformed JSON"
	}
	return got(tok)
}

// shortRaw quotes a value for a message, cut to a readable length.
func shortRaw(raw json.RawMessage) string {
	s := string(raw)
	if len(s) > 60 {
		s = s[:57] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func numberText(n json.Number) string {
	s := string(n)
	if len(s) > 40 {
		s = s[:37] + "…"
	}
	return "the number " + s
}
