package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
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
	fs, c, cf := newServeFlags("serve", "Run the HTTP server. It loads every feature into the in-memory index, then serves\n/healthz, /readyz, /api/v1/layers, nearby, query, dispatch, search, features,\nvector tiles (/tiles/...), TileJSON and the MapLibre style (/styles/riskmap.json).\nThe database schema must be at this binary's version (run riskmap migrate).\n\nSettings come from the defaults, a TOML file (--config, env RISKMAP_CONFIG), the\nenvironment and these flags, each overriding the one before; riskmap config check\nprints the result (docs/configuration.md, deploy/riskmap.toml).\nOn SIGTERM or SIGINT it stops accepting, lets requests finish within\n--shutdown-grace, ends event streams with a shutdown event, and exits 0.", stdout, stderr)
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if err := loadServeConfig(fs, cf, c, os.LookupEnv); err != nil {
		reportConfigError(stderr, "riskmap serve", err)
		return 2
	}
	log, err := newLogger(stderr, c.LogFormat, c.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap serve: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap serve: %v\n", err)
		return 1
	}
	if f := cf.configFile(os.LookupEnv); f != "" {
		log.Info("configuration read", "file", f)
	}
	opt := c.Opt
	opt.progress = stdout
	if err := serve(ctx, c.Store, ln, log, opt); err != nil {
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
	// The HTTP server's timeouts (0: the defaults, defaultReadHeaderTimeout...).
	// The event stream is exempt from read, write and request timeouts.
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	// requestTimeout bounds each request's work (0: defaultRequestTimeout).
	requestTimeout time.Duration
	// shutdownGrace is how long in-flight requests may take to finish once the
	// server is told to stop (0: defaultShutdownGrace).
	shutdownGrace time.Duration
	// rateLimits are the request budgets per token or client address (zero:
	// none); corsOrigins the origins allowed to call the API; trustedProxies the
	// proxies whose forwarding headers name the client (httpapi.Config).
	rateLimits     httpapi.RateLimits
	corsOrigins    []string
	trustedProxies []string
	// metricsToken must come with every scrape of /metrics; empty: open.
	metricsToken string
	// noMetrics turns /metrics off.
	noMetrics bool
}

