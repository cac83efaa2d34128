package tiles_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"

	"riskmap/index"
	"riskmap/layers"
	"riskmap/tiles"
)

func TestZZDebug(t *testing.T) {
	ctx := context.Background()
	env := newPGDemo(t, ctx, 1)
	r, _ := tiles.NewRenderer(env.reg, env.ix, tiles.Options{})
	l, _ := env.reg.Layer(layers.RiskPoints)
	for _, z := range []uint32{14, 16} {
		mt := pgDistrictTiles(t, 14)[10]
		req := tiles.Request{Coord: tiles.Coord{Z: 14, X: mt.X, Y: mt.Y}, Filter: index.Filter{MinCapacity: -1}, NoCluster: true}
		if z == 16 {
			req.Coord = tiles.Coord{Z: 16, X: mt.X * 4, Y: mt.Y * 4}
		}
		ours, _, _ := r.Render(nil, l.Name, req)
		var theirs []byte
		env.pool.QueryRow(ctx, pgTileWithPropsSQL(l, int(req.Z)), int32(req.Z), int32(req.X), int32(req.Y), l.Name).Scan(&theirs)
		a, _ := mvt.Unmarshal(ours)
		b, _ := mvt.Unmarshal(theirs)
		t.Logf("z%d ours %d bytes %d features, theirs %d bytes %d features", z, len(ours), len(a[0].Features), len(theirs), len(b[0].Features))
		for _, raw := range [][]byte{ours, theirs} {
			_, lay, _ := zzFields(raw, 3)
			_, feats, st := zzFields(lay[0], 2)
			t.Logf("layer field bytes: %v; first feature % x", st, feats[0])
			_, vals, _ := zzFields(lay[0], 4)
			for i, v := range vals {
				if i < 6 || i > len(vals)-4 {
					t.Logf("value %d: % x", i, v)
				}
			}
			t.Logf("%d values", len(vals))
			_, _, fst := zzFields(feats[0], 0)
			t.Logf("feature field bytes %v", fst)
		}
		t.Logf("ours: %v %v", a[0].Features[0].ID, a[0].Features[0].Properties)
		for _, f := range b[0].Features {
			if f.ID == a[0].Features[0].ID {
				t.Logf("theirs: %v %v", f.ID, f.Properties)
			}
		}
	}
}
