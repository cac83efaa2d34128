package storetest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// testRoundTrip: every layer, with every field set and with only the required ones,
// reads back as written and as Upsert returned it: version 1, the registry's
// canonical property types, defaults for omitted fields, the geometry exactly.
func testRoundTrip(t *testing.T, s Store) {
	ctx := ctxFor(t)
	for _, l := range s.Registry().Layers() {
		for _, sparse := range []bool{false, true} {
			in := Sample(l, fmt.Sprintf("%s-%v", l.Name, sparse), sparse)
			before := time.Now()
			stored, err := s.Upsert(ctx, in, opts)
			if err != nil {
				t.Fatalf("%s sparse=%v: %v", l.Name, sparse, err)
			}
			if stored.ID == 0 || stored.Version != 1 || stored.Layer != l.Name {
				t.Fatalf("%s: stored id %d version %d layer %q", l.Name, stored.ID, stored.Version, stored.Layer)
			}
			if stored.UpdatedAt.Before(before.Add(-time.Minute)) || stored.UpdatedAt.After(time.Now().Add(time.Minute)) {
				t.Errorf("%s: updated_at %v is not about now", l.Name, stored.UpdatedAt)
			}
			want := in
			want.ID, want.Version, want.UpdatedAt = stored.ID, 1, stored.UpdatedAt
			want.Props = normalized(t, l, in)
			if d := sameFeature(l, stored, want); d != "" {
				t.Errorf("%s sparse=%v: Upsert returned %s", l.Name, sparse, d)
			}
			if d := sameFeature(l, get(t, s, l.Name, stored.ID), want); d != "" {
				t.Errorf("%s sparse=%v: Get returned %s", l.Name, sparse, d)
			}
		}
		if n := count(t, s, l.Name); n != 2 {
			t.Errorf("%s: Count = %d, want 2", l.Name, n)
		}
	}
	// Fields omitted take their default, or null.
	for _, l := range s.Registry().Layers() {
		f := Sample(l, l.Name+"-defaults", true)
		for _, fd := range l.Fields {
			if fd.Default != nil {
				delete(f.Props, fd.Name)
			}
		}
		got := get(t, s, l.Name, upsert(t, s, f).ID)
		for _, fd := range l.Fields {
			if _, given := f.Props[fd.Name]; !given && !equalValue(got.Props[fd.Name], fd.Default) {
				t.Errorf("%s: omitted %s reads %#v, want %#v", l.Name, fd.Name, got.Props[fd.Name], fd.Default)
			}
		}
	}
}

// testGeometries: every geometry type a layer accepts is stored and read back
// exactly, holes and multi-parts included.
func testGeometries(t *testing.T, s Store) {
	withHole := orb.Polygon{Square(114.10, 22.50, 0.01), {{114.102, 22.502}, {114.102, 22.505}, {114.105, 22.505}, {114.105, 22.502}, {114.102, 22.502}}}
	geoms := map[layers.GeometryType]orb.Geometry{
		layers.Point:           orb.Point{114.1234567, 22.5432109},
		layers.LineString:      orb.LineString{{114.12, 22.55}, {114.125, 22.552}, {114.13, 22.551}},
		layers.MultiLineString: orb.MultiLineString{{{114.12, 22.55}, {114.125, 22.552}}, {{114.13, 22.56}, {114.14, 22.57}, {114.15, 22.57}}},
		layers.Polygon:         withHole,
		layers.MultiPolygon:    orb.MultiPolygon{withHole, {Square(114.2, 22.6, 0.002)}},
	}
	for _, l := range s.Registry().Layers() {
		for _, gt := range l.Geometry {
			f := Sample(l, fmt.Sprintf("%s-%s", l.Name, gt), false)
			f.Geometry = geoms[gt]
			stored := upsert(t, s, f)
			if got := get(t, s, l.Name, stored.ID); !orb.Equal(got.Geometry, f.Geometry) {
				t.Errorf("%s %s: read %v, wrote %v", l.Name, gt, got.Geometry, f.Geometry)
			}
		}
	}
}

