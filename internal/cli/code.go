package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/httpapi"
)

func newScriptsCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "scripts", Short: "Upload scripts, list their versions, roll back",
		Example: `  sundial scripts push report.py
  sundial scripts versions report
  sundial scripts rollback report 2`}
	cf.register(cmd)
	var name, lang string
	push := &cobra.Command{
		Use:   "push FILE",
		Short: "Upload FILE as the next version of a script (named after the file unless --name)",
		Example: `  sundial scripts push report.py
  sundial scripts push tools/cleanup.sh --name cleanup
  sundial scripts push nightly.txt --lang python`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := os.ReadFile(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			n, l := name, lang
			base := filepath.Base(args[0])
			ext := filepath.Ext(base)
			if n == "" {
				n = strings.TrimSuffix(base, ext)
			}
			if l == "" {
				l = map[string]string{".py": "python", ".sh": "sh", ".bash": "bash", ".js": "node", ".mjs": "node"}[ext]
				if l == "" {
					return usagef("cannot tell the language of %s: give --lang python|sh|bash|node", base)
				}
			}
			body, _ := marshalJSON(httpapi.ScriptUpload{Name: n, Lang: l, Source: string(src)})
			var v httpapi.ScriptView
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "POST", "/api/v1/scripts", body, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw)
			}
			json.Unmarshal(raw, &v)
			verb := "pushed"
			if v.Unchanged {
				verb = "unchanged:"
			}
			fmt.Fprintf(env.Stdout, "%s script %s version %d (%s, sha256 %s)\n", verb, v.Name, v.Version, v.Lang, v.Checksum[:12])
			if v.Warning != "" {
				fmt.Fprintln(env.Stderr, "warning:", v.Warning)
			}
			return nil
		},
	}
	push.Flags().StringVar(&name, "name", "", "script name (default: the file's name without extension)")
	push.Flags().StringVar(&lang, "lang", "", "python, sh, bash or node (default: from the extension)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List scripts and their latest versions",
		Example: `  sundial scripts list
  sundial scripts list --json   # {"scripts": […]}, as GET /api/v1/scripts`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/scripts", nil, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw) // {"scripts": […]}
			}
			var out struct{ Scripts []admin.Script }
			if err := json.Unmarshal(raw, &out); err != nil {
				return fmt.Errorf("reading the scripts: %w", err)
			}
			rows := make([][]string, 0, len(out.Scripts))
			for _, s := range out.Scripts {
				rows = append(rows, []string{s.Name, strconv.Itoa(s.Version), s.Lang, when(s.CreatedAt), s.Author})
			}
			return table(env.Stdout, []string{"NAME", "LATEST", "LANG", "PUSHED", "BY"}, rows)
		},
	}
	var version int
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a script's source (the latest version unless --version)",
		Example: `  sundial scripts show report
  sundial scripts show report --version 2 > report-v2.py`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/v1/scripts/" + url.PathEscape(args[0])
			if version > 0 {
				path += "/versions/" + strconv.Itoa(version)
			}
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", path, nil, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw)
			}
			var s admin.Script
			json.Unmarshal(raw, &s)
			_, err := io.WriteString(env.Stdout, s.Source)
			return err
		},
	}
	show.Flags().IntVar(&version, "version", 0, "the version to show")
	versions := &cobra.Command{
		Use:   "versions NAME",
		Short: "List every version of a script",
		Example: `  sundial scripts versions report
  sundial scripts versions report --json   # {"versions": […]}`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/scripts/"+url.PathEscape(args[0])+"/versions", nil, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw) // {"versions": […]}
			}
			var out struct{ Versions []admin.Script }
			if err := json.Unmarshal(raw, &out); err != nil {
				return fmt.Errorf("reading the versions: %w", err)
			}
			rows := make([][]string, 0, len(out.Versions))
			for _, s := range out.Versions {
				rows = append(rows, []string{strconv.Itoa(s.Version), when(s.CreatedAt), s.Author, s.Checksum[:12], s.Note})
			}
			return table(env.Stdout, []string{"VERSION", "PUSHED", "BY", "SHA256", "NOTE"}, rows)
		},
	}
	rollback := &cobra.Command{
		Use:     "rollback NAME VERSION",
		Short:   "Make VERSION the latest again (as a new version with its source)",
		Example: `  sundial scripts rollback report 2`,
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := strconv.Atoi(args[1])
			if err != nil || v < 1 {
				return usagef("version %q is not a number from 1", args[1])
			}
			body, _ := marshalJSON(httpapi.RollbackRequest{Version: v})
			var out httpapi.ScriptView
			if _, err := cf.client(env).do(cmd.Context(), "POST", "/api/v1/scripts/"+url.PathEscape(args[0])+"/rollback", body, &out); err != nil {
				return err
			}
			_, err = fmt.Fprintf(env.Stdout, "script %s version %d is version %d's source\n", out.Name, out.Version, v)
			return err
		},
	}
	cmd.AddCommand(push, list, show, versions, rollback)
	return cmd
}

