package events

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestShutdown: every subscription — whatever its filter — gets what was queued
// for it and what was published since the last flush, then the shutdown event with
// its retry hint, then ErrStopped; new subscriptions are refused and publishing
// does nothing.
func TestShutdown(t *testing.T) {
	h := NewHub(Options{Flush: time.Hour, Heartbeat: -1})
	all, err := h.Subscribe(Filter{}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	red, err := h.Subscribe(Filter{Layers: []string{"slopes"}, Warnings: 1 << 3}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	closed, err := h.Subscribe(Filter{}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	h.Publish(Event{ID: 7, Layer: "risk_points", FeatureID: 1, Data: []byte(`{"id":1}`)})
	h.flush(time.Now(), false)
	h.Publish(Event{ID: 9, Layer: "risk_points", FeatureID: 3, Data: []byte(`{"id":3}`)}) // no flush before the shutdown
	h.Shutdown(2500 * time.Millisecond)
	h.Shutdown(time.Second) // idempotent: nothing more is queued

	const final = "retry: 2500\nevent: shutdown\ndata: {\"reason\":\"server_shutdown\",\"retry_ms\":2500}\n\n"
	tests := []struct {
		name string
		sub  *Subscription
		want []string
	}{
		{"all", all, []string{"id: 7\nevent: change\ndata: {\"id\":1}\n\n", "id: 9\nevent: change\ndata: {\"id\":3}\n\n", final}},
		{"filtered", red, []string{final}},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		bs, err := tt.sub.Next(ctx, nil)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for i := range bs {
			got = append(got, string(bs[i].SSE()))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: batches %q, want %q", tt.name, got, tt.want)
		}
		if last := bs[len(bs)-1].Events; len(last) != 1 || last[0].Type != TypeShutdown || last[0].ID != 0 {
			t.Errorf("%s: last batch's events %+v", tt.name, last)
		}
		if _, err := tt.sub.Next(context.Background(), nil); !errors.Is(err, ErrStopped) || !errors.Is(tt.sub.Err(), ErrStopped) {
			t.Errorf("%s: after the shutdown event: %v, want ErrStopped", tt.name, err)
		}
	}
	if _, err := closed.Next(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("a closed subscription: %v, want ErrClosed", err)
	}
	if _, err := h.Subscribe(Filter{}, 0, false); !errors.Is(err, ErrStopped) {
		t.Errorf("Subscribe after Shutdown: %v, want ErrStopped", err)
	}
	h.Publish(Event{ID: 8, Layer: "risk_points", FeatureID: 2, Data: []byte(`{}`)})
	if st := h.Stats(); st.Clients != 0 || st.Published != 2 || st.Delivered != 2 {
		t.Errorf("stats after Shutdown: %+v", st)
	}
}
