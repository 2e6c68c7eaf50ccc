package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/pgstore"
	"github.com/sundialhq/sundial/store/sqlitestore"
)

// Store is an opened store with the capabilities the server needs.
type Store interface {
	sundial.Store
	sundial.AdminStore
}

// OpenStore opens the store a DSN names: "sqlite:PATH" or a bare path for
// SQLite (created if missing), "postgres://…" or "postgresql://…" for
// PostgreSQL. The schema is migrated. close releases it.
func OpenStore(ctx context.Context, dsn string) (st Store, close func(), err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", RedactDSN(dsn), err)
		}
		s, err := pgstore.New(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("open %s: %w", RedactDSN(dsn), err)
		}
		return s, func() { s.Close(); pool.Close() }, nil
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
		if path == "" {
			return nil, nil, fmt.Errorf("db %q: give a file, such as sqlite:./sundial.db", dsn)
		}
		s, err := openSQLite(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
}

// openSQLite opens a SQLite file, trying again while it is busy. Servers
// started together on a file that does not exist yet race to create it and
// switch it to WAL mode; SQLite answers the losers SQLITE_BUSY at once,
// without waiting out the busy timeout (about 1 open in 300 with ten at
// once), and a second try finds the file ready.
func openSQLite(ctx context.Context, path string) (*sqlitestore.Store, error) {
	for attempt := 1; ; attempt++ {
		s, err := sqlitestore.Open(ctx, path)
		var se *sqlite.Error
		if err == nil || attempt == 10 || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt) * 20 * time.Millisecond):
		}
	}
}

// RedactDSN hides a DSN's password, for logs and errors.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "****")
	}
	return u.String()
}
