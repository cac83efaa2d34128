package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"riskmap/events"
	"riskmap/feature"
	"riskmap/ingest"
	"riskmap/layers"
	"riskmap/static"
	"riskmap/store"
)

// hostile is the corpus pushed through every parameter: SQL injection, path
// traversal (plain, encoded, doubled), NUL bytes, numbers too big or odd, unicode
// controls, markup, a long string.
var hostile = []string{
	"' OR 1=1--",
	"1;DROP TABLE risk_points",
	"1 UNION SELECT token_hash FROM api_tokens",
	`"; DELETE FROM audit; --`,
	"../../etc/passwd",
	"..%2f..%2fetc%2fpasswd",
	"%2e%2e%2f",
	"....//....//etc/passwd",
	"\x00",
	"1\x00",
	"99999999999999999999999999",
	"-1",
	"1e308",
	"NaN",
	"罗湖'; --\u202e",
	"<script>alert(1)</script>",
	strings.Repeat("A", 5000),
}

// queryNames are the parameter names of every route (and some no route has).
var queryNames = []string{"layer", "id", "lon", "lat", "k", "radius", "limit", "offset", "q", "overdue", "status",
	"department", "subdistrict", "before", "note", "crs", "format", "lang", "title", "layers", "grade", "min_grade",
	"warning", "min_warning", "category", "kind", "open", "min_capacity", "cluster", "from", "to", "drill",
	"last_event_id", "shelter_open", "per_kind"}

// freeText are parameters whose value is any text: a hostile value there is a
// legitimate query (a search for "' OR 1=1--" finds nothing), answered 200.
var freeText = map[string]bool{"q": true, "title": true, "department": true}

// lenient are the requests allowed a 2xx with a hostile value, and why (never a
// 5xx, and the data must still be unchanged): a probe answers whatever the query
// says; the sign-in session routes (GET answers who is signed in, DELETE signs
// out — idempotent, nothing stored changes) read no parameters; ending a drill
// takes no body; a glyph font stack is any font's name (letters, digits, spaces: "NaN"
// is one) and answers the same empty glyph set.
func lenient(method, tpl, slot string) bool {
	switch {
	case strings.HasPrefix(tpl, "/api/v1/glyphs/"):
		return slot == "path fontstack"
	case tpl == "/healthz" || tpl == "/readyz":
		return strings.HasPrefix(slot, "query")
	case tpl == "/api/v1/session" && (method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete):
		return strings.HasPrefix(slot, "query") || slot == "If-Match"
	case tpl == "/api/v1/drill/end":
		return strings.HasPrefix(slot, "body") || slot == "If-Match"
	}
	return false
}

