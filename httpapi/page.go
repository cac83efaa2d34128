package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"riskmap/geo"
	"riskmap/index"
)

// The wall map: the page app (package static) at / and its files under /app/, the
// page's configuration (GET /api/v1/config), the offline basemap (GET
// /api/v1/basemap) and the live counts (GET /api/v1/stats).

// Basemap configures the map's background.
type Basemap struct {
	// URL is an optional raster tile URL template ({z}/{x}/{y}, and {s} is not
	// supported); empty: the offline basemap only.
	URL string
	// CRS is the raster basemap's coordinate system: "wgs84" (also CGCS2000, e.g.
	// Tianditu) or "gcj02" (AMap, Tencent); with gcj02 the page asks for crs=gcj02
	// tiles and the offline basemap comes shifted to GCJ-02 too.
	CRS string
	// Attribution is shown under the map for the raster basemap.
	Attribution string
	// MaxZoom is the raster basemap's deepest zoom; 0 means 18.
	MaxZoom int
	// Features is the offline basemap: GeoJSON features in WGS84 drawn under the
	// layers (the district outline, the area outside it, road names). Each has a
	// "role" property: "outline", "outside" or "label".
	Features *geojson.FeatureCollection
}

// pageConfig is GET /api/v1/config: what the page needs to know of the server.
type pageConfig struct {
	// CRS is the coordinate system the page draws in: wgs84, or gcj02 when the
	// raster basemap is GCJ-02 (then tiles and the basemap are asked with crs=gcj02
	// and positions from the API are shifted by the page).
	CRS     string         `json:"crs"`
	Style   string         `json:"style"`
	Basemap *rasterBasemap `json:"raster_basemap,omitempty"`
	Outline string         `json:"outline"`
	Bounds  *[4]float64    `json:"bounds,omitempty"`
	Writes  bool           `json:"writes"`
}

type rasterBasemap struct {
	URL         string `json:"url"`
	Attribution string `json:"attribution,omitempty"`
	MaxZoom     int    `json:"max_zoom"`
}

// staticFiles serves the embedded page with a strong ETag per file and
// Cache-Control: no-cache, so a new binary's page is never mixed with an old one.
type staticFiles struct {
	fsys  fs.FS
	etags map[string]string // clean path without leading slash → quoted ETag
	files http.Handler
}

func newStaticFiles(fsys fs.FS) (*staticFiles, error) {
	sf := &staticFiles{fsys: fsys, etags: map[string]string{}, files: http.FileServerFS(fsys)}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		sf.etags[p] = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("httpapi: the page's files: %w", err)
	}
	return sf, nil
}

