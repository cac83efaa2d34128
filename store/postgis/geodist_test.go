package postgis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"
	"github.com/paulmach/orb/encoding/wkt"

	"riskmap/geo"
)

// Random geometry around Luohu (lon 114.06–114.22, lat 22.52–22.62) for
// TestGeometryDistanceMatchesPostGIS.
type geoGen struct{ r *rand.Rand }

func (g geoGen) point() orb.Point {
	return orb.Point{114.06 + 0.16*g.r.Float64(), 22.52 + 0.10*g.r.Float64()}
}

// logUniform returns a value between lo and hi, uniform in its logarithm.
func (g geoGen) logUniform(lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + g.r.Float64()*math.Log(hi/lo))
}

// near returns a point at most d meters from p, uniformly in the disc.
func (g geoGen) near(p orb.Point, d float64) orb.Point {
	return geo.Destination(p, 360*g.r.Float64(), d*math.Sqrt(g.r.Float64()))
}

// line returns a random walk of nv vertices from start with segments of
// 20 m to 3 km, turning by up to about ±60° at each vertex.
func (g geoGen) line(start orb.Point, nv int) orb.LineString {
	l := orb.LineString{start}
	az := 360 * g.r.Float64()
	for len(l) < nv {
		az += 40 * g.r.NormFloat64()
		l = append(l, geo.Destination(l[len(l)-1], az, g.logUniform(20, 3000)))
	}
	return l
}

// star returns a closed star-shaped ring about c: n vertices at roughly
// even angles and radii between rmin and rmax meters, counterclockwise
// unless cw.
func (g geoGen) star(c orb.Point, rmin, rmax float64, n int, cw bool) orb.Ring {
	ring := make(orb.Ring, 0, n+1)
	a0 := 360 * g.r.Float64()
	for i := range n {
		az := a0 + (float64(i)+0.8*(g.r.Float64()-0.5))*360/float64(n)
		if cw {
			az = -az
		}
		ring = append(ring, geo.Destination(c, az, rmin+(rmax-rmin)*g.r.Float64()))
	}
	return append(ring, ring[0])
}

// polygon returns a star-shaped polygon of radius 20–600 m about c; with
// a hole if hole. The outer ring has 6–12 vertices at radii R/2–R, so its
// edges stay at least 0.35R from c; the hole, within 0.05R of c, reaches
// at most 0.3R.
func (g geoGen) polygon(c orb.Point, hole bool) (orb.Polygon, float64) {
	R := g.logUniform(20, 600)
	poly := orb.Polygon{g.star(c, R/2, R, 6+g.r.IntN(7), false)}
	if hole {
		poly = append(poly, g.star(g.near(c, 0.05*R), 0.1*R, 0.25*R, 4+g.r.IntN(5), true))
	}
	return poly, R
}

// geoShift returns poly moved so that the point from lands on to, by
// adding the longitude and latitude differences (ample for a few hundred
// meters).
func geoShift(poly orb.Polygon, from, to orb.Point) orb.Polygon {
	out := make(orb.Polygon, len(poly))
	for i, ring := range poly {
		out[i] = make(orb.Ring, len(ring))
		for j, p := range ring {
			out[i][j] = orb.Point{p[0] + to[0] - from[0], p[1] + to[1] - from[1]}
		}
	}
	return out
}

// offsetLine returns l moved sideways by off meters (to the right of its
// first segment) and shortened by 10% at each end, so that it runs
// alongside l: a route following a road, say.
func offsetLine(l orb.LineString, off float64) orb.LineString {
	_, az, _ := geo.Inverse(l[0], l[1])
	m := make(orb.LineString, len(l))
	for i, p := range l {
		m[i] = geo.Destination(p, az+90, off)
	}
	s, az0, _ := geo.Inverse(m[0], m[1])
	m[0] = geo.Destination(m[0], az0, 0.1*s)
	n := len(m)
	s, azn, _ := geo.Inverse(m[n-1], m[n-2])
	m[n-1] = geo.Destination(m[n-1], azn, 0.1*s)
	return m
}

type distCase struct {
	kind string
	a, b orb.Geometry
}

