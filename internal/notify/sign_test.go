package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
)

// TestSignaturesMatchTheDocs checks both signatures against values
// computed with the robots' own documented Python code (DingTalk: HMAC
// keyed with the secret over "timestamp\nsecret"; Feishu: HMAC keyed with
// "timestamp\nsecret" over nothing), so that a mistake made twice, here
// and in the test robots below, cannot pass.
func TestSignaturesMatchTheDocs(t *testing.T) {
	if ts, sign := DingTalkSign("SECthis-is-a-secret", time.UnixMilli(1599360473000)); ts != "1599360473000" ||
		sign != "T30U5PalHVB4O9SUjyBEXkCy+irVE0SnQ3czcq8lM64=" {
		t.Errorf("DingTalkSign = %s %s", ts, sign)
	}
	if ts, sign := FeishuSign("fs-secret-123", time.Unix(1599360473, 0)); ts != "1599360473" ||
		sign != "a5fkxyyVEtsKbWnXcjB/9/OMo8ldcbKHQRWljLGBWlg=" {
		t.Errorf("FeishuSign = %s %s", ts, sign)
	}
}

// robot checks messages as DingTalk's or Feishu's server does for a robot
// with a signing secret, and answers as they do.
type robot struct {
	kind, secret string
	mu           sync.Mutex
	accepted     []string // message texts
	refused      int
}

func (rb *robot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var ok bool
	var text string
	switch rb.kind {
	case "dingtalk":
		// Query: access_token, timestamp (ms), sign (URL-decoded here).
		q := r.URL.Query()
		ts, _ := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		mac := hmac.New(sha256.New, []byte(rb.secret))
		fmt.Fprintf(mac, "%s\n%s", q.Get("timestamp"), rb.secret)
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		ok = q.Get("access_token") == "tok" && hmac.Equal([]byte(q.Get("sign")), []byte(want)) && within(time.UnixMilli(ts), time.Hour)
		var m struct{ Text struct{ Content string } }
		json.Unmarshal(b, &m)
		text = m.Text.Content
		rb.answer(w, ok, `{"errcode":0,"errmsg":"ok"}`, `{"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}`)
	case "feishu":
		// Body: timestamp (s, a string) and sign, beside the message.
		var m struct {
			Timestamp, Sign string
			Content         struct{ Text string }
		}
		json.Unmarshal(b, &m)
		ts, _ := strconv.ParseInt(m.Timestamp, 10, 64)
		mac := hmac.New(sha256.New, []byte(m.Timestamp+"\n"+rb.secret))
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		ok = hmac.Equal([]byte(m.Sign), []byte(want)) && within(time.Unix(ts, 0), time.Hour)
		text = m.Content.Text
		rb.answer(w, ok, `{"code":0,"data":{},"msg":"success"}`, `{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}`)
	}
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if ok {
		rb.accepted = append(rb.accepted, text)
	} else {
		rb.refused++
	}
}

func (rb *robot) answer(w http.ResponseWriter, ok bool, yes, no string) {
	if ok {
		io.WriteString(w, yes)
	} else {
		io.WriteString(w, no)
	}
}

func within(t time.Time, d time.Duration) bool {
	return time.Since(t).Abs() <= d
}

// TestSignedRobots sends to DingTalk and Feishu robots that ask for signed
// messages: with the secret, a job's own notification and a global one
// are accepted; with a wrong secret or none, the robot refuses, and the
// log says why, without the secret or the robot's token.
func TestSignedRobots(t *testing.T) {
	ding := &robot{kind: "dingtalk", secret: "SECding-secret"}
	feishu := &robot{kind: "feishu", secret: "feishu-secret"}
	dsrv, fsrv := httptest.NewServer(ding), httptest.NewServer(feishu)
	defer dsrv.Close()
	defer fsrv.Close()
	dingURL, feishuURL := dsrv.URL+"/robot/send?access_token=tok", fsrv.URL+"/open-apis/bot/v2/hook/hook-id"

	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	jobNotify := []sundial.Notification{{Webhook: dingURL, Format: "dingtalk"}}
	n := New(Config{Logger: logger, Backoff: time.Millisecond, Attempts: 2,
		Global:  []sundial.Notification{{Webhook: feishuURL, Format: "feishu"}},
		Secrets: map[string]Secret{dingURL: "SECding-secret", feishuURL: "feishu-secret"},
		Job: func(context.Context, string) (sundial.Job, error) {
			return sundial.Job{ID: "backup", Options: sundial.JobOptions{Notify: jobNotify}}, nil
		}})
	n.Notify(context.Background(), failed)
	n.Close()
	for _, rb := range []*robot{ding, feishu} {
		if len(rb.accepted) != 1 || rb.refused != 0 || !strings.Contains(rb.accepted[0], "Sundial: job backup failed") {
			t.Errorf("%s robot: accepted %q, refused %d", rb.kind, rb.accepted, rb.refused)
		}
	}

	// A wrong secret, and none: refused, and the log says why.
	for _, c := range []struct {
		secrets map[string]Secret
		hint    string
	}{
		{map[string]Secret{dingURL: "SECwrong", feishuURL: "fs-bad-secret"}, "check the robot's secret, and this host's clock"},
		{nil, "ask for signed messages (加签): set its secret"},
	} {
		logs.Reset()
		n := New(Config{Logger: logger, Backoff: time.Millisecond, Attempts: 1, Secrets: c.secrets,
			Global: []sundial.Notification{{Webhook: dingURL, Format: "dingtalk"}, {Webhook: feishuURL, Format: "feishu"}}})
		n.Notify(context.Background(), failed)
		n.Close()
		mu.Lock()
		got := logs.String()
		mu.Unlock()
		if strings.Count(got, "notification not delivered") != 2 || strings.Count(got, c.hint) != 2 ||
			!strings.Contains(got, "310000 sign not match") || !strings.Contains(got, "19021 sign match fail") {
			t.Errorf("secrets %v: logs:\n%s", c.secrets, got)
		}
		for _, secret := range []string{"SECwrong", "fs-bad-secret", "SECding-secret", "feishu-secret", "access_token=tok"} {
			if strings.Contains(got, secret) {
				t.Errorf("the logs hold %q:\n%s", secret, got)
			}
		}
	}
	if ding.refused != 2 || feishu.refused != 2 {
		t.Errorf("refused: dingtalk %d, feishu %d; want 2 each", ding.refused, feishu.refused)
	}
}

