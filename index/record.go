package index

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
)

// Record is one feature as the index holds it: geometry, the attributes the query
// filters read, the text the search reads, and the feature's GeoJSON, encoded once per
// version. A Record is immutable once it is in the index (an update publishes a new
// Record), so a caller may keep and read it after the query returns, without locks.
type Record struct {
	// The first 64 bytes are what a vector tile reads of most features (the id, a
	// point's position, the Summary fields' codes, the grade), made once per version
	// so that a tile walks neither the geometry nor Props: together, so that a
	// feature costs few cache misses.
	ID    int64
	merc  [2]float64              // a point's Web Mercator x, y; else y of Bound's north and south edges
	codes [MaxSummaryCodes]uint32 // the Summary fields' codes (see SummaryCodes)

	// Filter attributes: the rank of the risk grade and warning level on their scales
	// (-1 when the layer has no such field or the value is null), enum codes ("" when
	// absent), open (-1 absent, 0 false, 1 true), capacity (-1 absent).
	Grade, Warning int8
	Open           int8
	rank           int8  // the layer's position in the registry, for ordering
	isPoint        bool  // Geometry is an orb.Point; merc holds it projected
	nCodes         uint8 // codes in use; 0 when the layer has more than MaxSummaryCodes

	Layer   string
	Version int64
	// updated is the feature's updated_at in Unix nanoseconds (0: unknown).
	updated int64
	// Geometry is WGS84 lon/lat degrees. Owned by the index: never modify it.
	Geometry orb.Geometry
	Bound    orb.Bound

	Category, Kind, Status, Subdistrict string
	Capacity                            int64

	// Name, Address and ExternalID feed the search box.
	Name, Address, ExternalID string

	// Props are all the feature's attribute values, in the layer's field order (the
	// vector tiles read them), their texts as references into json: read them with
	// EachProp.
	Props layers.Packed

	// json is the GeoJSON Feature without the closing "}}" of its properties, so a
	// response can append "distance_m" without re-encoding anything.
	json string
}

// newRecord builds the Record of f. f.Props must be canonical (as a store returns
// them or as layers.Layer.Normalize produces them); the geometry is cloned so the
// caller may keep using f.
func newRecord(reg *layers.Registry, l *layers.Layer, f feature.Feature) (*Record, error) {
	if f.Geometry == nil {
		return nil, fmt.Errorf("index: %s id %d: no geometry", l.Name, f.ID)
	}
	g := orb.Clone(f.Geometry)
	r := &Record{
		Layer: l.Name, ID: f.ID, Version: f.Version, Geometry: g, Bound: g.Bound(),
		Grade: -1, Warning: -1, Open: -1, Capacity: -1,
	}
	if !f.UpdatedAt.IsZero() {
		r.updated = f.UpdatedAt.UnixNano()
	}
	if p, ok := g.(orb.Point); ok {
		r.isPoint = true
		r.merc[0], r.merc[1] = Mercator(p)
	} else {
		_, r.merc[0] = Mercator(orb.Point{0, r.Bound.Max[1]})
		_, r.merc[1] = Mercator(orb.Point{0, r.Bound.Min[1]})
	}
	for i, rl := range reg.Layers() {
		if rl.Name == l.Name {
			r.rank = int8(i)
		}
	}
	str := func(name string) string {
		s, _ := f.Props[name].(string)
		return s
	}
	if v := str("risk_grade"); v != "" {
		r.Grade = int8(reg.RiskGrades().Rank(v))
	}
	if v := str("warning_level"); v != "" {
		r.Warning = int8(reg.WarningLevels().Rank(v))
	}
	if b, ok := f.Props["open"].(bool); ok {
		r.Open = 0
		if b {
			r.Open = 1
		}
	}
	if c, ok := f.Props["capacity"].(int64); ok {
		r.Capacity = c
	}
	// Enum codes share the registry's strings instead of one copy per record.
	code := func(field string) string {
		v := str(field)
		if fd, ok := l.Field(field); ok && fd.Enum != nil {
			if c, ok := fd.Enum.Choice(v); ok {
				return c.Code
			}
		}
		return v
	}
	r.Category, r.Kind, r.Status, r.Subdistrict = code("category"), code("kind"), code("hazard_status"), code("subdistrict")
	prefix, textAt, err := encodePrefix(l, f, g)
	if err != nil {
		return nil, fmt.Errorf("index: %s id %d: %w", l.Name, f.ID, err)
	}
	r.json = string(prefix) // one copy, no spare capacity
	// Texts that appear verbatim in the JSON are stored there only.
	packed, err := l.PackRefs(f.Props, func(i int) (int, bool) { return textAt[i], textAt[i] > 0 })
	if err != nil {
		return nil, fmt.Errorf("index: %s id %d: %w", l.Name, f.ID, err)
	}
	r.Props = packed
	nSummary := 0
	for _, fd := range l.Fields {
		if fd.Summary {
			nSummary++
		}
	}
	j := 0
	// The search texts are slices of the JSON: no second copy of them.
	r.EachProp(func(i int, v layers.PackedValue) bool {
		switch l.Fields[i].Name {
		case "name":
			r.Name = v.Text
		case "address":
			r.Address = v.Text
		case "external_id":
			r.ExternalID = v.Text
		}
		if l.Fields[i].Summary {
			if j < len(r.codes) {
				r.codes[j] = summaryCode(v)
			}
			j++
		}
		return true
	})
	if j != nSummary {
		return nil, fmt.Errorf("index: %s id %d: packed properties end early", l.Name, f.ID)
	}
	if nSummary <= MaxSummaryCodes {
		r.nCodes = uint8(nSummary)
	}
	return r, nil
}

