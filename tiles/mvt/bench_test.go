package mvt

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
)

// TestZeroAllocsSteadyState: a warmed-up Layer, reset and refilled with 100
// tagged point features and appended into a reused slice, allocates nothing.
func TestZeroAllocsSteadyState(t *testing.T) {
	l := NewLayer("risk", 4096, []string{"name", "level", "score"})
	names := make([]string, 100)
	for i := range names {
		names[i] = fmt.Sprintf("site %d", i)
	}
	levels := []string{"low", "medium", "high"}
	var dst []byte
	write := func() {
		l.Reset()
		for i := range 100 {
			l.BeginFeature(uint64(i), true)
			l.Tag(0, l.AddValue(String(names[i])))
			l.Tag(1, l.Value(String(levels[i%3])))
			l.Tag(2, l.Value(Int(int64(i%10))))
			l.Point(int32(i*40), int32(4096-i*40))
			l.EndFeature()
		}
		dst = l.AppendTile(dst[:0])
	}
	write() // warm-up: buffers and the value map reach their size
	if a := testing.AllocsPerRun(100, write); a != 0 {
		t.Errorf("%v allocations per tile, want 0", a)
	}
	if l.Len() != 100 || len(dst) == 0 {
		t.Fatalf("Len %d, %d bytes", l.Len(), len(dst))
	}

	// Lines and polygons too.
	line := [][][2]int32{{{0, 0}, {10, 0}, {10, 0}, {20, 5}}}
	poly := [][][][2]int32{{{{0, 0}, {100, 0}, {100, 100}, {0, 100}}, {{20, 20}, {20, 80}, {80, 80}, {80, 20}}}}
	shapes := func() {
		l.Reset()
		for i := range 50 {
			l.BeginFeature(uint64(i), true)
			l.Tag(1, l.Value(String(levels[i%3])))
			if i%2 == 0 {
				l.LineStrings(line)
			} else {
				l.Polygons(poly)
			}
			l.EndFeature()
		}
		dst = l.AppendTile(dst[:0])
	}
	shapes()
	if a := testing.AllocsPerRun(100, shapes); a != 0 {
		t.Errorf("lines and polygons: %v allocations per tile, want 0", a)
	}
}

// benchSite is one feature of the benchmark tile.
type benchSite struct {
	x, y   int32
	name   string
	kind   string
	level  string
	region string
	score  int64
	active bool
}

var benchKeys = []string{"name", "kind", "level", "region", "score", "active"}

func benchSites(n int) []benchSite {
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []string{"hospital", "school", "substation", "pumping station"}
	levels := []string{"very low", "low", "medium", "high", "very high"}
	regions := []string{"north", "south", "east", "west", "central", "coast", "hills", "delta"}
	sites := make([]benchSite, n)
	for i := range sites {
		sites[i] = benchSite{
			x:      int32(r.IntN(4096)),
			y:      int32(r.IntN(4096)),
			name:   fmt.Sprintf("Site %04d", i),
			kind:   kinds[r.IntN(len(kinds))],
			level:  levels[r.IntN(len(levels))],
			region: regions[r.IntN(len(regions))],
			score:  int64(r.IntN(100)),
			active: r.IntN(2) == 0,
		}
	}
	return sites
}

// encodeSites writes the benchmark tile with this package.
func encodeSites(l *Layer, sites []benchSite, dst []byte) []byte {
	l.Reset()
	for i, s := range sites {
		l.BeginFeature(uint64(i+1), true)
		l.Tag(0, l.AddValue(String(s.name)))
		l.Tag(1, l.Value(String(s.kind)))
		l.Tag(2, l.Value(String(s.level)))
		l.Tag(3, l.Value(String(s.region)))
		l.Tag(4, l.Value(Int(s.score)))
		l.Tag(5, l.Value(Bool(s.active)))
		l.Point(s.x, s.y)
		l.EndFeature()
	}
	return l.AppendTile(dst[:0])
}

// orbSites builds the same tile as orb layers (tile coordinates as float64).
func orbSites(sites []benchSite) mvt.Layers {
	fc := geojson.NewFeatureCollection()
	for i, s := range sites {
		f := geojson.NewFeature(orb.Point{float64(s.x), float64(s.y)})
		f.ID = i + 1
		f.Properties = geojson.Properties{
			"name": s.name, "kind": s.kind, "level": s.level, "region": s.region,
			"score": s.score, "active": s.active,
		}
		fc.Append(f)
	}
	l := mvt.NewLayer("sites", fc)
	l.Version = 2
	return mvt.Layers{l}
}

// TestBenchTilesAgree checks that both benchmarks encode the same content.
func TestBenchTilesAgree(t *testing.T) {
	sites := benchSites(200)
	ours, err := mvt.Unmarshal(encodeSites(NewLayer("sites", 4096, benchKeys), sites, nil))
	if err != nil {
		t.Fatal(err)
	}
	data, err := mvt.Marshal(orbSites(sites))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ours[0].Features) != len(theirs[0].Features) {
		t.Fatalf("%d features vs %d", len(ours[0].Features), len(theirs[0].Features))
	}
	for i, f := range ours[0].Features {
		g := theirs[0].Features[i]
		if f.ID != g.ID || !orb.Equal(f.Geometry, g.Geometry) || len(f.Properties) != 6 || len(g.Properties) != 6 {
			t.Fatalf("feature %d: %v %v %v vs %v %v %v", i, f.ID, f.Geometry, f.Properties, g.ID, g.Geometry, g.Properties)
		}
		for k, v := range f.Properties {
			if g.Properties[k] != v {
				t.Fatalf("feature %d: %s = %v vs %v", i, k, v, g.Properties[k])
			}
		}
	}
}

// BenchmarkPoints2000 encodes 2,000 point features with 6 properties each
// (a unique name via AddValue, three string enums, an int and a bool via
// Value) into a reused Layer and slice.
func BenchmarkPoints2000(b *testing.B) {
	sites := benchSites(2000)
	l := NewLayer("sites", 4096, benchKeys)
	dst := encodeSites(l, sites, nil)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for b.Loop() {
		dst = encodeSites(l, sites, dst)
	}
}

// BenchmarkOrbMarshal2000 encodes the same tile with orb's mvt.Marshal. The
// geojson features are built once, outside the timer, which favours orb: a
// server would build them per tile too.
func BenchmarkOrbMarshal2000(b *testing.B) {
	layers := orbSites(benchSites(2000))
	data, err := mvt.Marshal(layers)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mvt.Marshal(layers); err != nil {
			b.Fatal(err)
		}
	}
}
