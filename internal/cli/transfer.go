package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sundialhq/sundial/internal/jobdoc"
	"github.com/sundialhq/sundial/internal/transfer"
)

func jobsExport(env Env, cf *clientFlags) *cobra.Command {
	var tag, task, queue, paused, out string
	cmd := &cobra.Command{
		Use:   "export [--tag T] [--queue Q] [-o FILE]",
		Short: "Write jobs, the script versions they run and the names of their secrets as YAML (or JSON with --json)",
		Example: `  sundial jobs export --tag nightly > nightly.yaml
  sundial jobs import nightly.yaml --dry-run`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"tag": tag, "task": task, "paused": paused} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if cmd.Flags().Changed("queue") {
				q.Set("queue", queue)
			}
			var raw json.RawMessage
			if _, err := cf.client(env).do(cmd.Context(), "GET", "/api/v1/export?"+q.Encode(), nil, &raw); err != nil {
				return err
			}
			text := append(bytes.TrimSpace(raw), '\n')
			if !cf.json {
				var err error
				if text, err = jsonToYAML(raw); err != nil {
					return err
				}
				text = append([]byte("# sundial jobs import FILE [--dry-run] [--replace] reads this back; secrets travel by name only.\n"), text...)
			}
			return writeOut(env, out, text)
		},
	}
	f := cmd.Flags()
	f.StringVar(&tag, "tag", "", "only jobs with this tag")
	f.StringVar(&task, "task", "", "only jobs of this task")
	f.StringVar(&queue, "queue", "", "only jobs of this queue")
	f.StringVar(&paused, "paused", "", "only paused (true) or unpaused (false) jobs")
	f.StringVarP(&out, "output", "o", "", "write to this file (default: standard output)")
	return cmd
}

func jobsImport(env Env, cf *clientFlags) *cobra.Command {
	var dryRun, replace bool
	cmd := &cobra.Command{
		Use:   "import FILE [--dry-run] [--replace]",
		Short: "Import jobs and scripts from an export, a config file or `jobs list --json` output (- for stdin)",
		Long: `Import creates the jobs the file names that the server lacks, reuses script
versions whose text the server has and stores the others as new versions.
A job that exists with another definition is skipped unless --replace is
given. Secrets are named, never carried: the report lists those the server
lacks. Every job is checked before anything changes.`,
		Example: `  sundial jobs import nightly.yaml --dry-run
  sundial jobs import nightly.yaml --replace`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readFile(env, args[0])
			if err != nil {
				return err
			}
			body, err := jobdoc.YAMLToJSON(data)
			if err != nil {
				return usagef("%s: %v", args[0], err)
			}
			if _, err := transfer.Read(body); err != nil {
				return usagef("%s: %v", args[0], err)
			}
			return postImport(cmd.Context(), env, cf, body, dryRun, replace)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would change, and change nothing")
	cmd.Flags().BoolVar(&replace, "replace", false, "update jobs that exist with a different definition (default: skip them)")
	return cmd
}

// readFile reads a file the user named, or standard input for "-".
func readFile(env Env, path string) ([]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(env.stdin())
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, usagef("%v", err)
	}
	return data, nil
}

// jsonToYAML writes JSON as block YAML, keeping the order of object keys
// and writing multi-line strings (script sources) as literal blocks.
func jsonToYAML(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	node, err := yamlNode(dec)
	if err != nil {
		return nil, fmt.Errorf("reading the server's JSON: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

func yamlNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		if v == '{' {
			n.Kind = yaml.MappingNode
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key.(string)})
			}
			child, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, child)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		if strings.Contains(v, "\n") {
			n.Style = yaml.LiteralStyle
		}
		return n, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(v.String(), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// postImport sends an import to the server and shows its report.
func postImport(ctx context.Context, env Env, cf *clientFlags, body []byte, dryRun, replace bool) error {
	q := url.Values{"dry_run": {fmt.Sprint(dryRun)}, "replace": {fmt.Sprint(replace)}}
	var raw json.RawMessage
	if _, err := cf.client(env).do(ctx, "POST", "/api/v1/import?"+q.Encode(), body, &raw); err != nil {
		return err
	}
	if cf.json {
		return printJSON(env.Stdout, raw)
	}
	var rep transfer.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("reading the import report: %w", err)
	}
	for _, it := range rep.Items {
		line := fmt.Sprintf("%-7s %-28s %s", it.Kind, it.ID, it.Action)
		if it.Detail != "" {
			line += ": " + it.Detail
		}
		fmt.Fprintln(env.Stdout, line)
	}
	prefix := ""
	if rep.DryRun {
		prefix = "dry run, nothing changed: "
	}
	_, err := fmt.Fprintln(env.Stdout, prefix+rep.Summary())
	return err
}

// writeOut writes text to the file named by -o, or to standard output for
// "" or "-".
func writeOut(env Env, path string, text []byte) error {
	if path == "" || path == "-" {
		_, err := env.Stdout.Write(text)
		return err
	}
	return os.WriteFile(path, text, 0o600)
}
