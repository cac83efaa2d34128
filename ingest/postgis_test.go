package ingest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"riskmap/ingest"
	"riskmap/internal/pgtest"
	"riskmap/internal/sensortest"
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
	"riskmap/store/postgis"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// fixture is a database with one waterlogging spot (id 1) carrying a water depth
// sensor (id 1: blue 10, yellow 20, orange 30, red 50 cm) and one slope (id 1)
// carrying a displacement sensor (id 2: 5, 10, 20, 40 mm), and a running
// service on a test clock.
type fixture struct {
	st     *postgis.Store
	svc    *ingest.Service
	clk    *clock
	mu     sync.Mutex
	alerts []store.StoredAlert
}

func newFixture(t *testing.T, start time.Time) *fixture {
	t.Helper()
	reg := layers.New()
	st := sensortest.Seed(t, pgtest.NewDatabase(t), 1)
	f := &fixture{st: st, clk: &clock{t: start}}
	f.svc = runService(t, ingest.Config{Store: st, Registry: reg, Now: f.clk.Now, TickEvery: time.Hour,
		OnAlerts: func(as []store.StoredAlert) { f.mu.Lock(); f.alerts = append(f.alerts, as...); f.mu.Unlock() }})
	return f
}

// runService starts a service with cfg, waits until it is ready, and stops it
// when the test ends.
func runService(t *testing.T, cfg ingest.Config) *ingest.Service {
	t.Helper()
	svc, err := ingest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	waitFor(t, "service ready", svc.Ready)
	return svc
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	sensortest.WaitFor(t, 20*time.Second, what, cond)
}

