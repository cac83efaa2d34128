package main

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// Latencies are kept in a log-linear histogram of microseconds: values below
// histSub exactly, then histSub buckets per power of two, so a quantile is off by
// less than 1/histSub (3 %) of its value, with constant memory whatever the count.
const (
	histSub     = 32
	histSubBits = 5  // log2(histSub)
	histOctaves = 32 // up to 2^(histSubBits+histOctaves) µs, about 38 hours
	histBuckets = histSub + histOctaves*histSub
)

// Hist is a histogram of latencies in microseconds. The zero value is empty.
type Hist struct {
	counts [histBuckets]uint32
	n      uint64
	max    int64 // µs
}

// bucket is the index of v (µs, ≥ 0).
func bucket(v int64) int {
	if v < histSub {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 1 - histSubBits // octave above the exact range, from 0
	i := histSub + e*histSub + int(v>>e) - histSub
	return min(i, histBuckets-1)
}

// bucketValue is the middle of bucket i, µs.
func bucketValue(i int) float64 {
	if i < histSub {
		return float64(i)
	}
	e := (i - histSub) / histSub
	lo := float64(int64(histSub+(i-histSub)%histSub) << e)
	return lo + float64(int64(1)<<e)/2 - 0.5
}

// Add records one latency.
func (h *Hist) Add(d time.Duration) {
	v := d.Microseconds()
	h.counts[bucket(v)]++
	h.n++
	h.max = max(h.max, v)
}

// Merge adds o's counts to h.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count is the number of latencies recorded.
func (h *Hist) Count() uint64 { return h.n }

// Max is the largest latency recorded, milliseconds (exact).
func (h *Hist) Max() float64 { return float64(h.max) / 1000 }

// Quantile is the q-quantile (0 < q ≤ 1, nearest rank) in milliseconds, NaN when
// empty; q = 1 gives the exact maximum.
func (h *Hist) Quantile(q float64) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	if q >= 1 {
		return h.Max()
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			return min(bucketValue(i), float64(h.max)) / 1000
		}
	}
	return h.Max()
}

// Recorder collects one kind of operation from many goroutines: the latencies of
// the current second and of the whole run, the count of errors and the first
// error messages.
type Recorder struct {
	mu     sync.Mutex
	cur    Hist
	total  Hist
	errs   int64
	curErr int64
	msgs   []string
}

// maxMessages is how many error messages a Recorder keeps, the first ones.
const maxMessages = 5

// Add records one successful operation of latency d.
func (r *Recorder) Add(d time.Duration) {
	r.mu.Lock()
	r.cur.Add(d)
	r.mu.Unlock()
}

// AddHist records a batch of successful operations.
func (r *Recorder) AddHist(h *Hist) {
	r.mu.Lock()
	r.cur.Merge(h)
	r.mu.Unlock()
}

// Fail records one failed operation (not in the latencies).
func (r *Recorder) Fail(err error) {
	r.mu.Lock()
	r.errs++
	r.curErr++
	if len(r.msgs) < maxMessages {
		r.msgs = append(r.msgs, err.Error())
	}
	r.mu.Unlock()
}

// Second is one second of one kind: its count, errors and latencies (ms).
type Second struct {
	Count, Errors int64
	P50, P99      float64 // NaN when nothing was recorded
}

// Rotate ends the current second: it returns its figures and adds it to the total.
func (r *Recorder) Rotate() Second {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Second{Count: int64(r.cur.n), Errors: r.curErr, P50: r.cur.Quantile(0.50), P99: r.cur.Quantile(0.99)}
	r.total.Merge(&r.cur)
	r.cur = Hist{}
	r.curErr = 0
	return s
}

// Total is the whole run so far (up to the last Rotate): latencies, errors and the
// first error messages.
func (r *Recorder) Total() (Hist, int64, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total, r.errs, append([]string(nil), r.msgs...)
}
