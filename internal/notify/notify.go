// Package notify sends word of runs — failures by default — to webhooks
// (generic JSON, Slack, DingTalk, Feishu and WeCom robots, the first two
// robots with their signing secrets) and by e-mail. Deliveries wait in a
// bounded queue and are retried a few times; a full queue or a dead
// endpoint is logged, and never holds the scheduler back.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sundialhq/sundial"
)

// SMTP is the mail server of e-mail notifications.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
}

// Secret is the signing secret of a DingTalk or Feishu robot whose
// security settings ask for signed messages (加签, 签名校验); DingTalk's
// starts with SEC. It prints, logs and writes as JSON as "****" (or
// nothing when unset), so that showing settings never shows it; it is
// read from JSON as the string it is.
type Secret string

// String returns "****", or "" when the secret is unset.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "****"
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue is String, for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes "****", or "" when the secret is unset: a secret is
// read from configuration, never written back out.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Config configures a Notifier.
type Config struct {
	// Global notifications apply to every job, besides its own.
	Global []sundial.Notification
	// Secrets are robots' signing secrets, by webhook URL (the robot's
	// address, which holds its token): every message to a DingTalk or
	// Feishu robot with a secret is signed with it, a job's own
	// notifications' as well as the global ones'.
	Secrets map[string]Secret
	// Reveal opens sealed secrets by name, for the robots whose
	// notifications name their signing secret (Notification.Secret); nil
	// leaves those unsigned, and says so in the log.
	Reveal func(ctx context.Context, names []string) (map[string]string, error)
	// SMTP sends e-mail; without a Host, e-mail notifications are logged
	// as undeliverable.
	SMTP SMTP
	// Job finds a run's job, for its notifications.
	Job func(ctx context.Context, id string) (sundial.Job, error)
	// BaseURL, when set, links messages to the run in the API.
	BaseURL string
	// Mask hides secret values in messages.
	Mask func(string) string
	// HTTP is the webhook client. Default: 10 s timeout.
	HTTP *http.Client
	// Logger receives delivery failures. Default slog.Default().
	Logger *slog.Logger
	// Attempts per delivery (default 4) and the first retry's delay
	// (default 1s; it doubles).
	Attempts int
	Backoff  time.Duration
	// QueueSize bounds the deliveries waiting. Default 1000.
	QueueSize int
}

// Notifier delivers notifications. Create it with New, feed it with Watch.
type Notifier struct {
	cfg   Config
	queue chan delivery
	wg    sync.WaitGroup
}

type delivery struct {
	n   sundial.Notification
	run sundial.Run
	job string // the job's name for people
}

// New returns a notifier with its delivery workers started; Close stops
// them once the queue is empty.
func New(cfg Config) *Notifier {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 4
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	if cfg.Mask == nil {
		cfg.Mask = func(s string) string { return s }
	}
	n := &Notifier{cfg: cfg, queue: make(chan delivery, cfg.QueueSize)}
	for range 2 {
		n.wg.Add(1)
		go n.worker()
	}
	return n
}

// Close stops taking runs and waits for the queued deliveries.
func (n *Notifier) Close() {
	close(n.queue)
	n.wg.Wait()
}

// Watch notifies about the runs that s records until ctx ends; it
// subscribes before it returns, so no run ending after Watch is missed.
// Each node notifies about the runs it ran or recorded, so each run once.
func (n *Notifier) Watch(ctx context.Context, s *sundial.Scheduler) {
	sub := s.Subscribe(4096, sundial.EventRunSucceeded, sundial.EventRunFailed, sundial.EventRunTimedOut, sundial.EventRunMissed,
		sundial.EventRunSkipped, sundial.EventRunInterrupted, sundial.EventRunLost)
	go func() {
		<-ctx.Done()
		sub.Close()
	}()
	go n.consume(ctx, sub)
}

func (n *Notifier) consume(ctx context.Context, sub *sundial.Subscription) {
	var lastDropped uint64
	for e := range sub.C {
		if d := sub.Dropped(); d != lastDropped {
			n.cfg.Logger.Warn("notifications fell behind: some runs were not notified", "missed_events", d-lastDropped)
			lastDropped = d
		}
		if e.Run != nil {
			n.Notify(ctx, *e.Run)
		}
	}
}

