package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"

	"riskmap/demo"
	"riskmap/internal/benchkit"
)

// requestTimeout bounds one request (not the event streams): a request still
// unanswered after it is an error.
const requestTimeout = 30 * time.Second

// do sends req and reads the whole body; a transport error or a status outside
// 2xx is an error.
func do(cl *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := cl.Do(req)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the body: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, fmt.Errorf("%s %s: status %d: %.200s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return resp, body, nil
}

// tilePicker draws tiles: a zoom uniform in [zmin, zmax] and a position uniform
// over the district's boundary (as internal/cmd/loadgen draws its tile sets).
type tilePicker struct {
	boundary   orb.Polygon
	bound      orb.Bound
	zmin, zmax maptile.Zoom
}

func newTilePicker(zmin, zmax maptile.Zoom) (*tilePicker, error) {
	b, err := demo.Boundary()
	if err != nil {
		return nil, err
	}
	return &tilePicker{boundary: b, bound: b.Bound(), zmin: zmin, zmax: zmax}, nil
}

func (p *tilePicker) pick(r *rand.Rand) maptile.Tile {
	for {
		pt := orb.Point{p.bound.Min[0] + r.Float64()*(p.bound.Max[0]-p.bound.Min[0]),
			p.bound.Min[1] + r.Float64()*(p.bound.Max[1]-p.bound.Min[1])}
		if planar.PolygonContains(p.boundary, pt) {
			return maptile.At(pt, p.zmin+maptile.Zoom(r.IntN(int(p.zmax-p.zmin)+1)))
		}
	}
}

// getTile fetches one tile of every layer with Accept-Encoding: gzip; a non-empty
// tile must come gzipped.
func (e *env) getTile(t maptile.Tile) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	url := e.base + "/tiles/all/" + strconv.Itoa(int(t.Z)) + "/" + strconv.Itoa(int(t.X)) + "/" + strconv.Itoa(int(t.Y)) + ".mvt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, body, err := do(e.plain, req)
	if err != nil {
		return err
	}
	if len(body) > 0 && resp.Header.Get("Content-Encoding") != "gzip" {
		return fmt.Errorf("tile %d/%d/%d: %d bytes not gzipped", t.Z, t.X, t.Y, len(body))
	}
	return nil
}

// nearbyPath is the i-th proximity query: kNN-10 and radius 500 m in turn, over
// risk points, at the benchmarks' query points in the built-up area.
func nearbyPath(points []orb.Point, i int64) string {
	p := points[int(i%int64(len(points)))]
	q := "/api/v1/nearby?lon=" + strconv.FormatFloat(p[0], 'f', -1, 64) + "&lat=" + strconv.FormatFloat(p[1], 'f', -1, 64)
	if i%2 == 0 {
		return q + "&k=10&layers=risk_points"
	}
	return q + "&radius=500&layers=risk_points"
}

// nearbyPoints is the proximity benchmarks' query set.
func nearbyPoints() []orb.Point { return benchkit.QueryPoints(4096) }

// getNearby runs one proximity query; the answer must be a FeatureCollection.
func (e *env) getNearby(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+path, nil)
	if err != nil {
		return err
	}
	_, body, err := do(e.plain, req)
	if err != nil {
		return err
	}
	if !bytes.Contains(body[:min(len(body), 200)], []byte(`"returned":`)) {
		return fmt.Errorf("GET %s: not a FeatureCollection: %.200s", path, body)
	}
	return nil
}
