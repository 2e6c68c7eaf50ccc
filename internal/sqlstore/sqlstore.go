// Package sqlstore implements sundial.Store over database/sql for the SQL
// stores (store/sqlitestore, store/pgstore), which differ only in a
// Dialect: placeholders, row locking, unique-violation errors, the
// migration lock, and how a batch of rows is written. The claim protocol
// is here, once:
//
//	BEGIN (SQLite: IMMEDIATE, so one writer at a time across processes)
//	  scheduled runs due       → status pending (PostgreSQL: one UPDATE … RETURNING
//	                             over a SELECT … FOR UPDATE SKIP LOCKED)
//	    (those for any node of the claim's queues, and the shards that wait for the claiming node)
//	  jobs due, earliest first → SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL)
//	  their active runs counted (after the lock, so that no claim committed before it is missed)
//	  for each job: ask the plan, then, for all of them at once
//	    (PostgreSQL: one statement over arrays; SQLite: the jobs statements of
//	    many rows, prepared for a few fixed numbers of rows, the runs one each),
//	              UPDATE the job where its version is the one read,
//	              INSERT its runs ON CONFLICT DO NOTHING (unique job, fire, attempt)
//	COMMIT
//
// On PostgreSQL (Dialect.Pipeline) the statements travel in three batches,
// one round trip each: BEGIN with the runs' claim, the jobs' lock and the
// pause; the count; the writes with the COMMIT (claimPipelined).
//
// Nothing is claimed while the cluster is paused: the queries exclude it,
// and a claim that found nothing reads whether it is paused. A fire is
// therefore claimed by exactly one transaction, and the unique
// key makes a second insert of the same fire impossible even if the code
// above it were wrong. Times are stored as microseconds since the Unix
// epoch (UTC), the precision PostgreSQL keeps.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// Dialect is what differs between SQL databases.
type Dialect struct {
	// Notify, when set, runs after every change to a job made through
	// CreateJob, UpdateJob or DeleteJob (PostgreSQL: pg_notify), so that
	// other processes wake at once; claims do not notify.
	Notify string
	// TryLock, when set, runs first in the prune transaction and reports
	// whether this transaction may prune (PostgreSQL: an advisory
	// transaction lock); SQLite's IMMEDIATE transaction is exclusive anyway.
	TryLock string
	// Name is the database's name, for errors.
	Name string
	// Numbered placeholders ($1, $2 …) instead of "?".
	Numbered bool
	// LockSuffix is appended to claim SELECTs, e.g. " FOR UPDATE SKIP LOCKED".
	LockSuffix string
	// InProcess is set when a statement costs no round trip (SQLite): a
	// claim then counts and writes its jobs through statements of many
	// rows prepared once for each of a few numbers of rows (multiRow),
	// and inserts its runs one prepared statement each, where a database
	// across the network gets one statement of all the rows.
	InProcess bool
	// Arrays is set when Go slices bind as SQL arrays and unnest and ANY
	// take them (PostgreSQL): a batch of run records is then one statement
	// of fixed text, whatever the number of rows, so one round trip.
	Arrays bool
	// Pipeline, when set, runs f with a Pipe over conn's connection, which
	// sends several statements in one round trip (PostgreSQL: pgx
	// batches); claims then go through claimPipelined, a few statements of
	// many rows each over arrays (Arrays must be set too). A transaction
	// that f leaves open is rolled back.
	Pipeline func(ctx context.Context, conn *sql.Conn, f func(Pipe) error) error
	// IsUniqueViolation reports whether err is a unique-constraint violation.
	IsUniqueViolation func(err error) bool
}

// Store is a sundial.Store over a *sql.DB whose schema is migrated.
type Store struct {
	db    *sql.DB
	d     Dialect
	q     map[string]string // query text with the dialect's placeholders, by name
	raw   map[string]string // query text with its {queues} and {tasks} holes, by name
	stmts sync.Map          // name → *sql.Stmt, prepared on first use
	// writer is held by the store's write transactions when the dialect
	// is in process (see begin).
	writer chan struct{}
	// conn, in process, is the connection of those transactions, taken
	// from the pool at the first and kept, guarded by writer.
	conn *sql.Conn
	// wrote, when set, is called after each write transaction and each
	// write through exec (see OnWrite).
	wrote func()
}

// OnWrite sets f to be called after each of the store's write
// transactions and single-statement writes, once its connection is free
// (SQLite checkpoints its WAL from there). Call it before using the
// store; f must return at once.
func (s *Store) OnWrite(f func()) { s.wrote = f }

// begin starts a write transaction. In process (SQLite, one writer at a
// time) the store's own transactions take turns on a channel first: one
// that found the file locked by another of them would be put to sleep by
// SQLite's busy handler for 1, 2, 5 … ms, long after the lock was free,
// where the channel hands over at once. Other processes on the file still
// wait through the busy handler. end must be called once the transaction
// is over.
//
// In process the transactions also share one connection. A SQLite
// connection drops its whole page cache when it finds that another
// connection wrote since it last read; taking turns on the pool's
// connections, each write found its cache dropped by the one before and
// read back every page it touched (a system call each). On one
// connection the pages stay cached from one write to the next.
func (s *Store) begin(ctx context.Context) (*sql.Tx, func(), error) {
	release := func() {}
	if s.writer != nil {
		select {
		case s.writer <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		release = func() { <-s.writer }
	}
	if s.wrote != nil {
		inner := release
		release = func() { inner(); s.wrote() }
	}
	var tx *sql.Tx
	var err error
	if s.writer != nil {
		tx, err = s.beginOnConn(ctx)
	} else {
		tx, err = s.db.BeginTx(ctx, nil)
	}
	if err != nil {
		release()
		return nil, nil, err
	}
	return tx, func() { tx.Rollback(); release() }, nil
}

// beginOnConn begins a transaction on the writers' connection, taking one
// from the pool when there is none yet or the last one broke. The caller
// holds writer.
//
// A pool capped below keptConnMin connections (a caller's, sqlitestore.New)
// keeps none: a kept connection would leave a pool of one nothing for
// reads, which would wait for it for ever.
func (s *Store) beginOnConn(ctx context.Context) (*sql.Tx, error) {
	if m := s.db.Stats().MaxOpenConnections; m != 0 && m < keptConnMin {
		if s.conn != nil { // the cap was lowered since
			s.conn.Close()
			s.conn = nil
		}
		return s.db.BeginTx(ctx, nil)
	}
	for try := 1; ; try++ {
		if s.conn == nil {
			conn, err := s.db.Conn(ctx)
			if err != nil {
				return nil, err
			}
			s.conn = conn
		}
		tx, err := s.conn.BeginTx(ctx, nil)
		if err == nil || try == 2 || !(errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone)) {
			return tx, err
		}
		s.conn.Close()
		s.conn = nil
	}
}

// keptConnMin is the smallest cap on a pool's connections under which the
// store's writes keep a connection of their own (see beginOnConn).
const keptConnMin = 4

