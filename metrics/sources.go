package metrics

import "github.com/prometheus/client_golang/prometheus"

// sourceCollector reads Sources at each scrape.
type sourceCollector struct {
	src Sources

	tileHits, tileMisses, tileBytes, tileEntries *prometheus.Desc
	features                                     *prometheus.Desc
	feedLoaded, feedDegraded, feedLag            *prometheus.Desc
	feedLastSeq, feedLastApplied                 *prometheus.Desc
	sseClients, sseDelivered, sseDropped         *prometheus.Desc
	ingAccepted, ingRejected, ingAlerts          *prometheus.Desc
	ingPending, ingWriteErrors                   *prometheus.Desc
	mqttMessages, mqttConnected, mqttSpooled     *prometheus.Desc
	mqttDrained, spoolSegments                   *prometheus.Desc
	dbMax, dbConns, dbWaits, dbWaitSeconds       *prometheus.Desc
}

func newSourceCollector(src Sources) *sourceCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &sourceCollector{src: src,
		tileHits:        d("riskmap_tile_cache_hits_total", "Layer tiles found in the tile cache.", "layer"),
		tileMisses:      d("riskmap_tile_cache_misses_total", "Layer tiles not in the tile cache (rendered).", "layer"),
		tileBytes:       d("riskmap_tile_cache_bytes", "Bytes of the layer's tiles held by the tile cache (raw and compressed).", "layer"),
		tileEntries:     d("riskmap_tile_cache_entries", "Layer tiles held by the tile cache.", "layer"),
		features:        d("riskmap_index_features", "Features in the in-memory index.", "layer"),
		feedLoaded:      d("riskmap_feed_loaded", "1 once the index holds the database's content, else 0."),
		feedDegraded:    d("riskmap_feed_degraded", "1 while the index may be behind the database (database unreachable, feed reconnecting), else 0."),
		feedLag:         d("riskmap_feed_lag_seconds", "Seconds from the commit of the newest change applied to its application to the index (database and server clocks)."),
		feedLastSeq:     d("riskmap_feed_last_seq", "Highest change-log sequence number applied to the index."),
		feedLastApplied: d("riskmap_feed_last_applied_timestamp_seconds", "Unix time the change feed last applied changes (0: never)."),
		sseClients:      d("riskmap_sse_clients", "Event stream (Server-Sent Events) clients connected."),
		sseDelivered:    d("riskmap_sse_events_delivered_total", "Live events handed to event stream clients (one per client)."),
		sseDropped:      d("riskmap_sse_clients_dropped_total", "Event stream clients dropped for falling behind."),
		ingAccepted:     d("riskmap_ingest_readings_accepted_total", "Sensor readings stored (HTTP and MQTT); rate() of it is the ingest rate."),
		ingRejected:     d("riskmap_ingest_readings_rejected_total", "Sensor readings rejected as invalid."),
		ingAlerts:       d("riskmap_ingest_alerts_total", "Alerts stored."),
		ingPending:      d("riskmap_ingest_pending", "Object states and alerts waiting to be written to the database."),
		ingWriteErrors:  d("riskmap_ingest_write_errors_total", "Failed state transactions (retried)."),
		mqttMessages:    d("riskmap_mqtt_messages_total", "MQTT messages received."),
		mqttConnected:   d("riskmap_mqtt_connected", "1 while connected to the MQTT broker, else 0."),
		mqttSpooled:     d("riskmap_mqtt_spooled_readings_total", "MQTT readings written to the on-disk spool (database down)."),
		mqttDrained:     d("riskmap_mqtt_drained_readings_total", "Spooled readings since stored in the database."),
		spoolSegments:   d("riskmap_ingest_spool_segments", "Segments in the on-disk spool waiting for the database (spool depth)."),
		dbMax:           d("riskmap_db_pool_max_connections", "Most connections the pool opens (0: no limit).", "pool"),
		dbConns:         d("riskmap_db_pool_connections", "Open connections of the pool by state.", "pool", "state"),
		dbWaits:         d("riskmap_db_pool_waits_total", "Connection acquisitions that waited for a connection.", "pool"),
		dbWaitSeconds:   d("riskmap_db_pool_wait_seconds_total", "Total seconds acquisitions waited for a connection.", "pool"),
	}
}

// Describe implements prometheus.Collector.
func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.tileHits, c.tileMisses, c.tileBytes, c.tileEntries, c.features,
		c.feedLoaded, c.feedDegraded, c.feedLag, c.feedLastSeq, c.feedLastApplied, c.sseClients, c.sseDelivered,
		c.sseDropped, c.ingAccepted, c.ingRejected, c.ingAlerts, c.ingPending, c.ingWriteErrors, c.mqttMessages,
		c.mqttConnected, c.mqttSpooled, c.mqttDrained, c.spoolSegments, c.dbMax, c.dbConns, c.dbWaits, c.dbWaitSeconds} {
		ch <- d
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect implements prometheus.Collector.
func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	s := c.src
	if s.TileCache != nil {
		for _, l := range s.TileCache.LayerStats() {
			counter(c.tileHits, float64(l.Hits), l.Layer)
			counter(c.tileMisses, float64(l.Misses), l.Layer)
			gauge(c.tileBytes, float64(l.Bytes), l.Layer)
			gauge(c.tileEntries, float64(l.Entries), l.Layer)
		}
	}
	if s.Index != nil {
		for _, l := range s.Layers {
			gauge(c.features, float64(s.Index.Count(l)), l)
		}
	}
	if s.Feed != nil {
		st := s.Feed.Status()
		gauge(c.feedLoaded, boolValue(st.Loaded))
		gauge(c.feedDegraded, boolValue(len(st.Degraded) > 0))
		gauge(c.feedLastSeq, float64(st.LastSeq))
		lag, applied := 0.0, 0.0
		if !st.LastApplied.IsZero() {
			applied = float64(st.LastApplied.UnixNano()) / 1e9
			if !st.LastChange.IsZero() {
				lag = max(0, st.LastApplied.Sub(st.LastChange).Seconds())
			}
		}
		gauge(c.feedLag, lag)
		gauge(c.feedLastApplied, applied)
	}
	if s.Events != nil {
		st := s.Events.Stats()
		gauge(c.sseClients, float64(st.Clients))
		counter(c.sseDelivered, float64(st.Delivered))
		counter(c.sseDropped, float64(st.Dropped))
	}
	if s.Ingest != nil {
		st := s.Ingest()
		counter(c.ingAccepted, float64(st.Accepted))
		counter(c.ingRejected, float64(st.Rejected))
		counter(c.ingAlerts, float64(st.Alerts))
		gauge(c.ingPending, float64(st.Pending))
		counter(c.ingWriteErrors, float64(st.WriteErrors))
	}
	if s.MQTT != nil {
		st := s.MQTT()
		counter(c.mqttMessages, float64(st.Messages))
		gauge(c.mqttConnected, boolValue(st.Connected))
		counter(c.mqttSpooled, float64(st.Spooled))
		counter(c.mqttDrained, float64(st.Drained))
		gauge(c.spoolSegments, float64(st.SpoolLen))
	}
	for _, db := range s.DB {
		st := db()
		gauge(c.dbMax, float64(st.Max), st.Pool)
		gauge(c.dbConns, float64(st.InUse), st.Pool, "in_use")
		gauge(c.dbConns, float64(st.Idle), st.Pool, "idle")
		counter(c.dbWaits, float64(st.Waits), st.Pool)
		counter(c.dbWaitSeconds, st.WaitTime.Seconds(), st.Pool)
	}
}
