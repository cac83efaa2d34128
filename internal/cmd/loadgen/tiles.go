package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"

	"riskmap/demo"
	"riskmap/layers"
	"riskmap/store/postgis"
	"riskmap/tiles"
)

// Tile phases, in the order they run (per connection count and gzip setting).
var tilePhases = []string{
	"tiles-pg", "tiles-http-uncached", "tiles-http-cached",
	"tiles-cluster-uncached", "tiles-cluster-cached",
}

// Tile sets and sides, as the tables name them.
const (
	setDetail    = "z14–16, all layers, clustering off"
	setCluster   = "z10–13, all layers, clustered"
	sidePG       = "PostGIS ST_AsMVT via pgx"
	sideUncached = "riskmap HTTP uncached"
	sideCached   = "riskmap HTTP cached"
)

// gzipHeader is the request header of the gzip phases.
const gzipHeader = "Accept-Encoding: gzip\r\n"

// tileSet draws n tiles, fixed by stream: a zoom uniform in [zmin, zmax] and a
// position uniform over the district's boundary.
func tileSet(n int, zmin, zmax maptile.Zoom, stream uint64) ([]maptile.Tile, error) {
	b, err := demo.Boundary()
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(20220122, stream))
	bb := b.Bound()
	ts := make([]maptile.Tile, 0, n)
	for len(ts) < n {
		p := orb.Point{bb.Min[0] + r.Float64()*(bb.Max[0]-bb.Min[0]), bb.Min[1] + r.Float64()*(bb.Max[1]-bb.Min[1])}
		if !planar.PolygonContains(b, p) {
			continue
		}
		z := zmin + maptile.Zoom(r.IntN(int(zmax-zmin)+1))
		ts = append(ts, maptile.At(p, z))
	}
	return ts, nil
}

func distinct(ts []maptile.Tile) []maptile.Tile {
	seen := map[maptile.Tile]bool{}
	var out []maptile.Tile
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// tileIndexes creates a GiST index on ST_Transform(geom, 3857) on every layer (what
// the PostGIS tile query filters with) and analyzes the tables; drop removes the
// indexes this run created in a given database unless -keep.
func tileIndexes(ctx context.Context, s *postgis.Store, reg *layers.Registry, cfg config, say func(string, ...any)) (drop func(), err error) {
	start := time.Now()
	var created []string
	for _, l := range reg.Layers() {
		name := l.Name + "_geom3857_idx"
		var had bool
		if err := s.Pool().QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", pgx.Identifier{name}.Sanitize()).Scan(&had); err != nil {
			return nil, err
		}
		tbl := pgx.Identifier{l.Name}.Sanitize()
		for _, q := range []string{
			"CREATE INDEX IF NOT EXISTS " + pgx.Identifier{name}.Sanitize() + " ON " + tbl + " USING gist (ST_Transform(geom, 3857))",
			"ANALYZE " + tbl,
		} {
			if _, err := s.Pool().Exec(ctx, q); err != nil {
				return nil, fmt.Errorf("%s: %w", q, err)
			}
		}
		if !had {
			created = append(created, name)
		}
	}
	say("GiST indexes on ST_Transform(geom, 3857) and ANALYZE of %d layers in %v", len(reg.Layers()), time.Since(start).Round(time.Millisecond))
	drop = func() {}
	if cfg.databaseURL != "" && !cfg.keep {
		drop = func() {
			for _, name := range created {
				if _, err := s.Pool().Exec(context.WithoutCancel(ctx), "DROP INDEX IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
					say("drop %s: %v", name, err)
				}
			}
		}
	}
	return drop, nil
}

// tileSQL is PostGIS's tile of every layer of the registry, in registry order: one
// ST_AsMVT per layer, concatenated (protobuf concatenation of Tile messages merges
// their layers, as riskmap's composite tiles do). $1, $2, $3 are z, x, y and $4… the
// layer names. Each layer carries what riskmap's tiles carry: the id as feature id
// and as property "id", and the Summary fields, or every field when detail.
func tileSQL(reg *layers.Registry, detail bool) string {
	var parts []string
	for i, l := range reg.Layers() {
		cols := []string{"id AS mvt_id", "id"}
		for _, f := range l.Fields {
			if f.Summary || detail {
				cols = append(cols, pgx.Identifier{f.Name}.Sanitize())
			}
		}
		parts = append(parts, fmt.Sprintf("COALESCE((SELECT ST_AsMVT(q, $%d::text, %d, 'geom', 'mvt_id') FROM (SELECT %s, "+
			"ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope($1::int4, $2::int4, $3::int4), %d, 64, true) AS geom FROM %s "+
			"WHERE ST_Transform(geom, 3857) && ST_TileEnvelope($1::int4, $2::int4, $3::int4, margin => 64.0/%d)) q), ''::bytea)",
			4+i, tiles.Extent, strings.Join(cols, ", "), tiles.Extent, pgx.Identifier{l.Name}.Sanitize(), tiles.Extent))
	}
	return "SELECT " + strings.Join(parts, " || ")
}

