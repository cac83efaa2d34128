package index

import (
	"math"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// Snapshot is one version of a layer's records laid out for scanning an area in
// contiguous memory, what a vector tile does: each feature's id, position or
// bounds, Summary codes and interned texts in the snapshot's own arrays, in
// spatial order, instead of in an R-tree and in records scattered over the heap.
//
// Points are sorted into a grid of square Web Mercator cells, row after row (north
// to south), each row's cells west to east, each cell's points by id: a row of
// cells is one contiguous run of Points, so an area is a few runs (AppendPointRuns).
// Other features (Shapes) are sorted the same way by the north-west corner of their
// bounds, except those larger than a few cells, which every area scans
// (AppendShapeRuns). A polygon's vertices are kept projected to Web Mercator.
//
// A Snapshot is immutable and reflects one version of its layer (see
// Index.Snapshot); its records are the index's (immutable too). It may be kept and
// read after the layer changed, without locks, like the records a query returns.
type Snapshot struct {
	// Points in grid order.
	Points []SetPoint
	// Codes holds NCodes codes per point (point i's are Codes[i*NCodes:(i+1)*NCodes]):
	// the record's SummaryCodes, except that an interned text's code is 1 + its
	// number in Texts instead of in the index's table: equal numbers mean equal
	// texts, and numbers are given in grid order (points first), so the texts of
	// nearby features are near each other.
	Codes  []uint32
	NCodes int
	// Texts are the interned texts by number, slices of one string holding them in
	// the order of their first use. Do not modify.
	Texts []string

	// Shapes are the features that are not points, in grid order of their bounds'
	// north-west corners, then those too large for the grid.
	Shapes []SetShape
	// ShapeCodes are the shapes' codes as Codes are the points'.
	ShapeCodes []uint32

	// Detail holds NFields detail codes per point (see DetailCode), ShapeDetail per
	// shape: every field's value, for the tiles that carry them all.
	Detail, ShapeDetail []uint32
	NFields             int
	// DetailTexts are the texts of the detail codes by number: slices of the
	// records' own memory (not copied). Do not modify.
	DetailTexts []string

	verts    [][2]float64 // polygon vertices in Web Mercator, each shape's rings one after the other
	ringEnds []uint32     // per ring, its end in its shape's vertices

	points, shapes grid
	bigFrom        int     // Shapes[bigFrom:] are scanned by every area
	growX, growY   float64 // the widest and tallest gridded shape's Web Mercator extent
}

// A detail code is a field's value: its kind in the top bits (DetailMask off), its
// payload in the others.
const (
	// DetailNull is a null value (the code is 0).
	DetailNull uint32 = iota << 28
	// DetailEnum: the payload is the rank of the value in Field.Enum.
	DetailEnum
	// DetailBool: the payload is 0 for false, 1 for true.
	DetailBool
	// DetailText: a text of a field that is not Unique; the payload is its number
	// in DetailTexts: equal numbers mean equal texts, whatever their fields.
	DetailText
	// DetailUnique: a text of a Unique field; the payload is its number in
	// DetailTexts (its own).
	DetailUnique
	// DetailProp: another value (numbers): read it with Record.Prop.
	DetailProp

	DetailMask = 1<<28 - 1 // the payload bits
)

// SetPoint is one point of a Snapshot.
type SetPoint struct {
	ID int64
	// X, Y are the point in Web Mercator scaled to the world square, exactly
	// Rec.MercatorPoint's.
	X, Y float64
	Rec  *Record
}

// SetShape is one feature of a Snapshot that is not a point.
type SetShape struct {
	ID  int64
	Rec *Record
	// Bound is Rec.Bound (WGS84), MBound Rec.MercatorBound().
	Bound  orb.Bound
	MBound [4]float64
	// Polygon: Rec.Geometry is an orb.Polygon whose vertices PolygonRings returns
	// projected. Other shapes are drawn from Rec.Geometry.
	Polygon                  bool
	vertsAt, ringsAt, nRings uint32
}

// PolygonRings returns the vertices of shape i (a Polygon), every vertex p of its
// rings one after the other as Mercator(p), and the end of each ring in them. Both
// are the snapshot's own: do not modify them.
func (s *Snapshot) PolygonRings(i int) (verts [][2]float64, ends []uint32) {
	sh := &s.Shapes[i]
	ends = s.ringEnds[sh.ringsAt : sh.ringsAt+sh.nRings]
	n := uint32(0)
	if len(ends) > 0 {
		n = ends[len(ends)-1]
	}
	return s.verts[sh.vertsAt : sh.vertsAt+n], ends
}

// grid is a grid of square Web Mercator cells over a snapshot's points or shapes.
type grid struct {
	cellScale  float64 // cells per world width: 2^level
	col0, row0 int     // the grid's north-west cell, in cells of the world
	cols, rows int
	start      []uint32 // the entries of cell (row r, column c) are [start[r*cols+c], start[r*cols+c+1])
}

// appendRuns appends the runs of entries whose cells meet the rectangle.
func (g *grid) appendRuns(dst [][2]uint32, minX, minY, maxX, maxY float64) [][2]uint32 {
	if g.cols == 0 || !(minX <= maxX && minY <= maxY) {
		return dst
	}
	c0, c1 := math.Floor(minX*g.cellScale)-float64(g.col0), math.Floor(maxX*g.cellScale)-float64(g.col0)
	r0, r1 := math.Floor(minY*g.cellScale)-float64(g.row0), math.Floor(maxY*g.cellScale)-float64(g.row0)
	if c1 < 0 || r1 < 0 || c0 >= float64(g.cols) || r0 >= float64(g.rows) {
		return dst
	}
	first, last := int(max(c0, 0)), int(min(c1, float64(g.cols-1)))
	for r := int(max(r0, 0)); r <= int(min(r1, float64(g.rows-1))); r++ {
		lo, hi := g.start[r*g.cols+first], g.start[r*g.cols+last+1]
		if lo == hi {
			continue
		}
		if n := len(dst); n > 0 && dst[n-1][1] == lo {
			dst[n-1][1] = hi // rows that meet in the entries: one run
			continue
		}
		dst = append(dst, [2]uint32{lo, hi})
	}
	return dst
}

// AppendPointRuns appends to dst the runs [lo, hi) of Points whose cells meet the
// Web Mercator rectangle [minX, maxX] × [minY, maxY] (world square units, y south)
// and returns it: every point inside the rectangle is in a run (points of the runs
// outside it are the caller's to skip). Runs are in grid order.
func (s *Snapshot) AppendPointRuns(dst [][2]uint32, minX, minY, maxX, maxY float64) [][2]uint32 {
	return s.points.appendRuns(dst, minX, minY, maxX, maxY)
}

// AppendShapeRuns is AppendPointRuns for Shapes: every shape whose MBound meets
// the rectangle is in a run.
func (s *Snapshot) AppendShapeRuns(dst [][2]uint32, minX, minY, maxX, maxY float64) [][2]uint32 {
	dst = s.shapes.appendRuns(dst, minX-s.growX, minY-s.growY, maxX, maxY)
	if s.bigFrom < len(s.Shapes) {
		dst = append(dst, [2]uint32{uint32(s.bigFrom), uint32(len(s.Shapes))})
	}
	return dst
}

// snapshotBuildGap is how long, in multiples of the last build of a layer's
// Snapshot, Index.Snapshot waits after that build and after the layer's last change
// before it starts the next build: building takes at most a fraction
// 1/(1+snapshotBuildGap) of a core however often the layer changes, and none while
// it changes more often than that (a snapshot would be stale before it is used).
const snapshotBuildGap = 4

// snapshotSlot is a layer's Snapshot and what decides when to rebuild it. set is
// replaced only under the index's read lock after checking the layer's version, and
// cleared under its write lock (see layerIndex.changed).
type snapshotSlot struct {
	set      atomic.Pointer[Snapshot]
	building atomic.Bool
	lastCost atomic.Int64 // nanoseconds the last build took
	lastEnd  atomic.Int64 // when it ended, Unix nanoseconds
	changed  atomic.Int64 // when an Apply last changed the layer, Unix nanoseconds
}

// Snapshot returns the Snapshot of layer's current version, or nil when there is
// none yet — read the layer with Visit then. A call after the layer changed starts
// making one in the background (tens of milliseconds for 35,000 points), unless one
// is being made or the last build, or the layer's last change, is less than
// snapshotBuildGap times the last build's cost ago: a layer that changes faster
// than that is read through the tree until it calms down. An unknown layer returns
// nil.
//
// A snapshot returned after an Apply has returned reflects that Apply: the layer's
// snapshot is dropped under the write lock, and a new one is published only if the
// layer's version did not change while it was made.
func (ix *Index) Snapshot(layer string) *Snapshot {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	li := ix.layers[layer]
	if li == nil {
		return nil
	}
	slot := &li.snap
	if s := slot.set.Load(); s != nil {
		return s
	}
	now, wait := time.Now().UnixNano(), snapshotBuildGap*slot.lastCost.Load()
	if now-slot.lastEnd.Load() < wait || now-slot.changed.Load() < wait ||
		!slot.building.CompareAndSwap(false, true) {
		return nil
	}
	go ix.makeSnapshot(layer, li)
	return nil
}

// makeSnapshot makes and publishes the snapshot of li's current version, if li is
// still layer's index and its version did not change meanwhile.
func (ix *Index) makeSnapshot(layer string, li *layerIndex) {
	slot := &li.snap
	defer slot.building.Store(false)
	start := time.Now().UnixNano()
	ix.mu.RLock()
	if ix.layers[layer] != li {
		ix.mu.RUnlock()
		return
	}
	version := li.version
	recs := make([]*Record, 0, len(li.byID))
	for _, r := range li.byID {
		recs = append(recs, r)
	}
	ix.mu.RUnlock()

	s := buildSnapshot(li.def, li.texts, recs)
	end := time.Now().UnixNano()
	slot.lastCost.Store(end - start)
	slot.lastEnd.Store(end)
	ix.mu.RLock()
	if ix.layers[layer] == li && li.version == version {
		slot.set.Store(s)
	}
	ix.mu.RUnlock()
}

// maxGridLevel bounds a grid's resolution: cells of 2^-24 of the world (2.4 m at
// the equator).
const maxGridLevel = 24

// bigCells: a shape whose bounds are wider or taller than this many cells is not
// put in the grid but scanned by every area.
const bigCells = 4

// keyed is an entry to sort into a grid: the north-west corner it is sorted by.
type keyed struct {
	x, y float64
	rec  *Record
}

// newGrid makes the finest grid of at most about one cell per 4 entries over the
// entries' corners, and sorts them into it (by cell, then id), in place.
func newGrid(es []keyed) grid {
	var g grid
	if len(es) == 0 {
		g.cellScale, g.start = 1, []uint32{0}
		return g
	}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, e := range es {
		minX, maxX = math.Min(minX, e.x), math.Max(maxX, e.x)
		minY, maxY = math.Min(minY, e.y), math.Max(maxY, e.y)
	}
	maxCells := float64(len(es)/4 + 64)
	level := 0
	for l := maxGridLevel; l >= 0; l-- {
		s := math.Ldexp(1, l)
		w := math.Floor(maxX*s) - math.Floor(minX*s) + 1
		h := math.Floor(maxY*s) - math.Floor(minY*s) + 1
		if w*h <= maxCells {
			level = l
			break
		}
	}
	g.cellScale = math.Ldexp(1, level)
	g.col0, g.row0 = int(math.Floor(minX*g.cellScale)), int(math.Floor(minY*g.cellScale))
	g.cols = int(math.Floor(maxX*g.cellScale)) - g.col0 + 1
	g.rows = int(math.Floor(maxY*g.cellScale)) - g.row0 + 1

	// Counting sort by cell, then by id within each cell.
	cells := make([]uint32, len(es))
	g.start = make([]uint32, g.cols*g.rows+1)
	for i, e := range es {
		c := (int(math.Floor(e.y*g.cellScale))-g.row0)*g.cols + int(math.Floor(e.x*g.cellScale)) - g.col0
		cells[i] = uint32(c)
		g.start[c+1]++
	}
	for c := 1; c < len(g.start); c++ {
		g.start[c] += g.start[c-1]
	}
	next := make([]uint32, len(g.start)-1)
	copy(next, g.start)
	sorted := make([]keyed, len(es))
	for i, e := range es {
		sorted[next[cells[i]]] = e
		next[cells[i]]++
	}
	for c := 0; c+1 < len(g.start); c++ {
		a := sorted[g.start[c]:g.start[c+1]]
		for i := 1; i < len(a); i++ {
			for j := i; j > 0 && a[j].rec.ID < a[j-1].rec.ID; j-- {
				a[j], a[j-1] = a[j-1], a[j]
			}
		}
	}
	copy(es, sorted)
	return g
}

// buildSnapshot lays out recs (the records of one version of layer l, in any
// order). t is the layer's text table, read only for which codes are interned texts
// (fixed at its creation, so safe without the lock).
func buildSnapshot(l *layers.Layer, t *textTable, recs []*Record) *Snapshot {
	s := &Snapshot{}
	var pts, small, big []keyed
	for _, r := range recs {
		if r.isPoint {
			pts = append(pts, keyed{r.merc[0], r.merc[1], r})
		}
	}
	s.points = newGrid(pts)
	if len(pts) < len(recs) {
		// The grid's cell size decides which shapes are too big for it: make it
		// over every shape first.
		for _, r := range recs {
			if !r.isPoint {
				x0, y0, _, _ := r.MercatorBound()
				small = append(small, keyed{x0, y0, r})
			}
		}
		g := newGrid(small)
		limit := bigCells / g.cellScale
		small = small[:0]
		for _, r := range recs {
			if r.isPoint {
				continue
			}
			x0, y0, x1, y1 := r.MercatorBound()
			if x1-x0 > limit || y1-y0 > limit {
				big = append(big, keyed{x0, y0, r})
				continue
			}
			small = append(small, keyed{x0, y0, r})
			s.growX, s.growY = max(s.growX, x1-x0), max(s.growY, y1-y0)
		}
		s.shapes = newGrid(small)
		newGrid(big) // sorted by id within its cells: any fixed order will do
		s.bigFrom = len(small)
	} else {
		s.shapes = newGrid(nil)
	}

	s.NCodes = -1
	for _, r := range recs {
		if s.NCodes < 0 {
			s.NCodes = int(r.nCodes)
		}
		if int(r.nCodes) != s.NCodes {
			s.NCodes = 0 // cannot happen within one layer; the renderer then reads the records
			break
		}
	}
	s.NCodes = max(s.NCodes, 0)
	var local []uint32 // per number in the index's table: 1 + the number in Texts, 0 none yet
	var arena strings.Builder
	var ends []int
	codesOf := func(dst []uint32, r *Record) {
		copy(dst, r.codes[:s.NCodes])
		for _, f := range t.fields {
			if f.pos >= s.NCodes {
				continue
			}
			c := dst[f.pos]
			if c == CodeNull || c == CodeProp {
				continue
			}
			id := int(c - 1)
			if id >= len(local) {
				local = append(local, make([]uint32, id+1-len(local))...)
			}
			if local[id] == 0 {
				v, _ := r.Prop(f.field) // interned: a text (see textTable.intern)
				arena.WriteString(v.Text)
				ends = append(ends, arena.Len())
				local[id] = uint32(len(ends))
			}
			dst[f.pos] = local[id]
		}
	}
	s.Points = make([]SetPoint, len(pts))
	s.Codes = make([]uint32, len(pts)*s.NCodes)
	for i, e := range pts {
		s.Points[i] = SetPoint{ID: e.rec.ID, X: e.x, Y: e.y, Rec: e.rec}
		codesOf(s.Codes[i*s.NCodes:(i+1)*s.NCodes], e.rec)
	}
	shapes := append(small, big...)
	s.Shapes = make([]SetShape, len(shapes))
	s.ShapeCodes = make([]uint32, len(shapes)*s.NCodes)
	for i, e := range shapes {
		r := e.rec
		sh := &s.Shapes[i]
		*sh = SetShape{ID: r.ID, Rec: r, Bound: r.Bound}
		sh.MBound[0], sh.MBound[1], sh.MBound[2], sh.MBound[3] = r.MercatorBound()
		codesOf(s.ShapeCodes[i*s.NCodes:(i+1)*s.NCodes], r)
		if poly, ok := r.Geometry.(orb.Polygon); ok {
			sh.Polygon = true
			sh.vertsAt, sh.ringsAt, sh.nRings = uint32(len(s.verts)), uint32(len(s.ringEnds)), uint32(len(poly))
			n := uint32(0)
			for _, ring := range poly {
				for _, p := range ring {
					x, y := Mercator(p)
					s.verts = append(s.verts, [2]float64{x, y})
				}
				n += uint32(len(ring))
				s.ringEnds = append(s.ringEnds, n)
			}
		}
	}
	all := arena.String()
	s.Texts = make([]string, len(ends))
	at := 0
	for k, e := range ends {
		s.Texts[k] = all[at:e]
		at = e
	}

	s.NFields = len(l.Fields)
	numbers := make(map[string]uint32, 2*len(recs))
	detail := func(dst []uint32, r *Record) {
		r.EachProp(func(i int, v layers.PackedValue) bool {
			if i >= len(dst) {
				return false
			}
			switch v.Kind {
			case layers.PackedEnum:
				dst[i] = DetailEnum | uint32(v.Rank)&DetailMask
			case layers.PackedFalse:
				dst[i] = DetailBool
			case layers.PackedTrue:
				dst[i] = DetailBool | 1
			case layers.PackedText:
				if l.Fields[i].Unique {
					dst[i] = DetailUnique | uint32(len(s.DetailTexts))
					s.DetailTexts = append(s.DetailTexts, v.Text)
					break
				}
				n, ok := numbers[v.Text]
				if !ok {
					n = uint32(len(s.DetailTexts))
					numbers[v.Text] = n
					s.DetailTexts = append(s.DetailTexts, v.Text)
				}
				dst[i] = DetailText | n
			case layers.PackedNull:
			default:
				dst[i] = DetailProp
			}
			return true
		})
	}
	s.Detail = make([]uint32, len(s.Points)*s.NFields)
	for i := range s.Points {
		detail(s.Detail[i*s.NFields:(i+1)*s.NFields], s.Points[i].Rec)
	}
	s.ShapeDetail = make([]uint32, len(s.Shapes)*s.NFields)
	for i := range s.Shapes {
		detail(s.ShapeDetail[i*s.NFields:(i+1)*s.NFields], s.Shapes[i].Rec)
	}
	if len(s.DetailTexts) > DetailMask {
		// More texts than a code can number: every value is read from its record.
		for _, d := range [][]uint32{s.Detail, s.ShapeDetail} {
			for i := range d {
				d[i] = DetailProp
			}
		}
		s.DetailTexts = nil
	}
	return s
}

// Len is the number of features in the snapshot.
func (s *Snapshot) Len() int { return len(s.Points) + len(s.Shapes) }

// Size estimates the bytes the snapshot holds besides the records it points to
// (its arrays, the copy of the interned texts, the text headers), for the memory
// figures in docs/benchmarks.md.
func (s *Snapshot) Size() int {
	n := len(s.Points)*int(unsafe.Sizeof(SetPoint{})) + len(s.Shapes)*int(unsafe.Sizeof(SetShape{})) +
		4*(len(s.Codes)+len(s.ShapeCodes)+len(s.Detail)+len(s.ShapeDetail)+len(s.ringEnds)+len(s.points.start)+len(s.shapes.start)) +
		16*(len(s.verts)+len(s.Texts)+len(s.DetailTexts))
	for _, t := range s.Texts {
		n += len(t)
	}
	return n
}
