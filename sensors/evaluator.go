package sensors

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"riskmap/feature"
	"riskmap/layers"
)

// Reading is one measurement of a sensor.
type Reading struct {
	SensorID int64
	// Time is when the value was measured (the device's time), not when it
	// arrived.
	Time time.Time
	// Value is in the unit of the sensor's kind (layers.SensorKind.Unit).
	Value float64
	// Drill marks a reading of an exercise (from the storm simulator): it only
	// ever affects the drill picture, never the real one (see the package doc).
	Drill bool
}

// Alert is a change of one sensor's level — the unit of notification: which
// object, which sensor, from which level to which, on what value and when, drill
// or real. From and To always differ. Times are UTC.
type Alert struct {
	Layer     string
	FeatureID int64
	SensorID  int64
	// Kind is the sensor's kind code, Unit its unit.
	Kind, Unit string
	From, To   Level
	// ObjectLevel is the object's level (in the same world, drill or real) right
	// after the change: the worst of its sensors (see ObjectState.Level).
	ObjectLevel Level
	// Value is the reading that caused the change (in Unit); for ReasonNoData the
	// sensor's last value (0 if it never reported); for ReasonConfig its latest.
	Value float64
	// Threshold is To's threshold (in Unit) when To is Blue … Red, else 0.
	Threshold float64
	// Time is the reading's time; for ReasonNoData the Tick's now (or the stale
	// reading's time); for ReasonConfig the later of the latest Tick and the
	// sensor's latest reading.
	Time   time.Time
	Drill  bool
	Reason Reason
}

// SensorState is one sensor of an object, in one world (real or drill).
type SensorState struct {
	SensorID   int64
	ExternalID string
	Kind, Unit string
	// Alerting is false for a record-only sensor (no thresholds): its Level is
	// None (NoData when silent) and it raises no alerts.
	Alerting bool
	Status   Status
	// Level is the sensor's current level: NoData when Silent.
	Level Level
	// LastLevel is the level its readings set, kept while it is silent.
	LastLevel Level
	// Value and Time are the latest reading (Value in Unit; both zero before the
	// first reading).
	Value float64
	Time  time.Time
	// Trend over Options.TrendWindow; TrendUnknown when silent or too few readings.
	Trend Trend
	// Interval is the estimated reporting interval (see Options.IntervalSamples).
	Interval time.Duration
}

// ObjectState is the evaluated state of one monitored object (a slope or a
// waterlogging spot) in one world (real, or drill when Drill is true).
type ObjectState struct {
	Layer     string
	FeatureID int64
	Drill     bool
	// Level is the worst level of the object's live alerting sensors; NoData when
	// it has alerting sensors and all of them are silent; None when it has none
	// (only record-only sensors). Pending sensors count as None.
	Level Level
	// LastLevel equals Level, except when Level is NoData: then the worst level
	// the silent sensors' last readings set (what the map can show as "no data,
	// last orange").
	LastLevel Level
	// SensorID, Kind, Unit, Value, Time and Trend are those of the primary
	// sensor: the one deciding Level (or LastLevel when NoData) — among equally
	// severe ones the one that has reported, then by Options.KindPriority, then
	// the lowest id. Value (in Unit) and Time are its latest reading (zero before
	// the first). So a spot red from its rain gauge shows the rainfall in mm/h:
	// to fill a layer field such as current_depth_cm, take the water_depth_cm
	// sensor from Sensors.
	SensorID   int64
	Kind, Unit string
	Value      float64
	Time       time.Time
	Trend      Trend
	// Sensors are the object's sensors in this world, by id: every active sensor
	// for the real state; those with drill readings for the drill state. Empty in
	// the last change of an object no longer evaluated (its last sensor removed,
	// or its drill ended); Level is then None.
	Sensors []SensorState
}

func (s ObjectState) clone() ObjectState {
	s.Sensors = slices.Clone(s.Sensors)
	return s
}

