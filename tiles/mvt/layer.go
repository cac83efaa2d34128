package mvt

import (
	"math/bits"
	"slices"
)

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
)

// Wire-format tags (field number << 3 | wire type) used by the writer.
const (
	tagTileLayer    = 3<<3 | wireBytes   // Tile.layers
	tagLayerName    = 1<<3 | wireBytes   // Layer.name
	tagLayerFeature = 2<<3 | wireBytes   // Layer.features
	tagLayerKey     = 3<<3 | wireBytes   // Layer.keys
	tagLayerValue   = 4<<3 | wireBytes   // Layer.values
	tagLayerExtent  = 5<<3 | wireVarint  // Layer.extent
	tagLayerVersion = 15<<3 | wireVarint // Layer.version
	tagFeatureID    = 1<<3 | wireVarint  // Feature.id
	tagFeatureTags  = 2<<3 | wireBytes   // Feature.tags, packed
	tagFeatureType  = 3<<3 | wireVarint  // Feature.type
	tagFeatureGeom  = 4<<3 | wireBytes   // Feature.geometry, packed
	tagValueString  = 1<<3 | wireBytes   // Value.string_value
	tagValueDouble  = 3<<3 | wireFixed64 // Value.double_value
	tagValueSint    = 6<<3 | wireVarint  // Value.sint_value
	tagValueBool    = 7<<3 | wireVarint  // Value.bool_value
	layerVersion    = 2                  // MVT specification version written
	maxCommandCount = 1<<29 - 1          // largest count a command integer can carry
)

// Geometry types (Feature.type).
const (
	geomUnknown    = 0
	geomPoint      = 1
	geomLineString = 2
	geomPolygon    = 3
)

// Layer writes one MVT layer: its features, value table and the fixed key
// table given to NewLayer. Reuse one Layer for many tiles via Reset: it keeps
// its buffers, so a warmed-up Layer allocates nothing per tile. A Layer is not
// safe for concurrent use.
//
// A feature is written with BeginFeature, any number of Tag calls, one
// geometry call (Point, MultiPoint, LineStrings or Polygons) and EndFeature.
// All coordinates are integer tile units with y pointing down.
type Layer struct {
	head  []byte // encoded name field
	keys  []byte // encoded key fields
	tail  []byte // encoded extent and version fields
	nKeys uint32

	features []byte // encoded, completed Feature fields
	n        int    // completed features since Reset

	values  []byte // encoded Value fields
	nValues uint32

	// De-duplication for Value, one map per kind (cleared, not re-made, by
	// Reset); boolIdx holds index+1 for false and true, 0 when absent.
	strIdx  map[string]uint32
	intIdx  map[int64]uint32
	dblIdx  map[uint64]uint32
	boolIdx [2]uint32

	// The feature being written.
	open  bool
	id    uint64
	hasID bool
	gtype uint8
	tags  []byte // packed tag varints
	geom  []byte // packed geometry varints
	cx    int32  // geometry cursor
	cy    int32
}

// NewLayer returns a Layer with the given name, extent (the tile's size in
// tile units, usually 4096) and key table. keys are the property names in a
// fixed order; Tag refers to them by index. Every key is written into every
// tile of the layer. name and keys should be valid UTF-8; they are not checked.
func NewLayer(name string, extent uint32, keys []string) *Layer {
	l := &Layer{
		nKeys:  uint32(len(keys)),
		strIdx: make(map[string]uint32),
		intIdx: make(map[int64]uint32),
		dblIdx: make(map[uint64]uint32),
	}
	l.head = appendString(nil, tagLayerName, name)
	for _, k := range keys {
		l.keys = appendString(l.keys, tagLayerKey, k)
	}
	l.tail = append(l.tail, tagLayerExtent)
	l.tail = appendVarint(l.tail, uint64(extent))
	l.tail = append(l.tail, tagLayerVersion, layerVersion)
	return l
}

// Reset empties the layer for a new tile: it drops all features and values
// (and any feature still open), and keeps the name, extent, key table and the
// capacity of every buffer.
func (l *Layer) Reset() {
	l.features = l.features[:0]
	l.n = 0
	l.values = l.values[:0]
	l.nValues = 0
	clear(l.strIdx)
	clear(l.intIdx)
	clear(l.dblIdx)
	l.boolIdx = [2]uint32{}
	l.open = false
	l.tags = l.tags[:0]
	l.geom = l.geom[:0]
}

