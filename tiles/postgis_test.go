package tiles_test

// TestTilesMatchPostGIS checks the renderer against PostGIS's own vector tiles: on the
// demo dataset, for every tile of zooms 14, 15 and 16 that the Luohu boundary covers
// (421 tiles) and for every layer, our tile (clustering off, no filter, WGS84) and
//
//	SELECT ST_AsMVT(q, layer, 4096, 'geom', 'id') FROM (
//	    SELECT id, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
//	    FROM layer WHERE ST_Transform(geom, 3857) && ST_TileEnvelope(z, x, y, margin => 64.0/4096)) q
//
// are decoded (orb's MVT decoder, not ours) and compared feature by feature:
//
//   - the same set of feature ids;
//   - a point at most half a unit (rounding) from its exact position — projected here
//     independently of the package — and within pgPointTol of PostGIS's (PostGIS
//     rounds half to even, we half away from zero);
//   - a line or polygon of the same kind (line, polygon) on both sides, whose bounds
//     are within pgBoundTol tile units on every side of the exact drawing's (the
//     geometry projected and clipped to the tile grown by the 64-unit buffer, not
//     rounded: Douglas–Peucker at one unit and rounding move a side by less) and of
//     PostGIS's.
//
// PostGIS 3.3's ST_AsMVTGeom snaps the vertices to the integer grid first and clips
// afterwards; we clip the exact geometry and round last. The differences that follow
// from that, and from our drawing a degenerate shape as a point, are allowed, each by
// a precise rule, counted by reason, logged (the first pgLogAllowed of each) and
// bounded in total by pgMaxAllowed of the features compared:
//
//   - "snapped before clipping (PostGIS)": a line or polygon whose bounds differ from
//     PostGIS's by more than pgBoundTol while ours match the exact drawing's and
//     PostGIS's match those of the geometry snapped first and clipped then. Where a
//     steep edge crosses the buffer's edge, moving its vertices by half a unit moves
//     the crossing by half a unit times the slope (11 units were seen);
//   - "point snapped into the buffer (PostGIS only)": a point less than half a unit
//     outside the buffered tile, which PostGIS rounds onto the buffer's edge and keeps;
//   - "edge sliver": a line or polygon that only one side draws, whose exact part
//     inside the buffered tile is under pgCollapseSize units across in one direction
//     and within pgCollapseSize units of the buffer's edge (one side's clipping and
//     snapping keeps the sliver, the other's drops it); for one that only PostGIS
//     draws, also one with no exact part inside that has one once snapped first. A
//     feature that only we draw must have a part inside the buffered tile: a line or
//     polygon drawn where it never enters is an error;
//   - "collapsed": a line or polygon whose projected bounds are under pgCollapseSize
//     units in width or height, which we draw as a point at the center of its bounds
//     (by design: at no zoom does a feature vanish) and PostGIS drops (ST_AsMVTGeom
//     returns NULL for a shape that collapses on the grid) or keeps as a tiny shape
//     around our point.
//
// Everything else fails the test, and so do fewer than pgMinNonEmpty non-empty tiles
// per zoom or fewer than pgMinFeatures features compared. It needs
// RISKMAP_TEST_DATABASE_URL (skipped without) and takes about 15 s, 50 s with -race,
// most of it seeding the database.
import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"

	"riskmap/demo"
	"riskmap/index"
	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/store/postgis"
	"riskmap/tiles"
)

const (
	pgExtent       = tiles.Extent
	pgBuffer       = 64  // tile units, the renderer's default
	pgPointTol     = 1.0 // tile units: |ours − PostGIS| per coordinate of a point
	pgBoundTol     = 2.0 // tile units: per side of a line's or polygon's bounds
	pgCollapseSize = 2.0 // tile units: what counts as degenerate (see the test's comment)
	pgWorkers      = 4
	pgMaxFailures  = 200
	pgLogAllowed   = 3 // allowed differences logged per reason
	// Bounds on the test's own figures, so that it can fail.
	pgMinNonEmpty  = 0.90   // share of tiles with at least one feature (in any layer)
	pgMaxAllowed   = 0.002  // allowed differences / features compared, all reasons
	pgMinFeatures  = 100000 // features compared, all zooms and layers
	pgTileEnvelope = "ST_TileEnvelope($1::int4, $2::int4, $3::int4)"
)

var pgZooms = []maptile.Zoom{14, 15, 16}

