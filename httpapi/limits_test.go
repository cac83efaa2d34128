package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"riskmap/store/postgis"
)

// TestBodyLimits: every route that reads a body (bodyLimits) refuses a body one
// byte over its limit with 413 naming the limit — announced with Content-Length
// (refused before the route runs) and streamed without one (refused by the
// route's own reader) — and takes one at the limit past the size check.
func TestBodyLimits(t *testing.T) {
	rig := newAuthRig(t, "gpkg", nil)
	admin := rig.tokens[RoleAdmin]
	routes := make([]string, 0, len(bodyLimits))
	for k := range bodyLimits {
		routes = append(routes, k)
	}
	sort.Strings(routes)
	fill := strings.NewReplacer("{layer}", "risk_points", "{id}", "1", "{kind}", "typhoon")
	send := func(method, path string, body io.Reader, length int64) (int, map[string]any) {
		t.Helper()
		r, err := http.NewRequest(method, rig.srv.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		r.ContentLength = length
		r.Header.Set("Authorization", "Bearer "+admin)
		r.Header.Set("If-Match", `"1"`)
		r.Header.Set("Content-Type", "application/json")
		resp, err := rig.srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	for _, route := range routes {
		limit := bodyLimits[route]
		method, tmpl, _ := strings.Cut(route, " ")
		path := fill.Replace(tmpl)
		t.Run(route, func(t *testing.T) {
			over := append([]byte("{"), bytes.Repeat([]byte(" "), int(limit))...)
			for _, announced := range []bool{true, false} {
				var body io.Reader = bytes.NewReader(over)
				length := int64(len(over))
				if !announced {
					body, length = io.MultiReader(bytes.NewReader(over)), -1 // chunked: no Content-Length
				}
				code, out := send(method, path, body, length)
				msg := fmt.Sprint(out["error"])
				if code != http.StatusRequestEntityTooLarge || out["code"] != "body_too_large" || out["field"] != "body" ||
					!strings.Contains(msg, fmt.Sprintf("limit of %d bytes", limit)) || out["request_id"] == nil {
					t.Fatalf("%d bytes, Content-Length given %v: %d %v; want 413 naming %d bytes", len(over), announced, code, out, limit)
				}
			}
			// At the limit the size is no reason to refuse (the body is not valid
			// JSON: 400 or another answer of the route, never 413).
			code, out := send(method, path, bytes.NewReader(over[:limit]), limit)
			if code == http.StatusRequestEntityTooLarge {
				t.Fatalf("%d bytes, at the limit: %d %v", limit, code, out)
			}
		})
	}
	// A route reading no body still caps one: past MaxAnyBody it is 413.
	code, out := send("POST", "/api/v1/drill/end", bytes.NewReader(make([]byte, MaxAnyBody+1)), MaxAnyBody+1)
	if code != http.StatusRequestEntityTooLarge || out["code"] != "body_too_large" {
		t.Fatalf("drill end with a huge body: %d %v", code, out)
	}
}

// TestSlowRequestTimesOut: a store call stuck behind a lock ends when the
// request's context does (RequestTimeout), answered 503 JSON with the request id,
// and the same request answers once the lock is gone.
func TestSlowRequestTimesOut(t *testing.T) {
	rig := newAuthRig(t, "postgis", func(c *Config) { c.RequestTimeout = 300 * time.Millisecond })
	pool := rig.st.(*postgis.Store).Pool()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE audit IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var code int
	var out map[string]any
	go func() {
		defer close(done)
		code, out, _ = rig.do(t, req{method: "GET", path: "/api/v1/audit", bearer: rig.tokens[RoleViewer]})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the request outlived its 300 ms timeout by 30 s")
	}
	if code != http.StatusServiceUnavailable || out["code"] != "unavailable" || out["request_id"] == nil {
		t.Fatalf("audit behind a lock: %d %v; want 503 unavailable", code, out)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := rig.do(t, req{method: "GET", path: "/api/v1/audit", bearer: rig.tokens[RoleViewer]}); code != 200 {
		t.Fatalf("audit after the lock: %d %v", code, out)
	}
}

// TestResultCaps: every route answering a list bounds it, and one past the bound
// is 400 naming the parameter (docs/operations.md lists them).
func TestResultCaps(t *testing.T) {
	rig := newAuthRig(t, "gpkg", nil)
	viewer := rig.tokens[RoleViewer]
	tests := []struct {
		method, path, body, field string
		ok                        string // the same at the bound
	}{
		{"GET", "/api/v1/nearby?lon=114.12&lat=22.55&k=1001", "", "k", "/api/v1/nearby?lon=114.12&lat=22.55&k=1000"},
		{"GET", "/api/v1/nearby?lon=114.12&lat=22.55&radius=50001", "", "radius", "/api/v1/nearby?lon=114.12&lat=22.55&radius=50000"},
		{"GET", "/api/v1/nearby?lon=114.12&lat=22.55&radius=500&limit=100001", "", "limit", "/api/v1/nearby?lon=114.12&lat=22.55&radius=500&limit=100000"},
		{"POST", "/api/v1/query", `{"geometry":{"type":"Point","coordinates":[114.12,22.55]},"radius_m":500,"limit":100001}`, "limit", ""},
		{"GET", "/api/v1/search?q=spot&limit=201", "", "limit", "/api/v1/search?q=spot&limit=200"},
		{"GET", "/api/v1/audit?limit=1001", "", "limit", "/api/v1/audit?limit=1000"},
		{"GET", "/api/v1/alerts?limit=10001", "", "limit", "/api/v1/alerts?limit=10000"},
		{"GET", "/api/v1/hazards?limit=10001", "", "limit", "/api/v1/hazards?limit=10000"},
		{"GET", "/api/v1/report?lon=114.12&lat=22.55&radius=50001", "", "radius", "/api/v1/report?lon=114.12&lat=22.55&radius=50000"},
		{"GET", "/api/v1/dispatch?lon=114.12&lat=22.55&radius=50001", "", "radius", ""},
	}
	for _, tt := range tests {
		code, out, _ := rig.do(t, req{method: tt.method, path: tt.path, body: tt.body, bearer: viewer})
		if code != 400 || out["field"] != tt.field {
			t.Errorf("%s %s: %d %v; want 400 naming %s", tt.method, tt.path, code, out, tt.field)
		}
		if tt.ok != "" {
			if code, out, _ := rig.do(t, req{method: "GET", path: tt.ok, bearer: viewer}); code != 200 {
				t.Errorf("GET %s: %d %v; want 200 at the bound", tt.ok, code, out)
			}
		}
	}
}

// TestEveryBodyRouteListed: every route taking POST, PUT or PATCH is in
// bodyLimits (so TestBodyLimits sends it an over-limit body) or reads no body,
// and bodyLimits names no route that does not exist.
func TestEveryBodyRouteListed(t *testing.T) {
	readsNoBody := map[string]bool{"POST /api/v1/drill/end": true}
	seen := map[string]bool{}
	for _, rt := range routes(t, mwHandler(t, nil)) {
		for _, m := range rt.methods {
			k := m + " " + rt.tpl
			seen[k] = true
			if (m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch) && !readsNoBody[k] {
				if _, ok := bodyLimits[k]; !ok {
					t.Errorf("%s takes a body but has no entry in bodyLimits", k)
				}
			}
		}
	}
	for k := range bodyLimits {
		if !seen[k] {
			t.Errorf("bodyLimits names %s, which is no route", k)
		}
	}
}
