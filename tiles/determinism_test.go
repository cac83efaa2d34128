package tiles_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/tiles"
)

// TestSameDataSameBytes: an index holding the demo data after another history —
// features inserted in a shuffled order, in small batches, a third of them first
// inserted with other names (so the interned texts get other numbers) and then
// replaced, some deleted and put back — renders every tile of a sweep to the same
// bytes as the demo index: clustered and not, summary and detail zooms, WGS84 and
// GCJ-02. The bytes, and so the ETags, depend on the data only.
func TestSameDataSameBytes(t *testing.T) {
	ix, ds := demoIndex(t)
	other := index.New(layers.New())
	var all []feature.Feature
	for _, l := range layers.New().Layers() {
		all = append(all, ds.Features[l.Name]...)
	}
	r := rand.New(rand.NewPCG(7, 7))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	apply := func(ms ...index.Mutation) {
		t.Helper()
		if _, err := other.Apply(ms...); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < len(all); i += 97 {
		var ms []index.Mutation
		for _, f := range all[i:min(i+97, len(all))] {
			if r.IntN(3) == 0 {
				g := f
				g.Props = map[string]any{}
				for k, v := range f.Props {
					g.Props[k] = v
				}
				g.Props["name"] = "临时名称" // all share one text first
				ms = append(ms, index.Mutation{Op: feature.Insert, Feature: g})
			}
			ms = append(ms, index.Mutation{Op: feature.Insert, Feature: f})
		}
		apply(ms...)
	}
	for _, f := range all[:len(all)/10] {
		apply(index.Mutation{Op: feature.Delete, Feature: f})
	}
	for _, f := range all[:len(all)/10] {
		apply(index.Mutation{Op: feature.Insert, Feature: f})
	}

	a, b := newRenderer(t, ix, tiles.Options{}), newRenderer(t, other, tiles.Options{})
	bound := orb.Bound{Min: orb.Point{114.10, 22.53}, Max: orb.Point{114.14, 22.57}}
	tilesSeen, nonEmpty := 0, 0
	for _, z := range []int{11, 12, 13, 14, 15, 16} {
		sweep(bound, z, func(c tiles.Coord) {
			for _, l := range layers.New().Layers() {
				for _, req := range []tiles.Request{
					{Coord: c, Filter: noFilter},
					{Coord: c, Filter: noFilter, NoCluster: true},
					{Coord: c, Filter: noFilter, CRS: tiles.GCJ02},
				} {
					want, got := render(t, a, l.Name, req), render(t, b, l.Name, req)
					tilesSeen++
					if len(want) > 0 {
						nonEmpty++
					}
					if !bytes.Equal(want, got) {
						t.Errorf("%s %v (crs %v, no cluster %v): %d bytes after another history, %d before",
							l.Name, req.Coord, req.CRS, req.NoCluster, len(got), len(want))
					}
					if tiles.NewEntry(want, orb.Bound{}).ETag != tiles.NewEntry(got, orb.Bound{}).ETag {
						t.Errorf("%s %v: ETags differ", l.Name, req.Coord)
					}
				}
			}
		})
	}
	if nonEmpty < 200 {
		t.Fatalf("only %d of %d tiles non-empty: the sweep misses the data", nonEmpty, tilesSeen)
	}
	t.Logf("%d tiles compared, %d non-empty", tilesSeen, nonEmpty)
}
