package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Warning level ranks of the registry's scale, for readable tests.
const (
	none uint16 = 1 << iota
	blue
	yellow
	orange
	red
)

// minWarning is the Filter.Warnings of min_warning=rank.
func minWarning(rank int) uint16 {
	var bits uint16
	for r := rank; r < 5; r++ {
		bits |= 1 << r
	}
	return bits
}

// change is a coalescable change event of (layer, fid) with id seq.
func change(seq int64, layer string, fid int64, warnings uint16) Event {
	return Event{ID: seq, Type: TypeChange, Layer: layer, FeatureID: fid, Warnings: warnings,
		Data: []byte(`{"seq":` + strconv.FormatInt(seq, 10) + `}`)}
}

// drain returns every event queued for s without waiting, and whether a heartbeat
// was among the batches.
func drain(t *testing.T, s *Subscription) ([]Event, bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	bs, err := s.Next(ctx, nil)
	if err != nil && !errors.Is(err, context.Canceled) {
		return nil, false
	}
	var evs []Event
	hb := false
	for _, b := range bs {
		evs = append(evs, b.Events...)
		hb = hb || b.Heartbeat
	}
	return evs, hb
}

func ids(evs []Event) []int64 {
	out := []int64{}
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func types(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.typ())
	}
	return out
}

// subscribe is Subscribe failing the test on error.
func subscribe(t *testing.T, h *Hub, f Filter, lastID int64, resume bool) *Subscription {
	t.Helper()
	s, err := h.Subscribe(f, lastID, resume)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestCoalescing: within one flush, changes to the same object become the latest
// one, at its position; everything else keeps publishing order.
func TestCoalescing(t *testing.T) {
	alert := func(seq int64, layer string, fid int64) Event {
		e := change(seq, layer, fid, 0)
		e.Type, e.NoCoalesce = "alert", true
		return e
	}
	signal := func(seq int64, layer string, fid int64) Event {
		e := change(seq, layer, fid, 0)
		e.Type = "signal"
		return e
	}
	tests := []struct {
		name      string
		flushes   [][]Event
		want      []int64
		coalesced int64
		warnings  map[int64]uint16 // id → Warnings of the delivered event
	}{
		{"same object twice: one event, the latest id", [][]Event{{change(1, "a", 7, 0), change(2, "a", 7, 0)}}, []int64{2}, 1, nil},
		{"different objects: both, in order", [][]Event{{change(1, "a", 7, 0), change(2, "a", 8, 0)}}, []int64{1, 2}, 0, nil},
		{"same id in two layers is two objects", [][]Event{{change(1, "a", 7, 0), change(2, "b", 7, 0)}}, []int64{1, 2}, 0, nil},
		{"interleaved: each at its latest position", [][]Event{{change(1, "a", 1, 0), change(2, "a", 2, 0), change(3, "a", 1, 0),
			change(4, "a", 3, 0), change(5, "a", 2, 0)}}, []int64{3, 4, 5}, 2, nil},
		{"five times the same object", [][]Event{{change(1, "a", 1, 0), change(2, "a", 1, 0), change(3, "a", 1, 0),
			change(4, "a", 1, 0), change(5, "a", 1, 0)}}, []int64{5}, 4, nil},
		{"NoCoalesce never merged", [][]Event{{alert(1, "a", 7), alert(2, "a", 7), alert(3, "a", 7)}}, []int64{1, 2, 3}, 0, nil},
		{"NoCoalesce between changes of its object", [][]Event{{change(1, "a", 7, 0), alert(2, "a", 7), change(3, "a", 7, 0)}}, []int64{2, 3}, 1, nil},
		{"another type is another object", [][]Event{{change(1, "a", 7, 0), signal(2, "a", 7)}}, []int64{1, 2}, 0, nil},
		{"events without a layer are never merged", [][]Event{{signal(1, "", 0), signal(2, "", 0)}}, []int64{1, 2}, 0, nil},
		{"never across flushes", [][]Event{{change(1, "a", 7, 0)}, {change(2, "a", 7, 0)}}, []int64{1, 2}, 0, nil},
		{"merged warnings are the union", [][]Event{{change(1, "a", 7, red|orange), change(2, "a", 7, orange|none)}}, []int64{2}, 1,
			map[int64]uint16{2: red | orange | none}},
		{"ids need not increase", [][]Event{{change(9, "a", 1, 0), change(4, "a", 2, 0), change(6, "a", 1, 0)}}, []int64{4, 6}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHub(Options{})
			s := subscribe(t, h, Filter{}, 0, false)
			for _, f := range tt.flushes {
				h.Publish(f...)
				h.flush(time.Now(), false)
			}
			got, _ := drain(t, s)
			if !slices.Equal(ids(got), tt.want) {
				t.Fatalf("ids %v, want %v", ids(got), tt.want)
			}
			for _, e := range got {
				if want := fmt.Sprintf(`{"seq":%d}`, e.ID); string(e.Data) != want {
					t.Errorf("event %d carries %s, want its own payload %s", e.ID, e.Data, want)
				}
				if w, ok := tt.warnings[e.ID]; ok && e.Warnings != w {
					t.Errorf("event %d: warnings %05b, want %05b", e.ID, e.Warnings, w)
				}
			}
			if st := h.Stats(); st.Coalesced != tt.coalesced || st.Delivered != int64(len(tt.want)) {
				t.Errorf("stats %+v, want %d coalesced, %d delivered", st, tt.coalesced, len(tt.want))
			}
		})
	}
}

