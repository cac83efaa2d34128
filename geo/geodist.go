package geo

import (
	"math"
	"sync"

	"github.com/paulmach/orb"
)

// Distances between geometries with the semantics of PostGIS 3.3
// ST_Distance(geography, geography) (use_spheroid = true), which riskmap's
// proximity answers must agree with. PostGIS measures in two stages:
//
//  1. On a sphere, with longitude and latitude taken as spherical
//     coordinates and every edge a great-circle arc, it finds the pair of
//     points, one on each geometry, that are nearest: for a point and an
//     edge, the foot of the perpendicular from the point if it falls
//     within the edge, else the nearer end; for two edges, the nearest of
//     the four end-point-to-edge pairs. The search walks every edge (a
//     tree of bounding circles prunes it, which does not change the
//     result).
//  2. It returns the ellipsoidal (WGS84 geodesic) distance between that
//     pair, computed by GeographicLib; here by Distance.
//
// A great-circle edge is not the straight segment of the lon/lat plane:
// an east-west edge 1 km long at 22.5°N passes 8.6 mm north of the
// parallel its ends lie on, so a point on that parallel halfway along is
// 8.6 mm from it, not 0.
//
// The answer is 0 instead when the geometries touch: when two edges
// intersect, or when a polygon contains the first vertex of a part (a
// point, a line, or a polygon's outer ring) of the other geometry. A
// polygon contains a point by the even-odd rule over all its rings on the
// sphere, so a point in a hole is outside and is measured to the nearest
// ring, the hole's included. Parts of multi-geometries count separately:
// a point in any polygon of a MultiPolygon is at distance 0.
//
// Two of PostGIS's tolerances show at ground scale and are reproduced.
// Edges shorter than 5e-14 rad (0.3 µm) are ignored. And two edges whose
// great circles lie within 3.2e-7 rad of each other (about 2 m apart) are
// taken to be collinear, and to intersect if either has an end point
// beside the other: PostGIS reports 0 between a road and a route running
// parallel to it 1.5 m away. A point near a line is measured normally.
//
// Because stage 1 is spherical, the result is not the ellipsoidal distance
// to the nearest point of the geometry, which PostGIS does not compute
// either. When two candidates are nearly equidistant, the one nearer on
// the sphere can be the farther on the ellipsoid, by up to e² ≈ 0.7% (0.5%
// at Shenzhen's latitude, where a degree of latitude is shorter relative
// to one of longitude than on the sphere): a point 99.70 m south of one
// line and 99.99 m west of another is 99.99 m from the two together
// (TestGeometryDistancePostGIS has the case).
//
// Empty geometries, which PostGIS answers with NULL, are infinitely far
// (+Inf). Rings need not repeat their first vertex. Polygons are assumed
// valid (holes inside the outer ring) and smaller than a hemisphere.

// DistanceToGeometry returns the distance in meters from p to the nearest point of g on
// the WGS84 ellipsoid, with PostGIS geography semantics (great-circle edges; 0 inside a polygon).
//
// g may be a Point, MultiPoint, LineString, MultiLineString, Ring, Polygon,
// MultiPolygon, Bound or Collection of these, in lon/lat degrees. The
// nearest point is chosen on a sphere, with great-circle edges, and the
// distance to it measured on the ellipsoid; p inside a polygon (by the
// even-odd rule over its rings, so not in a hole) is at 0. The result is
// PostGIS 3.3's ST_Distance(p::geography, g::geography) to within a few
// nanometres, including where that exceeds the true ellipsoidal minimum
// (by up to 0.7%); the comment at the top of geodist.go has the details.
// An empty g is at +Inf. DistanceToGeometry does not allocate, except for
// a Bound.
func DistanceToGeometry(p orb.Point, g orb.Geometry) float64 {
	if q, ok := g.(orb.Point); ok {
		return Distance(p, q)
	}
	s := pointScan{p: p, vp: unitVec(p), best: math.Inf(1)}
	if s.geometry(g) {
		return 0
	}
	if !s.found {
		return math.Inf(1)
	}
	return Distance(p, s.near.point())
}

