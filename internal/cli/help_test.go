package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// commands returns every command under root, root included, except the
// help and completion commands cobra adds.
func commands(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		out = append(out, commands(c)...)
	}
	return out
}

// shellSegments splits one example line into the argument lists of its
// commands, as a POSIX shell would for these simple lines: quotes, and
// |, &&, ; between commands; a redirection drops its target, # starts a
// comment.
func shellSegments(t *testing.T, line string) [][]string {
	t.Helper()
	var segs [][]string
	var args []string
	var word strings.Builder
	inWord, skipNext := false, false
	flush := func() {
		if inWord {
			if !skipNext {
				args = append(args, word.String())
			}
			skipNext = false
		}
		word.Reset()
		inWord = false
	}
	end := func() {
		flush()
		if len(args) > 0 {
			segs = append(segs, args)
		}
		args = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				t.Fatalf("unbalanced quote in example %q", line)
			}
			word.WriteString(line[i+1 : i+1+j])
			inWord, i = true, i+1+j
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			end()
			return segs
		case c == '|' || c == ';' || c == '&':
			end()
			if i+1 < len(line) && line[i+1] == c {
				i++
			}
		case c == '>' || c == '<':
			flush()
			skipNext = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	end()
	return segs
}

// TestEveryCommandHasWorkingExamples: each command's --help shows examples,
// and each example is a command line the CLI accepts: the command exists,
// its flags and arguments are valid, its required flags given. A leaf
// command's examples run the command itself.
func TestEveryCommandHasWorkingExamples(t *testing.T) {
	t.Parallel()
	for _, cmd := range commands(newRootCommand(Env{})) {
		path := cmd.CommandPath()
		if strings.TrimSpace(cmd.Example) == "" {
			t.Errorf("%s has no examples", path)
			continue
		}
		runsItself := false
		for line := range strings.SplitSeq(cmd.Example, "\n") {
			if !strings.HasPrefix(line, "  ") {
				t.Errorf("%s: example line %q is not indented by two spaces", path, line)
			}
			for _, args := range shellSegments(t, line) {
				if args[0] != "sundial" {
					continue // export, printenv, jq …
				}
				// A fresh tree per line: flags keep what they parsed.
				root := newRootCommand(Env{})
				found, rest, err := root.Find(args[1:])
				if err != nil || !found.Runnable() {
					t.Errorf("%s: example %q names no command: %v", path, line, err)
					continue
				}
				if err := found.ParseFlags(rest); err != nil {
					t.Errorf("%s: example %q: %v", path, line, err)
					continue
				}
				if err := found.ValidateArgs(found.Flags().Args()); err != nil {
					t.Errorf("%s: example %q: %v", path, line, err)
				}
				if err := found.ValidateRequiredFlags(); err != nil {
					t.Errorf("%s: example %q: %v", path, line, err)
				}
				if err := found.ValidateFlagGroups(); err != nil {
					t.Errorf("%s: example %q: %v", path, line, err)
				}
				runsItself = runsItself || found.CommandPath() == path || strings.HasPrefix(found.CommandPath(), path+" ")
			}
		}
		if !runsItself {
			t.Errorf("%s: no example runs it (or one of its subcommands):\n%s", path, cmd.Example)
		}
	}
}

// TestCronExamplesRun: the cron examples need no server (but those naming
// a server's calendar), so they are run, from the repository's root where
// their file paths lead.
func TestCronExamplesRun(t *testing.T) {
	t.Chdir("../..")
	root := newRootCommand(Env{})
	for _, cmd := range commands(root) {
		if !strings.HasPrefix(cmd.CommandPath(), "sundial cron") {
			continue
		}
		for line := range strings.SplitSeq(cmd.Example, "\n") {
			for _, args := range shellSegments(t, line) {
				if strings.Contains(line, "--calendar cn ") {
					continue // a calendar on a server
				}
				var out, errOut bytes.Buffer
				env := Env{Stdout: &out, Stderr: &errOut, Local: time.UTC,
					Now: func() time.Time { return time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC) }}
				if code := Run(context.Background(), args[1:], env); code != ExitOK || out.Len() == 0 {
					t.Errorf("%s: exit %d, stdout %q, stderr %q", line, code, out.String(), errOut.String())
				}
			}
		}
	}
}
