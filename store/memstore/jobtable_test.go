package memstore

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestJobTable checks the table against a map through random adds and
// removals, enough to grow it several times and to remove from within
// runs of taken slots.
func TestJobTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tab := newJobTable()
	want := map[string]*jobEntry{}
	for step := range 20000 {
		id := "job-" + strconv.Itoa(rng.IntN(3000))
		switch rng.IntN(3) {
		case 0, 1:
			e := &jobEntry{def: id, idLen: uint32(len(id))}
			_, had := want[id]
			if got := tab.add(e); got == had {
				t.Fatalf("step %d: add(%s) = %v with the job stored = %v", step, id, got, had)
			}
			if !had {
				want[id] = e
			}
		default:
			_, had := want[id]
			if got := tab.remove(id); got != had {
				t.Fatalf("step %d: remove(%s) = %v, want %v", step, id, got, had)
			}
			delete(want, id)
		}
		if step%1000 == 0 || step == 19999 {
			if tab.Len() != len(want) {
				t.Fatalf("step %d: %d jobs, want %d", step, tab.Len(), len(want))
			}
			for id, e := range want {
				if got := tab.get(id); got != e {
					t.Fatalf("step %d: get(%s) = %p, want %p", step, id, got, e)
				}
			}
			n := 0
			for e := range tab.all {
				if want[e.id()] != e {
					t.Fatalf("step %d: all yields %s, not stored", step, e.id())
				}
				n++
			}
			if n != len(want) {
				t.Fatalf("step %d: all yields %d jobs, want %d", step, n, len(want))
			}
		}
	}
	if tab.get("none") != nil || tab.remove("none") {
		t.Fatal("a job never added is found")
	}
}
