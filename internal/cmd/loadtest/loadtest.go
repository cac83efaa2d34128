package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The kinds of operation, in the report's order.
const (
	kindTiles      = "tiles"
	kindNearby     = "nearby"
	kindSSEConnect = "sse-connect"
	kindEvents     = "events"
	kindReadings   = "readings"
	kindEdits      = "edits"
)

var kinds = []string{kindTiles, kindNearby, kindSSEConnect, kindEvents, kindReadings, kindEdits}

// env is what the load's goroutines share.
type env struct {
	base                     string
	plain, sse               *http.Client
	sensorToken, editorToken string
	metricsToken             string
	metricsErr               error // the first failed scrape of /metrics, but 404
	rec                      map[string]*Recorder
	subs                     subscribers
	readings                 atomic.Int64 // readings stored
}

// Sample is one second of the run.
type Sample struct {
	T     float64 // seconds from the start of the load, at the sample
	Kinds map[string]Second
	Mem   Memory
	SSE   int64   // streams open
	Load1 float64 // the machine's 1-minute load average
}

// result is the whole run.
type result struct {
	started   time.Time
	elapsed   time.Duration // the load's duration, to the last request answered
	start     Memory        // before the load
	samples   []Sample
	totals    map[string]Hist
	errors    map[string]int64
	messages  map[string][]string
	events    int64 // events received, all subscribers
	readings  int64 // readings stored
	sensors   int
	noMetrics bool
	// this process's CPU time, seconds: at the start of the load, and over it
	selfCPU0, selfCPU float64
}

func loadTest(ctx context.Context, c config, out io.Writer) (*result, error) {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	e := &env{base: c.url, sensorToken: c.sensorToken, editorToken: c.editorToken, metricsToken: c.metricsToken, rec: map[string]*Recorder{}}
	for _, k := range kinds {
		e.rec[k] = &Recorder{}
	}
	conns := c.tileWorkers + c.nearbyWorkers + 2*c.inflight + 8
	e.plain = &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns,
		DisableCompression: true, IdleConnTimeout: time.Minute}}
	e.sse = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}}
	defer e.plain.CloseIdleConnections()

	// The server: ready, its sensors, the edits' targets.
	if err := waitReady(ctx, e, c.readyTimeout, c.pid); err != nil {
		return nil, err
	}
	var ss []sensor
	if c.readingsRate > 0 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/api/v1/sensors", nil)
		_, body, err := do(e.plain, req)
		if err != nil {
			return nil, err
		}
		if ss, err = calmSensors(body); err != nil {
			return nil, err
		}
	}
	var targets []*editTarget
	if c.editRate > 0 {
		var err error
		if targets, err = e.editTargets(ctx, 20); err != nil {
			return nil, err
		}
	}
	tp, err := newTilePicker(10, 17)
	if err != nil {
		return nil, err
	}
	points := nearbyPoints()
	res := &result{sensors: len(ss), totals: map[string]Hist{}, errors: map[string]int64{}, messages: map[string][]string{}}
	res.start = sampleMemory(ctx, e, c.pid, &res.noMetrics)
	say("server %s ready: %d sensors, %d risk points to edit; heap in use %s, RSS %s; machine %d CPUs, load average %.2f; this process GOMAXPROCS %d",
		e.base, len(ss), len(targets), mb(res.start.HeapInuse), mb(firstKnown(res.start.RSS, res.start.VmRSS)), runtime.NumCPU(), loadAverage(), runtime.GOMAXPROCS(0))
	if res.noMetrics {
		say("the server has no /metrics: heap figures unknown, memory from /proc only")
	}

	// Subscribers first, held for the whole run.
	subCtx, stopSubs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSubs()
	var subsWG, connecting sync.WaitGroup
	sem := make(chan struct{}, 64)
	t0 := time.Now()
	for i := range c.subscribers {
		connecting.Add(1)
		sem <- struct{}{}
		subsWG.Go(func() {
			e.subscribe(subCtx, i, func() { <-sem; connecting.Done() })
		})
	}
	connecting.Wait()
	say("%d event stream clients connected in %v (%d open)", c.subscribers, time.Since(t0).Round(time.Millisecond), e.subs.connected.Load())

	// The load.
	loadCtx, stopLoad := context.WithTimeout(ctx, c.duration)
	defer stopLoad()
	res.started = time.Now()
	res.selfCPU0 = selfCPU()
	say("load for %v: tiles %s, nearby %s, %d subscribers, %.0f readings/s in batches of %d, %.1f edits/s",
		c.duration, rateText(c.tileRate, c.tileWorkers), rateText(c.nearbyRate, c.nearbyWorkers), c.subscribers, c.readingsRate, c.batch, c.editRate)
	var load sync.WaitGroup
	load.Go(func() {
		tiles := func(w int, i int64) {
			r := rand.New(rand.NewPCG(uint64(w), uint64(i)))
			t := tp.pick(r)
			timed(e.rec[kindTiles], time.Now(), func() error { return e.getTile(t) })
		}
		if c.tileRate > 0 {
			paced(loadCtx, c.tileRate, c.tileWorkers, func(i int64, at time.Time) {
				t := tp.pick(rand.New(rand.NewPCG(17, uint64(i))))
				timed(e.rec[kindTiles], at, func() error { return e.getTile(t) })
			})
		} else {
			closedLoop(loadCtx, c.tileWorkers, func(w int, i int64) { tiles(w, i) })
		}
	})
	load.Go(func() {
		if c.nearbyRate > 0 {
			paced(loadCtx, c.nearbyRate, c.nearbyWorkers, func(i int64, at time.Time) {
				timed(e.rec[kindNearby], at, func() error { return e.getNearby(nearbyPath(points, i)) })
			})
		} else {
			closedLoop(loadCtx, c.nearbyWorkers, func(w int, i int64) {
				q := int64(w)*1_000_003 + i
				timed(e.rec[kindNearby], time.Now(), func() error { return e.getNearby(nearbyPath(points, q)) })
			})
		}
	})
	if c.readingsRate > 0 {
		load.Go(func() {
			paced(loadCtx, c.readingsRate/float64(c.batch), c.inflight, func(b int64, at time.Time) {
				body := readingsBody(nil, ss, b, c.batch, time.Now(), c.valueEvery)
				if timed(e.rec[kindReadings], at, func() error { return e.postReadings(body, c.batch) }) {
					e.readings.Add(int64(c.batch))
				}
			})
		})
	}
	if c.editRate > 0 {
		load.Go(func() {
			paced(loadCtx, c.editRate, c.inflight, func(i int64, at time.Time) {
				t := targets[int(i%int64(len(targets)))]
				timed(e.rec[kindEdits], at, func() error { return e.edit(t, i) })
			})
		})
	}
	loadDone := make(chan struct{})
	go func() { load.Wait(); close(loadDone) }()

	// Samples, every second, until the load has stopped.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSay := time.Now()
	var prevCPU float64
	sample := func() {
		s := Sample{T: time.Since(res.started).Seconds(), Kinds: map[string]Second{}, Load1: loadAverage(), SSE: e.subs.connected.Load()}
		for _, k := range kinds {
			s.Kinds[k] = e.rec[k].Rotate()
		}
		s.Mem = sampleMemory(ctx, e, c.pid, &res.noMetrics)
		res.samples = append(res.samples, s)
		if time.Since(lastSay) >= c.progress-10*time.Millisecond {
			lastSay = time.Now()
			cpu := math.NaN()
			if len(res.samples) > 1 {
				cpu = 100 * (s.Mem.CPU - prevCPU) / c.progress.Seconds()
			}
			prevCPU = s.Mem.CPU
			say("%5.0fs  tiles p99 %s  nearby p99 %s  readings p99 %s  edits p99 %s  events p99 %s  %d streams  errors %d  heap %s  RSS %s  server CPU %.0f%%  load %.2f",
				s.T, ms(s.Kinds[kindTiles].P99), ms(s.Kinds[kindNearby].P99), ms(s.Kinds[kindReadings].P99), ms(s.Kinds[kindEdits].P99),
				ms(s.Kinds[kindEvents].P99), s.SSE, totalErrors(e), mb(s.Mem.HeapInuse), mb(firstKnown(s.Mem.RSS, s.Mem.VmRSS)), cpu, s.Load1)
		}
	}
	prevCPU = res.start.CPU
	for done := false; !done; {
		select {
		case <-tick.C:
			sample()
		case <-loadDone:
			done = true
		}
	}
	res.elapsed = time.Since(res.started)
	res.selfCPU = selfCPU() - res.selfCPU0
	// The subscribers end after the load: a stream lost until now counts.
	stopSubs()
	subsWG.Wait()
	sample()
	for _, k := range kinds {
		h, n, msgs := e.rec[k].Total()
		res.totals[k], res.errors[k], res.messages[k] = h, n, msgs
	}
	if e.metricsErr != nil {
		say("reading /metrics failed (the samples lack what it gives): %v", e.metricsErr)
	}
	res.events = e.subs.events.Load()
	res.readings = e.readings.Load()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// timed runs fn and records its latency from start, or its error; it reports
