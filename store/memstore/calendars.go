package memstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/sundialhq/sundial"
)

// CreateCalendar implements sundial.CalendarStore.
func (s *Store) CreateCalendar(_ context.Context, cal sundial.Calendar, now time.Time) (sundial.Calendar, error) {
	if cal.Name == "" {
		return sundial.Calendar{}, errors.New("memstore: calendar name is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.calendars[cal.Name]; ok {
		return sundial.Calendar{}, sundial.ErrCalendarExists
	}
	cal = cal.Clone()
	cal.Version, cal.CreatedAt, cal.UpdatedAt = 1, now, now
	s.calendars[cal.Name] = cal
	return cal.Clone(), nil
}

// UpdateCalendar implements sundial.CalendarStore.
func (s *Store) UpdateCalendar(_ context.Context, cal sundial.Calendar, now time.Time) (sundial.Calendar, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, ok := s.calendars[cal.Name]
	switch {
	case !ok:
		return sundial.Calendar{}, sundial.ErrCalendarNotFound
	case stored.Version != cal.Version:
		return sundial.Calendar{}, sundial.ErrVersionConflict
	}
	cal = cal.Clone()
	cal.Version, cal.CreatedAt, cal.UpdatedAt = stored.Version+1, stored.CreatedAt, now
	s.calendars[cal.Name] = cal
	return cal.Clone(), nil
}

// DeleteCalendar implements sundial.CalendarStore.
func (s *Store) DeleteCalendar(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.calendars[name]; !ok {
		return sundial.ErrCalendarNotFound
	}
	delete(s.calendars, name)
	return nil
}

// GetCalendar implements sundial.CalendarStore.
func (s *Store) GetCalendar(_ context.Context, name string) (sundial.Calendar, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cal, ok := s.calendars[name]
	if !ok {
		return sundial.Calendar{}, sundial.ErrCalendarNotFound
	}
	return cal.Clone(), nil
}

// ListCalendars implements sundial.CalendarStore.
func (s *Store) ListCalendars(_ context.Context) ([]sundial.Calendar, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sundial.Calendar, 0, len(s.calendars))
	for _, cal := range s.calendars {
		out = append(out, cal.Clone())
	}
	slices.SortFunc(out, func(a, b sundial.Calendar) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
