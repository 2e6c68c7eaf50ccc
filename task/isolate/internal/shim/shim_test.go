package shim

import (
	"go/parser"
	"go/token"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestImports: the package imports only what the runtime initialises
// first, so that a binary started as the shim runs it before most of its
// other packages are initialised (see the package comment).
func TestImports(t *testing.T) {
	allowed := []string{"math", "os", "os/signal", "runtime", "syscall", "time", "unsafe"}
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); !slices.Contains(allowed, path) {
				t.Errorf("%s imports %s; the shim's start would wait for the packages initialised before it", name, path)
			}
		}
	}
}

func TestText(t *testing.T) {
	for _, v := range []int64{0, 7, -7, 1234567890, math.MaxInt64, math.MinInt64} {
		if got, ok := atoi(itoa(v)); !ok || got != v || itoa(v) != strconv.FormatInt(v, 10) {
			t.Errorf("itoa/atoi(%d) = %q, %d, %v", v, itoa(v), got, ok)
		}
	}
	if got, ok := atou(utoa(math.MaxUint64)); !ok || got != math.MaxUint64 {
		t.Errorf("atou(utoa(MaxUint64)) = %d, %v", got, ok)
	}
	for _, bad := range []string{"", "-", "1x", "18446744073709551616", "9223372036854775808", "-9223372036854775809", " 1"} {
		if _, ok := atoi(bad); ok {
			t.Errorf("atoi(%q) succeeded", bad)
		}
	}
	if f := fields(" X 1  -1\t0 \n"); !slices.Equal(f, []string{"X", "1", "-1", "0"}) {
		t.Errorf("fields = %q", f)
	}
	if b, a, ok := cut("cgroup=/a=b", '='); b != "cgroup" || a != "/a=b" || !ok {
		t.Errorf("cut = %q %q %v", b, a, ok)
	}
}

func TestSpecRoundTrip(t *testing.T) {
	s := Spec{CPUSeconds: 7, AddressSpace: 1 << 30, OpenFiles: 64, Processes: 100, Cgroup: "/sys/fs/cgroup/x y=z",
		Grace: 5 * time.Second, Deadline: -3, NoShell: true, Exec: true}
	got, argv, ok := parse(s.Args([]string{"sh", "-c", "--"}))
	if !ok || got != s || !slices.Equal(argv, []string{"sh", "-c", "--"}) {
		t.Errorf("parse(Args) = %+v, %q, %v", got, argv, ok)
	}
	if _, _, ok := parse([]string{"cpu=1", "--"}); ok {
		t.Error("parse accepted no program")
	}
	if _, _, ok := parse([]string{"bogus=1", "--", "true"}); ok {
		t.Error("parse accepted an unknown key")
	}
}

func TestReport(t *testing.T) {
	r := Report{Code: -1, Signal: 9, Fenced: true, Strays: 3, Lingering: 1}
	if got, ok := ParseReport(r.String()); !ok || got != r {
		t.Errorf("ParseReport(%q) = %+v, %v", r.String(), got, ok)
	}
	if _, ok := ParseReport("P 123"); ok {
		t.Error("a pid line taken for a report")
	}
}