// equalState compares two states, ignoring the sensors' estimated intervals.
func equalState(a, b *ObjectState) bool {
	if a.Layer != b.Layer || a.FeatureID != b.FeatureID || a.Drill != b.Drill || a.Level != b.Level ||
		a.LastLevel != b.LastLevel || a.SensorID != b.SensorID || a.Kind != b.Kind || a.Unit != b.Unit ||
		a.Value != b.Value || !a.Time.Equal(b.Time) || a.Trend != b.Trend || len(a.Sensors) != len(b.Sensors) {
		return false
	}
	for i := range a.Sensors {
		x, y := a.Sensors[i], b.Sensors[i]
		x.Interval, y.Interval = 0, 0
		if x.Time.Equal(y.Time) {
			y.Time = x.Time
		}
		if x != y {
			return false
		}
	}
	return true
}

type objKey struct {
	layer string
	id    int64
}

// object is one monitored feature and its sensors.
type object struct {
	key     objKey
	sensors []*sensor // by id
	// state[w] is the state last reported for world w (0 real, 1 drill), valid
	// when has[w].
	state [2]ObjectState
	has   [2]bool
	stamp [2]uint64 // call in which the world was touched
}

func world(drill bool) int {
	if drill {
		return 1
	}
	return 0
}

// Evaluator turns sensor readings into warning levels, trends, no-data states
// and alerts, per the rules of the package documentation. It is pure: time only
// comes in with readings and Tick, and nothing is read or written outside it.
//
// An Evaluator is safe for concurrent use: its methods are serialized by one
// mutex, each applied whole. Every slice it returns is the caller's.
type Evaluator struct {
	mu       sync.Mutex
	reg      *layers.Registry
	opt      Options
	sensors  map[int64]*sensor
	ids      []int64 // of sensors, sorted
	inactive map[int64]bool
	objects  map[objKey]*object
	lastTick int64 // latest Tick's now, Unix ns; 0 before the first

	// per call
	call    uint64
	touched []touchedWorld
	alerts  []Alert
	scratch []SensorState // objectState's buffer in finish
}

type touchedWorld struct {
	o     *object
	drill bool
}

// NewEvaluator returns an evaluator with no sensors. reg gives the sensor kinds
// (units, default ranges, which layers they attach to) and must have the warning
// scale Level encodes. opt is resolved against DefaultOptions; an impossible
// value is an *OptionError.
func NewEvaluator(reg *layers.Registry, opt Options) (*Evaluator, error) {
	if err := checkRegistryLevels(reg); err != nil {
		return nil, err
	}
	o, err := opt.resolve(reg)
	if err != nil {
		return nil, err
	}
	return &Evaluator{
		reg: reg, opt: o, call: 1,
		sensors:  map[int64]*sensor{},
		inactive: map[int64]bool{},
		objects:  map[objKey]*object{},
	}, nil
}

// Options returns the resolved options (defaults filled in).
func (e *Evaluator) Options() Options {
	o := e.opt
	o.ClearMarginByKind = maps.Clone(o.ClearMarginByKind)
	o.TrendEpsilon = maps.Clone(o.TrendEpsilon)
	o.DefaultInterval = maps.Clone(o.DefaultInterval)
	o.KindPriority = slices.Clone(o.KindPriority)
	return o
}

