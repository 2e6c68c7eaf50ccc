package httpapi

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// GuardConfig says where the requests that a server answers may come from.
type GuardConfig struct {
	// Loopback is set when the server listens on loopback addresses only.
	// The Host header must then name a loopback host (localhost,
	// 127.0.0.1, [::1], any port) or one of AllowedHosts: a page whose DNS
	// name an attacker rebound to 127.0.0.1 names its own host.
	Loopback bool
	// AllowedHosts are the other host names (without a port) that the
	// Host header may give on a loopback server, such as the name a
	// reverse proxy on the same machine passes on.
	AllowedHosts []string
	// AllowedOrigins are origins besides the server's own whose pages may
	// change things, such as "https://sundial.example.com" when a proxy
	// rewrites the Host header.
	AllowedOrigins []string
	// TrustedProxies are the addresses (IPs or CIDR prefixes) of reverse
	// proxies whose X-Forwarded-For, X-Forwarded-Proto and
	// X-Forwarded-Host headers are believed. From any other address they
	// are ignored.
	TrustedProxies []string
}

// Guard keeps web pages of other sites from making a server act, in every
// auth mode (see docs/security.md): writes must be JSON and come from the
// server's own pages, pages of other sites may not read, a loopback server
// answers to loopback names only, and no response may be sniffed. It also
// says which requests came over HTTPS and from which client, believing
// forwarded headers from trusted proxies only.
type Guard struct {
	loopback bool
	hosts    map[string]bool
	origins  map[string]bool
	proxies  []netip.Prefix
}

// NewGuard checks cfg and returns its Guard. Errors name the setting
// (allowed_hosts, allowed_origins, trusted_proxies) and the value.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	g := &Guard{loopback: cfg.Loopback, hosts: map[string]bool{}, origins: map[string]bool{}}
	for _, h := range cfg.AllowedHosts {
		name := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
		if addr, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
			name = addr.String()
		} else if name == "" || strings.ContainsAny(name, "/:@[] ") {
			return nil, fmt.Errorf("allowed_hosts: %q is not a host name such as sundial.example.com (give no scheme, port or path)", h)
		}
		g.hosts[name] = true
	}
	for _, o := range cfg.AllowedOrigins {
		norm, ok := normalOrigin(strings.TrimSpace(o))
		if !ok {
			return nil, fmt.Errorf("allowed_origins: %q is not an origin such as https://sundial.example.com (a scheme and a host, no path)", o)
		}
		g.origins[norm] = true
	}
	for _, p := range cfg.TrustedProxies {
		p = strings.TrimSpace(p)
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("trusted_proxies: %q is not an IP address or a CIDR prefix such as 10.0.0.0/8", p)
			}
			prefix = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		g.proxies = append(g.proxies, prefix.Masked())
	}
	return g, nil
}

