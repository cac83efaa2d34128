package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// fkey identifies a feature.
type fkey struct {
	layer string
	id    int64
}

// arrival is one change event as a stream delivered it.
type arrival struct {
	version int64
	op      string
	at      time.Time
}

// stream follows one process's GET /api/v1/events and keeps every change event
// it delivered, with the time it was read.
type stream struct {
	mu       sync.Mutex
	arrivals map[fkey][]arrival
	events   int // change events
	reloads  int
	other    []string // anything unexpected
	err      error
}

// openStream connects and returns once the response header was read.
func openStream(ctx context.Context, base string) (*stream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/events", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		return nil, fmt.Errorf("GET /api/v1/events: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	// The hub subscribed the client before the server wrote the header: from
	// here on the stream misses nothing.
	st := &stream{arrivals: map[fkey][]arrival{}}
	go func() {
		defer resp.Body.Close()
		br := bufio.NewReaderSize(resp.Body, 1<<16)
		typ := ""
		for {
			line, err := br.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				// A longer line than the buffer: read the rest of it.
				long := append([]byte(nil), line...)
				for err == bufio.ErrBufferFull {
					line, err = br.ReadSlice('\n')
					long = append(long, line...)
				}
				line = long
			}
			if err != nil {
				st.mu.Lock()
				if ctx.Err() == nil {
					st.err = err
				}
				st.mu.Unlock()
				return
			}
			at := time.Now()
			line = bytes.TrimRight(line, "\r\n")
			switch {
			case len(line) == 0: // end of a block
				typ = ""
			case bytes.HasPrefix(line, []byte("event: ")):
				typ = string(line[len("event: "):])
			case bytes.HasPrefix(line, []byte("data: ")):
				st.data(typ, line[len("data: "):], at)
			}
		}
	}()
	return st, nil
}

// data records one data line of an event of type typ.
func (st *stream) data(typ string, data []byte, at time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch typ {
	case "change":
		var c struct {
			Layer   string `json:"layer"`
			ID      int64  `json:"id"`
			Version int64  `json:"version"`
			Op      string `json:"op"`
		}
		if err := json.Unmarshal(data, &c); err != nil || c.Layer == "" {
			st.other = append(st.other, fmt.Sprintf("undecodable change event %.200s", data))
			return
		}
		k := fkey{c.Layer, c.ID}
		st.arrivals[k] = append(st.arrivals[k], arrival{version: c.Version, op: c.Op, at: at})
		st.events++
	case "reload":
		st.reloads++
		st.other = append(st.other, fmt.Sprintf("reload event %.200s", data))
	default:
		st.other = append(st.other, fmt.Sprintf("event %q: %.200s", typ, data))
	}
}

// resolve finds when the stream first delivered change (k, version): the earliest
// event of the feature with a version ≥ version. coalesced is set when the stream
// never delivered the change's own version but a later one. ok is false when
// nothing satisfying arrived.
func (st *stream) resolve(k fkey, version int64) (at time.Time, coalesced, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	own := false
	for _, a := range st.arrivals[k] {
		if a.version < version {
			continue
		}
		if a.version == version {
			own = true
		}
		if !ok || a.at.Before(at) {
			at, ok = a.at, true
		}
	}
	return at, ok && !own, ok
}

// seen describes what the stream delivered of a feature, for a report.
func (st *stream) seen(k fkey) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var parts []string
	for _, a := range st.arrivals[k] {
		parts = append(parts, fmt.Sprintf("%s v%d", a.op, a.version))
	}
	if len(parts) == 0 {
		return "no event of the feature"
	}
	return "events: " + strings.Join(parts, ", ")
}
