package apsched

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sundialhq/sundial"
)

// TestIntervalErrorNamesTheFieldWritten: "minutes": 0 is blamed on
// minutes, not on the seconds it would add up to.
func TestIntervalErrorNamesTheFieldWritten(t *testing.T) {
	var fields map[string]json.RawMessage
	json.Unmarshal([]byte(`{"id": "a", "func": "m:f", "trigger": "interval", "minutes": 0}`), &fields)
	job := sundial.Job{ID: "a"}
	_, err := Apply(&job, fields, Options{})
	if err == nil || !strings.Contains(err.Error(), "minutes") || strings.Contains(err.Error(), `"seconds"`) {
		t.Errorf("minutes 0: %v, want an error naming minutes", err)
	}
}
