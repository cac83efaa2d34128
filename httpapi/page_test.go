package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"riskmap/feature"
	"riskmap/geo"
	"riskmap/index"
	"riskmap/layers"
)

// The wall map's routes: GET /api/v1/config, /api/v1/basemap and /api/v1/stats.

// labelPoint is the offline basemap's one label in pageHandler's fixture.
var labelPoint = orb.Point{114.1178, 22.5442}

// pageBasemap is a small offline basemap: an outline and one road label (WGS84).
func pageBasemap() *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	outline := geojson.NewFeature(orb.Polygon{{{114.10, 22.53}, {114.16, 22.53}, {114.16, 22.58}, {114.10, 22.58}, {114.10, 22.53}}})
	outline.Properties["role"] = "outline"
	outline.Properties["name"] = "罗湖区"
	fc.Append(outline)
	label := geojson.NewFeature(labelPoint)
	label.Properties["role"] = "label"
	label.Properties["name"] = "深南东路"
	fc.Append(label)
	return fc
}

// pageHandler serves proximityHandlerIndex's index with the basemap bm.
func pageHandler(t testing.TB, bm Basemap) (http.Handler, *index.Index) {
	t.Helper()
	_, ix := proximityHandlerIndex(t)
	h := mustNew(t, Config{Registry: layers.New(), Index: ix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Basemap: bm})
	return h, ix
}

func TestPageConfig(t *testing.T) {
	const tiles = "https://t0.example.test/tiles/{z}/{x}/{y}.png"
	tests := []struct {
		name       string
		bm         Basemap
		token      string
		wantCRS    string
		wantRaster *rasterBasemap
	}{
		{name: "offline only", bm: Basemap{Features: pageBasemap()}, wantCRS: "wgs84"},
		{name: "offline, crs gcj02 without raster", bm: Basemap{CRS: "gcj02", Features: pageBasemap()}, wantCRS: "gcj02"},
		{name: "tianditu wgs84", bm: Basemap{URL: tiles, CRS: "wgs84", Attribution: "天地图", Features: pageBasemap()},
			wantCRS: "wgs84", wantRaster: &rasterBasemap{URL: tiles, Attribution: "天地图", MaxZoom: 18}},
		{name: "amap gcj02 max zoom", bm: Basemap{URL: tiles, CRS: "gcj02", MaxZoom: 17},
			wantCRS: "gcj02", wantRaster: &rasterBasemap{URL: tiles, MaxZoom: 17}},
		{name: "empty crs is wgs84", bm: Basemap{URL: tiles}, wantCRS: "wgs84", wantRaster: &rasterBasemap{URL: tiles, MaxZoom: 18}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := pageHandler(t, tt.bm)
			rec := fetch(t, h, "/api/v1/config", nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			var c pageConfig
			if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
				t.Fatal(err)
			}
			if c.CRS != tt.wantCRS || c.Outline != "/api/v1/basemap?crs="+tt.wantCRS || c.Style != "/styles/riskmap.json" {
				t.Errorf("crs %q outline %q style %q; want crs %q", c.CRS, c.Outline, c.Style, tt.wantCRS)
			}
			switch {
			case tt.wantRaster == nil && c.Basemap != nil:
				t.Errorf("raster basemap %+v, want none", c.Basemap)
			case tt.wantRaster != nil && (c.Basemap == nil || *c.Basemap != *tt.wantRaster):
				t.Errorf("raster basemap %+v, want %+v", c.Basemap, tt.wantRaster)
			}
			if tt.wantRaster == nil {
				var raw map[string]any
				_ = json.Unmarshal(rec.Body.Bytes(), &raw)
				if _, ok := raw["raster_basemap"]; ok {
					t.Errorf("raster_basemap present without a raster basemap: %s", rec.Body)
				}
			}
			// The index's features: Dongmen, around 114.12–114.133, 22.55–22.5505.
			if b := c.Bounds; b == nil || b[0] > 114.1201 || b[2] < 114.1329 || b[1] > 22.5501 || b[3] < 22.551 {
				t.Errorf("bounds %v do not hold the index's features", c.Bounds)
			}
			if c.Writes {
				t.Error("writes true without a write token")
			}
		})
	}
	if _, err := New(Config{Registry: layers.New(), Index: index.New(layers.New()), Basemap: Basemap{CRS: "bd09"}}); err == nil {
		t.Error("New accepted basemap CRS bd09")
	}
}

