package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/store/postgis"
)

// httpWorker is a minimal HTTP/1.1 keep-alive client on one connection: it writes the
// request line by hand and parses the response with net/http, so the load generator,
// which shares the CPUs with the server, spends as little as it can per request.
type httpWorker struct {
	addr   string
	path   func([]byte, int) []byte // appends the path of query i
	header string                   // extra header lines, each ending in \r\n
	conn   net.Conn
	br     *bufio.Reader
	req    []byte
	body   bytes.Buffer
}

func httpWorkers(addr string, path func([]byte, int) []byte, header string) func(context.Context) (worker, error) {
	return func(ctx context.Context) (worker, error) {
		w := &httpWorker{addr: addr, path: path, header: header}
		return w, w.dial(ctx)
	}
}

func (w *httpWorker) dial(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", w.addr)
	if err != nil {
		return err
	}
	w.conn, w.br = conn, bufio.NewReaderSize(conn, 64<<10)
	return nil
}

func (w *httpWorker) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

// get sends GET for query i and reads the whole response into w.body; it returns
// the response (its body already read).
func (w *httpWorker) get(ctx context.Context, i int) (*http.Response, error) {
	if w.conn == nil {
		if err := w.dial(ctx); err != nil {
			return nil, err
		}
	}
	w.req = append(w.req[:0], "GET "...)
	w.req = w.path(w.req, i)
	w.req = append(w.req, " HTTP/1.1\r\nHost: riskmap\r\nUser-Agent: riskmap-loadgen\r\n"...)
	w.req = append(w.req, w.header...)
	w.req = append(w.req, "\r\n"...)
	if _, err := w.conn.Write(w.req); err != nil {
		w.close()
		return nil, err
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		w.close()
		return nil, err
	}
	w.body.Reset()
	_, err = w.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		w.close()
	}
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w %d: %.200s", errStatus, resp.StatusCode, w.body.String())
	}
	return resp, nil
}

// do returns the "returned" count of the FeatureCollection, read from its head, and
// the body's length.
func (w *httpWorker) do(ctx context.Context, q int) (int, int, error) {
	if _, err := w.get(ctx, q); err != nil {
		return 0, 0, err
	}
	b := w.body.Bytes()
	const key = `"returned":`
	i := bytes.Index(b[:min(len(b), 200)], []byte(key))
	if i < 0 {
		return 0, 0, fmt.Errorf("no %s in the response: %.200s", key, b)
	}
	b = b[i+len(key):]
	j := bytes.IndexAny(b, ",}")
	if j < 0 {
		return 0, 0, fmt.Errorf("bad %s in the response", key)
	}
	n, err := strconv.Atoi(string(b[:j]))
	return n, w.body.Len(), err
}

// ids decodes the feature ids of the last response (for the check, not timed).
func (w *httpWorker) ids() ([]int64, error) {
	var fc struct {
		Features []struct {
			ID int64 `json:"id"`
		} `json:"features"`
	}
	if err := json.Unmarshal(w.body.Bytes(), &fc); err != nil {
		return nil, err
	}
	ids := make([]int64, len(fc.Features))
	for i, f := range fc.Features {
		ids[i] = f.ID
	}
	return ids, nil
}

// queries are the PostGIS statements, the same as index/bench_test.go's. Each returns
// every column of the matching risk points (the registry's fields, id, version,
// updated_at, the geometry as EWKB) and the geodesic distance on the spheroid, nearest
// first, ties by id (as the index orders).
type queries struct {
	knnGeometry, knnGeography, radiusGeography, radiusGeometry string
}

// pt is the query point from parameters $1 (lon) and $2 (lat).
const pt = "ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)"

func newQueries(l *layers.Layer, k int, radius float64) queries {
	cols := []string{"id", "version", "updated_at"}
	for _, f := range l.Fields {
		cols = append(cols, pgx.Identifier{f.Name}.Sanitize())
	}
	sel := strings.Join(append(cols, "ST_AsEWKB(geom)"), ", ")
	table := pgx.Identifier{l.Name}.Sanitize()
	dist := "ST_Distance(geom::geography, " + pt + "::geography)"
	return queries{
		// the k nearest in degrees (geometry GiST index), re-ranked on the spheroid
		knnGeometry: fmt.Sprintf(`SELECT %s, %s AS d FROM (SELECT * FROM %s ORDER BY geom <-> %s LIMIT %d) c ORDER BY d, id`,
			sel, dist, table, pt, k),
		// the k nearest on the sphere (GiST index on geom::geography), re-ranked on the spheroid
		knnGeography: fmt.Sprintf(`SELECT %s, %s AS d FROM (SELECT * FROM %s ORDER BY geom::geography <-> %s::geography LIMIT %d) c ORDER BY d, id`,
			sel, dist, table, pt, k),
		radiusGeography: fmt.Sprintf(`SELECT %s, %s AS d FROM %s WHERE ST_DWithin(geom::geography, %s::geography, %g) ORDER BY d, id`,
			sel, dist, table, pt, radius),
		// a box in degrees ($3, $4: half-widths) on the geometry GiST index, then the exact test
		radiusGeometry: fmt.Sprintf(`SELECT %s, %s AS d FROM %s WHERE geom && ST_Expand(%s, $3::float8, $4::float8) AND %s <= %g ORDER BY d, id`,
			sel, dist, table, pt, dist, radius),
	}
}

