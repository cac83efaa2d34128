package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"riskmap/feature"
	"riskmap/index"
	"riskmap/layers"
)

// tileAt is the path of the z tile holding p, for the layers segment.
func tileAt(layersSeg string, p orb.Point, z int) string {
	t := maptile.At(p, maptile.Zoom(z))
	return fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", layersSeg, t.Z, t.X, t.Y)
}

func fetch(t *testing.T, h http.Handler, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var dongmen = orb.Point{114.125, 22.5505}

func TestTileResponse(t *testing.T) {
	h := proximityHandler(t)
	path := tileAt("all", dongmen, 15)
	rec := fetch(t, h, path, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	hd := rec.Header()
	if hd.Get("Content-Type") != "application/vnd.mapbox-vector-tile" || hd.Get("Cache-Control") != "no-cache" ||
		hd.Get("Vary") != "Accept-Encoding" || hd.Get("Content-Encoding") != "" {
		t.Errorf("headers: %v", hd)
	}
	etag := hd.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 4 {
		t.Errorf("ETag %q is not a strong tag", etag)
	}
	ls, err := mvt.Unmarshal(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.Name)
	}
	if want := []string{layers.RiskPoints, layers.WaterloggingSpots, layers.Resources}; !slices.Equal(names, want) {
		t.Errorf("layers %v, want %v (registry order, empty layers left out)", names, want)
	}

	// Revalidation: the same ETag gives 304 without a body.
	rec304 := fetch(t, h, path, map[string]string{"If-None-Match": etag})
	if rec304.Code != http.StatusNotModified || rec304.Body.Len() != 0 || rec304.Header().Get("ETag") != etag {
		t.Errorf("If-None-Match: %d, %d bytes, ETag %q", rec304.Code, rec304.Body.Len(), rec304.Header().Get("ETag"))
	}
	if r := fetch(t, h, path, map[string]string{"If-None-Match": `"other", W/` + etag}); r.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with a list: %d", r.Code)
	}

	// gzip: the same bytes compressed, another ETag.
	gz := fetch(t, h, path, map[string]string{"Accept-Encoding": "br;q=1, gzip;q=0.8"})
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("ETag") == etag {
		t.Fatalf("gzip headers: %v", gz.Header())
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, rec.Body.Bytes()) {
		t.Fatalf("gzip body does not decompress to the tile (%v)", err)
	}
	if r := fetch(t, h, path, map[string]string{"Accept-Encoding": "gzip;q=0, *"}); r.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still gzipped")
	}

	// HEAD: headers only.
	req := httptest.NewRequest(http.MethodHead, path, nil)
	hr := httptest.NewRecorder()
	h.ServeHTTP(hr, req)
	if hr.Code != http.StatusOK || hr.Body.Len() != 0 || hr.Header().Get("Content-Length") != strconv.Itoa(rec.Body.Len()) {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %q", hr.Code, hr.Body.Len(), hr.Header().Get("Content-Length"))
	}

	// Empty tile: 200 with an empty body, never gzip.
	empty := fetch(t, h, "/tiles/all/15/0/0.mvt", map[string]string{"Accept-Encoding": "gzip"})
	if empty.Code != http.StatusOK || empty.Body.Len() != 0 || empty.Header().Get("Content-Encoding") != "" ||
		empty.Header().Get("Content-Length") != "0" {
		t.Errorf("empty tile: %d, %d bytes, %v", empty.Code, empty.Body.Len(), empty.Header())
	}
}

func TestTileFilterAndChanges(t *testing.T) {
	h, ix := proximityHandlerIndex(t)
	path := tileAt(layers.RiskPoints, dongmen, 16)
	ls, err := mvt.Unmarshal(fetch(t, h, path+"?grade=major,significant", nil).Body.Bytes())
	if err != nil || len(ls) != 1 {
		t.Fatalf("%v, %d layers", err, len(ls))
	}
	for _, f := range ls[0].Features {
		if g := f.Properties["risk_grade"]; g != "major" && g != "significant" {
			t.Errorf("grade filter let %v through", g)
		}
	}
	if n := len(ls[0].Features); n == 0 || n >= 20 {
		t.Errorf("%d features after the grade filter", n)
	}

	// A change is in the next response: new ETag, new content.
	before := fetch(t, h, path, nil)
	r, _, _ := ix.Get(layers.RiskPoints, 3)
	if _, err := ix.Apply(index.Mutation{Op: feature.Delete, Feature: feature.Feature{Layer: layers.RiskPoints, ID: r.ID}}); err != nil {
		t.Fatal(err)
	}
	after := fetch(t, h, path, map[string]string{"If-None-Match": before.Header().Get("ETag")})
	if after.Code != http.StatusOK || after.Header().Get("ETag") == before.Header().Get("ETag") {
		t.Fatalf("after a delete: %d, ETag unchanged=%v", after.Code, after.Header().Get("ETag") == before.Header().Get("ETag"))
	}
	ls, _ = mvt.Unmarshal(after.Body.Bytes())
	for _, f := range ls[0].Features {
		if f.Properties["id"] == float64(r.ID) {
			t.Fatal("deleted feature still in the tile")
		}
	}
}

