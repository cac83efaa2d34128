package sim_test

import (
	"math"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/sim"
)

// demoSensors are the demo dataset's sensors, generated once.
var demoSensors = sync.OnceValues(func() ([]sim.Sensor, error) {
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		return nil, err
	}
	return demo.SimSensors(ds), nil
})

func sensorsOrFail(t *testing.T) []sim.Sensor {
	t.Helper()
	ss, err := demoSensors()
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) < 100 {
		t.Fatalf("only %d demo sensors", len(ss))
	}
	return ss
}

// run simulates sc over ss with seed to its end.
func run(t *testing.T, sc sim.Scenario, ss []sim.Sensor, seed uint64) (*sim.Model, []sim.Reading) {
	t.Helper()
	m, err := sim.New(sc, ss, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m, m.Readings(sc.Duration)
}

// series groups readings by sensor, in time order.
func series(rs []sim.Reading) map[int64][]sim.Reading {
	out := map[int64][]sim.Reading{}
	for _, r := range rs {
		out[r.SensorID] = append(out[r.SensorID], r)
	}
	return out
}

func byID(ss []sim.Sensor) map[int64]sim.Sensor {
	out := map[int64]sim.Sensor{}
	for _, s := range ss {
		out[s.ID] = s
	}
	return out
}

// firstAtLeast is the time of the first reading ≥ v, or -1.
func firstAtLeast(rs []sim.Reading, v float64) time.Duration {
	for _, r := range rs {
		if r.Value >= v {
			return r.At
		}
	}
	return -1
}

func peak(rs []sim.Reading) sim.Reading {
	best := rs[0]
	for _, r := range rs {
		if r.Value > best.Value {
			best = r
		}
	}
	return best
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func TestDeterministic(t *testing.T) {
	ss := sensorsOrFail(t)
	for _, sc := range sim.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			_, a := run(t, sc, ss, 7)
			_, b := run(t, sc, ss, 7)
			if len(a) == 0 || !reflect.DeepEqual(a, b) {
				t.Fatalf("same seed: %d and %d readings, or different values", len(a), len(b))
			}
			// Stepping through in uneven calls gives the same readings as one call.
			m, err := sim.New(sc, ss, 7)
			if err != nil {
				t.Fatal(err)
			}
			var c []sim.Reading
			for at := time.Duration(0); at <= sc.Duration; at += 7*time.Minute + 13*time.Second {
				c = append(c, m.Readings(at)...)
			}
			c = append(c, m.Readings(sc.Duration)...)
			if !reflect.DeepEqual(a, c) {
				t.Fatalf("stepped in 7m13s calls: %d readings, one call: %d, or values differ", len(c), len(a))
			}
			// The sensors given in another order: the same readings.
			rev := append([]sim.Sensor(nil), ss...)
			for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
				rev[i], rev[j] = rev[j], rev[i]
			}
			if _, d := run(t, sc, rev, 7); !reflect.DeepEqual(a, d) {
				t.Fatal("the order of the sensors changed the readings")
			}
			_, e := run(t, sc, ss, 8)
			differ := 0
			for i := range min(len(a), len(e)) {
				if a[i] != e[i] {
					differ++
				}
			}
			if differ < len(a)/4 {
				t.Fatalf("another seed changed only %d of %d readings", differ, len(a))
			}
		})
	}
}

