// Command loadgen is riskmap's load benchmark for the proximity endpoints and the
// vector tiles, with PostGIS answering the same queries in the same run
// (docs/benchmarks.md, "Proximity queries" and "Vector tiles"):
//
//	go run ./internal/cmd/loadgen -duration 10s -conns 16              # proximity
//	go run ./internal/cmd/loadgen -duration 10s -phases tiles          # vector tiles
//	go run ./internal/cmd/loadgen -phases all                          # both
//
// In one run on one machine it creates a fresh database (or uses -database-url),
// migrates it, seeds the demo dataset, loads the in-memory index, serves riskmap's
// HTTP handler on loopback ports, and then drives, one phase after another, with
// concurrent workers each doing one request at a time.
//
// -phases takes phase names or groups, comma-separated: proximity (the default), tiles
// or all. The proximity phases (-conns workers):
//
//   - kNN-10 over HTTP: GET /api/v1/nearby?lon=&lat=&k=10&layers=risk_points
//   - kNN-10 through a pgx pool: ORDER BY geom <-> pt LIMIT 10, and ORDER BY
//     geom::geography <-> pt::geography LIMIT 10 (GiST index on the cast), both
//     re-ranked on the spheroid
//   - radius 500 m over HTTP: GET /api/v1/nearby?lon=&lat=&radius=500&layers=risk_points
//     (every hit with its properties, GeoJSON)
//   - radius 500 m through pgx: ST_DWithin(geom::geography, pt::geography, 500), and
//     the geometry GiST index with a degree box plus the exact test
//
// Every proximity phase uses the same query point sequence (fixed random points in the
// built-up area, the set index/bench_test.go uses).
//
// The tile phases (each run once per -tile-conns value, without and with
// Accept-Encoding: gzip, see -tile-gzip) draw tiles from a fixed-seed random set
// (-tiles of them): a zoom uniform in 14–16, a position uniform over the district,
// every layer:
//
//   - tiles-pg: one PostGIS query per tile through pgx (JIT off on those connections),
//     the five layers' ST_AsMVT(ST_AsMVTGeom(…)) concatenated with ||, each layer with
//     the properties riskmap's tiles carry at that zoom (GiST index on
//     ST_Transform(geom, 3857) per layer, created for the run). With gzip the client
//     compresses the bytes with compress/gzip at the default level — what a tile
//     server in front of PostGIS would do for a client that accepts gzip;
//   - tiles-http-uncached: GET /tiles/all/{z}/{x}/{y}.mvt?cluster=false from a riskmap
//     server whose tile cache holds nothing (every tile rendered per request);
//   - tiles-http-cached: the same from a server with a tile cache, warmed first by
//     requesting every tile of the set once (plain and gzip);
//   - tiles-cluster-uncached, tiles-cluster-cached: GET /tiles/all/{z}/{x}/{y}.mvt
//     (risk points clustered) over a second set at zooms 10–13; PostGIS has no
//     equivalent, so these are reported alone.
//
// With -tile-rounds n, the phases of one connection count and gzip setting take turns
// in n rounds of duration/n each (warm-up/n before each), every round going on through
// the tile set where the phase's last round stopped: other load on the machine then
// falls on every side alike. docs/benchmarks.md ("Vector tiles") uses
//
//	go run ./internal/cmd/loadgen -phases tiles -tile-rounds 5 -duration 10s -warmup 2s
//
// HTTP workers hold one keep-alive connection each and read every response body in
// full (compressed bodies are not decompressed: a client's work); PostGIS workers hold
// one pooled connection each and scan every column of every row. Before timing, a few
// query points and tiles are checked against PostGIS. It prints progress every
// second, then the rates, p50/p99 latency, sizes and the ratios riskmap/PostGIS. The
// database it created is dropped at the end unless -keep.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"riskmap/demo"
	"riskmap/httpapi"
	"riskmap/index"
	"riskmap/internal/benchkit"
	"riskmap/layers"
	"riskmap/store/postgis"
	"riskmap/tiles"
)

type config struct {
	duration, warmup time.Duration
	conns            int
	databaseURL      string
	adminURL         string
	keep             bool
	phases           []string
	points           int
	k                int
	radius           float64
	check            int
	profileDir       string
	// tile phases
	tileConns  []int
	tileGzip   []bool
	tileRounds int
	tiles      int
	tileCheck  int
	cacheMB    int64
}

