// Package ingest takes sensor readings in — over HTTP batches (through package
// httpapi) and MQTT (ingest/mqtt) — stores them, evaluates them into warning
// levels (package sensors) and writes what the evaluation says back to the store:
// each monitored object's current value, trend, level and sensor status (which
// the change feed then carries to the index, the tiles and the event stream) and
// every alert (which it hands to a notifier once stored).
//
// The order is the durability contract: a batch is stored (committed) before it
// is evaluated and before Submit returns nil, so a reading acknowledged to a
// client is never lost; evaluation results are written afterwards by one writer
// goroutine, coalesced (the latest state of each object wins) and retried until
// the store takes them. A crash between the two loses no reading: on start the
// service replays the recent readings into the evaluator (Options.Replay), whose
// states it writes again; alerts of that replay describe the past and are not
// raised again.
//
// One process should run the ingest service against a database: the evaluator's
// state (hysteresis timers, trends, silence) lives in that process's memory.
package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
)

// Store is what the service needs of a store (store/postgis implements it).
type Store interface {
	Sensors(ctx context.Context) ([]feature.Sensor, error)
	InsertReadings(ctx context.Context, rs []sensors.Reading) (int, error)
	RecentReadings(ctx context.Context, since time.Time, fn func(sensors.Reading) error) error
	ApplySensorState(ctx context.Context, patches []store.FieldPatch, alerts []sensors.Alert) ([]store.StoredAlert, error)
}

// MaxBatch is the most readings one Submit takes.
const MaxBatch = 10000

// ErrNotReady: the service has not loaded its sensors yet (the store has not been
// reachable since start). Retry later.
var ErrNotReady = errors.New("sensor ingest is starting")

// ErrBatchTooLarge: more than MaxBatch readings in one Submit.
var ErrBatchTooLarge = fmt.Errorf("more than %d readings in one batch", MaxBatch)

// RowError is one rejected reading of a batch.
type RowError struct {
	// Row is the reading's index in the batch (0-based); -1 for the document as a
	// whole.
	Row      int   `json:"row"`
	SensorID int64 `json:"sensor_id,omitempty"`
	// Field is the property at fault ("sensor_id", "time", "value", ...), empty
	// when the row as a whole is.
	Field string `json:"field,omitempty"`
	// Reason is a sensors.RejectReason code ("unknown_sensor", "out_of_range",
	// ...) or, for a row that does not parse, "malformed".
	Reason  string `json:"reason"`
	Message string `json:"error"`
}

// BatchError lists the rejected readings of a batch; nothing of the batch was
// stored.
type BatchError struct {
	Rows []RowError
}

func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of the readings rejected", len(e.Rows))
	for i, r := range e.Rows {
		if i == 5 {
			fmt.Fprintf(&b, "; …")
			break
		}
		fmt.Fprintf(&b, "; row %d: %s", r.Row, r.Message)
	}
	return b.String()
}

