package sqlstore

import (
	"slices"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

func TestLastWritesFoldsARunsWritesOfOneKey(t *testing.T) {
	at := time.Unix(100, 0)
	start := sundial.Run{ID: "a", JobID: "j", ScheduledAt: at, Attempt: 1, Incarnation: "n1", Status: sundial.StatusRunning}
	end := start
	end.Status = sundial.StatusSucceeded
	other := sundial.Run{ID: "b", JobID: "j", ScheduledAt: at.Add(time.Second), Attempt: 1, Incarnation: "n1", Status: sundial.StatusRunning}
	retaken := end
	retaken.Incarnation = "n2" // another holder's write: kept apart, after

	writes, answerOf := lastWrites([]sundial.Run{start, other, end, retaken})

	if want := []sundial.Run{end, other, retaken}; !slices.EqualFunc(writes, want, func(a, b sundial.Run) bool {
		return a.ID == b.ID && a.Status == b.Status && a.Incarnation == b.Incarnation
	}) {
		t.Errorf("writes = %+v, want %+v", writes, want)
	}
	if want := []int{0, 1, 0, 2}; !slices.Equal(answerOf, want) {
		t.Errorf("answerOf = %v, want %v", answerOf, want)
	}
}
