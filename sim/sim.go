// Package sim is the storm simulator's model: a deterministic weather scenario
// (a rain band crossing the district) and what the district's sensors read under
// it — rain gauges, water depth at waterlogging spots, water levels at storm-drain
// nodes and reservoirs, displacement and tilt of slopes.
//
// It is pure: no I/O, no network, no clock. Time is simulated time since the start
// of the scenario; the caller maps it to wall-clock time. The same scenario, sensors
// and seed always give the same readings, however the caller steps through them.
//
// The model integrates, on a one-minute grid, one state per monitored object:
//
//   - rain (mm/h) at the object's point, from the scenario's rain field;
//   - water depth at a spot (cm): runoff of the rain above the spot's drainage
//     capacity flows in (through a catchment delay for residential areas), and
//     drains away exponentially. Underpasses have the least capacity and the
//     fastest, largest inflow; low roads follow; residential areas fill later and
//     less;
//   - the level in a storm drain (m) follows the rain with a 25-minute lag;
//   - a reservoir's level (m) rises slowly with its catchment's rain (a 2-hour
//     delay) and is released over about half a day;
//   - a slope's pore-water index (mm) is the rain of the last hours (4-hour
//     decay); above 40 mm a susceptible slope creeps, faster the wetter it is.
//     Susceptibility is drawn per slope from the seed: about a third of natural
//     slopes and a tenth of building slopes creep at all. Displacement (mm) is
//     cumulative and never recovers; tilt (deg, magnitude) grows with it.
//
// Each sensor reports at its kind's interval (sensors.DefaultOptions: 5 min for
// rain and water, 10 min for displacement and tilt) at a phase drawn per sensor,
// with measurement noise, rounded like a device and clamped to its range. See
// docs/simulator.md for the figures.
package sim

import (
	"fmt"
	"math"
	"sort"
	"time"

	"riskmap/feature"
	"riskmap/sensors"
)

// Step is the model's integration step and the grid every reading lies on.
const Step = time.Minute

// Sensor is a sensor the model simulates, with what the model needs to know of the
// object it is attached to.
type Sensor struct {
	ID         int64
	ExternalID string
	// Kind is a sensor kind code (layers.SensorKind): rainfall_mm_h,
	// water_depth_cm, water_level_m, displacement_mm or tilt_deg.
	Kind string
	// Layer and FeatureID name the monitored object; sensors of one object share
	// its state (a slope's tilt follows its displacement). FeatureID 0 makes the
	// sensor an object of its own.
	Layer     string
	FeatureID int64
	// ObjectKind is the object's kind: a waterlogging spot kind (underpass,
	// low_road, residential, reservoir, drain_node, other) or a slope kind
	// (natural_slope, building_slope).
	ObjectKind string
	// Lon and Lat are the object's representative point, WGS84 degrees.
	Lon, Lat float64
	// Thresholds may be nil; a reservoir's level is placed below its thresholds.
	Thresholds *feature.Thresholds
	// RangeMin and RangeMax bound every value the model gives the sensor.
	RangeMin, RangeMax float64
}

// Reading is one simulated reading: sensor, simulated time since the scenario's
// start (a multiple of Step), value in the kind's unit.
type Reading struct {
	SensorID int64
	At       time.Duration
	Value    float64
}

// Sensor kind codes the model knows.
const (
	KindRainfall     = "rainfall_mm_h"
	KindWaterDepth   = "water_depth_cm"
	KindWaterLevel   = "water_level_m"
	KindDisplacement = "displacement_mm"
	KindTilt         = "tilt_deg"
)

// Interval is the reporting interval of a sensor kind: the evaluator's default for
// it (sensors.DefaultOptions), 5 min for a kind it does not name.
func Interval(kind string) time.Duration {
	if d, ok := sensors.DefaultOptions().DefaultInterval[kind]; ok {
		return d
	}
	return 5 * time.Minute
}

// spotParams is how a waterlogging spot of one kind fills and drains.
type spotParams struct {
	capacity float64 // mm/h of rain the drainage takes without ponding
	gain     float64 // cm/h of inflow per mm/h of rain above capacity
	leak     float64 // cm/h of inflow per mm/h of rain below capacity too
	drain    float64 // h: time constant of draining
	lag      float64 // h: catchment delay of the inflow (0: none)
}

