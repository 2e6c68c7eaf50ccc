package task

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/task/isolate"
)

// Languages are the languages of uploaded scripts.
var Languages = []string{"python", "sh", "bash", "node"}

// ScriptArgs are the args of the script kind: an uploaded script at a
// pinned version (0 or omitted: the latest at each run) and its arguments.
//
//	{"script": "nightly-report", "version": 4, "kwargs": {"days": 7}}
//
// A Python script defines run(*args, **kwargs), plain or async, whose
// return value is the result. A shell or node script gets Args as its
// command-line arguments and all of its args as JSON in $SUNDIAL_ARGS; its
// result follows the command kind's rule ($SUNDIAL_RESULT, else the last
// line of stdout when it is JSON).
type ScriptArgs struct {
	Script  string         `json:"script"`
	Version int            `json:"version,omitempty"`
	Args    []any          `json:"args,omitempty"`
	Kwargs  map[string]any `json:"kwargs,omitempty"`
	Timeout duration       `json:"timeout,omitempty"`
	childSettings
}

// ScriptName matches the names scripts may have.
var ScriptName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

func readScript(raw json.RawMessage) (ScriptArgs, error) {
	var a ScriptArgs
	if err := decodeArgs(raw, &a); err != nil {
		return a, err
	}
	switch {
	case !ScriptName.MatchString(a.Script):
		return a, argErr("script", "%q is not a script name", a.Script)
	case a.Version < 0:
		return a, argErr("version", "%d: give a version from 1, or leave it out for the latest", a.Version)
	}
	return a, validateSecrets(a.Secrets)
}

// validateScript checks the args and that the script (and version) exists.
func (k *Kinds) validateScript(raw json.RawMessage) error {
	a, err := readScript(raw)
	if err != nil || k.Scripts == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := k.Scripts.GetScript(ctx, a.Script, a.Version); err != nil {
		if errors.Is(err, admin.ErrScriptNotFound) {
			if a.Version > 0 {
				return argErr("version", "script %q has no version %d", a.Script, a.Version)
			}
			return argErr("script", "no script is named %q: push it first (sundial scripts push)", a.Script)
		}
		return err
	}
	return nil
}

func (k *Kinds) interpreter(lang string) string {
	if p, ok := k.Interpreters[lang]; ok && p != "" {
		return p
	}
	if lang == "python" {
		return k.Python.executable()
	}
	return lang
}

func (k *Kinds) script(ctx context.Context, run sundial.Run) (any, error) {
	a, err := readScript(run.Args)
	if err != nil {
		return nil, err
	}
	if k.Scripts == nil {
		return nil, errors.New("this server keeps no scripts")
	}
	sc, err := k.Scripts.GetScript(ctx, a.Script, a.Version)
	if err != nil {
		return nil, fmt.Errorf("script %q version %d: %w", a.Script, a.Version, err)
	}
	fmt.Fprintf(outputOf(ctx), "script %s version %d (%s, sha256 %s)\n", sc.Name, sc.Version, sc.Lang, sc.Checksum[:min(12, len(sc.Checksum))])
	return k.runScript(ctx, run, sc, a)
}

// runScript runs one version of a script with a's arguments and settings.
func (k *Kinds) runScript(ctx context.Context, run sundial.Run, sc admin.Script, a ScriptArgs) (any, error) {
	file := "script" + map[string]string{"python": ".py", "sh": ".sh", "bash": ".sh", "node": ".js"}[sc.Lang]
	timeout := time.Duration(a.Timeout)
	if sc.Lang == "python" {
		spec := map[string]any{"args": a.Args, "kwargs": a.Kwargs, "path": k.Python.Path, "app_factory": k.Python.AppFactory}
		return k.runPython(ctx, run, spec, a.childSettings, timeout, func(control string, spec map[string]any) error {
			// A per-run copy: the stored source is never imported in place.
			path := filepath.Join(control, file)
			spec["file"] = path
			// Tracebacks name the file as it was uploaded.
			spec["filename"] = uploadedName(sc.Name, ".py")
			return os.WriteFile(path, []byte(sc.Source), 0o600)
		})
	}
	argsJSON, _ := json.Marshal(map[string]any{"args": a.Args, "kwargs": a.Kwargs})
	c := child{settings: a.childSettings, timeout: timeout, extraEnv: map[string]string{"SUNDIAL_ARGS": string(argsJSON)}}
	var control string
	c.prepare = func(string) error { return os.WriteFile(filepath.Join(control, file), []byte(sc.Source), 0o700) }
	return k.runChildWith(ctx, run, c, func(ctl string) []string {
		control = ctl
		argv := []string{k.interpreter(sc.Lang), filepath.Join(ctl, file)}
		for _, v := range a.Args {
			if s, ok := v.(string); ok {
				argv = append(argv, s)
			} else {
				b, _ := json.Marshal(v)
				argv = append(argv, string(b))
			}
		}
		return argv
	})
}

// uploadedName is the file name a script's author knows it by: its name,
// with the language's extension unless it has it already.
func uploadedName(name, ext string) string {
	if strings.HasSuffix(name, ext) {
		return name
	}
	return name + ext
}