// whether fn succeeded.
func timed(r *Recorder, start time.Time, fn func() error) bool {
	if err := fn(); err != nil {
		r.Fail(err)
		return false
	}
	r.Add(time.Since(start))
	return true
}

func totalErrors(e *env) int64 {
	var n int64
	for _, k := range kinds {
		_, errs, _ := e.rec[k].Total()
		n += errs
	}
	return n
}

// waitReady waits until GET /readyz answers 200, at most wait, and not after the
// process pid (when > 0) has ended.
func waitReady(ctx context.Context, e *env, wait time.Duration, pid int) error {
	deadline := time.Now().Add(wait)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/readyz", nil)
		_, _, err := do(e.plain, req)
		if err == nil {
			return nil
		}
		last = err
		if pid > 0 && !alive(pid) {
			return fmt.Errorf("the server (pid %d) ended before it was ready: %w", pid, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %v: %w", e.base, wait, last)
}

// sampleMemory reads the server's memory now; *noMetrics is set once /metrics
// answered 404, and it is not asked again.
func sampleMemory(ctx context.Context, e *env, pid int, noMetrics *bool) Memory {
	m := unknownMemory()
	if !*noMetrics {
		mctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := scrapeMetrics(mctx, e.plain, e.base, e.metricsToken, &m)
		cancel()
		if errors.Is(err, errNoMetrics) {
			*noMetrics = true
		} else if err != nil && e.metricsErr == nil {
			e.metricsErr = err // said once, at the end
		}
	}
	if pid > 0 {
		_ = readProc(pid, &m)
	}
	return m
}

func rateText(rate float64, workers int) string {
	if rate > 0 {
		return fmt.Sprintf("%.0f/s (≤ %d at once)", rate, workers)
	}
	return fmt.Sprintf("%d closed-loop workers", workers)
}

func ms(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1fms", v)
}

func mb(v float64) string {
	if math.IsNaN(v) {
		return "?"
	}
	return fmt.Sprintf("%.0fMB", v/1e6)
}

func firstKnown(vs ...float64) float64 {
	for _, v := range vs {
		if !math.IsNaN(v) {
			return v
		}
	}
	return math.NaN()
}

// alive reports whether process pid runs (exists and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// selfCPU is this process's user+system CPU time so far, seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