// Len returns the number of features written (completed with EndFeature and
// kept) since the last Reset.
func (l *Layer) Len() int { return l.n }

// BeginFeature starts a feature. id is the feature id; when hasID is false no
// id field is written (hasID true with id 0 writes an explicit id 0). It
// panics if the previous feature was not ended with EndFeature.
func (l *Layer) BeginFeature(id uint64, hasID bool) {
	if l.open {
		panic("mvt: BeginFeature before EndFeature of the previous feature")
	}
	l.open = true
	l.id = id
	l.hasID = hasID
	l.gtype = geomUnknown
	l.tags = l.tags[:0]
	l.geom = l.geom[:0]
	l.cx, l.cy = 0, 0
}

// Tag adds a property to the current feature: key is an index into the key
// table given to NewLayer, value an index returned by AddValue or Value since
// the last Reset. It panics outside a feature or on an index out of range.
func (l *Layer) Tag(key, value uint32) {
	if !l.open {
		panic("mvt: Tag outside BeginFeature/EndFeature")
	}
	if key >= l.nKeys {
		panic("mvt: Tag key index out of range")
	}
	if value >= l.nValues {
		panic("mvt: Tag value index out of range")
	}
	if key|value < 0x80 {
		l.tags = append(l.tags, byte(key), byte(value))
		return
	}
	l.tags = appendVarint32(l.tags, key)
	l.tags = appendVarint32(l.tags, value)
}

// EndFeature finishes the current feature and reports whether it was kept. A
// feature whose geometry ended up empty (no geometry call, or every part was
// degenerate and skipped) is discarded; values it referenced stay in the value
// table, which is harmless. It panics if no feature is open.
func (l *Layer) EndFeature() bool {
	if !l.open {
		panic("mvt: EndFeature without BeginFeature")
	}
	l.open = false
	if len(l.geom) == 0 {
		return false
	}

	size := 2 + 1 + sizeVarint(uint64(len(l.geom))) + len(l.geom) // type + geometry
	if l.hasID {
		size += 1 + sizeVarint(l.id)
	}
	if len(l.tags) > 0 {
		size += 1 + sizeVarint(uint64(len(l.tags))) + len(l.tags)
	}

	b := slices.Grow(l.features, 1+sizeVarint(uint64(size))+size)
	b = append(b, tagLayerFeature)
	b = appendVarint(b, uint64(size))
	if l.hasID {
		b = append(b, tagFeatureID)
		b = appendVarint(b, l.id)
	}
	if len(l.tags) > 0 {
		b = append(b, tagFeatureTags)
		b = appendVarint(b, uint64(len(l.tags)))
		b = append(b, l.tags...)
	}
	b = append(b, tagFeatureType, l.gtype)
	b = append(b, tagFeatureGeom)
	b = appendVarint(b, uint64(len(l.geom)))
	b = append(b, l.geom...)
	l.features = b
	l.n++
	return true
}

// AppendTile appends to dst a complete Tile message holding just this layer
// (Tile field 3, length-delimited) and returns the extended slice. If the
// layer has no features it appends nothing. A feature still open (BeginFeature
// without EndFeature) is not included. The concatenation of several such
// messages is a valid Tile with several layers, which is how composite tiles
// are built. AppendTile does not change the layer.
func (l *Layer) AppendTile(dst []byte) []byte {
	if l.n == 0 {
		return dst
	}
	size := len(l.head) + len(l.features) + len(l.keys) + len(l.values) + len(l.tail)
	dst = slices.Grow(dst, 1+sizeVarint(uint64(size))+size)
	dst = append(dst, tagTileLayer)
	dst = appendVarint(dst, uint64(size))
	dst = append(dst, l.head...)
	dst = append(dst, l.features...)
	dst = append(dst, l.keys...)
	dst = append(dst, l.values...)
	dst = append(dst, l.tail...)
	return dst
}

// appendVarint appends v as a protobuf base-128 varint.
func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendVarint32 is appendVarint for the common small uint32 case.
func appendVarint32(b []byte, v uint32) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return appendVarint(b, uint64(v))
}

// sizeVarint returns the encoded length of v as a varint.
func sizeVarint(v uint64) int {
	return (bits.Len64(v|1) + 6) / 7
}

// appendString appends a length-delimited field with the given tag.
func appendString(b []byte, tag byte, s string) []byte {
	b = append(b, tag)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}