// TestValuesInRangeAndIntervals: every value is finite and within its sensor's
// range — also for sensors whose range is narrower than the weather — and every
// sensor reports at exactly its kind's interval, from its first reading on.
func TestValuesInRangeAndIntervals(t *testing.T) {
	ss := append([]sim.Sensor(nil), sensorsOrFail(t)...)
	// Narrow ranges the typhoon exceeds: the model must clamp.
	narrow := []sim.Sensor{
		{ID: 900001, Kind: sim.KindWaterDepth, ObjectKind: "underpass", Lon: 114.12, Lat: 22.55, RangeMin: 0, RangeMax: 20},
		{ID: 900002, Kind: sim.KindRainfall, ObjectKind: "underpass", Lon: 114.12, Lat: 22.55, RangeMin: 0, RangeMax: 30},
		{ID: 900003, Kind: sim.KindWaterLevel, ObjectKind: "reservoir", Lon: 114.15, Lat: 22.58, RangeMin: 5, RangeMax: 6},
		{ID: 900004, Kind: sim.KindTilt, ObjectKind: "natural_slope", Lon: 114.16, Lat: 22.59, RangeMin: 0.3, RangeMax: 0.4},
	}
	ss = append(ss, narrow...)
	hit := map[int64]bool{}
	for _, sc := range sim.Scenarios() {
		m, rs := run(t, sc, ss, 3)
		sensors := byID(m.Sensors())
		if len(sensors) != len(ss) {
			t.Fatalf("%s: simulates %d of %d sensors (skipped %d)", sc.Name, len(sensors), len(ss), len(m.Skipped()))
		}
		for id, list := range series(rs) {
			s := sensors[id]
			iv := sim.Interval(s.Kind)
			if list[0].At >= iv || list[0].At < 0 {
				t.Errorf("%s: sensor %d first reports at %v, interval %v", sc.Name, id, list[0].At, iv)
			}
			if want := int((sc.Duration-list[0].At)/iv) + 1; len(list) != want {
				t.Errorf("%s: sensor %d (%s) has %d readings, want %d", sc.Name, id, s.Kind, len(list), want)
			}
			for i, r := range list {
				if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Value < s.RangeMin || r.Value > s.RangeMax {
					t.Fatalf("%s: sensor %d (%s) reads %v at %v, range [%v, %v]", sc.Name, id, s.Kind, r.Value, r.At, s.RangeMin, s.RangeMax)
				}
				if i > 0 && r.At-list[i-1].At != iv {
					t.Fatalf("%s: sensor %d: readings at %v and %v, interval %v", sc.Name, id, list[i-1].At, r.At, iv)
				}
				if r.Value == s.RangeMax || r.Value == s.RangeMin && s.RangeMin > 0 {
					hit[id] = true
				}
			}
		}
		if len(series(rs)) != len(ss) {
			t.Errorf("%s: %d sensors reported, %d simulated", sc.Name, len(series(rs)), len(ss))
		}
	}
	for _, s := range narrow {
		if !hit[s.ID] {
			t.Errorf("narrow sensor %d (%s) never reached a bound of [%v, %v]: the test does not exercise clamping", s.ID, s.Kind, s.RangeMin, s.RangeMax)
		}
	}
}

// TestUnderpassesFloodFirst: at the same place, an underpass floods earlier and
// deeper than a low road, and a low road than a residential area; over the demo
// district, underpasses reach their warning depth (yellow) earlier and more often
// than residential spots.
func TestUnderpassesFloodFirst(t *testing.T) {
	var ss []sim.Sensor
	kinds := []string{"underpass", "low_road", "residential"}
	places := [][2]float64{{114.09, 22.55}, {114.13, 22.56}, {114.18, 22.57}, {114.21, 22.60}}
	id := int64(1)
	for _, p := range places {
		for _, k := range kinds {
			ss = append(ss, sim.Sensor{ID: id, Kind: sim.KindWaterDepth, ObjectKind: k, Lon: p[0], Lat: p[1], RangeMin: 0, RangeMax: 1000})
			id++
		}
	}
	_, rs := run(t, sim.Typhoon, ss, 1)
	ser := series(rs)
	for i := range places {
		var first []time.Duration
		var peaks []float64
		for j := range kinds {
			list := ser[int64(i*len(kinds)+j+1)]
			first = append(first, firstAtLeast(list, 10))
			peaks = append(peaks, peak(list).Value)
		}
		for j := 1; j < len(kinds); j++ {
			if first[j-1] < 0 || first[j] >= 0 && first[j-1] >= first[j] || peaks[j-1] <= peaks[j] {
				t.Errorf("place %v: %s reaches 10 cm at %v, peak %.1f cm; %s at %v, peak %.1f cm",
					places[i], kinds[j-1], first[j-1], peaks[j-1], kinds[j], first[j], peaks[j])
			}
		}
	}

	all := sensorsOrFail(t)
	_, rs = run(t, sim.Typhoon, all, 1)
	ser = series(rs)
	warned := map[string][]float64{}
	total := map[string]int{}
	for _, s := range all {
		if s.Kind != sim.KindWaterDepth || s.Thresholds == nil {
			continue
		}
		total[s.ObjectKind]++
		if at := firstAtLeast(ser[s.ID], s.Thresholds.Yellow); at >= 0 {
			warned[s.ObjectKind] = append(warned[s.ObjectKind], at.Hours())
		}
	}
	up, res := warned["underpass"], warned["residential"]
	t.Logf("yellow reached: underpass %d/%d median %.2f h, residential %d/%d median %.2f h",
		len(up), total["underpass"], median(up), len(res), total["residential"], median(res))
	if total["underpass"] == 0 || total["residential"] == 0 {
		t.Fatal("the demo has no underpass or residential water sensors")
	}
	if len(up) == 0 || float64(len(up))/float64(total["underpass"]) <= float64(len(res))/float64(total["residential"]) {
		t.Error("underpasses do not reach their warning depth more often than residential spots")
	}
	if len(res) > 0 && median(up) >= median(res) {
		t.Error("underpasses do not reach their warning depth before residential spots")
	}
}

