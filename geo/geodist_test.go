package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// A 10 m-scale test polygon in Luohu: a square of 0.01° (about 1 km) with
// a square hole of 0.002° in the middle.
var (
	square  = orb.Ring{{114.10, 22.55}, {114.11, 22.55}, {114.11, 22.56}, {114.10, 22.56}, {114.10, 22.55}}
	hole    = orb.Ring{{114.104, 22.554}, {114.104, 22.556}, {114.106, 22.556}, {114.106, 22.554}, {114.104, 22.554}}
	holed   = orb.Polygon{square, hole}
	square2 = orb.Ring{{114.12, 22.55}, {114.13, 22.55}, {114.13, 22.56}, {114.12, 22.56}, {114.12, 22.55}}
)

// Reference distances from PostGIS 3.3.2 ST_Distance(a::geography,
// b::geography), which rounds to 1e-8 m.
var geometryCases = []struct {
	name   string
	a, b   orb.Geometry
	meters float64
}{
	{"point at a vertex", orb.Point{114.11, 22.55}, orb.LineString{{114.10, 22.55}, {114.11, 22.55}, {114.12, 22.56}}, 0},
	// The edge is a great circle, which bulges 8.6 mm north of the
	// parallel it starts and ends on.
	{"point on the lon/lat segment", orb.Point{114.105, 22.55}, orb.LineString{{114.10, 22.55}, {114.11, 22.55}}, 0.00855647},
	{"point beside a segment", orb.Point{114.105, 22.551}, orb.LineString{{114.10, 22.55}, {114.11, 22.55}}, 110.72921859},
	{"point beyond the end", orb.Point{114.112, 22.5505}, orb.LineString{{114.10, 22.55}, {114.11, 22.55}}, 213.03907006},
	{"point to the end vertex", orb.Point{114.112, 22.5505}, orb.Point{114.11, 22.55}, 213.03907006},
	{"point inside a polygon", orb.Point{114.102, 22.552}, holed, 0},
	{"point in the hole", orb.Point{114.105, 22.5552}, holed, 88.59061853},
	{"point outside a polygon", orb.Point{114.115, 22.555}, holed, 514.27761558},
	{"point in a second polygon", orb.Point{114.125, 22.555}, orb.MultiPolygon{{square}, {square2}}, 0},
	{"point between polygons", orb.Point{114.115, 22.555}, orb.MultiPolygon{{square}, {square2}}, 514.27761558},
	{"multipoint", orb.Point{114.1, 22.55}, orb.MultiPoint{{114.11, 22.55}, {114.1, 22.551}, {114.09, 22.54}}, 110.73777507},
	// The east line is nearer on the sphere, the north line (99.70 m, the
	// next case) on the ellipsoid; PostGIS measures to the east one.
	{"nearest on the sphere", orb.Point{114.1, 22.55}, orb.MultiLineString{
		{{114.09, 22.5509}, {114.11, 22.5509}}, {{114.10097211, 22.54}, {114.10097211, 22.56}}}, 99.99048554},
	{"north line alone", orb.Point{114.1, 22.55}, orb.LineString{{114.09, 22.5509}, {114.11, 22.5509}}, 99.69822391},
	{"crossing lines", orb.LineString{{114.10, 22.55}, {114.11, 22.56}}, orb.LineString{{114.10, 22.56}, {114.11, 22.55}}, 0},
	{"lines sharing a vertex", orb.LineString{{114.10, 22.55}, {114.11, 22.56}}, orb.LineString{{114.11, 22.56}, {114.12, 22.55}}, 0},
	// PostGIS takes edges on great circles within 3.2e-7 rad of each
	// other as collinear: parallel lines 1.1 m apart touch.
	{"parallel 1.1 m apart", orb.LineString{{114.10, 22.55}, {114.11, 22.55}}, orb.LineString{{114.101, 22.55001}, {114.109, 22.55001}}, 0},
	{"parallel 3.3 m apart", orb.LineString{{114.10, 22.55}, {114.11, 22.55}}, orb.LineString{{114.101, 22.55003}, {114.109, 22.55003}}, 3.31905272},
	// The same for edges of 45 m (PostGIS tests them differently).
	{"short parallel 1.5 m apart", orb.LineString{{114.1, 22.55}, {114.1004, 22.5502}}, orb.LineString{{114.10005, 22.55004}, {114.10035, 22.55019}}, 0},
	{"short parallel 4.4 m apart", orb.LineString{{114.1, 22.55}, {114.1004, 22.5502}}, orb.LineString{{114.10005, 22.55007}, {114.10035, 22.55022}}, 4.38790243},
	{"disjoint lines", orb.LineString{{114.10, 22.55}, {114.11, 22.55}}, orb.LineString{{114.115, 22.551}, {114.12, 22.56}}, 526.0812446},
	{"line in the hole", orb.LineString{{114.1045, 22.5545}, {114.1055, 22.5555}}, holed, 51.42757623},
	{"line inside a polygon", orb.LineString{{114.101, 22.551}, {114.102, 22.552}}, orb.Polygon{square}, 0},
	{"line through a polygon", orb.LineString{{114.09, 22.555}, {114.12, 22.555}}, orb.Polygon{square}, 0},
	{"line outside a polygon", orb.LineString{{114.09, 22.545}, {114.12, 22.546}}, orb.Polygon{square}, 479.48689502},
	{"multipoint to line", orb.MultiPoint{{114.105, 22.552}, {114.2, 22.6}}, orb.LineString{{114.10, 22.55}, {114.11, 22.55}}, 221.46700742},
	{"multipoints", orb.MultiPoint{{114.105, 22.552}, {114.2, 22.6}}, orb.MultiPoint{{114.11, 22.55}, {114.19, 22.61}}, 559.95369493},
	{"multipoint with a point inside", orb.MultiPoint{{114.2, 22.6}, {114.102, 22.552}}, orb.Polygon{square}, 0},
	{"polygons apart", orb.Polygon{square}, orb.Polygon{square2}, 1028.5181602},
	{"polygon inside a polygon", orb.Polygon{square}, orb.Polygon{{{114.101, 22.551}, {114.102, 22.551}, {114.102, 22.552}, {114.101, 22.551}}}, 0},
	{"polygon in the hole", holed, orb.Polygon{{{114.1045, 22.5545}, {114.1055, 22.5545}, {114.1055, 22.5555}, {114.1045, 22.5545}}}, 51.42757623},
}

