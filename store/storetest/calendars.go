package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/sundialhq/sundial"
)

// testCalendars checks that calendars are kept whole — every day with its
// name, in order, in any script — and versioned like jobs.
func testCalendars(t *testing.T, s sundial.Store) {
	ctx := context.Background()
	cn := sundial.Calendar{
		Name:        "cn-holidays",
		Description: "中国法定节假日",
		Holidays:    []sundial.CalendarDay{{Date: "2026-10-01", Name: "国庆节"}, {Date: "2026-10-02"}},
		WorkingDays: []sundial.CalendarDay{{Date: "2026-10-10", Name: "国庆节 补班"}},
		Source:      "api",
	}
	created, err := s.CreateCalendar(ctx, cn, t0)
	if err != nil {
		t.Fatal(err)
	}
	if created.Version != 1 || !created.CreatedAt.Equal(t0) || !created.UpdatedAt.Equal(t0) {
		t.Fatalf("created = version %d, created %v, updated %v; want 1, %v, %v", created.Version, created.CreatedAt, created.UpdatedAt, t0, t0)
	}
	if _, err := s.CreateCalendar(ctx, cn, t0); !errors.Is(err, sundial.ErrCalendarExists) {
		t.Fatalf("second create: %v, want ErrCalendarExists", err)
	}
	got, err := s.GetCalendar(ctx, "cn-holidays")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Holidays, cn.Holidays) || !reflect.DeepEqual(got.WorkingDays, cn.WorkingDays) ||
		got.Description != cn.Description || got.Source != "api" || got.Version != 1 {
		t.Fatalf("got %+v, want the days of %+v at version 1", got, cn)
	}
	got.Holidays[0].Name = "changed by the caller"
	if again, _ := s.GetCalendar(ctx, "cn-holidays"); again.Holidays[0].Name != "国庆节" {
		t.Fatalf("the store kept the caller's change: %q", again.Holidays[0].Name)
	}

	stale := got
	got.Holidays = append(got.Holidays, sundial.CalendarDay{Date: "2026-10-03"})
	updated, err := s.UpdateCalendar(ctx, got, t0.Add(1))
	if err != nil {
		t.Fatal(err)
	}
	if updated.Version != 2 || !updated.CreatedAt.Equal(t0) {
		t.Fatalf("updated = version %d created %v; want 2, %v", updated.Version, updated.CreatedAt, t0)
	}
	if _, err := s.UpdateCalendar(ctx, stale, t0.Add(2)); !errors.Is(err, sundial.ErrVersionConflict) {
		t.Fatalf("stale update: %v, want ErrVersionConflict", err)
	}
	if _, err := s.UpdateCalendar(ctx, sundial.Calendar{Name: "nope", Version: 1}, t0); !errors.Is(err, sundial.ErrCalendarNotFound) {
		t.Fatalf("update of a missing calendar: %v, want ErrCalendarNotFound", err)
	}
	if got, _ := s.GetCalendar(ctx, "cn-holidays"); len(got.Holidays) != 3 || got.Version != 2 {
		t.Fatalf("after update: %d holidays at version %d, want 3 at 2", len(got.Holidays), got.Version)
	}

	if _, err := s.CreateCalendar(ctx, sundial.Calendar{Name: "a-empty"}, t0); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListCalendars(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "a-empty" || list[1].Name != "cn-holidays" || len(list[0].Holidays) != 0 {
		t.Fatalf("list = %+v, want a-empty (no days) then cn-holidays", list)
	}

	if err := s.DeleteCalendar(ctx, "cn-holidays"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCalendar(ctx, "cn-holidays"); !errors.Is(err, sundial.ErrCalendarNotFound) {
		t.Fatalf("second delete: %v, want ErrCalendarNotFound", err)
	}
	if _, err := s.GetCalendar(ctx, "cn-holidays"); !errors.Is(err, sundial.ErrCalendarNotFound) {
		t.Fatalf("get after delete: %v, want ErrCalendarNotFound", err)
	}
}