// build validates fs and derives a sensor from it (without tracks or object).
func (e *Evaluator) build(fs feature.Sensor) (*sensor, error) {
	bad := func(field, reason string) error {
		return &SensorError{SensorID: fs.ID, Field: field, Reason: reason}
	}
	if fs.ID <= 0 {
		return nil, bad("ID", "must be > 0")
	}
	kind, ok := e.reg.SensorKind(fs.Kind)
	if !ok {
		return nil, bad("Kind", "unknown sensor kind "+quote(fs.Kind))
	}
	if _, err := e.reg.Layer(fs.Layer); err != nil {
		return nil, bad("Layer", "unknown layer "+quote(fs.Layer))
	}
	if !slices.Contains(kind.Layers, fs.Layer) {
		return nil, bad("Layer", "a "+fs.Kind+" sensor cannot be attached to "+fs.Layer)
	}
	if fs.FeatureID <= 0 {
		return nil, bad("FeatureID", "must be > 0")
	}
	s := &sensor{cfg: fs, unit: kind.Unit, min: fs.RangeMin, max: fs.RangeMax}
	if s.min == 0 && s.max == 0 {
		s.min, s.max = kind.Min, kind.Max
	}
	if !finite(s.min) || !finite(s.max) || !(s.min < s.max) {
		return nil, bad("Range", "the physical range must be finite numbers with RangeMin < RangeMax")
	}
	if t := fs.Thresholds; t != nil {
		s.alerting = true
		s.thr = [Red + 1]float64{0, t.Blue, t.Yellow, t.Orange, t.Red}
		for k := Blue; k <= Red; k++ {
			if !finite(s.thr[k]) {
				return nil, bad("Thresholds", "the "+k.Code()+" threshold is not a finite number")
			}
			if k > Blue && s.thr[k] < s.thr[k-1] {
				return nil, bad("Thresholds", "thresholds must be ordered blue ≤ yellow ≤ orange ≤ red")
			}
			margin, abs := e.opt.ClearMarginByKind[fs.Kind]
			if !abs {
				margin = e.opt.ClearMargin * math.Abs(s.thr[k])
			}
			s.clr[k] = s.thr[k] - margin
		}
	}
	s.eps, ok = e.opt.TrendEpsilon[fs.Kind]
	if !ok {
		s.eps = 0.005 * (kind.Max - kind.Min)
	}
	s.defInterval, ok = e.opt.DefaultInterval[fs.Kind]
	if !ok {
		s.defInterval = fallbackInterval
	}
	s.prio = slices.Index(e.opt.KindPriority, fs.Kind)
	if s.prio < 0 {
		s.prio = len(e.opt.KindPriority)
	}
	return s, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func quote(s string) string { return "\"" + s + "\"" }

// SetSensor adds a sensor or updates one (by ID). A sensor that is not Active is
// taken out of evaluation (its state is dropped, its readings rejected as
// inactive) until it is set Active again.
//
// RangeMin = RangeMax = 0 selects the kind's registry range. Thresholds must be
// finite and ordered blue ≤ yellow ≤ orange ≤ red; nil makes the sensor
// record-only. An invalid sensor is a *SensorError and changes nothing.
//
// A new sensor starts Pending. An update keeps the sensor's readings unless its
// kind changed; moving it to another object moves its state there. New
// thresholds re-evaluate the latest value at once (raw level, no hysteresis); a
// resulting level change is an alert with ReasonConfig. Adding, moving or
// removing sensors changes objects' states (returned) but raises no other
// alerts: administration is not a warning.
func (e *Evaluator) SetSensor(fs feature.Sensor) ([]ObjectState, []Alert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ns, err := e.build(fs)
	if err != nil {
		return nil, nil, err
	}
	old := e.sensors[fs.ID]
	if !fs.Active {
		e.inactive[fs.ID] = true
		if old != nil {
			e.remove(old)
		}
		ch, al := e.finish()
		return ch, al, nil
	}
	delete(e.inactive, fs.ID)
	if old != nil && old.cfg.Kind != fs.Kind {
		e.remove(old)
		old = nil
	}
	if old == nil {
		ns.real = track{status: Pending, watch: e.lastTick, interval: ns.defInterval}
		e.sensors[fs.ID] = ns
		i, _ := slices.BinarySearch(e.ids, fs.ID)
		e.ids = slices.Insert(e.ids, i, fs.ID)
		e.attach(ns)
		ch, al := e.finish()
		return ch, al, nil
	}
	moved := old.cfg.Layer != fs.Layer || old.cfg.FeatureID != fs.FeatureID
	rethreshold := old.alerting != ns.alerting || old.thr != ns.thr || old.clr != ns.clr
	var before [2]Level
	for w, drill := range []bool{false, true} {
		if tr := old.track(drill); tr != nil {
			before[w] = old.effective(tr)
		}
	}
	if moved {
		e.detach(old)
	}
	old.cfg, old.alerting, old.thr, old.clr, old.min, old.max = ns.cfg, ns.alerting, ns.thr, ns.clr, ns.min, ns.max
	if moved {
		e.attach(old)
	}
	for w, drill := range []bool{false, true} {
		tr := old.track(drill)
		if tr == nil {
			continue
		}
		if rethreshold {
			old.reconfigure(tr)
			if after := old.effective(tr); old.alerting && after != before[w] {
				e.alert(old, drill, before[w], after, ReasonConfig, tr.lastV, max(e.lastTick, tr.lastT))
			}
		}
		e.touch(old.obj, drill)
	}
	ch, al := e.finish()
	return ch, al, nil
}

// RemoveSensor forgets a sensor (active or not) and all its state; its object's
// new state is returned (a last change with no Sensors when it was the object's
// only one). No alert. Unknown ids are ignored.
func (e *Evaluator) RemoveSensor(id int64) []ObjectState {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.inactive, id)
	if s := e.sensors[id]; s != nil {
		e.remove(s)
	}
	ch, _ := e.finish()
	return ch
}

