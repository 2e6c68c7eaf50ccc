package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/internal/jsoninput"
)

// Problem is an RFC 9457 problem document, the body of every API v1 error.
type Problem struct {
	// Type identifies the kind of problem; Title describes it for people.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	// Detail says what went wrong with this request.
	Detail string `json:"detail,omitempty"`
	// Field is the JSON path of the input field at fault, such as
	// "trigger.expr" or the query parameter "limit".
	Field string `json:"field,omitempty"`
	// Instance is the request path.
	Instance string `json:"instance,omitempty"`
	// Done lists, for an import that failed partway, what it had done
	// before the failure: those items stay imported.
	Done []sundial.ImportItem `json:"done,omitempty"`
}

// partialImport is an import that failed after changing some items.
type partialImport struct {
	err  error
	done []sundial.ImportItem
}

func (e *partialImport) Error() string { return e.err.Error() }
func (e *partialImport) Unwrap() error { return e.err }

// badInputError is bad input outside a job document: a query parameter,
// a header, a body that is not a job.
type badInputError struct {
	field string
	msg   string
}

func (e *badInputError) Error() string { return fmt.Sprintf("field %q: %s", e.field, e.msg) }

func badInput(field, format string, args ...any) error {
	return &badInputError{field: field, msg: fmt.Sprintf(format, args...)}
}

// errorWriter renders an error as a route family's error response.
type errorWriter func(w http.ResponseWriter, r *http.Request, err error)

// classify maps an error to its status, problem type and field.
func classify(err error) (status int, kind, field string) {
	var invalid *sundial.InvalidJobError
	var invalidCal *sundial.InvalidCalendarError
	var bad *badInputError
	var tooBig *http.MaxBytesError
	var forbidden *forbiddenError
	var invalidWorker *sundial.InvalidWorkerError
	switch {
	case errors.As(err, &invalidWorker):
		return http.StatusBadRequest, "invalid-field", invalidWorker.Field
	case errors.Is(err, sundial.ErrWorkerNameInUse):
		return http.StatusConflict, "worker-name-in-use", "name"
	case errors.Is(err, sundial.ErrWorkerSessionLimit):
		return http.StatusConflict, "worker-session-limit", ""
	case errors.Is(err, sundial.ErrWorkerSessionGone):
		return http.StatusGone, "worker-session-gone", ""
	case errors.Is(err, sundial.ErrRunLost):
		return http.StatusConflict, "run-not-held", ""
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "body-too-large", ""
	case errors.As(err, &invalid):
		return http.StatusBadRequest, "invalid-field", invalid.Field
	case errors.As(err, &invalidCal):
		return http.StatusBadRequest, "invalid-field", invalidCal.Field
	case errors.As(err, &bad):
		return http.StatusBadRequest, "invalid-field", bad.field
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, "unauthorized", ""
	case errors.As(err, &forbidden), errors.Is(err, errCSRF):
		return http.StatusForbidden, "forbidden", ""
	case errors.Is(err, sundial.ErrJobNotFound), errors.Is(err, sundial.ErrRunNotFound), errors.Is(err, admin.ErrTokenNotFound), errors.Is(err, errNoRoute),
		errors.Is(err, admin.ErrScriptNotFound), errors.Is(err, admin.ErrSecretNotFound), errors.Is(err, sundial.ErrCalendarNotFound):
		return http.StatusNotFound, "not-found", ""
	case errors.Is(err, sundial.ErrJobExists):
		return http.StatusConflict, "exists", "id"
	case errors.Is(err, sundial.ErrCalendarExists):
		return http.StatusConflict, "exists", "name"
	case errors.Is(err, sundial.ErrVersionConflict):
		return http.StatusPreconditionFailed, "version-conflict", "If-Match"
	case errors.Is(err, sundial.ErrRunEnded):
		return http.StatusConflict, "run-ended", ""
	case errors.Is(err, sundial.ErrNotRunning), errors.Is(err, sundial.ErrRunNotEnded), errors.Is(err, sundial.ErrJobInChain),
		errors.Is(err, sundial.ErrCalendarInUse), errors.Is(err, errConflict):
		return http.StatusConflict, "conflict", ""
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, "method-not-allowed", ""
	}
	return http.StatusInternalServerError, "internal", ""
}

