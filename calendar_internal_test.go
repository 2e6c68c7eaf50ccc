package sundial

import (
	"testing"

	"github.com/sundialhq/sundial/trigger"
)

// A sync of an older calendar version never rewrites a newer copy: two
// saves whose rewrites interleave end with the later one's dates.
func TestCalendarCopiesNeverGoBack(t *testing.T) {
	spec := trigger.Spec{Type: "cron", Expr: "0 9 * * *", Calendar: &trigger.DayCalendar{Name: "c", Version: 3, Holidays: []string{"2000-01-05"}}}
	v2 := map[string]Calendar{"c": {Name: "c", Version: 2, Holidays: []CalendarDay{{Date: "2000-01-04"}}}}
	if copiesStale(spec, v2, false) {
		t.Error("a version 3 copy is stale against version 2")
	}
	v4 := map[string]Calendar{"c": {Name: "c", Version: 4}}
	if !copiesStale(spec, v4, false) {
		t.Error("a version 3 copy is not stale against version 4")
	}
	// A calendar created again under the name starts from version 1: the
	// copy of the earlier one differs, and is stale for a create's sync.
	v1 := map[string]Calendar{"c": {Name: "c", Version: 1}}
	if copiesStale(spec, v1, false) || !copiesStale(spec, v1, true) {
		t.Error("a copy of an earlier calendar of the name is not rewritten by the new one's create")
	}
	same := map[string]Calendar{"c": {Name: "c", Version: 3, Holidays: []CalendarDay{{Date: "2000-01-05"}}}}
	if copiesStale(spec, same, true) {
		t.Error("a current copy is stale")
	}
}
