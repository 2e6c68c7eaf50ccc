package task

import (
	"context"
	"encoding/json"
	"time"

	"github.com/sundialhq/sundial"
)

// CommandArgs are the args of the command kind:
//
//	{"argv": ["pg_dump", "-f", "/backups/db.sql", "app"], "timeout": "10m",
//	 "env": {"PGHOST": "db"}, "secrets": ["PGPASSWORD"]}
//	{"shell": true, "argv": ["cd /srv/app && ./manage.py clearsessions | tail -1"]}
//
// No shell is involved unless Shell is true; then Argv is one string that
// /bin/sh -c runs. The result is the JSON the process writes to the file
// named by $SUNDIAL_RESULT, else its last line of stdout when that is
// JSON, else none.
type CommandArgs struct {
	Argv    []string `json:"argv"`
	Shell   bool     `json:"shell,omitempty"`
	Timeout duration `json:"timeout,omitempty"`
	childSettings
}

func readCommand(raw json.RawMessage) (CommandArgs, error) {
	var a CommandArgs
	if err := decodeArgs(raw, &a); err != nil {
		return a, err
	}
	switch {
	case len(a.Argv) == 0 || a.Argv[0] == "":
		return a, argErr("argv", `is required: the program and its arguments, such as ["pg_dump", "app"]`)
	case a.Shell && len(a.Argv) != 1:
		return a, argErr("argv", "with shell: true, give one string for /bin/sh -c, not %d", len(a.Argv))
	}
	return a, validateSecrets(a.Secrets)
}

func validateCommand(raw json.RawMessage) error {
	_, err := readCommand(raw)
	return err
}

func (k *Kinds) command(ctx context.Context, run sundial.Run) (any, error) {
	a, err := readCommand(run.Args)
	if err != nil {
		return nil, err
	}
	argv := a.Argv
	if a.Shell {
		argv = []string{"/bin/sh", "-c", a.Argv[0]}
	}
	return k.runChild(ctx, run, child{argv: argv, settings: a.childSettings, timeout: time.Duration(a.Timeout)})
}