func TestTileBadInput(t *testing.T) {
	h := proximityHandler(t)
	cases := []struct{ target, field string }{
		{"/tiles/all/23/0/0.mvt", "z"},
		{"/tiles/all/-1/0/0.mvt", "z"},
		{"/tiles/all/a/0/0.mvt", "z"},
		{"/tiles/all/03/0/0.mvt", "z"},
		{"/tiles/all/3/8/0.mvt", "x"},
		{"/tiles/all/3/0/8.mvt", "y"},
		{"/tiles/all/3/0/1.5.mvt", "y"},
		{"/tiles/all/99999999999/0/0.mvt", "z"},
		{"/tiles/nope/1/0/0.mvt", "layers"},
		{"/tiles/risk_points,risk_points/1/0/0.mvt", "layers"},
		{"/tiles/risk_points,/1/0/0.mvt", "layers"},
		{"/tiles/all/1/0/0.mvt?grade=purple", "grade"},
		{"/tiles/all/1/0/0.mvt?crs=bd09", "crs"},
		{"/tiles/all/1/0/0.mvt?cluster=maybe", "cluster"},
		{"/tiles/all/1/0/0.mvt?layers=slopes", "layers"},
		{"/tiles/all/1/0/0.mvt?foo=1", "foo"},
		{"/tiles/all/1/0/0.mvt?grade=major&grade=low", "grade"},
		{"/tiles/nope.json", "layers"},
		{"/tiles/all.json?crs=x", "crs"},
		{"/styles/riskmap.json?x=1", "x"},
	}
	for _, tc := range cases {
		rec := fetch(t, h, tc.target, nil)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", tc.target, rec.Code, rec.Body)
			continue
		}
		if body["field"] != tc.field || body["error"] == "" {
			t.Errorf("%s: field %v, want %s (%v)", tc.target, body["field"], tc.field, body["error"])
		}
	}
}

func TestTileJSONAndStyle(t *testing.T) {
	h := proximityHandler(t)
	rec := fetch(t, h, "/tiles/risk_points,resources.json?grade=major", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var tj struct {
		TileJSON     string     `json:"tilejson"`
		Tiles        []string   `json:"tiles"`
		Bounds       [4]float64 `json:"bounds"`
		Center       [3]float64 `json:"center"`
		MinZoom      int        `json:"minzoom"`
		MaxZoom      int        `json:"maxzoom"`
		VectorLayers []struct {
			ID     string            `json:"id"`
			Fields map[string]string `json:"fields"`
		} `json:"vector_layers"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tj); err != nil {
		t.Fatal(err)
	}
	if want := "http://example.com/tiles/risk_points,resources/{z}/{x}/{y}.mvt?grade=major"; len(tj.Tiles) != 1 || tj.Tiles[0] != want {
		t.Errorf("tiles %v, want [%s]", tj.Tiles, want)
	}
	if tj.TileJSON != "3.0.0" || tj.MinZoom != 0 || tj.MaxZoom != 22 || len(tj.VectorLayers) != 2 {
		t.Errorf("tilejson %+v", tj)
	}
	if tj.VectorLayers[0].ID != layers.RiskPoints || tj.VectorLayers[0].Fields["risk_grade"] == "" || tj.VectorLayers[0].Fields["count"] == "" {
		t.Errorf("vector layer %+v", tj.VectorLayers[0])
	}
	b := orb.Bound{Min: orb.Point{tj.Bounds[0], tj.Bounds[1]}, Max: orb.Point{tj.Bounds[2], tj.Bounds[3]}}
	if !b.Contains(dongmen) || b.Max[0]-b.Min[0] > 0.1 || !b.Contains(orb.Point{tj.Center[0], tj.Center[1]}) {
		t.Errorf("bounds %v center %v", tj.Bounds, tj.Center)
	}

	req := httptest.NewRequest(http.MethodGet, "/styles/riskmap.json", nil)
	req.Host = "wall.example:8080"
	req.Header.Set("X-Forwarded-Proto", "https")
	sr := httptest.NewRecorder()
	h.ServeHTTP(sr, req)
	var style struct {
		Version int `json:"version"`
		Sources map[string]struct {
			Type, URL string
		} `json:"sources"`
		Layers []struct {
			ID          string         `json:"id"`
			Source      string         `json:"source"`
			SourceLayer string         `json:"source-layer"`
			Paint       map[string]any `json:"paint"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(sr.Body.Bytes(), &style); err != nil {
		t.Fatal(err)
	}
	if style.Version != 8 || style.Sources["riskmap"].URL != "https://wall.example:8080/tiles/all.json" {
		t.Errorf("style %d, source %+v", style.Version, style.Sources)
	}
	reg := layers.New()
	drawn := map[string]bool{}
	for _, l := range style.Layers {
		if _, err := reg.Layer(l.SourceLayer); err != nil || l.Source != "riskmap" {
			t.Errorf("style layer %s draws %s from %s", l.ID, l.SourceLayer, l.Source)
		}
		drawn[l.SourceLayer] = true
	}
	for _, l := range reg.Layers() {
		if !drawn[l.Name] {
			t.Errorf("the style does not draw %s", l.Name)
		}
	}
	// The registry's colors, both scales.
	body := sr.Body.String()
	for _, c := range append(reg.RiskGrades().Choices, reg.WarningLevels().Choices...) {
		if !strings.Contains(body, c.Color) {
			t.Errorf("color %s of %s missing from the style", c.Color, c.Code)
		}
	}
}
