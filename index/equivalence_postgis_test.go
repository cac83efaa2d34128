package index_test

// TestIndexMatchesPostGIS is the acceptance test of the index: on the demo dataset it
// runs thousands of random queries of every kind (kNN, radius, route buffer, polygon
// intersecting / within), each with a random filter from the filter grammar, through
// the index and through PostGIS, and requires the same answers.
//
// PostGIS is the reference:
//
//   - distances are ST_Distance(geom::geography, q::geography) on the spheroid;
//   - radius and route: ST_DWithin(geom::geography, q::geography, r) on the spheroid;
//   - kNN: candidates by `geom::geography <-> q` (sphere distance, GiST index on
//     (geom::geography)) per layer, re-ranked by the spheroid distance, then distance,
//     layer (registry order), id; the candidate set is provably large enough (see
//     pgKNN);
//   - polygon: ST_Intersects(geom, poly) and ST_CoveredBy(geom, poly) on geometry.
//
// The filter is translated to SQL here, from the grammar's query parameters (not
// from index.Filter), so ParseFilter and Filter.Match are checked as well.
//
// Allowed differences: a feature whose PostGIS distance is within 1 cm of the radius
// (buffer, kNN max distance, k-th distance) may be on one side only, and kNN items
// whose distances are within 1 cm of each other may be swapped. Polygon answers must
// be equal (a feature exactly on a random polygon's boundary has probability zero).
// The index's distance for every feature found by both must be within 1 mm of
// PostGIS's.

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/geo"
	"riskmap/index"
	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/store/geomconv"
	"riskmap/store/postgis"
)

const (
	eqQueriesPerKind = 1000
	eqEdgeTol        = 0.01  // m: one-sided features and kNN swaps allowed this close to an edge
	eqDistTol        = 0.001 // m: index vs PostGIS distance of the same feature
	eqMinNonEmpty    = 0.80  // share of queries with a non-empty answer, per kind
	eqMaxFailures    = 10    // mismatches reported before the test stops
	// eqSphereSlack bounds |sphere/spheroid − 1| for the distance between two points
	// (at Luohu's latitude it is below 0.5 %): a feature whose sphere distance (what
	// <-> orders by) is s has a spheroid distance of at least s·(1 − eqSphereSlack).
	eqSphereSlack = 0.01
)

// eqKey names a feature.
type eqKey struct {
	layer string
	id    int64
}

func (k eqKey) String() string { return fmt.Sprintf("%s/%d", k.layer, k.id) }

// eqRow is one feature of a PostGIS answer.
type eqRow struct {
	key    eqKey
	rank   int     // layer rank in registry order
	d      float64 // spheroid distance (ST_Distance), meters
	sd     float64 // sphere distance (<->), kNN only
	inside bool    // ST_DWithin(…, r) for radius and route; ST_CoveredBy for polygons
}

// eqStats are the figures logged per query kind.
type eqStats struct {
	name              string
	queries, nonEmpty int
	hits              int     // features compared (PostGIS answers, summed)
	edge              int     // one-sided or swapped features allowed by the 1 cm rule
	rounds            int     // kNN: extra PostGIS rounds to widen the candidate set
	worst             float64 // largest |index − PostGIS| distance of one feature
	ixTime, pgTime    time.Duration
	wall              time.Duration
}

func (st *eqStats) add(o *eqStats) {
	st.queries += o.queries
	st.nonEmpty += o.nonEmpty
	st.hits += o.hits
	st.edge += o.edge
	st.rounds += o.rounds
	st.worst = max(st.worst, o.worst)
	st.ixTime += o.ixTime
	st.pgTime += o.pgTime
}

// eqWorkers run the queries of a kind concurrently: PostGIS works while the index
// does, and the few cores of a test machine are kept busy.
const eqWorkers = 4

// eqEnv is the test's state: the database, the index and the failure budget. Its
// methods are called from the worker goroutines.
type eqEnv struct {
	t      *testing.T
	ctx    context.Context
	reg    *layers.Registry
	pool   *pgxpool.Pool
	ix     *index.Index
	ranks  map[string]int
	failed atomic.Int32
	abort  atomic.Bool
}

// fail reports one mismatch; once eqMaxFailures were reported the workers stop.
func (e *eqEnv) fail(format string, args ...any) {
	e.t.Helper()
	e.t.Errorf(format, args...)
	if e.failed.Add(1) >= eqMaxFailures {
		e.abort.Store(true)
	}
}

// fatalf reports an error that ends the run, from a worker goroutine (t.Fatal may
// only be called from the test's own goroutine).
func (e *eqEnv) fatalf(format string, args ...any) {
	e.t.Helper()
	e.t.Errorf(format, args...)
	e.abort.Store(true)
	runtime.Goexit()
}

