package gpkg_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/feed"
	"riskmap/httpapi"
	"riskmap/index"
	"riskmap/ingest"
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
	"riskmap/store/gpkg"
)

// What the consumers need from a store, the GeoPackage store has.
var (
	_ ingest.Store        = (*gpkg.Store)(nil)
	_ ingest.RelayStore   = (*gpkg.Store)(nil)
	_ httpapi.SensorStore = (*gpkg.Store)(nil)
	_ demo.Sink           = (*gpkg.Store)(nil)
	_ feed.Source         = (*gpkg.Store)(nil)
	_ index.Source        = (*gpkg.Store)(nil)
)

// t0 is a fixed time for readings and alerts, UTC.
var t0 = time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)

// fixture is a store with two slopes (ids 1, 2), two waterlogging spots (ids 1, 2)
// and four sensors: 1 displacement on slope 1 (thresholds 10/20/30/40 mm), 2 tilt on
// slope 2 (record only), 3 water depth on spot 1 (10/20/30/40 cm), 4 rainfall on spot
// 2 (inactive).
func fixture(t testing.TB) (*gpkg.Store, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "riskmap.gpkg")
	s, err := gpkg.Open(ctx, path, layers.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	loadFixture(t, s)
	return s, path
}

// loadFixture writes fixture's features and sensors.
func loadFixture(t testing.TB, s *gpkg.Store) {
	t.Helper()
	ctx := context.Background()
	slopes := []feature.Feature{
		{ID: 1, Geometry: orb.Point{114.1, 22.55}, Props: map[string]any{"external_id": "SL-1", "name": "Slope 1", "kind": "natural_slope", "risk_grade": "major", "monitored": true}},
		{ID: 2, Geometry: orb.Point{114.11, 22.56}, Props: map[string]any{"external_id": "SL-2", "name": "Slope 2", "kind": "building_slope", "risk_grade": "low", "monitored": true}},
	}
	spots := []feature.Feature{
		{ID: 1, Geometry: orb.Point{114.12, 22.55}, Props: map[string]any{"external_id": "WS-1", "name": "Spot 1", "kind": "underpass", "warning_depth_cm": 15.0}},
		{ID: 2, Geometry: orb.Point{114.13, 22.57}, Props: map[string]any{"external_id": "WS-2", "name": "Spot 2", "kind": "low_road"}},
	}
	if err := s.BulkLoad(ctx, layers.Slopes, slopes, store.WriteOptions{Actor: "test"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.BulkLoad(ctx, layers.WaterloggingSpots, spots, store.WriteOptions{Actor: "test"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.BulkLoadSensors(ctx, fixtureSensors()); err != nil {
		t.Fatal(err)
	}
}

func fixtureSensors() []feature.Sensor {
	return []feature.Sensor{
		{ID: 1, ExternalID: "S-DISP-1", Kind: "displacement_mm", Layer: layers.Slopes, FeatureID: 1,
			Thresholds: &feature.Thresholds{Blue: 10, Yellow: 20, Orange: 30, Red: 40}, RangeMin: -2000, RangeMax: 2000, Active: true},
		{ID: 2, ExternalID: "S-TILT-2", Kind: "tilt_deg", Layer: layers.Slopes, FeatureID: 2, RangeMin: -90, RangeMax: 90, Active: true},
		{ID: 3, ExternalID: "S-DEPTH-3", Kind: "water_depth_cm", Layer: layers.WaterloggingSpots, FeatureID: 1,
			Thresholds: &feature.Thresholds{Blue: 10, Yellow: 20, Orange: 30, Red: 40}, RangeMin: 0, RangeMax: 1000, Active: true},
		{ID: 4, ExternalID: "S-RAIN-4", Kind: "rainfall_mm_h", Layer: layers.WaterloggingSpots, FeatureID: 2, RangeMin: 0, RangeMax: 500, Active: false},
	}
}

func TestSensorsAndBulkLoadSensors(t *testing.T) {
	s, _ := fixture(t)
	ctx := context.Background()
	got, err := s.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := fixtureSensors(); !reflect.DeepEqual(got, want) {
		t.Fatalf("sensors:\n got %+v\nwant %+v", got, want)
	}

	bad := []struct {
		name string
		sn   feature.Sensor
		want string // in the error
	}{
		{"unknown kind", feature.Sensor{ID: 9, ExternalID: "X", Kind: "wind", Layer: layers.Slopes, FeatureID: 1, RangeMin: 0, RangeMax: 1},
			`gpkg: sensor row 1 (X): unknown kind "wind"`},
		{"wrong layer", feature.Sensor{ID: 9, ExternalID: "X", Kind: "tilt_deg", Layer: layers.RiskPoints, FeatureID: 1, RangeMin: 0, RangeMax: 1},
			`gpkg: sensor row 1 (X): sensors attach to slopes or waterlogging_spots, not "risk_points"`},
		{"missing feature", feature.Sensor{ID: 9, ExternalID: "X", Kind: "tilt_deg", Layer: layers.Slopes, FeatureID: 99, RangeMin: 0, RangeMax: 1},
			"FOREIGN KEY"},
		{"taken external id", feature.Sensor{ID: 9, ExternalID: "S-TILT-2", Kind: "tilt_deg", Layer: layers.Slopes, FeatureID: 1, RangeMin: 0, RangeMax: 1},
			"UNIQUE"},
		{"taken id", feature.Sensor{ID: 2, ExternalID: "X", Kind: "tilt_deg", Layer: layers.Slopes, FeatureID: 1, RangeMin: 0, RangeMax: 1},
			"UNIQUE"},
		{"kind not for the layer", feature.Sensor{ID: 9, ExternalID: "X", Kind: "water_depth_cm", Layer: layers.Slopes, FeatureID: 1, RangeMin: 0, RangeMax: 1},
			"sensors_kind_target"},
		{"thresholds out of order", feature.Sensor{ID: 9, ExternalID: "X", Kind: "tilt_deg", Layer: layers.Slopes, FeatureID: 1, RangeMin: 0, RangeMax: 1,
			Thresholds: &feature.Thresholds{Blue: 4, Yellow: 3, Orange: 5, Red: 6}}, "sensors_thresholds_order"},
		{"empty range", feature.Sensor{ID: 9, ExternalID: "X", Kind: "tilt_deg", Layer: layers.Slopes, FeatureID: 1, RangeMin: 1, RangeMax: 1},
			"sensors_range_order"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			// A good row first: all or nothing.
			good := feature.Sensor{ID: 8, ExternalID: "GOOD", Kind: "tilt_deg", Layer: layers.Slopes, FeatureID: 1, RangeMin: -1, RangeMax: 1, Active: true}
			err := s.BulkLoadSensors(ctx, []feature.Sensor{good, c.sn})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one saying %q", err, c.want)
			}
			if got, _ := s.Sensors(ctx); len(got) != 4 {
				t.Fatalf("%d sensors after a failed load, want 4", len(got))
			}
		})
	}

	// Ids are kept as given.
	if err := s.BulkLoadSensors(ctx, []feature.Sensor{{ID: 40, ExternalID: "S-40", Kind: "tilt_deg", Layer: layers.Slopes, FeatureID: 1, RangeMin: -1, RangeMax: 1}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Sensors(ctx)
	if last := got[len(got)-1]; len(got) != 5 || last.ID != 40 || last.ExternalID != "S-40" || last.Active || last.Thresholds != nil {
		t.Fatalf("sensors after loading id 40: %+v", got)
	}
	if err := s.BulkLoadSensors(ctx, nil); err != nil {
		t.Fatalf("no sensors: %v", err)
	}
}

// readAll returns every stored reading, real and drill, in RecentReadings' order.
func readAll(t *testing.T, s *gpkg.Store) []sensors.Reading {
	t.Helper()
	var out []sensors.Reading
	if err := s.RecentReadings(context.Background(), time.Time{}, func(r sensors.Reading) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func rd(sensor int64, at time.Duration, v float64, drill bool) sensors.Reading {
	return sensors.Reading{SensorID: sensor, Time: t0.Add(at), Value: v, Drill: drill}
}

func TestInsertReadings(t *testing.T) {
	s, _ := fixture(t)
	ctx := context.Background()
	steps := []struct {
		name    string
		batch   []sensors.Reading
		new     int
		err     string // in the error; "" none
		holding []sensors.Reading
	}{
		{name: "empty", new: 0},
		{
			name:    "new readings",
			batch:   []sensors.Reading{rd(1, 0, 1.5, false), rd(1, time.Minute, 2.5, false), rd(3, 0, 12, false)},
			new:     3,
			holding: []sensors.Reading{rd(1, 0, 1.5, false), rd(3, 0, 12, false), rd(1, time.Minute, 2.5, false)},
		},
		{
			name:    "the same again: nothing new",
			batch:   []sensors.Reading{rd(1, 0, 1.5, false), rd(1, time.Minute, 2.5, false), rd(3, 0, 12, false)},
			new:     0,
			holding: []sensors.Reading{rd(1, 0, 1.5, false), rd(3, 0, 12, false), rd(1, time.Minute, 2.5, false)},
		},
		{
			name:    "the same keys with other values: the first wins",
			batch:   []sensors.Reading{rd(1, 0, 99, false), rd(3, 0, 99, false)},
			new:     0,
			holding: []sensors.Reading{rd(1, 0, 1.5, false), rd(3, 0, 12, false), rd(1, time.Minute, 2.5, false)},
		},
		{
			name:  "drill readings are kept apart from real ones",
			batch: []sensors.Reading{rd(1, 0, 30, true), rd(1, time.Minute, 35, true)},
			new:   2,
			holding: []sensors.Reading{rd(1, 0, 1.5, false), rd(1, 0, 30, true), rd(3, 0, 12, false),
				rd(1, time.Minute, 2.5, false), rd(1, time.Minute, 35, true)},
		},
		{
			name:  "a key twice in one batch: stored once, the first wins",
			batch: []sensors.Reading{rd(2, 0, 0.5, false), rd(2, 0, 0.7, false), rd(2, 500*time.Nanosecond, 0.9, false)},
			new:   1,
			holding: []sensors.Reading{rd(1, 0, 1.5, false), rd(1, 0, 30, true), rd(2, 0, 0.5, false), rd(3, 0, 12, false),
				rd(1, time.Minute, 2.5, false), rd(1, time.Minute, 35, true)},
		},
		{
			name:  "an unknown sensor fails the batch",
			batch: []sensors.Reading{rd(1, 2*time.Minute, 3, false), rd(77, 0, 1, false)},
			err:   "gpkg: insert 2 readings: ",
			holding: []sensors.Reading{rd(1, 0, 1.5, false), rd(1, 0, 30, true), rd(2, 0, 0.5, false), rd(3, 0, 12, false),
				rd(1, time.Minute, 2.5, false), rd(1, time.Minute, 35, true)},
		},
		{
			name:  "NaN fails the batch",
			batch: []sensors.Reading{rd(1, 2*time.Minute, 3, false), rd(1, 3*time.Minute, math.NaN(), false)},
			err:   "row 1 (sensor 1 at ",
			holding: []sensors.Reading{rd(1, 0, 1.5, false), rd(1, 0, 30, true), rd(2, 0, 0.5, false), rd(3, 0, 12, false),
				rd(1, time.Minute, 2.5, false), rd(1, time.Minute, 35, true)},
		},
	}
	for _, st := range steps {
		n, err := s.InsertReadings(ctx, st.batch)
		if st.err != "" {
			if err == nil || !strings.Contains(err.Error(), st.err) {
				t.Fatalf("%s: err %v, want one with %q", st.name, err, st.err)
			}
		} else if err != nil || n != st.new {
			t.Fatalf("%s: %d new, %v; want %d", st.name, n, err, st.new)
		}
		if st.holding == nil {
			continue
		}
		if got := readAll(t, s); !reflect.DeepEqual(got, st.holding) {
			t.Fatalf("%s: stored\n %v\nwant\n %v", st.name, got, st.holding)
		}
	}
}

func TestRecentReadings(t *testing.T) {
	s, _ := fixture(t)
	ctx := context.Background()
	in := []sensors.Reading{
		rd(3, 2*time.Second, 5, false), rd(1, 2*time.Second, 5, true), rd(1, 2*time.Second, 4, false),
		rd(1, time.Second, 3, false), rd(2, 0, 1, false), rd(3, 3*time.Second+time.Microsecond, 1, true),
	}
	if _, err := s.InsertReadings(ctx, in); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		since time.Time
		want  []sensors.Reading
	}{
		{t0.Add(-time.Hour), []sensors.Reading{in[4], in[3], in[2], in[1], in[0], in[5]}},
		{t0, []sensors.Reading{in[3], in[2], in[1], in[0], in[5]}}, // after since, not at it
		{t0.Add(2 * time.Second), []sensors.Reading{in[5]}},
		{t0.Add(3*time.Second + time.Microsecond), nil},
	}
	for _, c := range cases {
		var got []sensors.Reading
		err := s.RecentReadings(ctx, c.since, func(r sensors.Reading) error { got = append(got, r); return nil })
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("since %v: %v %v, want %v", c.since, got, err, c.want)
		}
		for _, r := range got {
			if r.Time.Location() != time.UTC {
				t.Errorf("time %v not in UTC", r.Time)
			}
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.RecentReadings(ctx, time.Time{}, func(sensors.Reading) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("fn's error: %v after %d calls", err, calls)
	}
}

// bruteSeries is ReadingSeries computed the obvious way, following the PostgreSQL
// query of store/postgis.
func bruteSeries(rs []sensors.Reading, sensor int64, drill bool, from, to time.Time, maxPoints int) []store.SeriesPoint {
	var in []sensors.Reading
	for _, r := range rs {
		tm := r.Time.Truncate(time.Microsecond)
		if r.SensorID == sensor && r.Drill == drill && !tm.Before(from.Truncate(time.Microsecond)) && tm.Before(to.Truncate(time.Microsecond)) {
			in = append(in, sensors.Reading{SensorID: r.SensorID, Time: tm, Value: r.Value})
		}
	}
	slices.SortFunc(in, func(a, b sensors.Reading) int { return a.Time.Compare(b.Time) })
	out := []store.SeriesPoint{}
	if len(in) <= maxPoints {
		for _, r := range in {
			out = append(out, store.SeriesPoint{Time: r.Time, Value: r.Value, Min: r.Value, Max: r.Value, Count: 1})
		}
		return out
	}
	width := max((to.Sub(from) / time.Duration(maxPoints)).Round(time.Second), time.Second)
	origin := from.Truncate(time.Microsecond)
	buckets := map[time.Time][]float64{}
	var keys []time.Time
	for _, r := range in {
		k := origin.Add(r.Time.Sub(origin) / width * width)
		if _, ok := buckets[k]; !ok {
			keys = append(keys, k)
		}
		buckets[k] = append(buckets[k], r.Value)
	}
	slices.SortFunc(keys, time.Time.Compare)
	for _, k := range keys {
		vs := buckets[k]
		p := store.SeriesPoint{Time: k, Min: vs[0], Max: vs[0], Count: len(vs)}
		sum := 0.0
		for _, v := range vs {
			sum += v
			p.Min, p.Max = min(p.Min, v), max(p.Max, v)
		}
		p.Value = sum / float64(len(vs))
		out = append(out, p)
	}
	return out
}

func TestReadingSeries(t *testing.T) {
	s, _ := fixture(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var rs []sensors.Reading
	for sensor := int64(1); sensor <= 3; sensor++ {
		for _, drill := range []bool{false, true} {
			at := time.Duration(0)
			for range 3000 {
				// Irregular spacing, sub-microsecond parts that the store drops.
				at += time.Duration(rng.Int64N(int64(20*time.Second))) + time.Duration(rng.IntN(1000))
				rs = append(rs, sensors.Reading{SensorID: sensor, Time: t0.Add(at), Value: rng.Float64()*200 - 100, Drill: drill})
			}
		}
	}
	// Sensor 4: dense, every 37 ms for 3 minutes, to bucket short ranges.
	for at := time.Duration(0); at < 3*time.Minute; at += 37 * time.Millisecond {
		rs = append(rs, sensors.Reading{SensorID: 4, Time: t0.Add(at + time.Duration(rng.IntN(1000))), Value: rng.NormFloat64()})
	}
	for start := 0; start < len(rs); start += 1000 {
		if _, err := s.InsertReadings(ctx, rs[start:min(start+1000, len(rs))]); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name      string
		sensor    int64
		drill     bool
		from, to  time.Time
		maxPoints int
	}{
		{"all, few points", 1, false, t0, t0.Add(24 * time.Hour), 100},
		{"all, one point", 2, true, t0.Add(-time.Hour), t0.Add(24 * time.Hour), 1},
		{"raw: no more than maxPoints", 3, false, t0.Add(time.Hour), t0.Add(time.Hour + 5*time.Minute), 1000},
		{"width rounded down to the second: more buckets than maxPoints", 4, false, t0.Add(7 * time.Second), t0.Add(17*time.Second + 7*time.Millisecond), 3},
		{"width rounded up to the second", 4, false, t0.Add(time.Second), t0.Add(time.Minute + 41*time.Second), 40},
		{"width below a second: 1 s", 4, false, t0, t0.Add(2 * time.Minute), 1000},
		{"dense, one point", 4, false, t0.Add(-time.Hour), t0.Add(time.Hour), 1},
		{"origin with microseconds", 3, true, t0.Add(1234567 * time.Microsecond), t0.Add(5 * time.Hour), 37},
		{"origin with nanoseconds", 1, false, t0.Add(1234567891 * time.Nanosecond), t0.Add(3*time.Hour + 999), 250},
		{"empty range", 1, false, t0.Add(48 * time.Hour), t0.Add(49 * time.Hour), 10},
		{"to before from", 1, false, t0.Add(time.Hour), t0, 10},
		{"no such sensor", 99, false, t0, t0.Add(time.Hour), 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ReadingSeries(ctx, c.sensor, c.drill, c.from, c.to, c.maxPoints)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteSeries(rs, c.sensor, c.drill, c.from, c.to, c.maxPoints)
			if got == nil || len(got) != len(want) {
				t.Fatalf("%d points (nil %v), want %d", len(got), got == nil, len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if !g.Time.Equal(w.Time) || g.Time.Location() != time.UTC || g.Count != w.Count || g.Min != w.Min || g.Max != w.Max ||
					math.Abs(g.Value-w.Value) > 1e-9*max(1, math.Abs(w.Value)) {
					t.Fatalf("point %d: %+v, want %+v", i, g, w)
				}
			}
			if len(want) > 0 && want[0].Count > 1 {
				t.Logf("%d readings in %d buckets (max %d)", sumCount(want), len(want), c.maxPoints)
			}
		})
	}
	if _, err := s.ReadingSeries(ctx, 1, false, t0, t0.Add(time.Hour), 0); err == nil {
		t.Fatal("maxPoints 0: no error")
	}
}

func sumCount(ps []store.SeriesPoint) int {
	n := 0
	for _, p := range ps {
		n += p.Count
	}
	return n
}

func alert(layer string, id, sensor int64, from, to sensors.Level, at time.Duration, drill bool) sensors.Alert {
	a := sensors.Alert{Layer: layer, FeatureID: id, SensorID: sensor, Kind: "displacement_mm", Unit: "mm", From: from, To: to,
		ObjectLevel: to, Value: 12.5, Time: t0.Add(at), Drill: drill, Reason: sensors.ReasonThreshold}
	if to.OnScale() && to != sensors.None {
		a.Threshold = 10 * float64(to)
	}
	if to == sensors.NoData {
		a.Reason = sensors.ReasonNoData
	}
	return a
}

// events collects what ListenEvents delivers.
type events struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func listenEvents(t *testing.T, s *gpkg.Store) *events {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ev := &events{ch: make(chan struct{}, 1000)}
	listening := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.ListenEvents(ctx, func() { close(listening) }, func(typ string, id int64) {
			ev.mu.Lock()
			ev.got = append(ev.got, fmt.Sprintf("%s:%d", typ, id))
			ev.mu.Unlock()
			ev.ch <- struct{}{}
		})
	}()
	<-listening
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ListenEvents: %v", err)
		}
	})
	return ev
}

// wait returns the events once n have come.
func (e *events) wait(t *testing.T, n int) []string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		e.mu.Lock()
		got := slices.Clone(e.got)
		e.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-e.ch:
		case <-timeout:
			t.Fatalf("%d events after 10 s, want %d: %v", len(got), n, got)
		}
	}
}

