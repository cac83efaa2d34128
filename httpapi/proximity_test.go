package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/index"
	"riskmap/layers"
)

// proximityHandler serves an index of a few known features (no database: the routes
// read only the index).
func proximityHandler(t testing.TB) http.Handler {
	t.Helper()
	h, _ := proximityHandlerIndex(t)
	return h
}

// proximityHandlerIndex is proximityHandler, also returning its index.
func proximityHandlerIndex(t testing.TB) (http.Handler, *index.Index) {
	t.Helper()
	reg := layers.New()
	ix := index.New(reg)
	var ms []index.Mutation
	for i := range 20 {
		grade := []string{"low", "general", "significant", "major"}[i%4]
		ms = append(ms, index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.RiskPoints, ID: int64(i + 1), Version: 1,
			Geometry: orb.Point{114.12 + 0.001*float64(i), 22.55},
			Props: map[string]any{"external_id": fmt.Sprintf("RP-%d", i+1), "name": fmt.Sprintf("东门风险点%d", i+1), "category": "fire",
				"address": "深圳市罗湖区东门街道", "subdistrict": "dongmen", "cause": nil, "measures": nil, "responsible_dept": nil,
				"risk_grade": grade, "hazard_status": "open"}}})
	}
	for i, kind := range []string{"shelter", "shelter", "rescue_team", "material_depot", "medical"} {
		ms = append(ms, index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.Resources, ID: int64(i + 1), Version: 1,
			Geometry: orb.Point{114.125 + 0.002*float64(i), 22.551},
			Props: map[string]any{"external_id": fmt.Sprintf("RS-%d", i+1), "kind": kind, "name": "资源", "subdistrict": nil, "address": nil,
				"capacity": int64(300 * (i + 1)), "open": i != 0, "contact_dept": nil}}})
	}
	ms = append(ms, index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.WaterloggingSpots, ID: 1, Version: 1,
		Geometry: orb.Point{114.121, 22.5505},
		Props: map[string]any{"external_id": "WL-1", "name": "下穿通道", "kind": "underpass", "subdistrict": nil, "warning_depth_cm": 27.0,
			"current_depth_cm": 35.0, "trend": "rising", "warning_level": "orange"}}})
	if _, err := ix.Apply(ms...); err != nil {
		t.Fatal(err)
	}
	return mustNew(t, Config{Registry: reg, Index: ix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}), ix
}

func do(t *testing.T, h http.Handler, method, target, body string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	h.ServeHTTP(rec, httptest.NewRequest(method, target, rd))
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %q is not JSON", method, target, rec.Body.String())
	}
	return rec.Code, out
}

func features(t *testing.T, fc map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, f := range fc["features"].([]any) {
		out = append(out, f.(map[string]any)["properties"].(map[string]any))
	}
	return out
}

