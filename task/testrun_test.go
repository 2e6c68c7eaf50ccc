package task

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestTestScriptOutputIsBounded runs a script that prints 24 MiB: the test
// run keeps the last TestOutputLimit bytes and says how much was cut, as
// a run does, instead of holding it all.
func TestTestScriptOutputIsBounded(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sh is not installed")
	}
	k := newKinds(t)
	// 24576 lines of 1 KiB, then a last line.
	src := `line=$(printf '%01023d' 0 | tr 0 x)
i=0; while [ $i -lt 24576 ]; do echo "$line"; i=$((i+1)); done
echo the-end`
	res, err := k.TestScript(context.Background(), "sh", src, nil, nil)
	if err != nil || res.Err != nil {
		t.Fatalf("TestScript: %v %v", err, res.Err)
	}
	if len(res.Output) > TestOutputLimit+100 || !strings.HasSuffix(res.Output, "the-end\n") {
		t.Errorf("output is %d bytes ending %q, want at most %d ending the-end", len(res.Output), res.Output[max(0, len(res.Output)-20):], TestOutputLimit)
	}
	if want := "[… 24117256 bytes of earlier output cut …]\n"; !strings.HasPrefix(res.Output, want) {
		t.Errorf("output starts %q, want %q", res.Output[:min(60, len(res.Output))], want)
	}
}

func TestOutputTail(t *testing.T) {
	tl := &outputTail{max: 10}
	for _, w := range []string{"abc", "defghij", "klm", strings.Repeat("n", 25), "opq"} {
		tl.Write([]byte(w))
	}
	// 41 bytes written; the last 10 are kept.
	if got, want := tl.String(), "[… 31 bytes of earlier output cut …]\nnnnnnnnopq"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
	short := &outputTail{max: 10}
	short.Write([]byte("hello"))
	if short.String() != "hello" {
		t.Errorf("short tail = %q", short.String())
	}
}
