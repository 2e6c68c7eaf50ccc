package task

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sundialhq/sundial"
)

// HTTPArgs are the args of the http kind, which is how a web app's own
// endpoint becomes a scheduled job (it then runs in the app's request
// context, with its own database session):
//
//	{"method": "POST", "url": "https://app.internal/jobs/cleanup",
//	 "headers": {"Authorization": "Bearer ${APP_TOKEN}"}, "secrets": ["APP_TOKEN"],
//	 "body": {"days": 30}, "timeout": "30s", "expect": [200, 204], "store_response": true}
//
// ${NAME} in the URL, headers and body is replaced by a granted secret,
// escaped for where it stands (see fillURL and bodyEscape).
// Every request carries the run's identity in X-Sundial-Job-Id,
// X-Sundial-Run-Id, X-Sundial-Fire-Key, X-Sundial-Scheduled-At,
// X-Sundial-Attempt, X-Sundial-Shard-Index and X-Sundial-Shard-Total (0 and
// 1 but in a broadcast fire) (and a chained run's upstream run in
// X-Sundial-Upstream-Run-Id, -Job-Id, -Scheduled-At and -Status). A status outside Expect (default: any 2xx) fails the
// run. With StoreResponse, a JSON response body is the run's result;
// otherwise the result is {"status": N}.
type HTTPArgs struct {
	Method        string            `json:"method,omitempty"`
	URL           string            `json:"url"`
	Headers       map[string]string `json:"headers,omitempty"`
	Body          json.RawMessage   `json:"body,omitempty"`
	Timeout       duration          `json:"timeout,omitempty"`
	Expect        []int             `json:"expect,omitempty"`
	StoreResponse bool              `json:"store_response,omitempty"`
	Secrets       []string          `json:"secrets,omitempty"`
}

func readHTTP(raw json.RawMessage) (HTTPArgs, error) {
	var a HTTPArgs
	if err := decodeArgs(raw, &a); err != nil {
		return a, err
	}
	if a.Method == "" {
		a.Method = http.MethodGet
		if len(a.Body) > 0 {
			a.Method = http.MethodPost
		}
	}
	a.Method = strings.ToUpper(a.Method)
	u, err := url.Parse(strings.NewReplacer("${", "", "}", "").Replace(a.URL))
	switch {
	case a.URL == "":
		return a, argErr("url", "is required, such as https://app.internal/jobs/cleanup")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return a, argErr("url", "%q is not an http or https URL", a.URL)
	}
	if !regexp.MustCompile(`^[A-Z]+$`).MatchString(a.Method) {
		return a, argErr("method", "%q is not an HTTP method", a.Method)
	}
	for _, code := range a.Expect {
		if code < 100 || code > 599 {
			return a, argErr("expect", "%d is not an HTTP status", code)
		}
	}
	return a, validateSecrets(a.Secrets)
}

func validateHTTP(raw json.RawMessage) error {
	_, err := readHTTP(raw)
	return err
}

