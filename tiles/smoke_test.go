package tiles_test

import (
	"testing"

	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb"

	"riskmap/index"
	"riskmap/layers"
	"riskmap/tiles"
)

func TestSmoke(t *testing.T) {
	ix, _ := demoIndex(t)
	reg := layers.New()
	r, err := tiles.NewRenderer(reg, ix, tiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range []maptile.Zoom{10, 12, 14, 15, 16} {
		tl := maptile.At(orb.Point{114.12, 22.55}, z)
		for _, l := range reg.Layers() {
			raw, _, err := r.Render(nil, l.Name, tiles.Request{Coord: tiles.Coord{Z: uint32(z), X: tl.X, Y: tl.Y}, Filter: index.Filter{MinCapacity: -1}})
			if err != nil {
				t.Fatal(err)
			}
			ls, err := mvt.Unmarshal(raw)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, x := range ls {
				n += len(x.Features)
			}
			t.Logf("z%d %s: %d bytes, %d features", z, l.Name, len(raw), n)
		}
	}
}
