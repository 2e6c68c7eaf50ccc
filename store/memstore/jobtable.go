package memstore

import "hash/maphash"

// jobTable holds the stored jobs by ID: an open-addressing table (linear
// probing) whose slots hold the entries themselves, each with its ID's
// hash, and find a job by the entry's own ID. A map from ID to entry holds
// a second string header per job beside the entry's, and growing it to a
// million jobs rehashed in splits that cost more than the rest of adding
// them. Here growing moves slots by their stored hashes, without reading
// an entry, and a probe reads an entry only when the hashes are equal
// (with the hashes left out, a probe read an entry per slot it passed,
// each a cache miss in a table of a million: a quarter of adding a job).
type jobTable struct {
	seed  maphash.Seed
	slots []jobTableSlot // a power of two long
	n     int
}

// jobTableSlot is a job and its ID's hash; e nil when the slot is free.
type jobTableSlot struct {
	hash uint64
	e    *jobEntry
}

// minJobSlots is the size of a table's first slots.
const minJobSlots = 64

func newJobTable() jobTable { return jobTable{seed: maphash.MakeSeed()} }

// Len returns the number of jobs.
func (t *jobTable) Len() int { return t.n }

func (t *jobTable) hash(id string) uint64 { return maphash.String(t.seed, id) }

// find returns the slot of the job with the ID, whose hash is h, or of the
// free slot where it would go, and whether it is there.
func (t *jobTable) find(id string, h uint64) (int, bool) {
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		switch s := &t.slots[i]; {
		case s.e == nil:
			return i, false
		case s.hash == h && s.e.id() == id:
			return i, true
		}
	}
}

// get returns the job with the ID, or nil.
func (t *jobTable) get(id string) *jobEntry {
	if t.n == 0 {
		return nil
	}
	if i, ok := t.find(id, t.hash(id)); ok {
		return t.slots[i].e
	}
	return nil
}

// add stores e and reports true, or reports false when a job with its ID
// is stored already.
func (t *jobTable) add(e *jobEntry) bool {
	p, ok := t.place(e.id())
	if ok {
		return false
	}
	t.put(p, e)
	return true
}

// tablePlace is where a job with an ID goes in a table: its slot and the
// ID's hash.
type tablePlace struct {
	i    int
	hash uint64
}

// place returns where a job with the ID would go, and whether one is
// there already. Until put, the table must not change. Looking before
// the caller builds the entry lets the probe's cache miss overlap with
// that work, and refuses a duplicate before it is done.
func (t *jobTable) place(id string) (tablePlace, bool) {
	if len(t.slots) == 0 || 4*(t.n+1) > 3*len(t.slots) {
		t.grow()
	}
	h := t.hash(id)
	i, ok := t.find(id, h)
	return tablePlace{i: i, hash: h}, ok
}

// put stores e at p, from place with e's ID, where no job was.
func (t *jobTable) put(p tablePlace, e *jobEntry) {
	t.slots[p.i] = jobTableSlot{hash: p.hash, e: e}
	t.n++
}

// grow doubles the slots (at least minJobSlots) and puts every job back.
func (t *jobTable) grow() {
	old := t.slots
	t.slots = make([]jobTableSlot, max(2*len(old), minJobSlots))
	mask := len(t.slots) - 1
	for _, s := range old {
		if s.e == nil {
			continue
		}
		i := int(s.hash) & mask
		for t.slots[i].e != nil {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// remove takes out the job with the ID and reports whether there was one.
// The jobs after it in its run of slots move back where they can (linear
// probing needs no markers of removed jobs then).
func (t *jobTable) remove(id string) bool {
	if t.n == 0 {
		return false
	}
	i, ok := t.find(id, t.hash(id))
	if !ok {
		return false
	}
	mask := len(t.slots) - 1
	t.slots[i] = jobTableSlot{}
	for j := (i + 1) & mask; t.slots[j].e != nil; j = (j + 1) & mask {
		// The job at j may move to the hole at i unless its home lies
		// cyclically in (i, j]: it would no longer be found from there.
		if home := int(t.slots[j].hash) & mask; (j-home)&mask >= (j-i)&mask {
			t.slots[i], t.slots[j] = t.slots[j], jobTableSlot{}
			i = j
		}
	}
	t.n--
	return true
}

// all calls yield for every job, in no order, until it returns false.
func (t *jobTable) all(yield func(*jobEntry) bool) {
	for _, s := range t.slots {
		if s.e != nil && !yield(s.e) {
			return
		}
	}
}
