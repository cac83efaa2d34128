package tiles

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/paulmach/orb"

	"riskmap/index"
	"riskmap/layers"
	"riskmap/tiles/mvt"
)

// Source is what the renderer reads features from; *index.Index satisfies it. Visit
// calls fn for every feature of layer whose bounds meet b (WGS84 lon/lat) and that
// passes f's attribute conditions.
type Source interface {
	Visit(layer string, b orb.Bound, f index.Filter, fn func(*index.Record) bool) error
}

// SnapshotSource is a Source that also lays out its layers for scanning by area;
// *index.Index satisfies it. Snapshot returns the current version of layer as an
// index.Snapshot, or nil when the renderer is to Visit the layer instead. A
// snapshot returned after a change was applied must reflect that change (see
// index.Index.Snapshot). Tiles are the same bytes whichever way they are read.
type SnapshotSource interface {
	Source
	Snapshot(layer string) *index.Snapshot
}

// Options configures rendering. The zero value of a field means its default.
type Options struct {
	// ClusterBelow: below this zoom, the ClusterLayers' points are aggregated into
	// clusters (default 15).
	ClusterBelow int
	// ClusterLayers are the dense point layers that are clustered (default: risk
	// points).
	ClusterLayers []string
	// ClusterCell is the size of a cluster cell in tile units (default 256: a
	// 16×16 grid per tile, cells of 32 pixels on a 512-pixel tile). It must divide
	// Extent.
	ClusterCell int
	// DetailZoom: from this zoom on tiles carry every registry field; below it only
	// the Summary fields (default 16).
	DetailZoom int
	// Buffer around each tile, in tile units, so that symbols and lines do not break
	// at tile edges (default 64).
	Buffer int
}

func (o Options) withDefaults() Options {
	if o.ClusterBelow == 0 {
		o.ClusterBelow = 15
	}
	if o.ClusterLayers == nil {
		o.ClusterLayers = []string{layers.RiskPoints}
	}
	if o.ClusterCell == 0 {
		o.ClusterCell = 256
	}
	if o.DetailZoom == 0 {
		o.DetailZoom = 16
	}
	if o.Buffer == 0 {
		o.Buffer = 64
	}
	return o
}

// Request says what to draw in one tile of one layer.
type Request struct {
	Coord
	Filter index.Filter
	CRS    CRS
	// NoCluster turns clustering off: every feature at every zoom.
	NoCluster bool
}

// Renderer encodes one layer of one tile from a Source. It is safe for concurrent
// use.
type Renderer struct {
	src    Source
	opt    Options
	layers map[string]*layerSpec
}

// layerSpec is what the renderer prepares once per layer: the MVT key table and
// where each field's key is, and a pool of writers.
type layerSpec struct {
	def     *layers.Layer
	cluster bool
	keys    []string
	// key indexes: "id" is 0, field i is 1+i; the cluster keys follow.
	keyCluster, keyCount uint32
	keyCountGrade        []uint32 // per risk grade rank
	gradeField           int      // index of risk_grade in def.Fields, -1 when none
	dedup                []bool   // per field: de-duplicate its text values within a tile
	grades               []string // risk grade codes, least severe first
	summary              []int    // the Summary fields' indexes, in field order (index.Record.SummaryCodes)
	summaryKind          []uint8  // their kinds: kindEnum, kindBool, else 0
	nameField            int      // index of the text field "name" (index.Record.Name), -1 when none
	pool                 sync.Pool
}

// Kinds of Summary fields in layerSpec.summaryKind: what writeCodes needs of their
// types, as small integers (layers.FieldType is a string).
const (
	kindEnum = 1 + iota
	kindBool
)

// Cluster property keys (besides risk_grade, which a cluster carries as its highest
// member grade so one style expression colors points and clusters alike).
const (
	KeyCluster     = "cluster"      // true on a cluster
	KeyCount       = "count"        // members of the cluster
	KeyCountPrefix = "count_"       // + grade code: members of that grade
	KeyID          = "id"           // the feature id, also the MVT feature id
	gradeFieldName = "risk_grade"   // the field clusters aggregate
	clusterGrade   = gradeFieldName // the key carrying a cluster's highest grade
)