// has reports whether any of the phases is selected.
func (c config) has(phases []string) bool {
	for _, p := range phases {
		if slices.Contains(c.phases, p) {
			return true
		}
	}
	return false
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var cfg config
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per phase")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each phase")
	fs.IntVar(&cfg.conns, "conns", 16, "proximity phases: concurrent connections (HTTP keep-alive connections, PostgreSQL pool size)")
	fs.StringVar(&cfg.databaseURL, "database-url", "", "use this database (migrated, seeded if empty) instead of creating one")
	adminDefault := os.Getenv("RISKMAP_TEST_DATABASE_URL")
	if adminDefault == "" {
		adminDefault = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	fs.StringVar(&cfg.adminURL, "admin-url", adminDefault, "server on which to create the fresh database (default $RISKMAP_TEST_DATABASE_URL)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the database created (and the indexes created in a given one) after the run")
	phases := fs.String("phases", "proximity", "phases to run, comma-separated: names, or the groups proximity, tiles, ogc, all")
	fs.IntVar(&cfg.points, "points", 4096, "size of the query point set, cycled")
	fs.IntVar(&cfg.k, "k", 10, "k of the kNN queries")
	fs.Float64Var(&cfg.radius, "radius", 500, "radius of the radius queries, meters")
	fs.IntVar(&cfg.check, "check", 200, "query points on which to check, before timing, that HTTP and PostGIS geography answer the same ids")
	fs.StringVar(&cfg.profileDir, "cpuprofile-dir", "", "write a CPU profile of this process (server and HTTP client, or pgx client) per phase into this directory")
	tileConns := fs.String("tile-conns", "2,16", "tile phases: concurrent connections, comma-separated; every tile phase runs once per value")
	tileGzip := fs.String("tile-gzip", "no,yes", "tile phases: without (no) and/or with (yes) Accept-Encoding: gzip, comma-separated")
	fs.IntVar(&cfg.tileRounds, "tile-rounds", 1, "tile phases: split each phase into this many rounds, the phases of one connection count and gzip setting taking turns, so that other load on the machine falls on every side alike")
	fs.IntVar(&cfg.tiles, "tiles", 1024, "tile phases: size of each random tile set (z14–16, and z10–13 for the clustered phases), cycled")
	fs.IntVar(&cfg.tileCheck, "tile-check", 64, "tiles of the set on which to check, before timing, riskmap's tiles against PostGIS's and the cache")
	fs.Int64Var(&cfg.cacheMB, "tile-cache-mb", 256, "tile cache of the cached server, MB")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	for _, p := range strings.Split(*phases, ",") {
		switch p {
		case "proximity":
			cfg.phases = append(cfg.phases, proximityPhases...)
		case "tiles":
			cfg.phases = append(cfg.phases, tilePhases...)
		case "ogc":
			cfg.phases = append(cfg.phases, ogcPhases...)
		case "all":
			cfg.phases = append(cfg.phases, proximityPhases...)
			cfg.phases = append(cfg.phases, tilePhases...)
			cfg.phases = append(cfg.phases, ogcPhases...)
		default:
			if !slices.Contains(proximityPhases, p) && !slices.Contains(tilePhases, p) && !slices.Contains(ogcPhases, p) {
				return fmt.Errorf("unknown phase %q (have the groups proximity, tiles, ogc, all and %s, %s, %s)", p,
					strings.Join(proximityPhases, ", "), strings.Join(tilePhases, ", "), strings.Join(ogcPhases, ", "))
			}
			cfg.phases = append(cfg.phases, p)
		}
	}
	for _, c := range strings.Split(*tileConns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("-tile-conns: %q is not a positive number", c)
		}
		cfg.tileConns = append(cfg.tileConns, n)
	}
	for _, g := range strings.Split(*tileGzip, ",") {
		switch strings.TrimSpace(g) {
		case "no":
			cfg.tileGzip = append(cfg.tileGzip, false)
		case "yes":
			cfg.tileGzip = append(cfg.tileGzip, true)
		default:
			return fmt.Errorf("-tile-gzip: %q is not no or yes", g)
		}
	}
	if cfg.tileRounds < 1 {
		return fmt.Errorf("-tile-rounds must be positive")
	}
	if cfg.tiles < 1 {
		return fmt.Errorf("-tiles must be positive")
	}
	return benchmark(ctx, cfg, out)
}