// coords reads the basemap's label point and outline's first vertex.
func basemapCoords(t *testing.T, body []byte) (label, vertex orb.Point) {
	t.Helper()
	fc, err := geojson.UnmarshalFeatureCollection(body)
	if err != nil {
		t.Fatalf("not a GeoJSON feature collection: %v: %s", err, body)
	}
	if len(fc.Features) != 2 {
		t.Fatalf("%d features, want 2", len(fc.Features))
	}
	for _, f := range fc.Features {
		switch f.Properties["role"] {
		case "label":
			label = f.Geometry.(orb.Point)
			if f.Properties["name"] != "深南东路" {
				t.Errorf("label name %v", f.Properties["name"])
			}
		case "outline":
			vertex = f.Geometry.(orb.Polygon)[0][0]
		default:
			t.Errorf("feature role %v", f.Properties["role"])
		}
	}
	return label, vertex
}

func near(a, b orb.Point) bool { return math.Abs(a[0]-b[0]) < 1e-9 && math.Abs(a[1]-b[1]) < 1e-9 }

func TestBasemapRoute(t *testing.T) {
	h, _ := pageHandler(t, Basemap{Features: pageBasemap()})
	shiftedLabel := geo.WGS84ToGCJ02(labelPoint)
	shiftedVertex := geo.WGS84ToGCJ02(orb.Point{114.10, 22.53})
	// The GCJ-02 offset in Shenzhen is several hundred metres: the shift must show.
	if d := geo.Distance(labelPoint, shiftedLabel); d < 200 || d > 1000 {
		t.Fatalf("GCJ-02 offset %v m, not the few hundred metres expected in Shenzhen", d)
	}
	for _, tt := range []struct {
		query         string
		label, vertex orb.Point
	}{
		{"", labelPoint, orb.Point{114.10, 22.53}},
		{"?crs=wgs84", labelPoint, orb.Point{114.10, 22.53}},
		{"?crs=gcj02", shiftedLabel, shiftedVertex},
	} {
		rec := fetch(t, h, "/api/v1/basemap"+tt.query, nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/geo+json" {
			t.Errorf("%s: %d %q", tt.query, rec.Code, rec.Header().Get("Content-Type"))
			continue
		}
		label, vertex := basemapCoords(t, rec.Body.Bytes())
		if !near(label, tt.label) || !near(vertex, tt.vertex) {
			t.Errorf("%s: label %v outline %v, want %v %v", tt.query, label, vertex, tt.label, tt.vertex)
		}
	}
	// The server's basemap is not changed by serving it shifted.
	if label, _ := basemapCoords(t, fetch(t, h, "/api/v1/basemap", nil).Body.Bytes()); !near(label, labelPoint) {
		t.Errorf("after a gcj02 request the wgs84 label is %v", label)
	}

	// No basemap: an empty collection.
	empty, _ := pageHandler(t, Basemap{})
	if rec := fetch(t, empty, "/api/v1/basemap?crs=gcj02", nil); rec.Code != http.StatusOK {
		t.Errorf("no basemap: %d", rec.Code)
	} else if fc, err := geojson.UnmarshalFeatureCollection(rec.Body.Bytes()); err != nil || len(fc.Features) != 0 {
		t.Errorf("no basemap: %v %s", err, rec.Body)
	}
}

func TestPageRoutesBadInput(t *testing.T) {
	h, _ := pageHandler(t, Basemap{Features: pageBasemap()})
	for _, tt := range []struct{ path, field string }{
		{"/api/v1/basemap?crs=bd09", "crs"},
		{"/api/v1/basemap?crs=GCJ02", "crs"},
		{"/api/v1/basemap?crs=", ""}, // empty is the default wgs84: no error
		{"/api/v1/basemap?crs=wgs84&crs=gcj02", "crs"},
		{"/api/v1/basemap?zoom=3", "zoom"},
		{"/api/v1/config?crs=gcj02", "crs"},
		{"/api/v1/config?x=1", "x"},
		{"/api/v1/stats?layer=slopes", "layer"},
	} {
		code, body := do(t, h, http.MethodGet, tt.path, "")
		if tt.field == "" {
			if code != http.StatusOK {
				t.Errorf("%s: %d %v, want 200", tt.path, code, body)
			}
			continue
		}
		if code != http.StatusBadRequest || body["field"] != tt.field || body["error"] == "" || body["code"] == "" {
			t.Errorf("%s: %d %v, want 400 naming %q", tt.path, code, body, tt.field)
		}
	}
	if code, body := do(t, h, http.MethodPost, "/api/v1/stats", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/v1/stats: %d %v", code, body)
	}
}

