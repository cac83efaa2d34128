package geo

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// sharedDataEnv names the folder holding the shared Luohu data when it is not found
// by walking up from the package (a clone elsewhere than beside it, as CI's).
const sharedDataEnv = "RISKMAP_SHARED_DATA"

// sharedDataDir finds the project's shared data folder, which sits beside the
// repository and is not part of it (one of the files has no licence to
// redistribute): $RISKMAP_SHARED_DATA, else shared/data in the package's directory
// or any parent, else /work/shared/data (where this workplace keeps it).
func sharedDataDir() string {
	if d := os.Getenv(sharedDataEnv); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if fi, err := os.Stat(filepath.Join(dir, "shared", "data")); err == nil && fi.IsDir() {
				return filepath.Join(dir, "shared", "data")
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "/work/shared/data"
}

// loadOutline returns the rings of the polygons of the GeoJSON file name in the
// shared data folder. The test is skipped if the file is not there.
func loadOutline(t *testing.T, name string) []orb.Ring {
	t.Helper()
	path := filepath.Join(sharedDataDir(), name)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not found: this test needs the shared data folder (beside the repository, or set %s)", path, sharedDataEnv)
	}
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var rings []orb.Ring
	for _, f := range fc.Features {
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			rings = append(rings, g...)
		case orb.MultiPolygon:
			for _, p := range g {
				rings = append(rings, p...)
			}
		default:
			t.Fatalf("%s: unexpected geometry %T", path, g)
		}
	}
	if len(rings) == 0 {
		t.Fatalf("%s: no polygons", path)
	}
	return rings
}

// outlineGap measures how far the outline from lies from the outline to: for
// every vertex of from, the geodesic distance in meters to the nearest point of
// the rings of to (their edges, not only their vertices: the outlines come from
// different sources and their vertices do not correspond). It returns the
// distances sorted.
func outlineGap(from, to []orb.Ring) []float64 {
	lines := make(orb.MultiLineString, len(to))
	for i, r := range to {
		lines[i] = orb.LineString(r)
	}
	var gaps []float64
	for _, r := range from {
		for _, v := range r[:len(r)-1] { // the last vertex closes the ring
			gaps = append(gaps, DistanceToGeometry(v, lines))
		}
	}
	slices.Sort(gaps)
	return gaps
}

// transformRings returns a copy of rings with every vertex moved by transform.
func transformRings(rings []orb.Ring, transform func(orb.Point) orb.Point) []orb.Ring {
	out := make([]orb.Ring, len(rings))
	for i, r := range rings {
		out[i] = make(orb.Ring, len(r))
		for j, v := range r {
			out[i][j] = transform(v)
		}
	}
	return out
}

// percentile returns the q-quantile (0 ≤ q ≤ 1) of sorted values, the value
// below which a fraction q of them lie (nearest rank).
func percentile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// TestGCJ02Luohu checks the transforms against independent data: the outline of
// Luohu district in GCJ-02 from AMap (DataV.GeoAtlas: 178 vertices, edges of
// 240 m median, up to 1.5 km) and the same outline in WGS84 from another
// source (transbigdata's sz.json: 986 vertices, edges of 30 m median, up to
// 560 m). The AMap outline is a simplification of a line like the other one:
// its vertices lie on that line, but the dense outline's vertices stray up
// to 77 m from its long chords. So the gap is always measured from the AMap
// vertices to the dense outline's edges, once with the AMap outline converted
// to WGS84 and once with the dense outline converted to GCJ-02. Converted, the
// outlines must agree within a few meters; unconverted, they are hundreds of
// meters apart, so the test fails if a transform does nothing.
//
// Measured, meters from each AMap vertex to the nearest point of the dense
// outline:
//
//	                                 median  p95   max
//	GCJ02ToWGS84(AMap) vs WGS84      0.57    1.65  2.08
//	AMap vs WGS84ToGCJ02(WGS84)      0.57    1.65  2.07
//	AMap vs WGS84, unconverted       354     592   605
func TestGCJ02Luohu(t *testing.T) {
	gcj := loadOutline(t, "luohu_boundary_gcj02.geojson")
	wgs := loadOutline(t, "luohu_boundary_wgs84.geojson")
	cases := []struct {
		name     string
		from, to []orb.Ring
		// Bounds on the gap, meters: converted outlines must be close
		// (median, p95 and max at most), unconverted ones far (median at
		// least).
		maxMedian, maxP95, maxMax, minMedian float64
	}{
		{"GCJ-02 outline to WGS84", transformRings(gcj, GCJ02ToWGS84), wgs, 1, 2.5, 3, 0},
		{"WGS84 outline to GCJ-02", gcj, transformRings(wgs, WGS84ToGCJ02), 1, 2.5, 3, 0},
		{"unconverted", gcj, wgs, math.Inf(1), math.Inf(1), math.Inf(1), 300},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gaps := outlineGap(c.from, c.to)
			median, p95, worst := percentile(gaps, 0.5), percentile(gaps, 0.95), gaps[len(gaps)-1]
			t.Logf("%d vertices: median %.2f m, p95 %.2f m, max %.2f m", len(gaps), median, p95, worst)
			if median > c.maxMedian || p95 > c.maxP95 || worst > c.maxMax || median < c.minMedian {
				t.Errorf("median %.2f m (want ≤ %g, ≥ %g), p95 %.2f m (want ≤ %g), max %.2f m (want ≤ %g)",
					median, c.maxMedian, c.minMedian, p95, c.maxP95, worst, c.maxMax)
			}
		})
	}
}

