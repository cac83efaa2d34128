package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"riskmap/demo"
	"riskmap/events"
	"riskmap/feed"
	"riskmap/httpapi"
	"riskmap/index"
	"riskmap/ingest"
	"riskmap/ingest/mqtt"
	"riskmap/ingest/spool"
	"riskmap/layers"
	"riskmap/static"
	"riskmap/store"
	"riskmap/tiles"
)

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "Run the HTTP server. It loads every feature into the in-memory index, then serves\n/healthz, /readyz, /api/v1/layers, nearby, query, dispatch, search, features,\nvector tiles (/tiles/...), TileJSON and the MapLibre style (/styles/riskmap.json).\nThe database schema must be at this binary's version (run riskmap migrate).", stdout, stderr)
	sf := addStoreFlags(fs)
	addr := fs.String("addr", envOr("RISKMAP_ADDR", ":8080"), "listen address (env RISKMAP_ADDR)")
	var opt serveOptions
	fs.Int64Var(&opt.tileCacheMB, "tile-cache-mb", envInt("RISKMAP_TILE_CACHE_MB", 256), "bytes of encoded tiles kept in memory, in MB (env RISKMAP_TILE_CACHE_MB)")
	fs.IntVar(&opt.clusterBelow, "cluster-below", int(envInt("RISKMAP_CLUSTER_BELOW", 15)), "cluster risk points in tiles below this zoom (env RISKMAP_CLUSTER_BELOW)")
	fs.DurationVar(&opt.changeRetention, "change-retention", envDuration("RISKMAP_CHANGE_RETENTION", 7*24*time.Hour), "how long the change log keeps rows (a process offline longer reloads everything); 0 keeps them forever (env RISKMAP_CHANGE_RETENTION)")
	fs.DurationVar(&opt.eventFlush, "event-flush", envDuration("RISKMAP_EVENT_FLUSH", 100*time.Millisecond), "how often the event stream writes to its clients, 1ms–250ms: changes of one object within it are coalesced (env RISKMAP_EVENT_FLUSH)")
	fs.BoolVar(&opt.ingest, "ingest", envBool("RISKMAP_INGEST", true), "run the sensor ingest service (readings, warning levels, alerts); run it in one process per database (env RISKMAP_INGEST)")
	fs.StringVar(&opt.mqttURL, "mqtt-url", envOr("RISKMAP_MQTT_URL", ""), "MQTT broker to take readings from (riskmap/readings/#, QoS 1), e.g. tcp://127.0.0.1:1883; empty: none (env RISKMAP_MQTT_URL)")
	fs.StringVar(&opt.mqttTopic, "mqtt-topic", envOr("RISKMAP_MQTT_TOPIC", "riskmap/readings/#"), "MQTT topic filter the readings come on (env RISKMAP_MQTT_TOPIC)")
	fs.StringVar(&opt.mqttClientID, "mqtt-client-id", envOr("RISKMAP_MQTT_CLIENT_ID", "riskmap-ingest"), "MQTT client id: names the persistent session, keep it stable (env RISKMAP_MQTT_CLIENT_ID)")
	fs.StringVar(&opt.spoolDir, "spool-dir", envOr("RISKMAP_SPOOL_DIR", "riskmap-spool"), "directory of the on-disk spool of MQTT readings taken while the database is down (env RISKMAP_SPOOL_DIR)")
	fs.DurationVar(&opt.sensorTick, "sensor-tick", envDuration("RISKMAP_SENSOR_TICK", 10*time.Second), "how often silent sensors are looked for (env RISKMAP_SENSOR_TICK)")
	writeTokenFile := fs.String("write-token-file", envOr("RISKMAP_WRITE_TOKEN_FILE", ""), "deprecated: file holding a legacy write token that acts as an admin token (env RISKMAP_WRITE_TOKEN_FILE, or the token itself in RISKMAP_WRITE_TOKEN); use riskmap token create instead")
	fs.StringVar(&opt.readAccess, "read-access", envOr("RISKMAP_READ_ACCESS", httpapi.ReadPublic), "who may read: public (anyone) or viewer (a viewer, editor or admin token or sign-in session; /healthz, /readyz, the page's files and sign-in stay open) (env RISKMAP_READ_ACCESS)")
	fs.DurationVar(&opt.sessionTTL, "session-ttl", envDuration("RISKMAP_SESSION_TTL", 12*time.Hour), "how long a page's sign-in session lasts (env RISKMAP_SESSION_TTL)")
	fs.StringVar(&opt.basemapURL, "basemap-url", envOr("RISKMAP_BASEMAP_URL", ""), "optional raster basemap tile URL for the wall map ({z}/{x}/{y}); empty: the offline basemap only (env RISKMAP_BASEMAP_URL)")
	fs.StringVar(&opt.basemapCRS, "basemap-crs", envOr("RISKMAP_BASEMAP_CRS", "wgs84"), "the raster basemap's coordinates: wgs84 (Tianditu, CGCS2000) or gcj02 (AMap, Tencent: the page then draws the layers in GCJ-02) (env RISKMAP_BASEMAP_CRS)")
	fs.StringVar(&opt.basemapAttribution, "basemap-attribution", envOr("RISKMAP_BASEMAP_ATTRIBUTION", ""), "attribution shown for the raster basemap (env RISKMAP_BASEMAP_ATTRIBUTION)")
	fs.StringVar(&opt.publicURL, "public-url", envOr("RISKMAP_PUBLIC_URL", ""), "absolute URL clients reach the server at, for TileJSON and the style; default: from each request (env RISKMAP_PUBLIC_URL)")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if opt.tileCacheMB < 0 || opt.clusterBelow < 0 || opt.clusterBelow > tiles.MaxZoom+1 || opt.changeRetention < 0 ||
		opt.eventFlush < time.Millisecond || opt.eventFlush > 250*time.Millisecond {
		fmt.Fprintf(stderr, "riskmap serve: --tile-cache-mb and --change-retention must be ≥ 0, --cluster-below in 0..%d, --event-flush in 1ms..250ms\n", tiles.MaxZoom+1)
		return 2
	}
	if opt.readAccess != httpapi.ReadPublic && opt.readAccess != httpapi.ReadViewer {
		fmt.Fprintf(stderr, "riskmap serve: --read-access %q: want public or viewer\n", opt.readAccess)
		return 2
	}
	if opt.sessionTTL < time.Minute {
		fmt.Fprintf(stderr, "riskmap serve: --session-ttl %v: want at least 1m\n", opt.sessionTTL)
		return 2
	}
	if opt.basemapCRS != "wgs84" && opt.basemapCRS != "gcj02" {
		fmt.Fprintf(stderr, "riskmap serve: --basemap-crs %q: want wgs84 or gcj02\n", opt.basemapCRS)
		return 2
	}
	tok, err := writeToken(*writeTokenFile)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap serve: %v\n", err)
		return 1
	}
	opt.writeToken = tok
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap serve: %v\n", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	opt.progress = stdout
	if err := serve(ctx, sf.spec(), ln, log, opt); err != nil {
		log.Error("riskmap serve stopped", "err", err)
		return 1
	}
	return 0
}

