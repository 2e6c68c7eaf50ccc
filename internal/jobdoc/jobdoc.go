// Package jobdoc reads a job as people write it — in the server's config
// file, an API request or `sundial jobs add` — into a sundial.Job. One
// decoder for all three keeps them the same shape, with the same errors:
// each names the field at fault and the value found there.
package jobdoc

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/jsoninput"
	"github.com/sundialhq/sundial/internal/notify"
	"github.com/sundialhq/sundial/trigger"
)

// Doc is the part of a job that its author writes. Its JSON form is the
// job document; a job's state (next fire, version, times) is not part of
// it. Trigger may also be a string, read as a crontab expression.
type Doc struct {
	ID      string          `json:"id"`
	Name    string          `json:"name,omitempty"`
	Task    string          `json:"task"`
	Args    json.RawMessage `json:"args,omitempty"`
	Trigger json.RawMessage `json:"trigger"`
	Tags    []string        `json:"tags,omitempty"`
	Queue   string          `json:"queue,omitempty"`
	Options json.RawMessage `json:"options,omitempty"`
	Paused  bool            `json:"paused,omitempty"`
}

// Decode reads one job document from JSON, refusing unknown fields and
// data after the document. Errors match sundial.ErrInvalidJob and are
// *sundial.InvalidJobError naming the field.
func Decode(data []byte) (sundial.Job, error) {
	var d Doc
	if err := jsoninput.Decode(data, &d); err != nil {
		return sundial.Job{}, jsonError(err)
	}
	return d.Job()
}

// Job checks the document's trigger and returns the job it describes.
func (d Doc) Job() (sundial.Job, error) {
	if d.Task == "" {
		return sundial.Job{}, &sundial.InvalidJobError{Field: "task", Err: errors.New("is required: name the task the job runs")}
	}
	spec, err := Trigger(d.Trigger)
	if err != nil {
		return sundial.Job{}, err
	}
	if d.Args != nil && !json.Valid(d.Args) {
		return sundial.Job{}, &sundial.InvalidJobError{Field: "args", Err: errors.New("is not valid JSON")}
	}
	opts, err := Options(d.Options)
	if err != nil {
		return sundial.Job{}, err
	}
	if string(d.Args) == "null" {
		d.Args = nil
	}
	return sundial.Job{ID: d.ID, Name: d.Name, Task: d.Task, Args: d.Args, Trigger: spec, Tags: d.Tags,
		Queue: d.Queue, Options: opts, Paused: d.Paused}, nil
}

// Options reads job options, naming the option at fault in an error.
func Options(raw json.RawMessage) (sundial.JobOptions, error) {
	var o sundial.JobOptions
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return o, nil
	}
	// JobOptions' decoder names the option's path in its error.
	if err := json.Unmarshal(raw, &o); err != nil {
		var ij *sundial.InvalidJobError
		if errors.As(err, &ij) {
			return o, err
		}
		return o, &sundial.InvalidJobError{Field: "options", Err: err}
	}
	return o, notify.ValidateAll(o.Notify, "options.notify")
}

// FromJob returns the document of a job, for editing and re-sending.
func FromJob(j sundial.Job) Doc {
	spec, _ := json.Marshal(j.Trigger)
	opts, _ := json.Marshal(j.Options)
	return Doc{ID: j.ID, Name: j.Name, Task: j.Task, Args: j.Args, Trigger: spec, Tags: j.Tags, Queue: j.Queue,
		Options: opts, Paused: j.Paused}
}

// Trigger reads a trigger: a JSON object (trigger.Spec) or a string, which
// is a crontab expression.
func Trigger(raw json.RawMessage) (trigger.Spec, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return trigger.Spec{}, &sundial.InvalidJobError{Field: "trigger", Err: errors.New(`is required, such as "0 9 * * 1-5" or {"type": "interval", "minutes": 5}`)}
	}
	if raw[0] == '"' {
		var expr string
		if err := json.Unmarshal(raw, &expr); err != nil {
			return trigger.Spec{}, &sundial.InvalidJobError{Field: "trigger", Err: err}
		}
		spec := trigger.Spec{Type: "cron", Expr: expr}
		if _, err := spec.Build(); err != nil {
			return trigger.Spec{}, &sundial.InvalidJobError{Field: "trigger", Err: err}
		}
		return spec, nil
	}
	spec, err := trigger.ParseSpec(raw)
	if err != nil {
		field := "trigger"
		var pe *trigger.ParseError
		if errors.As(err, &pe) && pe.Field != "" {
			field += "." + pe.Field
		}
		return trigger.Spec{}, &sundial.InvalidJobError{Field: field, Err: err}
	}
	return spec, nil
}

// jsonError turns a decoding error into one that names the field as the
// document spells its path, or "(document)".
func jsonError(err error) error {
	var p *jsoninput.Problem
	if errors.As(err, &p) {
		return &sundial.InvalidJobError{Field: cmp.Or(p.Path, "(document)"), Err: errors.New(p.Msg)}
	}
	return &sundial.InvalidJobError{Field: "(document)", Err: err}
}

// YAMLToJSON converts a YAML document (a job, a list of jobs, a config
// file) to JSON, so that one JSON decoder reads every form. Mapping keys
// must be strings.
func YAMLToJSON(data []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	v, err := jsonable(v, "")
	if err != nil {
		return nil, err
	}
	return jsoninput.Marshal(v)
}

// jsonable replaces YAML's map[any]any-free but loosely typed values with
// ones encoding/json writes; yaml.v3 already decodes mappings with string
// keys as map[string]any.
func jsonable(v any, path string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			c, err := jsonable(e, path+"."+k)
			if err != nil {
				return nil, err
			}
			v[k] = c
		}
		return v, nil
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("%s: mapping key %v is not a string", strings.TrimPrefix(path, "."), k)
			}
			c, err := jsonable(e, path+"."+ks)
			if err != nil {
				return nil, err
			}
			m[ks] = c
		}
		return m, nil
	case []any:
		for i, e := range v {
			c, err := jsonable(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
		return v, nil
	}
	return v, nil
}
