package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// Unit-sphere vector geometry for the PostGIS-compatible distances in
// geodist.go. Longitude and latitude in degrees are used directly as
// spherical coordinates, as PostGIS's geography code does; edges are
// great-circle arcs (the minor arc between their end points).

// sphereTol is PostGIS's tolerance in its geodetic code (lwgeodetic.h
// overrides FP_TOLERANCE to 5e-14 there). It is applied to dot products of
// unit vectors and to angles in radians; 5e-14 rad is about 0.3 µm.
const sphereTol = 5e-14

// vec3 is a vector in the space of the unit sphere.
type vec3 struct{ x, y, z float64 }

func (a vec3) dot(b vec3) float64 { return a.x*b.x + a.y*b.y + a.z*b.z }

func (a vec3) cross(b vec3) vec3 {
	return vec3{a.y*b.z - a.z*b.y, a.z*b.x - a.x*b.z, a.x*b.y - a.y*b.x}
}

func (a vec3) add(b vec3) vec3 { return vec3{a.x + b.x, a.y + b.y, a.z + b.z} }

func (a vec3) sub(b vec3) vec3 { return vec3{a.x - b.x, a.y - b.y, a.z - b.z} }

func (a vec3) scale(s float64) vec3 { return vec3{a.x * s, a.y * s, a.z * s} }

// normalize returns a scaled to unit length, or the zero vector when a is
// shorter than sphereTol.
func (a vec3) normalize() vec3 {
	d := math.Sqrt(a.dot(a))
	if d <= sphereTol {
		return vec3{}
	}
	return a.scale(1 / d)
}

// near reports whether a and b agree to sphereTol in every component.
func (a vec3) near(b vec3) bool {
	return math.Abs(a.x-b.x) <= sphereTol && math.Abs(a.y-b.y) <= sphereTol && math.Abs(a.z-b.z) <= sphereTol
}

// chord2 returns |a − b|², the squared chord between unit vectors: an
// increasing function of the angle between them on all of [0, π], and
// accurate for nearby points, which the angle from a dot product is not.
func chord2(a, b vec3) float64 {
	d := a.sub(b)
	return d.dot(d)
}

// unitVec returns the unit vector of p = {lon, lat} in degrees.
func unitVec(p orb.Point) vec3 {
	slat, clat := math.Sincos(p[1] * deg2rad)
	slon, clon := math.Sincos(p[0] * deg2rad)
	return vec3{clat * clon, clat * slon, slat}
}

// lonLat returns the longitude and latitude in degrees of the direction v,
// which need not be of unit length.
func (a vec3) lonLat() orb.Point {
	return orb.Point{math.Atan2(a.y, a.x) * rad2deg, math.Atan2(a.z, math.Hypot(a.x, a.y)) * rad2deg}
}

// unitNormal returns the unit normal p1 × p2 of the plane of the arc
// p1p2, computed as PostGIS's unit_normal does: from p2 − p1 for short
// arcs and from p1 + p2 for arcs over 90°, both of which keep their
// precision where p1 × p2 would lose it.
func unitNormal(p1, p2 vec3) vec3 {
	var p3 vec3
	switch d := p1.dot(p2); {
	case d < 0:
		p3 = p1.add(p2).normalize()
	case d > 0.95:
		p3 = p2.sub(p1).normalize()
	default:
		p3 = p2
	}
	return p1.cross(p3).normalize()
}

// inCone reports whether p lies in the cone spanned by the arc a1a2, PostGIS's
// point_in_cone: within the circular cone about the arc's midpoint through
// its end points, or, for arcs so short (under about 180 m) that this test
// runs out of precision, inside the ball with diameter a1a2.
func inCone(a1, a2, p vec3) bool {
	if a1.near(p) || a2.near(p) {
		return true
	}
	ac := a1.add(a2).normalize()
	minSim := a1.dot(ac)
	if math.Abs(1-minSim) > 1e-10 {
		return p.dot(ac) > minSim
	}
	return p.sub(a1).normalize().dot(p.sub(a2).normalize()) < 0
}

