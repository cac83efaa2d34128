package index

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
)

// OrderedView holds, per layer, the layer's records sorted by id: what a paged
// listing of a whole layer (OGC API – Features items) needs for its pages to be
// consistent with one another. The sorted slice is made once per version of the
// layer, on the first read after a change: an Apply or Load that changes the layer
// makes the next read sort again (the version check happens under the index's read
// lock, so no read after an Apply returned sees the records of before it), and until
// then an unfiltered page is a sub-slice of it: O(limit) to encode, whatever the
// offset.
//
// An OrderedView is safe for concurrent use. It belongs to its owner (one per HTTP
// handler): there is no global cache.
type OrderedView struct {
	ix     *Index
	layers map[string]*orderedSlot
}

// orderedSlot is one layer's cache: the sorted records of one version, rebuilt
// under mu by one reader while the others wait for it.
type orderedSlot struct {
	mu  sync.Mutex
	cur atomic.Pointer[orderedRecords]
}

// orderedRecords are the records of one version of a layer, by id.
type orderedRecords struct {
	li      *layerIndex // a Load replaces the layer index: the version alone would repeat
	version uint64
	recs    []*Record
}

// NewOrderedView returns an empty view of ix's layers.
func NewOrderedView(ix *Index) *OrderedView {
	v := &OrderedView{ix: ix, layers: map[string]*orderedSlot{}}
	for _, name := range ix.order {
		v.layers[name] = &orderedSlot{}
	}
	return v
}

// Ordered returns every record of layer by ascending id, as of the layer's current
// version. The slice is shared: do not modify it. An unknown layer is an error
// wrapping layers.ErrUnknownLayer.
func (v *OrderedView) Ordered(layer string) ([]*Record, error) {
	if _, err := v.ix.reg.Layer(layer); err != nil {
		return nil, err
	}
	slot := v.layers[layer]
	if o := slot.cur.Load(); o != nil && v.current(layer, o) {
		return o.recs, nil
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if o := slot.cur.Load(); o != nil && v.current(layer, o) {
		return o.recs, nil // another reader sorted it meanwhile
	}
	o := &orderedRecords{}
	v.ix.mu.RLock()
	li := v.ix.layers[layer]
	o.li, o.version = li, li.version
	o.recs = make([]*Record, 0, len(li.byID))
	for _, r := range li.byID {
		o.recs = append(o.recs, r)
	}
	v.ix.mu.RUnlock()
	slices.SortFunc(o.recs, func(a, b *Record) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	slot.cur.Store(o)
	return o.recs, nil
}

// current reports whether o is of the layer's version now.
func (v *OrderedView) current(layer string, o *orderedRecords) bool {
	v.ix.mu.RLock()
	defer v.ix.mu.RUnlock()
	li := v.ix.layers[layer]
	return li == o.li && li.version == o.version
}

// PageQuery selects a page of one layer's features in id order.
type PageQuery struct {
	Layer string
	// BBox, when not nil, keeps the features whose geometry intersects the box
	// (lon/lat degrees, edges included), exactly as for a polygon query.
	BBox *orb.Bound
	// Filter's attribute conditions apply; its layer list is not read.
	Filter Filter
	// Match, when not nil, is one more condition a record must meet (called
	// without the index's lock held).
	Match func(*Record) bool
	// Offset features of the selection are skipped, then at most Limit returned
	// (Limit ≤ 0: none).
	Offset, Limit int
}

// Page returns the features q selects, by ascending id, from q.Offset on, at most
// q.Limit of them, and the number of features selected in all (matched). Without a
// bbox or attribute condition it costs O(limit) once the layer is sorted; with
// conditions, one pass over the layer's sorted records (a bbox: over those in the
// box, from the R-tree).
func (v *OrderedView) Page(q PageQuery) (recs []*Record, matched int, err error) {
	if _, err := v.ix.reg.Layer(q.Layer); err != nil {
		return nil, 0, err
	}
	take := func(sel []*Record) []*Record {
		if q.Offset >= len(sel) || q.Limit <= 0 {
			return nil
		}
		sel = sel[q.Offset:]
		return sel[:min(q.Limit, len(sel))]
	}
	if q.BBox != nil {
		sel := v.inBox(q.Layer, *q.BBox, &q.Filter)
		if q.Match != nil {
			sel = slices.DeleteFunc(sel, func(r *Record) bool { return !q.Match(r) })
		}
		return take(sel), len(sel), nil
	}
	all, err := v.Ordered(q.Layer)
	if err != nil {
		return nil, 0, err
	}
	attrs := q.Filter.hasAttrs()
	if !attrs && q.Match == nil {
		return take(all), len(all), nil
	}
	for _, r := range all {
		if attrs && !q.Filter.matchAttrs(r) || q.Match != nil && !q.Match(r) {
			continue
		}
		if matched >= q.Offset && len(recs) < q.Limit {
			recs = append(recs, r)
		}
		matched++
	}
	return recs, matched, nil
}

// inBox returns the layer's records that pass f and whose geometry intersects b,
// by id. A box of zero width or height is a line or point: records are kept when
// their bounds meet it and, for the geometry test, a box of positive area is
// needed, so such a box tests bounds only.
func (v *OrderedView) inBox(layer string, b orb.Bound, f *Filter) []*Record {
	exact := b.Max[0] > b.Min[0] && b.Max[1] > b.Min[1]
	box := orb.MultiPolygon{{b.ToRing()}}
	var sel []*Record
	v.ix.mu.RLock()
	v.ix.layers[layer].tree.Search(b.Min, b.Max, func(_, _ [2]float64, r *Record) bool {
		if f.hasAttrs() && !f.matchAttrs(r) {
			return true
		}
		if !exact || r.isPoint || intersects(box, r.Geometry) {
			sel = append(sel, r)
		}
		return true
	})
	v.ix.mu.RUnlock()
	slices.SortFunc(sel, func(a, b *Record) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return sel
}