// Phases, in the order they run.
var proximityPhases = []string{
	"knn-http", "knn-pg-geometry", "knn-pg-geography",
	"radius-http", "radius-pg-geography", "radius-pg-geometry",
}

func benchmark(ctx context.Context, cfg config, out io.Writer) (err error) {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	reg := layers.New()

	// Database: fresh, or given.
	dbURL := cfg.databaseURL
	if dbURL == "" {
		var drop func()
		dbURL, drop, err = createDatabase(ctx, cfg.adminURL)
		if err != nil {
			return err
		}
		if cfg.keep {
			say("database: %s (kept)", redact(dbURL))
		} else {
			say("database: %s (dropped at the end)", redact(dbURL))
			defer drop()
		}
	} else {
		say("database: %s (given)", redact(dbURL))
	}
	start := time.Now()
	s, err := postgis.Open(ctx, dbURL, reg)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, nil); err != nil {
		return err
	}
	say("migrated in %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		return err
	}
	res, err := demo.Seed(ctx, s, reg, ds, demo.SeedOptions{IfEmpty: true})
	if err != nil {
		return err
	}
	if res.Skipped {
		say("database already holds %d features: not seeded (the figures are for its data, not necessarily the demo's)", res.Existing)
	} else {
		say("seeded the demo dataset (%d features) in %v", ds.Total(), time.Since(start).Round(time.Millisecond))
	}

	if cfg.has(proximityPhases) {
		drop, err := geographyIndex(ctx, s, cfg, say)
		if err != nil {
			return err
		}
		defer drop()
	}
	if cfg.has(tilePhases) {
		drop, err := tileIndexes(ctx, s, reg, cfg, say)
		if err != nil {
			return err
		}
		defer drop()
	}

	var pgVersion, postgisVersion string
	if err := s.Pool().QueryRow(ctx, "SELECT current_setting('server_version'), postgis_lib_version()").Scan(&pgVersion, &postgisVersion); err != nil {
		return err
	}

	// Index and HTTP server.
	start = time.Now()
	ix := index.New(reg)
	if err := ix.Load(ctx, s, nil); err != nil {
		return err
	}
	say("index loaded in %v: %d risk points", time.Since(start).Round(time.Millisecond), ix.Count(layers.RiskPoints))
	// The server of the proximity phases and of the cached tiles (a cache of
	// -tile-cache-mb kept exact by the index), and one whose tile cache stores nothing.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	serve := func(cacheBytes int64) (string, func(), error) {
		rd, err := tiles.NewRenderer(reg, ix, tiles.Options{})
		if err != nil {
			return "", nil, err
		}
		c := tiles.NewCache(cacheBytes)
		ix.OnApply(c.Invalidate)
		handler, err := httpapi.New(httpapi.Config{Registry: reg, Store: s, Index: ix, Logger: logger, Tiles: tiles.NewService(rd, c)})
		if err != nil {
			return "", nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
		}
		go func() { _ = srv.Serve(ln) }()
		return ln.Addr().String(), func() { srv.Close() }, nil
	}
	addr, closeSrv, err := serve(cfg.cacheMB << 20)
	if err != nil {
		return err
	}
	defer closeSrv()
	say("riskmap serving on http://%s (tile cache %d MB)", addr, cfg.cacheMB)
	uncachedAddr, closeUncached, err := serve(0)
	if err != nil {
		return err
	}
	defer closeUncached()
	say("riskmap serving on http://%s (tile cache of 0 bytes: every tile rendered)", uncachedAddr)

	say("machine: %d CPUs, GOMAXPROCS %d, %s; PostgreSQL %s, PostGIS %s, all on this machine",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), pgVersion, postgisVersion)

	if cfg.has(proximityPhases) {
		if err := proximity(ctx, cfg, reg, dbURL, addr, out, say); err != nil {
			return err
		}
	}
	if cfg.has(tilePhases) {
		if err := tileBenchmark(ctx, cfg, reg, dbURL, addr, uncachedAddr, out, say); err != nil {
			return err
		}
	}
	if cfg.has(ogcPhases) {
		if err := ogcBenchmark(ctx, cfg, reg, dbURL, addr, out, say); err != nil {
			return err
		}
	}
	return nil
}