// CheckScript checks an upload before it is stored: the language is known,
// and the source compiles (python: compile(); sh, bash: -n; node:
// --check) when this host has the interpreter. A host without it stores
// the script unchecked and says so in the warning.
func (k *Kinds) CheckScript(ctx context.Context, lang, name, source string) (warning string, err error) {
	known := false
	for _, l := range Languages {
		known = known || l == lang
	}
	if !known {
		return "", fmt.Errorf("language %q is not one of %s", lang, strings.Join(Languages, ", "))
	}
	interp := k.interpreter(lang)
	if _, err := exec.LookPath(interp); err != nil {
		return fmt.Sprintf("%s is not installed on this server: the script was stored unchecked, and runs on nodes without it will fail", interp), nil
	}
	dir, remove, err := k.Runner.PrivateDir("check")
	if err != nil {
		return "", err
	}
	defer remove()
	path := filepath.Join(dir, "script")
	if err := os.WriteFile(path, []byte(source), 0o600); err != nil {
		return "", err
	}
	var argv []string
	switch lang {
	case "python":
		argv = []string{interp, "-c", pythonCheck, path, name}
	case "sh", "bash":
		argv = []string{interp, "-n", path}
	case "node":
		argv = []string{interp, "--check", path}
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out strings.Builder
	res, err := k.Runner.Run(ctx, isolate.Cmd{Argv: argv, Dir: dir, Private: []string{dir}, Output: &lockedWriter{w: &out}, Limits: k.Limits, Grace: time.Second})
	if err != nil {
		return "", fmt.Errorf("checking the script: %w", err)
	}
	msg := strings.TrimSpace(strings.ReplaceAll(out.String(), path, name))
	switch {
	case lang == "python" && res.ExitCode == noRunExit:
		return "", fmt.Errorf("%s", msg)
	case res.ExitCode != 0:
		return "", fmt.Errorf("%s does not compile:\n%s", lang, tail(msg, 4000))
	}
	return "", nil
}

// pythonCheck compiles a Python script and checks that it has the entry
// point a run calls, run(), at its top level (a def, an assignment or an
// import); it exits noRunExit with the reason when it has not.
const pythonCheck = `import ast, sys
name = sys.argv[2]
tree = compile(open(sys.argv[1], encoding="utf-8").read(), name, "exec", ast.PyCF_ONLY_AST)
names = set()
for node in tree.body:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(node.name)
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
            if isinstance(t, ast.Name):
                names.add(t.id)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        names.update((a.asname or a.name).split(".")[0] for a in node.names)
if "run" not in names:
    print(name + " defines no run(): a python script is called as run(*args, **kwargs), so every run of it would fail; add def run(...) at the top level")
    sys.exit(3)
`

// noRunExit is pythonCheck's exit status for a script without run().
const noRunExit = 3

// TestResult is how a test run of a script's text ended.
type TestResult struct {
	Result   any
	Err      error
	Output   string
	Exit     *sundial.ExitStatus
	Duration time.Duration
}

// TestOutputLimit bounds what a test run keeps of its output: its last
// 1 MiB, as a run keeps by default (output_limit), after a note of how
// much was cut.
const TestOutputLimit = 1 << 20

// outputTail keeps the last max bytes written to it and counts the rest;
// it holds at most twice max, compacting when it reaches that.
type outputTail struct {
	max int
	buf []byte
	cut int64
}

func (t *outputTail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > t.max {
		t.cut += int64(len(t.buf) + len(p) - t.max)
		t.buf, p = t.buf[:0], p[len(p)-t.max:]
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over >= t.max {
		t.cut += int64(over)
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return n, nil
}

// String returns the kept tail, after a note of the bytes cut before it.
func (t *outputTail) String() string {
	text, cut := t.buf, t.cut
	if over := len(text) - t.max; over > 0 {
		text, cut = text[over:], cut+int64(over)
	}
	if cut == 0 {
		return string(text)
	}
	return fmt.Sprintf("[… %d bytes of earlier output cut …]\n", cut) + strings.ToValidUTF8(string(text), "")
}

// TestScript runs source once as the script kind would — isolated, with a
// fresh directory and the server's limits — without storing it or a run:
// the web UI's "test run". It keeps the last TestOutputLimit bytes of the
// output.
func (k *Kinds) TestScript(ctx context.Context, lang, source string, args []any, kwargs map[string]any) (TestResult, error) {
	if !slices.Contains(Languages, lang) {
		return TestResult{}, fmt.Errorf("language %q is not one of %s", lang, strings.Join(Languages, ", "))
	}
	out := &outputTail{max: TestOutputLimit}
	rio := &runIO{out: &lockedWriter{w: out}}
	ctx = context.WithValue(ctx, runIOKey{}, rio)
	run := sundial.Run{ID: "test-run", JobID: "(test run)", Task: "script", Attempt: 1, ScheduledAt: time.Now()}
	sum := sha256.Sum256([]byte(source))
	sc := admin.Script{Name: "test-run", Version: 0, Lang: lang, Source: source, Checksum: hex.EncodeToString(sum[:])}
	start := time.Now()
	result, err := k.runScript(ctx, run, sc, ScriptArgs{Script: "test-run", Args: args, Kwargs: kwargs})
	return TestResult{Result: result, Err: err, Output: out.String(), Exit: rio.exit, Duration: time.Since(start)}, nil
}
