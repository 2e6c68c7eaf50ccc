package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sundialhq/sundial"
	"github.com/sundialhq/sundial/internal/admin"
	"github.com/sundialhq/sundial/store/memstore"
)

// harness is an API over a started scheduler on a memory store, with one
// token per role.
type harness struct {
	t       *testing.T
	gate    chan struct{} // the "gate" task writes a line, then waits for it
	api     *API
	s       *sundial.Scheduler
	store   *memstore.Store
	records *admin.Memory
	tokens  map[admin.Role]string
	doc     openAPIDocument
}

func newHarness(t *testing.T, mutate ...func(*Config)) *harness {
	t.Helper()
	return startHarness(t, true, mutate...)
}

// newAPIOnlyHarness is a harness whose scheduler is never started, as on
// an API-only node: a run now is recorded scheduled, for another node.
func newAPIOnlyHarness(t *testing.T, mutate ...func(*Config)) *harness {
	t.Helper()
	return startHarness(t, false, mutate...)
}

func startHarness(t *testing.T, start bool, mutate ...func(*Config)) *harness {
	t.Helper()
	store := memstore.New(memstore.Options{})
	s, err := sundial.New(sundial.Config{Store: store, Logger: slog.New(slog.DiscardHandler), MaxSleep: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Register("echo", func(ctx context.Context, r sundial.Run) (any, error) {
		sundial.Logger(ctx).Info("echoing", "bytes", len(r.Args))
		return r.Args, nil
	})
	s.Register("fail", func(ctx context.Context, r sundial.Run) (any, error) {
		return nil, errors.New("the database is on fire")
	})
	gate := make(chan struct{})
	s.Register("gate", func(ctx context.Context, r sundial.Run) (any, error) {
		io.WriteString(sundial.Output(ctx), "before the gate\n")
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		io.WriteString(sundial.Output(ctx), "after the gate\n")
		return "through", nil
	})
	if start {
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown(context.Background()) })
	}
	records := admin.NewMemory()
	cfg := Config{Scheduler: s, Admin: records, Logger: slog.New(slog.DiscardHandler), MaxBodyBytes: 64 << 10, RunWait: 10 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	api, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, api: api, s: s, store: store, records: records, tokens: map[admin.Role]string{}, gate: gate}
	for _, role := range []admin.Role{admin.RoleViewer, admin.RoleOperator, admin.RoleAdmin} {
		secret, tok := NewToken(string(role)+"-token", role, "test", time.Now())
		if err := records.CreateToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		h.tokens[role] = secret
	}
	if err := json.Unmarshal(openAPIDoc, &h.doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return h
}

// response is a finished request.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v\n%s", r.status, err, r.body)
	}
}

// do sends a request as role ("" for none) and checks the answer against
// the OpenAPI document: the status is declared for the operation, and a
// JSON answer has the declared schema's required properties.
func (h *harness) do(role admin.Role, method, path string, body any, header ...string) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if strings.HasPrefix(path, "/api/v1/events") {
		// The event stream ends only when the client leaves.
		ctx, cancel := context.WithTimeout(req.Context(), 50*time.Millisecond)
		defer cancel()
		req = req.WithContext(ctx)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+h.tokens[role])
	}
	if !safeMethod(method) {
		req.Header.Set("Content-Type", "application/json") // as every client must; header may say otherwise
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return h.serve(req)
}

// serve answers req and checks the answer as do does.
func (h *harness) serve(req *http.Request) response {
	h.t.Helper()
	method, path := req.Method, req.URL.Path
	rec := httptest.NewRecorder()
	_, pattern := h.api.mux.Handler(req)
	h.api.Handler().ServeHTTP(rec, req)
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if rec.Code >= 500 && !(pattern == "POST "+h.api.prefix+"/jobs/{id}/run" && rec.Code == 500) {
		h.t.Errorf("%s %s answered %d: %s", method, path, rec.Code, rec.Body)
	}
	if pattern != "" {
		h.doc.check(h.t, pattern, res)
	}
	return res
}