// TestFilters: layers and warning levels, as the index's filter grammar.
func TestFilters(t *testing.T) {
	evs := []Event{
		change(1, "risk_points", 1, 0),               // no warning level
		change(2, "slopes", 1, none),                 // calm
		change(3, "slopes", 2, yellow),               // yellow now
		change(4, "waterlogging_spots", 1, red|none), // red → none: seen leaving
		change(5, "waterlogging_spots", 2, orange),   //
		{ID: 6, Type: "signal", Warnings: orange},    // no layer (never merged)
		{ID: 7, Type: "signal"},                      // no layer, no level
	}
	tests := []struct {
		name string
		f    Filter
		want []int64
	}{
		{"all", Filter{}, []int64{1, 2, 3, 4, 5, 6, 7}},
		{"one layer", Filter{Layers: []string{"slopes"}}, []int64{2, 3, 6, 7}},
		{"two layers, unordered, twice", Filter{Layers: []string{"waterlogging_spots", "slopes", "slopes"}}, []int64{2, 3, 4, 5, 6, 7}},
		{"min_warning=yellow", Filter{Warnings: minWarning(2)}, []int64{3, 4, 5, 6}},
		{"min_warning=red", Filter{Warnings: red}, []int64{4}},
		{"min_warning=none: every feature with a level", Filter{Warnings: minWarning(0)}, []int64{2, 3, 4, 5, 6}},
		{"warning=none", Filter{Warnings: none}, []int64{2, 4}},
		{"layer and level", Filter{Layers: []string{"waterlogging_spots"}, Warnings: minWarning(3)}, []int64{4, 5, 6}},
		{"layer without levels and a level", Filter{Layers: []string{"risk_points"}, Warnings: minWarning(0)}, []int64{6}},
		{"empty layer list", Filter{Layers: []string{}}, []int64{6, 7}},
	}
	h := NewHub(Options{})
	subs := make([]*Subscription, len(tests))
	for i, tt := range tests {
		subs[i] = subscribe(t, h, tt.f, 0, false)
	}
	h.Publish(evs...)
	h.flush(time.Now(), false)
	for i, tt := range tests {
		got, _ := drain(t, subs[i])
		if !slices.Equal(ids(got), tt.want) {
			t.Errorf("%s: ids %v, want %v", tt.name, ids(got), tt.want)
		}
	}
	// Reload events pass every filter.
	reload := Event{ID: 8, Type: TypeReload}
	for i, tt := range tests {
		if !tests[i].f.Match(&reload) {
			t.Errorf("%s: a reload does not pass", tt.name)
		}
	}
}

