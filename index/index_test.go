package index

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/geo"
	"riskmap/layers"
)

// point builds a canonical risk point or resource feature.
func riskPoint(id int64, p orb.Point, grade string) feature.Feature {
	return feature.Feature{Layer: layers.RiskPoints, ID: id, Version: 1, Geometry: p, Props: map[string]any{
		"external_id": fmt.Sprintf("RP-%d", id), "name": fmt.Sprintf("风险点%d", id), "category": "fire",
		"address": nil, "subdistrict": "dongmen", "cause": nil, "measures": nil, "responsible_dept": nil,
		"risk_grade": grade, "hazard_status": "open",
	}}
}

func shelter(id int64, p orb.Point, capacity int64, open bool) feature.Feature {
	return feature.Feature{Layer: layers.Resources, ID: id, Version: 1, Geometry: p, Props: map[string]any{
		"external_id": fmt.Sprintf("RS-%d", id), "kind": "shelter", "name": fmt.Sprintf("避难场所%d", id),
		"subdistrict": nil, "address": "深圳市罗湖区", "capacity": capacity, "open": open, "contact_dept": nil,
	}}
}

func road(id int64, line orb.LineString) feature.Feature {
	return feature.Feature{Layer: layers.RectifiedRoads, ID: id, Version: 1, Geometry: line, Props: map[string]any{
		"external_id": fmt.Sprintf("RD-%d", id), "name": "深南东路", "kind": "radar_scan", "completed_on": nil,
	}}
}

var grades = []string{"low", "general", "significant", "major"}

// randomIndex holds n random risk points around Luohu, some shelters and roads.
func randomIndex(t testing.TB, n int, seed uint64) (*Index, []feature.Feature) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	ix := New(layers.New())
	var fs []feature.Feature
	var ms []Mutation
	for i := range n {
		f := riskPoint(int64(i+1), orb.Point{114.06 + 0.16*r.Float64(), 22.52 + 0.10*r.Float64()}, grades[r.IntN(4)])
		fs = append(fs, f)
		ms = append(ms, Mutation{feature.Insert, f})
	}
	for i := range 40 {
		f := shelter(int64(i+1), orb.Point{114.06 + 0.16*r.Float64(), 22.52 + 0.10*r.Float64()}, int64(r.IntN(3000)), r.IntN(2) == 0)
		fs = append(fs, f)
		ms = append(ms, Mutation{feature.Insert, f})
	}
	for i := range 30 {
		start := orb.Point{114.06 + 0.16*r.Float64(), 22.52 + 0.10*r.Float64()}
		line := orb.LineString{start}
		for range 1 + r.IntN(5) {
			last := line[len(line)-1]
			line = append(line, orb.Point{last[0] + 0.01*(r.Float64()-0.5), last[1] + 0.01*(r.Float64()-0.5)})
		}
		f := road(int64(i+1), line)
		fs = append(fs, f)
		ms = append(ms, Mutation{feature.Insert, f})
	}
	if _, err := ix.Apply(ms...); err != nil {
		t.Fatal(err)
	}
	return ix, fs
}

type key struct {
	layer string
	id    int64
}

func keys(hits []Hit) []key {
	out := make([]key, len(hits))
	for i, h := range hits {
		out[i] = key{h.Rec.Layer, h.Rec.ID}
	}
	return out
}

// bruteDistances computes the distance from p to every feature passing f.
func brute(fs []feature.Feature, f Filter, reg *layers.Registry, dist func(feature.Feature) float64) []Hit {
	var hits []Hit
	for _, ft := range fs {
		l, _ := reg.Layer(ft.Layer)
		rec, _ := newRecord(reg, l, ft)
		if f.Match(rec) {
			hits = append(hits, Hit{rec, dist(ft)})
		}
	}
	return hits
}