// pgTiles holds what every PostGIS tile worker shares.
type pgTiles struct {
	pool            *pgxpool.Pool
	summary, detail string // SQL below and from the detail zoom
	detailZoom      maptile.Zoom
	names           []any // layer names, $4…
}

// newTilePool is the PostGIS tile workers' pool, JIT off on every connection (it
// would compile these costly-looking queries on every execution).
func newTilePool(ctx context.Context, dbURL string, conns int) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	pc.MaxConns = int32(conns)
	pc.MinConns = int32(conns)
	pc.ConnConfig.RuntimeParams["application_name"] = "riskmap-loadgen-tiles"
	pc.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET jit = off")
		return err
	}
	return pgxpool.NewWithConfig(ctx, pc)
}

// pgTileWorker makes tiles with PostGIS on one pooled connection held for the
// phase; with gzip it compresses each (non-empty) tile as a tile server in front of
// PostGIS would, with compress/gzip at the default level.
type pgTileWorker struct {
	*pgTiles
	conn *pgxpool.Conn
	ts   []maptile.Tile
	gzip bool
	zw   *gzip.Writer
	zbuf bytes.Buffer
	raw  []byte
	args []any
}

func pgTileWorkers(p *pgTiles, ts []maptile.Tile, gz bool) func(context.Context) (worker, error) {
	return func(ctx context.Context) (worker, error) {
		conn, err := p.pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		return &pgTileWorker{pgTiles: p, conn: conn, ts: ts, gzip: gz, zw: gzip.NewWriter(io.Discard)}, nil
	}
}

func (w *pgTileWorker) close() { w.conn.Release() }

// tile returns PostGIS's tile t (valid until the next call).
func (w *pgTileWorker) tile(ctx context.Context, t maptile.Tile) ([]byte, error) {
	sql := w.summary
	if t.Z >= w.detailZoom {
		sql = w.detail
	}
	w.args = append(w.args[:0], int32(t.Z), int32(t.X), int32(t.Y))
	w.args = append(w.args, w.names...)
	if err := w.conn.QueryRow(ctx, sql, w.args...).Scan(&w.raw); err != nil {
		return nil, err
	}
	return w.raw, nil
}

// do returns no feature count (the tile is not decoded) and the bytes a client
// would receive.
func (w *pgTileWorker) do(ctx context.Context, i int) (int, int, error) {
	raw, err := w.tile(ctx, w.ts[i])
	if err != nil {
		return 0, 0, err
	}
	if !w.gzip || len(raw) == 0 {
		return 0, len(raw), nil
	}
	w.zbuf.Reset()
	w.zw.Reset(&w.zbuf)
	if _, err := w.zw.Write(raw); err != nil {
		return 0, 0, err
	}
	if err := w.zw.Close(); err != nil {
		return 0, 0, err
	}
	return 0, w.zbuf.Len(), nil
}

// tileHTTPWorker fetches tiles; it reads each body in full and reports its length.
type tileHTTPWorker struct{ *httpWorker }

func tileHTTPWorkers(addr string, ts []maptile.Tile, query string, gz bool) func(context.Context) (worker, error) {
	header := ""
	if gz {
		header = gzipHeader
	}
	path := tilePath(ts, query)
	return func(ctx context.Context) (worker, error) {
		w, err := httpWorkers(addr, path, header)(ctx)
		if err != nil {
			return nil, err
		}
		return tileHTTPWorker{w.(*httpWorker)}, nil
	}
}

func (w tileHTTPWorker) do(ctx context.Context, i int) (int, int, error) {
	if _, err := w.get(ctx, i); err != nil {
		return 0, 0, err
	}
	return 0, w.body.Len(), nil
}