// pgDemo is the demo dataset in a fresh PostGIS database and, loaded from it, in an
// index: the same ids on both sides.
type pgDemo struct {
	reg   *layers.Registry
	store *postgis.Store
	pool  *pgxpool.Pool // JIT off: it would compile these queries and double their time
	ix    *index.Index
	setup string
}

// newPGDemo creates the database (dropped when tb ends), seeds the demo dataset, adds
// a GiST index on ST_Transform(geom, 3857) to every layer (what a tile server on
// PostGIS has) and loads the index. It skips tb when RISKMAP_TEST_DATABASE_URL is
// not set.
func newPGDemo(tb testing.TB, ctx context.Context, conns int) *pgDemo {
	tb.Helper()
	dbURL := pgtest.NewDatabase(tb)
	start := time.Now()
	reg := layers.New()
	s, err := postgis.Open(ctx, dbURL, reg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	if _, err := s.Migrate(ctx, nil); err != nil {
		tb.Fatal(err)
	}
	var steps []string
	step := func(name string, t0 time.Time) {
		steps = append(steps, fmt.Sprintf("%s %v", name, time.Since(t0).Round(time.Millisecond)))
	}
	step("create+migrate", start)
	t0 := time.Now()
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		tb.Fatal(err)
	}
	step("generate", t0)
	t0 = time.Now()
	if _, err := demo.Seed(ctx, s, reg, ds, demo.SeedOptions{}); err != nil {
		tb.Fatal(err)
	}
	step("seed", t0)
	t0 = time.Now()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = int32(conns)
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET jit = off")
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	for _, l := range reg.Layers() {
		tbl := pgx.Identifier{l.Name}.Sanitize()
		for _, q := range []string{"CREATE INDEX ON " + tbl + " USING gist (ST_Transform(geom, 3857))", "ANALYZE " + tbl} {
			if _, err := pool.Exec(ctx, q); err != nil {
				tb.Fatalf("%s: %v", q, err)
			}
		}
	}
	step("3857 indexes", t0)
	t0 = time.Now()
	ix := index.New(reg)
	if err := ix.Load(ctx, s, nil); err != nil {
		tb.Fatal(err)
	}
	step("index load", t0)
	for _, l := range reg.Layers() {
		n, err := s.Count(ctx, l.Name)
		if err != nil {
			tb.Fatal(err)
		}
		if got := ix.Count(l.Name); int64(got) != n || n == 0 {
			tb.Fatalf("%s: index holds %d features, PostGIS %d", l.Name, got, n)
		}
	}
	return &pgDemo{reg: reg, store: s, pool: pool, ix: ix, setup: fmt.Sprintf("%v (%s)", time.Since(start).Round(time.Millisecond), strings.Join(steps, ", "))}
}

// pgTileSQL is PostGIS's tile of one layer: $1, $2, $3 are z, x, y and $4 the layer
// name; the table name is the registry's, quoted.
func pgTileSQL(l *layers.Layer) string {
	return "SELECT ST_AsMVT(q, $4::text, 4096, 'geom', 'id') FROM (SELECT id, ST_AsMVTGeom(ST_Transform(geom, 3857), " +
		pgTileEnvelope + ", 4096, 64, true) AS geom FROM " + pgx.Identifier{l.Name}.Sanitize() +
		" WHERE ST_Transform(geom, 3857) && ST_TileEnvelope($1::int4, $2::int4, $3::int4, margin => 64.0/4096)) q"
}

// pgDistrictTiles returns every tile of zoom z that the Luohu boundary covers, in
// order.
func pgDistrictTiles(tb testing.TB, z maptile.Zoom) []maptile.Tile {
	tb.Helper()
	b, err := demo.Boundary()
	if err != nil {
		tb.Fatal(err)
	}
	set, err := tilecover.Polygon(b, z)
	if err != nil {
		tb.Fatal(err)
	}
	ts := make([]maptile.Tile, 0, len(set))
	for t := range set {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b maptile.Tile) int { return cmp.Or(cmp.Compare(a.Y, b.Y), cmp.Compare(a.X, b.X)) })
	return ts
}

// pgDecode decodes a tile holding at most the one layer name and returns its features
// by id.
func pgDecode(raw []byte, name string) (map[uint64]orb.Geometry, error) {
	out := map[uint64]orb.Geometry{}
	if len(raw) == 0 {
		return out, nil
	}
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if l.Name != name {
			return nil, fmt.Errorf("layer %q in the tile of %q", l.Name, name)
		}
		if l.Extent != pgExtent {
			return nil, fmt.Errorf("layer %q: extent %d", l.Name, l.Extent)
		}
		for _, f := range l.Features {
			id, ok := f.ID.(float64)
			if !ok {
				return nil, fmt.Errorf("layer %q: a feature without id", l.Name)
			}
			if _, dup := out[uint64(id)]; dup {
				return nil, fmt.Errorf("layer %q: id %d twice", l.Name, uint64(id))
			}
			out[uint64(id)] = f.Geometry
		}
	}
	return out, nil
}

