package sensors_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"riskmap/layers"
	"riskmap/sensors"
)

// TestLevelsMatchRegistry: a Level's value is its registry rank and its code the
// registry's code; NoData is no registry level.
func TestLevelsMatchRegistry(t *testing.T) {
	reg := layers.New()
	levels := reg.WarningLevels()
	for _, c := range levels.Choices {
		l, err := sensors.ParseLevel(c.Code)
		if err != nil {
			t.Fatal(err)
		}
		if int(l) != levels.Rank(c.Code) || l.Code() != c.Code || !l.OnScale() {
			t.Errorf("level %q: got %d %q, registry rank %d", c.Code, l, l.Code(), levels.Rank(c.Code))
		}
	}
	if levels.Has(sensors.NoData.Code()) || sensors.NoData.OnScale() || !sensors.NoData.Valid() {
		t.Error("NoData must be valid, off the scale and no registry level")
	}
	if l, err := sensors.ParseLevel("no_data"); err != nil || l != sensors.NoData {
		t.Errorf("ParseLevel(no_data) = %v, %v", l, err)
	}
	if _, err := sensors.ParseLevel("purple"); err == nil {
		t.Error("ParseLevel(purple) succeeded")
	}
	b, err := json.Marshal([]sensors.Level{sensors.None, sensors.Red, sensors.NoData})
	if err != nil || string(b) != `["none","red","no_data"]` {
		t.Errorf("JSON %s, %v", b, err)
	}
	var back []sensors.Level
	if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(back, []sensors.Level{sensors.None, sensors.Red, sensors.NoData}) {
		t.Errorf("JSON round trip %v, %v", back, err)
	}
	if _, err := json.Marshal(sensors.Level(9)); err == nil {
		t.Error("an invalid level was encoded")
	}
}

// TestTrendsMatchRegistry: the trend codes are those of the spots' trend field.
func TestTrendsMatchRegistry(t *testing.T) {
	codes := layers.New().FieldCodes("trend")
	for _, tr := range []sensors.Trend{sensors.Rising, sensors.Steady, sensors.Falling} {
		if !slices.Contains(codes, string(tr)) {
			t.Errorf("trend %q not in the registry's %v", tr, codes)
		}
	}
}

func TestOptions(t *testing.T) {
	e := newEval(t, sensors.Options{})
	got, want := e.Options(), sensors.DefaultOptions()
	if got.ClearMargin != want.ClearMargin || got.ClearHold != want.ClearHold || got.TrendWindow != want.TrendWindow ||
		got.SilentMultiple != want.SilentMultiple || got.DefaultInterval["tilt_deg"] != 10*time.Minute ||
		got.ClearMarginByKind["water_level_m"] != 0.05 || got.MaxHistory != 512 {
		t.Errorf("resolved options %+v", got)
	}
	e = newEval(t, sensors.Options{TrendEpsilon: map[string]float64{"tilt_deg": 0.5}, DefaultInterval: map[string]time.Duration{"rainfall_mm_h": time.Minute}})
	got = e.Options()
	if got.TrendEpsilon["tilt_deg"] != 0.5 || got.TrendEpsilon["water_depth_cm"] != 2 || got.DefaultInterval["rainfall_mm_h"] != time.Minute ||
		got.DefaultInterval["tilt_deg"] != 10*time.Minute {
		t.Errorf("maps are not merged over the defaults: %+v", got)
	}

	for _, tc := range []struct {
		name, option string
		opt          sensors.Options
	}{
		{"margin ≥ 1", "ClearMargin", sensors.Options{ClearMargin: 1}},
		{"negative margin", "ClearMargin", sensors.Options{ClearMargin: -0.1}},
		{"unknown kind", "ClearMarginByKind[co2_ppm]", sensors.Options{ClearMarginByKind: map[string]float64{"co2_ppm": 1}}},
		{"negative abs margin", "ClearMarginByKind[tilt_deg]", sensors.Options{ClearMarginByKind: map[string]float64{"tilt_deg": -1}}},
		{"zero epsilon", "TrendEpsilon[tilt_deg]", sensors.Options{TrendEpsilon: map[string]float64{"tilt_deg": 0}}},
		{"multiple < 1", "SilentMultiple", sensors.Options{SilentMultiple: 0.5}},
		{"negative hold", "ClearHold", sensors.Options{ClearHold: -time.Second}},
		{"zero interval", "DefaultInterval[water_level_m]", sensors.Options{DefaultInterval: map[string]time.Duration{"water_level_m": 0}}},
		{"few samples", "IntervalSamples", sensors.Options{IntervalSamples: 2}},
		{"short history", "MaxHistory", sensors.Options{MaxHistory: 5}},
		{"priority twice", "KindPriority[1]", sensors.Options{KindPriority: []string{"tilt_deg", "tilt_deg"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sensors.NewEvaluator(layers.New(), tc.opt)
			var oe *sensors.OptionError
			if !errors.As(err, &oe) || oe.Option != tc.option {
				t.Fatalf("got %v, want an OptionError on %s", err, tc.option)
			}
		})
	}
}
