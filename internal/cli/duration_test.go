package cli

import (
	"testing"
	"time"
)

func TestDurationFlags(t *testing.T) {
	for in, want := range map[string]time.Duration{"90": 90 * time.Second, "1.5": 1500 * time.Millisecond, "90s": 90 * time.Second, "1h30m": 90 * time.Minute} {
		var d durationValue
		if err := d.Set(in); err != nil || time.Duration(d) != want {
			t.Errorf("Set(%q) = %s, %v; want %s", in, time.Duration(d), err, want)
		}
	}
	var d durationValue
	if err := d.Set("soon"); err == nil {
		t.Error(`Set("soon") was accepted`)
	}
}