// TestResume: a client reconnecting with the id of an event still in the window gets
// exactly what followed it; otherwise a reload, then the live stream.
func TestResume(t *testing.T) {
	const window = 5
	// published: ids 1..8 over three flushes, alternating layers a and b; the window
	// keeps 4..8.
	publish := func(h *Hub) {
		for _, f := range [][]int64{{1, 2, 3}, {4, 5}, {6, 7, 8}} {
			for _, id := range f {
				h.Publish(change(id, []string{"a", "b"}[id%2], id, 0))
			}
			h.flush(time.Now(), false)
		}
	}
	tests := []struct {
		name    string
		buffer  int
		empty   bool // nothing published
		f       Filter
		lastID  int64
		resume  bool
		want    []int64 // before the live event 9
		reload  string  // reason of a leading reload
		startID int64
	}{
		{"within the window", 0, false, Filter{}, 6, true, []int64{7, 8}, "", 8},
		{"oldest kept", 0, false, Filter{}, 4, true, []int64{5, 6, 7, 8}, "", 8},
		{"up to date", 0, false, Filter{}, 8, true, []int64{}, "", 8},
		{"with a filter", 0, false, Filter{Layers: []string{"a"}}, 4, true, []int64{6, 8}, "", 8},
		{"evicted", 0, false, Filter{}, 3, true, []int64{8}, ReasonUnknownID, 8},
		{"unknown", 0, false, Filter{}, 999, true, []int64{8}, ReasonUnknownID, 8},
		{"zero", 0, false, Filter{}, 0, true, []int64{8}, ReasonUnknownID, 8},
		{"backlog over the client buffer", 3, false, Filter{}, 4, true, []int64{8}, ReasonBacklog, 8},
		{"backlog at the client buffer", 4, false, Filter{}, 4, true, []int64{5, 6, 7, 8}, "", 8},
		{"filtered backlog within the buffer", 2, false, Filter{Layers: []string{"b"}}, 4, true, []int64{5, 7}, "", 8},
		{"live only", 0, false, Filter{}, 6, false, []int64{}, "", 8},
		{"empty hub: reload without id", 0, true, Filter{}, 5, true, []int64{0}, ReasonUnknownID, 0},
		{"empty hub, live only", 0, true, Filter{}, 0, false, []int64{}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHub(Options{Window: window, ClientBuffer: tt.buffer})
			if !tt.empty {
				publish(h)
			}
			s := subscribe(t, h, tt.f, tt.lastID, tt.resume)
			if s.Start() != tt.startID {
				t.Errorf("start %d, want %d", s.Start(), tt.startID)
			}
			got, _ := drain(t, s)
			h.Publish(change(9, "b", 9, 0), change(10, "a", 10, 0))
			h.flush(time.Now(), false)
			liveGot, _ := drain(t, s)
			got = append(got, liveGot...)
			var live []int64
			for _, id := range []int64{9, 10} {
				if tt.f.Match(&Event{Layer: []string{"a", "b"}[id%2]}) {
					live = append(live, id)
				}
			}
			want := append(slices.Clone(tt.want), live...)
			if !slices.Equal(ids(got), want) {
				t.Fatalf("ids %v, want %v", ids(got), want)
			}
			if tt.reload != "" {
				if got[0].Type != TypeReload || string(got[0].Data) != `{"reason":"`+tt.reload+`"}` {
					t.Fatalf("first event %s %s, want a reload (%s)", got[0].Type, got[0].Data, tt.reload)
				}
				if tt.empty && strings.Contains(string(got[0].SSE()), "id:") {
					t.Errorf("reload without position has an id line: %q", got[0].SSE())
				}
			} else if slices.Contains(types(got), TypeReload) {
				t.Fatalf("unexpected reload: %v", types(got))
			}
		})
	}
}

// TestResumeNonMonotonicIDs: resume finds the client's event by position, not by
// comparing ids.
func TestResumeNonMonotonicIDs(t *testing.T) {
	h := NewHub(Options{})
	h.Publish(change(10, "a", 1, 0), change(5, "a", 2, 0), change(7, "a", 3, 0))
	h.flush(time.Now(), false)
	s := subscribe(t, h, Filter{}, 5, true)
	got, _ := drain(t, s)
	if !slices.Equal(ids(got), []int64{7}) {
		t.Fatalf("after 5: %v, want [7]", ids(got))
	}
}

