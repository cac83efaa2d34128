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
	nameField            int      // index of the text field "name" (index.Record.Name), -1 when none
	pool                 sync.Pool
}

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
	items []item // the records keyed by id, and the radix sort's second buffer
	tmp   []item
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
	var err error
	if clustered {
		// Clusters do not depend on the order of the records (see writeClusters).
		err = r.src.Visit(layer, qb, req.Filter, func(rec *index.Record) bool {
			s.recs = append(s.recs, rec)
			return true
		})
	} else {
		err = r.src.Visit(layer, qb, req.Filter, func(rec *index.Record) bool {
			s.items = append(s.items, item{idKey(rec.ID), rec})
			return true
		})
	}
	if err != nil {
		return dst, qb, err
	}

	detail := int(req.Z) >= r.opt.DetailZoom
	sh := newShaper(pr, float64(r.opt.Buffer))
	if clustered {
		r.writeClusters(s, sp, sh, detail)
	} else {
		// The tree's order depends on its insertion history; ids make the bytes
		// (and so the ETag) the same in every process.
		for _, it := range s.sortItems() {
			r.writeFeature(s, sp, sh, it.rec, detail)
		}
	}
	// Drop the records: the pool must not keep them alive.
	clear(s.recs)
	clear(s.tmp[:min(len(s.items), cap(s.tmp))]) // the sort wrote no more of it
	clear(s.items)
	s.recs, s.items = s.recs[:0], s.items[:0]
	return s.w.AppendTile(dst), qb, nil
}

// writeFeature writes one feature with its properties.
func (r *Renderer) writeFeature(s *scratch, sp *layerSpec, sh *shaper, rec *index.Record, detail bool) {
	w := s.w
	w.BeginFeature(uint64(rec.ID), true)
	w.Tag(0, w.AddValue(mvt.Int(rec.ID)))
	if detail {
		r.writeProps(s, sp, rec)
	} else {
		r.writeSummary(s, sp, rec)
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

// writeSummary tags the current feature with the record's Summary fields from their
// codes (index.Record.SummaryCodes), reading Props only for a value that has no
// code and for the first use of an interned text in the tile.
func (r *Renderer) writeSummary(s *scratch, sp *layerSpec, rec *index.Record) {
	codes := rec.SummaryCodes()
	if len(codes) != len(sp.summary) {
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
	w, fields := s.w, sp.def.Fields
	for j, c := range codes {
		if c == index.CodeNull {
			continue
		}
		i := sp.summary[j]
		key := uint32(1 + i)
		f := &fields[i]
		switch {
		case c == index.CodeProp:
			if v, ok := rec.Prop(i); ok {
				r.tag(s, sp, i, v)
			}
		case f.Type == layers.TypeEnum:
			if e := s.enums[i]; int(c-1) < len(e) {
				if e[c-1] < 0 {
					e[c-1] = int32(w.AddValue(mvt.String(f.Enum.Choices[c-1].Code)))
				}
				w.Tag(key, uint32(e[c-1]))
			}
		case f.Type == layers.TypeBool:
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
				if i == sp.nameField {
					text = rec.Name // the same text, without walking Props
				} else if v, ok := rec.Prop(i); ok && v.Kind == layers.PackedText {
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
	for _, rec := range s.recs {
		mx, my, ok := rec.MercatorPoint()
		if !ok {
			// Not a point: written as it is, before the cells, in id order.
			s.items = append(s.items, item{idKey(rec.ID), rec})
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
		r.writeFeature(s, sp, sh, it.rec, detail)
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

// item is a record keyed by its id for sorting.
type item struct {
	key uint64 // idKey(rec.ID)
	rec *index.Record
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
	var counts [8][256]int
	for _, it := range a {
		k := it.key
		for d := range counts {
			counts[d][byte(k>>(8*d))]++
		}
	}
	if cap(s.tmp) < len(a) {
		s.tmp = make([]item, len(a), cap(a))
	}
	src, dst := a, s.tmp[:len(a)]
	for d := range counts {
		c := &counts[d]
		if c[byte(a[0].key>>(8*d))] == len(a) {
			continue // every key has this byte
		}
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
