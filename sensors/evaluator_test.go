package sensors_test

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/sensors"
)

// TestRisingCrossingTakesEffectAtOnce: from calm, a reading reaching a threshold
// sets its level with the reading itself — skipping levels in one alert.
func TestRisingCrossingTakesEffectAtOnce(t *testing.T) {
	for _, tc := range []struct {
		value float64
		want  sensors.Level
	}{
		{14.99, sensors.None},
		{15, sensors.Blue},
		{29.99, sensors.Blue},
		{30, sensors.Yellow},
		{45, sensors.Orange},
		{60, sensors.Red},
		{999, sensors.Red},
	} {
		t.Run(tc.want.Code(), func(t *testing.T) {
			e := newEval(t, sensors.Options{}, depth(1))
			observe(t, e, 1, 0, 0)
			ch, al := observe(t, e, 1, 1, tc.value)
			if tc.want == sensors.None {
				if len(al) != 0 {
					t.Fatalf("alerts %s", brief(al))
				}
				return
			}
			if len(al) != 1 {
				t.Fatalf("alerts %s, want one", brief(al))
			}
			a := al[0]
			if a.From != sensors.None || a.To != tc.want || a.Reason != sensors.ReasonThreshold || !a.Time.Equal(at(1)) ||
				a.Value != tc.value || a.SensorID != 1 || a.Layer != layers.WaterloggingSpots || a.FeatureID != spot ||
				a.ObjectLevel != tc.want || a.Drill || a.Unit != "cm" || a.Kind != "water_depth_cm" {
				t.Errorf("alert %+v", a)
			}
			thr := depth(1).Thresholds
			if a.Threshold != map[sensors.Level]float64{sensors.Blue: thr.Blue, sensors.Yellow: thr.Yellow, sensors.Orange: thr.Orange, sensors.Red: thr.Red}[tc.want] {
				t.Errorf("threshold %v", a.Threshold)
			}
			if len(ch) != 1 || ch[0].Level != tc.want || ch[0].Value != tc.value || !ch[0].Time.Equal(at(1)) {
				t.Errorf("changes %+v", ch)
			}
		})
	}

	t.Run("staircase", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1))
		var all []sensors.Alert
		for i, v := range []float64{0, 16, 31, 46, 61, 62} {
			_, al := observe(t, e, 1, float64(i), v)
			all = append(all, al...)
		}
		if got, want := brief(all), "1:none>blue@1(threshold) 1:blue>yellow@2(threshold) 1:yellow>orange@3(threshold) 1:orange>red@4(threshold)"; got != want {
			t.Errorf("alerts\n%s\nwant\n%s", got, want)
		}
	})
}

// TestHoveringAtThresholdAlertsOnce: a value oscillating around a threshold every
// minute for an hour raises exactly one alert.
func TestHoveringAtThresholdAlertsOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		swing float64 // fraction around the yellow threshold (30 cm)
	}{
		{"±1 %", 0.01},
		{"±4 %, inside the 5 % margin", 0.04},
		{"±10 %, below the clear point one minute in two", 0.10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEval(t, sensors.Options{}, depth(1))
			observe(t, e, 1, -1, 0)
			var all []sensors.Alert
			for m := 0; m <= 60; m++ {
				v := 30 * (1 + tc.swing)
				if m%2 == 1 {
					v = 30 * (1 - tc.swing)
				}
				_, al := observe(t, e, 1, float64(m), v)
				all = append(all, al...)
			}
			if got := brief(all); got != "1:none>yellow@0(threshold)" {
				t.Errorf("alerts %s", got)
			}
			if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Level != sensors.Yellow {
				t.Errorf("level %v", st.Level)
			}
		})
	}
}

