package events

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultFlush        = 250 * time.Millisecond
	DefaultWindow       = 50_000
	DefaultClientBuffer = 10_000
	DefaultHeartbeat    = 15 * time.Second
)

// Options tune a Hub. A zero or negative field means its default (Heartbeat:
// negative means no heartbeats).
type Options struct {
	// Flush is the batching interval: every Flush the hub hands each subscription
	// one batch of what was published since the last one, after merging changes to
	// the same object. It bounds the delay it adds to an event. Default 250 ms.
	Flush time.Duration
	// Window is how many events (after coalescing) the hub keeps, newest last, so
	// that a client reconnecting with the id of one of them gets what it missed.
	// Memory is about Window × (payload + 150 bytes). Default 50,000 (50 s at
	// 1,000 changes/s).
	Window int
	// ClientBuffer is how many events a subscription may have waiting (handed out
	// by the hub, not yet taken with Next). Past it the subscription is dropped with
	// a reload event. A replay longer than this is replaced by a reload too.
	// Default 10,000.
	ClientBuffer int
	// Heartbeat: a subscription that was handed nothing for this long gets a
	// heartbeat batch (an SSE comment), which keeps proxies from closing an idle
	// stream and lets the server notice a vanished client. Checked at each flush, so
	// it is rounded up to a multiple of Flush. Default 15 s; negative: none.
	Heartbeat time.Duration
}

func (o Options) withDefaults() Options {
	if o.Flush <= 0 {
		o.Flush = DefaultFlush
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.ClientBuffer <= 0 {
		o.ClientBuffer = DefaultClientBuffer
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	return o
}

// Errors that end a subscription; Subscription.Next returns them once nothing is
// left to take.
var (
	// ErrStopped: the hub's Run has returned. Subscribe returns it too.
	ErrStopped = errors.New("events: the hub has stopped")
	// ErrClosed: the subscription's Close was called.
	ErrClosed = errors.New("events: subscription closed")
	// ErrDropped: the subscriber fell more than Options.ClientBuffer events behind;
	// its last batch was a reload event.
	ErrDropped = errors.New("events: subscription dropped: the client fell too far behind")
)

// Hub fans published events out to subscriptions. Create it with NewHub and run
// its flush loop with Run; every method is safe for concurrent use.
type Hub struct {
	opt Options

	pubMu   sync.Mutex
	pending []Event // published since the last flush; the flush takes the slice
	stopped bool    // Run has returned: Publish discards

	mu     sync.Mutex // guards subs, ring, closed
	subs   map[*Subscription]struct{}
	ring   ring
	closed bool

	running atomic.Bool
	urgent  chan struct{} // PublishNow: flush without waiting for the tick

	published, coalesced, delivered, replayed, reloads, dropped atomic.Int64

	// flushMu serializes flushes: Run's and Shutdown's last one. The fields below
	// it are reused between flushes and touched only under it.
	flushMu sync.Mutex
	merge   map[key]merged
	groups  map[string]*Batch
	snap    []*Subscription
	gone    []*Subscription
}

type merged struct {
	last     int    // index of the latest event of the key in the flush
	warnings uint16 // union over the merged events
}

// NewHub returns a hub with the given options (see Options for the defaults). Call
// Run to start delivering.
func NewHub(opt Options) *Hub {
	opt = opt.withDefaults()
	return &Hub{
		opt:    opt,
		subs:   map[*Subscription]struct{}{},
		ring:   ring{window: opt.Window},
		merge:  map[key]merged{},
		groups: map[string]*Batch{},
		urgent: make(chan struct{}, 1),
	}
}

// Options returns the hub's options, defaults filled in.
func (h *Hub) Options() Options { return h.opt }

// Publish queues events for the next flush, in order. It never waits for a
// subscriber: it appends to a slice under a lock no subscriber ever holds. The hub
// owns the events from here on (see Event). Before Run is started events wait for
// its first flush; after Run has returned they are discarded.
func (h *Hub) Publish(evs ...Event) {
	h.pubMu.Lock()
	if h.stopped {
		h.pubMu.Unlock()
		return
	}
	h.pending = append(h.pending, evs...)
	h.pubMu.Unlock()
	h.published.Add(int64(len(evs)))
}

// PublishNow publishes events that must not wait for the next flush tick — alerts
// — and makes Run flush at once (with whatever else is pending). Use it for rare
// events only: each call is a flush.
func (h *Hub) PublishNow(evs ...Event) {
	h.Publish(evs...)
	select {
	case h.urgent <- struct{}{}:
	default:
	}
}

// Reset tells every subscriber to reload: the data was replaced wholesale (the
// index was reloaded from the database), so no replay of events can bring a client
// up to date. It queues, in order with published events, a reload event with
// reason "reset" and the given id — the change sequence number the reloaded data is
// at, 0 when unknown — and at its flush empties the window down to that event: a
// client resuming from before it gets a reload, one resuming from it gets what
// followed. Events published before the reset in the same flush are not sent.
func (h *Hub) Reset(id int64) {
	h.Publish(Event{ID: id, Type: TypeReload, NoCoalesce: true, reset: true,
		Data: []byte(`{"reason":"` + ReasonReset + `"}`)})
}

// Run is the flush loop: every Options.Flush it delivers what was published. It
// returns when ctx ends, after ending every subscription with ErrStopped (their
// consumers still get what was already queued). Run is meant to be called once;
// a second concurrent or later call returns at once.
func (h *Hub) Run(ctx context.Context) {
	if !h.running.CompareAndSwap(false, true) {
		return
	}
	t := time.NewTicker(h.opt.Flush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			h.stop()
			return
		case now := <-t.C:
			h.flush(now, false)
		case <-h.urgent:
			h.flush(time.Now(), false)
		}
	}
}

func (h *Hub) stop() {
	h.pubMu.Lock()
	h.stopped, h.pending = true, nil
	h.pubMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.end(ErrStopped, false)
	}
	clear(h.subs)
}

