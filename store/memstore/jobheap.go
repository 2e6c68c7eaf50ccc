package memstore

import "slices"

// jobHeap is a min-heap of jobs by next fire, each slot holding its job's
// fire time beside the entry: sifting compares keys in the heap's own
// array instead of reading an entry per comparison from all over the
// store (every claim takes a job off the heap and puts it back, about 2
// log2(n) comparisons).
type jobHeap struct {
	items []jobSlot
}

// jobSlot is a job in the heap and its next fire when it was placed.
type jobSlot struct {
	sec  int64
	nsec int32
	e    *jobEntry
}

func slotOf(e *jobEntry) jobSlot { return jobSlot{sec: e.nextSec, nsec: e.nextNsec, e: e} }

func (a *jobSlot) before(b *jobSlot) bool {
	return a.sec < b.sec || a.sec == b.sec && a.nsec < b.nsec
}

// Len returns the number of jobs in the heap.
func (h *jobHeap) Len() int { return len(h.items) }

// min returns the job with the earliest fire; the heap is not empty.
func (h *jobHeap) min() *jobEntry { return h.items[0].e }

// set puts slot at i and tells its entry.
func (h *jobHeap) set(i int, s jobSlot) {
	h.items[i] = s
	s.e.index = int32(i)
}

// minHeapSlots is the room a heap's first push makes.
const minHeapSlots = 64

// push adds e, whose index is -1.
func (h *jobHeap) push(e *jobEntry) {
	if len(h.items) == cap(h.items) {
		// Doubled: append grows a large slice by a quarter, and growing
		// to a million jobs so allocated five times the final array and
		// copied it over, fresh memory that the system faults in page by
		// page (a fifth of adding a million jobs); doubling allocates
		// twice the final array.
		h.items = slices.Grow(h.items, max(len(h.items), minHeapSlots))
	}
	h.items = append(h.items, jobSlot{})
	h.up(len(h.items)-1, slotOf(e))
}

// remove takes out the entry at i and returns it with its index -1.
func (h *jobHeap) remove(i int) *jobEntry {
	e := h.items[i].e
	n := len(h.items) - 1
	last := h.items[n]
	h.items[n] = jobSlot{}
	h.items = h.items[:n]
	if i < n {
		h.fixWith(i, last)
	}
	e.index = -1
	return e
}

// fix restores the order after the entry at i changed its next fire.
func (h *jobHeap) fix(i int) { h.fixWith(i, slotOf(h.items[i].e)) }

// fixWith places s at i, or where the order puts it from there.
func (h *jobHeap) fixWith(i int, s jobSlot) {
	if i > 0 && s.before(&h.items[(i-1)/2]) {
		h.up(i, s)
		return
	}
	h.down(i, s)
}

// up moves s from the hole at j towards the root to its place.
func (h *jobHeap) up(j int, s jobSlot) {
	for j > 0 {
		p := (j - 1) / 2
		if !s.before(&h.items[p]) {
			break
		}
		h.set(j, h.items[p])
		j = p
	}
	h.set(j, s)
}

// down moves s from the hole at i towards the leaves to its place.
func (h *jobHeap) down(i int, s jobSlot) {
	n := len(h.items)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h.items[r].before(&h.items[c]) {
			c = r
		}
		if !h.items[c].before(&s) {
			break
		}
		h.set(i, h.items[c])
		i = c
	}
	h.set(i, s)
}

// takeInto removes from the heap, earliest first, up to limit of the due
// entries that are wanted, and returns them in out's memory (out is
// empty); the caller puts back those that stay (their index is -1). Due
// entries that are not wanted (other queues) are stepped over and stay.
func (h *jobHeap) takeInto(out []*jobEntry, limit int, due, wanted func(*jobEntry) bool) []*jobEntry {
	var passed []*jobEntry
	for len(out) < limit && h.Len() > 0 && due(h.min()) {
		e := h.remove(0)
		if wanted(e) {
			out = append(out, e)
		} else {
			passed = append(passed, e)
		}
	}
	for _, e := range passed {
		h.push(e)
	}
	return out
}
