package sqlstore

import (
	"context"
	"database/sql"
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
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("%s: migration %s: name must start with a number", d.Name, name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if err := applyOne(ctx, conn, s, version, name, string(body)); err != nil {
			return fmt.Errorf("%s: migration %s: %w", d.Name, name, err)
		}
	}
	return nil
}

func applyOne(ctx context.Context, conn *sql.Conn, s *Store, version int, name, body string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var one int
	switch err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM sundial_migrations WHERE version = ?`), version).Scan(&one); {
	case err == nil:
		return nil // applied already
	case err != sql.ErrNoRows:
		return err
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO sundial_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		version, name, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}