func TestApplySensorState(t *testing.T) {
	s, path := fixture(t)
	ctx := context.Background()
	woken := make(chan struct{}, 100)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	listening := make(chan struct{})
	go s.Listen(lctx, func() { close(listening) }, func() { woken <- struct{}{} }) //nolint:errcheck // nil
	<-listening
	ev := listenEvents(t, s)

	snap, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.Get(ctx, layers.Slopes, 1)
	slopeState := store.FieldPatch{Layer: layers.Slopes, FeatureID: 1,
		Fields: []string{"warning_level", "displacement_mm", "trend", "sensor_status"}, Values: []any{"blue", 12.5, "rising", "live"}}
	spotDrill := store.FieldPatch{Layer: layers.WaterloggingSpots, FeatureID: 1,
		Fields: []string{"drill_depth_cm", "drill_warning_level"}, Values: []any{33.0, "orange"}}
	alerts := []sensors.Alert{
		alert(layers.Slopes, 1, 1, sensors.None, sensors.Blue, time.Minute+123456*time.Microsecond, false),
		alert(layers.WaterloggingSpots, 1, 3, sensors.None, sensors.Orange, 2*time.Minute, true),
		alert(layers.WaterloggingSpots, 2, 0, sensors.None, sensors.NoData, 3*time.Minute, false),
	}
	stored, err := s.ApplySensorState(ctx, []store.FieldPatch{slopeState, spotDrill}, alerts)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 {
		t.Fatalf("%d alerts stored", len(stored))
	}
	for i, a := range stored {
		if a.ID != int64(i+1) || !reflect.DeepEqual(a.Alert, alerts[i]) || a.RaisedAt.IsZero() || a.RaisedAt.Location() != time.UTC ||
			time.Since(a.RaisedAt) > time.Minute || !a.Open() {
			t.Fatalf("stored alert %d: %+v", i, a)
		}
	}
	<-woken

	// The patched features moved to version 2 like any update, logged in order.
	after, _ := s.Get(ctx, layers.Slopes, 1)
	if after.Version != 2 || after.Props["warning_level"] != "blue" || after.Props["displacement_mm"] != 12.5 ||
		after.Props["trend"] != "rising" || after.Props["sensor_status"] != "live" || after.Props["name"] != "Slope 1" ||
		!after.UpdatedAt.After(before.UpdatedAt) && !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("slope after the patch: %+v (before %+v)", after, before)
	}
	spot, _ := s.Get(ctx, layers.WaterloggingSpots, 1)
	if spot.Version != 2 || spot.Props["drill_depth_cm"] != 33.0 || spot.Props["drill_warning_level"] != "orange" || spot.Props["warning_level"] != "none" {
		t.Fatalf("spot after the patch: %+v", spot)
	}
	b, err := s.ChangesSince(ctx, snap, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Changes) != 2 || b.Changes[0].Layer != layers.Slopes || b.Changes[0].ID != 1 || b.Changes[0].Op != feature.Update || b.Changes[0].Version != 2 ||
		b.Changes[1].Layer != layers.WaterloggingSpots || b.Changes[1].Version != 2 {
		t.Fatalf("changes: %+v", b.Changes)
	}
	if f := b.Features[store.FeatureKey{Layer: layers.Slopes, ID: 1}]; f.Props["warning_level"] != "blue" {
		t.Fatalf("changed feature in the batch: %+v", f)
	}

	// The same state again changes nothing: no version, no log, no wake-up. A
	// missing feature is no change either.
	gone := store.FieldPatch{Layer: layers.Slopes, FeatureID: 404, Fields: []string{"warning_level"}, Values: []any{"red"}}
	if out, err := s.ApplySensorState(ctx, []store.FieldPatch{slopeState, spotDrill, gone}, nil); err != nil || out == nil || len(out) != 0 {
		t.Fatalf("unchanged state: %v %v", out, err)
	}
	if b2, err := s.ChangesSince(ctx, b.Next, 100); err != nil || len(b2.Changes) != 0 {
		t.Fatalf("changes after an unchanged state: %+v %v", b2.Changes, err)
	}
	select {
	case <-woken:
		t.Fatal("woken by an unchanged state")
	case <-time.After(50 * time.Millisecond):
	}
	// One field back to null is a change.
	clear := store.FieldPatch{Layer: layers.WaterloggingSpots, FeatureID: 1, Fields: []string{"drill_depth_cm", "drill_warning_level"}, Values: []any{33.0, nil}}
	if _, err := s.ApplySensorState(ctx, []store.FieldPatch{clear}, nil); err != nil {
		t.Fatal(err)
	}
	<-woken
	if spot, _ := s.Get(ctx, layers.WaterloggingSpots, 1); spot.Version != 3 || spot.Props["drill_warning_level"] != nil {
		t.Fatalf("spot after clearing: %+v", spot)
	}

	// Refused patches: before the transaction (registry, types) or by the schema;
	// either way nothing is written, alerts included.
	refused := []struct {
		name  string
		patch store.FieldPatch
		want  string
	}{
		{"unknown layer", store.FieldPatch{Layer: "roads", FeatureID: 1, Fields: []string{"x"}, Values: []any{1}}, "unknown layer"},
		{"no fields", store.FieldPatch{Layer: layers.Slopes, FeatureID: 1}, "gpkg: patch of slopes 1: 0 fields, 0 values"},
		{"values short", store.FieldPatch{Layer: layers.Slopes, FeatureID: 1, Fields: []string{"trend"}}, "gpkg: patch of slopes 1: 1 fields, 0 values"},
		{"unknown field", store.FieldPatch{Layer: layers.Slopes, FeatureID: 1, Fields: []string{"depth"}, Values: []any{1.0}}, `gpkg: patch of slopes 1: no field "depth" in the registry`},
		{"wrong type", store.FieldPatch{Layer: layers.Slopes, FeatureID: 1, Fields: []string{"displacement_mm"}, Values: []any{"12"}}, "is not a number value"},
		{"not finite", store.FieldPatch{Layer: layers.Slopes, FeatureID: 1, Fields: []string{"displacement_mm"}, Values: []any{math.Inf(1)}}, "not a finite number"},
		{"out of range", store.FieldPatch{Layer: layers.Slopes, FeatureID: 1, Fields: []string{"displacement_mm"}, Values: []any{2500.0}},
			"gpkg: apply sensor state: gpkg: sensor state of slopes 1: "},
		{"not an enum code", store.FieldPatch{Layer: layers.Slopes, FeatureID: 1, Fields: []string{"warning_level"}, Values: []any{"purple"}}, "slopes_warning_level_enum"},
	}
	for _, c := range refused {
		_, err := s.ApplySensorState(ctx, []store.FieldPatch{{Layer: layers.Slopes, FeatureID: 2, Fields: []string{"trend"}, Values: []any{"falling"}}, c.patch},
			[]sensors.Alert{alert(layers.Slopes, 2, 2, sensors.None, sensors.Red, 0, false)})
		if err == nil || !strings.Contains(err.Error(), c.want) || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: err %v, want one with %q", c.name, err, c.want)
		}
	}
	if f, _ := s.Get(ctx, layers.Slopes, 2); f.Version != 1 || f.Props["trend"] != nil {
		t.Fatalf("slope 2 written by a refused state: %+v", f)
	}
	if all, _ := s.Alerts(ctx, store.AlertQuery{}); len(all) != 3 {
		t.Fatalf("%d alerts after refused states, want 3", len(all))
	}
	// A refused alert refuses the states with it.
	badAlert := alert(layers.Slopes, 2, 2, sensors.Blue, sensors.Blue, 0, false) // from = to
	if _, err := s.ApplySensorState(ctx, []store.FieldPatch{{Layer: layers.Slopes, FeatureID: 2, Fields: []string{"trend"}, Values: []any{"falling"}}},
		[]sensors.Alert{badAlert}); err == nil || !strings.Contains(err.Error(), "gpkg: apply sensor state: gpkg: store alert: ") {
		t.Fatalf("alert from blue to blue: %v", err)
	}
	if f, _ := s.Get(ctx, layers.Slopes, 2); f.Version != 1 {
		t.Fatalf("slope 2 written with a refused alert: %+v", f)
	}

	// A risk point's hazard status set by a patch is recorded like an edit's.
	if _, err := s.Upsert(ctx, feature.Feature{Layer: layers.RiskPoints, Geometry: orb.Point{114.1, 22.5},
		Props: map[string]any{"external_id": "RP-1", "name": "Point", "category": "gas", "risk_grade": "low"}}, store.WriteOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	<-woken
	rp := store.FieldPatch{Layer: layers.RiskPoints, FeatureID: 1, Fields: []string{"hazard_status"}, Values: []any{"rectifying"}}
	if _, err := s.ApplySensorState(ctx, []store.FieldPatch{rp}, nil); err != nil {
		t.Fatal(err)
	}
	<-woken
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hist []string
	rows, err := db.Query("SELECT COALESCE(from_status, '-') || '>' || to_status || ' by ' || actor FROM risk_point_status_history WHERE risk_point_id = 1 ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		hist = append(hist, h)
	}
	rows.Close()
	if want := []string{"->open by test", "open>rectifying by sensors"}; !reflect.DeepEqual(hist, want) {
		t.Fatalf("status history %q, want %q", hist, want)
	}

	// The events: the three alerts, in order.
	if got := ev.wait(t, 3); !reflect.DeepEqual(got, []string{"alert:1", "alert:2", "alert:3"}) {
		t.Fatalf("events %v", got)
	}
}

