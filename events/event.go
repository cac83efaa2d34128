// Package events is riskmap's live data path: a hub that fans feature changes (and,
// later, alerts and district signals) out to many stream subscribers, with
// coalescing, batching, resume after a reconnect and protection against slow
// clients. The HTTP handler serving it as Server-Sent Events (GET /api/v1/events)
// is in package httpapi; this package only knows the text/event-stream format, not
// HTTP. It is pure: no net/http, no database.
//
// The flow: a producer (the change feed) calls Hub.Publish; every Options.Flush the
// hub's Run loop takes what was published, coalesces changes to the same object,
// encodes each event's SSE frame once, keeps the events in a window for resume, and
// hands each Subscription one Batch of the events that pass its Filter. A consumer
// (one per client) takes its batches with Subscription.Next and writes them out. No
// call ever waits for a consumer: a consumer that falls more than
// Options.ClientBuffer events behind is dropped with a final reload event.
package events

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// Event types.
const (
	// TypeChange is a feature change; Data is a Change.
	TypeChange = "change"
	// TypeReload tells the client it missed events the hub cannot replay: it must
	// reload its data (features, tiles) and may keep listening. Data is a Reload.
	TypeReload = "reload"
)

// Event is one message of the stream.
//
// Publish takes ownership of an Event: its Data must not be modified afterwards.
// The hub shares one Event (and its encoding) between every subscription it goes
// to, so Events handed out by a Subscription are read only.
type Event struct {
	// ID is the change sequence number (the change log's seq; 0 = none, and then
	// the event carries no id line). A client echoes the last id it saw as
	// Last-Event-ID when it reconnects. IDs are expected to increase in publishing
	// order but need not: resume finds a client's id by its position in the window,
	// never by comparing numbers.
	ID int64
	// Type is the SSE event name: TypeChange, TypeReload, later "alert" and
	// "signal". A short word without line breaks; empty means TypeChange.
	Type string
	// Layer and FeatureID name the object the event is about (Layer empty when the
	// event is not about one). Coalescing merges events of one flush with the same
	// Type, Layer and FeatureID (never events without a Layer); filters read Layer.
	Layer     string
	FeatureID int64
	// Warnings is the set of warning levels the feature had just before and just
	// after the change, as a bit set over the ranks of the registry's warning level
	// scale (bit i = rank i, as index.Filter.Warnings): so a client filtering on
	// min_warning=orange sees a feature go red → none, and can take it off its map.
	// 0 when the feature's layer has no warning level (it then never passes a
	// warning filter).
	Warnings uint16
	// NoCoalesce marks an event that must never be merged with another (alerts):
	// every one reaches the clients.
	NoCoalesce bool
	// Data is the JSON payload, encoded once by the producer and shared by every
	// client; for TypeChange a Change. JSON has no raw line breaks; if Data has some
	// anyway, it is sent as several data: lines, which SSE joins back with "\n".
	Data []byte

	// frame is the event's text/event-stream encoding, made once by the hub.
	frame []byte
	// reset marks the reload event of Hub.Reset.
	reset bool
}

func (e *Event) typ() string {
	if e.Type == "" {
		return TypeChange
	}
	return e.Type
}

// coalescable reports whether the hub may merge e with another event of its object:
// unless NoCoalesce, and only events about an object (a Layer).
func (e *Event) coalescable() bool { return !e.NoCoalesce && e.Layer != "" }

// key identifies what coalescing merges.
type key struct {
	typ   string
	layer string
	id    int64
}

func (e *Event) key() key { return key{e.typ(), e.Layer, e.FeatureID} }

// SSE returns the event in text/event-stream format: "id: N\nevent: T\ndata: ...\n\n"
// (no id line when ID is 0). The result is shared for events handed out by a
// Subscription: do not modify it.
func (e *Event) SSE() []byte {
	if e.frame != nil {
		return e.frame
	}
	return appendFrame(nil, e)
}

// appendFrame appends the SSE encoding of e to b.
func appendFrame(b []byte, e *Event) []byte {
	if e.ID != 0 {
		b = AppendSSEID(b, e.ID)
		b = b[:len(b)-1] // keep the event going: drop the blank line
	}
	b = append(b, "event: "...)
	t := e.typ()
	if strings.ContainsAny(t, "\r\n") {
		t = strings.NewReplacer("\r", "", "\n", "").Replace(t)
	}
	b = append(b, t...)
	b = append(b, '\n')
	data := e.Data
	for {
		// SSE ends a line at CR, LF or CRLF.
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		b = append(b, "data: "...)
		b = append(b, data[:i]...)
		b = append(b, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// AppendSSEID appends an id-only SSE block, "id: N\n\n": it sets the client's last
// event id (what it sends as Last-Event-ID on reconnect) without dispatching an
// event.
func AppendSSEID(b []byte, id int64) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, id, 10)
	return append(b, "\n\n"...)
}

// heartbeatSSE is the keep-alive: an SSE comment line, which clients ignore.
var heartbeatSSE = []byte(": heartbeat\n\n")

// Filter selects the events a subscription receives. The zero Filter selects all.
type Filter struct {
	// Layers lists the layers whose events pass; nil means all. Events without a
	// Layer pass any list.
	Layers []string
	// Warnings is a bit set over warning level ranks (bit i = rank i), as
	// index.Filter.Warnings; 0 means no condition. An event passes when it shares a
	// level with it (Event.Warnings): min_warning=yellow is the bits of yellow and
	// above. An event without a warning level never passes a warning condition.
	Warnings uint16
}

// Match reports whether e passes f. Reload events pass every filter.
func (f *Filter) Match(e *Event) bool {
	if e.Type == TypeReload {
		return true
	}
	if f.Layers != nil && e.Layer != "" && !slices.Contains(f.Layers, e.Layer) {
		return false
	}
	return f.Warnings == 0 || e.Warnings&f.Warnings != 0
}

// all reports whether f selects every event.
func (f *Filter) all() bool { return f.Layers == nil && f.Warnings == 0 }

// canonical returns f with its layer list sorted and without duplicates (a new
// slice), and a string naming it: subscriptions with equal keys share their batches.
func (f Filter) canonical() (Filter, string) {
	if f.Layers != nil {
		ls := slices.Clone(f.Layers)
		slices.Sort(ls)
		f.Layers = slices.Compact(ls)
	}
	layers := "*"
	if f.Layers != nil {
		layers = "[" + strings.Join(f.Layers, "\x00") + "]"
	}
	return f, layers + strconv.FormatUint(uint64(f.Warnings), 16)
}