// pgStats are the test's figures, per zoom.
type pgStats struct {
	tiles, nonEmpty   int
	layerTiles        int
	features          int // ids in either tile, summed over layers and tiles
	points, shapes    int // compared on both sides: points by position, lines/polygons by bounds
	allowed           map[string]int
	worstPoint        float64
	worstBound        float64
	ourTime, pgTime   time.Duration
	ourBytes, pgBytes int64
}

func (s *pgStats) add(o *pgStats) {
	s.tiles += o.tiles
	s.nonEmpty += o.nonEmpty
	s.layerTiles += o.layerTiles
	s.features += o.features
	s.points += o.points
	s.shapes += o.shapes
	for k, v := range o.allowed {
		s.allowed[k] += v
	}
	s.worstPoint = max(s.worstPoint, o.worstPoint)
	s.worstBound = max(s.worstBound, o.worstBound)
	s.ourTime += o.ourTime
	s.pgTime += o.pgTime
	s.ourBytes += o.ourBytes
	s.pgBytes += o.pgBytes
}

func (s *pgStats) allowedTotal() int {
	n := 0
	for _, v := range s.allowed {
		n += v
	}
	return n
}

func (s *pgStats) allowedText() string {
	if len(s.allowed) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range s.allowed {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s %d", k, s.allowed[k]))
	}
	return strings.Join(parts, ", ")
}

// pgCompare holds what the workers share.
type pgCompare struct {
	t      *testing.T
	ctx    context.Context
	env    *pgDemo
	r      *tiles.Renderer
	sqls   map[string]string
	failed atomic.Int32
	abort  atomic.Bool
	mu     sync.Mutex
	logged map[string]int
}

func (c *pgCompare) fail(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf(format, args...)
	if c.failed.Add(1) >= pgMaxFailures {
		c.abort.Store(true)
	}
}

// allow counts an allowed difference and logs the first few of each reason.
func (c *pgCompare) allow(st *pgStats, reason, what, detail string) {
	st.allowed[reason]++
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.logged[reason] < pgLogAllowed {
		c.logged[reason]++
		c.t.Logf("allowed, %s: %s; %s", reason, what, detail)
	}
}

func TestTilesMatchPostGIS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	env := newPGDemo(t, ctx, pgWorkers)
	r, err := tiles.NewRenderer(env.reg, env.ix, tiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &pgCompare{t: t, ctx: ctx, env: env, r: r, sqls: map[string]string{}, logged: map[string]int{}}
	for _, l := range env.reg.Layers() {
		c.sqls[l.Name] = pgTileSQL(l)
	}
	t.Logf("setup (database, seed, 3857 indexes, index load): %s", env.setup)

	total := &pgStats{allowed: map[string]int{}}
	for _, z := range pgZooms {
		ts := pgDistrictTiles(t, z)
		start := time.Now()
		st := c.run(ts)
		if c.abort.Load() {
			t.Fatalf("stopped after %d mismatches", c.failed.Load())
		}
		t.Logf("z%d: %d tiles (%d non-empty), %d layer tiles, %d features (%d points compared by position, %d lines/polygons by bounds), allowed differences: %s; worst point offset %.2g, worst bound offset %.2g tile units; %d vs %d bytes (ours vs PostGIS); %v (ours %v, PostGIS %v over %d workers)",
			z, st.tiles, st.nonEmpty, st.layerTiles, st.features, st.points, st.shapes, st.allowedText(),
			st.worstPoint, st.worstBound, st.ourBytes, st.pgBytes, time.Since(start).Round(time.Millisecond),
			st.ourTime.Round(time.Millisecond), st.pgTime.Round(time.Millisecond), pgWorkers)
		if share := float64(st.nonEmpty) / float64(st.tiles); share < pgMinNonEmpty {
			t.Errorf("z%d: only %.1f %% of the tiles are non-empty, want at least %.0f %%", z, 100*share, 100*pgMinNonEmpty)
		}
		total.add(st)
	}
	t.Logf("summary: %d tiles compared (%d layer tiles), %d features compared, allowed differences: %s (%.3f %% of the features)",
		total.tiles, total.layerTiles, total.features, total.allowedText(), 100*float64(total.allowedTotal())/float64(max(1, total.features)))
	if total.features < pgMinFeatures {
		t.Errorf("only %d features compared, want at least %d", total.features, pgMinFeatures)
	}
	if share := float64(total.allowedTotal()) / float64(max(1, total.features)); share > pgMaxAllowed {
		t.Errorf("allowed differences are %.3f %% of the features, want at most %.1f %%", 100*share, 100*pgMaxAllowed)
	}
}