// GeometryDistance returns the distance in meters between a and b (any of the types above,
// typically a route LineString and a feature), PostGIS geography semantics; 0 when they intersect.
//
// As for DistanceToGeometry, the nearest pair of points is chosen on the
// sphere and measured on the ellipsoid. The distance is 0 when an edge of
// a crosses or touches one of b, when a polygon of either contains the
// first vertex of a part of the other, and also, as in PostGIS, when two
// edges run alongside each other less than about 2 m apart (their great
// circles within 3.2e-7 rad). The result is PostGIS 3.3's
// ST_Distance(a::geography, b::geography) to within a few nanometres; an
// empty argument gives +Inf. It is symmetric, and equals
// DistanceToGeometry when either argument is a Point. The cost grows with
// the product of the numbers of edges, less what a bounding-box test
// prunes.
func GeometryDistance(a, b orb.Geometry) float64 {
	if p, ok := a.(orb.Point); ok {
		return DistanceToGeometry(p, b)
	}
	if p, ok := b.(orb.Point); ok {
		return DistanceToGeometry(p, a)
	}
	sa, sb := newShape(a), newShape(b)
	defer sa.free()
	defer sb.free()
	if len(sa.firsts) == 0 || len(sb.firsts) == 0 {
		return math.Inf(1)
	}
	if sa.contains(sb.firsts) || sb.contains(sa.firsts) {
		return 0
	}
	n1, n2, touch := nearestPair(sa, sb)
	if touch {
		return 0
	}
	return Distance(n1.point(), n2.point())
}

// pointScan finds the nearest point of geometries to p, one vertex or edge
// at a time.
type pointScan struct {
	p     orb.Point
	vp    vec3
	best  float64 // squared chord from p to near
	near  nearPoint
	found bool
}

// geometry scans g and reports whether p is inside a polygon of it, in
// which case the scan stops.
func (s *pointScan) geometry(g orb.Geometry) bool {
	switch g := g.(type) {
	case orb.Point:
		s.vertex(g, unitVec(g))
	case orb.MultiPoint:
		for _, q := range g {
			s.vertex(q, unitVec(q))
		}
	case orb.LineString:
		s.path(g, false, nil)
	case orb.MultiLineString:
		for _, l := range g {
			s.path(l, false, nil)
		}
	case orb.Ring:
		return s.polygon(orb.Polygon{g})
	case orb.Polygon:
		return s.polygon(g)
	case orb.MultiPolygon:
		for _, poly := range g {
			if s.polygon(poly) {
				return true
			}
		}
	case orb.Bound:
		return s.polygon(g.ToPolygon())
	case orb.Collection:
		for _, h := range g {
			if s.geometry(h) {
				return true
			}
		}
	}
	return false
}

func (s *pointScan) vertex(q orb.Point, vq vec3) {
	if d := chord2(s.vp, vq); d < s.best || !s.found {
		s.best, s.near, s.found = d, nearPoint{ll: q}, true
	}
}

// beyond reports whether every point of the arc from va to vb, of squared
// chord c2, is strictly farther from p than the nearest point so far. Any
// point of an arc of angle θ is within a chord of 2 sin(θ/4) ≤ 0.7072·c of
// one end, c being the arc's chord 2 sin(θ/2).
func (s *pointScan) beyond(va, vb vec3, c2 float64) bool {
	r := math.Sqrt(s.best) + 0.7072*math.Sqrt(c2) + 1e-15
	return min(chord2(s.vp, va), chord2(s.vp, vb)) > r*r
}

