package gpkg

import (
	"math"
	"math/big"
	"slices"
	"strconv"

	"github.com/paulmach/orb"
)

// invalidity says why a polygon or multipolygon is not valid, "" when it is (and for
// any other geometry): the rules of OGC simple features as GEOS applies them in
// PostGIS's ST_IsValid, which the PostGIS store enforces, so that both stores accept
// the same polygons. The reason is worded as GEOS words it, with a location:
// "Self-intersection[114.125 22.555]".
//
// Valid: rings that neither cross nor touch themselves (repeated consecutive points
// are ignored), rings of a polygon that touch each other only at points without
// crossing there and without cutting the interior in two, holes inside their shell
// and not inside each other, polygons of a multipolygon that touch only at points
// and do not lie inside one another (except within a hole). Orientation does not
// matter. g has passed layers.ValidateGeometry: closed rings of at least 4 points, 3
// of them distinct, finite coordinates.
func invalidity(g orb.Geometry) string {
	var mp orb.MultiPolygon
	switch v := g.(type) {
	case orb.Polygon:
		mp = orb.MultiPolygon{v}
	case orb.MultiPolygon:
		mp = v
	default:
		return ""
	}
	var c checker
	for pi, poly := range mp {
		for ri, ring := range poly {
			pts := make([]orb.Point, 0, len(ring))
			for _, p := range ring {
				if len(pts) == 0 || pts[len(pts)-1] != p {
					pts = append(pts, p)
				}
			}
			if len(pts) < 4 {
				return "Too few points" + at(ring[0])
			}
			c.rings = append(c.rings, vring{pts: pts, poly: pi, hole: ri > 0, bound: orb.LineString(pts).Bound()})
		}
	}
	return c.check()
}

// vring is one ring without repeated consecutive points, closed.
type vring struct {
	pts   []orb.Point
	poly  int  // index of its polygon
	hole  bool // a hole (else the polygon's shell)
	bound orb.Bound
}

// vseg is the edge pts[idx]–pts[idx+1] of ring.
type vseg struct {
	a, b      orb.Point
	ring, idx int
	bound     orb.Bound
}

// touch is a point where two different rings meet.
type touch struct {
	r1, r2 int // r1 < r2
	p      orb.Point
}

type checker struct {
	rings   []vring
	touches []touch
}

func (c *checker) check() string {
	var segs []vseg
	for ri, r := range c.rings {
		for i := 0; i+1 < len(r.pts); i++ {
			s := vseg{a: r.pts[i], b: r.pts[i+1], ring: ri, idx: i}
			s.bound = orb.MultiPoint{s.a, s.b}.Bound()
			segs = append(segs, s)
		}
	}
	// A sweep along x: only edges whose x ranges overlap are compared.
	slices.SortFunc(segs, func(x, y vseg) int {
		switch {
		case x.bound.Min[0] < y.bound.Min[0]:
			return -1
		case x.bound.Min[0] > y.bound.Min[0]:
			return 1
		}
		return 0
	})
	seen := map[touch]bool{}
	for i := range segs {
		s := &segs[i]
		for j := i + 1; j < len(segs) && segs[j].bound.Min[0] <= s.bound.Max[0]; j++ {
			u := &segs[j]
			if u.bound.Min[1] > s.bound.Max[1] || s.bound.Min[1] > u.bound.Max[1] {
				continue
			}
			if why := c.pair(s, u, seen); why != "" {
				return why
			}
		}
	}
	return c.topology()
}

