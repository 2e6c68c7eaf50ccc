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
		if h.Len() != len(in) {
			t.Fatalf("step %d: %d in the heap, want %d", step, h.Len(), len(in))
		}
		for i := range h.Len() {
			s := h.at(i)
			if int(s.e.index) != i {
				t.Fatalf("step %d: entry at %d has index %d", step, i, s.e.index)
			}
			if s.sec != s.e.nextSec || s.nsec != s.e.nextNsec {
				t.Fatalf("step %d: slot %d's key is not its entry's", step, i)
			}
			if p := (i - 1) / 2; i > 0 && s.before(h.at(p)) {
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

// TestJobHeapChunks grows a heap across several chunks and empties it
// again, checking the order and every entry's slot on the way, and that
// the chunks given back leave room for what is in use.
func TestJobHeapChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h jobHeap
	var in []*jobEntry
	check := func(step int) {
		t.Helper()
		if h.Len() != len(in) || h.room < h.Len() {
			t.Fatalf("step %d: %d in the heap (room %d), want %d", step, h.Len(), h.room, len(in))
		}
		for i := range h.Len() {
			s := h.at(i)
			if int(s.e.index) != i {
				t.Fatalf("step %d: entry at %d has index %d", step, i, s.e.index)
			}
			if p := (i - 1) / 2; i > 0 && s.before(h.at(p)) {
				t.Fatalf("step %d: slot %d comes before its parent", step, i)
			}
		}
	}
	const n = 3*heapChunk + 100
	for step := range n {
		e := &jobEntry{nextSec: rng.Int64N(1000), index: -1}
		h.push(e)
		in = append(in, e)
		if step%997 == 0 {
			check(step)
		}
	}
	check(n)
	if want := 4; len(h.chunks) != want {
		t.Fatalf("%d chunks for %d jobs, want %d", len(h.chunks), n, want)
	}
	for step := 0; len(in) > heapChunk/2; step++ {
		k := rng.IntN(len(in))
		if e := in[k]; h.remove(int(e.index)) != e {
			t.Fatalf("step %d: removed another entry", step)
		}
		in[k] = in[len(in)-1]
		in = in[:len(in)-1]
		if step%997 == 0 {
			check(step)
		}
	}
	check(-1)
	if len(h.chunks) > 2 {
		t.Fatalf("%d chunks left for %d jobs", len(h.chunks), h.Len())
	}
	got := h.takeInto(nil, len(in), func(*jobEntry) bool { return true }, func(*jobEntry) bool { return true })
	for i := 1; i < len(got); i++ {
		if got[i].nextSec < got[i-1].nextSec {
			t.Fatalf("taken out of order at %d", i)
		}
	}
	if len(got) != len(in) || h.Len() != 0 {
		t.Fatalf("took %d of %d, %d left", len(got), len(in), h.Len())
	}
}