// path scans the edges of a line, or of a ring if closed (adding the
// closing edge if the ring does not repeat its first vertex), feeding the
// ring's vertices to the point-in-polygon test g if not nil. A path
// without an edge longer than sphereTol counts as its first vertex.
func (s *pointScan) path(pts []orb.Point, closed bool, g *gnomonic) {
	n := len(pts)
	if n == 0 {
		return
	}
	end := n
	if closed && pts[0] != pts[n-1] {
		end = n + 1
	}
	v0 := unitVec(pts[0])
	var x0, y0, w0 float64
	if g != nil {
		x0, y0, w0 = g.proj(v0)
	}
	va, xa, ya, wa := v0, x0, y0, w0
	edges := 0
	for i := 1; i < end; i++ {
		q, vb := pts[0], v0
		if i < n {
			q, vb = pts[i], unitVec(pts[i])
		}
		if g != nil {
			xb, yb, wb := g.proj(vb)
			g.edge(xa, ya, wa, xb, yb, wb)
			xa, ya, wa = xb, yb, wb
		}
		if c2 := chord2(va, vb); c2 > sphereTol*sphereTol {
			edges++
			if !s.found || !s.beyond(va, vb, c2) {
				e, _ := newArc(pts[i-1], q, va, vb)
				if d, c := e.nearest(s.vp, s.p); d < s.best || !s.found {
					s.best, s.near, s.found = d, c, true
				}
			}
		}
		va = vb
	}
	if edges == 0 {
		s.vertex(pts[0], v0)
	}
}

// polygon scans the rings of poly and reports whether p is inside it.
func (s *pointScan) polygon(poly orb.Polygon) bool {
	if len(poly) == 0 || len(poly[0]) == 0 {
		return false
	}
	g := newGnomonic(s.p, s.vp)
	for _, ring := range poly {
		s.path(ring, true, &g)
	}
	if g.ok {
		return g.in
	}
	return polygonContainsFar(poly, s.vp)
}

// shape is a geometry broken into what the nearest-pair search compares:
// isolated points (Points, and lines or rings with no edge longer than
// sphereTol) and edges; plus its polygons and the first vertex of each
// part, for the containment tests.
type shape struct {
	points []vertex
	arcs   []arc
	polys  []orb.Polygon
	firsts []orb.Point
	verts  []vertex // all vertices, to seed the search
}

// shapes recycles shapes, whose slices are GeometryDistance's only
// allocations.
var shapes = sync.Pool{New: func() any { return new(shape) }}

// newShape breaks g into a shape from the pool; release it with free.
func newShape(g orb.Geometry) *shape {
	s := shapes.Get().(*shape)
	s.add(g)
	return s
}

// free empties s and returns it to the pool, unless it grew large.
func (s *shape) free() {
	if cap(s.arcs) > 1<<12 {
		return
	}
	clear(s.polys) // drop the references to the caller's polygons
	s.points, s.arcs, s.polys, s.firsts, s.verts = s.points[:0], s.arcs[:0], s.polys[:0], s.firsts[:0], s.verts[:0]
	shapes.Put(s)
}

type vertex struct {
	ll orb.Point
	v  vec3
}

func (s *shape) add(g orb.Geometry) {
	switch g := g.(type) {
	case orb.Point:
		s.firsts = append(s.firsts, g)
		v := vertex{g, unitVec(g)}
		s.points = append(s.points, v)
		s.verts = append(s.verts, v)
	case orb.MultiPoint:
		for _, q := range g {
			s.add(q)
		}
	case orb.LineString:
		if len(g) > 0 {
			s.firsts = append(s.firsts, g[0])
			s.addPath(g, false)
		}
	case orb.MultiLineString:
		for _, l := range g {
			s.add(l)
		}
	case orb.Ring:
		s.add(orb.Polygon{g})
	case orb.Polygon:
		if len(g) > 0 && len(g[0]) > 0 {
			s.firsts = append(s.firsts, g[0][0])
			s.polys = append(s.polys, g)
			for _, ring := range g {
				s.addPath(ring, true)
			}
		}
	case orb.MultiPolygon:
		for _, poly := range g {
			s.add(poly)
		}
	case orb.Bound:
		s.add(g.ToPolygon())
	case orb.Collection:
		for _, h := range g {
			s.add(h)
		}
	}
}