// tilePath appends the path of the i-th tile of ts, all layers, with query ("" or
// "?…").
func tilePath(ts []maptile.Tile, query string) func([]byte, int) []byte {
	return func(b []byte, i int) []byte {
		t := ts[i]
		return fmt.Appendf(b, "/tiles/all/%d/%d/%d.mvt%s", t.Z, t.X, t.Y, query)
	}
}

// tileBenchmark runs the tile phases: PostGIS, the uncached server and the cached
// server (warmed first) on the z14–16 set, then the clustered z10–13 set on both
// servers, each once per connection count, without and with gzip.
func tileBenchmark(ctx context.Context, cfg config, reg *layers.Registry, dbURL, cachedAddr, uncachedAddr string, out io.Writer, say func(string, ...any)) error {
	ts, err := tileSet(cfg.tiles, 14, 16, 1)
	if err != nil {
		return err
	}
	cs, err := tileSet(cfg.tiles, 10, 13, 2)
	if err != nil {
		return err
	}
	say("tile sets: %d tiles at z14–16 (%d distinct), %d at z10–13 (%d distinct), fixed seed", len(ts), len(distinct(ts)), len(cs), len(distinct(cs)))

	rd, err := tiles.NewRenderer(reg, nil, tiles.Options{}) // for its options only
	if err != nil {
		return err
	}
	pool, err := newTilePool(ctx, dbURL, slices.Max(cfg.tileConns))
	if err != nil {
		return err
	}
	defer pool.Close()
	p := &pgTiles{pool: pool, summary: tileSQL(reg, false), detail: tileSQL(reg, true), detailZoom: maptile.Zoom(rd.Options().DetailZoom)}
	for _, l := range reg.Layers() {
		p.names = append(p.names, l.Name)
	}

	if cfg.tileCheck > 0 {
		if err := checkTiles(ctx, p, cachedAddr, uncachedAddr, distinct(ts)[:min(cfg.tileCheck, len(distinct(ts)))], say); err != nil {
			return err
		}
	}

	// Warm the cached server: every tile of both sets once, plain and gzip.
	start := time.Now()
	warmed := 0
	for _, set := range []struct {
		ts    []maptile.Tile
		query string
	}{{distinct(ts), "?cluster=false"}, {distinct(cs), ""}} {
		for _, gz := range []bool{false, true} {
			w, err := tileHTTPWorkers(cachedAddr, set.ts, set.query, gz)(ctx)
			if err != nil {
				return err
			}
			for i := range set.ts {
				if _, _, err := w.do(ctx, i); err != nil {
					w.close()
					return err
				}
				warmed++
			}
			w.close()
		}
	}
	say("cache warmed with %d requests in %v", warmed, time.Since(start).Round(time.Millisecond))

	var results []result
	for _, conns := range cfg.tileConns {
		for _, gz := range cfg.tileGzip {
			rs, err := runTileGroup(ctx, cfg, out, conns, gz, []phase{
				{name: "tiles-pg", kind: setDetail, side: sidePG, n: len(ts), newWorker: pgTileWorkers(p, ts, gz)},
				{name: "tiles-http-uncached", kind: setDetail, side: sideUncached, n: len(ts), newWorker: tileHTTPWorkers(uncachedAddr, ts, "?cluster=false", gz)},
				{name: "tiles-http-cached", kind: setDetail, side: sideCached, n: len(ts), newWorker: tileHTTPWorkers(cachedAddr, ts, "?cluster=false", gz)},
			})
			results = append(results, rs...)
			if err != nil {
				return err
			}
		}
	}
	for _, conns := range cfg.tileConns {
		for _, gz := range cfg.tileGzip {
			rs, err := runTileGroup(ctx, cfg, out, conns, gz, []phase{
				{name: "tiles-cluster-uncached", kind: setCluster, side: sideUncached, n: len(cs), newWorker: tileHTTPWorkers(uncachedAddr, cs, "", gz)},
				{name: "tiles-cluster-cached", kind: setCluster, side: sideCached, n: len(cs), newWorker: tileHTTPWorkers(cachedAddr, cs, "", gz)},
			})
			results = append(results, rs...)
			if err != nil {
				return err
			}
		}
	}
	reportTiles(out, results, cfg)
	return nil
}

