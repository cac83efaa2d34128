// Package mvt is a small, allocation-free writer for Mapbox Vector Tiles,
// version 2.1 of the specification (vector_tile.proto).
//
// # Why not orb's encoder
//
// github.com/paulmach/orb/encoding/mvt takes a geojson.FeatureCollection
// (float64 coordinates, a properties map per feature), converts it to
// generated protobuf structs and marshals those, allocating for every feature
// (about 10 allocations for a point with six properties even when the
// features are built beforehand, more for lines and polygons; BenchmarkPoints2000
// and BenchmarkOrbMarshal2000 compare the two). A risk-map tile
// holds thousands of features and is encoded on every cache miss, so this
// package writes the protobuf wire format directly instead: features are
// appended to one reusable byte buffer, a feature's packed tags and geometry
// are built in two reusable scratch buffers (so their lengths are known before
// the feature is written), and the value table is a byte buffer plus one
// map per value kind, cleared, not re-made, between tiles. A Layer that is reused through
// Reset for tile after tile allocates nothing in steady state, and AppendTile
// into a reused destination slice allocates nothing either.
//
// # Coordinates
//
// Geometry is given in integer tile units, already quantized by the caller:
// x grows to the right, y grows DOWN, and the tile covers 0..extent on both
// axes. Coordinates outside that square (negative, or above extent) are
// allowed and are how tile buffers are expressed. Deltas between consecutive
// points are encoded as 32-bit zigzag integers, so keep |coordinate| < 2^30 so
// that every delta fits in an int32 (decoders that accumulate in float64, such
// as orb's, need that; any realistic tile buffer is far inside it).
//
// Polygon rings follow the MVT winding rule: an exterior ring has a positive
// signed area by the shoelace formula in tile coordinates (it looks clockwise
// on screen, since y points down), an interior ring a negative one.
// SignedArea2 computes that area; the writer never reorients rings.
//
// # Writing a layer
//
//	l := mvt.NewLayer("risk", 4096, []string{"name", "level"})
//	for each tile {
//		l.Reset()
//		for each feature {
//			l.BeginFeature(id, true)
//			l.Tag(0, l.AddValue(mvt.String(name))) // unique per tile
//			l.Tag(1, l.Value(mvt.String(level)))   // small enum, de-duplicated
//			l.Point(x, y)
//			l.EndFeature()
//		}
//		buf = l.AppendTile(buf[:0])
//	}
//
// Misuse of the call sequence (Tag or a geometry call outside BeginFeature /
// EndFeature, two geometry calls in one feature, a key or value index out of
// range, an unknown ValueKind) is a programming error and panics.
//
// # Composite tiles
//
// AppendTile writes a complete Tile message that holds just one layer: the
// layer is field 3 (layers) of Tile, length-delimited. Protocol Buffers merge
// repeated fields of concatenated messages, so appending the output of several
// layers to one slice yields a valid Tile with all those layers, in order:
//
//	buf = roads.AppendTile(buf[:0])
//	buf = risk.AppendTile(buf)
//
// A layer without features appends nothing, so empty layers vanish from a
// composite tile and a tile whose layers are all empty is zero bytes long.
//
// # Output
//
// Encoding is deterministic: the same calls give the same bytes. Inside a
// layer the fields are written in field-number order, as a canonical protobuf
// encoder would: name (1), features (2), keys (3), values (4), extent (5),
// version (15, always 2). Every key of the key table is written, used or not;
// every value added since the last Reset is written, including those of
// discarded features.
package mvt
