package tiles

import (
	"bytes"
	"container/list"
	"hash/crc32"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
	"github.com/paulmach/orb"

	"riskmap/index"
)

// Key identifies a cached layer tile: the layer, the tile, and Variant, a canonical
// form of everything else that changes its bytes (filter, CRS, clustering).
type Key struct {
	Layer string
	Coord
	Variant string
}

// Entry is one encoded layer tile, immutable once made (its compressed form is made
// once, on first use). Raw is a complete MVT Tile message holding one layer, empty
// when no feature is in the tile.
type Entry struct {
	Raw  []byte
	ETag string // quoted, strong: a hash of Raw
	CRC  uint32 // CRC-32 (IEEE) of Raw, for gzip trailers

	bound orb.Bound // WGS84: changes meeting it make the entry stale

	deflateOnce sync.Once
	deflate     []byte       // Raw, deflated, ending with a sync flush (no final block)
	deflateLen  atomic.Int64 // len(deflate) once made

	// Guarded by the cache's lock:
	elem    *list.Element
	key     Key
	charged int64 // bytes counted in the cache's size
}

// castagnoli is the CRC-32C table (hardware-accelerated where the CPU has it).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewEntry wraps an encoded layer tile and the WGS84 bound it depends on.
func NewEntry(raw []byte, bound orb.Bound) *Entry {
	crc := crc32.ChecksumIEEE(raw)
	return &Entry{Raw: raw, ETag: entryTag(crc, raw), CRC: crc, bound: bound}
}

// entryTag is the strong ETag of raw, given its CRC-32 (IEEE): that CRC and raw's
// CRC-32C, two independent 32-bit checks, as one 64-bit number in base 36. Both
// are fixed functions of the bytes, so every process serving the same tile gives it
// the same tag, and both run at several GB/s, where FNV-1a, a multiplication per
// byte, took 5 % of an uncached tile's time.
func entryTag(crcIEEE uint32, raw []byte) string {
	tag := uint64(crcIEEE)<<32 | uint64(crc32.Checksum(raw, castagnoli))
	return `"` + strconv.FormatUint(tag, 36) + `"`
}

var (
	flaters = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.BestSpeed)
		return w
	}}
	huffmanFlaters = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.HuffmanOnly)
		return w
	}}
)

// Deflate returns Raw compressed with DEFLATE at the fastest level, ending with a
// sync flush and no final block, so that several entries' streams can follow each
// other in one gzip member (see Tile). It is computed once per entry.
func (e *Entry) Deflate() []byte {
	e.deflateOnce.Do(func() {
		if len(e.Raw) == 0 {
			return
		}
		e.deflate = deflate(&flaters, e.Raw, len(e.Raw)/2)
		e.deflateLen.Store(int64(len(e.deflate)))
	})
	return e.deflate
}

// deflate compresses raw with a writer from pool, ending with a sync flush.
func deflate(pool *sync.Pool, raw []byte, sizeHint int) []byte {
	var buf bytes.Buffer
	buf.Grow(sizeHint + 64)
	w := pool.Get().(*flate.Writer)
	w.Reset(&buf)
	w.Write(raw) // writes to a bytes.Buffer do not fail
	w.Flush()
	pool.Put(w)
	return buf.Bytes()
}

// entryOverhead approximates an entry's bytes besides its tile bytes (struct, key,
// list element, map slots).
const entryOverhead = 256

func (e *Entry) size() int64 { return int64(len(e.Raw)) + e.deflateLen.Load() + entryOverhead }

// Cache holds encoded layer tiles, bounded by bytes, least recently used first out.
// It is kept exact by Invalidate, which the index calls (through OnApply) under its
// write lock, before readers can see a change: every cached tile of the changed
// layer whose area meets the old or new bounds of a changed feature is dropped. A
// tile rendered from data older than the last invalidation of its layer is never
// stored (see Get and Put). Safe for concurrent use.
type Cache struct {
	mu      sync.Mutex
	max     int64
	size    int64
	lru     list.List // front: most recent; values *Entry
	entries map[Key]*Entry
	byLayer map[string]map[*Entry]struct{}
	gen     map[string]uint64
	stats   CacheStats
	// perLayer counts hits and misses by layer (stats.go).
	perLayer map[string]*layerCounts
}

