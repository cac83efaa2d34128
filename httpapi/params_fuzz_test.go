package httpapi

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
)

// fuzzGetRoutes are the read routes whose query parameters come from outside and
// need no store.
var fuzzGetRoutes = []string{
	"/api/v1/nearby",
	"/api/v1/dispatch",
	"/api/v1/search",
	"/api/v1/report",
	"/api/v1/layers",
	"/api/v1/features/risk_points/3",
	"/tiles/all.json",
}

// FuzzGetQuery: any query string of a read route gives a JSON answer, or a JSON 4xx
// whose error body says what is wrong and names the parameter at fault ("" for a
// parameter without a name) — never a
// panic or a 5xx. A nearby answer has at most MaxK features, each with a finite
// distance_m ≥ 0, nearest first, and within the radius asked.
func FuzzGetQuery(f *testing.F) {
	h := proximityHandler(f)
	for _, q := range []string{
		"lon=114.125&lat=22.55&k=3",
		"lon=114.125&lat=22.55&radius=500&limit=2&offset=1&grade=major,general",
		"lon=114.125&lat=22.55&radius=1e9",
		"lon=NaN&lat=22.55",
		"lon=114.125&lat=22.55&k=0",
		"lon=114.125&lat=22.55&k=3&radius=120&layers=resources&kind=shelter&open=true&min_capacity=300",
		"lon=114.125&lat=22.55&min_warning=yellow&layers=waterlogging_spots",
		"q=东门&limit=5", "q=&limit=-1", "bbox=114,22,115,23&crs=gcj02",
		"lon=114.125&lat=22.55&resources=3&risks=5", "x=1&x=2", "%zz", "lon=1e309&lat=-0",
	} {
		for i := range fuzzGetRoutes {
			f.Add(uint8(i), q)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, rawQuery string) {
		path := fuzzGetRoutes[int(route)%len(fuzzGetRoutes)]
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.URL.RawQuery = rawQuery
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		switch {
		case rec.Code == http.StatusOK:
			if !json.Valid(body) {
				t.Fatalf("%s?%s: 200 with a body that is not JSON: %.200s", path, rawQuery, body)
			}
		case rec.Code == http.StatusNotModified:
		case rec.Code >= 400 && rec.Code < 500:
			var eb errorBody
			if err := json.Unmarshal(body, &eb); err != nil || eb.Error == "" || eb.Code == "" {
				t.Fatalf("%s?%s: %d with an error body %.200s (%v)", path, rawQuery, rec.Code, body, err)
			}
			// The field names the parameter: "" only for a parameter of that
			// name ("?=1"), as FuzzBasemapQuery has it.
			// The values as the server reads them (r.URL.Query() keeps what parses).
			if v, _ := url.ParseQuery(rawQuery); (eb.Code == "bad_request" || eb.Code == "bad_filter") && eb.Field == "" && !v.Has("") {
				t.Fatalf("%s?%s: %s names no parameter: %s", path, rawQuery, eb.Code, body)
			}
			return
		default:
			t.Fatalf("%s?%s: status %d: %.300s", path, rawQuery, rec.Code, body)
		}
		if path != "/api/v1/nearby" || rec.Code != http.StatusOK {
			return
		}
		var fc struct {
			Type     string `json:"type"`
			Features []struct {
				Properties map[string]any `json:"properties"`
			} `json:"features"`
		}
		if err := json.Unmarshal(body, &fc); err != nil || fc.Type != "FeatureCollection" {
			t.Fatalf("nearby?%s: %v %.200s", rawQuery, err, body)
		}
		if len(fc.Features) > MaxK {
			t.Fatalf("nearby?%s: %d features, more than %d", rawQuery, len(fc.Features), MaxK)
		}
		v, _ := url.ParseQuery(rawQuery)
		radius := math.Inf(1)
		if r, err := strconv.ParseFloat(v.Get("radius"), 64); err == nil && v.Has("radius") {
			radius = r
		}
		last := 0.0
		for i, ft := range fc.Features {
			d, ok := ft.Properties["distance_m"].(float64)
			if !ok || math.IsNaN(d) || d < 0 || d < last-1e-6 {
				t.Fatalf("nearby?%s: feature %d distance_m %v after %v", rawQuery, i, ft.Properties["distance_m"], last)
			}
			// distance_m is rounded in the answer: allow its last digit.
			if d > radius+0.01 {
				t.Fatalf("nearby?%s: feature %d at %v m, beyond the radius %v", rawQuery, i, d, radius)
			}
			last = d
		}
	})
}
