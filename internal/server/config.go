package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/apsched"
	"github.com/sundialhq/sundial/internal/httpapi"
	"github.com/sundialhq/sundial/internal/jobdoc"
	"github.com/sundialhq/sundial/internal/jsoninput"
	"github.com/sundialhq/sundial/internal/notify"
	"github.com/sundialhq/sundial/task"
	"github.com/sundialhq/sundial/trigger"
	"gopkg.in/yaml.v3"
)

// Config is a server's settings: defaults, then the config file, then the
// SUNDIAL_* environment, then flags, each overriding the one before.
type Config struct {
	// Addr is the listen address. Default 127.0.0.1:8080.
	Addr string `json:"addr,omitempty"`
	// DB is the store: "sqlite:PATH" (default sqlite:./sundial.db), a
	// bare path, or a postgres:// URL.
	DB string `json:"db,omitempty"`
	// Scheduler false makes an API-only node that claims nothing.
	Scheduler *bool `json:"scheduler,omitempty"`
	// InsecureNoAuth turns authentication off; allowed on loopback only.
	InsecureNoAuth bool `json:"insecure_no_auth,omitempty"`
	// Workers bounds concurrent runs on this node. Default 10.
	Workers int `json:"workers,omitempty"`
	// Queues this node claims from; empty means all.
	Queues []string `json:"queues,omitempty"`
	// NodeID names this node; default host, PID and a random suffix.
	NodeID string `json:"node_id,omitempty"`
	// PollInterval bounds how long the scheduler loop sleeps without
	// looking at the store. Default 5s.
	PollInterval Duration `json:"poll_interval,omitempty"`
	// ShutdownGrace is how long a stopping server lets running runs
	// finish before cancelling them. Default 30s.
	ShutdownGrace Duration `json:"shutdown_grace,omitempty"`
	// LeaseTTL is how long a run claimed by this node stays its own
	// without a renewal (sundial.Config.LeaseTTL): a dead node's runs are
	// marked lost at most LeaseTTL + LeaseTTL/3 after its last renewal.
	// Default 15s; at least 1s. Nil means the default; set, it is checked.
	LeaseTTL *Duration `json:"lease_ttl,omitempty"`
	// FlaskPrefix is where the Flask-APScheduler-compatible routes live.
	// Default /scheduler.
	FlaskPrefix string `json:"flask_prefix,omitempty"`
	// BasePath serves everything — web UI, API, Flask routes, metrics and
	// health checks — under a path prefix such as /sundial, for a reverse
	// proxy that forwards that prefix unchanged. Default: the root. (A
	// proxy that strips the prefix needs no setting: the UI's URLs are
	// relative.)
	BasePath string `json:"base_path,omitempty"`
	// MaxBodyBytes bounds API request bodies. Default 1 MiB.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`
	// Log configures the server's logs.
	Log LogConfig `json:"log,omitzero"`
	// Retention bounds the run history.
	Retention RetentionConfig `json:"retention,omitzero"`
	// Python configures python tasks and Python scripts.
	Python task.Python `json:"python,omitzero"`
	// Isolation bounds every child process of a task.
	Isolation IsolationConfig `json:"isolation,omitzero"`
	// RunAs is the user, "user" or "user:group", that tasks run as. A
	// server started as root runs them as the user sundial where the
	// host has one, else nobody (isolate.DefaultUser), and never as root. A
	// server started as another user cannot switch: its tasks run as
	// that user, confined by Landlock (docs/security.md).
	RunAs string `json:"run_as,omitempty"`
	// OutputLimit bounds the output kept per run, in bytes (its tail).
	// Default 1 MiB.
	OutputLimit int `json:"output_limit,omitempty"`
	// Notify sends word of runs of every job (besides each job's own
	// options.notify).
	Notify []sundial.Notification `json:"notify,omitempty"`
	// NotifySecrets are robots' signing secrets by webhook URL, from the
	// secret of the file's notify entries (a DingTalk or Feishu robot
	// that asks for signed messages), for notify.Config.Secrets. They
	// print as "****".
	NotifySecrets map[string]notify.Secret `json:"-"`
	// SMTP is the mail server of e-mail notifications.
	SMTP SMTPConfig `json:"smtp,omitzero"`
	// Jobs are reconciled on start: created or updated to match, and the
	// jobs this file once declared and no longer does are removed. Each is
	// a job document, or a Flask-APScheduler JOBS entry as it stands (one
	// with "func"); the key may be spelled JOBS.
	Jobs []json.RawMessage `json:"jobs,omitempty"`
	// Calendars are reconciled on start, before the jobs that may name
	// them: created or updated to match, and removed once the file no
	// longer declares them (unless a job still names one).
	Calendars []CalendarConfig `json:"calendars,omitempty"`
	// WorkerTasks are declared on start as worker tasks (docs/workers.md):
	// jobs may name them before any worker has served them, and their
	// runs wait for a worker.
	WorkerTasks []string `json:"worker_tasks,omitempty"`
	// TaskFunctions name Python functions ("module:function") for the
	// func of APScheduler-shaped jobs: the TASK_FUNCTIONS pattern, in
	// which jobs refer to stable names rather than import paths.
	TaskFunctions map[string]string `json:"task_functions,omitempty"`

	// TLSCert and TLSKey, set together, are PEM files of a certificate
	// (chain) and its key: the server then serves HTTPS only.
	TLSCert string `json:"tls_cert,omitempty"`
	TLSKey  string `json:"tls_key,omitempty"`
	// AllowedHosts are the host names besides loopback ones that the Host
	// header may give when the server listens on a loopback address.
	AllowedHosts []string `json:"allowed_hosts,omitempty"`
	// AllowedOrigins are the origins besides the server's own whose pages
	// may make changes, such as https://sundial.example.com.
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	// TrustedProxies are the addresses (IPs or CIDR prefixes) of reverse
	// proxies whose X-Forwarded-For, -Proto and -Host headers are believed.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
	// Session says how long the web UI's sessions last.
	Session SessionConfig `json:"session,omitzero"`
	// ProxyAuth, when set, logs in the users that an authenticating
	// reverse proxy in trusted_proxies names in a header.
	ProxyAuth *httpapi.ProxyAuthConfig `json:"proxy_auth,omitempty"`
	// OIDC, when set, logs the web UI in through an OpenID Connect
	// provider.
	OIDC *OIDCConfig `json:"oidc,omitempty"`

	// SecretKey seals secrets; from SUNDIAL_SECRET_KEY only, never the
	// config file.
	SecretKey string `json:"-"`
	// SecretKeyFile is a file that holds the key instead (readable by
	// the server only).
	SecretKeyFile string `json:"secret_key_file,omitempty"`

	// File is the config file read, for errors ("" when none).
	File string `json:"-"`
	// source is the file's text, so that errors found after it became
	// JSON can still say on which line and column they are.
	source []byte
}