// pair classifies how edges s and u meet: a crossing or an overlap is invalid, so is
// a ring touching itself; a point where two rings meet is recorded.
func (c *checker) pair(s, u *vseg, seen map[touch]bool) string {
	d1, d2 := orient(u.a, u.b, s.a), orient(u.a, u.b, s.b)
	d3, d4 := orient(s.a, s.b, u.a), orient(s.a, s.b, u.b)
	same := s.ring == u.ring
	adjacent := same && (s.idx+1 == u.idx || u.idx+1 == s.idx ||
		min(s.idx, u.idx) == 0 && max(s.idx, u.idx) == len(c.rings[s.ring].pts)-2)
	if d1 == 0 && d2 == 0 {
		// On one line: an overlap of any length is invalid.
		lo, hi, p, ok := overlap(s, u)
		if !ok {
			return ""
		}
		if hi > lo {
			return selfIntersection(same, p)
		}
		return c.meet(s, u, p, adjacent, seen)
	}
	if (d1 > 0 && d2 < 0 || d1 < 0 && d2 > 0) && (d3 > 0 && d4 < 0 || d3 < 0 && d4 > 0) {
		return selfIntersection(same, crossing(s.a, s.b, u.a, u.b))
	}
	switch {
	case d1 == 0 && onSegment(u.a, u.b, s.a):
		return c.meet(s, u, s.a, adjacent, seen)
	case d2 == 0 && onSegment(u.a, u.b, s.b):
		return c.meet(s, u, s.b, adjacent, seen)
	case d3 == 0 && onSegment(s.a, s.b, u.a):
		return c.meet(s, u, u.a, adjacent, seen)
	case d4 == 0 && onSegment(s.a, s.b, u.b):
		return c.meet(s, u, u.b, adjacent, seen)
	}
	return ""
}

// meet handles edges s and u meeting at the single point p.
func (c *checker) meet(s, u *vseg, p orb.Point, adjacent bool, seen map[touch]bool) string {
	if s.ring == u.ring {
		if adjacent && (p == s.a || p == s.b) && (p == u.a || p == u.b) {
			return "" // the vertex two consecutive edges share
		}
		return "Ring Self-intersection" + at(p)
	}
	t := touch{r1: min(s.ring, u.ring), r2: max(s.ring, u.ring), p: p}
	if seen[t] {
		return ""
	}
	seen[t] = true
	if c.crossAt(t.r1, t.r2, p) {
		return "Self-intersection" + at(p)
	}
	if c.rings[t.r1].poly == c.rings[t.r2].poly {
		c.touches = append(c.touches, t)
	}
	return ""
}

// crossAt reports whether rings r1 and r2, which meet at p, cross there: the two
// edges of r2 at p lie on different sides of r1's two edges at p.
func (c *checker) crossAt(r1, r2 int, p orb.Point) bool {
	a1, a2 := c.around(r1, p)
	b1, b2 := c.around(r2, p)
	if sameDirection(p, b1, a1) || sameDirection(p, b1, a2) || sameDirection(p, b2, a1) || sameDirection(p, b2, a2) {
		return false // edges on one line: an overlap, reported as such
	}
	return between(p, b1, a1, a2) != between(p, b2, a1, a2)
}

// around returns the points towards which ring r leaves p, which is on it: the
// vertices before and after p, or the ends of the edge p is on.
func (c *checker) around(r int, p orb.Point) (orb.Point, orb.Point) {
	pts := c.rings[r].pts
	for i := 0; i+1 < len(pts); i++ {
		if pts[i] == p {
			prev := pts[len(pts)-2]
			if i > 0 {
				prev = pts[i-1]
			}
			return prev, pts[i+1]
		}
	}
	for i := 0; i+1 < len(pts); i++ {
		if orient(pts[i], pts[i+1], p) == 0 && onSegment(pts[i], pts[i+1], p) {
			return pts[i], pts[i+1]
		}
	}
	return p, p // not reached: p is on the ring
}

