package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// testBulkLoad: a bulk load without ids stores every row, ids assigned in row
// order, each at version 1 with an insert logged in row order; progress ends at the
// row count; an empty load does nothing.
func testBulkLoad(t *testing.T, s Store) {
	ctx := ctxFor(t)
	if err := s.BulkLoad(ctx, layers.Slopes, nil, opts, func(int) { t.Error("progress of an empty load") }); err != nil {
		t.Fatalf("empty load: %v", err)
	}
	l := layer(t, s, layers.Slopes)
	var fs []feature.Feature
	for i := range 7 {
		f := Sample(l, fmt.Sprintf("S-%d", i), i%3 == 0)
		if i%2 == 1 {
			f.Layer = "" // the layer argument names it
			f.Geometry = orb.Point{114.1 + float64(i)/1000, 22.55}
		}
		fs = append(fs, f)
	}
	var done []int
	if err := s.BulkLoad(ctx, l.Name, fs, opts, func(n int) { done = append(done, n) }); err != nil {
		t.Fatal(err)
	}
	if len(done) == 0 || done[len(done)-1] != len(fs) {
		t.Fatalf("progress %v, want it to end at %d", done, len(fs))
	}
	for i := 1; i < len(done); i++ {
		if done[i] <= done[i-1] {
			t.Fatalf("progress %v goes back", done)
		}
	}
	if n := count(t, s, l.Name); n != int64(len(fs)) {
		t.Fatalf("Count = %d, want %d", n, len(fs))
	}
	var got []feature.Feature
	if err := s.Stream(ctx, l.Name, func(f feature.Feature) error { got = append(got, f); return nil }); err != nil {
		t.Fatal(err)
	}
	cs := changes(t, s)
	if len(cs) != len(fs) {
		t.Fatalf("%d changes logged, want %d", len(cs), len(fs))
	}
	checkLogOrder(t, cs)
	for i, f := range got {
		want := fs[i]
		want.Layer, want.ID, want.Version, want.UpdatedAt = l.Name, f.ID, 1, f.UpdatedAt
		want.Props = normalized(t, l, fs[i])
		if d := sameFeature(l, f, want); d != "" {
			t.Errorf("row %d: %s", i, d)
		}
		if f.UpdatedAt.IsZero() {
			t.Errorf("row %d: no updated_at", i)
		}
		if c := cs[i]; c.Op != feature.Insert || c.Layer != l.Name || c.ID != f.ID || c.Version != 1 {
			t.Errorf("change %d: %+v, want the insert of row %d", i, c, i)
		}
	}
}