// IsolationConfig bounds the child processes of tasks. Zero means no
// limit, except OpenFiles (default 1024) and Grace (default 5s).
type IsolationConfig struct {
	CPUSeconds     uint64   `json:"cpu_seconds,omitempty"`
	AddressSpaceMB uint64   `json:"address_space_mb,omitempty"`
	OpenFiles      uint64   `json:"open_files,omitempty"`
	Processes      uint64   `json:"processes,omitempty"`
	MemoryMB       uint64   `json:"memory_mb,omitempty"`
	Pids           uint64   `json:"pids,omitempty"`
	Grace          Duration `json:"grace,omitempty"`
	// AcceptUnenforcedLimits accepts jobs that ask for limits this host
	// cannot enforce (memory, pids without a delegated cgroup v2): their
	// runs go without them, with a warning in their output. By default
	// such jobs are refused when saved.
	AcceptUnenforcedLimits bool `json:"accept_unenforced_limits,omitempty"`
	// Landlock confines tasks with Linux Landlock where the kernel has
	// it. Default true.
	Landlock *bool `json:"landlock,omitempty"`
	// Protect lists files and directories tasks must not reach (with
	// Landlock), besides the database, the key file and the config file.
	Protect []string `json:"protect,omitempty"`
	// RunDir is where runs get their private directories. Default
	// /run/sundial for root; for another user $RUNTIME_DIRECTORY/runs
	// (systemd's RuntimeDirectory=), $XDG_RUNTIME_DIR/sundial, else the
	// temporary directory. Outside the temporary directory, Landlock
	// keeps each task out of the other runs' directories.
	RunDir string `json:"run_dir,omitempty"`
}

