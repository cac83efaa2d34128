package httpapi

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"riskmap/index"
	"riskmap/layers"
	"riskmap/tiles"
)

// Tile responses. An empty tile (no feature of the asked layers in it) is 200 with
// an empty body: a valid MVT with no layers, which MapLibre, OpenLayers and GDAL
// read as "nothing here" and caches treat like any other tile.
const mvtContentType = "application/vnd.mapbox-vector-tile"

// tileParams are the query parameters tiles take besides the filter grammar.
var tileParams = []string{"crs", "cluster"}

// parseTileLayers reads the {layers} path segment: "all", one layer, or a comma list.
func (s *server) parseTileLayers(seg string) ([]string, error) {
	if seg == "all" {
		var names []string
		for _, l := range s.reg.Layers() {
			names = append(names, l.Name)
		}
		return names, nil
	}
	var names []string
	for _, name := range strings.Split(seg, ",") {
		if _, err := s.reg.Layer(name); err != nil {
			return nil, badParam("layers", "unknown layer %q; use all or a comma list of %s", name, strings.Join(s.layerNames(), ", "))
		}
		if slices.Contains(names, name) {
			return nil, badParam("layers", "layer %q is listed twice", name)
		}
		names = append(names, name)
	}
	return names, nil
}

func (s *server) layerNames() []string {
	var names []string
	for _, l := range s.reg.Layers() {
		names = append(names, l.Name)
	}
	return names
}

// parseTileQuery reads the filter grammar (without layers=, which the path gives),
// crs= (wgs84 | gcj02) and cluster= (true | false).
func (s *server) parseTileQuery(v url.Values) (index.Filter, tiles.CRS, bool, error) {
	q, err := newQuery(v, true, tileParams...)
	if err != nil {
		return index.Filter{}, 0, false, err
	}
	if q.has("layers") {
		return index.Filter{}, 0, false, badParam("layers", "tiles take their layers from the path (/tiles/{layers}/...), not from a parameter")
	}
	f, err := index.ParseFilter(s.reg, v)
	if err != nil {
		return index.Filter{}, 0, false, err
	}
	crs := tiles.WGS84
	switch c := v.Get("crs"); c {
	case "", "wgs84":
	case "gcj02":
		crs = tiles.GCJ02
	default:
		return index.Filter{}, 0, false, badParam("crs", "%q is not a coordinate system of the tiles; use wgs84 or gcj02", c)
	}
	noCluster := false
	switch c := v.Get("cluster"); c {
	case "", "true":
	case "false":
		noCluster = true
	default:
		return index.Filter{}, 0, false, badParam("cluster", "%q is not true or false", c)
	}
	return f, crs, noCluster, nil
}

// parseTileCoord reads z, x and y: decimal, z in 0..22, x and y inside the zoom's grid.
func parseTileCoord(vars map[string]string) (tiles.Coord, error) {
	num := func(name string, max uint64) (uint32, error) {
		s := vars[name]
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || (len(s) > 1 && s[0] == '0') {
			return 0, badParam(name, "%q is not a tile number", s)
		}
		if n > max {
			return 0, badParam(name, "%d is outside 0..%d", n, max)
		}
		return uint32(n), nil
	}
	z, err := num("z", tiles.MaxZoom)
	if err != nil {
		return tiles.Coord{}, err
	}
	x, err := num("x", 1<<z-1)
	if err != nil {
		return tiles.Coord{}, err
	}
	y, err := num("y", 1<<z-1)
	if err != nil {
		return tiles.Coord{}, err
	}
	return tiles.Coord{Z: z, X: x, Y: y}, nil
}

// tile: GET /tiles/{layers}/{z}/{x}/{y}.mvt — one MVT layer per asked layer, from the
// cache when nothing in it changed. Strong ETag, If-None-Match → 304, gzip when the
// client accepts it (compressed once, into the cache), Cache-Control no-cache so
// browsers and proxies revalidate: a tile is never used past a change.
func (s *server) tile(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	names, err := s.parseTileLayers(vars["layers"])
	if err != nil {
		return err
	}
	c, err := parseTileCoord(vars)
	if err != nil {
		return err
	}
	f, crs, noCluster, err := s.parseTileQuery(r.URL.Query())
	if err != nil {
		return err
	}
	t, err := s.tiles.Tile(r.Context(), names, tiles.Request{Coord: c, Filter: f, CRS: crs, NoCluster: noCluster})
	if err != nil {
		return err
	}
	gz := t.Len() > 0 && acceptsGzip(r.Header.Get("Accept-Encoding"))
	h := w.Header()
	etag := t.ETag(gz)
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding")
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	pieces := t.Raw()
	if gz {
		pieces = t.Gzip()
		h.Set("Content-Encoding", "gzip")
	}
	n := 0
	for _, p := range pieces {
		n += len(p)
	}
	h.Set("Content-Type", mvtContentType)
	h.Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		bufs := net.Buffers(pieces)
		_, _ = bufs.WriteTo(w) // the client went away: nothing to tell it
	}
	return nil
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip (by name or *,
// with a q-value above zero).
func acceptsGzip(header string) bool {
	gzip, star := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = x
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "x-gzip":
			gzip = q
		case "*":
			star = q
		}
	}
	if gzip >= 0 {
		return gzip > 0
	}
	return star > 0
}

// etagMatch reports whether an If-None-Match header matches etag (weak comparison,
// as RFC 9110 prescribes for If-None-Match).
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// baseURL is the absolute URL of the server as the client reached it, or the
// configured public URL.
func (s *server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// tileJSON: GET /tiles/{layers}.json — TileJSON 3.0 for the layers, the tile URL
// carrying the same filter, crs and cluster parameters.
func (s *server) tileJSON(w http.ResponseWriter, r *http.Request) error {
	names, err := s.parseTileLayers(mux.Vars(r)["layers"])
	if err != nil {
		return err
	}
	if _, _, _, err := s.parseTileQuery(r.URL.Query()); err != nil {
		return err
	}
	// Built by joining strings: url.URL would escape the braces of {z}/{x}/{y}.
	tileURL := s.baseURL(r) + "/tiles/" + mux.Vars(r)["layers"] + "/{z}/{x}/{y}.mvt"
	if q := r.URL.Query().Encode(); q != "" {
		tileURL += "?" + q
	}
	b, ok := s.ix.Bounds(names)
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, tiles.NewTileJSON(s.reg, s.tiles.Renderer().Options(), names, tileURL, b, ok))
	return nil
}

// style: GET /styles/riskmap.json — the MapLibre style drawing every layer.
func (s *server) style(w http.ResponseWriter, r *http.Request) error {
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, tiles.Style(s.reg, s.baseURL(r)+"/tiles/all.json"))
	return nil
}

// defaultTileService is the tile service New builds when the Config has none: the
// default options and a 256 MB cache kept exact by the index.
func defaultTileService(reg *layers.Registry, ix *index.Index) (*tiles.Service, error) {
	rd, err := tiles.NewRenderer(reg, ix, tiles.Options{})
	if err != nil {
		return nil, err
	}
	c := tiles.NewCache(256 << 20)
	ix.OnApply(c.Invalidate)
	return tiles.NewService(rd, c), nil
}
