package index_test

// Proximity benchmarks (docs/benchmarks.md, "Proximity queries"): the in-memory index
// against PostGIS answering the same queries, side by side in one run.
//
//	go test -run '^$' -bench 'Nearest10$|Radius500$' ./index/       (needs RISKMAP_TEST_DATABASE_URL)
//	RISKMAP_SCALE=1 go test -run '^$' -bench Nearest10Scale ./index/  (1,000,000 points, no PostGIS)
//
// The demo dataset is generated, written into a fresh PostGIS database and loaded into
// the index once per test binary; the database is dropped when the binary ends
// (TestMain). Query points are cycled from a fixed random set in the built-up area.
// Every benchmark reports, besides ns/op, the median and 99th percentile of the
// per-query durations (p50-µs, p99-µs) and the mean number of features returned
// (hits/op); the PostGIS ones also report exact-%: the share of queries whose answer
// (ids, in order) equals the index's.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/index"
	"riskmap/internal/benchkit"
	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/store/postgis"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dropBenchDatabase()
	os.Exit(code)
}

const (
	benchK      = 10
	benchRadius = 500.0 // meters
)

var benchFilter = index.Filter{Layers: []string{layers.RiskPoints}, MinCapacity: -1}

// benchEnv is the demo dataset in PostGIS and in the index.
type benchEnv struct {
	reg    *layers.Registry
	store  *postgis.Store
	ix     *index.Index
	points []orb.Point
	// the index's answers per query point (ids, nearest first), to check PostGIS's
	knnWant, radiusWant [][]int64
	setup               string // how long each setup step took
}

var (
	benchEnvOnce sync.Once
	benchShared  *benchEnv
	benchEnvErr  error
	benchDrop    func() // drops the benchmark database; nil when none was created
)

// benchDemoEnv returns the shared environment, building it on first use. It skips b
// when RISKMAP_TEST_DATABASE_URL is not set.
func benchDemoEnv(b *testing.B) *benchEnv {
	b.Helper()
	admin := pgtest.URL(b) // skips with a message when the variable is unset
	benchEnvOnce.Do(func() {
		benchShared, benchEnvErr = newBenchEnv(admin)
		if benchEnvErr == nil {
			b.Logf("benchmark environment: %s", benchShared.setup)
		}
	})
	if benchEnvErr != nil {
		b.Fatal(benchEnvErr)
	}
	return benchShared
}

func newBenchEnv(admin string) (*benchEnv, error) {
	ctx := context.Background()
	var steps []string
	step := func(name string, start time.Time) {
		steps = append(steps, fmt.Sprintf("%s %v", name, time.Since(start).Round(time.Millisecond)))
	}

	start := time.Now()
	dbURL, err := createBenchDatabase(ctx, admin)
	if err != nil {
		return nil, err
	}
	reg := layers.New()
	s, err := postgis.Open(ctx, dbURL, reg)
	if err != nil {
		return nil, err
	}
	if _, err := s.Migrate(ctx, nil); err != nil {
		return nil, err
	}
	step("create+migrate", start)

	start = time.Now()
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		return nil, err
	}
	if _, err := demo.Seed(ctx, s, reg, ds, demo.SeedOptions{}); err != nil {
		return nil, err
	}
	step("generate+seed", start)

	// The geography variant needs its own GiST index on the cast; ANALYZE so that the
	// planner knows the table's size right away.
	start = time.Now()
	for _, q := range []string{
		"CREATE INDEX risk_points_geog_idx ON risk_points USING gist ((geom::geography))",
		"ANALYZE risk_points",
	} {
		if _, err := s.Pool().Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	step("geography index+analyze", start)

	start = time.Now()
	ix := index.New(reg)
	if err := ix.Load(ctx, s, nil); err != nil {
		return nil, err
	}
	step("index load", start)
	if n := ix.Count(layers.RiskPoints); n != demo.RiskPointCount {
		return nil, fmt.Errorf("index holds %d risk points, want %d", n, demo.RiskPointCount)
	}

	e := &benchEnv{reg: reg, store: s, ix: ix, points: benchkit.QueryPoints(4096)}
	for _, p := range e.points {
		e.knnWant = append(e.knnWant, benchHitIDs(ix.Nearest(p, benchK, -1, benchFilter)))
		e.radiusWant = append(e.radiusWant, benchHitIDs(ix.Radius(p, benchRadius, benchFilter)))
	}
	e.setup = strings.Join(steps, ", ")
	return e, nil
}

