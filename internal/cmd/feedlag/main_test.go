package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 1000; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := summarize(ds, 3)
	if s.p50 != 500*time.Millisecond || s.p90 != 900*time.Millisecond || s.p99 != 990*time.Millisecond || s.max != time.Second || s.missing != 3 {
		t.Fatalf("summary %+v", s)
	}
	if got := percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Fatalf("one sample: %v", got)
	}
}

// TestStream: change events are matched by layer, id and version ≥ the change's,
// a later version standing for a coalesced earlier one.
func TestStream(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-release
		for _, e := range []string{
			`{"seq":5,"layer":"risk_points","id":7,"version":2,"op":"update","properties":{"name":"x"}}`,
			`{"seq":9,"layer":"risk_points","id":7,"version":4,"op":"update"}`,
			`{"seq":10,"layer":"waterlogging_spots","id":7,"version":3,"op":"delete"}`,
		} {
			fmt.Fprintf(w, "id: 1\nevent: change\ndata: %s\n\n", e)
		}
		fmt.Fprintf(w, ": heartbeat\n\nid: 11\nevent: reload\ndata: {\"reason\":\"reset\"}\n\n")
		w.(http.Flusher).Flush()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := openStream(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st.mu.Lock()
		n := st.reloads
		st.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stream's events were not read")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rp := fkey{"risk_points", 7}
	for _, c := range []struct {
		k             fkey
		version       int64
		ok, coalesced bool
	}{
		{rp, 1, true, true}, // never sent; v2 and v4 were
		{rp, 2, true, false},
		{rp, 3, true, true}, // never sent, v4 was
		{rp, 4, true, false},
		{rp, 5, false, false},
		{fkey{"waterlogging_spots", 7}, 3, true, false},
		{fkey{"slopes", 7}, 1, false, false},
	} {
		_, coalesced, ok := st.resolve(c.k, c.version)
		if ok != c.ok || coalesced != c.coalesced {
			t.Errorf("%v v%d: ok %v coalesced %v, want %v %v", c.k, c.version, ok, coalesced, c.ok, c.coalesced)
		}
	}
	if st.events != 3 {
		t.Errorf("%d change events, want 3", st.events)
	}
}