// NewRenderer returns a renderer of reg's layers reading src.
func NewRenderer(reg *layers.Registry, src Source, opt Options) (*Renderer, error) {
	opt = opt.withDefaults()
	if opt.ClusterCell < 0 || Extent%opt.ClusterCell != 0 {
		return nil, fmt.Errorf("tiles: cluster cell %d must divide %d", opt.ClusterCell, Extent)
	}
	if opt.Buffer < 0 || opt.Buffer > Extent {
		return nil, fmt.Errorf("tiles: buffer %d must be in 0..%d", opt.Buffer, Extent)
	}
	r := &Renderer{src: src, opt: opt, layers: map[string]*layerSpec{}}
	for _, l := range reg.Layers() {
		sp := &layerSpec{def: l, gradeField: -1, nameField: -1, cluster: slices.Contains(opt.ClusterLayers, l.Name)}
		sp.keys = append(sp.keys, KeyID)
		for i, f := range l.Fields {
			sp.keys = append(sp.keys, f.Name)
			sp.dedup = append(sp.dedup, !f.Unique)
			if f.Name == gradeFieldName {
				sp.gradeField = i
			}
			if f.Summary {
				sp.summary = append(sp.summary, i)
				k := uint8(0)
				switch f.Type {
				case layers.TypeEnum:
					k = kindEnum
				case layers.TypeBool:
					k = kindBool
				}
				sp.summaryKind = append(sp.summaryKind, k)
			}
			if f.Name == "name" && f.Type == layers.TypeText {
				sp.nameField = i
			}
		}
		if sp.cluster {
			if sp.gradeField < 0 {
				return nil, fmt.Errorf("tiles: cluster layer %s has no %s field", l.Name, gradeFieldName)
			}
			sp.keyCluster, sp.keyCount = uint32(len(sp.keys)), uint32(len(sp.keys)+1)
			sp.keys = append(sp.keys, KeyCluster, KeyCount)
			for _, c := range reg.RiskGrades().Choices {
				sp.keyCountGrade = append(sp.keyCountGrade, uint32(len(sp.keys)))
				sp.keys = append(sp.keys, KeyCountPrefix+c.Code)
				sp.grades = append(sp.grades, c.Code)
			}
		}
		sp.pool.New = func() any { return newScratch(sp) }
		r.layers[l.Name] = sp
	}
	return r, nil
}

// Options returns the renderer's options, defaults filled in.
func (r *Renderer) Options() Options { return r.opt }

// scratch is one writer and its buffers, reused across tiles of a layer.
type scratch struct {
	w     *mvt.Layer
	recs  []*index.Record
	items []item // the features keyed by id (see item), and the radix sort's second buffer
	tmp   []item
	runs  [][2]uint32 // runs of an index.Snapshot's points or shapes to scan
	// stage holds, per point collectSnapshot found, what writing it reads (see
	// stageHead).
	stage []uint32
	enums [][]int32 // per field, per enum rank: value index in this tile, -1 if none yet
	bools [][2]int32
	// texts: per number of an interned text (index.Record.SummaryCodes), its value
	// index in the tile when the slot's stamp is this tile's.
	texts []textSlot
	stamp uint32
	cells []cell
}

type textSlot struct{ stamp, value uint32 }

func newScratch(sp *layerSpec) *scratch {
	s := &scratch{w: mvt.NewLayer(sp.def.Name, Extent, sp.keys)}
	s.enums = make([][]int32, len(sp.def.Fields))
	s.bools = make([][2]int32, len(sp.def.Fields))
	for i, f := range sp.def.Fields {
		if f.Enum != nil {
			s.enums[i] = make([]int32, len(f.Enum.Choices))
		}
	}
	return s
}

