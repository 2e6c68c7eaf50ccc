package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sundialhq/sundial"
)

const calendarCols = `name, description, holidays, working_days, source, version, created_at, updated_at`

func scanCalendar(row scanner) (sundial.Calendar, error) {
	var c sundial.Calendar
	var holidays, working string
	var created, updated sql.NullInt64
	if err := row.Scan(&c.Name, &c.Description, &holidays, &working, &c.Source, &c.Version, &created, &updated); err != nil {
		return sundial.Calendar{}, err
	}
	if err := json.Unmarshal([]byte(holidays), &c.Holidays); err != nil {
		return sundial.Calendar{}, fmt.Errorf("calendar %q: holidays: %w", c.Name, err)
	}
	if err := json.Unmarshal([]byte(working), &c.WorkingDays); err != nil {
		return sundial.Calendar{}, fmt.Errorf("calendar %q: working_days: %w", c.Name, err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

func calendarDays(c sundial.Calendar) (holidays, working string, err error) {
	days := func(d []sundial.CalendarDay) (string, error) {
		if len(d) == 0 {
			return "[]", nil
		}
		b, err := json.Marshal(d)
		return string(b), err
	}
	if holidays, err = days(c.Holidays); err != nil {
		return "", "", err
	}
	working, err = days(c.WorkingDays)
	return holidays, working, err
}

// CreateCalendar implements sundial.CalendarStore.
func (s *Store) CreateCalendar(ctx context.Context, cal sundial.Calendar, now time.Time) (sundial.Calendar, error) {
	if cal.Name == "" {
		return sundial.Calendar{}, errors.New("sqlstore: calendar name is empty")
	}
	holidays, working, err := calendarDays(cal)
	if err != nil {
		return sundial.Calendar{}, fmt.Errorf("encode calendar %q: %w", cal.Name, err)
	}
	now = now.Truncate(time.Microsecond)
	_, err = s.db.ExecContext(ctx, s.rebind(`INSERT INTO sundial_calendars (`+calendarCols+`) VALUES (?, ?, ?, ?, ?, 1, ?, ?)`),
		cal.Name, cal.Description, holidays, working, cal.Source, micros(now), micros(now))
	if err != nil {
		if s.d.IsUniqueViolation(err) {
			return sundial.Calendar{}, sundial.ErrCalendarExists
		}
		return sundial.Calendar{}, fmt.Errorf("%s: create calendar %q: %w", s.d.Name, cal.Name, err)
	}
	cal = cal.Clone()
	cal.Version, cal.CreatedAt, cal.UpdatedAt = 1, now.UTC(), now.UTC()
	return cal, nil
}

// UpdateCalendar implements sundial.CalendarStore.
func (s *Store) UpdateCalendar(ctx context.Context, cal sundial.Calendar, now time.Time) (sundial.Calendar, error) {
	holidays, working, err := calendarDays(cal)
	if err != nil {
		return sundial.Calendar{}, fmt.Errorf("encode calendar %q: %w", cal.Name, err)
	}
	now = now.Truncate(time.Microsecond)
	var created sql.NullInt64
	err = s.db.QueryRowContext(ctx, s.rebind(`UPDATE sundial_calendars SET description = ?, holidays = ?, working_days = ?, source = ?,
		version = version + 1, updated_at = ? WHERE name = ? AND version = ? RETURNING created_at`),
		cal.Description, holidays, working, cal.Source, micros(now), cal.Name, cal.Version).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.GetCalendar(ctx, cal.Name); err != nil {
			return sundial.Calendar{}, err
		}
		return sundial.Calendar{}, sundial.ErrVersionConflict
	}
	if err != nil {
		return sundial.Calendar{}, fmt.Errorf("%s: update calendar %q: %w", s.d.Name, cal.Name, err)
	}
	cal = cal.Clone()
	cal.Version++
	cal.CreatedAt, cal.UpdatedAt = fromMicros(created), now.UTC()
	return cal, nil
}

// DeleteCalendar implements sundial.CalendarStore.
func (s *Store) DeleteCalendar(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sundial_calendars WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("%s: delete calendar %q: %w", s.d.Name, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sundial.ErrCalendarNotFound
	}
	return nil
}

// GetCalendar implements sundial.CalendarStore.
func (s *Store) GetCalendar(ctx context.Context, name string) (sundial.Calendar, error) {
	c, err := scanCalendar(s.db.QueryRowContext(ctx, s.rebind(`SELECT `+calendarCols+` FROM sundial_calendars WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return sundial.Calendar{}, sundial.ErrCalendarNotFound
	}
	if err != nil {
		return sundial.Calendar{}, fmt.Errorf("%s: get calendar %q: %w", s.d.Name, name, err)
	}
	return c, nil
}

// ListCalendars implements sundial.CalendarStore.
func (s *Store) ListCalendars(ctx context.Context) ([]sundial.Calendar, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+calendarCols+` FROM sundial_calendars ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("%s: list calendars: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []sundial.Calendar
	for rows.Next() {
		c, err := scanCalendar(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: list calendars: %w", s.d.Name, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: list calendars: %w", s.d.Name, err)
	}
	return out, nil
}
