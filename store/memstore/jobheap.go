package memstore

// jobHeap is a min-heap of jobs by next fire, each slot holding its job's
// fire time beside the entry: sifting compares keys in the heap's own
// array instead of reading an entry per comparison from all over the
// store (every claim takes a job off the heap and puts it back, about 2
// log2(n) comparisons).
//
// The array is kept in chunks of heapChunk slots, so that it grows
// without moving: one slice grown by append to a million jobs allocated
// five times its final size and copied it over, fresh memory the system
// had to fault in page by page, a fifth of adding a million jobs (and a
// claim's sift reads the chunk's pointer from a table small enough to
// stay in the cache).
type jobHeap struct {
	chunks [][]jobSlot // all heapChunk long but the first, which grows to it while it is the only one
	n      int         // slots in use
	room   int         // slots in the chunks
}

// heapChunk is the number of slots in a chunk (96 KB): small next to a
// heap of a million, large enough that its table of chunks is small.
const (
	heapChunkBits = 12
	heapChunk     = 1 << heapChunkBits
	minHeapSlots  = 64
)

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

// at returns the slot at i, which is below room.
func (h *jobHeap) at(i int) *jobSlot {
	return &h.chunks[i>>heapChunkBits][i&(heapChunk-1)]
}

// grow adds room for at least one more slot.
func (h *jobHeap) grow() {
	switch {
	case len(h.chunks) == 0:
		h.chunks = append(h.chunks, make([]jobSlot, minHeapSlots))
	case len(h.chunks) == 1 && len(h.chunks[0]) < heapChunk:
		c := make([]jobSlot, min(2*len(h.chunks[0]), heapChunk))
		copy(c, h.chunks[0])
		h.chunks[0] = c
	default:
		h.chunks = append(h.chunks, make([]jobSlot, heapChunk))
	}
	h.room = (len(h.chunks)-1)*heapChunk + len(h.chunks[len(h.chunks)-1])
}

// shrink frees the last chunk once two chunks' worth is unused, so that a
// heap going up and down across a chunk's edge does not allocate each time.
func (h *jobHeap) shrink() {
	if k := len(h.chunks); k > 2 && h.n <= (k-2)*heapChunk {
		h.chunks[k-1] = nil
		h.chunks = h.chunks[:k-1]
		h.room -= heapChunk
	}
}

// all calls yield with every job in the heap, in no order, until it
// returns false.
func (h *jobHeap) all(yield func(*jobEntry) bool) {
	for i := range h.n {
		if !yield(h.at(i).e) {
			return
		}
	}
}

// Len returns the number of jobs in the heap.
func (h *jobHeap) Len() int { return h.n }

// min returns the job with the earliest fire; the heap is not empty.
func (h *jobHeap) min() *jobEntry { return h.chunks[0][0].e }

// set puts slot at i and tells its entry.
func (h *jobHeap) set(i int, s jobSlot) {
	*h.at(i) = s
	s.e.index = int32(i)
}

// push adds e, whose index is -1.
func (h *jobHeap) push(e *jobEntry) {
	if h.n == h.room {
		h.grow()
	}
	h.n++
	h.up(h.n-1, slotOf(e))
}

// remove takes out the entry at i and returns it with its index -1.
func (h *jobHeap) remove(i int) *jobEntry {
	e := h.at(i).e
	n := h.n - 1
	last := *h.at(n)
	*h.at(n) = jobSlot{}
	h.n = n
	if i < n {
		h.fixWith(i, last)
	}
	h.shrink()
	e.index = -1
	return e
}

// fix restores the order after the entry at i changed its next fire.
func (h *jobHeap) fix(i int) { h.fixWith(i, slotOf(h.at(i).e)) }

// fixWith places s at i, or where the order puts it from there.
func (h *jobHeap) fixWith(i int, s jobSlot) {
	if i > 0 && s.before(h.at((i-1)/2)) {
		h.up(i, s)
		return
	}
	h.down(i, s)
}

// up moves s from the hole at j towards the root to its place.
func (h *jobHeap) up(j int, s jobSlot) {
	for j > 0 {
		p := (j - 1) / 2
		ps := h.at(p)
		if !s.before(ps) {
			break
		}
		h.set(j, *ps)
		j = p
	}
	h.set(j, s)
}

// down moves s from the hole at i towards the leaves to its place.
func (h *jobHeap) down(i int, s jobSlot) {
	n := h.n
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		cs := h.at(c)
		if r := c + 1; r < n {
			if rs := h.at(r); rs.before(cs) {
				c, cs = r, rs
			}
		}
		if !cs.before(&s) {
			break
		}
		h.set(i, *cs)
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