// SessionConfig says how long the web UI's sessions last: a session
// ends after IdleTimeout without a request (default 12h) and MaxAge
// after login (default 7 days), whichever comes first.
type SessionConfig struct {
	IdleTimeout Duration `json:"idle_timeout,omitempty"`
	MaxAge      Duration `json:"max_age,omitempty"`
}

// OIDCConfig is login through an OpenID Connect provider. The client
// secret comes from SUNDIAL_OIDC_CLIENT_SECRET or the file that
// client_secret_file names, never from the config file itself.
type OIDCConfig struct {
	httpapi.OIDCConfig
	ClientSecretFile string `json:"client_secret_file,omitempty"`
}

// SMTPConfig is the mail server of e-mail notifications. The password
// comes from SUNDIAL_SMTP_PASSWORD.
type SMTPConfig struct {
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"`
	Username string `json:"username,omitempty"`
	From     string `json:"from,omitempty"`
	Password string `json:"-"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Format is text (default) or json.
	Format string `json:"format,omitempty"`
	// Level is debug, info (default), warn or error.
	Level string `json:"level,omitempty"`
}

// RetentionConfig bounds the run history (see sundial.Retention).
type RetentionConfig struct {
	MaxAge Duration `json:"max_age,omitempty"`
	PerJob int      `json:"per_job,omitempty"`
}

// Duration is a duration setting in Sundial's one form: a Go duration
// string ("30s"), or a number of seconds — in the config file, the
// environment and the flags alike.
type Duration = trigger.Duration

// Defaults for the server's settings.
const (
	DefaultAddr          = "127.0.0.1:8080"
	DefaultDB            = "sqlite:./sundial.db"
	DefaultPollInterval  = 5 * time.Second
	DefaultShutdownGrace = 30 * time.Second
	DefaultLeaseTTL      = 15 * time.Second
	// MinLeaseTTL is the shortest lease_ttl: the node renews its leases
	// every third of it, and stops its runs after 3/4 of it without a
	// renewal, so a shorter one would stop runs on a slow store call.
	MinLeaseTTL = time.Second
)

// CheckLeaseTTL refuses a lease TTL under MinLeaseTTL; name says where it
// was set (a setting, a flag or an environment variable).
func CheckLeaseTTL(name string, d time.Duration) error {
	if d < MinLeaseTTL {
		return fmt.Errorf("%s %s: must be at least %s (a dead node's runs are retried at most lease_ttl + lease_ttl/3 after its last renewal)", name, d, MinLeaseTTL)
	}
	return nil
}

// ReadConfigFile reads a YAML (or JSON) config file. Unknown settings are
// errors that name the file and the setting; jobs are checked as job
// documents, each error naming the job and its field. Errors say where in
// the file they are, as file:line:column.
func ReadConfigFile(path string) (Config, error) {
	c, err := readConfigFile(path)
	if ce := (*ConfigError)(nil); err != nil && !errors.As(err, &ce) {
		err = &ConfigError{Err: err}
	}
	return c, err
}

// ConfigError is a mistake in the server's configuration, such as a
// setting or job of the config file, as opposed to a failure of the host
// or the store: a usage error, which the CLI answers with exit code 2.
type ConfigError struct{ Err error }

// Error returns the mistake, which names the file and the place in it.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the mistake.
func (e *ConfigError) Unwrap() error { return e.Err }

// CheckJobs refuses, before anything changes, config jobs that could not
// run on a server with these tasks: an unknown task, or a trigger that
// does not build. Its error is a *ConfigError that names the file, the
// place in it and the job; for an unknown task, the tasks there are.
func (c Config) CheckJobs(jobs []sundial.Job, tasks []string) error {
	for i, j := range jobs {
		path := jsoninput.Join("jobs", i)
		if !slices.Contains(tasks, j.Task) {
			return &ConfigError{Err: fmt.Errorf("%s: jobs[%d] (id %q): field \"task\": %w",
				c.at(path+".task", false), i, j.ID, &UnknownTaskError{Task: j.Task, Tasks: tasks})}
		}
		if _, err := j.Trigger.Build(); err != nil {
			return &ConfigError{Err: fmt.Errorf("%s: jobs[%d] (id %q): field \"trigger\": %w", c.at(path+".trigger", false), i, j.ID, err)}
		}
	}
	return nil
}

// UnknownTaskError is a config job's task that the server does not have,
// explained to the person who wrote the file rather than to a Go
// program: the tasks the server has, the one a mistyped name most likely
// means, and where other tasks come from. errors.Is(err,
// sundial.ErrUnknownTask) holds.
type UnknownTaskError struct {
	// Task is the name the job gave.
	Task string
	// Tasks are the tasks the server has.
	Tasks []string
}

// Error returns the message.
func (e *UnknownTaskError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown task %q", e.Task)
	if s := suggestTask(e.Task, e.Tasks); s != "" {
		fmt.Fprintf(&b, ": did you mean %q?", s)
	}
	fmt.Fprintf(&b, "; this server has the tasks %s, and any other task must be served by a worker (list it under worker_tasks: to name it before its worker first connects)", strings.Join(e.Tasks, ", "))
	return b.String()
}

// Unwrap returns the scheduler's own error for the task, so that
// errors.Is(err, sundial.ErrUnknownTask) holds.
func (e *UnknownTaskError) Unwrap() error { return &sundial.UnknownTaskError{Task: e.Task} }

// taskAliases are what people call the built-in task kinds in other
// schedulers.
var taskAliases = map[string]string{
	"shell": "command", "sh": "command", "bash": "command", "cmd": "command", "exec": "command", "subprocess": "command",
	"webhook": "http", "request": "http", "url": "http", "https": "http",
	"py": "python", "python3": "python", "func": "python", "function": "python",
}

// suggestTask returns the task of tasks that name most likely means: the
// kind another scheduler's word stands for, or one a letter or two away.
func suggestTask(name string, tasks []string) string {
	lower := strings.ToLower(name)
	if t, ok := taskAliases[lower]; ok && slices.Contains(tasks, t) {
		return t
	}
	best, bestDist := "", min(2, len([]rune(lower))/3)+1
	for _, t := range tasks {
		if d := editDistance(lower, strings.ToLower(t)); d < bestDist {
			best, bestDist = t, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := range ra {
		cur[0] = i + 1
		for j := range rb {
			cost := 1
			if ra[i] == rb[j] {
				cost = 0
			}
			cur[j+1] = min(prev[j+1]+1, cur[j]+1, prev[j]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func readConfigFile(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	j, err := jobdoc.YAMLToJSON(data)
	if err != nil {
		return Config{}, yamlError(path, data, err)
	}
	c := Config{File: path, source: data}
	j, secrets, err := takeNotifySecrets(j)
	if err != nil {
		var p *jsoninput.Problem
		if errors.As(err, &p) {
			return Config{}, fmt.Errorf("%s: %w", c.at(p.Path, false), settingError(err))
		}
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if string(bytes.TrimSpace(j)) != "null" {
		if err := jsoninput.Decode(j, &c); err != nil {
			var p *jsoninput.Problem
			key := errors.As(err, &p) && strings.HasPrefix(p.Msg, "unknown field")
			path := ""
			if p != nil {
				path = p.Path
			}
			return Config{}, fmt.Errorf("%s: %w", c.at(path, key), settingError(err))
		}
	}
	for i, secret := range secrets {
		if secret == "" || i >= len(c.Notify) {
			continue
		}
		field := fmt.Sprintf("notify[%d].secret", i)
		if err := notify.ValidateSecret(c.Notify[i].Format, secret, field); err != nil {
			var ij *sundial.InvalidJobError
			if errors.As(err, &ij) {
				err = ij.Err
			}
			return Config{}, fmt.Errorf("%s: setting %q: %w", c.at(field, false), field, err)
		}
		url := c.Notify[i].Webhook
		if prev, ok := c.NotifySecrets[url]; ok && prev != secret {
			return Config{}, fmt.Errorf("%s: setting %q: another entry gives the same robot another secret", c.at(field, false), field)
		}
		if c.NotifySecrets == nil {
			c.NotifySecrets = map[string]notify.Secret{}
		}
		c.NotifySecrets[url] = secret
	}
	for _, name := range slices.Sorted(maps.Keys(c.TaskFunctions)) {
		if ref := c.TaskFunctions[name]; name == "" || !task.FuncRef.MatchString(ref) {
			return Config{}, fmt.Errorf("%s: setting \"task_functions.%s\": %q is not a Python function such as app.jobs:cleanup",
				c.at(jsoninput.Join("task_functions", name), false), name, ref)
		}
	}
	if c.LeaseTTL != nil {
		if err := CheckLeaseTTL(`setting "lease_ttl"`, time.Duration(*c.LeaseTTL)); err != nil {
			return Config{}, fmt.Errorf("%s: %w", c.at("lease_ttl", false), err)
		}
	}
	if _, err := c.JobDocuments(); err != nil {
		return Config{}, err
	}
	if _, err := c.CalendarDocuments(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// takeNotifySecrets removes the secret of each entry of the document's
// notify list, which a sundial.Notification does not hold, and returns
// the document without them and the secrets by entry. A secret that is
// not a string is a *jsoninput.Problem.
func takeNotifySecrets(doc []byte) ([]byte, []notify.Secret, error) {
	var top map[string]json.RawMessage
	if json.Unmarshal(doc, &top) != nil {
		return doc, nil, nil
	}
	var key string
	for k := range top {
		if strings.EqualFold(k, "notify") && (key == "" || k == "notify") {
			key = k
		}
	}
	var entries []map[string]json.RawMessage
	if key == "" || json.Unmarshal(top[key], &entries) != nil {
		return doc, nil, nil
	}
	secrets := make([]notify.Secret, len(entries))
	found := false
	for i, e := range entries {
		for k, raw := range e {
			if !strings.EqualFold(k, "secret") {
				continue
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, nil, &jsoninput.Problem{Path: jsoninput.Join(jsoninput.Join(key, i), k), Msg: "expected a string, the robot's secret"}
			}
			secrets[i], found = notify.Secret(s), true
			delete(e, k)
		}
	}
	if !found {
		return doc, nil, nil
	}
	list, err := json.Marshal(entries)
	if err != nil {
		return nil, nil, err
	}
	top[key] = list
	out, err := json.Marshal(top)
	return out, secrets, err
}

// at names the config file, and the line and column of the value at a
// JSON path within it (of its key with key set), or of the closest value
// around it that the file has: "config sundial.yaml:12:14". Without the
// file's text it names the file alone.
func (c Config) at(path string, key bool) string {
	if c.source != nil {
		if line, col := yamlPosition(c.source, path, key); line > 0 {
			return fmt.Sprintf("config %s:%d:%d", c.File, line, col)
		}
	}
	return "config " + c.File
}

// yamlError reports a YAML syntax error at the line and column where it
// is. yaml.v3 numbers the line of the enclosing construct instead, from
// zero for a parser error (a mis-indented key in the tenth line of a
// job list reads "line 4", the line above the list's first item), and
// gives no column; so the place is found again here, as the shortest
// start of the file that fails with the same error.
func yamlError(file string, data []byte, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return fmt.Errorf("config %s: %w", file, err) // its lines are the nodes' own, and right
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
		msg = rest
	}
	msg = "invalid YAML: " + msg + yamlHint(msg)
	line, col := yamlErrorPosition(data, err.Error())
	if line == 0 {
		return fmt.Errorf("config %s: %s", file, msg)
	}
	return fmt.Errorf("config %s:%d:%d: %s", file, line, col, msg)
}

// maxLocatedLines bounds the lines yamlErrorPosition parses again, each
// time from the top: config files are short, and a huge one still gets
// its error, without a place.
const maxLocatedLines = 5000

// yamlErrorPosition returns the 1-based line and column at which the
// YAML document fails with the error message want: the first line whose
// end makes the document fail so, and in it the first character that
// does. A document cut short fails for want of its end too, but with a
// different message, or the same message about a different place (the
// message names the line of the construct that is not closed), so it
// does not match. Zero means not found.
func yamlErrorPosition(data []byte, want string) (line, col int) {
	fails := func(doc []byte) bool {
		var v any
		err := yaml.Unmarshal(doc, &v)
		return err != nil && err.Error() == want
	}
	start := 0
	for n := 1; start < len(data) && n <= maxLocatedLines; n++ {
		end := len(data)
		if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
			end = start + i + 1
		}
		if fails(data[:end]) {
			for c := start + 1; c <= end; c++ {
				if fails(data[:c]) {
					return n, len([]rune(string(data[start:c])))
				}
			}
			return n, 1
		}
		start = end
	}
	return 0, 0
}

// yamlHint adds the usual cause of a YAML error people make in config
// files, or "".
func yamlHint(msg string) string {
	switch {
	case strings.Contains(msg, "tab character"):
		return " (indent with spaces, not tabs)"
	case strings.Contains(msg, "did not find expected key"), strings.Contains(msg, "did not find expected '-' indicator"):
		return " (is this line indented like the ones it belongs with?)"
	case strings.Contains(msg, "mapping values are not allowed"):
		return ` (quote a value that holds ": ", and line a key up with the keys beside it)`
	case strings.Contains(msg, "unexpected end of stream"):
		return " (a quoted string, [list] or {mapping} opened here is never closed)"
	}
	return ""
}

// yamlPosition returns the 1-based line and column, in a YAML document,
// of the value at a JSON path as jsoninput writes it (jobs[0].trigger,
// env["A B"]), or of its key with key set; where the document has no
// such value, those of the closest value around it. Keys match as
// encoding/json matches names: exactly, else ignoring case ("JOBS").
// Zero means the document does not parse.
func yamlPosition(data []byte, path string, key bool) (line, col int) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0, 0
	}
	n := doc.Content[0]
	line, col = n.Line, n.Column
	for elems := pathElems(path); len(elems) > 0; elems = elems[1:] {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var k, v *yaml.Node
		switch e := elems[0].(type) {
		case int:
			if n.Kind == yaml.SequenceNode && e < len(n.Content) {
				v = n.Content[e]
			}
		case string:
			k, v = member(n, e)
		}
		if v == nil {
			return line, col
		}
		n, line, col = v, v.Line, v.Column
		if key && k != nil && len(elems) == 1 {
			line, col = k.Line, k.Column
		}
	}
	return line, col
}

// member finds a mapping's key and value by name.
func member(m *yaml.Node, name string) (key, value *yaml.Node) {
	if m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for _, exact := range []bool{true, false} {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if k.Value == name || (!exact && strings.EqualFold(k.Value, name)) {
				return k, m.Content[i+1]
			}
		}
	}
	return nil, nil
}

// pathElems splits a JSON path as jsoninput.Join writes it into member
// names and indexes: `jobs[0].env["A B"]` is "jobs", 0, "env", "A B". It
// stops at anything it cannot read.
func pathElems(path string) []any {
	var elems []any
	for path != "" {
		switch {
		case path[0] == '.':
			path = path[1:]
		case strings.HasPrefix(path, `["`):
			q, err := strconv.QuotedPrefix(path[1:])
			name, uerr := strconv.Unquote(q)
			if err != nil || uerr != nil || !strings.HasPrefix(path[1+len(q):], "]") {
				return elems
			}
			elems = append(elems, name)
			path = path[2+len(q):]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			i, err := strconv.Atoi(path[1:max(end, 1)])
			if end < 0 || err != nil {
				return elems
			}
			elems = append(elems, i)
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			elems = append(elems, path[:end])
			path = path[end:]
		}
	}
	return elems
}

