package memstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) sundial.Store { return memstore.New(memstore.Options{}) })
}

// TestBroadcast: broadcast jobs on schedulers sharing one store that
// come, go and die; each fire runs one shard per live node, each once.
func TestBroadcast(t *testing.T) {
	s := memstore.New(memstore.Options{})
	storetest.Broadcast(t, []sundial.Store{s})
}

// TestRetention checks that, once the scheduler's retention asked for 3
// runs per job, only the last 3 ended runs of a job are kept as runs end,
// and that runs still waiting are never dropped.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	if _, err := s.PruneRuns(ctx, time.Time{}, 3); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	waiting := sundial.Run{ID: "waiting", JobID: "a", Task: "x", ScheduledAt: t0.Add(-time.Hour), Status: sundial.StatusScheduled,
		Attempt: 2, NotBefore: t0.Add(time.Hour)}
	if err := s.CreateRun(ctx, waiting); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		r := sundial.Run{ID: fmt.Sprint("r", i), JobID: "a", Task: "x", ScheduledAt: t0.Add(time.Duration(i) * time.Minute),
			Status: sundial.StatusSucceeded, Attempt: 1}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	runs, _ := s.ListRuns(ctx, sundial.RunFilter{JobID: "a"})
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[r9 r8 r7 waiting]" {
		t.Errorf("kept %v, want the last 3 ended runs and the waiting one", ids)
	}
}
