package task

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sundialhq/sundial"
)

func TestEchoReturnsItsArgs(t *testing.T) {
	got, err := Echo(context.Background(), sundial.Run{Args: json.RawMessage(`{"a":[1,2]}`)})
	b, _ := json.Marshal(got)
	if err != nil || string(b) != `{"a":[1,2]}` {
		t.Errorf("Echo = %s, %v", b, err)
	}
	if got, err := Echo(context.Background(), sundial.Run{}); got != nil || err != nil {
		t.Errorf("Echo without args = %v, %v; want nil", got, err)
	}
}