// settingError names the setting at fault as the file spells it.
func settingError(err error) error {
	var p *jsoninput.Problem
	if errors.As(err, &p) {
		switch {
		case p.Path == "":
			return errors.New(p.Msg)
		case strings.HasPrefix(p.Msg, "unknown field"):
			return fmt.Errorf("unknown setting %q", p.Path)
		}
		return fmt.Errorf("setting %q: %s", p.Path, p.Msg)
	}
	return err
}

// JobDocuments decodes the config file's jobs. Each needs an ID, so that
// the next start finds it again.
func (c Config) JobDocuments() ([]sundial.Job, error) {
	seen := map[string]int{}
	var jobs []sundial.Job
	for i, raw := range c.Jobs {
		job, err := c.jobDocument(raw)
		if err != nil {
			var named struct{ ID string }
			if json.Unmarshal(raw, &named) == nil {
				job.ID = named.ID
			}
		}
		if err == nil && job.ID == "" {
			err = &sundial.InvalidJobError{Field: "id", Err: errors.New("is required in a config file, so that the next start finds the job again")}
		}
		prev, dup := seen[job.ID]
		// The place in the file is that of the field at fault, else of
		// the job.
		path, key := jsoninput.Join("jobs", i), false
		var ij *sundial.InvalidJobError
		switch {
		case errors.As(err, &ij) && ij.Field != "(document)":
			path = jsoninput.Under(path, ij.Field)
			key = strings.HasPrefix(ij.Err.Error(), "unknown field")
		case err == nil && dup:
			path = jsoninput.Under(path, "id")
		}
		where := fmt.Sprintf("%s: jobs[%d]", c.at(path, key), i)
		if job.ID != "" {
			where += fmt.Sprintf(" (id %q)", job.ID)
		}
		if err != nil {
			return nil, &ConfigError{Err: fmt.Errorf("%s: %w", where, err)}
		}
		if dup {
			return nil, &ConfigError{Err: fmt.Errorf("%s: field \"id\": jobs[%d] has the same id", where, prev)}
		}
		seen[job.ID] = i
		job.Source = admin.SourceConfig
		jobs = append(jobs, job)
	}
	return jobs, nil
}