// geodistCases returns the deterministic cases of
// TestGeometryDistanceMatchesPostGIS, about 7,000 of them.
func geodistCases() []distCase {
	g := geoGen{rand.New(rand.NewPCG(2026, 1129))}
	var cs []distCase
	add := func(kind string, a, b orb.Geometry) { cs = append(cs, distCase{kind, a, b}) }
	route := func() orb.LineString { return g.line(g.point(), 8+g.r.IntN(23)) }

	for range 500 {
		add("point-point", g.point(), g.near(g.point(), g.logUniform(0.01, 5000)))
	}
	for range 1200 {
		l := g.line(g.point(), 2+g.r.IntN(7))
		// Near a vertex or a point along the line, or anywhere.
		var p orb.Point
		switch k := g.r.IntN(20); {
		case k < 5:
			p = g.point()
		case k == 5: // a vertex of the line: 0
			p = l[g.r.IntN(len(l))]
		default:
			i := g.r.IntN(len(l) - 1)
			s, az, _ := geo.Inverse(l[i], l[i+1])
			along := s * (1.4*g.r.Float64() - 0.2) // sometimes beyond the ends
			p = g.near(geo.Destination(l[i], az, along), g.logUniform(0.01, 500))
		}
		add("point-line", p, l)
	}
	for range 1500 {
		c := g.point()
		poly, R := g.polygon(c, g.r.IntN(3) == 0)
		var p orb.Point
		switch k := g.r.IntN(5); {
		case k == 0 && len(poly) > 1: // in or around the hole
			p = g.near(c, 0.4*R)
		case k == 1 && g.r.IntN(5) == 0: // a vertex: 0
			ring := poly[g.r.IntN(len(poly))]
			p = ring[g.r.IntN(len(ring))]
		case k == 1: // near a vertex or an edge
			ring := poly[g.r.IntN(len(poly))]
			i := g.r.IntN(len(ring) - 1)
			s, az, _ := geo.Inverse(ring[i], ring[i+1])
			p = g.near(geo.Destination(ring[i], az, s*g.r.Float64()), g.logUniform(0.01, 0.2*R))
		default:
			p = g.near(c, 2*R)
		}
		add("point-polygon", p, poly)
	}
	for range 400 {
		p := g.point()
		var m orb.Geometry
		switch g.r.IntN(3) {
		case 0:
			mp := orb.MultiPoint{}
			for range 2 + g.r.IntN(5) {
				mp = append(mp, g.near(p, 2000))
			}
			m = mp
		case 1:
			ml := orb.MultiLineString{}
			for range 2 + g.r.IntN(3) {
				ml = append(ml, g.line(g.near(p, 2000), 2+g.r.IntN(5)))
			}
			m = ml
		case 2:
			mp := orb.MultiPolygon{}
			for range 2 + g.r.IntN(3) {
				poly, _ := g.polygon(g.near(p, 1500), g.r.IntN(3) == 0)
				mp = append(mp, poly)
			}
			if g.r.IntN(2) == 0 { // p in or near one of them, maybe in its hole
				poly, R := g.polygon(p, g.r.IntN(2) == 0)
				mp[g.r.IntN(len(mp))] = geoShift(poly, g.near(p, 0.5*R), p)
			}
			m = mp
		}
		add("point-multi", p, m)
	}
	for range 900 {
		a := g.line(g.point(), 2+g.r.IntN(7))
		var b orb.LineString
		switch g.r.IntN(5) {
		case 0: // alongside, 5 cm to 5 m away
			b = offsetLine(a, g.logUniform(0.05, 5))
		case 4: // sharing a vertex
			b = g.line(a[g.r.IntN(len(a))], 2+g.r.IntN(7))
		case 1: // from near a vertex of a
			b = g.line(g.near(a[g.r.IntN(len(a))], 1000), 2+g.r.IntN(7))
		default:
			b = g.line(g.point(), 2+g.r.IntN(7))
		}
		add("line-line", a, b)
	}
	for range 500 {
		r := route()
		add("route-line", r, g.line(g.near(r[g.r.IntN(len(r))], 1500), 2+g.r.IntN(7)))
	}
	for range 1200 {
		r := route()
		v := r[g.r.IntN(len(r))]
		poly, R := g.polygon(g.near(v, 1000), g.r.IntN(3) == 0)
		var a orb.Geometry = r
		switch g.r.IntN(4) {
		case 0: // a short line, maybe starting inside the polygon or its hole
			a = g.line(g.near(poly[len(poly)-1][0], 0.5*R), 2+g.r.IntN(3))
		case 1: // alongside an edge of the outer ring
			ring := poly[0]
			i := g.r.IntN(len(ring) - 1)
			a = offsetLine(orb.LineString{ring[i], ring[i+1]}, g.logUniform(0.05, 5)*float64(1-2*g.r.IntN(2)))
		}
		add("line-polygon", a, poly)
	}
	for range 500 {
		c := g.point()
		a, R := g.polygon(c, g.r.IntN(3) == 0)
		b, _ := g.polygon(g.near(c, 3*R), g.r.IntN(3) == 0)
		add("polygon-polygon", a, b)
	}
	for range 300 {
		r := route()
		var m orb.Geometry
		switch g.r.IntN(3) {
		case 0:
			mp := orb.MultiPoint{}
			for range 2 + g.r.IntN(5) {
				mp = append(mp, g.near(r[g.r.IntN(len(r))], 800))
			}
			m = mp
		case 1:
			ml := orb.MultiLineString{}
			for range 2 + g.r.IntN(3) {
				ml = append(ml, g.line(g.near(r[g.r.IntN(len(r))], 1500), 2+g.r.IntN(5)))
			}
			m = ml
		case 2:
			mp := orb.MultiPolygon{}
			for range 2 + g.r.IntN(3) {
				poly, _ := g.polygon(g.near(r[g.r.IntN(len(r))], 1000), g.r.IntN(3) == 0)
				mp = append(mp, poly)
			}
			m = mp
		}
		add("route-multi", r, m)
	}
	return cs
}

