package gpkg_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/gpkg"
)

func open(t *testing.T) (*gpkg.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "riskmap.gpkg")
	s, err := gpkg.Open(context.Background(), path, layers.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// TestSecondProcessRefused: one process owns the file.
func TestSecondProcessRefused(t *testing.T) {
	_, path := open(t)
	_, err := gpkg.Open(context.Background(), path, layers.New())
	if !errors.Is(err, gpkg.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

// TestDemoRoundTrip loads the demo dataset and reads it back.
func TestDemoRoundTrip(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for layer, fs := range ds.Features {
		if err := s.BulkLoad(ctx, layer, fs, store.WriteOptions{Actor: "test"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("bulk load %d features: %v", ds.Total(), time.Since(start))
	for layer, fs := range ds.Features {
		n, err := s.Count(ctx, layer)
		if err != nil || n != int64(len(fs)) {
			t.Fatalf("%s: %d rows, %v; want %d", layer, n, err, len(fs))
		}
		want := map[int64]feature.Feature{}
		for _, f := range fs {
			want[f.ID] = f
		}
		err = s.Stream(ctx, layer, func(f feature.Feature) error {
			w := want[f.ID]
			if !orb.Equal(w.Geometry, f.Geometry) || f.Props["external_id"] != w.Props["external_id"] || f.Version != 1 {
				t.Fatalf("%s %d: read %+v, want %+v", layer, f.ID, f, w)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	snap, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := ds.Features[layers.RiskPoints][0]
	f.Props["risk_grade"] = "major"
	got, err := s.Upsert(ctx, f, store.WriteOptions{Actor: "test"})
	if err != nil || got.Version != 2 {
		t.Fatalf("upsert: %v, version %d", err, got.Version)
	}
	if err := s.Delete(ctx, layers.RiskPoints, f.ID, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := s.ChangesSince(ctx, snap, 100)
	if err != nil || len(b.Changes) != 2 || b.Changes[0].Op != feature.Update || b.Changes[1].Op != feature.Delete || b.Changes[1].Version != 3 {
		t.Fatalf("changes since: %v %+v", err, b.Changes)
	}
	if _, ok := b.Features[store.FeatureKey{Layer: layers.RiskPoints, ID: f.ID}]; ok {
		t.Fatal("a deleted feature is in the batch's features")
	}
	f.ID = 0
	again, err := s.Upsert(ctx, f, store.WriteOptions{})
	if err != nil || again.Version != 1 && again.ID == f.ID {
		t.Fatalf("re-insert: %v %+v", err, again)
	}
}