// side is the sign of n·p, 0 when within sphereTol.
func side(n, p vec3) int {
	switch d := n.dot(p); {
	case math.Abs(d) <= sphereTol:
		return 0
	case d < 0:
		return -1
	}
	return 1
}

// arcsIntersect reports whether the arcs a1a2 and b1b2 meet, with the
// semantics of PostGIS's edge_intersects, which decides when geography
// distances are 0. Arcs whose great circles are within sphereTol of each
// other (|na·nb| ≥ 1 − 5e-14, an angle of 3.2e-7 rad, so about 2 m apart
// on the ground) are treated as one line, and meet if either has an end
// point in the cone of the other: two parallel lines less than about 2 m
// apart are at distance 0. End points within sphereTol of the other arc's
// plane count as touching it.
//
// an and bn are the unit normals unitNormal(a1, a2) and unitNormal(b1, b2).
func arcsIntersect(a1, a2, an, b1, b2, bn vec3) bool {
	if math.Abs(math.Abs(an.dot(bn))-1) <= sphereTol {
		return inCone(a1, a2, b1) || inCone(a1, a2, b2) || inCone(b1, b2, a1) || inCone(b1, b2, a2)
	}
	sa1, sa2 := side(bn, a1), side(bn, a2)
	sb1, sb2 := side(an, b1), side(an, b2)
	if sa1 == sa2 && sa1 != 0 || sb1 == sb2 && sb1 != 0 {
		return false // one arc wholly on one side of the other's plane
	}
	if sa1 == -sa2 && sa1 != 0 && sb1 == -sb2 && sb1 != 0 {
		// Proper straddle: the planes meet on the line ±v; the arcs
		// cross if one of these points lies in both.
		v := unitNormal(an, bn)
		if inCone(a1, a2, v) && inCone(b1, b2, v) {
			return true
		}
		v = v.scale(-1)
		return inCone(a1, a2, v) && inCone(b1, b2, v)
	}
	return true // an end point touches the other arc
}

// arc is one non-degenerate edge of a line or ring, prepared for distance
// queries.
type arc struct {
	a, b   orb.Point // end points as given
	va, vb vec3      // their unit vectors
	n      vec3      // unit normal of the great circle, va × vb
	ua, ub vec3      // n × va and vb × n: a point p is abreast of the arc iff p·ua >= 0 and p·ub >= 0
	lo, hi vec3      // an axis-aligned box containing the arc
}

// newArc prepares the arc ab, or reports false if it is shorter than
// sphereTol (PostGIS skips such edges). The box is left empty; setBox
// fills it in.
func newArc(a, b orb.Point, va, vb vec3) (arc, bool) {
	if chord2(va, vb) <= sphereTol*sphereTol {
		return arc{}, false
	}
	e := arc{a: a, b: b, va: va, vb: vb, n: unitNormal(va, vb)}
	e.ua = e.n.cross(va)
	e.ub = vb.cross(e.n)
	return e, true
}

// setBox sets e's bounding box. The arc bulges out of the box of its
// chord c by at most the sagitta 1 − cos(θ/2) = (c²/4)/(1 + √(1 − c²/4)).
func (e *arc) setBox() {
	c2 := chord2(e.va, e.vb)
	h := c2/4/(1+math.Sqrt(max(0, 1-c2/4))) + 1e-15
	span := func(u, v float64) (float64, float64) {
		if u > v {
			u, v = v, u
		}
		return u - h, v + h
	}
	e.lo.x, e.hi.x = span(e.va.x, e.vb.x)
	e.lo.y, e.hi.y = span(e.va.y, e.vb.y)
	e.lo.z, e.hi.z = span(e.va.z, e.vb.z)
}

// nearPoint is the point of a geometry found nearest to a query: either a
// vertex, kept exactly as given, or a point inside an edge, kept as a
// vector and converted at the end.
type nearPoint struct {
	ll   orb.Point
	v    vec3
	foot bool
}

