package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// FlatRule says when the heap of a soak is flat. Over the samples taken after
// Warmup (the time caches and bounded histories take to fill):
//
//   - the least-squares slope of heap in use against time is at most MaxSlope
//     MB per minute (1 MB = 1e6 bytes), and
//   - the median of the last minute is within Tolerance (a fraction) of the
//     median of the first minute after the warm-up (the sixth minute with the
//     default 5-minute warm-up, which covers the fill of the server's bounded
//     buffers: the event hub's 50,000-event window, the sensors' histories).
//
// A leak shows in both: a steady rise in the slope, a step in the medians.
type FlatRule struct {
	Warmup    time.Duration
	MaxSlope  float64 // MB/min
	Tolerance float64 // fraction, e.g. 0.10
}

// FlatResult is a FlatRule's verdict with its figures.
type FlatResult struct {
	Slope          float64 // MB/min over the samples after the warm-up
	Intercept      float64 // MB at time 0 on the least-squares line
	First, Last    float64 // medians of the first minute after the warm-up and of the last minute, MB
	Samples        int     // samples after the warm-up
	Flat           bool
	Why            string // what failed, when not flat
	SlopeOK, MedOK bool
}

// Check applies the rule to samples of heap in use (bytes) at times t (seconds
// from the start); NaN samples are left out. It needs at least two minutes of
// samples after the warm-up.
func (r FlatRule) Check(t, heap []float64) (FlatResult, error) {
	if len(t) != len(heap) {
		return FlatResult{}, fmt.Errorf("flatness: %d times, %d samples", len(t), len(heap))
	}
	w := r.Warmup.Seconds()
	var xs, ys []float64
	for i := range t {
		if t[i] >= w && !math.IsNaN(heap[i]) {
			xs = append(xs, t[i]/60)
			ys = append(ys, heap[i]/1e6)
		}
	}
	if len(xs) < 2 || xs[len(xs)-1]-xs[0] < 2 {
		return FlatResult{}, fmt.Errorf("flatness: %d heap samples after the %v warm-up, spanning less than 2 minutes: run longer", len(xs), r.Warmup)
	}
	res := FlatResult{Samples: len(xs)}
	res.Slope, res.Intercept = fit(xs, ys)
	start, end := xs[0], xs[len(xs)-1]
	var first, last []float64
	for i, x := range xs {
		if x < start+1 {
			first = append(first, ys[i])
		}
		if x > end-1 {
			last = append(last, ys[i])
		}
	}
	res.First, res.Last = median(first), median(last)
	res.SlopeOK = res.Slope <= r.MaxSlope
	res.MedOK = math.Abs(res.Last-res.First) <= r.Tolerance*res.First
	res.Flat = res.SlopeOK && res.MedOK
	switch {
	case !res.SlopeOK && !res.MedOK:
		res.Why = fmt.Sprintf("slope %.2f MB/min > %.2f and last-minute median %.1f MB not within %.0f %% of %.1f MB", res.Slope, r.MaxSlope, res.Last, 100*r.Tolerance, res.First)
	case !res.SlopeOK:
		res.Why = fmt.Sprintf("slope %.2f MB/min > %.2f", res.Slope, r.MaxSlope)
	case !res.MedOK:
		res.Why = fmt.Sprintf("last-minute median %.1f MB not within %.0f %% of the first minute's %.1f MB", res.Last, 100*r.Tolerance, res.First)
	}
	return res, nil
}

// fit is the least-squares line of y against x: its slope and intercept.
func fit(x, y []float64) (slope, intercept float64) {
	n := float64(len(x))
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/n, sy/n
	var num, den float64
	for i := range x {
		num += (x[i] - mx) * (y[i] - my)
		den += (x[i] - mx) * (x[i] - mx)
	}
	if den == 0 {
		return 0, my
	}
	return num / den, my - num/den*mx
}

// median of v (NaN when empty); v is not changed.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
