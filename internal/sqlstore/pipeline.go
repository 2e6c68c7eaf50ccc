package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sundialhq/sundial"
)

// Scanner reads the columns of one row of a result.
type Scanner interface{ Scan(dest ...any) error }

// Query is one statement of a Pipe's batch.
type Query struct {
	SQL  string
	Args []any
	// Row, when set, is called for each row of the statement's result.
	Row func(row Scanner) error
}

// Pipe sends statements on one connection, several in one round trip.
type Pipe interface {
	// Send runs qs in order, in one round trip, and stops at the first
	// error. A statement that fails leaves the transaction it is in
	// aborted, so the statements after it in the batch (a COMMIT) do
	// nothing.
	Send(ctx context.Context, qs ...Query) error
}

// claimPipelined is Claim over a Pipe (PostgreSQL), in three round trips
// where each statement was one:
//
//  1. BEGIN; the due runs claimed; the due jobs locked; the pause read
//  2. the locked jobs' active runs counted: a statement of its own, whose
//     snapshot is taken after the lock, so that no run of a claim
//     committed before the lock is missed
//  3. the jobs advanced and their runs inserted; COMMIT
//
// A claim that finds no job commits in the second instead.
//
// A connection that the database closed (it restarted) is found broken
// only when used. database/sql tries another connection then, for the
// statements it sends itself; a claim does the same, on its own, when the
// first batch found the connection broken: nothing was committed. Each
// claim failing on one more broken connection of the pool would instead
// double the loop's back-off each time, and hold a whole cluster's claims
// back for seconds after the database is up again.
func (s *Store) claimPipelined(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	tries := 1 // after a broken connection: one per connection still open, and a new one
	for try := 1; ; try++ {
		out, err := s.claimOnConn(ctx, req, plan)
		var first *firstBatchError
		if err == nil || ctx.Err() != nil || !errors.As(err, &first) || !errors.Is(err, driver.ErrBadConn) {
			if err != nil {
				return nil, fmt.Errorf("%s: claim: %w", s.d.Name, err)
			}
			return out, nil
		}
		// Every connection the pool kept may be as broken: each try
		// discards one. A database still down fails the next try at
		// connecting, not here.
		if try == 1 {
			tries = 1 + s.db.Stats().OpenConnections + 1
		}
		if try >= tries {
			return nil, fmt.Errorf("%s: claim: %w", s.d.Name, err)
		}
	}
}

// firstBatchError is an error of a claim's first batch, which begins its
// transaction: whatever it was, the claim committed nothing.
type firstBatchError struct{ err error }

func (e *firstBatchError) Error() string { return e.err.Error() }
func (e *firstBatchError) Unwrap() error { return e.err }

// claimOnConn is one try of claimPipelined, on a connection of the pool.
func (s *Store) claimOnConn(ctx context.Context, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var out []sundial.Run
	err = s.d.Pipeline(ctx, conn, func(p Pipe) error {
		var err error
		out, err = s.claimOver(ctx, p, req, plan)
		return err
	})
	return out, err
}

// claimOver runs a claim's transaction over p; see claimPipelined.
func (s *Store) claimOver(ctx context.Context, p Pipe, req sundial.ClaimRequest, plan sundial.PlanFunc) ([]sundial.Run, error) {
	out, jobs, paused, err := s.lockDue(ctx, p, req)
	if err != nil {
		return nil, &firstBatchError{err}
	}
	// The jobs were locked up to the whole limit, before the number of
	// runs claimed was known: those beyond it stay as they are (and
	// locked until the commit, which other claims skip).
	jobs = jobs[:min(len(jobs), max(0, req.Limit-len(out)))]
	if len(jobs) == 0 {
		if len(out) == 0 && paused {
			return nil, sundial.ErrSchedulerPaused
		}
		return out, p.Send(ctx, Query{SQL: "COMMIT"})
	}
	counts, err := s.countActive(ctx, p, jobs)
	if err != nil {
		return nil, err
	}
	vals, inserts, err := planClaim(jobs, counts, req, plan)
	if err != nil {
		return nil, err
	}
	inserted, err := s.writeClaim(ctx, p, jobs, vals, inserts)
	if err != nil {
		return nil, err
	}
	return appendInserted(out, inserts, inserted), nil
}