var (
	errNoRoute  = errors.New("no such API route")
	errMethod   = errors.New("method not allowed on this route")
	errConflict = errors.New("conflict")
)

var titles = map[string]string{
	"body-too-large":       "Request body too large",
	"invalid-field":        "Invalid input",
	"unauthorized":         "Authentication required",
	"forbidden":            "Not allowed for this role",
	"not-found":            "Not found",
	"exists":               "Already exists",
	"version-conflict":     "Changed since you read it",
	"conflict":             "Conflict",
	"run-ended":            "The run has already ended",
	"method-not-allowed":   "Method not allowed",
	"worker-name-in-use":   "A live worker has this name",
	"worker-session-gone":  "The worker session is gone: open a new one",
	"worker-session-limit": "Too many live worker sessions for this token",
	"run-not-held":         "The run is no longer this session's",
	"internal":             "Internal error",
}

// writeProblem renders err as problem JSON. Internal errors are logged and
// their text is not sent: it may name hosts or queries.
func (a *API) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	if ref, ok := errors.AsType[*refusal](err); ok {
		ref.write(w, r)
		return
	}
	pi, partial := errors.AsType[*partialImport](err)
	err = a.explainTask(err)
	status, kind, field := classify(err)
	p := Problem{Type: "https://sundial.dev/problems/" + kind, Title: titles[kind], Status: status, Detail: err.Error(),
		Field: field, Instance: r.URL.Path}
	if status == http.StatusInternalServerError {
		a.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p.Detail = "the server could not complete the request; its log has the cause"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sundial"`)
	}
	if partial {
		p.Done = pi.done
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// explainTask rewrites an unknown-task error for API callers, who cannot
// register tasks: it names the tasks this server has.
func (a *API) explainTask(err error) error {
	var ut *sundial.UnknownTaskError
	if !errors.As(err, &ut) {
		return err
	}
	return &sundial.InvalidJobError{Field: "task", Err: fmt.Errorf("unknown task %q: this server has the tasks %s, and no worker has served %q (a job may name a worker's task ahead of its worker with ?declare_task=true)",
		ut.Task, strings.Join(a.s.Tasks(), ", "), ut.Task)}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	return nil
}

// marshal encodes v as JSON without escaping <, > and & (the API is not
// HTML), with a trailing newline for terminals.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeBody reads a JSON body of at most the configured size into v,
// strictly: unknown fields, trailing data and a body that is not the
// object v wants are refused, naming the path as the body spells it.
func decodeBody(r *http.Request, v any) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeJSON(data, v)
}

// decodeJSON is decodeBody's decoding, for a body already read.
func decodeJSON(data []byte, v any) error {
	if err := jsoninput.Decode(data, v); err != nil {
		return decodeProblem(err)
	}
	return nil
}

// decodeProblem is a bad body's error: a *jsoninput.Problem names the
// value at fault by its path.
func decodeProblem(err error) error {
	var p *jsoninput.Problem
	if errors.As(err, &p) {
		return badInput(cmp.Or(p.Path, "(body)"), "%s", p.Msg)
	}
	return badInput("(body)", "%v", err)
}

// readBody reads the whole body; MaxBytesReader bounds it.
func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, badInput("(body)", "reading the body: %v", err)
	}
	return buf.Bytes(), nil
}

// unmatched renders the mux's own 404 and 405 answers under /api/v1 as
// problem JSON, so that every API error has the same shape.
type unmatched struct {
	http.ResponseWriter
	a      *API
	r      *http.Request
	status int
}

func (u *unmatched) WriteHeader(code int) {
	u.status = code
	err := errNoRoute
	if code == http.StatusMethodNotAllowed {
		err = errMethod
	}
	u.ResponseWriter.Header().Del("Content-Type")
	u.ResponseWriter.Header().Del("X-Content-Type-Options")
	u.a.writeProblem(u.ResponseWriter, u.r, err)
}

func (u *unmatched) Write(b []byte) (int, error) {
	if u.status == 0 {
		u.WriteHeader(http.StatusNotFound)
	}
	return len(b), nil // the mux's plain-text body is replaced
}