// testUnknownLayer: every method that takes a layer name refuses one the registry
// does not know, with layers.ErrUnknownLayer.
func testUnknownLayer(t *testing.T, s Store) {
	ctx := ctxFor(t)
	f := sample(t, s, layers.Resources, "x")
	f.Layer = "bridges"
	checks := map[string]error{}
	_, checks["Get"] = s.Get(ctx, "bridges", 1)
	_, checks["Count"] = s.Count(ctx, "bridges")
	checks["Stream"] = s.Stream(ctx, "bridges", func(feature.Feature) error { return nil })
	_, checks["Upsert"] = s.Upsert(ctx, f, opts)
	checks["Delete"] = s.Delete(ctx, "bridges", 1, opts)
	checks["BulkLoad"] = s.BulkLoad(ctx, "bridges", []feature.Feature{f}, opts, nil)
	for name, err := range checks {
		if !errors.Is(err, layers.ErrUnknownLayer) {
			t.Errorf("%s on layer bridges: %v, want ErrUnknownLayer", name, err)
		}
	}
}

// testVersions: a feature's version counts its writes — insert 1, update by id 2,
// upsert by external_id 3 — the delete's tombstone is 4, and the id put back (a bulk
// load with explicit ids) continues at 5. Ids are not reused.
func testVersions(t *testing.T, s Store) {
	ctx := ctxFor(t)
	a := upsert(t, s, sample(t, s, layers.Slopes, "V"))
	if a.Version != 1 {
		t.Fatalf("insert: version %d", a.Version)
	}
	a.Props["name"] = "第二版"
	a2 := upsert(t, s, a)
	if a2.ID != a.ID || a2.Version != 2 || a2.UpdatedAt.Before(a.UpdatedAt) {
		t.Fatalf("update by id: id %d version %d updated %v (was %v)", a2.ID, a2.Version, a2.UpdatedAt, a.UpdatedAt)
	}
	byExt := sample(t, s, layers.Slopes, "V") // ID 0, same external_id
	byExt.Props["name"] = "第三版"
	a3 := upsert(t, s, byExt)
	if a3.ID != a.ID || a3.Version != 3 {
		t.Fatalf("upsert by external_id: id %d version %d, want id %d version 3", a3.ID, a3.Version, a.ID)
	}
	if got := get(t, s, layers.Slopes, a.ID); got.Version != 3 || got.Props["name"] != "第三版" || !got.UpdatedAt.Equal(a3.UpdatedAt) {
		t.Fatalf("read after three writes: version %d name %v updated %v", got.Version, got.Props["name"], got.UpdatedAt)
	}
	if err := s.Delete(ctx, layers.Slopes, a.ID, opts); err != nil {
		t.Fatal(err)
	}
	back := sample(t, s, layers.Slopes, "V")
	back.ID = a.ID
	if err := s.BulkLoad(ctx, layers.Slopes, []feature.Feature{back}, opts, nil); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, layers.Slopes, a.ID); got.Version != 5 {
		t.Fatalf("the deleted id put back: version %d, want 5", got.Version)
	}
	cs := changes(t, s)
	want := []string{}
	for i, op := range []feature.Op{feature.Insert, feature.Update, feature.Update, feature.Delete, feature.Insert} {
		want = append(want, fmt.Sprintf("%s slopes/%d v%d", op, a.ID, i+1))
	}
	if got := opsOf(cs); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("change log %v, want %v", got, want)
	}
	checkLogOrder(t, cs)
	fresh := upsert(t, s, sample(t, s, layers.Slopes, "V-new"))
	if fresh.ID <= a.ID || fresh.Version != 1 {
		t.Fatalf("a new feature after the id was put back: id %d version %d (the other is %d)", fresh.ID, fresh.Version, a.ID)
	}
}