// TestGCJ02RoundTrip: GCJ02ToWGS84 inverts WGS84ToGCJ02 to 1e-8° (1 mm) on a
// grid over the whole box, 0.25° apart and 0.2° clear of its edges (where the
// forward transform is not one-to-one). The grid includes the meridian 105°E,
// where the offset has a square-root cusp.
func TestGCJ02RoundTrip(t *testing.T) {
	worst, count := 0.0, 0
	for lon := 72.25; lon <= 137.6; lon += 0.25 {
		for lat := 1.0; lat <= 55.6; lat += 0.25 {
			p := orb.Point{lon, lat}
			g := WGS84ToGCJ02(p)
			if g == p {
				t.Fatalf("WGS84ToGCJ02(%v) did not move it", p)
			}
			count++
			w := GCJ02ToWGS84(g)
			e := max(math.Abs(w[0]-p[0]), math.Abs(w[1]-p[1]))
			if e > 1e-8 || math.IsNaN(e) {
				t.Fatalf("GCJ02ToWGS84(WGS84ToGCJ02(%v)) = %v, %.3g° off", p, w, e)
			}
			worst = max(worst, e)
			// And the other way round: the forward transform of the
			// inverse lands back on the GCJ-02 point.
			gg := WGS84ToGCJ02(GCJ02ToWGS84(p))
			if e := max(math.Abs(gg[0]-p[0]), math.Abs(gg[1]-p[1])); e > 1e-9 {
				t.Fatalf("WGS84ToGCJ02(GCJ02ToWGS84(%v)) = %v, %.3g° off", p, gg, e)
			}
		}
	}
	t.Logf("%d points, worst round trip error %.3g°", count, worst)
}

