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
	"sync"
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
	// checkpointer, when Open started one, takes a signal per write and
	// checkpoints the WAL every checkpointEvery of them; stop ends it and
	// done tells it ended.
	writes chan struct{}
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
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
	// The store checkpoints the WAL itself, off the hot path (see
	// checkpoint); SQLite's own checkpoint, run by the connection that
	// commits, while that transaction's caller waits (an fsync of the
	// WAL and of the file), is left as a backstop for a WAL grown ten
	// times as long as its default.
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	// A statement of many rows (a claim's jobs) keeps, until it ends, a
	// copy of each page it changes, to undo itself alone if it fails: in
	// memory, not in a temporary file written a system call a page.
	q.Add("_pragma", "temp_store(memory)")
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
	s.writes, s.stop, s.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	s.OnWrite(func() {
		select {
		case s.writes <- struct{}{}:
		default: // the checkpointer is busy or already told
		}
	})
	go s.checkpoint()
	return s, nil
}

// checkpointEvery is how many writes the checkpointer lets pass between
// checkpoints: a claim or a batch of run records writes tens of pages, so
// about SQLite's default of 1,000 pages of WAL.
const checkpointEvery = 64

// checkpoint copies the WAL into the database file every checkpointEvery
// writes, from a goroutine of its own, so that no claim or record waits
// for it. It is PASSIVE: it waits for no reader or writer, and other
// processes on the file keep writing meanwhile (one that checkpoints at
// the same time makes this one skip). With no writes it does nothing.
func (s *Store) checkpoint() {
	defer close(s.done)
	n := 0
	for {
		select {
		case <-s.stop:
			return
		case <-s.writes:
		}
		if n++; n < checkpointEvery {
			continue
		}
		n = 0
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)") // best effort: the next one catches up
		cancel()
	}
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

// Close stops the checkpointer, if Open started one, and closes the
// database.
func (s *Store) Close() error {
	s.closed.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		s.CloseWriter()
	})
	return s.db.Close()
}
