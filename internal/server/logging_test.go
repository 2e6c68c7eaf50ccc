package server

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/secrets"
)

// TestLogsMaskEncodedSecretValues: the server's logs know every secret's
// value and mask its encoded forms too (a task's error quoted in a log
// line holds them JSON- or URL-escaped).
func TestLogsMaskEncodedSecretValues(t *testing.T) {
	var buf bytes.Buffer
	m := secrets.NewMasker()
	log, err := NewLogger(&buf, LogConfig{Format: "json"}, m)
	if err != nil {
		t.Fatal(err)
	}
	m.Add(`päss"word`)
	log.Info(`the task said {"pw": "p\u00e4ss\"word"}`, "err", errors.New("GET /x?pw=p%C3%A4ss%22word: refused"), "n", 31337)
	out := buf.String()
	if strings.Contains(out, "ss") || strings.Count(out, "****") != 2 || !strings.Contains(out, `"n":31337`) {
		t.Errorf("log:\n%s", out)
	}
}