// CloseWriter returns the connection that the store's write transactions
// keep (see begin) to the pool, waiting for the transaction in progress,
// if any, so that the pool can be closed. Call it after the last use of
// the store, before closing the pool.
func (s *Store) CloseWriter() error {
	if s.writer == nil {
		return nil
	}
	s.writer <- struct{}{}
	defer func() { <-s.writer }()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// stmt returns the named query prepared once for the pool: parsing a
// statement on every call costs more than running it (SQLite).
func (s *Store) stmt(ctx context.Context, name string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(name); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, s.q[name])
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(name, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

var _ sundial.Store = (*Store)(nil)

// exec runs the named statement, prepared once for the pool.
func (s *Store) exec(ctx context.Context, name string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, name)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(ctx, args...)
	if s.wrote != nil {
		s.wrote()
	}
	return res, err
}

// queryRow runs the named query, prepared once for the pool.
func (s *Store) queryRow(ctx context.Context, name string, args ...any) scanner {
	st, err := s.stmt(ctx, name)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// errRow is a row whose query could not even be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// New returns a store over db, which the caller opened and migrated.
func New(db *sql.DB, d Dialect) *Store {
	s := &Store{db: db, d: d, q: map[string]string{}, raw: map[string]string{}}
	if d.InProcess {
		s.writer = make(chan struct{}, 1)
		for name, text := range multiRow {
			for _, n := range chunkSizes {
				s.q[multiName(name, n)] = text(n)
			}
		}
	}
	for name, text := range queries {
		text = strings.ReplaceAll(text, "{lock}", d.LockSuffix)
		s.q[name] = s.rebind(strings.NewReplacer("{queues}", "", "{tasks}", notWorkerTask).Replace(text))
		if strings.Contains(text, "{queues}") || strings.Contains(text, "{tasks}") {
			s.raw[name] = text // rebound per call, with the IN lists
		}
	}
	return s
}

// DB returns the underlying pool.
func (s *Store) DB() *sql.DB { return s.db }

// rebind turns "?" placeholders into "$n" for dialects that number them.
func (s *Store) rebind(q string) string {
	if !s.d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

const jobCols = `id, name, task, args, trigger_spec, tags, options, paused, pause_reason, next_run_at, version, created_at, updated_at, queue, source`
const runCols = `id, job_id, task, scheduled_at, not_before, started_at, ended_at, status, attempt, manual_key, args, result, error, queue, node_id, lease_until, output, exit_status, claimed_at, incarnation, cancel_requested, backfill_id, upstream, shard_index, shard_total`

var queries = map[string]string{
	"insertJob": `INSERT INTO sundial_jobs (` + jobCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"updateJob": `UPDATE sundial_jobs SET name = ?, task = ?, args = ?, trigger_spec = ?, tags = ?, options = ?,
		paused = ?, pause_reason = ?, next_run_at = ?, version = version + 1, updated_at = ?, queue = ?, source = ?
		WHERE id = ? AND version = ? RETURNING created_at`,
	"jobExists": `SELECT 1 FROM sundial_jobs WHERE id = ?`,
	"deleteJob": `DELETE FROM sundial_jobs WHERE id = ?`,
	"getJob":    `SELECT ` + jobCols + ` FROM sundial_jobs WHERE id = ?`,
	// A scheduled run that waits for another node (a shard of a broadcast
	// fire) wakes only that node.
	"nextWake": `SELECT (SELECT MIN(next_run_at) FROM sundial_jobs WHERE paused = 0 AND next_run_at IS NOT NULL{tasks}),
		(SELECT MIN(not_before) FROM sundial_runs WHERE status = 'scheduled' AND (node_id IS NULL OR node_id = ?){tasks}),
		(SELECT paused_at FROM sundial_cluster WHERE id = 1)`,
	// A worker's wake: the jobs and the runs, waiting for any claimer, of
	// its tasks in its queues.
	"nextWorkerWake": `SELECT (SELECT MIN(next_run_at) FROM sundial_jobs WHERE paused = 0 AND next_run_at IS NOT NULL{queues}{tasks}),
		(SELECT MIN(not_before) FROM sundial_runs WHERE status = 'scheduled' AND node_id IS NULL{queues}{tasks}),
		(SELECT paused_at FROM sundial_cluster WHERE id = 1)`,
	"clusterPaused": `SELECT paused_at FROM sundial_cluster WHERE id = 1`,
	"setPaused":     `UPDATE sundial_cluster SET paused_at = CASE WHEN ? = 1 THEN COALESCE(paused_at, ?) ELSE NULL END WHERE id = 1`,
	// The runs that wait for any node in the claim's queues, and those
	// that wait for the claiming node whatever their queue; none while
	// the cluster is paused (a claim that finds nothing then reads why).
	"dueRuns": `SELECT ` + runCols + ` FROM sundial_runs WHERE status = 'scheduled' AND not_before <= ?
		AND (node_id IS NULL{queues} OR node_id = ?){tasks}` + notPaused + ` ORDER BY not_before LIMIT ?{lock}`,
	// The same, claimed in one statement (Dialect.Arrays).
	"claimDueRuns": `UPDATE sundial_runs SET status = 'pending', node_id = ?, incarnation = ?, lease_until = ?, claimed_at = ?
		WHERE id IN (SELECT id FROM sundial_runs WHERE status = 'scheduled' AND not_before <= ?
		AND (node_id IS NULL{queues} OR node_id = ?){tasks}` + notPaused + ` ORDER BY not_before LIMIT ?{lock})
		RETURNING ` + runCols,
	"dueJobs": `SELECT ` + jobCols + ` FROM sundial_jobs WHERE paused = 0 AND next_run_at IS NOT NULL AND next_run_at <= ?{queues}{tasks}` + notPaused + `
		ORDER BY next_run_at LIMIT ?{lock}`,
	// A broadcast fire is in flight while any of its shards is: its
	// scheduled shards count too. The status condition is the predicate
	// of PostgreSQL's index of a job's open runs, so that one scan of it
	// finds them (written as activeCount's, it took two).
	"activeCounts": `SELECT job_id, SUM(CASE WHEN status = 'queued' THEN 0 ELSE 1 END), SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END)
		FROM sundial_runs WHERE status IN ('scheduled', 'queued', 'pending', 'running') AND (status <> 'scheduled' OR shard_total IS NOT NULL)
		AND job_id = ANY(CAST(? AS TEXT[])) GROUP BY job_id`,
	// A claim's writes in one statement (Dialect.Pipeline): its jobs,
	// advanced only at the version read, and its runs, each fire once;
	// the rows are the IDs of the runs inserted. It is sent with the
	// COMMIT, so a job not at the version read must fail the statement,
	// which aborts the transaction: the text that does not cast to an
	// integer is that error (plain SQL has no RAISE).
	"writeClaim": `WITH v AS (SELECT * FROM unnest(CAST(? AS TEXT[]), CAST(? AS BIGINT[]), CAST(? AS BIGINT[]), CAST(? AS SMALLINT[]), CAST(? AS TEXT[]))
			AS v(id, version, next_run_at, paused, pause_reason)),
		u AS (UPDATE sundial_jobs j SET next_run_at = v.next_run_at, paused = v.paused, pause_reason = v.pause_reason
			FROM v WHERE j.id = v.id AND j.version = v.version RETURNING j.id),
		i AS (INSERT INTO sundial_runs (` + runCols + `) SELECT * FROM unnest(` + arrayCasts(runTypes) + `)
			ON CONFLICT DO NOTHING RETURNING id)
		SELECT id FROM i UNION ALL SELECT NULL FROM (SELECT COUNT(*) AS n FROM u) AS c
		WHERE CAST(CASE WHEN c.n = (SELECT COUNT(*) FROM v) THEN '1' ELSE 'a job claimed changed during the claim' END AS INTEGER) = 0`,
	// A batch of holders' writes in one statement (Dialect.Arrays), fenced
	// as updateRun; the rows are the runs written.
	"updateRuns": `UPDATE sundial_runs AS r SET task = v.task, not_before = v.not_before, started_at = v.started_at, ended_at = v.ended_at,
			status = v.status, args = v.args, result = v.result, error = v.error, output = v.output, exit_status = v.exit_status
		FROM unnest(` + arrayCasts(updateTypes) + `)
			AS v(task, not_before, started_at, ended_at, status, args, result, error, output, exit_status, id, job_id, scheduled_at, attempt, incarnation)
		WHERE r.id = v.id AND r.job_id = v.job_id AND r.scheduled_at = v.scheduled_at AND r.attempt = v.attempt
			AND r.status IN ('pending', 'running') AND COALESCE(r.incarnation, '') = v.incarnation
		RETURNING r.id`,
	"insertRun": `INSERT INTO sundial_runs (` + runCols + `) VALUES (` + marks(strings.Count(runCols, ",")+1) + `)`,
	// The claim's statements of one row each (Dialect.InProcess); its
	// jobs are counted and written by statements of many rows
	// (multiRow).
	"insertClaimed": `INSERT INTO sundial_runs (` + runCols + `) VALUES (` + marks(strings.Count(runCols, ",")+1) + `) ON CONFLICT DO NOTHING`,
	"claimRun":      `UPDATE sundial_runs SET status = 'pending', node_id = ?, incarnation = ?, lease_until = ?, claimed_at = ? WHERE id = ?`,
	// A holder's write: only while the run is executing and held by the
	// writer's incarnation (fencing).
	"updateRun": `UPDATE sundial_runs SET task = ?, not_before = ?, started_at = ?, ended_at = ?, status = ?, args = ?, result = ?, error = ?, output = ?, exit_status = ?
		WHERE id = ? AND job_id = ? AND scheduled_at = ? AND attempt = ? AND status IN ('pending', 'running') AND COALESCE(incarnation, '') = ?`,
	"runKey": `SELECT job_id, scheduled_at, attempt FROM sundial_runs WHERE id = ?`,
	"upsertNode": `INSERT INTO sundial_nodes (id, host, pid, version, queues, started_at, last_seen, incarnation, facts, standby, kind, tasks, capacity, busy)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
		queues = excluded.queues, started_at = excluded.started_at, last_seen = excluded.last_seen, incarnation = excluded.incarnation,
		facts = excluded.facts, standby = excluded.standby, kind = excluded.kind, tasks = excluded.tasks, capacity = excluded.capacity, busy = 0`,
	// Only the node's current incarnation speaks for it: a zombie of an
	// earlier one (a frozen process waking) changes nothing.
	"beatNode": `UPDATE sundial_nodes SET last_seen = ?, standby = ?, busy = ? WHERE id = ? AND incarnation = ?`,
	// The pick-up deadline of the shards that wait for a live node.
	"beatTargets": `UPDATE sundial_runs SET lease_until = ? WHERE node_id = ? AND status IN ('scheduled', 'queued') AND node_id IS NOT NULL`,
	"beatRuns": `UPDATE sundial_runs SET lease_until = ? WHERE node_id = ? AND incarnation = ? AND status IN ('pending', 'running')
		AND id IN ({ids}) RETURNING id, cancel_requested`,
	"expired": `SELECT ` + runCols + ` FROM sundial_runs WHERE status IN ('pending', 'running') AND lease_until < ? ORDER BY lease_until{lock}`,
	"unclaimed": `SELECT ` + runCols + ` FROM sundial_runs WHERE status IN ('scheduled', 'queued') AND node_id IS NOT NULL
		AND status = 'scheduled' AND lease_until < ? ORDER BY lease_until{lock}`,
	"orphans": `SELECT ` + runCols + ` FROM sundial_runs WHERE status IN ('pending', 'running') AND node_id = ? AND COALESCE(incarnation, '') <> ?{lock}`,
	"reap": `UPDATE sundial_runs SET status = CASE WHEN cancel_requested = 1 THEN 'canceled' ELSE 'lost' END, ended_at = ?, error = ?
		WHERE id = ? AND status IN ('pending', 'running', 'scheduled')`,
	"cancelRun": `UPDATE sundial_runs SET
			cancel_requested = CASE WHEN status IN ('pending', 'running') THEN 1 ELSE cancel_requested END,
			ended_at = CASE WHEN status IN ('queued', 'scheduled') THEN ? ELSE ended_at END,
			error = CASE WHEN status IN ('queued', 'scheduled') THEN 'canceled on request before it started' ELSE error END,
			status = CASE WHEN status IN ('queued', 'scheduled') THEN 'canceled' ELSE status END
		WHERE id = ? AND status IN ('queued', 'scheduled', 'pending', 'running')`,
	"listNodes":  `SELECT id, host, pid, version, queues, started_at, last_seen, incarnation, facts, standby, kind, tasks, capacity, busy FROM sundial_nodes ORDER BY id`,
	"getRun":     `SELECT ` + runCols + ` FROM sundial_runs WHERE id = ?`,
	"firstQueue": `SELECT id, scheduled_at, attempt, shard_total FROM sundial_runs WHERE ` + openRuns + ` AND job_id = ? AND status = 'queued' ORDER BY scheduled_at, id LIMIT 1{lock}`,
	"promote":    `UPDATE sundial_runs SET status = 'scheduled', not_before = ? WHERE id = ?`,
	"shardsBusy": `SELECT 1 FROM sundial_runs WHERE ` + openRuns + ` AND job_id = ? AND status IN ('scheduled', 'pending', 'running') AND shard_total IS NOT NULL LIMIT 1`,
	"promoteFire": `UPDATE sundial_runs SET status = 'scheduled', not_before = ?
		WHERE ` + openRuns + ` AND job_id = ? AND status = 'queued' AND scheduled_at = ? AND attempt = ? AND shard_total IS NOT NULL`,
}

// openRuns is the condition of the index of a job's runs not yet ended
// (sundial_runs_job_open), which a query must state as it is, term for
// term, for SQLite to use the index.
const openRuns = `status IN ('scheduled', 'queued', 'pending', 'running')`

// multiRow are the statements of many rows that a claim runs in process
// (Dialect.InProcess) for its jobs, by name: the text of each for n
// rows. Each is prepared once for each of chunkSizes, and a claim's jobs
// go in chunks of those sizes, largest first (chunks): a statement per
// job cost more than its row (the driver's and database/sql's part of
// each), and a text per number of jobs would be parsed at every claim.
var multiRow = map[string]func(n int) string{
	// The jobs advanced, at the version read: the rows are id, version,
	// next_run_at, paused, pause_reason.
	"planJobs": func(n int) string {
		return `UPDATE sundial_jobs SET next_run_at = v.column3, paused = v.column4, pause_reason = v.column5
			FROM (VALUES ` + valueRows(n, 5) + `) AS v WHERE sundial_jobs.id = v.column1 AND sundial_jobs.version = v.column2`
	},
	// As activeCounts, over n job IDs.
	"activeCounts": func(n int) string {
		return `SELECT job_id, SUM(CASE WHEN status = 'queued' THEN 0 ELSE 1 END), SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END)
			FROM sundial_runs WHERE ` + openRuns + ` AND (status <> 'scheduled' OR shard_total IS NOT NULL)
			AND job_id IN (` + marks(n) + `) GROUP BY job_id`
	},
}

// chunkSizes are the numbers of rows of the multiRow statements prepared,
// largest first; the smallest is 1.
var chunkSizes = []int{64, 16, 4, 1}

// valueRows returns n rows of width placeholders each, for VALUES.
func valueRows(n, width int) string {
	row := "(" + marks(width) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// multiName is the name under which the n-row text of a multiRow
// statement is kept and prepared.
func multiName(name string, n int) string { return name + "/" + strconv.Itoa(n) }

// chunks calls f for each chunk [lo, lo+n) of total rows, n the largest
// of chunkSizes that fits in what is left.
func chunks(total int, f func(lo, n int) error) error {
	for lo := 0; lo < total; {
		n := 1
		for _, c := range chunkSizes {
			if c <= total-lo {
				n = c
				break
			}
		}
		if err := f(lo, n); err != nil {
			return err
		}
		lo += n
	}
	return nil
}

// prepareMulti prepares the named multiRow statements in every chunk
// size, for the pool; before a transaction, as in Claim.
func (s *Store) prepareMulti(ctx context.Context, names ...string) error {
	for _, name := range names {
		for _, n := range chunkSizes {
			if _, err := s.stmt(ctx, multiName(name, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// multiStmt returns the n-row statement of the named multiRow statement,
// which prepareMulti prepared, bound to tx.
func (s *Store) multiStmt(ctx context.Context, tx *sql.Tx, name string, n int) (*sql.Stmt, error) {
	st, err := s.stmt(ctx, multiName(name, n))
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st), nil
}

// notPaused keeps a claim's queries from taking anything while the
// cluster is paused.
const notPaused = ` AND NOT EXISTS (SELECT 1 FROM sundial_cluster WHERE id = 1 AND paused_at IS NOT NULL)`

// runTypes are the SQL types of runCols, one letter each: t TEXT, b
// BIGINT, i INTEGER.
const runTypes = "tttbbbbtittttttbttbtittii"

// updateTypes are the SQL types of the updateRun statement's arguments.
const updateTypes = "tbbbttttttttbit"

// arrayCasts returns a placeholder per letter of types, cast to an array
// of its type.
func arrayCasts(types string) string {
	var b strings.Builder
	for i, t := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(map[rune]string{'t': "CAST(? AS TEXT[])", 'b': "CAST(? AS BIGINT[])", 'i': "CAST(? AS INTEGER[])"}[t])
	}
	return b.String()
}

// columns turns rows of values (strings, integers, nil for NULL) into one
// slice per column, to bind as arrays: []*string or []*int64 by the
// column's letter in types.
func columns(types string, rows [][]any) []any {
	out := make([]any, len(types))
	for c, t := range types {
		if t == 't' {
			col := make([]*string, len(rows))
			for r, row := range rows {
				if v, ok := row[c].(string); ok {
					col[r] = &v
				}
			}
			out[c] = col
			continue
		}
		col := make([]*int64, len(rows))
		for r, row := range rows {
			switch v := row[c].(type) {
			case int64:
				col[r] = &v
			case int:
				n := int64(v)
				col[r] = &n
			}
		}
		out[c] = col
	}
	return out
}

// micros encodes a time for the database; the zero time is NULL.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// jsonText encodes v as JSON text, or NULL when v is empty.
func jsonText(v any, empty bool) (any, error) {
	if empty {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func rawText(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jobArgs returns the column values of a job, in jobCols order after id.
func jobValues(j sundial.Job) (name, task, args, spec, tags, opts any, err error) {
	if spec, err = jsonText(j.Trigger, false); err != nil {
		return
	}
	if tags, err = jsonText(j.Tags, len(j.Tags) == 0); err != nil {
		return
	}
	if opts, err = jsonText(j.Options, false); err != nil {
		return
	}
	return j.Name, j.Task, rawText(j.Args), spec, tags, opts, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanJob(row scanner) (sundial.Job, error) {
	var j sundial.Job
	var args, tags, pauseReason sql.NullString
	var spec, opts string
	var paused int
	var next, created, updated sql.NullInt64
	if err := row.Scan(&j.ID, &j.Name, &j.Task, &args, &spec, &tags, &opts, &paused, &pauseReason,
		&next, &j.Version, &created, &updated, &j.Queue, &j.Source); err != nil {
		return sundial.Job{}, err
	}
	if args.Valid {
		j.Args = json.RawMessage(args.String)
	}
	if err := json.Unmarshal([]byte(spec), &j.Trigger); err != nil {
		// Keep the job readable: a spec that no longer decodes is left
		// empty, and the scheduler quarantines the job with the reason.
		j.Trigger = trigger.Spec{}
		j.PauseReason = "stored trigger is not valid JSON: " + err.Error()
	}
	if tags.Valid {
		if err := json.Unmarshal([]byte(tags.String), &j.Tags); err != nil {
			return sundial.Job{}, fmt.Errorf("job %q: tags: %w", j.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(opts), &j.Options); err != nil {
		return sundial.Job{}, fmt.Errorf("job %q: options: %w", j.ID, err)
	}
	j.Paused = paused != 0
	if pauseReason.Valid && j.PauseReason == "" {
		j.PauseReason = pauseReason.String
	}
	j.NextRunAt, j.CreatedAt, j.UpdatedAt = fromMicros(next), fromMicros(created), fromMicros(updated)
	return j, nil
}

func scanRun(row scanner) (sundial.Run, error) {
	var r sundial.Run
	var notBefore, started, ended sql.NullInt64
	var scheduled int64
	var status, manualKey string
	var args, result, errText, node, output, exit, incarnation, backfill, upstream sql.NullString
	var lease, claimed, shardIndex, shardTotal sql.NullInt64
	var cancelRequested int
	if err := row.Scan(&r.ID, &r.JobID, &r.Task, &scheduled, &notBefore, &started, &ended, &status, &r.Attempt,
		&manualKey, &args, &result, &errText, &r.Queue, &node, &lease, &output, &exit, &claimed, &incarnation, &cancelRequested, &backfill, &upstream,
		&shardIndex, &shardTotal); err != nil {
		return sundial.Run{}, err
	}
	if shardTotal.Valid {
		r.Shard = &sundial.Shard{Index: int(shardIndex.Int64), Total: int(shardTotal.Int64)}
	}
	r.Backfill = backfill.String
	if upstream.Valid {
		var u sundial.UpstreamRun
		if json.Unmarshal([]byte(upstream.String), &u) == nil {
			r.Upstream = &u
		}
	}
	r.ClaimedAt, r.Incarnation, r.CancelRequested = fromMicros(claimed), incarnation.String, cancelRequested != 0
	r.Output = output.String
	if exit.Valid {
		var e sundial.ExitStatus
		if json.Unmarshal([]byte(exit.String), &e) == nil {
			r.Exit = &e
		}
	}
	r.Node, r.LeaseUntil = node.String, fromMicros(lease)
	r.ScheduledAt = time.UnixMicro(scheduled).UTC()
	r.NotBefore, r.StartedAt, r.EndedAt = fromMicros(notBefore), fromMicros(started), fromMicros(ended)
	r.Status = sundial.RunStatus(status)
	r.Manual = manualKey != "" && !strings.HasPrefix(manualKey, "after:") && !strings.HasPrefix(manualKey, "/shard:")
	if args.Valid {
		r.Args = json.RawMessage(args.String)
	}
	if result.Valid {
		r.Result = json.RawMessage(result.String)
	}
	r.Error = errText.String
	return r, nil
}

func runValues(r sundial.Run) []any {
	// The key that tells apart runs of one fire and attempt: a manual
	// run's own ID, a chained run's upstream run (recorded once each), and
	// a shard's index (the shards of one manual fire share its instant).
	manualKey, upstream := "", any(nil)
	switch {
	case r.Upstream != nil:
		manualKey = "after:" + r.Upstream.ID
		b, _ := json.Marshal(r.Upstream)
		upstream = string(b)
	case r.Manual && r.Shard != nil:
		manualKey = "manual"
	case r.Manual:
		manualKey = r.ID
	}
	var shardIndex, shardTotal any
	if r.Shard != nil {
		manualKey += "/shard:" + strconv.Itoa(r.Shard.Index)
		shardIndex, shardTotal = r.Shard.Index, r.Shard.Total
	}
	return []any{r.ID, r.JobID, r.Task, r.ScheduledAt.UnixMicro(), micros(r.NotBefore), micros(r.StartedAt), micros(r.EndedAt),
		string(r.Status), r.Attempt, manualKey, rawText(r.Args), rawText(r.Result), nullString(r.Error),
		r.Queue, nullString(r.Node), micros(r.LeaseUntil), nullString(r.Output), exitText(r.Exit),
		micros(r.ClaimedAt), nullString(r.Incarnation), boolInt(r.CancelRequested), nullString(r.Backfill), upstream, shardIndex, shardTotal}
}

func exitText(e *sundial.ExitStatus) any {
	if e == nil {
		return nil
	}
	b, _ := json.Marshal(e)
	return string(b)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateJob implements sundial.Store.
func (s *Store) CreateJob(ctx context.Context, job sundial.Job, now time.Time) (sundial.Job, error) {
	if job.ID == "" {
		return sundial.Job{}, errors.New("sqlstore: job ID is empty")
	}
	name, task, args, spec, tags, opts, err := jobValues(job)
	if err != nil {
		return sundial.Job{}, fmt.Errorf("encode job %q: %w", job.ID, err)
	}
	now = now.Truncate(time.Microsecond)
	_, err = s.exec(ctx, "insertJob", job.ID, name, task, args, spec, tags, opts,
		boolInt(job.Paused), nullString(job.PauseReason), micros(job.NextRunAt), 1, micros(now), micros(now), job.Queue, job.Source)
	if err != nil {
		if s.d.IsUniqueViolation(err) {
			return sundial.Job{}, sundial.ErrJobExists
		}
		return sundial.Job{}, fmt.Errorf("%s: create job %q: %w", s.d.Name, job.ID, err)
	}
	s.notify(ctx)
	job = job.Clone()
	job.Version, job.CreatedAt, job.UpdatedAt = 1, now.UTC(), now.UTC()
	job.NextRunAt = asStored(job.NextRunAt)
	return job, nil
}

// asStored returns t as the database returns it: microseconds, UTC.
func asStored(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}

// UpdateJob implements sundial.Store.
func (s *Store) UpdateJob(ctx context.Context, job sundial.Job, now time.Time) (sundial.Job, error) {
	name, task, args, spec, tags, opts, err := jobValues(job)
	if err != nil {
		return sundial.Job{}, fmt.Errorf("encode job %q: %w", job.ID, err)
	}
	now = now.Truncate(time.Microsecond)
	var created sql.NullInt64
	err = s.queryRow(ctx, "updateJob", name, task, args, spec, tags, opts, boolInt(job.Paused),
		nullString(job.PauseReason), micros(job.NextRunAt), micros(now), job.Queue, job.Source, job.ID, job.Version).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		var one int
		switch err := s.queryRow(ctx, "jobExists", job.ID).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return sundial.Job{}, sundial.ErrJobNotFound
		case err != nil:
			return sundial.Job{}, fmt.Errorf("%s: update job %q: %w", s.d.Name, job.ID, err)
		}
		return sundial.Job{}, sundial.ErrVersionConflict
	}
	if err != nil {
		return sundial.Job{}, fmt.Errorf("%s: update job %q: %w", s.d.Name, job.ID, err)
	}
	s.notify(ctx)
	job = job.Clone()
	job.Version++
	job.CreatedAt, job.UpdatedAt = fromMicros(created), now.UTC()
	job.NextRunAt = asStored(job.NextRunAt)
	return job, nil
}

// DeleteJob implements sundial.Store.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	res, err := s.exec(ctx, "deleteJob", id)
	if err != nil {
		return fmt.Errorf("%s: delete job %q: %w", s.d.Name, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sundial.ErrJobNotFound
	}
	s.notify(ctx)
	return nil
}

// notify tells other processes that jobs changed. It is best effort: they
// poll anyway.
func (s *Store) notify(ctx context.Context) {
	if s.d.Notify != "" {
		s.db.ExecContext(ctx, s.d.Notify)
	}
}

// GetJob implements sundial.Store.
func (s *Store) GetJob(ctx context.Context, id string) (sundial.Job, error) {
	j, err := scanJob(s.queryRow(ctx, "getJob", id))
	if errors.Is(err, sql.ErrNoRows) {
		return sundial.Job{}, sundial.ErrJobNotFound
	}
	if err != nil {
		return sundial.Job{}, fmt.Errorf("%s: get job %q: %w", s.d.Name, id, err)
	}
	return j, nil
}

// ListJobs implements sundial.Store. Every filter but the tag (kept as
// JSON) is applied by the database, so that a page of a long listing reads
// only its rows.
func (s *Store) ListJobs(ctx context.Context, f sundial.JobFilter) ([]sundial.Job, error) {
	var where []string
	var args []any
	if f.Paused != nil {
		where, args = append(where, "paused = ?"), append(args, boolInt(*f.Paused))
	}
	if f.Task != "" {
		where, args = append(where, "task = ?"), append(args, f.Task)
	}
	if f.Queue != nil {
		where, args = append(where, "queue = ?"), append(args, *f.Queue)
	}
	if f.Source != nil {
		where, args = append(where, "source = ?"), append(args, *f.Source)
	}
	if f.AfterID != "" {
		where, args = append(where, "id > ?"), append(args, f.AfterID)
	}
	q := "SELECT " + jobCols + " FROM sundial_jobs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	if f.Limit > 0 && f.Tag == "" {
		q += " LIMIT " + strconv.Itoa(f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: list jobs: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []sundial.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: list jobs: %w", s.d.Name, err)
		}
		if f.Match(j) {
			out = append(out, j)
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, rows.Err()
}

// NextWake implements sundial.Store.
func (s *Store) NextWake(ctx context.Context, node string) (time.Time, error) {
	var job, run, paused sql.NullInt64
	st, err := s.stmt(ctx, "nextWake")
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: next wake: %w", s.d.Name, err)
	}
	if err := st.QueryRowContext(ctx, node).Scan(&job, &run, &paused); err != nil {
		return time.Time{}, fmt.Errorf("%s: next wake: %w", s.d.Name, err)
	}
	if paused.Valid {
		return time.Time{}, nil
	}
	a, b := fromMicros(job), fromMicros(run)
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b, nil
	}
	return a, nil
}

// Claim implements sundial.Store.
func (s *Store) Claim(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	if s.d.Pipeline != nil {
		return s.claimPipelined(ctx, req, plan)
	}
	// Prepared before the transaction: preparing takes a connection of its
	// own, and one taken while the transaction holds another can wait
	// forever on a pool that claims in parallel have emptied.
	var pre claimStmts
	for _, name := range claimNames {
		st, err := s.stmt(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("%s: claim: %w", s.d.Name, err)
		}
		*pre.slot(name) = st
	}
	if err := s.prepareMulti(ctx, claimMulti...); err != nil {
		return nil, fmt.Errorf("%s: claim: %w", s.d.Name, err)
	}
	tx, end, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: claim: begin: %w", s.d.Name, err)
	}
	defer end()
	for _, name := range claimNames {
		*pre.slot(name) = tx.StmtContext(ctx, *pre.slot(name))
	}
	out, err := s.claim(ctx, tx, &pre, req, plan)
	if err != nil {
		return nil, fmt.Errorf("%s: claim: %w", s.d.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: claim: commit: %w", s.d.Name, err)
	}
	return out, nil
}

// claimNames are the statements of a claim over database/sql (SQLite, in
// process), in claimStmts order, of one row each; its jobs are counted
// and written by the multiRow statements claimMulti. A dialect with a
// Pipeline claims with a few statements of many rows instead
// (claimPipelined).
var claimNames = []string{"clusterPaused", "dueRuns", "dueJobs", "claimRun", "insertClaimed"}

// claimMulti are the multiRow statements of a claim over database/sql.
var claimMulti = []string{"activeCounts", "planJobs"}

// claimStmts are the prepared statements of a claim, bound to its
// transaction.
type claimStmts struct {
	paused, dueRuns, dueJobs, claimRun, insertRun *sql.Stmt
}

// slot returns where the named statement goes.
func (c *claimStmts) slot(name string) **sql.Stmt {
	switch name {
	case "clusterPaused":
		return &c.paused
	case "dueRuns":
		return &c.dueRuns
	case "dueJobs":
		return &c.dueJobs
	case "claimRun":
		return &c.claimRun
	}
	return &c.insertRun
}

// query runs the filtered query q with args, or the prepared st when the
// claim has no queue or task list (q is then the statement's text).
func query(ctx context.Context, tx *sql.Tx, st *sql.Stmt, req sundial.ClaimRequest, q string, args []any) (*sql.Rows, error) {
	if len(req.Queues) == 0 && len(req.Tasks) == 0 {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

// notWorkerTask fills a query's {tasks} hole for a scheduler node, which
// never takes the jobs and runs of worker tasks.
const notWorkerTask = " AND task NOT IN (SELECT task FROM sundial_worker_tasks)"

// listArg marks where, among a filtered query's arguments, the queue and
// task lists go.
type listArg int

const (
	queueList listArg = iota
	taskList
)

// filtered returns the named query and its arguments, narrowed to the
// queues when there are any ({queues}) and to a worker's tasks when there
// are any ({tasks}; else every task but the worker tasks). The queueList
// and taskList markers in args stand for the lists' values.
func (s *Store) filtered(name string, queues, tasks []string, args ...any) (string, []any) {
	out := make([]any, 0, len(args)+len(queues)+len(tasks))
	for _, a := range args {
		switch a {
		case queueList:
			for _, q := range queues {
				out = append(out, q)
			}
		case taskList:
			for _, t := range tasks {
				out = append(out, t)
			}
		default:
			out = append(out, a)
		}
	}
	if len(queues) == 0 && len(tasks) == 0 {
		return s.q[name], out
	}
	inQueues, inTasks := "", notWorkerTask
	if len(queues) > 0 {
		inQueues = " AND queue IN (" + marks(len(queues)) + ")"
	}
	if len(tasks) > 0 {
		inTasks = " AND task IN (" + marks(len(tasks)) + ")"
	}
	return s.rebind(strings.NewReplacer("{queues}", inQueues, "{tasks}", inTasks).Replace(s.raw[name])), out
}

func (s *Store) claim(ctx context.Context, tx *sql.Tx, pre *claimStmts, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	nowMicros, limit := req.Now.UnixMicro(), req.Limit
	out, err := s.claimRuns(ctx, tx, pre, req)
	if err != nil {
		return nil, err
	}
	if len(out) >= limit {
		return out, nil
	}

	q, args := s.filtered("dueJobs", req.Queues, req.Tasks, nowMicros, queueList, taskList, limit-len(out))
	rows, err := query(ctx, tx, pre.dueJobs, req, q, args)
	if err != nil {
		return nil, err
	}
	var jobs []sundial.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		if len(out) > 0 {
			return out, nil
		}
		// Nothing due, or the cluster is paused: the queries take nothing
		// then, and only now is it worth a statement to tell which.
		var paused sql.NullInt64
		if err := pre.paused.QueryRowContext(ctx).Scan(&paused); err != nil {
			return nil, err
		}
		if paused.Valid {
			return nil, sundial.ErrSchedulerPaused
		}
		return nil, nil
	}
	counts, err := s.activeCounts(ctx, tx, jobs)
	if err != nil {
		return nil, err
	}

	vals, inserts, err := planClaim(jobs, counts, req, plan)
	if err != nil {
		return nil, err
	}
	inserted, err := s.writeClaimRows(ctx, tx, pre.insertRun, jobs, vals, inserts)
	if err != nil {
		return nil, err
	}
	return appendInserted(out, inserts, inserted), nil
}

// planClaim asks the plan for each claimed job, given its active and
// queued runs, and returns the jobs' writes (five values per job: id,
// version, next_run_at, paused, pause_reason) and the runs to insert,
// those to execute already pending under the claim's lease.
func planClaim(jobs []sundial.Job, counts map[string][2]int, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]any, []sundial.Run, error) {
	lease := req.LeaseUntil.Truncate(time.Microsecond)
	vals := make([]any, 0, 5*len(jobs))
	var inserts []sundial.Run
	for _, job := range jobs {
		c := counts[job.ID]
		planned, runs := plan(job, c[0], c[1] > 0)
		if planned.ID != job.ID {
			return nil, nil, fmt.Errorf("plan changed job ID %q to %q", job.ID, planned.ID)
		}
		if !planned.Paused && !planned.NextRunAt.IsZero() && !planned.NextRunAt.After(job.NextRunAt) {
			return nil, nil, fmt.Errorf("plan did not advance job %q past %s", job.ID, job.NextRunAt)
		}
		vals = append(vals, job.ID, job.Version, micros(planned.NextRunAt), boolInt(planned.Paused), nullString(planned.PauseReason))
		for _, r := range runs {
			r.Queue = job.Queue // retries and queued runs stay in the job's queue
			if r.Status.Executing() {
				r.Status, r.ClaimedAt = sundial.StatusPending, req.Now.Truncate(time.Microsecond).UTC()
				r.Node, r.Incarnation, r.LeaseUntil = req.Node, req.Incarnation, lease
			}
			r.ScheduledAt = r.ScheduledAt.Truncate(time.Microsecond)
			inserts = append(inserts, r)
		}
	}
	return vals, inserts, nil
}

// appendInserted appends to out the runs to execute among inserts that
// were inserted (a fire already recorded is not run again).
func appendInserted(out, inserts []sundial.Run, inserted map[string]bool) []sundial.Run {
	for _, r := range inserts {
		if r.Status.Executing() && inserted[r.ID] {
			out = append(out, r.Clone())
		}
	}
	return out
}

// claimRuns claims the scheduled runs that are due for the node, as
// pending under its lease, earliest first.
func (s *Store) claimRuns(ctx context.Context, tx *sql.Tx, pre *claimStmts, req sundial.ClaimRequest) ([]sundial.Run, error) {
	nowMicros, lease := req.Now.UnixMicro(), req.LeaseUntil.Truncate(time.Microsecond)
	q, args := s.filtered("dueRuns", req.Queues, req.Tasks, nowMicros, queueList, req.Node, taskList, req.Limit)
	rows, err := query(ctx, tx, pre.dueRuns, req, q, args)
	if err != nil {
		return nil, err
	}
	var out []sundial.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		r.Status, r.Node, r.Incarnation, r.LeaseUntil = sundial.StatusPending, req.Node, req.Incarnation, lease
		r.ClaimedAt = req.Now.Truncate(time.Microsecond).UTC()
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range out {
		if _, err := pre.claimRun.ExecContext(ctx, nullString(req.Node), nullString(req.Incarnation), micros(lease), nowMicros, r.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeClaimRows writes a claim's planned jobs (vals: five per job, as
// the planJobs statement takes them) by multiRow statements, and inserts
// its runs, one prepared statement (insert) per row, and returns the IDs
// of the runs it inserted. (The runs in statements of many rows too were
// slower: such a statement keeps a copy of every page it changes, in
// case it fails part way, and the runs' indexes change many pages; four
// processes on one file then timed out waiting for each other.)
func (s *Store) writeClaimRows(ctx context.Context, tx *sql.Tx, insert *sql.Stmt, jobs []sundial.Job, vals []any, inserts []sundial.Run) (map[string]bool, error) {
	var written int64
	err := chunks(len(jobs), func(lo, n int) error {
		st, err := s.multiStmt(ctx, tx, "planJobs", n)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, vals[5*lo:5*(lo+n)]...)
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		written += k
		return err
	})
	if err != nil {
		return nil, err
	}
	if written != int64(len(jobs)) {
		// The transaction is rolled back: which job it was is not worth
		// a statement per job to find.
		return nil, fmt.Errorf("%d of the %d jobs claimed changed during the claim", int64(len(jobs))-written, len(jobs))
	}
	inserted := make(map[string]bool, len(inserts))
	for _, r := range inserts {
		res, err := insert.ExecContext(ctx, runValues(r)...)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			inserted[r.ID] = true
		}
	}
	return inserted, nil
}

// marks returns n comma-separated placeholders.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// activeCounts returns, per job, its runs in flight (pending or running,
// and scheduled shards) and its queued runs, by the activeCounts multiRow
// statement.
func (s *Store) activeCounts(ctx context.Context, tx *sql.Tx, jobs []sundial.Job) (map[string][2]int, error) {
	counts := make(map[string][2]int, len(jobs))
	ids := make([]any, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	err := chunks(len(jobs), func(lo, n int) error {
		st, err := s.multiStmt(ctx, tx, "activeCounts", n)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, ids[lo:lo+n]...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var c [2]int
			if err := rows.Scan(&id, &c[0], &c[1]); err != nil {
				return err
			}
			counts[id] = c
		}
		return rows.Err()
	})
	return counts, err
}

// CreateRun implements sundial.Store.
func (s *Store) CreateRun(ctx context.Context, run sundial.Run) error {
	if run.ID == "" || run.JobID == "" {
		return errors.New("sqlstore: run ID and job ID are required")
	}
	if _, err := s.exec(ctx, "insertRun", runValues(run)...); err != nil {
		if s.d.IsUniqueViolation(err) {
			return sundial.ErrDuplicateRun
		}
		return fmt.Errorf("%s: create run %q: %w", s.d.Name, run.ID, err)
	}
	if run.Status == sundial.StatusScheduled {
		// Whoever takes it — the node it waits for, any node, a worker —
		// takes it at once, not at its next poll: a run started by hand
		// on an API-only node, a retry, a chained run.
		s.notify(ctx)
	}
	return nil
}

// UpdateRun implements sundial.Store.
func (s *Store) UpdateRun(ctx context.Context, run sundial.Run) error {
	res, err := s.exec(ctx, "updateRun", updateValues(run)...)
	if err != nil {
		return fmt.Errorf("%s: update run %q: %w", s.d.Name, run.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	answer, err := s.notUpdated(ctx, s.db, run)
	if err != nil {
		return fmt.Errorf("%s: update run %q: %w", s.d.Name, run.ID, err)
	}
	return answer
}

// notUpdated explains why an update of a run wrote nothing: the answer is
// ErrRunNotFound, a change to the run's key, or ErrRunLost (the writer no
// longer holds the run); err is a failure to find out.
func (s *Store) notUpdated(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, run sundial.Run) (answer, err error) {
	var job string
	var at int64
	var attempt int
	switch err := q.QueryRowContext(ctx, s.q["runKey"], run.ID).Scan(&job, &at, &attempt); {
	case errors.Is(err, sql.ErrNoRows):
		return sundial.ErrRunNotFound, nil
	case err != nil:
		return nil, err
	case job != run.JobID || at != run.ScheduledAt.UnixMicro() || attempt != run.Attempt:
		return fmt.Errorf("%s: run %q: job, fire time and attempt cannot change", s.d.Name, run.ID), nil
	}
	return sundial.ErrRunLost, nil
}

var _ sundial.RunBatchUpdater = (*Store)(nil)

// UpdateRuns implements sundial.RunBatchUpdater: one transaction, so many
// runs share one commit (on PostgreSQL, one WAL flush). On PostgreSQL a
// run written twice in the batch (its start, then its end) is written
// once, with its last record: see lastWrites.
func (s *Store) UpdateRuns(ctx context.Context, runs []sundial.Run) ([]error, error) {
	if !s.d.Arrays {
		// In process a statement is cheap; folding measured no gain on
		// SQLite (0.91-0.96 of the fires/s in interleaved rounds, within
		// the noise), so its records are written as they come.
		return s.updateRunsTx(ctx, runs)
	}
	writes, answerOf := lastWrites(runs)
	answers, err := s.updateRunsArrays(ctx, writes)
	if err != nil {
		return nil, err
	}
	out := make([]error, len(runs))
	for i, k := range answerOf {
		out[i] = answers[k]
	}
	return out, nil
}

// lastWrites folds the writes of a run into its last one where they
// follow each other with the same fencing key (job, fire, attempt,
// incarnation), and returns the writes left, in order, and for each of
// runs the index of the write that answers for it. A holder's write sets
// every column it writes and is conditional only on that key and on the
// run executing, which a write that succeeds leaves so: a run's start
// followed by its end succeed or fail together, as the end alone does,
// and leave the row as the end alone leaves it. Writing the end alone
// spares the row a version, and each of the run table's indexes an entry.
func lastWrites(runs []sundial.Run) ([]sundial.Run, []int) {
	writes := make([]sundial.Run, 0, len(runs))
	answerOf := make([]int, len(runs))
	latest := make(map[string]int, len(runs)) // run ID → its latest write
	for i, run := range runs {
		if k, ok := latest[run.ID]; ok && sameFencingKey(writes[k], run) {
			writes[k], answerOf[i] = run, k
			continue
		}
		latest[run.ID], answerOf[i] = len(writes), len(writes)
		writes = append(writes, run)
	}
	return writes, answerOf
}

// sameFencingKey reports whether two writes of a run are conditional on
// the same key.
func sameFencingKey(a, b sundial.Run) bool {
	return a.JobID == b.JobID && a.ScheduledAt.Equal(b.ScheduledAt) && a.Attempt == b.Attempt && a.Incarnation == b.Incarnation
}

// updateRunsTx writes the runs one prepared statement each, in one
// transaction (SQLite).
func (s *Store) updateRunsTx(ctx context.Context, runs []sundial.Run) ([]error, error) {
	update, err := s.stmt(ctx, "updateRun") // before the transaction, as in Claim
	if err != nil {
		return nil, fmt.Errorf("%s: update runs: %w", s.d.Name, err)
	}
	tx, end, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: update runs: %w", s.d.Name, err)
	}
	defer end()
	update = tx.StmtContext(ctx, update)
	answers := make([]error, len(runs))
	for i, run := range runs {
		res, err := update.ExecContext(ctx, updateValues(run)...)
		if err != nil {
			return nil, fmt.Errorf("%s: update runs: %w", s.d.Name, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			continue
		}
		if answers[i], err = s.notUpdated(ctx, tx, run); err != nil {
			return nil, fmt.Errorf("%s: update runs: %w", s.d.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: update runs: %w", s.d.Name, err)
	}
	return answers, nil
}

// writeRounds splits the indexes of runs into rounds, a run's n-th write
// in round n, so that no statement names a run twice.
func writeRounds(runs []sundial.Run) [][]int {
	seen := make(map[string]int, len(runs))
	var rounds [][]int
	for i, run := range runs {
		n := seen[run.ID]
		seen[run.ID] = n + 1
		if n == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[n] = append(rounds[n], i)
	}
	return rounds
}

// updateRunsArrays writes the runs in one statement, so one round trip
// and one commit, and then asks why of those it did not write (rare: a
// run lost or taken over). A run named twice (its start and its end) is
// written twice in order, by a second statement.
func (s *Store) updateRunsArrays(ctx context.Context, runs []sundial.Run) ([]error, error) {
	st, err := s.stmt(ctx, "updateRuns")
	if err != nil {
		return nil, fmt.Errorf("%s: update runs: %w", s.d.Name, err)
	}
	answers := make([]error, len(runs))
	for _, round := range writeRounds(runs) {
		rows := make([][]any, len(round))
		for k, i := range round {
			rows[k] = updateValues(runs[i])
		}
		res, err := st.QueryContext(ctx, columns(updateTypes, rows)...)
		if err != nil {
			return nil, fmt.Errorf("%s: update runs: %w", s.d.Name, err)
		}
		written := make(map[string]bool, len(round))
		for res.Next() {
			var id string
			if err := res.Scan(&id); err != nil {
				res.Close()
				return nil, fmt.Errorf("%s: update runs: %w", s.d.Name, err)
			}
			written[id] = true
		}
		res.Close()
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("%s: update runs: %w", s.d.Name, err)
		}
		for _, i := range round {
			if written[runs[i].ID] {
				continue
			}
			if answers[i], err = s.notUpdated(ctx, s.db, runs[i]); err != nil {
				return nil, fmt.Errorf("%s: update runs: %w", s.d.Name, err)
			}
		}
	}
	return answers, nil
}

// updateValues returns the arguments of the updateRun statement.
func updateValues(run sundial.Run) []any {
	return []any{run.Task, micros(run.NotBefore), micros(run.StartedAt), micros(run.EndedAt),
		string(run.Status), rawText(run.Args), rawText(run.Result), nullString(run.Error), nullString(run.Output), exitText(run.Exit),
		run.ID, run.JobID, run.ScheduledAt.UnixMicro(), run.Attempt, run.Incarnation}
}

// GetRun implements sundial.Store.
func (s *Store) GetRun(ctx context.Context, id string) (sundial.Run, error) {
	r, err := scanRun(s.queryRow(ctx, "getRun", id))
	if errors.Is(err, sql.ErrNoRows) {
		return sundial.Run{}, sundial.ErrRunNotFound
	}
	if err != nil {
		return sundial.Run{}, fmt.Errorf("%s: get run %q: %w", s.d.Name, id, err)
	}
	return r, nil
}

// ListRuns implements sundial.Store.
func (s *Store) ListRuns(ctx context.Context, f sundial.RunFilter) ([]sundial.Run, error) {
	var where []string
	var args []any
	if f.JobID != "" {
		where, args = append(where, "job_id = ?"), append(args, f.JobID)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.Backfill != "" {
		where, args = append(where, "backfill_id = ?"), append(args, f.Backfill)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "scheduled_at >= ?"), append(args, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "scheduled_at < ?"), append(args, f.Until.UnixMicro())
	}
	if c := f.After; c != nil {
		at := c.ScheduledAt.UnixMicro()
		where = append(where, "(scheduled_at < ? OR (scheduled_at = ? AND (attempt < ? OR (attempt = ? AND id > ?))))")
		args = append(args, at, at, c.Attempt, c.Attempt, c.ID)
	}
	q := "SELECT " + runCols + " FROM sundial_runs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY scheduled_at DESC, attempt DESC, id"
	if f.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: list runs: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []sundial.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: list runs: %w", s.d.Name, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PromoteQueued implements sundial.Store.
func (s *Store) PromoteQueued(ctx context.Context, jobID string, now time.Time) (bool, error) {
	tx, end, err := s.begin(ctx)
	if err != nil {
		return false, fmt.Errorf("%s: promote queued run: %w", s.d.Name, err)
	}
	defer end()
	var id string
	var at int64
	var attempt int
	var shards sql.NullInt64
	switch err := tx.QueryRowContext(ctx, s.q["firstQueue"], jobID).Scan(&id, &at, &attempt, &shards); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%s: promote queued run: %w", s.d.Name, err)
	}
	if shards.Valid {
		// A broadcast fire: all its shards, once no shard of the job is in flight.
		var one int
		switch err := tx.QueryRowContext(ctx, s.q["shardsBusy"], jobID).Scan(&one); {
		case err == nil:
			return false, nil
		case !errors.Is(err, sql.ErrNoRows):
			return false, fmt.Errorf("%s: promote queued run: %w", s.d.Name, err)
		}
		if _, err := tx.ExecContext(ctx, s.q["promoteFire"], now.UnixMicro(), jobID, at, attempt); err != nil {
			return false, fmt.Errorf("%s: promote queued run: %w", s.d.Name, err)
		}
	} else if _, err := tx.ExecContext(ctx, s.q["promote"], now.UnixMicro(), id); err != nil {
		return false, fmt.Errorf("%s: promote queued run: %w", s.d.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("%s: promote queued run: %w", s.d.Name, err)
	}
	if shards.Valid {
		s.notify(ctx) // the nodes the shards wait for, elsewhere, take them at once
	}
	return true, nil
}

// RegisterNode implements sundial.Store.
func (s *Store) RegisterNode(ctx context.Context, n sundial.Node, now time.Time) ([]sundial.Run, error) {
	queues, err := jsonText(n.Queues, len(n.Queues) == 0)
	if err != nil {
		return nil, err
	}
	facts, err := jsonText(n.Facts, len(n.Facts) == 0)
	if err != nil {
		return nil, err
	}
	tx, end, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: register node %q: %w", s.d.Name, n.ID, err)
	}
	defer end()
	tasks, err := jsonText(n.Tasks, len(n.Tasks) == 0)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, s.q["upsertNode"], n.ID, n.Host, n.PID, n.Version, queues,
		micros(n.StartedAt), micros(n.LastSeen), n.Incarnation, facts, boolInt(n.Standby), string(n.Kind), tasks, n.Capacity); err != nil {
		return nil, fmt.Errorf("%s: register node %q: %w", s.d.Name, n.ID, err)
	}
	orphans, err := s.reap(ctx, tx, now, func(r sundial.Run) string {
		return fmt.Sprintf("node %s restarted (incarnation %s replaced %s)", n.ID, n.Incarnation, r.Incarnation)
	}, s.q["orphans"], n.ID, n.Incarnation)
	if err != nil {
		return nil, fmt.Errorf("%s: register node %q: %w", s.d.Name, n.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: register node %q: %w", s.d.Name, n.ID, err)
	}
	return orphans, nil
}

// reap ends the executing runs that query selects, whose holders are gone:
// each becomes lost (or canceled, when a cancel was requested), with the
// reason why, and is returned.
func (s *Store) reap(ctx context.Context, tx *sql.Tx, now time.Time, why func(sundial.Run) string, query string, args ...any) ([]sundial.Run, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []sundial.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		r := &out[i]
		r.Status, r.EndedAt, r.Error = sundial.StatusLost, now.Truncate(time.Microsecond).UTC(), why(*r)
		if r.CancelRequested {
			r.Status, r.Error = sundial.StatusCanceled, "canceled on request; "+r.Error
		}
		if _, err := tx.ExecContext(ctx, s.q["reap"], r.EndedAt.UnixMicro(), r.Error, r.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Heartbeat implements sundial.Store.
func (s *Store) Heartbeat(ctx context.Context, req sundial.HeartbeatRequest) (sundial.HeartbeatResult, error) {
	var res sundial.HeartbeatResult
	beat, err := s.exec(ctx, "beatNode", req.Now.UnixMicro(), boolInt(req.Standby), len(req.Runs), req.Node, req.Incarnation)
	if err != nil {
		return res, fmt.Errorf("%s: heartbeat of %q: %w", s.d.Name, req.Node, err)
	}
	if n, err := beat.RowsAffected(); err == nil && n == 0 {
		res.Replaced = true
	}
	if !req.Standby {
		if _, err := s.exec(ctx, "beatTargets", req.LeaseUntil.UnixMicro(), req.Node); err != nil {
			return res, fmt.Errorf("%s: heartbeat of %q: %w", s.d.Name, req.Node, err)
		}
	}
	if len(req.Runs) == 0 {
		return res, nil
	}
	args := []any{req.LeaseUntil.UnixMicro(), req.Node, req.Incarnation}
	for _, id := range req.Runs {
		args = append(args, id)
	}
	q := s.rebind(strings.Replace(queries["beatRuns"], "{ids}", marks(len(req.Runs)), 1))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return res, fmt.Errorf("%s: heartbeat of %q: %w", s.d.Name, req.Node, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var cancel int
		if err := rows.Scan(&id, &cancel); err != nil {
			return sundial.HeartbeatResult{}, fmt.Errorf("%s: heartbeat of %q: %w", s.d.Name, req.Node, err)
		}
		res.Held = append(res.Held, id)
		if cancel != 0 {
			res.Cancel = append(res.Cancel, id)
		}
	}
	if err := rows.Err(); err != nil {
		return sundial.HeartbeatResult{}, fmt.Errorf("%s: heartbeat of %q: %w", s.d.Name, req.Node, err)
	}
	return res, nil
}

// ReapLost implements sundial.Store.
func (s *Store) ReapLost(ctx context.Context, now time.Time) ([]sundial.Run, error) {
	tx, end, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: reap lost runs: %w", s.d.Name, err)
	}
	defer end()
	lost, err := s.reap(ctx, tx, now, func(r sundial.Run) string {
		return fmt.Sprintf("node %s stopped renewing its lease (until %s)", r.Node, r.LeaseUntil.Format(time.RFC3339Nano))
	}, s.q["expired"], now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("%s: reap lost runs: %w", s.d.Name, err)
	}
	unclaimed, err := s.reap(ctx, tx, now, func(r sundial.Run) string {
		return fmt.Sprintf("node %s did not take it by %s", r.Node, r.LeaseUntil.Format(time.RFC3339Nano))
	}, s.q["unclaimed"], now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("%s: reap lost runs: %w", s.d.Name, err)
	}
	lost = append(lost, unclaimed...)
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: reap lost runs: %w", s.d.Name, err)
	}
	return lost, nil
}

// CancelRun implements sundial.Store.
func (s *Store) CancelRun(ctx context.Context, id string, now time.Time) (sundial.Run, error) {
	res, err := s.exec(ctx, "cancelRun", now.UnixMicro(), id)
	if err != nil {
		return sundial.Run{}, fmt.Errorf("%s: cancel run %q: %w", s.d.Name, id, err)
	}
	run, err := s.GetRun(ctx, id)
	if err != nil {
		return sundial.Run{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return run, sundial.ErrRunEnded
	}
	s.notify(ctx) // the run's node, elsewhere, stops it at once
	return run, nil
}

// SetPaused implements sundial.Store.
func (s *Store) SetPaused(ctx context.Context, paused bool, now time.Time) error {
	if _, err := s.exec(ctx, "setPaused", boolInt(paused), now.UnixMicro()); err != nil {
		return fmt.Errorf("%s: set paused: %w", s.d.Name, err)
	}
	s.notify(ctx)
	return nil
}

// Paused implements sundial.Store.
func (s *Store) Paused(ctx context.Context) (bool, time.Time, error) {
	var at sql.NullInt64
	if err := s.queryRow(ctx, "clusterPaused").Scan(&at); err != nil {
		return false, time.Time{}, fmt.Errorf("%s: paused: %w", s.d.Name, err)
	}
	return at.Valid, fromMicros(at), nil
}

// ListNodes implements sundial.Store.
func (s *Store) ListNodes(ctx context.Context) ([]sundial.Node, error) {
	rows, err := s.db.QueryContext(ctx, s.q["listNodes"])
	if err != nil {
		return nil, fmt.Errorf("%s: list nodes: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []sundial.Node
	for rows.Next() {
		var n sundial.Node
		var queues, facts, tasks sql.NullString
		var started, seen sql.NullInt64
		var standby int
		var kind string
		if err := rows.Scan(&n.ID, &n.Host, &n.PID, &n.Version, &queues, &started, &seen, &n.Incarnation, &facts, &standby,
			&kind, &tasks, &n.Capacity, &n.Busy); err != nil {
			return nil, fmt.Errorf("%s: list nodes: %w", s.d.Name, err)
		}
		if queues.Valid {
			if err := json.Unmarshal([]byte(queues.String), &n.Queues); err != nil {
				return nil, fmt.Errorf("%s: node %q: queues: %w", s.d.Name, n.ID, err)
			}
		}
		if facts.Valid {
			if err := json.Unmarshal([]byte(facts.String), &n.Facts); err != nil {
				return nil, fmt.Errorf("%s: node %q: facts: %w", s.d.Name, n.ID, err)
			}
		}
		if tasks.Valid {
			if err := json.Unmarshal([]byte(tasks.String), &n.Tasks); err != nil {
				return nil, fmt.Errorf("%s: node %q: tasks: %w", s.d.Name, n.ID, err)
			}
		}
		n.StartedAt, n.LastSeen, n.Standby, n.Kind = fromMicros(started), fromMicros(seen), standby != 0, sundial.NodeKind(kind)
		out = append(out, n)
	}
	return out, rows.Err()
}

// PruneRuns implements sundial.Store.
func (s *Store) PruneRuns(ctx context.Context, olderThan time.Time, keepPerJob int) (int, error) {
	if olderThan.IsZero() && keepPerJob <= 0 {
		return 0, nil
	}
	tx, end, err := s.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: prune runs: %w", s.d.Name, err)
	}
	defer end()
	if s.d.TryLock != "" {
		var got bool
		if err := tx.QueryRowContext(ctx, s.d.TryLock).Scan(&got); err != nil {
			return 0, fmt.Errorf("%s: prune runs: %w", s.d.Name, err)
		}
		if !got {
			return 0, nil // another node is pruning
		}
	}
	var cond []string
	var args []any
	if keepPerJob > 0 {
		cond, args = append(cond, "rn > ?"), append(args, keepPerJob)
	}
	if !olderThan.IsZero() {
		cond, args = append(cond, "ended_at < ?"), append(args, olderThan.UnixMicro())
	}
	q := `DELETE FROM sundial_runs WHERE id IN (SELECT id FROM (
		SELECT id, status, ended_at, ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY scheduled_at DESC, attempt DESC) AS rn
		FROM sundial_runs) ranked
		WHERE status NOT IN ('queued', 'scheduled', 'pending', 'running') AND (` + strings.Join(cond, " OR ") + `))`
	res, err := tx.ExecContext(ctx, s.rebind(q), args...)
	if err != nil {
		return 0, fmt.Errorf("%s: prune runs: %w", s.d.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("%s: prune runs: %w", s.d.Name, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

var _ sundial.RunOutputWriter = (*Store)(nil)

// UpdateRunOutput implements sundial.RunOutputWriter.
func (s *Store) UpdateRunOutput(ctx context.Context, runID, incarnation, output string) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sundial_runs SET output = ? WHERE id = ? AND status IN ('pending', 'running') AND COALESCE(incarnation, '') = ?`),
		output, runID, incarnation)
	if err != nil {
		return fmt.Errorf("%s: save output of run %q: %w", s.d.Name, runID, err)
	}
	return nil
}