// addPath adds the edges of a line, or of a ring if closed, as
// pointScan.path scans them.
func (s *shape) addPath(pts []orb.Point, closed bool) {
	n := len(pts)
	if n == 0 {
		return
	}
	end := n
	if closed && pts[0] != pts[n-1] {
		end = n + 1
	}
	v0 := unitVec(pts[0])
	s.verts = append(s.verts, vertex{pts[0], v0})
	va := v0
	edges := 0
	for i := 1; i < end; i++ {
		q, vb := pts[0], v0
		if i < n {
			q, vb = pts[i], unitVec(pts[i])
			s.verts = append(s.verts, vertex{q, vb})
		}
		if e, ok := newArc(pts[i-1], q, va, vb); ok {
			e.setBox()
			s.arcs = append(s.arcs, e)
			edges++
		}
		va = vb
	}
	if edges == 0 {
		s.points = append(s.points, vertex{pts[0], v0})
	}
}

// contains reports whether a polygon of s contains one of pts.
func (s *shape) contains(pts []orb.Point) bool {
	for _, poly := range s.polys {
		for _, q := range pts {
			if polygonContains(poly, q) {
				return true
			}
		}
	}
	return false
}

// quirk2 is the squared chord within which two edges may be found to
// intersect by arcsIntersect's collinearity test although they do not
// (3.2e-7 rad, with a margin); edge pairs closer than this are never
// pruned.
const quirk2 = 4e-7 * 4e-7

// nearestPair returns the pair of points of a and b nearest on the sphere,
// or touch = true if an edge of a intersects an edge of b.
func nearestPair(a, b *shape) (n1, n2 nearPoint, touch bool) {
	// Start from the nearest pair of vertices, which bounds the answer
	// and lets the box test prune most edge pairs from the start.
	best := math.Inf(1)
	for i := range a.verts {
		p := &a.verts[i]
		for j := range b.verts {
			q := &b.verts[j]
			if d := chord2(p.v, q.v); d < best {
				best, n1, n2 = d, nearPoint{ll: p.ll}, nearPoint{ll: q.ll}
			}
		}
	}
	for i := range a.points {
		p := &a.points[i]
		for j := range b.points {
			q := &b.points[j]
			if d := chord2(p.v, q.v); d < best {
				best, n1, n2 = d, nearPoint{ll: p.ll}, nearPoint{ll: q.ll}
			}
		}
		for j := range b.arcs {
			f := &b.arcs[j]
			if pointGap2(p.v, f) > best {
				continue
			}
			if d, c := f.nearest(p.v, p.ll); d < best {
				best, n1, n2 = d, nearPoint{ll: p.ll}, c
			}
		}
	}
	for i := range a.arcs {
		e := &a.arcs[i]
		for j := range b.points {
			q := &b.points[j]
			if pointGap2(q.v, e) > best {
				continue
			}
			if d, c := e.nearest(q.v, q.ll); d < best {
				best, n1, n2 = d, c, nearPoint{ll: q.ll}
			}
		}
		for j := range b.arcs {
			f := &b.arcs[j]
			if g := boxGap2(e, f); g > best && g > quirk2 {
				continue
			}
			if arcsIntersect(e.va, e.vb, e.n, f.va, f.vb, f.n) {
				return n1, n2, true
			}
			// The nearest of the four end-point-to-edge pairs, in
			// PostGIS's order (edge_distance_to_edge).
			if d, c := e.nearest(f.va, f.a); d < best {
				best, n1, n2 = d, c, nearPoint{ll: f.a}
			}
			if d, c := e.nearest(f.vb, f.b); d < best {
				best, n1, n2 = d, c, nearPoint{ll: f.b}
			}
			if d, c := f.nearest(e.va, e.a); d < best {
				best, n1, n2 = d, nearPoint{ll: e.a}, c
			}
			if d, c := f.nearest(e.vb, e.b); d < best {
				best, n1, n2 = d, nearPoint{ll: e.b}, c
			}
		}
	}
	return n1, n2, false
}
