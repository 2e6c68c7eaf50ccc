package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/store/memstore"
	"github.com/sundialhq/sundial/trigger"
)

// recorder is a webhook endpoint that records bodies and fails the first
// failures requests.
type recorder struct {
	mu       sync.Mutex
	bodies   map[string][]string
	failures int
	reply    string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.failures > 0 {
		rc.failures--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if rc.bodies == nil {
		rc.bodies = map[string][]string{}
	}
	rc.bodies[r.URL.Path] = append(rc.bodies[r.URL.Path], string(b))
	io.WriteString(w, rc.reply)
}

func (rc *recorder) wait(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc.mu.Lock()
		got := append([]string(nil), rc.bodies[path]...)
		rc.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d deliveries, want %d", path, len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var failed = sundial.Run{ID: "r1", JobID: "backup", Task: "command", Status: sundial.StatusFailed, Attempt: 2,
	ScheduledAt: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC), Error: "exit status 1: disk full, password hunter22"}

func TestWebhookFormats(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n := New(Config{Backoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler), BaseURL: "https://sundial.example",
		Mask: func(s string) string { return strings.ReplaceAll(s, "hunter22", "****") }})
	defer n.Close()
	for _, f := range []string{"json", "slack", "dingtalk", "feishu", "wecom"} {
		n.cfg.Global = append(n.cfg.Global, sundial.Notification{Webhook: srv.URL + "/" + f, Format: f})
	}
	n.cfg.Global[0].Format = "" // json is the default
	n.Notify(context.Background(), failed)
	want := map[string]string{
		"slack":    `{"text":`,
		"dingtalk": `{"msgtype":"text","text":{"content":`,
		"wecom":    `{"msgtype":"text","text":{"content":`,
		"feishu":   `{"content":{"text":`,
	}
	for f, prefix := range want {
		body := rc.wait(t, "/"+f, 1)[0]
		if !strings.HasPrefix(body, prefix) || !strings.Contains(body, "Sundial: job backup failed (run r1, attempt 2") ||
			!strings.Contains(body, "https://sundial.example/api/v1/runs/r1") || strings.Contains(body, "hunter22") {
			t.Errorf("%s body = %s", f, body)
		}
	}
	var p Payload
	json.Unmarshal([]byte(rc.wait(t, "/json", 1)[0]), &p)
	if p.Event != "run.failed" || p.JobID != "backup" || p.RunID != "r1" || p.Attempt != 2 || p.Error != "exit status 1: disk full, password ****" {
		t.Errorf("json payload = %+v", p)
	}
}

func TestRetriesThenGivesUp(t *testing.T) {
	rc := &recorder{failures: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	n := New(Config{Backoff: time.Millisecond, Logger: logger, Global: []sundial.Notification{{Webhook: srv.URL + "/hook"}}})
	n.Notify(context.Background(), failed)
	rc.wait(t, "/hook", 1) // the third attempt got through

	// A robot that answers 200 with an error code is a failure too.
	robot := &recorder{reply: `{"errcode": 310000, "errmsg": "keywords not in content"}`}
	rsrv := httptest.NewServer(robot)
	defer rsrv.Close()
	n.cfg.Global = []sundial.Notification{{Webhook: rsrv.URL + "/robot?access_token=secret-token", Format: "dingtalk"}}
	n.cfg.Attempts = 2
	n.Notify(context.Background(), failed)
	n.Close()
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "notification failed; retrying") || !strings.Contains(logs.String(), "keywords not in content") ||
		!strings.Contains(logs.String(), "notification not delivered") {
		t.Errorf("logs:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "secret-token") {
		t.Error("a robot's token reached the logs")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestOnlyTheStatusesAsked(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	n := New(Config{Logger: slog.New(slog.DiscardHandler), Global: []sundial.Notification{
		{Webhook: srv.URL + "/default"}, {Webhook: srv.URL + "/all", On: []sundial.RunStatus{sundial.StatusSucceeded, sundial.StatusMissed}}}})
	for _, st := range []sundial.RunStatus{sundial.StatusSucceeded, sundial.StatusMissed, sundial.StatusFailed, sundial.StatusSkipped} {
		r := failed
		r.Status = st
		n.Notify(context.Background(), r)
	}
	n.Close()
	if d := len(rc.bodies["/default"]); d != 1 {
		t.Errorf("default (failures) got %d", d)
	}
	if a := len(rc.bodies["/all"]); a != 2 {
		t.Errorf("succeeded+missed got %d", a)
	}
}

// fakeSMTP accepts one message and returns it.
func fakeSMTP(t *testing.T) (addr string, got <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 1)
	go func() {
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		say := func(s string) { io.WriteString(c, s+"\r\n") }
		say("220 fake ESMTP")
		var data strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.ToUpper(strings.TrimSpace(line))
			switch {
			case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
				say("250 fake")
			case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
				say("250 ok")
			case cmd == "DATA":
				say("354 go on")
				for {
					l, err := r.ReadString('\n')
					if err != nil || l == ".\r\n" {
						break
					}
					data.WriteString(l)
				}
				say("250 queued")
				out <- data.String()
			case cmd == "QUIT":
				say("221 bye")
				return
			default:
				say("250 ok")
			}
		}
	}()
	return ln.Addr().String(), out
}

func TestEmail(t *testing.T) {
	addr, got := fakeSMTP(t)
	host, port, _ := net.SplitHostPort(addr)
	p := 0
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	n := New(Config{Logger: slog.New(slog.DiscardHandler), SMTP: SMTP{Host: host, Port: p, From: "sundial@example.com"},
		Global: []sundial.Notification{{Email: []string{"ops@example.com"}}}})
	defer n.Close()
	n.Notify(context.Background(), failed)
	select {
	case msg := <-got:
		if !strings.Contains(msg, "To: ops@example.com") || !strings.Contains(msg, "Subject: Sundial: job backup failed") ||
			!strings.Contains(msg, "disk full") {
			t.Errorf("mail:\n%s", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no mail in 10s")
	}
}

// TestWatch: a job's own notification fires when its run fails in a
// scheduler.
func TestWatch(t *testing.T) {
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	store := memstore.New(memstore.Options{})
	s, _ := sundial.New(sundial.Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
	s.Register("fail", func(context.Context, sundial.Run) (any, error) { return nil, errors.New("boom") })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := New(Config{Logger: slog.New(slog.DiscardHandler), Job: s.Job})
	n.Watch(ctx, s)
	job := sundial.Job{ID: "nightly", Name: "Nightly", Task: "fail", Trigger: sundialDaily(),
		Options: sundial.JobOptions{Notify: []sundial.Notification{{Webhook: srv.URL + "/job", Format: "slack"}}}}
	if _, err := s.AddJob(ctx, job); err != nil {
		t.Fatal(err)
	}
	s.Start(ctx)
	defer s.Shutdown(ctx)
	if _, err := s.RunNow(ctx, "nightly", nil); err != nil {
		t.Fatal(err)
	}
	if body := rc.wait(t, "/job", 1)[0]; !strings.Contains(body, "job Nightly failed") || !strings.Contains(body, "boom") {
		t.Errorf("body = %s", body)
	}
}

func sundialDaily() trigger.Spec { return trigger.Spec{Type: "cron", Expr: "@daily"} }
