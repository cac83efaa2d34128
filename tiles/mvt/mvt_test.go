package mvt

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
)

var testKeys = []string{"name", "kind", "n", "x", "ok"}

// kv is a resolved tag: key name and value.
type kv struct {
	K string
	V Value
}

type wantFeature struct {
	ID    uint64
	HasID bool
	Type  int
	Tags  []kv
	Parts []part
}

// pts is shorthand for a point list.
func pts(xy ...int32) [][2]int32 {
	out := make([][2]int32, 0, len(xy)/2)
	for i := 0; i+1 < len(xy); i += 2 {
		out = append(out, [2]int32{xy[i], xy[i+1]})
	}
	return out
}

func ring(xy ...int32) part { return part{Pts: pts(xy...), Closed: true} }
func line(xy ...int32) part { return part{Pts: pts(xy...)} }

// sameValue compares values by the field Kind selects, doubles by bit pattern.
func sameValue(a, b Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindString:
		return a.S == b.S
	case KindInt:
		return a.I == b.I
	case KindDouble:
		return math.Float64bits(a.F) == math.Float64bits(b.F)
	case KindBool:
		return a.B == b.B
	}
	return false
}

// checkLayer compares a decoded layer with the expectation.
func checkLayer(t *testing.T, got decLayer, name string, extent uint32, keys []string, want []wantFeature) {
	t.Helper()
	if got.Name != name || got.Extent != extent || got.Version != 2 {
		t.Errorf("layer %q extent %d version %d, want %q %d 2", got.Name, got.Extent, got.Version, name, extent)
	}
	if !slices.Equal(got.Keys, keys) {
		t.Errorf("keys %q, want %q", got.Keys, keys)
	}
	if len(got.Features) != len(want) {
		t.Fatalf("%d features, want %d", len(got.Features), len(want))
	}
	for i, f := range got.Features {
		w := want[i]
		if f.HasID != w.HasID || f.ID != w.ID || f.Type != w.Type {
			t.Errorf("feature %d: id %d/%v type %d, want %d/%v %d", i, f.ID, f.HasID, f.Type, w.ID, w.HasID, w.Type)
		}
		var tags []kv
		for j := 0; j < len(f.Tags); j += 2 {
			tags = append(tags, kv{got.Keys[f.Tags[j]], got.Values[f.Tags[j+1]]})
		}
		if !slices.EqualFunc(tags, w.Tags, func(a, b kv) bool { return a.K == b.K && sameValue(a.V, b.V) }) {
			t.Errorf("feature %d: tags %v, want %v", i, tags, w.Tags)
		}
		if !reflect.DeepEqual(f.Parts, w.Parts) {
			t.Errorf("feature %d: geometry\n got %v\nwant %v", i, f.Parts, w.Parts)
		}
	}
}

// orbGeometry is the geometry orb's decoder should produce for parts.
func orbGeometry(typ int, parts []part) orb.Geometry {
	toLS := func(p [][2]int32) orb.LineString {
		ls := make(orb.LineString, len(p))
		for i, q := range p {
			ls[i] = orb.Point{float64(q[0]), float64(q[1])}
		}
		return ls
	}
	switch typ {
	case 1:
		mp := orb.MultiPoint(toLS(parts[0].Pts))
		if len(mp) == 1 {
			return mp[0]
		}
		return mp
	case 2:
		if len(parts) == 1 {
			return toLS(parts[0].Pts)
		}
		var mls orb.MultiLineString
		for _, p := range parts {
			mls = append(mls, toLS(p.Pts))
		}
		return mls
	case 3:
		var mp orb.MultiPolygon
		for i, p := range parts {
			r := orb.Ring(toLS(append(p.Pts, p.Pts[0])))
			if i == 0 || areaSign(p.Pts) > 0 {
				mp = append(mp, orb.Polygon{r})
			} else {
				mp[len(mp)-1] = append(mp[len(mp)-1], r)
			}
		}
		if len(mp) == 1 {
			return mp[0]
		}
		return mp
	}
	return nil
}

// orbValue is how orb's decoder represents a value.
func orbValue(v Value) any {
	switch v.Kind {
	case KindString:
		return v.S
	case KindInt:
		return float64(v.I)
	case KindDouble:
		return v.F
	case KindBool:
		return v.B
	}
	return nil
}

