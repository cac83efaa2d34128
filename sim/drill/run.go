package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"riskmap/sim"
)

// Config controls Run.
type Config struct {
	// Speed is how much faster than real time the simulation runs (60: a
	// simulated hour per real minute). > 0.
	Speed float64
	// Duration is the simulated time to run; 0 means the scenario's Duration.
	Duration time.Duration
	// Tick is how often (real time) due readings are collected; default 200 ms.
	Tick time.Duration
	// Progress is how often (real time) a progress line is printed; default 5 s.
	Progress time.Duration
	// MaxBatch bounds the rows of one Publish; default 5,000 (at most MaxHTTPBatch).
	MaxBatch int
	// Drain is how long, after ctx is cancelled, Run goes on sending what is queued;
	// default 5 s.
	Drain time.Duration
	// Out receives progress lines and the totals; nil for silence.
	Out io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Stats are the totals of a run.
type Stats struct {
	Generated int           // readings the model produced
	Sent      int           // readings accepted (committed by the server, acknowledged by the broker)
	Rejected  int           // readings the server refused as invalid (not sent again)
	Unsent    int           // readings still queued when the run stopped
	Failures  int           // failed publish attempts (each retried)
	SimTime   time.Duration // simulated time reached
	Elapsed   time.Duration // real time
	// Interrupted is true when ctx was cancelled before the end.
	Interrupted bool
}

// Backoff bounds of retries.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Run publishes the readings of m through pub in accelerated real time: simulated
// time advances Speed times faster than the clock; each reading is stamped with
// the wall-clock time at which it falls due — the start plus its simulated time
// divided by Speed, so never in the future when it is sent — and marked drill.
// Readings not accepted are sent again with backoff (100 ms doubling to 5 s) until
// they are, the run ends or Drain runs out after a cancel; a reading the server
// rejects as invalid is counted, never silently dropped. Run returns when every
// reading up to Duration is sent, or when ctx is cancelled (after the drain), or
// on a fatal error (the server refuses the token, ...).
func Run(ctx context.Context, m *sim.Model, pub Publisher, cfg Config) (Stats, error) {
	if cfg.Speed <= 0 {
		return Stats{}, fmt.Errorf("drill: speed %v: must be positive", cfg.Speed)
	}
	if cfg.Duration <= 0 {
		cfg.Duration = m.Scenario().Duration
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 200 * time.Millisecond
	}
	if cfg.Progress <= 0 {
		cfg.Progress = 5 * time.Second
	}
	if cfg.MaxBatch <= 0 || cfg.MaxBatch > MaxHTTPBatch {
		cfg.MaxBatch = 5000
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	say := func(format string, args ...any) {
		if cfg.Out != nil {
			fmt.Fprintf(cfg.Out, format+"\n", args...)
		}
	}
	ext := map[int64]string{}
	for _, s := range m.Sensors() {
		ext[s.ID] = s.ExternalID
	}

	r := &runner{m: m, pub: pub, cfg: cfg, ext: ext, say: say, start: cfg.Now()}
	r.lastProgress, r.nextTry = r.start, r.start
	err := r.loop(ctx)
	if ctx.Err() != nil && err == nil {
		r.st.Interrupted = true
		err = r.drain()
	}
	r.st.Unsent = len(r.queue)
	r.st.Elapsed = cfg.Now().Sub(r.start)
	r.progress(cfg.Now())
	return r.st, err
}

type runner struct {
	m     *sim.Model
	pub   Publisher
	cfg   Config
	ext   map[int64]string
	say   func(string, ...any)
	start time.Time

	queue        []Row
	backoff      time.Duration
	nextTry      time.Time
	lastErr      string
	lastProgress time.Time
	lastSent     int
	st           Stats
}

// collect moves the readings due by now into the queue.
func (r *runner) collect(now time.Time) {
	simT := time.Duration(float64(now.Sub(r.start)) * r.cfg.Speed)
	simT = min(simT, r.cfg.Duration)
	r.st.SimTime = max(r.st.SimTime, simT)
	for _, rd := range r.m.Readings(simT) {
		at := r.start.Add(time.Duration(float64(rd.At) / r.cfg.Speed)).Truncate(time.Microsecond).UTC()
		r.queue = append(r.queue, Row{SensorID: rd.SensorID, Time: at, Value: rd.Value, Drill: true, ExternalID: r.ext[rd.SensorID]})
		r.st.Generated++
	}
}

// send publishes the queue in batches until it is empty or an attempt fails.
func (r *runner) send(ctx context.Context) error {
	for len(r.queue) > 0 {
		n := min(len(r.queue), r.cfg.MaxBatch)
		batch := r.queue[:n]
		failed, err := r.pub.Publish(ctx, batch)
		r.st.Sent += n - len(failed)
		switch {
		case err == nil && len(failed) == 0:
			r.queue = r.queue[n:]
			r.backoff = 0
			continue
		case errors.Is(err, ErrFatal):
			return err
		case errors.Is(err, ErrRejected):
			r.st.Rejected += len(failed)
			r.say("REJECTED %d readings (not sent again): %v", len(failed), err)
			r.queue = r.queue[n:]
			continue
		}
		// Not accepted: keep the failed rows at the head of the queue, back off.
		r.st.Failures++
		if err == nil {
			err = fmt.Errorf("%d readings not accepted", len(failed))
		}
		if msg := err.Error(); msg != r.lastErr {
			r.say("publish failed (%d readings will be sent again): %v", len(failed), err)
			r.lastErr = msg
		}
		r.queue = append(append([]Row(nil), failed...), r.queue[n:]...)
		r.backoff = min(max(2*r.backoff, minBackoff), maxBackoff)
		r.nextTry = r.cfg.Now().Add(r.backoff)
		return errRetry
	}
	r.lastErr = ""
	return nil
}

func (r *runner) loop(ctx context.Context) error {
	tick := time.NewTicker(r.cfg.Tick)
	defer tick.Stop()
	for {
		now := r.cfg.Now()
		r.collect(now)
		if !now.Before(r.nextTry) {
			if err := r.send(ctx); err != nil && !errors.Is(err, errRetry) {
				return err
			}
		}
		if now.Sub(r.lastProgress) >= r.cfg.Progress {
			r.progress(now)
		}
		if r.m.Next() > r.cfg.Duration && len(r.queue) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// drain tries, for cfg.Drain, to send what is queued after a cancel.
func (r *runner) drain() error {
	if len(r.queue) == 0 {
		return nil
	}
	r.say("interrupted: sending the %d queued readings (up to %v)...", len(r.queue), r.cfg.Drain)
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Drain)
	defer cancel()
	for len(r.queue) > 0 && ctx.Err() == nil {
		err := r.send(ctx)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errRetry) {
			return err
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(r.nextTry)):
		}
	}
	return nil
}

func (r *runner) progress(now time.Time) {
	dt := now.Sub(r.lastProgress).Seconds()
	rate := 0.0
	if dt > 0 {
		rate = float64(r.st.Sent-r.lastSent) / dt
	}
	r.say("sim %s / %s  sent %d (%.0f/s)  queued %d  failed attempts %d  rejected %d",
		clock(r.st.SimTime), clock(r.cfg.Duration), r.st.Sent, rate, len(r.queue), r.st.Failures, r.st.Rejected)
	r.lastProgress, r.lastSent = now, r.st.Sent
}

// clock formats a simulated duration as h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d / time.Second)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}
