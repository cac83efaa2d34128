// Package storetest is the contract of a riskmap store as one test suite, run against
// every store (store/postgis, store/gpkg) by their tests: features with versions,
// validation and conflict errors with the same fields and wording, bulk loads, the
// change log and the change feed, and — for a store that has them — sensors,
// readings, alerts and signals. It is imported by tests only.
//
// A store's test runs the suite with a function that opens a new, migrated, empty
// store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(t) })
//	}
//
// Where the two stores necessarily differ (the reason PostGIS gives for an invalid
// polygon is GEOS's ST_IsValidReason, the embedded store's is its own), the suite
// says so where it asserts less.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
)

// Store is what the suite exercises of a store: features, bulk loads, the change log
// and the feed.
type Store interface {
	Registry() *layers.Registry
	Count(ctx context.Context, layer string) (int64, error)
	Get(ctx context.Context, layer string, id int64) (feature.Feature, error)
	Stream(ctx context.Context, layer string, fn func(feature.Feature) error) error
	Upsert(ctx context.Context, f feature.Feature, opts store.WriteOptions) (feature.Feature, error)
	Delete(ctx context.Context, layer string, id int64, opts store.WriteOptions) error
	DeleteAll(ctx context.Context, opts store.WriteOptions) error
	BulkLoad(ctx context.Context, layer string, fs []feature.Feature, opts store.WriteOptions, progress func(done int)) error
	Changes(ctx context.Context, after int64, limit int) ([]feature.Change, error)
	CurrentSnapshot(ctx context.Context) (store.Snapshot, error)
	ChangesSince(ctx context.Context, since store.Snapshot, limit int) (store.ChangeBatch, error)
	PruneChanges(ctx context.Context, cutoff time.Time) (int64, error)
	Listen(ctx context.Context, listening, wake func()) error
}

// SensorStore is what the suite exercises of a store's sensor half: sensors and
// their readings, the evaluated state written back to features, alerts, signals and
// their events. The sensor tests skip, naming the missing methods, for a store that
// does not have them all.
type SensorStore interface {
	Store
	BulkLoadSensors(ctx context.Context, sensors []feature.Sensor) error
	BulkLoadReadings(ctx context.Context, rs []sensors.Reading, progress func(done int)) error
	Sensors(ctx context.Context) ([]feature.Sensor, error)
	InsertReadings(ctx context.Context, rs []sensors.Reading) (int, error)
	RecentReadings(ctx context.Context, since time.Time, fn func(sensors.Reading) error) error
	ReadingSeries(ctx context.Context, sensorID int64, drill bool, from, to time.Time, maxPoints int) ([]store.SeriesPoint, error)
	ApplySensorState(ctx context.Context, patches []store.FieldPatch, alerts []sensors.Alert) ([]store.StoredAlert, error)
	Alerts(ctx context.Context, q store.AlertQuery) ([]store.StoredAlert, error)
	Alert(ctx context.Context, id int64) (store.StoredAlert, error)
	AckAlert(ctx context.Context, id int64, by, note string) (store.StoredAlert, error)
	AlertsAfter(ctx context.Context, after int64, limit int) ([]store.StoredAlert, error)
	SetSignal(ctx context.Context, kind, level, by, note string) (store.Signal, error)
	Signals(ctx context.Context, current bool, kind string, limit int) ([]store.Signal, error)
	SignalsAfter(ctx context.Context, after int64) ([]store.Signal, error)
	LatestEventIDs(ctx context.Context) (alert, signal int64, err error)
	ListenEvents(ctx context.Context, listening func(), fn func(typ string, id int64)) error
}