// TestClearingNeedsMarginAndHold: a level drops only after readings below
// threshold × (1 − 5 %) for 10 minutes.
func TestClearingNeedsMarginAndHold(t *testing.T) {
	type pt struct{ m, v float64 }
	series := func(from, to, every, v float64) []pt {
		var out []pt
		for m := from; m <= to; m += every {
			out = append(out, pt{m, v})
		}
		return out
	}
	join := func(ps ...[]pt) []pt {
		var out []pt
		for _, p := range ps {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		start  float64 // value at minute 0
		series []pt
		want   string
		final  sensors.Level
	}{
		{"below the threshold, inside the margin, for an hour", 35, series(1, 60, 1, 28.6), "", sensors.Yellow},
		{"below the clear point for 9 minutes", 35, series(1, 10, 1, 28), "", sensors.Yellow},
		{"below the clear point for 10 minutes", 35, series(1, 11, 1, 28), "1:yellow>blue@11(threshold)", sensors.Blue},
		{"a reading inside the margin restarts the hold", 35,
			join(series(1, 5, 1, 28), []pt{{6, 29}}, series(7, 17, 1, 28)), "1:yellow>blue@17(threshold)", sensors.Blue},
		{"a reading above the threshold restarts the hold", 35,
			join(series(1, 5, 1, 28), []pt{{6, 31}}, series(7, 17, 1, 28)), "1:yellow>blue@17(threshold)", sensors.Blue},
		{"far below: red to none in one alert", 65, series(1, 11, 1, 0), "1:red>none@11(threshold)", sensors.None},
		{"partly down: red to orange", 65, series(1, 11, 1, 50), "1:red>orange@11(threshold)", sensors.Orange},
		{"red, then orange band, then calm", 65, join(series(1, 10, 1, 50), series(11, 21, 1, 0)),
			"1:red>orange@11(threshold) 1:orange>none@21(threshold)", sensors.None},
		{"sparse readings: the first one at least 10 minutes after the first below", 35, series(15, 60, 15, 0),
			"1:yellow>none@30(threshold)", sensors.None},
		{"rising again during the hold", 35, join(series(1, 5, 1, 0), []pt{{6, 50}}), "1:yellow>orange@6(threshold)", sensors.Orange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEval(t, sensors.Options{}, depth(1))
			observe(t, e, 1, -1, 0)
			observe(t, e, 1, 0, tc.start)
			var all []sensors.Alert
			for _, p := range tc.series {
				_, al := observe(t, e, 1, p.m, p.v)
				all = append(all, al...)
			}
			if got := brief(all); got != tc.want {
				t.Errorf("alerts\n%q\nwant\n%q", got, tc.want)
			}
			if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Level != tc.final {
				t.Errorf("level %v, want %v", st.Level, tc.final)
			}
		})
	}
}

// TestClearMarginByKind: a reservoir's water level (counted from a datum) has an
// absolute margin of 5 cm, not 5 % of 40 m.
func TestClearMarginByKind(t *testing.T) {
	res := feature.Sensor{ID: 7, Kind: "water_level_m", Layer: layers.WaterloggingSpots, FeatureID: spot,
		Thresholds: &feature.Thresholds{Blue: 38.5, Yellow: 39, Orange: 39.5, Red: 40}, RangeMin: -20, RangeMax: 300, Active: true}
	e := newEval(t, sensors.Options{}, res)
	observe(t, e, 7, 0, 40.1)
	var all []sensors.Alert
	for m := 1; m <= 60; m++ {
		_, al := observe(t, e, 7, float64(m), 39.96) // inside the 5 cm margin
		all = append(all, al...)
	}
	for m := 61; m <= 71; m++ {
		_, al := observe(t, e, 7, float64(m), 39.9)
		all = append(all, al...)
	}
	if got := brief(all); got != "7:red>orange@71(threshold)" {
		t.Errorf("alerts %s", got)
	}
}