func TestGeometryDistancePostGIS(t *testing.T) {
	for _, tc := range geometryCases {
		t.Run(tc.name, func(t *testing.T) {
			// PostGIS rounds to 1e-8 m.
			const tol = 1.5e-8
			got := GeometryDistance(tc.a, tc.b)
			if math.Abs(got-tc.meters) > tol {
				t.Errorf("GeometryDistance = %.9f m, PostGIS %.8f m", got, tc.meters)
			}
			if r := GeometryDistance(tc.b, tc.a); math.Abs(r-got) > 1e-9 {
				t.Errorf("reversed: %.9f m, forward %.9f m", r, got)
			}
			if p, ok := tc.a.(orb.Point); ok {
				if d := DistanceToGeometry(p, tc.b); d != got {
					t.Errorf("DistanceToGeometry = %.9f m, GeometryDistance %.9f m", d, got)
				}
			}
			if tc.meters == 0 && got != 0 {
				t.Errorf("GeometryDistance = %v, want exactly 0", got)
			}
		})
	}
}

func TestDistanceToGeometryTypes(t *testing.T) {
	p := orb.Point{114.115, 22.555}
	want := DistanceToGeometry(p, orb.Polygon{square})
	open := orb.Ring{{114.10, 22.55}, {114.11, 22.55}, {114.11, 22.56}, {114.10, 22.56}} // not closed
	for _, tc := range []struct {
		name string
		g    orb.Geometry
	}{
		{"ring", square},
		{"unclosed ring", open},
		{"unclosed polygon", orb.Polygon{open}},
		{"bound", orb.Bound{Min: orb.Point{114.10, 22.55}, Max: orb.Point{114.11, 22.56}}},
		{"collection", orb.Collection{orb.Point{114.2, 22.6}, orb.Polygon{square}}},
		{"multipolygon", orb.MultiPolygon{{square}}},
	} {
		if d := DistanceToGeometry(p, tc.g); math.Abs(d-want) > 1e-9 {
			t.Errorf("%s: %.9f m, want %.9f m (as a polygon)", tc.name, d, want)
		}
		if d := GeometryDistance(orb.MultiPoint{p}, tc.g); math.Abs(d-want) > 1e-9 {
			t.Errorf("%s: GeometryDistance from a MultiPoint %.9f m, want %.9f m", tc.name, d, want)
		}
	}
	// Inside, for each polygonal type.
	in := orb.Point{114.102, 22.552}
	for _, g := range []orb.Geometry{square, open, orb.Bound{Min: orb.Point{114.10, 22.55}, Max: orb.Point{114.11, 22.56}}, orb.Collection{holed}} {
		if d := DistanceToGeometry(in, g); d != 0 {
			t.Errorf("%T: %v inside, distance %v", g, in, d)
		}
	}
	// A line with all its vertices equal is a point; so is a one-point line.
	q := orb.Point{114.11, 22.55}
	for _, g := range []orb.Geometry{orb.LineString{q, q, q}, orb.LineString{q}, orb.MultiLineString{{q}}} {
		if d, w := DistanceToGeometry(p, g), Distance(p, q); d != w {
			t.Errorf("%v: %v, want %v", g, d, w)
		}
	}
}

