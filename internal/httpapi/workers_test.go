package httpapi

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
)

// TestWorkerSessionsBelongToTheirToken: a worker token cannot take over
// another token's worker name, nor use its session; an admin can.
func TestWorkerSessionsBelongToTheirToken(t *testing.T) {
	h := newHarness(t)
	token := func(name string, queues ...string) string {
		var tok NewTokenView
		h.do(admin.RoleAdmin, "POST", "/api/v1/tokens", TokenRequest{Name: name, Role: admin.RoleWorker, Queues: queues}).json(t, &tok)
		return "Bearer " + tok.Secret
	}
	billing, sandbox := token("billing", "billing"), token("sandbox", "sandbox")
	open := `{"name": "billing-1", "tasks": ["send_report"], "capacity": 2}`
	var sess WorkerSessionView
	if res := h.do("", "POST", "/api/v1/worker/sessions", open, "Authorization", billing); res.status != 201 {
		t.Fatalf("open = %d %s", res.status, res.body)
	} else {
		res.json(t, &sess)
	}
	takeover := `{"name": "billing-1", "tasks": ["send_report"], "capacity": 2, "replace": true}`
	if res := h.do("", "POST", "/api/v1/worker/sessions", takeover, "Authorization", sandbox); res.status != 409 {
		t.Errorf("another token taking the name over = %d %s, want 409", res.status, res.body)
	}
	claim := "/api/v1/worker/sessions/" + sess.ID + "/claim"
	if res := h.do("", "POST", claim, `{"limit": 1, "wait_ms": 0}`, "Authorization", sandbox); res.status != 403 {
		t.Errorf("another token claiming on the session = %d %s, want 403", res.status, res.body)
	}
	if res := h.do("", "POST", claim, `{"limit": 1, "wait_ms": 0}`, "Authorization", billing); res.status != 200 {
		t.Errorf("its own token claiming = %d %s, want 200", res.status, res.body)
	}
	if res := h.do(admin.RoleAdmin, "POST", "/api/v1/worker/sessions", takeover); res.status != 201 {
		t.Errorf("an admin taking the name over = %d %s, want 201", res.status, res.body)
	}
	if res := h.do("", "POST", "/api/v1/worker/sessions/"+sess.ID+"/heartbeat", `{"runs": []}`, "Authorization", billing); res.status != 410 {
		t.Errorf("the replaced session's heartbeat = %d %s, want 410", res.status, res.body)
	}
	if res := h.do("", "POST", "/api/v1/worker/sessions", `{"name": "v", "tasks": ["t"], "capacity": 1, "version": "`+longString(300)+`"}`, "Authorization", billing); res.status != 400 ||
		!strings.Contains(string(res.body), `"field":"version"`) {
		t.Errorf("a long version = %d %s, want 400 on version", res.status, res.body)
	}
}

func longString(n int) string { return strings.Repeat("x", n) }

// TestWorkerSessionLimitAnswers409: the sessions past a token's limit are
// refused with a problem that says why, not a 500.
func TestWorkerSessionLimitAnswers409(t *testing.T) {
	h := newHarness(t)
	var tok NewTokenView
	h.do(admin.RoleAdmin, "POST", "/api/v1/tokens", TokenRequest{Name: "fleet", Role: admin.RoleWorker}).json(t, &tok)
	auth := "Bearer " + tok.Secret
	for i := range sundial.MaxWorkerSessionsPerToken + 1 {
		body := fmt.Sprintf(`{"name": "w%d", "tasks": ["t"], "capacity": 1}`, i)
		res := h.do("", "POST", "/api/v1/worker/sessions", body, "Authorization", auth)
		if i < sundial.MaxWorkerSessionsPerToken {
			if res.status != 201 {
				t.Fatalf("session %d = %d %s", i, res.status, res.body)
			}
			continue
		}
		if res.status != 409 || !strings.Contains(string(res.body), "worker-session-limit") || !strings.Contains(string(res.body), "Too many live worker sessions") {
			t.Errorf("session %d = %d %s, want 409 worker-session-limit", i, res.status, res.body)
		}
	}
}