// TestOutOfOrderReadings: a reading older than the latest never changes the
// value or level; within the window it counts for the trend.
func TestOutOfOrderReadings(t *testing.T) {
	e := newEval(t, sensors.Options{}, depth(1))
	observe(t, e, 1, 10, 20)
	observe(t, e, 1, 20, 20)
	observe(t, e, 1, 30, 35) // yellow
	st := mustState(t, e, layers.WaterloggingSpots, spot)
	if st.Level != sensors.Yellow || st.Trend != sensors.Rising {
		t.Fatalf("state %+v", st)
	}

	// A late red reading: no alert, level and value unchanged.
	_, al := observe(t, e, 1, 25, 70)
	if len(al) != 0 {
		t.Errorf("late reading alerted: %s", brief(al))
	}
	// A late calm one while clearing must not clear either.
	observe(t, e, 1, 41, 0) // below the clear point from minute 41
	_, al = observe(t, e, 1, 35, 0)
	if len(al) != 0 {
		t.Errorf("late reading alerted: %s", brief(al))
	}
	st = mustState(t, e, layers.WaterloggingSpots, spot)
	if st.Level != sensors.Yellow || st.Value != 0 || !st.Time.Equal(at(41)) {
		t.Errorf("state after late readings %+v", st)
	}
	_, al = observe(t, e, 1, 51, 0)
	if brief(al) != "1:yellow>none@51(threshold)" {
		t.Errorf("clearing %s", brief(al))
	}

	// Late readings join the trend: flat for 20 minutes, then one late low value
	// at the start of the window makes it rising.
	e = newEval(t, sensors.Options{}, depth(2))
	for _, m := range []float64{10, 20, 30} {
		observe(t, e, 2, m, 20)
	}
	if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Trend != sensors.Steady {
		t.Fatalf("trend %q", st.Trend)
	}
	ch, al := observe(t, e, 2, 1, 0)
	if len(al) != 0 || len(ch) != 1 || ch[0].Trend != sensors.Rising || ch[0].Value != 20 || !ch[0].Time.Equal(at(30)) {
		t.Errorf("late reading in the window: changes %+v alerts %s", ch, brief(al))
	}
	// Older than anything held: ignored.
	ch, al, err := e.Observe(sensors.Reading{SensorID: 2, Time: at(-600), Value: 500})
	if err != nil || ch != nil || al != nil {
		t.Errorf("very old reading: %v %v %v", ch, al, err)
	}
}

// TestDuplicateReadings: Observe is idempotent on (sensor, time, drill).
func TestDuplicateReadings(t *testing.T) {
	e := newEval(t, sensors.Options{}, depth(1))
	observe(t, e, 1, 0, 10)
	observe(t, e, 1, 5, 40)
	observe(t, e, 1, 10, 20)
	for _, r := range []sensors.Reading{
		{SensorID: 1, Time: at(10), Value: 20}, // the latest again
		{SensorID: 1, Time: at(10), Value: 70}, // the latest's time, another value: the first wins
		{SensorID: 1, Time: at(5), Value: 40},  // an older one again
		{SensorID: 1, Time: at(0), Value: 0},
	} {
		ch, al, err := e.Observe(r)
		if err != nil || len(ch) != 0 || len(al) != 0 {
			t.Errorf("duplicate %+v: %v %v %v", r, ch, al, err)
		}
	}
	st := mustState(t, e, layers.WaterloggingSpots, spot)
	if st.Level != sensors.Yellow || st.Value != 20 {
		t.Errorf("state %+v", st)
	}
	// The same time as a drill reading is another reading.
	if _, al := drill(t, e, 1, 10, 70); brief(al) != "1:none>red@10(threshold)[drill]" {
		t.Errorf("drill at a real reading's time: %s", brief(al))
	}
}

// TestRejectedReadings: impossible readings are typed errors and change nothing.
func TestRejectedReadings(t *testing.T) {
	narrow := depth(2)
	narrow.RangeMin, narrow.RangeMax = 0, 200
	off := depth(3)
	off.Active = false
	e := newEval(t, sensors.Options{}, depth(1), narrow, off)
	observe(t, e, 1, 0, 35)
	e.Tick(at(1))
	for _, tc := range []struct {
		name string
		r    sensors.Reading
		want sensors.RejectReason
	}{
		{"NaN", sensors.Reading{SensorID: 1, Time: at(2), Value: math.NaN()}, sensors.RejectNotFinite},
		{"+Inf", sensors.Reading{SensorID: 1, Time: at(2), Value: math.Inf(1)}, sensors.RejectNotFinite},
		{"-Inf", sensors.Reading{SensorID: 1, Time: at(2), Value: math.Inf(-1)}, sensors.RejectNotFinite},
		{"below the range", sensors.Reading{SensorID: 1, Time: at(2), Value: -0.1}, sensors.RejectOutOfRange},
		{"above the range", sensors.Reading{SensorID: 1, Time: at(2), Value: 1000.5}, sensors.RejectOutOfRange},
		{"above the sensor's own range", sensors.Reading{SensorID: 2, Time: at(2), Value: 250}, sensors.RejectOutOfRange},
		{"unknown sensor", sensors.Reading{SensorID: 99, Time: at(2), Value: 1}, sensors.RejectUnknownSensor},
		{"inactive sensor", sensors.Reading{SensorID: 3, Time: at(2), Value: 1}, sensors.RejectInactive},
		{"zero time", sensors.Reading{SensorID: 1, Value: 1}, sensors.RejectBadTime},
		{"clock reset to 1970", sensors.Reading{SensorID: 1, Time: time.Unix(3600, 0), Value: 1}, sensors.RejectBadTime},
		{"clock in the future", sensors.Reading{SensorID: 1, Time: at(1).Add(6 * time.Minute), Value: 1}, sensors.RejectFuture},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, al, err := e.Observe(tc.r)
			var re *sensors.ReadingError
			if !errors.As(err, &re) || re.Reason != tc.want || re.SensorID != tc.r.SensorID {
				t.Fatalf("got %v, want a ReadingError %s", err, tc.want)
			}
			if ch != nil || al != nil {
				t.Errorf("a rejected reading changed something: %v %v", ch, al)
			}
			if !strings.Contains(err.Error(), "rejected") {
				t.Errorf("message %q", err)
			}
			if tc.want == sensors.RejectOutOfRange && (re.Max <= re.Min || re.Unit != "cm" || !strings.Contains(err.Error(), "cm")) {
				t.Errorf("range not named: %+v", re)
			}
		})
	}
	if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Value != 35 || st.Level != sensors.Yellow {
		t.Errorf("state %+v", st)
	}
	// Within MaxAhead of the latest tick is fine.
	observe(t, e, 1, 5.5, 35)
	// Tick ignores an impossible now; Sensor knows only active sensors.
	if ch, al := e.Tick(time.Time{}); ch != nil || al != nil {
		t.Errorf("zero tick: %v %v", ch, al)
	}
	if _, ok := e.Sensor(3); ok {
		t.Error("Sensor reports an inactive sensor")
	}
}

