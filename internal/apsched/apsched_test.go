package apsched

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	for raw, want := range map[string]string{
		``:                                     `[] map[]`,
		`{"args": [1, 2], "kwargs": {"a": 1}}`: `[1 2] map[a:1]`,
		`{"args": [1]}`:                        `[1] map[]`,
		`{"func": "m:f", "args": [3], "env": {}}`: `[3] map[]`,
		`{"args": "x"}`: `[] map[args:x]`,
		`{"to": "ops"}`: `[] map[to:ops]`,
		`[1, "two"]`:    `[1 two] map[]`,
		`7`:             `[7] map[]`,
	} {
		args, kwargs := splitArgs(json.RawMessage(raw))
		if got := fmt.Sprint(args, " ", kwargs); got != want {
			t.Errorf("splitArgs(%s) = %s, want %s", raw, got, want)
		}
	}
}