func sameAny(a, b any) bool {
	fa, oka := a.(float64)
	fb, okb := b.(float64)
	if oka && okb {
		return math.Float64bits(fa) == math.Float64bits(fb) || (math.IsNaN(fa) && math.IsNaN(fb))
	}
	return a == b
}

// checkOrb decodes data with orb's mvt.Unmarshal and compares layer i.
func checkOrbLayer(t *testing.T, l *mvt.Layer, name string, extent uint32, want []wantFeature) {
	t.Helper()
	if l.Name != name || l.Extent != extent || l.Version != 2 {
		t.Errorf("orb: layer %q extent %d version %d, want %q %d 2", l.Name, l.Extent, l.Version, name, extent)
	}
	if len(l.Features) != len(want) {
		t.Fatalf("orb: %d features, want %d", len(l.Features), len(want))
	}
	for i, f := range l.Features {
		w := want[i]
		var wantID any
		if w.HasID {
			wantID = float64(w.ID)
		}
		if f.ID != wantID {
			t.Errorf("orb: feature %d: id %v, want %v", i, f.ID, wantID)
		}
		wantProps := map[string]any{}
		for _, tag := range w.Tags {
			wantProps[tag.K] = orbValue(tag.V) // a repeated key: the last one wins, as in orb
		}
		if len(f.Properties) != len(wantProps) {
			t.Errorf("orb: feature %d: properties %v, want %v", i, f.Properties, wantProps)
		}
		for k, v := range wantProps {
			if !sameAny(f.Properties[k], v) {
				t.Errorf("orb: feature %d: property %q = %#v, want %#v", i, k, f.Properties[k], v)
			}
		}
		if g := orbGeometry(w.Type, w.Parts); !orb.Equal(f.Geometry, g) {
			t.Errorf("orb: feature %d: geometry\n got %v\nwant %v", i, f.Geometry, g)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	square := pts(0, 0, 100, 0, 100, 100, 0, 100)                      // exterior: positive area, clockwise on screen
	hole := pts(20, 20, 20, 80, 80, 80, 80, 20, 20, 20)                // interior, given with its closing point
	far := pts(-9000, -9000, 20000, -9000, 20000, 30000, -9000, 30000) // far outside a 4096 tile

	cases := []struct {
		name    string
		extent  uint32
		build   func(t *testing.T, l *Layer)
		want    []wantFeature
		nValues int // size of the value table; -1: not checked
	}{
		{
			name: "point",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(1, true)
				l.Tag(0, l.AddValue(String("a")))
				l.Point(10, 20)
				l.EndFeature()
			},
			want: []wantFeature{{ID: 1, HasID: true, Type: 1, Tags: []kv{{"name", String("a")}}, Parts: []part{line(10, 20)}}},
		},
		{
			name: "points share the cursor reset per feature",
			build: func(t *testing.T, l *Layer) {
				for i := range int32(3) {
					l.BeginFeature(uint64(i), true)
					l.Point(100+i, 200-i)
					l.EndFeature()
				}
			},
			want: []wantFeature{
				{ID: 0, HasID: true, Type: 1, Parts: []part{line(100, 200)}},
				{ID: 1, HasID: true, Type: 1, Parts: []part{line(101, 199)}},
				{ID: 2, HasID: true, Type: 1, Parts: []part{line(102, 198)}},
			},
		},
		{
			name: "multipoint keeps repeated points",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(7, true)
				l.MultiPoint(pts(0, 0, 5, 5, 5, 5, -3, 4100))
				l.EndFeature()
			},
			want: []wantFeature{{ID: 7, HasID: true, Type: 1, Parts: []part{line(0, 0, 5, 5, 5, 5, -3, 4100)}}},
		},
		{
			name: "line drops consecutive duplicates",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(2, true)
				l.LineStrings([][][2]int32{pts(0, 0, 0, 0, 10, 0, 10, 0, 10, 10, 0, 0)})
				l.EndFeature()
			},
			want: []wantFeature{{ID: 2, HasID: true, Type: 2, Parts: []part{line(0, 0, 10, 0, 10, 10, 0, 0)}}},
		},
		{
			name: "multiline skips degenerate lines",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(3, true)
				l.LineStrings([][][2]int32{
					pts(5, 5),             // one point
					pts(1, 2, 3, 4),       // kept
					nil,                   // empty
					pts(9, 9, 9, 9, 9, 9), // one distinct point
					pts(3, 4, -10, 50, 40, 60),
				})
				l.EndFeature()
			},
			want: []wantFeature{{ID: 3, HasID: true, Type: 2, Parts: []part{line(1, 2, 3, 4), line(3, 4, -10, 50, 40, 60)}}},
		},
		{
			name: "long line needs a two-byte command",
			build: func(t *testing.T, l *Layer) {
				var p [][2]int32
				for i := range int32(300) {
					p = append(p, [2]int32{i, i % 7})
				}
				l.BeginFeature(0, false)
				l.LineStrings([][][2]int32{p})
				l.EndFeature()
			},
			want: func() []wantFeature {
				var p part
				for i := range int32(300) {
					p.Pts = append(p.Pts, [2]int32{i, i % 7})
				}
				return []wantFeature{{Type: 2, Parts: []part{p}}}
			}(),
		},
		{
			name: "polygon with hole",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(4, true)
				l.Tag(1, l.Value(String("zone")))
				l.Polygons([][][][2]int32{{square, hole}})
				l.EndFeature()
			},
			want: []wantFeature{{ID: 4, HasID: true, Type: 3, Tags: []kv{{"kind", String("zone")}}, Parts: []part{
				ring(0, 0, 100, 0, 100, 100, 0, 100),
				ring(20, 20, 20, 80, 80, 80, 80, 20),
			}}},
		},
		{
			name: "multipolygon",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(5, true)
				l.Polygons([][][][2]int32{
					{pts(200, 200, 300, 200, 300, 300, 200, 300, 200, 300)}, // duplicate dropped
					{square, hole},
					{pts(400, 0, 500, 100, 400, 100)},
				})
				l.EndFeature()
			},
			want: []wantFeature{{ID: 5, HasID: true, Type: 3, Parts: []part{
				ring(200, 200, 300, 200, 300, 300, 200, 300),
				ring(0, 0, 100, 0, 100, 100, 0, 100),
				ring(20, 20, 20, 80, 80, 80, 80, 20),
				ring(400, 0, 500, 100, 400, 100),
			}}},
		},
		{
			name: "degenerate rings and polygons skipped",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(6, true)
				l.Polygons([][][][2]int32{
					{pts(0, 0, 10, 0), square},            // 2-point exterior: polygon skipped, its "hole" too
					{pts(0, 0, 10, 0, 20, 0, 0, 0), hole}, // collinear (zero-area) exterior: skipped
					{},                                    // no rings
					{square, pts(20, 20, 20, 80, 20, 20), hole},   // 2-point hole skipped, the rest kept
					{square, pts(30, 30, 30, 30, 30, 30, 30, 30)}, // 1-point hole skipped
					{pts(7, 7, 7, 7, 7, 7)},                       // 1-point exterior
				})
				l.EndFeature()
			},
			want: []wantFeature{{ID: 6, HasID: true, Type: 3, Parts: []part{
				ring(0, 0, 100, 0, 100, 100, 0, 100),
				ring(20, 20, 20, 80, 80, 80, 80, 20),
				ring(0, 0, 100, 0, 100, 100, 0, 100),
			}}},
		},
		{
			name: "empty geometry features discarded",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(10, true)
				l.Tag(0, l.AddValue(String("no geometry")))
				if l.EndFeature() {
					t.Error("feature without geometry kept")
				}
				l.BeginFeature(11, true)
				l.LineStrings([][][2]int32{pts(1, 1)}) // 1-point line
				if l.EndFeature() {
					t.Error("1-point line kept")
				}
				l.BeginFeature(12, true)
				l.Polygons([][][][2]int32{{pts(1, 1, 5, 5)}}) // 2-point ring
				if l.EndFeature() {
					t.Error("2-point ring kept")
				}
				l.BeginFeature(13, true)
				l.MultiPoint(nil)
				if l.EndFeature() {
					t.Error("empty multipoint kept")
				}
				l.BeginFeature(14, true)
				l.Tag(0, l.AddValue(String("kept")))
				l.Point(1, 1)
				if !l.EndFeature() {
					t.Error("point discarded")
				}
				if l.Len() != 1 {
					t.Errorf("Len() = %d, want 1", l.Len())
				}
			},
			want:    []wantFeature{{ID: 14, HasID: true, Type: 1, Tags: []kv{{"name", String("kept")}}, Parts: []part{line(1, 1)}}},
			nValues: 2, // the discarded feature's value stays, harmlessly
		},
		{
			name: "all value kinds",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(20, true)
				l.Tag(0, l.AddValue(String("")))
				l.Tag(1, l.AddValue(String("上海市浦东新区 洪水风险")))
				l.Tag(2, l.AddValue(Int(-42)))
				l.Tag(3, l.AddValue(Double(-3.25)))
				l.Tag(4, l.AddValue(Bool(true)))
				l.Point(0, 0)
				l.EndFeature()
				l.BeginFeature(21, true)
				l.Tag(2, l.AddValue(Int(math.MinInt64)))
				l.Tag(3, l.AddValue(Double(math.Inf(-1))))
				l.Tag(4, l.AddValue(Bool(false)))
				l.Point(1, 1)
				l.EndFeature()
				l.BeginFeature(22, true)
				l.Tag(2, l.AddValue(Int(math.MaxInt64)))
				l.Tag(3, l.AddValue(Double(math.NaN())))
				l.Point(2, 2)
				l.EndFeature()
				l.BeginFeature(23, true)
				l.Tag(2, l.AddValue(Int(0)))
				l.Tag(3, l.AddValue(Double(math.Copysign(0, -1))))
				l.Point(3, 3)
				l.EndFeature()
			},
			want: []wantFeature{
				{ID: 20, HasID: true, Type: 1, Parts: []part{line(0, 0)}, Tags: []kv{
					{"name", String("")}, {"kind", String("上海市浦东新区 洪水风险")}, {"n", Int(-42)}, {"x", Double(-3.25)}, {"ok", Bool(true)},
				}},
				{ID: 21, HasID: true, Type: 1, Parts: []part{line(1, 1)}, Tags: []kv{
					{"n", Int(math.MinInt64)}, {"x", Double(math.Inf(-1))}, {"ok", Bool(false)},
				}},
				{ID: 22, HasID: true, Type: 1, Parts: []part{line(2, 2)}, Tags: []kv{
					{"n", Int(math.MaxInt64)}, {"x", Double(math.NaN())},
				}},
				{ID: 23, HasID: true, Type: 1, Parts: []part{line(3, 3)}, Tags: []kv{
					{"n", Int(0)}, {"x", Double(math.Copysign(0, -1))},
				}},
			},
			nValues: 12,
		},
		{
			name: "duplicate values via Value",
			build: func(t *testing.T, l *Layer) {
				for i := range 6 {
					l.BeginFeature(uint64(30+i), true)
					l.Tag(1, l.Value(String([]string{"high", "low"}[i%2])))
					l.Tag(2, l.Value(Int(int64(i%3))))
					l.Tag(3, l.Value(Double(math.NaN()))) // NaN finds itself
					l.Tag(4, l.Value(Bool(i%2 == 0)))
					l.Point(int32(i), 0)
					l.EndFeature()
				}
				// Only the field selected by Kind counts.
				if a, b := l.Value(Value{Kind: KindInt, I: 1, S: "junk"}), l.Value(Int(1)); a != b {
					t.Errorf("Value ignores unselected fields: %d != %d", a, b)
				}
				// 0 and -0 encode differently, so they are different values.
				if a, b := l.Value(Double(0)), l.Value(Double(math.Copysign(0, -1))); a == b {
					t.Error("0 and -0 share a value")
				}
				// The string "1" and the int 1 are different values.
				if a, b := l.Value(String("1")), l.Value(Int(1)); a == b {
					t.Error(`"1" and 1 share a value`)
				}
			},
			want: func() []wantFeature {
				var w []wantFeature
				for i := range 6 {
					w = append(w, wantFeature{ID: uint64(30 + i), HasID: true, Type: 1, Parts: []part{line(int32(i), 0)}, Tags: []kv{
						{"kind", String([]string{"high", "low"}[i%2])}, {"n", Int(int64(i % 3))}, {"x", Double(math.NaN())}, {"ok", Bool(i%2 == 0)},
					}})
				}
				return w
			}(),
			nValues: 2 + 3 + 1 + 2 + 3, // high low, 0 1 2, NaN, true false, 0.0 -0.0 "1"
		},
		{
			name: "ids: none, zero, large",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(99, false)
				l.Point(1, 2)
				l.EndFeature()
				l.BeginFeature(0, true)
				l.Point(3, 4)
				l.EndFeature()
				l.BeginFeature(1<<53, true)
				l.Point(5, 6)
				l.EndFeature()
			},
			want: []wantFeature{
				{Type: 1, Parts: []part{line(1, 2)}},
				{ID: 0, HasID: true, Type: 1, Parts: []part{line(3, 4)}},
				{ID: 1 << 53, HasID: true, Type: 1, Parts: []part{line(5, 6)}},
			},
		},
		{
			name: "repeated tags kept as given",
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(1, true)
				l.Tag(1, l.Value(String("a")))
				l.Tag(1, l.Value(String("b")))
				l.Point(0, 0)
				l.EndFeature()
			},
			want: []wantFeature{{ID: 1, HasID: true, Type: 1, Parts: []part{line(0, 0)}, Tags: []kv{{"kind", String("a")}, {"kind", String("b")}}}},
		},
		{
			name:   "coordinates far outside the extent",
			extent: 512,
			build: func(t *testing.T, l *Layer) {
				l.BeginFeature(40, true)
				l.Point(-500, 5000)
				l.EndFeature()
				l.BeginFeature(41, true)
				l.LineStrings([][][2]int32{pts(-1<<29, -1<<29, 1<<29, 1<<29, -1<<29, 1<<29)})
				l.EndFeature()
				l.BeginFeature(42, true)
				l.Polygons([][][][2]int32{{far}})
				l.EndFeature()
				l.BeginFeature(43, true)
				l.MultiPoint(pts(-(1<<30 - 1), 1<<30-1, 1<<30-1, -(1<<30 - 1)))
				l.EndFeature()
			},
			want: []wantFeature{
				{ID: 40, HasID: true, Type: 1, Parts: []part{line(-500, 5000)}},
				{ID: 41, HasID: true, Type: 2, Parts: []part{line(-1<<29, -1<<29, 1<<29, 1<<29, -1<<29, 1<<29)}},
				{ID: 42, HasID: true, Type: 3, Parts: []part{{Pts: far, Closed: true}}},
				{ID: 43, HasID: true, Type: 1, Parts: []part{line(-(1<<30 - 1), 1<<30-1, 1<<30-1, -(1<<30 - 1))}},
			},
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			extent := tc.extent
			if extent == 0 {
				extent = 4096
			}
			l := NewLayer("test", extent, testKeys)
			// Twice: on a fresh layer and after Reset on a used one, which
			// must give the same bytes.
			var first []byte
			for round := range 2 {
				if round == 1 {
					l.Reset()
					l.BeginFeature(1, true) // left open: Reset drops it
					l.Tag(0, l.Value(String("stale")))
					l.Reset()
				}
				tc.build(t, l)
				if l.Len() != len(tc.want) {
					t.Fatalf("Len() = %d, want %d", l.Len(), len(tc.want))
				}
				data := l.AppendTile([]byte("prefix"))
				if !bytes.HasPrefix(data, []byte("prefix")) {
					t.Fatal("AppendTile did not append")
				}
				data = data[len("prefix"):]
				if round == 0 {
					first = bytes.Clone(data)
				} else if !bytes.Equal(data, first) {
					t.Fatal("encoding after Reset differs from a fresh layer")
				}
			}

			tile, err := decodeTile(first)
			if err != nil {
				t.Fatalf("protowire decode: %v", err)
			}
			if len(tile.Layers) != 1 {
				t.Fatalf("%d layers, want 1", len(tile.Layers))
			}
			checkLayer(t, tile.Layers[0], "test", extent, testKeys, tc.want)
			if tc.nValues != 0 && len(tile.Layers[0].Values) != tc.nValues {
				t.Errorf("%d values in the table, want %d", len(tile.Layers[0].Values), tc.nValues)
			}

			layers, err := mvt.Unmarshal(first)
			if err != nil {
				t.Fatalf("orb decode: %v", err)
			}
			if len(layers) != 1 {
				t.Fatalf("orb: %d layers, want 1", len(layers))
			}
			checkOrbLayer(t, layers[0], "test", extent, tc.want)
		})
	}
}

