package task

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
)

// TestLimitsTheHostCannotEnforce: on a host without a delegated cgroup v2
// (a Runner without a cgroup, as here), a job asking for a memory or pids
// limit is refused when saved, naming the limit and why; a server that
// accepts unenforced limits saves it, and its runs say so in their output.
func TestLimitsTheHostCannotEnforce(t *testing.T) {
	k := newKinds(t)
	k.Scripts.(*fakeScripts).add("report", "sh", "echo report\n")
	s, err := sundial.New(sundial.Config{Store: memstore.New(memstore.Options{}), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Register(s); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ kind, args, field string }{
		{"command", `{"argv": ["true"], "limits": {"memory_bytes": 67108864}}`, "args.limits.memory_bytes"},
		{"command", `{"argv": ["true"], "limits": {"pids": 10}}`, "args.limits.pids"},
		{"python", `{"func": "jobs:add", "limits": {"memory_bytes": 67108864, "cpu_seconds": 5}}`, "args.limits.memory_bytes"},
		{"script", `{"script": "report", "limits": {"pids": 10}}`, "args.limits.pids"},
	} {
		_, err := s.AddJob(context.Background(), sundial.Job{ID: "x", Task: c.kind, Args: json.RawMessage(c.args), Trigger: sundialDaily})
		var ij *sundial.InvalidJobError
		if !errors.As(err, &ij) || ij.Field != c.field || !strings.Contains(err.Error(), "cannot be enforced on this host") ||
			!strings.Contains(err.Error(), "cgroup v2") || !strings.Contains(err.Error(), "isolation.accept_unenforced_limits") {
			t.Errorf("%s %s: %v, want an error on %s", c.kind, c.args, err, c.field)
		}
	}
	// Limits the host enforces are saved as before.
	if _, err := s.AddJob(context.Background(), sundial.Job{ID: "cpu", Task: "command", Args: json.RawMessage(`{"argv": ["true"], "limits": {"cpu_seconds": 5}}`),
		Trigger: sundialDaily}); err != nil {
		t.Errorf("a CPU limit: %v", err)
	}

	k.Runner.AcceptUnenforced = true
	run, _ := runTask(t, k, "command", `{"argv": ["echo", "ran"], "limits": {"memory_bytes": 67108864}}`)
	if run.Status != sundial.StatusSucceeded ||
		!strings.Contains(run.Output, "[sundial: warning: limits.memory_bytes cannot be enforced on this host") || !strings.Contains(run.Output, "ran\n") {
		t.Errorf("accepted unenforced: %s %q %q", run.Status, run.Error, run.Output)
	}
}

// TestResultFileIsTheTasksOwn: the server reads $SUNDIAL_RESULT and
// $SUNDIAL_ERROR only as regular files of the task's own, so that a task
// cannot make it store a file it could not read itself (the key file)
// through a link.
func TestResultFileIsTheTasksOwn(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "key")
	os.WriteFile(secret, []byte(`"`+canary+`"`), 0o600)
	k := newKinds(t)
	run, _ := runTask(t, k, "command", `{"argv": ["sh", "-c", "ln -s '`+secret+`' \"$SUNDIAL_RESULT\""]}`)
	if run.Status != sundial.StatusSucceeded || run.Result != nil {
		t.Errorf("a symbolic link as the result: %s %q, result %s", run.Status, run.Error, run.Result)
	}
	run, _ = runTask(t, k, "command", `{"argv": ["sh", "-c", "ln '`+secret+`' \"$SUNDIAL_ERROR\"; exit 3"]}`)
	if run.Status != sundial.StatusFailed || strings.Contains(run.Error, canary) || strings.Contains(run.Error, "****") {
		t.Errorf("a hard link as the error file: %s %q", run.Status, run.Error)
	}
	run, _ = runTask(t, k, "command", `{"argv": ["sh", "-c", "head -c 9000000 /dev/zero | tr '\\0' 1 > \"$SUNDIAL_RESULT\""]}`)
	if run.Status != sundial.StatusFailed || !strings.Contains(run.Error, "larger than 8 MiB") {
		t.Errorf("a result over the bound: %s %q", run.Status, run.Error)
	}
}