func (e *Evaluator) remove(s *sensor) {
	e.detach(s)
	delete(e.sensors, s.cfg.ID)
	if i, ok := slices.BinarySearch(e.ids, s.cfg.ID); ok {
		e.ids = slices.Delete(e.ids, i, i+1)
	}
}

func (e *Evaluator) attach(s *sensor) {
	k := objKey{s.cfg.Layer, s.cfg.FeatureID}
	o := e.objects[k]
	if o == nil {
		o = &object{key: k}
		e.objects[k] = o
	}
	i, _ := slices.BinarySearchFunc(o.sensors, s.cfg.ID, func(x *sensor, id int64) int { return cmp.Compare(x.cfg.ID, id) })
	o.sensors = slices.Insert(o.sensors, i, s)
	s.obj = o
	e.touch(o, false)
	if s.drill != nil {
		e.touch(o, true)
	}
}

func (e *Evaluator) detach(s *sensor) {
	o := s.obj
	o.sensors = slices.DeleteFunc(o.sensors, func(x *sensor) bool { return x == s })
	e.touch(o, false)
	if s.drill != nil {
		e.touch(o, true)
	}
	s.obj = nil
}

// check validates r; it returns its sensor and time in Unix ns.
func (e *Evaluator) check(r Reading) (*sensor, int64, error) {
	rej := func(reason RejectReason) *ReadingError {
		return &ReadingError{Reason: reason, SensorID: r.SensorID, Time: r.Time, Value: r.Value}
	}
	s := e.sensors[r.SensorID]
	if s == nil {
		if e.inactive[r.SensorID] {
			return nil, 0, rej(RejectInactive)
		}
		return nil, 0, rej(RejectUnknownSensor)
	}
	if !finite(r.Value) {
		return nil, 0, rej(RejectNotFinite)
	}
	if !validTime(r.Time) {
		return nil, 0, rej(RejectBadTime)
	}
	t := r.Time.UnixNano()
	if e.lastTick != 0 && t > e.lastTick+int64(e.opt.MaxAhead) {
		err := rej(RejectFuture)
		err.Limit = nsTime(e.lastTick + int64(e.opt.MaxAhead))
		return nil, 0, err
	}
	if r.Value < s.min || r.Value > s.max {
		err := rej(RejectOutOfRange)
		err.Min, err.Max, err.Unit = s.min, s.max, s.unit
		return nil, 0, err
	}
	return s, t, nil
}