var placeholder = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)\}`)

func (k *Kinds) http(ctx context.Context, run sundial.Run) (any, error) {
	a, err := readHTTP(run.Args)
	if err != nil {
		return nil, err
	}
	values, masker, err := k.reveal(ctx, a.Secrets)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	contentType := ""
	if len(a.Body) > 0 {
		text, isJSON := "", false
		if json.Unmarshal(a.Body, &text) == nil {
			contentType = "text/plain; charset=utf-8"
		} else {
			text, isJSON, contentType = string(a.Body), true, "application/json"
		}
		for name, v := range a.Headers {
			if http.CanonicalHeaderKey(name) == "Content-Type" {
				contentType = v
			}
		}
		body = strings.NewReader(fill(text, values, bodyEscape(contentType, isJSON)))
	}
	if a.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(a.Timeout))
		defer cancel()
	}
	filledURL := fillURL(a.URL, values)
	req, err := http.NewRequestWithContext(ctx, a.Method, filledURL, body)
	if err != nil {
		return nil, fmt.Errorf("request: %s", masker.Mask(err.Error()))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	host, _ := os.Hostname()
	req.Header.Set("User-Agent", "sundial/1 ("+host+")")
	for name, v := range identity(run) {
		req.Header.Set("X-"+headerName(name), v)
	}
	for name, v := range a.Headers {
		req.Header.Set(name, fill(v, values, nil))
	}
	client := k.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	out := masker.NewWriter(outputOf(ctx))
	defer out.Close()
	fmt.Fprintf(out, "%s %s\n", a.Method, a.URL) // the URL as written: secrets stay placeholders
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %s", a.Method, a.URL, masker.Mask(strings.ReplaceAll(err.Error(), filledURL, a.URL)))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	fmt.Fprintf(out, "%s in %s\n", res.Status, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %v", err)
	}
	out.Write([]byte(tail(masker.Mask(string(data)), 64<<10)))
	out.Write([]byte("\n"))
	ok := res.StatusCode >= 200 && res.StatusCode < 300
	if len(a.Expect) > 0 {
		ok = slices.Contains(a.Expect, res.StatusCode)
	}
	if !ok {
		return nil, fmt.Errorf("%s %s answered %s: %s", a.Method, a.URL, res.Status, tail(masker.Mask(strings.TrimSpace(string(data))), 500))
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if a.StoreResponse && (mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Valid(bytes.TrimSpace(data)) {
		return json.RawMessage(masker.MaskJSON(bytes.TrimSpace(data))), nil
	}
	return map[string]int{"status": res.StatusCode}, nil
}

// fill replaces each ${NAME} in s that values has by its value, escaped
// by escape (nil: as it is).
func fill(s string, values map[string]string, escape func(string) string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		v, ok := values[m[2:len(m)-1]]
		switch {
		case !ok:
			return m
		case escape != nil:
			return escape(v)
		}
		return v
	})
}

// bodyEscape is how a value is escaped in a body of contentType: inside
// a JSON string for a JSON body (one given as JSON in the args is JSON
// whatever its declared type), so that a quote cannot end the string; as
// a form value for application/x-www-form-urlencoded; else as it is.
func bodyEscape(contentType string, isJSON bool) func(string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case isJSON || mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return jsonStringContent
	case mt == "application/x-www-form-urlencoded":
		return url.QueryEscape
	}
	return nil
}

// jsonStringContent is s as it is written between the quotes of a JSON
// string.
func jsonStringContent(s string) string {
	q, _ := json.Marshal(s)
	return string(q[1 : len(q)-1])
}

// fillURL replaces each ${NAME} in a URL template, percent-encoded for the
// part of the URL it is in, so that no value can change the URL's shape:
// in the query as a form value (a space as "+"); in the path with "/"
// kept, so that a value may hold several segments (a webhook's path); in
// the user name, password or host strictly (a space as %20).
func fillURL(tmpl string, values map[string]string) string {
	// Placeholders hold no "/", "?" or "#": the template's parts are where
	// the URL's are.
	hostStart := strings.Index(tmpl, "//") + 2
	pathStart := len(tmpl)
	if i := strings.IndexAny(tmpl[hostStart:], "/?#"); i >= 0 {
		pathStart = hostStart + i
	}
	queryStart, queryEnd := len(tmpl), len(tmpl)
	if i := strings.IndexByte(tmpl[pathStart:], '#'); i >= 0 {
		queryEnd = pathStart + i
	}
	if i := strings.IndexByte(tmpl[pathStart:queryEnd], '?'); i >= 0 {
		queryStart = pathStart + i
	}
	var b strings.Builder
	last := 0
	for _, m := range placeholder.FindAllStringSubmatchIndex(tmpl, -1) {
		v, ok := values[tmpl[m[2]:m[3]]]
		if !ok {
			continue
		}
		switch start := m[0]; {
		case start < pathStart:
			v = strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
		case start > queryStart && start < queryEnd:
			v = url.QueryEscape(v)
		default:
			v = strings.ReplaceAll(url.PathEscape(v), "%2F", "/")
		}
		b.WriteString(tmpl[last:m[0]])
		b.WriteString(v)
		last = m[1]
	}
	b.WriteString(tmpl[last:])
	return b.String()
}

// headerName turns SUNDIAL_JOB_ID into Sundial-Job-Id.
func headerName(env string) string {
	parts := strings.Split(strings.ToLower(env), "_")
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, "-")
}
