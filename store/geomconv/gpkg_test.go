package geomconv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/paulmach/orb"
)

func TestGPKGRoundTrip(t *testing.T) {
	for _, g := range []orb.Geometry{
		orb.Point{114.1185, 22.5455},
		orb.LineString{{114.1, 22.5}, {114.2, 22.6}, {114.25, 22.61}},
		orb.MultiLineString{{{114.1, 22.5}, {114.2, 22.6}}, {{114.3, 22.5}, {114.31, 22.52}}},
		orb.Polygon{{{114, 22}, {115, 22}, {115, 23}, {114, 22}}},
		orb.MultiPolygon{{{{114, 22}, {115, 22}, {115, 23}, {114, 22}}}, {{{116, 22}, {117, 22}, {117, 23}, {116, 22}}}},
	} {
		b, err := EncodeGPKG(g)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeGPKG(b)
		if err != nil {
			t.Fatalf("%s: %v", g.GeoJSONType(), err)
		}
		if !orb.Equal(got, g) {
			t.Errorf("%s: round trip gave %v", g.GeoJSONType(), got)
		}
	}
}

// TestGPKGKnownBytes: a point as GDAL writes it (ogr2ogr -f GPKG, little-endian, no
// envelope) and a big-endian header with an xy envelope, written by hand from the
// specification.
func TestGPKGKnownBytes(t *testing.T) {
	for _, tc := range []struct {
		name, hex string
		want      orb.Geometry
	}{
		{"GDAL point", "47500001e6100000" + "0101000000" + "3d0ad7a3708d5c40" + "5c8fc2f5288c3640", orb.Point{114.21, 22.5475}},
		{"big-endian header, envelope", "47500002000010e6" + "3ff0000000000000" + "4000000000000000" + "3ff0000000000000" + "4000000000000000" +
			"0000000002" + "00000002" + "3ff0000000000000" + "3ff0000000000000" + "4000000000000000" + "4000000000000000",
			orb.LineString{{1, 1}, {2, 2}}},
	} {
		b, err := hex.DecodeString(tc.hex)
		if err != nil {
			t.Fatal(err)
		}
		g, err := DecodeGPKG(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !orb.Equal(g, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, g, tc.want)
		}
	}
	b, _ := EncodeGPKG(orb.Point{114.21, 22.5475})
	if want, _ := hex.DecodeString("47500001e6100000" + "0101000000" + "3d0ad7a3708d5c40" + "5c8fc2f5288c3640"); !bytes.Equal(b, want) {
		t.Errorf("point encodes as %x, want %x", b, want)
	}
}

func TestGPKGRefused(t *testing.T) {
	valid, _ := EncodeGPKG(orb.Point{1, 2})
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", valid[:5], ErrMalformed},
		{"no magic", append([]byte("XP"), valid[2:]...), ErrMalformed},
		{"empty flag", func() []byte { b := bytes.Clone(valid); b[3] |= 0x10; return b }(), ErrUnsupported},
		{"extended", func() []byte { b := bytes.Clone(valid); b[3] |= 0x20; return b }(), ErrUnsupported},
		{"bad envelope", func() []byte { b := bytes.Clone(valid); b[3] |= 0x0e; return b }(), ErrMalformed},
		{"truncated WKB", valid[:len(valid)-3], ErrMalformed},
	} {
		if _, err := DecodeGPKG(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	b := bytes.Clone(valid)
	b[4] = 0x11 // SRS 4369
	if _, err := DecodeGPKG(b); err == nil {
		t.Error("SRS 4369 accepted")
	}
}

// FuzzDecodeGPKG: no input makes the decoder panic or return a geometry without an
// error that does not round-trip.
func FuzzDecodeGPKG(f *testing.F) {
	for _, g := range []orb.Geometry{orb.Point{1, 2}, orb.LineString{{1, 1}, {2, 2}}, orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}} {
		b, _ := EncodeGPKG(g)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeGPKG(b)
		if err != nil {
			return
		}
		again, err := EncodeGPKG(g)
		if err != nil {
			return // decodable but not storable (e.g. an unsupported type)
		}
		if g2, err := DecodeGPKG(again); err != nil || !orb.Equal(g, g2) {
			t.Fatalf("re-encoded geometry does not decode to itself: %v", err)
		}
	})
}
