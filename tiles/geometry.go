package tiles

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/simplify"

	"riskmap/index"
	"riskmap/tiles/mvt"
)

// simplifyTolerance is the Douglas–Peucker tolerance, in tile units: at every zoom a
// vertex that moves a line by less than this is dropped (a tile unit is 1/4096 of the
// tile, so the drawing does not change).
const simplifyTolerance = 1.0

// shaper turns a feature's geometry into tile geometry for one tile: projected,
// clipped to the tile grown by buffer units, simplified and rounded to integer tile
// units, with nothing degenerate left. The record's geometry is never modified: it
// is projected into the shaper's own slices first. A shaper is reused for every
// feature of a tile (its scratch slices keep their capacity).
type shaper struct {
	pr   projection
	clip orb.Bound // tile units
	dp   *simplify.DouglasPeuckerSimplifier

	pts   [][2]int32
	arena [][2]int32 // backing store of the rings and lines below
	lines [][][2]int32
	rings [][][2]int32
	polys [][][][2]int32
	proj  []orb.Point // backing store of one polygon's projected rings
	projR orb.Polygon
}

func newShaper(pr projection, buffer float64) *shaper {
	return &shaper{
		pr:   pr,
		clip: orb.Bound{Min: orb.Point{-buffer, -buffer}, Max: orb.Point{Extent + buffer, Extent + buffer}},
		dp:   simplify.DouglasPeucker(simplifyTolerance),
	}
}

// inside reports whether a tile-unit position lies in the tile grown by the buffer.
func (s *shaper) inside(x, y float64) bool {
	return x >= s.clip.Min[0] && x <= s.clip.Max[0] && y >= s.clip.Min[1] && y <= s.clip.Max[1]
}

func round(v float64) int32 { return int32(math.Round(v)) }

// write writes g, whose bound is b (g.Bound(), given because the index has it), as
// the current feature's geometry and reports whether anything was written. A line or
// polygon that enters the tile but leaves nothing drawable in it (smaller than a
// tile unit at this zoom, or collapsed by simplification) is written as a point at
// the center of its bounds when that center lies in the tile: at no zoom does a
// feature vanish. (The arena is empty after writeLines or writePolygons exactly when
// no part of the feature was clipped into the tile: then the center of its bounds,
// which may lie in a tile it never enters, is not drawn.)
func (s *shaper) write(l *mvt.Layer, g orb.Geometry, b orb.Bound, mb mercBound) bool {
	switch g := g.(type) {
	case orb.Point:
		x, y := s.pr.project(g)
		if !s.inside(x, y) {
			return false
		}
		l.Point(round(x), round(y))
		return true
	case orb.MultiPoint:
		s.pts = s.pts[:0]
		for _, p := range g {
			if x, y := s.pr.project(p); s.inside(x, y) {
				s.pts = append(s.pts, [2]int32{round(x), round(y)})
			}
		}
		if len(s.pts) == 0 {
			return false
		}
		l.MultiPoint(s.pts)
		return true
	case orb.LineString:
		return s.writeLines(l, orb.MultiLineString{g}, &mb) || len(s.arena) > 0 && s.writeCenter(l, b)
	case orb.MultiLineString:
		return s.writeLines(l, g, nil) || len(s.arena) > 0 && s.writeCenter(l, b)
	case orb.Polygon:
		return s.writePolygons(l, orb.MultiPolygon{g}, &mb) || len(s.arena) > 0 && s.writeCenter(l, b)
	case orb.MultiPolygon:
		return s.writePolygons(l, g, nil) || len(s.arena) > 0 && s.writeCenter(l, b)
	}
	return false
}

// writeCenter writes a point at the center of b (lon/lat) when it is in the tile.
func (s *shaper) writeCenter(l *mvt.Layer, b orb.Bound) bool {
	x, y := s.pr.project(b.Center())
	if !s.inside(x, y) {
		return false
	}
	l.Point(round(x), round(y))
	return true
}

// projectLine returns a new line of ls's vertices in tile units.
func (s *shaper) projectLine(ls []orb.Point) orb.LineString {
	out := make(orb.LineString, len(ls))
	for i, p := range ls {
		out[i][0], out[i][1] = s.pr.project(p)
	}
	return out
}

// quantize appends ls rounded to tile units, without consecutive duplicates, to the
// arena and returns that part of it.
func (s *shaper) quantize(ls []orb.Point) [][2]int32 {
	start := len(s.arena)
	for _, p := range ls {
		q := [2]int32{round(p[0]), round(p[1])}
		if n := len(s.arena); n > start && s.arena[n-1] == q {
			continue
		}
		s.arena = append(s.arena, q)
	}
	return s.arena[start:len(s.arena):len(s.arena)]
}

// writeLines writes mls; one is the bound of its only line when known.
func (s *shaper) writeLines(l *mvt.Layer, mls orb.MultiLineString, one *mercBound) bool {
	s.arena, s.lines = s.arena[:0], s.lines[:0]
	for _, ls := range mls {
		if one != nil && !s.meetsMerc(*one) || one == nil && !s.meets(ls.Bound()) {
			continue
		}
		for _, part := range clip.LineString(s.clip, s.projectLine(ls)) {
			part = s.dp.LineString(part)
			if q := s.quantize(part); len(q) >= 2 {
				s.lines = append(s.lines, q)
			}
		}
	}
	if len(s.lines) == 0 {
		return false
	}
	l.LineStrings(s.lines)
	return true
}

