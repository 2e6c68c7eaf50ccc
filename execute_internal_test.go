package sundial

import (
	"testing"
	"unsafe"
)

// TestExecutionSizeClass keeps a run's execution, allocated once per fire,
// within the 768-byte size class of the Go allocator: a field more can
// take it to the 896-byte class, 128 bytes more per fire for the
// collector. Grow the limit knowingly, or find the room (alignment leaves
// some beside the bools).
func TestExecutionSizeClass(t *testing.T) {
	if size := unsafe.Sizeof(execution{}); size > 768 {
		t.Errorf("an execution is %d bytes, over the 768-byte size class", size)
	}
}
