package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// ImportStore is what the import tests need: upsert by external_id in one
// transaction.
type ImportStore interface {
	Store
	Import(ctx context.Context, layer string, fs []feature.Feature, opts store.WriteOptions, progress func(done int)) (store.ImportResult, error)
}

// importTest adapts a test of imports: it skips when the store has no Import.
func importTest(fn func(t *testing.T, s ImportStore)) func(t *testing.T, s Store) {
	return func(t *testing.T, s Store) {
		is, ok := s.(ImportStore)
		if !ok {
			t.Skipf("%T has no Import: the import half of the contract is not run", s)
		}
		fn(t, is)
	}
}

var importOpts = store.WriteOptions{Actor: "导入 importer"}

// importRows imports fs into layer, failing t on error, and returns the result and
// the progress reported.
func importRows(t *testing.T, s ImportStore, layer string, fs []feature.Feature) (store.ImportResult, []int) {
	t.Helper()
	var done []int
	res, err := s.Import(ctxFor(t), layer, fs, importOpts, func(n int) { done = append(done, n) })
	if err != nil {
		t.Fatalf("import %d rows into %s: %v", len(fs), layer, err)
	}
	return res, done
}

// checkProgress fails t unless progress increases and ends at n.
func checkProgress(t *testing.T, done []int, n int) {
	t.Helper()
	if len(done) == 0 || done[len(done)-1] != n {
		t.Fatalf("progress %v, want it to end at %d", done, n)
	}
	for i := 1; i < len(done); i++ {
		if done[i] <= done[i-1] {
			t.Fatalf("progress %v goes back", done)
		}
	}
}