func TestNearestAndRadiusMatchBruteForce(t *testing.T) {
	ix, fs := randomIndex(t, 1500, 1)
	reg := ix.Registry()
	r := rand.New(rand.NewPCG(2, 3))
	for i := range 150 {
		p := orb.Point{114.04 + 0.2*r.Float64(), 22.50 + 0.14*r.Float64()}
		f := Filter{MinCapacity: -1}
		switch i % 4 {
		case 1:
			f.Layers = []string{layers.RiskPoints}
			f.Grades = 1<<2 | 1<<3
		case 2:
			f.Layers = []string{layers.Resources, layers.RectifiedRoads}
		case 3:
			open := true
			f.Open = &open
			f.MinCapacity = 500
		}
		all := brute(fs, f, reg, func(ft feature.Feature) float64 { return geo.DistanceToGeometry(p, ft.Geometry) })
		slices.SortFunc(all, ix.less)

		k := 1 + r.IntN(30)
		got := ix.Nearest(p, k, -1, f)
		want := all[:min(k, len(all))]
		if !slices.Equal(keys(got), keys(want)) {
			t.Fatalf("query %d: Nearest(%v, %d) = %v, want %v", i, p, k, keys(got), keys(want))
		}
		for j := range got {
			if got[j].Distance != want[j].Distance {
				t.Fatalf("distance %v, want %v", got[j].Distance, want[j].Distance)
			}
		}

		radius := 100 + 3000*r.Float64()
		var within []Hit
		for _, h := range all {
			if h.Distance <= radius {
				within = append(within, h)
			}
		}
		if got := ix.Radius(p, radius, f); !slices.Equal(keys(got), keys(within)) {
			t.Fatalf("query %d: Radius(%v, %.0f) = %d hits, want %d", i, p, radius, len(got), len(within))
		}
		capped := ix.Nearest(p, 1000, radius, f)
		if !slices.Equal(keys(capped), keys(within[:min(1000, len(within))])) {
			t.Fatalf("query %d: Nearest with max distance differs from Radius", i)
		}
	}
}

func TestAlongMatchesBruteForce(t *testing.T) {
	ix, fs := randomIndex(t, 1000, 4)
	reg := ix.Registry()
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 60 {
		route := orb.LineString{{114.06 + 0.16*r.Float64(), 22.52 + 0.10*r.Float64()}}
		for range 1 + r.IntN(6) {
			last := route[len(route)-1]
			route = append(route, orb.Point{last[0] + 0.02*(r.Float64()-0.5), last[1] + 0.02*(r.Float64()-0.5)})
		}
		buffer := 20 + 500*r.Float64()
		f := Filter{MinCapacity: -1}
		var want []Hit
		for _, h := range brute(fs, f, reg, func(ft feature.Feature) float64 { return geo.GeometryDistance(route, ft.Geometry) }) {
			if h.Distance <= buffer {
				want = append(want, h)
			}
		}
		slices.SortFunc(want, ix.less)
		if got := ix.Along(route, buffer, f); !slices.Equal(keys(got), keys(want)) {
			t.Fatalf("route %d: %d hits, want %d", i, len(got), len(want))
		}
	}
}

