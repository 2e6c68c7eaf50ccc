package task

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sundialhq/sundial"
)

// TestPythonFailureIsItsLastLine checks how a failed Python run reads: its
// error is the traceback's last line, which says what went wrong, rather
// than "exit status 1:"; its output holds the traceback from the user's
// first frame on, without the runner's frames (runner.py, the import
// machinery, asyncio.run), naming an uploaded script by the name it was
// uploaded under rather than the run's copy of it (script.py).
func TestPythonFailureIsItsLastLine(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "pass").Run(); err != nil {
		t.Skip("Debian's /usr/bin/python3 is not installed (.ci/run installs it)")
	}
	k := newKinds(t)
	k.Python.Executable = py
	scripts := k.Scripts.(*fakeScripts)
	scripts.add("broken_report", "python", "def share(total, people):\n    return total / people\n\n\ndef run():\n    return share(10, 0)\n")
	scripts.add("async_report.py", "python", "import asyncio\n\n\nasync def run():\n    await asyncio.sleep(0)\n    raise KeyError('region')\n")
	scripts.add("syntax", "python", "def run(:\n    pass\n")
	scripts.add("secretive", "python", "import os\n\ndef run():\n    raise RuntimeError('cannot log in as ' + os.environ['DB_PASSWORD'])\n")
	scripts.add("chained", "python", "def run():\n    try:\n        {}['x']\n    except KeyError as e:\n        raise ValueError('no x') from e\n")

	for _, tt := range []struct {
		name, kind, args, err string
		output                []string // in the output, in this order
	}{
		{"uploaded script", "script", `{"script": "broken_report"}`, "ZeroDivisionError: division by zero",
			[]string{"Traceback (most recent call last):\n", `File "broken_report.py", line 6, in run`, "return share(10, 0)",
				`File "broken_report.py", line 2, in share`, "return total / people", "ZeroDivisionError: division by zero"}},
		{"async script named with its extension", "script", `{"script": "async_report.py"}`, "KeyError: 'region'",
			[]string{`File "async_report.py", line 6, in run`, "KeyError: 'region'"}},
		{"syntax error", "script", `{"script": "syntax"}`, "SyntaxError: invalid syntax (syntax.py, line 1)",
			[]string{`File "syntax.py", line 1`, "def run(:"}},
		{"secret in the message", "script", `{"script": "secretive", "secrets": ["DB_PASSWORD"]}`, "RuntimeError: cannot log in as ****",
			[]string{"RuntimeError: cannot log in as ****"}},
		{"chained exception", "script", `{"script": "chained"}`, "ValueError: no x",
			[]string{"KeyError: 'x'", "The above exception was the direct cause", `File "chained.py", line 5, in run`, "ValueError: no x"}},
		{"python function", "python", `{"func": "jobs:boom"}`, "ValueError: the ledger does not balance",
			[]string{`jobs.py", line 20, in boom`, "ValueError: the ledger does not balance"}},
		{"missing module", "python", `{"func": "nowhere:job"}`, "ModuleNotFoundError: No module named 'nowhere'",
			[]string{"ModuleNotFoundError: No module named 'nowhere'"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run, _ := runTask(t, k, tt.kind, tt.args)
			if run.Status != sundial.StatusFailed || run.Error != tt.err || run.Exit == nil || run.Exit.Code != 1 {
				t.Fatalf("run = %s, error %q, exit %+v; want failed with %q, exit 1\noutput:\n%s", run.Status, run.Error, run.Exit, tt.err, run.Output)
			}
			rest := run.Output
			for _, want := range tt.output {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("output lacks %q (or has it out of order):\n%s", want, run.Output)
				}
				rest = rest[i+len(want):]
			}
			for _, ours := range []string{"runner.py", "importlib", "asyncio/", "script.py", "spec.json", canary} {
				if strings.Contains(run.Output, ours) {
					t.Errorf("output names %q:\n%s", ours, run.Output)
				}
			}
		})
	}
}
