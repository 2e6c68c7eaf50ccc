package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial/internal/admin"
)

// TestSaveTimeChecks: what would fail at 3 a.m. is refused when the job is
// saved, naming the field.
func TestSaveTimeChecks(t *testing.T) {
	h := newHarness(t)
	adm := admin.RoleAdmin
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for name, c := range map[string]struct {
		body, field, says string
	}{
		"date in the past": {`{"id": "once", "task": "echo", "trigger": {"type": "date", "run_date": "` + past + `"}}`,
			"trigger.run_date", "never run"},
		"mail without SMTP": {`{"id": "mail", "task": "echo", "trigger": "@daily", "options": {"notify": [{"email": ["ops@example.com"]}]}}`,
			"options.notify[0].email", "no SMTP settings"},
	} {
		res := h.do(adm, "POST", "/api/v1/jobs", c.body)
		if res.status != 400 || !strings.Contains(string(res.body), `"field":"`+c.field+`"`) || !strings.Contains(string(res.body), c.says) {
			t.Errorf("%s: %d %s; want 400 naming %s", name, res.status, res.body, c.field)
		}
	}
	// A stored date job whose date has passed stays editable as long as its
	// date does not change.
	if res := h.do(adm, "POST", "/api/v1/jobs", `{"id": "once", "task": "echo", "trigger": {"type": "date", "run_date": "`+future+`"}}`); res.status != 201 {
		t.Fatalf("a date in the future: %d %s", res.status, res.body)
	}
	if res := h.do(adm, "PUT", "/api/v1/jobs/once", `{"task": "echo", "trigger": {"type": "date", "run_date": "`+past+`"}}`); res.status != 400 {
		t.Errorf("moving a date job into the past: %d, want 400", res.status)
	}
	if res := h.do(adm, "PUT", "/api/v1/jobs/once", `{"task": "echo", "name": "renamed", "trigger": {"type": "date", "run_date": "`+future+`"}}`); res.status != 200 {
		t.Errorf("editing a date job, date unchanged: %d %s", res.status, res.body)
	}

	mail := newHarness(t, func(c *Config) { c.CanMail = true })
	if res := mail.do(adm, "POST", "/api/v1/jobs", `{"id": "mail", "task": "echo", "trigger": "@daily", "options": {"notify": [{"email": ["ops@example.com"]}]}}`); res.status != 201 {
		t.Errorf("mail with SMTP: %d %s", res.status, res.body)
	}
}

// TestDescriptionNamesTheZone: "At 03:00" says whose 03:00.
func TestDescriptionNamesTheZone(t *testing.T) {
	h := newHarness(t)
	res := h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "berlin", "task": "echo", "trigger": {"type": "cron", "expr": "0 3 * * *", "timezone": "Europe/Berlin"}}`)
	var v JobView
	res.json(t, &v)
	if res.status != 201 || v.Description != "At 03:00 (Europe/Berlin)" {
		t.Errorf("description = %q (%d), want \"At 03:00 (Europe/Berlin)\"", v.Description, res.status)
	}
	res = h.do(admin.RoleAdmin, "POST", "/api/v1/jobs", `{"id": "utc", "task": "echo", "trigger": "0 3 * * *"}`)
	res.json(t, &v)
	if v.Description != "At 03:00" {
		t.Errorf("description of a UTC job = %q, want \"At 03:00\"", v.Description)
	}
}

func TestMeta(t *testing.T) {
	h := newHarness(t)
	var m MetaView
	h.do(admin.RoleViewer, "GET", "/api/v1/meta", nil).json(t, &m)
	if len(m.Roles) != 4 || m.Roles[2].Name != admin.RoleAdmin || len(m.Roles[2].Includes) != 4 || len(m.Roles[3].Includes) != 1 {
		t.Errorf("roles = %+v: admin includes every role, worker only itself", m.Roles)
	}
	active := 0
	for _, st := range m.RunStatuses {
		if st.Active {
			active++
		}
	}
	if len(m.RunStatuses) != len(runStatuses) || active != 4 || len(m.NotificationFormats) == 0 || len(m.Tasks) == 0 {
		t.Errorf("meta = %+v", m)
	}
}