func TestGeometryDistanceEmpty(t *testing.T) {
	p := orb.Point{114.1, 22.55}
	for _, g := range []orb.Geometry{nil, orb.LineString{}, orb.MultiPoint{}, orb.Polygon{}, orb.Polygon{{}}, orb.MultiPolygon{}, orb.Collection{}} {
		if d := DistanceToGeometry(p, g); !math.IsInf(d, 1) {
			t.Errorf("DistanceToGeometry(%T empty) = %v, want +Inf", g, d)
		}
		if d := GeometryDistance(orb.LineString{p, {114.2, 22.6}}, g); !math.IsInf(d, 1) {
			t.Errorf("GeometryDistance(line, %T empty) = %v, want +Inf", g, d)
		}
	}
}

// TestGeometryDistanceContainment: inside a polygon the distance is 0,
// inside a hole it is the distance to the hole, and a polygon far from the
// point (whose vertices are over 90° away) is handled too.
func TestGeometryDistanceContainment(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	holeRing := orb.LineString(hole)
	for range 2000 {
		// Points in the square, kept 1e-5° (about 1 m, far more than
		// the great circles' bulge) from the rings.
		p := orb.Point{114.10001 + 0.00998*rng.Float64(), 22.55001 + 0.00998*rng.Float64()}
		if math.Abs(p[0]-114.104) < 1e-5 || math.Abs(p[0]-114.106) < 1e-5 || math.Abs(p[1]-22.554) < 1e-5 || math.Abs(p[1]-22.556) < 1e-5 {
			continue
		}
		d := DistanceToGeometry(p, holed)
		if p[0] > 114.104 && p[0] < 114.106 && p[1] > 22.554 && p[1] < 22.556 {
			if w := DistanceToGeometry(p, holeRing); d != w || d < 1 {
				t.Fatalf("%v in the hole: distance %v, want the distance to the hole's ring %v", p, d, w)
			}
			if h := DistanceToGeometry(p, hole); h != 0 {
				t.Fatalf("%v inside the hole's ring as a polygon: distance %v", p, h)
			}
		} else if d != 0 {
			t.Fatalf("%v inside the polygon: distance %v", p, d)
		}
	}
	// A polygon on the far side of the earth.
	far := orb.Polygon{{{-65, -20}, {-60, -20}, {-60, -25}, {-65, -25}, {-65, -20}}}
	if d := DistanceToGeometry(orb.Point{-62, -22}, far); d != 0 {
		t.Errorf("inside: %v", d)
	}
	p := orb.Point{114.1, 22.55}
	if d, w := DistanceToGeometry(p, far), GeometryDistance(orb.LineString(far[0]), p); d != w || d < 1.9e7 {
		t.Errorf("far polygon: %v, its ring %v", d, w)
	}
	if polygonContainsFar(far, unitVec(p)) || !polygonContainsFar(far, unitVec(orb.Point{-62, -22})) {
		t.Errorf("polygonContainsFar wrong")
	}
}

// TestDistanceToGeometryVertices: every vertex of a geometry is at
// distance exactly 0 from it, and a point's distance is never more than
// 1% over the distance to the nearest vertex (PostGIS's choice on the
// sphere can exceed the ellipsoidal minimum by up to about 0.5%).
func TestDistanceToGeometryVertices(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range 500 {
		g := randomGeometry(rng, orb.Point{114.06 + 0.16*rng.Float64(), 22.52 + 0.10*rng.Float64()}, i%5)
		checkDistanceProperties(t, g, orb.Point{114.06 + 0.16*rng.Float64(), 22.52 + 0.10*rng.Float64()})
	}
}