// Check validates r as Observe would, without applying it: nil, or the
// *ReadingError Observe would return. A caller that must store readings before
// evaluating them (so that a stored reading is never one Observe rejects) checks
// them first.
func (e *Evaluator) Check(r Reading) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _, err := e.check(r)
	return err
}

// silentAfter is how long tr may go without a reading before it is silent, ns.
func (e *Evaluator) silentAfter(tr *track) int64 {
	return int64(float64(tr.interval) * e.opt.SilentMultiple)
}

// Observe applies one reading and returns the objects whose state changed (at
// most one per world) and the alerts it raised, in order. A rejected reading is a
// *ReadingError and changes nothing.
//
// A reading at a time the sensor already has in that world (real or drill) is a
// duplicate and changes nothing: the first one wins (the readings table's
// primary key (sensor_id, time) holds one too). A reading older than the
// sensor's latest never changes its value, level, hold timers or liveness; it
// only joins the trend fit and the interval estimate when it lies within
// TrendWindow before the latest or inside the span of readings held, and is
// otherwise ignored. Neither raises an alert.
func (e *Evaluator) Observe(r Reading) ([]ObjectState, []Alert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, t, err := e.check(r)
	if err != nil {
		return nil, nil, err
	}
	tr := &s.real
	if r.Drill {
		if s.drill == nil {
			s.drill = &track{status: Pending, interval: s.defInterval}
		}
		tr = s.drill
	}
	window := int64(e.opt.TrendWindow)
	switch {
	case tr.has && t == tr.lastT:
		return nil, nil, nil
	case tr.has && t < tr.lastT:
		if tr.insertLate(t, r.Value, window) {
			tr.prune(window, e.opt.IntervalSamples+1, e.opt.MaxHistory)
			tr.interval = tr.estimate(e.opt.IntervalSamples, s.defInterval, e.opt.MinInterval)
			tr.trend = tr.fitTrend(window, s.eps)
			e.touch(s.obj, r.Drill)
		}
		ch, al := e.finish()
		return ch, al, nil
	}
	before := s.effective(tr)
	tr.hist = append(tr.hist, sample{t, r.Value})
	tr.has, tr.lastT, tr.lastV = true, t, r.Value
	s.step(tr, t, r.Value, int64(e.opt.ClearHold))
	tr.prune(window, e.opt.IntervalSamples+1, e.opt.MaxHistory)
	tr.interval = tr.estimate(e.opt.IntervalSamples, s.defInterval, e.opt.MinInterval)
	tr.trend = tr.fitTrend(window, s.eps)
	if e.lastTick != 0 && e.lastTick-t > e.silentAfter(tr) {
		// A stale reading (delayed upload): the sensor is still not reporting now.
		e.silence(tr)
	} else {
		tr.status = Live
	}
	if after := s.effective(tr); s.alerting && after != before {
		reason := ReasonThreshold
		switch {
		case before == NoData:
			reason = ReasonRecovered
		case after == NoData:
			reason = ReasonNoData
		}
		e.alert(s, r.Drill, before, after, reason, r.Value, t)
	}
	e.touch(s.obj, r.Drill)
	ch, al := e.finish()
	return ch, al, nil
}

// silence makes tr silent. The hold timers restart: after an outage a level only
// clears on ClearHold of fresh readings.
func (e *Evaluator) silence(tr *track) {
	tr.status = Silent
	tr.below = [Red + 1]int64{}
}

