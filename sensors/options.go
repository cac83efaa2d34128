package sensors

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"riskmap/layers"
)

// Options tune the evaluator. The zero value of every field selects its default
// (DefaultOptions lists them); NewEvaluator rejects impossible values with an
// *OptionError.
type Options struct {
	// ClearMargin is the hysteresis margin as a fraction of the threshold's
	// magnitude: a level k is only cleared by values below
	// threshold_k − ClearMargin × |threshold_k|. Default 0.05 (5 %); 0 ≤ x < 1.
	ClearMargin float64
	// ClearMarginByKind gives, per sensor kind code, an absolute margin in the
	// kind's unit that replaces the fraction for that kind. It exists for kinds
	// whose zero is an arbitrary datum: a reservoir's flood-limit level of 40 m
	// above datum would otherwise get a 2 m margin. nil selects the default,
	// {"water_level_m": 0.05} (5 cm); a non-nil map is used as given, so an empty
	// map means "the fraction everywhere". Values ≥ 0.
	ClearMarginByKind map[string]float64
	// ClearHold is how long the values must stay below a level's clear point before
	// the level drops (measured in reading time: the drop happens at the first
	// reading at least ClearHold after the first reading below). Default 10 min.
	ClearHold time.Duration
	// TrendWindow is the span of readings, ending at the sensor's latest reading,
	// over which the trend is fitted. Default 30 min.
	TrendWindow time.Duration
	// TrendEpsilon is, per sensor kind code, the change over TrendWindow (in the
	// kind's unit) below which a trend is steady. Entries override the defaults kind
	// by kind: displacement_mm 1 mm, tilt_deg 0.1 deg, rainfall_mm_h 5 mm/h,
	// water_depth_cm 2 cm, water_level_m 0.05 m; a kind with no entry anywhere gets
	// 0.5 % of its registry range. Values > 0.
	TrendEpsilon map[string]float64
	// SilentMultiple: a sensor is silent once it has not reported for longer than
	// SilentMultiple × its reporting interval. Default 3; ≥ 1.
	SilentMultiple float64
	// DefaultInterval is, per sensor kind code, the reporting interval assumed
	// until a sensor has reported often enough to estimate its own (see
	// IntervalSamples). Entries override the defaults kind by kind:
	// displacement_mm and tilt_deg 10 min, rainfall_mm_h, water_depth_cm and
	// water_level_m 5 min; any other kind 5 min. Values > 0.
	DefaultInterval map[string]time.Duration
	// IntervalSamples is how many of the latest spacings between a sensor's
	// readings give its estimated interval (their median); at least 3 spacings are
	// needed, before that the kind's DefaultInterval holds. Default 10.
	IntervalSamples int
	// MinInterval is the least estimated interval, so that a burst of readings
	// does not make a sensor "silent" seconds later. Default 10 s.
	MinInterval time.Duration
	// MaxHistory bounds the readings kept per sensor and track (for the trend and
	// the interval): a sensor reporting faster than TrendWindow / MaxHistory has
	// its trend fitted over its latest MaxHistory readings. Default 512; at least
	// IntervalSamples + 1.
	MaxHistory int
	// MaxAhead is how far a reading's time may lie after the latest Tick before it
	// is rejected (a wrong device clock would otherwise freeze the sensor: every
	// later true reading would look older). No check before the first Tick.
	// Default 5 min.
	MaxAhead time.Duration
	// DrillExpiry: a drill track with no drill reading for this long is dropped at
	// Tick, without an alert, as if EndDrill had been called for it. Default 2 h.
	DrillExpiry time.Duration
	// KindPriority orders sensor kinds when choosing an object's primary sensor
	// among equally severe ones (first = preferred). Kinds not listed come after,
	// by code. Default: water_depth_cm, water_level_m, displacement_mm, tilt_deg,
	// rainfall_mm_h.
	KindPriority []string
}

// DefaultOptions returns the options with every default filled in (new maps and
// slices, the caller's to change).
func DefaultOptions() Options {
	return Options{
		ClearMargin:       0.05,
		ClearMarginByKind: map[string]float64{"water_level_m": 0.05},
		ClearHold:         10 * time.Minute,
		TrendWindow:       30 * time.Minute,
		TrendEpsilon: map[string]float64{
			"displacement_mm": 1, "tilt_deg": 0.1, "rainfall_mm_h": 5, "water_depth_cm": 2, "water_level_m": 0.05,
		},
		SilentMultiple: 3,
		DefaultInterval: map[string]time.Duration{
			"displacement_mm": 10 * time.Minute, "tilt_deg": 10 * time.Minute,
			"rainfall_mm_h": 5 * time.Minute, "water_depth_cm": 5 * time.Minute, "water_level_m": 5 * time.Minute,
		},
		IntervalSamples: 10,
		MinInterval:     10 * time.Second,
		MaxHistory:      512,
		MaxAhead:        5 * time.Minute,
		DrillExpiry:     2 * time.Hour,
		KindPriority:    []string{"water_depth_cm", "water_level_m", "displacement_mm", "tilt_deg", "rainfall_mm_h"},
	}
}