// run calls query(sts, i) for i in [0, n) on eqWorkers goroutines, each with its
// own stats (one per name), and returns the stats merged.
func (e *eqEnv) run(names []string, n int, query func(sts []*eqStats, i int)) []*eqStats {
	start := time.Now()
	out := make([]*eqStats, len(names))
	for j, name := range names {
		out[j] = &eqStats{name: name}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range eqWorkers {
		wg.Add(1)
		go func() {
			sts := make([]*eqStats, len(names))
			for j := range sts {
				sts[j] = &eqStats{}
			}
			defer func() {
				mu.Lock()
				for j := range sts {
					out[j].add(sts[j])
				}
				mu.Unlock()
				wg.Done()
			}()
			for i := w; i < n && !e.abort.Load(); i += eqWorkers {
				query(sts, i)
			}
		}()
	}
	wg.Wait()
	for _, st := range out {
		st.wall = time.Since(start)
	}
	if e.abort.Load() {
		e.t.Fatalf("stopped after %d mismatches or errors", e.failed.Load())
	}
	return out
}

func TestIndexMatchesPostGIS(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	reg := layers.New()
	s, err := postgis.Open(ctx, dbURL, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, s, reg, ds, demo.SeedOptions{}); err != nil {
		t.Fatal(err)
	}
	// The queries run on their own pool, without JIT: it would compile most of
	// them (their estimated cost is high) and double their time; nor parallel
	// plans, whose start-up costs more than these queries gain.
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["jit"] = "off"
	cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0" // the workers are the parallelism
	cfg.MaxConns = 2 * eqWorkers
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	e := &eqEnv{t: t, ctx: ctx, reg: reg, pool: pool, ix: index.New(reg), ranks: map[string]int{}}
	for i, l := range reg.Layers() {
		e.ranks[l.Name] = i
		// kNN and ST_DWithin on geography need an index on the geography expression.
		tbl := pgx.Identifier{l.Name}.Sanitize()
		if _, err := pool.Exec(ctx, "CREATE INDEX ON "+tbl+" USING gist ((geom::geography))"); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "ANALYZE "+tbl); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.ix.Load(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	for _, l := range reg.Layers() {
		n, err := s.Count(ctx, l.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.ix.Count(l.Name); int64(got) != n || n == 0 {
			t.Fatalf("%s: index holds %d features, PostGIS %d", l.Name, got, n)
		}
	}
	t.Logf("setup (database, seed, index load): %v", time.Since(start).Round(time.Millisecond))

	// All queries are drawn first, in one deterministic sequence, then run.
	g := newEqGen(e, rand.New(rand.NewPCG(20220122, 1000)), ds.Features[layers.RiskPoints])
	e.checkPolygonsValid(g)
	knn := make([]eqKNNQuery, eqQueriesPerKind)
	for i := range knn {
		knn[i] = g.knn()
	}
	radius := make([]eqRadiusQuery, eqQueriesPerKind)
	for i := range radius {
		radius[i] = g.radius()
	}
	routes := make([]eqRouteQuery, eqQueriesPerKind)
	for i := range routes {
		routes[i] = g.routeQuery()
	}
	polygons := make([]eqPolygonQuery, eqQueriesPerKind)
	for i := range polygons {
		polygons[i] = g.polygonQuery()
	}

	var stats []*eqStats
	stats = append(stats, e.run([]string{"kNN"}, len(knn), func(sts []*eqStats, i int) { e.runKNN(sts[0], i, knn[i]) })...)
	stats = append(stats, e.run([]string{"radius"}, len(radius), func(sts []*eqStats, i int) { e.runRadius(sts[0], i, radius[i]) })...)
	stats = append(stats, e.run([]string{"route buffer"}, len(routes), func(sts []*eqStats, i int) { e.runRoute(sts[0], i, routes[i]) })...)
	stats = append(stats, e.run([]string{"polygon", "polygon within"}, len(polygons), func(sts []*eqStats, i int) { e.runPolygon(sts, i, polygons[i]) })...)
	for _, st := range stats {
		rate := float64(st.nonEmpty) / float64(st.queries)
		t.Logf("%-14s %5d queries, %5.1f %% non-empty, %8d hits compared, %3d allowed edge/tie differences, worst distance difference %.2g m; %v (index %v, PostGIS %v over %d workers)",
			st.name, st.queries, 100*rate, st.hits, st.edge, st.worst, st.wall.Round(time.Millisecond),
			st.ixTime.Round(time.Millisecond), st.pgTime.Round(time.Millisecond), eqWorkers)
		if st.rounds > 0 {
			t.Logf("%-14s %d queries needed a wider PostGIS candidate set", st.name, st.rounds)
		}
		if st.queries < eqQueriesPerKind {
			t.Errorf("%s: only %d queries", st.name, st.queries)
		}
		if rate < eqMinNonEmpty {
			t.Errorf("%s: only %.1f %% of the queries have a non-empty answer, want at least %.0f %%", st.name, 100*rate, 100*eqMinNonEmpty)
		}
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// ---------------------------------------------------------------------------------
// Random queries.

type eqKNNQuery struct {
	p       orb.Point
	k       int
	maxDist float64 // < 0: none
	v       url.Values
}

type eqRadiusQuery struct {
	p orb.Point
	r float64
	v url.Values
}

type eqRouteQuery struct {
	route  orb.LineString
	buffer float64
	v      url.Values
}

type eqPolygonQuery struct {
	mp orb.MultiPolygon
	v  url.Values
}

// eqGen draws the random queries: points, filters, routes, polygons.
type eqGen struct {
	r       *rand.Rand
	reg     *layers.Registry
	anchors []orb.Point // risk point locations: query points cluster where features are
	// the codes a random filter draws from
	categories, kinds, statuses, subdistricts, grades []string
}

func newEqGen(e *eqEnv, r *rand.Rand, anchors []feature.Feature) *eqGen {
	g := &eqGen{r: r, reg: e.reg}
	for _, f := range anchors {
		if p, ok := f.Geometry.(orb.Point); ok {
			g.anchors = append(g.anchors, p)
		}
	}
	codes := func(field string) []string {
		var out []string
		for _, l := range e.reg.Layers() {
			if fd, ok := l.Field(field); ok && fd.Enum != nil {
				for _, c := range fd.Enum.Codes() {
					if !slices.Contains(out, c) {
						out = append(out, c)
					}
				}
			}
		}
		return out
	}
	g.categories, g.kinds, g.statuses, g.subdistricts = codes("category"), codes("kind"), codes("hazard_status"), codes("subdistrict")
	g.grades = e.reg.RiskGrades().Codes()
	return g
}

// logUniform is a random value between lo and hi, uniform in log scale.
func (g *eqGen) logUniform(lo, hi float64) float64 {
	return lo * math.Exp(g.r.Float64()*math.Log(hi/lo))
}

// point is a query point: mostly within 200 m of a risk point (so mostly in the
// built-up south-west), else uniform over the dense centre of the built-up area, or
// over the whole district and a margin around it.
func (g *eqGen) point() orb.Point {
	switch x := g.r.Float64(); {
	case x < 0.77:
		p := g.anchors[g.r.IntN(len(g.anchors))]
		return geo.Destination(p, 360*g.r.Float64(), 200*g.r.Float64())
	case x < 0.92:
		return orb.Point{114.10 + 0.04*g.r.Float64(), 22.535 + 0.035*g.r.Float64()}
	default:
		return orb.Point{114.04 + 0.20*g.r.Float64(), 22.50 + 0.14*g.r.Float64()}
	}
}

// subset returns 1..maxN distinct codes of all, comma-separated, sometimes with a
// duplicate and blanks (the grammar allows both).
func (g *eqGen) subset(all []string, maxN int) string {
	n := 1 + g.r.IntN(min(maxN, len(all)))
	var out []string
	for _, i := range g.r.Perm(len(all))[:n] {
		out = append(out, all[i])
	}
	if g.r.IntN(10) == 0 {
		out = append(out, " "+out[0]+" ")
	}
	return strings.Join(out, ",")
}

// filter draws a random filter in the grammar of index.ParseFilter: none, or one
// to three conditions. A combination that no layer can satisfy (category with
// kind, open with grade...) is drawn again, nine times out of ten, and a
// sub-district list mostly holds the query's own (at), so most queries can find
// something.
func (g *eqGen) filter(at orb.Point) url.Values {
	for {
		v := g.filter1(at)
		if len(eqFilterSQL(g.reg, v, &eqArgs{})) > 0 || g.r.IntN(10) == 0 {
			return v
		}
	}
}

func (g *eqGen) filter1(at orb.Point) url.Values {
	v := url.Values{}
	var n int
	switch x := g.r.Float64(); {
	case x < 0.35:
		n = 0
	case x < 0.75:
		n = 1
	case x < 0.95:
		n = 2
	default:
		n = 3
	}
	// condition kinds, weighted: the ones that leave few features are rarer
	type cond struct {
		weight int
		set    func()
	}
	conds := []cond{
		{6, func() {
			if g.r.IntN(6) == 0 {
				v.Set("layers", "all")
				return
			}
			var names []string
			for _, l := range g.reg.Layers() {
				if g.r.IntN(2) == 0 {
					names = append(names, l.Name)
				}
			}
			if len(names) == 0 {
				names = []string{g.reg.Layers()[g.r.IntN(len(g.reg.Layers()))].Name}
			}
			g.r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
			v.Set("layers", strings.Join(names, ","))
		}},
		{5, func() {
			if g.r.IntN(2) == 0 {
				v.Set("grade", g.subset(g.grades, 3))
			} else {
				v.Set("min_grade", g.grades[g.r.IntN(len(g.grades))])
			}
		}},
		{3, func() {
			// every demo warning level is "none": higher levels select nothing
			switch x := g.r.IntN(20); {
			case x < 8:
				v.Set("warning", "none")
			case x < 12:
				v.Set("warning", "none,orange")
			case x < 17:
				v.Set("min_warning", "none")
			case x < 19:
				v.Set("min_warning", "blue")
			default:
				v.Set("warning", "red")
			}
		}},
		{4, func() { v.Set("category", g.subset(g.categories, 5)) }},
		{3, func() { v.Set("kind", g.subset(g.kinds, 4)) }},
		{4, func() { v.Set("status", g.subset(g.statuses, 2)) }},
		{4, func() {
			list := g.subset(g.subdistricts, 4)
			if own := demo.Subdistrict(at); own != "" && g.r.IntN(4) > 0 && !strings.Contains(list, own) {
				list += "," + own
			}
			v.Set("subdistrict", list)
		}},
		{1, func() { v.Set("open", strconv.FormatBool(g.r.IntN(3) > 0)) }},
		{1, func() { v.Set("min_capacity", strconv.Itoa(50*g.r.IntN(50))) }},
	}
	used := make([]bool, len(conds))
	for range n {
		total := 0
		for i, c := range conds {
			if !used[i] {
				total += c.weight
			}
		}
		x := g.r.IntN(total)
		for i, c := range conds {
			if used[i] {
				continue
			}
			if x < c.weight {
				used[i] = true
				c.set()
				break
			}
			x -= c.weight
		}
	}
	return v
}

// sparse reports whether a filter leaves out the risk points, the only dense layer:
// such queries are drawn larger so that they find something.
func (g *eqGen) sparse(v url.Values) bool {
	for _, c := range eqFilterSQL(g.reg, v, &eqArgs{}) {
		if c.layer.Name == layers.RiskPoints {
			return false
		}
	}
	return true
}

// knn: k in 1..50, three times in ten with a maximum distance.
func (g *eqGen) knn() eqKNNQuery {
	p := g.point()
	q := eqKNNQuery{p: p, v: g.filter(p), k: 1 + g.r.IntN(50), maxDist: -1}
	if g.r.IntN(10) < 3 {
		if g.sparse(q.v) {
			q.maxDist = g.logUniform(500, 5000)
		} else {
			q.maxDist = g.logUniform(100, 3000)
		}
	}
	return q
}

// radius: 50 m .. 5 km. Over the risk points a radius above 1.5 km holds thousands
// of them, so such radii are rare there (3 %), to keep the test fast.
func (g *eqGen) radius() eqRadiusQuery {
	p := g.point()
	q := eqRadiusQuery{p: p, v: g.filter(p)}
	switch {
	case g.sparse(q.v):
		q.r = g.logUniform(700, 5000)
	case g.r.IntN(100) < 3:
		q.r = g.logUniform(1500, 5000)
	default:
		q.r = g.logUniform(50, 1500)
	}
	return q
}

// routeQuery: a random walk of 2..8 vertices with segments of 50 m .. 2 km, and a
// buffer of 10 .. 500 m.
func (g *eqGen) routeQuery() eqRouteQuery {
	ls := orb.LineString{g.point()}
	az := 360 * g.r.Float64()
	for range 1 + g.r.IntN(7) {
		az += 180 * (g.r.Float64() - 0.5)
		ls = append(ls, geo.Destination(ls[len(ls)-1], az, g.logUniform(50, 2000)))
	}
	q := eqRouteQuery{route: ls, v: g.filter(ls[0])}
	if g.sparse(q.v) {
		q.buffer = g.logUniform(300, 500)
	} else {
		q.buffer = g.logUniform(10, 500)
	}
	return q
}

// star is a ring of 5..12 vertices around c at increasing azimuths, at distances
// between minFrac·radius and radius. With azimuth gaps below 120° and minFrac ≥
// 0.45 the ring is simple and holds the disc of radius 0.22·radius around c.
func (g *eqGen) star(c orb.Point, radius, minFrac float64) orb.Ring {
	n := 5 + g.r.IntN(8)
	az0 := 360 * g.r.Float64()
	ring := make(orb.Ring, 0, n+1)
	for i := range n {
		az := az0 + (float64(i)+0.6*(g.r.Float64()-0.5))*360/float64(n)
		ring = append(ring, geo.Destination(c, az, radius*(minFrac+(1-minFrac)*g.r.Float64())))
	}
	ring = append(ring, ring[0])
	if g.r.IntN(2) == 0 {
		slices.Reverse(ring) // both orientations
	}
	return ring
}

// polygon is a random star-shaped polygon around c (radius minRadius .. maxRadius),
// a quarter of the time with a hole, a fifth of the time with a second disjoint one.
func (g *eqGen) polygon(c orb.Point, minRadius, maxRadius float64) orb.MultiPolygon {
	one := func(c orb.Point, radius float64) orb.Polygon {
		poly := orb.Polygon{g.star(c, radius, 0.45)}
		if g.r.IntN(4) == 0 {
			hc := geo.Destination(c, 360*g.r.Float64(), 0.02*radius*g.r.Float64())
			poly = append(poly, g.star(hc, 0.18*radius, 0.45))
		}
		return poly
	}
	r1 := g.logUniform(minRadius, maxRadius)
	mp := orb.MultiPolygon{one(c, r1)}
	if g.r.IntN(5) == 0 {
		r2 := g.logUniform(minRadius, maxRadius)
		c2 := geo.Destination(c, 360*g.r.Float64(), r1+r2+g.logUniform(20, 1000))
		mp = append(mp, one(c2, r2))
	}
	return mp
}

// polygonQuery: a polygon of radius 200 m .. 3 km. Over the risk points a radius
// above 1.5 km holds thousands of them, so such radii are rare there (5 %).
func (g *eqGen) polygonQuery() eqPolygonQuery {
	c := g.point()
	v := g.filter(c)
	switch {
	case g.sparse(v):
		return eqPolygonQuery{g.polygon(c, 1000, 3000), v}
	case g.r.IntN(100) < 5:
		return eqPolygonQuery{g.polygon(c, 1500, 3000), v}
	default:
		return eqPolygonQuery{g.polygon(c, 200, 1500), v}
	}
}

// ---------------------------------------------------------------------------------
// The filter grammar in SQL.

// eqArgs collects the $n parameters of one statement.
type eqArgs struct{ vals []any }

func (a *eqArgs) add(v any) string {
	a.vals = append(a.vals, v)
	return "$" + strconv.Itoa(len(a.vals))
}

// eqLayerSQL is one selected layer of a filter: the table and its WHERE condition.
type eqLayerSQL struct {
	layer *layers.Layer
	rank  int
	table string
	where string // conditions joined by AND, "TRUE" when none
}

// eqFilterSQL translates filter parameters to a WHERE condition per layer, for the
// layers the filter can select. A layer without a filtered field is left out (it can
// never match), as the README states the grammar. Table and column names come from
// the registry, values are parameters.
func eqFilterSQL(reg *layers.Registry, v url.Values, a *eqArgs) []eqLayerSQL {
	codes := func(name string) []string {
		s := v.Get(name)
		if s == "" {
			return nil
		}
		var out []string
		for _, c := range strings.Split(s, ",") {
			if c = strings.TrimSpace(c); !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
		return out
	}
	atLeast := func(e layers.Enum, code string) []string {
		return e.Codes()[e.Rank(code):]
	}
	type cond struct {
		field string
		sql   func(col string) string
	}
	var conds []cond
	in := func(field string, list []string) {
		if list != nil {
			conds = append(conds, cond{field, func(col string) string { return col + " = ANY(" + a.add(list) + "::text[])" }})
		}
	}
	in("risk_grade", codes("grade"))
	if c := v.Get("min_grade"); c != "" {
		in("risk_grade", atLeast(reg.RiskGrades(), c))
	}
	in("warning_level", codes("warning"))
	if c := v.Get("min_warning"); c != "" {
		in("warning_level", atLeast(reg.WarningLevels(), c))
	}
	in("category", codes("category"))
	in("kind", codes("kind"))
	in("hazard_status", codes("status"))
	in("subdistrict", codes("subdistrict"))
	if s := v.Get("open"); s != "" {
		b, _ := strconv.ParseBool(s)
		conds = append(conds, cond{"open", func(col string) string { return col + " = " + a.add(b) + "::boolean" }})
	}
	if s := v.Get("min_capacity"); s != "" {
		n, _ := strconv.ParseInt(s, 10, 64)
		conds = append(conds, cond{"capacity", func(col string) string { return col + " >= " + a.add(n) + "::bigint" }})
	}
	selected := codes("layers")
	if slices.Equal(selected, []string{"all"}) {
		selected = nil
	}
	var out []eqLayerSQL
layer:
	for rank, l := range reg.Layers() {
		if selected != nil && !slices.Contains(selected, l.Name) {
			continue
		}
		for _, c := range conds {
			if _, ok := l.Field(c.field); !ok {
				continue layer
			}
		}
		where := []string{"TRUE"}
		for _, c := range conds {
			where = append(where, c.sql(pgx.Identifier{c.field}.Sanitize()))
		}
		out = append(out, eqLayerSQL{l, rank, pgx.Identifier{l.Name}.Sanitize(), strings.Join(where, " AND ")})
	}
	return out
}

// ---------------------------------------------------------------------------------
// Helpers shared by the query kinds.

func (e *eqEnv) parseFilter(v url.Values) index.Filter {
	e.t.Helper()
	f, err := index.ParseFilter(e.reg, v)
	if err != nil {
		e.fatalf("filter %q: %v", v.Encode(), err)
	}
	return f
}

func (e *eqEnv) ewkb(g orb.Geometry) []byte {
	e.t.Helper()
	b, err := geomconv.EncodeEWKB(g)
	if err != nil {
		e.fatalf("%v", err)
	}
	return b
}

// query runs sql, whose rows are (layer rank, id, the columns cols points to).
func (e *eqEnv) query(sql string, args []any, cols func(row *eqRow) []any) []eqRow {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, sql, args...)
	if err != nil {
		e.fatalf("%v\n%s", err, sql)
	}
	defer rows.Close()
	var out []eqRow
	for rows.Next() {
		var row eqRow
		var id int64
		if err := rows.Scan(append([]any{&row.rank, &id}, cols(&row)...)...); err != nil {
			e.fatalf("%v", err)
		}
		row.key = e.key(row.rank, id)
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		e.fatalf("%v\n%s", err, sql)
	}
	return out
}

// pgDistance is PostGIS's spheroid distance from one feature to q (EWKB), for a
// mismatch report; NaN when the feature is not in the database.
func (e *eqEnv) pgDistance(k eqKey, q []byte) float64 {
	d := math.NaN()
	err := e.pool.QueryRow(e.ctx, "SELECT ST_Distance(geom::geography, ST_GeomFromEWKB($1)::geography, true) FROM "+
		pgx.Identifier{k.layer}.Sanitize()+" WHERE id = $2", q, k.id).Scan(&d)
	if err != nil && err != pgx.ErrNoRows {
		e.fatalf("%v", err)
	}
	return d
}

// pgMatch tells whether a feature passes the filter in SQL (for mismatch reports).
func (e *eqEnv) pgMatch(k eqKey, v url.Values) bool {
	a := &eqArgs{}
	for _, c := range eqFilterSQL(e.reg, v, a) {
		if c.layer.Name != k.layer {
			continue
		}
		var ok bool
		sql := "SELECT EXISTS (SELECT 1 FROM " + c.table + " WHERE id = " + a.add(k.id) + "::bigint AND " + c.where + ")"
		if err := e.pool.QueryRow(e.ctx, sql, a.vals...).Scan(&ok); err != nil {
			e.fatalf("%v\n%s", err, sql)
		}
		return ok
	}
	return false
}

// ixDescribe says what the index holds for a feature PostGIS found: whether it is
// there, passes the filter, and its distance by dist.
func (e *eqEnv) ixDescribe(k eqKey, f index.Filter, dist func(orb.Geometry) float64) string {
	rec, ok, err := e.ix.Get(k.layer, k.id)
	if err != nil || !ok {
		return fmt.Sprintf("not in the index (err %v)", err)
	}
	return fmt.Sprintf("index distance %.4f m, filter match %v", dist(rec.Geometry), f.Match(rec))
}

// checkOrder checks that hits are sorted by distance, layer (registry order), id.
func (e *eqEnv) checkOrder(what string, hits []index.Hit) {
	e.t.Helper()
	for i := 1; i < len(hits); i++ {
		a, b := hits[i-1], hits[i]
		c := cmp.Or(cmp.Compare(a.Distance, b.Distance), cmp.Compare(e.ranks[a.Rec.Layer], e.ranks[b.Rec.Layer]), cmp.Compare(a.Rec.ID, b.Rec.ID))
		if c >= 0 {
			e.fail("%s: hits %d and %d out of order: %s/%d at %.4f m, then %s/%d at %.4f m",
				what, i-1, i, a.Rec.Layer, a.Rec.ID, a.Distance, b.Rec.Layer, b.Rec.ID, b.Distance)
			return
		}
	}
}

func (e *eqEnv) key(rank int, id int64) eqKey {
	return eqKey{e.reg.Layers()[rank].Name, id}
}

func eqHitKey(h index.Hit) eqKey { return eqKey{h.Rec.Layer, h.Rec.ID} }

// ---------------------------------------------------------------------------------
// kNN

func (e *eqEnv) runKNN(st *eqStats, i int, q eqKNNQuery) {
	what := fmt.Sprintf("kNN #%d POINT(%s) k=%d max=%.3f filter=%q", i, eqCoords(q.p), q.k, q.maxDist, q.v.Encode())
	f := e.parseFilter(q.v)
	t0 := time.Now()
	hits := e.ix.Nearest(q.p, q.k, q.maxDist, f)
	st.ixTime += time.Since(t0)
	t0 = time.Now()
	want, cand := e.pgKNN(st, q)
	st.pgTime += time.Since(t0)
	e.checkOrder(what, hits)
	e.compareKNN(st, what, q, f, hits, want, cand)
}

// pgKNN answers a kNN query in PostGIS. It returns the answer and every candidate
// fetched (by key), which include every feature within the answer's last distance
// (or maxDist) + 2 cm.
//
// Per layer it takes the L nearest by sphere distance (<->, the GiST index on
// geom::geography; within a sphere cap a little wider than maxDist when that is
// set; PostGIS orders geography KNN by the exact sphere distance, rechecked, since
// 2.2), then ranks all candidates by spheroid distance. A feature not fetched from
// a layer that returned L rows has a sphere distance ≥ the largest one fetched,
// sMax, so a spheroid distance ≥ sMax·(1 − eqSphereSlack); a layer that returned
// fewer rows is complete (up to the cap). When the answer's bound T (the k-th
// distance, or maxDist when fewer than k qualify) is not 2 cm below every such
// limit, L grows and the query runs again.
func (e *eqEnv) pgKNN(st *eqStats, q eqKNNQuery) ([]eqRow, map[eqKey]eqRow) {
	e.t.Helper()
	k, maxDist := q.k, q.maxDist
	pt := e.ewkb(q.p)
	var capDist float64 // sphere cap when maxDist is set
	if maxDist >= 0 {
		capDist = maxDist*1.05 + 1
	}
	for limit := 2*k + 10; ; limit *= 4 {
		a := &eqArgs{}
		qa := "ST_GeomFromEWKB(" + a.add(pt) + ")::geography"
		la := a.add(limit)
		var parts []string
		for _, c := range eqFilterSQL(e.reg, q.v, a) {
			where := c.where
			if maxDist >= 0 {
				where += " AND ST_DWithin(geom::geography, " + qa + ", " + a.add(capDist) + "::float8, false)"
			}
			parts = append(parts, fmt.Sprintf("(SELECT %d AS lr, id, geom::geography AS g, geom::geography <-> %s AS sd FROM %s WHERE %s ORDER BY geom::geography <-> %s LIMIT %s::int)",
				c.rank, qa, c.table, where, qa, la))
		}
		if len(parts) == 0 {
			return nil, nil
		}
		sql := "SELECT c.lr, c.id, c.sd, ST_Distance(c.g, " + qa + ", true) FROM (" + strings.Join(parts, " UNION ALL ") + ") c"
		rows := e.query(sql, a.vals, func(row *eqRow) []any { return []any{&row.sd, &row.d} })
		count := map[int]int{}
		sMax := map[int]float64{}
		for _, row := range rows {
			count[row.rank]++
			sMax[row.rank] = max(sMax[row.rank], row.sd)
		}
		slices.SortFunc(rows, func(x, y eqRow) int {
			return cmp.Or(cmp.Compare(x.d, y.d), cmp.Compare(x.rank, y.rank), cmp.Compare(x.key.id, y.key.id))
		})
		cand := make(map[eqKey]eqRow, len(rows))
		var want []eqRow
		for _, row := range rows {
			cand[row.key] = row
			if len(want) < k && (maxDist < 0 || row.d <= maxDist) {
				want = append(want, row)
			}
		}
		bound := math.Inf(1) // every feature not fetched is at least this far
		for _, c := range eqFilterSQL(e.reg, q.v, &eqArgs{}) {
			switch {
			case count[c.rank] == limit:
				bound = min(bound, sMax[c.rank]*(1-eqSphereSlack))
			case maxDist >= 0:
				bound = min(bound, capDist*(1-eqSphereSlack))
			}
		}
		t := math.Inf(1)
		switch {
		case len(want) == k:
			t = want[k-1].d
		case maxDist >= 0:
			t = maxDist
		}
		if math.IsInf(bound, 1) || t+2*eqEdgeTol < bound {
			return want, cand // every layer complete, or nothing unseen can compete
		}
		st.rounds++
	}
}

// compareKNN compares the index's kNN answer with PostGIS's. Place by place the ids
// must be equal, or the two features' PostGIS distances within 1 cm (a near tie
// swapped, or a different feature at the k-th place or at maxDist); a feature on one
// side only must lie within 1 cm of the other side's last distance or of maxDist.
func (e *eqEnv) compareKNN(st *eqStats, what string, q eqKNNQuery, f index.Filter, hits []index.Hit, want []eqRow, cand map[eqKey]eqRow) {
	e.t.Helper()
	k, maxDist := q.k, q.maxDist
	st.queries++
	st.hits += len(want)
	if len(want) > 0 {
		st.nonEmpty++
	}
	dist := func(g orb.Geometry) float64 { return geo.DistanceToGeometry(q.p, g) }
	if len(hits) > k {
		e.fail("%s: %d hits, more than k", what, len(hits))
		return
	}
	// PostGIS distance of every hit; a hit that is not a candidate is wrong anyway
	pd := make([]float64, len(hits))
	for i, h := range hits {
		row, ok := cand[eqHitKey(h)]
		if !ok {
			e.fail("%s: %s (index %.4f m) is not among PostGIS's nearest (PostGIS %.4f m, SQL filter match %v); PostGIS's last is at %s",
				what, eqHitKey(h), h.Distance, e.pgDistance(eqHitKey(h), e.ewkb(q.p)), e.pgMatch(eqHitKey(h), q.v), eqLast(want))
			return
		}
		pd[i] = row.d
		diff := math.Abs(h.Distance - row.d)
		st.worst = max(st.worst, diff)
		if diff > eqDistTol {
			e.fail("%s: %s: index distance %.6f m, PostGIS %.6f m", what, eqHitKey(h), h.Distance, row.d)
		}
	}
	nearMax := func(d float64) bool { return maxDist >= 0 && math.Abs(d-maxDist) <= eqEdgeTol }
	for i := range max(len(hits), len(want)) {
		switch {
		case i < len(hits) && i < len(want):
			if eqHitKey(hits[i]) == want[i].key {
				continue
			}
			if math.Abs(pd[i]-want[i].d) > eqEdgeTol {
				e.fail("%s: place %d: index %s (PostGIS %.4f m, index %.4f m), PostGIS %s (PostGIS %.4f m; %s)",
					what, i, eqHitKey(hits[i]), pd[i], hits[i].Distance, want[i].key, want[i].d, e.ixDescribe(want[i].key, f, dist))
				return
			}
			st.edge++
		case i < len(hits):
			if !nearMax(pd[i]) {
				e.fail("%s: place %d: %s only in the index (PostGIS %.4f m, index %.4f m); PostGIS has %d features",
					what, i, eqHitKey(hits[i]), pd[i], hits[i].Distance, len(want))
				return
			}
			st.edge++
		default:
			if !nearMax(want[i].d) {
				e.fail("%s: place %d: %s only in PostGIS (PostGIS %.4f m; %s); the index has %d features",
					what, i, want[i].key, want[i].d, e.ixDescribe(want[i].key, f, dist), len(hits))
				return
			}
			st.edge++
		}
	}
	// membership: a feature on one side only is at the other side's edge
	inWant := map[eqKey]bool{}
	for _, w := range want {
		inWant[w.key] = true
	}
	inHits := map[eqKey]bool{}
	for i, h := range hits {
		inHits[eqHitKey(h)] = true
		if !inWant[eqHitKey(h)] && !(len(want) == k && pd[i] <= want[k-1].d+eqEdgeTol || nearMax(pd[i])) {
			e.fail("%s: %s only in the index (PostGIS %.4f m); PostGIS's last is at %s", what, eqHitKey(h), pd[i], eqLast(want))
			return
		}
	}
	for _, w := range want {
		if !inHits[w.key] && !(len(hits) == k && w.d >= pd[k-1]-eqEdgeTol || nearMax(w.d)) {
			e.fail("%s: %s only in PostGIS (PostGIS %.4f m; %s)", what, w.key, w.d, e.ixDescribe(w.key, f, dist))
			return
		}
	}
}

func eqLast(rows []eqRow) string {
	if len(rows) == 0 {
		return "none"
	}
	return fmt.Sprintf("%.4f m (%d features)", rows[len(rows)-1].d, len(rows))
}

// ---------------------------------------------------------------------------------
// Radius and route buffer

// pgWithin answers "every feature within r of q" in PostGIS: the features within
// r + 2 cm, each with its distance and whether ST_DWithin(…, r) holds.
func (e *eqEnv) pgWithin(q []byte, r float64, v url.Values) []eqRow {
	e.t.Helper()
	a := &eqArgs{}
	qa := "ST_GeomFromEWKB(" + a.add(q) + ")::geography"
	ra := a.add(r)
	wide := a.add(r + 2*eqEdgeTol)
	var parts []string
	for _, c := range eqFilterSQL(e.reg, v, a) {
		parts = append(parts, fmt.Sprintf("SELECT %d AS lr, id, geom::geography AS g FROM %s WHERE ST_DWithin(geom::geography, %s, %s::float8, true) AND %s",
			c.rank, c.table, qa, wide, c.where))
	}
	if len(parts) == 0 {
		return nil
	}
	sql := "SELECT c.lr, c.id, ST_Distance(c.g, " + qa + ", true), ST_DWithin(c.g, " + qa + ", " + ra + "::float8, true) FROM (" +
		strings.Join(parts, " UNION ALL ") + ") c"
	return e.query(sql, a.vals, func(row *eqRow) []any { return []any{&row.d, &row.inside} })
}

// compareWithin compares the answer of a radius or route query: the index's hits
// against PostGIS's ST_DWithin(…, r) rows (rows holds every feature within r + 2 cm,
// with inside telling ST_DWithin(…, r)). dist is the index's distance function, for
// mismatch reports.
func (e *eqEnv) compareWithin(st *eqStats, what string, q []byte, r float64, v url.Values, f index.Filter, hits []index.Hit, rows []eqRow, dist func(orb.Geometry) float64) {
	e.t.Helper()
	byKey := make(map[eqKey]eqRow, len(rows))
	n := 0
	for _, row := range rows {
		byKey[row.key] = row
		if row.inside {
			n++
		}
	}
	st.queries++
	st.hits += n
	if n > 0 {
		st.nonEmpty++
	}
	seen := make(map[eqKey]bool, len(hits))
	for _, h := range hits {
		k := eqHitKey(h)
		seen[k] = true
		row, ok := byKey[k]
		if !ok {
			e.fail("%s: %s only in the index (index %.4f m, PostGIS %.4f m, SQL filter match %v)", what, k, h.Distance, e.pgDistance(k, q), e.pgMatch(k, v))
			continue
		}
		diff := math.Abs(h.Distance - row.d)
		st.worst = max(st.worst, diff)
		if diff > eqDistTol {
			e.fail("%s: %s: index distance %.6f m, PostGIS %.6f m", what, k, h.Distance, row.d)
		}
		if !row.inside {
			if row.d-r > eqEdgeTol {
				e.fail("%s: %s only in the index (index %.4f m, PostGIS %.4f m)", what, k, h.Distance, row.d)
			} else {
				st.edge++
			}
		}
	}
	for _, row := range rows {
		if !row.inside || seen[row.key] {
			continue
		}
		if r-row.d > eqEdgeTol {
			e.fail("%s: %s only in PostGIS (PostGIS %.4f m; %s)", what, row.key, row.d, e.ixDescribe(row.key, f, dist))
		} else {
			st.edge++
		}
	}
}

func (e *eqEnv) runRadius(st *eqStats, i int, q eqRadiusQuery) {
	what := fmt.Sprintf("radius #%d POINT(%s) r=%.3f filter=%q", i, eqCoords(q.p), q.r, q.v.Encode())
	f := e.parseFilter(q.v)
	t0 := time.Now()
	hits := e.ix.Radius(q.p, q.r, f)
	st.ixTime += time.Since(t0)
	pt := e.ewkb(q.p)
	t0 = time.Now()
	rows := e.pgWithin(pt, q.r, q.v)
	st.pgTime += time.Since(t0)
	e.checkOrder(what, hits)
	e.compareWithin(st, what, pt, q.r, q.v, f, hits, rows, func(g orb.Geometry) float64 { return geo.DistanceToGeometry(q.p, g) })
}

func (e *eqEnv) runRoute(st *eqStats, i int, q eqRouteQuery) {
	what := fmt.Sprintf("route #%d %s buffer=%.3f filter=%q", i, eqWKT(q.route), q.buffer, q.v.Encode())
	f := e.parseFilter(q.v)
	t0 := time.Now()
	hits := e.ix.Along(q.route, q.buffer, f)
	st.ixTime += time.Since(t0)
	line := e.ewkb(q.route)
	t0 = time.Now()
	rows := e.pgWithin(line, q.buffer, q.v)
	st.pgTime += time.Since(t0)
	e.checkOrder(what, hits)
	e.compareWithin(st, what, line, q.buffer, q.v, f, hits, rows, func(g orb.Geometry) float64 { return geo.GeometryDistance(q.route, g) })
}

// ---------------------------------------------------------------------------------
// Polygon

// checkPolygonsValid draws polygons from a generator of its own (same shapes, other
// seed) and checks that they are valid for the index and for PostGIS (ST_IsValid),
// holes inside their outer ring, so a polygon mismatch is never an artefact of an
// invalid query.
func (e *eqEnv) checkPolygonsValid(g *eqGen) {
	t := e.t
	probe := *g
	probe.r = rand.New(rand.NewPCG(7, 7))
	var blobs [][]byte
	for range 2000 {
		mp := probe.polygon(probe.point(), 200, 3000)
		if err := index.ValidatePolygon(mp); err != nil {
			t.Fatalf("random polygon %s: %v", eqWKT(mp), err)
		}
		for _, poly := range mp {
			for _, hole := range poly[1:] {
				for _, p := range hole {
					if !planar.RingContains(poly[0], p) {
						t.Fatalf("random polygon %s: hole vertex %v outside the outer ring", eqWKT(mp), p)
					}
				}
			}
		}
		b, err := geomconv.EncodeEWKB(mp)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	var invalid int
	if err := e.pool.QueryRow(e.ctx, "SELECT count(*) FROM unnest($1::bytea[]) b WHERE NOT ST_IsValid(ST_GeomFromEWKB(b))", blobs).Scan(&invalid); err != nil {
		t.Fatal(err)
	}
	if invalid != 0 {
		t.Fatalf("%d of %d random polygons are not ST_IsValid", invalid, len(blobs))
	}
}

// runPolygon runs a random polygon twice through the index, intersecting and
// within, against one PostGIS query that returns the intersecting features with
// ST_CoveredBy. The index's "within" (InPolygon with within: every point of the
// feature lies in the polygon, boundary included) is ST_CoveredBy; ST_Within differs
// from it only for a feature lying entirely on the polygon's boundary.
func (e *eqEnv) runPolygon(sts []*eqStats, i int, q eqPolygonQuery) {
	inter, within := sts[0], sts[1]
	if err := index.ValidatePolygon(q.mp); err != nil {
		e.fatalf("random polygon %s: %v", eqWKT(q.mp), err)
	}
	f := e.parseFilter(q.v)
	poly := e.ewkb(q.mp)
	t0 := time.Now()
	hitsI := e.ix.InPolygon(q.mp, false, f)
	t1 := time.Now()
	hitsW := e.ix.InPolygon(q.mp, true, f)
	inter.ixTime += t1.Sub(t0)
	within.ixTime += time.Since(t1)

	a := &eqArgs{}
	qa := "ST_GeomFromEWKB(" + a.add(poly) + ")"
	var parts []string
	for _, c := range eqFilterSQL(e.reg, q.v, a) {
		parts = append(parts, fmt.Sprintf("SELECT %d AS lr, id, ST_CoveredBy(geom, %s) FROM %s WHERE ST_Intersects(geom, %s) AND %s",
			c.rank, qa, c.table, qa, c.where))
	}
	var rows []eqRow
	t0 = time.Now()
	if len(parts) > 0 {
		rows = e.query(strings.Join(parts, " UNION ALL "), a.vals, func(row *eqRow) []any { return []any{&row.inside} })
	}
	pgTime := time.Since(t0)
	inter.pgTime += pgTime / 2
	within.pgTime += pgTime / 2

	var wantW []eqRow
	for _, row := range rows {
		if row.inside {
			wantW = append(wantW, row)
		}
	}
	what := fmt.Sprintf("polygon #%d %s filter=%q", i, eqWKT(q.mp), q.v.Encode())
	e.comparePolygon(inter, what+" (intersects)", poly, q.v, f, hitsI, rows)
	e.comparePolygon(within, what+" (within)", poly, q.v, f, hitsW, wantW)
}

// comparePolygon requires the same features, with distance 0, in (layer, id) order.
func (e *eqEnv) comparePolygon(st *eqStats, what string, poly []byte, v url.Values, f index.Filter, hits []index.Hit, want []eqRow) {
	e.t.Helper()
	st.queries++
	st.hits += len(want)
	if len(want) > 0 {
		st.nonEmpty++
	}
	e.checkOrder(what, hits)
	inWant := map[eqKey]bool{}
	for _, w := range want {
		inWant[w.key] = true
	}
	inHits := map[eqKey]bool{}
	for _, h := range hits {
		k := eqHitKey(h)
		inHits[k] = true
		if h.Distance != 0 {
			e.fail("%s: %s has distance %v, want 0", what, k, h.Distance)
		}
		if !inWant[k] {
			e.fail("%s: %s only in the index (%s, SQL filter match %v; geometry %s)", what, k, e.pgPolygonDescribe(k, poly), e.pgMatch(k, v), eqWKT(h.Rec.Geometry))
		}
	}
	for _, w := range want {
		if !inHits[w.key] {
			rec, ok, _ := e.ix.Get(w.key.layer, w.key.id)
			desc := "not in the index"
			if ok {
				desc = fmt.Sprintf("filter match %v, geometry %s", f.Match(rec), eqWKT(rec.Geometry))
			}
			e.fail("%s: %s only in PostGIS (%s; %s)", what, w.key, e.pgPolygonDescribe(w.key, poly), desc)
		}
	}
}

// pgPolygonDescribe gives PostGIS's predicates for one feature and a polygon, and
// the feature's planar distance to the polygon's boundary in degrees.
func (e *eqEnv) pgPolygonDescribe(k eqKey, poly []byte) string {
	var inter, covered, within bool
	var edge float64
	err := e.pool.QueryRow(e.ctx, "SELECT ST_Intersects(geom, p), ST_CoveredBy(geom, p), ST_Within(geom, p), ST_Distance(geom, ST_Boundary(p)) FROM "+
		pgx.Identifier{k.layer}.Sanitize()+", ST_GeomFromEWKB($1) p WHERE id = $2", poly, k.id).Scan(&inter, &covered, &within, &edge)
	if err != nil {
		return fmt.Sprintf("PostGIS: %v", err)
	}
	return fmt.Sprintf("PostGIS ST_Intersects %v, ST_CoveredBy %v, ST_Within %v, %.3g° from the polygon's boundary", inter, covered, within, edge)
}

// eqCoords writes "lon lat" with full precision.
func eqCoords(p orb.Point) string {
	return strconv.FormatFloat(p[0], 'f', -1, 64) + " " + strconv.FormatFloat(p[1], 'f', -1, 64)
}

// eqWKT writes a geometry as WKT, with full precision, for mismatch reports.
func eqWKT(g orb.Geometry) string {
	pts := func(ps []orb.Point) string {
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = eqCoords(p)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	rings := func(p orb.Polygon) string {
		s := make([]string, len(p))
		for i, r := range p {
			s[i] = pts(r)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	switch v := g.(type) {
	case orb.Point:
		return "POINT(" + eqCoords(v) + ")"
	case orb.LineString:
		return "LINESTRING" + pts(v)
	case orb.MultiLineString:
		s := make([]string, len(v))
		for i, l := range v {
			s[i] = pts(l)
		}
		return "MULTILINESTRING(" + strings.Join(s, ", ") + ")"
	case orb.Polygon:
		return "POLYGON" + rings(v)
	case orb.MultiPolygon:
		s := make([]string, len(v))
		for i, p := range v {
			s[i] = rings(p)
		}
		return "MULTIPOLYGON(" + strings.Join(s, ", ") + ")"
	}
	return fmt.Sprintf("%v", g)
}
