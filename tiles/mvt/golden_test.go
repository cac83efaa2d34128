package mvt

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenTiles builds the small tiles pinned in testdata/*.mvt.
func goldenTiles() map[string][]byte {
	out := map[string][]byte{}

	pl := NewLayer("sites", 4096, []string{"name", "level", "score", "active", "ratio"})
	levels := []string{"low", "medium", "high"}
	for i := range 5 {
		pl.BeginFeature(uint64(100+i), true)
		pl.Tag(0, pl.AddValue(String([]string{"Alpha", "Bravo", "", "深圳", "Echo"}[i])))
		pl.Tag(1, pl.Value(String(levels[i%3])))
		pl.Tag(2, pl.Value(Int(int64(i*7-10))))
		pl.Tag(3, pl.Value(Bool(i%2 == 0)))
		pl.Tag(4, pl.Value(Double(float64(i)/4)))
		pl.Point(int32(i*900), int32(4096-i*1000))
		pl.EndFeature()
	}
	pl.BeginFeature(0, false)
	pl.MultiPoint([][2]int32{{-64, -64}, {4160, 4160}})
	pl.EndFeature()
	out["points"] = pl.AppendTile(nil)

	sl := NewLayer("shapes", 4096, []string{"kind"})
	sl.BeginFeature(1, true)
	sl.Tag(0, sl.Value(String("river")))
	sl.LineStrings([][][2]int32{{{0, 0}, {100, 50}, {100, 50}, {200, 0}}, {{300, 300}, {-20, 4200}}})
	sl.EndFeature()
	sl.BeginFeature(2, true)
	sl.Tag(0, sl.Value(String("zone")))
	sl.Polygons([][][][2]int32{
		{{{0, 0}, {1000, 0}, {1000, 1000}, {0, 1000}, {0, 0}}, {{200, 200}, {200, 800}, {800, 800}, {800, 200}}},
		{{{2000, 2000}, {3000, 2500}, {2000, 3000}}},
	})
	sl.EndFeature()
	out["shapes"] = sl.AppendTile(nil)

	out["composite"] = sl.AppendTile(pl.AppendTile(nil))
	return out
}

func TestGolden(t *testing.T) {
	for name, got := range goldenTiles() {
		path := filepath.Join("testdata", name+".mvt")
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: encoding changed (%d bytes, golden %d); if intended, run go test -update", path, len(got), len(want))
		}
		if _, err := decodeTile(got); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	// Same input, same bytes.
	a, b := goldenTiles(), goldenTiles()
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s: two encodings differ", name)
		}
	}
}

// firstGeometry returns the packed geometry of the first feature of the first
// layer, read with protowire alone.
func firstGeometry(t *testing.T, tile []byte) []uint32 {
	t.Helper()
	var layer, feature []byte
	for b := tile; len(b) > 0 && layer == nil; {
		num, _, n := protowire.ConsumeField(b)
		if num == 3 {
			_, _, tn := protowire.ConsumeTag(b)
			layer, _ = protowire.ConsumeBytes(b[tn:])
		}
		b = b[n:]
	}
	for b := layer; len(b) > 0 && feature == nil; {
		num, _, n := protowire.ConsumeField(b)
		if num == 2 {
			_, _, tn := protowire.ConsumeTag(b)
			feature, _ = protowire.ConsumeBytes(b[tn:])
		}
		b = b[n:]
	}
	for b := feature; len(b) > 0; {
		num, _, n := protowire.ConsumeField(b)
		if num == 4 {
			_, _, tn := protowire.ConsumeTag(b)
			g, _ := protowire.ConsumeBytes(b[tn:])
			out, err := packed(g)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		b = b[n:]
	}
	t.Fatal("no geometry")
	return nil
}

// TestSpecExamples checks the geometry encodings given in section 4.3.5 of
// the MVT 2.1 specification.
func TestSpecExamples(t *testing.T) {
	cases := []struct {
		name  string
		write func(l *Layer)
		want  []uint32
	}{
		{"4.3.5.1 point", func(l *Layer) { l.Point(25, 17) }, []uint32{9, 50, 34}},
		{"4.3.5.2 multipoint", func(l *Layer) { l.MultiPoint([][2]int32{{5, 7}, {3, 2}}) }, []uint32{17, 10, 14, 3, 9}},
		{"4.3.5.3 linestring", func(l *Layer) {
			l.LineStrings([][][2]int32{{{2, 2}, {2, 10}, {10, 10}}})
		}, []uint32{9, 4, 4, 18, 0, 16, 16, 0}},
		{"4.3.5.4 multilinestring", func(l *Layer) {
			l.LineStrings([][][2]int32{{{2, 2}, {2, 10}, {10, 10}}, {{1, 1}, {3, 5}}})
		}, []uint32{9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8}},
		{"4.3.5.5 polygon", func(l *Layer) {
			l.Polygons([][][][2]int32{{{{3, 6}, {8, 12}, {20, 34}}}})
		}, []uint32{9, 6, 12, 18, 10, 12, 24, 44, 15}},
		{"4.3.5.6 multipolygon", func(l *Layer) {
			l.Polygons([][][][2]int32{
				{{{0, 0}, {10, 0}, {10, 10}, {0, 10}}},
				{{{11, 11}, {20, 11}, {20, 20}, {11, 20}}, {{13, 13}, {13, 17}, {17, 17}, {17, 13}}},
			})
		}, []uint32{9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15, 9, 22, 2, 26, 18, 0, 0, 18, 17, 0, 15, 9, 4, 13, 26, 0, 8, 8, 0, 0, 7, 15}},
	}
	for _, tc := range cases {
		l := NewLayer("spec", 4096, nil)
		l.BeginFeature(0, false)
		tc.write(l)
		l.EndFeature()
		if got := firstGeometry(t, l.AppendTile(nil)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: geometry %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestExactBytes pins a whole minimal tile, written out by hand from the
// proto definition.
func TestExactBytes(t *testing.T) {
	l := NewLayer("a", 4096, []string{"k"})
	l.BeginFeature(1, true)
	l.Tag(0, l.AddValue(Int(-1)))
	l.Point(1, 1)
	l.EndFeature()
	got := l.AppendTile(nil)
	want := []byte{
		0x1a, 30, // Tile.layers, 30 bytes
		0x0a, 1, 'a', // name
		0x12, 13, // feature, 13 bytes
		0x08, 1, // id 1
		0x12, 2, 0, 0, // tags [0 0]
		0x18, 1, // type POINT
		0x22, 3, 9, 2, 2, // geometry MoveTo(1) +1 +1
		0x1a, 1, 'k', // key
		0x22, 2, 0x30, 1, // value {sint_value: -1}
		0x28, 0x80, 0x20, // extent 4096
		0x78, 2, // version 2
	}
	if !bytes.Equal(got, want) {
		t.Errorf("got  % x\nwant % x", got, want)
	}
}