func (q nearPoint) point() orb.Point {
	if q.foot {
		return q.v.lonLat()
	}
	return q.ll
}

// nearest returns the squared chord from vp (the unit vector of pp) to the
// nearest point of the arc on the sphere, and that point: the foot of the
// perpendicular from vp to the great circle if it falls inside the arc,
// else the nearer end point, as PostGIS's edge_distance_to_point. End
// points win ties, so that a vertex is exactly its own nearest point.
func (e *arc) nearest(vp vec3, pp orb.Point) (float64, nearPoint) {
	best := math.Inf(1)
	var q nearPoint
	// (An arc between antipodes has no plane, n = 0, and no foot.)
	if e.n != (vec3{}) && vp.dot(e.ua) >= 0 && vp.dot(e.ub) >= 0 {
		s := vp.dot(e.n)                          // sine of the distance to the great circle
		best = 2 * s * s / (1 + math.Sqrt(1-s*s)) // 2 − 2 cos, without cancellation
		if s == 0 {
			q = nearPoint{ll: pp}
		} else {
			q = nearPoint{v: vp.sub(e.n.scale(s)), foot: true}
		}
	}
	if d := chord2(vp, e.va); d <= best {
		best, q = d, nearPoint{ll: e.a}
	}
	if d := chord2(vp, e.vb); d <= best {
		best, q = d, nearPoint{ll: e.b}
	}
	return best, q
}

// gap returns the distance between the intervals [lo1, hi1] and
// [lo2, hi2], 0 if they overlap.
func gap(lo1, hi1, lo2, hi2 float64) float64 {
	switch {
	case hi1 < lo2:
		return lo2 - hi1
	case hi2 < lo1:
		return lo1 - hi2
	}
	return 0
}

// boxGap2 returns the squared distance between the boxes of e and f, a
// lower bound on the squared chord between any point of one arc and any
// point of the other.
func boxGap2(e, f *arc) float64 {
	dx := gap(e.lo.x, e.hi.x, f.lo.x, f.hi.x)
	dy := gap(e.lo.y, e.hi.y, f.lo.y, f.hi.y)
	dz := gap(e.lo.z, e.hi.z, f.lo.z, f.hi.z)
	return dx*dx + dy*dy + dz*dz
}

// pointGap2 is boxGap2 for the point v and the box of e.
func pointGap2(v vec3, e *arc) float64 {
	dx := gap(v.x, v.x, e.lo.x, e.hi.x)
	dy := gap(v.y, v.y, e.lo.y, e.hi.y)
	dz := gap(v.z, v.z, e.lo.z, e.hi.z)
	return dx*dx + dy*dy + dz*dz
}

// gnomonic accumulates a point-in-polygon test on the sphere by the
// even-odd rule in the gnomonic projection centred on the query point p,
// which maps great-circle arcs to straight segments: p is inside iff a ray
// from the origin crosses the projected rings an odd number of times. The
// projection holds only for vertices in the open hemisphere about p; ok
// turns false if a vertex is outside it.
type gnomonic struct {
	p, east, north vec3
	in, ok         bool
}

func newGnomonic(p orb.Point, vp vec3) gnomonic {
	slat, clat := math.Sincos(p[1] * deg2rad)
	slon, clon := math.Sincos(p[0] * deg2rad)
	return gnomonic{
		p:     vp,
		east:  vec3{-slon, clon, 0},
		north: vec3{-slat * clon, -slat * slon, clat},
		ok:    true,
	}
}

// proj returns the homogeneous projected coordinates of v: the plane
// point is (x/w, y/w).
func (g *gnomonic) proj(v vec3) (x, y, w float64) {
	w = v.dot(g.p)
	if !(w > 0) {
		g.ok = false
	}
	return v.dot(g.east), v.dot(g.north), w
}

