package sundial

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sundialhq/sundial/internal/jsoninput"
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
	MisfireGrace    misfireGrace   `json:"misfire_grace,omitzero"`
	Coalesce        *bool          `json:"coalesce,omitempty"`
	MaxInstances    int            `json:"max_instances,omitempty"`
	Overlap         Overlap        `json:"overlap,omitempty"`
	Timeout         duration       `json:"timeout,omitzero"`
	MaxAttempts     int            `json:"max_attempts,omitempty"`
	RetryBackoff    duration       `json:"retry_backoff,omitzero"`
	MaxRetryBackoff duration       `json:"max_retry_backoff,omitzero"`
	FixedDelay      bool           `json:"fixed_delay,omitempty"`
	Notify          []Notification `json:"notify,omitempty"`
	Then            []Chain        `json:"then,omitempty"`
	Broadcast       bool           `json:"broadcast,omitempty"`

	// StartAt and EndAt were the job's bounds before they moved to the
	// trigger; they are read only to refuse them with directions.
	StartAt json.RawMessage `json:"start_at,omitempty"`
	EndAt   json.RawMessage `json:"end_at,omitempty"`
}

// misfireGrace is MisfireGrace in JSON: a duration, or "none" for
// NoMisfireLimit. Any negative duration is written as "none".
type misfireGrace time.Duration

func (g misfireGrace) MarshalJSON() ([]byte, error) {
	if g < 0 {
		return []byte(`"none"`), nil
	}
	return duration(g).MarshalJSON()
}

func (g *misfireGrace) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == `"none"` {
		*g = misfireGrace(NoMisfireLimit)
		return nil
	}
	var d duration
	if err := d.UnmarshalJSON(b); err != nil {
		return fmt.Errorf(`%w, or "none" for no limit`, err)
	}
	*g = misfireGrace(d)
	return nil
}

// MarshalJSON writes durations as strings such as "1m30s".
func (o JobOptions) MarshalJSON() ([]byte, error) {
	return json.Marshal(jobOptionsJSON{
		RunOnStart: o.RunOnStart, MisfireGrace: misfireGrace(o.MisfireGrace), Coalesce: o.Coalesce,
		MaxInstances: o.MaxInstances, Overlap: o.Overlap, Timeout: duration(o.Timeout), MaxAttempts: o.MaxAttempts,
		RetryBackoff: duration(o.RetryBackoff), MaxRetryBackoff: duration(o.MaxRetryBackoff),
		FixedDelay: o.FixedDelay, Notify: o.Notify, Then: o.Then, Broadcast: o.Broadcast,
	})
}

// UnmarshalJSON reads durations by Sundial's one rule and refuses unknown
// fields; an error is an *InvalidJobError naming the option's path, such
// as "options.notify[0].on".
func (o *JobOptions) UnmarshalJSON(b []byte) error {
	var v jobOptionsJSON
	if err := jsoninput.Decode(b, &v); err != nil {
		var p *jsoninput.Problem
		if errors.As(err, &p) {
			return &InvalidJobError{Field: jsoninput.Under("options", p.Path), Err: errors.New(p.Msg)}
		}
		return &InvalidJobError{Field: "options", Err: err}
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
		FixedDelay: v.FixedDelay, Notify: v.Notify, Then: v.Then, Broadcast: v.Broadcast,
	}
	return nil
}