// TestGeometryDistanceMatchesPostGIS: geo.GeometryDistance (and
// DistanceToGeometry for points) agrees with PostGIS 3.3 ST_Distance on
// geography to within 1 mm on thousands of Luohu-scale cases: points, lines
// and polygons (some with holes) against each other, routes against
// features, including points inside polygons and holes, lines crossing
// polygons and lines running alongside others. It also compares one route
// against many features in a single query, where PostGIS caches the
// route's tree (planners' "within 200 m of this evacuation route").
func TestGeometryDistanceMatchesPostGIS(t *testing.T) {
	s, _ := newStore(t, false)
	ctx := ctxT(t)
	if _, err := s.pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		t.Fatal(err)
	}
	mustEWKB := func(g orb.Geometry) []byte {
		b, err := ewkb.Marshal(g, 4326)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type stats struct {
		n, zero int
		worst   float64
		where   string
	}
	byKind := map[string]*stats{}
	check := func(kind string, a, b orb.Geometry, want float64) {
		got := geo.GeometryDistance(a, b)
		if p, ok := a.(orb.Point); ok {
			if d := geo.DistanceToGeometry(p, b); d != got {
				t.Errorf("%s: DistanceToGeometry %v, GeometryDistance %v", kind, d, got)
			}
		}
		if r := geo.GeometryDistance(b, a); math.Abs(r-got) > 1e-9 {
			t.Errorf("%s: GeometryDistance not symmetric: %v, reversed %v", kind, got, r)
		}
		st := byKind[kind]
		if st == nil {
			st = &stats{}
			byKind[kind] = st
		}
		st.n++
		if want == 0 {
			st.zero++
		}
		d := math.Abs(got - want)
		if d > st.worst || math.IsNaN(d) {
			st.worst = d
			st.where = fmt.Sprintf("geo %.9f m, PostGIS %.9f m", got, want)
		}
		if !(d <= 0.001) {
			t.Errorf("%s: geo %.6f m, PostGIS %.6f m (diff %.3g m)\n  a = %s\n  b = %s",
				kind, got, want, d, wkt.MarshalString(a), wkt.MarshalString(b))
		}
	}

	// One row per case, each with its own pair of geometries, so that
	// PostGIS builds both trees afresh for every row.
	cases := geodistCases()
	as, bs := make([][]byte, len(cases)), make([][]byte, len(cases))
	for i, c := range cases {
		as[i], bs[i] = mustEWKB(c.a), mustEWKB(c.b)
	}
	want := queryDistances(t, s, `SELECT ST_Distance(ST_GeomFromEWKB(a)::geography, ST_GeomFromEWKB(b)::geography)
		FROM unnest($1::bytea[], $2::bytea[]) WITH ORDINALITY AS u(a, b, n) ORDER BY n`, as, bs)
	if len(want) != len(cases) {
		t.Fatalf("%d rows for %d cases", len(want), len(cases))
	}
	for i, c := range cases {
		check(c.kind, c.a, c.b, want[i])
	}

	// One route against many features: the route is the same argument in
	// every row, which PostGIS caches as a tree.
	g := geoGen{rand.New(rand.NewPCG(7, 8))}
	for range 5 {
		route := g.line(g.point(), 40)
		var feats []orb.Geometry
		for range 300 {
			v := route[g.r.IntN(len(route))]
			switch g.r.IntN(4) {
			case 0:
				feats = append(feats, g.near(v, 1000))
			case 1:
				feats = append(feats, g.line(g.near(v, 1500), 2+g.r.IntN(7)))
			default:
				poly, _ := g.polygon(g.near(v, 800), g.r.IntN(3) == 0)
				feats = append(feats, poly)
			}
		}
		fs := make([][]byte, len(feats))
		for i, f := range feats {
			fs[i] = mustEWKB(f)
		}
		want := queryDistances(t, s, `SELECT ST_Distance(ST_GeomFromEWKB($1)::geography, ST_GeomFromEWKB(f)::geography)
			FROM unnest($2::bytea[]) WITH ORDINALITY AS u(f, n) ORDER BY n`, mustEWKB(route), fs)
		for i, f := range feats {
			check("route-many (cached)", route, f, want[i])
		}
	}

	kinds := make([]string, 0, len(byKind))
	total := 0
	for k, st := range byKind {
		kinds = append(kinds, k)
		total += st.n
	}
	sort.Strings(kinds)
	worst := 0.0
	for _, k := range kinds {
		st := byKind[k]
		worst = math.Max(worst, st.worst)
		t.Logf("%-20s %5d cases (%4d at 0 m), worst |diff| %.3g m (%s)", k, st.n, st.zero, st.worst, st.where)
	}
	t.Logf("%d cases in all, worst |diff| %.3g m", total, worst)
}

// queryDistances runs a query returning one float8 per row.
func queryDistances(t *testing.T, s *Store, sql string, args ...any) []float64 {
	t.Helper()
	rows, err := s.pool.Query(ctxT(t), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []float64
	for rows.Next() {
		var d float64
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
