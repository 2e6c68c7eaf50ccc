package sundial

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Definitions are jobs and the calendars they name as their authors write
// them, without the state a store keeps: what Export returns and Import
// reads. Their JSON is the jobs and calendars of a server's export
// document (sundial jobs export), so jobs move between a program and a
// server either way.
type Definitions struct {
	Jobs      []Job      `json:"jobs"`
	Calendars []Calendar `json:"calendars,omitempty"`
}

// ImportOptions choose how Import treats the jobs and calendars a
// scheduler has already.
type ImportOptions struct {
	// DryRun reports what Import would do, and changes nothing.
	DryRun bool
	// Replace updates jobs and calendars that exist with another
	// definition; without it they are left as they are and reported
	// skipped.
	Replace bool
}

// ImportItem is what became of one thing an import named.
type ImportItem struct {
	// Kind is job or calendar (a server's import adds script and secret).
	Kind string `json:"kind"`
	// ID is the job's ID or the calendar's name.
	ID string `json:"id"`
	// Action is created, updated, unchanged or skipped (a server's import
	// adds missing).
	Action string `json:"action"`
	// Detail says why an item was skipped.
	Detail string `json:"detail,omitempty"`
}

// ImportReport lists what an import did, or with DryRun would do.
type ImportReport struct {
	DryRun bool         `json:"dry_run"`
	Items  []ImportItem `json:"items"`
}

// Export returns the definitions of the jobs that f selects (every page
// of them) and of the calendars they name. Jobs name their calendars and
// carry no copy of their dates; a job's state — next fire, version,
// times, why it was paused — is left out, whether it is paused is kept.
func (s *Scheduler) Export(ctx context.Context, f JobFilter) (Definitions, error) {
	d := Definitions{Jobs: []Job{}}
	names := map[string]bool{}
	for j, err := range s.allJobs(ctx, f) {
		if err != nil {
			return Definitions{}, fmt.Errorf("export: %w", err)
		}
		for _, n := range calendarNames(j.Trigger) {
			names[n] = true
		}
		d.Jobs = append(d.Jobs, Definition(j))
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		c, err := s.store.GetCalendar(ctx, name)
		if errors.Is(err, ErrCalendarNotFound) {
			continue // removed since: an import reports its name missing
		}
		if err != nil {
			return Definitions{}, fmt.Errorf("export: calendar %q: %w", name, err)
		}
		d.Calendars = append(d.Calendars, Calendar{Name: c.Name, Description: c.Description, Holidays: c.Holidays, WorkingDays: c.WorkingDays})
	}
	return d, nil
}

// Definition returns the job as its author writes it: without its state,
// and naming its calendars without copies of their dates.
func Definition(j Job) Job {
	j = j.Clone()
	j.Trigger = withoutCalendarDates(j.Trigger)
	j.NextRunAt, j.CreatedAt, j.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
	j.Version, j.PauseReason, j.Source = 0, "", ""
	return j
}

// Import brings definitions into the scheduler: the calendars first, then
// the jobs that may name them, each created, updated (with Replace),
// found unchanged or skipped, as the report says. Every job is checked
// before anything changes; otherwise it stops at the first failure,
// returning the report so far.
func (s *Scheduler) Import(ctx context.Context, d Definitions, o ImportOptions) (ImportReport, error) {
	rep := ImportReport{DryRun: o.DryRun, Items: []ImportItem{}}
	carried := map[string]bool{}
	for _, c := range d.Calendars {
		carried[c.Name] = true
	}
	for i, j := range d.Jobs {
		if j.ID == "" {
			return rep, &InvalidJobError{Field: fmt.Sprintf("jobs[%d].id", i), Err: errors.New("is required in an import, so that importing twice changes nothing")}
		}
		if _, err := s.check(ctx, &j, false); err != nil {
			return rep, fmt.Errorf("job %q: %w", j.ID, err)
		}
		for _, name := range calendarNames(j.Trigger) {
			if carried[name] {
				continue
			}
			if _, err := s.store.GetCalendar(ctx, name); err != nil {
				return rep, fmt.Errorf("job %q: %w", j.ID, &InvalidJobError{Field: "trigger.calendar.name",
					Err: fmt.Errorf("calendar %q is neither in the import nor here: %w", name, err)})
			}
		}
		if err := s.checkChains(ctx, &j); err != nil {
			return rep, fmt.Errorf("job %q: %w", j.ID, err)
		}
	}
	for _, c := range d.Calendars {
		item, err := s.ImportCalendar(ctx, c, o)
		if err != nil {
			return rep, err
		}
		rep.Items = append(rep.Items, item)
	}
	for _, j := range d.Jobs {
		item, err := s.ImportJob(ctx, j, o)
		if err != nil {
			return rep, err
		}
		rep.Items = append(rep.Items, item)
	}
	return rep, nil
}

