package sundial

import (
	"reflect"
	"testing"
	"time"

	"github.com/sundialhq/sundial/trigger"
)

// TestSpecKeyCoversEveryField changes each field of a spec, nested ones
// included, one at a time by reflection, and checks that the key changes:
// a field added to trigger.Spec and forgotten by appendSpecKey would make
// two different specs share a cached trigger.
func TestSpecKeyCoversEveryField(t *testing.T) {
	base := trigger.Spec{Fields: &trigger.CronFields{}, Calendar: &trigger.DayCalendar{}, Triggers: []trigger.Spec{{}}}
	baseKey := string(appendSpecKey(nil, &base))
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			old := reflect.New(f.Type()).Elem()
			old.Set(f)
			switch f.Kind() {
			case reflect.Pointer:
				if !f.IsNil() {
					walk(name+".", f.Elem())
					continue
				}
				f.Set(reflect.New(f.Type().Elem())) // nil to a zero value
			case reflect.Struct:
				walk(name+".", f)
				continue
			case reflect.String:
				f.SetString("x")
			case reflect.Int, reflect.Int64:
				f.SetInt(3)
			case reflect.Uint64:
				f.SetUint(3)
			case reflect.Float64:
				f.SetFloat(1.5)
			case reflect.Slice:
				switch {
				case f.Type().Elem().Kind() != reflect.Struct:
					f.Set(reflect.Append(f, reflect.ValueOf("x")))
				case f.Len() > 0: // Triggers: change the nested spec
					walk(name+"[0].", f.Index(0))
					continue
				default:
					f.Set(reflect.Append(f, reflect.New(f.Type().Elem()).Elem()))
				}
			default:
				t.Fatalf("%s: kind %s not covered by this test", name, f.Kind())
			}
			if string(appendSpecKey(nil, &base)) == baseKey {
				t.Errorf("changing %s leaves the key as it was", name)
			}
			f.Set(old)
		}
	}
	walk("", reflect.ValueOf(&base).Elem())
	// nil and empty are told apart.
	for _, s := range []trigger.Spec{{}, {Triggers: []trigger.Spec{}}, {Calendar: &trigger.DayCalendar{Holidays: []string{}}}} {
		for _, o := range []trigger.Spec{{}, {Triggers: []trigger.Spec{}}, {Calendar: &trigger.DayCalendar{Holidays: []string{}}}} {
			if same := string(appendSpecKey(nil, &s)) == string(appendSpecKey(nil, &o)); same != reflect.DeepEqual(s, o) {
				t.Errorf("%+v and %+v: same key %v", s, o, same)
			}
		}
	}
}

// TestTriggerCache: equal specs share a trigger, and it fires as a trigger
// built anew does.
func TestTriggerCache(t *testing.T) {
	var c triggerCache
	spec := trigger.Spec{Type: "cron", Expr: "0 9 * * 1-5", Timezone: "America/New_York"}
	a, err := c.build(&spec)
	if err != nil {
		t.Fatal(err)
	}
	copied := spec
	b, _ := c.build(&copied)
	if a != b {
		t.Error("an equal spec built its own trigger")
	}
	fresh, _ := spec.Build()
	at := time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC)
	if got, want := a.Next(at, at), fresh.Next(at, at); !got.Equal(want) {
		t.Errorf("cached trigger fires at %s, built anew at %s", got, want)
	}
	copied.Expr = "0 10 * * 1-5"
	if d, _ := c.build(&copied); d == a {
		t.Error("another spec got the cached trigger")
	}
	if _, err := c.build(&trigger.Spec{Type: "cron", Expr: "61 * * * *"}); err == nil {
		t.Error("a bad spec built")
	}
}

// BenchmarkTriggerCache compares a claim's trigger from the cache with one
// built anew, for a cron spec in UTC and one in a named zone.
func BenchmarkTriggerCache(b *testing.B) {
	for _, spec := range []trigger.Spec{{Type: "cron", Expr: "* * * * * *"}, {Type: "cron", Expr: "0 9 * * 1-5", Timezone: "America/New_York"}} {
		name := spec.Expr + spec.Timezone
		b.Run("cached/"+name, func(b *testing.B) {
			var c triggerCache
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.build(&spec); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("built/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := spec.Build(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
