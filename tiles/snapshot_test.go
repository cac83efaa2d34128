package tiles_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/tiles"
)

// visitOnly hides the index's snapshots: a renderer over it reads every layer
// through Visit (the R-tree and the records).
type visitOnly struct{ ix *index.Index }

func (v visitOnly) Visit(layer string, b orb.Bound, f index.Filter, fn func(*index.Record) bool) error {
	return v.ix.Visit(layer, b, f, fn)
}

// TestSnapshotSameBytes: tiles read from the index's snapshots
// (index.Index.Snapshot) are the bytes of the same tiles read through Visit — every
// tile of a part of the district at zooms 13–18, clustering off, summary and
// detail zooms, every layer (points, polygons, lines).
func TestSnapshotSameBytes(t *testing.T) {
	ix, _ := demoIndex(t)
	for _, l := range layers.New().Layers() {
		waitSnapshot(t, ix, l.Name)
	}
	a, b := newRenderer(t, ix, tiles.Options{}), newRenderer(t, visitOnly{ix}, tiles.Options{})
	bound := orb.Bound{Min: orb.Point{114.10, 22.53}, Max: orb.Point{114.14, 22.57}}
	n, nonEmpty := 0, 0
	for z := 13; z <= 18; z++ {
		if z == 18 {
			bound = orb.Bound{Min: orb.Point{114.115, 22.545}, Max: orb.Point{114.125, 22.555}}
		}
		sweep(bound, z, func(c tiles.Coord) {
			for _, l := range layers.New().Layers() {
				req := tiles.Request{Coord: c, Filter: noFilter, NoCluster: true}
				want, got := render(t, b, l.Name, req), render(t, a, l.Name, req)
				n++
				if len(want) > 0 {
					nonEmpty++
				}
				if !bytes.Equal(want, got) {
					t.Errorf("%s %v: %d bytes from the snapshot, %d through Visit", l.Name, c, len(got), len(want))
				}
			}
		})
	}
	if nonEmpty < 500 {
		t.Fatalf("only %d of %d tiles non-empty", nonEmpty, n)
	}
	t.Logf("%d tiles compared, %d non-empty", n, nonEmpty)
}

// TestSnapshotEdges: points on and next to the edges of a tile's buffered box (in
// lon/lat, where Visit's bound and the projection may disagree by a rounding) are
// drawn or left out alike from the snapshot and through Visit, at zooms 10–22.
func TestSnapshotEdges(t *testing.T) {
	reg := layers.New()
	ix := index.New(reg)
	a, b := newRenderer(t, ix, tiles.Options{}), newRenderer(t, visitOnly{ix}, tiles.Options{})
	var id int64
	var reqs []tiles.Request
	for z := uint32(10); z <= 22; z++ {
		c := coordAt(orb.Point{114.12, 22.55}, int(z))
		reqs = append(reqs, tiles.Request{Coord: c, Filter: noFilter, NoCluster: true})
		scale := float64(uint64(1)<<z) * tiles.Extent
		unproject := func(x, y float64) orb.Point {
			lon := (x+float64(c.X)*tiles.Extent)/scale*360 - 180
			n := math.Pi * (1 - 2*(y+float64(c.Y)*tiles.Extent)/scale)
			return orb.Point{lon, math.Atan(math.Sinh(n)) * 180 / math.Pi}
		}
		var ms []index.Mutation
		for _, e := range []float64{-64, 4160} {
			for _, d := range []float64{-1e-3, -1e-6, 0, 1e-6, 1e-3} {
				for _, p := range []orb.Point{unproject(e+d, 2048), unproject(2048, e+d), unproject(e+d, e+d)} {
					for _, nudge := range []float64{-1e-13, 0, 1e-13} {
						id++
						ms = append(ms, index.Mutation{Op: feature.Insert, Feature: feature.Feature{
							Layer: layers.RiskPoints, ID: id, Version: 1,
							Geometry: orb.Point{p[0] + nudge, p[1] - nudge},
							Props:    map[string]any{"name": "边", "category": "gas", "risk_grade": "major"},
						}})
					}
				}
			}
		}
		if _, err := ix.Apply(ms...); err != nil {
			t.Fatal(err)
		}
	}
	waitSnapshot(t, ix, layers.RiskPoints)
	drawn := 0
	for _, req := range reqs {
		want, got := render(t, b, layers.RiskPoints, req), render(t, a, layers.RiskPoints, req)
		if !bytes.Equal(want, got) {
			t.Errorf("%v: %d bytes from the snapshot, %d through Visit", req.Coord, len(got), len(want))
		}
		drawn += pgFeatureCount(t, want)
	}
	if drawn < 100 {
		t.Fatalf("only %d edge points drawn", drawn)
	}
}

