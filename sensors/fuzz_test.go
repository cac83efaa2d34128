package sensors_test

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/sensors"
)

// FuzzEvaluator feeds random sequences of readings (late, duplicated, drill,
// impossible), ticks, reconfigurations, removals and drill ends, and checks after
// every call:
//
//   - no panic; errors are *ReadingError only, and a rejected call changes nothing;
//   - every level is on the scale or NoData; an alert's From ≠ To; a sensor's
//     alerts chain (From = the level before, the last To = the level after);
//   - Observe and Tick never change an alerting sensor's level without an alert;
//   - a repeated reading changes nothing;
//   - each object's level is the rule applied to its sensors, and every change
//     returned is the state State then reports.
func FuzzEvaluator(f *testing.F) {
	f.Add([]byte{0, 1, 200, 0, 0, 1, 10, 1, 5, 60, 0, 1, 0, 1, 4, 0, 5, 200})
	f.Add([]byte{0x80, 1, 250, 0, 1, 2, 100, 3, 1, 4, 100, 5, 40, 5, 40, 5, 40, 7, 0, 6, 1})
	f.Add([]byte{0, 5, 255, 0, 0, 5, 254, 0, 0, 3, 90, 0x81, 2, 100, 1, 0xF8, 1, 20, 6, 7, 6, 3, 7, 1, 5, 255})
	f.Add([]byte{1, 1, 120, 1, 2, 1, 130, 2, 3, 1, 140, 250, 0, 1, 60, 3, 4, 0, 6, 0, 6, 2, 6, 4, 5, 10})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4000 {
			return
		}
		record := rain(3)
		record.Thresholds = nil
		tilt := feature.Sensor{ID: 5, Kind: "tilt_deg", Layer: layers.Slopes, FeatureID: slope,
			Thresholds: &feature.Thresholds{Blue: 0.5, Yellow: 1, Orange: 2, Red: 3}, RangeMin: -90, RangeMax: 90, Active: true}
		base := []feature.Sensor{depth(1), rain(2), record, displacement(4), tilt}
		e := newEval(t, sensors.Options{ClearHold: 3 * time.Minute, TrendWindow: 10 * time.Minute, IntervalSamples: 4, MaxHistory: 8}, base...)
		scale := map[int64]float64{1: 0.5, 2: 0.5, 3: 0.5, 4: 0.3, 5: 0.02}
		cur := map[int64]feature.Sensor{}
		for _, s := range base {
			cur[s.ID] = s
		}

		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		clock := t0
		var last *sensors.Reading
		for len(data) > 0 {
			op := next()
			before := levels(e, cur)
			var ch []sensors.ObjectState
			var al []sensors.Alert
			strict := false // Observe and Tick: no level change without an alert
			if op%8 >= 5 {
				last = nil // tracks may have been dropped: a reading would be new again
			}
			switch op % 8 {
			case 0, 1, 2, 3:
				id := int64(next()%6) + 1 // 6 is unknown
				clock = clock.Add(time.Duration(int8(next())) * 30 * time.Second)
				vb := next()
				v := (float64(vb) - 20) * scale[id]
				switch vb {
				case 255:
					v = math.NaN()
				case 254:
					v = 1e9
				}
				r := sensors.Reading{SensorID: id, Time: clock, Value: v, Drill: op&0x80 != 0}
				var err error
				ch, al, err = e.Observe(r)
				if err != nil {
					var re *sensors.ReadingError
					if !errors.As(err, &re) {
						t.Fatalf("error %v is no ReadingError", err)
					}
					if ch != nil || al != nil {
						t.Fatalf("rejected reading changed something: %v %v", ch, al)
					}
				} else {
					last = &r
				}
				strict = true
			case 4:
				if last != nil {
					c, a, err := e.Observe(*last)
					if err != nil || len(c)+len(a) != 0 {
						t.Fatalf("repeated reading %+v: %v %v %v", *last, c, a, err)
					}
				}
			case 5:
				ch, al = e.Tick(clock.Add(time.Duration(next()) * 30 * time.Second))
				strict = true
			case 6:
				id := int64(next()%5) + 1
				s, ok := cur[id]
				if !ok { // removed: set it again
					s = base[id-1]
				}
				switch b := next(); b % 4 {
				case 0:
					s.Active = !s.Active
				case 1:
					if s.FeatureID%2 == 1 {
						s.FeatureID++
					} else {
						s.FeatureID--
					}
				case 2:
					if s.Thresholds != nil {
						k := 1 + float64(b)/128
						s.Thresholds = &feature.Thresholds{Blue: s.Thresholds.Blue * k, Yellow: s.Thresholds.Yellow * k,
							Orange: s.Thresholds.Orange * k, Red: s.Thresholds.Red * k}
					}
				case 3:
					s.Thresholds = nil
				}
				var err error
				ch, al, err = e.SetSensor(s)
				if err != nil {
					t.Fatal(err)
				}
				cur[s.ID] = s
			case 7:
				if b := next(); b%2 == 0 {
					ch = e.EndDrill()
				} else {
					id := int64(b%10)/2 + 1
					ch = e.RemoveSensor(id)
					delete(cur, id)
					if b%4 == 1 { // back again, fresh
						checkChanges(t, e, ch)
						for _, s := range base {
							if s.ID == id {
								cur[id] = s
								var err error
								if ch, al, err = e.SetSensor(s); err != nil || len(al) != 0 {
									t.Fatal(err, al)
								}
							}
						}
					}
				}
			}
			after := levels(e, cur)
			checkAlerts(t, al, before, after, strict)
			checkChanges(t, e, ch)
			checkObjects(t, e, cur)
		}
	})
}

type trackKey struct {
	id    int64
	drill bool
}

