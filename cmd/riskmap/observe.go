package main

import (
	"riskmap/events"
	"riskmap/feed"
	"riskmap/index"
	"riskmap/ingest"
	"riskmap/ingest/mqtt"
	"riskmap/layers"
	"riskmap/metrics"
	"riskmap/store/gpkg"
	"riskmap/store/postgis"
	"riskmap/tiles"
)

// newMetrics returns the metrics of a serving process for httpapi.Config.Metrics:
// they read the tile cache, the index, the change feed, the event hub, the ingest
// service and MQTT consumer (either may be nil: ingest off, no broker) and the
// store's connection pools at each scrape of /metrics.
//
//	hcfg.Metrics = newMetrics(reg, s, ix, cache, follower, hub, ing, consumer)
func newMetrics(reg *layers.Registry, s backend, ix *index.Index, cache *tiles.Cache, follower *feed.Follower,
	hub *events.Hub, ing *ingest.Service, consumer *mqtt.Consumer) *metrics.Registry {
	src := metrics.Sources{TileCache: cache, Index: ix, Feed: follower, Events: hub}
	for _, l := range reg.Layers() {
		src.Layers = append(src.Layers, l.Name)
	}
	if ing != nil {
		src.Ingest = ing.Stats
	}
	if consumer != nil {
		src.MQTT = consumer.Stats
	}
	switch st := s.(type) {
	case *postgis.Store:
		src.DB = append(src.DB, metrics.PgxPool("postgis", st.Pool().Stat))
	case *gpkg.Store:
		src.DB = append(src.DB, metrics.SQLDB("gpkg_writer", st.WriterStats), metrics.SQLDB("gpkg_reader", st.ReaderStats))
	}
	return metrics.New(src)
}
