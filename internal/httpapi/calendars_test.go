package httpapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sundialhq/sundial/internal/admin"
)

func TestCalendarsAPI(t *testing.T) {
	h := newHarness(t)
	adm, viewer := admin.RoleAdmin, admin.RoleViewer
	cal := `{"name": "cn", "description": "节假日", "holidays": ["2026-10-01", {"date": "2026-10-02", "name": "国庆节"}], "working_days": ["2026-10-10"]}`
	if res := h.do(viewer, "POST", "/api/v1/calendars", cal); res.status != 403 {
		t.Fatalf("a viewer created a calendar: %d", res.status)
	}
	res := h.do(adm, "POST", "/api/v1/calendars", cal)
	if res.status != 201 || res.header.Get("Location") != "/api/v1/calendars/cn" || res.header.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %v %s", res.status, res.header, res.body)
	}
	h.problem(h.do(adm, "POST", "/api/v1/calendars", cal), 409, "name")
	h.problem(h.do(adm, "POST", "/api/v1/calendars", `{"name": "x", "holidays": ["2026-02-30"]}`), 400, "holidays[0].date")
	h.problem(h.do(adm, "POST", "/api/v1/calendars", `{"name": "x", "holidays": ["2026-10-01"], "working_days": ["2026-10-01"]}`), 400, "working_days[0].date")

	job := `{"id": "daily", "task": "echo", "trigger": {"type": "cron", "expr": "0 9 * * *", "timezone": "Asia/Shanghai", "calendar": {"name": "cn", "rule": "workdays"}}}`
	if res := h.do(adm, "POST", "/api/v1/jobs", job); res.status != 201 {
		t.Fatalf("job naming the calendar: %d %s", res.status, res.body)
	}
	h.problem(h.do(adm, "POST", "/api/v1/jobs", strings.Replace(strings.Replace(job, `"cn"`, `"nope"`, 1), "daily", "other", 1)), 400, "trigger.calendar.name")

	var view CalendarView
	res = h.do(viewer, "GET", "/api/v1/calendars/cn", nil)
	res.json(t, &view)
	if len(view.Holidays) != 2 || view.Holidays[1].Name != "国庆节" || len(view.Jobs) != 1 || view.Jobs[0] != "daily" {
		t.Fatalf("get: %s", res.body)
	}

	// Replacing the days reschedules the job: with the 8th a holiday too,
	// the preview from the 1st skips to the 9th.
	put := `{"holidays": ["2026-10-01", "2026-10-08"], "working_days": ["2026-10-10"]}`
	h.problem(h.do(adm, "PUT", "/api/v1/calendars/cn", put, "If-Match", `"7"`), 412, "If-Match")
	if res := h.do(adm, "PUT", "/api/v1/calendars/cn", put, "If-Match", `"1"`); res.status != 200 || res.header.Get("ETag") != `"2"` {
		t.Fatalf("put: %d %s", res.status, res.body)
	}
	var stored struct {
		Trigger struct {
			Calendar struct {
				Holidays []string `json:"holidays"`
				Version  int64    `json:"version"`
			} `json:"calendar"`
		} `json:"trigger"`
	}
	h.do(viewer, "GET", "/api/v1/jobs/daily", nil).json(t, &stored)
	if stored.Trigger.Calendar.Version != 2 || len(stored.Trigger.Calendar.Holidays) != 2 {
		t.Fatalf("the job's copy after the put: %+v", stored.Trigger.Calendar)
	}
	var preview Preview
	res = h.do(viewer, "POST", "/api/v1/cron/preview", `{"trigger": {"type": "cron", "expr": "0 9 * * *", "timezone": "Asia/Shanghai",
		"calendar": {"name": "cn", "rule": "workdays"}}, "from": "2026-10-07T12:00:00+08:00", "count": 3}`)
	res.json(t, &preview)
	var days []string
	for _, n := range preview.Next {
		days = append(days, n.Format("01-02"))
	}
	if strings.Join(days, " ") != "10-09 10-10 10-12" || !strings.Contains(preview.Description, "cn") {
		t.Fatalf("preview with the calendar: %v, %q", days, preview.Description)
	}
	if res := h.do(adm, "PUT", "/api/v1/calendars/new", `{"holidays": ["2026-01-01"]}`); res.status != 201 {
		t.Fatalf("put of a new calendar: %d %s", res.status, res.body)
	}
	h.problem(h.do(adm, "PUT", "/api/v1/calendars/new", `{"name": "other"}`), 400, "name")

	var list CalendarList
	h.do(viewer, "GET", "/api/v1/calendars", nil).json(t, &list)
	if len(list.Calendars) != 2 || list.Calendars[0].Name != "cn" {
		t.Fatalf("list: %+v", list)
	}
	p := h.problem(h.do(adm, "DELETE", "/api/v1/calendars/cn", nil), 409, "")
	if !strings.Contains(p.Detail, "daily") {
		t.Errorf("the refusal does not name the job: %+v", p)
	}
	if res := h.do(adm, "DELETE", "/api/v1/calendars/new", nil); res.status != 204 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	h.problem(h.do(viewer, "GET", "/api/v1/calendars/new", nil), 404, "")
	if len(h.auditOf("cn")) != 2 {
		t.Errorf("audit of cn: %+v", h.auditOf("cn"))
	}

	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20261001\r\nDTEND;VALUE=DATE:20261003\r\nSUMMARY:国庆节\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:2\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20261010\r\nSUMMARY:国庆节 补班\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	body, _ := json.Marshal(ICSRequest{ICS: ics})
	var days2 ICSDays
	res = h.do(viewer, "POST", "/api/v1/calendars/ics", body)
	res.json(t, &days2)
	if len(days2.Holidays) != 2 || days2.Holidays[1].Date != "2026-10-02" || len(days2.WorkingDays) != 1 || days2.WorkingDays[0].Date != "2026-10-10" {
		t.Fatalf("ics: %d %s", res.status, res.body)
	}
	h.problem(h.do(viewer, "POST", "/api/v1/calendars/ics", `{"ics": "not a calendar"}`), 400, "ics")
	h.problem(h.do(viewer, "POST", "/api/v1/calendars/ics", `{"ics": "x", "working_day_pattern": "("}`), 400, "working_day_pattern")
}