// dataSnapshot is everything a request could change: per layer the number of
// features and the sum of their ids and versions, and the number of change-log,
// audit, token, signal and alert rows (ss nil: the store's own sensor half, if any).
func dataSnapshot(t *testing.T, st editBackend, ss SensorStore) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, l := range layers.New().Layers() {
		var n, ids, versions int64
		err := st.Stream(ctx, l.Name, func(f feature.Feature) error {
			n, ids, versions = n+1, ids+f.ID, versions+f.Version
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d/%d/%d ", l.Name, n, ids, versions)
	}
	cs, err := st.Changes(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	au, err := st.Audit(ctx, store.AuditQuery{Limit: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := st.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "changes=%d audit=%d tokens=%d", len(cs), len(au), len(tk))
	if ss == nil {
		ss, _ = st.(SensorStore)
	}
	if ss != nil {
		sg, err := ss.Signals(ctx, false, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		al, err := ss.Alerts(ctx, store.AlertQuery{Limit: 100_000})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, " signals=%d alerts=%d", len(sg), len(al))
	}
	return b.String()
}

// routeOf is one registered route: its path template and methods.
type routeOf struct {
	tpl     string
	methods []string
}

// routes enumerates the handler's routes from its router, so that a new route is
// covered without touching this test.
func routes(t *testing.T, h http.Handler) []routeOf {
	t.Helper()
	if hh, ok := h.(*handler); ok {
		h = hh.router
	}
	r, ok := h.(*mux.Router)
	if !ok {
		t.Fatalf("the handler is %T, not the router", h)
	}
	var out []routeOf
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		ms, _ := route.GetMethods()
		out = append(out, routeOf{tpl, ms})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var pathVar = regexp.MustCompile(`\{([a-z]+)\}`)

// fill builds a path from tpl with every variable valid but one (name) set to v
// (already escaped as it should appear in the URL).
func fill(tpl string, valid map[string]string, name, v string) string {
	return pathVar.ReplaceAllStringFunc(tpl, func(m string) string {
		n := m[1 : len(m)-1]
		if n == name {
			return v
		}
		if x, ok := valid[n]; ok {
			return x
		}
		return "1"
	})
}

// bodies are the request bodies pushed at a route taking one: the hostile value
// as the whole body, as members and values of an object, and in every slot of a
// GeoJSON feature and a hazard move that a value of that kind cannot fill.
func bodies(c string) []string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	feature := func(geomType, props string) string {
		return `{"type":"Feature","geometry":{"type":` + geomType + `,"coordinates":[114.12,22.55]},"properties":` + props + `}`
	}
	base := `"external_id":"X-1","kind":"shelter","name":"n","capacity":1`
	return []string{
		c,
		`{` + q(c) + `:` + q(c) + `}`,
		feature(`"Point"`, `{`+base+`,`+q(c)+`:1}`),
		feature(`"Point"`, `{"external_id":"X-1","kind":`+q(c)+`,"name":"n"}`),
		feature(`"Point"`, `{"external_id":"X-1","kind":"shelter","name":"n","capacity":`+q(c)+`}`),
		feature(q(c), `{`+base+`}`),
		`{"type":` + q(c) + `,"geometry":null,"properties":{}}`,
		`{"type":"Feature","id":` + q(c) + `,"geometry":null,"properties":{}}`,
		`{"to":` + q(c) + `,"note":"n"}`,
		`{"to":"rectifying","due_on":` + q(c) + `}`,
		`{"level":` + q(c) + `,"by":"x"}`,
		`{"geometry":{"type":` + q(c) + `}}`,
		`[{"sensor_id":` + q(c) + `,"time":"2026-01-01T00:00:00Z","value":1}]`,
		`{"name":"x","role":` + q(c) + `}`,
		`{"token":` + q(c) + `}`,
	}
}

// TestHostileInput pushes the hostile corpus through every route's path
// segments, query parameters, JSON bodies and If-Match, with an editor's token, on
// both stores: never a 5xx, always a 4xx (but for a free-text search and the few
// requests of lenient), and the data unchanged afterwards. Writes carry a stale If-Match, so an
// input that is valid (a hostile note is just a note) still writes nothing.
func TestHostileInput(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of requests")
	}
	bothStores(t, func(t *testing.T, st editBackend) {
		ss := st.(SensorStore)
		var svc *ingest.Service
		rg := newEditRig(t, st, func(cfg *Config) {
			var err error
			svc, err = ingest.New(ingest.Config{Store: st.(ingest.Store), Registry: cfg.Registry, TickEvery: time.Hour, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			hub := events.NewHub(events.Options{Flush: 5 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{}, 2)
			go func() { hub.Run(ctx); done <- struct{}{} }()
			go func() { _ = svc.Run(ctx); done <- struct{}{} }()
			t.Cleanup(func() { cancel(); <-done; <-done })
			cfg.Ingest, cfg.SensorStore, cfg.Events, cfg.Page = svc, ss, hub, static.FS()
			cfg.IngestStats = func() any { return svc.Stats() }
		})
		waitUntil(t, 20*time.Second, "ingest ready", svc.Ready)
		before := dataSnapshot(t, st, ss)
		valid := map[string]string{"layer": "risk_points", "id": fmt.Sprint(rg.point.ID), "layers": "all", "z": "12", "x": "3337",
			"y": "1780", "kind": "typhoon", "fontstack": "Noto%20Sans%20Regular", "range": "0-255"}
		// Redirects are not followed: the router answers a path with dot segments
		// ("/ogc/collections/../") with a 301 to the cleaned path, so the hostile
		// segment never reaches a handler (checked below).
		client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
		var n int
		var tpl string
		send := func(method, path string, body string, match, slot string, strict bool) {
			t.Helper()
			strict = strict && !lenient(method, tpl, slot)
			n++
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, method, rg.srv.URL+path, rd)
			if err != nil {
				return // not a URL a client can send
			}
			req.Header.Set("Authorization", "Bearer "+rg.editor)
			req.Header.Set("If-Match", match)
			resp, err := client.Do(req)
			if err != nil && strings.Contains(err.Error(), "invalid header field value") {
				return // not a header a client can send
			}
			if err != nil {
				t.Fatalf("%s %s (%s): %v", method, path, slot, err)
			}
			defer resp.Body.Close()
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				return // a stream that accepted its parameters: a read
			}
			raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if dec, err := url.PathUnescape(path); resp.StatusCode == http.StatusMovedPermanently && err == nil && strings.Contains(dec, "..") {
				return // path cleaning: the handler never saw the segment
			}
			if resp.StatusCode >= 500 || strict && (resp.StatusCode < 400) {
				t.Errorf("%s %.200q (%s) body %.200q: %d %.300s", method, path, slot, body, resp.StatusCode, raw)
			}
		}
		stale := `"99999"`
		for _, rt := range routes(t, rg.h) {
			tpl = rt.tpl
			vars := pathVar.FindAllStringSubmatch(rt.tpl, -1)
			page := rt.tpl == "/" || strings.HasPrefix(rt.tpl, "/app/")
			for _, m := range rt.methods {
				takesBody := m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
				for _, c := range hostile {
					// Path segments: escaped, and as given (traversal).
					for _, v := range vars {
						for _, form := range []string{url.PathEscape(c), c} {
							send(m, fill(rt.tpl, valid, v[1], form), "", stale, "path "+v[1], true)
						}
					}
					if page {
						send(m, "/app/"+url.PathEscape(c), "", stale, "page path", true)
						send(m, "/app/"+c, "", stale, "page path", true)
						continue
					}
					if m == http.MethodHead {
						continue // the GET handler's: its parameters are pushed through GET
					}
					path := fill(rt.tpl, valid, "", "")
					// Query parameters: every name with the hostile value, and the
					// hostile value as a name.
					for _, name := range queryNames {
						strictQ := !freeText[name] || m != http.MethodGet && m != http.MethodHead
						if rt.tpl == "/ogc/collections/{layer}/items" && name == "limit" && strings.Trim(c, "0123456789") == "" && c != "" {
							// OGC API – Features Part 1, /req/core/query-param-limit: a
							// limit above the maximum is answered with the maximum, not
							// refused (the page's numberReturned shows it).
							strictQ = false
						}
						send(m, path+"?"+name+"="+url.QueryEscape(c), "", stale, "query "+name, strictQ)
					}
					send(m, path+"?"+url.QueryEscape(c)+"=1", "", stale, "query name", true)
					// If-Match.
					if m != http.MethodGet && m != http.MethodHead {
						send(m, path, "", c, "If-Match", true)
					}
					if takesBody {
						for i, b := range bodies(c) {
							send(m, path, b, stale, fmt.Sprintf("body %d", i), true)
						}
					}
				}
			}
		}
		after := dataSnapshot(t, st, ss)
		if after != before {
			t.Fatalf("the hostile requests changed the data:\nbefore %s\nafter  %s", before, after)
		}
		// The tables are all there and answer.
		for _, l := range layers.New().Layers() {
			if err := st.Stream(context.Background(), l.Name, func(feature.Feature) error { return nil }); err != nil {
				t.Fatalf("%s after the corpus: %v", l.Name, err)
			}
		}
		t.Logf("%d hostile requests, data unchanged: %s", n, after)
		if !slices.ContainsFunc(routes(t, rg.h), func(r routeOf) bool { return r.tpl == "/api/v1/hazards/{id}/status" }) {
			t.Fatal("the route enumeration misses the hazard route")
		}
	})
}
