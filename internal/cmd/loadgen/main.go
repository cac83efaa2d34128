// Command loadgen is riskmap's load benchmark for the proximity endpoints, with
// PostGIS answering the same queries in the same run (docs/benchmarks.md, "Proximity
// queries"):
//
//	go run ./internal/cmd/loadgen -duration 10s -conns 16
//
// In one run on one machine it creates a fresh database (or uses -database-url),
// migrates it, seeds the demo dataset, loads the in-memory index, serves riskmap's
// HTTP handler on a loopback port, and then drives, one phase after another, with
// -conns concurrent workers each doing one request at a time:
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
// Every phase uses the same query point sequence (fixed random points in the built-up
// area, the set index/bench_test.go uses). HTTP workers hold one keep-alive connection
// each and read every response body in full; PostGIS workers hold one pooled
// connection each and scan every column of every row. It prints progress every
// second, then req/s, p50/p99 latency and the ratio riskmap/PostGIS per query kind.
// The database it created is dropped at the end unless -keep.
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
	fs.IntVar(&cfg.conns, "conns", 16, "concurrent connections (HTTP keep-alive connections, PostgreSQL pool size)")
	fs.StringVar(&cfg.databaseURL, "database-url", "", "use this database (migrated, seeded if empty) instead of creating one")
	adminDefault := os.Getenv("RISKMAP_TEST_DATABASE_URL")
	if adminDefault == "" {
		adminDefault = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	fs.StringVar(&cfg.adminURL, "admin-url", adminDefault, "server on which to create the fresh database (default $RISKMAP_TEST_DATABASE_URL)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the database created (and the geography index) after the run")
	phases := fs.String("phases", strings.Join(allPhases, ","), "phases to run, comma-separated")
	fs.IntVar(&cfg.points, "points", 4096, "size of the query point set, cycled")
	fs.IntVar(&cfg.k, "k", 10, "k of the kNN queries")
	fs.Float64Var(&cfg.radius, "radius", 500, "radius of the radius queries, meters")
	fs.IntVar(&cfg.check, "check", 200, "query points on which to check, before timing, that HTTP and PostGIS geography answer the same ids")
	fs.StringVar(&cfg.profileDir, "cpuprofile-dir", "", "write a CPU profile of this process (server and HTTP client, or pgx client) per phase into this directory")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg.phases = strings.Split(*phases, ",")
	for _, p := range cfg.phases {
		if !slices.Contains(allPhases, p) {
			return fmt.Errorf("unknown phase %q (have %s)", p, strings.Join(allPhases, ", "))
		}
	}
	return benchmark(ctx, cfg, out)
}