// lockDue begins the claim's transaction and, in the same round trip,
// claims the scheduled runs due for the node (pending under its lease,
// returned earliest first), locks the due jobs (up to the claim's limit),
// and reads whether the cluster is paused (the queries take nothing then).
func (s *Store) lockDue(ctx context.Context, p Pipe, req sundial.ClaimRequest) (runs []sundial.Run, jobs []sundial.Job, paused bool, err error) {
	nowMicros, lease := req.Now.UnixMicro(), req.LeaseUntil.Truncate(time.Microsecond)
	runsQ, runsArgs := s.filtered("claimDueRuns", req.Queues, req.Tasks, nullString(req.Node), nullString(req.Incarnation), micros(lease), nowMicros,
		nowMicros, queueList, req.Node, taskList, req.Limit)
	jobsQ, jobsArgs := s.filtered("dueJobs", req.Queues, req.Tasks, nowMicros, queueList, taskList, req.Limit)
	var pausedAt sql.NullInt64
	err = p.Send(ctx,
		Query{SQL: "BEGIN"},
		Query{SQL: runsQ, Args: runsArgs, Row: func(row Scanner) error {
			r, err := scanRun(row)
			if err != nil {
				return err
			}
			r.Status, r.Node, r.Incarnation, r.LeaseUntil = sundial.StatusPending, req.Node, req.Incarnation, lease
			r.ClaimedAt = req.Now.Truncate(time.Microsecond).UTC()
			runs = append(runs, r)
			return nil
		}},
		Query{SQL: jobsQ, Args: jobsArgs, Row: func(row Scanner) error {
			j, err := scanJob(row)
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
			return nil
		}},
		Query{SQL: s.q["clusterPaused"], Row: func(row Scanner) error { return row.Scan(&pausedAt) }},
	)
	if err != nil {
		return nil, nil, false, err
	}
	// RETURNING keeps no order.
	slices.SortStableFunc(runs, func(a, b sundial.Run) int { return a.NotBefore.Compare(b.NotBefore) })
	return runs, jobs, pausedAt.Valid, nil
}

// countActive returns, per job, its runs in flight (pending or running,
// and scheduled shards) and its queued runs, in one statement.
func (s *Store) countActive(ctx context.Context, p Pipe, jobs []sundial.Job) (map[string][2]int, error) {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	counts := make(map[string][2]int, len(jobs))
	err := p.Send(ctx, Query{SQL: s.q["activeCounts"], Args: []any{ids}, Row: func(row Scanner) error {
		var id string
		var c [2]int
		if err := row.Scan(&id, &c[0], &c[1]); err != nil {
			return err
		}
		counts[id] = c
		return nil
	}})
	return counts, err
}

// writeClaim writes a claim's planned jobs (vals: five per job, as the
// writeClaim statement takes them) and inserts its runs, in one statement
// sent with the COMMIT, and returns the IDs of the runs it inserted. The
// statement fails, so the transaction is rolled back, if a job was not at
// the version read.
func (s *Store) writeClaim(ctx context.Context, p Pipe, jobs []sundial.Job, vals []any, inserts []sundial.Run) (map[string]bool, error) {
	jobRows := make([][]any, len(jobs))
	for i := range jobs {
		jobRows[i] = vals[5*i : 5*i+5]
	}
	runRows := make([][]any, len(inserts))
	for i, r := range inserts {
		runRows[i] = runValues(r)
	}
	args := append(columns("tbbbt", jobRows), columns(runTypes, runRows)...)
	inserted := make(map[string]bool, len(inserts))
	err := p.Send(ctx,
		Query{SQL: s.q["writeClaim"], Args: args, Row: func(row Scanner) error {
			var id string
			if err := row.Scan(&id); err != nil {
				return err
			}
			inserted[id] = true
			return nil
		}},
		Query{SQL: "COMMIT"},
	)
	return inserted, err
}