func TestEmptyLayerAppendsNothing(t *testing.T) {
	l := NewLayer("empty", 4096, testKeys)
	if got := l.AppendTile(nil); len(got) != 0 {
		t.Errorf("fresh layer: %d bytes", len(got))
	}
	l.BeginFeature(1, true)
	l.Tag(0, l.AddValue(String("x")))
	l.EndFeature() // no geometry: discarded
	l.BeginFeature(2, true)
	l.Point(1, 1) // open, not ended
	if got := l.AppendTile([]byte{1, 2}); !bytes.Equal(got, []byte{1, 2}) {
		t.Errorf("layer without completed features appended %x", got[2:])
	}
	l.EndFeature()
	l.Reset()
	if got := l.AppendTile(nil); len(got) != 0 {
		t.Errorf("after Reset: %d bytes", len(got))
	}
}

func TestCompositeTile(t *testing.T) {
	a := NewLayer("roads", 4096, []string{"class"})
	a.BeginFeature(1, true)
	a.Tag(0, a.Value(String("primary")))
	a.LineStrings([][][2]int32{pts(0, 0, 4096, 4096)})
	a.EndFeature()

	b := NewLayer("risk", 512, []string{"level", "名称"})
	b.BeginFeature(0, false)
	b.Tag(0, b.Value(Int(3)))
	b.Tag(1, b.AddValue(String("北京")))
	b.Polygons([][][][2]int32{{pts(0, 0, 512, 0, 512, 512, 0, 512)}})
	b.EndFeature()

	empty := NewLayer("empty", 4096, nil)

	buf := a.AppendTile(nil)
	buf = empty.AppendTile(buf)
	buf = b.AppendTile(buf)

	tile, err := decodeTile(buf)
	if err != nil {
		t.Fatalf("protowire decode: %v", err)
	}
	if len(tile.Layers) != 2 {
		t.Fatalf("%d layers, want 2", len(tile.Layers))
	}
	wantA := []wantFeature{{ID: 1, HasID: true, Type: 2, Tags: []kv{{"class", String("primary")}}, Parts: []part{line(0, 0, 4096, 4096)}}}
	wantB := []wantFeature{{Type: 3, Tags: []kv{{"level", Int(3)}, {"名称", String("北京")}}, Parts: []part{ring(0, 0, 512, 0, 512, 512, 0, 512)}}}
	checkLayer(t, tile.Layers[0], "roads", 4096, []string{"class"}, wantA)
	checkLayer(t, tile.Layers[1], "risk", 512, []string{"level", "名称"}, wantB)

	layers, err := mvt.Unmarshal(buf)
	if err != nil {
		t.Fatalf("orb decode: %v", err)
	}
	if len(layers) != 2 {
		t.Fatalf("orb: %d layers, want 2", len(layers))
	}
	checkOrbLayer(t, layers[0], "roads", 4096, wantA)
	checkOrbLayer(t, layers[1], "risk", 512, wantB)
}