// randomGeometry returns a geometry near c of the given kind (0–4): line,
// polygon, polygon with hole, multipoint, multilinestring.
func randomGeometry(rng *rand.Rand, c orb.Point, kind int) orb.Geometry {
	walk := func(start orb.Point, n int) orb.LineString {
		l := orb.LineString{start}
		az := 360 * rng.Float64()
		for len(l) < n {
			az += 60 * rng.NormFloat64()
			l = append(l, Destination(l[len(l)-1], az, 20+3000*rng.Float64()))
		}
		return l
	}
	star := func(c orb.Point, r float64, n int) orb.Ring {
		ring := orb.Ring{}
		for i := range n {
			ring = append(ring, Destination(c, float64(i)*360/float64(n), r*(0.5+0.5*rng.Float64())))
		}
		return append(ring, ring[0])
	}
	switch kind {
	case 0:
		return walk(c, 2+rng.IntN(9))
	case 1:
		return orb.Polygon{star(c, 20+600*rng.Float64(), 6+rng.IntN(7))}
	case 2:
		r := 20 + 600*rng.Float64()
		h := star(c, 0.25*r, 5)
		for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
			h[i], h[j] = h[j], h[i]
		}
		return orb.Polygon{star(c, r, 8), h}
	case 3:
		mp := orb.MultiPoint{}
		for range 1 + rng.IntN(6) {
			mp = append(mp, Destination(c, 360*rng.Float64(), 2000*rng.Float64()))
		}
		return mp
	}
	ml := orb.MultiLineString{}
	for range 1 + rng.IntN(3) {
		ml = append(ml, walk(Destination(c, 360*rng.Float64(), 2000*rng.Float64()), 2+rng.IntN(5)))
	}
	return ml
}

// vertices returns the vertices of g.
func vertices(g orb.Geometry) []orb.Point {
	var out []orb.Point
	switch g := g.(type) {
	case orb.Point:
		out = append(out, g)
	case orb.MultiPoint:
		out = append(out, g...)
	case orb.LineString:
		out = append(out, g...)
	case orb.MultiLineString:
		for _, l := range g {
			out = append(out, l...)
		}
	case orb.Polygon:
		for _, r := range g {
			out = append(out, r...)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			out = append(out, vertices(p)...)
		}
	}
	return out
}

// checkDistanceProperties checks DistanceToGeometry(p, g) and at g's own
// vertices.
func checkDistanceProperties(t *testing.T, g orb.Geometry, p orb.Point) {
	t.Helper()
	d := DistanceToGeometry(p, g)
	if math.IsNaN(d) || d < 0 {
		t.Fatalf("DistanceToGeometry(%v, %v) = %v", p, g, d)
	}
	minVertex := math.Inf(1)
	for _, v := range vertices(g) {
		if dv := DistanceToGeometry(v, g); dv != 0 {
			t.Fatalf("vertex %v of %v: distance %v, want 0", v, g, dv)
		}
		minVertex = math.Min(minVertex, Distance(p, v))
	}
	if d > minVertex*1.01+1e-9 {
		t.Fatalf("DistanceToGeometry(%v, %v) = %v, more than the nearest vertex (%v)", p, g, d, minVertex)
	}
	if r := GeometryDistance(g, p); r != d {
		t.Fatalf("GeometryDistance(g, p) = %v, DistanceToGeometry %v", r, d)
	}
}