// pgWorker runs one statement on one pooled connection held for the whole phase,
// scanning every column of every row into typed values.
type pgWorker struct {
	conn   *pgxpool.Conn
	points []orb.Point
	sql    string
	radius float64 // > 0: pass the degree box as $3, $4
	id     int64
	dest   []any
	args   []any
	ids    []int64
}

func pgWorkers(pool *pgxpool.Pool, sql string, radius float64, l *layers.Layer, points []orb.Point) func(context.Context) (worker, error) {
	return func(ctx context.Context) (worker, error) {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		w := &pgWorker{conn: conn, points: points, sql: sql, radius: radius}
		var version int64
		var updated time.Time
		var geom []byte
		var dist float64
		w.dest = []any{&w.id, &version, &updated}
		w.dest = append(w.dest, postgis.ScanTargets(l)...)
		w.dest = append(w.dest, &geom, &dist)
		return w, nil
	}
}

func (w *pgWorker) close() { w.conn.Release() }

// do returns the number of rows and the bytes of their values (binary protocol).
func (w *pgWorker) do(ctx context.Context, i int) (int, int, error) {
	p := w.points[i]
	w.args = append(w.args[:0], p[0], p[1])
	if w.radius > 0 {
		dlon, dlat := degreeBox(p, w.radius)
		w.args = append(w.args, dlon, dlat)
	}
	rows, err := w.conn.Query(ctx, w.sql, w.args...)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	w.ids = w.ids[:0]
	size := 0
	for rows.Next() {
		if err := rows.Scan(w.dest...); err != nil {
			return 0, 0, err
		}
		for _, v := range rows.RawValues() {
			size += len(v)
		}
		w.ids = append(w.ids, w.id)
	}
	return len(w.ids), size, rows.Err()
}

// check compares, on a few query points, the ids riskmap answers over HTTP with those
// PostGIS answers on geography, and says how many agree exactly (order included).
func check(ctx context.Context, addr string, pool *pgxpool.Pool, points []orb.Point,
	knnPath, radiusPath func([]byte, int) []byte, q queries, radius float64, l *layers.Layer, say func(string, ...any)) error {
	pairs := []struct {
		name string
		path func([]byte, int) []byte
		sql  string
		r    float64
	}{
		{"kNN vs PostGIS geography <->", knnPath, q.knnGeography, 0},
		{"kNN vs PostGIS geometry <->", knnPath, q.knnGeometry, 0},
		{"radius vs PostGIS ST_DWithin", radiusPath, q.radiusGeography, 0},
		{"radius vs PostGIS geometry box", radiusPath, q.radiusGeometry, radius},
	}
	for _, c := range pairs {
		hw, err := httpWorkers(addr, c.path, "")(ctx)
		if err != nil {
			return err
		}
		pw, err := pgWorkers(pool, c.sql, c.r, l, points)(ctx)
		if err != nil {
			hw.close()
			return err
		}
		same := 0
		var firstDiff string
		for i, p := range points {
			if _, err := hw.(*httpWorker).get(ctx, i); err != nil {
				return err
			}
			got, err := hw.(*httpWorker).ids()
			if err != nil {
				return err
			}
			if _, _, err := pw.do(ctx, i); err != nil {
				return err
			}
			want := pw.(*pgWorker).ids
			if slices.Equal(got, want) {
				same++
			} else if firstDiff == "" {
				firstDiff = fmt.Sprintf(" (first difference at %v,%v: riskmap %d ids, PostGIS %d)", p[0], p[1], len(got), len(want))
			}
		}
		hw.close()
		pw.close()
		say("check %s: %d/%d query points answer the same ids in the same order%s", c.name, same, len(points), firstDiff)
	}
	return nil
}