// runTileGroup runs the selected phases of one connection count and gzip setting:
// with -tile-rounds n, n rounds in which each phase runs for duration/n after a
// warm-up of warmup/n, the phases taking turns, each round of a phase going on
// through the tile set where its last round stopped; each phase's figures are those
// of its rounds together.
func runTileGroup(ctx context.Context, cfg config, out io.Writer, conns int, gz bool, phs []phase) ([]result, error) {
	phs = slices.DeleteFunc(phs, func(ph phase) bool { return !slices.Contains(cfg.phases, ph.name) })
	rounds := cfg.tileRounds
	sub := cfg
	sub.duration, sub.warmup = cfg.duration/time.Duration(rounds), cfg.warmup/time.Duration(rounds)
	merged := make([]result, len(phs))
	for i, ph := range phs {
		merged[i] = result{name: ph.name, kind: ph.kind, side: ph.side, conns: conns, gzip: gz}
	}
	for round := range rounds {
		for i, ph := range phs {
			ph.conns, ph.gzip = conns, gz
			w := out
			if rounds > 1 {
				w = io.Discard
				fmt.Fprintf(out, "== %s: %s, %d connections, gzip %s, round %d/%d\n", ph.kind, ph.side, conns, yesNo(gz), round+1, rounds)
			}
			if rounds > 1 && cfg.profileDir != "" {
				ph.name = fmt.Sprintf("%s-r%d", ph.name, round+1)
			}
			ph.start = merged[i].next
			r, err := runPhase(ctx, ph, sub, w)
			if err != nil {
				return nil, err
			}
			merged[i].add(r)
			merged[i].next = r.next
			merged[i].elapsed += r.elapsed
		}
	}
	for i := range merged {
		merged[i].finish()
		if rounds > 1 {
			fmt.Fprintf(out, "== %s, %d connections, gzip %s, %d rounds together:\n", merged[i].kind, conns, yesNo(gz), rounds)
			merged[i].print(out)
		}
	}
	return merged, ctx.Err()
}

// checkTiles fetches each tile of ts from both servers, plain and gzip, and from
// PostGIS, and says how many agree: the uncached and cached bytes, the gzip body
// against the plain one, and riskmap's feature ids per layer against PostGIS's
// (which differ only at the buffer's edge, see tiles/postgis_test.go).
func checkTiles(ctx context.Context, p *pgTiles, cachedAddr, uncachedAddr string, ts []maptile.Tile, say func(string, ...any)) error {
	cw, err := tileHTTPWorkers(cachedAddr, ts, "?cluster=false", false)(ctx)
	if err != nil {
		return err
	}
	defer cw.close()
	gw, err := tileHTTPWorkers(cachedAddr, ts, "?cluster=false", true)(ctx)
	if err != nil {
		return err
	}
	defer gw.close()
	uw, err := tileHTTPWorkers(uncachedAddr, ts, "?cluster=false", false)(ctx)
	if err != nil {
		return err
	}
	defer uw.close()
	pw, err := pgTileWorkers(p, ts, false)(ctx)
	if err != nil {
		return err
	}
	defer pw.close()

	sameBytes, gzipOK, sameIDs := 0, 0, 0
	ours, theirs := 0, 0
	var firstDiff string
	for i, t := range ts {
		if _, err := uw.(tileHTTPWorker).get(ctx, i); err != nil {
			return err
		}
		u := slices.Clone(uw.(tileHTTPWorker).body.Bytes())
		if _, err := cw.(tileHTTPWorker).get(ctx, i); err != nil {
			return err
		}
		c := cw.(tileHTTPWorker).body.Bytes()
		if bytes.Equal(u, c) {
			sameBytes++
		}
		resp, err := gw.(tileHTTPWorker).get(ctx, i)
		if err != nil {
			return err
		}
		g := gw.(tileHTTPWorker).body.Bytes()
		if len(c) == 0 && len(g) == 0 {
			gzipOK++
		} else if resp.Header.Get("Content-Encoding") == "gzip" {
			if zr, err := gzip.NewReader(bytes.NewReader(g)); err == nil {
				if plain, err := io.ReadAll(zr); err == nil && bytes.Equal(plain, c) {
					gzipOK++
				}
			}
		}
		raw, err := pw.(*pgTileWorker).tile(ctx, t)
		if err != nil {
			return err
		}
		a, err := tileIDs(c)
		if err != nil {
			return fmt.Errorf("riskmap tile %d/%d/%d: %w", t.Z, t.X, t.Y, err)
		}
		b, err := tileIDs(raw)
		if err != nil {
			return fmt.Errorf("PostGIS tile %d/%d/%d: %w", t.Z, t.X, t.Y, err)
		}
		same := true
		for _, name := range p.names {
			n := name.(string)
			ours += len(a[n])
			theirs += len(b[n])
			if !slices.Equal(a[n], b[n]) {
				same = false
				if firstDiff == "" {
					firstDiff = fmt.Sprintf(" (first difference: %s in %d/%d/%d, riskmap %d features, PostGIS %d)", n, t.Z, t.X, t.Y, len(a[n]), len(b[n]))
				}
			}
		}
		if same {
			sameIDs++
		}
	}
	say("check tiles (%d distinct z14–16 tiles): uncached = cached bytes %d/%d, gzip body decompresses to the plain one %d/%d, same feature ids as PostGIS in every layer %d/%d (%d features riskmap, %d PostGIS)%s",
		len(ts), sameBytes, len(ts), gzipOK, len(ts), sameIDs, len(ts), ours, theirs, firstDiff)
	return nil
}

