package jsoninput

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

type limits struct {
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	Pids        uint  `json:"pids,omitempty"`
}

// settings is embedded, as the task kinds embed their shared settings:
// encoding/json puts its Go name in the paths it reports.
type settings struct {
	Env    map[string]string `json:"env,omitempty"`
	Limits *limits           `json:"limits,omitempty"`
}

// span decodes itself, as trigger.Duration does.
type span int

func (s *span) UnmarshalJSON(b []byte) error {
	if string(b) == `"forever"` {
		return errors.New(`"forever" is not a span`)
	}
	return nil
}

type doc struct {
	settings
	Cmd   []string        `json:"cmd"`
	Nums  []int           `json:"nums,omitempty"`
	Flags []bool          `json:"flags,omitempty"`
	Count int             `json:"count,omitempty"`
	Ratio float64         `json:"ratio,omitempty"`
	On    bool            `json:"on,omitempty"`
	At    time.Time       `json:"at,omitzero"`
	Wait  span            `json:"wait,omitempty"`
	Args  json.RawMessage `json:"args,omitempty"`
	Any   any             `json:"any,omitempty"`
	Subs  []doc           `json:"subs,omitempty"`
	IDs   map[int]string  `json:"ids,omitempty"`
}

func TestDecodeNamesThePathAsWritten(t *testing.T) {
	tests := []struct {
		in, path, msg string
	}{
		{`"x"`, "", "expected an object, got a string"},
		{`[1]`, "", "expected an object, got an array"},
		{`1`, "", "expected an object, got the number 1"},
		{``, "", "empty: a JSON value is required"},
		{` null `, "", "expected an object, got null"},
		{`{"cmd": `, "", "truncated JSON"},
		{`{"cmd": [1,}`, "", "malformed JSON at byte 12: invalid character '}' looking for beginning of value"},
		{`{} {}`, "", "unexpected data after the JSON value"},
		{`{"limits": {"memory_bytes": "1G"}}`, "limits.memory_bytes", "expected a whole number, got a string"},
		{`{"limits": {"pids": -1}}`, "limits.pids", "expected a whole number from 0, got the number -1"},
		{`{"limits": {"colour": 1}}`, "limits.colour", `unknown field "colour"`},
		{`{"limits": 3}`, "limits", "expected an object, got the number 3"},
		{`{"env": {"A": "1", "B": 2}}`, "env.B", `expected a string, got the number 2: put it in quotes, "2"`},
		{`{"env": {"a b": true}}`, `env["a b"]`, `expected a string, got true: put it in quotes, "true"`},
		{`{"cmd": ["ls", 1]}`, "cmd[1]", `expected a string, got the number 1: put it in quotes, "1"`},
		{`{"cmd": "ls -la"}`, "cmd", `expected an array, got a string: write a list of strings, such as ["ls", "-la"]`},
		{`{"cmd": "ls"}`, "cmd", `expected an array, got a string: write a list of strings, such as ["ls"]`},
		{`{"cmd": " "}`, "cmd", `expected an array, got a string: write a list of strings, such as ["a", "b"]`},
		{`{"cmd": 3}`, "cmd", `expected an array, got the number 3: write a list of strings`},
		{`{"cmd": {"a": 1}}`, "cmd", `expected an array, got an object`},
		{`{"nums": 3}`, "nums", `expected an array, got the number 3: write a list of whole numbers, such as [3]`},
		{`{"flags": true}`, "flags", `expected an array, got true: write a list of true or false values, such as [true]`},
		{`{"subs": {}}`, "subs", `expected an array, got an object`},
		{`{"subs": "x"}`, "subs", `expected an array, got a string: write a list of objects`},
		{`{"count": "5"}`, "count", `expected a whole number, got a string: write the number without quotes, 5`},
		{`{"count": "five"}`, "count", `expected a whole number, got a string`},
		{`{"count": "1.5"}`, "count", `expected a whole number, got a string`},
		{`{"ratio": " 0.5"}`, "ratio", `expected a number, got a string: write the number without quotes, 0.5`},
		{`{"limits": {"pids": "-1"}}`, "limits.pids", `expected a whole number from 0, got a string`},
		{`{"on": "true"}`, "on", `expected true or false, got a string: write true without quotes`},
		{`{"on": "no"}`, "on", `expected true or false, got a string: write true or false, without quotes`},
		{`{"on": 1}`, "on", `expected true or false, got the number 1: write true or false`},
		{`{"env": {"PORT": 8080}}`, "env.PORT", `expected a string, got the number 8080: put it in quotes, "8080"`},
		{`{"cmd": ["ls", false]}`, "cmd[1]", `expected a string, got false: put it in quotes, "false"`},
		{`{"count": 1.5}`, "count", "expected a whole number, got the number 1.5"},
		{`{"count": 1e400}`, "count", "expected a whole number, got the number 1e400"},
		{`{"ratio": 1e400}`, "ratio", "expected a number, got the number 1e400"},
		{`{"on": "yes"}`, "on", "expected true or false, got a string: write true or false, without quotes"},
		{`{"at": 1}`, "at", `expected an RFC 3339 time such as "2026-11-22T09:00:00Z", got 1`},
		{`{"wait": "forever"}`, "wait", `"forever" is not a span`},
		{`{"subs": [{}, {"subs": [{"count": "x"}]}]}`, "subs[1].subs[0].count", "expected a whole number, got a string"},
		{`{"ids": {"x": "a"}}`, "ids.x", `the key "x" is not a whole number`},
		{`{"nope": 1}`, "nope", `unknown field "nope"`},
	}
	for _, tt := range tests {
		var d doc
		err := Decode([]byte(tt.in), &d)
		var p *Problem
		if !errors.As(err, &p) {
			t.Errorf("Decode(%s) = %v, want a *Problem", tt.in, err)
			continue
		}
		if p.Path != tt.path || p.Msg != tt.msg {
			t.Errorf("Decode(%s) = %q %q, want %q %q", tt.in, p.Path, p.Msg, tt.path, tt.msg)
		}
	}
	// Values that fit decode; case-insensitive names match as in encoding/json.
	var d doc
	if err := Decode([]byte(`{"CMD": ["a"], "args": {"x": [1]}, "any": [1, "a"], "limits": null, "ids": {"3": "c"}}`), &d); err != nil || d.Cmd[0] != "a" {
		t.Errorf("a good document: %v %+v", err, d)
	}
}

func TestScrubGoNames(t *testing.T) {
	goNames := regexp.MustCompile(`httpapi\.|\[\]string|map\[|Go value|Go struct|childSettings`)
	for _, msg := range []string{
		"cannot unmarshal string into Go value of type httpapi.RunRequest",
		"cannot unmarshal number into Go struct field .childSettings.limits of type isolate.Limits",
		"cannot unmarshal array into Go value of type map[string]interface {}",
		"cannot unmarshal object into Go struct field x.cmd of type []string",
	} {
		if s := scrub(msg); goNames.MatchString(s) {
			t.Errorf("scrub(%q) = %q", msg, s)
		}
	}
	if s := scrub("a map of names; e.g. Foo"); s != "a map of names; e.g. Foo" {
		t.Errorf("Scrub changed plain text: %q", s)
	}
}

func TestJoin(t *testing.T) {
	p := Join(Join(Join(Join("", "args"), "env"), "X.Y"), 2)
	if p != `args.env["X.Y"][2]` {
		t.Errorf("Join = %q", p)
	}
	if strings.HasPrefix(Join("", 0), ".") {
		t.Error("a path starts with a dot")
	}
}
