package index

import (
	"errors"
	"fmt"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"riskmap/geo"
)

// Planar predicates in lon/lat degrees for polygon queries: GeoJSON (RFC 7946) draws
// edges as straight lines in lon/lat, and so does PostGIS on geometry.

// ErrInvalidPolygon is wrapped by ValidatePolygon's errors.
var ErrInvalidPolygon = errors.New("invalid polygon")

// MaxPolygonVertices bounds a query polygon (all rings together).
const MaxPolygonVertices = 5000

// ValidatePolygon checks a query polygon: closed rings of at least 4 points,
// coordinates in lon/lat range, at most MaxPolygonVertices vertices, and no ring that
// crosses itself or another ring.
func ValidatePolygon(mp orb.MultiPolygon) error {
	if len(mp) == 0 {
		return fmt.Errorf("%w: no polygon", ErrInvalidPolygon)
	}
	n := 0
	for pi, poly := range mp {
		if len(poly) == 0 {
			return fmt.Errorf("%w: polygon %d has no rings", ErrInvalidPolygon, pi)
		}
		for ri, ring := range poly {
			n += len(ring)
			if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
				return fmt.Errorf("%w: ring %d must be closed (first point = last point) with at least 4 points", ErrInvalidPolygon, ri)
			}
			for _, p := range ring {
				if !(p[0] >= -180 && p[0] <= 180 && p[1] >= -90 && p[1] <= 90) {
					return fmt.Errorf("%w: point %v is outside lon -180..180, lat -90..90", ErrInvalidPolygon, p)
				}
			}
		}
	}
	if n > MaxPolygonVertices {
		return fmt.Errorf("%w: %d vertices, the limit is %d", ErrInvalidPolygon, n, MaxPolygonVertices)
	}
	// Every pair of edges: they may only meet at the vertex two consecutive edges share.
	var rings []orb.Ring
	for _, poly := range mp {
		rings = append(rings, poly...)
	}
	for a, ra := range rings {
		for i := 0; i+1 < len(ra); i++ {
			for b := a; b < len(rings); b++ {
				rb := rings[b]
				j0 := 0
				if b == a {
					j0 = i + 1
				}
				for j := j0; j+1 < len(rb); j++ {
					if b == a && (j == i+1 || i == 0 && j == len(ra)-2) {
						// adjacent edges share one vertex; only overlap is a fault
						if collinearOverlap(ra[i], ra[i+1], rb[j], rb[j+1]) {
							return fmt.Errorf("%w: ring %d folds back on itself near %v", ErrInvalidPolygon, a, ra[i+1])
						}
						continue
					}
					if segmentsIntersect(ra[i], ra[i+1], rb[j], rb[j+1]) {
						if a == b {
							return fmt.Errorf("%w: ring %d crosses itself near %v (self-intersection)", ErrInvalidPolygon, a, ra[i])
						}
						return fmt.Errorf("%w: rings %d and %d intersect near %v", ErrInvalidPolygon, a, b, ra[i])
					}
				}
			}
		}
	}
	return nil
}

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func onSegment(a, b, p orb.Point) bool {
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) && min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}

// segmentsIntersect reports whether segments ab and cd share at least one point.
func segmentsIntersect(a, b, c, d orb.Point) bool {
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	if (d1 > 0 && d2 < 0 || d1 < 0 && d2 > 0) && (d3 > 0 && d4 < 0 || d3 < 0 && d4 > 0) {
		return true
	}
	return d1 == 0 && onSegment(c, d, a) || d2 == 0 && onSegment(c, d, b) ||
		d3 == 0 && onSegment(a, b, c) || d4 == 0 && onSegment(a, b, d)
}

