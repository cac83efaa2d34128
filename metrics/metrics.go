// Package metrics is riskmap's Prometheus metrics: its own registry (never the
// default one) with the Go runtime and process collectors, the HTTP request
// latency histogram fed by the handler (httpapi.Metrics), and a collector that
// reads the tile cache, the index, the change feed, the event stream, the sensor
// ingest and the database pools through the small functions and interfaces of
// Sources, at scrape time. docs/operations.md lists every metric.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"riskmap/events"
	"riskmap/feed"
	"riskmap/ingest"
	"riskmap/ingest/mqtt"
	"riskmap/tiles"
)

// Sources are what the metrics read at each scrape. Every one may be nil: its
// metrics are then left out.
type Sources struct {
	// TileCache is the tile cache (*tiles.Cache).
	TileCache interface{ LayerStats() []tiles.LayerStats }
	// Index counts the features of each of Layers (*index.Index).
	Index  interface{ Count(layer string) int }
	Layers []string
	// Feed is the change feed's follower (*feed.Follower).
	Feed interface{ Status() feed.Status }
	// Events is the event stream's hub (*events.Hub).
	Events interface{ Stats() events.Stats }
	// Ingest returns the sensor ingest service's counters ((*ingest.Service).Stats).
	Ingest func() ingest.Stats
	// MQTT returns the MQTT consumer's counters, with the spool's depth
	// ((*mqtt.Consumer).Stats).
	MQTT func() mqtt.Stats
	// DB returns the database connection pools' state (PgxPool, SQLDB).
	DB []func() DBStats
}

// DBStats is one connection pool's state.
type DBStats struct {
	// Pool names the pool: "postgis", "gpkg_writer", "gpkg_reader".
	Pool string
	// Max is the most connections the pool opens (0: no limit).
	Max int
	// InUse and Idle are the open connections now, busy and idle.
	InUse, Idle int
	// Waits counts acquisitions that had to wait for a connection, WaitTime their
	// total wait.
	Waits    int64
	WaitTime time.Duration
}

// PgxPool reads a pgx pool: pass store/postgis's Pool().Stat.
func PgxPool(name string, stat func() *pgxpool.Stat) func() DBStats {
	return func() DBStats {
		st := stat()
		return DBStats{Pool: name, Max: int(st.MaxConns()), InUse: int(st.AcquiredConns()),
			Idle: int(st.IdleConns()), Waits: st.EmptyAcquireCount(), WaitTime: st.EmptyAcquireWaitTime()}
	}
}

// SQLDB reads a database/sql pool (the GeoPackage store's connections).
func SQLDB(name string, stats func() sql.DBStats) func() DBStats {
	return func() DBStats {
		st := stats()
		return DBStats{Pool: name, Max: st.MaxOpenConnections, InUse: st.InUse, Idle: st.Idle,
			Waits: st.WaitCount, WaitTime: st.WaitDuration}
	}
}

// Registry holds riskmap's metrics. It is an httpapi.Metrics.
type Registry struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
}

// LatencyBuckets are the request latency histogram's bucket bounds, in seconds.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// New returns the registry with the Go and process collectors, the request
// histogram and the collector of src.
func New(src Sources) *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "riskmap_http_request_duration_seconds",
		Help:    "HTTP request latency in seconds by route template, method and status class (an event stream's is its whole life).",
		Buckets: latencyBuckets,
	}, []string{"route", "method", "code"})
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.requests, newSourceCollector(src))
	return r
}

// Gatherer is the registry, for tests and for combining with others.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the metrics in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
}

// knownMethods keep the method label's values few.
var knownMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true}

// ObserveRequest records one request. route must be a route template (never a
// raw path: each label value is a time series).
func (r *Registry) ObserveRequest(route, method string, status int, d time.Duration) {
	if !knownMethods[method] {
		method = "OTHER"
	}
	r.requests.WithLabelValues(route, method, statusClass(status)).Observe(d.Seconds())
}

// statusClass is "2xx" for 200..299 and so on.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}
