// Package index holds every feature of every layer in memory — an R-tree per layer
// (tidwall/rtree) plus lookup by id — and answers proximity queries from it: k-nearest,
// radius, along a route, inside a polygon, bounding box, and text search. Distances
// are meters on the WGS84 ellipsoid with PostGIS geography semantics (package geo).
//
// It is pure: it never touches the network or the database. It is loaded from a
// Source (a store) at start and kept current through Apply.
//
// # Concurrency
//
// An Index is safe for any number of concurrent readers while changes are applied.
// rtree is not goroutine-safe, so the trees and id maps are guarded by one RWMutex:
// queries hold the read lock only while walking the trees (microseconds) and return
// immutable *Record values that stay valid after the lock is released; Apply takes the
// write lock once per batch, so readers see a batch entirely or not at all. A lock
// was chosen over copy-on-write snapshots because every write would also have to copy
// the id maps (tens of thousands of entries) to publish a snapshot, while changes are
// rare (edits, sensor-driven warning levels) and reads are short.
//
// Vector tiles read a layer through Snapshot instead: an immutable copy of one
// version of the layer laid out for scanning by area, made in the background once
// the layer has stopped changing and dropped under the write lock by its next
// change, so that no tile rendered after an Apply returned reads the data of
// before it.
package index

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"

	"riskmap/feature"
	"riskmap/layers"
)

// Source streams the features of a layer; a store satisfies it.
type Source interface {
	Stream(ctx context.Context, layer string, fn func(feature.Feature) error) error
}

// Mutation is one change to apply: for Insert and Update, Feature is the feature's
// full new state; for Delete only Feature.Layer and Feature.ID are read.
type Mutation struct {
	Op      feature.Op
	Feature feature.Feature
}

// Dirty is an area a mutation touched (old and new bounds), for cache invalidation.
type Dirty struct {
	Layer string
	Bound orb.Bound
}

type layerIndex struct {
	def   *layers.Layer
	tree  rtree.RTreeG[*Record]
	byID  map[int64]*Record
	texts *textTable // numbers of the records' interned texts
	// version counts the changes of the layer (see changed); snap holds the
	// Snapshot of the current version, once made (see Index.Snapshot).
	version uint64
	snap    snapshotSlot
}

// changed records a change of the layer's content: a new version, whose Snapshot
// is still to make. Callers hold the write lock (or own an unpublished layer).
func (li *layerIndex) changed() {
	li.version++
	li.snap.set.Store(nil)
}

func newLayerIndex(def *layers.Layer) *layerIndex {
	return &layerIndex{def: def, byID: map[int64]*Record{}, texts: newTextTable(def)}
}

// Index is the in-memory spatial index. Create it with New.
type Index struct {
	reg    *layers.Registry
	mu     sync.RWMutex
	layers map[string]*layerIndex
	order  []string  // registry order
	cands  sync.Pool // *[]candidate scratch buffers for Nearest
	// observers are called under the write lock with what each Apply or Load
	// touched (see OnApply).
	observers []func([]Dirty)
}

// World is the bound a Load reports as dirty for every layer: all of it.
var World = orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}

// OnApply registers fn to be told the areas every Apply touches (and, for a Load,
// World for every layer). fn runs while the index's write lock is held, so it has
// done its work before any reader can see the change: a tile cache that drops the
// touched tiles there can never serve a tile older than the data. fn must be quick
// and must not call the Index. Register observers before the index is shared.
func (ix *Index) OnApply(fn func([]Dirty)) {
	ix.observers = append(ix.observers, fn)
}

func (ix *Index) notify(d []Dirty) {
	for _, fn := range ix.observers {
		fn(d)
	}
}

// New returns an empty index for the registry's layers.
func New(reg *layers.Registry) *Index {
	ix := &Index{reg: reg, layers: map[string]*layerIndex{}}
	ix.cands.New = func() any { b := make([]candidate, 0, 64); return &b }
	for _, l := range reg.Layers() {
		ix.layers[l.Name] = newLayerIndex(l)
		ix.order = append(ix.order, l.Name)
	}
	return ix
}

// Registry returns the registry the index was built for.
func (ix *Index) Registry() *layers.Registry { return ix.reg }

// LoadProgress reports loading: layer, features loaded so far in it, and whether the
// layer is done (then Elapsed is the layer's load time).
type LoadProgress struct {
	Layer   string
	Loaded  int
	Done    bool
	Elapsed time.Duration
}