// collinearOverlap reports whether two segments that share an endpoint lie on one
// line and overlap beyond that point (a spike folding back on itself).
func collinearOverlap(a, b, c, d orb.Point) bool {
	if orient(a, b, c) != 0 || orient(a, b, d) != 0 {
		return false
	}
	var s, x, y orb.Point // shared vertex, far end of ab, far end of cd
	switch {
	case b == c:
		s, x, y = b, a, d
	case a == d:
		s, x, y = a, b, c
	case a == c:
		s, x, y = a, b, d
	default:
		s, x, y = b, a, c
	}
	return (x[0]-s[0])*(y[0]-s[0])+(x[1]-s[1])*(y[1]-s[1]) > 0
}

// intersects reports whether geometry g shares a point with mp.
func intersects(mp orb.MultiPolygon, g orb.Geometry) bool {
	switch v := g.(type) {
	case orb.Point:
		return planar.MultiPolygonContains(mp, v)
	case orb.MultiPoint:
		for _, p := range v {
			if planar.MultiPolygonContains(mp, p) {
				return true
			}
		}
	case orb.LineString:
		return lineIntersects(mp, v)
	case orb.MultiLineString:
		for _, l := range v {
			if lineIntersects(mp, l) {
				return true
			}
		}
	case orb.Polygon:
		return polygonIntersects(mp, v)
	case orb.MultiPolygon:
		for _, p := range v {
			if polygonIntersects(mp, p) {
				return true
			}
		}
	}
	return false
}

func lineIntersects(mp orb.MultiPolygon, l orb.LineString) bool {
	for _, p := range l {
		if planar.MultiPolygonContains(mp, p) {
			return true
		}
	}
	return edgesCross(mp, l)
}

// edgesCross reports whether any segment of path meets any ring edge of mp.
func edgesCross(mp orb.MultiPolygon, path []orb.Point) bool {
	for i := 0; i+1 < len(path); i++ {
		for _, poly := range mp {
			for _, ring := range poly {
				for j := 0; j+1 < len(ring); j++ {
					if segmentsIntersect(path[i], path[i+1], ring[j], ring[j+1]) {
						return true
					}
				}
			}
		}
	}
	return false
}

func polygonIntersects(mp orb.MultiPolygon, p orb.Polygon) bool {
	if len(p) == 0 {
		return false
	}
	// Any ring of p (holes included) touching mp: a query inside a hole of p but
	// crossing the hole's edge meets p.
	for _, ring := range p {
		if lineIntersects(mp, orb.LineString(ring)) {
			return true
		}
	}
	// mp may lie wholly inside p (and outside its holes).
	for _, q := range mp {
		if len(q) > 0 && len(q[0]) > 0 && planar.PolygonContains(p, q[0][0]) {
			return true
		}
	}
	return false
}

// covers reports whether every point of g lies in mp (inside one of its polygons).
func covers(mp orb.MultiPolygon, g orb.Geometry) bool {
	one := func(path []orb.Point) bool {
		for _, poly := range mp {
			if geo.PolygonCoversLine(poly, orb.LineString(path)) {
				return true
			}
		}
		return false
	}
	// area: the outer ring of p lies in a member of mp, and no hole of that member
	// reaches into p (a hole of the query inside the feature leaves part of it out).
	area := func(p orb.Polygon) bool {
		if len(p) == 0 {
			return false
		}
		for _, poly := range mp {
			if !geo.PolygonCoversLine(poly, orb.LineString(p[0])) {
				continue
			}
			for _, hole := range poly[1:] {
				if lineIntersects(orb.MultiPolygon{p}, orb.LineString(hole)) {
					return false
				}
			}
			return true
		}
		return false
	}
	switch v := g.(type) {
	case orb.Point:
		return one([]orb.Point{v})
	case orb.MultiPoint:
		for _, p := range v {
			if !one([]orb.Point{p}) {
				return false
			}
		}
		return true
	case orb.LineString:
		return one(v)
	case orb.MultiLineString:
		for _, l := range v {
			if !one(l) {
				return false
			}
		}
		return true
	case orb.Polygon:
		return area(v)
	case orb.MultiPolygon:
		for _, p := range v {
			if !area(p) {
				return false
			}
		}
		return len(v) > 0
	}
	return false
}