// TestTrend: rising / steady / falling on synthetic series over the 30-minute
// window; unknown with too few readings.
func TestTrend(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every float64 // minutes
		n     int
		f     func(m float64) float64
		want  sensors.Trend
	}{
		{"+1 cm/min", 1, 31, func(m float64) float64 { return 10 + m }, sensors.Rising},
		{"-1 cm/min", 1, 31, func(m float64) float64 { return 40 - m }, sensors.Falling},
		{"flat", 1, 31, func(float64) float64 { return 12 }, sensors.Steady},
		{"noise ±0.5 cm", 1, 31, func(m float64) float64 { return 12 + 0.5*math.Sin(m*1.7) }, sensors.Steady},
		{"1.5 cm over 30 min, under the 2 cm epsilon", 5, 7, func(m float64) float64 { return 12 + m/20 }, sensors.Steady},
		{"3 cm over 30 min", 5, 7, func(m float64) float64 { return 12 + m/10 }, sensors.Rising},
		{"rising an hour ago, flat for the last 30 min", 1, 91,
			func(m float64) float64 { return min(m, 60) }, sensors.Steady},
		{"two readings", 5, 2, func(m float64) float64 { return m }, sensors.TrendUnknown},
		{"three readings in two minutes", 1, 3, func(m float64) float64 { return 10 * m }, sensors.TrendUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEval(t, sensors.Options{}, depth(1))
			for i := range tc.n {
				m := float64(i) * tc.every
				observe(t, e, 1, m, tc.f(m))
			}
			st := mustState(t, e, layers.WaterloggingSpots, spot)
			if st.Trend != tc.want || st.Sensors[0].Trend != tc.want {
				t.Errorf("trend %q, want %q", st.Trend, tc.want)
			}
		})
	}
}

