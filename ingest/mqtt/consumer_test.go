package mqtt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"riskmap/ingest"
	"riskmap/ingest/mqtt"
	"riskmap/ingest/spool"
	"riskmap/internal/pgtest"
	"riskmap/internal/sensortest"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/postgis"
)

type rig struct {
	st     *postgis.Store
	svc    *ingest.Service
	url    string
	id     string
	topic  string
	spool  *spool.Spool
	mu     sync.Mutex
	alerts []store.StoredAlert
}

// newRig seeds a database and starts the ingest service; consumers are started
// with consume. Each test uses its own client id and topic, so tests and runs do
// not share broker sessions.
func newRig(t *testing.T, spots int) *rig {
	t.Helper()
	url := sensortest.MQTTURL(t)
	r := &rig{url: url, st: sensortest.Seed(t, pgtest.NewDatabase(t), spots)}
	suffix := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	r.id, r.topic = "riskmap-test-"+suffix, "riskmap-test/"+suffix+"/readings/"
	sp, err := spool.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r.spool = sp
	r.svc, err = ingest.New(ingest.Config{Store: r.st, Registry: layers.New(), TickEvery: time.Hour,
		OnAlerts: func(as []store.StoredAlert) { r.mu.Lock(); r.alerts = append(r.alerts, as...); r.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.svc.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	sensortest.WaitFor(t, 20*time.Second, "ingest ready", r.svc.Ready)
	return r
}

// consume starts a consumer; the returned func stops it and waits.
func (r *rig) consume(t *testing.T) (*mqtt.Consumer, func()) {
	t.Helper()
	c, err := mqtt.New(mqtt.Config{URL: r.url, ClientID: r.id, Topic: r.topic + "#", Service: r.svc, Store: r.st,
		Spool: r.spool, SessionExpiry: 2 * time.Minute, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	// Subscribed, not only connected: a consumer halted before its subscription is
	// acknowledged leaves a session that keeps nothing.
	sensortest.WaitFor(t, 20*time.Second, "consumer subscribed", func() bool { return c.Stats().Subscribed })
	var once sync.Once
	halt := func() { once.Do(func() { stop(); <-done }) }
	t.Cleanup(halt)
	return c, halt
}

// publisher connects a plain QoS 1 publisher.
func (r *rig) publisher(t *testing.T) paho.Client {
	t.Helper()
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(r.url).SetClientID(r.id + "-pub"))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	return cl
}

func publish(t *testing.T, cl paho.Client, topic string, payload []byte) {
	t.Helper()
	tok := cl.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func reading(sensor int64, at time.Time, v float64) []byte {
	b, _ := json.Marshal(map[string]any{"sensor_id": sensor, "time": at.UTC().Format(time.RFC3339Nano), "value": v})
	return b
}

func countReadings(t *testing.T, st *postgis.Store) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(context.Background(), "SELECT count(*) FROM readings").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPublishedReadingBecomesAlert(t *testing.T) {
	r := newRig(t, 3)
	c, _ := r.consume(t)
	pub := r.publisher(t)
	now := time.Now().UTC().Truncate(time.Second)
	publish(t, pub, r.topic+"WD-1", reading(1, now.Add(-time.Minute), 5))
	publish(t, pub, r.topic+"WD-1", reading(1, now, 55)) // over red (50 cm)
	publish(t, pub, r.topic+"junk", []byte(`{"sensor_id": "twelve"`))
	publish(t, pub, r.topic+"WD-99", reading(99, now, 5)) // unknown sensor
	sensortest.WaitFor(t, 20*time.Second, "alert", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.alerts) > 0
	})
	r.mu.Lock()
	a := r.alerts[0]
	r.mu.Unlock()
	if a.SensorID != 1 || a.To.Code() != "red" || a.Value != 55 || a.Drill {
		t.Errorf("alert = %+v", a)
	}
	sensortest.WaitFor(t, 10*time.Second, "counters", func() bool {
		s := c.Stats()
		return s.Messages == 4 && s.Malformed == 1 && s.Rejected == 1 && s.Stored == 2
	})
	if n := countReadings(t, r.st); n != 2 {
		t.Errorf("%d readings stored, want 2", n)
	}
	f, err := r.st.Get(context.Background(), layers.WaterloggingSpots, 1)
	if err != nil {
		t.Fatal(err)
	}
	sensortest.WaitFor(t, 10*time.Second, "state written", func() bool {
		f, err = r.st.Get(context.Background(), layers.WaterloggingSpots, 1)
		return err == nil && f.Props["warning_level"] == "red"
	})
	if f.Props["current_depth_cm"] != 55.0 {
		t.Errorf("spot props = %v", f.Props)
	}
}

// TestMessagesQueuedWhileStoppedArrive: the persistent session keeps what is
// published while the consumer is down, and an unacknowledged message is
// redelivered — a restart of riskmap loses nothing.
func TestMessagesQueuedWhileStoppedArrive(t *testing.T) {
	r := newRig(t, 20)
	_, halt := r.consume(t)
	halt() // the broker now keeps the session's messages
	pub := r.publisher(t)
	now := time.Now().UTC().Truncate(time.Second)
	const n = 200
	for i := range n {
		publish(t, pub, r.topic+"x", reading(int64(i%20+1), now.Add(-time.Duration(i)*time.Second), 3))
	}
	r.consume(t)
	sensortest.WaitFor(t, 30*time.Second, fmt.Sprintf("%d readings", n), func() bool { return countReadings(t, r.st) == n })
}

// TestThroughputBatches: a burst of single-reading messages is stored in
// batches, not one transaction per message.
func TestThroughputBatches(t *testing.T) {
	r := newRig(t, 50)
	c, _ := r.consume(t)
	pub := r.publisher(t)
	now := time.Now().UTC().Truncate(time.Second)
	const n = 2000
	toks := make([]paho.Token, 0, n)
	for i := range n {
		toks = append(toks, pub.Publish(r.topic+"x", 1, false, reading(int64(i%50+1), now.Add(-time.Duration(i)*time.Millisecond), 3)))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	sensortest.WaitFor(t, 60*time.Second, "all stored", func() bool { return countReadings(t, r.st) == n })
	if s := c.Stats(); s.Stored != n || s.Messages != n {
		t.Errorf("stats %+v", s)
	}
}