// Config configures a Service. Store and Registry are required.
type Config struct {
	Store    Store
	Registry *layers.Registry
	// Options tune the evaluator (sensors.Options; zero values are defaults).
	Options sensors.Options
	// Now is the clock (default time.Now).
	Now func() time.Time
	// TickEvery is how often silence is evaluated (default 10 s).
	TickEvery time.Duration
	// ReloadEvery is how often the sensor list is read again (default 1 min); a
	// batch naming an unknown sensor also triggers a reload (at most every 5 s).
	ReloadEvery time.Duration
	// Replay is how much reading history is replayed into the evaluator on start
	// (default 1 h; at least the evaluator's TrendWindow).
	Replay time.Duration
	// OnAlerts receives alerts once stored, in order (e.g. to put them on the
	// event stream). It must not block for long.
	OnAlerts func([]store.StoredAlert)
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Stats are the service's counters since start.
type Stats struct {
	Accepted    int64 `json:"accepted"`     // readings stored (new or duplicate) through Submit or Store
	Rejected    int64 `json:"rejected"`     // readings rejected as invalid
	Alerts      int64 `json:"alerts"`       // alerts stored
	StateWrites int64 `json:"state_writes"` // successful state transactions
	WriteErrors int64 `json:"write_errors"` // failed state transactions (retried)
	Dropped     int64 `json:"dropped"`      // object states the database refused (logged, not retried)
	Pending     int   `json:"pending"`      // object states and alerts waiting to be written
}

// Service is the ingest service. Create it with New and run it with Run.
type Service struct {
	cfg  Config
	eval *sensors.Evaluator
	log  *slog.Logger

	ready atomic.Bool

	// mu serializes evaluation with the pending merge, so that the pending state
	// of an object is always the evaluator's latest.
	mu       sync.Mutex
	pending  map[objKey]sensors.ObjectState
	alerts   []sensors.Alert
	known    map[int64]feature.Sensor
	wake     chan struct{}
	reload   chan struct{}
	lastLoad time.Time
	lastTick time.Time
	// flushMu makes flushes one at a time, so an older state is never written
	// after a newer one.
	flushMu sync.Mutex

	accepted, rejected, alertCount, writes, writeErrs, dropped atomic.Int64
}

type objKey struct {
	layer string
	id    int64
	drill bool
}

// New returns a service; Run starts it.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Registry == nil {
		return nil, errors.New("ingest: Store and Registry are required")
	}
	ev, err := sensors.NewEvaluator(cfg.Registry, cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TickEvery <= 0 {
		cfg.TickEvery = 10 * time.Second
	}
	if cfg.ReloadEvery <= 0 {
		cfg.ReloadEvery = time.Minute
	}
	if cfg.Replay <= 0 {
		cfg.Replay = time.Hour
	}
	cfg.Replay = max(cfg.Replay, ev.Options().TrendWindow)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{
		cfg: cfg, eval: ev, log: cfg.Logger,
		pending: map[objKey]sensors.ObjectState{},
		known:   map[int64]feature.Sensor{},
		wake:    make(chan struct{}, 1),
		reload:  make(chan struct{}, 1),
	}, nil
}

// SensorState returns the real evaluated state of an active sensor.
func (s *Service) SensorState(id int64) (sensors.SensorState, bool) { return s.eval.Sensor(id) }

// ObjectState returns the real (or drill) evaluated state of a monitored object.
func (s *Service) ObjectState(layer string, id int64, drill bool) (sensors.ObjectState, bool) {
	if drill {
		return s.eval.DrillState(layer, id)
	}
	return s.eval.State(layer, id)
}

// Ready reports whether the sensors are loaded and the history replayed.
func (s *Service) Ready() bool { return s.ready.Load() }

// Stats returns the counters.
func (s *Service) Stats() Stats {
	s.mu.Lock()
	p := len(s.pending) + len(s.alerts)
	s.mu.Unlock()
	return Stats{Accepted: s.accepted.Load(), Rejected: s.rejected.Load(), Alerts: s.alertCount.Load(),
		StateWrites: s.writes.Load(), WriteErrors: s.writeErrs.Load(), Dropped: s.dropped.Load(), Pending: p}
}

// Run loads the sensors and replays the recent history (retrying while the store
// is unavailable), then evaluates silence every TickEvery, reloads the sensors
// every ReloadEvery and writes evaluation results, until ctx ends. Before it
// returns it makes one last attempt to write what is pending.
func (s *Service) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := s.start(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("ingest: start failed, retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	s.ready.Store(true)
	s.log.Info("ingest: ready", "sensors", len(s.known))

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.writer(ctx) }()
	tick := time.NewTicker(s.cfg.TickEvery)
	defer tick.Stop()
	reload := time.NewTicker(s.cfg.ReloadEvery)
	defer reload.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-tick.C:
			s.Tick()
		case <-reload.C:
			s.reloadSensors(ctx)
		case <-s.reload:
			s.reloadSensors(ctx)
		}
	}
}