func benchHitIDs(hits []index.Hit) []int64 {
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.Rec.ID
	}
	return ids
}

// createBenchDatabase creates an empty database on the server of admin (as
// pgtest.NewDatabase does, but living until the test binary ends, so that every
// benchmark shares one seeded database) and returns its URL.
func createBenchDatabase(ctx context.Context, admin string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return "", fmt.Errorf("%s must be a postgres:// URL, got %q", pgtest.EnvVar, admin)
	}
	var rb [6]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return "", err
	}
	name := pgx.Identifier{"riskmap_bench_" + hex.EncodeToString(rb[:])}.Sanitize()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", pgtest.EnvVar, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create benchmark database: %w", err)
	}
	benchDrop = func() {
		if benchShared != nil {
			benchShared.store.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "drop benchmark database %s: %v\n", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "drop benchmark database %s: %v\n", name, err)
		}
	}
	u.Path = "/" + strings.Trim(name, `"`)
	return u.String(), nil
}

func dropBenchDatabase() {
	if benchDrop != nil {
		benchDrop()
	}
}

// benchLatencies collects per-query durations and reports their percentiles.
type benchLatencies []time.Duration

func (l benchLatencies) report(b *testing.B, hits int) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	pct := func(q float64) float64 {
		return float64(l[min(len(l)-1, int(q*float64(len(l))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(hits)/float64(len(l)), "hits/op")
}

// benchIndex times one index query per iteration, cycling through the query points.
func benchIndex(b *testing.B, points []orb.Point, query func(orb.Point) []index.Hit) {
	lat := make(benchLatencies, 0, 1<<16)
	hits := 0
	for i := 0; b.Loop(); i++ {
		p := points[i%len(points)]
		t0 := time.Now()
		h := query(p)
		lat = append(lat, time.Since(t0))
		hits += len(h)
	}
	lat.report(b, hits)
}

// benchColumns is the column list a PostGIS query returns for a risk point: what the
// index holds (id, version, updated_at, every registry field, the geometry as EWKB),
// then the geodesic distance.
func benchColumns(l *layers.Layer) string {
	cols := []string{"id", "version", "updated_at"}
	for _, f := range l.Fields {
		cols = append(cols, pgx.Identifier{f.Name}.Sanitize())
	}
	return strings.Join(append(cols, "ST_AsEWKB(geom)"), ", ")
}

// benchPt is the query point as SQL, from parameters $1 (lon) and $2 (lat).
const benchPt = "ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)"

// The PostGIS queries. Each returns every column of the matching rows with the
// geodesic distance on the spheroid, nearest first (ties by id, as the index orders).
func benchPGQueries(l *layers.Layer) (knnGeometry, knnGeography, radiusGeography, radiusGeometry string) {
	cols := benchColumns(l)
	dist := "ST_Distance(geom::geography, " + benchPt + "::geography)"
	// kNN with the geometry GiST index: the 10 nearest in degrees, re-ranked on the
	// spheroid (the set may differ from the true 10 nearest: exact-% says how often).
	knnGeometry = fmt.Sprintf(`SELECT %s, %s AS d FROM (SELECT * FROM risk_points ORDER BY geom <-> %s LIMIT %d) c ORDER BY d, id`,
		cols, dist, benchPt, benchK)
	// kNN with a GiST index on geom::geography (distance on the sphere), re-ranked on
	// the spheroid.
	knnGeography = fmt.Sprintf(`SELECT %s, %s AS d FROM (SELECT * FROM risk_points ORDER BY geom::geography <-> %s::geography LIMIT %d) c ORDER BY d, id`,
		cols, dist, benchPt, benchK)
	// radius with ST_DWithin on geography (uses the geography GiST index).
	radiusGeography = fmt.Sprintf(`SELECT %s, %s AS d FROM risk_points WHERE ST_DWithin(geom::geography, %s::geography, %g) ORDER BY d, id`,
		cols, dist, benchPt, benchRadius)
	// radius with the geometry GiST index: a box in degrees ($3, $4 half-widths) that
	// holds the circle, then the exact test on the spheroid.
	radiusGeometry = fmt.Sprintf(`SELECT %s, %s AS d FROM risk_points WHERE geom && ST_Expand(%s, $3::float8, $4::float8) AND %s <= %g ORDER BY d, id`,
		cols, dist, benchPt, dist, benchRadius)
	return
}

// benchDegreeBox returns the half-widths in degrees of a box around p that holds every
// point within r meters (generous: 1% margin over lower bounds of a degree's length).
func benchDegreeBox(p orb.Point, r float64) (dlon, dlat float64) {
	dlat = r / 110574.0 * 1.01
	dlon = r / (111319.0 * math.Cos((math.Abs(p[1])+dlat)*math.Pi/180)) * 1.01
	return dlon, dlat
}

// benchRowScanner holds typed scan targets for a row of benchColumns plus the distance.
type benchRowScanner struct {
	id, version int64
	updated     time.Time
	geom        []byte
	dist        float64
	dest        []any
}

func newBenchRowScanner(l *layers.Layer) *benchRowScanner {
	sc := &benchRowScanner{}
	sc.dest = []any{&sc.id, &sc.version, &sc.updated}
	sc.dest = append(sc.dest, postgis.ScanTargets(l)...)
	sc.dest = append(sc.dest, &sc.geom, &sc.dist)
	return sc
}

// benchPostGIS times one query per iteration through pgx (pool, cached prepared
// statement, every row scanned into typed values), cycling through the query points,
// and reports how often the answer equals the index's.
func benchPostGIS(b *testing.B, e *benchEnv, sql string, want [][]int64, boxArgs bool) {
	ctx := context.Background()
	l, _ := e.reg.Layer(layers.RiskPoints)
	sc := newBenchRowScanner(l)
	pool := e.store.Pool()
	var ids []int64
	lat := make(benchLatencies, 0, 1<<14)
	hits, exact := 0, 0
	args := make([]any, 2, 4)
	for i := 0; b.Loop(); i++ {
		k := i % len(e.points)
		p := e.points[k]
		args = append(args[:0], p[0], p[1])
		if boxArgs {
			dlon, dlat := benchDegreeBox(p, benchRadius)
			args = append(args, dlon, dlat)
		}
		t0 := time.Now()
		rows, err := pool.Query(ctx, sql, args...)
		if err != nil {
			b.Fatal(err)
		}
		ids = ids[:0]
		for rows.Next() {
			if err := rows.Scan(sc.dest...); err != nil {
				b.Fatal(err)
			}
			ids = append(ids, sc.id)
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		hits += len(ids)
		if slices.Equal(ids, want[k]) {
			exact++
		}
	}
	lat.report(b, hits)
	b.ReportMetric(100*float64(exact)/float64(len(lat)), "exact-%")
}

// BenchmarkNearest10: the 10 nearest risk points to a point in the built-up area, in
// the index and through pgx from PostGIS (KNN <-> on geometry and on geography).
func BenchmarkNearest10(b *testing.B) {
	e := benchDemoEnv(b)
	l, _ := e.reg.Layer(layers.RiskPoints)
	knnGeometry, knnGeography, _, _ := benchPGQueries(l)
	b.Run("index", func(b *testing.B) {
		benchIndex(b, e.points, func(p orb.Point) []index.Hit { return e.ix.Nearest(p, benchK, -1, benchFilter) })
	})
	b.Run("postgis-geometry", func(b *testing.B) { benchPostGIS(b, e, knnGeometry, e.knnWant, false) })
	b.Run("postgis-geography", func(b *testing.B) { benchPostGIS(b, e, knnGeography, e.knnWant, false) })
}

// BenchmarkRadius500: every risk point within 500 m of a point in the built-up area,
// nearest first, in the index and through pgx from PostGIS (ST_DWithin on geography
// with its GiST index; and the geometry GiST index with a degree box plus the exact
// geodesic test).
func BenchmarkRadius500(b *testing.B) {
	e := benchDemoEnv(b)
	l, _ := e.reg.Layer(layers.RiskPoints)
	_, _, radiusGeography, radiusGeometry := benchPGQueries(l)
	b.Run("index", func(b *testing.B) {
		benchIndex(b, e.points, func(p orb.Point) []index.Hit { return e.ix.Radius(p, benchRadius, benchFilter) })
	})
	b.Run("postgis-geometry", func(b *testing.B) { benchPostGIS(b, e, radiusGeometry, e.radiusWant, true) })
	b.Run("postgis-geography", func(b *testing.B) { benchPostGIS(b, e, radiusGeography, e.radiusWant, false) })
}

// Scale run: 1,000,000 synthetic risk points, applied directly (no PostGIS).

const benchScaleEnv = "RISKMAP_SCALE"

// benchScalePoints is the size of the scale run.
const benchScalePoints = 1_000_000

type benchScaleResult struct {
	ix                  *index.Index
	load, total         time.Duration // Apply only; generation and Apply
	heapPerFeature      float64       // HeapAlloc growth per feature
	sizePerFeature      float64       // ix.Size() per feature
	heapBefore, heapAft uint64
}

var (
	benchScaleOnce sync.Once
	benchScale     benchScaleResult
	benchScaleErr  error
)

// buildBenchScale makes benchScalePoints risk points from the demo risk points as
// templates: each copy gets its own strings (as rows read from a database would), a new external
// id and a location moved by about 300 m (normal) from its template's, so the density
// keeps the demo's clustering, 28 times over. They are applied in batches of 10,000.
func buildBenchScale() (benchScaleResult, error) {
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		return benchScaleResult{}, err
	}
	templates := ds.Features[layers.RiskPoints]
	reg := layers.New()
	r := mrand.New(mrand.NewPCG(1_000_000, 1))
	const batch = 10_000

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res := benchScaleResult{heapBefore: ms.HeapAlloc}
	ix := index.New(reg)
	muts := make([]index.Mutation, 0, batch)
	start := time.Now()
	for id := int64(1); id <= benchScalePoints; id++ {
		t := templates[int(id-1)%len(templates)]
		props := make(map[string]any, len(t.Props))
		for k, v := range t.Props {
			if s, ok := v.(string); ok {
				v = strings.Clone(s)
			}
			props[k] = v
		}
		props["external_id"] = fmt.Sprintf("RP-S-%07d", id)
		tp := t.Geometry.(orb.Point)
		p := orb.Point{
			math.Round((tp[0]+300*r.NormFloat64()/102_810)*1e7) / 1e7,
			math.Round((tp[1]+300*r.NormFloat64()/110_760)*1e7) / 1e7,
		}
		muts = append(muts, index.Mutation{Op: feature.Insert, Feature: feature.Feature{
			Layer: layers.RiskPoints, ID: id, Version: 1, UpdatedAt: t.UpdatedAt, Geometry: p, Props: props,
		}})
		if len(muts) == batch || id == benchScalePoints {
			t0 := time.Now()
			if _, err := ix.Apply(muts...); err != nil {
				return res, err
			}
			res.load += time.Since(t0)
			clear(muts)
			muts = muts[:0]
		}
	}
	res.total = time.Since(start)
	muts = nil
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res.heapAft = ms.HeapAlloc
	runtime.KeepAlive(templates)
	res.ix = ix
	res.heapPerFeature = float64(int64(res.heapAft)-int64(res.heapBefore)) / benchScalePoints
	res.sizePerFeature = float64(ix.Size()) / benchScalePoints
	if n := ix.Count(layers.RiskPoints); n != benchScalePoints {
		return res, fmt.Errorf("index holds %d points, want %d", n, benchScalePoints)
	}
	return res, nil
}

// BenchmarkNearest10Scale: kNN-10 among 1,000,000 risk points, with the load time and
// the memory per feature (heap growth all in: records, attributes, cached GeoJSON,
// R-tree and id map; and ix.Size()'s estimate of the records alone).
//
//	RISKMAP_SCALE=1 go test -run '^$' -bench Nearest10Scale -benchtime 200000x ./index/
func BenchmarkNearest10Scale(b *testing.B) {
	if os.Getenv(benchScaleEnv) != "1" {
		b.Skipf("%s is not 1: skipping the 1,000,000-point scale run (set %s=1 to run it)", benchScaleEnv, benchScaleEnv)
	}
	benchScaleOnce.Do(func() {
		benchScale, benchScaleErr = buildBenchScale()
		if benchScaleErr == nil {
			b.Logf("scale: %d points applied in %v (with generation %v); heap %d → %d MB",
				benchScalePoints, benchScale.load.Round(time.Millisecond), benchScale.total.Round(time.Millisecond),
				benchScale.heapBefore>>20, benchScale.heapAft>>20)
		}
	})
	if benchScaleErr != nil {
		b.Fatal(benchScaleErr)
	}
	points := benchkit.QueryPoints(4096)
	benchIndex(b, points, func(p orb.Point) []index.Hit { return benchScale.ix.Nearest(p, benchK, -1, benchFilter) })
	b.ReportMetric(benchScale.load.Seconds(), "load-s")
	b.ReportMetric(benchScale.heapPerFeature, "heap-B/feature")
	b.ReportMetric(benchScale.sizePerFeature, "size-B/feature")
}