// sameDirection reports whether a and b lie in the same direction from o.
func sameDirection(o, a, b orb.Point) bool {
	return orient(o, a, b) == 0 && cmpFloat(a[0], o[0]) == cmpFloat(b[0], o[0]) && cmpFloat(a[1], o[1]) == cmpFloat(b[1], o[1])
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// between reports whether the direction from o to x lies strictly between those to
// from and to, turning counter-clockwise from from. Exact: orientations only.
func between(o, x, from, to orb.Point) bool {
	// half is 0 for directions at angles [0, π) counter-clockwise from from's, 1 for
	// [π, 2π).
	half := func(v orb.Point) int {
		d := orient(o, from, v)
		if d > 0 || d == 0 && sameDirection(o, from, v) {
			return 0
		}
		return 1
	}
	less := func(u, v orb.Point) bool { // the angle from from to u is below that to v
		if hu, hv := half(u), half(v); hu != hv {
			return hu < hv
		}
		return orient(o, u, v) > 0
	}
	return !sameDirection(o, from, x) && less(x, to)
}

// topology checks what edges alone do not show: the interior of each polygon in one
// piece, holes inside their shell and not inside each other, polygons not inside
// one another.
func (c *checker) topology() string {
	// Rings and the points where they touch form a graph; a cycle in it encloses a
	// piece of the interior cut off from the rest.
	nodes := map[orb.Point]int{}
	parent := make([]int, len(c.rings))
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	type incidence struct {
		ring int
		p    orb.Point
	}
	linked := map[incidence]bool{}
	for _, t := range c.touches {
		n, ok := nodes[t.p]
		if !ok {
			n = len(parent)
			nodes[t.p] = n
			parent = append(parent, n)
		}
		for _, r := range []int{t.r1, t.r2} {
			if linked[incidence{r, t.p}] {
				continue
			}
			linked[incidence{r, t.p}] = true
			x, y := find(r), find(n)
			if x == y {
				return "Interior is disconnected" + at(t.p)
			}
			parent[x] = y
		}
	}
	shells := map[int]int{} // polygon → its shell's ring
	for i, r := range c.rings {
		if !r.hole {
			shells[r.poly] = i
		}
	}
	for i, h := range c.rings {
		if !h.hole {
			continue
		}
		shell := c.rings[shells[h.poly]]
		if p, ok := c.pointOff(i, shells[h.poly]); ok && !inside(p, shell.pts) {
			return "Hole lies outside shell" + at(p)
		}
		for j, o := range c.rings {
			if j == i || !o.hole || o.poly != h.poly || !o.bound.Contains(h.bound.Min) || !o.bound.Contains(h.bound.Max) {
				continue
			}
			if p, ok := c.pointOff(i, j); ok && inside(p, o.pts) {
				return "Holes are nested" + at(p)
			}
		}
	}
	for a, ra := range shells {
		for b, rb := range shells {
			outer, inner := c.rings[ra], c.rings[rb]
			if a == b || !outer.bound.Intersects(inner.bound) {
				continue
			}
			var off []int
			for i, r := range c.rings {
				if r.poly == a {
					off = append(off, i)
				}
			}
			p, ok := c.pointOff(rb, off...)
			if !ok || !inside(p, outer.pts) {
				continue
			}
			inHole := false
			for _, i := range off {
				if c.rings[i].hole && inside(p, c.rings[i].pts) {
					inHole = true
				}
			}
			if !inHole {
				return "Nested shells" + at(p)
			}
		}
	}
	return ""
}

// pointOff returns a point of ring r on none of the rings others: a vertex, else the
// middle of an edge.
func (c *checker) pointOff(r int, others ...int) (orb.Point, bool) {
	on := func(p orb.Point) bool {
		for _, o := range others {
			pts := c.rings[o].pts
			for i := 0; i+1 < len(pts); i++ {
				if orient(pts[i], pts[i+1], p) == 0 && onSegment(pts[i], pts[i+1], p) {
					return true
				}
			}
		}
		return false
	}
	pts := c.rings[r].pts
	for _, p := range pts {
		if !on(p) {
			return p, true
		}
	}
	for i := 0; i+1 < len(pts); i++ {
		if p := (orb.Point{(pts[i][0] + pts[i+1][0]) / 2, (pts[i][1] + pts[i+1][1]) / 2}); !on(p) {
			return p, true
		}
	}
	return orb.Point{}, false
}

// inside reports whether p, which is not on the ring, is inside it (winding number,
// from exact orientations).
func inside(p orb.Point, ring []orb.Point) bool {
	wn := 0
	for i := 0; i+1 < len(ring); i++ {
		a, b := ring[i], ring[i+1]
		if a[1] <= p[1] {
			if b[1] > p[1] && orient(a, b, p) > 0 {
				wn++
			}
		} else if b[1] <= p[1] && orient(a, b, p) < 0 {
			wn--
		}
	}
	return wn != 0
}

// orientBound is Shewchuk's error bound for the floating-point orientation test
// (ccwerrboundA in "Adaptive Precision Floating-Point Arithmetic and Fast Robust
// Geometric Predicates", 1997): beyond it the sign computed is the exact one.
var orientBound = (3 + 16*epsilon) * epsilon

const epsilon = 1.0 / (1 << 53)

// orient is positive when c lies to the left of the line from a to b, negative to
// the right, 0 on it. Its sign is exact, as GEOS's is: computed with rationals when
// floating point cannot tell.
func orient(a, b, c orb.Point) float64 {
	if c == a || c == b || a == b {
		return 0
	}
	dx1, dy2, dy1, dx2 := b[0]-a[0], c[1]-a[1], b[1]-a[1], c[0]-a[0]
	// A difference of floats is 0 exactly when they are equal, and has their
	// order's sign: a product with a zero factor is exactly 0 (c on a vertex, an
	// edge parallel to an axis), and the other one's sign is then known.
	lz, rz := dx1 == 0 || dy2 == 0, dy1 == 0 || dx2 == 0
	switch {
	case lz && rz:
		return 0
	case lz:
		return -sign(dy1) * sign(dx2)
	case rz:
		return sign(dx1) * sign(dy2)
	}
	l, r := dx1*dy2, dy1*dx2
	det := l - r
	if bound := orientBound * (math.Abs(l) + math.Abs(r)); det > bound || -det > bound {
		return det
	}
	rat := func(x float64) *big.Rat { return new(big.Rat).SetFloat64(x) }
	sub := func(x, y float64) *big.Rat { return new(big.Rat).Sub(rat(x), rat(y)) }
	exact := new(big.Rat).Sub(new(big.Rat).Mul(sub(b[0], a[0]), sub(c[1], a[1])), new(big.Rat).Mul(sub(b[1], a[1]), sub(c[0], a[0])))
	return float64(exact.Sign())
}

// onSegment reports whether p, on the line through a and b, is within the segment.
func onSegment(a, b, p orb.Point) bool {
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) && min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}