// TestSilence: no reading for more than 3 × the interval → no_data and an alert;
// the next reading recovers it.
func TestSilence(t *testing.T) {
	t.Run("default interval", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1))
		observe(t, e, 1, 0, 10)
		observe(t, e, 1, 5, 20)
		observe(t, e, 1, 10, 35) // yellow; 2 spacings: the default 5 min interval holds
		if ch, al := e.Tick(at(25)); len(ch)+len(al) != 0 {
			t.Fatalf("silent at exactly 3 intervals: %v %s", ch, brief(al))
		}
		ch, al := e.Tick(at(25).Add(time.Second))
		if len(al) != 1 || al[0].From != sensors.Yellow || al[0].To != sensors.NoData || al[0].Reason != sensors.ReasonNoData ||
			!al[0].Time.Equal(at(25).Add(time.Second)) || al[0].Value != 35 || al[0].ObjectLevel != sensors.NoData {
			t.Fatalf("alerts %+v", al)
		}
		if len(ch) != 1 || ch[0].Level != sensors.NoData || ch[0].LastLevel != sensors.Yellow || ch[0].Trend != sensors.TrendUnknown ||
			ch[0].Sensors[0].Status != sensors.Silent {
			t.Fatalf("changes %+v", ch)
		}
		if ch, al := e.Tick(at(40)); len(ch)+len(al) != 0 {
			t.Errorf("silence alerted twice: %v %s", ch, brief(al))
		}
		ch, al = observe(t, e, 1, 41, 36)
		if brief(al) != "1:no_data>yellow@41(recovered)" || len(ch) != 1 || ch[0].Level != sensors.Yellow || ch[0].Sensors[0].Status != sensors.Live {
			t.Errorf("recovery: %s %+v", brief(al), ch)
		}
	})

	t.Run("interval estimated from the readings", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1))
		for m := 0; m <= 10; m++ {
			observe(t, e, 1, float64(m), 5)
		}
		if s, _ := e.Sensor(1); s.Interval != time.Minute {
			t.Fatalf("interval %v", s.Interval)
		}
		if _, al := e.Tick(at(13)); len(al) != 0 {
			t.Fatalf("silent too early: %s", brief(al))
		}
		if _, al := e.Tick(at(13.1)); brief(al) != "1:none>no_data@13.1(no_data)" {
			t.Errorf("alerts %s", brief(al))
		}
	})

	t.Run("bursts do not shrink the interval below 10 s", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1))
		for i := range 20 {
			observe(t, e, 1, float64(i)/60, 5)
		}
		if s, _ := e.Sensor(1); s.Interval != 10*time.Second {
			t.Errorf("interval %v", s.Interval)
		}
	})

	t.Run("a sensor that never reports", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1))
		if ch, al := e.Tick(at(0)); len(ch)+len(al) != 0 {
			t.Fatalf("%v %v", ch, al)
		}
		if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Level != sensors.None || st.Sensors[0].Status != sensors.Pending {
			t.Fatalf("pending state %+v", st)
		}
		e.Tick(at(15))
		_, al := e.Tick(at(15.5))
		if brief(al) != "1:none>no_data@15.5(no_data)" {
			t.Errorf("alerts %s", brief(al))
		}
		// Its first reading recovers it.
		if _, al := observe(t, e, 1, 16, 0); brief(al) != "1:no_data>none@16(recovered)" {
			t.Errorf("alerts %s", brief(al))
		}
	})

	t.Run("a stale upload does not recover", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1))
		observe(t, e, 1, 0, 35)
		e.Tick(at(60))
		ch, al := observe(t, e, 1, 20, 70) // newer than the latest, but 40 min old
		if len(al) != 0 || len(ch) != 1 || ch[0].Level != sensors.NoData || ch[0].LastLevel != sensors.Red || ch[0].Value != 70 {
			t.Errorf("stale reading: %+v %s", ch, brief(al))
		}
		if _, al := observe(t, e, 1, 59, 70); brief(al) != "1:no_data>red@59(recovered)" {
			t.Errorf("alerts %s", brief(al))
		}
	})

	t.Run("an outage does not clear a level", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1))
		observe(t, e, 1, 0, 65)
		observe(t, e, 1, 5, 0) // starts the hold...
		e.Tick(at(60))         // ...but the sensor falls silent
		var all []sensors.Alert
		for _, m := range []float64{61, 66, 71} {
			e.Tick(at(m))
			_, al := observe(t, e, 1, m, 0)
			all = append(all, al...)
		}
		if got := brief(all); got != "1:no_data>red@61(recovered) 1:red>none@71(threshold)" {
			t.Errorf("alerts %s", got)
		}
	})
}

