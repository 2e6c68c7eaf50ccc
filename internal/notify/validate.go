package notify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/sundialhq/sundial"
)

// Formats are the webhook formats.
var Formats = []string{"json", "slack", "dingtalk", "feishu", "wecom"}

// Validate checks a notification, naming field and its parts in errors,
// which are *sundial.InvalidJobError.
func Validate(n sundial.Notification, field string) error {
	switch {
	case n.Webhook == "" && len(n.Email) == 0:
		return invalidf(field, "give a webhook URL or email addresses")
	case n.Webhook != "" && !strings.HasPrefix(n.Webhook, "http://") && !strings.HasPrefix(n.Webhook, "https://"):
		return invalidf(field+".webhook", "%q is not an http or https URL", n.Webhook)
	case n.Format != "" && !slices.Contains(Formats, n.Format):
		return invalidf(field+".format", "%q is not one of %s", n.Format, strings.Join(Formats, ", "))
	}
	for _, st := range n.On {
		switch st {
		case sundial.StatusFailed, sundial.StatusTimedOut, sundial.StatusLost, sundial.StatusMissed, sundial.StatusSucceeded,
			sundial.StatusSkipped, sundial.StatusInterrupted, sundial.StatusCanceled:
		default:
			return invalidf(field+".on", "%q is not a run status to notify (failed, timed_out, lost, missed, succeeded)", st)
		}
	}
	if n.Secret != "" {
		switch {
		case n.Format != "dingtalk" && n.Format != "feishu":
			return invalidf(field+".secret", "signs messages to a dingtalk or feishu robot, not format %q", cmp.Or(n.Format, "json"))
		case !secretName(n.Secret):
			return invalidf(field+".secret", "%q is not the name of a sealed secret (letters, digits and _, such as DINGTALK_SECRET); the job names the secret, never holds it", n.Secret)
		}
	}
	for _, addr := range n.Email {
		if !strings.Contains(addr, "@") {
			return invalidf(field+".email", "%q is not an e-mail address", addr)
		}
	}
	return nil
}

// ValidateSecret checks the signing secret of a robot, whose webhook
// has format, naming field in errors: only DingTalk and Feishu robots
// sign.
func ValidateSecret(format string, secret Secret, field string) error {
	switch {
	case secret == "":
	case format != "dingtalk" && format != "feishu":
		return invalidf(field, "signs DingTalk and Feishu robots' messages (format dingtalk or feishu), not %s webhooks", cmp.Or(format, "json"))
	case strings.ContainsAny(string(secret), " \t\r\n"):
		return invalidf(field, "has spaces or line breaks: copy it again from the robot's security settings")
	}
	return nil
}

// ValidateAll checks notifications, naming each as field[i] in errors.
func ValidateAll(ns []sundial.Notification, field string) error {
	for i, n := range ns {
		if err := Validate(n, fmt.Sprintf("%s[%d]", field, i)); err != nil {
			return err
		}
	}
	return nil
}

func invalidf(field, format string, args ...any) error {
	return &sundial.InvalidJobError{Field: field, Err: fmt.Errorf(format, args...)}
}

// secretName reports whether s can name a sealed secret.
func secretName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
