package mvt

// Geometry command ids.
const (
	cmdMoveTo    = 1
	cmdLineTo    = 2
	cmdClosePath = 7
)

// startGeometry checks the call sequence and sets the feature's type.
func (l *Layer) startGeometry(t uint8) {
	if !l.open {
		panic("mvt: geometry outside BeginFeature/EndFeature")
	}
	if l.gtype != geomUnknown {
		panic("mvt: second geometry call for one feature")
	}
	l.gtype = t
}

// command appends a command integer.
func (l *Layer) command(id uint32, count int) {
	if count > maxCommandCount {
		panic("mvt: too many points in one geometry command")
	}
	l.geom = appendVarint32(l.geom, id|uint32(count)<<3)
}

// point appends p as zigzag deltas from the cursor and moves the cursor. The
// subtraction wraps in int32, as the 32-bit parameter integers do.
func (l *Layer) point(p [2]int32) {
	dx, dy := p[0]-l.cx, p[1]-l.cy
	l.cx, l.cy = p[0], p[1]
	l.geom = appendVarint32(l.geom, uint32(dx<<1)^uint32(dx>>31))
	l.geom = appendVarint32(l.geom, uint32(dy<<1)^uint32(dy>>31))
}

// Point sets the current feature's geometry to the point (x, y), in tile
// units with y down. Geometry type POINT.
func (l *Layer) Point(x, y int32) {
	l.startGeometry(geomPoint)
	l.command(cmdMoveTo, 1)
	l.point([2]int32{x, y})
}

// MultiPoint sets the current feature's geometry to the points pts, in tile
// units with y down, as one MoveTo command. Geometry type POINT. Repeated
// points are kept; no points writes no geometry (the feature is discarded).
func (l *Layer) MultiPoint(pts [][2]int32) {
	l.startGeometry(geomPoint)
	if len(pts) == 0 {
		return
	}
	l.command(cmdMoveTo, len(pts))
	for _, p := range pts {
		l.point(p)
	}
}

// LineStrings sets the current feature's geometry to one or more lines (a
// MultiLineString), in tile units with y down. Geometry type LINESTRING.
// Consecutive duplicate points are dropped, and a line left with fewer than 2
// points is skipped; if every line is skipped the feature is discarded.
func (l *Layer) LineStrings(lines [][][2]int32) {
	l.startGeometry(geomLineString)
	for _, line := range lines {
		n := distinct(line)
		if n < 2 {
			continue
		}
		l.command(cmdMoveTo, 1)
		l.point(line[0])
		l.command(cmdLineTo, n-1)
		l.points(line, n-1)
	}
}

// Polygons sets the current feature's geometry to one or more polygons (a
// MultiPolygon), in tile units with y down. Geometry type POLYGON.
//
// Each polygon is a list of rings, the exterior ring first, then its holes.
// Rings are given without the repeated closing point (a trailing point equal
// to the first is dropped) and in MVT orientation: exterior rings with a
// positive SignedArea2 (clockwise on screen), holes negative. The writer does
// not reorient. Consecutive duplicate points are dropped; a ring left with
// fewer than 3 points, or with zero area, is skipped, and when that happens to
// an exterior ring its whole polygon, holes included, is skipped. If every
// polygon is skipped the feature is discarded.
func (l *Layer) Polygons(polys [][][][2]int32) {
	l.startGeometry(geomPolygon)
	for _, poly := range polys {
		for i, ring := range poly {
			n := distinct(ring)
			if n > 1 && ring[len(ring)-1] == ring[0] {
				n-- // the closing point, given or not, is ClosePath's job
			}
			if n < 3 || SignedArea2(ring) == 0 {
				if i == 0 {
					break
				}
				continue
			}
			l.command(cmdMoveTo, 1)
			l.point(ring[0])
			l.command(cmdLineTo, n-1)
			l.points(ring, n-1)
			l.command(cmdClosePath, 1)
		}
	}
}

// distinct returns the number of points of pts after dropping consecutive
// duplicates.
func distinct(pts [][2]int32) int {
	if len(pts) == 0 {
		return 0
	}
	n := 1
	for i := 1; i < len(pts); i++ {
		if pts[i] != pts[i-1] {
			n++
		}
	}
	return n
}

// points appends the first n points of pts[1:] that differ from their
// predecessor.
func (l *Layer) points(pts [][2]int32, n int) {
	prev := pts[0]
	for _, p := range pts[1:] {
		if n == 0 {
			return
		}
		if p == prev {
			continue
		}
		l.point(p)
		prev = p
		n--
	}
}

// SignedArea2 returns twice the signed area of a ring by the shoelace formula,
// in square tile units (x right, y down). It is positive for an exterior ring
// in MVT terms (clockwise on screen), negative for an interior ring, zero for
// a degenerate one. The ring may or may not repeat its first point at the end.
// The sum is taken in wrapping int64 arithmetic, so the result is exact
// whenever it fits in an int64, which holds for every simple ring whose
// coordinates are within ±2^30.
func SignedArea2(ring [][2]int32) int64 {
	if len(ring) < 3 {
		return 0
	}
	var a int64
	p := ring[len(ring)-1]
	for _, q := range ring {
		a += int64(p[0])*int64(q[1]) - int64(q[0])*int64(p[1])
		p = q
	}
	return a
}
