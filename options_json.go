package sundial

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Durations in a job's JSON are Go duration strings ("90s", "1h30m"),
// the way people write them in a config file or an API call. Numbers are
// read too, as nanoseconds: the form stored before the strings were.

// duration is a time.Duration in JSON.
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, time.Duration(d).String()), nil
}

func (d *duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as \"90s\" or \"1h30m\"", s)
		}
		*d = duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%s is not a duration such as \"90s\" or \"1h30m\"", b)
	}
	*d = duration(n)
	return nil
}

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
	StartAt         time.Time      `json:"start_at,omitzero"`
	EndAt           time.Time      `json:"end_at,omitzero"`
	FixedDelay      bool           `json:"fixed_delay,omitempty"`
	Notify          []Notification `json:"notify,omitempty"`
}

// MarshalJSON writes durations as strings such as "1m30s".
func (o JobOptions) MarshalJSON() ([]byte, error) {
	return json.Marshal(jobOptionsJSON{
		RunOnStart: o.RunOnStart, MisfireGrace: duration(o.MisfireGrace), Coalesce: o.Coalesce,
		MaxInstances: o.MaxInstances, Overlap: o.Overlap, Timeout: duration(o.Timeout), MaxAttempts: o.MaxAttempts,
		RetryBackoff: duration(o.RetryBackoff), MaxRetryBackoff: duration(o.MaxRetryBackoff),
		StartAt: o.StartAt, EndAt: o.EndAt, FixedDelay: o.FixedDelay, Notify: o.Notify,
	})
}

// UnmarshalJSON reads durations as strings such as "1m30s" or as
// nanoseconds, and refuses unknown fields, naming them.
func (o *JobOptions) UnmarshalJSON(b []byte) error {
	var v jobOptionsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*o = JobOptions{
		RunOnStart: v.RunOnStart, MisfireGrace: time.Duration(v.MisfireGrace), Coalesce: v.Coalesce,
		MaxInstances: v.MaxInstances, Overlap: v.Overlap, Timeout: time.Duration(v.Timeout), MaxAttempts: v.MaxAttempts,
		RetryBackoff: time.Duration(v.RetryBackoff), MaxRetryBackoff: time.Duration(v.MaxRetryBackoff),
		StartAt: v.StartAt, EndAt: v.EndAt, FixedDelay: v.FixedDelay, Notify: v.Notify,
	}
	return nil
}