// flush is one round of the Run loop: it delivers what was published since the
// last one. With last (Shutdown) publishing stops in the same step, so that no
// event falls between the last flush and the stop.
func (h *Hub) flush(now time.Time, last bool) {
	h.flushMu.Lock()
	defer h.flushMu.Unlock()
	h.pubMu.Lock()
	evs := h.pending
	h.pending = nil // the batches handed out share evs: never reuse it
	if last {
		h.stopped = true
	}
	h.pubMu.Unlock()

	evs = h.coalesce(evs)
	reset := -1
	for i := range evs {
		if evs[i].reset {
			reset = i
		}
	}
	if reset > 0 {
		// Everything before the last reset is superseded by the reload.
		h.coalesced.Add(int64(reset))
		evs = evs[reset:]
	}
	for i := range evs {
		encode(&evs[i])
	}

	h.mu.Lock()
	if reset >= 0 {
		h.ring.reset()
	}
	for i := range evs {
		h.ring.push(evs[i])
	}
	newest := h.ring.newest()
	h.snap = h.snap[:0]
	for s := range h.subs {
		h.snap = append(h.snap, s)
	}
	h.mu.Unlock()

	// One batch per distinct filter, shared by the subscriptions that have it.
	clear(h.groups)
	var reload *Batch
	h.gone = h.gone[:0]
	for _, s := range h.snap {
		b := h.groups[s.key]
		if b == nil {
			b = newBatch(evs, &s.filter)
			h.groups[s.key] = b
		}
		n := s.deliver(b, now, h.opt)
		switch {
		case n >= 0:
			h.delivered.Add(int64(n))
		default: // too far behind
			if reload == nil {
				reload = reloadBatch(newest, ReasonSlowClient)
			}
			if s.drop(reload) {
				h.gone = append(h.gone, s)
			}
		}
	}
	if len(h.gone) > 0 {
		h.dropped.Add(int64(len(h.gone)))
		h.reloads.Add(int64(len(h.gone)))
		h.mu.Lock()
		for _, s := range h.gone {
			delete(h.subs, s)
		}
		h.mu.Unlock()
	}
	clear(h.snap) // no references kept to closed subscriptions
	clear(h.gone)
}

// coalesce merges, in place, the coalescable events of one flush that are about the
// same object (Type, Layer, FeatureID; see Event.coalescable) into the latest of them, at its position, so
// ids stay in publishing order; the merged event's Warnings is the union of theirs,
// so it reaches every client one of them would have reached.
func (h *Hub) coalesce(evs []Event) []Event {
	m := h.merge
	clear(m)
	for i := range evs {
		if !evs[i].coalescable() {
			continue
		}
		k := evs[i].key()
		a := m[k]
		a.last, a.warnings = i, a.warnings|evs[i].Warnings
		m[k] = a
	}
	out := evs[:0]
	for i := range evs {
		e := evs[i]
		if e.coalescable() {
			a := m[e.key()]
			if a.last != i {
				continue
			}
			e.Warnings = a.warnings
		}
		out = append(out, e)
	}
	clear(evs[len(out):]) // drop references to merged payloads
	h.coalesced.Add(int64(len(evs) - len(out)))
	return out
}

