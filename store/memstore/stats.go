package memstore

import (
	"context"

	"github.com/sundialhq/sundial"
)

var _ sundial.RunStatser = (*Store)(nil)

// RunStats implements sundial.RunStatser.
func (s *Store) RunStats(_ context.Context, f sundial.RunStatsFilter) ([]sundial.RunBucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c sundial.BucketCounter
	for _, e := range s.runs {
		r := &e.run
		if (f.JobID == "" || r.JobID == f.JobID) && !r.ScheduledAt.Before(f.Since) && r.ScheduledAt.Before(f.Until) {
			c.Add(r)
		}
	}
	return c.Buckets(), nil
}
