package server

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/sqlstore"
	"github.com/sundialhq/sundial/store/pgstore"
	"github.com/sundialhq/sundial/store/sqlitestore"
)

// OpenStore opens the database a DSN names: "sqlite:PATH" or a bare path
// for SQLite (created if missing), "postgres://…" or "postgresql://…" for
// PostgreSQL. It returns the scheduling store and, over the same
// database, the server's own records. The schema is migrated. close
// releases both.
func OpenStore(ctx context.Context, dsn string) (st sundial.Store, adm admin.Store, close func(), err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("open %s: %w", RedactDSN(dsn), err)
		}
		s, err := pgstore.New(ctx, pool)
		if err != nil {
			pool.Close()
			return nil, nil, nil, fmt.Errorf("open %s: %w", RedactDSN(dsn), err)
		}
		return s, sqlstore.NewAdmin(s.Store), func() { s.Close(); pool.Close() }, nil
	default:
		path := sqlitePath(dsn)
		if path == "" {
			return nil, nil, nil, fmt.Errorf("db %q: give a file, such as sqlite:./sundial.db", dsn)
		}
		s, err := sqlitestore.Open(ctx, path)
		if err != nil {
			return nil, nil, nil, err
		}
		return s, sqlstore.NewAdmin(s.Store), func() { s.Close() }, nil
	}
}

// sqlitePath is the file of a SQLite DSN; "" for PostgreSQL.
func sqlitePath(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return ""
	}
	return strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
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
