package sensors_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/sensors"
)

// t0 is the start of every synthetic series: the morning typhoon Yagi passed
// Shenzhen.
var t0 = time.Date(2024, 9, 6, 8, 0, 0, 0, time.UTC)

// at is t0 plus m minutes.
func at(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }

const spot, slope = 101, 201

// depth is a water-depth sensor on the spot: 15/30/45/60 cm (the demo's
// thresholds for a 30 cm warning depth), range 0–1000 cm.
func depth(id int64) feature.Sensor {
	return feature.Sensor{ID: id, ExternalID: fmt.Sprintf("SN-%05d", id), Kind: "water_depth_cm",
		Layer: layers.WaterloggingSpots, FeatureID: spot,
		Thresholds: &feature.Thresholds{Blue: 15, Yellow: 30, Orange: 45, Red: 60},
		RangeMin:   0, RangeMax: 1000, Active: true}
}

// rain is a rain gauge on the spot: 20/30/50/70 mm/h.
func rain(id int64) feature.Sensor {
	return feature.Sensor{ID: id, ExternalID: fmt.Sprintf("SN-%05d", id), Kind: "rainfall_mm_h",
		Layer: layers.WaterloggingSpots, FeatureID: spot,
		Thresholds: &feature.Thresholds{Blue: 20, Yellow: 30, Orange: 50, Red: 70},
		RangeMin:   0, RangeMax: 500, Active: true}
}

// displacement is a displacement sensor on the slope: 5/10/20/40 mm.
func displacement(id int64) feature.Sensor {
	return feature.Sensor{ID: id, ExternalID: fmt.Sprintf("SN-%05d", id), Kind: "displacement_mm",
		Layer: layers.Slopes, FeatureID: slope,
		Thresholds: &feature.Thresholds{Blue: 5, Yellow: 10, Orange: 20, Red: 40},
		RangeMin:   -2000, RangeMax: 2000, Active: true}
}

func newEval(t testing.TB, opt sensors.Options, ss ...feature.Sensor) *sensors.Evaluator {
	t.Helper()
	e, err := sensors.NewEvaluator(layers.New(), opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if _, _, err := e.SetSensor(s); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// observe feeds a reading that must be accepted.
func observe(t testing.TB, e *sensors.Evaluator, id int64, m, v float64) ([]sensors.ObjectState, []sensors.Alert) {
	t.Helper()
	ch, al, err := e.Observe(sensors.Reading{SensorID: id, Time: at(m), Value: v})
	if err != nil {
		t.Fatal(err)
	}
	return ch, al
}

func drill(t testing.TB, e *sensors.Evaluator, id int64, m, v float64) ([]sensors.ObjectState, []sensors.Alert) {
	t.Helper()
	ch, al, err := e.Observe(sensors.Reading{SensorID: id, Time: at(m), Value: v, Drill: true})
	if err != nil {
		t.Fatal(err)
	}
	return ch, al
}

func mustState(t testing.TB, e *sensors.Evaluator, layer string, id int64) sensors.ObjectState {
	t.Helper()
	st, ok := e.State(layer, id)
	if !ok {
		t.Fatalf("no state for %s %d", layer, id)
	}
	return st
}

// brief writes alerts as "sensor:from>to@minute(reason)[drill]" for comparisons.
func brief(al []sensors.Alert) string {
	var parts []string
	for _, a := range al {
		s := fmt.Sprintf("%d:%s>%s@%g(%s)", a.SensorID, a.From, a.To, a.Time.Sub(t0).Minutes(), a.Reason)
		if a.Drill {
			s += "[drill]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}