// TestReset: Hub.Reset makes every client reload, and empties the window down to it.
func TestReset(t *testing.T) {
	h := NewHub(Options{})
	live := subscribe(t, h, Filter{Layers: []string{"b"}}, 0, false)
	h.Publish(change(1, "a", 1, 0), change(2, "a", 2, 0))
	h.flush(time.Now(), false)
	h.Publish(change(3, "a", 3, 0))
	h.Reset(3)
	h.Publish(change(4, "b", 4, 0))
	h.flush(time.Now(), false)
	got, _ := drain(t, live)
	if !slices.Equal(ids(got), []int64{3, 4}) || got[0].Type != TypeReload || string(got[0].Data) != `{"reason":"reset"}` {
		t.Fatalf("live client got %v %v, want the reset reload (id 3) then 4", ids(got), types(got))
	}
	// From before the reset: reload. From the reset on: what followed.
	before := subscribe(t, h, Filter{}, 2, true)
	if got, _ := drain(t, before); len(got) != 1 || got[0].Type != TypeReload || string(got[0].Data) != `{"reason":"`+ReasonUnknownID+`"}` || got[0].ID != 4 {
		t.Errorf("resuming from before the reset: %v %v", ids(got), types(got))
	}
	after := subscribe(t, h, Filter{}, 3, true)
	if got, _ := drain(t, after); !slices.Equal(ids(got), []int64{4}) {
		t.Errorf("resuming from the reset: %v, want [4]", ids(got))
	}
}