func TestNearbyAndQuery(t *testing.T) {
	h := proximityHandler(t)
	tests := []struct {
		name, method, target, body string
		n                          int    // expected features
		first                      string // "layer/id" of the first feature
	}{
		{"k nearest", "GET", "/api/v1/nearby?lon=114.12&lat=22.55&k=3", "", 3, "risk_points/1"},
		{"default k", "GET", "/api/v1/nearby?lon=114.12&lat=22.55", "", 10, "risk_points/1"},
		{"radius", "GET", "/api/v1/nearby?lon=114.12&lat=22.55&radius=350&layers=risk_points", "", 4, "risk_points/1"},
		{"radius paged", "GET", "/api/v1/nearby?lon=114.12&lat=22.55&radius=350&layers=risk_points&limit=2&offset=1", "", 2, "risk_points/2"},
		{"grade filter", "GET", "/api/v1/nearby?lon=114.12&lat=22.55&k=2&grade=major", "", 2, "risk_points/4"},
		{"min_grade", "GET", "/api/v1/nearby?lon=114.12&lat=22.55&k=50&min_grade=significant", "", 10, "risk_points/3"},
		{"warning", "GET", "/api/v1/nearby?lon=114.12&lat=22.55&k=5&min_warning=yellow", "", 1, "waterlogging_spots/1"},
		{"open shelters", "GET", "/api/v1/nearby?lon=114.12&lat=22.55&k=5&kind=shelter&open=true", "", 1, "resources/2"},
		{"point body", "POST", "/api/v1/query", `{"geometry":{"type":"Point","coordinates":[114.12,22.55]},"k":2,"filters":{"layers":["risk_points"]}}`, 2, "risk_points/1"},
		{"route", "POST", "/api/v1/query", `{"geometry":{"type":"LineString","coordinates":[[114.1185,22.5505],[114.1205,22.5505]]},"buffer_m":80,"filters":{"layers":"risk_points"}}`, 2, "risk_points/1"},
		{"polygon", "POST", "/api/v1/query", `{"geometry":{"type":"Polygon","coordinates":[[[114.1195,22.549],[114.1235,22.549],[114.1235,22.551],[114.1195,22.549]]]},"filters":{"layers":"risk_points"}}`, 2, "risk_points/3"},
		{"bbox", "POST", "/api/v1/query", `{"bbox":[114.1205,22.549,114.1225,22.551],"filters":{"layers":"risk_points"}}`, 2, "risk_points/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, h, tt.method, tt.target, tt.body)
			if code != 200 {
				t.Fatalf("%d %v", code, body)
			}
			fs := features(t, body)
			if len(fs) != tt.n {
				t.Fatalf("%d features, want %d: %v", len(fs), tt.n, body)
			}
			if got := fmt.Sprintf("%s/%v", fs[0]["layer"], fs[0]["id"]); got != tt.first {
				t.Fatalf("first %s, want %s", got, tt.first)
			}
			last := -1.0
			for _, f := range fs {
				d, ok := f["distance_m"].(float64)
				if tt.name == "polygon" || tt.name == "bbox" {
					continue
				}
				if !ok || d < last {
					t.Fatalf("distances not ascending: %v", fs)
				}
				last = d
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	h := proximityHandler(t)
	tests := []struct {
		name, method, target, body string
		field, why                 string
	}{
		{"lon 200", "GET", "/api/v1/nearby?lon=200&lat=22.5", "", "lon", "outside -180..180"},
		{"no lat", "GET", "/api/v1/nearby?lon=114", "", "lat", "is required"},
		{"radius -1", "GET", "/api/v1/nearby?lon=114&lat=22&radius=-1", "", "radius", "outside the allowed range"},
		{"radius 100 km", "GET", "/api/v1/nearby?lon=114&lat=22&radius=100000", "", "radius", "at most 50000"},
		{"k 0", "GET", "/api/v1/nearby?lon=114&lat=22&k=0", "", "k", "outside 1..1000"},
		{"k 5000", "GET", "/api/v1/nearby?lon=114&lat=22&k=5000", "", "k", "outside 1..1000"},
		{"k text", "GET", "/api/v1/nearby?lon=114&lat=22&k=ten", "", "k", "not a whole number"},
		{"unknown layer", "GET", "/api/v1/nearby?lon=114&lat=22&layers=bridges", "", "layers", "not one of"},
		{"unknown grade", "GET", "/api/v1/nearby?lon=114&lat=22&grade=critical", "", "grade", "not one of"},
		{"unknown parameter", "GET", "/api/v1/nearby?lon=114&lat=22&colour=red", "", "colour", "unknown parameter"},
		{"twice", "GET", "/api/v1/nearby?lon=114&lat=22&lon=115", "", "lon", "more than once"},
		{"malformed JSON", "POST", "/api/v1/query", `{"geometry":`, "body", "JSON"},
		{"unknown property", "POST", "/api/v1/query", `{"geometry":{"type":"Point","coordinates":[1,2]},"radius":5}`, "radius", "unknown property"},
		{"no geometry", "POST", "/api/v1/query", `{"k":3}`, "geometry", "is required"},
		{"self-intersecting polygon", "POST", "/api/v1/query", `{"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}`, "geometry", "self-intersection"},
		{"unclosed polygon", "POST", "/api/v1/query", `{"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1]]]}}`, "geometry", "closed"},
		{"route without buffer", "POST", "/api/v1/query", `{"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`, "buffer_m", "required"},
		{"buffer on a point", "POST", "/api/v1/query", `{"geometry":{"type":"Point","coordinates":[1,1]},"buffer_m":5}`, "buffer_m", "does not apply"},
		{"k as text", "POST", "/api/v1/query", `{"geometry":{"type":"Point","coordinates":[1,1]},"k":"3"}`, "k", "must be int"},
		{"unknown filter", "POST", "/api/v1/query", `{"geometry":{"type":"Point","coordinates":[1,1]},"filters":{"colour":"red"}}`, "filters.colour", "unknown filter"},
		{"bbox upside down", "POST", "/api/v1/query", `{"bbox":[115,22,114,23]}`, "bbox", "minimum corner"},
		{"bbox and geometry", "POST", "/api/v1/query", `{"bbox":[114,22,115,23],"geometry":{"type":"Point","coordinates":[1,1]}}`, "bbox", "not both"},
		{"bad feature id", "GET", "/api/v1/features/risk_points/abc", "", "id", "not a feature id"},
		{"unknown layer path", "GET", "/api/v1/features/bridges/1", "", "layer", "unknown layer"},
		{"dispatch radius", "GET", "/api/v1/dispatch?lon=114&lat=22&radius=0", "", "radius", "outside the allowed range"},
		{"dispatch capacity", "GET", "/api/v1/dispatch?lon=114&lat=22&shelter_min_capacity=x", "", "shelter_min_capacity", "whole number"},
		{"empty search", "GET", "/api/v1/search?q=", "", "q", "1 to 100 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, h, tt.method, tt.target, tt.body)
			if code != http.StatusBadRequest || body["field"] != tt.field || !strings.Contains(fmt.Sprint(body["error"]), tt.why) {
				t.Fatalf("%d %v; want 400 field %s error ...%s...", code, body, tt.field, tt.why)
			}
		})
	}
	if code, body := do(t, h, "GET", "/api/v1/features/risk_points/999", ""); code != 404 || body["code"] != "not_found" {
		t.Fatalf("unknown feature: %d %v", code, body)
	}
}

func TestFeatureDispatchSearch(t *testing.T) {
	h := proximityHandler(t)
	code, body := do(t, h, "GET", "/api/v1/features/risk_points/4", "")
	if code != 200 || body["type"] != "Feature" || body["properties"].(map[string]any)["risk_grade"] != "major" {
		t.Fatalf("feature: %d %v", code, body)
	}
	code, body = do(t, h, "GET", "/api/v1/dispatch?lon=114.12&lat=22.55&radius=500&per_kind=2&shelter_open=true", "")
	if code != 200 {
		t.Fatalf("dispatch: %d %v", code, body)
	}
	res := body["resources"].(map[string]any)
	shelters := features(t, res["shelter"].(map[string]any))
	if len(shelters) != 1 || shelters[0]["open"] != true {
		t.Fatalf("open shelters: %v", shelters)
	}
	for _, kind := range []string{"rescue_team", "material_depot", "medical"} {
		if len(features(t, res[kind].(map[string]any))) != 1 {
			t.Fatalf("%s: %v", kind, res[kind])
		}
	}
	risks := body["risks"].(map[string]any)["risk_points"].(map[string]any)
	if risks["total"].(float64) != 5 || risks["by_grade"].(map[string]any)["low"].(float64) != 2 {
		t.Fatalf("risks: %v", risks)
	}
	warn := features(t, body["in_warning"].(map[string]any))
	if len(warn) != 1 || warn[0]["warning_level"] != "orange" {
		t.Fatalf("in warning: %v", warn)
	}
	code, body = do(t, h, "GET", "/api/v1/search?q=东门风险点1&limit=3", "")
	results := body["results"].([]any)
	if code != 200 || len(results) != 3 || results[0].(map[string]any)["name"] != "东门风险点1" {
		t.Fatalf("search: %d %v", code, body)
	}
}
