package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/icalendar"
)

// CalendarConfig is a calendar as the config file declares it: its days
// written out, or read from an iCalendar file, or both (the file's days
// first, then the ones written out).
type CalendarConfig struct {
	Name        string                `json:"name"`
	Description string                `json:"description,omitempty"`
	Holidays    []sundial.CalendarDay `json:"holidays,omitempty"`
	WorkingDays []sundial.CalendarDay `json:"working_days,omitempty"`
	// ICS is the path of an iCalendar (.ics) file, relative to the config
	// file; WorkingDayPattern is the regular expression of the summaries
	// of its working-day events (default: 补班, 上班, working day, workday).
	ICS               string `json:"ics,omitempty"`
	WorkingDayPattern string `json:"working_day_pattern,omitempty"`
}

// CalendarDocuments reads the config file's calendars, checked, each
// marked as the config's.
func (c Config) CalendarDocuments() ([]sundial.Calendar, error) {
	seen := map[string]int{}
	var out []sundial.Calendar
	for i, cc := range c.Calendars {
		where := fmt.Sprintf("config %s: calendars[%d]", c.File, i)
		if cc.Name != "" {
			where += fmt.Sprintf(" (name %q)", cc.Name)
		}
		cal := sundial.Calendar{Name: cc.Name, Description: cc.Description, Source: admin.SourceConfig}
		if cc.ICS != "" {
			days, err := c.icsDays(cc)
			if err != nil {
				return nil, fmt.Errorf("%s: setting \"ics\": %w", where, err)
			}
			cal.Holidays, cal.WorkingDays = days.Holidays, days.WorkingDays
		} else if cc.WorkingDayPattern != "" {
			return nil, fmt.Errorf("%s: setting \"working_day_pattern\" applies to an ics file only", where)
		}
		cal.Holidays = append(cal.Holidays, cc.Holidays...)
		cal.WorkingDays = append(cal.WorkingDays, cc.WorkingDays...)
		checked, err := cal.Normalize()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if prev, dup := seen[cal.Name]; dup {
			return nil, fmt.Errorf("%s: field \"name\": calendars[%d] has the same name", where, prev)
		}
		seen[cal.Name] = i
		out = append(out, checked)
	}
	return out, nil
}

// icsDays reads the days of a calendar's iCalendar file.
func (c Config) icsDays(cc CalendarConfig) (sundial.Calendar, error) {
	path := cc.ICS
	if !filepath.IsAbs(path) && c.File != "" {
		path = filepath.Join(filepath.Dir(c.File), path)
	}
	f, err := os.Open(path)
	if err != nil {
		return sundial.Calendar{}, err
	}
	defer f.Close()
	var o icalendar.Options
	if cc.WorkingDayPattern != "" {
		if o.WorkingDay, err = regexp.Compile(cc.WorkingDayPattern); err != nil {
			return sundial.Calendar{}, fmt.Errorf("working_day_pattern %q: %w", cc.WorkingDayPattern, err)
		}
	}
	res, err := icalendar.Read(f, o)
	if err != nil {
		return sundial.Calendar{}, fmt.Errorf("%s: %w", path, err)
	}
	return sundial.Calendar{Holidays: res.Holidays, WorkingDays: res.WorkingDays}, nil
}

// reconcileCalendars creates and updates the store's config calendars to
// match the file, as reconcile does for jobs, and before it: a job may name
// a calendar the same file declares. pruneCalendars, after the jobs,
// removes those the file no longer declares. Replicas starting together
// expect each other.
func reconcileCalendars(ctx context.Context, s *sundial.Scheduler, st admin.Store, file string, cals []sundial.Calendar, log *slog.Logger) error {
	audit := calendarAudit(ctx, st, file, log)
	for _, want := range cals {
		if err := reconcileCalendar(ctx, s, want, log, audit); err != nil {
			return fmt.Errorf("config %s: calendar %q: %w", file, want.Name, err)
		}
	}
	return nil
}

// pruneCalendars removes the config calendars the file no longer
// declares, after the jobs were reconciled: one that a job still names
// (a job of the API's) is kept, with a warning.
func pruneCalendars(ctx context.Context, s *sundial.Scheduler, st admin.Store, file string, cals []sundial.Calendar, log *slog.Logger) error {
	declared := map[string]bool{}
	for _, c := range cals {
		declared[c.Name] = true
	}
	audit := calendarAudit(ctx, st, file, log)
	stored, err := s.Calendars(ctx)
	if err != nil {
		return err
	}
	for _, c := range stored {
		if c.Source != admin.SourceConfig || declared[c.Name] {
			continue
		}
		err := s.RemoveCalendar(ctx, c.Name)
		switch {
		case errors.Is(err, sundial.ErrCalendarNotFound):
		case errors.Is(err, sundial.ErrCalendarInUse):
			log.Warn("calendar no longer in the config file is kept: jobs name it", "calendar", c.Name, "err", err)
		case err != nil:
			return fmt.Errorf("config: remove calendar %q, no longer in the file: %w", c.Name, err)
		default:
			log.Info("config calendar removed: no longer in the file", "calendar", c.Name)
			audit("calendar.delete", c)
		}
	}
	return nil
}

// calendarAudit returns a function that audits a change to a calendar as
// the config file's.
func calendarAudit(ctx context.Context, st admin.Store, file string, log *slog.Logger) func(string, sundial.Calendar) {
	actor := "config"
	if file != "" {
		actor = "config:" + file
	}
	return func(action string, c sundial.Calendar) {
		e := admin.AuditEntry{At: time.Now(), Actor: actor, Action: action, Target: c.Name}
		if _, err := st.AppendAudit(ctx, e); err != nil {
			log.Error("audit log write failed", "action", action, "calendar", c.Name, "err", err)
		}
	}
}

func reconcileCalendar(ctx context.Context, s *sundial.Scheduler, want sundial.Calendar, log *slog.Logger, audit func(string, sundial.Calendar)) error {
	var lastErr error
	for range reconcileAttempts {
		stored, err := s.Calendar(ctx, want.Name)
		switch {
		case errors.Is(err, sundial.ErrCalendarNotFound):
			created, err := s.AddCalendar(ctx, want)
			if errors.Is(err, sundial.ErrCalendarExists) {
				lastErr = err
				continue
			}
			if err != nil {
				return err
			}
			log.Info("config calendar created", "calendar", want.Name)
			audit("calendar.create", created)
			return nil
		case err != nil:
			return err
		case stored.Source == want.Source && stored.Description == want.Description &&
			slices.Equal(stored.Holidays, want.Holidays) && slices.Equal(stored.WorkingDays, want.WorkingDays):
			return nil
		}
		next := want
		next.Version = stored.Version
		updated, err := s.UpdateCalendar(ctx, next)
		if errors.Is(err, sundial.ErrVersionConflict) || errors.Is(err, sundial.ErrCalendarNotFound) {
			lastErr = err
			continue
		}
		if err != nil {
			return err
		}
		log.Info("config calendar updated", "calendar", want.Name, "version", updated.Version)
		audit("calendar.update", updated)
		return nil
	}
	return fmt.Errorf("still changing after %d attempts: %w", reconcileAttempts, lastErr)
}
