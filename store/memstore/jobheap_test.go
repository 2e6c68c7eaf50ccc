package memstore

import (
	"math/rand/v2"
	"testing"
)

// TestJobHeap checks the heap's order, and that every entry knows its
// slot, through random pushes, removals and changes of next fire.
func TestJobHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h jobHeap
	var in []*jobEntry
	check := func(step int) {
		t.Helper()
		if len(h.items) != len(in) {
			t.Fatalf("step %d: %d in the heap, want %d", step, len(h.items), len(in))
		}
		for i, s := range h.items {
			if int(s.e.index) != i {
				t.Fatalf("step %d: entry at %d has index %d", step, i, s.e.index)
			}
			if s.sec != s.e.nextSec || s.nsec != s.e.nextNsec {
				t.Fatalf("step %d: slot %d's key is not its entry's", step, i)
			}
			if p := (i - 1) / 2; i > 0 && s.before(&h.items[p]) {
				t.Fatalf("step %d: slot %d comes before its parent", step, i)
			}
		}
	}
	for step := range 5000 {
		switch op := rng.IntN(4); {
		case op <= 1 || len(in) == 0:
			e := &jobEntry{nextSec: rng.Int64N(50), nextNsec: rng.Int32N(3), index: -1}
			h.push(e)
			in = append(in, e)
		case op == 2:
			k := rng.IntN(len(in))
			e := in[k]
			if got := h.remove(int(e.index)); got != e || e.index != -1 {
				t.Fatalf("step %d: removed %p (index %d), want %p", step, got, e.index, e)
			}
			in = append(in[:k], in[k+1:]...)
		default:
			e := in[rng.IntN(len(in))]
			e.nextSec, e.nextNsec = rng.Int64N(50), rng.Int32N(3)
			h.fix(int(e.index))
		}
		check(step)
	}
	// Taking returns the entries earliest first.
	prev := jobSlot{sec: -1}
	got := h.takeInto(nil, len(in), func(*jobEntry) bool { return true }, func(*jobEntry) bool { return true })
	for _, e := range got {
		s := slotOf(e)
		if s.before(&prev) {
			t.Fatalf("taken out of order: %d.%d after %d.%d", s.sec, s.nsec, prev.sec, prev.nsec)
		}
		prev = s
	}
	if len(got) != len(in) || h.Len() != 0 {
		t.Fatalf("took %d of %d, %d left", len(got), len(in), h.Len())
	}
}

// TestJobHeapGrowsByDoubling: the heap's array at least doubles when it
// is full, so that growing to n jobs copies fewer than 2n slots.
func TestJobHeapGrowsByDoubling(t *testing.T) {
	var h jobHeap
	for i := range 10_000 {
		before := cap(h.items)
		h.push(&jobEntry{nextSec: int64(i), index: -1})
		if c := cap(h.items); c != before && before > 0 && c < 2*before {
			t.Fatalf("at %d jobs the heap grew from %d to %d slots", i+1, before, c)
		}
	}
}