// run compares every tile of ts on pgWorkers goroutines and returns the figures.
func (c *pgCompare) run(ts []maptile.Tile) *pgStats {
	out := &pgStats{allowed: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range pgWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &pgStats{allowed: map[string]int{}}
			for i := w; i < len(ts) && !c.abort.Load(); i += pgWorkers {
				if err := c.tile(st, ts[i]); err != nil {
					c.fail("%v", err)
				}
			}
			mu.Lock()
			out.add(st)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// tile compares every layer of one tile.
func (c *pgCompare) tile(st *pgStats, mt maptile.Tile) error {
	st.tiles++
	nonEmpty := false
	coord := tiles.Coord{Z: uint32(mt.Z), X: mt.X, Y: mt.Y}
	for _, l := range c.env.reg.Layers() {
		st.layerTiles++
		t0 := time.Now()
		ours, _, err := c.r.Render(nil, l.Name, tiles.Request{Coord: coord, Filter: index.Filter{MinCapacity: -1}, CRS: tiles.WGS84, NoCluster: true})
		if err != nil {
			return fmt.Errorf("%s %v: render: %w", l.Name, coord, err)
		}
		t1 := time.Now()
		var theirs []byte
		if err := c.env.pool.QueryRow(c.ctx, c.sqls[l.Name], int32(mt.Z), int32(mt.X), int32(mt.Y), l.Name).Scan(&theirs); err != nil {
			return fmt.Errorf("%s %v: PostGIS: %w", l.Name, coord, err)
		}
		st.ourTime += t1.Sub(t0)
		st.pgTime += time.Since(t1)
		st.ourBytes += int64(len(ours))
		st.pgBytes += int64(len(theirs))
		got, err := pgDecode(ours, l.Name)
		if err != nil {
			return fmt.Errorf("%s %v: our tile: %w", l.Name, coord, err)
		}
		want, err := pgDecode(theirs, l.Name)
		if err != nil {
			return fmt.Errorf("%s %v: PostGIS's tile: %w", l.Name, coord, err)
		}
		if len(got)+len(want) > 0 {
			nonEmpty = true
		}
		c.compare(st, l, coord, got, want)
	}
	if nonEmpty {
		st.nonEmpty++
	}
	return nil
}

// compare checks one layer tile, feature by feature.
func (c *pgCompare) compare(st *pgStats, l *layers.Layer, coord tiles.Coord, got, want map[uint64]orb.Geometry) {
	ids := make([]uint64, 0, len(got)+len(want))
	for id := range got {
		ids = append(ids, id)
	}
	for id := range want {
		if _, ok := got[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	pr := newPGProjection(coord)
	for _, id := range ids {
		st.features++
		g, inOurs := got[id]
		w, inTheirs := want[id]
		rec, ok, err := c.env.ix.Get(l.Name, int64(id))
		if err != nil || !ok {
			c.fail("%s %v: feature %d is not in the index (%v)", l.Name, coord, id, err)
			continue
		}
		src := rec.Geometry
		what := fmt.Sprintf("%s %v: feature %d (%s)", l.Name, coord, id, src.GeoJSONType())
		_, srcIsPoint := src.(orb.Point)
		switch {
		case inOurs && inTheirs && srcIsPoint:
			gp, ok1 := g.(orb.Point)
			wp, ok2 := w.(orb.Point)
			if !ok1 || !ok2 {
				c.fail("%s: ours %s, PostGIS %s", what, g.GeoJSONType(), w.GeoJSONType())
				continue
			}
			st.points++
			if e := pr.point(src.(orb.Point)); max(math.Abs(gp[0]-e[0]), math.Abs(gp[1]-e[1])) > 0.5+1e-6 {
				c.fail("%s: ours at %v, the exact position is %v", what, gp, e)
			}
			d := max(math.Abs(gp[0]-wp[0]), math.Abs(gp[1]-wp[1]))
			st.worstPoint = max(st.worstPoint, d)
			if d > pgPointTol {
				c.fail("%s: ours at %v, PostGIS at %v", what, gp, wp)
			}
		case inOurs && inTheirs:
			gb, wb := g.Bound(), w.Bound()
			if gp, ok := g.(orb.Point); ok && pr.degenerate(src) {
				// collapsed: ours a point, PostGIS a tiny line or polygon around it
				if !wb.Pad(pgBoundTol).Contains(gp) {
					c.fail("%s: ours collapsed to a point at %v, PostGIS's %s has bounds %v", what, gp, w.GeoJSONType(), wb)
				} else {
					st.allowed["collapsed (PostGIS keeps a tiny shape)"]++
				}
				continue
			}
			if pgDim(g) != pgDim(w) {
				c.fail("%s: ours %s %v, PostGIS %s %v", what, g.GeoJSONType(), gb, w.GeoJSONType(), wb)
				continue
			}
			st.shapes++
			exact, snapped, _, _ := pr.clipped(src)
			if d := pgBoundDiff(gb, exact); d > pgBoundTol {
				c.fail("%s: ours %s bounds %v, the exact clipped shape's %v", what, g.GeoJSONType(), gb, exact)
				continue
			}
			d := pgBoundDiff(gb, wb)
			switch {
			case d <= pgBoundTol:
				st.worstBound = max(st.worstBound, d)
			case pgBoundDiff(wb, snapped) <= pgBoundTol:
				st.allowed["snapped before clipping (PostGIS)"]++
			default:
				c.fail("%s: ours %s bounds %v, PostGIS %v (exact %v, snapped first %v)", what, g.GeoJSONType(), gb, wb, exact, snapped)
			}
		case inOurs && !srcIsPoint && pgDim(g) == 0 && pr.degenerate(src):
			c.allow(st, "collapsed (PostGIS drops it)", what, pr.describe(src))
		case !inOurs && srcIsPoint && pr.snapsInto(src.(orb.Point)):
			c.allow(st, "point snapped into the buffer (PostGIS only)", what, pr.describe(src))
		case !srcIsPoint && pr.edgeSliver(src, !inOurs):
			if inOurs {
				c.allow(st, "edge sliver (ours only)", what, pr.describe(src))
			} else {
				c.allow(st, "edge sliver (PostGIS only)", what, pr.describe(src))
			}
		case inOurs:
			c.fail("%s: ours only, as %s %v; %s", what, g.GeoJSONType(), g.Bound(), pr.describe(src))
		default:
			c.fail("%s: PostGIS only, as %s %v; %s", what, w.GeoJSONType(), w.Bound(), pr.describe(src))
		}
	}
}

// pgDim is a geometry's dimension: 0 points, 1 lines, 2 polygons.
func pgDim(g orb.Geometry) int {
	switch g.(type) {
	case orb.Point, orb.MultiPoint:
		return 0
	case orb.LineString, orb.MultiLineString:
		return 1
	}
	return 2
}

// pgProjection maps lon/lat to tile units of one tile, independently of the
// package's own (spherical Web Mercator, y down).
type pgProjection struct {
	scale, x0, y0 float64
	box           orb.Bound // the tile grown by the buffer, tile units
}

func newPGProjection(c tiles.Coord) pgProjection {
	return pgProjection{
		scale: math.Ldexp(pgExtent, int(c.Z)),
		x0:    float64(c.X) * pgExtent, y0: float64(c.Y) * pgExtent,
		box: orb.Bound{Min: orb.Point{-pgBuffer, -pgBuffer}, Max: orb.Point{pgExtent + pgBuffer, pgExtent + pgBuffer}},
	}
}

func (p pgProjection) point(q orb.Point) orb.Point {
	x := (q[0] + 180) / 360 * p.scale
	s := math.Sin(q[1] * math.Pi / 180)
	y := (0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)) * p.scale
	return orb.Point{x - p.x0, y - p.y0}
}

func (p pgProjection) project(g orb.Geometry) orb.Geometry {
	g = orb.Clone(g)
	switch g := g.(type) {
	case orb.Point:
		return p.point(g)
	case orb.LineString:
		for i := range g {
			g[i] = p.point(g[i])
		}
	case orb.MultiLineString:
		for _, ls := range g {
			for i := range ls {
				ls[i] = p.point(ls[i])
			}
		}
	case orb.Polygon:
		for _, r := range g {
			for i := range r {
				r[i] = p.point(r[i])
			}
		}
	case orb.MultiPolygon:
		for _, poly := range g {
			for _, r := range poly {
				for i := range r {
					r[i] = p.point(r[i])
				}
			}
		}
	}
	return g
}

// degenerate reports whether a line's or polygon's projected bounds are under
// pgCollapseSize tile units in width or height.
func (p pgProjection) degenerate(src orb.Geometry) bool {
	b := p.project(src).Bound()
	return b.Max[0]-b.Min[0] < pgCollapseSize || b.Max[1]-b.Min[1] < pgCollapseSize
}

// snapsInto reports whether a point outside the buffered tile is within half a unit
// of it, so that PostGIS, which snaps to the grid before it clips, keeps it on the
// buffer's edge.
func (p pgProjection) snapsInto(src orb.Point) bool {
	q := p.point(src)
	return !p.box.Contains(q) && p.box.Contains(orb.Point{math.Round(q[0]), math.Round(q[1])})
}

// edgeSliver reports whether the part of a line or polygon inside the buffered tile
// (projected, clipped) is under pgCollapseSize units across in one direction and
// within pgCollapseSize units of the buffer's edge: a sliver that one side's
// clipping and snapping keeps and the other's drops. With snapFirst (for a feature
// only PostGIS draws) the feature may also have no exact part inside at all if it
// has one once its vertices are snapped to the grid, as PostGIS snaps them, before
// clipping.
func (p pgProjection) edgeSliver(src orb.Geometry, snapFirst bool) bool {
	exact, _, inExact, inSnapped := p.clipped(src)
	if !inExact {
		return snapFirst && inSnapped
	}
	if exact.Max[0]-exact.Min[0] >= pgCollapseSize && exact.Max[1]-exact.Min[1] >= pgCollapseSize {
		return false
	}
	return exact.Min[0] < p.box.Min[0]+pgCollapseSize || exact.Max[0] > p.box.Max[0]-pgCollapseSize ||
		exact.Min[1] < p.box.Min[1]+pgCollapseSize || exact.Max[1] > p.box.Max[1]-pgCollapseSize
}

// describe says where src lies relative to the buffered tile, for failures.
func (p pgProjection) describe(src orb.Geometry) string {
	g := p.project(src)
	b := g.Bound()
	s := fmt.Sprintf("projected bounds [%.2f %.2f]–[%.2f %.2f]", b.Min[0], b.Min[1], b.Max[0], b.Max[1])
	if cg := clip.Geometry(p.box, g); cg != nil {
		cb := cg.Bound()
		s += fmt.Sprintf(", clipped to the buffered tile [%.2f %.2f]–[%.2f %.2f]", cb.Min[0], cb.Min[1], cb.Max[0], cb.Max[1])
	} else {
		s += ", nothing inside the buffered tile"
	}
	c := p.point(src.Bound().Center())
	return s + fmt.Sprintf(", center of bounds at [%.2f %.2f]", c[0], c[1])
}

// pgBoundDiff is the largest difference between two bounds' sides.
func pgBoundDiff(a, b orb.Bound) float64 {
	return max(math.Abs(a.Min[0]-b.Min[0]), math.Abs(a.Min[1]-b.Min[1]), math.Abs(a.Max[0]-b.Max[0]), math.Abs(a.Max[1]-b.Max[1]))
}

// clipped returns the bounds of src projected and clipped to the buffered tile
// (exact), and of src projected, snapped to the integer grid and then clipped (what
// PostGIS does), and whether each is non-empty.
func (p pgProjection) clipped(src orb.Geometry) (exact, snapped orb.Bound, inExact, inSnapped bool) {
	g := p.project(src)
	if cg := clip.Geometry(p.box, orb.Clone(g)); cg != nil {
		exact, inExact = cg.Bound(), true
	}
	snap := func(q orb.Point) orb.Point { return orb.Point{math.Round(q[0]), math.Round(q[1])} }
	switch g := g.(type) {
	case orb.LineString:
		for i := range g {
			g[i] = snap(g[i])
		}
	case orb.MultiLineString:
		for _, ls := range g {
			for i := range ls {
				ls[i] = snap(ls[i])
			}
		}
	case orb.Polygon:
		for _, r := range g {
			for i := range r {
				r[i] = snap(r[i])
			}
		}
	case orb.MultiPolygon:
		for _, poly := range g {
			for _, r := range poly {
				for i := range r {
					r[i] = snap(r[i])
				}
			}
		}
	}
	if cg := clip.Geometry(p.box, g); cg != nil {
		snapped, inSnapped = cg.Bound(), true
	}
	return exact, snapped, inExact, inSnapped
}