// TestSeveralSensorsOnOneObject: the worst live sensor decides; a silent sensor
// raises its own alert; all alerting sensors silent is no_data.
func TestSeveralSensorsOnOneObject(t *testing.T) {
	e := newEval(t, sensors.Options{}, depth(1), rain(2))
	observe(t, e, 1, 0, 35) // depth yellow
	ch, al := observe(t, e, 2, 0, 55)
	if brief(al) != "2:none>orange@0(threshold)" || al[0].ObjectLevel != sensors.Orange {
		t.Errorf("alerts %+v", al)
	}
	if len(ch) != 1 || ch[0].Level != sensors.Orange || ch[0].SensorID != 2 || ch[0].Unit != "mm/h" || ch[0].Value != 55 || len(ch[0].Sensors) != 2 {
		t.Errorf("changes %+v", ch)
	}
	_, al = observe(t, e, 1, 1, 65) // depth red
	if brief(al) != "1:yellow>red@1(threshold)" || al[0].ObjectLevel != sensors.Red {
		t.Errorf("alerts %+v", al)
	}
	if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Level != sensors.Red || st.SensorID != 1 || st.Kind != "water_depth_cm" {
		t.Errorf("state %+v", st)
	}
	// Equally severe: the depth sensor is primary (kind priority).
	observe(t, e, 2, 1, 80)
	if st := mustState(t, e, layers.WaterloggingSpots, spot); st.SensorID != 1 {
		t.Errorf("primary %d", st.SensorID)
	}

	// The rain gauge falls silent (interval 5 min by default, readings keep coming
	// from the depth sensor): it alerts alone, the object keeps the depth's level.
	for m := 2.0; m <= 20; m++ {
		observe(t, e, 1, m, 65)
	}
	ch, al = e.Tick(at(20))
	if brief(al) != "2:red>no_data@20(no_data)" || al[0].ObjectLevel != sensors.Red {
		t.Errorf("alerts %+v", al)
	}
	if len(ch) != 1 || ch[0].Level != sensors.Red || ch[0].Sensors[1].Level != sensors.NoData {
		t.Errorf("changes %+v", ch)
	}
	// Both silent: the object is no_data, last red.
	ch, al = e.Tick(at(24))
	if brief(al) != "1:red>no_data@24(no_data)" || al[0].ObjectLevel != sensors.NoData {
		t.Errorf("alerts %+v", al)
	}
	if len(ch) != 1 || ch[0].Level != sensors.NoData || ch[0].LastLevel != sensors.Red {
		t.Errorf("changes %+v", ch)
	}
	// One comes back calm-ish: its level counts, though the other one last said red.
	_, al = observe(t, e, 2, 25, 25)
	if brief(al) != "2:no_data>red@25(recovered)" {
		t.Errorf("alerts %s (the hold restarts after an outage)", brief(al))
	}

	t.Run("record-only sensors", func(t *testing.T) {
		rec := rain(3)
		rec.Thresholds = nil
		e := newEval(t, sensors.Options{}, rec)
		ch, al := observe(t, e, 3, 0, 120)
		if len(al) != 0 || len(ch) != 1 || ch[0].Level != sensors.None || ch[0].Value != 120 || ch[0].Sensors[0].Alerting {
			t.Errorf("%+v %s", ch, brief(al))
		}
		ch, al = e.Tick(at(30))
		if len(al) != 0 || len(ch) != 1 || ch[0].Level != sensors.None || ch[0].Sensors[0].Level != sensors.NoData {
			t.Errorf("silent record-only: %+v %s", ch, brief(al))
		}
		// With an alerting sibling, only the alerting one decides.
		_, _, err := e.SetSensor(depth(1))
		if err != nil {
			t.Fatal(err)
		}
		observe(t, e, 1, 31, 50)
		e.Tick(at(60))
		if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Level != sensors.NoData || st.LastLevel != sensors.Orange || st.SensorID != 1 {
			t.Errorf("state %+v", st)
		}
	})

	t.Run("objects are independent", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1), displacement(5))
		observe(t, e, 5, 0, 45)
		observe(t, e, 1, 0, 1)
		if st := mustState(t, e, layers.Slopes, slope); st.Level != sensors.Red {
			t.Errorf("slope %+v", st)
		}
		if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Level != sensors.None {
			t.Errorf("spot %+v", st)
		}
	})
}

