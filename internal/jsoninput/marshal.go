package jsoninput

import (
	"bytes"
	"encoding/json"
)

// Marshal encodes v as JSON as people wrote it: without escaping <, > and
// & (encoding/json's default, for HTML pages), which would store a
// user's "a & b" as "a \u0026 b" and show it so everywhere.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