// TestSSEFraming: the text/event-stream encoding of events and batches.
func TestSSEFraming(t *testing.T) {
	tests := []struct {
		name string
		e    Event
		want string
	}{
		{"change", Event{ID: 42, Type: TypeChange, Data: []byte(`{"a":1}`)}, "id: 42\nevent: change\ndata: {\"a\":1}\n\n"},
		{"default type", Event{ID: 1, Data: []byte(`{}`)}, "id: 1\nevent: change\ndata: {}\n\n"},
		{"no id", Event{Type: TypeReload, Data: []byte(`{"reason":"x"}`)}, "event: reload\ndata: {\"reason\":\"x\"}\n\n"},
		{"line breaks in data", Event{ID: 3, Type: "alert", Data: []byte("a\nb\r\nc\rd")}, "id: 3\nevent: alert\ndata: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"trailing line break", Event{ID: 3, Data: []byte("a\n")}, "id: 3\nevent: change\ndata: a\ndata: \n\n"},
		{"line break in type", Event{ID: 3, Type: "al\nert", Data: []byte("1")}, "id: 3\nevent: alert\ndata: 1\n\n"},
		{"empty data", Event{ID: 3}, "id: 3\nevent: change\ndata: \n\n"},
	}
	for _, tt := range tests {
		if got := string(tt.e.SSE()); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		e := tt.e
		encode(&e)
		if got := string(e.SSE()); got != tt.want {
			t.Errorf("%s (encoded by the hub): %q, want %q", tt.name, got, tt.want)
		}
		if tt.e.Data != nil && !strings.ContainsAny(string(tt.e.Data), "\r\n") && string(e.Data) != string(tt.e.Data) {
			t.Errorf("%s: Data %q after encoding, want %q", tt.name, e.Data, tt.e.Data)
		}
	}
	if got := string(AppendSSEID(nil, 77)); got != "id: 77\n\n" {
		t.Errorf("AppendSSEID: %q", got)
	}
	b := Batch{Events: []Event{{ID: 1, Data: []byte("1")}, {ID: 2, Data: []byte("2")}}}
	if got := string(b.SSE()); got != "id: 1\nevent: change\ndata: 1\n\nid: 2\nevent: change\ndata: 2\n\n" {
		t.Errorf("batch: %q", got)
	}
	hb := Batch{Heartbeat: true}
	if got := string(hb.SSE()); got != ": heartbeat\n\n" {
		t.Errorf("heartbeat: %q", got)
	}
}

// runHub starts h.Run until the test ends.
func runHub(t *testing.T, h *Hub) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestSlowClientDropped: a subscriber that stops reading is dropped with a reload
// once it is ClientBuffer events behind, while another receives every event, each
// within a few flush intervals of its publication.
func TestSlowClientDropped(t *testing.T) {
	const flush = 20 * time.Millisecond
	h := NewHub(Options{Flush: flush, ClientBuffer: 500, Heartbeat: -1})
	runHub(t, h)
	slow := subscribe(t, h, Filter{}, 0, false)
	fast := subscribe(t, h, Filter{}, 0, false)

	const total = 3000 // 30 events every 5 ms: 6,000/s for 0.5 s
	sent := make([]time.Time, total+1)
	var mu sync.Mutex
	go func() {
		for id := int64(1); id <= total; id++ {
			mu.Lock()
			sent[id] = time.Now()
			mu.Unlock()
			h.Publish(change(id, "a", id, 0)) // distinct objects: nothing merged
			if id%30 == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()

	var got []int64
	var delays []time.Duration
	var buf []Batch
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(got) < total {
		var err error
		buf, err = fast.Next(ctx, buf)
		if err != nil {
			t.Fatalf("fast client after %d events: %v", len(got), err)
		}
		now := time.Now()
		for _, b := range buf {
			for _, e := range b.Events {
				got = append(got, e.ID)
				mu.Lock()
				delays = append(delays, now.Sub(sent[e.ID]))
				mu.Unlock()
			}
		}
	}
	want := make([]int64, total)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the fast client got %d events, not 1..%d in order", len(got), total)
	}
	// The fast client's delay is the flush interval plus scheduling; a hub waiting
	// for the slow client would never deliver. Relative to the flush interval, with
	// room for a loaded machine running -race.
	slices.Sort(delays)
	p99, worst := delays[len(delays)*99/100], delays[len(delays)-1]
	if p99 > 5*flush || worst > 25*flush {
		t.Errorf("the fast client's delay p99 %v, worst %v: more than 5 and 25 flush intervals (%v)", p99, worst, flush)
	}
	t.Logf("fast client: %d events, delay p99 %v, worst %v (flush %v)", len(got), p99, worst, flush)

	// The slow client: one batch, the reload, then ErrDropped.
	bs, err := slow.Next(ctx, nil)
	if err != nil || len(bs) != 1 || len(bs[0].Events) != 1 || bs[0].Events[0].Type != TypeReload ||
		string(bs[0].Events[0].Data) != `{"reason":"slow_client"}` {
		t.Fatalf("slow client: %v %+v, want one reload batch", err, bs)
	}
	if _, err := slow.Next(ctx, nil); !errors.Is(err, ErrDropped) {
		t.Fatalf("slow client after its reload: %v, want ErrDropped", err)
	}
	if !errors.Is(slow.Err(), ErrDropped) {
		t.Errorf("Err() = %v", slow.Err())
	}
	if st := h.Stats(); st.Dropped != 1 || st.Clients != 1 || st.Published != total {
		t.Errorf("stats %+v, want 1 dropped, 1 client, %d published", st, total)
	}
}

// TestHeartbeat: with Run, an idle subscription gets a heartbeat every Heartbeat.
func TestHeartbeat(t *testing.T) {
	const flush, beat = 5 * time.Millisecond, 40 * time.Millisecond
	h := NewHub(Options{Flush: flush, Heartbeat: beat})
	runHub(t, h)
	s := subscribe(t, h, Filter{}, 0, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	beats := 0
	var buf []Batch
	for beats < 3 {
		var err error
		if buf, err = s.Next(ctx, buf); err != nil {
			t.Fatal(err)
		}
		for _, b := range buf {
			if !b.Heartbeat || len(b.Events) != 0 || string(b.SSE()) != ": heartbeat\n\n" {
				t.Fatalf("idle subscription got %+v", b)
			}
			beats++
		}
	}
	if el := time.Since(start); el < 3*beat {
		t.Errorf("3 heartbeats in %v, want no sooner than %v", el, 3*beat)
	}
}

// TestHeartbeatSchedule: flush by flush, with made-up clock readings: a heartbeat
// once nothing was handed out for Heartbeat, none while the last one waits, none
// while events flow.
func TestHeartbeatSchedule(t *testing.T) {
	const beat = 100 * time.Millisecond
	h := NewHub(Options{Heartbeat: beat})
	s := subscribe(t, h, Filter{}, 0, false)
	t0 := time.Now()
	steps := []struct {
		at      time.Duration
		publish bool
		drain   bool
		want    string // "", "heartbeat" or "event"
	}{
		{50 * time.Millisecond, false, true, ""},
		{110 * time.Millisecond, false, false, ""}, // queued, not yet taken
		{160 * time.Millisecond, false, true, "heartbeat"},
		{215 * time.Millisecond, false, true, "heartbeat"},
		{250 * time.Millisecond, true, true, "event"},
		{300 * time.Millisecond, true, true, "event"},
		{390 * time.Millisecond, false, true, ""},
		{405 * time.Millisecond, false, true, "heartbeat"},
	}
	var id int64
	for _, st := range steps {
		if st.publish {
			id++
			h.Publish(change(id, "a", id, 0))
		}
		h.flush(t0.Add(st.at), false)
		if !st.drain {
			continue
		}
		evs, hb := drain(t, s)
		got := ""
		switch {
		case hb && len(evs) == 0:
			got = "heartbeat"
		case !hb && len(evs) > 0:
			got = "event"
		case hb:
			got = "heartbeat and events"
		}
		if got != st.want {
			t.Fatalf("at %v: %q, want %q", st.at, got, st.want)
		}
	}
}

// TestStopAndClose: Run's end ends every subscription; Close ends one.
func TestStopAndClose(t *testing.T) {
	h := NewHub(Options{Flush: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()

	a := subscribe(t, h, Filter{}, 0, false)
	b := subscribe(t, h, Filter{}, 0, false)
	b.Close()
	b.Close() // idempotent
	if _, err := b.Next(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}
	if n := h.Stats().Clients; n != 1 {
		t.Errorf("%d clients after a Close, want 1", n)
	}
	h.Publish(change(1, "a", 1, 0))
	bs, err := a.Next(context.Background(), nil)
	if err != nil || len(bs) != 1 || bs[0].Events[0].ID != 1 {
		t.Fatalf("Next: %v %+v", err, bs)
	}
	cancel()
	<-done
	if _, err := a.Next(context.Background(), nil); !errors.Is(err, ErrStopped) {
		t.Errorf("Next after Run returned: %v", err)
	}
	if _, err := h.Subscribe(Filter{}, 0, false); !errors.Is(err, ErrStopped) {
		t.Errorf("Subscribe after Run returned: %v", err)
	}
	h.Publish(change(2, "a", 1, 0)) // discarded, does not block
	if st := h.Stats(); st.Published != 1 || st.Clients != 0 {
		t.Errorf("stats after stop %+v", st)
	}
	// A context ending while waiting.
	h2 := NewHub(Options{})
	c := subscribe(t, h2, Filter{}, 0, false)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if _, err := c.Next(ctx2, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next with an ending context: %v", err)
	}
}

// TestConcurrentSubscribers: publishing while clients come and go (under -race):
// every client sees increasing ids without gaps from where it started to where it
// stopped, and a resuming client continues exactly where the previous one stopped.
func TestConcurrentSubscribers(t *testing.T) {
	h := NewHub(Options{Flush: time.Millisecond, Window: 100_000})
	runHub(t, h)
	const total = 20_000
	const clients = 8
	first := make([]*Subscription, clients) // subscribed before anything is published
	for c := range first {
		first[c] = subscribe(t, h, Filter{}, 0, false)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := int64(1); id <= total; id++ {
			h.Publish(change(id, "a", id, 0))
			if id%100 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last int64
			resume := false
			var buf []Batch
			for round := 0; last < total; round++ {
				s := first[c]
				var err error
				if round > 0 {
					if s, err = h.Subscribe(Filter{}, last, resume); err != nil {
						t.Error(err)
						return
					}
				}
				// Each round reads a few batches, then disconnects.
				for range 3 + c {
					buf, err = s.Next(ctx, buf)
					if err != nil {
						t.Errorf("client %d: %v", c, err)
						s.Close()
						return
					}
					for _, b := range buf {
						for _, e := range b.Events {
							if resume && e.ID != last+1 {
								t.Errorf("client %d round %d: id %d after %d", c, round, e.ID, last)
								s.Close()
								return
							}
							last, resume = e.ID, true
						}
					}
					if last == total {
						break
					}
				}
				s.Close()
			}
		}()
	}
	wg.Wait()
	<-done
}

// TestPublishNow: an urgent event does not wait for the flush tick.
func TestPublishNow(t *testing.T) {
	h := NewHub(Options{Flush: time.Hour, Heartbeat: -1})
	runHub(t, h)
	s := subscribe(t, h, Filter{}, 0, false)
	e := change(1, "a", 7, 0)
	e.Type, e.NoCoalesce = "alert", true
	start := time.Now()
	h.PublishNow(e)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bs, err := s.Next(ctx, nil)
	if err != nil {
		t.Fatalf("no batch within 5 s with an hourly flush: %v", err)
	}
	if len(bs) != 1 || len(bs[0].Events) != 1 || bs[0].Events[0].Type != "alert" {
		t.Fatalf("batches %+v", bs)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("delivered after %v", d)
	}
}
