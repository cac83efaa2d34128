package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
)

// tileZoom is the zoom of the tiles checked: from 16 on every field is in a tile and
// risk points are not clustered.
const tileZoom = 16

// measure starts the query and tile pollers of c, one goroutine per process and
// path; they start at once unless -max-pollers are busy.
func (b *bench) measure(ctx context.Context, c *change) {
	c.f.pending.Add(int32(2 * len(b.servers)))
	for i := range b.servers {
		for _, path := range []int{pathQuery, pathTile} {
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer c.f.pending.Add(-1)
				select {
				case b.sem <- struct{}{}:
				default:
					b.slotWaits.Add(1)
					b.sem <- struct{}{}
				}
				defer func() { <-b.sem }()
				b.poll(ctx, c, i, path)
			}()
		}
	}
}

// poll polls one path of one process until it shows c, or -timeout after the
// commit. The time taken is when the answer showing it was read.
func (b *bench) poll(ctx context.Context, c *change, proc, path int) {
	r := &c.res[proc]
	deadline := c.commit.Add(b.o.timeout)
	tc := tileClient{b: b, base: b.servers[proc].base, tiles: map[string]*tileBody{}}
	for {
		var ok bool
		var note string
		if path == pathQuery {
			ok, note = b.queryShows(ctx, b.servers[proc].base, c)
		} else {
			ok, note = tc.shows(ctx, c)
		}
		now := time.Now()
		if ok {
			r.ok[path], r.lat[path] = true, now.Sub(c.commit)
			return
		}
		if now.After(deadline) || ctx.Err() != nil {
			r.note[path] = note
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(b.o.poll):
		}
	}
}

// queryShows asks GET /api/v1/features/{layer}/{id} whether it shows c: a version
// ≥ c's, or 404 when c or a later change is a delete.
func (b *bench) queryShows(ctx context.Context, base string, c *change) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/v1/features/%s/%d", base, c.f.k.layer, c.f.k.id), nil)
	if err != nil {
		return false, err.Error()
	}
	b.queryReqs.Add(1)
	resp, err := b.client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound:
		_, _ = io.Copy(io.Discard, resp.Body)
		for _, s := range b.candidates(c) {
			if s.deleted {
				return true, ""
			}
		}
		return false, "404"
	case http.StatusOK:
		var f struct {
			Properties struct {
				Version int64 `json:"version"`
			} `json:"properties"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
			return false, "undecodable feature: " + err.Error()
		}
		if c.op != "delete" && f.Properties.Version >= c.st.version {
			return true, ""
		}
		return false, fmt.Sprintf("version %d", f.Properties.Version)
	default:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return false, fmt.Sprintf("%s %s", resp.Status, body)
	}
}

// tileClient polls tiles of one process for one change, revalidating with the
// ETag as a map client does.
type tileClient struct {
	b     *bench
	base  string
	tiles map[string]*tileBody
}

type tileBody struct {
	etag     string
	features map[int64]tileFeature // of the change's layer
}

type tileFeature struct {
	props map[string]any
	geom  orb.Geometry
}

// shows reports whether the tile of one of the committed states satisfying c
// shows that state.
func (tc *tileClient) shows(ctx context.Context, c *change) (bool, string) {
	var notes []string
	for _, s := range tc.b.candidates(c) {
		ok, note := tc.showsState(ctx, c.f, s)
		if ok {
			return true, ""
		}
		notes = append(notes, fmt.Sprintf("for v%d: %s", s.version, note))
	}
	return false, fmt.Sprint(notes)
}

func (tc *tileClient) showsState(ctx context.Context, f *feat, s *state) (bool, string) {
	t := maptile.At(orb.Point{s.lon, s.lat}, tileZoom)
	path := fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", f.k.layer, t.Z, t.X, t.Y)
	body, err := tc.get(ctx, path, f.k.layer, t)
	if err != nil {
		return false, path + ": " + err.Error()
	}
	tf, present := body.features[f.k.id]
	if s.deleted {
		if present {
			return false, path + " still holds the feature"
		}
		return true, ""
	}
	if !present {
		return false, path + " does not hold the feature"
	}
	for i, name := range f.spec.fields {
		if got := tf.props[name]; got != s.props[i] {
			return false, fmt.Sprintf("%s: %s is %v, committed %v", path, name, got, s.props[i])
		}
	}
	if s.point {
		p, ok := tf.geom.(orb.Point)
		if !ok {
			return false, fmt.Sprintf("%s: geometry %T, not a point", path, tf.geom)
		}
		dx := (p[0] - s.lon) * 111320 * math.Cos(s.lat*math.Pi/180)
		dy := (p[1] - s.lat) * 110574
		if d := math.Hypot(dx, dy); d > 1 {
			return false, fmt.Sprintf("%s: the point is %.1f m from the committed position", path, d)
		}
	}
	return true, ""
}

// get fetches a tile, or reuses the one fetched before when it did not change.
func (tc *tileClient) get(ctx context.Context, path, layer string, t maptile.Tile) (*tileBody, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tc.base+path, nil)
	if err != nil {
		return nil, err
	}
	prev := tc.tiles[path]
	if prev != nil {
		req.Header.Set("If-None-Match", prev.etag)
	}
	tc.b.tileReqs.Add(1)
	resp, err := tc.b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && prev != nil:
		tc.b.tile304.Add(1)
		return prev, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s %.200s", resp.Status, raw)
	}
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("undecodable tile: %w", err)
	}
	body := &tileBody{etag: resp.Header.Get("ETag"), features: map[int64]tileFeature{}}
	for _, l := range ls {
		if l.Name != layer {
			continue
		}
		l.ProjectToWGS84(t)
		for _, ft := range l.Features {
			id, ok := ft.Properties["id"].(float64)
			if !ok {
				continue
			}
			body.features[int64(id)] = tileFeature{props: ft.Properties, geom: ft.Geometry}
		}
	}
	tc.tiles[path] = body
	return body, nil
}
