package jobdoc

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

func TestDecode(t *testing.T) {
	j, err := Decode([]byte(`{"id": "a", "task": "echo", "trigger": "0 9 * * 1-5", "args": {"x": 1},
		"options": {"timeout": "90s", "max_attempts": 3, "coalesce": false}, "tags": ["t"], "queue": "q", "paused": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != "a" || j.Trigger.Type != "cron" || j.Trigger.Expr != "0 9 * * 1-5" || j.Options.Timeout != 90*time.Second ||
		j.Options.MaxAttempts != 3 || *j.Options.Coalesce || !j.Paused || j.Queue != "q" || string(j.Args) != `{"x": 1}` {
		t.Errorf("Decode = %+v", j)
	}
	// A document round-trips through FromJob.
	back, err := Decode(mustJSON(t, FromJob(j)))
	if err != nil || back.Options.Timeout != j.Options.Timeout || back.Trigger.Expr != j.Trigger.Expr || !back.Paused {
		t.Errorf("round trip = %+v, %v", back, err)
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	for in, field := range map[string]string{
		`{"task": "echo", "trigger": "61 * * * *"}`:                                      "trigger",
		`{"task": "echo", "trigger": {"type": "interval"}}`:                              "trigger.seconds",
		`{"task": "echo", "trigger": {"type": "cron", "expr": "@daily", "zone": "UTC"}}`: "trigger.zone",
		`{"task": "echo", "trigger": "@daily", "options": {"timeout": 5, "overlap": 1}}`: "options.overlap",
		`{"task": "echo", "trigger": "@daily", "options": {"max_instances": 1.5}}`:       "options.max_instances",
		`{"task": "echo", "trigger": "@daily", "options": []}`:                           "options",
		`{"task": "echo", "trigger": "@daily", "tags": "t"}`:                             "tags",
		`{"task": "echo", "trigger": "@daily", "tags": ["t", 2]}`:                        "tags[1]",
		`{"task": "echo", "trigger": "@daily", "options": {"notify": [{"on": 1}]}}`:      "options.notify[0].on",
		`{"task": "echo", "trigger": "@daily", "options": {"timeout": "900000h"}}`:       "options.timeout",
		`{"task": "echo", "trigger": {"type": "interval", "weeks": 30500}}`:              "trigger.weeks",
		`"x"`:                   "(document)",
		`null`:                  "(document)",
		`[]`:                    "(document)",
		`{"task": "echo"}`:      "trigger",
		`{"trigger": "@daily"}`: "task",
		`{"task": "echo", "trigger": "@daily", "extra": 1}`: "extra",
		`{"task": "echo", "trigger": "@daily"`:              "(document)",
		``:                                                  "(document)",
		`{"task": "echo", "trigger": {"type": "date", "run_date": "tomorrow"}}`:                                          "trigger.run_date",
		`{"task": "echo", "trigger": {"type": "cron", "expr": "@daily", "jitter": "a while"}}`:                           "trigger.jitter",
		`{"task": "echo", "trigger": "@daily", "options": {"notify": [{"webhook": "https://x", "format": "telegram"}]}}`: "options.notify[0].format",
		`{"task": "echo", "trigger": "@daily", "options": {"notify": [{"email": ["a@b"]}, {}]}}`:                         "options.notify[1]",
	} {
		_, err := Decode([]byte(in))
		var ij *sundial.InvalidJobError
		if !errors.As(err, &ij) || ij.Field != field || !errors.Is(err, sundial.ErrInvalidJob) {
			t.Errorf("Decode(%s) = %v, want an error naming %q", in, err, field)
		}
		if goName.MatchString(fmt.Sprint(err)) {
			t.Errorf("Decode(%s) = %v, which names a Go type", in, err)
		}
	}
}

// goName matches Go type and field names in a message.
var goName = regexp.MustCompile(`\b(sundial|jobdoc|trigger|json|time)\.[A-Z]|Go (value|struct)|\[\][a-z*]|map\[|interface \{`)

func TestYAMLToJSON(t *testing.T) {
	j, err := YAMLToJSON([]byte("id: a\ntask: echo\ntrigger: {type: interval, minutes: 5}\nargs: [1, two, {three: 3}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	job, err := Decode(j)
	if err != nil || job.Trigger.Minutes != 5 || string(job.Args) != `[1,"two",{"three":3}]` {
		t.Errorf("YAML job = %+v, %v (%s)", job, err, j)
	}
	if _, err := YAMLToJSON([]byte("a: [")); err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("bad YAML: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