func (f *fixture) submit(t *testing.T, rs ...sensors.Reading) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.svc.Submit(ctx, rs); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if err := f.svc.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func (f *fixture) stored(t *testing.T) []store.StoredAlert {
	t.Helper()
	as, err := f.st.Alerts(context.Background(), store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func (f *fixture) props(t *testing.T, layer string) map[string]any {
	t.Helper()
	ft, err := f.st.Get(context.Background(), layer, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ft.Props
}

var t0 = time.Date(2026, 8, 1, 8, 0, 0, 0, time.UTC)

func TestThresholdCrossingBecomesAlertAndState(t *testing.T) {
	f := newFixture(t, t0)
	f.submit(t, sensors.Reading{SensorID: 1, Time: t0, Value: 4}, sensors.Reading{SensorID: 1, Time: t0.Add(time.Minute), Value: 6})
	if as := f.stored(t); len(as) != 0 {
		t.Fatalf("calm readings raised %d alerts", len(as))
	}
	f.submit(t, sensors.Reading{SensorID: 1, Time: t0.Add(2 * time.Minute), Value: 33})
	as := f.stored(t)
	if len(as) != 1 {
		t.Fatalf("got %d alerts, want 1: %+v", len(as), as)
	}
	a := as[0]
	if a.From != sensors.None || a.To != sensors.Orange || a.Value != 33 || a.SensorID != 1 ||
		a.Layer != layers.WaterloggingSpots || a.FeatureID != 1 || a.Drill || !a.Open() || a.Threshold != 30 {
		t.Errorf("alert = %+v", a)
	}
	f.mu.Lock()
	notified := len(f.alerts)
	f.mu.Unlock()
	if notified != 1 {
		t.Errorf("OnAlerts got %d alerts, want 1", notified)
	}
	p := f.props(t, layers.WaterloggingSpots)
	if p["warning_level"] != "orange" || p["current_depth_cm"] != 33.0 || p["sensor_status"] != "live" {
		t.Errorf("spot props = %v", p)
	}
	// A drill reading is evaluated apart: drill columns and a drill alert, the
	// real level untouched.
	f.submit(t, sensors.Reading{SensorID: 1, Time: t0.Add(3 * time.Minute), Value: 60, Drill: true})
	p = f.props(t, layers.WaterloggingSpots)
	if p["warning_level"] != "orange" || p["drill_warning_level"] != "red" || p["drill_depth_cm"] != 60.0 {
		t.Errorf("after a drill reading, spot props = %v", p)
	}
	as = f.stored(t)
	if len(as) != 2 || !as[0].Drill || as[0].To != sensors.Red {
		t.Errorf("drill alert: %+v", as)
	}
	// Ack.
	ack, err := f.st.AckAlert(context.Background(), a.ID, "duty officer", "seen")
	if err != nil || ack.AckedBy != "duty officer" || ack.Open() {
		t.Fatalf("AckAlert = %+v, %v", ack, err)
	}
	if _, err := f.st.AckAlert(context.Background(), a.ID, "someone", ""); !errors.Is(err, store.ErrAcked) {
		t.Errorf("second ack: %v, want ErrAcked", err)
	}
	if _, err := f.st.AckAlert(context.Background(), 999, "someone", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ack of a missing alert: %v, want ErrNotFound", err)
	}
}

func TestHoveringAtThresholdDoesNotFlap(t *testing.T) {
	f := newFixture(t, t0)
	// Displacement hovering around the yellow threshold (10 mm) within the 5 %
	// clear margin for an hour, a reading a minute.
	for i := range 60 {
		v := 10.2
		if i%2 == 1 {
			v = 9.8
		}
		at := t0.Add(time.Duration(i) * time.Minute)
		f.clk.Set(at)
		f.submit(t, sensors.Reading{SensorID: 2, Time: at, Value: v})
	}
	var as []store.StoredAlert
	for _, a := range f.stored(t) {
		if a.SensorID == 2 {
			as = append(as, a)
		}
	}
	if len(as) != 1 || as[0].To != sensors.Yellow {
		t.Fatalf("hovering raised %d alerts, want exactly one (none → yellow): %+v", len(as), as)
	}
	if p := f.props(t, layers.Slopes); p["warning_level"] != "yellow" || p["displacement_mm"] != 9.8 {
		t.Errorf("slope props = %v", p)
	}
}

func TestSilentSensorGoesNoData(t *testing.T) {
	f := newFixture(t, t0)
	var rs []sensors.Reading
	for i := range 12 {
		rs = append(rs, sensors.Reading{SensorID: 1, Time: t0.Add(time.Duration(i) * time.Minute), Value: 25})
	}
	f.clk.Set(t0.Add(11 * time.Minute))
	f.submit(t, rs...)
	if p := f.props(t, layers.WaterloggingSpots); p["warning_level"] != "yellow" || p["sensor_status"] != "live" {
		t.Fatalf("before silence: %v", p)
	}
	// A minute apart: silent after 3 minutes without a reading.
	f.clk.Set(t0.Add(20 * time.Minute))
	f.svc.Tick()
	if err := f.svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := f.props(t, layers.WaterloggingSpots)
	if p["sensor_status"] != "no_data" || p["warning_level"] != "yellow" {
		t.Errorf("silent spot: %v; want sensor_status no_data keeping the last level yellow", p)
	}
	as := f.stored(t)
	if len(as) < 2 || as[0].To != sensors.NoData || as[0].Reason != sensors.ReasonNoData {
		t.Fatalf("alerts = %+v; want the newest no_data", as)
	}
	// The next reading recovers it.
	f.submit(t, sensors.Reading{SensorID: 1, Time: t0.Add(21 * time.Minute), Value: 25})
	if p := f.props(t, layers.WaterloggingSpots); p["sensor_status"] != "live" {
		t.Errorf("after recovery: %v", p)
	}
}

func TestBadRowsAreNamedAndNothingIsStored(t *testing.T) {
	f := newFixture(t, t0)
	err := f.svc.Submit(context.Background(), []sensors.Reading{
		{SensorID: 1, Time: t0, Value: 5},
		{SensorID: 77, Time: t0, Value: 5},
		{SensorID: 1, Time: t0.Add(time.Second), Value: 5000},
		{SensorID: 1, Time: t0.Add(time.Hour), Value: 5},
	})
	var be *ingest.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want *BatchError", err)
	}
	want := []struct {
		row    int
		reason string
	}{{1, "unknown_sensor"}, {2, "out_of_range"}, {3, "future"}}
	if len(be.Rows) != len(want) {
		t.Fatalf("rows = %+v", be.Rows)
	}
	for i, w := range want {
		if be.Rows[i].Row != w.row || be.Rows[i].Reason != w.reason || be.Rows[i].Message == "" {
			t.Errorf("row error %d = %+v, want row %d %s", i, be.Rows[i], w.row, w.reason)
		}
	}
	pts, err := f.st.ReadingSeries(context.Background(), 1, false, t0.Add(-time.Hour), t0.Add(2*time.Hour), 100)
	if err != nil || len(pts) != 0 {
		t.Errorf("a rejected batch stored %d readings (%v)", len(pts), err)
	}
}

func TestRestartRestoresStateWithoutNewAlerts(t *testing.T) {
	f := newFixture(t, t0)
	var rs []sensors.Reading
	for i := range 10 {
		rs = append(rs, sensors.Reading{SensorID: 1, Time: t0.Add(time.Duration(i) * time.Minute), Value: float64(5 + 5*i)})
	}
	f.clk.Set(t0.Add(10 * time.Minute))
	f.submit(t, rs...)
	before := len(f.stored(t))
	// A second service on the same database (a restart) replays the history.
	svc2 := runService(t, ingest.Config{Store: f.st, Registry: layers.New(), Now: f.clk.Now, TickEvery: time.Hour})
	if err := svc2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, ok := svc2.ObjectState(layers.WaterloggingSpots, 1, false)
	if !ok || st.Level != sensors.Red || st.Trend != sensors.Rising {
		t.Errorf("restored state = %+v, want red and rising", st)
	}
	if after := len(f.stored(t)); after != before {
		t.Errorf("the replay raised %d alerts again", after-before)
	}
}

// TestRefusedStateDoesNotBlockAlerts: a sensor whose range exceeds its object's
// column (water depth up to 90 m, current_depth_cm up to 50 m) makes the database
// refuse the object's state; the alert is stored all the same, the state dropped
// with a log, and the next state is written.
func TestRefusedStateDoesNotBlockAlerts(t *testing.T) {
	st := sensortest.Seed(t, pgtest.NewDatabase(t), 1)
	if _, err := st.Pool().Exec(context.Background(), "UPDATE sensors SET range_max = 9000 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: t0}
	svc := runService(t, ingest.Config{Store: st, Registry: layers.New(), Now: clk.Now, TickEvery: time.Hour})
	f := &fixture{st: st, svc: svc, clk: clk}
	f.submit(t, sensors.Reading{SensorID: 1, Time: t0, Value: 6000})
	if as := f.stored(t); len(as) != 1 || as[0].To != sensors.Red {
		t.Fatalf("alerts = %+v", as)
	}
	if s := svc.Stats(); s.Dropped != 1 {
		t.Errorf("stats %+v, want 1 dropped state", s)
	}
	f.submit(t, sensors.Reading{SensorID: 1, Time: t0.Add(time.Minute), Value: 4000})
	if p := f.props(t, layers.WaterloggingSpots); p["current_depth_cm"] != 4000.0 || p["warning_level"] != "red" {
		t.Errorf("spot props = %v", p)
	}
}
