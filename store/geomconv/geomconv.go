// Package geomconv moves geometry across the store boundary: (E)WKB bytes, decoded
// and encoded with go-geom, converted to and from orb types, which are what the rest
// of riskmap uses. Geometry crosses here once per row and nowhere else.
//
// Coordinates are 2D longitude/latitude degrees, SRID 4326. Z and M values, when a
// source has them, are dropped. Decoding limits the number of elements so a hostile
// blob cannot make the process allocate without bound.
package geomconv

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/ewkb"
)

// SRID is the spatial reference of every stored geometry: WGS84 lon/lat (EPSG:4326).
const SRID = 4326

// MaxPoints is the most coordinates one decoded geometry may hold.
const MaxPoints = 1 << 20

// ErrUnsupported is returned for geometry types riskmap does not store
// (GeometryCollection, curves, ...).
var ErrUnsupported = errors.New("unsupported geometry type")

// ErrTooLarge is returned for a geometry with more than MaxPoints coordinates.
var ErrTooLarge = errors.New("geometry too large")

// DecodeEWKB decodes EWKB or plain WKB (as PostGIS ST_AsEWKB writes it) into an orb
// geometry. The SRID, if present, must be 0 or 4326.
func DecodeEWKB(b []byte) (orb.Geometry, error) {
	// Counts inside WKB are untrusted: go-geom allocates what a count says before
	// reading, so check every count against the bytes really there first.
	if err := checkSizes(b); err != nil {
		return nil, fmt.Errorf("decode EWKB: %w", err)
	}
	g, err := ewkb.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("decode EWKB: %w", err)
	}
	if srid := g.SRID(); srid != 0 && srid != SRID {
		return nil, fmt.Errorf("decode EWKB: SRID %d, want %d", srid, SRID)
	}
	return ToOrb(g)
}

// EncodeEWKB encodes g as little-endian EWKB with SRID 4326, the form
// ST_GeomFromEWKB reads.
func EncodeEWKB(g orb.Geometry) ([]byte, error) {
	t, err := FromOrb(g)
	if err != nil {
		return nil, err
	}
	b, err := ewkb.Marshal(t, binary.LittleEndian)
	if err != nil {
		return nil, fmt.Errorf("encode EWKB: %w", err)
	}
	return b, nil
}

// ToOrb converts a go-geom geometry to orb, keeping x and y only.
func ToOrb(g geom.T) (orb.Geometry, error) {
	if _, ok := g.(*geom.GeometryCollection); ok {
		return nil, fmt.Errorf("%w: GeometryCollection", ErrUnsupported)
	}
	if n := len(g.FlatCoords()) / max(g.Stride(), 1); n > MaxPoints {
		return nil, fmt.Errorf("%w: %d points, the limit is %d", ErrTooLarge, n, MaxPoints)
	}
	switch v := g.(type) {
	case *geom.Point:
		if v.Empty() {
			return nil, fmt.Errorf("%w: empty point", ErrUnsupported)
		}
		return orb.Point{v.X(), v.Y()}, nil
	case *geom.LineString:
		return lineString(v.FlatCoords(), v.Stride()), nil
	case *geom.Polygon:
		return polygon(v), nil
	case *geom.MultiPoint:
		out := make(orb.MultiPoint, v.NumPoints())
		for i := range out {
			p := v.Point(i)
			out[i] = orb.Point{p.X(), p.Y()}
		}
		return out, nil
	case *geom.MultiLineString:
		out := make(orb.MultiLineString, v.NumLineStrings())
		for i := range out {
			ls := v.LineString(i)
			out[i] = lineString(ls.FlatCoords(), ls.Stride())
		}
		return out, nil
	case *geom.MultiPolygon:
		out := make(orb.MultiPolygon, v.NumPolygons())
		for i := range out {
			out[i] = polygon(v.Polygon(i))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupported, g)
}

func lineString(flat []float64, stride int) orb.LineString {
	out := make(orb.LineString, len(flat)/stride)
	for i := range out {
		out[i] = orb.Point{flat[i*stride], flat[i*stride+1]}
	}
	return out
}

func polygon(p *geom.Polygon) orb.Polygon {
	out := make(orb.Polygon, p.NumLinearRings())
	for i := range out {
		r := p.LinearRing(i)
		out[i] = orb.Ring(lineString(r.FlatCoords(), r.Stride()))
	}
	return out
}

// FromOrb converts an orb geometry to go-geom (XY layout, SRID 4326).
func FromOrb(g orb.Geometry) (geom.T, error) {
	switch v := g.(type) {
	case orb.Point:
		return geom.NewPointFlat(geom.XY, []float64{v[0], v[1]}).SetSRID(SRID), nil
	case orb.LineString:
		return geom.NewLineStringFlat(geom.XY, flat(v)).SetSRID(SRID), nil
	case orb.Polygon:
		flatCoords, ends := polygonFlat(v, nil, nil)
		return geom.NewPolygonFlat(geom.XY, flatCoords, ends).SetSRID(SRID), nil
	case orb.MultiPoint:
		return geom.NewMultiPointFlat(geom.XY, flat(v)).SetSRID(SRID), nil
	case orb.MultiLineString:
		var coords []float64
		var ends []int
		for _, ls := range v {
			coords = append(coords, flat(ls)...)
			ends = append(ends, len(coords))
		}
		return geom.NewMultiLineStringFlat(geom.XY, coords, ends).SetSRID(SRID), nil
	case orb.MultiPolygon:
		var coords []float64
		var endss [][]int
		for _, p := range v {
			var ends []int
			coords, ends = polygonFlat(p, coords, nil)
			endss = append(endss, ends)
		}
		return geom.NewMultiPolygonFlat(geom.XY, coords, endss).SetSRID(SRID), nil
	case nil:
		return nil, fmt.Errorf("%w: no geometry", ErrUnsupported)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, g.GeoJSONType())
}

func flat(ps []orb.Point) []float64 {
	out := make([]float64, 0, 2*len(ps))
	for _, p := range ps {
		out = append(out, p[0], p[1])
	}
	return out
}

// polygonFlat appends p's rings to coords and returns the ring end offsets, which
// go-geom counts from the start of coords.
func polygonFlat(p orb.Polygon, coords []float64, ends []int) ([]float64, []int) {
	for _, r := range p {
		coords = append(coords, flat(r)...)
		ends = append(ends, len(coords))
	}
	return coords, ends
}