// jobDocument reads one of the file's jobs: a Flask-APScheduler JOBS
// entry when it has a func, else a job document.
func (c Config) jobDocument(raw json.RawMessage) (sundial.Job, error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields["func"] == nil {
		return jobdoc.Decode(raw)
	}
	var kind string
	json.Unmarshal(fields["trigger"], &kind)
	if _, ok := fields["run_date"]; (kind == "" || kind == "date") && !ok && fields["spec"] == nil {
		// APScheduler's "now" would be a new instant at every start.
		return sundial.Job{}, &sundial.InvalidJobError{Field: "run_date", Err: errors.New("is required for a date trigger in a config file")}
	}
	var job sundial.Job
	ch, err := apsched.Apply(&job, fields, apsched.Options{Creating: true, Functions: c.TaskFunctions})
	var fe *apsched.FieldError
	if errors.As(err, &fe) {
		return job, &sundial.InvalidJobError{Field: fe.Key, Err: errors.New(fe.Msg)}
	}
	job.Paused = ch.Pause
	return job, err
}

// ApplyEnv overrides settings with the SUNDIAL_* environment variables
// that are set. ENABLE_SCHEDULER=false (a common APScheduler deployment
// switch) turns the scheduler off too.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("SUNDIAL_ADDR", &c.Addr)
	str("SUNDIAL_DB", &c.DB)
	str("SUNDIAL_NODE_ID", &c.NodeID)
	str("SUNDIAL_FLASK_PREFIX", &c.FlaskPrefix)
	str("SUNDIAL_BASE_PATH", &c.BasePath)
	str("SUNDIAL_LOG_FORMAT", &c.Log.Format)
	str("SUNDIAL_LOG_LEVEL", &c.Log.Level)
	str("SUNDIAL_PYTHON_EXECUTABLE", &c.Python.Executable)
	str("SUNDIAL_PYTHON_APP_FACTORY", &c.Python.AppFactory)
	str("SUNDIAL_PYTHON_VENV", &c.Python.Venv)
	str("SUNDIAL_SECRET_KEY", &c.SecretKey)
	str("SUNDIAL_SECRET_KEY_FILE", &c.SecretKeyFile)
	str("SUNDIAL_RUN_AS", &c.RunAs)
	str("SUNDIAL_RUN_DIR", &c.Isolation.RunDir)
	str("SUNDIAL_SMTP_PASSWORD", &c.SMTP.Password)
	str("SUNDIAL_TLS_CERT", &c.TLSCert)
	str("SUNDIAL_TLS_KEY", &c.TLSKey)
	if v := getenv("SUNDIAL_PROXY_AUTH_HEADER"); v != "" {
		if c.ProxyAuth == nil {
			c.ProxyAuth = &httpapi.ProxyAuthConfig{}
		}
		c.ProxyAuth.Header = v
	}
	if v := getenv("SUNDIAL_PROXY_AUTH_SECRET"); v != "" && c.ProxyAuth != nil {
		c.ProxyAuth.Secret = v
	}
	if getenv("SUNDIAL_OIDC_ISSUER") != "" && c.OIDC == nil {
		c.OIDC = &OIDCConfig{}
	}
	if c.OIDC != nil {
		str("SUNDIAL_OIDC_ISSUER", &c.OIDC.Issuer)
		str("SUNDIAL_OIDC_CLIENT_ID", &c.OIDC.ClientID)
		str("SUNDIAL_OIDC_CLIENT_SECRET", &c.OIDC.ClientSecret)
		str("SUNDIAL_OIDC_CLIENT_SECRET_FILE", &c.OIDC.ClientSecretFile)
		str("SUNDIAL_OIDC_REDIRECT_URL", &c.OIDC.RedirectURL)
	}
	for name, dst := range map[string]*[]string{"SUNDIAL_ALLOWED_HOSTS": &c.AllowedHosts, "SUNDIAL_ALLOWED_ORIGINS": &c.AllowedOrigins,
		"SUNDIAL_TRUSTED_PROXIES": &c.TrustedProxies} {
		if v := getenv(name); v != "" {
			*dst = strings.Split(v, ",")
		}
	}
	if v := getenv("SUNDIAL_PYTHON_PATH"); v != "" {
		c.Python.Path = filepath.SplitList(v)
	}
	for _, name := range []string{"ENABLE_SCHEDULER", "SUNDIAL_SCHEDULER"} {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("environment %s=%q: not true or false", name, v)
			}
			c.Scheduler = &b
		}
	}
	if v := getenv("SUNDIAL_INSECURE_NO_AUTH"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("environment SUNDIAL_INSECURE_NO_AUTH=%q: not true or false", v)
		}
		c.InsecureNoAuth = b
	}
	if v := getenv("SUNDIAL_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("environment SUNDIAL_WORKERS=%q: not a whole number of at least 1", v)
		}
		c.Workers = n
	}
	if v := getenv("SUNDIAL_QUEUES"); v != "" {
		c.Queues = strings.Split(v, ",")
	}
	for name, dst := range map[string]*Duration{"SUNDIAL_POLL_INTERVAL": &c.PollInterval, "SUNDIAL_SHUTDOWN_GRACE": &c.ShutdownGrace,
		"SUNDIAL_SESSION_IDLE_TIMEOUT": &c.Session.IdleTimeout, "SUNDIAL_SESSION_MAX_AGE": &c.Session.MaxAge} {
		if v := getenv(name); v != "" {
			d, err := trigger.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("environment %s=%q: not a positive duration such as 30s or a number of seconds", name, v)
			}
			*dst = Duration(d)
		}
	}
	if v := getenv("SUNDIAL_LEASE_TTL"); v != "" {
		d, err := trigger.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("environment SUNDIAL_LEASE_TTL=%q: not a duration such as 15s or a number of seconds", v)
		}
		if err := CheckLeaseTTL("environment SUNDIAL_LEASE_TTL", d); err != nil {
			return err
		}
		ttl := Duration(d)
		c.LeaseTTL = &ttl
	}
	return nil
}

