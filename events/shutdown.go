package events

import (
	"strconv"
	"time"
)

// TypeShutdown is the last event of every stream when the server shuts down
// (Hub.Shutdown): the server is going away; reconnect after the retry hint (the
// SSE retry field, which a browser's EventSource follows by itself), resuming from
// the last event id seen. Data is a Shutdown.
const TypeShutdown = "shutdown"

// Shutdown is the payload of a shutdown event:
// {"reason":"server_shutdown","retry_ms":3000}.
type Shutdown struct {
	Reason  string `json:"reason"`
	RetryMS int64  `json:"retry_ms"`
}

// ReasonServerShutdown is Shutdown.Reason.
const ReasonServerShutdown = "server_shutdown"

// Shutdown ends every subscription for a server shutdown: it delivers, in a last
// flush, what was published since the previous one; then each subscription gets,
// after the batches queued for it, a final shutdown event whose SSE frame carries
// "retry: <retry in ms>", then Next returns ErrStopped. From now on Subscribe
// returns ErrStopped and Publish discards, as after Run has returned (a client
// resuming on another or the restarted server is brought up to date there). Run
// keeps running until its context ends. Idempotent.
func (h *Hub) Shutdown(retry time.Duration) {
	h.flush(time.Now(), true)
	b := shutdownBatch(retry)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.mu.Lock()
		if s.err == nil {
			s.queue = append(s.queue, *b)
			s.queued++
			s.err = ErrStopped
			s.signal()
		}
		s.mu.Unlock()
	}
	clear(h.subs)
}

// shutdownBatch is the batch of the one shutdown event, without an id (the
// client keeps the id of the last event it saw).
func shutdownBatch(retry time.Duration) *Batch {
	ms := max(retry.Milliseconds(), 0)
	data := `{"reason":"` + ReasonServerShutdown + `","retry_ms":` + strconv.FormatInt(ms, 10) + `}`
	e := Event{Type: TypeShutdown, NoCoalesce: true, Data: []byte(data)}
	frame := append([]byte("retry: "+strconv.FormatInt(ms, 10)+"\n"), appendFrame(nil, &e)...)
	e.frame = frame
	return &Batch{Events: []Event{e}, sse: frame}
}
