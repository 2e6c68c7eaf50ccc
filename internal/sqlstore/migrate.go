package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sundialhq/sundial/trigger"
)

// Migrate applies, in order, the migrations in fsys that the database has
// not applied yet. Files are named NNNN_description.sql; each runs in its
// own transaction together with the row that records it, so a migration is
// applied whole or not at all. lock, when not nil, serialises migrators
// across processes (PostgreSQL takes an advisory lock); it runs on the
// connection the migrations use. Applying is idempotent: a second process
// that waited for the lock finds the work done.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, fsys fs.FS, lock func(ctx context.Context, conn *sql.Conn) (unlock func(), err error)) error {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", d.Name, err)
	}
	defer conn.Close()
	if lock != nil {
		unlock, err := lock(ctx, conn)
		if err != nil {
			return fmt.Errorf("%s: migrate: lock: %w", d.Name, err)
		}
		defer unlock()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sundial_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("%s: migrate: %w", d.Name, err)
	}
	s := &Store{d: d}
	var all []migration
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("%s: migration %s: name must start with a number", d.Name, name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		all = append(all, migration{version: version, name: name, apply: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, string(body))
			return err
		}})
	}
	for _, m := range goMigrations {
		all = append(all, migration{version: m.version, name: m.name, apply: func(ctx context.Context, tx *sql.Tx) error {
			return m.apply(ctx, tx, s)
		}})
	}
	slices.SortFunc(all, func(a, b migration) int { return a.version - b.version })
	for _, m := range all {
		if err := applyOne(ctx, conn, s, m); err != nil {
			return fmt.Errorf("%s: migration %s: %w", d.Name, m.name, err)
		}
	}
	return nil
}

// migration is one numbered change to the schema or the data.
type migration struct {
	version int
	name    string
	apply   func(ctx context.Context, tx *sql.Tx) error
}

// goMigrations change data in ways SQL cannot say alike in every dialect;
// they run in version order among the SQL files (and take numbers that
// no file has).
var goMigrations = []struct {
	version int
	name    string
	apply   func(ctx context.Context, tx *sql.Tx, s *Store) error
}{
	{6, "0006_durations_as_strings (Go)", durationsAsStrings},
	{7, "0007_bounds_on_trigger (Go)", boundsOnTrigger},
}