// levels maps each alerting sensor track to its level.
func levels(e *sensors.Evaluator, cur map[int64]feature.Sensor) map[trackKey]sensors.Level {
	out := map[trackKey]sensors.Level{}
	for id, s := range cur {
		if st, ok := e.Sensor(id); ok && st.Alerting {
			out[trackKey{id, false}] = st.Level
		}
		if ds, ok := e.DrillState(s.Layer, s.FeatureID); ok {
			for _, ss := range ds.Sensors {
				if ss.SensorID == id && ss.Alerting {
					out[trackKey{id, true}] = ss.Level
				}
			}
		}
	}
	return out
}

func checkAlerts(t *testing.T, al []sensors.Alert, before, after map[trackKey]sensors.Level, strict bool) {
	t.Helper()
	running := map[trackKey]sensors.Level{}
	for _, a := range al {
		if !a.From.Valid() || !a.To.Valid() || !a.ObjectLevel.Valid() || a.From == a.To {
			t.Fatalf("bad alert %+v", a)
		}
		switch a.Reason {
		case sensors.ReasonThreshold, sensors.ReasonNoData, sensors.ReasonRecovered, sensors.ReasonConfig:
		default:
			t.Fatalf("bad reason %+v", a)
		}
		k := trackKey{a.SensorID, a.Drill}
		prev, ok := running[k]
		if !ok {
			prev, ok = before[k]
			if !ok {
				prev = sensors.None // a new drill track
			}
		}
		if a.From != prev {
			t.Fatalf("alert %+v does not start from the level before, %v", a, prev)
		}
		running[k] = a.To
	}
	for k, to := range running {
		if got, ok := after[k]; ok && got != to {
			t.Fatalf("sensor %+v: last alert to %v, level now %v", k, to, got)
		}
	}
	if !strict {
		return
	}
	for k, b := range before {
		if _, alerted := running[k]; alerted {
			continue
		}
		if a, ok := after[k]; ok && a != b {
			t.Fatalf("sensor %+v went %v → %v without an alert", k, b, a)
		}
	}
	for k, a := range after {
		if _, ok := before[k]; !ok && a != sensors.None {
			if _, alerted := running[k]; !alerted {
				t.Fatalf("new track %+v at %v without an alert", k, a)
			}
		}
	}
}

func checkChanges(t *testing.T, e *sensors.Evaluator, ch []sensors.ObjectState) {
	t.Helper()
	type objWorld struct {
		layer string
		id    int64
		drill bool
	}
	seen := map[objWorld]bool{}
	for _, c := range ch {
		k := objWorld{c.Layer, c.FeatureID, c.Drill}
		if seen[k] {
			t.Fatalf("two changes of one object in one call: %+v", ch)
		}
		seen[k] = true
		checkState(t, c)
		var st sensors.ObjectState
		var ok bool
		if c.Drill {
			st, ok = e.DrillState(c.Layer, c.FeatureID)
		} else {
			st, ok = e.State(c.Layer, c.FeatureID)
		}
		if ok != (len(c.Sensors) > 0) || ok && (st.Level != c.Level || st.Value != c.Value || st.SensorID != c.SensorID || st.Trend != c.Trend || len(st.Sensors) != len(c.Sensors)) {
			t.Fatalf("change %+v, state %+v (%v)", c, st, ok)
		}
	}
}

func checkObjects(t *testing.T, e *sensors.Evaluator, cur map[int64]feature.Sensor) {
	t.Helper()
	for _, o := range []struct {
		layer string
		id    int64
	}{{layers.WaterloggingSpots, spot}, {layers.WaterloggingSpots, spot + 1}, {layers.Slopes, slope}, {layers.Slopes, slope + 1}} {
		for _, drill := range []bool{false, true} {
			st, ok := e.State(o.layer, o.id)
			if drill {
				st, ok = e.DrillState(o.layer, o.id)
			}
			if !ok {
				continue
			}
			checkState(t, st)
			want, alerting, live := sensors.None, false, false
			for _, s := range st.Sensors {
				if cs, ok := cur[s.SensorID]; !ok || !cs.Active || cs.Layer != o.layer || cs.FeatureID != o.id {
					t.Fatalf("object %s %d lists sensor %d not on it", o.layer, o.id, s.SensorID)
				}
				if s.Alerting {
					alerting = true
					if s.Status != sensors.Silent {
						live = true
						want = max(want, s.Level)
					}
				}
			}
			if alerting && !live {
				want = sensors.NoData
			}
			if st.Level != want {
				t.Fatalf("object level %v, its sensors say %v: %+v", st.Level, want, st)
			}
		}
	}
}

func checkState(t *testing.T, st sensors.ObjectState) {
	t.Helper()
	if !st.Level.Valid() || !st.LastLevel.OnScale() || st.Level != sensors.NoData && st.Level != st.LastLevel {
		t.Fatalf("bad levels %+v", st)
	}
	if !slices.IsSortedFunc(st.Sensors, func(a, b sensors.SensorState) int { return int(a.SensorID - b.SensorID) }) {
		t.Fatalf("sensors out of order %+v", st)
	}
	for _, s := range st.Sensors {
		if !s.Level.Valid() || !s.LastLevel.OnScale() || (s.Level == sensors.NoData) != (s.Status == sensors.Silent) {
			t.Fatalf("bad sensor state %+v", s)
		}
		if !s.Alerting && s.Level != sensors.None && s.Level != sensors.NoData {
			t.Fatalf("record-only sensor with a level %+v", s)
		}
	}
	switch st.Trend {
	case sensors.TrendUnknown, sensors.Rising, sensors.Steady, sensors.Falling:
	default:
		t.Fatalf("bad trend %+v", st)
	}
}