// testBulkLoadAllOrNothing: a bulk load with a bad row stores nothing and names the
// row: its position, its external_id, the problem as Upsert words it.
func testBulkLoadAllOrNothing(t *testing.T, s Store) {
	ctx := ctxFor(t)
	l := layer(t, s, layers.Slopes)
	good := func(i int) feature.Feature { return Sample(l, fmt.Sprintf("S-%d", i), false) }
	with := func(i int, fn func(f *feature.Feature)) feature.Feature { f := good(i); fn(&f); return f }
	badGrade := func(f *feature.Feature) { f.Props["risk_grade"] = "critical" }
	invalid := func(f *feature.Feature) { f.Geometry = bowtie }
	if err := s.BulkLoad(ctx, l.Name, []feature.Feature{good(10), good(11)}, opts, nil); err != nil {
		t.Fatal(err)
	}
	before := totals(t, s)
	tests := []struct {
		name  string
		fs    []feature.Feature
		want  string // the error's text starts so
		field string // the *layers.ValidationError's one problem's field, or
		ce    *store.ConflictError
	}{
		{"invalid value", []feature.Feature{good(0), with(1, badGrade)},
			`slopes row 1 (external_id S-1): slopes: risk_grade: "critical" is not one of low, general, significant, major`, "risk_grade", nil},
		{"invalid polygon", []feature.Feature{good(0), good(1), with(2, invalid)},
			"slopes row 2 (external_id S-2): slopes: geometry: " + invalidPrefix, "geometry", nil},
		// Values are checked in every row before any polygon's validity (which
		// PostGIS checks in the database).
		{"invalid polygon before an invalid value", []feature.Feature{with(0, invalid), good(1), with(2, badGrade)},
			`slopes row 2 (external_id S-2): slopes: risk_grade: "critical"`, "risk_grade", nil},
		{"duplicate external_id in the input", []feature.Feature{good(0), good(1), good(0)},
			`slopes row 2: slopes: external_id "S-0 (also row 0)" is already used by another feature`, "",
			&store.ConflictError{Layer: l.Name, Field: "external_id", Value: "S-0 (also row 0)"}},
		{"external_id already stored", []feature.Feature{good(0), good(11), good(2)},
			`slopes row 1: slopes: external_id "S-11" is already used by another feature`, "",
			&store.ConflictError{Layer: l.Name, Field: "external_id", Value: "S-11"}},
		{"invalid polygon before an external_id already stored", []feature.Feature{good(10), with(1, invalid)},
			"slopes row 1 (external_id S-1): slopes: geometry: " + invalidPrefix, "geometry", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.BulkLoad(ctx, l.Name, tt.fs, opts, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to start %q", err, tt.want)
			}
			if tt.field != "" {
				verr := errorsAsValidation(t, err)
				if len(verr.Problems) != 1 || verr.Problems[0].Field != tt.field || verr.Layer != l.Name {
					t.Fatalf("validation error %+v, want one problem with %s", verr, tt.field)
				}
			}
			if tt.ce != nil {
				var ce *store.ConflictError
				if !errors.Is(err, store.ErrConflict) || !errors.As(err, &ce) || *ce != *tt.ce {
					t.Fatalf("err = %v, want a %+v", err, *tt.ce)
				}
			}
			if after := totals(t, s); after != before {
				t.Fatalf("a failed bulk load changed the store: %s, was %s", after, before)
			}
		})
	}
	// Rows must all have an id or none, and belong to the layer.
	withID := good(1)
	withID.ID = 99
	for _, tc := range []struct {
		fs   []feature.Feature
		want string
	}{
		{[]feature.Feature{good(0), withID}, "row 1: either every row has an id or none has"},
		{[]feature.Feature{withID, good(0)}, "row 1: either every row has an id or none has"},
		{[]feature.Feature{good(0), Sample(layer(t, s, layers.RiskPoints), "R", false)}, "row 1 belongs to layer risk_points"},
	} {
		if err := s.BulkLoad(ctx, l.Name, tc.fs, opts, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want ...%s", err, tc.want)
		}
	}
	if after := totals(t, s); after != before {
		t.Fatalf("a failed bulk load changed the store: %s, was %s", after, before)
	}
}

// testBulkLoadExplicitIDs: ids given are kept (in any order), ids assigned later
// come after the largest, and an id already stored is a conflict that stores
// nothing.
func testBulkLoadExplicitIDs(t *testing.T, s Store) {
	ctx := ctxFor(t)
	l := layer(t, s, layers.Resources)
	var fs []feature.Feature
	for _, id := range []int64{100, 7, 50} {
		f := Sample(l, fmt.Sprintf("R-%d", id), false)
		f.ID = id
		fs = append(fs, f)
	}
	if err := s.BulkLoad(ctx, l.Name, fs, opts, nil); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := s.Stream(ctx, l.Name, func(f feature.Feature) error {
		ids = append(ids, f.ID)
		if f.Props["external_id"] != fmt.Sprintf("R-%d", f.ID) || f.Version != 1 {
			t.Errorf("id %d: external_id %v version %d", f.ID, f.Props["external_id"], f.Version)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids) != "[7 50 100]" {
		t.Fatalf("ids %v, want [7 50 100]", ids)
	}
	if f := upsert(t, s, Sample(l, "R-next", false)); f.ID <= 100 {
		t.Fatalf("an id assigned after loading id 100: %d", f.ID)
	}
	before := totals(t, s)
	taken := Sample(l, "R-other", false)
	taken.ID = 50
	err := s.BulkLoad(ctx, l.Name, []feature.Feature{taken}, opts, nil)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("loading an id already stored: %v, want ErrConflict", err)
	}
	// Only the layer is asserted: the GeoPackage store names the field id and the
	// value and the row ("resources row 0: resources: id \"50\" is already used by
	// another feature"); PostGIS names the primary key's constraint, no value, and
	// the batch's rows ("resources rows 0..0: resources: resources_pkey \"\" ...").
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Layer != l.Name {
		t.Fatalf("loading an id already stored: %v, want a *store.ConflictError of %s", err, l.Name)
	}
	if after := totals(t, s); after != before {
		t.Fatalf("a failed bulk load changed the store: %s, was %s", after, before)
	}
}