// tileIDs decodes a tile (orb's decoder) and returns each layer's feature ids,
// sorted.
func tileIDs(raw []byte) (map[string][]uint64, error) {
	out := map[string][]uint64{}
	if len(raw) == 0 {
		return out, nil
	}
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		for _, f := range l.Features {
			id, _ := f.ID.(float64)
			out[l.Name] = append(out[l.Name], uint64(id))
		}
		slices.Sort(out[l.Name])
	}
	return out, nil
}

// reportTiles prints the tile phases' table, the ratios riskmap/PostGIS and the
// cost of gzip, and says which targets are met.
func reportTiles(out io.Writer, results []result, cfg config) {
	if len(results) == 0 {
		return
	}
	fmt.Fprintf(out, "\n== tile results (%v per phase, GOMAXPROCS %d)\n", cfg.duration, runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tiles\tside\tconns\tgzip\ttiles/s\tp50 ms\tp99 ms\tkB/tile\terrors\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.0f\t%.2f\t%.2f\t%.1f\t%d\t\n", r.kind, r.side, r.conns, yesNo(r.gzip), r.rate(),
			float64(r.p50.Nanoseconds())/1e6, float64(r.p99.Nanoseconds())/1e6, r.kBPerRequest(), r.errors)
	}
	tw.Flush()
	find := func(kind, side string, conns int, gz bool) *result {
		for i := range results {
			r := &results[i]
			if r.kind == kind && r.side == side && r.conns == conns && r.gzip == gz {
				return r
			}
		}
		return nil
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	fmt.Fprintln(out)
	for _, conns := range cfg.tileConns {
		for _, gz := range []bool{false, true} {
			pg := find(setDetail, sidePG, conns, gz)
			if pg == nil || pg.rate() == 0 {
				continue
			}
			if u := find(setDetail, sideUncached, conns, gz); u != nil {
				x := u.rate() / pg.rate()
				fmt.Fprintf(out, "%d conns, gzip %s: uncached / PostGIS = %.2f× tiles/s (target ≥ 10×: %s)\n", conns, yesNo(gz), x, verdict(x >= 10))
			}
			if c := find(setDetail, sideCached, conns, gz); c != nil {
				x := c.rate() / pg.rate()
				fmt.Fprintf(out, "%d conns, gzip %s: cached / PostGIS = %.2f× tiles/s (target ≥ 30×: %s)\n", conns, yesNo(gz), x, verdict(x >= 30))
			}
		}
	}
	for _, kind := range []string{setDetail, setCluster} {
		for _, side := range []string{sidePG, sideUncached, sideCached} {
			for _, conns := range cfg.tileConns {
				plain, gz := find(kind, side, conns, false), find(kind, side, conns, true)
				if plain == nil || gz == nil || plain.rate() == 0 {
					continue
				}
				fmt.Fprintf(out, "%s, %s, %d conns: gzip / plain = %.2f× tiles/s, p50 %v → %v\n", kind, side, conns,
					gz.rate()/plain.rate(), plain.p50.Round(time.Microsecond), gz.p50.Round(time.Microsecond))
			}
		}
	}
	for _, gz := range []bool{false, true} {
		if u := find(setDetail, sideUncached, 16, gz); u != nil {
			fmt.Fprintf(out, "uncached p99 at 16 conns, gzip %s: %v (target ≤ 50 ms: %s)\n", yesNo(gz),
				u.p99.Round(10*time.Microsecond), verdict(u.p99 <= 50*time.Millisecond))
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