// testDelete: a delete leaves a tombstone in the log and the feature gone; deleting
// or updating a missing feature is ErrNotFound and logs nothing.
func testDelete(t *testing.T, s Store) {
	ctx := ctxFor(t)
	a := upsert(t, s, sample(t, s, layers.Resources, "D"))
	b := upsert(t, s, sample(t, s, layers.Resources, "E"))
	if err := s.Delete(ctx, layers.Resources, a.ID, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, layers.Resources, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after delete: %v, want ErrNotFound", err)
	}
	before := totals(t, s)
	if err := s.Delete(ctx, layers.Resources, a.ID, opts); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, layers.Resources, 987654, opts); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete of an id never used: %v, want ErrNotFound", err)
	}
	gone := sample(t, s, layers.Resources, "D")
	gone.ID = a.ID
	if _, err := s.Upsert(ctx, gone, opts); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a deleted id: %v, want ErrNotFound", err)
	}
	gone.ID, gone.Props["external_id"] = 123456, "F"
	if _, err := s.Upsert(ctx, gone, opts); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of an id never used: %v, want ErrNotFound", err)
	}
	// A feature of the same id in another layer is another feature.
	if _, err := s.Get(ctx, layers.RiskPoints, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of resources' id %d in risk_points: %v, want ErrNotFound", b.ID, err)
	}
	if after := totals(t, s); after != before {
		t.Fatalf("refused deletes changed the store: %s, was %s", after, before)
	}
	cs := changes(t, s)
	last := cs[len(cs)-1]
	if last.Op != feature.Delete || last.Layer != layers.Resources || last.ID != a.ID || last.Version != 2 {
		t.Fatalf("tombstone %+v, want delete of resources/%d version 2", last, a.ID)
	}
	if n := count(t, s, layers.Resources); n != 1 {
		t.Fatalf("Count after delete = %d, want 1", n)
	}
}

// bowtie is a polygon whose ring crosses itself.
var bowtie = orb.Polygon{{{114.12, 22.55}, {114.13, 22.56}, {114.13, 22.55}, {114.12, 22.56}, {114.12, 22.55}}}

// invalidPrefix starts the reason given for a geometry that is not valid as a
// polygon. What follows it differs between the stores: PostGIS gives GEOS's
// ST_IsValidReason ("Self-intersection[114.125 22.555]"), the embedded store its own
// check's words. The suite asserts the field and this prefix only.
const invalidPrefix = "is not a valid geometry"

// validationCase is a feature the store must refuse and the problems it must name.
type validationCase struct {
	name   string
	layer  string
	mutate func(f *feature.Feature)
	want   []layers.Problem // a geometry reason ending in "…" is compared up to there
}