// Tick evaluates silence at now (which the caller takes from its clock; the
// evaluator never reads one) and returns the changed object states and the
// alerts, in sensor id order (each sensor's real track before its drill track).
//
// A sensor with readings is silent when now − its latest reading's time exceeds
// SilentMultiple × its reporting interval; a Pending sensor when now − the time
// the evaluator began watching it (its first Tick) exceeds SilentMultiple × its
// kind's DefaultInterval. Falling silent is an alert To NoData (ReasonNoData) for
// an alerting sensor. A drill track with no reading for DrillExpiry is dropped.
//
// Call it periodically (every 10–60 s is plenty; the granularity of no-data
// detection is the tick period). A zero now, or one outside the years 2000–2199,
// is ignored. now may go backwards; MaxAhead is measured from the latest now.
func (e *Evaluator) Tick(now time.Time) ([]ObjectState, []Alert) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !validTime(now) {
		return nil, nil
	}
	n := now.UnixNano()
	e.lastTick = max(e.lastTick, n)
	for _, id := range e.ids {
		s := e.sensors[id]
		e.tickTrack(s, &s.real, false, n)
		if s.drill != nil {
			if s.drill.has && n-s.drill.lastT > int64(e.opt.DrillExpiry) {
				s.drill = nil
				e.touch(s.obj, true)
				continue
			}
			e.tickTrack(s, s.drill, true, n)
		}
	}
	return e.finish()
}

func (e *Evaluator) tickTrack(s *sensor, tr *track, drill bool, now int64) {
	before, status := s.effective(tr), tr.status
	switch tr.status {
	case Pending:
		if tr.watch == 0 {
			tr.watch = now
		}
		if now-tr.watch > e.silentAfter(tr) {
			e.silence(tr)
		}
	case Live:
		if now-tr.lastT > e.silentAfter(tr) {
			e.silence(tr)
		}
	}
	if tr.status == status {
		return
	}
	if after := s.effective(tr); s.alerting && after != before {
		e.alert(s, drill, before, after, ReasonNoData, tr.lastV, now)
	}
	e.touch(s.obj, drill)
}

// EndDrill drops every drill track: the drill picture ends. Each object that had
// one gets a last drill change with no Sensors. No alert.
func (e *Evaluator) EndDrill() []ObjectState {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range e.ids {
		if s := e.sensors[id]; s.drill != nil {
			s.drill = nil
			e.touch(s.obj, true)
		}
	}
	ch, _ := e.finish()
	return ch
}

// State returns the real state of the object (layer, feature id); false when no
// active sensor is attached to it.
func (e *Evaluator) State(layer string, id int64) (ObjectState, bool) {
	return e.state(layer, id, false)
}

// DrillState returns the drill state of the object; false when none of its
// sensors has drill readings.
func (e *Evaluator) DrillState(layer string, id int64) (ObjectState, bool) {
	return e.state(layer, id, true)
}

func (e *Evaluator) state(layer string, id int64, drill bool) (ObjectState, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.objects[objKey{layer, id}]
	if o == nil {
		return ObjectState{}, false
	}
	return e.objectState(o, drill, nil)
}

// Sensor returns the real state of an active sensor.
func (e *Evaluator) Sensor(id int64) (SensorState, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sensors[id]
	if s == nil {
		return SensorState{}, false
	}
	return s.state(&s.real), true
}

func (s *sensor) state(tr *track) SensorState {
	st := SensorState{
		SensorID: s.cfg.ID, ExternalID: s.cfg.ExternalID, Kind: s.cfg.Kind, Unit: s.unit,
		Alerting: s.alerting, Status: tr.status, Level: s.effective(tr), LastLevel: tr.level,
		Interval: tr.interval,
	}
	if tr.has {
		st.Value, st.Time = tr.lastV, nsTime(tr.lastT)
	}
	if tr.status != Silent {
		st.Trend = tr.trend
	}
	return st
}

// objectLevel is Level of objectState, without building the state.
func (e *Evaluator) objectLevel(o *object, drill bool) Level {
	level, alerting, live := None, false, false
	for _, s := range o.sensors {
		tr := s.track(drill)
		if tr == nil || !s.alerting {
			continue
		}
		alerting = true
		if tr.status != Silent {
			live = true
			level = max(level, tr.level)
		}
	}
	if alerting && !live {
		return NoData
	}
	return level
}

