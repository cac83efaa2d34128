package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"

	"riskmap/events"
	"riskmap/feature"
	"riskmap/feed"
	"riskmap/httpapi"
	"riskmap/index"
	"riskmap/ingest"
	"riskmap/ingest/mqtt"
	"riskmap/ingest/spool"
	"riskmap/internal/sensortest"
	"riskmap/layers"
	"riskmap/metrics"
	"riskmap/sensors"
	"riskmap/store"
	"riskmap/store/gpkg"
	"riskmap/tiles"
)

const scrapeToken = "scrape-token-0123456789"

// rig is a serving process on a GeoPackage: index, tiles, change feed, event hub,
// ingest (and an MQTT consumer that is never run, for its spool), with metrics.
type rig struct {
	srv    *httptest.Server
	st     *gpkg.Store
	feed   *feed.Follower
	m      *metrics.Registry
	sensor string // a sensor token
	spool  *spool.Spool
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	reg := layers.New()
	gs, err := gpkg.Open(ctx, filepath.Join(t.TempDir(), "riskmap.gpkg"), reg)
	if err != nil {
		t.Fatal(err)
	}
	sensortest.SeedStore(t, gs, 2)
	secret, hash, err := store.NewSecret(store.TokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gs.CreateToken(ctx, store.NewToken{Name: "gauge", Role: "sensor", CreatedBy: "test", Hash: hash}); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	ix := index.New(reg)
	rd, err := tiles.NewRenderer(reg, ix, tiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cache := tiles.NewCache(16 << 20)
	ix.OnApply(cache.Invalidate)
	hub := events.NewHub(events.Options{Flush: 5 * time.Millisecond})
	fl := feed.New(gs, ix, feed.Options{Poll: 20 * time.Millisecond, Logger: quiet})
	svc, err := ingest.New(ingest.Config{Store: gs, Registry: reg, TickEvery: time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := mqtt.New(mqtt.Config{URL: "tcp://127.0.0.1:1", ClientID: "metrics-test", Service: svc, Store: gs, Spool: sp, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 3)
	go func() { hub.Run(ctx); done <- struct{}{} }()
	go func() { _ = fl.Run(ctx); done <- struct{}{} }()
	go func() { _ = svc.Run(ctx); done <- struct{}{} }()
	sensortest.WaitFor(t, 30*time.Second, "index loaded", func() bool { loaded, _ := fl.Ready(); return loaded })
	sensortest.WaitFor(t, 30*time.Second, "ingest ready", svc.Ready)
	var names []string
	for _, l := range reg.Layers() {
		names = append(names, l.Name)
	}
	m := metrics.New(metrics.Sources{TileCache: cache, Index: ix, Layers: names, Feed: fl, Events: hub,
		Ingest: svc.Stats, MQTT: consumer.Stats,
		DB: []func() metrics.DBStats{metrics.SQLDB("gpkg_writer", gs.WriterStats), metrics.SQLDB("gpkg_reader", gs.ReaderStats)}})
	h, err := httpapi.New(httpapi.Config{Registry: reg, Store: gs, Index: ix, Logger: quiet, Tiles: tiles.NewService(rd, cache),
		Readiness: fl, Events: hub, Ingest: svc, SensorStore: gs, Tokens: gs, Metrics: m, MetricsToken: scrapeToken,
		ReadAccess: httpapi.ReadViewer, RateLimits: httpapi.RateLimits{Reads: httpapi.Rate{PerSecond: 0.01, Burst: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{srv: httptest.NewServer(h), st: gs, feed: fl, m: m, sensor: secret, spool: sp}
	t.Cleanup(func() {
		r.srv.CloseClientConnections()
		r.srv.Close()
		cancel()
		for range 3 {
			<-done
		}
		gs.Close()
	})
	return r
}

func (r *rig) get(t *testing.T, path string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// value is the value of the series of family name whose labels include want, and
// whether there is one.
func value(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) (float64, bool) {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func TestMetricsAfterRequests(t *testing.T) {
	r := newRig(t)
	g := r.m.Gatherer()
	viewer := func() string {
		secret, hash, err := store.NewSecret(store.TokenPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.st.CreateToken(context.Background(), store.NewToken{Name: "wall", Role: "viewer", CreatedBy: "test", Hash: hash}); err != nil {
			t.Fatal(err)
		}
		return "Bearer " + secret
	}()
	// A tile twice: a miss, then a hit, for the layer.
	const tile = "/tiles/waterlogging_spots/14/13353/7133.mvt"
	for i := range 2 {
		if code, body := r.get(t, tile, "Authorization", viewer); code != 200 && code != 204 {
			t.Fatalf("tile %d: %d %s", i, code, body)
		}
	}
	hits, _ := value(t, g, "riskmap_tile_cache_hits_total", map[string]string{"layer": "waterlogging_spots"})
	misses, _ := value(t, g, "riskmap_tile_cache_misses_total", map[string]string{"layer": "waterlogging_spots"})
	if hits != 1 || misses != 1 {
		t.Fatalf("tile cache: %v hits, %v misses; want 1 and 1", hits, misses)
	}
	if n, ok := value(t, g, "riskmap_tile_cache_entries", map[string]string{"layer": "waterlogging_spots"}); !ok || n != 1 {
		t.Fatalf("tile cache entries %v %v", n, ok)
	}
	if b, ok := value(t, g, "riskmap_tile_cache_bytes", map[string]string{"layer": "waterlogging_spots"}); !ok || b < 256 {
		t.Fatalf("tile cache bytes %v %v", b, ok)
	}
	// Reads: by their route template, whatever the path.
	for _, p := range []string{"/api/v1/features/waterlogging_spots/1", "/api/v1/features/waterlogging_spots/2"} {
		if code, body := r.get(t, p, "Authorization", viewer); code != 200 {
			t.Fatalf("%s: %d %s", p, code, body)
		}
	}
	if n, _ := value(t, g, "riskmap_http_request_duration_seconds", map[string]string{"route": "/api/v1/features/{layer}/{id}", "method": "GET", "code": "2xx"}); n != 2 {
		t.Fatalf("feature reads observed %v times; want 2", n)
	}
	if n, _ := value(t, g, "riskmap_http_request_duration_seconds", map[string]string{"route": "/tiles/{layers}/{z}/{x}/{y}.mvt", "method": "GET"}); n != 2 {
		t.Fatalf("tiles observed %v times; want 2", n)
	}
	r.get(t, "/no/such/path")
	if n, _ := value(t, g, "riskmap_http_request_duration_seconds", map[string]string{"route": "unmatched", "code": "4xx"}); n != 1 {
		t.Fatalf("unmatched observed %v times", n)
	}
	// A reading through the API: the ingest counter moves.
	body := fmt.Sprintf(`[{"sensor_id": 1, "time": %q, "value": 3}]`, time.Now().UTC().Add(-time.Minute).Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/api/v1/readings", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+r.sensor)
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("reading: %d", resp.StatusCode)
	}
	if n, _ := value(t, g, "riskmap_ingest_readings_accepted_total", nil); n != 1 {
		t.Fatalf("readings accepted %v; want 1", n)
	}
	// The spool's depth: one segment written while the "database was down".
	if n, _ := value(t, g, "riskmap_ingest_spool_segments", nil); n != 0 {
		t.Fatalf("spool segments %v before any", n)
	}
	if err := r.spool.Append([]sensors.Reading{{SensorID: 1, Time: time.Now().Add(-time.Minute), Value: 2}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := value(t, g, "riskmap_ingest_spool_segments", nil); n != 1 {
		t.Fatalf("spool segments %v; want 1", n)
	}
	// An event stream client is counted while connected.
	ctx, stop := context.WithCancel(context.Background())
	sreq, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL+"/api/v1/events", nil)
	sreq.Header.Set("Authorization", viewer)
	sresp, err := r.srv.Client().Do(sreq)
	if err != nil {
		t.Fatal(err)
	}
	if sresp.StatusCode != 200 {
		t.Fatalf("event stream: %d", sresp.StatusCode)
	}
	if n, _ := value(t, g, "riskmap_sse_clients", nil); n != 1 {
		t.Fatalf("sse clients %v with one stream open", n)
	}
	// A change through the store reaches the index through the feed: counts,
	// sequence and lag follow.
	before, _ := value(t, g, "riskmap_index_features", map[string]string{"layer": "waterlogging_spots"})
	if before != 2 {
		t.Fatalf("index features %v; want 2", before)
	}
	if _, err := r.st.Upsert(context.Background(), feature.Feature{Layer: layers.WaterloggingSpots, Geometry: orb.Point{114.11, 22.545},
		Props: map[string]any{"external_id": "WS-9", "name": "新积水点", "kind": "underpass"}}, store.WriteOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	sensortest.WaitFor(t, 30*time.Second, "the change applied", func() bool {
		n, _ := value(t, g, "riskmap_index_features", map[string]string{"layer": "waterlogging_spots"})
		return n == 3
	})
	if seq, _ := value(t, g, "riskmap_feed_last_seq", nil); seq < 1 {
		t.Fatalf("feed last seq %v", seq)
	}
	lag, ok := value(t, g, "riskmap_feed_lag_seconds", nil)
	if !ok || lag < 0 || lag > 30 {
		t.Fatalf("feed lag %v s", lag)
	}
	if at, _ := value(t, g, "riskmap_feed_last_applied_timestamp_seconds", nil); time.Since(time.Unix(int64(at), 0)) > time.Minute {
		t.Fatalf("feed last applied at %v", at)
	}
	if l, _ := value(t, g, "riskmap_feed_loaded", nil); l != 1 {
		t.Fatal("feed not loaded")
	}
	stop()
	sresp.Body.Close()
	// DB pools: the GeoPackage's writer has one connection at most.
	if n, ok := value(t, g, "riskmap_db_pool_max_connections", map[string]string{"pool": "gpkg_writer"}); !ok || n != 1 {
		t.Fatalf("writer pool max %v %v", n, ok)
	}
	if _, ok := value(t, g, "riskmap_db_pool_connections", map[string]string{"pool": "gpkg_reader", "state": "idle"}); !ok {
		t.Fatal("no reader pool series")
	}

	// The scrape: the token is needed; the page's read access does not apply, nor
	// the address's read budget (three requests, spent now: the fourth is refused).
	code := 0
	for range 4 {
		code, _ = r.get(t, "/api/v1/layers")
	}
	if code != 429 {
		t.Fatalf("the address's read budget is not spent: %d", code)
	}
	if code, body := r.get(t, "/metrics"); code != 401 || !strings.Contains(body, `"code":"unauthorized"`) {
		t.Fatalf("scrape without the token: %d %s", code, body)
	}
	if code, _ := r.get(t, "/metrics", "Authorization", "Bearer wrong"); code != 401 {
		t.Fatalf("scrape with a wrong token: %d", code)
	}
	var text string
	for range 3 {
		code, body := r.get(t, "/metrics", "Authorization", "Bearer "+scrapeToken)
		if code != 200 {
			t.Fatalf("scrape: %d %s", code, body)
		}
		text = body
	}
	for _, fam := range []string{"riskmap_http_request_duration_seconds_bucket", "riskmap_tile_cache_hits_total", "riskmap_tile_cache_misses_total",
		"riskmap_tile_cache_bytes", "riskmap_index_features", "riskmap_feed_lag_seconds", "riskmap_sse_clients",
		"riskmap_ingest_readings_accepted_total", "riskmap_ingest_spool_segments", "riskmap_db_pool_connections",
		"go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(text, "\n"+fam) {
			t.Errorf("the scrape has no %s", fam)
		}
	}
	// Route labels are templates: no raw path (tile numbers, feature ids) in any.
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, `route="`) && (strings.Contains(l, "13353") || strings.Contains(l, "waterlogging_spots/1") || strings.Contains(l, "/no/such")) {
			t.Errorf("a raw path in a route label: %s", l)
		}
	}
	// The scrapes themselves are observed under /metrics.
	if n, _ := value(t, g, "riskmap_http_request_duration_seconds", map[string]string{"route": "/metrics", "code": "2xx"}); n < 2 {
		t.Fatalf("scrapes observed %v times", n)
	}
}

// TestPgxPool reads a real PostgreSQL pool: a held connection is in use.
func TestPgxPool(t *testing.T) {
	url := os.Getenv("RISKMAP_TEST_DATABASE_URL")
	if url == "" {
		t.Skip("RISKMAP_TEST_DATABASE_URL is not set: no PostgreSQL to read a pool of")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 3
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(metrics.Sources{DB: []func() metrics.DBStats{metrics.PgxPool("postgis", pool.Stat)}})
	inUse, _ := value(t, m.Gatherer(), "riskmap_db_pool_connections", map[string]string{"pool": "postgis", "state": "in_use"})
	maxConns, _ := value(t, m.Gatherer(), "riskmap_db_pool_max_connections", map[string]string{"pool": "postgis"})
	conn.Release()
	idle, _ := value(t, m.Gatherer(), "riskmap_db_pool_connections", map[string]string{"pool": "postgis", "state": "idle"})
	if inUse != 1 || maxConns != 3 || idle != 1 {
		t.Fatalf("in use %v (want 1), max %v (want 3), idle after release %v (want 1)", inUse, maxConns, idle)
	}
}