// TestSnapshotAfterApply: a tile rendered after an Apply returned shows the change
// (the layer's snapshot is dropped under the index's write lock) — moves, renames,
// inserts and deletes of risk points and slopes — with the same bytes as through
// Visit, and a snapshot is made anew only after a change.
func TestSnapshotAfterApply(t *testing.T) {
	_, ds := demoIndex(t)
	ix, err := loadIndex(ds)
	if err != nil {
		t.Fatal(err)
	}
	a, b := newRenderer(t, ix, tiles.Options{}), newRenderer(t, visitOnly{ix}, tiles.Options{})
	for _, layer := range []string{layers.RiskPoints, layers.Slopes} {
		fs := ds.Features[layer]
		snap := waitSnapshot(t, ix, layer)
		if snap.Len() != len(fs) {
			t.Fatalf("%s: snapshot of %v features, want %d", layer, snap, len(fs))
		}
		if ix.Snapshot(layer) != snap {
			t.Fatalf("%s: snapshot made again without a change", layer)
		}
		rnd := rand.New(rand.NewPCG(4, 4))
		for step := range 20 {
			f := fs[rnd.IntN(len(fs))]
			g := f
			g.Props = map[string]any{}
			for k, v := range f.Props {
				g.Props[k] = v
			}
			at := f.Geometry.Bound().Center() // where the change shows
			op := feature.Update
			switch step % 4 {
			case 0:
				g.Geometry = shift(f.Geometry, 0.0004, -0.0003)
			case 1:
				g.Props["name"] = "改名 " + string(rune('A'+step))
			case 2:
				g.ID = 9_000_000 + int64(step)
				g.Geometry = shift(f.Geometry, 0.0001, 0)
				at = g.Geometry.Bound().Center()
				op = feature.Insert
			case 3:
				op = feature.Delete
			}
			g.Version = f.Version + 1
			req := tiles.Request{Coord: coordAt(at, 16), Filter: noFilter, NoCluster: true}
			before := render(t, a, layer, req)
			if _, err := ix.Apply(index.Mutation{Op: op, Feature: g}); err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				t.Helper()
				for _, z := range []int{14, 16} {
					req := tiles.Request{Coord: coordAt(at, z), Filter: noFilter, NoCluster: true}
					want, got := render(t, b, layer, req), render(t, a, layer, req)
					if !bytes.Equal(want, got) {
						t.Fatalf("%s step %d (%v of %d) %v, %s: %d bytes from the snapshot, %d through Visit", layer, step, op, g.ID, req.Coord, when, len(got), len(want))
					}
				}
				if after := render(t, a, layer, req); bytes.Equal(before, after) {
					t.Fatalf("%s step %d (%v of %d) %s: tile %v unchanged after Apply", layer, step, op, g.ID, when, req.Coord)
				}
			}
			// Rebuilds are paced (see index.Index.Snapshot): right after Apply
			// the tile may be read through the tree; either way it shows the
			// change, and so does the new snapshot once made.
			check("at once")
			waitSnapshot(t, ix, layer)
			check("from the new snapshot")
		}
		if ix.Snapshot(layer) == snap {
			t.Fatalf("%s: the snapshot of before the changes is still served", layer)
		}
	}
}

// waitSnapshot returns the snapshot of layer's current version once the index has
// made it (in the background, see index.Index.Snapshot).
func waitSnapshot(t testing.TB, ix *index.Index, layer string) *index.Snapshot {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s := ix.Snapshot(layer); s != nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot of %s within 10 s", layer)
		}
		time.Sleep(time.Millisecond)
	}
}

// shift returns a copy of g (a point or polygon) moved by dx, dy degrees.
func shift(g orb.Geometry, dx, dy float64) orb.Geometry {
	switch g := g.(type) {
	case orb.Point:
		return orb.Point{g[0] + dx, g[1] + dy}
	case orb.Polygon:
		out := orb.Polygon{}
		for _, r := range g {
			nr := orb.Ring{}
			for _, p := range r {
				nr = append(nr, orb.Point{p[0] + dx, p[1] + dy})
			}
			out = append(out, nr)
		}
		return out
	}
	panic("shift: unexpected geometry")
}
