package sundial_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/trigger"
)

// The bubble starts on Saturday 2000-01-01.
func day(d, h int) time.Time { return time.Date(2000, 1, d, h, 0, 0, 0, time.UTC) }

func fireDays(runs []sundial.Run) []int {
	var days []int
	for _, r := range runs {
		days = append(days, r.ScheduledAt.Day())
	}
	return days
}

func TestCalendarsRestrictAndReschedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "report", ok)
		cal, err := b.s.AddCalendar(b.ctx, sundial.Calendar{Name: "office",
			Holidays:    []sundial.CalendarDay{{Date: "2000-01-03", Name: "bridge day"}},
			WorkingDays: []sundial.CalendarDay{{Date: "2000-01-08", Name: "make-up Saturday"}}})
		if err != nil {
			t.Fatal(err)
		}
		spec := cron("0 9 * * *")
		spec.Calendar = &trigger.DayCalendar{Name: "office", Rule: trigger.Workdays}
		job := b.add(t, sundial.Job{ID: "daily", Task: "report", Trigger: spec})
		if got := job.Trigger.Calendar; got == nil || !slices.Equal(got.Holidays, []string{"2000-01-03"}) ||
			!slices.Equal(got.WorkingDays, []string{"2000-01-08"}) || got.Version != cal.Version {
			t.Fatalf("the stored trigger's calendar = %+v, want a copy of version %d's dates", got, cal.Version)
		}
		if spec.Calendar.Holidays != nil {
			t.Fatal("AddJob filled in the caller's spec")
		}
		if !job.NextRunAt.Equal(day(4, 9)) {
			t.Fatalf("first fire %v, want Tuesday the 4th (the weekend and the holiday on Monday skipped)", job.NextRunAt)
		}
		b.start(t)
		defer b.stop(t)
		time.Sleep(time.Until(day(10, 0)))
		if got := fireDays(b.runs(t, "daily")); !slices.Equal(got, []int{4, 5, 6, 7, 8}) {
			t.Fatalf("fired on %v, want Tuesday to Friday and the make-up Saturday", got)
		}

		cal.Holidays = append(cal.Holidays, sundial.CalendarDay{Date: "2000-01-11"})
		updated, err := b.s.UpdateCalendar(b.ctx, cal)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.s.UpdateCalendar(b.ctx, cal); !errors.Is(err, sundial.ErrVersionConflict) {
			t.Fatalf("an update of the version read before: %v, want ErrVersionConflict", err)
		}
		job, _ = b.s.Job(b.ctx, "daily")
		if job.Trigger.Calendar.Version != updated.Version || !slices.Contains(job.Trigger.Calendar.Holidays, "2000-01-11") {
			t.Fatalf("after the update the job's calendar is %+v, want version %d with the 11th", job.Trigger.Calendar, updated.Version)
		}
		time.Sleep(time.Until(day(13, 0)))
		if got := fireDays(b.runs(t, "daily")); !slices.Equal(got, []int{4, 5, 6, 7, 8, 10, 12}) {
			t.Fatalf("fired on %v, want the new holiday on the 11th skipped", got)
		}

		err = b.s.RemoveCalendar(b.ctx, "office")
		if !errors.Is(err, sundial.ErrCalendarInUse) || !strings.Contains(err.Error(), "daily") {
			t.Fatalf("removing a calendar a job names: %v, want ErrCalendarInUse naming the job", err)
		}
		if users, _ := b.s.CalendarJobs(b.ctx, "office"); !slices.Equal(users, []string{"daily"}) {
			t.Fatalf("CalendarJobs = %v", users)
		}
	})
}

func TestCalendarErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "report", ok)
		spec := trigger.Spec{Type: "or", Triggers: []trigger.Spec{cron("0 9 * * *"), cron("0 18 * * *")}}
		spec.Triggers[1].Calendar = &trigger.DayCalendar{Name: "nope"}
		_, err := b.s.AddJob(b.ctx, sundial.Job{ID: "j", Task: "report", Trigger: spec})
		var invalid *sundial.InvalidJobError
		if !errors.As(err, &invalid) || invalid.Field != "trigger.triggers[1].calendar.name" || !errors.Is(err, sundial.ErrCalendarNotFound) {
			t.Fatalf("a job naming no calendar: %v, want an invalid trigger.triggers[1].calendar.name matching ErrCalendarNotFound", err)
		}
		for _, tc := range []struct {
			cal   sundial.Calendar
			field string
		}{
			{sundial.Calendar{Name: "bad name"}, "name"},
			{sundial.Calendar{Name: "c", Holidays: []sundial.CalendarDay{{Date: "2000-13-01"}}}, "holidays[0].date"},
			{sundial.Calendar{Name: "c", Holidays: []sundial.CalendarDay{{Date: "2000-1-1"}}}, "holidays[0].date"},
			{sundial.Calendar{Name: "c", Holidays: []sundial.CalendarDay{{Date: "2000-01-01"}, {Date: "2000-01-01"}}}, "holidays[1].date"},
			{sundial.Calendar{Name: "c", Holidays: []sundial.CalendarDay{{Date: "2000-01-01"}},
				WorkingDays: []sundial.CalendarDay{{Date: "2000-01-01"}}}, "working_days[0].date"},
			{sundial.Calendar{Name: "c", Description: strings.Repeat("x", 1001)}, "description"},
		} {
			_, err := b.s.AddCalendar(b.ctx, tc.cal)
			var ic *sundial.InvalidCalendarError
			if !errors.As(err, &ic) || ic.Field != tc.field || !errors.Is(err, sundial.ErrInvalidCalendar) {
				t.Errorf("AddCalendar(%+v) = %v, want an invalid %s", tc.cal, err, tc.field)
			}
		}
		if cals, _ := b.s.Calendars(b.ctx); len(cals) != 0 {
			t.Fatalf("refused calendars were stored: %+v", cals)
		}
		if err := b.s.RemoveCalendar(b.ctx, "nope"); !errors.Is(err, sundial.ErrCalendarNotFound) {
			t.Fatalf("removing a missing calendar: %v", err)
		}
		if _, err := b.s.AddCalendar(b.ctx, sundial.Calendar{Name: "c"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.s.AddCalendar(b.ctx, sundial.Calendar{Name: "c"}); !errors.Is(err, sundial.ErrCalendarExists) {
			t.Fatalf("a second calendar of one name: %v, want ErrCalendarExists", err)
		}
		replaced, err := b.s.AddCalendar(b.ctx, sundial.Calendar{Name: "c", Description: "again"}, sundial.ReplaceExisting())
		if err != nil || replaced.Version != 2 || replaced.Description != "again" {
			t.Fatalf("ReplaceExisting: %+v, %v", replaced, err)
		}
	})
}

