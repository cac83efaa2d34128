package geo

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// boundaryTol is the distance in degrees, measured in the planar lon/lat
// space, within which a point counts as lying on a polygon edge (1e-10° is
// about 11 µm on the ground). It absorbs the rounding of coordinates that
// were meant to lie exactly on the boundary.
const boundaryTol = 1e-10

// PolygonCoversLine reports whether every point of line lies inside or on
// the boundary of poly. The test is planar in lon/lat degrees (edges are
// straight lines in that space, not geodesics, and nothing wraps at the
// antimeridian) and respects holes: poly[0]
// is the outer ring and poly[1:] are holes; rings may be closed or not and
// of either orientation.
//
// It holds when all vertices of line are inside or on poly and no segment
// of line crosses an edge of any ring. Segments that only touch the
// boundary, at a polygon vertex or along an edge, are checked piecewise
// between the touching points, so a segment whose end points are both
// inside but which leaves poly through a vertex, or a chord across a
// concave gap, is rejected. Points within 1e-10 degrees (about 11 µm) of
// an edge count as on the boundary.
//
// poly is assumed valid (holes inside the outer ring and disjoint from each
// other). An empty line, or a polygon without an outer ring, gives false.
func PolygonCoversLine(poly orb.Polygon, line orb.LineString) bool {
	return coversPath(poly, line, false)
}

// PolygonCoversRing is PolygonCoversLine for a closed ring: it also checks
// the closing edge from the last vertex back to the first when ring does
// not repeat its first point at the end. An empty ring gives false.
func PolygonCoversRing(poly orb.Polygon, ring orb.Ring) bool {
	return coversPath(poly, orb.LineString(ring), true)
}

// location of a point relative to a polygon.
type location int

const (
	exterior location = iota
	onBoundary
	interior
)

func coversPath(poly orb.Polygon, path orb.LineString, closed bool) bool {
	if len(path) == 0 || len(poly) == 0 || len(poly[0]) == 0 {
		return false
	}
	outer := poly[0].Bound().Pad(boundaryTol)
	for _, p := range path {
		if !outer.Contains(p) || locate(poly, p) == exterior {
			return false
		}
	}
	segs := len(path) - 1
	if closed {
		segs = len(path)
	}
	var buf [16]float64
	ts := buf[:0] // scratch buffer reused across segments
	for i := range segs {
		p, q := path[i], path[(i+1)%len(path)]
		if p == q {
			continue
		}
		var ok bool
		ts, ok = segmentCovered(poly, p, q, ts[:0])
		if !ok {
			return false
		}
	}
	return true
}

// segmentCovered reports whether the segment pq, whose end points are
// known to be inside or on poly, stays inside or on poly. ts is a scratch
// buffer, returned for reuse.
func segmentCovered(poly orb.Polygon, p, q orb.Point, ts []float64) ([]float64, bool) {
	// Bounding box of pq, padded by the tolerance.
	minx, maxx := math.Min(p[0], q[0])-boundaryTol, math.Max(p[0], q[0])+boundaryTol
	miny, maxy := math.Min(p[1], q[1])-boundaryTol, math.Max(p[1], q[1])+boundaryTol
	dx, dy := q[0]-p[0], q[1]-p[1]
	len2 := dx*dx + dy*dy
	ts = append(ts, 0, 1)
	for _, ring := range poly {
		for j := range ring {
			a, c := ring[j], ring[(j+1)%len(ring)]
			if math.Max(a[0], c[0]) < minx || math.Min(a[0], c[0]) > maxx ||
				math.Max(a[1], c[1]) < miny || math.Min(a[1], c[1]) > maxy {
				continue
			}
			if a != c && properCross(p, q, a, c) {
				// Crossing any ring of a valid polygon leaves it.
				return ts, false
			}
			// A ring vertex touching pq splits it into pieces that are
			// each wholly inside, wholly outside, or along the boundary.
			if segmentDistance(a, p, q) <= boundaryTol {
				t := ((a[0]-p[0])*dx + (a[1]-p[1])*dy) / len2
				if t > 0 && t < 1 {
					ts = append(ts, t)
				}
			}
		}
	}
	slices.Sort(ts)
	for k := 1; k < len(ts); k++ {
		if ts[k] == ts[k-1] {
			continue
		}
		tm := (ts[k-1] + ts[k]) / 2
		m := orb.Point{p[0] + tm*dx, p[1] + tm*dy}
		if locate(poly, m) == exterior {
			return ts, false
		}
	}
	return ts, true
}

// locate classifies p against poly (outer ring poly[0], holes poly[1:]).
func locate(poly orb.Polygon, p orb.Point) location {
	for i, ring := range poly {
		in, on := locateRing(ring, p)
		switch {
		case on:
			return onBoundary
		case i == 0 && !in:
			return exterior
		case i > 0 && in:
			return exterior // inside a hole
		}
	}
	return interior
}

// locateRing reports whether p is strictly inside ring (even-odd rule) and
// whether it lies within boundaryTol of one of its edges. The ring is
// treated as closed whether or not it repeats its first point.
func locateRing(ring orb.Ring, p orb.Point) (in, on bool) {
	for j := range ring {
		a, c := ring[j], ring[(j+1)%len(ring)]
		if segmentDistance(p, a, c) <= boundaryTol {
			return false, true
		}
		// Half-open rule: count edges that straddle the horizontal line
		// through p and cross it to the right of p.
		if (a[1] > p[1]) != (c[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(c[0]-a[0])/(c[1]-a[1])
			if p[0] < x {
				in = !in
			}
		}
	}
	return in, false
}

// segmentDistance returns the planar distance, in degrees, from p to the
// segment ac.
func segmentDistance(p, a, c orb.Point) float64 {
	dx, dy := c[0]-a[0], c[1]-a[1]
	px, py := p[0]-a[0], p[1]-a[1]
	len2 := dx*dx + dy*dy
	if len2 > 0 {
		t := (px*dx + py*dy) / len2
		switch {
		case t >= 1:
			px, py = p[0]-c[0], p[1]-c[1]
		case t > 0:
			px -= t * dx
			py -= t * dy
		}
	}
	return math.Hypot(px, py)
}

// lineOffset returns the signed distance, in degrees, of p from the line
// through a and c: positive to the left of a→c. a and c must differ.
func lineOffset(p, a, c orb.Point) float64 {
	dx, dy := c[0]-a[0], c[1]-a[1]
	return (dx*(p[1]-a[1]) - dy*(p[0]-a[0])) / math.Hypot(dx, dy)
}

// properCross reports whether the segments pq and ac cross transversally
// at a point interior to both, with every end point farther than
// boundaryTol from the other segment's line. Touching, collinear and
// near-degenerate contacts are left to the piecewise test.
func properCross(p, q, a, c orb.Point) bool {
	d1, d2 := lineOffset(p, a, c), lineOffset(q, a, c)
	if math.Abs(d1) <= boundaryTol || math.Abs(d2) <= boundaryTol || (d1 > 0) == (d2 > 0) {
		return false
	}
	d3, d4 := lineOffset(a, p, q), lineOffset(c, p, q)
	if math.Abs(d3) <= boundaryTol || math.Abs(d4) <= boundaryTol || (d3 > 0) == (d4 > 0) {
		return false
	}
	return true
}
