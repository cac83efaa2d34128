package ingest

import (
	"context"
	"log/slog"
	"time"

	"riskmap/events"
	"riskmap/index"
	"riskmap/store"
)

// RelayStore is what the relay reads (store/postgis implements it).
type RelayStore interface {
	// ListenEvents calls fn for every alert, acknowledgement and signal committed
	// (by any process) while it listens; listening once it does.
	ListenEvents(ctx context.Context, listening func(), fn func(typ string, id int64)) error
	Alert(ctx context.Context, id int64) (store.StoredAlert, error)
	AlertsAfter(ctx context.Context, after int64, limit int) ([]store.StoredAlert, error)
	SignalsAfter(ctx context.Context, after int64) ([]store.Signal, error)
	LatestEventIDs(ctx context.Context) (alert, signal int64, err error)
}

// Publisher takes events for the stream (events.Hub).
type Publisher interface {
	PublishNow(evs ...events.Event)
}

// Relay puts every alert, acknowledgement and signal stored in the database — by
// this process or any other on the same database — on this process's event
// stream, at once (events.Hub.PublishNow). It follows the store's notifications;
// after a lost connection it catches up on the alerts and signals stored
// meanwhile (by id; acknowledgements made while it was away are not replayed:
// GET /api/v1/alerts has them). It starts from what exists when it starts: the
// stream carries news, the API the history.
type Relay struct {
	st  RelayStore
	pub Publisher
	ix  *index.Index // names the alerts' objects; may be nil
	log *slog.Logger

	lastAlert, lastSignal int64 // owned by Run's goroutine
}

// NewRelay returns a relay; Run starts it. Each alert on the stream carries its
// object as ix has it (ObjectOf; ix may be nil), so that a client need not fetch
// the feature to show the alert.
func NewRelay(st RelayStore, pub Publisher, ix *index.Index, log *slog.Logger) *Relay {
	if log == nil {
		log = slog.Default()
	}
	return &Relay{st: st, pub: pub, ix: ix, log: log}
}

// Run relays until ctx ends, reconnecting with backoff (100 ms doubling to 5 s).
func (r *Relay) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	sleep := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
		return true
	}
	for {
		a, g, err := r.st.LatestEventIDs(ctx)
		if err == nil {
			r.lastAlert, r.lastSignal = a, g
			break
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("event relay: start", "err", err, "retry_in", backoff)
		if !sleep() {
			return
		}
	}
	for {
		err := r.st.ListenEvents(ctx, func() {
			backoff = 100 * time.Millisecond
			r.catchUp(ctx)
		}, func(typ string, id int64) { r.handle(ctx, typ, id) })
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("event relay: listening failed, reconnecting", "err", err, "retry_in", backoff)
		if !sleep() {
			return
		}
	}
}

// catchUp publishes the alerts and signals stored after the last ones relayed.
func (r *Relay) catchUp(ctx context.Context) {
	r.newAlerts(ctx)
	r.newSignals(ctx)
}

// newAlerts publishes the alerts stored after the last one relayed.
func (r *Relay) newAlerts(ctx context.Context) {
	for {
		as, err := r.st.AlertsAfter(ctx, r.lastAlert, 1000)
		if err != nil {
			r.log.Warn("event relay: alerts", "err", err)
			break
		}
		r.publishAlerts(as)
		if len(as) < 1000 {
			break
		}
	}
}

// newSignals publishes the signal settings stored after the last one relayed.
func (r *Relay) newSignals(ctx context.Context) {
	gs, err := r.st.SignalsAfter(ctx, r.lastSignal)
	if err != nil {
		r.log.Warn("event relay: signals", "err", err)
		return
	}
	evs := make([]events.Event, 0, len(gs))
	for _, g := range gs {
		evs = append(evs, SignalEvent(g))
		r.lastSignal = max(r.lastSignal, g.ID)
	}
	if len(evs) > 0 {
		r.pub.PublishNow(evs...)
	}
}

func (r *Relay) publishAlerts(as []store.StoredAlert) {
	if len(as) == 0 {
		return
	}
	evs := make([]events.Event, len(as))
	for i, a := range as {
		evs[i] = AlertEvent(EventAlert, a, ObjectOf(r.ix, a.Layer, a.FeatureID))
		r.lastAlert = max(r.lastAlert, a.ID)
	}
	r.pub.PublishNow(evs...)
}

// handle relays one notification. New alerts and signals are read by id from
// the last relayed on, so one query serves a burst of notifications.
func (r *Relay) handle(ctx context.Context, typ string, id int64) {
	switch typ {
	case EventAlert:
		if id > r.lastAlert {
			r.newAlerts(ctx)
		}
	case EventSignal:
		if id > r.lastSignal {
			r.newSignals(ctx)
		}
	case EventAlertAck:
		a, err := r.st.Alert(ctx, id)
		if err != nil {
			r.log.Warn("event relay: acknowledged alert", "id", id, "err", err)
			return
		}
		r.pub.PublishNow(AlertEvent(EventAlertAck, a, ObjectOf(r.ix, a.Layer, a.FeatureID)))
	}
}
