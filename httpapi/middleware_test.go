package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/static"
)

// mwHandler serves a small index (three risk points) with the page, cfg edited by
// edit.
func mwHandler(t *testing.T, edit func(*Config)) http.Handler {
	t.Helper()
	reg := layers.New()
	ix := index.New(reg)
	var ms []index.Mutation
	for i := range 3 {
		ms = append(ms, index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.RiskPoints, ID: int64(i + 1), Version: 1,
			Geometry: orb.Point{114.12 + 0.001*float64(i), 22.55},
			Props: map[string]any{"external_id": fmt.Sprintf("RP-%d", i+1), "name": "风险点", "category": "fire",
				"address": nil, "subdistrict": "dongmen", "cause": nil, "measures": nil, "responsible_dept": nil,
				"risk_grade": "major", "hazard_status": "open"}}})
	}
	if _, err := ix.Apply(ms...); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Registry: reg, Index: ix, Logger: slog.New(slog.DiscardHandler), Page: static.FS()}
	if edit != nil {
		edit(&cfg)
	}
	return mustNew(t, cfg)
}

// send serves one request from remote (host:port) with the headers (name, value,
// name, value...) and returns the recorder.
func send(h http.Handler, method, target, remote string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	if remote != "" {
		r.RemoteAddr = remote
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func jsonBody(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
	return out
}

// want429 checks a rate-limited answer: 429, JSON code rate_limited, Retry-After a
// whole number of seconds ≥ 1.
func want429(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("%s: %d %s; want 429", what, rec.Code, rec.Body)
	}
	if body := jsonBody(t, rec); body["code"] != "rate_limited" || body["request_id"] == "" {
		t.Fatalf("%s: body %v", what, body)
	}
	ra := rec.Header().Get("Retry-After")
	if n, err := strconv.Atoi(ra); err != nil || n < 1 {
		t.Fatalf("%s: Retry-After %q; want whole seconds ≥ 1", what, ra)
	}
}

func TestRateLimitByAddress(t *testing.T) {
	// 0.01 a second: the bucket does not refill during the test.
	h := mwHandler(t, func(c *Config) {
		c.RateLimits = RateLimits{Reads: Rate{PerSecond: 0.01, Burst: 3}, Tiles: Rate{PerSecond: 0.01, Burst: 5}}
	})
	const a, b = "192.0.2.1:4000", "192.0.2.2:4000"
	for i := range 3 {
		if rec := send(h, "GET", "/api/v1/nearby?lon=114.12&lat=22.55", a); rec.Code != 200 {
			t.Fatalf("read %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := send(h, "GET", "/api/v1/nearby?lon=114.12&lat=22.55", a)
	want429(t, rec, "4th read")
	if ra, _ := strconv.Atoi(rec.Header().Get("Retry-After")); ra < 90 || ra > 101 {
		t.Fatalf("Retry-After %d; want about 100 s at 0.01 a second", ra)
	}
	// Another port of the same host is the same client; another host is not.
	want429(t, send(h, "GET", "/api/v1/layers", "192.0.2.1:5000"), "same host, other port")
	if rec := send(h, "GET", "/api/v1/layers", b); rec.Code != 200 {
		t.Fatalf("other address: %d", rec.Code)
	}
	// Tiles have their own budget, and health and readiness none.
	if rec := send(h, "GET", "/tiles/risk_points/14/13358/7131.mvt", a); rec.Code != 200 && rec.Code != 204 {
		t.Fatalf("tile after reads ran out: %d %s", rec.Code, rec.Body)
	}
	for range 10 {
		if rec := send(h, "GET", "/healthz", a); rec.Code != 200 {
			t.Fatalf("healthz limited: %d", rec.Code)
		}
	}
}

func TestRateLimitTrustedProxy(t *testing.T) {
	proxies, err := ParseTrustedProxies([]string{"127.0.0.1", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	h := mwHandler(t, func(c *Config) {
		c.RateLimits = RateLimits{Reads: Rate{PerSecond: 0.01, Burst: 2}}
		c.TrustedProxies = proxies
	})
	const proxy = "127.0.0.1:40000"
	// Behind the proxy each client has its own budget.
	for range 2 {
		if rec := send(h, "GET", "/api/v1/layers", proxy, "X-Forwarded-For", "203.0.113.7"); rec.Code != 200 {
			t.Fatalf("client 1: %d", rec.Code)
		}
	}
	want429(t, send(h, "GET", "/api/v1/layers", proxy, "X-Forwarded-For", "203.0.113.7"), "client 1, 3rd")
	// What the client put in front of the header does not make it someone else:
	// the nearest untrusted hop counts (through two proxies here).
	want429(t, send(h, "GET", "/api/v1/layers", proxy, "X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.1.2.3"), "spoofed hop")
	if rec := send(h, "GET", "/api/v1/layers", proxy, "X-Forwarded-For", "203.0.113.8"); rec.Code != 200 {
		t.Fatalf("client 2: %d", rec.Code)
	}
	if rec := send(h, "GET", "/api/v1/layers", proxy, "X-Real-IP", "203.0.113.9"); rec.Code != 200 {
		t.Fatalf("client 3 by X-Real-IP: %d", rec.Code)
	}
	// From an address that is not a proxy the headers are ignored.
	const direct = "192.0.2.50:1000"
	for i := range 2 {
		if rec := send(h, "GET", "/api/v1/layers", direct, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", 100+i)); rec.Code != 200 {
			t.Fatalf("direct %d: %d", i, rec.Code)
		}
	}
	want429(t, send(h, "GET", "/api/v1/layers", direct, "X-Forwarded-For", "203.0.113.200"), "direct with a made-up X-Forwarded-For")
}

func TestClientAddr(t *testing.T) {
	proxies, err := ParseTrustedProxies([]string{"127.0.0.1", "::1", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	s := &server{proxies: proxies}
	tests := []struct {
		name, remote, xff, realIP, want string
	}{
		{"direct", "192.0.2.1:80", "", "", "192.0.2.1"},
		{"direct ignores headers", "192.0.2.1:80", "203.0.113.1", "203.0.113.2", "192.0.2.1"},
		{"proxy, one hop", "127.0.0.1:80", "203.0.113.1", "", "203.0.113.1"},
		{"proxy, spoofed left", "127.0.0.1:80", "1.1.1.1, 203.0.113.1", "", "203.0.113.1"},
		{"two proxies", "127.0.0.1:80", "203.0.113.1, 10.0.0.5", "", "203.0.113.1"},
		{"proxy over IPv6", "[::1]:80", "2001:db8::1", "", "2001:db8::1"},
		{"IPv4-mapped proxy", "[::ffff:127.0.0.1]:80", "203.0.113.4", "", "203.0.113.4"},
		{"real ip", "127.0.0.1:80", "", "203.0.113.3", "203.0.113.3"},
		{"garbage header", "127.0.0.1:80", "not-an-ip", "", "127.0.0.1"},
		{"only proxies", "127.0.0.1:80", "10.0.0.1", "", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.realIP != "" {
				r.Header.Set("X-Real-IP", tt.realIP)
			}
			if got := s.clientAddr(r); got != netip.MustParseAddr(tt.want) {
				t.Fatalf("got %v, want %s", got, tt.want)
			}
		})
	}
	if _, err := ParseTrustedProxies([]string{"nginx"}); err == nil {
		t.Fatal("a host name was taken as a trusted proxy")
	}
}

func TestRateLimitByToken(t *testing.T) {
	rig := newAuthRig(t, "gpkg", func(c *Config) {
		c.RateLimits = RateLimits{Reads: Rate{PerSecond: 0.01, Burst: 3}, Writes: Rate{PerSecond: 0.01, Burst: 3}}
	})
	viewer := rig.tokens[RoleViewer]
	for i := range 3 {
		if code, body, _ := rig.do(t, req{method: "GET", path: "/api/v1/layers", bearer: viewer}); code != 200 {
			t.Fatalf("viewer read %d: %d %v", i, code, body)
		}
	}
	code, body, resp := rig.do(t, req{method: "GET", path: "/api/v1/layers", bearer: viewer})
	if code != 429 || body["code"] != "rate_limited" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("viewer's 4th read: %d %v %v", code, body, resp.Header)
	}
	// Another token from the same address has its own budget. (Its first
	// request, before its token was known here, is charged to the address too,
	// as was the viewer's.)
	if code, body, _ := rig.do(t, req{method: "GET", path: "/api/v1/layers", bearer: rig.tokens[RoleEditor]}); code != 200 {
		t.Fatalf("editor: %d %v", code, body)
	}
	if code, body, _ := rig.do(t, req{method: "GET", path: "/api/v1/layers", bearer: rig.tokens[RoleEditor]}); code != 200 {
		t.Fatalf("editor's 2nd: %d %v", code, body)
	}
	// Made-up tokens are charged to the address, once each: a new one each time
	// does not escape its budget (one left of three).
	if code, _, _ := rig.do(t, req{method: "GET", path: "/api/v1/layers", bearer: "made-up-1"}); code != 200 {
		t.Fatalf("first made-up token: %d", code)
	}
	code, body, _ = rig.do(t, req{method: "GET", path: "/api/v1/layers", bearer: "made-up-2"})
	if code != 429 || body["code"] != "rate_limited" {
		t.Fatalf("made-up tokens past the address's budget: %d %v", code, body)
	}
	if code, _, _ := rig.do(t, req{method: "GET", path: "/api/v1/layers"}); code != 429 {
		t.Fatalf("no token past the address's budget: %d", code)
	}
	// Writes are a budget of their own.
	if code, body, _ := rig.do(t, req{method: "PUT", path: "/api/v1/signals/typhoon", body: `{"level": "blue", "by": "值班员"}`, bearer: rig.tokens[RoleEditor]}); code != 200 {
		t.Fatalf("editor's write: %d %v", code, body)
	}
}

// TestReadingsBudget: with the default limits, one sensor token posting 2,000
// readings a second, one reading per request (the worst batching), for 10 s of a
// fake clock, is never refused; a token going 3 times as fast is.
func TestReadingsBudget(t *testing.T) {
	for _, tt := range []struct {
		perSecond int
		refused   bool
	}{{2000, false}, {6000, true}} {
		l := newLimiter(DefaultRateLimits())
		now := time0
		l.now = func() time.Time { return now }
		refused := 0
		for i := range 10 * tt.perSecond {
			now = time0.Add(time.Duration(i) * time.Second / time.Duration(tt.perSecond))
			if l.allow(routeClass("POST", "/api/v1/readings"), "t:7") != nil {
				refused++
			}
		}
		if (refused > 0) != tt.refused {
			t.Fatalf("%d requests a second: %d refused", tt.perSecond, refused)
		}
	}
}

// TestLimiterBounded: buckets of addresses gone quiet are dropped, and no churn of
// addresses keeps more than MaxKeys.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(RateLimits{Reads: Rate{PerSecond: 10, Burst: 20}, MaxKeys: 100})
	now := time0
	l.now = func() time.Time { return now }
	for i := range 10_000 {
		now = time0.Add(time.Duration(i) * time.Millisecond)
		if err := l.allow(classReads, fmt.Sprintf("a:10.%d.%d.%d", i>>16, (i>>8)&255, i&255)); err != nil {
			t.Fatalf("a new address refused: %v", err)
		}
		if n := l.size(); n > 100 {
			t.Fatalf("%d buckets kept; at most 100", n)
		}
	}
	// A busy client keeps its bucket through a sweep; an idle one is dropped.
	for range 20 {
		_ = l.allow(classReads, "a:busy")
	}
	if l.allow(classReads, "a:busy") == nil {
		t.Fatal("the busy client's bucket was not empty")
	}
	now = now.Add(61 * time.Second)
	_ = l.allow(classReads, "a:other") // sweeps
	if n := l.size(); n != 1 {
		t.Fatalf("%d buckets after every client was idle a minute; want 1 (the new one)", n)
	}
}

func TestCORS(t *testing.T) {
	const ok, other = "https://gis.sz.gov.cn", "https://evil.example"
	h := mwHandler(t, func(c *Config) { c.CORSOrigins = []string{ok, "http://localhost:3000"} })
	// Preflight from a listed origin.
	rec := send(h, "OPTIONS", "/api/v1/query", "", "Origin", ok, "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type")
	hd := rec.Header()
	if rec.Code != 204 || hd.Get("Access-Control-Allow-Origin") != ok || hd.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(hd.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(hd.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(strings.Join(hd.Values("Vary"), ","), "Origin") {
		t.Fatalf("allowed preflight: %d %v", rec.Code, hd)
	}
	// Preflight from another origin: refused, no CORS headers.
	rec = send(h, "OPTIONS", "/api/v1/query", "", "Origin", other, "Access-Control-Request-Method", "POST")
	if rec.Code != 403 || rec.Header().Get("Access-Control-Allow-Origin") != "" || jsonBody(t, rec)["code"] != "cors_origin" {
		t.Fatalf("denied preflight: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	// Simple requests: the listed origin is named, another is not; both vary.
	rec = send(h, "GET", "/api/v1/layers", "", "Origin", ok)
	if rec.Header().Get("Access-Control-Allow-Origin") != ok || rec.Header().Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(rec.Header().Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Fatalf("allowed GET: %v", rec.Header())
	}
	rec = send(h, "GET", "/api/v1/layers", "", "Origin", other)
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Vary") != "Origin" {
		t.Fatalf("other origin's GET: %d %v", rec.Code, rec.Header())
	}
	// None by default.
	h = mwHandler(t, nil)
	rec = send(h, "OPTIONS", "/api/v1/query", "", "Origin", ok, "Access-Control-Request-Method", "POST")
	if rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Code == 204 {
		t.Fatalf("preflight without origins configured: %d %v", rec.Code, rec.Header())
	}
	if rec := send(h, "GET", "/api/v1/layers", "", "Origin", ok); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("GET without origins configured: %v", rec.Header())
	}
	for _, bad := range []string{"*", "https://gis.sz.gov.cn/", "gis.sz.gov.cn", "https://*.sz.gov.cn", "ftp://x"} {
		if _, err := ParseCORSOrigins([]string{bad}); err == nil {
			t.Errorf("origin %q accepted", bad)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := mwHandler(t, nil)
	common := func(what string, hd http.Header) {
		t.Helper()
		if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Referrer-Policy") == "" || hd.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("%s: %v", what, hd)
		}
		if hd.Get("Strict-Transport-Security") != "" {
			t.Fatalf("%s: HSTS over plain HTTP", what)
		}
	}
	page := send(h, "GET", "/", "")
	common("page", page.Header())
	csp := page.Header().Get("Content-Security-Policy")
	scripts := regexp.MustCompile(`script-src ([^;]*)`).FindStringSubmatch(csp)
	if page.Code != 200 || scripts == nil || strings.Contains(scripts[1], "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		!strings.Contains(csp, "object-src 'none'") {
		t.Fatalf("page: %d CSP %q", page.Code, csp)
	}
	if w := send(h, "GET", "/app/vendor/maplibre-gl/maplibre-gl-worker.mjs", ""); w.Header().Get("Content-Security-Policy") != csp {
		t.Fatalf("the map's worker script runs under %q, not the page's policy", w.Header().Get("Content-Security-Policy"))
	}
	for _, p := range []string{"/api/v1/layers", "/api/v1/nope", "/tiles/risk_points/14/13358/7131.mvt"} {
		rec := send(h, "GET", p, "")
		common(p, rec.Header())
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("%s: CSP %q", p, csp)
		}
	}
	// HSTS behind a TLS-terminating proxy (https public URL) and over TLS.
	hs := mwHandler(t, func(c *Config) { c.PublicURL = "https://riskmap.example.gov.cn" })
	if v := send(hs, "GET", "/api/v1/layers", "").Header().Get("Strict-Transport-Security"); !strings.HasPrefix(v, "max-age=") {
		t.Fatalf("https public URL: HSTS %q", v)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(v, "max-age=") {
		t.Fatalf("over TLS: HSTS %q", v)
	}
}

// TestPageHasNoInlineScript: the page's policy allows only its own script files,
// so the page must have no inline script, event handler attribute or javascript:
// URL.
func TestPageHasNoInlineScript(t *testing.T) {
	b, err := io.ReadAll(must(static.FS().Open("index.html")))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	tags := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`).FindAllStringSubmatch(page, -1)
	if len(tags) == 0 {
		t.Fatal("no script tag found: the check is not looking at the page")
	}
	for _, m := range tags {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %q", m[0])
		}
	}
	if m := regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=[^>]*>`).FindString(page); m != "" {
		t.Errorf("event handler attribute: %q", m)
	}
	if strings.Contains(strings.ToLower(page), "javascript:") {
		t.Error("a javascript: URL")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRequestID(t *testing.T) {
	var buf bytes.Buffer
	h := mwHandler(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	// A sane id is kept; it comes back in the header and the error body.
	rec := send(h, "GET", "/api/v1/nearby?lon=999&lat=22", "", "X-Request-Id", "nginx-7f3a.42_x")
	if rec.Header().Get(RequestIDHeader) != "nginx-7f3a.42_x" || jsonBody(t, rec)["request_id"] != "nginx-7f3a.42_x" {
		t.Fatalf("kept id: %v %s", rec.Header(), rec.Body)
	}
	lines := logLines(t, &buf)
	var access, refused map[string]any
	for _, l := range lines {
		switch l["msg"] {
		case "request":
			access = l
		case "request refused":
			refused = l
		}
	}
	if access == nil || access["request_id"] != "nginx-7f3a.42_x" || access["route"] != "/api/v1/nearby" || access["status"] != 400.0 ||
		access["method"] != "GET" || access["remote"] != "192.0.2.1" || access["duration_ms"] == nil || access["bytes"].(float64) <= 0 {
		t.Fatalf("access log line: %v (all: %v)", access, lines)
	}
	if refused == nil || refused["request_id"] != "nginx-7f3a.42_x" || refused["status"] != 400.0 {
		t.Fatalf("error log line: %v (all: %v)", refused, lines)
	}
	// An id that is too long or could forge a log line or header is replaced.
	for _, bad := range []string{strings.Repeat("a", 65), "a b", "x\ny", "<script>", "ид"} {
		rec := send(h, "GET", "/api/v1/nope", "", "X-Request-Id", bad)
		got := rec.Header().Get(RequestIDHeader)
		if got == bad || !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(got) || jsonBody(t, rec)["request_id"] != got {
			t.Fatalf("id %q: answered %q, body %s", bad, got, rec.Body)
		}
	}
	// Made here when none is sent; different each time.
	a, b := send(h, "GET", "/healthz", "").Header().Get(RequestIDHeader), send(h, "GET", "/healthz", "").Header().Get(RequestIDHeader)
	if a == "" || a == b {
		t.Fatalf("generated ids %q, %q", a, b)
	}
	// The route in the log is the template, never the raw path.
	buf.Reset()
	send(h, "GET", "/tiles/risk_points/14/13358/7131.mvt", "")
	if l := logLines(t, &buf); len(l) == 0 || l[len(l)-1]["route"] != "/tiles/{layers}/{z}/{x}/{y}.mvt" {
		t.Fatalf("tile access line: %v", l)
	}
}

func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// time0 is the fake clocks' start.
var time0 = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