// Run runs the suite. open returns a new, migrated, empty store for one subtest
// (closed by open's own t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Geometries", testGeometries},
		{"UnknownLayer", testUnknownLayer},
		{"Versions", testVersions},
		{"Delete", testDelete},
		{"Validation", testValidation},
		{"ValidGeometriesAccepted", testValidGeometries},
		{"Conflict", testConflict},
		{"BulkLoad", testBulkLoad},
		{"BulkLoadAllOrNothing", testBulkLoadAllOrNothing},
		{"BulkLoadExplicitIDs", testBulkLoadExplicitIDs},
		{"Stream", testStream},
		{"DeleteAll", testDeleteAll},
		{"Changes", testChanges},
		{"ChangesSince", testChangesSince},
		{"PruneChanges", testPruneChanges},
		{"Listen", testListen},
		{"Sensors", sensorTest(testSensors)},
		{"InsertReadings", sensorTest(testInsertReadings)},
		{"ReadingSeries", sensorTest(testReadingSeries)},
		{"ApplySensorState", sensorTest(testApplySensorState)},
		{"Alerts", sensorTest(testAlerts)},
		{"Signals", sensorTest(testSignals)},
		{"ListenEvents", sensorTest(testListenEvents)},
		{"DeleteAllCascadesToSensors", sensorTest(testDeleteAllSensors)},
		{"EditVersions", editTest(testEditVersions)},
		{"EditRefusedLeavesNoAudit", editTest(testEditRefusedLeavesNoAudit)},
		{"HazardWorkflow", editTest(testHazardWorkflow)},
		{"HazardsOverdue", editTest(testHazardsOverdue)},
		{"Tokens", tokenTest(testTokens)},
		{"Sessions", tokenTest(testSessions)},
		{"ChangeAudit", testChangeAudit},
		{"Import", importTest(testImport)},
		{"ImportAllOrNothing", importTest(testImportAllOrNothing)},
		{"ImportBatches", importTest(testImportBatches)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// sensorTest adapts a test of the sensor half: it skips, naming what is missing, when
// the store does not have every method of SensorStore.
func sensorTest(fn func(t *testing.T, s SensorStore)) func(t *testing.T, s Store) {
	return func(t *testing.T, s Store) {
		ss, ok := s.(SensorStore)
		if !ok {
			t.Skipf("%T has no %s: the sensor half of the store contract is not run", s, strings.Join(missingMethods(s), ", "))
		}
		fn(t, ss)
	}
}

// missingMethods names the methods of SensorStore that s lacks.
func missingMethods(s Store) []string {
	it := reflect.TypeFor[SensorStore]()
	st := reflect.TypeOf(s)
	var out []string
	for i := range it.NumMethod() {
		m := it.Method(i)
		if got, ok := st.MethodByName(m.Name); !ok || !sameSignature(got.Type, m.Type) {
			out = append(out, m.Name)
		}
	}
	return out
}

// sameSignature compares a method's type (receiver first) with an interface method's.
func sameSignature(method, iface reflect.Type) bool {
	if method.NumIn() != iface.NumIn()+1 || method.NumOut() != iface.NumOut() {
		return false
	}
	for i := range iface.NumIn() {
		if method.In(i+1) != iface.In(i) {
			return false
		}
	}
	for i := range iface.NumOut() {
		if method.Out(i) != iface.Out(i) {
			return false
		}
	}
	return true
}

// ctxFor is a context for one subtest, cancelled when it ends.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var opts = store.WriteOptions{Actor: "storetest"}

// Square is a closed counter-clockwise square ring with its south-west corner at
// (lon, lat) and sides of size degrees.
func Square(lon, lat, size float64) orb.Ring {
	return orb.Ring{{lon, lat}, {lon + size, lat}, {lon + size, lat + size}, {lon, lat + size}, {lon, lat}}
}

// Sample builds a feature of layer l with every field set to a valid value that is
// not the field's default (or, with sparse, only the required fields), derived from
// the registry, and the layer's usual geometry type.
func Sample(l *layers.Layer, ext string, sparse bool) feature.Feature {
	props := map[string]any{}
	for _, f := range l.Fields {
		if sparse && !f.Required {
			continue
		}
		switch f.Type {
		case layers.TypeText:
			props[f.Name] = "罗湖 " + f.Name + " 测试"
		case layers.TypeEnum:
			props[f.Name] = f.Enum.Choices[len(f.Enum.Choices)-1].Code
		case layers.TypeInt:
			props[f.Name] = int64(4321)
		case layers.TypeFloat:
			props[f.Name] = *f.Min + 0.375
		case layers.TypeBool:
			props[f.Name] = f.Default != true
		case layers.TypeDate:
			props[f.Name] = time.Date(2021, 6, 30, 0, 0, 0, 0, time.UTC)
		}
	}
	props["external_id"] = ext
	var g orb.Geometry
	switch l.Geometry[0] {
	case layers.Point:
		g = orb.Point{114.118, 22.548}
	case layers.Polygon:
		g = orb.Polygon{Square(114.12, 22.55, 0.001)}
	case layers.LineString:
		g = orb.LineString{{114.12, 22.55}, {114.125, 22.552}, {114.13, 22.551}}
	}
	return feature.Feature{Layer: l.Name, Geometry: g, Props: props}
}

// layer returns the registry's layer, failing t when there is none.
func layer(t *testing.T, s Store, name string) *layers.Layer {
	t.Helper()
	l, err := s.Registry().Layer(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// sample is Sample of the named layer.
func sample(t *testing.T, s Store, name, ext string) feature.Feature {
	t.Helper()
	return Sample(layer(t, s, name), ext, false)
}

// upsert writes f, failing t on error.
func upsert(t *testing.T, s Store, f feature.Feature) feature.Feature {
	t.Helper()
	out, err := s.Upsert(ctxFor(t), f, opts)
	if err != nil {
		t.Fatalf("upsert %s %v: %v", f.Layer, f.Props["external_id"], err)
	}
	return out
}

// get reads a feature, failing t on error.
func get(t *testing.T, s Store, layer string, id int64) feature.Feature {
	t.Helper()
	f, err := s.Get(ctxFor(t), layer, id)
	if err != nil {
		t.Fatalf("get %s %d: %v", layer, id, err)
	}
	return f
}

// changes reads the whole change log.
func changes(t *testing.T, s Store) []feature.Change {
	t.Helper()
	cs, err := s.Changes(ctxFor(t), 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// count reads the number of features of a layer.
func count(t *testing.T, s Store, layer string) int64 {
	t.Helper()
	n, err := s.Count(ctxFor(t), layer)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// totals is the number of features of every layer and of change-log rows: what a
// refused write must leave as it was.
func totals(t *testing.T, s Store) string {
	t.Helper()
	var b strings.Builder
	for _, l := range s.Registry().Layers() {
		fmt.Fprintf(&b, "%s=%d ", l.Name, count(t, s, l.Name))
	}
	fmt.Fprintf(&b, "changes=%d", len(changes(t, s)))
	return b.String()
}

// equalValue compares property values in canonical types; dates by instant.
func equalValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

// sameFeature reports how got differs from want (id, version, update time, every
// property, the geometry), "" when it does not.
func sameFeature(l *layers.Layer, got, want feature.Feature) string {
	var diffs []string
	if got.Layer != want.Layer || got.ID != want.ID || got.Version != want.Version {
		diffs = append(diffs, fmt.Sprintf("layer/id/version %s/%d/%d, want %s/%d/%d", got.Layer, got.ID, got.Version, want.Layer, want.ID, want.Version))
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		diffs = append(diffs, fmt.Sprintf("updated_at %v, want %v", got.UpdatedAt, want.UpdatedAt))
	}
	if len(got.Props) != len(l.Fields) {
		diffs = append(diffs, fmt.Sprintf("%d properties, the layer has %d fields", len(got.Props), len(l.Fields)))
	}
	for _, f := range l.Fields {
		if !equalValue(got.Props[f.Name], want.Props[f.Name]) {
			diffs = append(diffs, fmt.Sprintf("%s = %#v, want %#v", f.Name, got.Props[f.Name], want.Props[f.Name]))
		}
	}
	if !orb.Equal(got.Geometry, want.Geometry) {
		diffs = append(diffs, fmt.Sprintf("geometry %v, want %v", got.Geometry, want.Geometry))
	}
	return strings.Join(diffs, "; ")
}

// normalized is in's properties as the registry canonicalizes them.
func normalized(t *testing.T, l *layers.Layer, in feature.Feature) map[string]any {
	t.Helper()
	props, err := l.Normalize(in.Props)
	if err != nil {
		t.Fatal(err)
	}
	return props
}

// opsOf is the (op, version) sequence of changes, as text for messages.
func opsOf(cs []feature.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %s/%d v%d", c.Op, c.Layer, c.ID, c.Version)
	}
	return out
}

// checkLogOrder fails t unless the changes' seqs increase.
func checkLogOrder(t *testing.T, cs []feature.Change) {
	t.Helper()
	for i := 1; i < len(cs); i++ {
		if cs[i].Seq <= cs[i-1].Seq {
			t.Fatalf("seq %d after %d: %v", cs[i].Seq, cs[i-1].Seq, opsOf(cs))
		}
	}
	for _, c := range cs {
		if c.Time.IsZero() || time.Since(c.Time) > time.Hour || time.Until(c.Time) > time.Minute {
			t.Fatalf("change %+v: time %v is not about now", c, c.Time)
		}
	}
}

// errorsAsValidation returns the *layers.ValidationError in err, failing t if none.
func errorsAsValidation(t *testing.T, err error) *layers.ValidationError {
	t.Helper()
	var verr *layers.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v (%T), want a *layers.ValidationError", err, err)
	}
	return verr
}
