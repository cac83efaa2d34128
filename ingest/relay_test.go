package ingest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"riskmap/events"
	"riskmap/ingest"
	"riskmap/internal/pgtest"
	"riskmap/internal/sensortest"
	"riskmap/layers"
	"riskmap/sensors"
)

// TestRelayReachesEveryProcess: two relays on one database (two processes) both
// push an alert stored by a third party, its acknowledgement and a signal.
func TestRelayReachesEveryProcess(t *testing.T) {
	st := sensortest.Seed(t, pgtest.NewDatabase(t), 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// An alert stored before the relays start is history, not news.
	if _, err := st.ApplySensorState(ctx, nil, []sensors.Alert{{Layer: layers.WaterloggingSpots, FeatureID: 1, SensorID: 1,
		Kind: "water_depth_cm", Unit: "cm", From: sensors.None, To: sensors.Blue, ObjectLevel: sensors.Blue, Value: 11,
		Threshold: 10, Time: time.Now(), Reason: sensors.ReasonThreshold}}); err != nil {
		t.Fatal(err)
	}
	var subs []*events.Subscription
	for range 2 {
		hub := events.NewHub(events.Options{Flush: time.Hour, Heartbeat: -1})
		done := make(chan struct{})
		go func() { hub.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		sub, err := hub.Subscribe(events.Filter{}, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
		relayDone := make(chan struct{})
		go func() { ingest.NewRelay(st, hub, nil, slog.New(slog.DiscardHandler)).Run(ctx); close(relayDone) }()
		t.Cleanup(func() { cancel(); <-relayDone })
	}
	time.Sleep(300 * time.Millisecond) // the relays are listening
	stored, err := st.ApplySensorState(ctx, nil, []sensors.Alert{{Layer: layers.WaterloggingSpots, FeatureID: 1, SensorID: 1,
		Kind: "water_depth_cm", Unit: "cm", From: sensors.Blue, To: sensors.Red, ObjectLevel: sensors.Red, Value: 55,
		Threshold: 50, Time: time.Now(), Reason: sensors.ReasonThreshold}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AckAlert(ctx, stored[0].ID, "duty", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetSignal(ctx, "rainstorm", "red", "observatory", ""); err != nil {
		t.Fatal(err)
	}
	for i, sub := range subs {
		var got []string
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		for len(got) < 3 {
			bs, err := sub.Next(wctx, nil)
			if err != nil {
				t.Fatalf("process %d: after %v: %v", i, got, err)
			}
			for _, b := range bs {
				for _, e := range b.Events {
					var v struct {
						ID    int64  `json:"id"`
						To    string `json:"to"`
						Level string `json:"level"`
					}
					_ = json.Unmarshal(e.Data, &v)
					got = append(got, e.Type+":"+v.To+v.Level)
					if e.Type != ingest.EventSignal && v.ID != stored[0].ID {
						t.Errorf("process %d: event for alert %d, want %d (history must not be replayed)", i, v.ID, stored[0].ID)
					}
				}
			}
		}
		wcancel()
		want := []string{"alert:red", "alert_ack:red", "signal:red"}
		for j := range want {
			if got[j] != want[j] {
				t.Errorf("process %d: events %v, want %v", i, got, want)
				break
			}
		}
	}
}
