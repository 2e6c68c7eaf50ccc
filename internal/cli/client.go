package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// client talks to a Sundial server's API v1.
type client struct {
	base  string
	token string
	http  *http.Client
}

// clientFlags are the flags every client command takes.
type clientFlags struct {
	server, token string
	json          bool
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.server, "server", "", "server address (env SUNDIAL_SERVER; default http://127.0.0.1:8080)")
	cmd.PersistentFlags().StringVar(&f.token, "token", "", "API token (env SUNDIAL_TOKEN)")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print JSON, for scripts")
}

func (f *clientFlags) client(env Env) *client {
	c := &client{base: f.server, token: f.token, http: &http.Client{Timeout: 2 * time.Minute}}
	if c.base == "" {
		c.base = env.getenv("SUNDIAL_SERVER")
	}
	if c.base == "" {
		c.base = "http://127.0.0.1:8080"
	}
	if !strings.Contains(c.base, "://") {
		c.base = "http://" + c.base
	}
	c.base = strings.TrimSuffix(c.base, "/")
	if c.token == "" {
		c.token = env.getenv("SUNDIAL_TOKEN")
	}
	return c
}

// apiError is an error answer from the server.
type apiError struct {
	status int
	title  string
	detail string
	field  string
}

func (e *apiError) Error() string {
	msg := e.detail
	if msg == "" {
		msg = e.title
	}
	if e.status == http.StatusUnauthorized {
		msg += " (set SUNDIAL_TOKEN or --token; the first start of the server printed an admin token)"
	}
	return fmt.Sprintf("server answered %d: %s", e.status, msg)
}

func (e *apiError) exitCode() int {
	switch {
	case e.status == http.StatusNotFound:
		return ExitNotFound
	case e.status == http.StatusUnauthorized || e.status == http.StatusForbidden:
		return ExitAuth
	case e.status >= 400 && e.status < 500:
		return ExitUsage
	}
	return ExitFailure
}

// do sends a request and decodes a JSON answer into out (when not nil).
// header holds name, value pairs.
func (c *client) do(ctx context.Context, method, path string, body []byte, out any, header ...string) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, usagef("server address %q: %v", c.base, err)
	}
	if body != nil || method != http.MethodGet {
		// The server takes changes as JSON only, also those without a body.
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the server at %s: %v (is `sundial serve` running? set SUNDIAL_SERVER or --server)", c.base, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer from %s: %w", c.base, err)
	}
	if res.StatusCode >= 400 {
		var p struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
			Field  string `json:"field"`
		}
		json.Unmarshal(data, &p)
		if p.Detail == "" && p.Title == "" {
			p.Detail = strings.TrimSpace(string(data))
		}
		return res.Header, &apiError{status: res.StatusCode, title: p.Title, detail: p.Detail, field: p.Field}
	}
	if out != nil && len(data) > 0 {
		if raw, ok := out.(*json.RawMessage); ok {
			*raw = append((*raw)[:0], data...)
			return res.Header, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("the answer from %s is not what this CLI expects: %w", c.base, err)
		}
	}
	return res.Header, nil
}

// printJSON writes raw JSON indented, as it is otherwise (key order,
// numbers), with &, < and > unescaped.
func printJSON(w io.Writer, raw []byte) error {
	raw = bytes.TrimSpace(raw)
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	out := append(unescapeHTML(buf.Bytes()), '\n')
	_, err := w.Write(out)
	return err
}

// unescapeHTML undoes encoding/json's HTML escaping in JSON text: the
// escapes \u0026, \u003c and \u003e inside strings become &, < and >
// again. Values the server passes through as they were stored, such as a
// run's result, may have been encoded by json.Marshal, which escapes them;
// people and scripts reading the CLI's output should not see that. Other
// escapes, and text outside strings, stay as they are.
func unescapeHTML(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\u00`)) {
		return data
	}
	out := make([]byte, 0, len(data))
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(data):
			if i+5 < len(data) && data[i+1] == 'u' {
				switch strings.ToLower(string(data[i+2 : i+6])) {
				case "0026":
					out, i = append(out, '&'), i+5
					continue
				case "003c":
					out, i = append(out, '<'), i+5
					continue
				case "003e":
					out, i = append(out, '>'), i+5
					continue
				}
			}
			// Any other escape, \" and \\ among them, is copied whole.
			out, i = append(out, c, data[i+1]), i+1
			continue
		}
		out = append(out, c)
	}
	return out
}

// marshalJSON encodes v as the API does, without escaping <, > and & as
// \u003c, \u003e and \u0026: what the CLI prints goes to terminals and
// scripts, never into HTML.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// printValue prints v as indented JSON, unescaped as marshalJSON writes it.
func printValue(w io.Writer, v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return err
	}
	return printJSON(w, b)
}

// table writes aligned columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// when renders a time for a table: local, to the second; "-" when zero.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