func (s *scratch) reset() {
	s.w.Reset()
	s.recs = s.recs[:0]
	s.items = s.items[:0]
	if s.stamp++; s.stamp == 0 { // wrapped: forget every old stamp
		clear(s.texts)
		s.stamp = 1
	}
	for _, e := range s.enums {
		for j := range e {
			e[j] = -1
		}
	}
	for i := range s.bools {
		s.bools[i] = [2]int32{-1, -1}
	}
}

// Render appends to dst the tile of layer described by req, as a complete MVT Tile
// message holding that one layer (nothing when no feature is in the tile), and
// returns it with the WGS84 bound of the area it depends on (the tile grown by the
// buffer): a change of a feature meeting that bound may change the tile.
func (r *Renderer) Render(dst []byte, layer string, req Request) ([]byte, orb.Bound, error) {
	sp, ok := r.layers[layer]
	if !ok {
		return dst, orb.Bound{}, fmt.Errorf("tiles: %w: %q", layers.ErrUnknownLayer, layer)
	}
	if !req.Coord.Valid() {
		return dst, orb.Bound{}, fmt.Errorf("tiles: tile %d/%d/%d is outside the grid", req.Z, req.X, req.Y)
	}
	pr := newProjection(req.Coord, req.CRS)
	clustered := sp.cluster && !req.NoCluster && int(req.Z) < r.opt.ClusterBelow
	reach := r.opt.Buffer
	if clustered {
		reach = max(reach, r.opt.ClusterCell) // whole cells around the tile
	}
	qb := pr.queryBound(float64(reach))
	s := sp.pool.Get().(*scratch)
	defer sp.pool.Put(s)
	s.reset()
	sh := newShaper(pr, float64(r.opt.Buffer))
	var snap *index.Snapshot
	if src, ok := r.src.(SnapshotSource); ok && !clustered && req.CRS == WGS84 && !req.Filter.HasAttrs() {
		snap = src.Snapshot(layer)
	}
	detail := int(req.Z) >= r.opt.DetailZoom
	var err error
	switch {
	case snap != nil:
		s.collectSnapshot(snap, sh, qb, detail)
	case clustered:
		// Clusters do not depend on the order of the records (see writeClusters).
		err = r.src.Visit(layer, qb, req.Filter, func(rec *index.Record) bool {
			s.recs = append(s.recs, rec)
			return true
		})
	default:
		err = r.src.Visit(layer, qb, req.Filter, func(rec *index.Record) bool {
			s.items = append(s.items, item{idKey(rec.ID), uint32(len(s.recs))})
			s.recs = append(s.recs, rec)
			return true
		})
	}
	if err != nil {
		return dst, qb, err
	}

	switch {
	case clustered:
		r.writeClusters(s, sp, sh, detail)
	case snap != nil:
		for _, it := range s.sortItems() {
			if it.idx&shapeBit != 0 {
				r.writeSetShape(s, sp, sh, snap, int(it.idx&^shapeBit), detail)
			} else {
				r.writeSetPoint(s, sp, snap, it, detail)
			}
		}
	default:
		// The tree's order depends on its insertion history; ids make the bytes
		// (and so the ETag) the same in every process.
		for _, it := range s.sortItems() {
			r.writeFeature(s, sp, sh, s.recs[it.idx], detail)
		}
	}
	// Drop the records: the pool must not keep them alive.
	clear(s.recs)
	s.recs, s.items, s.stage = s.recs[:0], s.items[:0], s.stage[:0]
	return s.w.AppendTile(dst), qb, nil
}

// edgeMargin is how close to the edge of a tile's clip box, in tile units, a point
// of an index.Snapshot must be for collectSnapshot to test it against the query
// bound in lon/lat as Visit does: further from it, the two tests agree (projecting
// and unprojecting err by far less than this, about 2e-5 units at zoom 22).
const edgeMargin = 1.0 / 1024