// snapshot renders what the API can change — jobs and their versions,
// tokens, scripts, secrets, runs, the audit log, the cluster-wide pause —
// to show that a refused request changed nothing.
func (h *harness) snapshot() string {
	ctx := context.Background()
	var b strings.Builder
	jobs, _ := h.s.Jobs(ctx, sundial.JobFilter{})
	for _, j := range jobs {
		def, _ := json.Marshal(j)
		fmt.Fprintf(&b, "job %s|", def)
	}
	cals, _ := h.s.Calendars(ctx)
	for _, c := range cals {
		def, _ := json.Marshal(c)
		fmt.Fprintf(&b, "calendar %s|", def)
	}
	tokens, _ := h.records.ListTokens(ctx)
	for _, t := range tokens {
		fmt.Fprintf(&b, "token %s %s %t|", t.ID, t.Role, t.RevokedAt.IsZero())
	}
	scripts, _ := h.records.ListScripts(ctx)
	for _, sc := range scripts {
		fmt.Fprintf(&b, "script %s v%d|", sc.Name, sc.Version)
	}
	if h.api.vault != nil {
		list, _ := h.api.vault.List(ctx)
		for _, sec := range list {
			fmt.Fprintf(&b, "secret %s %s|", sec.Name, sec.UpdatedAt)
		}
	}
	runs, _ := h.s.Runs(ctx, sundial.RunFilter{})
	audit, _ := h.records.ListAudit(ctx, admin.AuditFilter{})
	paused, _, _ := h.s.Paused(ctx)
	fmt.Fprintf(&b, "%d runs, %d audit entries, paused %t, stopped %t", len(runs), len(audit), paused, h.api.stopped.Load())
	return b.String()
}

// openAPIDocument is the part of the OpenAPI document the tests read.
type openAPIDocument struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas   map[string]schema           `json:"schemas"`
		Responses map[string]declaredResponse `json:"responses"`
	} `json:"components"`
	// Common are the answers any operation may give (the guard's).
	Common map[string]schema `json:"x-sundial-common-responses"`
}

type operation struct {
	Responses map[string]declaredResponse `json:"responses"`
	Role      string                      `json:"x-sundial-role"`
}

type declaredResponse struct {
	Content map[string]struct {
		Schema schema `json:"schema"`
	} `json:"content"`
}

type schema struct {
	Ref      string   `json:"$ref"`
	Required []string `json:"required"`
	AllOf    []schema `json:"allOf"`
	Type     any      `json:"type"`
	Items    *schema  `json:"items"`
}

func (d openAPIDocument) resolve(s schema) schema {
	if s.Ref != "" {
		return d.resolve(d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")])
	}
	return s
}

// required lists the properties s requires, through allOf.
func (d openAPIDocument) required(s schema) []string {
	s = d.resolve(s)
	req := append([]string(nil), s.Required...)
	for _, sub := range s.AllOf {
		req = append(req, d.required(sub)...)
	}
	return req
}

func (d openAPIDocument) check(t *testing.T, pattern string, res response) {
	t.Helper()
	method, path, _ := strings.Cut(pattern, " ")
	op, ok := d.Paths[path][strings.ToLower(method)]
	if !ok {
		t.Errorf("%s is not in openapi.json", pattern)
		return
	}
	ct, _, _ := strings.Cut(res.header.Get("Content-Type"), ";")
	declared, ok := op.Responses[itoa(res.status)]
	if _, typed := declared.Content[ct]; !ok || !typed {
		// The guard's answers, common to every operation.
		if ref, common := d.Common[itoa(res.status)]; common {
			declared, ok = d.Components.Responses[strings.TrimPrefix(ref.Ref, "#/components/responses/")]
		}
	}
	if !ok {
		t.Errorf("%s answered %d, which openapi.json does not declare: %s", pattern, res.status, res.body)
		return
	}
	media, ok := declared.Content[ct]
	if !ok {
		if len(declared.Content) > 0 || len(res.body) > 0 && ct != "" {
			t.Errorf("%s %d: content type %q is not the declared one %v", pattern, res.status, ct, keys(declared.Content))
		}
		return
	}
	sch := d.resolve(media.Schema)
	if sch.Items != nil {
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(res.body, &items); err != nil {
			t.Errorf("%s %d: body is not an array: %s", pattern, res.status, res.body)
		}
		for _, item := range items {
			checkRequired(t, pattern, res.status, item, d.required(*sch.Items))
		}
		return
	}
	var body map[string]json.RawMessage
	if req := d.required(sch); len(req) > 0 {
		if err := json.Unmarshal(res.body, &body); err != nil {
			t.Errorf("%s %d: body is not an object: %s", pattern, res.status, res.body)
			return
		}
		checkRequired(t, pattern, res.status, body, req)
	}
}

func checkRequired(t *testing.T, pattern string, status int, body map[string]json.RawMessage, req []string) {
	t.Helper()
	for _, name := range req {
		if _, ok := body[name]; !ok {
			t.Errorf("%s %d: required property %q missing from %v", pattern, status, name, keys(body))
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
