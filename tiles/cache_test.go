package tiles_test

import (
	"bytes"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"riskmap/feature"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/tiles"
)

// cachedSetup is a private demo index with a cached tile service wired to it the
// way the server does it.
func cachedSetup(t *testing.T) (*index.Index, *tiles.Renderer, *tiles.Service) {
	t.Helper()
	_, ds := demoIndex(t)
	ix, err := loadIndex(ds)
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t, ix, tiles.Options{})
	c := tiles.NewCache(512 << 20)
	ix.OnApply(c.Invalidate)
	return ix, r, tiles.NewService(r, c)
}

type tileCase struct {
	layer string
	req   tiles.Request
}

// tileSet is the tiles the cache tests keep warm: 3×3 tiles around three places at
// zooms 10 to 16, every layer, three variants (plain, a grade filter, GCJ-02).
func tileSet() []tileCase {
	var out []tileCase
	reg := layers.New()
	for _, p := range []orb.Point{luohu, {114.14, 22.57}, {114.16, 22.56}} {
		for _, z := range []int{10, 12, 14, 16} {
			c := coordAt(p, z)
			for dx := -1; dx <= 1; dx++ {
				for dy := -1; dy <= 1; dy++ {
					cc := tiles.Coord{Z: c.Z, X: uint32(int(c.X) + dx), Y: uint32(int(c.Y) + dy)}
					for _, l := range reg.Layers() {
						out = append(out,
							tileCase{l.Name, tiles.Request{Coord: cc, Filter: noFilter}},
							tileCase{l.Name, tiles.Request{Coord: cc, Filter: index.Filter{MinCapacity: -1, Grades: 1<<3 | 1<<2}}},
							tileCase{l.Name, tiles.Request{Coord: cc, Filter: noFilter, CRS: tiles.GCJ02}})
					}
				}
			}
		}
	}
	return out
}

func serveOne(t *testing.T, svc *tiles.Service, tc tileCase) []byte {
	t.Helper()
	tl, err := svc.Tile(context.Background(), []string{tc.layer}, tc.req)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Join(tl.Raw(), nil)
}

// randomChange makes one random edit of the index: move a feature a few hundred
// meters, change its grade or name, delete it, or insert a new one near the places
// the tile set covers.
func randomChange(t *testing.T, ix *index.Index, rnd *mrand.Rand, nextID *int64) (string, []index.Dirty) {
	t.Helper()
	reg := layers.New()
	ls := reg.Layers()
	l := ls[rnd.IntN(len(ls))]
	anchor := []orb.Point{luohu, {114.14, 22.57}, {114.16, 22.56}}[rnd.IntN(3)]
	near := orb.Bound{Min: orb.Point{anchor[0] - 0.02, anchor[1] - 0.02}, Max: orb.Point{anchor[0] + 0.02, anchor[1] + 0.02}}
	var victims []*index.Record
	_ = ix.Visit(l.Name, near, noFilter, func(r *index.Record) bool { victims = append(victims, r); return len(victims) < 200 })
	op := rnd.IntN(4)
	if len(victims) == 0 {
		op = 3
	}
	var m index.Mutation
	switch op {
	case 0, 1: // move, or change properties
		v := victims[rnd.IntN(len(victims))]
		f := recordFeature(t, reg, v)
		desc := "props"
		if op == 0 {
			f.Geometry = moved(f.Geometry, (rnd.Float64()-0.5)*0.006, (rnd.Float64()-0.5)*0.006)
			desc = "move"
		} else {
			f.Props["name"] = fmt.Sprintf("改名 %d", rnd.IntN(1e6))
			if _, ok := f.Props["risk_grade"]; ok {
				f.Props["risk_grade"] = []string{"low", "general", "significant", "major"}[rnd.IntN(4)]
			}
			if _, ok := f.Props["warning_level"]; ok {
				f.Props["warning_level"] = []string{"none", "blue", "yellow", "orange", "red"}[rnd.IntN(5)]
			}
		}
		f.Version++
		m = index.Mutation{Op: feature.Update, Feature: f}
		_ = desc
		return apply(t, ix, m, fmt.Sprintf("%s %s %d", desc, l.Name, v.ID))
	case 2:
		v := victims[rnd.IntN(len(victims))]
		m = index.Mutation{Op: feature.Delete, Feature: feature.Feature{Layer: l.Name, ID: v.ID}}
		return apply(t, ix, m, fmt.Sprintf("delete %s %d", l.Name, v.ID))
	default:
		// Insert: a copy of some feature of the layer, moved next to the anchor.
		var tmpl *index.Record
		_ = ix.Visit(l.Name, orb.Bound{Min: orb.Point{113, 22}, Max: orb.Point{115, 23}}, noFilter, func(r *index.Record) bool { tmpl = r; return false })
		f := recordFeature(t, reg, tmpl)
		c := f.Geometry.Bound().Center()
		f.Geometry = moved(f.Geometry, anchor[0]-c[0]+(rnd.Float64()-0.5)*0.01, anchor[1]-c[1]+(rnd.Float64()-0.5)*0.01)
		*nextID++
		f.ID, f.Version = *nextID, 1
		f.Props["external_id"] = fmt.Sprintf("NEW-%d", *nextID)
		return apply(t, ix, index.Mutation{Op: feature.Insert, Feature: f}, fmt.Sprintf("insert %s %d", l.Name, f.ID))
	}
}