// A process that stopped between saving a calendar and rewriting its jobs
// leaves them to the next start.
func TestCalendarCopiesCaughtUpAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "report", ok)
		cal, err := b.s.AddCalendar(b.ctx, sundial.Calendar{Name: "office"})
		if err != nil {
			t.Fatal(err)
		}
		spec := cron("0 9 * * *")
		spec.Calendar = &trigger.DayCalendar{Name: "office", Rule: trigger.Workdays}
		if job := b.add(t, sundial.Job{ID: "daily", Task: "report", Trigger: spec}); !job.NextRunAt.Equal(day(3, 9)) {
			t.Fatalf("first fire %v, want Monday the 3rd", job.NextRunAt)
		}
		cal.Holidays = []sundial.CalendarDay{{Date: "2000-01-03"}}
		if _, err := b.store.UpdateCalendar(b.ctx, cal, time.Now()); err != nil { // the store only: the jobs are not rewritten
			t.Fatal(err)
		}
		b.start(t)
		defer b.stop(t)
		job, _ := b.s.Job(b.ctx, "daily")
		if job.Trigger.Calendar.Version != 2 || !job.NextRunAt.Equal(day(4, 9)) {
			t.Fatalf("after start: calendar version %d, next fire %v; want 2 and Tuesday the 4th", job.Trigger.Calendar.Version, job.NextRunAt)
		}
	})
}

// calendarRacingStore saves a new version of the calendar, as another
// replica's UpdateCalendar would, just before a job is written: that
// replica listed the jobs before this one existed.
type calendarRacingStore struct {
	*memstore.Store
	raced bool
}

func (s *calendarRacingStore) CreateJob(ctx context.Context, job sundial.Job, now time.Time) (sundial.Job, error) {
	if !s.raced {
		s.raced = true
		cal, _ := s.Store.GetCalendar(ctx, "office")
		cal.Holidays = []sundial.CalendarDay{{Date: "2000-01-04"}}
		if _, err := s.Store.UpdateCalendar(ctx, cal, now); err != nil {
			return sundial.Job{}, err
		}
	}
	return s.Store.CreateJob(ctx, job, now)
}

func TestCalendarSavedWhileAJobIsAdded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &calendarRacingStore{Store: memstore.New(memstore.Options{})}
		s, err := sundial.New(sundial.Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		s.Register("report", ok)
		ctx := context.Background()
		if _, err := s.AddCalendar(ctx, sundial.Calendar{Name: "office"}); err != nil {
			t.Fatal(err)
		}
		spec := cron("0 9 * * *")
		spec.Calendar = &trigger.DayCalendar{Name: "office", Rule: trigger.Workdays}
		job, err := s.AddJob(ctx, sundial.Job{ID: "daily", Task: "report", Trigger: spec})
		if err != nil {
			t.Fatal(err)
		}
		if job.Trigger.Calendar.Version != 2 || !slices.Equal(job.Trigger.Calendar.Holidays, []string{"2000-01-04"}) || !job.NextRunAt.Equal(day(3, 9)) {
			t.Fatalf("the job keeps calendar version %d %v, next fire %v; want version 2's holiday on the 4th, Monday the 3rd next",
				job.Trigger.Calendar.Version, job.Trigger.Calendar.Holidays, job.NextRunAt)
		}
	})
}

func TestBroadcastRefusesOverlapAllow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := setup(t, sundial.Config{})
		b.register(t, "report", ok)
		_, err := b.s.AddJob(b.ctx, sundial.Job{ID: "fan", Task: "report", Trigger: cron("* * * * *"),
			Options: sundial.JobOptions{Broadcast: true, Overlap: sundial.OverlapAllow}})
		var invalid *sundial.InvalidJobError
		if !errors.As(err, &invalid) || invalid.Field != "options.overlap" {
			t.Fatalf("a broadcast job with overlap allow: %v, want an invalid options.overlap", err)
		}
	})
}