// MaxSummaryCodes is the most Summary fields a layer may have for its records to
// carry their codes (see SummaryCodes).
const MaxSummaryCodes = 8

// Codes of Summary values (see SummaryCodes).
const (
	// CodeNull is a null value.
	CodeNull uint32 = 0
	// CodeProp is a value to read with Record.Prop.
	CodeProp uint32 = math.MaxUint32
)

// summaryCode is the code of v before interning: texts are CodeProp until the
// layer's text table numbers them (see textTable).
func summaryCode(v layers.PackedValue) uint32 {
	switch v.Kind {
	case layers.PackedNull:
		return CodeNull
	case layers.PackedEnum:
		return 1 + uint32(v.Rank)
	case layers.PackedFalse:
		return 1
	case layers.PackedTrue:
		return 2
	}
	return CodeProp
}

// SummaryCodes returns, for each Summary field of the record's layer in field order,
// a code of its value, so that a vector tile needs neither to decode Props nor to
// compare texts:
//
//   - CodeNull for null;
//   - for an enum, 1 + the rank of its code in Field.Enum;
//   - for a boolean, 1 for false and 2 for true;
//   - for a text or date of a field that is not Unique, 1 + a number of the text in
//     the layer's table of such texts (shared by its fields): among the records one
//     Visit reports, equal numbers mean equal texts and different numbers different
//     ones (a number may be given to another text once no record holds it);
//   - CodeProp for any other value (numbers, texts of unique fields): read it with
//     Prop.
//
// It returns nil when the layer has more than MaxSummaryCodes Summary fields. The
// slice is the record's own: do not modify it.
func (r *Record) SummaryCodes() []uint32 { return r.codes[:r.nCodes] }

// Prop returns the value of field i (an index into the layer's Fields); ok is false
// when i is out of range.
func (r *Record) Prop(i int) (layers.PackedValue, bool) { return r.Props.FieldIn(r.json, i) }

// MercatorPoint returns the position of a Point feature in Web Mercator scaled to the
// world square [0, 1]² (x east, y south, as Mercator computes it); ok is false for
// other geometries.
func (r *Record) MercatorPoint() (x, y float64, ok bool) {
	return r.merc[0], r.merc[1], r.isPoint
}

