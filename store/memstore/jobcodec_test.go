package memstore

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
	"unique"
	"unsafe"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/trigger"
)

// fill sets every field reachable from v to a distinct non-zero value
// (slices get two elements, or none when empty is set: non-nil but empty),
// by reflection, so that a field added to Job and forgotten by the codec
// fails the round trip.
func fill(v reflect.Value, n *int, depth int, empty bool) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n) * -7) // negative too: varints
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n, depth+1, empty)
	case reflect.Slice:
		size := 2
		if empty || depth > 2 {
			size = 0
		}
		v.Set(reflect.MakeSlice(v.Type(), size, size))
		for i := range size {
			fill(v.Index(i), n, depth+1, empty)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(int64(*n)*1000, int64(*n)).UTC()))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), n, depth+1, empty)
		}
	default:
		panic(fmt.Sprintf("fill: %s", v.Type()))
	}
}

func TestJobCodecCoversEveryField(t *testing.T) {
	full := func(empty bool) sundial.Job {
		var j sundial.Job
		n := 0
		fill(reflect.ValueOf(&j).Elem(), &n, 0, empty)
		return j
	}
	cronJob := full(false)
	cronJob.Trigger.Type = "cron" // a type written as one byte
	for _, tt := range []struct {
		name string
		job  sundial.Job
	}{
		{"zero", sundial.Job{}},
		{"every field set", full(false)},
		{"every slice empty, not nil", full(true)},
		{"known trigger type", cronJob},
		{"negative zero and huge values", sundial.Job{ID: "x", Trigger: trigger.Spec{Seconds: math.Copysign(0, -1), JitterSeed: math.MaxUint64},
			Options:   sundial.JobOptions{MisfireGrace: sundial.NoMisfireLimit, Coalesce: new(bool)},
			NextRunAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), CreatedAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newJobEntry(&tt.job, new(encoder), nil, unique.Handle[string]{})
			got := e.job()
			if !reflect.DeepEqual(got, tt.job) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tt.job)
			}
			if math.Signbit(tt.job.Trigger.Seconds) != math.Signbit(got.Trigger.Seconds) {
				t.Errorf("seconds %v came back %v", tt.job.Trigger.Seconds, got.Trigger.Seconds)
			}
		})
	}
}

// TestJobEntrySize: a stored job's fields fit Go's 96-byte size class (the
// next is 112): the memory per idle job depends on it.
func TestJobEntrySize(t *testing.T) {
	if size := unsafe.Sizeof(jobEntry{}); size > 96 {
		t.Errorf("jobEntry is %d bytes, more than 96", size)
	}
}

// TestJobEntryTimes: stored times come back as the same instants, the next
// fire in its zone, the others in UTC.
func TestJobEntryTimes(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	next := time.Date(2026, 3, 8, 3, 30, 0, 123456789, ny)
	now := time.Now() // with a monotonic reading
	e := newJobEntry(&sundial.Job{ID: "a", NextRunAt: next, CreatedAt: now}, new(encoder), nil, unique.Handle[string]{})
	got := e.job()
	if !got.NextRunAt.Equal(next) || got.NextRunAt.Location() != ny || got.NextRunAt.String() != next.String() ||
		!got.CreatedAt.Equal(now) || got.CreatedAt.Location() != time.UTC || !got.UpdatedAt.IsZero() {
		t.Errorf("times came back as next %v created %v updated %v", got.NextRunAt, got.CreatedAt, got.UpdatedAt)
	}
	if zero := newJobEntry(&sundial.Job{}, new(encoder), nil, unique.Handle[string]{}); !e.hasNext() || zero.hasNext() {
		t.Error("hasNext is wrong")
	}
}

// BenchmarkJobEntry measures storing and materialising a typical job.
func BenchmarkJobEntry(b *testing.B) {
	job := sundial.Job{ID: "daily-12345", Task: "noop", Trigger: trigger.Spec{Type: "cron", Expr: "0 3 * * *"},
		NextRunAt: time.Now(), CreatedAt: time.Now()}
	b.Run("encode", func(b *testing.B) {
		var w encoder
		b.ReportAllocs()
		for b.Loop() {
			newJobEntry(&job, &w, nil, unique.Handle[string]{})
		}
	})
	b.Run("decode", func(b *testing.B) {
		e := newJobEntry(&job, new(encoder), nil, unique.Handle[string]{})
		b.ReportAllocs()
		for b.Loop() {
			e.job()
		}
	})
}

// TestHoldsReferences: every slice, pointer or map reachable through the
// struct fields of Job and Run (time.Time's zone aside: it is shared as
// is) makes holdsReferences and runHoldsReferences true when set alone.
func TestHoldsReferences(t *testing.T) {
	checkReferences(t, holdsReferences)
	checkReferences(t, runHoldsReferences)
}

func checkReferences[T any](t *testing.T, holds func(*T) bool) {
	t.Helper()
	var zero T
	if holds(&zero) {
		t.Errorf("a zero %T holds references", zero)
	}
	// check sets, in a zero T, the reference at the end of the field path
	// through the structs from T.
	check := func(name string, path []int) {
		var x T
		v := reflect.ValueOf(&x).Elem().FieldByIndex(path)
		switch v.Kind() {
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		case reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
		}
		if !holds(&x) {
			t.Errorf("%s set alone: reports no references", name)
		}
	}
	var visit func(name string, path []int, typ reflect.Type)
	visit = func(name string, path []int, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			fpath, fname := append(slices.Clone(path), i), name+"."+f.Name
			switch f.Type.Kind() {
			case reflect.Struct:
				if f.Type != reflect.TypeFor[time.Time]() {
					visit(fname, fpath, f.Type)
				}
			case reflect.Pointer, reflect.Slice, reflect.Map:
				check(fname, fpath)
			case reflect.Interface, reflect.Func, reflect.Chan:
				t.Errorf("%s: a %s, which the check does not know", fname, f.Type.Kind())
			}
		}
	}
	visit(reflect.TypeFor[T]().Name(), nil, reflect.TypeFor[T]())
}
