package sundial

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sundialhq/sundial/trigger"
)

// Calendar is a named list of days that triggers refer to (trigger.DayCalendar):
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
	// concurrency and to tell jobs' copies apart; zero in a definition
	// (Scheduler.Export).
	Version int64 `json:"version,omitempty"`
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
	if n := len(c.Holidays) + len(c.WorkingDays); n > trigger.MaxCalendarDates {
		return Calendar{}, invalidCalendar("holidays", "%d days is more than %d", n, trigger.MaxCalendarDates)
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

// AddCalendar checks and stores a new calendar (see Calendar.Normalize for
// the rules), or with ReplaceExisting replaces the stored calendar of that
// name, as UpdateCalendar does, rewriting the jobs that name it.
func (s *Scheduler) AddCalendar(ctx context.Context, cal Calendar, opts ...AddOption) (Calendar, error) {
	var o addOptions
	for _, opt := range opts {
		opt(&o)
	}
	cal, err := cal.Normalize()
	if err != nil {
		return Calendar{}, err
	}
	created, err := s.store.CreateCalendar(ctx, cal, s.now())
	if errors.Is(err, ErrCalendarExists) && o.replace {
		cal.Version = 0
		return s.UpdateCalendar(ctx, cal)
	}
	if err != nil {
		return Calendar{}, fmt.Errorf("add calendar %q: %w", cal.Name, err)
	}
	// Jobs may still name an earlier calendar of this name, with a copy
	// whose version this one's restarts from.
	s.syncCalendarJobs(context.WithoutCancel(ctx), map[string]Calendar{created.Name: created}, true)
	return created, nil
}

// UpdateCalendar replaces a calendar's description and days, and rewrites
// the copy of its dates in every job that names it, recomputing their next
// fires. A non-zero cal.Version must equal the stored one
// (ErrVersionConflict). A job that cannot be rewritten now (the store
// failed) is logged and rewritten when a scheduler next starts.
func (s *Scheduler) UpdateCalendar(ctx context.Context, cal Calendar) (Calendar, error) {
	cal, err := cal.Normalize()
	if err != nil {
		return Calendar{}, err
	}
	pinned := cal.Version
	for range 10 {
		if pinned == 0 {
			stored, err := s.store.GetCalendar(ctx, cal.Name)
			if err != nil {
				return Calendar{}, fmt.Errorf("update calendar %q: %w", cal.Name, err)
			}
			cal.Version, cal.CreatedAt = stored.Version, stored.CreatedAt
		}
		updated, err := s.store.UpdateCalendar(ctx, cal, s.now())
		if errors.Is(err, ErrVersionConflict) && pinned == 0 {
			continue
		}
		if err != nil {
			return Calendar{}, fmt.Errorf("update calendar %q: %w", cal.Name, err)
		}
		// The jobs are rewritten even when the caller has gone: a request
		// cut short must not leave half of them behind.
		s.syncCalendarJobs(context.WithoutCancel(ctx), map[string]Calendar{updated.Name: updated}, false)
		return updated, nil
	}
	return Calendar{}, fmt.Errorf("update calendar %q: %w", cal.Name, ErrVersionConflict)
}

// RemoveCalendar deletes a calendar that no job names; otherwise it fails
// with ErrCalendarInUse, naming the jobs.
func (s *Scheduler) RemoveCalendar(ctx context.Context, name string) error {
	users, err := s.CalendarJobs(ctx, name)
	if err != nil {
		return fmt.Errorf("remove calendar %q: %w", name, err)
	}
	if len(users) > 0 {
		const shown = 10
		list := strings.Join(users[:min(len(users), shown)], ", ")
		if len(users) > shown {
			list += fmt.Sprintf(" and %d more", len(users)-shown)
		}
		return fmt.Errorf("remove calendar %q: the triggers of %s name it: change them first: %w", name, list, ErrCalendarInUse)
	}
	if err := s.store.DeleteCalendar(ctx, name); err != nil {
		return fmt.Errorf("remove calendar %q: %w", name, err)
	}
	return nil
}

// Calendar returns one calendar or ErrCalendarNotFound.
func (s *Scheduler) Calendar(ctx context.Context, name string) (Calendar, error) {
	cal, err := s.store.GetCalendar(ctx, name)
	if err != nil {
		return Calendar{}, fmt.Errorf("calendar %q: %w", name, err)
	}
	return cal, nil
}

// Calendars returns every calendar, ordered by name.
func (s *Scheduler) Calendars(ctx context.Context) ([]Calendar, error) {
	return s.store.ListCalendars(ctx)
}

// CalendarJobs returns the IDs of the jobs whose triggers name the
// calendar, in ID order.
func (s *Scheduler) CalendarJobs(ctx context.Context, name string) ([]string, error) {
	jobs, err := s.store.ListJobs(ctx, JobFilter{})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, j := range jobs {
		if slices.Contains(calendarNames(j.Trigger), name) {
			ids = append(ids, j.ID)
		}
	}
	return ids, nil
}

// ResolveCalendars returns the spec with the dates of every calendar it
// names filled in from the store, as AddJob and UpdateJob do: the form in
// which a trigger can be built and previewed. A calendar that does not
// exist is an *InvalidJobError naming the field, matching
// ErrCalendarNotFound.
func (s *Scheduler) ResolveCalendars(ctx context.Context, spec trigger.Spec) (trigger.Spec, error) {
	spec = cloneSpec(spec)
	err := s.resolveCalendars(ctx, &spec)
	return spec, err
}

// resolveCalendars is ResolveCalendars in place, on a spec that shares no
// memory with others (ownSpec).
func (s *Scheduler) resolveCalendars(ctx context.Context, spec *trigger.Spec) error {
	if !mayHaveCalendars(spec) {
		return nil
	}
	return eachCalendar(spec, "trigger", func(path string, d *trigger.DayCalendar) error {
		if d.Name == "" {
			return nil
		}
		cal, err := s.store.GetCalendar(ctx, d.Name)
		if errors.Is(err, ErrCalendarNotFound) {
			return &InvalidJobError{Field: path + ".name", Err: fmt.Errorf("no calendar is named %q: %w", d.Name, ErrCalendarNotFound)}
		}
		if err != nil {
			return fmt.Errorf("calendar %q: %w", d.Name, err)
		}
		d.Holidays, d.WorkingDays = cal.Dates()
		d.Version = cal.Version
		return nil
	})
}

// syncCalendarJobs rewrites the jobs whose copy of one of the calendars
// is older than the calendar — or, with exact (a calendar just created,
// perhaps under a name an earlier calendar had), differs from it at all. A
// copy newer than the calendar given is left alone: another sync, of a
// later version, got there first.
func (s *Scheduler) syncCalendarJobs(ctx context.Context, cals map[string]Calendar, exact bool) {
	jobs, err := s.store.ListJobs(ctx, JobFilter{})
	if err != nil {
		s.log.Warn("calendars changed, but the jobs naming them could not be listed; they are rewritten at the next start",
			"error", err)
		return
	}
	for _, j := range jobs {
		if copiesStale(j.Trigger, cals, exact) {
			s.rewriteCopies(ctx, j.ID, cals, exact)
		}
	}
}

// copiesStale reports whether the spec holds a copy of one of the
// calendars that syncCalendarJobs would rewrite.
func copiesStale(spec trigger.Spec, cals map[string]Calendar, exact bool) bool {
	found := false
	eachCalendar(&spec, "", func(_ string, d *trigger.DayCalendar) error {
		cal, ok := cals[d.Name]
		if !ok || d.Name == "" {
			return nil
		}
		holidays, working := cal.Dates()
		same := d.Version == cal.Version && slices.Equal(d.Holidays, holidays) && slices.Equal(d.WorkingDays, working)
		if d.Version < cal.Version || (exact && !same) {
			found = true
		}
		return nil
	})
	return found
}

// errCopiesCurrent stops a rewrite that another writer made unneeded.
var errCopiesCurrent = errors.New("the job's calendar copies are current")

// rewriteCopies puts the calendars' dates into the job's trigger. A job
// whose next fire is ahead is rescheduled from now; one that is due (its
// fire not yet claimed), waiting for its run to end (fixed delay) or
// finished keeps its state, so that no fire is dropped or re-armed.
func (s *Scheduler) rewriteCopies(ctx context.Context, id string, cals map[string]Calendar, exact bool) {
	_, err := s.modify(ctx, id, 0, func(stored *Job) error {
		if !copiesStale(stored.Trigger, cals, exact) {
			return errCopiesCurrent
		}
		eachCalendar(&stored.Trigger, "", func(_ string, d *trigger.DayCalendar) error {
			if cal, ok := cals[d.Name]; ok && d.Name != "" {
				d.Holidays, d.WorkingDays = cal.Dates()
				d.Version = cal.Version
			}
			return nil
		})
		t, err := stored.Trigger.Build()
		if err != nil {
			return err
		}
		if now := s.now(); stored.NextRunAt.After(now) {
			stored.NextRunAt = s.firstFire(stored, t, now, false)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errCopiesCurrent) && !errors.Is(err, ErrJobNotFound) {
		s.log.Warn("a job's copy of its calendar could not be rewritten; it is retried at the next start",
			"job_id", id, "error", err)
	}
}

// catchUpCalendars rewrites a job just written whose calendar copies a
// calendar saved meanwhile made old: that save listed the jobs before this
// one was written, so it did not rewrite it. Between the two — the save
// listing after the write, or this read after the save — no job is missed.
// The job is changed in place to the rewritten one.
func (s *Scheduler) catchUpCalendars(ctx context.Context, job *Job) {
	if !mayHaveCalendars(&job.Trigger) {
		return
	}
	names := calendarNames(job.Trigger)
	if len(names) == 0 {
		return
	}
	cals := map[string]Calendar{}
	for _, n := range names {
		if c, err := s.store.GetCalendar(ctx, n); err == nil {
			cals[n] = c
		}
	}
	if !copiesStale(job.Trigger, cals, false) {
		return
	}
	s.rewriteCopies(context.WithoutCancel(ctx), job.ID, cals, false)
	if j, err := s.store.GetJob(ctx, job.ID); err == nil {
		*job = j
	}
}

// syncCalendars rewrites the jobs left with an old copy of a calendar by a
// process that stopped between saving the calendar and rewriting them.
func (s *Scheduler) syncCalendars(ctx context.Context) {
	cals, err := s.store.ListCalendars(ctx)
	if err != nil || len(cals) == 0 {
		if err != nil {
			s.log.Warn("calendars could not be listed at start", "error", err)
		}
		return
	}
	byName := make(map[string]Calendar, len(cals))
	for _, c := range cals {
		byName[c.Name] = c
	}
	s.syncCalendarJobs(ctx, byName, false)
}

// withoutCalendarDates returns a copy of the spec in which every named
// calendar carries its name and rule alone, as a person writes it: the
// form in which a job travels to another server, whose own calendar of
// that name fills the dates in again.
func withoutCalendarDates(spec trigger.Spec) trigger.Spec {
	spec = cloneSpec(spec)
	eachCalendar(&spec, "", func(_ string, d *trigger.DayCalendar) error {
		if d.Name != "" {
			d.Holidays, d.WorkingDays, d.Version = nil, nil, 0
		}
		return nil
	})
	return spec
}

// calendarNames returns the names of the calendars a spec refers to.
func calendarNames(spec trigger.Spec) []string {
	var names []string
	eachCalendar(&spec, "", func(_ string, d *trigger.DayCalendar) error {
		if d.Name != "" && !slices.Contains(names, d.Name) {
			names = append(names, d.Name)
		}
		return nil
	})
	return names
}

// mayHaveCalendars reports whether the spec has a calendar or parts that
// may: most jobs have neither, and their adds then skip the walk over the
// spec (eachCalendar), its copy and its closure.
func mayHaveCalendars(spec *trigger.Spec) bool {
	return spec.Calendar != nil || len(spec.Triggers) > 0
}

// eachCalendar calls fn with every calendar of the spec and of its parts,
// and each one's JSON path below prefix, stopping at fn's first error.
// The spec's parts are changed in place: clone the spec first when it is
// shared.
func eachCalendar(spec *trigger.Spec, prefix string, fn func(path string, d *trigger.DayCalendar) error) error {
	if spec.Calendar != nil {
		if err := fn(prefix+".calendar", spec.Calendar); err != nil {
			return err
		}
	}
	for i := range spec.Triggers {
		if err := eachCalendar(&spec.Triggers[i], fmt.Sprintf("%s.triggers[%d]", prefix, i), fn); err != nil {
			return err
		}
	}
	return nil
}
