package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"riskmap/events"
	"riskmap/feed"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/store/gpkg"
	"riskmap/tiles"
)

// TestNewMetricsWiring: serve's metrics read the GeoPackage's two pools and every
// layer's count, and leave out ingest when it is off.
func TestNewMetricsWiring(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := layers.New()
	gs, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "riskmap.gpkg"), reg)
	if err != nil {
		t.Fatal(err)
	}
	defer gs.Close()
	if _, err := gs.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ix := index.New(reg)
	m := newMetrics(reg, gs, ix, tiles.NewCache(1<<20), feed.New(gs, ix, feed.Options{}), events.NewHub(events.Options{}), nil, nil)
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	pools, layerSeries := map[string]bool{}, 0
	for _, f := range fams {
		switch f.GetName() {
		case "riskmap_db_pool_max_connections":
			for _, s := range f.GetMetric() {
				pools[s.GetLabel()[0].GetValue()] = true
			}
		case "riskmap_index_features":
			layerSeries = len(f.GetMetric())
		case "riskmap_ingest_readings_accepted_total", "riskmap_ingest_spool_segments":
			t.Errorf("%s without ingest", f.GetName())
		}
	}
	if !pools["gpkg_writer"] || !pools["gpkg_reader"] || len(pools) != 2 {
		t.Fatalf("pools %v", pools)
	}
	if layerSeries != len(reg.Layers()) {
		t.Fatalf("%d layer counts for %d layers", layerSeries, len(reg.Layers()))
	}
}