// stageHead is the number of words before the codes of a point in scratch.stage:
// its position in the snapshot's Points (with stageOutside), then x and y rounded
// to tile units.
const stageHead = 3

// stageOutside marks a staged point that Visit would report but that lies outside
// the clip box (by a rounding): like writeFeature, writeSetPoint adds its values
// to the tile and drops its feature.
const stageOutside = 1 << 31

// shapeBit marks an item of an index.Snapshot's Shapes (else it is a staged point).
const shapeBit = 1 << 31

// collectSnapshot adds to s.items, keyed by id, the features of snap that Visit(qb)
// reports — read from the snapshot's arrays in grid order (contiguous memory)
// instead of the tree and the records: points whose position is in the clip box
// (or, within edgeMargin of its edge, whose record meets qb), idx their start in
// s.stage, and shapes whose bound meets qb, idx their position in Shapes with
// shapeBit. What writing a point reads is staged (with its detail codes for a
// detail tile, else its Summary codes), so that the writes, in id order, read only
// memory this tile just wrote.
func (s *scratch) collectSnapshot(snap *index.Snapshot, sh *shaper, qb orb.Bound, detail bool) {
	pr := &sh.pr
	// The clip box in world units, grown by a tile unit against rounding.
	lo, hi := sh.clip.Min[0]-1, sh.clip.Max[0]+1
	minX, minY, maxX, maxY := (lo+pr.x0)/pr.scale, (lo+pr.y0)/pr.scale, (hi+pr.x0)/pr.scale, (hi+pr.y0)/pr.scale
	s.runs = snap.AppendPointRuns(s.runs[:0], minX, minY, maxX, maxY)
	inLo, inHi := sh.clip.Min[0]+edgeMargin, sh.clip.Max[0]-edgeMargin
	outLo, outHi := sh.clip.Min[0]-edgeMargin, sh.clip.Max[0]+edgeMargin
	codes, n := snap.Codes, snap.NCodes
	if detail {
		codes, n = snap.Detail, snap.NFields
	}
	for _, run := range s.runs {
		pts := snap.Points[run[0]:run[1]]
		for j := range pts {
			p := &pts[j]
			x, y := pr.fromMercator(p.X, p.Y)
			if x < outLo || x > outHi || y < outLo || y > outHi {
				continue
			}
			i := int(run[0]) + j
			at := uint32(i)
			if x < inLo || x > inHi || y < inLo || y > inHi {
				if !boundsMeet(p.Rec.Bound, qb) {
					continue
				}
				if !sh.inside(x, y) {
					at |= stageOutside
				}
			}
			s.items = append(s.items, item{idKey(p.ID), uint32(len(s.stage))})
			s.stage = append(s.stage, at, uint32(round(x)), uint32(round(y)))
			s.stage = append(s.stage, codes[i*n:(i+1)*n]...)
		}
	}
	s.runs = snap.AppendShapeRuns(s.runs[:0], minX, minY, maxX, maxY)
	for _, run := range s.runs {
		for i := run[0]; i < run[1]; i++ {
			if e := &snap.Shapes[i]; boundsMeet(e.Bound, qb) {
				s.items = append(s.items, item{idKey(e.ID), i | shapeBit})
			}
		}
	}
}

// boundsMeet is the R-tree's test of Visit: a and b meet, edges included.
func boundsMeet(a, b orb.Bound) bool {
	return !(b.Min[0] > a.Max[0] || b.Max[0] < a.Min[0] || b.Min[1] > a.Max[1] || b.Max[1] < a.Min[1])
}