func TestStats(t *testing.T) {
	h, ix := pageHandler(t, Basemap{})
	code, body := do(t, h, http.MethodGet, "/api/v1/stats", "")
	if code != http.StatusOK {
		t.Fatalf("%d %v", code, body)
	}
	var got struct {
		Layers map[string]layerStats `json:"layers"`
	}
	b, _ := json.Marshal(body)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// What the fixture holds: 20 risk points, 5 of each grade; 5 resources; one
	// waterlogging spot at orange; no slopes or roads.
	want := map[string]layerStats{
		layers.RiskPoints:        {Count: 20, ByGrade: map[string]int{"low": 5, "general": 5, "significant": 5, "major": 5}},
		layers.Resources:         {Count: 5},
		layers.WaterloggingSpots: {Count: 1, ByWarning: map[string]int{"orange": 1}},
		layers.Slopes:            {},
		layers.RectifiedRoads:    {},
	}
	if len(got.Layers) != len(want) {
		t.Errorf("layers %v, want %d", got.Layers, len(want))
	}
	reg := layers.New()
	world := orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
	for name, w := range want {
		g, ok := got.Layers[name]
		if !ok {
			t.Errorf("layer %s missing", name)
			continue
		}
		if g.Count != w.Count || !sameCounts(g.ByGrade, w.ByGrade) || !sameCounts(g.ByWarning, w.ByWarning) {
			t.Errorf("%s: %+v, want %+v", name, g, w)
		}
		// And the index agrees, grade by grade and level by level.
		n, grades, levels := 0, map[string]int{}, map[string]int{}
		if err := ix.Visit(name, world, index.Filter{MinCapacity: -1}, func(r *index.Record) bool {
			n++
			if r.Grade >= 0 {
				grades[reg.RiskGrades().Choices[r.Grade].Code]++
			}
			if r.Warning >= 0 {
				levels[reg.WarningLevels().Choices[r.Warning].Code]++
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if n != g.Count || !sameCounts(grades, g.ByGrade) || !sameCounts(levels, g.ByWarning) {
			t.Errorf("%s: stats %+v, the index %d %v %v", name, g, n, grades, levels)
		}
	}

	// A change to the index shows in the next answer.
	h2, ix2 := pageHandler(t, Basemap{})
	if _, err := ix2.Apply(index.Mutation{Op: feature.Delete, Feature: feature.Feature{Layer: layers.RiskPoints, ID: 4, Version: 2}}); err != nil {
		t.Fatal(err)
	}
	_, body = do(t, h2, http.MethodGet, "/api/v1/stats", "")
	rp := body["layers"].(map[string]any)[layers.RiskPoints].(map[string]any)
	if rp["count"] != 19.0 || rp["by_grade"].(map[string]any)["major"] != 4.0 {
		t.Errorf("after deleting a major risk point: %v", rp)
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestGlyphs(t *testing.T) {
	h, _ := pageHandler(t, Basemap{})
	rec := fetch(t, h, "/api/v1/glyphs/Noto%20Sans%20Regular/0-255.pbf", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/x-protobuf" || rec.Body.Len() != 0 {
		t.Errorf("glyphs: %d %q %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
}

// FuzzBasemapQuery: any query string of GET /api/v1/basemap gives either the
// basemap (GeoJSON) or a 400 JSON error naming the parameter; never a panic or a 500.
func FuzzBasemapQuery(f *testing.F) {
	for _, s := range []string{"", "crs=gcj02", "crs=wgs84", "crs=bd09", "crs=gcj02&crs=wgs84", "crs=%zz", "zoom=1", "crs"} {
		f.Add(s)
	}
	h, _ := pageHandler(f, Basemap{Features: pageBasemap()})
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := http.NewRequest(http.MethodGet, "/api/v1/basemap?"+raw, nil)
		if err != nil {
			return
		}
		v, err := url.ParseQuery(req.URL.RawQuery)
		if err != nil {
			return // not a query the router would pass on as such
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if _, err := geojson.UnmarshalFeatureCollection(rec.Body.Bytes()); err != nil {
				t.Fatalf("%q: 200 with %v", raw, err)
			}
		case http.StatusBadRequest:
			var e map[string]any
			err := json.Unmarshal(rec.Body.Bytes(), &e)
			// The field is one of the query's names (which may be "", as in "=1";
			// JSON writes invalid UTF-8 as U+FFFD).
			field, _ := e["field"].(string)
			named := false
			for k := range v {
				b, _ := json.Marshal(k)
				var asJSON string
				_ = json.Unmarshal(b, &asJSON)
				named = named || asJSON == field
			}
			if err != nil || e["error"] == "" || !named {
				t.Fatalf("%q: 400 %s names no parameter", raw, rec.Body)
			}
		default:
			t.Fatalf("%q: %d %s", raw, rec.Code, rec.Body)
		}
	})
}
