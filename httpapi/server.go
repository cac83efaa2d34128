// Package httpapi is riskmap's HTTP interface: routes, JSON encoding and the mapping
// of errors to statuses (errors.go). One file per route group. Handlers read through
// the small interfaces declared here and never open connections themselves; every
// request runs under its own context with a timeout.
package httpapi

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"riskmap/events"
	"riskmap/index"
	"riskmap/internal/obs"
	"riskmap/layers"
	"riskmap/tiles"
)

// Store is what the routes need of the store: readiness. Reads come from the index.
type Store interface {
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
}

// Config configures the handler.
type Config struct {
	Registry *layers.Registry
	Store    Store
	// Index answers every read.
	Index  *index.Index
	Logger *slog.Logger
	// RequestTimeout bounds each request's work (database calls included).
	// Zero means 10 seconds.
	RequestTimeout time.Duration
	// Tiles serves the vector tiles. When nil, New makes one with the default
	// options and a 256 MB cache, and registers the cache with Index.OnApply.
	Tiles *tiles.Service
	// PublicURL is the absolute URL clients reach the server at (no trailing
	// slash), for TileJSON and the style; empty means the request's scheme and Host.
	PublicURL string
	// Readiness reports whether the index is loaded and why it may be behind the
	// database (the change feed). Nil means the index is always loaded and /readyz
	// only pings the store.
	Readiness Readiness
	// Events is the hub behind the live stream GET /api/v1/events (Server-Sent
	// Events); whoever owns it runs it (Hub.Run) and publishes to it. When nil the
	// route answers 503 with a JSON error: live events are not enabled.
	Events *events.Hub
	// Ingest takes sensor readings (POST /api/v1/readings) and knows the live
	// state of sensors; SensorStore holds sensors, reading history, alerts and
	// signals. When either is nil the sensor routes answer 503.
	Ingest      Ingest
	SensorStore SensorStore
	// IngestStats returns the sensor ingest counters (GET /api/v1/ingest/stats);
	// nil: the route answers 503.
	IngestStats func() any
	// WriteToken is the legacy single write token (deprecated): it acts as an
	// admin. Empty: none. With neither it nor Tokens, writes answer 403.
	WriteToken string
	// Tokens holds the API tokens and the page's sign-in sessions; nil: only the
	// legacy write token authenticates and signing in is not available.
	Tokens Tokens
	// ReadAccess is ReadPublic (default: anyone reads) or ReadViewer (every read
	// route but /healthz, /readyz, the page's files and sign-in needs a viewer,
	// editor or admin token or session).
	ReadAccess string
	// SessionTTL is how long a sign-in session lasts; zero means 12 hours.
	SessionTTL time.Duration
	// AuthCacheTTL is how long a token or session lookup is reused, and so how
	// long a revocation made by another process may take to apply here; zero
	// means 5 seconds.
	AuthCacheTTL time.Duration
	// EditStore takes feature edits and hazard moves with their audit rows and
	// answers the audit log and hazard lists (edits.go, audit.go, hazards.go);
	// nil: those routes answer 503.
	EditStore EditStore
	// Page is the wall map's files (package static), served at / and /app/; nil:
	// no page.
	Page fs.FS
	// Basemap is the page's background: the offline basemap and an optional
	// raster basemap (GET /api/v1/config, /api/v1/basemap).
	Basemap Basemap
	// RateLimits are the request budgets per token or client address
	// (ratelimit.go); the zero value limits nothing, DefaultRateLimits() are the
	// production ones.
	RateLimits RateLimits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For / X-Real-IP
	// name the client (ParseTrustedProxies); none: the connection's peer is the
	// client.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the exact origins other web pages may call the API from
	// (ParseCORSOrigins); none by default.
	CORSOrigins []string
	// Metrics observes every request and serves GET /metrics (package metrics);
	// nil: no /metrics.
	Metrics Metrics
	// MetricsToken, when set, must come as "Authorization: Bearer <token>" with
	// every scrape of /metrics; empty: /metrics is open (a private network).
	MetricsToken string
}