func applyOne(ctx context.Context, conn *sql.Conn, s *Store, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var one int
	switch err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM sundial_migrations WHERE version = ?`), m.version).Scan(&one); {
	case err == nil:
		return nil // applied already
	case err != sql.ErrNoRows:
		return err
	}
	if err := m.apply(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO sundial_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

// durationOptions are the job options that are durations.
var durationOptions = []string{"misfire_grace", "timeout", "retry_backoff", "max_retry_backoff"}

// durationsAsStrings rewrites the job options that an early version stored
// as numbers of nanoseconds into duration strings: numbers now mean
// seconds, so a stored 30000000000 ("30s") must not be read as 951 years.
func durationsAsStrings(ctx context.Context, tx *sql.Tx, s *Store) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, options FROM sundial_jobs`)
	if err != nil {
		return err
	}
	fixed := map[string]string{}
	for rows.Next() {
		var id, text string
		if err := rows.Scan(&id, &text); err != nil {
			rows.Close()
			return err
		}
		var opts map[string]json.RawMessage
		if json.Unmarshal([]byte(text), &opts) != nil {
			continue // not an object: left for the scheduler to quarantine
		}
		changed := false
		for _, key := range durationOptions {
			raw, ok := opts[key]
			if !ok || len(raw) == 0 || raw[0] == '"' {
				continue
			}
			var ns int64
			if json.Unmarshal(raw, &ns) != nil {
				continue
			}
			opts[key], _ = json.Marshal(time.Duration(ns).String())
			changed = true
		}
		if changed {
			b, err := json.Marshal(opts)
			if err != nil {
				rows.Close()
				return err
			}
			fixed[id] = string(b)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id, text := range fixed {
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE sundial_jobs SET options = ? WHERE id = ?`), text, id); err != nil {
			return err
		}
	}
	return nil
}

// boundsOnTrigger moves the bounds that jobs once kept in their options
// (start_at, end_at) to their triggers (start_date, end_date), keeping
// every fire time as it was. A job whose trigger cannot take them is
// paused with a reason that quotes them, so that nothing is dropped
// silently.
func boundsOnTrigger(ctx context.Context, tx *sql.Tx, s *Store) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, trigger_spec, options FROM sundial_jobs`)
	if err != nil {
		return err
	}
	type change struct{ spec, options, pauseReason string }
	changes := map[string]change{}
	for rows.Next() {
		var id, specText, optsText string
		if err := rows.Scan(&id, &specText, &optsText); err != nil {
			rows.Close()
			return err
		}
		var opts map[string]json.RawMessage
		if json.Unmarshal([]byte(optsText), &opts) != nil {
			continue // not an object: left for the scheduler to quarantine
		}
		startRaw, hasStart := opts["start_at"]
		endRaw, hasEnd := opts["end_at"]
		if !hasStart && !hasEnd {
			continue
		}
		delete(opts, "start_at")
		delete(opts, "end_at")
		b, err := json.Marshal(opts)
		if err != nil {
			rows.Close()
			return err
		}
		c := change{spec: specText, options: string(b)}
		spec, err := boundSpec([]byte(specText), startRaw, endRaw)
		if err == nil {
			var text []byte
			if text, err = json.Marshal(spec); err == nil {
				c.spec = string(text)
			}
		}
		if err != nil {
			c.pauseReason = fmt.Sprintf("the bounds in options (start_at %s, end_at %s) could not move to the trigger: %v; "+
				"set trigger.start_date and end_date, then resume", orNone(startRaw), orNone(endRaw), err)
		}
		changes[id] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id, c := range changes {
		q, args := `UPDATE sundial_jobs SET trigger_spec = ?, options = ? WHERE id = ?`, []any{c.spec, c.options, id}
		if c.pauseReason != "" {
			q = `UPDATE sundial_jobs SET trigger_spec = ?, options = ?, paused = 1, pause_reason = ?, next_run_at = NULL WHERE id = ?`
			args = []any{c.spec, c.options, c.pauseReason, id}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}

func orNone(raw json.RawMessage) string {
	if raw == nil {
		return "none"
	}
	return string(raw)
}

// boundSpec narrows a stored trigger spec to the instants from start to
// end (JSON times; nil for none) without moving any fire in between. An
// interval's start_date is also the anchor of its grid, so it moves to the
// grid's first fire at or after start; a calendar trigger counts from its
// start_date, so it is wrapped in a one-part "or" that carries the bound.
func boundSpec(specText []byte, startRaw, endRaw json.RawMessage) (trigger.Spec, error) {
	var spec trigger.Spec
	if err := json.Unmarshal(specText, &spec); err != nil {
		return spec, fmt.Errorf("stored trigger: %w", err)
	}
	var start, end time.Time
	if startRaw != nil {
		if err := json.Unmarshal(startRaw, &start); err != nil {
			return spec, fmt.Errorf("start_at: %w", err)
		}
	}
	if endRaw != nil {
		if err := json.Unmarshal(endRaw, &end); err != nil {
			return spec, fmt.Errorf("end_at: %w", err)
		}
	}
	curStart, curEnd, err := spec.Bounds()
	if err != nil {
		return spec, err
	}
	if !end.IsZero() && (curEnd.IsZero() || end.Before(curEnd)) {
		spec.EndDate = end.Format(time.RFC3339Nano)
	}
	if !start.IsZero() && (curStart.IsZero() || start.After(curStart)) {
		switch spec.Type {
		case "interval":
			grid := spec
			grid.Jitter, grid.EndDate = 0, ""
			t, err := grid.Build()
			if err != nil {
				return spec, err
			}
			first := start
			if !curStart.IsZero() {
				first = t.Next(time.Time{}, start)
			}
			spec.StartDate = first.Format(time.RFC3339Nano)
		case "calendar":
			spec = trigger.Spec{Type: "or", Triggers: []trigger.Spec{spec}, StartDate: start.Format(time.RFC3339Nano)}
		default:
			spec.StartDate = start.Format(time.RFC3339Nano)
		}
	}
	if _, err := spec.Build(); err != nil {
		return spec, err
	}
	return spec, nil
}
