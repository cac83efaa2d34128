package geomconv

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/paulmach/orb"
)

func TestRoundTrip(t *testing.T) {
	square := orb.Ring{{114.1, 22.5}, {114.2, 22.5}, {114.2, 22.6}, {114.1, 22.6}, {114.1, 22.5}}
	hole := orb.Ring{{114.12, 22.52}, {114.12, 22.55}, {114.15, 22.55}, {114.12, 22.52}}
	tests := []struct {
		name string
		g    orb.Geometry
	}{
		{"point", orb.Point{114.118, 22.548}},
		{"linestring", orb.LineString{{114.1, 22.5}, {114.11, 22.51}, {114.13, 22.5}}},
		{"polygon with hole", orb.Polygon{square, hole}},
		{"multilinestring", orb.MultiLineString{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}, {9, 10}}}},
		{"multipolygon", orb.MultiPolygon{{square}, {square, hole}}},
		{"multipoint", orb.MultiPoint{{1, 2}, {3, 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeEWKB(tt.g)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeEWKB(b)
			if err != nil {
				t.Fatal(err)
			}
			if !orb.Equal(got, tt.g) {
				t.Fatalf("round trip changed geometry:\n got %v\nwant %v", got, tt.g)
			}
		})
	}
}

// PostGIS output, from: SELECT ST_AsEWKB('SRID=4326;POINT(114.1 22.5)'::geometry) and
// SELECT ST_AsEWKB('SRID=4326;LINESTRING Z(1 2 3,4 5 6)'::geometry).
func TestDecodePostGISBytes(t *testing.T) {
	tests := []struct {
		hex  string
		want orb.Geometry
	}{
		{"0101000020e61000006666666666865c400000000000803640", orb.Point{114.1, 22.5}},
		{"01020000a0e610000002000000000000000000f03f00000000000000400000000000000840000000000000104000000000000014400000000000001840",
			orb.LineString{{1, 2}, {4, 5}}},
	}
	for _, tt := range tests {
		b, err := hex.DecodeString(tt.hex)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeEWKB(b)
		if err != nil {
			t.Fatal(err)
		}
		if !orb.Equal(got, tt.want) {
			t.Errorf("got %v, want %v", got, tt.want)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	point, _ := EncodeEWKB(orb.Point{1, 2})
	// A LineString that claims 2^31 points but carries none.
	huge := []byte{1}
	huge = binary.LittleEndian.AppendUint32(huge, 2)
	huge = binary.LittleEndian.AppendUint32(huge, 1<<31)
	otherSRID := append([]byte(nil), point...)
	binary.LittleEndian.PutUint32(otherSRID[5:], 3857)
	collection := []byte{1}
	collection = binary.LittleEndian.AppendUint32(collection, 7)
	collection = binary.LittleEndian.AppendUint32(collection, 0)

	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"bad byte order", []byte{7, 1, 0, 0, 0}, ErrMalformed},
		{"truncated point", point[:len(point)-3], ErrMalformed},
		{"trailing bytes", append(append([]byte(nil), point...), 0), ErrMalformed},
		{"count larger than data", huge, ErrMalformed},
		{"geometry collection", collection, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEWKB(tt.b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := DecodeEWKB(otherSRID); err == nil {
		t.Fatal("SRID 3857 accepted")
	}
}

func FuzzDecodeEWKB(f *testing.F) {
	for _, g := range []orb.Geometry{
		orb.Point{1, 2},
		orb.LineString{{1, 2}, {3, 4}},
		orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
		orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}},
	} {
		b, err := EncodeEWKB(g)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeEWKB(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode back to itself.
		again, err := EncodeEWKB(g)
		if err != nil {
			t.Fatalf("decoded %v but cannot encode it: %v", g, err)
		}
		g2, err := DecodeEWKB(again)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !orb.Equal(g, g2) {
			t.Fatalf("round trip changed %v to %v", g, g2)
		}
	})
}