// writeSetPoint writes the point of snap that collectSnapshot staged as
// writeFeature writes its record: from the stage, reading the record only for the
// detail zoom's properties and values without a code.
func (r *Renderer) writeSetPoint(s *scratch, sp *layerSpec, snap *index.Snapshot, it item, detail bool) {
	n := snap.NCodes
	if detail {
		n = snap.NFields
	}
	st := s.stage[it.idx : int(it.idx)+stageHead+n]
	at := st[0] &^ stageOutside
	id := int64(it.key ^ 1<<63)
	w := s.w
	w.BeginFeature(uint64(id), true)
	w.Tag(0, w.AddValue(mvt.Int(id)))
	if detail {
		r.writeDetail(s, sp, recRef{set: snap, at: at}, st[stageHead:], snap.DetailTexts)
	} else {
		r.writeCodes(s, sp, recRef{set: snap, at: at}, st[stageHead:], snap.Texts)
	}
	if st[0]&stageOutside == 0 {
		w.Point(int32(st[1]), int32(st[2]))
	}
	w.EndFeature()
}

// writeSetShape writes shape i of snap as writeFeature writes its record, with the
// snapshot's codes and texts and, for a polygon, its vertices already projected.
func (r *Renderer) writeSetShape(s *scratch, sp *layerSpec, sh *shaper, snap *index.Snapshot, i int, detail bool) {
	e := &snap.Shapes[i]
	w := s.w
	w.BeginFeature(uint64(e.ID), true)
	w.Tag(0, w.AddValue(mvt.Int(e.ID)))
	if detail {
		n := snap.NFields
		r.writeDetail(s, sp, recRef{rec: e.Rec}, snap.ShapeDetail[i*n:(i+1)*n], snap.DetailTexts)
	} else {
		n := snap.NCodes
		r.writeCodes(s, sp, recRef{rec: e.Rec}, snap.ShapeCodes[i*n:(i+1)*n], snap.Texts)
	}
	if e.Polygon {
		verts, ends := snap.PolygonRings(i)
		sh.writeMercPolygon(w, verts, ends, e.Bound, e.MBound)
	} else {
		sh.write(w, e.Rec.Geometry, e.Bound, e.MBound)
	}
	w.EndFeature()
}

// writeFeature writes one feature with its properties.
func (r *Renderer) writeFeature(s *scratch, sp *layerSpec, sh *shaper, rec *index.Record, detail bool) {
	w := s.w
	w.BeginFeature(uint64(rec.ID), true)
	w.Tag(0, w.AddValue(mvt.Int(rec.ID)))
	if detail {
		r.writeProps(s, sp, rec)
	} else {
		r.writeCodes(s, sp, recRef{rec: rec}, rec.SummaryCodes(), nil)
	}
	if x, y, ok := rec.MercatorPoint(); ok && sh.pr.crs == WGS84 {
		// A point, projected when the record was made (the same arithmetic as
		// sh.write's): nothing of the geometry itself is read.
		x, y = sh.pr.fromMercator(x, y)
		if sh.inside(x, y) {
			w.Point(round(x), round(y))
		}
	} else {
		var mb mercBound
		mb[0], mb[1], mb[2], mb[3] = rec.MercatorBound()
		sh.write(w, rec.Geometry, rec.Bound, mb)
	}
	w.EndFeature()
}

// writeProps tags the current feature with every field of the record. Null values
// are left out (MVT has no null).
func (r *Renderer) writeProps(s *scratch, sp *layerSpec, rec *index.Record) {
	n := len(sp.def.Fields)
	rec.EachProp(func(i int, v layers.PackedValue) bool {
		if i >= n {
			return false
		}
		r.tag(s, sp, i, v)
		return true
	})
}

// recRef is a feature's record: rec, or else point at of set, fetched only when
// needed (a point of a snapshot is written from the stage, see collectSnapshot).
type recRef struct {
	rec *index.Record
	set *index.Snapshot
	at  uint32
}

func (r recRef) get() *index.Record {
	if r.rec != nil {
		return r.rec
	}
	return r.set.Points[r.at].Rec
}