// byExternalID reads every feature of a layer keyed by external_id.
func byExternalID(t *testing.T, s Store, layer string) map[string]feature.Feature {
	t.Helper()
	out := map[string]feature.Feature{}
	if err := s.Stream(ctxFor(t), layer, func(f feature.Feature) error {
		out[f.Props["external_id"].(string)] = f
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// testImport: an import inserts the rows whose external_id is new (ids assigned,
// version 1, an insert logged each), updates those stored that differ (id kept,
// version bumped, an update logged, seen by the change feed, a hazard status change
// in the status history with the import's actor) and leaves those equal to the
// stored feature alone (no version, no log row, the same update time). An id given
// in a row is ignored. Progress ends at the row count; an empty import does
// nothing.
func testImport(t *testing.T, s ImportStore) {
	ctx := ctxFor(t)
	l := layer(t, s, layers.RiskPoints)
	res, err := s.Import(ctx, l.Name, nil, importOpts, func(int) { t.Error("progress of an empty import") })
	if err != nil || res != (store.ImportResult{}) {
		t.Fatalf("empty import: %+v %v", res, err)
	}
	var fs []feature.Feature
	for i := range 7 {
		f := Sample(l, fmt.Sprintf("R-%d", i), i%3 == 0)
		f.Geometry = orb.Point{114.1 + float64(i)/1000, 22.55}
		if i%2 == 1 {
			f.Layer = "" // the layer argument names it
		}
		fs = append(fs, f)
	}
	res, done := importRows(t, s, l.Name, fs)
	if res != (store.ImportResult{Inserted: 7}) {
		t.Fatalf("first import: %+v, want 7 inserted", res)
	}
	checkProgress(t, done, len(fs))
	first := byExternalID(t, s, l.Name)
	cs := changes(t, s)
	if len(first) != len(fs) || len(cs) != len(fs) {
		t.Fatalf("%d features, %d changes after importing %d rows", len(first), len(cs), len(fs))
	}
	checkLogOrder(t, cs)
	for i, in := range fs {
		got := first[in.Props["external_id"].(string)]
		want := in
		want.Layer, want.ID, want.Version, want.UpdatedAt = l.Name, got.ID, 1, got.UpdatedAt
		want.Props = normalized(t, l, in)
		if d := sameFeature(l, got, want); d != "" {
			t.Errorf("row %d: %s", i, d)
		}
		if c := cs[i]; c.Op != feature.Insert || c.ID != got.ID || c.Version != 1 {
			t.Errorf("change %d: %+v, want the insert of row %d", i, c, i)
		}
	}

	// The same rows again: nothing written.
	snap, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again := slices.Clone(fs)
	again[2].ID = 123456 // ignored
	res, done = importRows(t, s, l.Name, again)
	if res != (store.ImportResult{Unchanged: 7}) {
		t.Fatalf("the same rows again: %+v, want 7 unchanged", res)
	}
	checkProgress(t, done, len(fs))
	if n := len(changes(t, s)); n != len(fs) {
		t.Fatalf("%d changes after an import of unchanged rows, want %d", n, len(fs))
	}
	for ext, f := range byExternalID(t, s, l.Name) {
		if d := sameFeature(l, f, first[ext]); d != "" {
			t.Errorf("%s changed by an import of the same rows: %s", ext, d)
		}
	}

	// A changed name, a moved point, a hazard closed → open, a new row, the rest
	// unchanged, in another order.
	next := []feature.Feature{fs[6], fs[0], cloneFeature(fs[1]), cloneFeature(fs[3]), cloneFeature(fs[5]), fs[4], fs[2],
		Sample(l, "R-new", false)}
	next[2].Props["name"] = "罗湖 改名"
	next[3].Geometry = orb.Point{114.2, 22.6}
	next[4].Props["hazard_status"] = "open"
	if normalized(t, l, fs[5])["hazard_status"] == "open" {
		t.Fatal("the sample's hazard status is open already")
	}
	res, done = importRows(t, s, l.Name, next)
	if res != (store.ImportResult{Inserted: 1, Updated: 3, Unchanged: 4}) {
		t.Fatalf("an import with 3 changed rows and 1 new: %+v", res)
	}
	checkProgress(t, done, len(next))
	after := byExternalID(t, s, l.Name)
	if len(after) != 8 {
		t.Fatalf("%d features, want 8", len(after))
	}
	var wantOps []string
	for i, in := range next {
		ext := in.Props["external_id"].(string)
		got := after[ext]
		want := in
		want.Layer, want.ID, want.Version, want.UpdatedAt = l.Name, got.ID, 1, got.UpdatedAt
		want.Props = normalized(t, l, in)
		switch {
		case i >= 2 && i <= 4:
			want.ID, want.Version = first[ext].ID, 2
			wantOps = append(wantOps, fmt.Sprintf("update risk_points/%d v2", want.ID))
		case ext == "R-new":
			if _, ok := first[ext]; ok || got.ID == 0 {
				t.Fatalf("R-new: id %d", got.ID)
			}
			wantOps = append(wantOps, fmt.Sprintf("insert risk_points/%d v1", got.ID))
		default:
			want = first[ext] // untouched, update time included
		}
		if d := sameFeature(l, got, want); d != "" {
			t.Errorf("row %d (%s): %s", i, ext, d)
		}
	}
	batch, err := s.ChangesSince(ctx, snap, 100)
	if err != nil {
		t.Fatal(err)
	}
	gotOps := opsOf(batch.Changes)
	slices.Sort(gotOps)
	slices.Sort(wantOps)
	if !slices.Equal(gotOps, wantOps) {
		t.Fatalf("the feed after the import: %v, want %v", gotOps, wantOps)
	}
	checkLogOrder(t, batch.Changes)
	for _, ext := range []string{"R-1", "R-3", "R-5", "R-new"} {
		key := store.FeatureKey{Layer: l.Name, ID: after[ext].ID}
		if d := sameFeature(l, batch.Features[key], after[ext]); d != "" {
			t.Errorf("%s in the feed: %s", ext, d)
		}
	}

	// The hazard status change went through the status history, by the importer.
	es, ok := s.(EditStore)
	if !ok {
		return
	}
	hist, err := es.HazardHistory(ctx, after["R-5"].ID)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := normalized(t, l, fs[5])["hazard_status"].(string)
	// Newest first.
	if len(hist) != 2 || hist[0].From != from || hist[0].To != "open" || hist[0].Actor != importOpts.Actor ||
		hist[1].From != "" || hist[1].Actor != importOpts.Actor {
		t.Fatalf("R-5's hazard history %+v, want its insert then %s → open by %s", hist, from, importOpts.Actor)
	}
	if hist, err := es.HazardHistory(ctx, after["R-1"].ID); err != nil || len(hist) != 1 {
		t.Fatalf("R-1's hazard history %+v %v, want its insert only (the status did not change)", hist, err)
	}
}

// cloneFeature copies f with its own properties map.
func cloneFeature(f feature.Feature) feature.Feature {
	f.Props = maps.Clone(f.Props)
	return f
}

// testImportAllOrNothing: an import with a bad row writes nothing — not the rows
// before it, not the updates of stored features — and its error is a
// *store.RowError with the row's position wrapping the cause: a
// *layers.ValidationError naming the field, or a *store.ConflictError for an
// external_id twice in the input naming both rows. Values are checked in every row
// before any polygon's validity.
func testImportAllOrNothing(t *testing.T, s ImportStore) {
	ctx := ctxFor(t)
	l := layer(t, s, layers.Slopes)
	good := func(i int) feature.Feature { return Sample(l, fmt.Sprintf("S-%d", i), false) }
	with := func(i int, fn func(f *feature.Feature)) feature.Feature { f := good(i); fn(&f); return f }
	badGrade := func(f *feature.Feature) { f.Props["risk_grade"] = "critical" }
	invalid := func(f *feature.Feature) { f.Geometry = bowtie }
	renamed := func(f *feature.Feature) { f.Props["name"] = "改名" }
	if res, _ := importRows(t, s, l.Name, []feature.Feature{good(10), good(11)}); res.Inserted != 2 {
		t.Fatalf("setup: %+v", res)
	}
	before := totals(t, s)
	stored := byExternalID(t, s, l.Name)
	tests := []struct {
		name  string
		fs    []feature.Feature
		row   int
		field string // the *layers.ValidationError's one problem's field, or
		ce    *store.ConflictError
	}{
		{"invalid value", []feature.Feature{good(0), with(1, badGrade)}, 1, "risk_grade", nil},
		{"invalid value after an update", []feature.Feature{with(10, renamed), good(0), with(2, badGrade)}, 2, "risk_grade", nil},
		{"invalid polygon", []feature.Feature{good(0), with(11, renamed), with(2, invalid)}, 2, "geometry", nil},
		{"invalid polygon in an update", []feature.Feature{good(0), with(10, invalid)}, 1, "geometry", nil},
		{"invalid polygon before an invalid value", []feature.Feature{with(0, invalid), good(1), with(2, badGrade)}, 2, "risk_grade", nil},
		{"duplicate external_id in the input", []feature.Feature{good(0), with(11, renamed), good(1), good(0)}, 3, "",
			&store.ConflictError{Layer: l.Name, Field: "external_id", Value: "S-0 (also row 0)"}},
		{"duplicate of a stored external_id in the input", []feature.Feature{good(11), with(11, renamed)}, 1, "",
			&store.ConflictError{Layer: l.Name, Field: "external_id", Value: "S-11 (also row 0)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Import(ctx, l.Name, tt.fs, importOpts, nil)
			var re *store.RowError
			if !errors.As(err, &re) || re.Row != tt.row {
				t.Fatalf("err = %v, want a *store.RowError of row %d", err, tt.row)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("row %d: ", tt.row)) {
				t.Errorf("err = %q, want it to start with the row", err)
			}
			if tt.field != "" {
				verr := errorsAsValidation(t, err)
				if len(verr.Problems) != 1 || verr.Problems[0].Field != tt.field || verr.Layer != l.Name {
					t.Fatalf("validation error %+v, want one problem with %s", verr, tt.field)
				}
				if tt.field == "geometry" && !strings.HasPrefix(verr.Problems[0].Reason, invalidPrefix) {
					t.Errorf("reason %q, want it to start %q", verr.Problems[0].Reason, invalidPrefix)
				}
			}
			if tt.ce != nil {
				var ce *store.ConflictError
				if !errors.Is(err, store.ErrConflict) || !errors.As(err, &ce) || *ce != *tt.ce {
					t.Fatalf("err = %v, want a %+v", err, *tt.ce)
				}
			}
			if after := totals(t, s); after != before {
				t.Fatalf("a failed import changed the store: %s, was %s", after, before)
			}
			for ext, f := range byExternalID(t, s, l.Name) {
				if d := sameFeature(l, f, stored[ext]); d != "" {
					t.Fatalf("a failed import changed %s: %s", ext, d)
				}
			}
		})
	}
	// A row of another layer is refused by its position.
	_, err := s.Import(ctx, l.Name, []feature.Feature{good(0), Sample(layer(t, s, layers.RiskPoints), "R", false)}, importOpts, nil)
	var re *store.RowError
	if !errors.As(err, &re) || re.Row != 1 || !strings.Contains(err.Error(), "risk_points") {
		t.Fatalf("a row of another layer: %v, want a *store.RowError of row 1 naming risk_points", err)
	}
	if after := totals(t, s); after != before {
		t.Fatalf("a failed import changed the store: %s, was %s", after, before)
	}
}

// testImportBatches: an import of more rows than one batch reports progress after
// each and names a bad row in a later batch by its position in the whole input.
func testImportBatches(t *testing.T, s ImportStore) {
	ctx := ctxFor(t)
	l := layer(t, s, layers.Slopes)
	const n = 5003 // the stores write 5,000 rows a batch
	fs := make([]feature.Feature, n)
	for i := range fs {
		fs[i] = Sample(l, fmt.Sprintf("S-%d", i), true)
		fs[i].Geometry = orb.Point{114 + float64(i%100)/1000, 22.5 + float64(i/100)/1000}
	}
	bad := slices.Clone(fs)
	bad[n-2].Geometry = bowtie
	_, err := s.Import(ctx, l.Name, bad, importOpts, nil)
	var re *store.RowError
	if !errors.As(err, &re) || re.Row != n-2 {
		t.Fatalf("an invalid polygon in row %d: %v", n-2, err)
	}
	errorsAsValidation(t, err)
	if c := count(t, s, l.Name); c != 0 {
		t.Fatalf("a failed import stored %d rows", c)
	}
	res, done := importRows(t, s, l.Name, fs)
	if res != (store.ImportResult{Inserted: n}) {
		t.Fatalf("import of %d rows: %+v", n, res)
	}
	checkProgress(t, done, n)
	if len(done) < 2 {
		t.Fatalf("progress %v: one call for %d rows", done, n)
	}
	if c := len(changes(t, s)); c != n {
		t.Fatalf("%d changes logged, want %d", c, n)
	}
}