var spotKinds = map[string]spotParams{
	"underpass":   {capacity: 12, gain: 2.2, leak: 0.04, drain: 0.6},
	"low_road":    {capacity: 16, gain: 1.2, leak: 0.03, drain: 0.8, lag: 0.2},
	"residential": {capacity: 22, gain: 0.9, leak: 0.02, drain: 1.2, lag: 0.7},
	"other":       {capacity: 22, gain: 0.8, leak: 0.02, drain: 1.0, lag: 0.4},
}

// Further constants of the model (docs/simulator.md).
const (
	drainGain   = 0.024 // m of drain level per mm/h of rain, at equilibrium
	drainLag    = 25.0 / 60
	resDelay    = 2.0   // h: catchment delay of a reservoir's inflow
	resGain     = 0.014 // m of level per mm of catchment rain
	resRelease  = 12.0  // h: time constant of releasing a rise
	resBelow    = 0.9   // m: a reservoir starts this far below its blue threshold
	resDefault  = 10.0  // m: start of a reservoir level without thresholds
	poreDecay   = 4.0   // h
	poreOnset   = 30.0  // mm: pore-water index where creep starts
	poreScale   = 50.0  // mm
	tiltPerMM   = 0.02  // deg of tilt per mm of creep
	stepHours   = 1.0 / 60
	metersPerLa = 110_760.0 // meters per degree of latitude near 22.6°N
)

// object is the state of one monitored object.
type object struct {
	lon, lat float64
	kind     string
	x, y     float64 // m east and north of the district's center
	// per-object factors drawn from the seed
	catchment float64 // multiplies inflow and reservoir gain
	suscept   float64 // slope creep, mm/h at poreScale above onset
	// state
	rain    float64 // mm/h at this step
	inflow  float64 // cm/h after the catchment delay
	depth   float64 // cm
	drainLv float64 // m above the drain's base
	resIn   float64 // mm/h after the reservoir's delay
	resRise float64 // m above the start
	pore    float64 // mm
	creep   float64 // mm
}

type simSensor struct {
	Sensor
	obj      int
	interval int64 // in steps
	phase    int64 // in steps
	base     float64
}

// Model simulates a scenario over a set of sensors. It is not safe for concurrent
// use.
type Model struct {
	sc      Scenario
	seed    uint64
	sensors []simSensor
	objects []object
	skipped []Sensor
	// the rain band's frame: heading unit vector (east, north), across-band
	// position of the core at time 0, speed in m per hour
	hx, hy     float64
	s0, vel    float64
	phase      [4]float64 // cell phases
	lon0, lat0 float64    // the frame's origin
	next       int64      // next step to integrate
}

// New builds a model of scenario sc over the given sensors with the noise and the
// per-object factors drawn from seed. Sensors of a kind the model does not know,
// or with an empty range, are not simulated (Skipped lists them). The district is
// the sensors' extent; New fails without any sensor to simulate.
func New(sc Scenario, list []Sensor, seed uint64) (*Model, error) {
	if sc.Duration <= 0 || sc.BandCross <= 0 || sc.BandWidth <= 0 || sc.ShieldWidth <= 0 {
		return nil, fmt.Errorf("sim: scenario %q: duration, band crossing time and widths must be positive", sc.Name)
	}
	m := &Model{sc: sc, seed: seed}
	known := map[string]bool{KindRainfall: true, KindWaterDepth: true, KindWaterLevel: true, KindDisplacement: true, KindTilt: true}
	var use []Sensor
	for _, s := range list {
		if !known[s.Kind] || !(s.RangeMin < s.RangeMax) || math.IsNaN(s.Lon) || math.IsNaN(s.Lat) {
			m.skipped = append(m.skipped, s)
			continue
		}
		use = append(use, s)
	}
	if len(use) == 0 {
		return nil, fmt.Errorf("sim: no sensor to simulate (%d given)", len(list))
	}
	sort.SliceStable(use, func(i, j int) bool { return use[i].ID < use[j].ID })

	// The district's frame: local meters around the center of the sensors' extent.
	minLon, maxLon, minLat, maxLat := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range use {
		minLon, maxLon = math.Min(minLon, s.Lon), math.Max(maxLon, s.Lon)
		minLat, maxLat = math.Min(minLat, s.Lat), math.Max(maxLat, s.Lat)
	}
	lon0, lat0 := (minLon+maxLon)/2, (minLat+maxLat)/2
	m.lon0, m.lat0 = lon0, lat0
	mLon := metersPerLa * math.Cos(lat0*math.Pi/180)

	type key struct {
		layer string
		id    int64
	}
	objIndex := map[key]int{}
	for _, s := range use {
		k := key{s.Layer, s.FeatureID}
		if s.FeatureID == 0 {
			k = key{"sensor", s.ID}
		}
		oi, ok := objIndex[k]
		if !ok {
			oi = len(m.objects)
			objIndex[k] = oi
			m.objects = append(m.objects, m.newObject(s, k.layer, k.id, (s.Lon-lon0)*mLon, (s.Lat-lat0)*metersPerLa))
		}
		iv := int64(Interval(s.Kind) / Step)
		ss := simSensor{Sensor: s, obj: oi, interval: iv, phase: int64(m.hash(1, uint64(s.ID)) % uint64(iv))}
		ss.base = m.baseline(ss)
		m.sensors = append(m.sensors, ss)
	}

	h := sc.BandHeading * math.Pi / 180
	m.hx, m.hy = math.Sin(h), math.Cos(h)
	sMin, sMax := math.Inf(1), math.Inf(-1)
	for _, o := range m.objects {
		s := o.x*m.hx + o.y*m.hy
		sMin, sMax = math.Min(sMin, s), math.Max(sMax, s)
	}
	margin := sc.BandMargin * sc.BandWidth
	m.s0 = sMin - margin
	m.vel = (sMax - sMin + 2*margin) / sc.BandCross.Hours()
	for i := range m.phase {
		m.phase[i] = 2 * math.Pi * m.uniform(2, uint64(i))
	}
	return m, nil
}