// CacheStats counts the cache's work since it was made.
type CacheStats struct {
	Hits, Misses, Stored, Evicted, Invalidated, Discarded int64
	Entries                                               int
	Bytes, MaxBytes                                       int64
}

// NewCache returns a cache holding at most maxBytes of tiles (0 stores nothing).
func NewCache(maxBytes int64) *Cache {
	return &Cache{max: maxBytes, entries: map[Key]*Entry{}, byLayer: map[string]map[*Entry]struct{}{}, gen: map[string]uint64{}}
}

// Get returns the cached entry for k, or nil, and the generation of k's layer now:
// pass it to Put with a tile rendered after this call.
func (c *Cache) Get(k Key) (*Entry, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[k]
	c.countLayer(k.Layer, e != nil)
	if e == nil {
		c.stats.Misses++
		return nil, c.gen[k.Layer]
	}
	c.stats.Hits++
	c.lru.MoveToFront(e.elem)
	return e, c.gen[k.Layer]
}

// Put stores e under k unless k's layer was invalidated since gen was read (then the
// tile may hold data older than the index's, and is dropped). It reports whether e
// was stored.
func (c *Cache) Put(k Key, e *Entry, gen uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[k.Layer] != gen || e.size() > c.max {
		c.stats.Discarded++
		return false
	}
	if old := c.entries[k]; old != nil {
		c.remove(old)
	}
	e.key = k
	e.elem = c.lru.PushFront(e)
	c.entries[k] = e
	set := c.byLayer[k.Layer]
	if set == nil {
		set = map[*Entry]struct{}{}
		c.byLayer[k.Layer] = set
	}
	set[e] = struct{}{}
	e.charged = e.size()
	c.size += e.charged
	c.stats.Stored++
	c.evict()
	return true
}

// PerRequest reports whether the cache stores nothing (a capacity of 0 bytes), so
// that every tile is rendered and every gzip body compressed per request.
func (c *Cache) PerRequest() bool { return c.max <= 0 }

// Deflate returns e.Deflate(), counting the compressed bytes in the cache's size
// when e is cached. A cache that stores nothing (PerRequest) returns e.Raw
// compressed with Huffman coding only, not kept: about 2.2 times as fast as the
// fastest level, for about 1.7 times its bytes (on the demo's tiles), a better trade
// for a body compressed for one response than for one compressed once into the
// cache and sent many times. The compression depends only on the cache's capacity,
// so every process configured alike sends the same bytes under the same ETag (see
// Tile.ETag).
func (c *Cache) Deflate(e *Entry) []byte {
	if c.PerRequest() {
		if len(e.Raw) == 0 {
			return nil
		}
		return deflate(&huffmanFlaters, e.Raw, len(e.Raw)*4/5)
	}
	d := e.Deflate()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.elem != nil && c.entries[e.key] == e {
		if n := e.size(); n != e.charged {
			c.size += n - e.charged
			e.charged = n
			c.evict()
		}
	}
	return d
}

func (c *Cache) evict() {
	for c.size > c.max && c.lru.Len() > 0 {
		c.remove(c.lru.Back().Value.(*Entry))
		c.stats.Evicted++
	}
}

func (c *Cache) remove(e *Entry) {
	c.lru.Remove(e.elem)
	delete(c.entries, e.key)
	delete(c.byLayer[e.key.Layer], e)
	c.size -= e.charged
	e.elem, e.charged = nil, 0
}

// Invalidate drops every entry of a dirty layer whose area meets the dirty bound,
// and makes tiles of those layers rendered before this call unstorable. Pass it to
// index.Index.OnApply.
func (c *Cache) Invalidate(ds []index.Dirty) {
	c.mu.Lock()
	defer c.mu.Unlock()
	bumped := map[string]bool{}
	for _, d := range ds {
		if !bumped[d.Layer] {
			c.gen[d.Layer]++
			bumped[d.Layer] = true
		}
		for e := range c.byLayer[d.Layer] {
			if e.bound.Intersects(d.Bound) {
				c.remove(e)
				c.stats.Invalidated++
			}
		}
	}
}

// Stats returns the counters and the current size.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.Bytes, s.MaxBytes = len(c.entries), c.size, c.max
	return s
}