// geographyIndex creates the GiST index on geom::geography the geography kNN and
// radius queries need; drop removes it when this run created it in a given database
// and -keep is not set.
func geographyIndex(ctx context.Context, s *postgis.Store, cfg config, say func(string, ...any)) (drop func(), err error) {
	var had bool
	if err := s.Pool().QueryRow(ctx, "SELECT to_regclass('risk_points_geog_idx') IS NOT NULL").Scan(&had); err != nil {
		return nil, err
	}
	start := time.Now()
	for _, q := range []string{
		"CREATE INDEX IF NOT EXISTS risk_points_geog_idx ON risk_points USING gist ((geom::geography))",
		"ANALYZE risk_points",
	} {
		if _, err := s.Pool().Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	say("geography GiST index and ANALYZE in %v", time.Since(start).Round(time.Millisecond))
	drop = func() {}
	if !had && cfg.databaseURL != "" && !cfg.keep {
		drop = func() {
			if _, err := s.Pool().Exec(context.WithoutCancel(ctx), "DROP INDEX IF EXISTS risk_points_geog_idx"); err != nil {
				say("drop risk_points_geog_idx: %v", err)
			}
		}
	}
	return drop, nil
}

// proximity runs the proximity phases against the server at addr.
func proximity(ctx context.Context, cfg config, reg *layers.Registry, dbURL, addr string, out io.Writer, say func(string, ...any)) error {
	pool, err := newPool(ctx, dbURL, cfg.conns)
	if err != nil {
		return err
	}
	defer pool.Close()

	points := benchkit.QueryPoints(cfg.points)
	l, _ := reg.Layer(layers.RiskPoints)
	q := newQueries(l, cfg.k, cfg.radius)
	// the point prints exactly ('f', -1), so both sides answer for the same point
	lonLat := func(b []byte, p orb.Point) []byte {
		b = append(b, "/api/v1/nearby?lon="...)
		b = strconv.AppendFloat(b, p[0], 'f', -1, 64)
		b = append(b, "&lat="...)
		return strconv.AppendFloat(b, p[1], 'f', -1, 64)
	}
	knnPath := func(b []byte, i int) []byte {
		return fmt.Appendf(lonLat(b, points[i]), "&k=%d&layers=risk_points", cfg.k)
	}
	radiusPath := func(b []byte, i int) []byte {
		return fmt.Appendf(lonLat(b, points[i]), "&radius=%g&layers=risk_points", cfg.radius)
	}

	if cfg.check > 0 {
		if err := check(ctx, addr, pool, points[:min(cfg.check, len(points))], knnPath, radiusPath, q, cfg.radius, l, say); err != nil {
			return err
		}
	}

	type phaseDef struct {
		kind, side string
		newWorker  func(context.Context) (worker, error)
	}
	defs := map[string]phaseDef{
		"knn-http":            {"kNN-10", "riskmap HTTP", httpWorkers(addr, knnPath, "")},
		"knn-pg-geometry":     {"kNN-10", "PostGIS geometry <->", pgWorkers(pool, q.knnGeometry, 0, l, points)},
		"knn-pg-geography":    {"kNN-10", "PostGIS geography <->", pgWorkers(pool, q.knnGeography, 0, l, points)},
		"radius-http":         {"radius", "riskmap HTTP", httpWorkers(addr, radiusPath, "")},
		"radius-pg-geography": {"radius", "PostGIS ST_DWithin geography", pgWorkers(pool, q.radiusGeography, 0, l, points)},
		"radius-pg-geometry":  {"radius", "PostGIS geometry box + geodesic", pgWorkers(pool, q.radiusGeometry, cfg.radius, l, points)},
	}
	var results []result
	for _, name := range proximityPhases {
		if !slices.Contains(cfg.phases, name) {
			continue
		}
		d := defs[name]
		if d.kind == "kNN-10" {
			d.kind = fmt.Sprintf("kNN-%d", cfg.k)
		} else {
			d.kind = fmt.Sprintf("radius %g m", cfg.radius)
		}
		r, err := runPhase(ctx, phase{name: name, kind: d.kind, side: d.side, conns: cfg.conns, n: len(points), newWorker: d.newWorker}, cfg, out)
		if err != nil {
			return err
		}
		results = append(results, r)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	report(out, results, cfg)
	return nil
}

// createDatabase creates an empty database on the admin server; drop removes it.
func createDatabase(ctx context.Context, admin string) (dbURL string, drop func(), err error) {
	u, err := url.Parse(admin)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return "", nil, fmt.Errorf("-admin-url must be a postgres:// URL, got %q", admin)
	}
	var rb [6]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return "", nil, err
	}
	name := "riskmap_loadgen_" + hex.EncodeToString(rb[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect to %s: %w", redact(admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err == nil {
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: drop database %s: %v\n", name, err)
		}
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// redact hides a password in a database URL.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

func newPool(ctx context.Context, dbURL string, conns int) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	pc.MaxConns = int32(conns)
	pc.MinConns = int32(conns)
	pc.ConnConfig.RuntimeParams["application_name"] = "riskmap-loadgen"
	return pgxpool.NewWithConfig(ctx, pc)
}

// A worker does one request at a time on its own connection.
type worker interface {
	// do runs the i-th query of the phase's set and returns the number of features
	// answered and the bytes received for them.
	do(ctx context.Context, i int) (hits, bytes int, err error)
	close()
}

// phase says what one phase runs: conns workers cycling through a query set of n.
type phase struct {
	name, kind, side string
	conns            int
	gzip             bool // tiles: Accept-Encoding: gzip (PostGIS: compressed in the client)
	n                int
	start            int // the first query (rounds continue where the last one stopped)
	newWorker        func(context.Context) (worker, error)
}

// result is one phase's figures.
type result struct {
	name, kind, side string
	conns            int
	gzip             bool
	requests, errors int64
	hits, bytes      int64
	elapsed          time.Duration
	p50, p99         time.Duration
	firstErr         error
	lat              []time.Duration // measured latencies, sorted by finish
	next             int             // the query after the last one started
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// runPhase runs ph.conns workers for warm-up then duration, cycling through the query
// set from query ph.start; only requests that start after the warm-up and end
// before the end are measured.
func runPhase(ctx context.Context, ph phase, cfg config, out io.Writer) (result, error) {
	name, kind, side := ph.name, ph.kind, ph.side
	workers := make([]worker, ph.conns)
	for i := range workers {
		w, err := ph.newWorker(ctx)
		if err != nil {
			for _, w := range workers[:i] {
				w.close()
			}
			return result{}, fmt.Errorf("%s: %w", name, err)
		}
		workers[i] = w
	}
	defer func() {
		for _, w := range workers {
			w.close()
		}
	}()

	gz := ""
	if ph.gzip {
		gz = ", gzip"
	}
	fmt.Fprintf(out, "== %s: %s, %d connections%s, warm-up %v, measuring %v\n", kind, side, ph.conns, gz, cfg.warmup, cfg.duration)
	if cfg.profileDir != "" {
		file := name + ".pprof"
		if strings.HasPrefix(name, "tiles") {
			file = fmt.Sprintf("%s-c%d%s.pprof", name, ph.conns, strings.ReplaceAll(gz, ", ", "-"))
		}
		stopProfile, err := startProfile(filepath.Join(cfg.profileDir, file), cfg.warmup)
		if err != nil {
			return result{}, err
		}
		defer stopProfile()
	}
	begin := time.Now()
	measureFrom := begin.Add(cfg.warmup)
	end := measureFrom.Add(cfg.duration)
	var next, done atomic.Int64
	next.Store(int64(ph.start))
	type acc struct {
		lat                 []time.Duration
		hits, bytes, errors int64
		firstErr            error
	}
	accs := make([]acc, len(workers))
	var wg sync.WaitGroup
	for wi, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &accs[wi]
			a.lat = make([]time.Duration, 0, 1<<16)
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				n, size, err := w.do(ctx, int(i%int64(ph.n)))
				t1 := time.Now()
				if t0.Before(measureFrom) || t1.After(end) {
					continue
				}
				done.Add(1)
				if err != nil {
					a.errors++
					if a.firstErr == nil {
						a.firstErr = err
					}
					continue
				}
				a.lat = append(a.lat, t1.Sub(t0))
				a.hits += int64(n)
				a.bytes += int64(size)
			}
		}()
	}
	stop := make(chan struct{})
	var pwg sync.WaitGroup
	pwg.Add(1)
	go func() {
		defer pwg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var last int64
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				if now.Before(measureFrom) {
					fmt.Fprintf(out, "   %4.0fs  warming up\n", now.Sub(begin).Seconds())
					continue
				}
				n := done.Load()
				fmt.Fprintf(out, "   %4.0fs  %8.0f req/s (last second)  %9d measured\n", now.Sub(begin).Seconds(), float64(n-last), n)
				last = n
			}
		}
	}()
	wg.Wait()
	close(stop)
	pwg.Wait()

	r := result{name: name, kind: kind, side: side, conns: ph.conns, gzip: ph.gzip, elapsed: cfg.duration, next: int(next.Load() % int64(ph.n))}
	for _, a := range accs {
		r.add(result{lat: a.lat, hits: a.hits, bytes: a.bytes, errors: a.errors, firstErr: a.firstErr})
	}
	r.finish()
	r.print(out)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	return r, nil
}