// TestDrill: drill readings build a separate picture whose alerts are marked,
// and never hide or clear real ones.
func TestDrill(t *testing.T) {
	e := newEval(t, sensors.Options{}, depth(1), rain(2))
	observe(t, e, 1, 0, 10)
	ch, al := drill(t, e, 1, 1, 65)
	if brief(al) != "1:none>red@1(threshold)[drill]" || al[0].ObjectLevel != sensors.Red {
		t.Errorf("drill alerts %+v", al)
	}
	if len(ch) != 1 || !ch[0].Drill || ch[0].Level != sensors.Red || len(ch[0].Sensors) != 1 {
		t.Errorf("drill changes %+v", ch)
	}
	if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Level != sensors.None || st.Value != 10 {
		t.Errorf("the drill changed the real state: %+v", st)
	}
	// A real rise during the drill is a real alert, even below the drill's level.
	ch, al = observe(t, e, 1, 2, 50)
	if brief(al) != "1:none>orange@2(threshold)" || al[0].ObjectLevel != sensors.Orange {
		t.Errorf("real alerts %+v", al)
	}
	if len(ch) != 1 || ch[0].Drill || ch[0].Level != sensors.Orange {
		t.Errorf("real changes %+v", ch)
	}
	// A drill "all clear" does not clear the real level.
	for m := 3.0; m <= 20; m++ {
		drill(t, e, 1, m, 0)
	}
	if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Level != sensors.Orange {
		t.Errorf("real level %v", st.Level)
	}
	if st, ok := e.DrillState(layers.WaterloggingSpots, spot); !ok || st.Level != sensors.None {
		t.Errorf("drill state %+v", st)
	}
	// Real readings keep the real sensor live; the drill does not.
	for m := 3.0; m <= 30; m += 5 {
		observe(t, e, 1, m, 50)
	}
	observe(t, e, 2, 30, 0)
	_, al = e.Tick(at(36))
	if brief(al) != "1:none>no_data@36(no_data)[drill]" {
		t.Errorf("drill silence: %s", brief(al))
	}
	if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Level != sensors.Orange {
		t.Errorf("real level %v", st.Level)
	}
	ch = e.EndDrill()
	if len(ch) != 1 || !ch[0].Drill || ch[0].Level != sensors.None || len(ch[0].Sensors) != 0 {
		t.Errorf("end of drill %+v", ch)
	}
	if _, ok := e.DrillState(layers.WaterloggingSpots, spot); ok {
		t.Error("drill state after EndDrill")
	}
	if st := mustState(t, e, layers.WaterloggingSpots, spot); st.Level != sensors.Orange {
		t.Errorf("real level after the drill %v", st.Level)
	}

	t.Run("drill tracks expire", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1))
		drill(t, e, 1, 0, 65)
		if _, al := e.Tick(at(60)); brief(al) != "1:red>no_data@60(no_data)[drill]" {
			t.Errorf("drill silence: %s", brief(al))
		}
		e.Tick(at(120))
		observe(t, e, 1, 120, 0) // the real sensor reports
		ch, al := e.Tick(at(121))
		if len(al) != 0 || len(ch) != 1 || !ch[0].Drill || len(ch[0].Sensors) != 0 {
			t.Errorf("expiry: %+v %s", ch, brief(al))
		}
		if _, ok := e.DrillState(layers.WaterloggingSpots, spot); ok {
			t.Error("drill state after expiry")
		}
	})
}

