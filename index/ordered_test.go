package index

import (
	"errors"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
)

func recIDs(recs []*Record) []int64 {
	ids := make([]int64, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

// TestOrderedFollowsApply: the id-ordered view holds every record by id, and an
// Apply (insert, update, delete) shows in the next read.
func TestOrderedFollowsApply(t *testing.T) {
	ix, _ := randomIndex(t, 500, 3)
	v := NewOrderedView(ix)
	recs, err := v.Ordered(layers.RiskPoints)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 500 || !slices.IsSorted(recIDs(recs)) || recs[0].ID != 1 || recs[499].ID != 500 {
		t.Fatalf("ordered: %d records, first %d", len(recs), recs[0].ID)
	}
	again, _ := v.Ordered(layers.RiskPoints)
	if &again[0] != &recs[0] {
		t.Error("an unchanged layer was sorted again")
	}
	if _, err := ix.Apply(
		Mutation{feature.Delete, feature.Feature{Layer: layers.RiskPoints, ID: 7}},
		Mutation{feature.Insert, riskPoint(9001, orb.Point{114.1, 22.55}, "major")},
	); err != nil {
		t.Fatal(err)
	}
	recs, _ = v.Ordered(layers.RiskPoints)
	ids := recIDs(recs)
	if len(ids) != 500 || slices.Contains(ids, 7) || ids[len(ids)-1] != 9001 || !slices.IsSorted(ids) {
		t.Errorf("after apply: %d ids, last %d, 7 present %v", len(ids), ids[len(ids)-1], slices.Contains(ids, 7))
	}
	upd := riskPoint(8, orb.Point{114.2, 22.6}, "low")
	upd.Version = 2
	if _, err := ix.Apply(Mutation{feature.Update, upd}); err != nil {
		t.Fatal(err)
	}
	recs, _ = v.Ordered(layers.RiskPoints)
	if i, _ := slices.BinarySearch(recIDs(recs), 8); recs[i].Version != 2 {
		t.Errorf("after update: version %d", recs[i].Version)
	}
	if _, err := v.Ordered("nope"); !errors.Is(err, layers.ErrUnknownLayer) {
		t.Errorf("unknown layer: %v", err)
	}
}

// TestPageMatchesBruteForce: pages under a filter and a bbox are the brute-force
// selection by id, and walking the pages yields every selected id once.
func TestPageMatchesBruteForce(t *testing.T) {
	ix, _ := randomIndex(t, 2000, 5)
	v := NewOrderedView(ix)
	box := orb.Bound{Min: orb.Point{114.10, 22.54}, Max: orb.Point{114.15, 22.58}}
	line := orb.Bound{Min: orb.Point{114.10, 22.54}, Max: orb.Point{114.10, 22.58}}
	tests := []struct {
		name  string
		layer string
		bbox  *orb.Bound
		f     Filter
		match func(*Record) bool
	}{
		{"all", layers.RiskPoints, nil, Filter{MinCapacity: -1}, nil},
		{"grade", layers.RiskPoints, nil, Filter{Grades: 1 << 3, MinCapacity: -1}, nil},
		{"bbox", layers.RiskPoints, &box, Filter{MinCapacity: -1}, nil},
		{"bbox+grade", layers.RiskPoints, &box, Filter{Grades: 1<<3 | 1<<2, MinCapacity: -1}, nil},
		{"roads in bbox", layers.RectifiedRoads, &box, Filter{MinCapacity: -1}, nil},
		{"degenerate bbox", layers.RectifiedRoads, &line, Filter{MinCapacity: -1}, nil},
		{"open shelters", layers.Resources, nil, Filter{Open: new(true), MinCapacity: -1}, nil},
		{"match", layers.RiskPoints, nil, Filter{Grades: 1 << 3, MinCapacity: -1}, func(r *Record) bool { return r.ID%3 == 0 }},
		{"bbox+match", layers.RiskPoints, &box, Filter{MinCapacity: -1}, func(r *Record) bool { return r.ID%2 == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, _ := v.Ordered(tt.layer)
			var want []int64
			for _, r := range all {
				if !tt.f.matchAttrs(r) || tt.match != nil && !tt.match(r) {
					continue
				}
				if tt.bbox != nil {
					b := *tt.bbox
					if !r.Bound.Intersects(b) {
						continue
					}
					if b.Max[0] > b.Min[0] && b.Max[1] > b.Min[1] && !intersects(orb.MultiPolygon{{b.ToRing()}}, r.Geometry) {
						continue
					}
				}
				want = append(want, r.ID)
			}
			var got []int64
			for off := 0; ; off += 37 {
				page, matched, err := v.Page(PageQuery{Layer: tt.layer, BBox: tt.bbox, Filter: tt.f, Match: tt.match, Offset: off, Limit: 37})
				if err != nil {
					t.Fatal(err)
				}
				if matched != len(want) {
					t.Fatalf("matched %d, want %d", matched, len(want))
				}
				if len(page) == 0 {
					break
				}
				got = append(got, recIDs(page)...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("pages give %d ids, want %d", len(got), len(want))
			}
		})
	}
}

// TestOrderedConcurrentApply: pages read while changes are applied are always
// sorted, without duplicates, and of one version (run with -race).
func TestOrderedConcurrentApply(t *testing.T) {
	ix, _ := randomIndex(t, 300, 9)
	v := NewOrderedView(ix)
	done := make(chan struct{})
	errs := make(chan string, 4)
	for range 2 {
		go func() {
			for {
				select {
				case <-done:
					errs <- ""
					return
				default:
				}
				recs, matched, err := v.Page(PageQuery{Layer: layers.RiskPoints, Offset: 0, Limit: 1000})
				ids := recIDs(recs)
				if err != nil || len(ids) != matched || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
					errs <- "a page is not one sorted version of the layer"
					return
				}
			}
		}()
	}
	for i := range 200 {
		if _, err := ix.Apply(
			Mutation{feature.Insert, riskPoint(int64(10000+i), orb.Point{114.1, 22.55}, "low")},
			Mutation{feature.Delete, feature.Feature{Layer: layers.RiskPoints, ID: int64(1 + i)}},
		); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 2 {
		if e := <-errs; e != "" {
			t.Fatal(e)
		}
	}
	recs, _ := v.Ordered(layers.RiskPoints)
	if ids := recIDs(recs); len(ids) != 300 || ids[0] != 201 || ids[len(ids)-1] != 10199 {
		t.Errorf("after the changes: %d ids from %d to %d", len(ids), ids[0], ids[len(ids)-1])
	}
}