func validationCases() []validationCase {
	invalid := invalidPrefix + "…"
	return []validationCase{
		{"unknown field", layers.RiskPoints, func(f *feature.Feature) { f.Props["colour"] = "red" },
			[]layers.Problem{{Field: "colour", Reason: "is not a field of layer risk_points"}}},
		{"text given a number", layers.RiskPoints, func(f *feature.Feature) { f.Props["name"] = 42.0 },
			[]layers.Problem{{Field: "name", Reason: "must be text, got number 42"}}},
		{"number given text", layers.Resources, func(f *feature.Feature) { f.Props["capacity"] = "many" },
			[]layers.Problem{{Field: "capacity", Reason: `must be a number, got text "many"`}}},
		{"boolean given text", layers.Resources, func(f *feature.Feature) { f.Props["open"] = "yes" },
			[]layers.Problem{{Field: "open", Reason: `must be true or false, got text "yes"`}}},
		{"not a date", layers.RectifiedRoads, func(f *feature.Feature) { f.Props["completed_on"] = "2021-13-01" },
			[]layers.Problem{{Field: "completed_on", Reason: `"2021-13-01" is not a date YYYY-MM-DD`}}},
		{"enum", layers.RiskPoints, func(f *feature.Feature) { f.Props["risk_grade"] = "critical" },
			[]layers.Problem{{Field: "risk_grade", Reason: `"critical" is not one of low, general, significant, major`}}},
		{"enum given a number", layers.Slopes, func(f *feature.Feature) { f.Props["warning_level"] = 3.0 },
			[]layers.Problem{{Field: "warning_level", Reason: "must be one of none, blue, yellow, orange, red, got number 3"}}},
		{"below the range", layers.Resources, func(f *feature.Feature) { f.Props["capacity"] = -5.0 },
			[]layers.Problem{{Field: "capacity", Reason: "-5 is below the minimum 0 persons"}}},
		{"above the range", layers.Slopes, func(f *feature.Feature) { f.Props["angle_deg"] = 95.0 },
			[]layers.Problem{{Field: "angle_deg", Reason: "95 is above the maximum 90 deg"}}},
		{"not a whole number", layers.Resources, func(f *feature.Feature) { f.Props["capacity"] = 1.5 },
			[]layers.Problem{{Field: "capacity", Reason: "1.5 is not a whole number"}}},
		{"not finite", layers.WaterloggingSpots, func(f *feature.Feature) { f.Props["current_depth_cm"] = math.Inf(1) },
			[]layers.Problem{{Field: "current_depth_cm", Reason: "must be a finite number"}}},
		{"required field missing", layers.RiskPoints, func(f *feature.Feature) { delete(f.Props, "name") },
			[]layers.Problem{{Field: "name", Reason: "is required"}}},
		{"required field null", layers.Slopes, func(f *feature.Feature) { f.Props["kind"] = nil },
			[]layers.Problem{{Field: "kind", Reason: "is required"}}},
		{"external_id missing", layers.Resources, func(f *feature.Feature) { delete(f.Props, "external_id") },
			[]layers.Problem{{Field: "external_id", Reason: "is required"}}},
		{"external_id too long", layers.Resources, func(f *feature.Feature) { f.Props["external_id"] = strings.Repeat("长", 65) },
			[]layers.Problem{{Field: "external_id", Reason: "is 65 characters long, the limit is 64"}}},
		{"NUL in text", layers.RiskPoints, func(f *feature.Feature) { f.Props["address"] = "a\x00b" },
			[]layers.Problem{{Field: "address", Reason: "contains a NUL character"}}},
		{"invalid UTF-8", layers.RiskPoints, func(f *feature.Feature) { f.Props["address"] = "a\xffb" },
			[]layers.Problem{{Field: "address", Reason: "is not valid UTF-8"}}},
		{"geometry missing", layers.RiskPoints, func(f *feature.Feature) { f.Geometry = nil },
			[]layers.Problem{{Field: "geometry", Reason: "is required"}}},
		{"geometry type", layers.RectifiedRoads, func(f *feature.Feature) { f.Geometry = orb.Point{114.1, 22.5} },
			[]layers.Problem{{Field: "geometry", Reason: "type Point is not accepted, use LineString or MultiLineString"}}},
		{"longitude out of range", layers.RiskPoints, func(f *feature.Feature) { f.Geometry = orb.Point{200, 22.5} },
			[]layers.Problem{{Field: "geometry", Reason: "longitude 200 is outside -180..180 degrees"}}},
		{"latitude out of range", layers.Resources, func(f *feature.Feature) { f.Geometry = orb.Point{114.1, -95} },
			[]layers.Problem{{Field: "geometry", Reason: "latitude -95 is outside -90..90 degrees"}}},
		{"polygon vertex out of range", layers.Slopes, func(f *feature.Feature) { f.Geometry = orb.Polygon{Square(179.5, 22.5, 1)} },
			[]layers.Problem{{Field: "geometry", Reason: "longitude 180.5 is outside -180..180 degrees"}}},
		{"coordinate not finite", layers.RiskPoints, func(f *feature.Feature) { f.Geometry = orb.Point{math.NaN(), 22.5} },
			[]layers.Problem{{Field: "geometry", Reason: "coordinates must be finite numbers"}}},
		{"ring not closed", layers.Slopes, func(f *feature.Feature) {
			f.Geometry = orb.Polygon{{{114.12, 22.55}, {114.13, 22.55}, {114.13, 22.56}, {114.12, 22.56}}}
		}, []layers.Problem{{Field: "geometry", Reason: "ring 0 must be closed (first point = last point) with at least 4 points"}}},
		{"line of one point", layers.RectifiedRoads, func(f *feature.Feature) { f.Geometry = orb.LineString{{114.1, 22.5}, {114.1, 22.5}} },
			[]layers.Problem{{Field: "geometry", Reason: "a line needs at least two distinct points"}}},
		{"self-intersecting polygon", layers.Slopes, func(f *feature.Feature) { f.Geometry = bowtie },
			[]layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"self-intersecting polygon of a spot", layers.WaterloggingSpots, func(f *feature.Feature) { f.Geometry = bowtie },
			[]layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"ring touching itself", layers.Slopes, func(f *feature.Feature) {
			// An "inverted hole": the ring comes back to a vertex it passed.
			f.Geometry = orb.Polygon{{{114.10, 22.50}, {114.12, 22.50}, {114.12, 22.52}, {114.11, 22.50}, {114.10, 22.52}, {114.10, 22.50}}}
		}, []layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"hole outside the shell", layers.Slopes, func(f *feature.Feature) {
			f.Geometry = orb.Polygon{Square(114.10, 22.50, 0.01), Square(114.20, 22.50, 0.01)}
		}, []layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"hole crossing the shell", layers.Slopes, func(f *feature.Feature) {
			f.Geometry = orb.Polygon{Square(114.10, 22.50, 0.01), Square(114.105, 22.505, 0.01)}
		}, []layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"hole inside a hole", layers.Slopes, func(f *feature.Feature) {
			f.Geometry = orb.Polygon{Square(114.10, 22.50, 0.1), Square(114.11, 22.51, 0.05), Square(114.12, 22.52, 0.01)}
		}, []layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"hole splitting the interior", layers.Slopes, func(f *feature.Feature) {
			// A hole touching the shell at two points cuts the polygon in two.
			f.Geometry = orb.Polygon{Square(114.10, 22.50, 0.04),
				{{114.12, 22.50}, {114.13, 22.52}, {114.12, 22.54}, {114.11, 22.52}, {114.12, 22.50}}}
		}, []layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"holes splitting the interior", layers.Slopes, func(f *feature.Feature) {
			// Two holes, each touching the shell and touching each other, cut it too.
			f.Geometry = orb.Polygon{Square(114.10, 22.50, 0.04),
				{{114.12, 22.50}, {114.13, 22.51}, {114.12, 22.52}, {114.11, 22.51}, {114.12, 22.50}},
				{{114.12, 22.52}, {114.13, 22.53}, {114.12, 22.54}, {114.11, 22.53}, {114.12, 22.52}}}
		}, []layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"polygons of a multipolygon overlapping", layers.Slopes, func(f *feature.Feature) {
			f.Geometry = orb.MultiPolygon{{Square(114.10, 22.50, 0.01)}, {Square(114.105, 22.505, 0.01)}}
		}, []layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"polygon of a multipolygon inside another", layers.Slopes, func(f *feature.Feature) {
			f.Geometry = orb.MultiPolygon{{Square(114.10, 22.50, 0.1)}, {Square(114.12, 22.52, 0.01)}}
		}, []layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"polygons of a multipolygon sharing an edge", layers.Slopes, func(f *feature.Feature) {
			f.Geometry = orb.MultiPolygon{{Square(114.10, 22.50, 0.01)}, {Square(114.11, 22.50, 0.01)}}
		}, []layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"polygon without area", layers.Slopes, func(f *feature.Feature) {
			f.Geometry = orb.Polygon{{{114.10, 22.50}, {114.11, 22.50}, {114.12, 22.50}, {114.10, 22.50}}}
		}, []layers.Problem{{Field: "geometry", Reason: invalid}}},
		{"several problems", layers.RiskPoints, func(f *feature.Feature) {
			f.Props["risk_grade"] = "critical"
			f.Props["colour"] = "red"
			delete(f.Props, "category")
			f.Geometry = orb.Point{200, 22.5}
		}, []layers.Problem{
			{Field: "category", Reason: "is required"},
			{Field: "risk_grade", Reason: `"critical" is not one of low, general, significant, major`},
			{Field: "colour", Reason: "is not a field of layer risk_points"},
			{Field: "geometry", Reason: "longitude 200 is outside -180..180 degrees"},
		}},
		// A polygon's validity is checked after the rest (by the database, in
		// PostGIS): a feature with other problems is refused for those alone.
		{"a bad value and an invalid polygon", layers.Slopes, func(f *feature.Feature) {
			f.Props["risk_grade"] = "critical"
			f.Geometry = bowtie
		}, []layers.Problem{{Field: "risk_grade", Reason: `"critical" is not one of low, general, significant, major`}}},
	}
}