func TestInPolygonAndBBox(t *testing.T) {
	ix, _ := randomIndex(t, 2000, 8)
	// A square with a square hole.
	outer := orb.Ring{{114.10, 22.54}, {114.16, 22.54}, {114.16, 22.60}, {114.10, 22.60}, {114.10, 22.54}}
	hole := orb.Ring{{114.12, 22.56}, {114.12, 22.58}, {114.14, 22.58}, {114.14, 22.56}, {114.12, 22.56}}
	mp := orb.MultiPolygon{{outer, hole}}
	if err := ValidatePolygon(mp); err != nil {
		t.Fatal(err)
	}
	in := func(p orb.Point) bool {
		return p[0] > 114.10 && p[0] < 114.16 && p[1] > 22.54 && p[1] < 22.60 &&
			!(p[0] > 114.12 && p[0] < 114.14 && p[1] > 22.56 && p[1] < 22.58)
	}
	f := Filter{Layers: []string{layers.RiskPoints}, MinCapacity: -1}
	hits := ix.InPolygon(mp, false, f)
	n := 0
	for _, rec := range ix.BBox(orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}, f) {
		if in(rec.Rec.Geometry.(orb.Point)) {
			n++
		}
	}
	if len(hits) != n || n == 0 {
		t.Fatalf("InPolygon: %d hits, %d points inside", len(hits), n)
	}
	for _, h := range hits {
		if !in(h.Rec.Geometry.(orb.Point)) {
			t.Fatalf("%v is not inside", h.Rec.Geometry)
		}
	}
	// Roads: intersecting ⊇ within.
	rf := Filter{Layers: []string{layers.RectifiedRoads}, MinCapacity: -1}
	inter, within := ix.InPolygon(mp, false, rf), ix.InPolygon(mp, true, rf)
	if len(within) > len(inter) {
		t.Fatalf("within %d > intersecting %d", len(within), len(inter))
	}
	for _, h := range within {
		if !slices.Contains(keys(inter), key{h.Rec.Layer, h.Rec.ID}) {
			t.Fatalf("road %d within but not intersecting", h.Rec.ID)
		}
	}
}