func apply(t *testing.T, ix *index.Index, m index.Mutation, desc string) (string, []index.Dirty) {
	t.Helper()
	d, err := ix.Apply(m)
	if err != nil {
		t.Fatalf("%s: %v", desc, err)
	}
	return desc, d
}

// recordFeature rebuilds a feature (properties as maps) from a record.
func recordFeature(t *testing.T, reg *layers.Registry, r *index.Record) feature.Feature {
	t.Helper()
	l, err := reg.Layer(r.Layer)
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]any{}
	r.EachProp(func(i int, v layers.PackedValue) bool {
		props[l.Fields[i].Name] = l.Value(v, i)
		return true
	})
	return feature.Feature{Layer: r.Layer, ID: r.ID, Version: r.Version, Geometry: orb.Clone(r.Geometry), Props: props}
}

func moved(g orb.Geometry, dx, dy float64) orb.Geometry {
	g = orb.Clone(g)
	switch g := g.(type) {
	case orb.Point:
		return orb.Point{g[0] + dx, g[1] + dy}
	case orb.LineString:
		for i := range g {
			g[i][0] += dx
			g[i][1] += dy
		}
	case orb.MultiLineString:
		for _, ls := range g {
			moved(ls, dx, dy)
		}
	case orb.Polygon:
		for _, r := range g {
			moved(orb.LineString(r), dx, dy)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			moved(p, dx, dy)
		}
	}
	return g
}

// TestCacheNeverStale: after every one of 20 random edits (moves, property
// changes, deletes, inserts, in every layer), the tiles of a warm set of 1,620 that
// lie around the edit, and 100 others at random — served through the cache — equal
// a fresh rendering from the index. And the cache keeps working: most tiles survive
// an edit elsewhere.
func TestCacheNeverStale(t *testing.T) {
	ix, r, svc := cachedSetup(t)
	set := tileSet()
	for _, tc := range set {
		serveOne(t, svc, tc)
	}
	rnd := mrand.New(mrand.NewPCG(4, 2))
	nextID := int64(1_000_000)
	checked, near := 0, 0
	for i := range 20 {
		desc, touched := randomChange(t, ix, rnd, &nextID)
		for j, tc := range set {
			tb := maptile.New(tc.req.X, tc.req.Y, maptile.Zoom(tc.req.Z)).Bound()
			tb = tb.Pad((tb.Max[0] - tb.Min[0]) * 0.1) // the buffer, and more
			if tc.req.CRS == tiles.GCJ02 {
				tb = tb.Pad(0.008) // GCJ-02 tiles show data from ~600 m away
			}
			meets := false
			for _, d := range touched {
				if tb.Intersects(d.Bound) {
					meets = true
				}
			}
			if !meets && rnd.IntN(len(set)) >= 100 {
				continue
			}
			if meets {
				near++
			}
			checked++
			got := serveOne(t, svc, tc)
			want := render(t, r, tc.layer, tc.req)
			if !bytes.Equal(got, want) {
				t.Fatalf("edit %d (%s): tile %d %s %v %s is stale", i, desc, j, tc.layer, tc.req.Coord, tiles.Variant(tc.req))
			}
		}
	}
	s := svc.Cache().Stats()
	t.Logf("%d tiles compared (%d around the edits); cache: %+v", checked, near, s)
	if near < 300 {
		t.Errorf("only %d tiles around the edits compared: the test proves little", near)
	}
	if s.Hits < int64(checked)*3/4 {
		t.Errorf("only %d of %d tiles served from the cache: invalidation drops too much", s.Hits, checked)
	}
}