// writeCodes tags the current feature with the Summary fields of ref's record from
// their codes: the record's SummaryCodes with texts nil, or its codes in an
// index.Snapshot with the snapshot's Texts. It reads the record's Props only for a value
// that has no code and, without texts, for the first use of an interned text in the
// tile.
func (r *Renderer) writeCodes(s *scratch, sp *layerSpec, ref recRef, codes []uint32, texts []string) {
	if len(codes) != len(sp.summary) {
		rec := ref.get()
		// Not a record of this registry's layer: walk its properties.
		rec.EachProp(func(i int, v layers.PackedValue) bool {
			if i >= len(sp.def.Fields) {
				return false
			}
			if sp.def.Fields[i].Summary {
				r.tag(s, sp, i, v)
			}
			return true
		})
		return
	}
	w := s.w
	for j, c := range codes {
		if c == index.CodeNull {
			continue
		}
		i := sp.summary[j]
		key := uint32(1 + i)
		switch kind := sp.summaryKind[j]; {
		case c == index.CodeProp:
			if v, ok := ref.get().Prop(i); ok {
				r.tag(s, sp, i, v)
			}
		case kind == kindEnum:
			if e := s.enums[i]; int(c-1) < len(e) {
				if e[c-1] < 0 {
					e[c-1] = int32(w.AddValue(mvt.String(sp.def.Fields[i].Enum.Choices[c-1].Code)))
				}
				w.Tag(key, uint32(e[c-1]))
			}
		case kind == kindBool:
			b := c - 1 // 0 false, 1 true
			if b > 1 {
				continue
			}
			if s.bools[i][b] < 0 {
				s.bools[i][b] = int32(w.AddValue(mvt.Bool(b == 1)))
			}
			w.Tag(key, uint32(s.bools[i][b]))
		default: // an interned text: the same number is the same text
			id := int(c - 1)
			if id >= len(s.texts) {
				s.texts = append(s.texts, make([]textSlot, max(id+1, 2*len(s.texts), 256)-len(s.texts))...)
			}
			t := &s.texts[id]
			if t.stamp != s.stamp {
				var text string
				if texts != nil {
					if id >= len(texts) {
						continue
					}
					text = texts[id]
				} else if i == sp.nameField {
					text = ref.rec.Name // the same text, without walking Props
				} else if v, ok := ref.get().Prop(i); ok && v.Kind == layers.PackedText {
					text = v.Text
				} else {
					continue
				}
				t.stamp, t.value = s.stamp, w.AddValue(mvt.String(text))
			}
			w.Tag(key, t.value)
		}
	}
}

// writeDetail tags the current feature with every field of ref's record, as
// writeProps does, from the record's detail codes in an index.Snapshot
// (index.DetailNull …) and the snapshot's DetailTexts: texts are de-duplicated by
// number, not by hashing them, and the record is read only for values without a
// code (numbers).
func (r *Renderer) writeDetail(s *scratch, sp *layerSpec, ref recRef, codes []uint32, texts []string) {
	fields := sp.def.Fields
	if len(codes) != len(fields) {
		r.writeProps(s, sp, ref.get()) // not a snapshot of this registry's layer
		return
	}
	w := s.w
	for i, c := range codes {
		key, pay := uint32(1+i), c&index.DetailMask
		switch c &^ index.DetailMask {
		case index.DetailNull:
		case index.DetailEnum:
			e := s.enums[i]
			if e == nil || int(pay) >= len(e) {
				continue
			}
			if e[pay] < 0 {
				e[pay] = int32(w.AddValue(mvt.String(fields[i].Enum.Choices[pay].Code)))
			}
			w.Tag(key, uint32(e[pay]))
		case index.DetailBool:
			b := pay & 1
			if s.bools[i][b] < 0 {
				s.bools[i][b] = int32(w.AddValue(mvt.Bool(b == 1)))
			}
			w.Tag(key, uint32(s.bools[i][b]))
		case index.DetailText:
			// As tag's w.Value: the first use of a text in the tile adds it.
			if int(pay) >= len(s.texts) {
				s.texts = append(s.texts, make([]textSlot, max(int(pay)+1, 2*len(s.texts), 256)-len(s.texts))...)
			}
			t := &s.texts[pay]
			if t.stamp != s.stamp {
				t.stamp, t.value = s.stamp, w.AddValue(mvt.String(texts[pay]))
			}
			w.Tag(key, t.value)
		case index.DetailUnique:
			w.Tag(key, w.AddValue(mvt.String(texts[pay])))
		default:
			if v, ok := ref.get().Prop(i); ok {
				r.tag(s, sp, i, v)
			}
		}
	}
}

