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
// ${NAME} in the URL, headers and body is replaced by a granted secret.
// Every request carries the run's identity in X-Sundial-Job-Id,
// X-Sundial-Run-Id, X-Sundial-Fire-Key, X-Sundial-Scheduled-At and
// X-Sundial-Attempt. A status outside Expect (default: any 2xx) fails the
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
	values := map[string]string{}
	if len(a.Secrets) > 0 {
		if k.Secrets == nil {
			return nil, fmt.Errorf("this job is granted secrets, but the server has no secret store (set SUNDIAL_SECRET_KEY)")
		}
		if values, err = k.Secrets.Reveal(ctx, a.Secrets); err != nil {
			return nil, err
		}
	}
	fill := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := values[m[2:len(m)-1]]; ok {
				return v
			}
			return m
		})
	}
	var body io.Reader
	contentType := ""
	if len(a.Body) > 0 {
		var text string
		if json.Unmarshal(a.Body, &text) == nil {
			body = strings.NewReader(fill(text))
			contentType = "text/plain; charset=utf-8"
		} else {
			body = strings.NewReader(fill(string(a.Body)))
			contentType = "application/json"
		}
	}
	if a.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(a.Timeout))
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, a.Method, fill(a.URL), body)
	if err != nil {
		return nil, fmt.Errorf("request: %s", k.mask(err.Error()))
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
		req.Header.Set(name, fill(v))
	}
	client := k.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	out := newMaskingWriter(k.Masker, outputOf(ctx))
	defer out.Close()
	fmt.Fprintf(out, "%s %s\n", a.Method, a.URL) // the URL as written: secrets stay placeholders
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %s", a.Method, a.URL, k.mask(strings.ReplaceAll(err.Error(), fill(a.URL), a.URL)))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	fmt.Fprintf(out, "%s in %s\n", res.Status, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %v", err)
	}
	out.Write([]byte(tail(string(data), 64<<10)))
	out.Write([]byte("\n"))
	ok := res.StatusCode >= 200 && res.StatusCode < 300
	if len(a.Expect) > 0 {
		ok = slices.Contains(a.Expect, res.StatusCode)
	}
	if !ok {
		return nil, fmt.Errorf("%s %s answered %s: %s", a.Method, a.URL, res.Status, k.mask(tail(strings.TrimSpace(string(data)), 500)))
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if a.StoreResponse && (mt == "application/json" || strings.HasSuffix(mt, "+json")) && json.Valid(bytes.TrimSpace(data)) {
		return json.RawMessage(k.mask(string(bytes.TrimSpace(data)))), nil
	}
	return map[string]int{"status": res.StatusCode}, nil
}

// headerName turns SUNDIAL_JOB_ID into Sundial-Job-Id.
func headerName(env string) string {
	parts := strings.Split(strings.ToLower(env), "_")
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, "-")
}
