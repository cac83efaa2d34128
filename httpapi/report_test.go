package httpapi

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

// raw sends a request and returns the recorder.
func raw(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, nil)
	if rd != nil {
		req = httptest.NewRequest(method, target, rd)
	}
	h.ServeHTTP(rec, req)
	return rec
}

// idsAndDistances lists "layer/id@distance" of a FeatureCollection's features.
func idsAndDistances(t *testing.T, fc map[string]any) []string {
	t.Helper()
	var out []string
	for _, p := range features(t, fc) {
		out = append(out, fmt.Sprintf("%v/%v@%v", p["layer"], p["id"], p["distance_m"]))
	}
	return out
}

// TestReportMatchesProximityAPI: the report's list is what the proximity API answers
// for the same area — circle (GET /nearby with radius), polygon and route (POST
// /query) — and its counts add up to it.
func TestReportMatchesProximityAPI(t *testing.T) {
	h := proximityHandler(t)
	polygon := `{"type":"Polygon","coordinates":[[[114.1195,22.549],[114.1305,22.549],[114.1305,22.552],[114.1195,22.552],[114.1195,22.549]]]}`
	route := `{"type":"LineString","coordinates":[[114.118,22.5505],[114.135,22.5505]]}`
	for _, tc := range []struct {
		name              string
		report, proximity [3]string // method, target, body
	}{
		{"circle", [3]string{"GET", "/api/v1/report?lon=114.125&lat=22.55&radius=600", ""},
			[3]string{"GET", "/api/v1/nearby?lon=114.125&lat=22.55&radius=600", ""}},
		{"circle with filter", [3]string{"GET", "/api/v1/report?lon=114.125&lat=22.55&radius=600&grade=major,significant", ""},
			[3]string{"GET", "/api/v1/nearby?lon=114.125&lat=22.55&radius=600&grade=major,significant", ""}},
		{"polygon", [3]string{"POST", "/api/v1/report", `{"geometry":` + polygon + `}`},
			[3]string{"POST", "/api/v1/query", `{"geometry":` + polygon + `}`}},
		{"route", [3]string{"POST", "/api/v1/report", `{"geometry":` + route + `,"buffer_m":120,"title":"线路"}`},
			[3]string{"POST", "/api/v1/query", `{"geometry":` + route + `,"buffer_m":120}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, rep := do(t, h, tc.report[0], tc.report[1], tc.report[2])
			if code != http.StatusOK {
				t.Fatalf("report: %d %v", code, rep)
			}
			code, prox := do(t, h, tc.proximity[0], tc.proximity[1], tc.proximity[2])
			if code != http.StatusOK {
				t.Fatalf("proximity: %d %v", code, prox)
			}
			got, want := idsAndDistances(t, rep["features"].(map[string]any)), idsAndDistances(t, prox)
			if len(want) == 0 {
				t.Fatal("the area holds nothing: the test checks nothing")
			}
			if tc.name == "polygon" {
				// The query API gives no distance inside a polygon; the report, 0.
				for i := range want {
					want[i] = strings.Replace(want[i], "@<nil>", "@0", 1)
				}
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("report lists\n %v\nthe proximity API\n %v", got, want)
			}
			sum := 0.0
			for _, l := range rep["by_layer"].([]any) {
				sum += l.(map[string]any)["total"].(float64)
			}
			if int(sum) != len(want) || int(rep["total"].(float64)) != len(want) {
				t.Errorf("by_layer adds up to %v, total %v, want %d", sum, rep["total"], len(want))
			}
			if len(rep["nearest"].([]any)) != 5 {
				t.Errorf("nearest has %d layers, want all 5", len(rep["nearest"].([]any)))
			}
		})
	}
}

// TestReportFormats checks the downloads: CSV with a BOM and Chinese text, GeoJSON,
// and the HTML briefing with its map.
func TestReportFormats(t *testing.T) {
	h := proximityHandler(t)
	base := "/api/v1/report?lon=114.125&lat=22.55&radius=600"

	rec := raw(h, "GET", base+"&format=csv", "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if cd := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="riskmap-report-`) || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("csv: Content-Disposition %q", cd)
	}
	b := rec.Body.Bytes()
	if !bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		t.Fatalf("csv does not start with the UTF-8 BOM: % x", b[:min(8, len(b))])
	}
	// "图层" in UTF-8 right after the BOM.
	if !bytes.HasPrefix(b[3:], []byte{0xE5, 0x9B, 0xBE, 0xE5, 0xB1, 0x82, ','}) {
		t.Errorf("csv header does not start with 图层 in UTF-8: % x", b[3:12])
	}
	rows, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	_, rep := do(t, h, "GET", base, "")
	if len(rows)-1 != int(rep["total"].(float64)) {
		t.Errorf("csv has %d rows, the report %v features", len(rows)-1, rep["total"])
	}
	if !strings.Contains(string(b), "东门风险点") {
		t.Error("csv lacks the Chinese names")
	}

	rec = raw(h, "GET", base+"&format=geojson&lang=en", "")
	var fc struct {
		Type     string           `json:"type"`
		Features []map[string]any `json:"features"`
		Report   map[string]any   `json:"report"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &fc); err != nil || rec.Header().Get("Content-Type") != geojsonType {
		t.Fatalf("geojson: %v %q", err, rec.Header().Get("Content-Type"))
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != len(rows)-1 || fc.Report["total"] != rep["total"] {
		t.Errorf("geojson: %q, %d features, report %v", fc.Type, len(fc.Features), fc.Report["total"])
	}

	rec = raw(h, "GET", base+"&format=html&title="+url.QueryEscape("<script>东门改造</script>"), "")
	html := rec.Body.String()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("html: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !strings.Contains(html, "<svg") || !strings.Contains(html, "&lt;script&gt;东门改造&lt;/script&gt;") || strings.Contains(html, "<script>") {
		t.Error("html: no map, or the title is not escaped")
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("html: CSP %q", csp)
	}
}

// TestReportGCJ02 takes coordinates as a Chinese map app shows them.
func TestReportGCJ02(t *testing.T) {
	h := proximityHandler(t)
	p := orb.Point{114.125, 22.55}
	g := geo.WGS84ToGCJ02(p)
	_, wgs := do(t, h, "GET", "/api/v1/report?lon=114.125&lat=22.55&radius=600", "")
	_, gcj := do(t, h, "GET", fmt.Sprintf("/api/v1/report?lon=%.9f&lat=%.9f&radius=600&crs=gcj02", g[0], g[1]), "")
	c := gcj["area"].(map[string]any)["center"].([]any)
	if math.Abs(c[0].(float64)-p[0]) > 1e-6 || math.Abs(c[1].(float64)-p[1]) > 1e-6 {
		t.Errorf("gcj02 input centered at %v, want %v", c, p)
	}
	if gcj["area"].(map[string]any)["input_crs"] != "gcj02" {
		t.Error("input_crs not gcj02")
	}
	// The same features; distances may differ by what the inverse transform leaves
	// (well under a millimetre).
	if a, b := idsAndDistances(t, gcj["features"].(map[string]any)), idsAndDistances(t, wgs["features"].(map[string]any)); len(a) != len(b) || len(a) == 0 {
		t.Errorf("gcj02 input lists %d features, wgs84 %d", len(a), len(b))
	}
	route := fmt.Sprintf(`{"geometry":{"type":"LineString","coordinates":[[%.9f,%.9f],[%.9f,%.9f]]},"buffer_m":100}`, g[0], g[1], g[0]+0.01, g[1])
	code, body := do(t, h, "POST", "/api/v1/report?crs=gcj02", route)
	if code != http.StatusOK {
		t.Fatalf("gcj02 route: %d %v", code, body)
	}
	coords := body["area"].(map[string]any)["geometry"].(map[string]any)["coordinates"].([]any)[0].([]any)
	if math.Abs(coords[0].(float64)-p[0]) > 1e-6 {
		t.Errorf("gcj02 route starts at %v, want %v", coords, p)
	}
}

// TestReportBadInput: every bad parameter or body gets a 400 naming it.
func TestReportBadInput(t *testing.T) {
	h := proximityHandler(t)
	for _, tc := range []struct {
		method, target, body, field string
	}{
		{"GET", "/api/v1/report?lon=114.12&lat=22.55&format=pdf", "", "format"},
		{"GET", "/api/v1/report?lon=114.12&lat=22.55&lang=fr", "", "lang"},
		{"GET", "/api/v1/report?lon=114.12&lat=22.55&crs=bd09", "", "crs"},
		{"GET", "/api/v1/report?lon=114.12&lat=22.55&radius=-5", "", "radius"},
		{"GET", "/api/v1/report?lon=114.12&lat=22.55&radius=60000", "", "radius"},
		{"GET", "/api/v1/report?lat=22.55", "", "lon"},
		{"GET", "/api/v1/report?lon=200&lat=22.55", "", "lon"},
		{"GET", "/api/v1/report?lon=114.12&lat=22.55&k=3", "", "k"},
		{"GET", "/api/v1/report?lon=114.12&lat=22.55&grade=huge", "", "grade"},
		{"GET", "/api/v1/report?lon=114.12&lat=22.55&title=" + strings.Repeat("长", 101), "", "title"},
		{"GET", "/api/v1/report?lon=114.12&lat=22.55&format=csv&format=json", "", "format"},
		{"POST", "/api/v1/report", `not json`, "body"},
		{"POST", "/api/v1/report", `{"geometry":{"type":"Point","coordinates":[114.12,22.55]},"k":3}`, "k"},
		{"POST", "/api/v1/report", `{"geometry":{"type":"LineString","coordinates":[[114.12,22.55],[114.13,22.55]]}}`, "buffer_m"},
		{"POST", "/api/v1/report", `{"geometry":{"type":"Polygon","coordinates":[[[114.12,22.55],[114.13,22.56],[114.13,22.55],[114.12,22.56],[114.12,22.55]]]}}`, "geometry"},
		{"POST", "/api/v1/report", `{"geometry":{"type":"Point","coordinates":[114.12,22.55]},"title":7}`, "title"},
		{"POST", "/api/v1/report", `{"geometry":{"type":"Point","coordinates":[114.12,22.55]},"filters":{"grade":"huge"}}`, "grade"},
		{"POST", "/api/v1/report?title=x", `{"geometry":{"type":"Point","coordinates":[114.12,22.55]}}`, "title"},
		{"POST", "/api/v1/report", `{}`, "geometry"},
	} {
		code, body := do(t, h, tc.method, tc.target, tc.body)
		if code != http.StatusBadRequest || body["field"] != tc.field && !strings.HasSuffix(fmt.Sprint(body["field"]), tc.field) {
			t.Errorf("%s %s %s: %d %v, want 400 naming %s", tc.method, tc.target, tc.body, code, body, tc.field)
		}
	}
}
