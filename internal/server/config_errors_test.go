package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sundialhq/sundial"
)

// writeConfig writes a config file named name and returns its path.
func writeConfig(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigErrorsSayWhere checks that config file errors name the line
// and column at fault: YAML syntax errors where yaml.v3 names the line of
// the enclosing construct (counted from zero), and errors found after the
// file became JSON, which yaml.v3 never saw.
func TestConfigErrorsSayWhere(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, text, want string }{
		// yaml.v3 says "line 4": the line above the list's first item.
		{"indent.yaml", "addr: 127.0.0.1:1\ndb: sqlite:x.db\ninsecure_no_auth: true\njobs:\n  - id: a\n    task: echo\n    trigger: \"*/5 * * * *\"\n  - id: b\n    task: echo\n   trigger: \"0 3 * * *\"\n",
			"indent.yaml:10:4: invalid YAML: did not find expected '-' indicator (is this line indented like the ones it belongs with?)"},
		{"key.yaml", "addr: x\nlog:\n  level: info\n   format: json\n",
			`key.yaml:4:10: invalid YAML: mapping values are not allowed in this context (quote a value that holds ": ", and line a key up with the keys beside it)`},
		{"tab.yaml", "addr: x\nworkers: 3\n\tqueues: [a]\n",
			"tab.yaml:3:1: invalid YAML: found a tab character that violates indentation (indent with spaces, not tabs)"},
		{"quote.yaml", "jobs:\n  - id: a\n    task: echo\n    trigger: \"*/5 * * * *\n  - id: b\n",
			"quote.yaml:4:14: invalid YAML: found unexpected end of stream (a quoted string, [list] or {mapping} opened here is never closed)"},
		{"colon.yaml", "jobs:\n  - id: a\n    task: echo\n    trigger: {type: cron, expr: 0 3 * * *}\n    name: backup: nightly\n",
			`colon.yaml:5:17: invalid YAML: mapping values are not allowed in this context (quote a value that holds ": "`},
		{"setting.yaml", "addr: x\nlog:\n  levl: debug\n", `setting.yaml:3:3: unknown setting "log.levl"`},
		{"type.yaml", "addr: x\n\nworkers: many\n", `type.yaml:3:10: setting "workers": expected a whole number, got a string`},
		{"list.yaml", "queues: a b\n", `list.yaml:1:9: setting "queues": expected an array, got a string: write a list of strings, such as ["a", "b"]`},
		{"lease.yaml", "workers: 2\nlease_ttl: 10ms\n", `lease.yaml:2:12: setting "lease_ttl" 10ms: must be at least 1s`},
		{"functions.yaml", "task_functions:\n  cleanup: app.jobs:cleanup\n  report: not a function\n",
			`functions.yaml:3:11: setting "task_functions.report": "not a function"`},
		{"job.yaml", "jobs:\n  - id: a\n    task: echo\n    trigger: '@daily'\n  - id: b\n    task: echo\n    trigger:\n      type: interval\n      minutes: 0\n",
			`job.yaml:9:16: jobs[1] (id "b"): invalid job: field "trigger.minutes": interval: field "minutes": 0 minutes makes an interval of zero`},
		{"expr.yaml", "jobs:\n  - id: a\n    task: echo\n    trigger: '0 25 * * *'\n",
			`expr.yaml:4:14: jobs[0] (id "a"): invalid job: field "trigger": crontab: field "hour": 25 is out of range 0-23`},
		{"zone.yaml", "jobs:\n  - id: a\n    task: echo\n    trigger: {type: cron, expr: '0 3 * * *', timezone: Berlin}\n",
			`zone.yaml:4:56: jobs[0] (id "a"): invalid job: field "trigger.timezone": cron: field "timezone": "Berlin" is not a known IANA time zone: did you mean "Europe/Berlin"?`},
		{"unknown.yaml", "jobs:\n  - id: a\n    task: echo\n    trigger: '@daily'\n    colour: red\n",
			`unknown.yaml:5:5: jobs[0] (id "a"): invalid job: field "colour": unknown field "colour"`},
		{"noid.yaml", "jobs:\n  - id: a\n    task: echo\n    trigger: '@daily'\n  - task: echo\n    trigger: '@daily'\n",
			`noid.yaml:5:5: jobs[1]: invalid job: field "id": is required`},
		{"dup.yaml", "jobs:\n  - {id: a, task: echo, trigger: '@daily'}\n  - {id: a, task: echo, trigger: '@daily'}\n",
			`dup.yaml:3:10: jobs[1] (id "a"): field "id": jobs[0] has the same id`},
		{"flask.yaml", "JOBS:\n  - id: a\n    func: 'm:f'\n    trigger: cron\n    hours: 3\n",
			`flask.yaml:5:12: jobs[0] (id "a"): invalid job: field "hours": does not apply to a cron trigger`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadConfigFile(writeConfig(t, tt.name, tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error:\n got %v\nwant it to say %s", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "config ") {
				t.Errorf("error %q does not start with config", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("error is %T, want a *ConfigError", err)
			}
		})
	}
}

// TestYAMLPosition checks the walk from a JSON path to the YAML node.
func TestYAMLPosition(t *testing.T) {
	t.Parallel()
	doc := []byte("JOBS:\n  - id: a\n    args:\n      env: {\"A B\": 1, C: 2}\n    tags: [x, y]\n")
	for _, tt := range []struct {
		path      string
		key       bool
		line, col int
	}{
		{"", false, 1, 1},
		{"jobs", false, 2, 3},
		{"jobs", true, 1, 1},
		{"jobs[0].id", false, 2, 9},
		{"jobs[0].id", true, 2, 5},
		{`jobs[0].args.env["A B"]`, false, 4, 20},
		{"jobs[0].args.env.C", false, 4, 26},
		{"jobs[0].tags[1]", false, 5, 15},
		{"jobs[0].tags[7]", false, 5, 11},     // no such element: its list
		{"jobs[0].trigger.hour", false, 2, 5}, // no trigger: the job
		{"jobs[9]", false, 2, 3},
	} {
		line, col := yamlPosition(doc, tt.path, tt.key)
		if line != tt.line || col != tt.col {
			t.Errorf("yamlPosition(%q, key %v) = %d:%d, want %d:%d", tt.path, tt.key, line, col, tt.line, tt.col)
		}
	}
	if line, _ := yamlPosition([]byte("a: [\n"), "a", false); line != 0 {
		t.Errorf("a document that does not parse has a position: line %d", line)
	}
}

// TestCheckJobsUnknownTask checks the error for a config job whose task
// the server does not have: it names the place, the tasks there are, the
// one meant when the name is close, and that others come from workers;
// and it is a configuration error, which the CLI answers with exit 2.
func TestCheckJobsUnknownTask(t *testing.T) {
	t.Parallel()
	tasks := []string{"command", "echo", "http", "python", "script"}
	for _, tt := range []struct{ task, want string }{
		{"sendmail", `unknown task "sendmail"; this server has the tasks command, echo, http, python, script, and any other task must be served by a worker`},
		{"shell", `unknown task "shell": did you mean "command"?; this server has the tasks command, echo, http, python, script`},
		{"pyhton", `unknown task "pyhton": did you mean "python"?`},
		{"HTTP", `unknown task "HTTP": did you mean "http"?`},
		{"ech", `unknown task "ech": did you mean "echo"?`},
	} {
		path := writeConfig(t, "tasks.yaml", "jobs:\n  - id: a\n    task: echo\n    trigger: '@daily'\n  - id: b\n    task: "+tt.task+"\n    trigger: '@daily'\n")
		cfg, err := ReadConfigFile(path)
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := cfg.JobDocuments()
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.CheckJobs(jobs, tasks)
		if err == nil || !strings.Contains(err.Error(), `tasks.yaml:6:11: jobs[1] (id "b"): field "task": `+tt.want) {
			t.Errorf("task %s: error\n got %v\nwant it to say %s", tt.task, err, tt.want)
		}
		if strings.Contains(err.Error(), "Scheduler.Register") {
			t.Errorf("task %s: error gives a Go program's advice: %v", tt.task, err)
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, sundial.ErrUnknownTask) {
			t.Errorf("task %s: error %T is not a *ConfigError and sundial.ErrUnknownTask", tt.task, err)
		}
	}
	cfg := Config{File: "f.yaml"}
	if err := cfg.CheckJobs([]sundial.Job{{ID: "a", Task: "echo"}}, tasks); err == nil || !strings.Contains(err.Error(), `config f.yaml: jobs[0] (id "a"): field "trigger"`) {
		t.Errorf("a job without a trigger: %v", err)
	}
}

// TestNotifySecrets checks a robot's signing secret in the config file:
// read into NotifySecrets by the robot's URL, checked, never printed.
func TestNotifySecrets(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "robots.yaml", `notify:
  - webhook: https://oapi.dingtalk.com/robot/send?access_token=abc
    format: dingtalk
    secret: SECding-secret
  - webhook: https://open.feishu.cn/open-apis/bot/v2/hook/xyz
    format: feishu
    Secret: feishu-secret
  - {webhook: "https://hooks.slack.com/services/x", format: slack}
`)
	cfg, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Notify) != 3 || len(cfg.NotifySecrets) != 2 ||
		cfg.NotifySecrets["https://oapi.dingtalk.com/robot/send?access_token=abc"] != "SECding-secret" ||
		cfg.NotifySecrets["https://open.feishu.cn/open-apis/bot/v2/hook/xyz"] != "feishu-secret" {
		t.Errorf("notify %+v, secrets %v", cfg.Notify, cfg.NotifySecrets)
	}
	if shown := fmt.Sprintf("%+v", cfg); strings.Contains(shown, "ding-secret") || strings.Contains(shown, "feishu-secret") {
		t.Errorf("the config prints its secrets: %s", shown)
	}
	for name, c := range map[string]struct{ text, want string }{
		"slack.yaml": {"notify:\n  - webhook: https://hooks.slack.com/services/x\n    format: slack\n    secret: abc\n",
			`slack.yaml:4:13: setting "notify[0].secret": signs DingTalk and Feishu robots' messages (format dingtalk or feishu), not slack webhooks`},
		"number.yaml": {"notify:\n  - webhook: https://oapi.dingtalk.com/robot/send?access_token=abc\n    format: dingtalk\n    secret: 12345\n",
			`number.yaml:4:13: setting "notify[0].secret": expected a string, the robot's secret`},
		"twice.yaml": {"notify:\n  - {webhook: 'https://r/x', format: feishu, secret: a}\n  - {webhook: 'https://r/x', format: feishu, secret: b, on: [succeeded]}\n",
			`twice.yaml:3:54: setting "notify[1].secret": another entry gives the same robot another secret`},
		"unknown.yaml": {"notify:\n  - {webhook: 'https://r/x', format: feishu, secret: a, colour: red}\n",
			`unknown.yaml:2:57: unknown setting "notify[0].colour"`},
	} {
		_, err := ReadConfigFile(writeConfig(t, name, c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error\n got %v\nwant it to say %s", name, err, c.want)
		}
	}
}
