// Package sqlitestore is the embedded default sundial.Store: one SQLite
// file (pure Go, no cgo, so the binary stays static), in WAL mode, safe for
// several processes on one host opening the same file — the gunicorn-worker
// case. Every claim is an IMMEDIATE transaction, so exactly one process
// claims a fire; the protocol is described in internal/sqlstore.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a sundial.Store on one SQLite file. Its methods are those of
// sundial.Store — jobs, runs, claims, leases, nodes, cancel, the
// cluster-wide pause, pruning — and of the optional capabilities
// sundial.RunBatchUpdater (run records in one transaction) and
// sundial.RunOutputWriter (live output), and DB and Close. (The server
// keeps its own records — tokens, audit, scripts, secrets — in the same
// file, through a type of its own.) The processes sharing a
// file share its host's clock, so the store needs no sundial.Clock, and
// they see each other's changes at their next poll (no ChangeNotifier).
// The methods are implemented once for both SQL stores in
// internal/sqlstore; see the interfaces for what each promises.
type Store struct {
	*sqlstore.Store
	db *sql.DB
}

var (
	_ sundial.Store           = (*Store)(nil)
	_ sundial.RunBatchUpdater = (*Store)(nil)
	_ sundial.RunOutputWriter = (*Store)(nil)
)

var dialect = sqlstore.Dialect{
	Name:              "sqlite",
	InProcess:         true,
	IsUniqueViolation: isUniqueViolation,
}

func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}

// Open opens (creating if needed) the SQLite file at path, configured for
// several processes — WAL journal, a busy timeout, IMMEDIATE transactions —
// and applies the schema migrations. Close it when done.
//
// Processes started together on a file that does not exist yet race to
// create it and switch it to WAL mode, and SQLite answers the losers
// SQLITE_BUSY at once rather than after the busy timeout; Open tries again
// then, so that every one of them opens the file.
func Open(ctx context.Context, path string) (*Store, error) {
	for attempt := 1; ; attempt++ {
		s, err := open(ctx, path)
		var se *sqlite.Error
		if err == nil || attempt == 10 || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return s, err
		}
		t := time.NewTimer(time.Duration(attempt) * 20 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// maxIdleConns is how many connections Open keeps open between uses.
const maxIdleConns = 16

func open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "1")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// database/sql keeps two idle connections by default and closes the
	// others after use; a SQLite connection opened again reads the schema
	// and prepares its statements anew, which under load (claims, the
	// recorder, heartbeats at once) cost more than the statements.
	db.SetMaxIdleConns(maxIdleConns)
	s, err := New(ctx, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// New returns a store over a database the caller opened, applying the
// schema migrations. The DSN should ask for IMMEDIATE transactions
// (_txlock=immediate) and a busy timeout, as Open does: without them two
// processes claiming at once can fail with "database is locked".
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := sqlstore.Migrate(ctx, db, dialect, sub, nil); err != nil {
		return nil, err
	}
	return &Store{Store: sqlstore.New(db, dialect), db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }
