package main

// The OGC API – Features phases (docs/benchmarks.md, "OGC API – Features items"):
// pages of ogcPageSize risk points in id order, cycling through the whole layer
// (offsets 0, 1000, … 35000), -conns workers each doing one request at a time, in
// -tile-rounds rounds taking turns (as the tile phases):
//
//   - ogc-http: GET /ogc/collections/risk_points/items?limit=1000&offset=N&f=json
//     from riskmap (the index's id-ordered view and cached feature JSON; the
//     response carries numberMatched, numberReturned, timeStamp and the links);
//   - ogc-pg: what pg_featureserv does for the same page, without its HTTP layer:
//     SELECT ST_AsGeoJSON(t.*) FROM (SELECT id, version, <every registry field>, geom
//     FROM risk_points ORDER BY id LIMIT 1000 OFFSET $1) t through a pgx pool, the
//     rows' Features joined into a FeatureCollection by the client (no count: like
//     pg_featureserv, no numberMatched).
//
// Before timing, the first, a middle and the last page's ids are checked to be the
// same on both sides.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmap/layers"
)

// OGC phases, in the order they run.
var ogcPhases = []string{"ogc-http", "ogc-pg"}

const ogcPageSize = 1000

// ogcPageSQL is the pg_featureserv-style page query of layer l.
func ogcPageSQL(l *layers.Layer) string {
	cols := []string{"id", "version"}
	for _, f := range l.Fields {
		cols = append(cols, pgx.Identifier{f.Name}.Sanitize())
	}
	cols = append(cols, "geom")
	return fmt.Sprintf("SELECT ST_AsGeoJSON(t.*)::text FROM (SELECT %s FROM %s ORDER BY id LIMIT %d OFFSET $1) t",
		strings.Join(cols, ", "), pgx.Identifier{l.Name}.Sanitize(), ogcPageSize)
}

// ogcHTTPWorker reads numberReturned from the head of an items page.
type ogcHTTPWorker struct{ *httpWorker }

func ogcHTTPWorkers(addr string, pages int) func(context.Context) (worker, error) {
	path := func(b []byte, i int) []byte {
		b = append(b, "/ogc/collections/risk_points/items?f=json&limit="...)
		b = strconv.AppendInt(b, ogcPageSize, 10)
		b = append(b, "&offset="...)
		return strconv.AppendInt(b, int64((i%pages)*ogcPageSize), 10)
	}
	return func(ctx context.Context) (worker, error) {
		w := &httpWorker{addr: addr, path: path}
		return ogcHTTPWorker{w}, w.dial(ctx)
	}
}

func (w ogcHTTPWorker) do(ctx context.Context, i int) (int, int, error) {
	if _, err := w.get(ctx, i); err != nil {
		return 0, 0, err
	}
	b := w.body.Bytes()
	const key = `"numberReturned":`
	j := bytes.Index(b[:min(len(b), 200)], []byte(key))
	if j < 0 {
		return 0, 0, fmt.Errorf("no %s in the response: %.200s", key, b)
	}
	b = b[j+len(key):]
	k := bytes.IndexAny(b, ",}")
	if k < 0 {
		return 0, 0, fmt.Errorf("bad %s in the response", key)
	}
	n, err := strconv.Atoi(string(b[:k]))
	return n, w.body.Len(), err
}

// ogcPGWorker runs the page query on one pooled connection and assembles the
// FeatureCollection, as pg_featureserv does.
type ogcPGWorker struct {
	conn  *pgxpool.Conn
	sql   string
	pages int
	buf   []byte
}

func ogcPGWorkers(pool *pgxpool.Pool, sql string, pages int) func(context.Context) (worker, error) {
	return func(ctx context.Context) (worker, error) {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		return &ogcPGWorker{conn: c, sql: sql, pages: pages}, nil
	}
}

func (w *ogcPGWorker) close() { w.conn.Release() }

func (w *ogcPGWorker) page(ctx context.Context, i int) (int, error) {
	rows, err := w.conn.Query(ctx, w.sql, (i%w.pages)*ogcPageSize)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	w.buf = append(w.buf[:0], `{"type":"FeatureCollection","features":[`...)
	n := 0
	for rows.Next() {
		if n > 0 {
			w.buf = append(w.buf, ',')
		}
		// The raw text of the row's one column, not copied into a string.
		w.buf = append(w.buf, rows.RawValues()[0]...)
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	w.buf = append(w.buf, "]}"...)
	return n, nil
}

func (w *ogcPGWorker) do(ctx context.Context, i int) (int, int, error) {
	n, err := w.page(ctx, i)
	return n, len(w.buf), err
}

// ogcBenchmark runs the OGC phases against the server at addr.
func ogcBenchmark(ctx context.Context, cfg config, reg *layers.Registry, dbURL, addr string, out io.Writer, say func(string, ...any)) error {
	pool, err := newPool(ctx, dbURL, cfg.conns)
	if err != nil {
		return err
	}
	defer pool.Close()
	l, err := reg.Layer(layers.RiskPoints)
	if err != nil {
		return err
	}
	var count int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM risk_points").Scan(&count); err != nil {
		return err
	}
	pages := (count + ogcPageSize - 1) / ogcPageSize
	sql := ogcPageSQL(l)
	if err := checkOGC(ctx, pool, sql, addr, pages, say); err != nil {
		return err
	}
	kind := fmt.Sprintf("OGC items, %d/page", ogcPageSize)
	phs := []phase{
		{name: "ogc-http", kind: kind, side: "riskmap HTTP", n: pages, newWorker: ogcHTTPWorkers(addr, pages)},
		{name: "ogc-pg", kind: kind, side: "pg_featureserv-style SQL via pgx", n: pages, newWorker: ogcPGWorkers(pool, sql, pages)},
	}
	// With -tile-rounds n the two sides take turns in n rounds, so that other load
	// on the machine falls on both alike.
	results, err := runTileGroup(ctx, cfg, out, cfg.conns, false, phs)
	if err != nil {
		return err
	}
	report(out, results, cfg)
	return nil
}

// checkOGC compares the ids of the first, a middle and the last page on both sides.
func checkOGC(ctx context.Context, pool *pgxpool.Pool, sql, addr string, pages int, say func(string, ...any)) error {
	hw, err := ogcHTTPWorkers(addr, pages)(ctx)
	if err != nil {
		return err
	}
	defer hw.close()
	pw, err := ogcPGWorkers(pool, sql, pages)(ctx)
	if err != nil {
		return err
	}
	defer pw.close()
	ids := func(b []byte, topLevel bool) ([]int64, error) {
		var fc struct {
			Features []struct {
				ID         *int64 `json:"id"`
				Properties struct {
					ID int64 `json:"id"`
				} `json:"properties"`
			} `json:"features"`
		}
		if err := json.Unmarshal(b, &fc); err != nil {
			return nil, err
		}
		var out []int64
		for _, f := range fc.Features {
			if topLevel && (f.ID == nil || *f.ID != f.Properties.ID) {
				return nil, fmt.Errorf("feature %d: top-level id %v", f.Properties.ID, f.ID)
			}
			out = append(out, f.Properties.ID)
		}
		return out, nil
	}
	for _, p := range []int{0, pages / 2, pages - 1} {
		if _, _, err := hw.do(ctx, p); err != nil {
			return err
		}
		got, err := ids(hw.(ogcHTTPWorker).body.Bytes(), true)
		if err != nil {
			return fmt.Errorf("check: riskmap page %d: %w", p, err)
		}
		if _, _, err := pw.do(ctx, p); err != nil {
			return err
		}
		want, err := ids(pw.(*ogcPGWorker).buf, false)
		if err != nil {
			return fmt.Errorf("check: PostGIS page %d: %w", p, err)
		}
		if !slices.Equal(got, want) || len(got) == 0 {
			return fmt.Errorf("check: page %d: riskmap answers %d ids, PostGIS %d, not the same", p, len(got), len(want))
		}
	}
	say("checked: pages 1, %d and %d hold the same ids on both sides", pages/2+1, pages)
	return nil
}