// TestCacheKeepsOtherLayers: a change in one layer drops no tile of another.
func TestCacheKeepsOtherLayers(t *testing.T) {
	ix, _, svc := cachedSetup(t)
	c := tiles.Request{Coord: coordAt(luohu, 14), Filter: noFilter}
	all := []string{layers.RiskPoints, layers.Slopes, layers.WaterloggingSpots, layers.RectifiedRoads, layers.Resources}
	if _, err := svc.Tile(context.Background(), all, c); err != nil {
		t.Fatal(err)
	}
	var spot *index.Record
	_ = ix.Visit(layers.WaterloggingSpots, orb.Bound{Min: orb.Point{113, 22}, Max: orb.Point{115, 23}}, noFilter, func(r *index.Record) bool { spot = r; return false })
	f := recordFeature(t, layers.New(), spot)
	f.Props["current_depth_cm"] = 41.5
	f.Version++
	// Put the spot in the tile so the change certainly meets it.
	f.Geometry = luohu
	before := svc.Cache().Stats()
	apply(t, ix, index.Mutation{Op: feature.Update, Feature: f}, "depth")
	after := svc.Cache().Stats()
	if got := after.Invalidated - before.Invalidated; got != 1 {
		t.Errorf("a water depth change dropped %d cached tiles, want exactly the spot layer's one", got)
	}
}

// blockingSource reads the index, then waits (once armed) before returning, so a
// test can apply a change while a rendering holds data read before it.
type blockingSource struct {
	ix      *index.Index
	mu      sync.Mutex
	read    chan struct{} // closed when the armed Visit has read
	release chan struct{} // the armed Visit returns when this is closed
}

func (b *blockingSource) Visit(layer string, bd orb.Bound, f index.Filter, fn func(*index.Record) bool) error {
	err := b.ix.Visit(layer, bd, f, fn)
	b.mu.Lock()
	read, release := b.read, b.release
	b.read, b.release = nil, nil
	b.mu.Unlock()
	if read != nil {
		close(read)
		<-release
	}
	return err
}

// TestCacheDropsRenderingsOlderThanAChange: a tile rendered from data read before
// a change, and finished after it, is served to its own request but never cached.
func TestCacheDropsRenderingsOlderThanAChange(t *testing.T) {
	_, ds := demoIndex(t)
	ix, err := loadIndex(ds)
	if err != nil {
		t.Fatal(err)
	}
	src := &blockingSource{ix: ix, read: make(chan struct{}), release: make(chan struct{})}
	read, release := src.read, src.release
	r := newRenderer(t, src, tiles.Options{})
	cache := tiles.NewCache(64 << 20)
	ix.OnApply(cache.Invalidate)
	svc := tiles.NewService(r, cache)
	req := tiles.Request{Coord: coordAt(luohu, 16), Filter: noFilter}

	done := make(chan []byte)
	go func() {
		tl, err := svc.Tile(context.Background(), []string{layers.RiskPoints}, req)
		if err != nil {
			t.Error(err)
		}
		done <- bytes.Join(tl.Raw(), nil)
	}()
	<-read // the rendering has read the old data
	var victim *index.Record
	tb := maptile.New(req.X, req.Y, maptile.Zoom(req.Z)).Bound()
	_ = ix.Visit(layers.RiskPoints, tb, noFilter, func(r *index.Record) bool { victim = r; return false })
	apply(t, ix, index.Mutation{Op: feature.Delete, Feature: feature.Feature{Layer: layers.RiskPoints, ID: victim.ID}}, "delete")
	close(release)
	old := <-done
	want := render(t, newRenderer(t, ix, tiles.Options{}), layers.RiskPoints, req)
	if bytes.Equal(old, want) {
		t.Fatal("the delete did not change the tile: the test proves nothing")
	}
	if fresh := serveOne(t, svc, tileCase{layers.RiskPoints, req}); !bytes.Equal(fresh, want) {
		t.Fatal("a tile rendered before the delete was cached and served after it")
	}
	if s := cache.Stats(); s.Discarded != 1 {
		t.Errorf("discarded %d renderings, want 1: %+v", s.Discarded, s)
	}
}