// TestGCJ02OffsetShenzhen: over Shenzhen the GCJ-02 offset is a few hundred
// meters (measured 568 to 619 m on this grid).
func TestGCJ02OffsetShenzhen(t *testing.T) {
	lo, hi := math.Inf(1), 0.0
	for lon := 113.75; lon <= 114.65; lon += 0.05 {
		for lat := 22.45; lat <= 22.85; lat += 0.05 {
			p := orb.Point{lon, lat}
			d := Distance(p, WGS84ToGCJ02(p))
			if d < 200 || d > 700 {
				t.Fatalf("offset at %v is %.1f m, want 200 to 700 m", p, d)
			}
			// The inverse moves the same way back, by the same amount to
			// well under a millimeter.
			if d2 := Distance(p, GCJ02ToWGS84(p)); math.Abs(d2-d) > 5 {
				t.Fatalf("inverse offset at %v is %.1f m, forward %.1f m", p, d2, d)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
	}
	t.Logf("offset %.1f to %.1f m", lo, hi)
}

// TestGCJ02Outside: outside the box both transforms return their argument.
func TestGCJ02Outside(t *testing.T) {
	cases := []struct {
		name string
		p    orb.Point
	}{
		{"London", orb.Point{-0.1276, 51.5072}},
		{"Sydney", orb.Point{151.2093, -33.8688}},
		{"Tokyo, east of 137.8347°E", orb.Point{139.6917, 35.6895}},
		{"New York", orb.Point{-74.006, 40.7128}},
		{"equator at 0°", orb.Point{0, 0}},
		{"just west of the box", orb.Point{72.0039, 40}},
		{"just east of the box", orb.Point{137.8348, 40}},
		{"just south of the box", orb.Point{110, 0.8292}},
		{"just north of the box", orb.Point{110, 55.8272}},
		{"latitude south of China's", orb.Point{114, -22.5}},
		{"infinite longitude", orb.Point{math.Inf(1), 30}},
		{"infinite latitude", orb.Point{110, math.Inf(-1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if g := WGS84ToGCJ02(c.p); g != c.p {
				t.Errorf("WGS84ToGCJ02(%v) = %v", c.p, g)
			}
			if w := GCJ02ToWGS84(c.p); w != c.p {
				t.Errorf("GCJ02ToWGS84(%v) = %v", c.p, w)
			}
		})
	}
	// The box is closed: its corners are inside.
	for _, p := range []orb.Point{{72.004, 0.8293}, {137.8347, 55.8271}} {
		if WGS84ToGCJ02(p) == p {
			t.Errorf("WGS84ToGCJ02(%v) did not move the corner", p)
		}
	}
	// NaN stays NaN.
	for _, p := range []orb.Point{{math.NaN(), 30}, {110, math.NaN()}} {
		for _, q := range []orb.Point{WGS84ToGCJ02(p), GCJ02ToWGS84(p)} {
			if !math.IsNaN(q[0]) && !math.IsNaN(q[1]) {
				t.Errorf("%v transformed to %v, want a NaN", p, q)
			}
		}
	}
}

// TestGCJ02Allocs: neither transform allocates.
func TestGCJ02Allocs(t *testing.T) {
	p := orb.Point{114.1181, 22.5431}
	var sink orb.Point
	if a := testing.AllocsPerRun(100, func() { sink = WGS84ToGCJ02(p) }); a != 0 {
		t.Errorf("WGS84ToGCJ02: %v allocations", a)
	}
	if a := testing.AllocsPerRun(100, func() { sink = GCJ02ToWGS84(p) }); a != 0 {
		t.Errorf("GCJ02ToWGS84: %v allocations", a)
	}
	_ = sink
}

// FuzzGCJ02: no input panics; finite input gives finite output; inside the box
// (and not in the strip along its edges where the forward transform leaves
// it) the inverse undoes the forward transform to 1e-7°, and the forward
// transform undoes the inverse.
func FuzzGCJ02(f *testing.F) {
	f.Add(114.1181, 22.5431)
	f.Add(116.39, 39.9)
	f.Add(105.0, 35.0)
	f.Add(72.004, 0.8293)
	f.Add(137.8347, 55.8271)
	f.Add(-0.1276, 51.5072)
	f.Add(math.NaN(), 0.0)
	f.Add(math.Inf(1), math.Inf(-1))
	f.Add(1e300, -1e300)
	f.Fuzz(func(t *testing.T, lon, lat float64) {
		p := orb.Point{lon, lat}
		g, w := WGS84ToGCJ02(p), GCJ02ToWGS84(p)
		finite := !math.IsNaN(lon) && !math.IsNaN(lat) && !math.IsInf(lon, 0) && !math.IsInf(lat, 0)
		if !finite {
			return
		}
		for _, v := range []float64{g[0], g[1], w[0], w[1]} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%v: WGS84ToGCJ02 %v, GCJ02ToWGS84 %v", p, g, w)
			}
		}
		if gcj02Outside(lon, lat) {
			if g != p || w != p {
				t.Fatalf("%v outside the box: WGS84ToGCJ02 %v, GCJ02ToWGS84 %v", p, g, w)
			}
			return
		}
		if !gcj02Outside(g[0], g[1]) {
			back := GCJ02ToWGS84(g)
			if e := max(math.Abs(back[0]-lon), math.Abs(back[1]-lat)); e > 1e-7 {
				t.Fatalf("GCJ02ToWGS84(WGS84ToGCJ02(%v)) = %v, %.3g° off", p, back, e)
			}
		}
		if !gcj02Outside(w[0], w[1]) {
			fwd := WGS84ToGCJ02(w)
			if e := max(math.Abs(fwd[0]-lon), math.Abs(fwd[1]-lat)); e > 1e-7 {
				t.Fatalf("WGS84ToGCJ02(GCJ02ToWGS84(%v)) = %v, %.3g° off", p, fwd, e)
			}
		}
	})
}

func BenchmarkWGS84ToGCJ02(b *testing.B) {
	p := orb.Point{114.1181, 22.5431}
	var s float64
	for b.Loop() {
		s += WGS84ToGCJ02(p)[0]
	}
	_ = s
}

func BenchmarkGCJ02ToWGS84(b *testing.B) {
	p := orb.Point{114.1232, 22.5404}
	var s float64
	for b.Loop() {
		s += GCJ02ToWGS84(p)[0]
	}
	_ = s
}