// TestRedThenRecede: some water sensors and rain gauges reach red during the
// typhoon and are back below blue at its end.
func TestRedThenRecede(t *testing.T) {
	ss := sensorsOrFail(t)
	_, rs := run(t, sim.Typhoon, ss, 1)
	ser := series(rs)
	count := map[string]int{}
	for _, s := range ss {
		th := s.Thresholds
		if th == nil {
			continue
		}
		list := ser[s.ID]
		red := firstAtLeast(list, th.Red)
		if red < 0 {
			continue
		}
		last := list[len(list)-1]
		if last.Value < th.Blue {
			count[s.Kind]++
		}
	}
	t.Logf("red then below blue by the end: %v", count)
	for _, kind := range []string{sim.KindRainfall, sim.KindWaterDepth} {
		if count[kind] < 3 {
			t.Errorf("%s: %d sensors reached red and fell back below blue, want at least 3", kind, count[kind])
		}
	}
}

// TestRainMovesEast: the band's rain peaks later the farther east a gauge lies.
func TestRainMovesEast(t *testing.T) {
	ss := sensorsOrFail(t)
	m, rs := run(t, sim.Typhoon, ss, 1)
	// Noise-free field along a west-east line through the district.
	var prev time.Duration = -1
	for lon := 114.09; lon <= 114.22; lon += 0.01 {
		best, bestAt := -1.0, time.Duration(0)
		for at := time.Duration(0); at <= sim.Typhoon.Duration; at += sim.Step {
			if r := m.Rain(lon, 22.57, at); r > best {
				best, bestAt = r, at
			}
		}
		if bestAt <= prev {
			t.Errorf("rain peaks at %v at lon %.2f, not after %v further west", bestAt, lon, prev)
		}
		prev = bestAt
	}
	// Gauges: the western third peaks at least an hour before the eastern third.
	var gauges []sim.Sensor
	for _, s := range ss {
		if s.Kind == sim.KindRainfall {
			gauges = append(gauges, s)
		}
	}
	if len(gauges) < 9 {
		t.Fatalf("only %d rain gauges", len(gauges))
	}
	sort.Slice(gauges, func(i, j int) bool { return gauges[i].Lon < gauges[j].Lon })
	ser := series(rs)
	meanPeak := func(gs []sim.Sensor) float64 {
		sum := 0.0
		for _, g := range gs {
			sum += peak(ser[g.ID]).At.Hours()
		}
		return sum / float64(len(gs))
	}
	third := len(gauges) / 3
	west, east := meanPeak(gauges[:third]), meanPeak(gauges[len(gauges)-third:])
	t.Logf("mean rain peak: west %.2f h, east %.2f h", west, east)
	if east-west < 1 {
		t.Errorf("rain peaks in the west at %.2f h, in the east at %.2f h: not moving east", west, east)
	}
}

