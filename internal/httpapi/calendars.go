package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/icalendar"
)

// Calendars: named lists of holidays and working days that triggers name.
// Changing one rewrites the jobs that name it, so writing is the admin's,
// as writing a job is.

func (a *API) registerCalendars() {
	p := a.writeProblem
	a.handle("GET", v1+"/calendars", admin.RoleViewer, p, a.listCalendars)
	a.handle("POST", v1+"/calendars", admin.RoleAdmin, p, a.createCalendar)
	a.handle("POST", v1+"/calendars/ics", admin.RoleViewer, p, a.readICS)
	a.handle("GET", v1+"/calendars/{name}", admin.RoleViewer, p, a.getCalendar)
	a.handle("PUT", v1+"/calendars/{name}", admin.RoleAdmin, p, a.putCalendar)
	a.handle("DELETE", v1+"/calendars/{name}", admin.RoleAdmin, p, a.deleteCalendar)
}

// CalendarList is the answer of GET /calendars.
type CalendarList struct {
	Calendars []sundial.Calendar `json:"calendars"`
}

// CalendarView is a calendar as GET /calendars/{name} shows it: with the
// jobs whose triggers name it.
type CalendarView struct {
	sundial.Calendar
	Jobs []string `json:"jobs"`
}

// calendarDoc is a calendar as a client sends it. The fields a server
// keeps (source, timestamps, jobs) are accepted and ignored, so that what
// GET returns can be edited and sent back; version, when given, must be
// the stored one, as If-Match.
type calendarDoc struct {
	Name        string                `json:"name"`
	Description string                `json:"description"`
	Holidays    []sundial.CalendarDay `json:"holidays"`
	WorkingDays []sundial.CalendarDay `json:"working_days"`
	Version     int64                 `json:"version"`
	Source      json.RawMessage       `json:"source"`
	CreatedAt   json.RawMessage       `json:"created_at"`
	UpdatedAt   json.RawMessage       `json:"updated_at"`
	Jobs        json.RawMessage       `json:"jobs"`
}

func readCalendar(r *http.Request) (sundial.Calendar, error) {
	var d calendarDoc
	if err := decodeBody(r, &d); err != nil {
		return sundial.Calendar{}, err
	}
	return sundial.Calendar{Name: d.Name, Description: d.Description, Holidays: d.Holidays, WorkingDays: d.WorkingDays,
		Version: d.Version, Source: admin.SourceAPI}, nil
}

func calendarETag(c sundial.Calendar) string { return `"` + strconv.FormatInt(c.Version, 10) + `"` }

func (a *API) listCalendars(w http.ResponseWriter, r *http.Request) error {
	cals, err := a.s.Calendars(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, CalendarList{Calendars: append([]sundial.Calendar{}, cals...)})
}

func (a *API) getCalendar(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	cal, err := a.s.Calendar(r.Context(), name)
	if err != nil {
		return err
	}
	jobs, err := a.s.CalendarJobs(r.Context(), name)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", calendarETag(cal))
	return writeJSON(w, http.StatusOK, CalendarView{Calendar: cal, Jobs: append([]string{}, jobs...)})
}

func (a *API) createCalendar(w http.ResponseWriter, r *http.Request) error {
	cal, err := readCalendar(r)
	if err != nil {
		return err
	}
	cal.Version = 0
	created, err := a.s.AddCalendar(r.Context(), cal)
	if err != nil {
		return err
	}
	a.audit(r.Context(), "calendar.create", created.Name, calendarSummary(created))
	w.Header().Set("Location", v1+"/calendars/"+created.Name)
	w.Header().Set("ETag", calendarETag(created))
	return writeJSON(w, http.StatusCreated, created)
}

// putCalendar creates the calendar of the path's name, or replaces it:
// only the version that If-Match (or the body's version) pins, when one is
// given.
func (a *API) putCalendar(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	cal, err := readCalendar(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if cal.Name != "" && cal.Name != name {
		return &sundial.InvalidCalendarError{Field: "name", Err: fmt.Errorf("%q differs from the calendar in the path, %q", cal.Name, name)}
	}
	cal.Name = name
	switch {
	case version != 0 && cal.Version != 0 && version != cal.Version:
		return badInput("version", "%d differs from If-Match's %d", cal.Version, version)
	case version != 0:
		cal.Version = version
	}
	status, saved := http.StatusOK, sundial.Calendar{}
	if cal.Version == 0 {
		saved, err = a.s.AddCalendar(r.Context(), cal)
		if err == nil {
			status = http.StatusCreated
		}
	}
	if cal.Version != 0 || errors.Is(err, sundial.ErrCalendarExists) {
		saved, err = a.s.UpdateCalendar(r.Context(), cal)
	}
	if err != nil {
		return err
	}
	action := "calendar.update"
	if status == http.StatusCreated {
		action = "calendar.create"
		w.Header().Set("Location", v1+"/calendars/"+saved.Name)
	}
	a.audit(r.Context(), action, saved.Name, calendarSummary(saved))
	w.Header().Set("ETag", calendarETag(saved))
	return writeJSON(w, status, saved)
}

func (a *API) deleteCalendar(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if version != 0 {
		stored, err := a.s.Calendar(r.Context(), name)
		if err != nil {
			return err
		}
		if stored.Version != version {
			return fmt.Errorf("calendar %q: have version %d, stored is %d: %w", name, version, stored.Version, sundial.ErrVersionConflict)
		}
	}
	if err := a.s.RemoveCalendar(r.Context(), name); err != nil {
		return err
	}
	a.audit(r.Context(), "calendar.delete", name, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// calendarSummary is what the audit log keeps of a calendar: its size,
// not every date.
func calendarSummary(c sundial.Calendar) map[string]any {
	return map[string]any{"version": c.Version, "holidays": len(c.Holidays), "working_days": len(c.WorkingDays)}
}

// ICSRequest asks to read the days of an iCalendar (.ics) file.
type ICSRequest struct {
	// ICS is the file's text.
	ICS string `json:"ics"`
	// WorkingDayPattern is a regular expression: events whose summary
	// matches are working days; empty means the default (补班, 上班,
	// working day, workday).
	WorkingDayPattern string `json:"working_day_pattern,omitempty"`
}

// ICSDays is what an iCalendar file holds, as a calendar's days: the
// answer of POST /calendars/ics, which stores nothing.
type ICSDays struct {
	Holidays    []sundial.CalendarDay `json:"holidays"`
	WorkingDays []sundial.CalendarDay `json:"working_days"`
	// Skipped says which events were not read, and why.
	Skipped []string `json:"skipped"`
}

func (a *API) readICS(w http.ResponseWriter, r *http.Request) error {
	var req ICSRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	var o icalendar.Options
	if req.WorkingDayPattern != "" {
		re, err := regexp.Compile(req.WorkingDayPattern)
		if err != nil {
			return badInput("working_day_pattern", "%q is not a regular expression: %v", req.WorkingDayPattern, err)
		}
		o.WorkingDay = re
	}
	if strings.TrimSpace(req.ICS) == "" {
		return badInput("ics", "required: the text of an iCalendar (.ics) file")
	}
	res, err := icalendar.Read(strings.NewReader(req.ICS), o)
	if err != nil {
		return badInput("ics", "%v", err)
	}
	return writeJSON(w, http.StatusOK, ICSDays{Holidays: append([]sundial.CalendarDay{}, res.Holidays...),
		WorkingDays: append([]sundial.CalendarDay{}, res.WorkingDays...), Skipped: append([]string{}, res.Skipped...)})
}