// newObject draws an object's factors from the seed, by its identity (so they do
// not depend on which other sensors are simulated).
func (m *Model) newObject(s Sensor, layer string, id int64, x, y float64) object {
	o := object{lon: s.Lon, lat: s.Lat, kind: s.ObjectKind, x: x, y: y}
	tag := strHash(layer) ^ uint64(id)
	o.catchment = 0.8 + 0.4*m.uniform(3, tag)
	share, scale := 0.06, 0.5 // building slopes and anything else
	if s.ObjectKind == "natural_slope" {
		share, scale = 0.25, 1
	}
	if m.uniform(4, tag) < share {
		o.suscept = scale * math.Exp(0.8+0.9*m.normal(5, tag))
	}
	return o
}

// baseline is where a sensor's value starts: a reservoir below its thresholds, a
// drain's empty level, a slope's displacement and tilt so far.
func (m *Model) baseline(s simSensor) float64 {
	id := uint64(s.ID)
	switch s.Kind {
	case KindWaterLevel:
		if s.ObjectKind == "reservoir" {
			if t := s.Thresholds; t != nil {
				return t.Blue - resBelow
			}
			return clamp(resDefault, s.RangeMin, s.RangeMax)
		}
		return 0.3 + 0.2*m.uniform(6, id)
	case KindDisplacement:
		return math.Abs(m.normal(7, id)) * 1.0
	case KindTilt:
		return 0.05 + 0.15*m.uniform(8, id)
	}
	return 0
}

// Scenario returns the model's scenario.
func (m *Model) Scenario() Scenario { return m.sc }

// Sensors returns the sensors the model simulates, by id.
func (m *Model) Sensors() []Sensor {
	out := make([]Sensor, len(m.sensors))
	for i, s := range m.sensors {
		out[i] = s.Sensor
	}
	return out
}

// Skipped returns the sensors New did not simulate.
func (m *Model) Skipped() []Sensor { return m.skipped }

// Rain is the scenario's rain rate (mm/h, without noise) at a point at simulated
// time at.
func (m *Model) Rain(lon, lat float64, at time.Duration) float64 {
	mLon := metersPerLa * math.Cos(m.lat0*math.Pi/180)
	return m.rainAt((lon-m.lon0)*mLon, (lat-m.lat0)*metersPerLa, at.Hours())
}

// rainAt is the rain field at local coordinates x, y (m) and time t (h).
func (m *Model) rainAt(x, y, t float64) float64 {
	sc := m.sc
	d := x*m.hx + y*m.hy - (m.s0 + m.vel*t) // across the band, from its core
	a := -x*m.hy + y*m.hx                   // along the band
	cells := 1 + sc.Cells*(0.6*math.Sin(2*math.Pi*a/7000+m.phase[0]+2*math.Pi*t/1.7)+
		0.4*math.Sin(2*math.Pi*a/3000+m.phase[1]-2*math.Pi*t/1.1))
	band := sc.BandPeak * cells * math.Exp(-d*d/(2*sc.BandWidth*sc.BandWidth))
	shield := sc.ShieldPeak * math.Exp(-d*d/(2*sc.ShieldWidth*sc.ShieldWidth))
	return band + shield + sc.Drizzle
}

