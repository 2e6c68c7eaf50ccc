package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/sundialhq/sundial"
)

var _ sundial.RunStatser = (*Store)(nil)

// RunStats implements sundial.RunStatser with one aggregate query: exact
// at any number of runs, and read from the index on scheduled_at.
func (s *Store) RunStats(ctx context.Context, f sundial.RunStatsFilter) ([]sundial.RunBucket, error) {
	const timed = `started_at IS NOT NULL AND ended_at IS NOT NULL`
	q := `SELECT scheduled_at / 3600000000, status, COUNT(*),
		SUM(CASE WHEN ` + timed + ` THEN 1 ELSE 0 END),
		CAST(SUM(CASE WHEN ` + timed + ` THEN ended_at - started_at ELSE 0 END) AS BIGINT),
		MAX(CASE WHEN ` + timed + ` THEN ended_at - started_at ELSE 0 END)
		FROM sundial_runs WHERE scheduled_at >= ? AND scheduled_at < ?`
	args := []any{f.Since.UnixMicro(), f.Until.UnixMicro()}
	if f.JobID != "" {
		q += ` AND job_id = ?`
		args = append(args, f.JobID)
	}
	q += ` GROUP BY scheduled_at / 3600000000, status ORDER BY 1, 2`
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: run stats: %w", s.d.Name, err)
	}
	defer rows.Close()
	var out []sundial.RunBucket
	for rows.Next() {
		var hour, count, timedN, total, longest int64
		var status string
		if err := rows.Scan(&hour, &status, &count, &timedN, &total, &longest); err != nil {
			return nil, fmt.Errorf("%s: run stats: %w", s.d.Name, err)
		}
		out = append(out, sundial.RunBucket{Hour: time.Unix(hour*3600, 0).UTC(), Status: sundial.RunStatus(status), Count: int(count),
			Timed: int(timedN), Duration: time.Duration(total) * time.Microsecond, Longest: time.Duration(longest) * time.Microsecond})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: run stats: %w", s.d.Name, err)
	}
	return out, nil
}