func FuzzDistanceToGeometry(f *testing.F) {
	f.Add(114.1181, 22.5431, 114.12, 22.55, uint64(1), uint8(0))
	f.Add(114.105, 22.555, 114.105, 22.555, uint64(2), uint8(2))
	f.Add(0.0, 89.5, 10.0, 89.6, uint64(3), uint8(1))
	f.Add(179.999, 0.0, -179.999, 0.001, uint64(4), uint8(4))
	f.Add(-70.0, -30.0, 110.0, 30.0, uint64(5), uint8(3))
	f.Fuzz(func(t *testing.T, plon, plat, clon, clat float64, seed uint64, kind uint8) {
		for _, v := range []float64{plon, clon} {
			if math.IsNaN(v) || math.Abs(v) > 180 {
				t.Skip()
			}
		}
		for _, v := range []float64{plat, clat} {
			if math.IsNaN(v) || math.Abs(v) > 89.9 {
				t.Skip() // keep the random geometry off the poles
			}
		}
		rng := rand.New(rand.NewPCG(seed, 0))
		g := randomGeometry(rng, orb.Point{clon, clat}, int(kind%5))
		for _, v := range vertices(g) {
			if math.Abs(v[1]) > 90 {
				t.Skip()
			}
		}
		checkDistanceProperties(t, g, orb.Point{plon, plat})
	})
}

// TestDistanceShortMatchesKarney holds Distance's fast path for short lines
// to the general solution, over pairs from 1 µm to 700 km apart anywhere
// on the earth.
func TestDistanceShortMatchesKarney(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 300000
	if testing.Short() {
		n = 30000
	}
	var fast int
	var worst float64
	for i := range n {
		a := uniformPoint(rng)
		scale := math.Exp(math.Log(1e-11) + rng.Float64()*math.Log(7/1e-11)) // degrees
		b := orb.Point{a[0] + scale*rng.NormFloat64(), a[1] + scale*rng.NormFloat64()}
		switch i % 5 {
		case 0:
			b[1] = a[1] // same latitude
		case 1:
			b[1] = -a[1] + scale*rng.NormFloat64() // across the equator
		}
		if math.Abs(b[1]) > 90 || math.Abs(b[0]) > 180 {
			continue
		}
		s, ok := distanceShort(a[1], a[0], b[1], b[0])
		if !ok {
			continue
		}
		fast++
		want := inverse(a[1], a[0], b[1], b[0]).s12
		if d := math.Abs(s - want); d > 1e-8 || math.IsNaN(d) {
			t.Fatalf("%v → %v: fast %.12f m, Karney %.12f m (diff %.3g m)", a, b, s, want, d)
		} else if d > worst {
			worst = d
		}
		if s2, _ := distanceShort(b[1], b[0], a[1], a[0]); s2 != s {
			t.Fatalf("%v → %v: fast path not symmetric: %v, reversed %v", a, b, s, s2)
		}
	}
	t.Logf("%d of %d pairs on the fast path, worst difference from Karney %.3g m", fast, n, worst)
	if fast < n/3 {
		t.Errorf("only %d of %d pairs took the fast path", fast, n)
	}
}

func TestDistanceShortDeclines(t *testing.T) {
	for _, tc := range []struct{ a, b orb.Point }{
		{orb.Point{114.1, 22.5}, orb.Point{114.1, 22.6}},       // same meridian
		{orb.Point{114.1, 22.5}, orb.Point{114.1, 22.5}},       // same point
		{orb.Point{114.1, 22.5}, orb.Point{121.5, 31.2}},       // Shanghai, 1,200 km
		{orb.Point{114.1, 90}, orb.Point{114.2, 89.999}},       // pole
		{orb.Point{179.99, 10}, orb.Point{-179.99, 10}},        // across the antimeridian
		{orb.Point{114.1 + 360, 22.5}, orb.Point{114.2, 22.5}}, // unreduced longitude
		{orb.Point{114.1, math.NaN()}, orb.Point{114.2, 22.5}},
	} {
		if _, ok := distanceShort(tc.a[1], tc.a[0], tc.b[1], tc.b[0]); ok {
			t.Errorf("distanceShort(%v, %v) took the fast path", tc.a, tc.b)
		}
	}
	// Both on the equator: exact.
	if s, ok := distanceShort(0, 10, 0, 10.5); !ok || s != WGS84A*0.5*deg2rad {
		t.Errorf("equator: %v, %v", s, ok)
	}
}

func BenchmarkDistanceKarney(b *testing.B) {
	// The same pair as BenchmarkDistance through the general solution:
	// what Distance cost before the fast path.
	p, q := orb.Point{114.1181, 22.5431}, orb.Point{114.1318, 22.5481}
	var s float64
	for b.Loop() {
		s += inverse(p[1], p[0], q[1], q[0]).s12
	}
	_ = s
}

