package trigger

import (
	"errors"
	"fmt"
)

// ErrNeverFires is wrapped by the error for a schedule that has no fire time
// at all, such as the 30th of February.
var ErrNeverFires = errors.New("schedule never fires")

// ParseError describes an invalid expression or spec. Its message names the
// dialect (or trigger type), the field and the offending token, for example
// `crontab: field "hour": 24 is out of range 0-23`.
type ParseError struct {
	// Dialect is the cron dialect or the trigger type ("crontab", "interval", …).
	Dialect string
	// Field is the name of the field at fault, as the dialect spells it.
	Field string
	// Token is the offending part of the input, empty when the field is missing.
	Token string
	// Msg says what is wrong, and usually repeats the token.
	Msg string
	// Err is an underlying cause such as ErrNeverFires, or nil.
	Err error
}

// Error returns the message in the form `dialect: field "name": what is wrong`.
func (e *ParseError) Error() string {
	if e.Field == "" {
		return e.Dialect + ": " + e.Msg
	}
	return fmt.Sprintf("%s: field %q: %s", e.Dialect, e.Field, e.Msg)
}

// Unwrap returns the underlying cause.
func (e *ParseError) Unwrap() error { return e.Err }

func parseErrorf(dialect, field, token, format string, args ...any) *ParseError {
	return &ParseError{Dialect: dialect, Field: field, Token: token, Msg: fmt.Sprintf(format, args...)}
}