// fallbackInterval is the default interval of a kind DefaultInterval does not name.
const fallbackInterval = 5 * time.Minute

// OptionError is an impossible option value.
type OptionError struct {
	Option string // field name, with the map key: "TrendEpsilon[tilt_deg]"
	Reason string
}

func (e *OptionError) Error() string { return "sensors: option " + e.Option + ": " + e.Reason }

// resolve fills defaults into o and validates it against the registry's kinds.
func (o Options) resolve(reg *layers.Registry) (Options, error) {
	d := DefaultOptions()
	bad := func(opt, format string, a ...any) (Options, error) {
		return Options{}, &OptionError{Option: opt, Reason: fmt.Sprintf(format, a...)}
	}
	kindKnown := func(k string) bool { _, ok := reg.SensorKind(k); return ok }

	if o.ClearMargin == 0 {
		o.ClearMargin = d.ClearMargin
	}
	if !(o.ClearMargin >= 0 && o.ClearMargin < 1) {
		return bad("ClearMargin", "%v is not a fraction in [0, 1)", o.ClearMargin)
	}
	if o.ClearMarginByKind == nil {
		o.ClearMarginByKind = d.ClearMarginByKind
	} else {
		o.ClearMarginByKind = maps.Clone(o.ClearMarginByKind)
	}
	for _, k := range slices.Sorted(maps.Keys(o.ClearMarginByKind)) {
		v := o.ClearMarginByKind[k]
		if !kindKnown(k) {
			return bad("ClearMarginByKind["+k+"]", "unknown sensor kind")
		}
		if !(v >= 0) || math.IsInf(v, 0) {
			return bad("ClearMarginByKind["+k+"]", "%v is not a finite margin ≥ 0", v)
		}
	}
	eps := d.TrendEpsilon
	for _, k := range slices.Sorted(maps.Keys(o.TrendEpsilon)) {
		v := o.TrendEpsilon[k]
		if !kindKnown(k) {
			return bad("TrendEpsilon["+k+"]", "unknown sensor kind")
		}
		if !(v > 0) || math.IsInf(v, 0) {
			return bad("TrendEpsilon["+k+"]", "%v is not a finite change > 0", v)
		}
		eps[k] = v
	}
	o.TrendEpsilon = eps
	ivl := d.DefaultInterval
	for _, k := range slices.Sorted(maps.Keys(o.DefaultInterval)) {
		v := o.DefaultInterval[k]
		if !kindKnown(k) {
			return bad("DefaultInterval["+k+"]", "unknown sensor kind")
		}
		if v <= 0 {
			return bad("DefaultInterval["+k+"]", "%v is not > 0", v)
		}
		ivl[k] = v
	}
	o.DefaultInterval = ivl
	if o.SilentMultiple == 0 {
		o.SilentMultiple = d.SilentMultiple
	}
	if !(o.SilentMultiple >= 1) || math.IsInf(o.SilentMultiple, 0) {
		return bad("SilentMultiple", "%v is not a finite multiple ≥ 1", o.SilentMultiple)
	}
	durations := []struct {
		name   string
		v      *time.Duration
		defaul time.Duration
	}{
		{"ClearHold", &o.ClearHold, d.ClearHold},
		{"TrendWindow", &o.TrendWindow, d.TrendWindow},
		{"MinInterval", &o.MinInterval, d.MinInterval},
		{"MaxAhead", &o.MaxAhead, d.MaxAhead},
		{"DrillExpiry", &o.DrillExpiry, d.DrillExpiry},
	}
	for _, x := range durations {
		if *x.v == 0 {
			*x.v = x.defaul
		}
		if *x.v < 0 {
			return bad(x.name, "%v is negative", *x.v)
		}
	}
	if o.IntervalSamples == 0 {
		o.IntervalSamples = d.IntervalSamples
	}
	if o.IntervalSamples < 3 {
		return bad("IntervalSamples", "%d is less than 3", o.IntervalSamples)
	}
	if o.MaxHistory == 0 {
		o.MaxHistory = max(d.MaxHistory, o.IntervalSamples+1)
	}
	if o.MaxHistory < o.IntervalSamples+1 {
		return bad("MaxHistory", "%d is less than IntervalSamples + 1 = %d", o.MaxHistory, o.IntervalSamples+1)
	}
	if o.KindPriority == nil {
		o.KindPriority = d.KindPriority
	} else {
		o.KindPriority = slices.Clone(o.KindPriority)
	}
	for i, k := range o.KindPriority {
		if !kindKnown(k) {
			return bad(fmt.Sprintf("KindPriority[%d]", i), "unknown sensor kind %q", k)
		}
		if slices.Index(o.KindPriority, k) != i {
			return bad(fmt.Sprintf("KindPriority[%d]", i), "sensor kind %q listed twice", k)
		}
	}
	return o, nil
}