// serve answers GET / (index.html) and /app/{file}.
func (sf *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(r.URL.Path, "/app")), "/")
	if r.URL.Path == "/" {
		p = "index.html"
	}
	tag, ok := sf.etags[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("ETag", tag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	// Every file of the page, not only index.html: MapLibre's worker script
	// (/app/vendor/...) runs under its own response's policy and fetches tiles.
	h.Set("Content-Security-Policy", pageCSP)
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + p
	if p == "index.html" {
		r2.URL.Path = "/"
	}
	sf.files.ServeHTTP(w, r2)
}

// config: GET /api/v1/config — the page's configuration.
func (s *server) config(w http.ResponseWriter, r *http.Request) error {
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	c := pageConfig{CRS: s.crs(), Style: "/styles/riskmap.json", Outline: "/api/v1/basemap?crs=" + s.crs(), Writes: s.writeToken != ""}
	if s.basemap.URL != "" {
		mz := s.basemap.MaxZoom
		if mz == 0 {
			mz = 18
		}
		c.Basemap = &rasterBasemap{URL: s.basemap.URL, Attribution: s.basemap.Attribution, MaxZoom: mz}
	}
	if b, ok := s.ix.Bounds(nil); ok {
		c.Bounds = &[4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *server) crs() string {
	if s.basemap.CRS == "gcj02" {
		return "gcj02"
	}
	return "wgs84"
}

// basemapRoute: GET /api/v1/basemap?crs=wgs84|gcj02 — the offline basemap as
// GeoJSON (an empty collection when the server has none).
func (s *server) basemapRoute(w http.ResponseWriter, r *http.Request) error {
	q, err := newQuery(r.URL.Query(), false, "crs")
	if err != nil {
		return err
	}
	var body []byte
	switch c := q.v.Get("crs"); c {
	case "", "wgs84":
		body = s.basemapWGS84
	case "gcj02":
		body = s.basemapGCJ02
	default:
		return badParam("crs", "%q is not a coordinate system of the basemap; use wgs84 or gcj02", c)
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeRaw(w, "application/geo+json", body)
	return nil
}

// encodeBasemap encodes fc, its coordinates passed through tr.
func encodeBasemap(fc *geojson.FeatureCollection, tr func(orb.Point) orb.Point) ([]byte, error) {
	out := geojson.NewFeatureCollection()
	if fc != nil {
		for _, f := range fc.Features {
			g := orb.Clone(f.Geometry)
			if tr != nil {
				g = mapPoints(g, tr)
			}
			nf := geojson.NewFeature(g)
			nf.Properties = f.Properties.Clone()
			out.Append(nf)
		}
	}
	return json.Marshal(out)
}

func mapPoints(g orb.Geometry, tr func(orb.Point) orb.Point) orb.Geometry {
	ring := func(ps []orb.Point) {
		for i := range ps {
			ps[i] = tr(ps[i])
		}
	}
	switch g := g.(type) {
	case orb.Point:
		return tr(g)
	case orb.MultiPoint:
		ring(g)
	case orb.LineString:
		ring(g)
	case orb.Ring:
		ring(g)
	case orb.MultiLineString:
		for _, l := range g {
			ring(l)
		}
	case orb.Polygon:
		for _, l := range g {
			ring(l)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			for _, l := range p {
				ring(l)
			}
		}
	}
	return g
}

// layerStats is one layer in GET /api/v1/stats.
type layerStats struct {
	Count     int            `json:"count"`
	ByGrade   map[string]int `json:"by_grade,omitempty"`
	ByWarning map[string]int `json:"by_warning,omitempty"`
}

// stats: GET /api/v1/stats — features per layer, per risk grade and per warning
// level, from the index (the wall map's live counts).
func (s *server) stats(w http.ResponseWriter, r *http.Request) error {
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	world := orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
	grades, levels := s.reg.RiskGrades().Choices, s.reg.WarningLevels().Choices
	out := map[string]*layerStats{}
	for _, l := range s.reg.Layers() {
		st := &layerStats{}
		_, graded := l.Field("risk_grade")
		_, warned := l.Field("warning_level")
		if graded {
			st.ByGrade = map[string]int{}
		}
		if warned {
			st.ByWarning = map[string]int{}
		}
		err := s.ix.Visit(l.Name, world, index.Filter{MinCapacity: -1}, func(rec *index.Record) bool {
			st.Count++
			if graded && rec.Grade >= 0 && int(rec.Grade) < len(grades) {
				st.ByGrade[grades[rec.Grade].Code]++
			}
			if warned && rec.Warning >= 0 && int(rec.Warning) < len(levels) {
				st.ByWarning[levels[rec.Warning].Code]++
			}
			return true
		})
		if err != nil {
			return err
		}
		out[l.Name] = st
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{"layers": out})
	return nil
}

// gcj02 shifts a WGS84 point to GCJ-02.
func gcj02(p orb.Point) orb.Point { return geo.WGS84ToGCJ02(p) }

// notFontName reports a character no font stack name has.
func notFontName(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" ,-_.", r))
}

// glyphs: GET /api/v1/glyphs/{fontstack}/{range}.pbf — an empty glyph set. The page
// draws its few labels (road names, in Chinese) with the system's CJK font
// (MapLibre's localIdeographFontFamily), so it needs no glyph files; MapLibre asks for
// this URL only for other characters, and an empty set draws nothing for them.
func (s *server) glyphs(w http.ResponseWriter, r *http.Request) error {
	// Only what MapLibre asks: a font stack's name and a range of 256 code points.
	vars := mux.Vars(r)
	if fs := vars["fontstack"]; fs == "" || len(fs) > 200 || strings.ContainsFunc(fs, notFontName) {
		return badParam("fontstack", "is not a font stack name (font names: letters, digits, spaces, commas, - and _)")
	}
	lo, hi, ok := strings.Cut(vars["range"], "-")
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	if !ok || errA != nil || errB != nil || a < 0 || a%256 != 0 || b != a+255 || b > 65535 {
		return badParam("range", "%q is not a glyph range (e.g. 0-255)", truncateText(vars["range"], 40))
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "max-age=86400")
	writeRaw(w, "application/x-protobuf", nil)
	return nil
}