// add merges o's counts and latencies into r (not the elapsed time).
func (r *result) add(o result) {
	r.lat = append(r.lat, o.lat...)
	r.hits += o.hits
	r.bytes += o.bytes
	r.errors += o.errors
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
}

// finish computes the request count and percentiles from the latencies.
func (r *result) finish() {
	r.requests = int64(len(r.lat))
	if len(r.lat) > 0 {
		slices.Sort(r.lat)
		r.p50 = r.lat[len(r.lat)/2]
		r.p99 = r.lat[min(len(r.lat)-1, len(r.lat)*99/100)]
	}
}

// print writes the one-line summary of a phase.
func (r result) print(out io.Writer) {
	if strings.HasPrefix(r.name, "tiles") {
		fmt.Fprintf(out, "   %s: %.0f tiles/s, p50 %v, p99 %v, %.1f kB/tile, %d errors\n",
			r.side, r.rate(), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.kBPerRequest(), r.errors)
	} else {
		fmt.Fprintf(out, "   %s: %.0f req/s, p50 %v, p99 %v, %.1f features and %.1f kB/request, %d errors\n",
			r.side, r.rate(), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.perRequest(), r.kBPerRequest(), r.errors)
	}
	if r.firstErr != nil {
		fmt.Fprintf(out, "   first error: %v\n", r.firstErr)
	}
}