// Load replaces the index's content with every feature src streams, layer by layer.
// Readers keep seeing the previous content until the whole load is done. progress,
// if not nil, is called every 10,000 features and at the end of each layer.
func (ix *Index) Load(ctx context.Context, src Source, progress func(LoadProgress)) error {
	fresh := map[string]*layerIndex{}
	for _, name := range ix.order {
		li := newLayerIndex(ix.layers[name].def)
		start := time.Now()
		err := src.Stream(ctx, name, func(f feature.Feature) error {
			r, err := newRecord(ix.reg, li.def, f)
			if err != nil {
				return err
			}
			li.put(r)
			if progress != nil && len(li.byID)%10000 == 0 {
				progress(LoadProgress{Layer: name, Loaded: len(li.byID)})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("index: load %s: %w", name, err)
		}
		if progress != nil {
			progress(LoadProgress{Layer: name, Loaded: len(li.byID), Done: true, Elapsed: time.Since(start)})
		}
		fresh[name] = li
	}
	all := make([]Dirty, 0, len(ix.order))
	for _, name := range ix.order {
		all = append(all, Dirty{Layer: name, Bound: World})
	}
	ix.mu.Lock()
	ix.layers = fresh
	ix.notify(all)
	ix.mu.Unlock()
	return nil
}

// put inserts or replaces r, numbering its interned texts (r must not be published
// yet); it returns the record it replaced, if any.
func (li *layerIndex) put(r *Record) *Record {
	li.texts.intern(r)
	old := li.byID[r.ID]
	if old != nil {
		li.tree.Delete(old.Bound.Min, old.Bound.Max, old)
		li.texts.release(old)
	}
	li.tree.Insert(r.Bound.Min, r.Bound.Max, r)
	li.byID[r.ID] = r
	li.changed()
	return old
}

func (li *layerIndex) remove(id int64) *Record {
	old := li.byID[id]
	if old != nil {
		li.tree.Delete(old.Bound.Min, old.Bound.Max, old)
		delete(li.byID, id)
		li.texts.release(old)
		li.changed()
	}
	return old
}

// Apply applies a batch of mutations atomically: concurrent readers see all of them
// or none. Inserts and updates are upserts (an insert of an id already present
// replaces it; an update of an absent id inserts it), deletes of absent ids are
// no-ops, so replaying a change is harmless. Feature properties must be canonical
// (as a store returns them). It returns the areas touched. On error nothing is
// applied.
func (ix *Index) Apply(ms ...Mutation) ([]Dirty, error) {
	recs := make([]*Record, len(ms))
	for i, m := range ms {
		l, err := ix.reg.Layer(m.Feature.Layer)
		if err != nil {
			return nil, fmt.Errorf("index: apply: %w", err)
		}
		switch m.Op {
		case feature.Insert, feature.Update:
			if recs[i], err = newRecord(ix.reg, l, m.Feature); err != nil {
				return nil, err
			}
		case feature.Delete:
		default:
			return nil, fmt.Errorf("index: apply: unknown operation %q", m.Op)
		}
	}
	var dirty []Dirty
	ix.mu.Lock()
	defer ix.mu.Unlock()
	now := time.Now().UnixNano()
	for i, m := range ms {
		li := ix.layers[m.Feature.Layer]
		var old *Record
		if recs[i] != nil {
			old = li.put(recs[i])
			dirty = append(dirty, Dirty{li.def.Name, recs[i].Bound})
		} else {
			old = li.remove(m.Feature.ID)
		}
		if old != nil {
			dirty = append(dirty, Dirty{li.def.Name, old.Bound})
		}
		li.snap.changed.Store(now)
	}
	if len(dirty) > 0 {
		ix.notify(dirty)
	}
	return dirty, nil
}

// Get returns the record of (layer, id); ok is false when there is none. An unknown
// layer is an error wrapping layers.ErrUnknownLayer.
func (ix *Index) Get(layer string, id int64) (*Record, bool, error) {
	if _, err := ix.reg.Layer(layer); err != nil {
		return nil, false, err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, ok := ix.layers[layer].byID[id]
	return r, ok, nil
}

// Visit calls fn for every record of layer whose bounds intersect b (lon/lat
// degrees) and that passes f's attribute conditions (f.Layers is not read), in no
// particular order, until fn returns false. It holds the read lock meanwhile: fn must
// be quick and must not call the Index. An unknown layer is an error wrapping
// layers.ErrUnknownLayer.
func (ix *Index) Visit(layer string, b orb.Bound, f Filter, fn func(*Record) bool) error {
	if _, err := ix.reg.Layer(layer); err != nil {
		return err
	}
	attrs := f.hasAttrs()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ix.layers[layer].tree.Search(b.Min, b.Max, func(_, _ [2]float64, r *Record) bool {
		if attrs && !f.matchAttrs(r) {
			return true
		}
		return fn(r)
	})
	return nil
}

// Bounds returns the bounds of every feature of the named layers (nil: all layers);
// ok is false when they hold no feature.
func (ix *Index) Bounds(names []string) (b orb.Bound, ok bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for _, name := range ix.order {
		li := ix.layers[name]
		if names != nil && !slices.Contains(names, name) || li.tree.Len() == 0 {
			continue
		}
		mn, mx := li.tree.Bounds()
		lb := orb.Bound{Min: mn, Max: mx}
		if !ok {
			b, ok = lb, true
		} else {
			b = b.Union(lb)
		}
	}
	return b, ok
}

// Count returns the number of features in a layer (0 for an unknown layer).
func (ix *Index) Count(layer string) int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if li, ok := ix.layers[layer]; ok {
		return len(li.byID)
	}
	return 0
}

// Size estimates the bytes held by all records (see Record.Size); the R-tree nodes
// and maps come on top.
func (ix *Index) Size() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := 0
	for _, li := range ix.layers {
		for _, r := range li.byID {
			n += r.Size()
		}
	}
	return n
}

// selected returns the layer indexes the filter selects, in registry order. Callers
// hold the read lock.
func (ix *Index) selected(f *Filter) []*layerIndex {
	return ix.selectedInto(make([]*layerIndex, 0, len(ix.order)), f)
}

// selectedInto is selected appending to out (a caller's stack buffer).
func (ix *Index) selectedInto(out []*layerIndex, f *Filter) []*layerIndex {
	for _, name := range ix.order {
		if f.selects(name) {
			out = append(out, ix.layers[name])
		}
	}
	return out
}
