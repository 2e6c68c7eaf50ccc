package worker

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
	"time"

	"github.com/sundialhq/sundial"
)

// APIError is an answer of the server other than success: its status and
// the problem it describes.
type APIError struct {
	Status int
	// Type is the problem's type URI, such as
	// "https://sundial.dev/problems/worker-session-limit".
	Type   string
	Title  string
	Detail string
}

// Error returns "status title: detail".
func (e *APIError) Error() string {
	return fmt.Sprintf("sundial server: %d %s: %s", e.Status, e.Title, e.Detail)
}

// client speaks the worker protocol (docs/workers.md) to one server.
type client struct {
	base  string
	token string
	http  *http.Client
}

func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		e := &APIError{Status: res.StatusCode, Title: res.Status}
		var p struct{ Type, Title, Detail string }
		if json.Unmarshal(data, &p) == nil && p.Title != "" {
			e.Type, e.Title, e.Detail = p.Type, p.Title, p.Detail
		}
		return e
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return nil
}

// problem reports whether err is an answer of the problem type kind (the
// last segment of its type URI).
func problem(err error, kind string) bool {
	var e *APIError
	return errors.As(err, &e) && strings.HasSuffix(e.Type, "/"+kind)
}

// status returns the API status of err, 0 when it is not an answer.
func status(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

type session struct {
	ID          string `json:"session"`
	Name        string `json:"name"`
	OutputLimit int    `json:"output_limit"`
	LeaseTTLMS  int64  `json:"lease_ttl_ms"`
	HeartbeatMS int64  `json:"heartbeat_ms"`
}

func (s session) leaseTTL() time.Duration { return time.Duration(s.LeaseTTLMS) * time.Millisecond }

type sessionRequest struct {
	Name     string   `json:"name"`
	Tasks    []string `json:"tasks"`
	Capacity int      `json:"capacity"`
	Host     string   `json:"host,omitempty"`
	PID      int      `json:"pid,omitempty"`
	Version  string   `json:"version,omitempty"`
	Replace  bool     `json:"replace,omitempty"`
}

func (c *client) open(ctx context.Context, req sessionRequest) (session, error) {
	var s session
	err := c.do(ctx, "POST", "/api/v1/worker/sessions", req, &s)
	return s, err
}

func (c *client) sessionPath(s session, rest string) string {
	return "/api/v1/worker/sessions/" + url.PathEscape(s.ID) + rest
}

type claimedRun struct {
	sundial.Run
	TimeoutMS      int64  `json:"timeout_ms"`
	ClaimedAfterMS *int64 `json:"claimed_after_ms"`
}

func (c *client) claim(ctx context.Context, s session, limit int, wait time.Duration) ([]claimedRun, error) {
	var out struct {
		Runs []claimedRun `json:"runs"`
	}
	err := c.do(ctx, "POST", c.sessionPath(s, "/claim"), map[string]any{"limit": limit, "wait_ms": wait.Milliseconds()}, &out)
	return out.Runs, err
}

type beat struct {
	Held   []string `json:"held"`
	Cancel []string `json:"cancel"`
}

func (c *client) heartbeat(ctx context.Context, s session, runs []string) (beat, error) {
	var b beat
	err := c.do(ctx, "POST", c.sessionPath(s, "/heartbeat"), map[string]any{"runs": runs}, &b)
	return b, err
}

func (c *client) output(ctx context.Context, s session, runID, text string) error {
	return c.do(ctx, "PUT", c.sessionPath(s, "/runs/"+url.PathEscape(runID)+"/output"), map[string]string{"output": text}, nil)
}

type outcome struct {
	Attempt  int             `json:"attempt"`
	Status   string          `json:"status"`
	Result   json.RawMessage `json:"result,omitempty"`
	Error    string          `json:"error,omitempty"`
	ExitCode *int            `json:"exit_code,omitempty"`
	Signal   string          `json:"signal,omitempty"`
	Output   string          `json:"output,omitempty"`
}

func (c *client) finish(ctx context.Context, s session, runID string, o outcome) error {
	return c.do(ctx, "POST", c.sessionPath(s, "/runs/"+url.PathEscape(runID)+"/finish"), o, nil)
}

// release gives back a run received and not started: the server schedules
// it again at once, for any worker.
func (c *client) release(ctx context.Context, s session, runID string) error {
	return c.do(ctx, "POST", c.sessionPath(s, "/runs/"+url.PathEscape(runID)+"/release"), nil, nil)
}

func (c *client) close(ctx context.Context, s session) error {
	return c.do(ctx, "DELETE", c.sessionPath(s, ""), nil, nil)
}

// trimBase drops the trailing slash of a server URL.
func trimBase(u string) string { return strings.TrimRight(u, "/") }