func newSecretsCommand(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "secrets", Short: "Set, list and remove the secrets jobs are granted",
		Example: `  sundial secrets set smtp_password < smtp-password.txt
  sundial secrets list`}
	cf.register(cmd)
	set := &cobra.Command{
		Use:   "set NAME",
		Short: "Set a secret; its value is read from standard input (so it stays out of shell history)",
		Example: `  sundial secrets set smtp_password < smtp-password.txt
  printenv DB_PASSWORD | sundial secrets set db_password`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := io.ReadAll(io.LimitReader(env.stdin(), 1<<20))
			if err != nil {
				return err
			}
			v := strings.TrimRight(string(value), "\r\n")
			if v == "" {
				return usagef("the value on standard input is empty")
			}
			body, _ := marshalJSON(httpapi.SecretValue{Value: v})
			if _, err := cf.client(env).do(cmd.Context(), "PUT", "/api/v1/secrets/"+url.PathEscape(args[0]), body, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(env.Stdout, "secret %s set\n", args[0])
			return err
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List secrets (never their values)",
		Example: `  sundial secrets list
  sundial secrets list --json   # {"secrets": […]}, as GET /api/v1/secrets`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/secrets", nil, &raw); err != nil {
				return err
			}
			if cf.json {
				return printJSON(env.Stdout, raw) // {"secrets": […]}
			}
			var out struct{ Secrets []admin.SealedSecret }
			if err := json.Unmarshal(raw, &out); err != nil {
				return fmt.Errorf("reading the secrets: %w", err)
			}
			rows := make([][]string, 0, len(out.Secrets))
			for _, s := range out.Secrets {
				rows = append(rows, []string{s.Name, when(s.UpdatedAt), s.UpdatedBy})
			}
			return table(env.Stdout, []string{"NAME", "UPDATED", "BY"}, rows)
		},
	}
	rm := &cobra.Command{
		Use:     "rm NAME",
		Short:   "Remove a secret",
		Example: `  sundial secrets rm smtp_password`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := cf.client(env).do(cmd.Context(), "DELETE", "/api/v1/secrets/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			_, err := fmt.Fprintf(env.Stdout, "secret %s removed\n", args[0])
			return err
		},
	}
	cmd.AddCommand(set, list, rm)
	return cmd
}

// runsLogs prints a run's output; with follow, it streams the output while
// the run goes on and exits 1 unless the run succeeded.
func runsLogs(env Env, cf *clientFlags) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs [-f] RUN_ID",
		Short: "Print a run's output; -f follows it while the run goes on",
		Example: `  sundial runs logs 8b8kxjjy3whaert0t3vjbt4jzc
  sundial runs logs -f 8b8kxjjy3whaert0t3vjbt4jzc`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := cf.client(env)
			path := "/api/v1/runs/" + url.PathEscape(args[0]) + "/output"
			if !follow {
				req, _ := http.NewRequestWithContext(cmd.Context(), "GET", c.base+path, nil)
				return c.stream(req, func(r io.Reader) error {
					_, err := io.Copy(env.Stdout, r)
					return err
				})
			}
			req, _ := http.NewRequestWithContext(cmd.Context(), "GET", c.base+path+"?follow=1", nil)
			req.Header.Set("Accept", "text/event-stream")
			var end *sundial.Run
			err := c.stream(req, func(r io.Reader) error {
				sc := bufio.NewScanner(r)
				sc.Buffer(make([]byte, 64<<10), 16<<20)
				event := ""
				for sc.Scan() {
					line := sc.Text()
					switch {
					case strings.HasPrefix(line, "event: "):
						event = strings.TrimPrefix(line, "event: ")
					case strings.HasPrefix(line, "data: ") && event == "output":
						var oe httpapi.OutputEvent
						json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &oe)
						if oe.Reset {
							fmt.Fprintln(env.Stderr, "[… the start of the output was cut …]")
						}
						io.WriteString(env.Stdout, oe.Text)
					case strings.HasPrefix(line, "data: ") && event == "end":
						var r sundial.Run
						json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &r)
						end = &r
					}
				}
				return sc.Err()
			})
			if err != nil {
				return err
			}
			if end == nil {
				return fmt.Errorf("the stream ended before the run did")
			}
			fmt.Fprintf(env.Stderr, "run %s %s", end.ID, end.Status)
			if end.Error != "" {
				fmt.Fprintf(env.Stderr, ": %s", oneLine(end.Error, 200))
			}
			fmt.Fprintln(env.Stderr)
			if end.Status != sundial.StatusSucceeded {
				return fmt.Errorf("run %s %s", end.ID, end.Status)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "follow the output until the run ends")
	return cmd
}

// stream sends req with the token and hands the body of a good answer to
// read.
func (c *client) stream(req *http.Request, read func(io.Reader) error) error {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	client := *c.http
	client.Timeout = 0 // a followed run may take hours
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server at %s: %v", c.base, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		var p struct{ Title, Detail string }
		json.Unmarshal(data, &p)
		return &apiError{status: res.StatusCode, title: p.Title, detail: p.Detail}
	}
	return read(res.Body)
}