// objectState builds o's state in a world, its Sensors appended to buf[:0];
// false when no sensor of o is in it.
func (e *Evaluator) objectState(o *object, drill bool, buf []SensorState) (ObjectState, bool) {
	st := ObjectState{Layer: o.key.layer, FeatureID: o.key.id, Drill: drill, Sensors: buf[:0]}
	alerting, live := false, false
	level, last := None, None
	for _, s := range o.sensors {
		tr := s.track(drill)
		if tr == nil {
			continue
		}
		st.Sensors = append(st.Sensors, s.state(tr))
		if s.alerting {
			alerting = true
			last = max(last, tr.level)
			if tr.status != Silent {
				live = true
				level = max(level, tr.level)
			}
		}
	}
	if len(st.Sensors) == 0 {
		return st, false
	}
	var best *sensor
	var bestT *track
	for _, s := range o.sensors {
		tr := s.track(drill)
		if tr == nil || alerting && !s.alerting || live && tr.status == Silent {
			continue
		}
		if best == nil || better(s, tr, best, bestT) {
			best, bestT = s, tr
		}
	}
	switch {
	case live:
		st.Level, st.LastLevel = level, level
	case alerting:
		st.Level, st.LastLevel = NoData, last
	}
	st.SensorID, st.Kind, st.Unit = best.cfg.ID, best.cfg.Kind, best.unit
	if bestT.has {
		st.Value, st.Time = bestT.lastV, nsTime(bestT.lastT)
	}
	if bestT.status != Silent {
		st.Trend = bestT.trend
	}
	return st, true
}

// better reports whether (a, at) is a better primary sensor than (b, bt): more
// severe, then has reported, then by kind priority; ties keep b (lower id).
func better(a *sensor, at *track, b *sensor, bt *track) bool {
	if at.level != bt.level {
		return at.level > bt.level
	}
	if at.has != bt.has {
		return at.has
	}
	return a.prio < b.prio
}

func (e *Evaluator) touch(o *object, drill bool) {
	w := world(drill)
	if o.stamp[w] == e.call {
		return
	}
	o.stamp[w] = e.call
	e.touched = append(e.touched, touchedWorld{o, drill})
}

func (e *Evaluator) alert(s *sensor, drill bool, from, to Level, reason Reason, value float64, t int64) {
	a := Alert{
		Layer: s.cfg.Layer, FeatureID: s.cfg.FeatureID, SensorID: s.cfg.ID, Kind: s.cfg.Kind, Unit: s.unit,
		From: from, To: to, ObjectLevel: e.objectLevel(s.obj, drill),
		Value: value, Time: nsTime(t), Drill: drill, Reason: reason,
	}
	if to >= Blue && to <= Red {
		a.Threshold = s.thr[to]
	}
	e.alerts = append(e.alerts, a)
}

// finish ends a call: it reports the touched worlds whose state changed and the
// alerts raised, and forgets objects left without sensors.
func (e *Evaluator) finish() ([]ObjectState, []Alert) {
	var changes []ObjectState
	for _, tw := range e.touched {
		o, w := tw.o, world(tw.drill)
		st, ok := e.objectState(o, tw.drill, e.scratch)
		e.scratch = st.Sensors[:0]
		switch {
		case !ok:
			if o.has[w] {
				changes = append(changes, ObjectState{Layer: o.key.layer, FeatureID: o.key.id, Drill: tw.drill})
				o.state[w], o.has[w] = ObjectState{}, false
			}
		case !o.has[w] || !equalState(&o.state[w], &st):
			// The cache keeps its own Sensors array; the caller gets a copy.
			st.Sensors = append(o.state[w].Sensors[:0], st.Sensors...)
			o.state[w], o.has[w] = st, true
			changes = append(changes, st.clone())
		}
		if len(o.sensors) == 0 {
			delete(e.objects, o.key)
		}
	}
	alerts := e.alerts
	e.alerts = nil
	clear(e.touched)
	e.touched = e.touched[:0]
	e.call++
	return changes, alerts
}