// orDefault is d, or def when d is 0.
func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// shutdownRetry is the reconnection delay the final shutdown event suggests to
// stream clients: a restarted process or another replica is expected by then.
const shutdownRetry = 3 * time.Second

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
	closeStore := sync.OnceFunc(s.Close)
	defer closeStore()
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
		Page: static.FS(), RequestTimeout: orDefault(opt.requestTimeout, defaultRequestTimeout),
		RateLimits: opt.rateLimits, CORSOrigins: opt.corsOrigins, MetricsToken: opt.metricsToken}
	if hcfg.TrustedProxies, err = httpapi.ParseTrustedProxies(opt.trustedProxies); err != nil {
		return err
	}
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
	if !opt.noMetrics {
		hcfg.Metrics = newMetrics(reg, s, ix, cache, follower, hub, ing, consumer)
	}
	handler, err := httpapi.New(hcfg)
	if err != nil {
		return err
	}
	// Requests run under their own base context: the signal that starts the
	// shutdown must not cancel the requests it lets finish. It is cancelled only
	// when the grace period is over.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: orDefault(opt.readHeaderTimeout, defaultReadHeaderTimeout),
		ReadTimeout:       orDefault(opt.readTimeout, defaultReadTimeout),
		WriteTimeout:      orDefault(opt.writeTimeout, defaultWriteTimeout),
		IdleTimeout:       orDefault(opt.idleTimeout, defaultIdleTimeout),
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// The background work stops in two steps at shutdown: first the intake —
	// the wait for the schema and the MQTT consumer, so nothing more is taken
	// from the broker — then everything else. Not with ctx: the hub must still
	// run when the shutdown ends the streams with their shutdown event.
	feedCtx, stopFeed := context.WithCancel(context.WithoutCancel(ctx))
	intakeCtx, stopIntake := context.WithCancel(feedCtx)
	defer stopIntake()
	var bg sync.WaitGroup // the sensor services: they write to s until they stop
	defer func() { stopFeed(); bg.Wait() }()
	hubDone := make(chan struct{})
	go func() { hub.Run(feedCtx); close(hubDone) }()
	defer func() { stopFeed(); <-hubDone }()
	// intakeDone is closed once the MQTT consumer has stopped, or is known never
	// to start; every bg.Go has been called by then.
	intakeDone := make(chan struct{})
	endIntake := sync.OnceFunc(func() { close(intakeDone) })
	feedErr := make(chan error, 1)
	go func() {
		if err := waitForSchema(intakeCtx, s, log); err != nil {
			endIntake()
			feedErr <- err
			return
		}
		bg.Go(func() { ingest.NewRelay(s, hub, ix, log).Run(feedCtx) })
		if ing != nil {
			bg.Go(func() { _ = ing.Run(feedCtx) })
		}
		if consumer != nil {
			bg.Go(func() { defer endIntake(); _ = consumer.Run(intakeCtx) })
		} else {
			endIntake()
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
	return shutdown(shutdownSteps{
		log: log, grace: orDefault(opt.shutdownGrace, defaultShutdownGrace), srv: srv, served: errc, hub: hub,
		cancelRequests: cancelRequests,
		stopMQTT:       func() { stopIntake(); <-intakeDone },
		stopBackground: func() { stopFeed(); bg.Wait(); <-hubDone },
		closeStore:     closeStore,
	}, stopErr)
}

// shutdownSteps are what shutdown stops, in its order.
type shutdownSteps struct {
	log            *slog.Logger
	grace          time.Duration
	srv            *http.Server
	served         <-chan error // srv.Serve's result
	hub            *events.Hub
	cancelRequests func() // cancels the requests' contexts
	stopMQTT       func() // stops the MQTT consumer and waits for it
	stopBackground func() // stops and waits for the feed, the ingest service, the relay and the hub
	closeStore     func()
}

// shutdown stops the server gracefully: the event streams end with a shutdown
// event (so the HTTP server need not wait for them); the listener closes (new
// connections are refused) and in-flight requests get up to the grace period to
// finish, after which their contexts are cancelled and their connections closed;
// the MQTT consumer stops (what it acknowledged is stored or spooled already;
// what it did not is redelivered by the broker to the next session) and
// disconnects; the ingest service writes the evaluation results it holds; the
// change feed, relay and hub stop; the store closes. Readings acknowledged over
// HTTP were committed before their 2xx. It logs "shutdown complete" with the
// time each step took. stopErr is the error that made the server stop, if any.
func shutdown(st shutdownSteps, stopErr error) error {
	start := time.Now()
	st.log.Info("shutting down", "grace", st.grace)
	st.hub.Shutdown(shutdownRetry)
	graceCtx, cancel := context.WithTimeout(context.Background(), st.grace)
	defer cancel()
	err := st.srv.Shutdown(graceCtx)
	cut := false
	if err != nil {
		// The grace period is over: cut what is left.
		cut = true
		st.log.Warn("shutdown: requests still running after the grace period; cutting them", "grace", st.grace)
		st.cancelRequests()
		err = st.srv.Close()
	}
	httpDone := time.Since(start)
	if serr := <-st.served; !errors.Is(serr, http.ErrServerClosed) && serr != nil {
		err = errors.Join(err, serr)
	}
	st.stopMQTT()
	mqttDone := time.Since(start)
	st.stopBackground()
	bgDone := time.Since(start)
	st.closeStore()
	total := time.Since(start)
	st.log.Info("shutdown complete", "http", httpDone.Round(time.Millisecond), "requests_cut", cut,
		"mqtt", (mqttDone - httpDone).Round(time.Millisecond), "background", (bgDone - mqttDone).Round(time.Millisecond),
		"store", (total - bgDone).Round(time.Millisecond), "total", total.Round(time.Millisecond))
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
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