// edge counts the crossing, if any, of the projected segment from
// (x1, y1, w1) to (x2, y2, w2) with the ray along the positive x axis,
// using the half-open rule on y so that a vertex on the ray is counted
// once.
func (g *gnomonic) edge(x1, y1, w1, x2, y2, w2 float64) {
	if (y1 > 0) == (y2 > 0) {
		return
	}
	// The segment meets y = 0 at x = (x1·y2 − x2·y1)/(y2·w1 − y1·w2)
	// (with w1, w2 > 0); count it if that is positive.
	if (x1*y2-x2*y1)*(y2*w1-y1*w2) > 0 {
		g.in = !g.in
	}
}

// polygonContains reports whether p lies inside poly on the sphere, with
// great-circle edges and the even-odd rule over all rings (so a point in
// a hole is outside), as PostGIS decides it for geography. Points on the
// boundary may go either way. Polygons must fit in a hemisphere; beyond
// that, what is "inside" is ill-defined and the answer is a best effort.
func polygonContains(poly orb.Polygon, p orb.Point) bool {
	vp := unitVec(p)
	g := newGnomonic(p, vp)
	for _, ring := range poly {
		if len(ring) == 0 {
			continue
		}
		x0, y0, w0 := g.proj(unitVec(ring[0]))
		x1, y1, w1 := x0, y0, w0
		for _, q := range ring[1:] {
			x2, y2, w2 := g.proj(unitVec(q))
			g.edge(x1, y1, w1, x2, y2, w2)
			x1, y1, w1 = x2, y2, w2
		}
		g.edge(x1, y1, w1, x0, y0, w0) // closing edge; no-op if closed
	}
	if g.ok {
		return g.in
	}
	return polygonContainsFar(poly, vp)
}

// polygonContainsFar is polygonContains for a polygon with vertices more
// than 90° from p. It projects about the direction c of the outer ring's
// vertex sum instead; p is outside if it is not in the hemisphere about c.
// If the polygon itself does not fit in that hemisphere it counts the
// crossings of the arc from p to −c with the rings.
func polygonContainsFar(poly orb.Polygon, vp vec3) bool {
	var c vec3
	for _, q := range poly[0] {
		c = c.add(unitVec(q))
	}
	c = c.normalize()
	if c == (vec3{}) {
		return false
	}
	ll := c.lonLat()
	g := newGnomonic(ll, unitVec(ll))
	for _, ring := range poly {
		for i := range ring {
			g.proj(unitVec(ring[i]))
		}
	}
	if g.ok {
		if !(vp.dot(g.p) > 0) {
			return false
		}
		// Project about c, where the edges are still straight, and cast
		// the ray from p's image.
		px, py, pw := g.proj(vp)
		in := false
		for _, ring := range poly {
			n := len(ring)
			for i := range n {
				x1, y1, w1 := g.proj(unitVec(ring[i]))
				x2, y2, w2 := g.proj(unitVec(ring[(i+1)%n]))
				// Shift to p's image: X = x/w − px/pw, Y likewise.
				X1, Y1 := x1/w1-px/pw, y1/w1-py/pw
				X2, Y2 := x2/w2-px/pw, y2/w2-py/pw
				if (Y1 > 0) != (Y2 > 0) && (X1*Y2-X2*Y1)*(Y2-Y1) > 0 {
					in = !in
				}
			}
		}
		return in
	}
	// Larger than a hemisphere: count crossings of the arc p→−c.
	o := c.scale(-1)
	in := false
	for _, ring := range poly {
		n := len(ring)
		for i := range n {
			a, b := unitVec(ring[i]), unitVec(ring[(i+1)%n])
			if a != b && simpleCrossing(vp, o, a, b) {
				in = !in
			}
		}
	}
	return in
}

// simpleCrossing reports whether the arcs ab and cd cross at a point
// interior to both (the test of S2's SimpleCrossing).
func simpleCrossing(a, b, c, d vec3) bool {
	ab := a.cross(b)
	acb := -ab.dot(c)
	bda := ab.dot(d)
	if acb*bda <= 0 {
		return false
	}
	cd := c.cross(d)
	cbd := -cd.dot(b)
	dac := cd.dot(a)
	return acb*cbd > 0 && acb*dac > 0
}