// Notify queues the notifications that the run's job and the global ones
// ask for. It never blocks: when the queue is full the delivery is
// dropped and logged.
func (n *Notifier) Notify(ctx context.Context, run sundial.Run) {
	targets := n.cfg.Global
	name := run.JobID
	if n.cfg.Job != nil {
		if job, err := n.cfg.Job(ctx, run.JobID); err == nil {
			targets = append(append([]sundial.Notification(nil), job.Options.Notify...), targets...)
			if job.Name != "" {
				name = job.Name
			}
		}
	}
	for _, t := range targets {
		if !t.Notifies(run.Status) {
			continue
		}
		select {
		case n.queue <- delivery{n: t, run: run, job: name}:
		default:
			n.cfg.Logger.Error("notification queue full: dropped", "job_id", run.JobID, "run_id", run.ID, "status", run.Status)
		}
	}
}

func (n *Notifier) worker() {
	defer n.wg.Done()
	for d := range n.queue {
		if d.n.Webhook != "" {
			n.retry(d, "webhook", func() error { return n.webhook(d) })
		}
		if len(d.n.Email) > 0 {
			n.retry(d, "email", func() error { return n.email(d) })
		}
	}
}

func (n *Notifier) retry(d delivery, kind string, send func() error) {
	wait := n.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := send()
		if err == nil {
			return
		}
		if attempt == n.cfg.Attempts {
			n.cfg.Logger.Error("notification not delivered", "kind", kind, "job_id", d.run.JobID, "run_id", d.run.ID,
				"attempts", attempt, "err", n.cfg.Mask(err.Error()))
			return
		}
		n.cfg.Logger.Warn("notification failed; retrying", "kind", kind, "job_id", d.run.JobID, "run_id", d.run.ID,
			"attempt", attempt, "retry_in", wait, "err", n.cfg.Mask(err.Error()))
		time.Sleep(wait)
		wait *= 2
	}
}

// summary is the one-line message for people.
func (n *Notifier) summary(d delivery) string {
	r := d.run
	msg := fmt.Sprintf("Sundial: job %s %s (run %s, attempt %d, scheduled %s)", d.job, r.Status, r.ID, r.Attempt,
		r.ScheduledAt.UTC().Format(time.RFC3339))
	if r.Error != "" {
		e := r.Error
		if len(e) > 1000 {
			e = e[:1000] + "…"
		}
		msg += "\n" + e
	}
	if n.cfg.BaseURL != "" {
		msg += "\n" + strings.TrimSuffix(n.cfg.BaseURL, "/") + "/api/v1/runs/" + r.ID
	}
	return n.cfg.Mask(msg)
}