// tag tags the current feature with field i's value v.
func (r *Renderer) tag(s *scratch, sp *layerSpec, i int, v layers.PackedValue) {
	w, fields := s.w, sp.def.Fields
	key := uint32(1 + i)
	switch v.Kind {
	case layers.PackedText:
		if sp.dedup[i] {
			// Names, causes, departments repeat across points: stored once per
			// tile (the dense z14 tile: 708 → 397 kB).
			w.Tag(key, w.Value(mvt.String(v.Text)))
		} else {
			w.Tag(key, w.AddValue(mvt.String(v.Text))) // unique fields (external ids)
		}
	case layers.PackedInt:
		w.Tag(key, w.AddValue(mvt.Int(v.Int)))
	case layers.PackedFloat:
		w.Tag(key, w.AddValue(mvt.Double(v.Float)))
	case layers.PackedTrue, layers.PackedFalse:
		b := 0
		if v.Bool() {
			b = 1
		}
		if s.bools[i][b] < 0 {
			s.bools[i][b] = int32(w.AddValue(mvt.Bool(v.Bool())))
		}
		w.Tag(key, uint32(s.bools[i][b]))
	case layers.PackedEnum:
		e := s.enums[i]
		if e == nil || v.Rank >= len(e) {
			return
		}
		if e[v.Rank] < 0 {
			e[v.Rank] = int32(w.AddValue(mvt.String(fields[i].Enum.Choices[v.Rank].Code)))
		}
		w.Tag(key, uint32(e[v.Rank]))
	}
}

// cell accumulates the points of one cluster cell.
type cell struct {
	n      int
	sx, sy int64 // sums of member positions, in 1/fixedOne tile units
	grades [8]int32
	max    int // highest grade rank, -1 none
	first  *index.Record
}

// fixedOne is one tile unit in the fixed-point sums of cluster positions: integers,
// so a cluster's centroid does not depend on the order its members are added in
// (float sums would, by rounding), and the records need no sorting. At 2^16, a
// position is kept to 1/65,536 of a tile unit, and a cell's sums hold 2^34 members
// before they could overflow.
const fixedOne = 1 << 16