func TestAlertsAckAndEvents(t *testing.T) {
	s, _ := fixture(t)
	ctx := context.Background()
	ev := listenEvents(t, s)
	if a, g, err := s.LatestEventIDs(ctx); err != nil || a != 0 || g != 0 {
		t.Fatalf("latest event ids of an empty store: %d %d %v", a, g, err)
	}
	in := []sensors.Alert{
		alert(layers.Slopes, 1, 1, sensors.None, sensors.Blue, 0, false),                      // 1
		alert(layers.Slopes, 1, 1, sensors.Blue, sensors.Red, time.Minute, false),             // 2
		alert(layers.WaterloggingSpots, 1, 3, sensors.None, sensors.Yellow, 0, true),          // 3
		alert(layers.WaterloggingSpots, 2, 4, sensors.None, sensors.NoData, 0, false),         // 4
		alert(layers.Slopes, 2, 2, sensors.Orange, sensors.None, 2*time.Minute, false),        // 5
		alert(layers.WaterloggingSpots, 1, 3, sensors.Yellow, sensors.Orange, 0, true),        // 6
		alert(layers.Slopes, 1, 1, sensors.Red, sensors.Blue, 3*time.Minute, false),           // 7
		alert(layers.WaterloggingSpots, 1, 0, sensors.None, sensors.Red, 0, false),            // 8 (no sensor)
		alert(layers.WaterloggingSpots, 2, 4, sensors.NoData, sensors.None, time.Hour, false), // 9
	}
	if _, err := s.ApplySensorState(ctx, nil, in[:5]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplySensorState(ctx, nil, in[5:]); err != nil {
		t.Fatal(err)
	}
	a, err := s.Alert(ctx, 4)
	if err != nil || a.ID != 4 || !reflect.DeepEqual(a.Alert, in[3]) || !a.Open() || a.AckedBy != "" || a.Threshold != 0 {
		t.Fatalf("alert 4: %+v %v", a, err)
	}
	if a, err := s.Alert(ctx, 8); err != nil || a.SensorID != 0 || a.Threshold != 40 {
		t.Fatalf("alert 8: %+v %v", a, err)
	}
	if _, err := s.Alert(ctx, 10); !errors.Is(err, store.ErrNotFound) || err.Error() != "alert 10: not found" {
		t.Fatalf("alert 10: %v", err)
	}

	// Acknowledging: once; a second time is ErrAcked and changes nothing.
	acked, err := s.AckAlert(ctx, 2, "duty officer", "called the site")
	if err != nil || !acked.Alert.Time.Equal(in[1].Time) || acked.Open() || acked.AckedBy != "duty officer" || acked.AckNote != "called the site" ||
		acked.AckedAt.Location() != time.UTC || time.Since(acked.AckedAt) > time.Minute {
		t.Fatalf("ack: %+v %v", acked, err)
	}
	again, err := s.AckAlert(ctx, 2, "someone else", "")
	want := fmt.Sprintf("alert 2 (by duty officer at %s): alert already acknowledged", acked.AckedAt.Format(time.RFC3339))
	if !errors.Is(err, store.ErrAcked) || err.Error() != want || again.AckedBy != "duty officer" || !again.AckedAt.Equal(acked.AckedAt) {
		t.Fatalf("second ack: %+v %v, want %q", again, err, want)
	}
	if _, err := s.AckAlert(ctx, 99, "x", ""); !errors.Is(err, store.ErrNotFound) || err.Error() != "alert 99: not found" {
		t.Fatalf("ack of a missing alert: %v", err)
	}
	if a, err := s.AckAlert(ctx, 5, "x", ""); err != nil || a.AckNote != "" || a.AckedBy != "x" {
		t.Fatalf("ack without a note: %+v %v", a, err)
	}
	g1, err := s.SetSignal(ctx, "rainstorm", "yellow", "met office", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.wait(t, 12); !reflect.DeepEqual(got, []string{"alert:1", "alert:2", "alert:3", "alert:4", "alert:5", "alert:6", "alert:7", "alert:8", "alert:9",
		"alert_ack:2", "alert_ack:5", fmt.Sprintf("signal:%d", g1.ID)}) {
		t.Fatalf("events %v", got)
	}
	if a, g, err := s.LatestEventIDs(ctx); err != nil || a != 9 || g != g1.ID {
		t.Fatalf("latest event ids: %d %d %v", a, g, err)
	}

	ids := func(as []store.StoredAlert) []int64 {
		out := []int64{}
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	yes, no := true, false
	queries := []struct {
		name string
		q    store.AlertQuery
		want []int64
	}{
		{"every alert, newest first", store.AlertQuery{}, []int64{9, 8, 7, 6, 5, 4, 3, 2, 1}},
		// open: red, orange, yellow, no_data, blue, none; then newest first
		{"open, worst first", store.AlertQuery{Open: true}, []int64{8, 6, 3, 4, 7, 1, 9}},
		{"open real", store.AlertQuery{Open: true, Drill: &no}, []int64{8, 4, 7, 1, 9}},
		{"drill", store.AlertQuery{Drill: &yes}, []int64{6, 3}},
		{"one object", store.AlertQuery{Layer: layers.Slopes, FeatureID: 1}, []int64{7, 2, 1}},
		{"one layer", store.AlertQuery{Layer: layers.WaterloggingSpots}, []int64{9, 8, 6, 4, 3}},
		{"limit", store.AlertQuery{Limit: 2}, []int64{9, 8}},
		{"open, limit", store.AlertQuery{Open: true, Limit: 3}, []int64{8, 6, 3}},
		{"none", store.AlertQuery{Layer: layers.Slopes, FeatureID: 404}, []int64{}},
	}
	for _, c := range queries {
		got, err := s.Alerts(ctx, c.q)
		if err != nil || got == nil || !reflect.DeepEqual(ids(got), c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, ids(got), err, c.want)
		}
	}
	after, err := s.AlertsAfter(ctx, 3, 4)
	if err != nil || !reflect.DeepEqual(ids(after), []int64{4, 5, 6, 7}) {
		t.Fatalf("alerts after 3: %v %v", ids(after), err)
	}
	if after[0].Time != in[3].Time || !after[2].Drill || after[1].AckedBy != "x" {
		t.Fatalf("alerts after 3: %+v", after)
	}
	if after, err := s.AlertsAfter(ctx, 9, 10); err != nil || len(after) != 0 {
		t.Fatalf("alerts after 9: %v %v", after, err)
	}
}

func TestSignals(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	set := []struct{ kind, level, by, note string }{
		{"rainstorm", "yellow", "met", "heavy rain"},
		{"typhoon", "white", "met", ""},
		{"rainstorm", "red", "met", ""},
		{"typhoon", "blue", "duty", "typhoon Ewiniar"},
		{"rainstorm", "none", "met", "lifted"},
	}
	var all []store.Signal
	for _, g := range set {
		sig, err := s.SetSignal(ctx, g.kind, g.level, g.by, g.note)
		if err != nil {
			t.Fatal(err)
		}
		if sig.ID != int64(len(all)+1) || sig.Kind != g.kind || sig.Level != g.level || sig.SetBy != g.by || sig.Note != g.note ||
			sig.SetAt.Location() != time.UTC || time.Since(sig.SetAt) > time.Minute {
			t.Fatalf("set signal: %+v", sig)
		}
		all = append(all, sig)
	}
	if _, err := s.SetSignal(ctx, "tornado", "red", "x", ""); err == nil || !strings.HasPrefix(err.Error(), "gpkg: set signal: ") {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := s.SetSignal(ctx, "typhoon", "purple", "x", ""); err == nil {
		t.Fatal("unknown level: no error")
	}
	idsOf := func(gs []store.Signal) []int64 {
		out := []int64{}
		for _, g := range gs {
			out = append(out, g.ID)
		}
		return out
	}
	cases := []struct {
		name    string
		current bool
		kind    string
		limit   int
		want    []int64
	}{
		{"history", false, "", 0, []int64{5, 4, 3, 2, 1}},
		{"history of a kind", false, "typhoon", 0, []int64{4, 2}},
		{"history, limit", false, "", 2, []int64{5, 4}},
		{"current", true, "", 0, []int64{5, 4}},
		{"current of a kind", true, "typhoon", 0, []int64{4}},
		{"current, limit", true, "", 1, []int64{5}},
		{"unknown kind", false, "tornado", 0, []int64{}},
	}
	for _, c := range cases {
		got, err := s.Signals(ctx, c.current, c.kind, c.limit)
		if err != nil || got == nil || !reflect.DeepEqual(idsOf(got), c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, idsOf(got), err, c.want)
		}
	}
	got, err := s.SignalsAfter(ctx, 2)
	if err != nil || !reflect.DeepEqual(got, all[2:]) {
		t.Fatalf("signals after 2:\n got %+v\nwant %+v (%v)", got, all[2:], err)
	}
}

// TestEventsInCommitOrder: writers racing each other; every listener sees every
// event once, in commit order (ids are assigned in commit order: one writer).
func TestEventsInCommitOrder(t *testing.T) {
	s, _ := fixture(t)
	ctx := context.Background()
	listeners := []*events{listenEvents(t, s), listenEvents(t, s)}
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				var err error
				if (w+i)%2 == 0 {
					_, err = s.SetSignal(ctx, "typhoon", "blue", fmt.Sprint(w), "")
				} else {
					_, err = s.ApplySensorState(ctx, nil, []sensors.Alert{alert(layers.Slopes, 1, 1, sensors.None, sensors.Blue, time.Duration(i), false)})
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var want []string
	as, _ := s.AlertsAfter(ctx, 0, 1000)
	gs, _ := s.SignalsAfter(ctx, 0)
	for _, l := range listeners {
		got := l.wait(t, writers*each)
		if len(got) != writers*each || len(as)+len(gs) != writers*each {
			t.Fatalf("%d events, %d alerts + %d signals", len(got), len(as), len(gs))
		}
		last := map[string]int64{}
		for _, e := range got {
			var typ string
			var id int64
			fmt.Sscanf(strings.Replace(e, ":", " ", 1), "%s %d", &typ, &id)
			if id <= last[typ] {
				t.Fatalf("%s after %s:%d: out of commit order: %v", e, typ, last[typ], got)
			}
			last[typ] = id
		}
		if want == nil {
			want = got
		} else if !reflect.DeepEqual(got, want) {
			t.Fatalf("two listeners saw different orders:\n%v\n%v", want, got)
		}
	}
}

// TestDemoSeed seeds the demo dataset — features, sensors and their reading history —
// with demo.Seed, as `riskmap seed --demo` does against PostGIS.
func TestDemoSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds the whole demo dataset")
	}
	s, _ := open(t)
	ctx := context.Background()
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 7, 1, 12, 0, 30, 0, time.UTC)
	res, err := demo.Seed(ctx, s, s.Registry(), ds, demo.SeedOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := demo.History(ds, now, demo.DefaultHistory, ds.Seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d features, %d sensors, %d readings in %v", ds.Total(), res.Sensors, res.Readings, res.Elapsed)
	if res.Sensors != len(ds.Sensors) || res.Readings != len(hist) || len(hist) == 0 {
		t.Fatalf("seed result %+v; %d sensors, %d history readings", res, len(ds.Sensors), len(hist))
	}
	check := func() {
		t.Helper()
		for layer, fs := range ds.Features {
			if n, err := s.Count(ctx, layer); err != nil || n != int64(len(fs)) {
				t.Fatalf("%s: %d, %v; want %d", layer, n, err, len(fs))
			}
		}
		got, err := s.Sensors(ctx)
		if err != nil || !reflect.DeepEqual(got, ds.Sensors) {
			t.Fatalf("sensors: %d read (%v), %d seeded; equal %v", len(got), err, len(ds.Sensors), reflect.DeepEqual(got, ds.Sensors))
		}
		stored := readAll(t, s)
		if len(stored) != len(hist) {
			t.Fatalf("%d readings stored, want %d", len(stored), len(hist))
		}
		want := slices.Clone(hist)
		slices.SortStableFunc(want, func(a, b sensors.Reading) int {
			if c := a.Time.Compare(b.Time); c != 0 {
				return c
			}
			return int(a.SensorID - b.SensorID)
		})
		for i := range want {
			if stored[i] != want[i] {
				t.Fatalf("reading %d: %+v, want %+v", i, stored[i], want[i])
			}
		}
		if first, last := stored[0].Time, stored[len(stored)-1].Time; first.Before(now.Add(-demo.DefaultHistory-time.Minute)) || last.After(now) {
			t.Fatalf("history from %v to %v, seeded at %v", first, last, now)
		}
		// A series over the history, downsampled.
		pts, err := s.ReadingSeries(ctx, ds.Sensors[0].ID, false, now.Add(-demo.DefaultHistory), now, 24)
		if err != nil || len(pts) == 0 || len(pts) > 25 {
			t.Fatalf("series: %d points, %v", len(pts), err)
		}
	}
	check()
	if _, err := demo.Seed(ctx, s, s.Registry(), ds, demo.SeedOptions{Now: now}); !errors.Is(err, demo.ErrNotEmpty) {
		t.Fatalf("seeding a seeded store: %v", err)
	}
}

// TestDeleteAllCascades: deleting the features deletes their sensors and readings
// (what `seed --replace` relies on); alerts stay, without their sensor.
func TestDeleteAllCascades(t *testing.T) {
	s, _ := fixture(t)
	ctx := context.Background()
	if _, err := s.InsertReadings(ctx, []sensors.Reading{rd(1, 0, 1, false), rd(3, 0, 1, true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplySensorState(ctx, nil, []sensors.Alert{alert(layers.Slopes, 1, 1, sensors.None, sensors.Blue, 0, false)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAll(ctx, store.WriteOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Sensors(ctx); err != nil || len(got) != 0 {
		t.Fatalf("sensors after DeleteAll: %v %v", got, err)
	}
	if got := readAll(t, s); len(got) != 0 {
		t.Fatalf("readings after DeleteAll: %v", got)
	}
	if a, err := s.Alert(ctx, 1); err != nil || a.SensorID != 0 || a.FeatureID != 1 {
		t.Fatalf("alert after DeleteAll: %+v %v", a, err)
	}
	// The same features and sensors again, ids included.
	loadFixture(t, s)
	if got, err := s.Sensors(ctx); err != nil || !reflect.DeepEqual(got, fixtureSensors()) {
		t.Fatalf("sensors loaded again: %+v %v", got, err)
	}
}

func TestBulkLoadReadings(t *testing.T) {
	s, _ := fixture(t)
	ctx := context.Background()
	var rs []sensors.Reading
	for i := range 25000 {
		rs = append(rs, rd(int64(1+i%3), time.Duration(i/3)*time.Second, float64(i%100), i%7 == 0))
	}
	rs = append(rs, rd(1, 0, 1234, rs[0].Drill)) // a key twice: the first wins
	var progress []int
	if err := s.BulkLoadReadings(ctx, rs, func(done int) { progress = append(progress, done) }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(progress, []int{10000, 20000, 25001}) {
		t.Fatalf("progress %v", progress)
	}
	if got := readAll(t, s); len(got) != 25000 || got[0] != rs[0] {
		t.Fatalf("%d readings, first %+v", len(got), got[0])
	}
	bad := []struct {
		name string
		r    sensors.Reading
		want string
	}{
		{"NaN", rd(1, time.Hour, math.NaN(), false), "gpkg: reading row 1 (sensor 1 at "},
		{"Inf", rd(1, time.Hour, math.Inf(-1), false), "is not a number"},
		{"no time", sensors.Reading{SensorID: 1, Value: 1}, "gpkg: reading row 1 (sensor 1): no time"},
		{"unknown sensor", rd(55, time.Hour, 1, false), "gpkg: load readings 0..1: row 1 (sensor 55 at "},
	}
	for _, c := range bad {
		err := s.BulkLoadReadings(ctx, []sensors.Reading{rd(2, 100*time.Hour, 1, false), c.r}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	if got := readAll(t, s); len(got) != 25000 {
		t.Fatalf("%d readings after refused loads", len(got))
	}
}

// BenchmarkInsertReadings: batches of 1,000 readings (4 sensors × 250 times), each
// one InsertReadings (one transaction, one fsync).
func BenchmarkInsertReadings(b *testing.B) {
	s, _ := fixture(b)
	ctx := context.Background()
	batch := make([]sensors.Reading, 1000)
	next := 0
	b.ResetTimer()
	for b.Loop() {
		for i := range batch {
			batch[i] = sensors.Reading{SensorID: int64(1 + i%4), Time: t0.Add(time.Duration(next+i/4) * time.Second), Value: float64(i)}
		}
		next += len(batch) / 4
		n, err := s.InsertReadings(ctx, batch)
		if err != nil || n != len(batch) {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "readings/s")
}
