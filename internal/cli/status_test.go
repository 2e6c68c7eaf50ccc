package cli

import (
	"strings"
	"testing"

	"github.com/sundialhq/sundial"
)

// TestStatusShowsNodeFacts: `sundial status` shows what each node says
// about itself, the isolation facts first, "-" where a node says nothing.
func TestStatusShowsNodeFacts(t *testing.T) {
	var out strings.Builder
	err := factsTable(&out, []sundial.Node{
		{ID: "a", Facts: map[string]string{"run_as": "nobody (65534:65534)", "landlock": "abi 7", "cgroup_limits": "unavailable: refused",
			"non_dumpable": "yes", "zone": "eu-1"}},
		{ID: "b-old"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `
tasks' isolation:
NODE   RUN AS                LANDLOCK  CGROUP LIMITS         NON DUMPABLE  ZONE
a      nobody (65534:65534)  abi 7     unavailable: refused  yes           eu-1
b-old  -                     -         -                     -             -
`
	if out.String() != want {
		t.Errorf("facts table:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if factsTable(&out, []sundial.Node{{ID: "a"}}); out.Len() != 0 {
		t.Errorf("nodes without facts: %q", out.String())
	}
}