// writePolygons writes mp; one is the bound of its only polygon when known.
func (s *shaper) writePolygons(l *mvt.Layer, mp orb.MultiPolygon, one *mercBound) bool {
	s.arena, s.polys = s.arena[:0], s.polys[:0]
	for _, poly := range mp {
		if len(poly) == 0 || one != nil && !s.meetsMerc(*one) || one == nil && !s.meets(poly[0].Bound()) {
			continue
		}
		s.addPolygon(s.projectPolygon(poly))
	}
	if len(s.polys) == 0 {
		return false
	}
	l.Polygons(s.polys)
	return true
}

// writeMercPolygon is write for a Polygon of bound b (WGS84) and mb (Web Mercator)
// whose vertices are given already projected: verts holds Mercator(p) of every
// vertex p of its rings, one ring after the other, ends the end of each ring in
// verts (index.Snapshot.PolygonRings). The WGS84 CRS only.
func (s *shaper) writeMercPolygon(l *mvt.Layer, verts [][2]float64, ends []uint32, b orb.Bound, mb mercBound) bool {
	s.arena, s.polys = s.arena[:0], s.polys[:0]
	if len(ends) > 0 && s.meetsMerc(mb) {
		s.addPolygon(s.projectMercPolygon(verts, ends))
	}
	if len(s.polys) > 0 {
		l.Polygons(s.polys)
		return true
	}
	return len(s.arena) > 0 && s.writeCenter(l, b)
}

// addPolygon clips (unless inside: every vertex lies in the clip box), simplifies
// and rounds a polygon projected to tile units and adds what is left of it to
// s.polys.
func (s *shaper) addPolygon(proj orb.Polygon, inside bool) {
	if !inside {
		// The clipper returns a ring wholly inside the box unchanged: it is
		// only needed when some vertex lies outside.
		proj = clip.Polygon(s.clip, proj)
	}
	if len(proj) == 0 {
		return
	}
	s.rings = s.rings[:0]
	for i, r := range proj {
		q := s.quantize(s.dp.Ring(r))
		if len(q) > 1 && q[len(q)-1] == q[0] {
			q = q[:len(q)-1]
		}
		a := mvt.SignedArea2(q)
		if len(q) < 3 || a == 0 {
			if i == 0 {
				break // no exterior: the holes go with it
			}
			continue
		}
		// MVT: exterior rings have positive area in tile units (y down),
		// holes negative. Projection flips the y axis, so orient explicitly.
		if (i == 0) != (a > 0) {
			reverse(q)
		}
		s.rings = append(s.rings, q)
	}
	if len(s.rings) > 0 {
		s.polys = append(s.polys, append([][][2]int32(nil), s.rings...))
	}
}

// projectPolygon returns poly's rings in tile units, in the shaper's reused
// buffers (valid until the next call; each ring's capacity ends where it does, so
// the clipper, which works in its input, never writes over the next ring), and
// whether every vertex lies in the clip box.
func (s *shaper) projectPolygon(poly orb.Polygon) (orb.Polygon, bool) {
	n := 0
	for _, r := range poly {
		n += len(r)
	}
	s.proj = slices.Grow(s.proj[:0], n)
	s.projR = s.projR[:0]
	inside := true
	for _, r := range poly {
		start := len(s.proj)
		for _, p := range r {
			x, y := s.pr.project(p)
			inside = inside && s.inside(x, y)
			s.proj = append(s.proj, orb.Point{x, y})
		}
		s.projR = append(s.projR, orb.Ring(s.proj[start:len(s.proj):len(s.proj)]))
	}
	return s.projR, inside
}

// projectMercPolygon is projectPolygon for a polygon given in Web Mercator (see
// writeMercPolygon): the same positions, to the bit, without a logarithm.
func (s *shaper) projectMercPolygon(verts [][2]float64, ends []uint32) (orb.Polygon, bool) {
	s.proj = slices.Grow(s.proj[:0], len(verts))
	s.projR = s.projR[:0]
	inside := true
	start := 0
	for _, end := range ends {
		for _, p := range verts[start:end] {
			x, y := s.pr.fromMercator(p[0], p[1])
			inside = inside && s.inside(x, y)
			s.proj = append(s.proj, orb.Point{x, y})
		}
		s.projR = append(s.projR, orb.Ring(s.proj[start:end:end]))
		start = int(end)
	}
	return s.projR, inside
}

// meets reports whether a lon/lat bound, projected, meets the clip box (a cheap
// test before projecting every vertex).
func (s *shaper) meets(b orb.Bound) bool {
	if s.pr.crs == GCJ02 {
		return true // the offset moves edges; let the clipper decide
	}
	x0, y0 := index.Mercator(orb.Point{b.Min[0], b.Max[1]})
	x1, y1 := index.Mercator(orb.Point{b.Max[0], b.Min[1]})
	return s.meetsMerc(mercBound{x0, y0, x1, y1})
}

// mercBound is a bound in Web Mercator scaled to the world square (y down): the
// north-west corner, then the south-east one (index.Record.MercatorBound).
type mercBound [4]float64

// meetsMerc is meets for a bound already in Web Mercator.
func (s *shaper) meetsMerc(b mercBound) bool {
	if s.pr.crs == GCJ02 {
		return true
	}
	x0, y0 := s.pr.fromMercator(b[0], b[1])
	x1, y1 := s.pr.fromMercator(b[2], b[3])
	return x1 >= s.clip.Min[0] && x0 <= s.clip.Max[0] && y1 >= s.clip.Min[1] && y0 <= s.clip.Max[1]
}

func reverse(r [][2]int32) {
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
}