func TestApplyGetDelete(t *testing.T) {
	ix := New(layers.New())
	a := riskPoint(1, orb.Point{114.12, 22.55}, "low")
	dirty, err := ix.Apply(Mutation{feature.Insert, a})
	if err != nil || len(dirty) != 1 {
		t.Fatalf("insert: %v %v", dirty, err)
	}
	moved := riskPoint(1, orb.Point{114.13, 22.56}, "major")
	moved.Version = 2
	dirty, err = ix.Apply(Mutation{feature.Update, moved})
	if err != nil || len(dirty) != 2 {
		t.Fatalf("update: dirty %v (want old and new bounds), %v", dirty, err)
	}
	rec, ok, err := ix.Get(layers.RiskPoints, 1)
	if err != nil || !ok || rec.Version != 2 || rec.Grade != 3 || !orb.Equal(rec.Geometry, moved.Geometry) {
		t.Fatalf("after update: %+v %v %v", rec, ok, err)
	}
	if hits := ix.Nearest(orb.Point{114.12, 22.55}, 5, -1, Filter{MinCapacity: -1}); len(hits) != 1 || hits[0].Rec.Version != 2 {
		t.Fatalf("the old position is still indexed: %v", keys(hits))
	}
	if _, err := ix.Apply(Mutation{feature.Delete, feature.Feature{Layer: layers.RiskPoints, ID: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := ix.Get(layers.RiskPoints, 1); ok || ix.Count(layers.RiskPoints) != 0 {
		t.Fatal("deleted feature still there")
	}
	if hits := ix.Radius(orb.Point{114.13, 22.56}, 1000, Filter{MinCapacity: -1}); len(hits) != 0 {
		t.Fatal("deleted feature still in the tree")
	}
	// Deleting again, or an absent id, is harmless; a bad batch changes nothing.
	if _, err := ix.Apply(Mutation{feature.Delete, feature.Feature{Layer: layers.RiskPoints, ID: 1}}); err != nil {
		t.Fatal(err)
	}
	_, err = ix.Apply(Mutation{feature.Insert, a}, Mutation{feature.Insert, feature.Feature{Layer: "bridges", ID: 1}})
	if !errors.Is(err, layers.ErrUnknownLayer) || ix.Count(layers.RiskPoints) != 0 {
		t.Fatalf("bad batch: %v, count %d", err, ix.Count(layers.RiskPoints))
	}
	if _, _, err := ix.Get("bridges", 1); !errors.Is(err, layers.ErrUnknownLayer) {
		t.Fatal(err)
	}
}

func TestRecordGeoJSON(t *testing.T) {
	ix := New(layers.New())
	if _, err := ix.Apply(Mutation{feature.Insert, shelter(7, orb.Point{114.1, 22.5}, 1200, true)}); err != nil {
		t.Fatal(err)
	}
	rec, _, _ := ix.Get(layers.Resources, 7)
	got := string(rec.AppendGeoJSON(nil, 12.34567, true))
	want := `{"type":"Feature","id":7,"geometry":{"type":"Point","coordinates":[114.1,22.5]},"properties":{"layer":"resources","id":7,"version":1,"external_id":"RS-7","kind":"shelter","name":"避难场所7","subdistrict":null,"address":"深圳市罗湖区","capacity":1200,"open":true,"contact_dept":null,"distance_m":12.346}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestSearch(t *testing.T) {
	ix, _ := randomIndex(t, 200, 9)
	hits := ix.Search("风险点12", 5, Filter{MinCapacity: -1})
	if len(hits) == 0 || hits[0].Rec.Name != "风险点12" {
		t.Fatalf("search: %+v", hits)
	}
	if hits := ix.Search("rp-7", 3, Filter{MinCapacity: -1}); len(hits) == 0 || hits[0].Rec.ExternalID != "RP-7" {
		t.Fatalf("search by external id: %+v", hits)
	}
	if hits := ix.Search("no such thing", 5, Filter{MinCapacity: -1}); len(hits) != 0 {
		t.Fatal("found something")
	}
}

// TestConcurrentReadersAndWriter runs queries while a writer moves, re-grades and
// deletes features; under -race it proves the locking. Every answer must be
// internally consistent: sorted, and each record a complete version.
func TestConcurrentReadersAndWriter(t *testing.T) {
	ix, fs := randomIndex(t, 2000, 10)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		r := rand.New(rand.NewPCG(11, 12))
		for v := int64(2); v < 300; v++ {
			f := fs[r.IntN(2000)]
			f.Version = v
			f.Geometry = orb.Point{114.06 + 0.16*r.Float64(), 22.52 + 0.10*r.Float64()}
			op := feature.Update
			if v%7 == 0 {
				op = feature.Delete
			}
			if _, err := ix.Apply(Mutation{op, f}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 13))
			for ctx.Err() == nil {
				p := orb.Point{114.06 + 0.16*r.Float64(), 22.52 + 0.10*r.Float64()}
				hits := ix.Nearest(p, 10, -1, Filter{MinCapacity: -1})
				if !sort.SliceIsSorted(hits, func(i, j int) bool { return hits[i].Distance < hits[j].Distance }) {
					t.Error("unsorted answer")
					return
				}
				for _, h := range ix.Radius(p, 800, Filter{MinCapacity: -1}) {
					if h.Rec.Geometry == nil || h.Distance < 0 {
						t.Error("incomplete record")
						return
					}
				}
				ix.Search("风险", 5, Filter{MinCapacity: -1})
			}
		})
	}
	wg.Wait()
}

// Polygon predicates with holes, on both sides (found by the PostGIS equivalence test;
// PostGIS answers in the comments).
func TestInPolygonHoles(t *testing.T) {
	slope := func(id int64, poly orb.Polygon) feature.Feature {
		return feature.Feature{Layer: layers.Slopes, ID: id, Version: 1, Geometry: poly, Props: map[string]any{
			"external_id": fmt.Sprintf("S-%d", id), "name": "边坡", "kind": "natural_slope", "subdistrict": nil,
			"height_m": nil, "length_m": nil, "angle_deg": nil, "risk_grade": "low", "monitored": false, "warning_level": "none"}}
	}
	square := func(x0, y0, x1, y1 float64) orb.Ring {
		return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
	}
	tests := []struct {
		name    string
		feature orb.Polygon
		query   orb.Polygon
		within  bool
		want    int
	}{
		// ST_CoveredBy = f: the query's hole lies inside the slope.
		{"query hole inside the feature", orb.Polygon{square(114.102, 22.542, 114.108, 22.548)},
			orb.Polygon{square(114.10, 22.54, 114.11, 22.55), square(114.104, 22.544, 114.106, 22.546)}, true, 0},
		{"query hole outside the feature", orb.Polygon{square(114.102, 22.542, 114.103, 22.543)},
			orb.Polygon{square(114.10, 22.54, 114.11, 22.55), square(114.104, 22.544, 114.106, 22.546)}, true, 1},
		// ST_Intersects = t: the query crosses the edge of the slope's hole.
		{"query across the feature's hole edge",
			orb.Polygon{square(114.20, 22.50, 114.23, 22.53), square(114.21, 22.51, 114.22, 22.52)},
			orb.Polygon{square(114.215, 22.515, 114.225, 22.525)}, false, 1},
		{"query inside the feature's hole",
			orb.Polygon{square(114.20, 22.50, 114.23, 22.53), square(114.21, 22.51, 114.22, 22.52)},
			orb.Polygon{square(114.212, 22.512, 114.218, 22.518)}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := New(layers.New())
			if _, err := ix.Apply(Mutation{feature.Insert, slope(1, tt.feature)}); err != nil {
				t.Fatal(err)
			}
			if got := len(ix.InPolygon(orb.MultiPolygon{tt.query}, tt.within, Filter{MinCapacity: -1})); got != tt.want {
				t.Fatalf("%d hits, want %d", got, tt.want)
			}
		})
	}
}

// TestOnApplyVisitBounds: observers see every Apply's dirty bounds (old and new) and
// World for every layer on Load, while the write lock is held (a reader started
// from inside the observer would block; here the observer just records); Visit and
// Bounds see the current content.
func TestOnApplyVisitBounds(t *testing.T) {
	ix := New(layers.New())
	var got [][]Dirty
	ix.OnApply(func(d []Dirty) { got = append(got, slices.Clone(d)) })
	a, b := orb.Point{114.1, 22.5}, orb.Point{114.2, 22.6}
	if _, err := ix.Apply(Mutation{Op: feature.Insert, Feature: riskPoint(1, a, "low")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Apply(Mutation{Op: feature.Update, Feature: riskPoint(1, b, "major")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Apply(Mutation{Op: feature.Delete, Feature: feature.Feature{Layer: layers.RiskPoints, ID: 7}}); err != nil {
		t.Fatal(err)
	}
	want := [][]Dirty{
		{{layers.RiskPoints, orb.Bound{Min: a, Max: a}}},
		{{layers.RiskPoints, orb.Bound{Min: b, Max: b}}, {layers.RiskPoints, orb.Bound{Min: a, Max: a}}},
	} // the delete of an absent id touches nothing and notifies nobody
	if !slices.EqualFunc(got, want, func(x, y []Dirty) bool { return slices.Equal(x, y) }) {
		t.Fatalf("observed %v, want %v", got, want)
	}
	if bd, ok := ix.Bounds(nil); !ok || bd != (orb.Bound{Min: b, Max: b}) {
		t.Errorf("Bounds = %v %v", bd, ok)
	}
	if _, ok := ix.Bounds([]string{layers.Slopes}); ok {
		t.Error("Bounds of an empty layer reported data")
	}
	var seen []int64
	major := Filter{MinCapacity: -1, Grades: 1 << 3}
	if err := ix.Visit(layers.RiskPoints, World, major, func(r *Record) bool { seen = append(seen, r.ID); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []int64{1}) {
		t.Errorf("Visit saw %v", seen)
	}
	if err := ix.Visit(layers.RiskPoints, World, Filter{MinCapacity: -1, Grades: 1}, func(*Record) bool { t.Error("filter ignored"); return true }); err != nil {
		t.Fatal(err)
	}
	if err := ix.Visit("nope", World, major, func(*Record) bool { return true }); !errors.Is(err, layers.ErrUnknownLayer) {
		t.Errorf("Visit of an unknown layer: %v", err)
	}
	got = nil
	if err := ix.Load(context.Background(), emptySource{}, nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0]) != len(layers.New().Layers()) || got[0][0].Bound != World {
		t.Errorf("Load notified %v", got)
	}
}

type emptySource struct{}

func (emptySource) Stream(context.Context, string, func(feature.Feature) error) error { return nil }
