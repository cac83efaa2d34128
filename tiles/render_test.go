package tiles_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"riskmap/geo"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/tiles"
)

var update = flag.Bool("update", false, "rewrite the golden tiles under testdata/")

var noFilter = index.Filter{MinCapacity: -1}

// luohu is a point in the dense centre of the demo data.
var luohu = orb.Point{114.118, 22.548}

func coordAt(p orb.Point, z int) tiles.Coord {
	t := maptile.At(p, maptile.Zoom(z))
	return tiles.Coord{Z: uint32(z), X: t.X, Y: t.Y}
}

func newRenderer(t testing.TB, src tiles.Source, opt tiles.Options) *tiles.Renderer {
	t.Helper()
	r, err := tiles.NewRenderer(layers.New(), src, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fid is a decoded feature's id (orb decodes it as a float64).
func fid(f *geojson.Feature) int64 {
	switch id := f.ID.(type) {
	case float64:
		return int64(id)
	case uint64:
		return int64(id)
	case int64:
		return id
	}
	return -1
}

func render(t testing.TB, r *tiles.Renderer, layer string, req tiles.Request) []byte {
	t.Helper()
	raw, _, err := r.Render(nil, layer, req)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func decode(t testing.TB, raw []byte) mvt.Layers {
	t.Helper()
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		t.Fatalf("our tile does not decode: %v", err)
	}
	return ls
}

// TestGolden pins the bytes of a few tiles of each layer on the demo data: the
// encoding is deterministic (ids order the features), so any change of output shows
// here. Refresh with go test ./tiles -run TestGolden -update.
func TestGolden(t *testing.T) {
	ix, _ := demoIndex(t)
	r := newRenderer(t, ix, tiles.Options{})
	cases := []struct {
		name  string
		layer string
		req   tiles.Request
	}{
		{"risk_points_z12_clusters", layers.RiskPoints, tiles.Request{Coord: coordAt(luohu, 12), Filter: noFilter}},
		{"risk_points_z16", layers.RiskPoints, tiles.Request{Coord: coordAt(luohu, 16), Filter: noFilter}},
		{"risk_points_z13_major_gcj02", layers.RiskPoints, tiles.Request{Coord: coordAt(luohu, 13), Filter: index.Filter{MinCapacity: -1, Grades: 1 << 3}, CRS: tiles.GCJ02}},
		{"slopes_z11", layers.Slopes, tiles.Request{Coord: coordAt(luohu, 11), Filter: noFilter}},
		{"slopes_z15", layers.Slopes, tiles.Request{Coord: coordAt(orb.Point{114.14, 22.57}, 15), Filter: noFilter}},
		{"waterlogging_spots_z13", layers.WaterloggingSpots, tiles.Request{Coord: coordAt(luohu, 13), Filter: noFilter}},
		{"rectified_roads_z14", layers.RectifiedRoads, tiles.Request{Coord: coordAt(luohu, 14), Filter: noFilter}},
		{"resources_z12", layers.Resources, tiles.Request{Coord: coordAt(luohu, 12), Filter: noFilter}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := render(t, r, tc.layer, tc.req)
			ls := decode(t, raw)
			if len(ls) != 1 || ls[0].Name != tc.layer || len(ls[0].Features) == 0 {
				t.Fatalf("want one non-empty layer %s, got %d layers", tc.layer, len(ls))
			}
			path := filepath.Join("testdata", tc.name+".mvt")
			if *update {
				if err := os.WriteFile(path, raw, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(raw, want) {
				t.Errorf("tile differs from %s (%d bytes, golden %d); if the change is intended, run with -update", path, len(raw), len(want))
			}
		})
	}
}

// TestFeatureProperties: summary fields at every zoom, the others from the detail
// zoom; ids as MVT ids and as the id property; no null properties.
func TestFeatureProperties(t *testing.T) {
	ix, _ := demoIndex(t)
	r := newRenderer(t, ix, tiles.Options{})
	reg := layers.New()
	l, _ := reg.Layer(layers.RiskPoints)
	for _, z := range []int{15, 16} {
		ls := decode(t, render(t, r, layers.RiskPoints, tiles.Request{Coord: coordAt(luohu, z), Filter: noFilter}))
		f := ls[0].Features[0]
		rec, ok, _ := ix.Get(layers.RiskPoints, fid(f))
		if !ok {
			t.Fatalf("z%d: feature id %v not in the index", z, f.ID)
		}
		if got := f.Properties["id"]; got != float64(rec.ID) {
			t.Errorf("z%d: id property %v, want %d", z, got, rec.ID)
		}
		for _, fd := range l.Fields {
			_, has := f.Properties[fd.Name]
			want := fd.Summary || z >= 16
			if fd.Name == "address" || fd.Name == "cause" || fd.Name == "measures" || fd.Name == "responsible_dept" || fd.Name == "subdistrict" {
				// optional: may be null in the demo row, then absent
				if has && !want {
					t.Errorf("z%d: detail field %s present below the detail zoom", z, fd.Name)
				}
				continue
			}
			if has != want {
				t.Errorf("z%d: field %s present=%v, want %v", z, fd.Name, has, want)
			}
		}
		if f.Properties["name"] != rec.Name {
			t.Errorf("z%d: name %v, want %q", z, f.Properties["name"], rec.Name)
		}
	}
}

// sweep calls fn for every tile at zoom z covering b.
func sweep(b orb.Bound, z int, fn func(tiles.Coord)) {
	nw := maptile.At(orb.Point{b.Min[0], b.Max[1]}, maptile.Zoom(z))
	se := maptile.At(orb.Point{b.Max[0], b.Min[1]}, maptile.Zoom(z))
	for x := nw.X; x <= se.X; x++ {
		for y := nw.Y; y <= se.Y; y++ {
			fn(tiles.Coord{Z: uint32(z), X: x, Y: y})
		}
	}
}

// TestClustersCountEveryPoint: at every clustered zoom, over all the district's
// tiles, every risk point is counted exactly once (a cluster or itself, in the tile
// its cluster lies in), per grade too, with and without a filter.
func TestClustersCountEveryPoint(t *testing.T) {
	ix, _ := demoIndex(t)
	r := newRenderer(t, ix, tiles.Options{})
	db, _ := ix.Bounds(nil)
	for _, tc := range []struct {
		name string
		f    index.Filter
	}{
		{"all", noFilter},
		{"major+significant", index.Filter{MinCapacity: -1, Grades: 1<<3 | 1<<2}},
	} {
		want := map[string]int{}
		total := 0
		_ = ix.Visit(layers.RiskPoints, db, tc.f, func(rec *index.Record) bool {
			total++
			want[layers.New().RiskGrades().Choices[rec.Grade].Code]++
			return true
		})
		for _, z := range []int{8, 10, 12, 13, 14} {
			got, n, clusters := map[string]int{}, 0, 0
			sweep(db, z, func(c tiles.Coord) {
				raw := render(t, r, layers.RiskPoints, tiles.Request{Coord: c, Filter: tc.f})
				for _, l := range decode(t, raw) {
					for _, f := range l.Features {
						p := f.Geometry.(orb.Point)
						// Count each feature in the tile that owns its position
						// (buffers repeat their neighbours' features).
						if p[0] < 0 || p[0] >= tiles.Extent || p[1] < 0 || p[1] >= tiles.Extent {
							continue
						}
						if f.Properties["cluster"] == true {
							clusters++
							cnt := int(f.Properties["count"].(float64))
							n += cnt
							sum := 0
							for code := range want {
								c := int(f.Properties["count_"+code].(float64))
								got[code] += c
								sum += c
							}
							if sum != cnt {
								t.Errorf("z%d %v: cluster count %d but its grades sum to %d", z, c, cnt, sum)
							}
						} else {
							n++
							got[f.Properties["risk_grade"].(string)]++
						}
					}
				}
			})
			if n != total || !reflect.DeepEqual(got, want) {
				t.Errorf("%s z%d: counted %d points %v, want %d %v", tc.name, z, n, got, total, want)
			}
			if clusters == 0 {
				t.Errorf("%s z%d: no clusters at all", tc.name, z)
			}
		}
	}
}

// TestTileSizeAndDegenerates renders every tile of the district from z0 to z17 (all
// layers, default options) and checks: no tile over 500 KB; no line with fewer than
// two distinct points; no ring with fewer than three; every slope is drawn at every
// zoom (as a polygon or, when too small, a point).
func TestTileSizeAndDegenerates(t *testing.T) {
	if testing.Short() {
		t.Skip("renders every tile to z17")
	}
	ix, ds := demoIndex(t)
	r := newRenderer(t, ix, tiles.Options{})
	svc := tiles.NewService(r, tiles.NewCache(0))
	db, _ := ix.Bounds(nil)
	reg := layers.New()
	var names []string
	for _, l := range reg.Layers() {
		names = append(names, l.Name)
	}
	largest, largestAt := 0, ""
	for z := 0; z <= 17; z++ {
		slopesSeen := map[uint64]bool{}
		sweep(db, z, func(c tiles.Coord) {
			tl, err := svc.Tile(context.Background(), names, tiles.Request{Coord: c, Filter: noFilter})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			for _, p := range tl.Raw() {
				buf.Write(p)
			}
			if buf.Len() > largest {
				largest, largestAt = buf.Len(), c.String()
			}
			if buf.Len() > 500_000 {
				t.Errorf("tile %v is %d bytes, over 500 KB", c, buf.Len())
			}
			for _, l := range decode(t, buf.Bytes()) {
				for _, f := range l.Features {
					checkGeometry(t, c, l.Name, f.Geometry)
					if l.Name == layers.Slopes {
						slopesSeen[uint64(fid(f))] = true
					}
				}
			}
		})
		if len(slopesSeen) != len(ds.Features[layers.Slopes]) {
			t.Errorf("z%d: %d of %d slopes drawn", z, len(slopesSeen), len(ds.Features[layers.Slopes]))
		}
	}
	t.Logf("largest all-layers tile: %s, %d bytes", largestAt, largest)
}

func checkGeometry(t *testing.T, c tiles.Coord, layer string, g orb.Geometry) {
	t.Helper()
	distinct := func(ps []orb.Point) int {
		seen := map[orb.Point]bool{}
		for _, p := range ps {
			seen[p] = true
		}
		return len(seen)
	}
	switch g := g.(type) {
	case orb.LineString:
		if distinct(g) < 2 {
			t.Errorf("%v %s: degenerate line %v", c, layer, g)
		}
	case orb.MultiLineString:
		for _, ls := range g {
			checkGeometry(t, c, layer, ls)
		}
	case orb.Polygon:
		for _, r := range g {
			if distinct(r) < 3 {
				t.Errorf("%v %s: degenerate ring %v", c, layer, r)
			}
		}
	case orb.MultiPolygon:
		for _, p := range g {
			checkGeometry(t, c, layer, p)
		}
	}
}

// TestSharedGeometryUntouched: rendering never modifies the index's geometry.
func TestSharedGeometryUntouched(t *testing.T) {
	ix, _ := demoIndex(t)
	db, _ := ix.Bounds(nil)
	before := map[string]orb.Geometry{}
	reg := layers.New()
	for _, l := range reg.Layers() {
		_ = ix.Visit(l.Name, db, noFilter, func(rec *index.Record) bool {
			before[fmt.Sprint(l.Name, rec.ID)] = orb.Clone(rec.Geometry)
			return true
		})
	}
	r := newRenderer(t, ix, tiles.Options{})
	for _, z := range []int{9, 13, 16} {
		sweep(db, z, func(c tiles.Coord) {
			for _, l := range reg.Layers() {
				for _, crs := range []tiles.CRS{tiles.WGS84, tiles.GCJ02} {
					render(t, r, l.Name, tiles.Request{Coord: c, Filter: noFilter, CRS: crs})
				}
			}
		})
	}
	for _, l := range reg.Layers() {
		_ = ix.Visit(l.Name, db, noFilter, func(rec *index.Record) bool {
			if !orb.Equal(before[fmt.Sprint(l.Name, rec.ID)], rec.Geometry) {
				t.Errorf("%s %d: geometry changed by rendering", l.Name, rec.ID)
			}
			return true
		})
	}
}

// TestGCJ02Tiles: with CRS GCJ02 every point is where its GCJ-02 position projects,
// a few hundred meters (tens of tile units at z15) from its WGS84 position.
func TestGCJ02Tiles(t *testing.T) {
	ix, _ := demoIndex(t)
	r := newRenderer(t, ix, tiles.Options{})
	c := coordAt(geo.WGS84ToGCJ02(luohu), 15)
	ls := decode(t, render(t, r, layers.RiskPoints, tiles.Request{Coord: c, Filter: noFilter, CRS: tiles.GCJ02}))
	tb := maptile.New(c.X, c.Y, maptile.Zoom(c.Z)).Bound()
	checked := 0
	for _, f := range ls[0].Features {
		rec, _, _ := ix.Get(layers.RiskPoints, fid(f))
		want := geo.WGS84ToGCJ02(rec.Geometry.(orb.Point))
		got := f.Geometry.(orb.Point)
		// tile units → lon/lat of the GCJ-02 grid
		lon := tb.Min[0] + got[0]/tiles.Extent*(tb.Max[0]-tb.Min[0])
		if math.Abs(lon-want[0]) > 1.5*(tb.Max[0]-tb.Min[0])/tiles.Extent {
			t.Fatalf("feature %v at lon %.7f, GCJ-02 position %.7f", f.ID, lon, want[0])
		}
		wgs := rec.Geometry.(orb.Point)
		if d := geo.Distance(want, wgs); d < 100 || d > 1000 {
			t.Fatalf("GCJ-02 offset %.0f m, want a few hundred", d)
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d points checked", checked)
	}
}

// TestCompositeAndGzip: a composite tile is its layers' tiles one after the other,
// and decodes as one layer per part; its gzip form (the parts' cached deflate
// streams in one member) decompresses to exactly those bytes.
func TestCompositeAndGzip(t *testing.T) {
	ix, _ := demoIndex(t)
	r := newRenderer(t, ix, tiles.Options{})
	svc := tiles.NewService(r, tiles.NewCache(64<<20))
	testCompositeAndGzip(t, r, svc)
	if s := svc.Cache().Stats(); s.Hits == 0 || s.Stored == 0 {
		t.Errorf("cache not used: %+v", s)
	}
	// Without a cache, gzip bodies are compressed per request, otherwise: still
	// valid, and under other ETags than the cached service's, the same in every
	// process without a cache.
	none := tiles.NewService(r, tiles.NewCache(0))
	testCompositeAndGzip(t, r, none)
	names := []string{layers.RiskPoints, layers.Slopes}
	req := tiles.Request{Coord: coordAt(luohu, 14), Filter: noFilter}
	a, err := svc.Tile(context.Background(), names, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := none.Tile(context.Background(), names, req)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tiles.NewService(newRenderer(t, ix, tiles.Options{}), tiles.NewCache(0)).Tile(context.Background(), names, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.ETag(false) != b.ETag(false) {
		t.Errorf("identity ETag %s with a cache, %s without", a.ETag(false), b.ETag(false))
	}
	if bytes.Equal(bytes.Join(a.Gzip(), nil), bytes.Join(b.Gzip(), nil)) || a.ETag(true) == b.ETag(true) {
		t.Errorf("gzip: bodies equal %v, ETags %s and %s: want both different", bytes.Equal(bytes.Join(a.Gzip(), nil), bytes.Join(b.Gzip(), nil)), a.ETag(true), b.ETag(true))
	}
	if !bytes.Equal(bytes.Join(b.Gzip(), nil), bytes.Join(c.Gzip(), nil)) || b.ETag(true) != c.ETag(true) {
		t.Errorf("two services without a cache: gzip ETags %s and %s, bodies equal %v", b.ETag(true), c.ETag(true), bytes.Equal(bytes.Join(b.Gzip(), nil), bytes.Join(c.Gzip(), nil)))
	}
}

func testCompositeAndGzip(t *testing.T, r *tiles.Renderer, svc *tiles.Service) {
	t.Helper()
	names := []string{layers.RiskPoints, layers.Slopes, layers.WaterloggingSpots, layers.RectifiedRoads, layers.Resources}
	for _, z := range []int{12, 14, 16} {
		req := tiles.Request{Coord: coordAt(luohu, z), Filter: noFilter}
		for round := range 2 { // rendered, then from the cache
			tl, err := svc.Tile(context.Background(), names, req)
			if err != nil {
				t.Fatal(err)
			}
			raw := bytes.Join(tl.Raw(), nil)
			var want []byte
			for _, n := range names {
				want = append(want, render(t, r, n, req)...)
			}
			if !bytes.Equal(raw, want) {
				t.Fatalf("z%d round %d: composite is not the concatenation of its layers", z, round)
			}
			ls := decode(t, raw)
			if len(ls) < 4 {
				t.Fatalf("z%d: %d layers decoded", z, len(ls))
			}
			zr, err := gzip.NewReader(bytes.NewReader(bytes.Join(tl.Gzip(), nil)))
			if err != nil {
				t.Fatal(err)
			}
			zr.Multistream(false)
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("z%d: gzip does not decompress: %v", z, err)
			}
			if !bytes.Equal(plain, raw) {
				t.Fatalf("z%d: gzip decompresses to other bytes", z)
			}
			if tl.ETag(true) == tl.ETag(false) {
				t.Errorf("gzip and identity share an ETag")
			}
		}
	}
}