// serveOptions are the serve command's tuning flags.
type serveOptions struct {
	tileCacheMB     int64
	clusterBelow    int
	publicURL       string
	changeRetention time.Duration
	eventFlush      time.Duration
	ingest          bool
	mqttURL         string
	mqttClientID    string
	mqttTopic       string
	spoolDir        string
	sensorTick      time.Duration
	writeToken      string
	readAccess      string
	sessionTTL      time.Duration
	// The wall map's raster basemap (optional).
	basemapURL, basemapCRS, basemapAttribution string
	// progress receives the lines of preparing a new GeoPackage (nil: none).
	progress io.Writer
	// mqttSessionExpiry: how long the broker keeps the consumer's session (0:
	// the consumer's default, 7 days). Tests shorten it.
	mqttSessionExpiry time.Duration
}

// serve runs the server on ln until ctx ends, then shuts down gracefully. It serves
// HTTP at once (/readyz says "loading" until the index is loaded). On PostGIS the
// database may be down at start: the change feed retries until it answers; on the
// embedded GeoPackage a new file is created, migrated and seeded first. A schema of
// another version, or data the index cannot load, stops the server with that error.
func serve(ctx context.Context, st storeSpec, ln net.Listener, log *slog.Logger, opt serveOptions) error {
	reg := layers.New()
	progress := opt.progress
	if progress == nil {
		progress = io.Discard
	}
	s, err := st.openBackend(ctx, reg, progress)
	if err != nil {
		return err
	}
	defer s.Close()
	ix := index.New(reg)
	// Tiles: the cache is told of every change by the index, under its write lock.
	clusterBelow := opt.clusterBelow
	if clusterBelow == 0 {
		clusterBelow = -1 // 0 means "never cluster" here; Options reads 0 as the default
	}
	rd, err := tiles.NewRenderer(reg, ix, tiles.Options{ClusterBelow: clusterBelow})
	if err != nil {
		return err
	}
	cache := tiles.NewCache(opt.tileCacheMB << 20)
	ix.OnApply(cache.Invalidate)
	// Live push: every change the feed applies goes to the event stream.
	hub := events.NewHub(events.Options{Flush: opt.eventFlush})
	var follower *feed.Follower
	follower = feed.New(s, ix, feed.Options{
		Logger:    log,
		OnApplied: func(as []feed.Applied) { hub.Publish(changeEvents(reg, as, log)...) },
		OnReload:  func() { hub.Reset(follower.Status().LastSeq) },
	})
	hcfg := httpapi.Config{Registry: reg, Store: s, Index: ix, Logger: log,
		Tiles: tiles.NewService(rd, cache), PublicURL: opt.publicURL, Readiness: follower, Events: hub,
		SensorStore: s, EditStore: s, WriteToken: opt.writeToken, Tokens: s, ReadAccess: opt.readAccess, SessionTTL: opt.sessionTTL,
		Page: static.FS()}
	hcfg.Basemap, err = basemap(opt)
	if err != nil {
		return err
	}
	// Sensors: readings are stored, then evaluated; states go back to the store
	// (and through the change feed to the index and the stream); alerts and
	// signals, stored by this process or another, reach the stream through the
	// relay.
	var ing *ingest.Service
	var consumer *mqtt.Consumer
	if opt.ingest {
		ing, err = ingest.New(ingest.Config{Store: s, Registry: reg, Logger: log, TickEvery: opt.sensorTick})
		if err != nil {
			return err
		}
		hcfg.Ingest = ing
		if opt.mqttURL != "" {
			sp, err := spool.Open(opt.spoolDir)
			if err != nil {
				return err
			}
			consumer, err = mqtt.New(mqtt.Config{URL: opt.mqttURL, ClientID: opt.mqttClientID, Topic: opt.mqttTopic, Service: ing, Store: s,
				Spool: sp, SessionExpiry: opt.mqttSessionExpiry, Logger: log})
			if err != nil {
				return err
			}
		}
		hcfg.IngestStats = func() any {
			st := map[string]any{"service": ing.Stats()}
			if consumer != nil {
				st["mqtt"] = consumer.Stats()
			}
			return st
		}
	}
	handler, err := httpapi.New(hcfg)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	feedCtx, stopFeed := context.WithCancel(ctx)
	var bg sync.WaitGroup // the sensor services: they write to s until they stop
	defer func() { stopFeed(); bg.Wait() }()
	hubDone := make(chan struct{})
	go func() { hub.Run(feedCtx); close(hubDone) }()
	defer func() { stopFeed(); <-hubDone }()
	feedErr := make(chan error, 1)
	go func() {
		if err := waitForSchema(feedCtx, s, log); err != nil {
			feedErr <- err
			return
		}
		bg.Go(func() { ingest.NewRelay(s, hub, log).Run(feedCtx) })
		if ing != nil {
			bg.Go(func() { _ = ing.Run(feedCtx) })
			if consumer != nil {
				bg.Go(func() { _ = consumer.Run(feedCtx) })
			}
		}
		feedErr <- follower.Run(feedCtx)
	}()
	if opt.changeRetention > 0 {
		go pruneChanges(feedCtx, s, opt.changeRetention, log)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("riskmap serving", "addr", ln.Addr().String(), "version", buildVersion())
	var stopErr error
	select {
	case err := <-errc:
		return err
	case err := <-feedErr:
		if err != nil && ctx.Err() == nil {
			log.Error("change feed stopped", "err", err)
			stopErr = err
		}
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopFeed() // ends the event streams too (the hub stops), so Shutdown need not wait for them
	shutCtx, cancelShut := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancelShut()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return stopErr
}

// waitForSchema checks the database schema's version, retrying while the database
// cannot be reached (logging each failure), until ctx ends.
func waitForSchema(ctx context.Context, s backend, log *slog.Logger) error {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := s.CheckSchema(ctx)
		if err == nil || !errors.Is(err, store.ErrUnavailable) {
			return err
		}
		log.Warn("database unreachable; retrying", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// pruneChanges deletes change-log rows older than retention every hour (and once at
// start), until ctx ends. Several processes may prune the same database.
func pruneChanges(ctx context.Context, s backend, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := s.PruneChanges(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("pruning the change log failed; retrying in an hour", "err", err)
		case n > 0:
			log.Info("change log pruned", "rows", n, "older_than", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// changeEvents turns the changes the feed applied into stream events. A change that
// cannot be encoded is logged and left out of the stream (the index has it).
func changeEvents(reg *layers.Registry, as []feed.Applied, log *slog.Logger) []events.Event {
	out := make([]events.Event, 0, len(as))
	for _, a := range as {
		before := int8(-1)
		if a.Old != nil {
			before = a.Old.Warning
		}
		e, err := events.ChangeEvent(reg, a.Change, a.Feature, before)
		if err != nil {
			log.Error("event not published", "layer", a.Change.Layer, "id", a.Change.ID, "err", err)
			continue
		}
		out = append(out, e)
	}
	return out
}

// basemap is the wall map's background: the raster basemap of the options, and the
// offline basemap built from the demo package's real inputs (the Luohu boundary,
// BSD-3-Clause, and OpenStreetMap road names, ODbL): the district outline, the area
// around it shaded, and one label per road name at its longest way's centroid.
func basemap(opt serveOptions) (httpapi.Basemap, error) {
	bm := httpapi.Basemap{URL: opt.basemapURL, CRS: opt.basemapCRS, Attribution: opt.basemapAttribution}
	outline, err := demo.Boundary()
	if err != nil {
		return bm, err
	}
	fc := geojson.NewFeatureCollection()
	add := func(g orb.Geometry, role, name string) {
		f := geojson.NewFeature(g)
		f.Properties["role"] = role
		if name != "" {
			f.Properties["name"] = name
		}
		fc.Append(f)
	}
	// The outside: a box well around the district with the district as its hole.
	b := outline.Bound().Pad(0.25)
	box := orb.Ring{b.Min, {b.Max[0], b.Min[1]}, b.Max, {b.Min[0], b.Max[1]}, b.Min}
	hole := orb.Clone(outline[0]).(orb.Ring)
	hole.Reverse()
	add(orb.Polygon{box, hole}, "outside", "")
	add(outline, "outline", "罗湖区")
	roads, err := demo.RoadCentroids()
	if err != nil {
		return bm, err
	}
	longest := map[string]demo.RoadCentroid{}
	for _, r := range roads {
		if cur, ok := longest[r.Name]; !ok || r.LengthM > cur.LengthM {
			longest[r.Name] = r
		}
	}
	names := make([]string, 0, len(longest))
	for n := range longest {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		add(longest[n].Point, "label", n)
	}
	bm.Features = fc
	return bm, nil
}