// basePathRE is a base path: segments of letters, digits and - . _ ~.
var basePathRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

// CleanBasePath returns the base_path setting as the server mounts it:
// "" for the root, else a path such as /sundial (a trailing slash is
// dropped). A path with other characters, or a . or .. segment, is
// refused, naming the setting.
func (c Config) CleanBasePath() (string, error) {
	p := strings.TrimSuffix(c.BasePath, "/")
	if p == "" {
		return "", nil
	}
	if !basePathRE.MatchString(p) || path.Clean(p) != p {
		return "", fmt.Errorf("setting base_path (--base-path) %q: must be a path such as /sundial, of letters, digits and - . _ ~", c.BasePath)
	}
	return p, nil
}

// withDefaults fills unset settings.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.DB == "" {
		c.DB = DefaultDB
	}
	if c.Scheduler == nil {
		on := true
		c.Scheduler = &on
	}
	if c.PollInterval <= 0 {
		c.PollInterval = Duration(DefaultPollInterval)
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = Duration(DefaultShutdownGrace)
	}
	if c.LeaseTTL == nil {
		ttl := Duration(DefaultLeaseTTL)
		c.LeaseTTL = &ttl
	}
	if c.OutputLimit <= 0 {
		c.OutputLimit = 1 << 20
	}
	if c.Isolation.OpenFiles == 0 {
		c.Isolation.OpenFiles = 1024
	}
	return c
}