// encode makes e's SSE frame; e.Data then points into it, so a kept event holds
// its payload once.
func encode(e *Event) {
	f := appendFrame(make([]byte, 0, len(e.Data)+len(e.Type)+48), e)
	if !bytes.ContainsAny(e.Data, "\r\n") {
		end := len(f) - 2
		e.Data = f[end-len(e.Data) : end : end]
	}
	e.frame = f
}

// Subscribe starts a subscription to the events that pass f. With resume false it
// receives events published from now on. With resume true, lastID is the id of the
// last event the client received (its Last-Event-ID): when that event is still in
// the window, the subscription first receives every later event of the window that
// passes f (one batch), then the live ones; when it is not (unknown, or too old) or
// more than Options.ClientBuffer events passing f followed it, the first batch is a
// reload event instead. Either way nothing is lost or repeated between the replay
// and the live events. The caller must Close the subscription when done with it.
// After Run has returned, Subscribe returns ErrStopped.
func (h *Hub) Subscribe(f Filter, lastID int64, resume bool) (*Subscription, error) {
	f, k := f.canonical()
	s := &Subscription{hub: h, filter: f, key: k, ready: make(chan struct{}, 1), lastSent: time.Now()}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrStopped
	}
	s.start = h.ring.newest()
	if resume {
		pos, found := h.ring.find(lastID)
		var missed []Event
		over := false
		if found {
			for i := pos + 1; i < h.ring.len(); i++ {
				if e := h.ring.at(i); s.filter.Match(e) {
					if len(missed) == h.opt.ClientBuffer {
						over = true
						break
					}
					missed = append(missed, *e)
				}
			}
		}
		switch {
		case !found:
			s.queue = append(s.queue, *reloadBatch(s.start, ReasonUnknownID))
			h.reloads.Add(1)
		case over:
			s.queue = append(s.queue, *reloadBatch(s.start, ReasonBacklog))
			h.reloads.Add(1)
		case len(missed) > 0:
			s.queue = append(s.queue, Batch{Events: missed})
			s.queued = len(missed)
			h.replayed.Add(int64(len(missed)))
		}
		if len(s.queue) > 0 {
			s.ready <- struct{}{}
		}
	}
	h.subs[s] = struct{}{}
	return s, nil
}

// Stats are the hub's counters since NewHub.
type Stats struct {
	// Clients is the number of live subscriptions.
	Clients int
	// Published counts the events given to Publish, and Resets, while the hub was
	// not stopped.
	Published int64
	// Coalesced counts the events merged into a later event of the same object
	// (or superseded by a Reset in the same flush).
	Coalesced int64
	// Delivered counts live events handed to subscriptions (one per subscription
	// an event went to).
	Delivered int64
	// Replayed counts events handed to resuming subscriptions from the window.
	Replayed int64
	// Reloads counts reload events: on resume and on drop.
	Reloads int64
	// Dropped counts subscriptions dropped for falling behind.
	Dropped int64
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	n := len(h.subs)
	h.mu.Unlock()
	return Stats{Clients: n, Published: h.published.Load(), Coalesced: h.coalesced.Load(),
		Delivered: h.delivered.Load(), Replayed: h.replayed.Load(), Reloads: h.reloads.Load(), Dropped: h.dropped.Load()}
}

// ring is the resume window: the last window events, oldest first.
type ring struct {
	window int
	buf    []Event // grows to window, then wraps
	start  int     // index in buf of the oldest event once full
}

func (r *ring) len() int { return len(r.buf) }

// at returns the i-th event, 0 being the oldest.
func (r *ring) at(i int) *Event { return &r.buf[(r.start+i)%len(r.buf)] }

func (r *ring) push(e Event) {
	if len(r.buf) < r.window {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.start] = e
	r.start = (r.start + 1) % len(r.buf)
}

// reset empties the ring.
func (r *ring) reset() {
	clear(r.buf)
	r.buf, r.start = r.buf[:0], 0
}

// newest returns the id of the newest event, 0 when there is none.
func (r *ring) newest() int64 {
	if len(r.buf) == 0 {
		return 0
	}
	return r.at(len(r.buf) - 1).ID
}

// find returns the position of the newest event with the given id.
func (r *ring) find(id int64) (int, bool) {
	if id == 0 {
		return 0, false
	}
	for i := len(r.buf) - 1; i >= 0; i-- {
		if r.at(i).ID == id {
			return i, true
		}
	}
	return 0, false
}