// TestSetSensor: validation, re-thresholding, moving, deactivating, removing.
func TestSetSensor(t *testing.T) {
	e := newEval(t, sensors.Options{})
	for _, tc := range []struct {
		name, field string
		edit        func(*feature.Sensor)
	}{
		{"id", "ID", func(s *feature.Sensor) { s.ID = 0 }},
		{"kind", "Kind", func(s *feature.Sensor) { s.Kind = "co2_ppm" }},
		{"layer", "Layer", func(s *feature.Sensor) { s.Layer = "roads" }},
		{"kind on layer", "Layer", func(s *feature.Sensor) { s.Layer = layers.Slopes }},
		{"feature", "FeatureID", func(s *feature.Sensor) { s.FeatureID = 0 }},
		{"range order", "Range", func(s *feature.Sensor) { s.RangeMin, s.RangeMax = 5, 5 }},
		{"range NaN", "Range", func(s *feature.Sensor) { s.RangeMax = math.NaN() }},
		{"threshold order", "Thresholds", func(s *feature.Sensor) { s.Thresholds.Orange = 70 }},
		{"threshold NaN", "Thresholds", func(s *feature.Sensor) { s.Thresholds.Blue = math.NaN() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := depth(1)
			tc.edit(&s)
			_, _, err := e.SetSensor(s)
			var se *sensors.SensorError
			if !errors.As(err, &se) || se.Field != tc.field {
				t.Fatalf("got %v, want a SensorError on %s", err, tc.field)
			}
			if _, ok := e.Sensor(s.ID); ok {
				t.Error("an invalid sensor was set")
			}
		})
	}

	t.Run("zero range is the kind's", func(t *testing.T) {
		s := depth(1)
		s.RangeMin, s.RangeMax = 0, 0
		e := newEval(t, sensors.Options{}, s)
		observe(t, e, 1, 0, 1000)
		if _, _, err := e.Observe(sensors.Reading{SensorID: 1, Time: at(1), Value: 1001}); err == nil {
			t.Error("1001 cm accepted")
		}
	})

	t.Run("new thresholds re-evaluate the latest value", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1))
		observe(t, e, 1, 0, 35)
		e.Tick(at(2))
		s := depth(1)
		s.Thresholds = &feature.Thresholds{Blue: 10, Yellow: 20, Orange: 30, Red: 40}
		ch, al, err := e.SetSensor(s)
		if err != nil || brief(al) != "1:yellow>orange@2(config)" || len(ch) != 1 || ch[0].Level != sensors.Orange {
			t.Errorf("%v %s %+v", err, brief(al), ch)
		}
		// Unchanged thresholds: nothing happens.
		ch, al, err = e.SetSensor(s)
		if err != nil || len(ch)+len(al) != 0 {
			t.Errorf("%v %v %v", err, ch, al)
		}
		// Record-only: no alert, the object calms.
		s.Thresholds = nil
		ch, al, _ = e.SetSensor(s)
		if len(al) != 0 || len(ch) != 1 || ch[0].Level != sensors.None {
			t.Errorf("%s %+v", brief(al), ch)
		}
	})

	t.Run("moving, deactivating and removing", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1), depth(2))
		observe(t, e, 1, 0, 65)
		observe(t, e, 2, 0, 5)
		moved := depth(1)
		moved.FeatureID = spot + 1
		ch, al, err := e.SetSensor(moved)
		if err != nil || len(al) != 0 || len(ch) != 2 || ch[0].FeatureID != spot || ch[0].Level != sensors.None ||
			ch[1].FeatureID != spot+1 || ch[1].Level != sensors.Red {
			t.Fatalf("move: %v %s %+v", err, brief(al), ch)
		}
		moved.Active = false
		ch, al, err = e.SetSensor(moved)
		if err != nil || len(al) != 0 || len(ch) != 1 || len(ch[0].Sensors) != 0 {
			t.Fatalf("deactivate: %v %s %+v", err, brief(al), ch)
		}
		if _, ok := e.State(layers.WaterloggingSpots, spot+1); ok {
			t.Error("state of an object without active sensors")
		}
		var re *sensors.ReadingError
		if _, _, err := e.Observe(sensors.Reading{SensorID: 1, Time: at(1), Value: 1}); !errors.As(err, &re) || re.Reason != sensors.RejectInactive {
			t.Errorf("reading of an inactive sensor: %v", err)
		}
		ch = e.RemoveSensor(2)
		if len(ch) != 1 || len(ch[0].Sensors) != 0 || ch[0].FeatureID != spot {
			t.Errorf("remove: %+v", ch)
		}
		if _, ok := e.State(layers.WaterloggingSpots, spot); ok {
			t.Error("state after the last sensor was removed")
		}
		e.RemoveSensor(1)
		if _, _, err := e.Observe(sensors.Reading{SensorID: 1, Time: at(1), Value: 1}); !errors.As(err, &re) || re.Reason != sensors.RejectUnknownSensor {
			t.Errorf("reading of a removed sensor: %v", err)
		}
	})

	t.Run("changing the kind starts afresh", func(t *testing.T) {
		e := newEval(t, sensors.Options{}, depth(1))
		observe(t, e, 1, 0, 65)
		lvl := depth(1)
		lvl.Kind, lvl.RangeMin, lvl.RangeMax = "water_level_m", 0, 0
		ch, al, err := e.SetSensor(lvl)
		if err != nil || len(al) != 0 || len(ch) != 1 || ch[0].Level != sensors.None || ch[0].Sensors[0].Status != sensors.Pending {
			t.Errorf("%v %s %+v", err, brief(al), ch)
		}
	})
}

// TestConcurrentUse: the evaluator may be shared (run with -race).
func TestConcurrentUse(t *testing.T) {
	e := newEval(t, sensors.Options{}, depth(1), rain(2), displacement(3))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				id := int64(g%3 + 1)
				_, _, _ = e.Observe(sensors.Reading{SensorID: id, Time: at(float64(i)), Value: float64(i % 50)})
				if i%50 == 0 {
					e.Tick(at(float64(i)))
				}
				e.State(layers.WaterloggingSpots, spot)
			}
		})
	}
	wg.Wait()
}
