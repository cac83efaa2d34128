package httpapi

import (
	"errors"
	"net/http"
	"time"

	"riskmap/events"
	"riskmap/index"
	"riskmap/store"
)

// GET /api/v1/events — the live stream, as Server-Sent Events (text/event-stream).
//
// Each event is
//
//	id: <change sequence number>
//	event: change | reload | (later) alert, signal
//	data: <JSON: an events.Change for a change, {"reason":...} for a reload>
//
// Parameters (any other is a 400, like every route):
//
//	layers=a,b | all       only these layers' events
//	warning=orange,red     only features that had one of these warning levels just
//	min_warning=yellow       before or just after the change (so a feature leaving the
//	                         filter is seen leaving); features of layers without a
//	                         warning level never pass. The other filters of the grammar
//	                         (grade, category, ...) are not supported on the stream.
//	last_event_id=N        resume after event N, for clients that cannot set the
//	                         Last-Event-ID header; the header wins when both are given
//	                         (a browser reconnecting keeps the URL and sends the newer
//	                         id in the header)
//
// Resume: with Last-Event-ID (or last_event_id) the stream starts with every event
// after that one still in the hub's window, then goes on live; when the id is not in
// the window (too old, another server's, or a header that is not a decimal id), or
// more than the hub's ClientBuffer events followed it, it starts with a reload event
// instead (its id the newest event's) — reload your data, then keep listening. A
// stream without a resume point starts with an id-only block ("id: N", the newest
// event so far), so an early reconnect loses nothing. A client that falls more than
// the hub's ClientBuffer behind gets a reload event and is disconnected. While
// nothing happens a heartbeat comment (": heartbeat") is sent every Options.Heartbeat.
//
// The stream is exempt from the request timeout (withTimeout) and from the server's
// read and write timeouts: each write gets its own deadline (eventsWriteTimeout).

// eventsRoute names the route, so withTimeout can leave it alone.
const eventsRoute = "events"

// eventsParams are the query parameters of the event stream.
var eventsParams = []string{"layers", "warning", "min_warning", "last_event_id"}

const (
	// eventsWriteTimeout bounds one write to a stream client: a client that accepts
	// nothing for this long is disconnected (the hub's ClientBuffer usually drops
	// it first).
	eventsWriteTimeout = 30 * time.Second
	// eventsFinalWriteTimeout bounds writing the reload event to a client dropped
	// for being slow: best effort.
	eventsFinalWriteTimeout = 5 * time.Second
	// maxEventIDLen is the most digits of an event id (int64).
	maxEventIDLen = 19
)

// unavailableError is a 503 with its own message: errors.Is(err,
// store.ErrUnavailable) holds, which is how writeError maps it.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string        { return e.msg }
func (e *unavailableError) Is(target error) bool { return target == store.ErrUnavailable }

var (
	errEventsDisabled = &unavailableError{"live events are not enabled on this server"}
	errEventsStopped  = &unavailableError{"the event stream is shutting down; reconnect later"}
)

// eventsRequest is a parsed stream request.
type eventsRequest struct {
	filter events.Filter
	// lastID is the client's resume point when resume is set; 0 with resume set
	// means "a resume point the hub cannot know" (a malformed header): reload.
	lastID int64
	resume bool
}

// parseEventsRequest reads the query parameters and the Last-Event-ID header.
func (s *server) parseEventsRequest(r *http.Request) (eventsRequest, error) {
	v := r.URL.Query()
	q, err := newQuery(v, false, eventsParams...)
	if err != nil {
		return eventsRequest{}, err
	}
	f, err := index.ParseFilter(s.reg, v)
	if err != nil {
		return eventsRequest{}, err
	}
	req := eventsRequest{filter: events.Filter{Layers: f.Layers, Warnings: f.Warnings}}
	if q.has("last_event_id") {
		p := v.Get("last_event_id")
		id, ok := parseEventID(p)
		if !ok {
			return eventsRequest{}, badParam("last_event_id", "%q is not an event id (the decimal id of an event of this stream)", p)
		}
		req.lastID, req.resume = id, true
	}
	// A header value comes from the client's SSE machinery echoing an id we sent;
	// one we cannot read is an id we do not know: reload, rather than a 400 that
	// would stop a browser's EventSource for good.
	if hv := r.Header.Values("Last-Event-ID"); len(hv) > 0 && hv[0] != "" {
		id, _ := parseEventID(hv[0])
		req.lastID, req.resume = id, true
	}
	return req, nil
}

// parseEventID reads an event id: 1 to 19 ASCII digits, within int64.
func parseEventID(s string) (int64, bool) {
	if len(s) == 0 || len(s) > maxEventIDLen {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// eventStream: GET /api/v1/events.
func (s *server) eventStream(w http.ResponseWriter, r *http.Request) error {
	if s.hub == nil {
		return errEventsDisabled
	}
	req, err := s.parseEventsRequest(r)
	if err != nil {
		return err
	}
	sub, err := s.hub.Subscribe(req.filter, req.lastID, req.resume)
	if errors.Is(err, events.ErrStopped) {
		return errEventsStopped
	} else if err != nil {
		return err
	}
	defer sub.Close()

	rc := http.NewResponseController(w)
	// The server's ReadTimeout and WriteTimeout must not end the stream: no read
	// deadline (net/http's HTTP/1 server clears it for its background read already;
	// this does not rely on that), and a write deadline per write below. An error
	// means the writer has no deadlines (a test recorder).
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each write on at once
	// HTTP/1.1: no chunked encoding, the body ends when the connection closes —
	// net/http's setup for event streams. Each batch is then one write(2) of the
	// batch's bytes (chunking costs two more: a 4 KB buffer fill and the chunk
	// trailer), and the connection ends with the stream: never reused with the
	// stream's write deadline on it, and a dropped slow client is really
	// disconnected. (HTTP/2 drops both headers.)
	h.Set("Transfer-Encoding", "identity")
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusOK)
	_ = rc.SetWriteDeadline(time.Now().Add(eventsWriteTimeout))
	if !req.resume && sub.Start() != 0 {
		_, _ = w.Write(events.AppendSSEID(nil, sub.Start()))
	}
	if err := rc.Flush(); err != nil {
		return nil
	}

	var batches []events.Batch
	for {
		batches, err = sub.Next(r.Context(), batches)
		if err != nil {
			// The client went away, the hub stopped, or the client was dropped
			// after its reload event was written: the stream is over.
			return nil
		}
		timeout := eventsWriteTimeout
		if errors.Is(sub.Err(), events.ErrDropped) {
			timeout = eventsFinalWriteTimeout
		}
		_ = rc.SetWriteDeadline(time.Now().Add(timeout))
		for i := range batches {
			// One write per batch, one flush for all: a client gets one write per
			// flush interval of the hub.
			if _, err := w.Write(batches[i].SSE()); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