// checkProblems compares problems with want (see validationCase).
func checkProblems(got, want []layers.Problem) string {
	match := func(g, w layers.Problem) bool {
		if prefix, ok := strings.CutSuffix(w.Reason, "…"); ok {
			return g.Field == w.Field && strings.HasPrefix(g.Reason, prefix)
		}
		return g == w
	}
	if len(got) != len(want) {
		return fmt.Sprintf("problems %q, want %q", got, want)
	}
	for i := range want {
		if !match(got[i], want[i]) {
			return fmt.Sprintf("problems %q, want %q", got, want)
		}
	}
	return ""
}

// testValidation: every kind of bad feature is refused with a *layers.ValidationError
// naming the layer, the id (0 for an insert) and each problem — field and words the
// same on every store — on insert, on update and in a bulk load; nothing is written.
func testValidation(t *testing.T, s Store) {
	ctx := ctxFor(t)
	existing := map[string]feature.Feature{}
	for _, l := range s.Registry().Layers() {
		existing[l.Name] = upsert(t, s, Sample(l, "existing", false))
	}
	before := totals(t, s)
	for _, tc := range validationCases() {
		t.Run(tc.name, func(t *testing.T) {
			l := layer(t, s, tc.layer)
			f := Sample(l, "new", false)
			tc.mutate(&f)
			_, err := s.Upsert(ctx, f, opts)
			verr := errorsAsValidation(t, err)
			if d := checkProblems(verr.Problems, tc.want); d != "" || verr.Layer != l.Name || verr.ID != 0 {
				t.Fatalf("insert: %s; layer %q id %d (error %q)", d, verr.Layer, verr.ID, err)
			}
			upd := Sample(l, "existing", false)
			tc.mutate(&upd)
			upd.ID = existing[l.Name].ID
			_, err = s.Upsert(ctx, upd, opts)
			verr = errorsAsValidation(t, err)
			if d := checkProblems(verr.Problems, tc.want); d != "" || verr.Layer != l.Name || verr.ID != upd.ID {
				t.Fatalf("update: %s; layer %q id %d, want %d (error %q)", d, verr.Layer, verr.ID, upd.ID, err)
			}
			good := Sample(l, "bulk-0", false)
			bad := Sample(l, "bulk-1", false)
			tc.mutate(&bad)
			err = s.BulkLoad(ctx, l.Name, []feature.Feature{good, bad}, opts, nil)
			verr = errorsAsValidation(t, err)
			wantPrefix := fmt.Sprintf("%s row 1 (external_id %v): %s: ", l.Name, bad.Props["external_id"], l.Name)
			if d := checkProblems(verr.Problems, tc.want); d != "" || !strings.HasPrefix(err.Error(), wantPrefix) {
				t.Fatalf("bulk load: %s; error %q, want it to start %q", d, err, wantPrefix)
			}
		})
	}
	if after := totals(t, s); after != before {
		t.Fatalf("refused writes changed the store: %s, was %s", after, before)
	}
	for name, f := range existing {
		if got := get(t, s, name, f.ID); got.Version != 1 {
			t.Errorf("%s %d: version %d after refused updates", name, f.ID, got.Version)
		}
	}
}