// advance integrates every object over step k (explicit Euler, one Step).
func (m *Model) advance(k int64) {
	t := float64(k) * stepHours
	dt := stepHours
	for i := range m.objects {
		o := &m.objects[i]
		r := m.rainAt(o.x, o.y, t)
		o.rain = r
		// water depth
		p, ok := spotKinds[o.kind]
		if !ok {
			p = spotKinds["other"]
		}
		in := o.catchment * (p.gain*math.Max(0, r-p.capacity) + p.leak*r)
		if p.lag > 0 {
			o.inflow += dt * (in - o.inflow) / p.lag
		} else {
			o.inflow = in
		}
		o.depth = math.Max(0, o.depth+dt*(o.inflow-o.depth/p.drain))
		// storm drain
		o.drainLv += dt * (drainGain*o.catchment*r - o.drainLv) / drainLag
		// reservoir
		o.resIn += dt * (r - o.resIn) / resDelay
		o.resRise += dt * (resGain*o.catchment*o.resIn - o.resRise/resRelease)
		// slope
		o.pore += dt * (r - o.pore/poreDecay)
		if o.suscept > 0 && o.pore > poreOnset {
			e := (o.pore - poreOnset) / poreScale
			o.creep += dt * o.suscept * e * e
		}
	}
}

// value is what sensor s reads at step k, noise included.
func (m *Model) value(s *simSensor, k int64) float64 {
	o := &m.objects[s.obj]
	id, step := uint64(s.ID), uint64(k)
	n := m.normal(9, splitmix(id)^step)
	var v float64
	switch s.Kind {
	case KindRainfall:
		v = round(math.Max(0, o.rain*(1+0.06*n)), 0.1)
	case KindWaterDepth:
		v = round(math.Max(0, o.depth+0.3*n), 0.1)
	case KindWaterLevel:
		if o.kind == "reservoir" {
			v = round(s.base+o.resRise+0.01*n, 0.01)
		} else {
			v = round(s.base+o.drainLv+0.01*n, 0.01)
		}
	case KindDisplacement:
		v = round(s.base+o.creep+0.1*n, 0.01)
	case KindTilt:
		v = round(math.Abs(s.base+tiltPerMM*o.creep+0.01*n), 0.001)
	}
	return clamp(v, s.RangeMin, s.RangeMax)
}

// Readings advances the model to simulated time t and returns the readings due
// since the previous call, in time order (by sensor id within one step): every
// sensor reports at each multiple of its interval after its phase, the first at
// most one interval after time 0. Times before a previous call's t are not
// repeated; t beyond the scenario's Duration is allowed (the weather goes on
// clearing).
func (m *Model) Readings(t time.Duration) []Reading {
	last := int64(t / Step)
	if t < 0 {
		return nil
	}
	var out []Reading
	for ; m.next <= last; m.next++ {
		k := m.next
		m.advance(k)
		for i := range m.sensors {
			s := &m.sensors[i]
			if k >= s.phase && (k-s.phase)%s.interval == 0 {
				out = append(out, Reading{SensorID: s.ID, At: time.Duration(k) * Step, Value: m.value(s, k)})
			}
		}
	}
	return out
}

// Next is the simulated time of the next step Readings will integrate.
func (m *Model) Next() time.Duration { return time.Duration(m.next) * Step }

func clamp(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

func round(v, unit float64) float64 { return math.Round(v/unit) * unit }

// hash is a counter-based random number: SplitMix64 over the seed, a stream
// number and a counter. The model draws all its randomness this way, so that a
// value depends only on the seed and what it is for — never on the order of calls.
func (m *Model) hash(stream, counter uint64) uint64 {
	z := splitmix(m.seed ^ splitmix(stream*0x9e3779b97f4a7c15^splitmix(counter)))
	return z
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// uniform is a number in [0, 1) for (stream, counter).
func (m *Model) uniform(stream, counter uint64) float64 {
	return float64(m.hash(stream, counter)>>11) / (1 << 53)
}

// normal is a standard normal deviate for (stream, counter) (Box-Muller).
func (m *Model) normal(stream, counter uint64) float64 {
	u1 := 1 - float64(m.hash(stream, 2*counter)>>11)/(1<<53) // (0, 1]
	u2 := float64(m.hash(stream, 2*counter+1)>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// strHash is FNV-1a of s.
func strHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
