package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sundialhq/sundial"
)

// DeclareTasks implements sundial.WorkerStore.
func (s *Store) DeclareTasks(ctx context.Context, tasks []string, served bool, now time.Time) error {
	if len(tasks) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: declare worker tasks: %w", s.d.Name, err)
	}
	defer tx.Rollback()
	servedAt := any(nil)
	if served {
		servedAt = now.UnixMicro()
	}
	for _, t := range tasks {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO sundial_worker_tasks (task, declared_at, served_at) VALUES (?, ?, ?)
			ON CONFLICT (task) DO UPDATE SET served_at = COALESCE(excluded.served_at, sundial_worker_tasks.served_at)`),
			t, now.UnixMicro(), servedAt); err != nil {
			return fmt.Errorf("%s: declare worker task %q: %w", s.d.Name, t, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: declare worker tasks: %w", s.d.Name, err)
	}
	return nil
}

// WorkerTasks implements sundial.WorkerStore.
func (s *Store) WorkerTasks(ctx context.Context) ([]sundial.WorkerTask, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT task, declared_at, served_at FROM sundial_worker_tasks ORDER BY task`)
	if err != nil {
		return nil, fmt.Errorf("%s: worker tasks: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []sundial.WorkerTask
	for rows.Next() {
		var t sundial.WorkerTask
		var declared, served sql.NullInt64
		if err := rows.Scan(&t.Name, &declared, &served); err != nil {
			return nil, fmt.Errorf("%s: worker tasks: %w", s.d.Name, err)
		}
		t.DeclaredAt, t.ServedAt = fromMicros(declared), fromMicros(served)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: worker tasks: %w", s.d.Name, err)
	}
	return out, nil
}

// NextWorkerWake implements sundial.WorkerStore.
func (s *Store) NextWorkerWake(ctx context.Context, tasks, queues []string) (time.Time, error) {
	if len(tasks) == 0 {
		return time.Time{}, nil
	}
	q, args := s.filtered("nextWorkerWake", queues, tasks, queueList, taskList, queueList, taskList)
	var job, run, paused sql.NullInt64
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&job, &run, &paused); err != nil {
		return time.Time{}, fmt.Errorf("%s: next worker wake: %w", s.d.Name, err)
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

// ReleaseRuns implements sundial.WorkerStore.
func (s *Store) ReleaseRuns(ctx context.Context, node, incarnation string, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := []any{node, incarnation}
	for _, id := range ids {
		args = append(args, id)
	}
	q := `UPDATE sundial_runs SET status = 'scheduled', node_id = NULL, incarnation = NULL, lease_until = NULL, claimed_at = NULL,
		started_at = NULL, not_before = COALESCE(not_before, scheduled_at)
		WHERE status IN ('pending', 'running') AND node_id = ? AND incarnation = ? AND id IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + `)`
	res, err := s.db.ExecContext(ctx, s.rebind(q), args...)
	if err != nil {
		return 0, fmt.Errorf("%s: release runs of %q: %w", s.d.Name, node, err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		s.notify(ctx) // other workers take them at once
	}
	return int(n), nil
}

// ForgetNodes implements sundial.WorkerStore.
func (s *Store) ForgetNodes(ctx context.Context, seenBefore time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sundial_nodes WHERE last_seen < ? AND NOT EXISTS (
		SELECT 1 FROM sundial_runs WHERE sundial_runs.node_id = sundial_nodes.id AND status IN ('queued', 'scheduled', 'pending', 'running'))`),
		seenBefore.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("%s: forget nodes: %w", s.d.Name, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// UndeclareTasks implements sundial.WorkerStore.
func (s *Store) UndeclareTasks(ctx context.Context, tasks []string) (int, error) {
	if len(tasks) == 0 {
		return 0, nil
	}
	args := make([]any, len(tasks))
	for i, t := range tasks {
		args[i] = t
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sundial_worker_tasks WHERE task IN (`+marks(len(tasks))+`)`), args...)
	if err != nil {
		return 0, fmt.Errorf("%s: undeclare worker tasks: %w", s.d.Name, err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		s.notify(ctx) // nodes take their due runs at once
	}
	return int(n), nil
}