func TestKeysWrittenUnused(t *testing.T) {
	l := NewLayer("k", 4096, []string{"a", "b", ""})
	l.BeginFeature(0, false)
	l.Point(0, 0)
	l.EndFeature()
	tile, err := decodeTile(l.AppendTile(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := tile.Layers[0].Keys; !slices.Equal(got, []string{"a", "b", ""}) {
		t.Errorf("keys %q", got)
	}
}

func TestSignedArea2(t *testing.T) {
	const m = 1<<30 - 1
	cases := []struct {
		name string
		ring [][2]int32
		want int64
	}{
		{"exterior (clockwise on screen)", pts(0, 0, 10, 0, 10, 10, 0, 10), 200},
		{"interior", pts(0, 0, 0, 10, 10, 10, 10, 0), -200},
		{"closed ring counts the same", pts(0, 0, 10, 0, 10, 10, 0, 10, 0, 0), 200},
		{"duplicates count nothing", pts(0, 0, 10, 0, 10, 0, 10, 10, 0, 10), 200},
		{"triangle", pts(3, 6, 8, 12, 20, 34), 38},
		{"collinear", pts(0, 0, 5, 5, 10, 10), 0},
		{"two points", pts(0, 0, 5, 5), 0},
		{"empty", nil, 0},
		{"huge square", pts(-m, -m, m, -m, m, m, -m, m), 2 * (2 * m) * (2 * m)},
	}
	for _, tc := range cases {
		if got := SignedArea2(tc.ring); got != tc.want {
			t.Errorf("%s: SignedArea2 = %d, want %d", tc.name, got, tc.want)
		}
		if s := areaSign(tc.ring); len(tc.ring) >= 3 && s != big.NewInt(tc.want).Sign() {
			t.Errorf("%s: test oracle sign %d disagrees", tc.name, s)
		}
	}
}

func TestMisusePanics(t *testing.T) {
	cases := []struct {
		name string
		f    func(l *Layer)
	}{
		{"Tag outside feature", func(l *Layer) { l.AddValue(Int(1)); l.Tag(0, 0) }},
		{"Point outside feature", func(l *Layer) { l.Point(0, 0) }},
		{"EndFeature without BeginFeature", func(l *Layer) { l.EndFeature() }},
		{"BeginFeature twice", func(l *Layer) { l.BeginFeature(0, false); l.BeginFeature(1, false) }},
		{"two geometries", func(l *Layer) { l.BeginFeature(0, false); l.Point(0, 0); l.Point(1, 1) }},
		{"empty geometry then another", func(l *Layer) { l.BeginFeature(0, false); l.MultiPoint(nil); l.Point(1, 1) }},
		{"key out of range", func(l *Layer) { l.BeginFeature(0, false); l.Tag(uint32(len(testKeys)), l.AddValue(Int(1))) }},
		{"value out of range", func(l *Layer) { l.BeginFeature(0, false); l.Tag(0, 0) }},
		{"value gone after Reset", func(l *Layer) { v := l.AddValue(Int(1)); l.Reset(); l.BeginFeature(0, false); l.Tag(0, v) }},
		{"unknown kind in AddValue", func(l *Layer) { l.AddValue(Value{Kind: 9}) }},
		{"unknown kind in Value", func(l *Layer) { l.Value(Value{Kind: 9}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f(NewLayer("p", 4096, testKeys))
		})
	}
}

func TestConstructors(t *testing.T) {
	for _, tc := range []struct{ got, want Value }{
		{String("x"), Value{Kind: KindString, S: "x"}},
		{Int(-1), Value{Kind: KindInt, I: -1}},
		{Double(0.5), Value{Kind: KindDouble, F: 0.5}},
		{Bool(true), Value{Kind: KindBool, B: true}},
		{Value{}, String("")},
	} {
		if tc.got != tc.want {
			t.Errorf("%+v != %+v", tc.got, tc.want)
		}
	}
}

// ExampleLayer writes a one-feature tile and then a composite tile of two
// layers.
func ExampleLayer() {
	l := NewLayer("risk", 4096, []string{"name", "level"})
	l.BeginFeature(42, true)
	l.Tag(0, l.AddValue(String("Site A")))
	l.Tag(1, l.Value(String("high")))
	l.Point(2048, 1024)
	l.EndFeature()
	buf := l.AppendTile(nil)

	m := NewLayer("marks", 4096, nil)
	m.BeginFeature(0, false)
	m.Polygons([][][][2]int32{{{{0, 0}, {10, 0}, {10, 10}}}})
	m.EndFeature()
	buf = m.AppendTile(buf)

	layers, _ := mvt.Unmarshal(buf)
	for _, ly := range layers {
		fmt.Println(ly.Name, len(ly.Features), ly.Features[0].Geometry)
	}
	// Output:
	// risk 1 [2048 1024]
	// marks 1 [[[0 0] [10 0] [10 10] [0 0]]]
}
