package httpapi

import (
	"testing"

	"github.com/sundialhq/sundial/internal/admin"
)

// An import that fails partway says what it had done: those jobs stay.
func TestImportFailingPartwaySaysWhatItDid(t *testing.T) {
	h := newHarness(t)
	doc := `{"jobs": [{"id": "a", "task": "echo", "trigger": "@daily"}, {"id": "b", "task": "nope", "trigger": "@daily"}]}`
	p := h.problem(h.do(admin.RoleAdmin, "POST", "/api/v1/import", doc), 400, "task")
	if len(p.Done) != 1 || p.Done[0].Kind != "job" || p.Done[0].ID != "a" || p.Done[0].Action != "created" {
		t.Fatalf("the problem's done = %+v, want job a created", p.Done)
	}
	if _, err := h.s.Job(t.Context(), "a"); err != nil {
		t.Fatalf("job a, imported before the failure: %v", err)
	}
	// A dry run that fails changes nothing, and says nothing was done.
	p = h.problem(h.do(admin.RoleAdmin, "POST", "/api/v1/import?dry_run=true", `{"jobs": [{"id": "c", "task": "nope", "trigger": "@daily"}]}`), 400, "task")
	if len(p.Done) != 0 {
		t.Fatalf("a failed dry run reports done: %+v", p.Done)
	}
}