// TestUnreachableRobotKeepsItsToken: a transport error names the robot's
// URL, whose query holds its token and signature; the log must not.
func TestUnreachableRobotKeepsItsToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	hook := srv.URL + "/robot/send?access_token=tok-123"
	srv.Close() // nothing listens there now
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	n := New(Config{Logger: logger, Attempts: 1, Global: []sundial.Notification{{Webhook: hook, Format: "dingtalk"}},
		Secrets: map[string]Secret{hook: "SECx"}})
	n.Notify(context.Background(), failed)
	n.Close()
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "notification not delivered") || strings.Contains(logs.String(), "tok-123") ||
		strings.Contains(logs.String(), "sign=") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

// TestSecretIsNeverShown checks that a secret prints, logs and marshals
// as ****.
func TestSecretIsNeverShown(t *testing.T) {
	s := Secret("SECvery-secret")
	cfg := struct{ Secrets map[string]Secret }{map[string]Secret{"https://robot": s}}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("settings", "secret", s, "config", cfg)
	b, _ := json.Marshal(cfg)
	for _, shown := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, s), logged.String(), string(b)} {
		if strings.Contains(shown, "very-secret") || !strings.Contains(shown, "****") {
			t.Errorf("shown as %s", shown)
		}
	}
	if Secret("").String() != "" {
		t.Error("an unset secret shows as set")
	}
}

func TestValidateSecret(t *testing.T) {
	for _, c := range []struct {
		format string
		secret Secret
		want   string
	}{
		{"dingtalk", "SECabc", ""},
		{"feishu", "abc", ""},
		{"slack", "", ""},
		{"slack", "abc", "not slack webhooks"},
		{"", "abc", "not json webhooks"},
		{"dingtalk", "SECabc\n", "spaces or line breaks"},
	} {
		err := ValidateSecret(c.format, c.secret, "notify[0].secret")
		if (c.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "notify[0].secret"))) {
			t.Errorf("ValidateSecret(%q, %q) = %v, want %q", c.format, c.secret, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "abc") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

// TestJobNamesItsRobotSecret: a job's notification names a sealed secret;
// the notifier opens it to sign, and the job never holds the value.
func TestJobNamesItsRobotSecret(t *testing.T) {
	ding := &robot{kind: "dingtalk", secret: "SECjob-secret"}
	srv := httptest.NewServer(ding)
	defer srv.Close()
	hook := srv.URL + "/robot/send?access_token=tok"
	opened := []string{}
	n := New(Config{Logger: slog.New(slog.DiscardHandler), Backoff: time.Millisecond, Attempts: 1,
		Reveal: func(_ context.Context, names []string) (map[string]string, error) {
			opened = append(opened, names...)
			return map[string]string{"DING_SECRET": "SECjob-secret"}, nil
		},
		Job: func(context.Context, string) (sundial.Job, error) {
			return sundial.Job{ID: "backup", Options: sundial.JobOptions{Notify: []sundial.Notification{{Webhook: hook, Format: "dingtalk", Secret: "DING_SECRET"}}}}, nil
		}})
	n.Notify(context.Background(), failed)
	n.Close()
	if len(ding.accepted) != 1 || ding.refused != 0 || len(opened) != 1 || opened[0] != "DING_SECRET" {
		t.Errorf("accepted %d, refused %d, opened %v", len(ding.accepted), ding.refused, opened)
	}
	for _, c := range []struct {
		n     sundial.Notification
		field string
	}{
		{sundial.Notification{Webhook: hook, Format: "slack", Secret: "X"}, "notify.secret"},
		{sundial.Notification{Webhook: hook, Format: "dingtalk", Secret: "SECraw-value-here!"}, "notify.secret"},
	} {
		err := Validate(c.n, "notify")
		var ij *sundial.InvalidJobError
		if !errors.As(err, &ij) || ij.Field != c.field {
			t.Errorf("Validate(%+v) = %v, want an error on %s", c.n, err, c.field)
		}
	}
}
