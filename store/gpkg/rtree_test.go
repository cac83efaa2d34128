package gpkg

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/geomconv"
)

// TestEnvelope: the fast paths (header envelope, bare point) agree with decoding.
func TestEnvelope(t *testing.T) {
	for _, g := range []orb.Geometry{
		orb.Point{114.1, 22.5},
		orb.LineString{{114.1, 22.5}, {114.2, 22.45}},
		orb.Polygon{{{114, 22}, {115, 22}, {115, 23}, {114, 22}}},
	} {
		b, err := geomconv.EncodeGPKG(g)
		if err != nil {
			t.Fatal(err)
		}
		env, empty, err := envelope(b)
		bd := g.Bound()
		if err != nil || empty || env != [4]float64{bd.Min[0], bd.Max[0], bd.Min[1], bd.Max[1]} {
			t.Errorf("%s: %v %v %v, want %v", g.GeoJSONType(), env, empty, err, bd)
		}
	}
	if _, _, err := envelope([]byte("not a geometry")); err == nil {
		t.Error("envelope of garbage: no error")
	}
}

// TestRTreeFollowsWrites: the R-tree of a layer holds exactly the layer's features,
// each with bounds covering its geometry, after inserts, bulk loads, geometry
// updates, sensor-state patches and deletes.
func TestRTreeFollowsWrites(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "rt.gpkg"), layers.New())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var fs []feature.Feature
	for i := range 50 {
		fs = append(fs, feature.Feature{Layer: layers.Slopes, Geometry: orb.Polygon{{
			{114 + 0.01*float64(i), 22.5}, {114.005 + 0.01*float64(i), 22.5}, {114.005 + 0.01*float64(i), 22.504}, {114 + 0.01*float64(i), 22.5}}},
			Props: map[string]any{"external_id": fmt.Sprintf("S%d", i), "name": "坡", "kind": "natural_slope", "risk_grade": "low"}})
	}
	if err := s.BulkLoad(ctx, layers.Slopes, fs, store.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	one, err := s.Get(ctx, layers.Slopes, 7)
	if err != nil {
		t.Fatal(err)
	}
	one.Geometry = orb.Point{113.5, 22.9}
	if _, err := s.Upsert(ctx, one, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplySensorState(ctx, []store.FieldPatch{{Layer: layers.Slopes, FeatureID: 8, Fields: []string{"warning_level"}, Values: []any{"red"}}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{3, 4} {
		if err := s.Delete(ctx, layers.Slopes, id, store.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[int64]orb.Bound{}
	if err := s.Stream(ctx, layers.Slopes, func(f feature.Feature) error { want[f.ID] = f.Geometry.Bound(); return nil }); err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.QueryContext(ctx, "SELECT id, minx, maxx, miny, maxy FROM rtree_slopes_geom")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var id int64
		var minx, maxx, miny, maxy float64
		if err := rows.Scan(&id, &minx, &maxx, &miny, &maxy); err != nil {
			t.Fatal(err)
		}
		got++
		b, ok := want[id]
		if !ok {
			t.Errorf("R-tree holds id %d, which the layer does not", id)
			continue
		}
		// The R-tree stores 32-bit floats rounded outward.
		if minx > b.Min[0] || maxx < b.Max[0] || miny > b.Min[1] || maxy < b.Max[1] || maxx-minx > b.Max[0]-b.Min[0]+1e-4 {
			t.Errorf("id %d: R-tree bounds [%v %v %v %v] do not fit %v", id, minx, maxx, miny, maxy, b)
		}
	}
	if got != len(want) {
		t.Errorf("R-tree holds %d entries, the layer %d features", got, len(want))
	}
}