// Phases, in the order they run.
var allPhases = []string{
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

	// The geography kNN and radius queries need a GiST index on geom::geography.
	var had bool
	if err := s.Pool().QueryRow(ctx, "SELECT to_regclass('risk_points_geog_idx') IS NOT NULL").Scan(&had); err != nil {
		return err
	}
	start = time.Now()
	for _, q := range []string{
		"CREATE INDEX IF NOT EXISTS risk_points_geog_idx ON risk_points USING gist ((geom::geography))",
		"ANALYZE risk_points",
	} {
		if _, err := s.Pool().Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if !had && cfg.databaseURL != "" && !cfg.keep {
		defer func() {
			if _, err := s.Pool().Exec(context.WithoutCancel(ctx), "DROP INDEX IF EXISTS risk_points_geog_idx"); err != nil {
				say("drop risk_points_geog_idx: %v", err)
			}
		}()
	}
	say("geography GiST index and ANALYZE in %v", time.Since(start).Round(time.Millisecond))

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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	handler, err := httpapi.New(httpapi.Config{
		Registry: reg, Store: s, Index: ix,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	addr := ln.Addr().String()
	say("riskmap serving on http://%s", addr)

	pool, err := newPool(ctx, dbURL, cfg.conns)
	if err != nil {
		return err
	}
	defer pool.Close()

	say("machine: %d CPUs, GOMAXPROCS %d, %s; PostgreSQL %s, PostGIS %s, all on this machine",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), pgVersion, postgisVersion)

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
	knnPath := func(b []byte, p orb.Point) []byte {
		return fmt.Appendf(lonLat(b, p), "&k=%d&layers=risk_points", cfg.k)
	}
	radiusPath := func(b []byte, p orb.Point) []byte {
		return fmt.Appendf(lonLat(b, p), "&radius=%g&layers=risk_points", cfg.radius)
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
		"knn-http":            {"kNN-10", "riskmap HTTP", httpWorkers(addr, knnPath)},
		"knn-pg-geometry":     {"kNN-10", "PostGIS geometry <->", pgWorkers(pool, q.knnGeometry, 0, l)},
		"knn-pg-geography":    {"kNN-10", "PostGIS geography <->", pgWorkers(pool, q.knnGeography, 0, l)},
		"radius-http":         {"radius", "riskmap HTTP", httpWorkers(addr, radiusPath)},
		"radius-pg-geography": {"radius", "PostGIS ST_DWithin geography", pgWorkers(pool, q.radiusGeography, 0, l)},
		"radius-pg-geometry":  {"radius", "PostGIS geometry box + geodesic", pgWorkers(pool, q.radiusGeometry, cfg.radius, l)},
	}
	var results []result
	for _, name := range allPhases {
		if !slices.Contains(cfg.phases, name) {
			continue
		}
		d := defs[name]
		if d.kind == "kNN-10" {
			d.kind = fmt.Sprintf("kNN-%d", cfg.k)
		} else {
			d.kind = fmt.Sprintf("radius %g m", cfg.radius)
		}
		r, err := runPhase(ctx, name, d.kind, d.side, d.newWorker, cfg, points, out)
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
	// do runs the query for p and returns the number of features answered and the
	// bytes received for them.
	do(ctx context.Context, p orb.Point) (hits, bytes int, err error)
	close()
}

// result is one phase's figures.
type result struct {
	name, kind, side string
	requests, errors int64
	hits, bytes      int64
	elapsed          time.Duration
	p50, p99         time.Duration
	firstErr         error
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// runPhase runs cfg.conns workers for warm-up then duration, cycling through points
// from the first one; only requests that start after the warm-up and end before the
// end are measured.
func runPhase(ctx context.Context, name, kind, side string, newWorker func(context.Context) (worker, error),
	cfg config, points []orb.Point, out io.Writer) (result, error) {
	workers := make([]worker, cfg.conns)
	for i := range workers {
		w, err := newWorker(ctx)
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

	fmt.Fprintf(out, "== %s: %s, %d connections, warm-up %v, measuring %v\n", kind, side, cfg.conns, cfg.warmup, cfg.duration)
	if cfg.profileDir != "" {
		stopProfile, err := startProfile(filepath.Join(cfg.profileDir, name+".pprof"), cfg.warmup)
		if err != nil {
			return result{}, err
		}
		defer stopProfile()
	}
	begin := time.Now()
	measureFrom := begin.Add(cfg.warmup)
	end := measureFrom.Add(cfg.duration)
	var next, done atomic.Int64
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
				n, size, err := w.do(ctx, points[int(i%int64(len(points)))])
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

	r := result{name: name, kind: kind, side: side, elapsed: cfg.duration}
	var lat []time.Duration
	for _, a := range accs {
		lat = append(lat, a.lat...)
		r.hits += a.hits
		r.bytes += a.bytes
		r.errors += a.errors
		if r.firstErr == nil {
			r.firstErr = a.firstErr
		}
	}
	r.requests = int64(len(lat))
	if len(lat) > 0 {
		slices.Sort(lat)
		r.p50 = lat[len(lat)/2]
		r.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	fmt.Fprintf(out, "   %s: %.0f req/s, p50 %v, p99 %v, %.1f features and %.1f kB/request, %d errors\n",
		side, r.rate(), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.perRequest(), r.kBPerRequest(), r.errors)
	if r.firstErr != nil {
		fmt.Fprintf(out, "   first error: %v\n", r.firstErr)
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	return r, nil
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