// TestSlopesAndReservoirs: slopes creep (displacement never falls by more than the
// noise), a few of them past blue and more natural than building slopes; tilt stays
// small; reservoirs start below blue and rise slowly.
func TestSlopesAndReservoirs(t *testing.T) {
	ss := sensorsOrFail(t)
	_, rs := run(t, sim.Typhoon, ss, 1)
	ser := series(rs)
	moved := map[string]int{}
	total := map[string]int{}
	for _, s := range ss {
		list := ser[s.ID]
		switch s.Kind {
		case sim.KindDisplacement:
			total[s.ObjectKind]++
			hi := list[0].Value
			for _, r := range list {
				if r.Value < hi-1 { // noise is 0.1 mm (σ): 1 mm is far outside two tails
					t.Fatalf("slope sensor %d: displacement fell from %.2f to %.2f mm at %v", s.ID, hi, r.Value, r.At)
				}
				hi = math.Max(hi, r.Value)
			}
			if list[0].Value >= s.Thresholds.Blue {
				t.Errorf("slope sensor %d starts at %.2f mm, at or above blue", s.ID, list[0].Value)
			}
			if hi >= s.Thresholds.Blue {
				moved[s.ObjectKind]++
			}
		case sim.KindTilt:
			if p := peak(list).Value; p >= 3 {
				t.Errorf("tilt sensor %d reaches %.2f deg", s.ID, p)
			}
		case sim.KindWaterLevel:
			if s.ObjectKind != "reservoir" {
				continue
			}
			if list[0].Value >= s.Thresholds.Blue {
				t.Errorf("reservoir sensor %d starts at %.2f m, blue is %.2f", s.ID, list[0].Value, s.Thresholds.Blue)
			}
			rise := peak(list).Value - list[0].Value
			if rise < 0.5 || rise > 3 {
				t.Errorf("reservoir sensor %d rises by %.2f m", s.ID, rise)
			}
			for i := 12; i < len(list); i++ { // 12 readings = 1 h
				if d := list[i].Value - list[i-12].Value; d > 0.6 {
					t.Errorf("reservoir sensor %d rises %.2f m in an hour at %v", s.ID, d, list[i].At)
				}
			}
		}
	}
	t.Logf("slopes past blue: natural %d/%d, building %d/%d", moved["natural_slope"], total["natural_slope"],
		moved["building_slope"], total["building_slope"])
	n, b := moved["natural_slope"], moved["building_slope"]
	all := total["natural_slope"] + total["building_slope"]
	if n+b == 0 || n+b > all/5 {
		t.Errorf("%d of %d slopes moved past blue: want a few", n+b, all)
	}
	if float64(n)/float64(total["natural_slope"]) <= float64(b)/float64(total["building_slope"]) {
		t.Error("natural slopes do not creep more often than building slopes")
	}
}

// TestCalmStaysCalm: the calm scenario never reaches yellow and rarely blue.
func TestCalmStaysCalm(t *testing.T) {
	ss := sensorsOrFail(t)
	_, rs := run(t, sim.Calm, ss, 1)
	sensors := byID(ss)
	blue, wet := 0, 0
	for _, r := range rs {
		s := sensors[r.SensorID]
		if s.Kind == sim.KindRainfall && r.Value > 0 {
			wet++
		}
		if s.Thresholds == nil {
			continue
		}
		if r.Value >= s.Thresholds.Yellow {
			t.Fatalf("calm: sensor %d (%s) reads %v at %v, yellow is %v", s.ID, s.Kind, r.Value, r.At, s.Thresholds.Yellow)
		}
		if r.Value >= s.Thresholds.Blue {
			blue++
		}
	}
	if blue*200 > len(rs) {
		t.Errorf("calm: %d of %d readings at or above blue", blue, len(rs))
	}
	if wet == 0 {
		t.Error("calm: no rain at all")
	}
}

func TestNewRejectsAndSkips(t *testing.T) {
	if _, err := sim.New(sim.Typhoon, nil, 1); err == nil {
		t.Error("no sensors: no error")
	}
	ss := []sim.Sensor{
		{ID: 1, Kind: "wind_speed", Lon: 114.1, Lat: 22.5, RangeMax: 100},
		{ID: 2, Kind: sim.KindRainfall, Lon: 114.1, Lat: 22.5, RangeMin: 5, RangeMax: 5},
		{ID: 3, Kind: sim.KindRainfall, Lon: 114.1, Lat: 22.5, RangeMax: 500, Thresholds: &feature.Thresholds{Blue: 20, Yellow: 30, Orange: 50, Red: 70}},
	}
	m, err := sim.New(sim.Typhoon, ss, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Skipped()) != 2 || len(m.Sensors()) != 1 {
		t.Errorf("skipped %d, simulates %d; want 2 and 1", len(m.Skipped()), len(m.Sensors()))
	}
	if _, err := sim.New(sim.Typhoon, ss[:2], 1); err == nil {
		t.Error("only unusable sensors: no error")
	}
	bad := sim.Typhoon
	bad.BandWidth = 0
	if _, err := sim.New(bad, ss, 1); err == nil {
		t.Error("zero band width: no error")
	}
	if _, ok := sim.ScenarioByName("typhoon"); !ok {
		t.Error("no typhoon scenario")
	}
	if _, ok := sim.ScenarioByName("blizzard"); ok {
		t.Error("a blizzard scenario")
	}
}
