package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// subscribers counts what the event stream clients saw.
type subscribers struct {
	connected atomic.Int64 // streams open now
	events    atomic.Int64 // data lines received, all clients
}

// subscribe connects one event stream client (GET /api/v1/events) and reads it
// until ctx ends. The time to the response's headers is a "sse-connect" latency;
// every event received counts, and a change event's delivery latency (from the
// change's "time" to the read) is an "events" latency. A stream that ends before
// ctx, or a reload event, is an "events" error: the client reconnects, as a wall
// map would, and that connect counts again. connected is called once the first
// stream is open.
func (e *env) subscribe(ctx context.Context, id int, connected func()) {
	first := true
	for ctx.Err() == nil {
		err := e.stream(ctx, id, func() {
			if first {
				first = false
				connected()
			}
		})
		if ctx.Err() != nil {
			break
		}
		e.rec[kindEvents].Fail(fmt.Errorf("subscriber %d: %w", id, err))
		if first {
			connected() // counted as failed; do not hold the start up
			first = false
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// errReload: the server told the client to reload everything.
var errReload = errors.New("reload event (the stream lost changes)")

// stream is one connection of a subscriber; it returns why it ended.
func (e *env) stream(ctx context.Context, id int, open func()) error {
	t0 := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/api/v1/events", nil)
	if err != nil {
		return err
	}
	resp, err := e.sse.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			e.rec[kindSSEConnect].Fail(fmt.Errorf("subscriber %d: %w", id, err))
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("subscriber %d: GET /api/v1/events: status %d", id, resp.StatusCode)
		e.rec[kindSSEConnect].Fail(err)
		return err
	}
	e.rec[kindSSEConnect].Add(time.Since(t0))
	e.subs.connected.Add(1)
	defer e.subs.connected.Add(-1)
	open()

	var lat Hist
	lastFlush := time.Now()
	flush := func() {
		if lat.Count() > 0 {
			e.rec[kindEvents].AddHist(&lat)
			lat = Hist{}
		}
		lastFlush = time.Now()
	}
	defer flush()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	typ := ""
	long := false // inside a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		full := errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !full {
			return fmt.Errorf("stream ended: %w", err)
		}
		rest := long // the rest of a line already looked at
		long = full
		switch {
		case rest:
		case bytes.HasPrefix(line, []byte("event: ")):
			typ = string(bytes.TrimSpace(line[7:]))
		case bytes.HasPrefix(line, []byte("data: ")):
			e.subs.events.Add(1)
			if typ == "reload" {
				return errReload
			}
			if t, ok := payloadTime(line); ok {
				lat.Add(time.Since(t))
			}
		case len(line) <= 2: // the blank line ending an event
			typ = ""
		}
		if time.Since(lastFlush) > 500*time.Millisecond {
			flush()
		}
	}
}

// payloadTime reads the "time" member within the first 200 bytes of a data line (a
// change event: the change's commit time, RFC 3339).
func payloadTime(line []byte) (time.Time, bool) {
	head := line[:min(len(line), 200)]
	i := bytes.Index(head, []byte(`"time":"`))
	if i < 0 {
		return time.Time{}, false
	}
	s := line[i+8:]
	j := bytes.IndexByte(s, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(s[:j]))
	return t, err == nil
}
