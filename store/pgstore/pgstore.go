// Package pgstore is the sundial.Store for several replicas on one
// PostgreSQL database (pgx v5). Due fires are claimed with SELECT … FOR
// UPDATE SKIP LOCKED in short transactions, so replicas never wait on one
// another and each fire is claimed once; the protocol is described in
// internal/sqlstore. Migrations run under an advisory lock, so ten
// replicas starting at once apply them once.
package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// channel is the LISTEN/NOTIFY channel for job changes.
const channel = "sundial_jobs"

// migrationLockKey is the advisory lock that serialises migrations
// ("sundial" in ASCII).
const migrationLockKey = 0x73756e6469616c

// Store is a sundial.Store on PostgreSQL. Its methods are those of
// sundial.Store — jobs, runs, claims, leases, nodes, cancel, the
// cluster-wide pause, pruning — and of the optional capabilities
// sundial.RunBatchUpdater (run records in one transaction),
// sundial.RunOutputWriter (live output), sundial.ChangeNotifier
// (LISTEN/NOTIFY) and sundial.Clock (the database server's clock), and
// Close. (The server keeps its own records — tokens, audit, scripts,
// secrets — in the same database, through a type of its own.)
// They are implemented once for both SQL stores in internal/sqlstore; see
// the interfaces for what each promises.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
	db   *sql.DB
}

var (
	_ sundial.Store           = (*Store)(nil)
	_ sundial.RunBatchUpdater = (*Store)(nil)
	_ sundial.RunOutputWriter = (*Store)(nil)
)

var dialect = sqlstore.Dialect{
	Name:              "postgres",
	Numbered:          true,
	Arrays:            true,
	LockSuffix:        " FOR UPDATE SKIP LOCKED",
	TryLock:           "SELECT pg_try_advisory_xact_lock(7527717203272548716)", // "prunerun" in ASCII
	Notify:            "SELECT pg_notify('" + channel + "', '')",
	IsUniqueViolation: isUniqueViolation,
}

func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// pipeline runs f with a sqlstore.Pipe over conn's pgx connection, whose
// batches send their statements in one round trip: a claim takes three
// where it took six, and on a machine whose cores the database shares
// each round trip is a wait for the scheduler. A transaction that f left
// open (it failed) is rolled back; a connection that cannot roll back is
// closed.
//
// A closed connection's error matches driver.ErrBadConn: database/sql then
// discards the connection, and the caller knows that another may do. It
// was closed by the database (a restart) or the network, which then took
// the pool's idle connections too: the pool is reset, so that the next
// connection is a new one, not another broken one found only when used.
func pipeline(ctx context.Context, pool *pgxpool.Pool, conn *sql.Conn, f func(sqlstore.Pipe) error) error {
	return conn.Raw(func(driverConn any) error {
		c := driverConn.(*stdlib.Conn).Conn()
		err := f(pipe{c})
		if c.IsClosed() {
			if err != nil {
				pool.Reset()
				err = errors.Join(err, driver.ErrBadConn)
			}
			return err
		}
		if c.PgConn().TxStatus() == 'I' {
			return err
		}
		rollback, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, rerr := c.Exec(rollback, "ROLLBACK"); rerr != nil {
			c.Close(rollback)
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr), driver.ErrBadConn)
		}
		return err
	})
}

// pipe is a sqlstore.Pipe over a pgx connection.
type pipe struct{ conn *pgx.Conn }

// Send implements sqlstore.Pipe with a pgx batch.
func (p pipe) Send(ctx context.Context, qs ...sqlstore.Query) error {
	var b pgx.Batch
	for _, q := range qs {
		b.Queue(q.SQL, q.Args...)
	}
	res := p.conn.SendBatch(ctx, &b)
	for _, q := range qs {
		if err := read(res, q); err != nil {
			res.Close()
			return err
		}
	}
	return res.Close()
}

// read reads the result of q, the next in res, passing each row to q.Row.
func read(res pgx.BatchResults, q sqlstore.Query) error {
	rows, err := res.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if q.Row == nil {
			continue
		}
		if err := q.Row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// New returns a store over a pool the caller opened (and closes), applying
// the schema migrations in the pool's search_path.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	db := stdlib.OpenDBFromPool(pool)
	// database/sql keeps two idle connections by default: under load it
	// closed the others after each use, and each one it opened again
	// prepared its statements anew (a round trip each) and deallocated
	// them on close. It keeps most of the pool instead, leaving two
	// connections to the pool's other users (LISTEN takes one for good).
	db.SetMaxIdleConns(max(2, int(pool.Config().MaxConns)-2))
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	lock := func(ctx context.Context, conn *sql.Conn) (func(), error) {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
			return nil, err
		}
		return func() {
			conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey)
		}, nil
	}
	if err := sqlstore.Migrate(ctx, db, dialect, sub, lock); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	d := dialect
	d.Pipeline = func(ctx context.Context, conn *sql.Conn, f func(sqlstore.Pipe) error) error {
		return pipeline(ctx, pool, conn, f)
	}
	return &Store{Store: sqlstore.New(db, d), pool: pool, db: db}, nil
}

// Close releases the store's database/sql handle; the pool stays open for
// its owner to close.
func (s *Store) Close() error { return s.db.Close() }

var _ sundial.Clock = (*Store)(nil)

// Now implements sundial.Clock with the database server's clock
// (clock_timestamp, not the transaction's now()): every replica judges
// due fires and leases on this one clock, whatever its host's says.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var micros int64
	if err := s.db.QueryRowContext(ctx, `SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)`).Scan(&micros); err != nil {
		return time.Time{}, fmt.Errorf("postgres: read the clock: %w", err)
	}
	return time.UnixMicro(micros).UTC(), nil
}

var _ sundial.ChangeNotifier = (*Store)(nil)

// Changes implements sundial.ChangeNotifier with LISTEN on one connection
// held from the pool, re-established with backoff if it drops. The first
// LISTEN is in place when Changes returns (unless the database could not
// be reached within a few seconds), so that a change made once the caller
// has started — a cancel requested on another replica — reaches it.
func (s *Store) Changes(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	conn, _ := s.subscribe(ctx)
	go func() {
		defer close(out)
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			if conn != nil {
				s.wait(ctx, conn, out) // returns when the connection fails
			}
			if ctx.Err() != nil {
				return
			}
			// No connection, or it dropped: wake once (changes may have
			// been missed), then listen again.
			select {
			case out <- struct{}{}:
			default:
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			conn, _ = s.subscribe(ctx)
		}
	}()
	return out
}

// subscribe takes a connection out of the pool for good (a connection
// that listened is not handed to others) and LISTENs on it.
func (s *Store) subscribe(ctx context.Context) (*pgx.Conn, error) {
	setup, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pooled, err := s.pool.Acquire(setup)
	if err != nil {
		return nil, err
	}
	conn := pooled.Hijack()
	if _, err := conn.Exec(setup, "LISTEN "+channel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// wait passes each notification on the connection to out, until the
// connection fails or ctx ends, and closes the connection.
func (s *Store) wait(ctx context.Context, conn *pgx.Conn, out chan<- struct{}) error {
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case out <- struct{}{}:
		default:
		}
	}
}
