package task

import (
	"context"
	_ "embed"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/sundialhq/sundial"
)

// pyRunner is the Python program that runs python tasks and Python scripts.
//
//go:embed pyrunner.py
var pyRunner []byte

// PythonArgs are the args of the python kind: a function reference as
// APScheduler users write it, and its arguments.
//
//	{"func": "app.jobs:send_digest", "args": [7], "kwargs": {"dry_run": false}}
//
// The function runs in the configured project directory and interpreter
// (Kinds.Python), inside the Flask app's app context when an app factory
// is configured; it may be async. Its return value is the run's result,
// as JSON (other values by repr); an exception fails the run, with the
// traceback's last line ("ZeroDivisionError: division by zero") as its
// error and the traceback in its output.
type PythonArgs struct {
	Func    string         `json:"func"`
	Args    []any          `json:"args,omitempty"`
	Kwargs  map[string]any `json:"kwargs,omitempty"`
	Timeout duration       `json:"timeout,omitempty"`
	childSettings
}

// FuncRef matches a Python reference such as package.module:function.
var FuncRef = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

func readPython(raw json.RawMessage) (PythonArgs, error) {
	var a PythonArgs
	if err := decodeArgs(raw, &a); err != nil {
		return a, err
	}
	if !FuncRef.MatchString(a.Func) {
		return a, argErr("func", "%q is not a reference such as package.module:function", a.Func)
	}
	return a, validateSecrets(a.Secrets)
}

func validatePython(raw json.RawMessage) error {
	_, err := readPython(raw)
	return err
}

func (k *Kinds) python(ctx context.Context, run sundial.Run) (any, error) {
	a, err := readPython(run.Args)
	if err != nil {
		return nil, err
	}
	settings := a.childSettings
	if settings.Dir == "" && len(k.Python.Path) > 0 {
		settings.Dir = k.Python.Path[0]
	}
	spec := map[string]any{"func": a.Func, "args": a.Args, "kwargs": a.Kwargs, "path": k.Python.Path, "app_factory": k.Python.AppFactory}
	return k.runPython(ctx, run, spec, settings, time.Duration(a.Timeout), nil)
}

// runPython runs the runner with spec; prepare may add files to the
// control directory (an uploaded script) and the spec.
func (k *Kinds) runPython(ctx context.Context, run sundial.Run, spec map[string]any, settings childSettings, timeout time.Duration,
	prepare func(control string, spec map[string]any) error) (any, error) {
	c := child{settings: settings, timeout: timeout, summarizes: true}
	c.extraEnv = map[string]string{"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
	if k.Python.Venv != "" {
		c.extraEnv["VIRTUAL_ENV"] = k.Python.Venv
	}
	// The runner and its spec go into the control directory, which exists
	// only once runChild made it: prepare them in the child's Prepare.
	var control string
	c.prepare = func(string) error {
		if prepare != nil {
			if err := prepare(control, spec); err != nil {
				return err
			}
		}
		b, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(control, "spec.json"), b, 0o600); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(control, "runner.py"), pyRunner, 0o600)
	}
	return k.runChildWith(ctx, run, c, func(ctl string) []string {
		control = ctl
		return []string{k.Python.executable(), filepath.Join(ctl, "runner.py"), filepath.Join(ctl, "spec.json")}
	})
}
