package tiles_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/planar"

	"riskmap/demo"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/tiles"
)

// BenchmarkRenderZ14 renders the densest z14 tile of the risk points (clustering off,
// every point with its Summary properties: 14/13385/7138, 10,847 points) in process,
// and has PostGIS make the same tile through pgx (JIT off):
//
//	SELECT ST_AsMVT(q, 'risk_points', 4096, 'geom', 'mvt_id') FROM (
//	    SELECT id AS mvt_id, id, <summary fields>, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(z, x, y), 4096, 64, true) AS geom
//	    FROM risk_points WHERE ST_Transform(geom, 3857) && ST_TileEnvelope(z, x, y, margin => 64.0/4096)) q
//
// (a GiST index on ST_Transform(geom, 3857)): the cost of encoding points, one tile
// at a time, on both sides. It needs RISKMAP_TEST_DATABASE_URL (skipped without):
//
//	RISKMAP_TEST_DATABASE_URL=postgres://… go test -run '^$' -bench RenderZ14 -benchtime 3s ./tiles
func BenchmarkRenderZ14(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	env := newPGDemo(b, ctx, 1)
	r, err := tiles.NewRenderer(env.reg, env.ix, tiles.Options{})
	if err != nil {
		b.Fatal(err)
	}
	l, err := env.reg.Layer(layers.RiskPoints)
	if err != nil {
		b.Fatal(err)
	}

	// The densest z14 tile of the district.
	var req tiles.Request
	best := -1
	for _, mt := range pgDistrictTiles(b, 14) {
		q := tiles.Request{Coord: tiles.Coord{Z: 14, X: mt.X, Y: mt.Y}, Filter: index.Filter{MinCapacity: -1}, NoCluster: true}
		raw, _, err := r.Render(nil, l.Name, q)
		if err != nil {
			b.Fatal(err)
		}
		if n := pgFeatureCount(b, raw); n > best {
			best, req = n, q
		}
	}
	ours, _, err := r.Render(nil, l.Name, req)
	if err != nil {
		b.Fatal(err)
	}
	sql := pgTileWithPropsSQL(l, int(req.Z))
	var theirs []byte
	if err := env.pool.QueryRow(ctx, sql, int32(req.Z), int32(req.X), int32(req.Y), l.Name).Scan(&theirs); err != nil {
		b.Fatal(err)
	}
	pgN := pgFeatureCount(b, theirs)
	b.Logf("tile %v: %d risk points; ours %d bytes, PostGIS %d bytes (%d features); setup %s",
		req.Coord, best, len(ours), len(theirs), pgN, env.setup)

	b.Run("riskmap", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 2*len(ours))
		for b.Loop() {
			out, _, err := r.Render(buf[:0], l.Name, req)
			if err != nil {
				b.Fatal(err)
			}
			buf = out
		}
		b.ReportMetric(float64(best), "features/op")
		b.ReportMetric(float64(len(ours)), "tile-bytes/op")
	})
	b.Run("postgis", func(b *testing.B) {
		b.ReportAllocs()
		conn, err := env.pool.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Release()
		var raw []byte
		for b.Loop() {
			if err := conn.QueryRow(ctx, sql, int32(req.Z), int32(req.X), int32(req.Y), l.Name).Scan(&raw); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(pgN), "features/op")
		b.ReportMetric(float64(len(raw)), "tile-bytes/op")
	})
}

// pgTileWithPropsSQL is PostGIS's tile of one layer with the properties our tiles
// carry at zoom z: "id" and the Summary fields below the detail zoom (16), every
// field from it on. $1, $2, $3 are z, x, y and $4 the layer name.
func pgTileWithPropsSQL(l *layers.Layer, z int) string {
	cols := []string{"id AS mvt_id", "id"}
	for _, f := range l.Fields {
		if f.Summary || z >= 16 {
			cols = append(cols, pgx.Identifier{f.Name}.Sanitize())
		}
	}
	return "SELECT ST_AsMVT(q, $4::text, 4096, 'geom', 'mvt_id') FROM (SELECT " + strings.Join(cols, ", ") +
		", ST_AsMVTGeom(ST_Transform(geom, 3857), " + pgTileEnvelope + ", 4096, 64, true) AS geom FROM " +
		pgx.Identifier{l.Name}.Sanitize() +
		" WHERE ST_Transform(geom, 3857) && ST_TileEnvelope($1::int4, $2::int4, $3::int4, margin => 64.0/4096)) q"
}

// pgFeatureCount is the number of features in a tile (orb's decoder).
func pgFeatureCount(tb testing.TB, raw []byte) int {
	tb.Helper()
	if len(raw) == 0 {
		return 0
	}
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, l := range ls {
		n += len(l.Features)
	}
	return n
}

// BenchmarkRenderSet renders, in process and without PostGIS, what the load
// generator's uncached phases ask for (internal/cmd/loadgen: -phases tiles): every
// layer of 1,024 random tiles at z14–16 over the district (fixed seed, clustering
// off), and of 1,024 at z10–13 (clustered). ns/op is per tile of all layers:
//
//	go test -run '^$' -bench RenderSet -benchtime 3s ./tiles
func BenchmarkRenderSet(b *testing.B) {
	ix, _ := demoIndex(b)
	r := newRenderer(b, ix, tiles.Options{})
	boundary, err := demo.Boundary()
	if err != nil {
		b.Fatal(err)
	}
	names := []string{}
	for _, l := range layers.New().Layers() {
		names = append(names, l.Name)
	}
	for _, set := range []struct {
		name       string
		zmin, zmax int
		noCluster  bool
	}{{"z14-16", 14, 16, true}, {"z10-13", 10, 13, false}} {
		rnd := rand.New(rand.NewPCG(20220122, uint64(set.zmin)))
		bb := boundary.Bound()
		var reqs []tiles.Request
		for len(reqs) < 1024 {
			p := orb.Point{bb.Min[0] + rnd.Float64()*(bb.Max[0]-bb.Min[0]), bb.Min[1] + rnd.Float64()*(bb.Max[1]-bb.Min[1])}
			if !planar.PolygonContains(boundary, p) {
				continue
			}
			reqs = append(reqs, tiles.Request{Coord: coordAt(p, set.zmin+rnd.IntN(set.zmax-set.zmin+1)), Filter: noFilter, NoCluster: set.noCluster})
		}
		b.Run(set.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			bytes, i := 0, 0
			for b.Loop() {
				buf = buf[:0]
				for _, name := range names {
					if buf, _, err = r.Render(buf, name, reqs[i%len(reqs)]); err != nil {
						b.Fatal(err)
					}
				}
				bytes += len(buf)
				i++
			}
			b.ReportMetric(float64(bytes)/float64(i), "tile-bytes/op")
		})
	}
}
