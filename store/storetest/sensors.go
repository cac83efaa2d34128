package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
)

// t0 is the suite's reference time: with microseconds, which every store keeps.
var t0 = time.Date(2026, 7, 1, 8, 0, 0, 123456000, time.UTC)

// fixtureSensors are the sensors seedSensors stores: two on slope 1, one on spot 1,
// an inactive one without thresholds on spot 2.
var fixtureSensors = []feature.Sensor{
	{ID: 1, ExternalID: "DSP-1", Kind: "displacement_mm", Layer: layers.Slopes, FeatureID: 1,
		Thresholds: &feature.Thresholds{Blue: 10, Yellow: 20, Orange: 30, Red: 40}, RangeMin: -2000, RangeMax: 2000, Active: true},
	{ID: 2, ExternalID: "RAIN-1", Kind: "rainfall_mm_h", Layer: layers.Slopes, FeatureID: 1, RangeMin: 0, RangeMax: 500, Active: true},
	{ID: 3, ExternalID: "DEPTH-1", Kind: "water_depth_cm", Layer: layers.WaterloggingSpots, FeatureID: 1,
		Thresholds: &feature.Thresholds{Blue: 10, Yellow: 20, Orange: 30, Red: 50}, RangeMin: 0, RangeMax: 1000, Active: true},
	{ID: 4, ExternalID: "LEVEL-2", Kind: "water_level_m", Layer: layers.WaterloggingSpots, FeatureID: 2, RangeMin: -20, RangeMax: 300, Active: false},
}

