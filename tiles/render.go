package tiles

import (
	"cmp"
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
		sp := &layerSpec{def: l, gradeField: -1, cluster: slices.Contains(opt.ClusterLayers, l.Name)}
		sp.keys = append(sp.keys, KeyID)
		for i, f := range l.Fields {
			sp.keys = append(sp.keys, f.Name)
			sp.dedup = append(sp.dedup, !f.Unique)
			if f.Name == gradeFieldName {
				sp.gradeField = i
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
	enums [][]int32 // per field, per enum rank: value index in this tile, -1 if none yet
	bools [][2]int32
	cells []cell
}

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
	if err := r.src.Visit(layer, qb, req.Filter, func(rec *index.Record) bool {
		s.recs = append(s.recs, rec)
		return true
	}); err != nil {
		return dst, qb, err
	}
	// The tree's order depends on its insertion history; ids make the bytes (and
	// so the ETag) the same in every process.
	slices.SortFunc(s.recs, func(a, b *index.Record) int { return cmp.Compare(a.ID, b.ID) })

	detail := int(req.Z) >= r.opt.DetailZoom
	sh := newShaper(pr, float64(r.opt.Buffer))
	if clustered {
		r.writeClusters(s, sp, sh, detail)
	} else {
		for _, rec := range s.recs {
			r.writeFeature(s, sp, sh, rec, detail)
		}
	}
	s.recs = s.recs[:0] // drop the records: the pool must not keep them alive
	return s.w.AppendTile(dst), qb, nil
}

// writeFeature writes one feature with its properties.
func (r *Renderer) writeFeature(s *scratch, sp *layerSpec, sh *shaper, rec *index.Record, detail bool) {
	w := s.w
	w.BeginFeature(uint64(rec.ID), true)
	w.Tag(0, w.AddValue(mvt.Int(rec.ID)))
	r.writeProps(s, sp, rec, detail)
	sh.write(w, rec.Geometry)
	w.EndFeature()
}

// writeProps tags the current feature with the record's fields (Summary fields
// only, unless detail). Null values are left out (MVT has no null).
func (r *Renderer) writeProps(s *scratch, sp *layerSpec, rec *index.Record, detail bool) {
	w, fields := s.w, sp.def.Fields
	rec.EachProp(func(i int, v layers.PackedValue) bool {
		if i >= len(fields) {
			return false
		}
		if !detail && !fields[i].Summary {
			return true
		}
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
				return true
			}
			if e[v.Rank] < 0 {
				e[v.Rank] = int32(w.AddValue(mvt.String(fields[i].Enum.Choices[v.Rank].Code)))
			}
			w.Tag(key, uint32(e[v.Rank]))
		}
		return true
	})
}

// cell accumulates the points of one cluster cell.
type cell struct {
	n      int
	sx, sy float64 // sums of member positions, tile units
	grades [8]int32
	max    int // highest grade rank, -1 none
	first  *index.Record
}

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
	for _, rec := range s.recs {
		p, ok := rec.Geometry.(orb.Point)
		if !ok {
			r.writeFeature(s, sp, sh, rec, detail)
			continue
		}
		x, y := sh.pr.project(p)
		cx, cy := int(math.Floor((x-lo)/float64(cs))), int(math.Floor((y-lo)/float64(cs)))
		if cx < 0 || cy < 0 || cx >= n || cy >= n {
			continue // beyond the buffer ring: another tile's
		}
		c := &s.cells[cy*n+cx]
		if c.n == 0 {
			c.first = rec
		}
		c.n++
		c.sx += x
		c.sy += y
		if g := int(rec.Grade); g >= 0 && g < len(c.grades) {
			c.grades[g]++
			c.max = max(c.max, g)
		}
	}
	w := s.w
	for i := range s.cells {
		c := &s.cells[i]
		if c.n == 0 {
			continue
		}
		x, y := c.sx/float64(c.n), c.sy/float64(c.n)
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