// Payload is the body of a json-format webhook.
type Payload struct {
	Event       string    `json:"event"`
	JobID       string    `json:"job_id"`
	Job         string    `json:"job"`
	RunID       string    `json:"run_id"`
	Task        string    `json:"task"`
	Status      string    `json:"status"`
	Attempt     int       `json:"attempt"`
	ScheduledAt time.Time `json:"scheduled_at"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	EndedAt     time.Time `json:"ended_at,omitzero"`
	Error       string    `json:"error,omitempty"`
	Node        string    `json:"node,omitempty"`
	Message     string    `json:"message"`
}

// Body returns a webhook body in the notification's format, signed now
// for a Feishu robot with a secret.
func (n *Notifier) Body(d sundial.Notification, run sundial.Run, job string) ([]byte, error) {
	return n.body(d, run, job, time.Now())
}

// secret is the signing secret of the robot a notification goes to, or "":
// the sealed secret it names, else the one configured for its URL.
func (n *Notifier) secret(d sundial.Notification) Secret {
	if d.Secret != "" {
		if n.cfg.Reveal == nil {
			n.cfg.Logger.Warn("a notification names a signing secret, but this server keeps no secrets: sent unsigned", "secret", d.Secret)
			return ""
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		values, err := n.cfg.Reveal(ctx, []string{d.Secret})
		if err != nil || values[d.Secret] == "" {
			n.cfg.Logger.Warn("the signing secret a notification names cannot be opened: sent unsigned", "secret", d.Secret, "err", err)
			return ""
		}
		return Secret(values[d.Secret])
	}
	return n.cfg.Secrets[d.Webhook]
}

func (n *Notifier) body(d sundial.Notification, run sundial.Run, job string, now time.Time) ([]byte, error) {
	text := n.summary(delivery{n: d, run: run, job: job})
	switch d.Format {
	case "slack":
		return json.Marshal(map[string]string{"text": text})
	case "dingtalk", "wecom":
		return json.Marshal(map[string]any{"msgtype": "text", "text": map[string]string{"content": text}})
	case "feishu":
		body := map[string]any{"msg_type": "text", "content": map[string]string{"text": text}}
		if secret := n.secret(d); secret != "" {
			body["timestamp"], body["sign"] = FeishuSign(string(secret), now)
		}
		return json.Marshal(body)
	}
	return json.Marshal(Payload{Event: "run." + string(run.Status), JobID: run.JobID, Job: job, RunID: run.ID, Task: run.Task,
		Status: string(run.Status), Attempt: run.Attempt, ScheduledAt: run.ScheduledAt, StartedAt: run.StartedAt, EndedAt: run.EndedAt,
		Error: n.cfg.Mask(run.Error), Node: run.Node, Message: text})
}

// DingTalkSign signs a message to a DingTalk robot at now, as its
// documentation describes: the timestamp in milliseconds, and the base64
// HMAC-SHA256, keyed with the secret, of the timestamp, a newline and
// the secret. The robot's URL takes both as query parameters (the
// signature URL-encoded).
func DingTalkSign(secret string, now time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return timestamp, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// FeishuSign signs a message to a Feishu (Lark) robot at now, as its
// documentation describes: the timestamp in seconds, and the base64
// HMAC-SHA256 of an empty message keyed with the timestamp, a newline and
// the secret. The message's JSON body carries both, as "timestamp" and
// "sign".
func FeishuSign(secret string, now time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return timestamp, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhookURL is where a delivery goes at now: a DingTalk robot with a
// secret takes the signature in the URL.
func (n *Notifier) webhookURL(d sundial.Notification, now time.Time) string {
	secret := n.secret(d)
	if d.Format != "dingtalk" || secret == "" {
		return d.Webhook
	}
	timestamp, sign := DingTalkSign(string(secret), now)
	sep := "?"
	if strings.Contains(d.Webhook, "?") {
		sep = "&"
	}
	return d.Webhook + sep + "timestamp=" + timestamp + "&sign=" + url.QueryEscape(sign)
}

func (n *Notifier) webhook(d delivery) error {
	now := time.Now()
	body, err := n.body(d.n, d.run, d.job, now)
	if err != nil {
		return err
	}
	res, err := n.cfg.HTTP.Post(n.webhookURL(d.n, now), "application/json", bytes.NewReader(body))
	if err != nil {
		// The URL in the error holds the robot's token and signature.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redactURL(ue.URL)
		}
		return err
	}
	defer res.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s: %s", redactURL(d.n.Webhook), res.Status, bytes.TrimSpace(reply))
	}
	// DingTalk, Feishu and WeCom answer 200 with an error code in the body.
	var robot struct {
		ErrCode *int   `json:"errcode"`
		Code    *int   `json:"code"`
		ErrMsg  string `json:"errmsg"`
		Msg     string `json:"msg"`
	}
	if json.Unmarshal(reply, &robot) == nil {
		if robot.ErrCode != nil && *robot.ErrCode != 0 {
			return fmt.Errorf("robot refused the message: %d %s%s", *robot.ErrCode, robot.ErrMsg, signHint(n.secret(d.n) != "", robot.ErrMsg))
		}
		if robot.Code != nil && *robot.Code != 0 {
			return fmt.Errorf("robot refused the message: %d %s%s", *robot.Code, robot.Msg, signHint(n.secret(d.n) != "", robot.Msg))
		}
	}
	return nil
}

// signHint explains a robot's refusal of a message's signature, or of
// its lack of one (DingTalk: 310000 "sign not match"; Feishu: 19021 "sign
// match fail or timestamp is not within one hour"), or "".
func signHint(signed bool, msg string) string {
	switch {
	case !strings.Contains(strings.ToLower(msg), "sign"):
		return ""
	case !signed:
		return " (the robot's security settings ask for signed messages (加签): set its secret)"
	}
	return " (check the robot's secret, and this host's clock: a signature is good for an hour)"
}

// redactURL drops a webhook URL's query, where robots keep their tokens.
func redactURL(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}

func (n *Notifier) email(d delivery) error {
	c := n.cfg.SMTP
	if c.Host == "" {
		return fmt.Errorf("no SMTP server is configured (smtp.host)")
	}
	port := c.Port
	if port == 0 {
		port = 587
	}
	from := c.From
	if from == "" {
		from = "sundial@localhost"
	}
	text := n.summary(d)
	subject, _, _ := strings.Cut(text, "\n")
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		from, strings.Join(d.n.Email, ", "), subject, time.Now().Format(time.RFC1123Z))
	msg.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
	msg.WriteString("\r\n")
	var auth smtp.Auth
	if c.Username != "" {
		auth = smtp.PlainAuth("", c.Username, c.Password, c.Host)
	}
	return smtp.SendMail(net.JoinHostPort(c.Host, strconv.Itoa(port)), auth, from, d.n.Email, msg.Bytes())
}