// ImportCalendar creates the calendar, or with Replace replaces one of
// that name whose description or days differ (rescheduling its jobs), and
// says which.
func (s *Scheduler) ImportCalendar(ctx context.Context, c Calendar, o ImportOptions) (ImportItem, error) {
	item := ImportItem{Kind: "calendar", ID: c.Name}
	want, err := c.Normalize()
	if err != nil {
		return item, fmt.Errorf("calendar %q: %w", c.Name, err)
	}
	have, err := s.store.GetCalendar(ctx, c.Name)
	switch {
	case errors.Is(err, ErrCalendarNotFound):
		item.Action = "created"
		if o.DryRun {
			return item, nil
		}
		want.Version = 0
		_, err = s.AddCalendar(ctx, want)
		return item, err
	case err != nil:
		return item, fmt.Errorf("calendar %q: %w", c.Name, err)
	case have.Description == want.Description && slices.Equal(have.Holidays, want.Holidays) && slices.Equal(have.WorkingDays, want.WorkingDays):
		item.Action = "unchanged"
		return item, nil
	case !o.Replace:
		item.Action, item.Detail = "skipped", "exists with other days; import with replace to update it (its jobs are rescheduled)"
		return item, nil
	}
	item.Action = "updated"
	if o.DryRun {
		return item, nil
	}
	want.Version, want.Source = have.Version, have.Source
	_, err = s.UpdateCalendar(ctx, want)
	return item, err
}

// ImportJob creates the job, or with Replace updates one of that ID whose
// definition differs, and says which. An interval written without a start
// matches the same interval stored with the start it was pinned to.
func (s *Scheduler) ImportJob(ctx context.Context, job Job, o ImportOptions) (ImportItem, error) {
	item := ImportItem{Kind: "job", ID: job.ID}
	// A dry run checks what the real one would: the task, args, trigger
	// and options.
	if _, err := s.check(ctx, &job, false); err != nil {
		return item, fmt.Errorf("job %q: %w", job.ID, err)
	}
	have, err := s.store.GetJob(ctx, job.ID)
	switch {
	case errors.Is(err, ErrJobNotFound):
		item.Action = "created"
		if o.DryRun {
			return item, nil
		}
		if _, err := s.AddJob(ctx, job); err != nil {
			return item, fmt.Errorf("job %q: %w", job.ID, err)
		}
		return item, nil
	case err != nil:
		return item, fmt.Errorf("job %q: %w", job.ID, err)
	}
	if job.Trigger.Type == "interval" && have.Trigger.Type == "interval" && job.Trigger.StartDate == "" {
		job.Trigger.StartDate = have.Trigger.StartDate
	}
	if sameDefinition(Definition(have), Definition(job)) {
		item.Action = "unchanged"
		return item, nil
	}
	if !o.Replace {
		item.Action, item.Detail = "skipped", "exists with a different definition; import with replace to update it"
		return item, nil
	}
	item.Action = "updated"
	if o.DryRun {
		return item, nil
	}
	job.Version, job.Source = have.Version, ""
	updated, err := s.UpdateJob(ctx, job)
	if err == nil && job.Paused != updated.Paused {
		change := s.ResumeJob
		if job.Paused {
			change = s.PauseJob
		}
		_, err = change(ctx, job.ID)
	}
	if err != nil {
		return item, fmt.Errorf("job %q: %w", job.ID, err)
	}
	return item, nil
}

// sameDefinition compares two definitions as JSON values, so that the
// order of object keys and the spelling of numbers do not count.
func sameDefinition(a, b Job) bool {
	norm := func(j Job) string {
		raw, _ := json.Marshal(j)
		var v any
		_ = json.Unmarshal(raw, &v)
		out, _ := json.Marshal(v)
		return string(out)
	}
	return norm(a) == norm(b)
}
