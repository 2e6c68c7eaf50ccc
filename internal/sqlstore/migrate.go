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
