package sundial

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/sundialhq/sundial/trigger"
)

// Durations in a job's JSON follow Sundial's one rule (trigger.Duration):
// a string is a Go duration ("90s", "1h30m"), a number is seconds. Stores
// that once kept numbers of nanoseconds were migrated to strings.

// duration is the JSON form of a duration.
type duration = trigger.Duration

// jobOptionsJSON is JobOptions as JSON.
type jobOptionsJSON struct {
	RunOnStart      bool           `json:"run_on_start,omitempty"`
	MisfireGrace    duration       `json:"misfire_grace,omitzero"`
	Coalesce        *bool          `json:"coalesce,omitempty"`
	MaxInstances    int            `json:"max_instances,omitempty"`
	Overlap         Overlap        `json:"overlap,omitempty"`
	Timeout         duration       `json:"timeout,omitzero"`
	MaxAttempts     int            `json:"max_attempts,omitempty"`
	RetryBackoff    duration       `json:"retry_backoff,omitzero"`
	MaxRetryBackoff duration       `json:"max_retry_backoff,omitzero"`
	FixedDelay      bool           `json:"fixed_delay,omitempty"`
	Notify          []Notification `json:"notify,omitempty"`

	// StartAt and EndAt were the job's bounds before they moved to the
	// trigger; they are read only to refuse them with directions.
	StartAt json.RawMessage `json:"start_at,omitempty"`
	EndAt   json.RawMessage `json:"end_at,omitempty"`
}

// MarshalJSON writes durations as strings such as "1m30s".
func (o JobOptions) MarshalJSON() ([]byte, error) {
	return json.Marshal(jobOptionsJSON{
		RunOnStart: o.RunOnStart, MisfireGrace: duration(o.MisfireGrace), Coalesce: o.Coalesce,
		MaxInstances: o.MaxInstances, Overlap: o.Overlap, Timeout: duration(o.Timeout), MaxAttempts: o.MaxAttempts,
		RetryBackoff: duration(o.RetryBackoff), MaxRetryBackoff: duration(o.MaxRetryBackoff),
		FixedDelay: o.FixedDelay, Notify: o.Notify,
	})
}

// UnmarshalJSON reads durations by Sundial's one rule and refuses unknown
// fields, naming them.
func (o *JobOptions) UnmarshalJSON(b []byte) error {
	var v jobOptionsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if v.StartAt != nil {
		return invalidf("options.start_at", "bounds belong to the trigger now: set trigger.start_date instead")
	}
	if v.EndAt != nil {
		return invalidf("options.end_at", "bounds belong to the trigger now: set trigger.end_date instead")
	}
	*o = JobOptions{
		RunOnStart: v.RunOnStart, MisfireGrace: time.Duration(v.MisfireGrace), Coalesce: v.Coalesce,
		MaxInstances: v.MaxInstances, Overlap: v.Overlap, Timeout: time.Duration(v.Timeout), MaxAttempts: v.MaxAttempts,
		RetryBackoff: time.Duration(v.RetryBackoff), MaxRetryBackoff: time.Duration(v.MaxRetryBackoff),
		FixedDelay: v.FixedDelay, Notify: v.Notify,
	}
	return nil
}