// seedSensors stores slopes 1 and 2, waterlogging spots 1 and 2 and fixtureSensors.
func seedSensors(t *testing.T, s SensorStore) {
	t.Helper()
	ctx := ctxFor(t)
	for _, name := range []string{layers.Slopes, layers.WaterloggingSpots} {
		l := layer(t, s, name)
		var fs []feature.Feature
		for id := int64(1); id <= 2; id++ {
			f := Sample(l, fmt.Sprintf("%s-%d", name, id), true)
			f.ID = id
			f.Geometry = orb.Point{114.1 + float64(id)/100, 22.55}
			if name == layers.Slopes {
				f.Props["monitored"] = true
			}
			fs = append(fs, f)
		}
		if err := s.BulkLoad(ctx, name, fs, opts, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.BulkLoadSensors(ctx, fixtureSensors); err != nil {
		t.Fatal(err)
	}
}

// testSensors: sensors are stored as given and read back by id; a sensor of an
// unknown kind, on a layer that has none or on a missing feature is refused, and
// nothing of its load is stored.
func testSensors(t *testing.T, s SensorStore) {
	ctx := ctxFor(t)
	if got, err := s.Sensors(ctx); err != nil || len(got) != 0 {
		t.Fatalf("sensors of an empty store: %v %v", got, err)
	}
	seedSensors(t, s)
	got, err := s.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, fixtureSensors) {
		t.Fatalf("sensors read back:\n%+v\nwant\n%+v", got, fixtureSensors)
	}
	next := feature.Sensor{ID: 5, ExternalID: "DSP-2", Kind: "displacement_mm", Layer: layers.Slopes, FeatureID: 2, RangeMin: -10, RangeMax: 10, Active: true}
	for name, bad := range map[string]feature.Sensor{
		"unknown kind":       {ID: 6, ExternalID: "X-1", Kind: "humidity", Layer: layers.Slopes, FeatureID: 2, RangeMin: 0, RangeMax: 1},
		"layer with none":    {ID: 6, ExternalID: "X-2", Kind: "displacement_mm", Layer: layers.RiskPoints, FeatureID: 1, RangeMin: 0, RangeMax: 1},
		"missing feature":    {ID: 6, ExternalID: "X-3", Kind: "displacement_mm", Layer: layers.Slopes, FeatureID: 99, RangeMin: 0, RangeMax: 1},
		"id already stored":  {ID: 1, ExternalID: "X-4", Kind: "displacement_mm", Layer: layers.Slopes, FeatureID: 2, RangeMin: 0, RangeMax: 1},
		"external_id stored": {ID: 6, ExternalID: "DSP-1", Kind: "displacement_mm", Layer: layers.Slopes, FeatureID: 2, RangeMin: 0, RangeMax: 1},
	} {
		if err := s.BulkLoadSensors(ctx, []feature.Sensor{next, bad}); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if got, err := s.Sensors(ctx); err != nil || !reflect.DeepEqual(got, fixtureSensors) {
		t.Fatalf("sensors after refused loads: %+v %v", got, err)
	}
}

// recent reads every reading after since.
func recent(t *testing.T, s SensorStore, since time.Time) []sensors.Reading {
	t.Helper()
	var out []sensors.Reading
	if err := s.RecentReadings(ctxFor(t), since, func(r sensors.Reading) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameReadings reports whether got and want hold the same readings in order (times
// compared as instants).
func sameReadings(got, want []sensors.Reading) bool {
	return slices.EqualFunc(got, want, func(a, b sensors.Reading) bool {
		return a.SensorID == b.SensorID && a.Time.Equal(b.Time) && a.Value == b.Value && a.Drill == b.Drill
	})
}

// testInsertReadings: readings are stored once per (sensor, drill, time) — the first
// value wins, a drill reading is apart from a real one at the same time — and
// InsertReadings says how many were new; one refused reading stores none of its
// call; RecentReadings reads them after a time, in time order, to the microsecond.
func testInsertReadings(t *testing.T, s SensorStore) {
	ctx := ctxFor(t)
	seedSensors(t, s)
	rd := func(sensor int64, at time.Duration, v float64, drill bool) sensors.Reading {
		return sensors.Reading{SensorID: sensor, Time: t0.Add(at), Value: v, Drill: drill}
	}
	if n, err := s.InsertReadings(ctx, nil); err != nil || n != 0 {
		t.Fatalf("no readings: %d %v", n, err)
	}
	first := []sensors.Reading{rd(1, 0, 5, false), rd(1, time.Minute, 6, false), rd(3, 0, 12, false)}
	if n, err := s.InsertReadings(ctx, first); err != nil || n != 3 {
		t.Fatalf("3 new readings: %d %v", n, err)
	}
	if n, err := s.InsertReadings(ctx, first); err != nil || n != 0 {
		t.Fatalf("the same again: %d %v, want 0", n, err)
	}
	if n, err := s.InsertReadings(ctx, []sensors.Reading{rd(1, 0, 99, false), rd(1, 0, 7, true), rd(1, 2*time.Minute, 8, false)}); err != nil || n != 2 {
		t.Fatalf("a changed value at a stored time, a drill reading at it, a new one: %d new, %v; want 2", n, err)
	}
	// A time finer than a microsecond is kept to the microsecond, rounded down.
	if n, err := s.InsertReadings(ctx, []sensors.Reading{rd(3, time.Minute+1999*time.Nanosecond, 13, false)}); err != nil || n != 1 {
		t.Fatalf("a reading with nanoseconds: %d %v", n, err)
	}
	before := recent(t, s, t0.Add(-time.Hour))
	// A reading of an unknown sensor fails the call; its other readings are not stored.
	if _, err := s.InsertReadings(ctx, []sensors.Reading{rd(1, 3*time.Minute, 9, false), rd(99, 3*time.Minute, 1, false)}); err == nil {
		t.Fatal("a reading of sensor 99 was stored")
	}
	want := []sensors.Reading{
		rd(1, 0, 5, false), rd(1, 0, 7, true), rd(3, 0, 12, false),
		rd(1, time.Minute, 6, false), rd(3, time.Minute+time.Microsecond, 13, false), rd(1, 2*time.Minute, 8, false),
	}
	if got := recent(t, s, t0.Add(-time.Hour)); !sameReadings(got, want) || !sameReadings(before, want) {
		t.Fatalf("readings:\n%+v\nwant\n%+v", got, want)
	}
	// After a time: strictly after.
	if got := recent(t, s, t0); !sameReadings(got, want[3:]) {
		t.Fatalf("readings after t0: %+v, want %+v", got, want[3:])
	}
	stop := errors.New("enough")
	if err := s.RecentReadings(ctx, t0.Add(-time.Hour), func(sensors.Reading) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("RecentReadings with fn failing: %v", err)
	}

	// A bulk load: the first of duplicates wins, stored ones are skipped, progress
	// ends at the count; a value that is not a number or a reading without a time
	// is refused, naming its row, and nothing of the load is stored.
	var done []int
	bulk := []sensors.Reading{rd(2, 5*time.Minute, 1, false), rd(2, 5*time.Minute, 2, false), rd(1, 0, 50, false), rd(2, 6*time.Minute, 3, true)}
	if err := s.BulkLoadReadings(ctx, bulk, func(n int) { done = append(done, n) }); err != nil {
		t.Fatal(err)
	}
	if len(done) == 0 || done[len(done)-1] != len(bulk) {
		t.Fatalf("progress %v", done)
	}
	want = append(want, rd(2, 5*time.Minute, 1, false), rd(2, 6*time.Minute, 3, true))
	if got := recent(t, s, t0.Add(-time.Hour)); !sameReadings(got, want) {
		t.Fatalf("readings after a bulk load:\n%+v\nwant\n%+v", got, want)
	}
	for _, bad := range [][]sensors.Reading{
		{rd(2, 7*time.Minute, 1, false), rd(2, 8*time.Minute, math.NaN(), false)},
		{rd(2, 7*time.Minute, 1, false), rd(2, 8*time.Minute, math.Inf(-1), false)},
		{rd(2, 7*time.Minute, 1, false), {SensorID: 2, Value: 1}},
	} {
		if err := s.BulkLoadReadings(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "row 1") {
			t.Errorf("bulk load of %+v: %v, want an error naming row 1", bad[1], err)
		}
	}
	if err := s.BulkLoadReadings(ctx, []sensors.Reading{rd(2, 7*time.Minute, 1, false), rd(99, 7*time.Minute, 1, false)}, nil); err == nil {
		t.Error("bulk load of a reading of sensor 99: stored")
	}
	if got := recent(t, s, t0.Add(-time.Hour)); !sameReadings(got, want) {
		t.Fatalf("readings after refused bulk loads:\n%+v\nwant\n%+v", got, want)
	}
}

// testReadingSeries: a sensor's real (or drill) readings in [from, to): every one
// when they fit in maxPoints, else downsampled into equal buckets from `from` (mean,
// min, max, count of each non-empty bucket).
func testReadingSeries(t *testing.T, s SensorStore) {
	ctx := ctxFor(t)
	seedSensors(t, s)
	var rs []sensors.Reading
	for i := range 10 {
		rs = append(rs, sensors.Reading{SensorID: 1, Time: t0.Add(time.Duration(i) * time.Minute), Value: float64(i)})
	}
	rs = append(rs,
		sensors.Reading{SensorID: 1, Time: t0.Add(-time.Second), Value: -1},                  // before from
		sensors.Reading{SensorID: 1, Time: t0.Add(10 * time.Minute), Value: 100},             // at to: outside
		sensors.Reading{SensorID: 1, Time: t0.Add(90 * time.Second), Value: 50, Drill: true}, // a drill's
		sensors.Reading{SensorID: 2, Time: t0.Add(30 * time.Second), Value: 70},              // another sensor's
	)
	if _, err := s.InsertReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	from, to := t0, t0.Add(10*time.Minute)
	all, err := s.ReadingSeries(ctx, 1, false, from, to, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 10 {
		t.Fatalf("%d points, want the 10 readings: %+v", len(all), all)
	}
	for i, p := range all {
		if !p.Time.Equal(t0.Add(time.Duration(i)*time.Minute)) || p.Time.Location() != time.UTC ||
			p.Value != float64(i) || p.Min != p.Value || p.Max != p.Value || p.Count != 1 {
			t.Fatalf("point %d: %+v", i, p)
		}
	}
	buckets, err := s.ReadingSeries(ctx, 1, false, from, to, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(buckets) != 5 {
		t.Fatalf("%d buckets, want 5: %+v", len(buckets), buckets)
	}
	for k, p := range buckets {
		lo := float64(2 * k)
		if !p.Time.Equal(t0.Add(time.Duration(2*k)*time.Minute)) || p.Time.Location() != time.UTC ||
			p.Value != lo+0.5 || p.Min != lo || p.Max != lo+1 || p.Count != 2 {
			t.Fatalf("bucket %d: %+v, want time t0+%dm mean %v min %v max %v count 2", k, p, 2*k, lo+0.5, lo, lo+1)
		}
	}
	drill, err := s.ReadingSeries(ctx, 1, true, from, to, 10)
	if err != nil || len(drill) != 1 || drill[0].Value != 50 || !drill[0].Time.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("the drill series: %+v %v", drill, err)
	}
	if none, err := s.ReadingSeries(ctx, 3, false, from, to, 10); err != nil || len(none) != 0 {
		t.Fatalf("a sensor without readings: %+v %v", none, err)
	}
	// Buckets without readings are left out.
	sparse, err := s.ReadingSeries(ctx, 1, false, from.Add(-time.Hour), to, 6)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range sparse {
		total += p.Count
	}
	if total != 11 || len(sparse) > 6 {
		t.Fatalf("an hour before and the 10 minutes, in 6 buckets: %+v (%d readings)", sparse, total)
	}
}

// alertOf builds an alert of the fixture.
func alertOf(layer string, featureID, sensorID int64, from, to sensors.Level, at time.Duration, drill bool) sensors.Alert {
	a := sensors.Alert{Layer: layer, FeatureID: featureID, SensorID: sensorID, Kind: "water_depth_cm", Unit: "cm",
		From: from, To: to, ObjectLevel: to, Value: 12.5, Time: t0.Add(at), Drill: drill, Reason: sensors.ReasonThreshold}
	switch {
	case to == sensors.NoData:
		a.Reason, a.Value = sensors.ReasonNoData, 0
	case to == sensors.None:
		a.Reason = sensors.ReasonRecovered
	default:
		a.Threshold = 10 * float64(to)
	}
	return a
}

// testApplySensorState: the evaluated state is written to the features like an
// update (versions, the change log) — only where it changes something — and the
// alerts are stored, in one transaction: a refused patch stores nothing.
func testApplySensorState(t *testing.T, s SensorStore) {
	ctx := ctxFor(t)
	seedSensors(t, s)
	snap, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slopeBefore := get(t, s, layers.Slopes, 1)
	spotBefore := get(t, s, layers.WaterloggingSpots, 1)
	slope := store.FieldPatch{Layer: layers.Slopes, FeatureID: 1,
		Fields: []string{"warning_level", "displacement_mm", "trend", "sensor_status"}, Values: []any{"blue", 12.5, "rising", "live"}}
	spot := store.FieldPatch{Layer: layers.WaterloggingSpots, FeatureID: 1,
		Fields: []string{"drill_depth_cm", "drill_warning_level"}, Values: []any{33.0, "orange"}}
	alerts := []sensors.Alert{
		alertOf(layers.Slopes, 1, 1, sensors.None, sensors.Blue, time.Minute+123456*time.Microsecond, false),
		alertOf(layers.WaterloggingSpots, 1, 3, sensors.None, sensors.Orange, 2*time.Minute, true),
		alertOf(layers.WaterloggingSpots, 2, 0, sensors.None, sensors.NoData, 3*time.Minute, false),
	}
	start := time.Now()
	stored, err := s.ApplySensorState(ctx, []store.FieldPatch{slope, spot}, alerts)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(alerts) {
		t.Fatalf("%d alerts stored, want %d", len(stored), len(alerts))
	}
	for i, a := range stored {
		if a.ID == 0 || i > 0 && a.ID <= stored[i-1].ID || !reflect.DeepEqual(a.Alert, alerts[i]) || !a.Open() ||
			a.RaisedAt.Location() != time.UTC || a.RaisedAt.Before(start.Add(-time.Minute)) || a.RaisedAt.After(time.Now().Add(time.Minute)) {
			t.Fatalf("stored alert %d: %+v", i, a)
		}
	}
	after := get(t, s, layers.Slopes, 1)
	if after.Version != 2 || after.Props["warning_level"] != "blue" || after.Props["displacement_mm"] != 12.5 ||
		after.Props["trend"] != "rising" || after.Props["sensor_status"] != "live" || after.Props["name"] != slopeBefore.Props["name"] ||
		after.UpdatedAt.Before(slopeBefore.UpdatedAt) {
		t.Fatalf("slope after the patch: %+v (before %+v)", after, slopeBefore)
	}
	if sp := get(t, s, layers.WaterloggingSpots, 1); sp.Version != 2 || sp.Props["drill_depth_cm"] != 33.0 ||
		sp.Props["drill_warning_level"] != "orange" || sp.Props["warning_level"] != spotBefore.Props["warning_level"] {
		t.Fatalf("spot after the patch: %+v", sp)
	}
	b, err := s.ChangesSince(ctx, snap, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"update slopes/1 v2", "update waterlogging_spots/1 v2"}; !slices.Equal(opsOf(b.Changes), want) {
		t.Fatalf("changes %v, want %v", opsOf(b.Changes), want)
	}
	if f := b.Features[store.FeatureKey{Layer: layers.Slopes, ID: 1}]; f.Props["warning_level"] != "blue" {
		t.Fatalf("the slope in the feed: %+v", f)
	}

	// The same state again changes nothing: no version, no log row. A patch of a
	// feature that is gone is no error.
	gone := store.FieldPatch{Layer: layers.Slopes, FeatureID: 99, Fields: []string{"warning_level"}, Values: []any{"red"}}
	if out, err := s.ApplySensorState(ctx, []store.FieldPatch{slope, spot, gone}, nil); err != nil || len(out) != 0 {
		t.Fatalf("the same state again: %v %v", out, err)
	}
	if again, err := s.ChangesSince(ctx, b.Next, 100); err != nil || len(again.Changes) != 0 {
		t.Fatalf("an unchanged state logged %v (%v)", opsOf(again.Changes), err)
	}
	if v := get(t, s, layers.Slopes, 1).Version; v != 2 {
		t.Fatalf("version %d after an unchanged state", v)
	}
	// Null is a value too: clearing a field is a change.
	clear := store.FieldPatch{Layer: layers.Slopes, FeatureID: 1, Fields: []string{"trend"}, Values: []any{nil}}
	if _, err := s.ApplySensorState(ctx, []store.FieldPatch{clear}, nil); err != nil {
		t.Fatal(err)
	}
	if f := get(t, s, layers.Slopes, 1); f.Version != 3 || f.Props["trend"] != nil {
		t.Fatalf("after clearing trend: version %d trend %#v", f.Version, f.Props["trend"])
	}

	// A patch the store refuses — a field not in the registry, a value the schema
	// does not allow, a layer that is not — stores nothing, alerts included.
	total := totals(t, s)
	lastAlert, _, err := s.LatestEventIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	more := []sensors.Alert{alertOf(layers.Slopes, 1, 1, sensors.Blue, sensors.Red, 4*time.Minute, false)}
	for name, p := range map[string]store.FieldPatch{
		"unknown field":  {Layer: layers.Slopes, FeatureID: 1, Fields: []string{"colour"}, Values: []any{"red"}},
		"value refused":  {Layer: layers.Slopes, FeatureID: 1, Fields: []string{"warning_level"}, Values: []any{"purple"}},
		"unknown layer":  {Layer: "bridges", FeatureID: 1, Fields: []string{"warning_level"}, Values: []any{"red"}},
		"values missing": {Layer: layers.Slopes, FeatureID: 1, Fields: []string{"warning_level", "trend"}, Values: []any{"red"}},
	} {
		if _, err := s.ApplySensorState(ctx, []store.FieldPatch{spot, p}, more); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
	if after := totals(t, s); after != total {
		t.Fatalf("refused states changed the store: %s, was %s", after, total)
	}
	if latest, _, err := s.LatestEventIDs(ctx); err != nil || latest != lastAlert {
		t.Fatalf("refused states stored alerts: latest %d, was %d (%v)", latest, lastAlert, err)
	}
}

// ids lists the alerts' ids.
func ids(as []store.StoredAlert) []int64 {
	out := make([]int64, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// testAlerts: alerts as stored, selected and ordered (newest first; open ones worst
// first), acknowledged once (a second acknowledgement is ErrAcked, a missing alert
// ErrNotFound), read after an id.
func testAlerts(t *testing.T, s SensorStore) {
	ctx := ctxFor(t)
	seedSensors(t, s)
	if a, g, err := s.LatestEventIDs(ctx); err != nil || a != 0 || g != 0 {
		t.Fatalf("latest ids of an empty store: %d %d %v", a, g, err)
	}
	in := []sensors.Alert{
		alertOf(layers.Slopes, 1, 1, sensors.None, sensors.Blue, time.Minute, false),
		alertOf(layers.WaterloggingSpots, 1, 3, sensors.Orange, sensors.Red, 2*time.Minute, false),
		alertOf(layers.WaterloggingSpots, 1, 3, sensors.None, sensors.Yellow, 3*time.Minute, true),
		alertOf(layers.WaterloggingSpots, 2, 4, sensors.None, sensors.NoData, 4*time.Minute, false),
		alertOf(layers.Slopes, 2, 0, sensors.Blue, sensors.None, 5*time.Minute, false),
	}
	stored, err := s.ApplySensorState(ctx, nil, in)
	if err != nil {
		t.Fatal(err)
	}
	id := ids(stored)
	query := func(q store.AlertQuery) []int64 {
		t.Helper()
		as, err := s.Alerts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return ids(as)
	}
	all, err := s.Alerts(ctx, store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{id[4], id[3], id[2], id[1], id[0]}; !slices.Equal(ids(all), want) {
		t.Fatalf("every alert: %v, want %v", ids(all), want)
	}
	for _, a := range all {
		i := slices.Index(id, a.ID)
		if !reflect.DeepEqual(a.Alert, in[i]) || !a.RaisedAt.Equal(stored[i].RaisedAt) || !a.Open() || a.AckedBy != "" || a.AckNote != "" {
			t.Fatalf("alert %d read back:\n%+v\nwant\n%+v", a.ID, a, stored[i])
		}
	}
	yes, no := true, false
	for _, c := range []struct {
		q    store.AlertQuery
		want []int64
	}{
		{store.AlertQuery{Open: true}, []int64{id[1], id[2], id[3], id[0], id[4]}}, // red, yellow, no data, blue, none
		{store.AlertQuery{Drill: &yes}, []int64{id[2]}},
		{store.AlertQuery{Drill: &no}, []int64{id[4], id[3], id[1], id[0]}},
		{store.AlertQuery{Layer: layers.Slopes}, []int64{id[4], id[0]}},
		{store.AlertQuery{Layer: layers.WaterloggingSpots, FeatureID: 1}, []int64{id[2], id[1]}},
		{store.AlertQuery{Limit: 2}, []int64{id[4], id[3]}},
		{store.AlertQuery{Open: true, Limit: 2}, []int64{id[1], id[2]}},
	} {
		if got := query(c.q); !slices.Equal(got, c.want) {
			t.Errorf("alerts %+v: %v, want %v", c.q, got, c.want)
		}
	}

	start := time.Now()
	acked, err := s.AckAlert(ctx, id[1], "值班员", "已派人")
	if err != nil {
		t.Fatal(err)
	}
	if acked.ID != id[1] || acked.Open() || acked.AckedBy != "值班员" || acked.AckNote != "已派人" || acked.AckedAt.Location() != time.UTC ||
		acked.AckedAt.Before(start.Add(-time.Minute)) || !reflect.DeepEqual(acked.Alert, in[1]) {
		t.Fatalf("acknowledged: %+v", acked)
	}
	again, err := s.AckAlert(ctx, id[1], "someone", "")
	if !errors.Is(err, store.ErrAcked) || !strings.Contains(err.Error(), "值班员") {
		t.Fatalf("second acknowledgement: %v, want ErrAcked naming who acknowledged", err)
	}
	if again.AckedBy != "值班员" || !again.AckedAt.Equal(acked.AckedAt) {
		t.Fatalf("the alert as the second acknowledgement found it: %+v", again)
	}
	if got, err := s.Alert(ctx, id[1]); err != nil || got.AckedBy != "值班员" || got.AckNote != "已派人" || !got.AckedAt.Equal(acked.AckedAt) {
		t.Fatalf("Alert after acknowledgement: %+v %v", got, err)
	}
	if _, err := s.AckAlert(ctx, 999, "someone", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acknowledging a missing alert: %v, want ErrNotFound", err)
	}
	if _, err := s.Alert(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a missing alert: %v, want ErrNotFound", err)
	}
	if noNote, err := s.AckAlert(ctx, id[0], "duty", ""); err != nil || noNote.AckNote != "" || noNote.AckedBy != "duty" {
		t.Fatalf("acknowledged without a note: %+v %v", noNote, err)
	}
	if got := query(store.AlertQuery{Open: true}); !slices.Equal(got, []int64{id[2], id[3], id[4]}) {
		t.Fatalf("open alerts after two acknowledgements: %v", got)
	}
	after, err := s.AlertsAfter(ctx, id[1], 10)
	if err != nil || !slices.Equal(ids(after), id[2:]) {
		t.Fatalf("alerts after %d: %v %v", id[1], ids(after), err)
	}
	if one, err := s.AlertsAfter(ctx, id[1], 1); err != nil || !slices.Equal(ids(one), id[2:3]) {
		t.Fatalf("one alert after %d: %v %v", id[1], ids(one), err)
	}
	if a, g, err := s.LatestEventIDs(ctx); err != nil || a != id[4] || g != 0 {
		t.Fatalf("latest ids: %d %d %v, want %d 0", a, g, err, id[4])
	}
}

// testSignals: signal settings are kept, newest first; the current ones are the
// latest of each kind; codes outside the scales are refused.
func testSignals(t *testing.T, s SensorStore) {
	ctx := ctxFor(t)
	if got, err := s.Signals(ctx, false, "", 0); err != nil || len(got) != 0 {
		t.Fatalf("signals of an empty store: %v %v", got, err)
	}
	start := time.Now()
	var set []store.Signal
	for _, c := range [][4]string{
		{"typhoon", "blue", "气象台", "台风蓝色预警"},
		{"rainstorm", "yellow", "气象台", ""},
		{"typhoon", "none", "observatory", "lifted"},
	} {
		g, err := s.SetSignal(ctx, c[0], c[1], c[2], c[3])
		if err != nil {
			t.Fatal(err)
		}
		if g.ID == 0 || g.Kind != c[0] || g.Level != c[1] || g.SetBy != c[2] || g.Note != c[3] ||
			g.SetAt.Location() != time.UTC || g.SetAt.Before(start.Add(-time.Minute)) {
			t.Fatalf("set %v: %+v", c, g)
		}
		set = append(set, g)
	}
	sigIDs := func(gs []store.Signal) []int64 {
		out := make([]int64, len(gs))
		for i, g := range gs {
			out[i] = g.ID
		}
		return out
	}
	all, err := s.Signals(ctx, false, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("signals: %+v", all)
	}
	for i, g := range all {
		w := set[2-i]
		if g.ID != w.ID || g.Kind != w.Kind || g.Level != w.Level || g.SetBy != w.SetBy || g.Note != w.Note || !g.SetAt.Equal(w.SetAt) {
			t.Fatalf("signal %d read back %+v, set %+v", i, g, w)
		}
	}
	for _, c := range []struct {
		current bool
		kind    string
		limit   int
		want    []int64
	}{
		{true, "", 0, []int64{set[2].ID, set[1].ID}},
		{false, "typhoon", 0, []int64{set[2].ID, set[0].ID}},
		{true, "rainstorm", 0, []int64{set[1].ID}},
		{false, "", 1, []int64{set[2].ID}},
		{true, "", 1, []int64{set[2].ID}},
	} {
		got, err := s.Signals(ctx, c.current, c.kind, c.limit)
		if err != nil || !slices.Equal(sigIDs(got), c.want) {
			t.Errorf("signals current=%v kind=%q limit %d: %v %v, want %v", c.current, c.kind, c.limit, sigIDs(got), err, c.want)
		}
	}
	if got, err := s.SignalsAfter(ctx, set[0].ID); err != nil || !slices.Equal(sigIDs(got), []int64{set[1].ID, set[2].ID}) {
		t.Fatalf("signals after %d: %v %v", set[0].ID, sigIDs(got), err)
	}
	if _, err := s.SetSignal(ctx, "hail", "red", "x", ""); err == nil {
		t.Error("a signal of kind hail was set")
	}
	if _, err := s.SetSignal(ctx, "rainstorm", "purple", "x", ""); err == nil {
		t.Error("a signal of level purple was set")
	}
	if _, g, err := s.LatestEventIDs(ctx); err != nil || g != set[2].ID {
		t.Fatalf("latest signal id %d (%v), want %d", g, err, set[2].ID)
	}
}

// testListenEvents: ListenEvents reports each new alert, acknowledgement and signal
// setting, in commit order, from when it listens; a refused acknowledgement
// reports nothing; it returns nil when its context ends.
func testListenEvents(t *testing.T, s SensorStore) {
	seedSensors(t, s)
	ctx, cancel := context.WithTimeout(ctxFor(t), time.Minute)
	defer cancel()
	before, err := s.ApplySensorState(ctx, nil, []sensors.Alert{alertOf(layers.Slopes, 1, 1, sensors.None, sensors.Blue, 0, false)})
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		typ string
		id  int64
	}
	events := make(chan event, 100)
	listening := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.ListenEvents(ctx, func() { close(listening) }, func(typ string, id int64) { events <- event{typ, id} })
	}()
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("ListenEvents returned before listening: %v", err)
	case <-ctx.Done():
		t.Fatal("ListenEvents never called listening")
	}
	stored, err := s.ApplySensorState(ctx, nil, []sensors.Alert{
		alertOf(layers.WaterloggingSpots, 1, 3, sensors.None, sensors.Red, time.Minute, false),
		alertOf(layers.WaterloggingSpots, 1, 3, sensors.None, sensors.Yellow, time.Minute, true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AckAlert(ctx, stored[0].ID, "duty", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AckAlert(ctx, stored[0].ID, "duty", ""); !errors.Is(err, store.ErrAcked) {
		t.Fatalf("second acknowledgement: %v", err)
	}
	sig, err := s.SetSignal(ctx, "rainstorm", "red", "observatory", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AckAlert(ctx, before[0].ID, "duty", ""); err != nil {
		t.Fatal(err)
	}
	want := []event{{"alert", stored[0].ID}, {"alert", stored[1].ID}, {"alert_ack", stored[0].ID}, {"signal", sig.ID}, {"alert_ack", before[0].ID}}
	var got []event
	for len(got) < len(want) {
		select {
		case e := <-events:
			got = append(got, e)
		case <-time.After(10 * time.Second):
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	select {
	case e := <-events:
		t.Fatalf("an extra event %v", e)
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenEvents after its context ended: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenEvents did not return after its context ended")
	}
}

// testDeleteAllSensors: deleting the features deletes their sensors and readings
// (a feature's sensors go with it); alerts stay, as history.
func testDeleteAllSensors(t *testing.T, s SensorStore) {
	ctx := ctxFor(t)
	seedSensors(t, s)
	if _, err := s.InsertReadings(ctx, []sensors.Reading{{SensorID: 1, Time: t0, Value: 1}, {SensorID: 3, Time: t0, Value: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplySensorState(ctx, nil, []sensors.Alert{alertOf(layers.Slopes, 1, 1, sensors.None, sensors.Blue, 0, false)}); err != nil {
		t.Fatal(err)
	}
	// One spot: its sensor and readings go with it.
	if err := s.Delete(ctx, layers.WaterloggingSpots, 1, opts); err != nil {
		t.Fatal(err)
	}
	ss, err := s.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []int64
	for _, sn := range ss {
		left = append(left, sn.ID)
	}
	if !slices.Equal(left, []int64{1, 2, 4}) {
		t.Fatalf("sensors after deleting spot 1: %v, want [1 2 4]", left)
	}
	if rs := recent(t, s, t0.Add(-time.Hour)); len(rs) != 1 || rs[0].SensorID != 1 {
		t.Fatalf("readings after deleting spot 1: %+v", rs)
	}
	if err := s.DeleteAll(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if ss, err := s.Sensors(ctx); err != nil || len(ss) != 0 {
		t.Fatalf("sensors after DeleteAll: %+v %v", ss, err)
	}
	if rs := recent(t, s, t0.Add(-time.Hour)); len(rs) != 0 {
		t.Fatalf("readings after DeleteAll: %+v", rs)
	}
	if as, err := s.Alerts(ctx, store.AlertQuery{}); err != nil || len(as) != 1 {
		t.Fatalf("alerts after DeleteAll: %+v %v", as, err)
	}
}