// MercatorBound returns the record's Bound in Web Mercator scaled to the world
// square (see Mercator): the corners Mercator gives for (Bound.Min[0], Bound.Max[1])
// and (Bound.Max[0], Bound.Min[1]), computed without a logarithm.
func (r *Record) MercatorBound() (minX, minY, maxX, maxY float64) {
	if r.isPoint {
		return r.merc[0], r.merc[1], r.merc[0], r.merc[1]
	}
	return (r.Bound.Min[0] + 180) / 360, r.merc[0], (r.Bound.Max[0] + 180) / 360, r.merc[1]
}

// MaxMercatorLat is the latitude, in degrees, where the square Web Mercator world
// ends; Mercator clamps latitudes to ±MaxMercatorLat.
const MaxMercatorLat = 85.05112877980659

// Mercator returns p (lon/lat degrees) in Web Mercator scaled to the world square
// [0, 1]²: x from 0 at 180° W, y from 0 at MaxMercatorLat N. Tile coordinates at a
// zoom are these times the world's size in tile units (a power of two, so exact).
func Mercator(p orb.Point) (x, y float64) {
	lat := math.Max(-MaxMercatorLat, math.Min(MaxMercatorLat, p[1]))
	x = (p[0] + 180) / 360
	s := math.Sin(lat * math.Pi / 180)
	y = 0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)
	return x, y
}

// EachProp calls fn with every field's value in the layer's field order (see
// layers.Packed.EachIn); texts are slices of the record's own memory.
func (r *Record) EachProp(fn func(i int, v layers.PackedValue) bool) { r.Props.EachIn(r.json, fn) }

// encodePrefix writes {"type":"Feature","id":ID,"geometry":...,"properties":{"layer":..,
// "id":..,"version":.., every registry field in order — without the closing braces.
// textAt[i] is the offset of field i's text in the result when the text appears there
// verbatim (its JSON string needs no escape), else 0.
func encodePrefix(l *layers.Layer, f feature.Feature, g orb.Geometry) ([]byte, []int, error) {
	textAt := make([]int, len(l.Fields))
	b, err := l.AppendFeaturePrefix(make([]byte, 0, 512), f.ID, f.Version, g, f.Props, textAt)
	return b, textAt, err
}

// AppendGeoJSON appends the record as a GeoJSON Feature. With withDistance, the
// property distance_m (meters, rounded to the millimetre) is added.
func (r *Record) AppendGeoJSON(b []byte, distance float64, withDistance bool) []byte {
	b = append(b, r.json...)
	if withDistance {
		b = append(b, `,"distance_m":`...)
		b = strconv.AppendFloat(b, math.Round(distance*1000)/1000, 'f', -1, 64)
	}
	return append(b, "}}"...)
}

// UpdatedAt returns when the feature was last written, as the store reported it
// (UTC), or the zero time when the feature came without one.
func (r *Record) UpdatedAt() time.Time {
	if r.updated == 0 {
		return time.Time{}
	}
	return time.Unix(0, r.updated).UTC()
}

// JSONSize is about the length of the record's GeoJSON, for sizing buffers.
func (r *Record) JSONSize() int { return len(r.json) + 32 }

// GeoJSON returns the record as a GeoJSON Feature.
func (r *Record) GeoJSON() []byte { return r.AppendGeoJSON(nil, 0, false) }

// Size is an estimate of the bytes the record holds (struct, strings, JSON,
// geometry), for the scale figures in docs/benchmarks.md.
func (r *Record) Size() int {
	n := 240 + len(r.Category) + len(r.Kind) + len(r.Status) + len(r.Subdistrict) +
		len(r.Props) + len(r.json)
	switch g := r.Geometry.(type) {
	case orb.Point:
	case orb.LineString:
		n += 16 * len(g)
	case orb.Polygon:
		for _, ring := range g {
			n += 24 + 16*len(ring)
		}
	default:
		n += 16 * 64 // rough: multi-geometries are rare
	}
	return n
}
