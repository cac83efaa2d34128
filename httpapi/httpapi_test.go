package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/index"
	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/postgis"
)

func newPostGIS(t *testing.T) *postgis.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgis.Open(ctx, pgtest.NewDatabase(t), layers.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, path string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("%s: Content-Type %q", path, ct)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", path, rec.Body.String(), err)
	}
	return rec.Code, body
}

func TestLayersWithCounts(t *testing.T) {
	s := newPostGIS(t)
	reg := layers.New()
	ctx := context.Background()
	for i := range 3 {
		_, err := s.Upsert(ctx, feature.Feature{Layer: layers.Resources, Geometry: orb.Point{114.12, 22.55}, Props: map[string]any{
			"external_id": fmt.Sprintf("R%d", i), "kind": "shelter", "name": "避难场所", "capacity": 500,
		}}, store.WriteOptions{Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
	}
	ix := index.New(reg)
	if err := ix.Load(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	h := mustNew(t, Config{Registry: reg, Store: s, Index: ix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	code, body := get(t, h, "/api/v1/layers")
	if code != http.StatusOK {
		t.Fatalf("status %d: %v", code, body)
	}
	ls := body["layers"].([]any)
	if len(ls) != len(reg.Layers()) {
		t.Fatalf("%d layers, registry has %d", len(ls), len(reg.Layers()))
	}
	counts := map[string]float64{}
	for _, l := range ls {
		m := l.(map[string]any)
		counts[m["name"].(string)] = m["count"].(float64)
		if len(m["fields"].([]any)) == 0 {
			t.Errorf("%s: no fields listed", m["name"])
		}
	}
	want := map[string]float64{layers.RiskPoints: 0, layers.Slopes: 0, layers.WaterloggingSpots: 0, layers.RectifiedRoads: 0, layers.Resources: 3}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s count %v, want %v", k, counts[k], v)
		}
	}
	grades := body["risk_grades"].(map[string]any)["choices"].([]any)
	if len(grades) != 4 || grades[3].(map[string]any)["code"] != "major" || grades[3].(map[string]any)["color"] != layers.ColorRed {
		t.Errorf("risk grades %v", grades)
	}
	levels := body["warning_levels"].(map[string]any)["choices"].([]any)
	if len(levels) != 5 || levels[4].(map[string]any)["roman"] != "I" {
		t.Errorf("warning levels %v", levels)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	s := newPostGIS(t)
	reg := layers.New()
	h := mustNew(t, Config{Registry: reg, Store: s, Index: index.New(reg), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	tests := []struct {
		path   string
		code   int
		status string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ready"},
	}
	for _, tt := range tests {
		code, body := get(t, h, tt.path)
		if code != tt.code || body["status"] != tt.status {
			t.Errorf("%s: %d %v, want %d %s", tt.path, code, body, tt.code, tt.status)
		}
	}
	// With the database gone, the process is alive but not ready; reads keep being
	// answered from the index.
	s.Close()
	if code, body := get(t, h, "/healthz"); code != 200 {
		t.Errorf("/healthz after close: %d %v", code, body)
	}
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable || body["status"] != "unavailable" {
		t.Errorf("/readyz after close: %d %v", code, body)
	}
	if code, body := get(t, h, "/api/v1/layers"); code != http.StatusOK {
		t.Errorf("/api/v1/layers after close: %d %v", code, body)
	}
}

// stubless: error responses need no database.
func TestErrorsAreJSON(t *testing.T) {
	reg := layers.New()
	h := mustNew(t, Config{Registry: reg, Index: index.New(reg), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	tests := []struct {
		method, path string
		code         int
		errCode      string
	}{
		{http.MethodGet, "/api/v1/nothing", 404, "not_found"},
		{http.MethodPost, "/api/v1/layers", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %s: %q not JSON", tt.method, tt.path, rec.Body.String())
		}
		if rec.Code != tt.code || body["code"] != tt.errCode || body["error"] == "" {
			t.Errorf("%s %s: %d %v, want %d %s", tt.method, tt.path, rec.Code, body, tt.code, tt.errCode)
		}
	}
}

// mustNew is New failing the test on error.
func mustNew(t testing.TB, cfg Config) http.Handler {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