// Readiness is the state of the index against the database.
type Readiness interface {
	// Ready reports whether the index has been loaded, and the reasons it may be
	// behind the database now (empty when following normally).
	Ready() (loaded bool, degraded []string)
}

type server struct {
	reg     *layers.Registry
	store   Store
	ix      *index.Index
	log     *slog.Logger
	timeout time.Duration
	tiles   *tiles.Service
	ready   Readiness
	hub     *events.Hub // nil: no live events
	ingest  Ingest
	sensors SensorStore

	writeToken  string
	ingestStats func() any
	edits       EditStore

	tokens     Tokens // nil: no tokens, no sessions
	readAccess string
	sessionTTL time.Duration
	auth       *authCache

	publicURL string

	basemap                    Basemap
	basemapWGS84, basemapGCJ02 []byte

	limits       *limiter
	proxies      []netip.Prefix
	corsOrigins  []string
	metrics      Metrics // nil: none
	metricsToken string
}

// New returns the HTTP handler for all of riskmap's routes.
func New(cfg Config) (http.Handler, error) {
	s := &server{reg: cfg.Registry, store: cfg.Store, ix: cfg.Index, log: cfg.Logger, timeout: cfg.RequestTimeout,
		tiles: cfg.Tiles, publicURL: strings.TrimRight(cfg.PublicURL, "/"), ready: cfg.Readiness, hub: cfg.Events,
		ingest: cfg.Ingest, sensors: cfg.SensorStore, writeToken: cfg.WriteToken, ingestStats: cfg.IngestStats,
		basemap: cfg.Basemap}
	s.tokens, s.readAccess, s.sessionTTL = cfg.Tokens, cfg.ReadAccess, cfg.SessionTTL
	s.edits = cfg.EditStore
	s.limits, s.proxies, s.metrics, s.metricsToken = newLimiter(cfg.RateLimits), cfg.TrustedProxies, cfg.Metrics, cfg.MetricsToken
	origins, err := ParseCORSOrigins(cfg.CORSOrigins)
	if err != nil {
		return nil, err
	}
	s.corsOrigins = origins
	switch s.readAccess {
	case "":
		s.readAccess = ReadPublic
	case ReadPublic, ReadViewer:
	default:
		return nil, fmt.Errorf("httpapi: read access %q: want public or viewer", cfg.ReadAccess)
	}
	if s.readAccess == ReadViewer && s.tokens == nil {
		return nil, fmt.Errorf("httpapi: read access viewer needs a token store")
	}
	if s.sessionTTL <= 0 {
		s.sessionTTL = 12 * time.Hour
	}
	cacheTTL := cfg.AuthCacheTTL
	if cacheTTL <= 0 {
		cacheTTL = 5 * time.Second
	}
	s.auth = newAuthCache(cacheTTL)
	switch cfg.Basemap.CRS {
	case "", "wgs84", "gcj02":
	default:
		return nil, fmt.Errorf("httpapi: basemap CRS %q: want wgs84 or gcj02", cfg.Basemap.CRS)
	}
	if s.basemapWGS84, err = encodeBasemap(cfg.Basemap.Features, nil); err != nil {
		return nil, fmt.Errorf("httpapi: basemap: %w", err)
	}
	if s.basemapGCJ02, err = encodeBasemap(cfg.Basemap.Features, gcj02); err != nil {
		return nil, fmt.Errorf("httpapi: basemap: %w", err)
	}
	if s.tiles == nil {
		ts, err := defaultTileService(cfg.Registry, cfg.Index)
		if err != nil {
			return nil, err
		}
		s.tiles = ts
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	// Every line logged with a request's context carries its request id.
	s.log = slog.New(obs.NewHandler(s.log.Handler()))
	if s.timeout == 0 {
		s.timeout = 10 * time.Second
	}
	r := mux.NewRouter()
	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/layers", s.handle(s.listLayers)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/nearby", s.handle(s.nearby)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/query", s.handle(s.queryPost)).Methods(http.MethodPost)
	r.Handle("/api/v1/dispatch", s.handle(s.dispatch)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/report", s.handle(s.reportGet)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/report", s.handle(s.reportPost)).Methods(http.MethodPost)
	r.Handle("/api/v1/search", s.handle(s.search)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/features/{layer}/{id}", s.handle(s.feature)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/tiles/{layers}/{z}/{x}/{y}.mvt", s.handle(s.tile)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/tiles/{layers}.json", s.handle(s.tileJSON)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/styles/riskmap.json", s.handle(s.style)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/readings", s.handle(s.postReadings)).Methods(http.MethodPost)
	r.Handle("/api/v1/ingest/stats", s.handle(s.ingestStatsRoute)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/sensors", s.handle(s.listSensors)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/sensors/{id}/readings", s.handle(s.sensorReadings)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/features/{layer}/{id}/sensors", s.handle(s.featureSensors)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/drill/end", s.handle(s.endDrill)).Methods(http.MethodPost)
	r.Handle("/api/v1/alerts", s.handle(s.listAlerts)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/alerts/{id}/ack", s.handle(s.ackAlert)).Methods(http.MethodPost)
	r.Handle("/api/v1/signals", s.handle(s.listSignals)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/signals/{kind}", s.handle(s.setSignal)).Methods(http.MethodPut)
	r.Handle("/api/v1/events", s.handle(s.eventStream)).Methods(http.MethodGet).Name(eventsRoute)
	r.Handle("/api/v1/config", s.handle(s.config)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/basemap", s.handle(s.basemapRoute)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/stats", s.handle(s.stats)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/glyphs/{fontstack}/{range}.pbf", s.handle(s.glyphs)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/session", s.handle(s.createSession)).Methods(http.MethodPost)
	r.Handle("/api/v1/session", s.handle(s.getSession)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/session", s.handle(s.deleteSession)).Methods(http.MethodDelete)
	r.Handle("/api/v1/tokens", s.handle(s.listTokens)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/tokens", s.handle(s.createToken)).Methods(http.MethodPost)
	r.Handle("/api/v1/tokens/{id}", s.handle(s.revokeToken)).Methods(http.MethodDelete)
	s.editRoutes(r)
	s.exportRoutes(r)
	s.ogcRoutes(r)
	if cfg.Page != nil {
		// The page loads while the index does: it shows "loading" itself.
		page, err := newStaticFiles(cfg.Page)
		if err != nil {
			return nil, err
		}
		r.Handle("/", page).Methods(http.MethodGet, http.MethodHead)
		r.PathPrefix("/app/").Handler(page).Methods(http.MethodGet, http.MethodHead)
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeError(w, req, errRouteNotFound)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeError(w, req, errMethodNotAllowed)
	})
	r.Use(s.withRoute, s.withBodyLimit, s.withTimeout, s.withRateLimit, s.withReadAccess)
	// Around the router, outermost first: the request id, the access log and
	// latency metrics, the security headers, CORS, /metrics.
	var h http.Handler = r
	h = s.withMetricsRoute(h)
	h = s.withCORS(h)
	h = s.withSecurityHeaders(h)
	h = s.withAccessLog(h)
	h = s.withRequestID(h)
	return &handler{Handler: h, router: r}, nil
}

// handler is New's answer: the router inside its middleware, kept for the tests
// that walk the routes.
type handler struct {
	http.Handler
	router *mux.Router
}

// handle adapts a handler that returns an error: the error becomes the response
// through writeError, the one place errors are mapped to statuses.
func (s *server) handle(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.ready != nil {
			if loaded, _ := s.ready.Ready(); !loaded {
				s.writeError(w, r, errLoading)
				return
			}
		}
		if err := fn(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// withTimeout gives each request a context that ends after the request timeout —
// except the event stream, which lasts as long as its client, and an export
// download, which gets ExportTimeout.
func (s *server) withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var route string
		if rt := mux.CurrentRoute(r); rt != nil {
			route = rt.GetName()
		}
		timeout := s.timeout
		switch route {
		case eventsRoute:
			next.ServeHTTP(w, r)
			return
		case exportRoute:
			timeout = max(timeout, ExportTimeout)
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
