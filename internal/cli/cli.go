// Package cli implements the sundial command line: its cobra commands,
// flags, output formats and exit codes. It holds no state of its own; the
// thin main in cmd/sundial hands it the arguments, streams and clock.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// Exit codes that scripts can rely on.
const (
	// ExitOK means the command did what was asked.
	ExitOK = 0
	// ExitFailure means the command failed for a reason other than its input.
	ExitFailure = 1
	// ExitUsage means the input was invalid: a bad flag, argument or
	// expression, or input the server refused (400, 409, 412, 413).
	ExitUsage = 2
	// ExitNotFound means the server has no such job, run or token (404).
	ExitNotFound = 3
	// ExitAuth means the server refused the token (401, 403).
	ExitAuth = 4
)

// Env is what a command may touch outside itself.
type Env struct {
	// Stdout and Stderr receive the command's output and its errors.
	Stdout, Stderr io.Writer
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Local is the zone used when none is given; nil means time.Local.
	Local *time.Location
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Stdin is read by commands given "-" as a file; nil means os.Stdin.
	Stdin io.Reader
}

func (e Env) getenv(name string) string {
	if e.Getenv != nil {
		return e.Getenv(name)
	}
	return os.Getenv(name)
}

func (e Env) stdin() io.Reader {
	if e.Stdin != nil {
		return e.Stdin
	}
	return os.Stdin
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e Env) local() *time.Location {
	if e.Local != nil {
		return e.Local
	}
	return time.Local
}

// usageError marks an error caused by the user's input (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// Run executes the command line args (without the program name) and
// returns the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	root := newRootCommand(env)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(env.Stderr, "sundial:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.exitCode()
	}
	return ExitFailure
}

func newRootCommand(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "sundial",
		Short: "Sundial runs background jobs on time: cron, intervals, dates — exactly once, with a history of every run",
		Example: `  sundial serve                     # the first start prints an admin token once
  export SUNDIAL_SERVER=http://127.0.0.1:8080 SUNDIAL_TOKEN=sdl_…
  sundial jobs add --id heartbeat --task echo --trigger '*/5 * * * *' --args '{"say": "hi"}'
  sundial runs list --job heartbeat
  sundial cron explain '0 9 * * 1-5'`,
		// Errors are printed once, by Run, with the exit code they deserve.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newCronCommand(env), newVersionCommand(env), newServeCommand(env), newJobsCommand(env),
		newRunsCommand(env), newStatusCommand(env), newTokenCommand(env), newAuditCommand(env), newScriptsCommand(env),
		newSecretsCommand(env), newSchedulerCommand(env), newImportCommand(env), newCalendarsCommand(env), newWorkersCommand(env))
	return root
}

// maxArgs is cobra.MaximumNArgs with a usage exit code.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MaximumNArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// exactArgs is cobra.ExactArgs with a usage exit code.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
