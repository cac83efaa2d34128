package events

import (
	"context"
	"sync"
	"time"
)

// Reasons a reload event gives (Reload.Reason).
const (
	// ReasonUnknownID: the client's Last-Event-ID is not in the window (too old, or
	// from before a restart).
	ReasonUnknownID = "last_event_id_unknown"
	// ReasonBacklog: more events than Options.ClientBuffer followed the client's
	// Last-Event-ID; reloading is cheaper than replaying them.
	ReasonBacklog = "backlog_too_large"
	// ReasonSlowClient: the client fell too far behind and is disconnected after
	// this event; it should reload and reconnect.
	ReasonSlowClient = "slow_client"
	// ReasonReset: the server's data was replaced wholesale (Hub.Reset).
	ReasonReset = "reset"
)

// Reload is the payload of a reload event: {"reason":"slow_client"}.
type Reload struct {
	Reason string `json:"reason"`
}

// reloadBatch is a batch of one reload event whose id is the window's newest (the
// position to resume from once reloaded; 0, no id line, when the window is empty).
func reloadBatch(newest int64, reason string) *Batch {
	e := Event{ID: newest, Type: TypeReload, Data: []byte(`{"reason":"` + reason + `"}`)}
	encode(&e)
	return &Batch{Events: []Event{e}, sse: e.frame}
}

// Batch is what a subscription is handed at one flush: the events of the flush
// that pass its filter, in order; or a heartbeat. Batches handed out by the hub are
// shared between subscriptions: read only.
type Batch struct {
	// Events in stream order; empty for a heartbeat.
	Events []Event
	// Heartbeat marks a keep-alive batch: nothing happened for Options.Heartbeat.
	Heartbeat bool

	sse []byte // the SSE encoding of the batch, when made by the hub
}

// newBatch returns the batch of evs for subscriptions with filter f, its SSE
// encoding made once for all of them.
func newBatch(evs []Event, f *Filter) *Batch {
	if !f.all() {
		var sel []Event
		for i := range evs {
			if f.Match(&evs[i]) {
				sel = append(sel, evs[i])
			}
		}
		evs = sel
	}
	b := &Batch{Events: evs}
	if len(evs) > 0 {
		b.sse = b.SSE()
	}
	return b
}

// SSE returns the batch in text/event-stream format: the events' frames one after
// the other, or a comment line for a heartbeat. The result may be shared: do not
// modify it.
func (b *Batch) SSE() []byte {
	if b.sse != nil {
		return b.sse
	}
	if b.Heartbeat {
		return heartbeatSSE
	}
	n := 0
	for i := range b.Events {
		n += len(b.Events[i].SSE())
	}
	out := make([]byte, 0, n)
	for i := range b.Events {
		out = append(out, b.Events[i].SSE()...)
	}
	b.sse = out
	return out
}

// Subscription is one subscriber's stream of batches. One goroutine consumes it
// with Next; Close may be called from any goroutine.
type Subscription struct {
	hub    *Hub
	filter Filter
	key    string // canonical filter: subscriptions with equal keys share batches
	start  int64
	ready  chan struct{} // signalled (capacity 1) when the queue or the state changes

	mu       sync.Mutex
	queue    []Batch   // handed out by the hub, not yet taken by Next
	queued   int       // events in queue
	err      error     // why the subscription ended; nil while live
	lastSent time.Time // when the hub last queued something, for heartbeats
}

// Filter returns the subscription's filter (layers sorted, without duplicates).
func (s *Subscription) Filter() Filter { return s.filter }

// Start returns the id of the newest event published before the subscription
// began, 0 when there was none: the position the live stream starts after. A
// server can send it first (AppendSSEID), so a client that reconnects before any
// event reached it resumes from there instead of losing what happened meanwhile.
func (s *Subscription) Start() int64 { return s.start }

// Err returns why the subscription ended — ErrDropped, ErrStopped, ErrClosed — or
// nil while it is live. A dropped subscription's last batch (a reload) may still be
// waiting for Next.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Next waits until batches are queued and returns them all, oldest first, appended
// to buf[:0] (pass the previous result to reuse it). It returns an error only when
// nothing is queued and the subscription has ended — ErrDropped (after the final
// reload batch was returned), ErrStopped, ErrClosed — or ctx ended (ctx.Err()).
func (s *Subscription) Next(ctx context.Context, buf []Batch) ([]Batch, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			buf = append(buf[:0], s.queue...)
			clear(s.queue)
			s.queue, s.queued = s.queue[:0], 0
			s.mu.Unlock()
			return buf, nil
		}
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return buf[:0], err
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return buf[:0], ctx.Err()
		}
	}
}

// Close ends the subscription: the hub stops handing it batches and forgets it, and
// Next returns ErrClosed. Idempotent.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.end(ErrClosed, true)
}

// end marks the subscription ended with err unless it already is; with discard,
// what is queued is dropped.
func (s *Subscription) end(err error, discard bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	if discard {
		clear(s.queue)
		s.queue, s.queued = nil, 0
	}
	s.signal()
}

// signal wakes Next; the caller holds s.mu.
func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// deliver queues b (or a heartbeat when b is empty and one is due) and returns the
// number of events queued, or -1 when that would pass the client buffer: the
// caller then drops the subscription.
func (s *Subscription) deliver(b *Batch, now time.Time, opt Options) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0
	}
	if len(b.Events) == 0 {
		// A heartbeat only when nothing is waiting: the client has not even taken
		// the last batch, another would say nothing.
		if opt.Heartbeat > 0 && len(s.queue) == 0 && now.Sub(s.lastSent) >= opt.Heartbeat {
			s.queue = append(s.queue, Batch{Heartbeat: true, sse: heartbeatSSE})
			s.lastSent = now
			s.signal()
		}
		return 0
	}
	if s.queued+len(b.Events) > opt.ClientBuffer {
		return -1
	}
	s.queue = append(s.queue, *b)
	s.queued += len(b.Events)
	s.lastSent = now
	s.signal()
	return len(b.Events)
}

// drop ends a subscription that fell behind: its queue becomes the one reload
// batch, which Next returns before ErrDropped. It reports false when the
// subscription had ended meanwhile.
func (s *Subscription) drop(reload *Batch) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	clear(s.queue)
	s.queue = append(s.queue[:0], *reload)
	s.queued = len(reload.Events)
	s.err = ErrDropped
	s.signal()
	return true
}
