package sensors

import (
	"cmp"
	"slices"
	"time"

	"riskmap/feature"
)

// Reading times are held as Unix nanoseconds; a reading must lie in
// [2000-01-01, 2200-01-01) UTC, well inside int64 nanoseconds.
const (
	minTimeUnix = 946684800  // 2000-01-01T00:00:00Z
	maxTimeUnix = 7258118400 // 2200-01-01T00:00:00Z
)

func validTime(t time.Time) bool {
	u := t.Unix()
	return !t.IsZero() && u >= minTimeUnix && u < maxTimeUnix
}

func nsTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// sample is one held reading.
type sample struct {
	t int64 // Unix ns
	v float64
}

// track is the state of one sensor in one world: its real readings, or its drill
// readings.
type track struct {
	// hist holds the recent readings sorted by time, no two at one time, always
	// including the latest: those within TrendWindow of the latest and at least
	// the latest IntervalSamples+1, at most MaxHistory.
	hist  []sample
	has   bool    // a reading was accepted
	lastT int64   // latest reading's time, Unix ns
	lastV float64 // latest reading's value
	// level is the hysteresis level (None … Red) the readings have set; it is kept
	// while the track is silent (ObjectState.LastLevel) and resumed from on
	// recovery.
	level Level
	// below[k] (k Blue … Red) is the time of the first of the uninterrupted run of
	// latest readings below level k's clear point, 0 when the latest is not.
	below  [Red + 1]int64
	status Status
	// watch is, while Pending, when the evaluator began watching: the first Tick
	// after the sensor was set (or the latest Tick when it was set). 0 = not yet.
	watch    int64
	trend    Trend
	interval time.Duration // estimated reporting interval
}

// sensor is one active sensor with its derived configuration.
type sensor struct {
	cfg      feature.Sensor
	unit     string
	alerting bool // has thresholds
	// thr[k] is level k's threshold, clr[k] its clear point (k Blue … Red).
	thr, clr    [Red + 1]float64
	min, max    float64 // physical range, inclusive
	eps         float64 // trend epsilon: change over TrendWindow, unit
	defInterval time.Duration
	prio        int // kind priority, lower first
	obj         *object
	real        track
	drill       *track // nil: no drill going on for this sensor
}

func (s *sensor) track(drill bool) *track {
	if drill {
		return s.drill
	}
	return &s.real
}

// raw is the level of value v without hysteresis: the highest level whose
// threshold v reaches (v ≥ threshold).
func (s *sensor) raw(v float64) Level {
	if !s.alerting {
		return None
	}
	for k := Red; k >= Blue; k-- {
		if v >= s.thr[k] {
			return k
		}
	}
	return None
}

// effective is the level tr shows: NoData while silent, else its hysteresis level
// (None for a record-only sensor).
func (s *sensor) effective(tr *track) Level {
	if tr.status == Silent {
		return NoData
	}
	if !s.alerting {
		return None
	}
	return tr.level
}

// step applies a new latest reading (t, v) to tr's level: up at once to the raw
// level; down only through levels whose clear point every reading of the last
// hold (ns) has been below.
func (s *sensor) step(tr *track, t int64, v float64, hold int64) {
	for k := Blue; k <= Red; k++ {
		if s.alerting && v < s.clr[k] {
			if tr.below[k] == 0 {
				tr.below[k] = t
			}
		} else {
			tr.below[k] = 0
		}
	}
	raw := s.raw(v)
	if raw >= tr.level {
		tr.level = raw
		return
	}
	d := tr.level
	for d > raw && tr.below[d] != 0 && t-tr.below[d] >= hold {
		d--
	}
	tr.level = d
}

// reconfigure re-evaluates tr's latest value after a threshold change: the level
// is the raw level, and a value below a clear point starts that level's hold at
// the latest reading.
func (s *sensor) reconfigure(tr *track) {
	tr.below = [Red + 1]int64{}
	if !tr.has {
		tr.level = None
		return
	}
	tr.level = s.raw(tr.lastV)
	for k := Blue; k <= Red; k++ {
		if s.alerting && tr.lastV < s.clr[k] {
			tr.below[k] = tr.lastT
		}
	}
}

func cmpSample(a sample, t int64) int { return cmp.Compare(a.t, t) }

// insertLate inserts a reading older than the latest into the history; false when
// one is held at that time already, or it is older than everything held and than
// window (ns) before the latest.
func (tr *track) insertLate(t int64, v float64, window int64) bool {
	i, found := slices.BinarySearchFunc(tr.hist, t, cmpSample)
	if found || i == 0 && t < tr.lastT-window {
		return false
	}
	tr.hist = slices.Insert(tr.hist, i, sample{t, v})
	return true
}

// prune drops the oldest readings beyond max, and those older than window before
// the latest while more than keep remain.
func (tr *track) prune(window int64, keep, max int) {
	h := tr.hist
	drop := 0
	if len(h) > max {
		drop = len(h) - max
	}
	for drop < len(h)-keep && h[drop].t < tr.lastT-window {
		drop++
	}
	if drop > 0 {
		n := copy(h, h[drop:])
		clear(h[n:])
		tr.hist = h[:n]
	}
}

// estimate is the reporting interval: the median of the latest (at most n)
// spacings of the history, at least minI; def with fewer than 3 spacings.
func (tr *track) estimate(n int, def, minI time.Duration) time.Duration {
	k := min(len(tr.hist)-1, n)
	if k < 3 {
		return def
	}
	var buf [32]int64
	d := buf[:0]
	if k > len(buf) {
		d = make([]int64, 0, k)
	}
	h := tr.hist
	for i := len(h) - 1; i >= len(h)-k; i-- {
		d = append(d, h[i].t-h[i-1].t)
	}
	slices.Sort(d)
	m := d[k/2]
	if k%2 == 0 {
		m = d[k/2-1] + (d[k/2]-d[k/2-1])/2
	}
	return max(time.Duration(m), minI)
}

// fitTrend fits a least-squares line to the readings within window (ns) of the
// latest and classifies its change over the window against eps. Unknown with
// fewer than 3 readings or when they span less than a quarter of the window.
func (tr *track) fitTrend(window int64, eps float64) Trend {
	i, _ := slices.BinarySearchFunc(tr.hist, tr.lastT-window, cmpSample)
	pts := tr.hist[i:]
	if len(pts) < 3 || pts[len(pts)-1].t-pts[0].t < window/4 {
		return TrendUnknown
	}
	var sx, sy float64
	for _, p := range pts {
		sx += float64(p.t-tr.lastT) / 1e9
		sy += p.v
	}
	n := float64(len(pts))
	mx, my := sx/n, sy/n
	var sxx, sxy float64
	for _, p := range pts {
		dx := float64(p.t-tr.lastT)/1e9 - mx
		sxx += dx * dx
		sxy += dx * (p.v - my)
	}
	if sxx == 0 {
		return TrendUnknown
	}
	change := sxy / sxx * float64(window) / 1e9 // unit per window
	switch {
	case change > eps:
		return Rising
	case change < -eps:
		return Falling
	}
	return Steady
}