// testValidGeometries: geometries that are valid — though unusual — are accepted
// by every store and read back as written (GEOS's rules, as PostGIS applies them).
func testValidGeometries(t *testing.T, s Store) {
	circle := make(orb.Ring, 0, 6001)
	for i := range 6000 {
		a := 2 * math.Pi * float64(i) / 6000
		circle = append(circle, orb.Point{114.1 + 0.01*math.Cos(a), 22.5 + 0.01*math.Sin(a)})
	}
	circle = append(circle, circle[0])
	cases := []struct {
		name string
		g    orb.Geometry
	}{
		{"clockwise shell", orb.Polygon{{{114.10, 22.50}, {114.10, 22.51}, {114.11, 22.51}, {114.11, 22.50}, {114.10, 22.50}}}},
		{"repeated vertex", orb.Polygon{{{114.10, 22.50}, {114.11, 22.50}, {114.11, 22.50}, {114.11, 22.51}, {114.10, 22.51}, {114.10, 22.50}}}},
		{"hole touching the shell at a point", orb.Polygon{Square(114.10, 22.50, 0.02), {{114.10, 22.51}, {114.11, 22.505}, {114.11, 22.515}, {114.10, 22.51}}}},
		{"two holes touching at a point", orb.Polygon{Square(114.10, 22.50, 0.04),
			{{114.11, 22.51}, {114.12, 22.51}, {114.12, 22.52}, {114.11, 22.51}},
			{{114.12, 22.52}, {114.13, 22.52}, {114.13, 22.53}, {114.12, 22.52}}}},
		{"polygons of a multipolygon touching at a point", orb.MultiPolygon{{Square(114.10, 22.50, 0.01)}, {Square(114.11, 22.51, 0.01)}}},
		{"polygon inside a hole of another", orb.MultiPolygon{{Square(114.10, 22.50, 0.1), Square(114.12, 22.52, 0.05)}, {Square(114.13, 22.53, 0.01)}}},
		{"6000 vertices", orb.Polygon{circle}},
	}
	l := layer(t, s, layers.Slopes)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := Sample(l, fmt.Sprintf("valid-%d", i), false)
			f.Geometry = tc.g
			stored, err := s.Upsert(ctxFor(t), f, opts)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got := get(t, s, l.Name, stored.ID); !orb.Equal(got.Geometry, tc.g) {
				t.Fatalf("read back %v", got.Geometry)
			}
		})
	}
}