func (r result) perRequest() float64 {
	if r.requests == 0 {
		return 0
	}
	return float64(r.hits) / float64(r.requests)
}

func (r result) kBPerRequest() float64 {
	if r.requests == 0 {
		return 0
	}
	return float64(r.bytes) / float64(r.requests) / 1e3
}

// report prints the table of every phase and the ratios riskmap/PostGIS per query
// kind.
func report(out io.Writer, results []result, cfg config) {
	fmt.Fprintf(out, "\n== results (%d connections, %v per phase, GOMAXPROCS %d)\n", cfg.conns, cfg.duration, runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\tside\treq/s\tp50 µs\tp99 µs\tfeatures/req\tkB/req\terrors\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%d\t\n", r.kind, r.side, r.rate(),
			float64(r.p50.Nanoseconds())/1e3, float64(r.p99.Nanoseconds())/1e3, r.perRequest(), r.kBPerRequest(), r.errors)
	}
	tw.Flush()
	fmt.Fprintln(out)
	for _, r := range results {
		if r.side != "riskmap HTTP" {
			continue
		}
		for _, o := range results {
			if o.kind == r.kind && o.side != r.side && o.rate() > 0 {
				fmt.Fprintf(out, "%s: riskmap HTTP / %s = %.2f× req/s\n", r.kind, o.side, r.rate()/o.rate())
			}
		}
	}
}

// degreeBox returns the half-widths in degrees of a box around p that holds every
// point within r meters (1% margin over lower bounds of a degree's length).
func degreeBox(p orb.Point, r float64) (dlon, dlat float64) {
	dlat = r / 110574.0 * 1.01
	dlon = r / (111319.0 * math.Cos((math.Abs(p[1])+dlat)*math.Pi/180)) * 1.01
	return dlon, dlat
}

var errStatus = errors.New("unexpected HTTP status")

// startProfile starts a CPU profile into file after delay (the warm-up); stop ends it.
func startProfile(file string, delay time.Duration) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	started := make(chan bool, 1)
	timer := time.AfterFunc(delay, func() { started <- pprof.StartCPUProfile(f) == nil })
	return func() {
		if !timer.Stop() && <-started {
			pprof.StopCPUProfile()
		}
		f.Close()
	}, nil
}