// TestCacheConcurrent: readers serve tiles while edits are applied (run with -race);
// when the edits stop, every cached tile equals a fresh rendering.
func TestCacheConcurrent(t *testing.T) {
	ix, r, svc := cachedSetup(t)
	set := tileSet()[:600]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i = (i + 7) % len(set) {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := svc.Tile(context.Background(), []string{set[i].layer}, set[i].req); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	rnd := mrand.New(mrand.NewPCG(9, 9))
	nextID := int64(2_000_000)
	for range 60 {
		randomChange(t, ix, rnd, &nextID)
	}
	close(stop)
	wg.Wait()
	for _, tc := range set {
		if got, want := serveOne(t, svc, tc), render(t, r, tc.layer, tc.req); !bytes.Equal(got, want) {
			t.Fatalf("tile %s %v %s is stale after concurrent edits", tc.layer, tc.req.Coord, tiles.Variant(tc.req))
		}
	}
}

// TestCacheBoundedLRU: the cache never holds more than its byte budget and evicts
// the least recently used tiles first.
func TestCacheBoundedLRU(t *testing.T) {
	ix, _ := demoIndex(t)
	r := newRenderer(t, ix, tiles.Options{})
	const budget = 400 << 10
	svc := tiles.NewService(r, tiles.NewCache(budget))
	set := tileSet()
	for _, tc := range set[:300] {
		tl, err := svc.Tile(context.Background(), []string{tc.layer}, tc.req)
		if err != nil {
			t.Fatal(err)
		}
		tl.Gzip() // compressed bytes count too
		if s := svc.Cache().Stats(); s.Bytes > budget {
			t.Fatalf("cache holds %d bytes, budget %d", s.Bytes, budget)
		}
	}
	s := svc.Cache().Stats()
	if s.Evicted == 0 {
		t.Fatalf("nothing evicted: %+v", s)
	}
	// The most recent tile is still there, the first is not.
	last, first := set[299], set[0]
	before := svc.Cache().Stats().Hits
	serveOne(t, svc, last)
	if svc.Cache().Stats().Hits != before+1 {
		t.Error("the most recently used tile was evicted")
	}
	serveOne(t, svc, first)
	if svc.Cache().Stats().Hits != before+1 {
		t.Error("the least recently used tile was kept")
	}
}

// TestEntryETag: a tile's ETag is a fixed function of its bytes — the same in every
// process and every run (pinned here by the standard check values of CRC-32,
// 0xcbf43926, and CRC-32C, 0xe3069283, for "123456789") — and changes with them.
func TestEntryETag(t *testing.T) {
	if got := tiles.NewEntry([]byte("123456789"), orb.Bound{}).ETag; got != `"33nmz6b9a0goz"` {
		t.Errorf("ETag of the check string %s, want \"33nmz6b9a0goz\" (0xcbf43926 << 32 | 0xe3069283 in base 36)", got)
	}
	ix, _ := demoIndex(t)
	r := newRenderer(t, ix, tiles.Options{})
	raw := render(t, r, layers.RiskPoints, tiles.Request{Coord: coordAt(luohu, 15), Filter: noFilter})
	tag := tiles.NewEntry(raw, orb.Bound{}).ETag
	if again := tiles.NewEntry(bytes.Clone(raw), orb.Bound{}).ETag; again != tag {
		t.Errorf("same bytes, ETags %s and %s", tag, again)
	}
	seen := map[string]int{tag: -1}
	for i := 0; i < len(raw); i += 97 {
		changed := bytes.Clone(raw)
		changed[i] ^= 1 << (i % 8)
		e := tiles.NewEntry(changed, orb.Bound{})
		if j, dup := seen[e.ETag]; dup {
			t.Fatalf("byte %d flipped: ETag %s, as with change %d", i, e.ETag, j)
		}
		seen[e.ETag] = i
	}
}
