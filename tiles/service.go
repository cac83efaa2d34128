package tiles

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// Service serves tiles: each layer tile from the cache or freshly rendered (and then
// cached), composite tiles as the concatenation of their layers' tiles. Safe for
// concurrent use.
type Service struct {
	r *Renderer
	c *Cache
}

// NewService returns a service rendering with r and caching in c. Wire c.Invalidate
// to the index's OnApply, or cached tiles go stale.
func NewService(r *Renderer, c *Cache) *Service { return &Service{r: r, c: c} }

// Renderer returns the service's renderer.
func (s *Service) Renderer() *Renderer { return s.r }

// Cache returns the service's cache.
func (s *Service) Cache() *Cache { return s.c }

// Tile returns the tile of the named layers (in that order) for req. It stops with
// ctx's error when ctx ends between layers.
func (s *Service) Tile(ctx context.Context, names []string, req Request) (Tile, error) {
	t := Tile{cache: s.c, parts: make([]*Entry, 0, len(names))}
	variant := Variant(req)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return Tile{}, err
		}
		k := Key{Layer: name, Coord: req.Coord, Variant: variant}
		e, gen := s.c.Get(k)
		if e == nil {
			raw, bound, err := s.r.Render(nil, name, req)
			if err != nil {
				return Tile{}, err
			}
			e = NewEntry(raw, bound)
			s.c.Put(k, e, gen)
		}
		t.parts = append(t.parts, e)
	}
	return t, nil
}

// Variant is the canonical text of what, besides layer and tile, changes a tile's
// bytes: the filter's attribute conditions, the CRS and clustering.
func Variant(req Request) string {
	f := req.Filter
	var b strings.Builder
	b.WriteString(req.CRS.String())
	if req.NoCluster {
		b.WriteString(";nocluster")
	}
	if f.Grades != 0 {
		b.WriteString(";g=" + strconv.FormatUint(uint64(f.Grades), 16))
	}
	if f.Warnings != 0 {
		b.WriteString(";w=" + strconv.FormatUint(uint64(f.Warnings), 16))
	}
	list := func(name string, codes []string) {
		if codes != nil {
			c := slices.Clone(codes)
			slices.Sort(c)
			b.WriteString(";" + name + "=" + strings.Join(slices.Compact(c), ","))
		}
	}
	list("c", f.Category)
	list("k", f.Kind)
	list("s", f.Status)
	list("d", f.Subdistrict)
	if f.Open != nil {
		b.WriteString(";o=" + strconv.FormatBool(*f.Open))
	}
	if f.MinCapacity >= 0 {
		b.WriteString(";cap=" + strconv.FormatInt(f.MinCapacity, 10))
	}
	return b.String()
}

// Tile is a composite tile: one MVT layer per part, in order. Its bytes are its
// parts' bytes one after the other (protobuf concatenation of Tile messages merges
// their layers), so nothing is re-encoded per request.
type Tile struct {
	cache *Cache
	parts []*Entry
}

// Len is the length of the uncompressed tile in bytes; 0 for an empty tile.
func (t Tile) Len() int {
	n := 0
	for _, e := range t.parts {
		n += len(e.Raw)
	}
	return n
}

// ETag returns the strong entity tag of the tile in the given content coding: a
// hash of its parts' tags, so it changes exactly when a part does, and the same in
// every process serving the same data. The gzip body of a cache that stores nothing
// is compressed otherwise (see Cache.Deflate), so its tag differs too ("-gzh").
func (t Tile) ETag(gzip bool) string {
	if len(t.parts) == 1 && !gzip {
		return t.parts[0].ETag
	}
	h := fnv.New64a()
	for _, e := range t.parts {
		h.Write([]byte(e.ETag))
	}
	tag := strconv.FormatUint(h.Sum64(), 36)
	switch {
	case gzip && t.cache.PerRequest():
		tag += "-gzh"
	case gzip:
		tag += "-gz"
	}
	return `"` + tag + `"`
}

// Raw returns the tile's bytes as pieces to write in order (not copied: the caller
// must not modify them).
func (t Tile) Raw() [][]byte {
	out := make([][]byte, 0, len(t.parts))
	for _, e := range t.parts {
		if len(e.Raw) > 0 {
			out = append(out, e.Raw)
		}
	}
	return out
}

// gzipHeader is a gzip member header: deflate, no flags, no time, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// finalBlock is an empty final DEFLATE block with fixed Huffman codes (BFINAL 1,
// BTYPE 01, end-of-block): it ends the stream after the parts' sync-flushed blocks.
var finalBlock = []byte{0x03, 0x00}

// Gzip returns the tile gzip-compressed, as pieces to write in order: one gzip
// member whose DEFLATE stream is the parts' cached compressed streams one after the
// other (each ends byte-aligned with a sync flush and refers to no earlier data), an
// empty final block, then the CRC-32 and length of the whole. Only the trailer is
// computed per request; an empty tile gives no pieces.
func (t Tile) Gzip() [][]byte {
	if t.Len() == 0 {
		return nil
	}
	out := make([][]byte, 0, len(t.parts)+3)
	out = append(out, gzipHeader)
	var crc uint32
	size := 0
	for _, e := range t.parts {
		if len(e.Raw) == 0 {
			continue
		}
		out = append(out, t.cache.Deflate(e))
		if size == 0 {
			crc = e.CRC
		} else {
			crc = crc32.Update(crc, crc32.IEEETable, e.Raw)
		}
		size += len(e.Raw)
	}
	trailer := make([]byte, 0, len(finalBlock)+8)
	trailer = append(trailer, finalBlock...)
	trailer = binary.LittleEndian.AppendUint32(trailer, crc)
	trailer = binary.LittleEndian.AppendUint32(trailer, uint32(size))
	return append(out, trailer)
}

// String names the tile for logs and errors.
func (c Coord) String() string { return fmt.Sprintf("%d/%d/%d", c.Z, c.X, c.Y) }