// start loads the sensors and replays the history.
func (s *Service) start(ctx context.Context) error {
	if err := s.loadSensors(ctx); err != nil {
		return err
	}
	since := s.cfg.Now().Add(-s.cfg.Replay)
	n := 0
	err := s.cfg.Store.RecentReadings(ctx, since, func(r sensors.Reading) error {
		s.mu.Lock()
		states, _, err := s.eval.Observe(r)
		if err == nil {
			s.merge(states, nil) // the replay's alerts describe the past
		}
		s.mu.Unlock()
		n++
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("ingest: replayed readings", "readings", n, "since", since.UTC().Format(time.RFC3339))
	s.Tick()
	return nil
}

// loadSensors reads the sensor list and applies the differences.
func (s *Service) loadSensors(ctx context.Context) error {
	list, err := s.cfg.Store.Sensors(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastLoad = s.cfg.Now()
	seen := make(map[int64]bool, len(list))
	for _, sn := range list {
		seen[sn.ID] = true
		if old, ok := s.known[sn.ID]; ok && sameSensor(old, sn) {
			continue
		}
		states, alerts, err := s.eval.SetSensor(sn)
		if err != nil {
			s.log.Warn("ingest: sensor refused", "sensor", sn.ID, "err", err)
			continue
		}
		s.known[sn.ID] = sn
		s.merge(states, alerts)
	}
	for id := range s.known {
		if !seen[id] {
			delete(s.known, id)
			s.merge(s.eval.RemoveSensor(id), nil)
		}
	}
	return nil
}

func sameSensor(a, b feature.Sensor) bool {
	if (a.Thresholds == nil) != (b.Thresholds == nil) || a.Thresholds != nil && *a.Thresholds != *b.Thresholds {
		return false
	}
	a.Thresholds, b.Thresholds = nil, nil
	return a == b
}

func (s *Service) reloadSensors(ctx context.Context) {
	if err := s.loadSensors(ctx); err != nil {
		s.log.Warn("ingest: reload sensors", "err", err)
	}
}

// Tick evaluates silence at the clock's now (Run calls it every TickEvery).
func (s *Service) Tick() {
	s.mu.Lock()
	s.tick(s.cfg.Now())
	s.mu.Unlock()
}

// tick ticks the evaluator at now. s.mu held.
func (s *Service) tick(now time.Time) {
	states, alerts := s.eval.Tick(now)
	s.lastTick = now
	s.merge(states, alerts)
}

// freshTick ticks when the last tick is more than a second old, so that the
// evaluator's "too far in the future" limit (latest tick + MaxAhead) follows the
// clock between periodic ticks.
func (s *Service) freshTick() {
	now := s.cfg.Now()
	s.mu.Lock()
	if now.Sub(s.lastTick) > time.Second {
		s.tick(now)
	}
	s.mu.Unlock()
}

// EndDrill ends the drill picture now (the drill columns of every object go back
// to null); it returns how many objects had one. Drill readings stay stored. A
// drill also ends by itself 2 hours after its last reading (sensors.Options
// DrillExpiry).
func (s *Service) EndDrill() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	states := s.eval.EndDrill()
	s.merge(states, nil)
	return len(states)
}

// Validate checks a batch without storing it: nil, ErrNotReady,
// ErrBatchTooLarge or a *BatchError naming every bad row.
func (s *Service) Validate(rs []sensors.Reading) error {
	if !s.ready.Load() {
		return ErrNotReady
	}
	if len(rs) > MaxBatch {
		return ErrBatchTooLarge
	}
	s.freshTick()
	var bad []RowError
	unknown := false
	limit := s.cfg.Now().Add(s.eval.Options().MaxAhead)
	for i, r := range rs {
		err := s.eval.Check(r)
		if err == nil && r.Time.After(limit) {
			err = &sensors.ReadingError{Reason: sensors.RejectFuture, SensorID: r.SensorID, Time: r.Time, Value: r.Value, Limit: limit}
		}
		if err == nil {
			continue
		}
		re := RowError{Row: i, SensorID: r.SensorID, Reason: "invalid", Message: err.Error()}
		var rerr *sensors.ReadingError
		if errors.As(err, &rerr) {
			re.Reason = string(rerr.Reason)
			re.Field = rejectField[rerr.Reason]
			re.Message = rowMessage(rerr)
			unknown = unknown || rerr.Reason == sensors.RejectUnknownSensor
		}
		bad = append(bad, re)
	}
	if len(bad) == 0 {
		return nil
	}
	if unknown {
		s.requestReload()
	}
	s.rejected.Add(int64(len(bad)))
	return &BatchError{Rows: bad}
}

// rejectField is the property a rejection is about.
var rejectField = map[sensors.RejectReason]string{
	sensors.RejectUnknownSensor: "sensor_id", sensors.RejectInactive: "sensor_id",
	sensors.RejectNotFinite: "value", sensors.RejectOutOfRange: "value",
	sensors.RejectBadTime: "time", sensors.RejectFuture: "time",
}

// rowMessage is the reading error without the package prefix.
func rowMessage(e *sensors.ReadingError) string {
	v := strconv.FormatFloat(e.Value, 'g', -1, 64)
	switch e.Reason {
	case sensors.RejectUnknownSensor:
		return fmt.Sprintf("sensor %d does not exist", e.SensorID)
	case sensors.RejectInactive:
		return fmt.Sprintf("sensor %d is inactive", e.SensorID)
	case sensors.RejectNotFinite:
		return "value is not a finite number"
	case sensors.RejectOutOfRange:
		return fmt.Sprintf("value %s is outside sensor %d's physical range [%g, %g] %s", v, e.SensorID, e.Min, e.Max, e.Unit)
	case sensors.RejectBadTime:
		return "time is zero or outside the years 2000–2199"
	case sensors.RejectFuture:
		return fmt.Sprintf("time %s is in the future (after %s)", e.Time.UTC().Format(time.RFC3339), e.Limit.UTC().Format(time.RFC3339))
	}
	return e.Error()
}

// requestReload asks Run to read the sensor list again soon (at most every 5 s).
func (s *Service) requestReload() {
	s.mu.Lock()
	recent := s.cfg.Now().Sub(s.lastLoad) < 5*time.Second
	s.mu.Unlock()
	if recent {
		return
	}
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// Submit validates, stores and evaluates a batch. It returns nil once every
// reading is committed (duplicates of stored readings count as stored), a
// *BatchError when some are invalid (nothing stored), ErrNotReady,
// ErrBatchTooLarge, or the store's error (store.ErrUnavailable: retry; nothing
// is known to be stored).
func (s *Service) Submit(ctx context.Context, rs []sensors.Reading) error {
	if err := s.Validate(rs); err != nil {
		return err
	}
	if len(rs) == 0 {
		return nil
	}
	if _, err := s.cfg.Store.InsertReadings(ctx, rs); err != nil {
		return err
	}
	s.accepted.Add(int64(len(rs)))
	s.Observe(rs)
	return nil
}

// Observe evaluates readings that are stored already (or spooled durably):
// invalid ones are skipped. Readings are evaluated in time order.
func (s *Service) Observe(rs []sensors.Reading) {
	sorted := slices.Clone(rs)
	slices.SortStableFunc(sorted, func(a, b sensors.Reading) int { return a.Time.Compare(b.Time) })
	s.mu.Lock()
	for _, r := range sorted {
		states, alerts, err := s.eval.Observe(r)
		if err == nil {
			s.merge(states, alerts)
		}
	}
	s.mu.Unlock()
}

// CountAccepted adds n readings stored outside Submit (by the MQTT consumer).
func (s *Service) CountAccepted(n int) { s.accepted.Add(int64(n)) }

// merge adds evaluation results to what the writer writes and wakes it. s.mu held.
func (s *Service) merge(states []sensors.ObjectState, alerts []sensors.Alert) {
	if len(states) == 0 && len(alerts) == 0 {
		return
	}
	for _, st := range states {
		s.pending[objKey{st.Layer, st.FeatureID, st.Drill}] = st
	}
	s.alerts = append(s.alerts, alerts...)
	s.wakeWriter()
}

// wakeWriter makes the writer flush soon.
func (s *Service) wakeWriter() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// writer writes pending results until ctx ends, retrying failures with backoff.
func (s *Service) writer(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			// One last attempt, bounded, with a context of its own: ctx is done.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = s.flush(fctx)
			cancel()
			return
		case <-s.wake:
		}
		for {
			err := s.flush(ctx)
			if err == nil {
				backoff = 50 * time.Millisecond
				break
			}
			if ctx.Err() != nil {
				break
			}
			s.writeErrs.Add(1)
			s.log.Warn("ingest: writing sensor state failed, retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
	}
}

// flush writes what is pending; on failure it is put back (states newer than the
// failed ones win, alerts keep their order). Alerts go first, in a transaction
// of their own with the states of their objects, so that an alert is never held
// up by a large write of current values (during a storm every reading changes its
// object's value); the other states follow in a second transaction.
func (s *Service) flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	states, alerts := s.pending, s.alerts
	s.pending, s.alerts = map[objKey]sensors.ObjectState{}, nil
	s.mu.Unlock()
	if len(states) == 0 && len(alerts) == 0 {
		return nil
	}
	first := states
	var rest map[objKey]sensors.ObjectState
	if len(alerts) > 0 && len(states) > 2*len(alerts) {
		first, rest = map[objKey]sensors.ObjectState{}, states
		for _, a := range alerts {
			k := objKey{a.Layer, a.FeatureID, a.Drill}
			if st, ok := rest[k]; ok {
				first[k] = st
				delete(rest, k)
			}
		}
	}
	if err := s.write(ctx, first, alerts); err != nil {
		s.putBack(states, alerts)
		return err
	}
	if len(rest) > 0 {
		if err := s.write(ctx, rest, nil); err != nil {
			s.putBack(rest, nil)
			return err
		}
	}
	return nil
}

// write stores states and alerts in one transaction and hands the stored alerts
// to OnAlerts.
func (s *Service) write(ctx context.Context, states map[objKey]sensors.ObjectState, alerts []sensors.Alert) error {
	keys := make([]objKey, 0, len(states))
	for k := range states {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b objKey) int {
		if c := strings.Compare(a.layer, b.layer); c != 0 {
			return c
		}
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		switch {
		case a.drill == b.drill:
			return 0
		case !a.drill:
			return -1
		}
		return 1
	})
	patches := make([]store.FieldPatch, 0, len(keys))
	pkeys := make([]objKey, 0, len(keys))
	for _, k := range keys {
		if p, ok := Patch(states[k]); ok {
			patches = append(patches, p)
			pkeys = append(pkeys, k)
		}
	}
	stored, err := s.cfg.Store.ApplySensorState(ctx, patches, alerts)
	if err != nil && !errors.Is(err, store.ErrUnavailable) && ctx.Err() == nil {
		// The database refused something (a sensor whose range exceeds its
		// column's, say): never let one object block every alert. Store the
		// alerts alone, then each state alone, dropping — with a log — those
		// refused.
		stored, err = s.cfg.Store.ApplySensorState(ctx, nil, alerts)
		if err == nil {
			for i, p := range patches {
				if _, perr := s.cfg.Store.ApplySensorState(ctx, []store.FieldPatch{p}, nil); perr != nil {
					if errors.Is(perr, store.ErrUnavailable) || ctx.Err() != nil {
						rest := make(map[objKey]sensors.ObjectState, len(pkeys)-i)
						for _, k := range pkeys[i:] {
							rest[k] = states[k]
						}
						s.putBack(rest, nil) // the alerts are stored: only the states wait
						s.wakeWriter()
						break
					}
					s.dropped.Add(1)
					s.log.Error("ingest: state refused by the database, dropped", "layer", p.Layer, "id", p.FeatureID, "err", perr)
				}
			}
		}
	}
	if err != nil {
		return err
	}
	s.writes.Add(1)
	s.alertCount.Add(int64(len(stored)))
	if len(stored) > 0 && s.cfg.OnAlerts != nil {
		s.cfg.OnAlerts(stored)
	}
	return nil
}

// putBack returns states and alerts that could not be written to the pending
// set, behind newer states and before newer alerts.
func (s *Service) putBack(states map[objKey]sensors.ObjectState, alerts []sensors.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range states {
		if _, newer := s.pending[k]; !newer {
			s.pending[k] = st
		}
	}
	s.alerts = append(alerts, s.alerts...)
}

// Flush writes what is pending now (tests, shutdown).
func (s *Service) Flush(ctx context.Context) error { return s.flush(ctx) }