// writeClusters aggregates the records (points) into cells of ClusterCell tile
// units on a grid aligned to the world, so a cell and its cluster are the same in
// every tile that shows them: the records cover the tile and a ring of whole cells
// around it, and a ring cell is written when its cluster falls in the tile's buffer.
// A cell with one point is written as that feature; a cell with more as a cluster at
// the members' centroid with its count, the count per risk grade and the highest
// grade. A feature that is not a point (none in the cluster layers today) is written
// as it is.
func (r *Renderer) writeClusters(s *scratch, sp *layerSpec, sh *shaper, detail bool) {
	cs := r.opt.ClusterCell
	n := Extent/cs + 2 // cells across, with the buffer ring (index 0 and n-1)
	if cap(s.cells) < n*n {
		s.cells = make([]cell, n*n)
	}
	s.cells = s.cells[:n*n]
	for i := range s.cells {
		s.cells[i] = cell{max: -1}
	}
	lo := -float64(cs)
	wgs84 := sh.pr.crs == WGS84
	for k, rec := range s.recs {
		mx, my, ok := rec.MercatorPoint()
		if !ok {
			// Not a point: written as it is, before the cells, in id order.
			s.items = append(s.items, item{idKey(rec.ID), uint32(k)})
			continue
		}
		var x, y float64
		if wgs84 {
			x, y = sh.pr.fromMercator(mx, my)
		} else {
			x, y = sh.pr.project(rec.Geometry.(orb.Point))
		}
		cx, cy := int(math.Floor((x-lo)/float64(cs))), int(math.Floor((y-lo)/float64(cs)))
		if cx < 0 || cy < 0 || cx >= n || cy >= n {
			continue // beyond the buffer ring: another tile's
		}
		c := &s.cells[cy*n+cx]
		if c.n == 0 {
			c.first = rec
		}
		c.n++
		c.sx += int64(math.RoundToEven(x * fixedOne))
		c.sy += int64(math.RoundToEven(y * fixedOne))
		if g := int(rec.Grade); g >= 0 && g < len(c.grades) {
			c.grades[g]++
			c.max = max(c.max, g)
		}
	}
	for _, it := range s.sortItems() {
		r.writeFeature(s, sp, sh, s.recs[it.idx], detail)
	}
	w := s.w
	for i := range s.cells {
		c := &s.cells[i]
		if c.n == 0 {
			continue
		}
		x, y := float64(c.sx)/fixedOne/float64(c.n), float64(c.sy)/fixedOne/float64(c.n)
		if !sh.inside(x, y) {
			*c = cell{}
			continue // drawn by the tile it lies in
		}
		switch {
		case c.n == 1:
			r.writeFeature(s, sp, sh, c.first, detail)
		default:
			w.BeginFeature(0, false)
			w.Tag(sp.keyCluster, w.Value(mvt.Bool(true)))
			w.Tag(sp.keyCount, w.Value(mvt.Int(int64(c.n))))
			for g, key := range sp.keyCountGrade {
				w.Tag(key, w.Value(mvt.Int(int64(c.grades[g]))))
			}
			if c.max >= 0 {
				w.Tag(uint32(1+sp.gradeField), w.Value(mvt.String(sp.grades[c.max])))
			}
			w.Point(round(x), round(y))
			w.EndFeature()
		}
		*c = cell{}
	}
}

// item is a feature keyed by its id for sorting: idx is its position in the
// scratch's recs, or in the stage (see collectSnapshot).
type item struct {
	key uint64 // idKey of the feature's id
	idx uint32
}

// idKey maps ids to unsigned keys in the same order.
func idKey(id int64) uint64 { return uint64(id) ^ 1<<63 }

// sortItems sorts s.items by key (ids are unique in a layer, so the order is
// total) and returns them; the result is s.items or s.tmp. It is a least
// significant digit first radix sort over the key's bytes that skips the bytes all
// keys share (the high bytes of the ids, mostly): no comparisons and no reads of
// the records.
func (s *scratch) sortItems() []item {
	a := s.items
	if len(a) < 48 {
		for i := 1; i < len(a); i++ {
			for j := i; j > 0 && a[j].key < a[j-1].key; j-- {
				a[j], a[j-1] = a[j-1], a[j]
			}
		}
		return a
	}
	// The bytes in which some keys differ: only those are sorted on.
	var and, or uint64 = ^uint64(0), 0
	for _, it := range a {
		and, or = and&it.key, or|it.key
	}
	var digits [8]int
	nd := 0
	for d := range 8 {
		if byte(and>>(8*d)) != byte(or>>(8*d)) {
			digits[nd] = d
			nd++
		}
	}
	var counts [8][256]int
	for _, it := range a {
		k := it.key
		for j, d := range digits[:nd] {
			counts[j][byte(k>>(8*d))]++
		}
	}
	if cap(s.tmp) < len(a) {
		s.tmp = make([]item, len(a), cap(a))
	}
	src, dst := a, s.tmp[:len(a)]
	for j, d := range digits[:nd] {
		c := &counts[j]
		at := 0
		for b, n := range c {
			c[b] = at
			at += n
		}
		for _, it := range src {
			b := byte(it.key >> (8 * d))
			dst[c[b]] = it
			c[b]++
		}
		src, dst = dst, src
	}
	return src
}