// Wrap returns next behind the guard: it sets X-Content-Type-Options:
// nosniff on every response, and refuses with a problem document a
// request to a loopback server naming another host (421), a write that
// another site's page sent (403) or that is not JSON (415), and a read by
// another site's page that is not a navigation (403).
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = &nosniffWriter{ResponseWriter: w}
		if ref := g.check(r); ref != nil {
			ref.write(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check returns why r is refused, or nil.
func (g *Guard) check(r *http.Request) *refusal {
	if g.loopback && !g.hostAllowed(r.Host) {
		return &refusal{status: http.StatusMisdirectedRequest, kind: "misdirected-request", title: "Host not served",
			detail: fmt.Sprintf("this server listens on a loopback address and answers to loopback names only, not to the host %q "+
				"(a web page whose DNS name points at 127.0.0.1 would send that): use localhost or 127.0.0.1, or add the host to allowed_hosts", r.Host)}
	}
	site := r.Header.Get("Sec-Fetch-Site")
	origin := r.Header.Get("Origin")
	if safeMethod(r.Method) {
		// A page of another site may link here (a navigation shows the
		// answer to the user, not to the page), but not load the answer
		// as a script, an image, a stream or a fetch.
		if site == "cross-site" && r.Header.Get("Sec-Fetch-Mode") != "navigate" && !g.origins[mustNormal(origin)] {
			return crossSite("a page of another site may not read from this server")
		}
		return nil
	}
	switch {
	case origin != "":
		if !g.originAllowed(r, origin) {
			return crossSite(fmt.Sprintf("a page of %q may not change anything on this server: only its own pages may "+
				"(add the origin to allowed_origins to trust it; behind a proxy that terminates TLS, list the proxy in trusted_proxies)", origin))
		}
	case site == "cross-site" || site == "same-site":
		return crossSite("a page of another site may not change anything on this server")
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		what := fmt.Sprintf("Content-Type %q is", ct)
		if ct == "" {
			what = "a request without a Content-Type is"
		}
		return &refusal{status: http.StatusUnsupportedMediaType, kind: "unsupported-media-type", title: "Unsupported media type",
			detail: what + ` not accepted: every POST, PUT, PATCH and DELETE needs "Content-Type: application/json", also one without a body ` +
				"(web pages of other sites cannot send that without asking first)"}
	}
	return nil
}

func crossSite(detail string) *refusal {
	return &refusal{status: http.StatusForbidden, kind: "cross-site", title: "Cross-site request refused", detail: detail}
}

// hostAllowed reports whether a Host header names loopback or an allowed
// host.
func (g *Guard) hostAllowed(hostport string) bool {
	host := strings.ToLower(strings.TrimSuffix(hostOf(hostport), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || g.hosts[host] {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && (addr.Unmap().IsLoopback() || g.hosts[addr.String()])
}

// hostOf is the host of a Host header, without port or IPv6 brackets.
func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// originAllowed reports whether origin is the server's own (as the
// request reached it, or as a trusted proxy says the client reached it)
// or a configured one.
func (g *Guard) originAllowed(r *http.Request, origin string) bool {
	norm, ok := normalOrigin(origin)
	if !ok {
		return false // "null": a sandboxed frame, a file, a redirect
	}
	if g.origins[norm] {
		return true
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if own, ok := normalOrigin(scheme + "://" + host); ok && own == norm {
		return true
	}
	if g.fromProxy(r) {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p != "" {
			scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
			host = h
		}
		if own, ok := normalOrigin(scheme + "://" + host); ok && own == norm {
			return true
		}
	}
	return false
}

// normalOrigin returns an origin as scheme://host[:port], lower case,
// without a default port; ok is false for anything else.
func normalOrigin(o string) (string, bool) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if h, port, err := net.SplitHostPort(host); err == nil && (scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	return scheme + "://" + host, true
}

func mustNormal(o string) string {
	n, _ := normalOrigin(o)
	return n
}

func firstValue(h string) string {
	v, _, _ := strings.Cut(h, ",")
	return strings.ToLower(strings.TrimSpace(v))
}

// peer is the address the request came from directly.
func peer(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	return addr.Unmap(), err == nil
}

func (g *Guard) trusted(addr netip.Addr) bool {
	for _, p := range g.proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// fromProxy reports whether the request came from a trusted proxy.
func (g *Guard) fromProxy(r *http.Request) bool {
	addr, ok := peer(r)
	return ok && g.trusted(addr)
}

// Secure reports whether the client reached the server over HTTPS: the
// connection is TLS, or a trusted proxy says X-Forwarded-Proto: https.
func (g *Guard) Secure(r *http.Request) bool {
	return r.TLS != nil || g.fromProxy(r) && firstValue(r.Header.Get("X-Forwarded-Proto")) == "https"
}

// ClientKey names the client a request came from, for counting its
// failed authentications: its address — the first one a trusted proxy
// did not add, when the request came through trusted proxies — and, for
// IPv6, its /64 network, which one client usually has whole.
func (g *Guard) ClientKey(r *http.Request) string {
	addr, ok := peer(r)
	if !ok {
		return r.RemoteAddr
	}
	if g.trusted(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = hop.Unmap()
			if !g.trusted(addr) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// refusal is a request the guard or the failure limiter refuses.
type refusal struct {
	status              int
	kind, title, detail string
}

func (f *refusal) write(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(f.status)
	json.NewEncoder(w).Encode(Problem{Type: "https://sundial.dev/problems/" + f.kind, Title: f.title, Status: f.status,
		Detail: f.detail, Instance: r.URL.Path})
}

// nosniffWriter sets X-Content-Type-Options: nosniff as the headers go
// out, so that a handler that rewrites its headers cannot drop it.
type nosniffWriter struct {
	http.ResponseWriter
	sent bool
}

func (w *nosniffWriter) WriteHeader(code int) {
	if !w.sent {
		w.sent = true
		w.Header().Set("X-Content-Type-Options", "nosniff")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *nosniffWriter) Write(b []byte) (int, error) {
	if !w.sent {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streamed responses through.
func (w *nosniffWriter) Flush() {
	if !w.sent {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *nosniffWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