// overlap measures two edges on one line along the axis where s is longer: the
// common interval [lo, hi], a point of it, and whether there is one.
func overlap(s, u *vseg) (lo, hi float64, p orb.Point, ok bool) {
	axis := 0
	if math.Abs(s.b[1]-s.a[1]) > math.Abs(s.b[0]-s.a[0]) {
		axis = 1
	}
	lo = max(min(s.a[axis], s.b[axis]), min(u.a[axis], u.b[axis]))
	hi = min(max(s.a[axis], s.b[axis]), max(u.a[axis], u.b[axis]))
	if hi < lo {
		return 0, 0, orb.Point{}, false
	}
	for _, q := range []orb.Point{s.a, s.b, u.a, u.b} {
		if q[axis] == lo {
			return lo, hi, q, true
		}
	}
	return lo, hi, s.a, true
}

// crossing is where the lines through ab and cd meet (they do, and are not parallel).
func crossing(a, b, c, d orb.Point) orb.Point {
	den := (b[0]-a[0])*(d[1]-c[1]) - (b[1]-a[1])*(d[0]-c[0])
	t := ((c[0]-a[0])*(d[1]-c[1]) - (c[1]-a[1])*(d[0]-c[0])) / den
	return orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
}

func selfIntersection(sameRing bool, p orb.Point) string {
	if sameRing {
		return "Ring Self-intersection" + at(p)
	}
	return "Self-intersection" + at(p)
}

// at formats a location as GEOS does: "[x y]".
func at(p orb.Point) string {
	return "[" + strconv.FormatFloat(p[0], 'f', -1, 64) + " " + strconv.FormatFloat(p[1], 'f', -1, 64) + "]"
}

func sign(x float64) float64 {
	if x < 0 {
		return -1
	}
	return 1
}
