package geomconv

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/wkb"
)

// GeoPackage binary geometry (OGC GeoPackage 1.3, clause 2.1.3): a header — the magic
// "GP", version 0, a flags byte, the SRS id and an optional envelope — followed by
// standard WKB.
const (
	gpkgMagic0, gpkgMagic1 = 'G', 'P'
	gpkgFlagLittleEndian   = 0x01
	gpkgFlagEmpty          = 0x10
	gpkgFlagExtended       = 0x20
	gpkgEnvelopeShift      = 1
	gpkgEnvelopeMask       = 0x07
)

// gpkgEnvelopeSizes is the envelope's size in bytes by its indicator (0 none, 1 xy,
// 2 xyz, 3 xym, 4 xyzm); 5–7 are invalid.
var gpkgEnvelopeSizes = [...]int{0, 32, 48, 48, 64}

// EncodeGPKG encodes g as a GeoPackage binary geometry: little-endian, SRS 4326, an
// [minx, maxx, miny, maxy] envelope for everything but points (which need none), and
// little-endian WKB.
func EncodeGPKG(g orb.Geometry) ([]byte, error) {
	t, err := FromOrb(g)
	if err != nil {
		return nil, err
	}
	_, isPoint := g.(orb.Point)
	env := 1
	if isPoint {
		env = 0
	}
	b := make([]byte, 8, 8+gpkgEnvelopeSizes[env]+64)
	b[0], b[1], b[2] = gpkgMagic0, gpkgMagic1, 0
	b[3] = gpkgFlagLittleEndian | byte(env<<gpkgEnvelopeShift)
	binary.LittleEndian.PutUint32(b[4:], SRID)
	if env == 1 {
		bd := g.Bound()
		for _, v := range []float64{bd.Min[0], bd.Max[0], bd.Min[1], bd.Max[1]} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	w, err := encodeWKB(t)
	if err != nil {
		return nil, err
	}
	return append(b, w...), nil
}

// DecodeGPKG decodes a GeoPackage binary geometry (as riskmap, GDAL or QGIS write it)
// into an orb geometry. The SRS must be 4326 (or 0, "undefined geographic"); empty
// geometries and the extended (non-standard) types are refused; the WKB is checked
// against hostile counts like DecodeEWKB's.
func DecodeGPKG(b []byte) (orb.Geometry, error) {
	if len(b) < 8 || b[0] != gpkgMagic0 || b[1] != gpkgMagic1 {
		return nil, fmt.Errorf("decode GeoPackage geometry: %w: no GP header", ErrMalformed)
	}
	if b[2] != 0 {
		return nil, fmt.Errorf("decode GeoPackage geometry: %w: version %d, want 0", ErrMalformed, b[2])
	}
	flags := b[3]
	if flags&gpkgFlagExtended != 0 {
		return nil, fmt.Errorf("decode GeoPackage geometry: %w: extended geometry type", ErrUnsupported)
	}
	if flags&gpkgFlagEmpty != 0 {
		return nil, fmt.Errorf("decode GeoPackage geometry: %w: empty geometry", ErrUnsupported)
	}
	var order binary.ByteOrder = binary.BigEndian
	if flags&gpkgFlagLittleEndian != 0 {
		order = binary.LittleEndian
	}
	env := int(flags>>gpkgEnvelopeShift) & gpkgEnvelopeMask
	if env >= len(gpkgEnvelopeSizes) {
		return nil, fmt.Errorf("decode GeoPackage geometry: %w: envelope indicator %d", ErrMalformed, env)
	}
	if srs := int32(order.Uint32(b[4:])); srs != SRID && srs != 0 {
		return nil, fmt.Errorf("decode GeoPackage geometry: SRS %d, want %d", srs, SRID)
	}
	start := 8 + gpkgEnvelopeSizes[env]
	if len(b) < start {
		return nil, fmt.Errorf("decode GeoPackage geometry: %w: truncated envelope", ErrMalformed)
	}
	g, err := DecodeEWKB(b[start:])
	if err != nil {
		return nil, fmt.Errorf("decode GeoPackage geometry: %w", err)
	}
	return g, nil
}

// encodeWKB writes t as little-endian OGC WKB (no SRID: GeoPackage keeps it in the
// header).
func encodeWKB(t geom.T) ([]byte, error) {
	b, err := wkb.Marshal(t, binary.LittleEndian)
	if err != nil {
		return nil, fmt.Errorf("encode WKB: %w", err)
	}
	return b, nil
}
