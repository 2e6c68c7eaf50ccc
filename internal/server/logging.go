package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"

	"github.com/sundialhq/sundial/internal/secrets"
)

// NewLogger returns the server's logger: text or JSON on w at the level
// given, with secrets masked in every line: values of sensitive keys,
// tokens and URL passwords anywhere, and the values values knows.
func NewLogger(w io.Writer, c LogConfig, values *secrets.Masker) (*slog.Logger, error) {
	var level slog.Level
	if c.Level != "" {
		if err := level.UnmarshalText([]byte(c.Level)); err != nil {
			return nil, fmt.Errorf("log level %q: not debug, info, warn or error", c.Level)
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch c.Format {
	case "", "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: not text or json", c.Format)
	}
	return slog.New(MaskingHandler{Handler: h, values: values}), nil
}

// sensitiveKeys are parts of attribute keys whose values are never logged.
var sensitiveKeys = []string{"password", "passwd", "secret", "token", "authorization", "cookie", "api_key", "apikey", "private_key", "credential"}

// secretPatterns find secrets inside any logged string: API tokens, web
// UI session secrets, and passwords in URLs.
var (
	tokenPattern       = regexp.MustCompile(`(sdl|sds)_[a-z2-7]{20,}`)
	urlPasswordPattern = regexp.MustCompile(`(://[^:/@\s]+:)[^@\s]+@`)
)

// Mask replaces the tokens and URL passwords inside s.
func Mask(s string) string {
	s = tokenPattern.ReplaceAllString(s, "${1}_****")
	return urlPasswordPattern.ReplaceAllString(s, "${1}****@")
}

func (h MaskingHandler) mask(s string) string { return h.values.Mask(Mask(s)) }

// MaskingHandler masks the values of sensitive keys (password, secret,
// token, authorization, cookie …), at any depth of groups, and tokens or
// URL passwords inside any string, before its handler sees the record.
// Keys that end in "_id" (token_id) name things and are kept.
type MaskingHandler struct {
	slog.Handler
	values *secrets.Masker
}

func sensitive(key string) bool {
	k := strings.ToLower(key)
	if strings.HasSuffix(k, "_id") {
		return false
	}
	for _, s := range sensitiveKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func (h MaskingHandler) maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if sensitive(a.Key) && v.Kind() != slog.KindGroup {
		return slog.String(a.Key, "****")
	}
	switch v.Kind() {
	case slog.KindGroup:
		attrs := v.Group()
		masked := make([]any, len(attrs))
		for i, sub := range attrs {
			masked[i] = h.maskAttr(sub)
		}
		return slog.Group(a.Key, masked...)
	case slog.KindString:
		return slog.String(a.Key, h.mask(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.mask(err.Error()))
		}
		return slog.String(a.Key, h.mask(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// Handle implements slog.Handler.
func (h MaskingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.maskAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h MaskingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.maskAttr(a)
	}
	return MaskingHandler{h.Handler.WithAttrs(masked), h.values}
}

// WithGroup implements slog.Handler.
func (h MaskingHandler) WithGroup(name string) slog.Handler {
	return MaskingHandler{h.Handler.WithGroup(name), h.values}
}