func BenchmarkDistance300km(b *testing.B) {
	p, q := orb.Point{114.1181, 22.5431}, orb.Point{116.5, 24.5}
	var s float64
	for b.Loop() {
		s += Distance(p, q)
	}
	_ = s
}

func BenchmarkDistanceToGeometry(b *testing.B) {
	p := orb.Point{114.1181, 22.5431}
	rng := rand.New(rand.NewPCG(1, 1))
	line := randomGeometry(rng, orb.Point{114.12, 22.55}, 0).(orb.LineString)
	for len(line) != 10 {
		line = randomGeometry(rng, orb.Point{114.12, 22.55}, 0).(orb.LineString)
	}
	poly := orb.Polygon{{{114.120, 22.550}, {114.123, 22.550}, {114.124, 22.552}, {114.122, 22.554}, {114.120, 22.553}, {114.120, 22.550}}}
	for _, bc := range []struct {
		name string
		g    orb.Geometry
	}{
		{"point", orb.Point{114.1318, 22.5481}},
		{"line10", line},
		{"polygon5", poly},
		{"polygonInside", orb.Polygon{{{114.11, 22.54}, {114.13, 22.54}, {114.13, 22.55}, {114.11, 22.55}, {114.11, 22.54}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var s float64
			for b.Loop() {
				s += DistanceToGeometry(p, bc.g)
			}
			_ = s
		})
	}
}

func BenchmarkGeometryDistance(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	route := orb.LineString{{114.10, 22.54}}
	for len(route) < 50 {
		route = append(route, Destination(route[len(route)-1], 45+20*rng.NormFloat64(), 200))
	}
	poly := orb.Polygon{{{114.120, 22.550}, {114.123, 22.550}, {114.124, 22.552}, {114.122, 22.554}, {114.120, 22.553}, {114.120, 22.550}}}
	line := orb.LineString{{114.13, 22.54}, {114.135, 22.545}, {114.14, 22.543}}
	for _, bc := range []struct {
		name string
		g    orb.Geometry
	}{
		{"route50-polygon5", poly},
		{"route50-line3", line},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var s float64
			for b.Loop() {
				s += GeometryDistance(route, bc.g)
			}
			_ = s
		})
	}
}

// TestGeometryDistanceHuge: polygons too big for a hemisphere give some
// finite answer, not NaN (what is inside them is ill-defined).
func TestGeometryDistanceHuge(t *testing.T) {
	band := orb.Polygon{{{-170, -10}, {-90, -20}, {0, -10}, {90, -20}, {170, -10}, {175, 60}, {-175, 60}, {-170, -10}}}
	for _, p := range []orb.Point{{0, 0}, {0, -80}, {180, 0}, {114.1, 22.5}, {0, 89}} {
		if d := DistanceToGeometry(p, band); math.IsNaN(d) || d < 0 || math.IsInf(d, 0) {
			t.Errorf("DistanceToGeometry(%v, band) = %v", p, d)
		}
		if d := GeometryDistance(orb.LineString{p, {p[0] + 1, p[1]}}, band); math.IsNaN(d) || d < 0 || math.IsInf(d, 0) {
			t.Errorf("GeometryDistance(line at %v, band) = %v", p, d)
		}
	}
}

func TestDistanceToGeometryAllocs(t *testing.T) {
	p := orb.Point{114.115, 22.555}
	for _, g := range []orb.Geometry{
		orb.Point{114.1, 22.5}, orb.MultiPoint{{114.1, 22.5}}, orb.LineString(square), orb.MultiLineString{orb.LineString(square)},
		square, holed, orb.MultiPolygon{holed, {square2}}, orb.Collection{holed, orb.Point{114.1, 22.5}},
	} {
		if n := testing.AllocsPerRun(100, func() { DistanceToGeometry(p, g) }); n != 0 {
			t.Errorf("DistanceToGeometry(p, %T): %v allocations", g, n)
		}
	}
}

// TestGeometryDistanceAntipodalEdge: an edge between antipodes has no
// great circle (PostGIS rejects it); it counts by its end points.
func TestGeometryDistanceAntipodalEdge(t *testing.T) {
	l := orb.LineString{{0, 0}, {180, 0}}
	p := orb.Point{90, 10}
	if d, w := DistanceToGeometry(p, l), Distance(p, orb.Point{0, 0}); d != w {
		t.Errorf("DistanceToGeometry = %v, want the distance to an end %v", d, w)
	}
}
