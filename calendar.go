package sundial

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// Calendar is a named list of days that triggers refer to (trigger.Days):
// holidays, and working days that fall on a weekend — China's 调休, a
// Saturday or Sunday worked to make up for a bridged holiday. A job that
// names a calendar carries a copy of its dates in its trigger, so that a
// claim needs nothing but the job; changing the calendar rewrites those
// copies (Scheduler.UpdateCalendar).
type Calendar struct {
	// Name identifies the calendar; it follows the rule of job IDs.
	Name string `json:"name"`
	// Description is for people.
	Description string `json:"description,omitempty"`
	// Holidays are the days off, in date order.
	Holidays []CalendarDay `json:"holidays,omitempty"`
	// WorkingDays are the days worked although they fall on a weekend,
	// in date order; the workdays and rest_days rules read them.
	WorkingDays []CalendarDay `json:"working_days,omitempty"`
	// Source says who manages the calendar, as Job.Source does: "" for a
	// program, "api" or "config" for a server.
	Source string `json:"source,omitempty"`
	// Version increases with every change (state), for optimistic
	// concurrency and to tell jobs' copies apart.
	Version int64 `json:"version"`
	// CreatedAt and UpdatedAt are kept by the store (state).
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// CalendarDay is one day of a calendar: a date written 2006-01-02, and
// optionally what it is ("National Day"). In JSON it is that object or the
// date alone, "2026-10-01".
type CalendarDay struct {
	Date string `json:"date"`
	Name string `json:"name,omitempty"`
}

// UnmarshalJSON reads a day written as {"date": …, "name": …} or as the
// date alone.
func (d *CalendarDay) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		*d = CalendarDay{}
		return json.Unmarshal(b, &d.Date)
	}
	type plain CalendarDay
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*d = CalendarDay(p)
	return nil
}

// Clone returns a copy of the calendar that shares no memory with it.
func (c Calendar) Clone() Calendar {
	c.Holidays = slices.Clone(c.Holidays)
	c.WorkingDays = slices.Clone(c.WorkingDays)
	return c
}

// Dates returns the calendar's holidays and working days as the dates
// alone, the form a trigger carries.
func (c Calendar) Dates() (holidays, workingDays []string) {
	dates := func(days []CalendarDay) []string {
		if len(days) == 0 {
			return nil
		}
		out := make([]string, len(days))
		for i, d := range days {
			out[i] = d.Date
		}
		return out
	}
	return dates(c.Holidays), dates(c.WorkingDays)
}

// Limits of a calendar, so that one stored calendar (and every job's copy
// of it) stays small.
const (
	// MaxCalendarDays bounds a calendar's holidays and working days
	// together: a century of any country's public holidays fits.
	MaxCalendarDays    = 10000
	maxCalendarText    = 1000 // bytes of a description
	maxCalendarDayText = 200  // bytes of a day's name
)

// CalendarStore keeps calendars. Every Store is one: calendars change when
// jobs fire, so they live where the jobs do, and all replicas see one list.
type CalendarStore interface {
	// CreateCalendar stores a new calendar with Version 1 and
	// CreatedAt/UpdatedAt set, or returns ErrCalendarExists.
	CreateCalendar(ctx context.Context, cal Calendar, now time.Time) (Calendar, error)
	// UpdateCalendar replaces a calendar whose stored Version equals
	// cal.Version and returns it with the version increased;
	// ErrVersionConflict if the versions differ, ErrCalendarNotFound if
	// there is no such calendar.
	UpdateCalendar(ctx context.Context, cal Calendar, now time.Time) (Calendar, error)
	// DeleteCalendar removes a calendar, or returns ErrCalendarNotFound.
	DeleteCalendar(ctx context.Context, name string) error
	// GetCalendar returns one calendar or ErrCalendarNotFound.
	GetCalendar(ctx context.Context, name string) (Calendar, error)
	// ListCalendars returns every calendar, ordered by name.
	ListCalendars(ctx context.Context) ([]Calendar, error)
}

// Errors about calendars, checkable with errors.Is.
var (
	// ErrCalendarNotFound: no calendar has the name.
	ErrCalendarNotFound = errors.New("calendar not found")
	// ErrCalendarExists: a calendar with the name exists and
	// ReplaceExisting was not given.
	ErrCalendarExists = errors.New("calendar already exists")
	// ErrCalendarInUse: jobs' triggers name the calendar, so it cannot be
	// removed.
	ErrCalendarInUse = errors.New("calendar is used by jobs")
	// ErrInvalidCalendar: a calendar field is invalid; the error is an
	// *InvalidCalendarError.
	ErrInvalidCalendar = errors.New("invalid calendar")
)

// InvalidCalendarError names the calendar field at fault and what is wrong
// with it.
type InvalidCalendarError struct {
	// Field is the field's JSON path, such as "holidays[3].date".
	Field string
	// Err describes the problem.
	Err error
}

// Error returns "invalid calendar: field F: problem".
func (e *InvalidCalendarError) Error() string {
	return fmt.Sprintf("invalid calendar: field %q: %v", e.Field, e.Err)
}

// Unwrap returns the cause.
func (e *InvalidCalendarError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalidCalendar) true.
func (e *InvalidCalendarError) Is(target error) bool { return target == ErrInvalidCalendar }

func invalidCalendar(field, format string, args ...any) error {
	return &InvalidCalendarError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Normalize checks the calendar and returns it with its days in date
// order: a date is a real day written 2006-01-02, listed once, and not
// both a holiday and a working day.
func (c Calendar) Normalize() (Calendar, error) {
	if err := validID(c.Name); err != nil {
		var ie *InvalidJobError
		if errors.As(err, &ie) {
			return Calendar{}, &InvalidCalendarError{Field: "name", Err: ie.Err}
		}
		return Calendar{}, err
	}
	if len(c.Description) > maxCalendarText {
		return Calendar{}, invalidCalendar("description", "%d bytes is longer than %d", len(c.Description), maxCalendarText)
	}
	if n := len(c.Holidays) + len(c.WorkingDays); n > MaxCalendarDays {
		return Calendar{}, invalidCalendar("holidays", "%d days is more than %d", n, MaxCalendarDays)
	}
	c = c.Clone()
	seen := make(map[string]string, len(c.Holidays)+len(c.WorkingDays))
	for _, list := range []struct {
		field string
		days  []CalendarDay
	}{{"holidays", c.Holidays}, {"working_days", c.WorkingDays}} {
		for i, d := range list.days {
			at := fmt.Sprintf("%s[%d]", list.field, i)
			if _, err := time.Parse(time.DateOnly, d.Date); err != nil || len(d.Date) != len(time.DateOnly) {
				return Calendar{}, invalidCalendar(at+".date", "%q is not a date written 2006-01-02", d.Date)
			}
			if len(d.Name) > maxCalendarDayText || !utf8.ValidString(d.Name) {
				return Calendar{}, invalidCalendar(at+".name", "must be valid UTF-8 of at most %d bytes", maxCalendarDayText)
			}
			if prev, dup := seen[d.Date]; dup {
				return Calendar{}, invalidCalendar(at+".date", "%s is already listed in %s", d.Date, prev)
			}
			seen[d.Date] = at
		}
		slices.SortFunc(list.days, func(a, b CalendarDay) int { return cmp.Compare(a.Date, b.Date) })
	}
	return c, nil
}