// testConflict: an external_id taken by another feature is a *store.ConflictError
// naming the layer, the field and the value, on update as on insert of a new id;
// nothing changes.
func testConflict(t *testing.T, s Store) {
	ctx := ctxFor(t)
	upsert(t, s, sample(t, s, layers.Resources, "A"))
	b := upsert(t, s, sample(t, s, layers.Resources, "B"))
	before := totals(t, s)
	b.Props["external_id"] = "A"
	_, err := s.Upsert(ctx, b, opts)
	var ce *store.ConflictError
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &ce) {
		t.Fatalf("taking another feature's external_id: %v (%T), want a *store.ConflictError", err, err)
	}
	if *ce != (store.ConflictError{Layer: layers.Resources, Field: "external_id", Value: "A"}) {
		t.Fatalf("conflict %+v", *ce)
	}
	if want := `resources: external_id "A" is already used by another feature`; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if after := totals(t, s); after != before {
		t.Fatalf("a refused write changed the store: %s, was %s", after, before)
	}
	if got := get(t, s, layers.Resources, b.ID); got.Props["external_id"] != "B" || got.Version != 1 {
		t.Fatalf("B after the refused write: %v version %d", got.Props["external_id"], got.Version)
	}
	// The same external_id in another layer is no conflict.
	upsert(t, s, sample(t, s, layers.RiskPoints, "A"))
}

// testStream: Stream yields every feature of the layer in id order, each as Get
// reads it, and stops at the first error of fn, returning it.
func testStream(t *testing.T, s Store) {
	ctx := ctxFor(t)
	l := layer(t, s, layers.WaterloggingSpots)
	var fs []feature.Feature
	for i := range 5 {
		fs = append(fs, Sample(l, fmt.Sprintf("W-%d", i), i%2 == 0))
	}
	if err := s.BulkLoad(ctx, l.Name, fs, opts, nil); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := s.Stream(ctx, l.Name, func(f feature.Feature) error { ids = append(ids, f.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 5 {
		t.Fatalf("streamed %d features, want 5", len(ids))
	}
	// Write out of id order so that storage order need not be id order.
	first := get(t, s, l.Name, ids[0])
	first.Props["name"] = "改"
	upsert(t, s, first)
	if err := s.Delete(ctx, l.Name, ids[2], opts); err != nil {
		t.Fatal(err)
	}
	var got []feature.Feature
	if err := s.Stream(ctx, l.Name, func(f feature.Feature) error { got = append(got, f); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("streamed %d features, want 4", len(got))
	}
	for i, f := range got {
		if i > 0 && f.ID <= got[i-1].ID {
			t.Fatalf("streamed id %d after %d", f.ID, got[i-1].ID)
		}
		if d := sameFeature(l, f, get(t, s, l.Name, f.ID)); d != "" {
			t.Fatalf("streamed %d: %s", f.ID, d)
		}
	}
	stop := errors.New("enough")
	calls := 0
	err := s.Stream(ctx, l.Name, func(feature.Feature) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Stream with fn failing: %v after %d calls, want fn's error after 1", err, calls)
	}
	if err := s.Stream(ctx, layers.Resources, func(feature.Feature) error { t.Fatal("a feature in an empty layer"); return nil }); err != nil {
		t.Fatal(err)
	}
}
