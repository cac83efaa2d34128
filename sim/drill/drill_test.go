package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmap/demo"
	"riskmap/internal/sensortest"
	"riskmap/layers"
	"riskmap/sim"
)

// demoData is the demo dataset, generated once.
var demoData = sync.OnceValues(func() (*demo.Dataset, error) { return demo.Generate(demo.DefaultDemoSeed) })

// sensorsBody is a GET /api/v1/sensors answer for the demo sensors, as the contract
// describes it, plus one inactive sensor and one without an object.
func sensorsBody(t *testing.T) ([]byte, []sim.Sensor) {
	t.Helper()
	ds, err := demoData()
	if err != nil {
		t.Fatal(err)
	}
	ss := demo.SimSensors(ds)
	reg := layers.New()
	var list []map[string]any
	for _, s := range ss {
		k, _ := reg.SensorKind(s.Kind)
		var th any
		if s.Thresholds != nil {
			th = map[string]float64{"blue": s.Thresholds.Blue, "yellow": s.Thresholds.Yellow, "orange": s.Thresholds.Orange, "red": s.Thresholds.Red}
		}
		list = append(list, map[string]any{
			"id": s.ID, "external_id": s.ExternalID, "kind": s.Kind, "unit": k.Unit, "layer": s.Layer, "feature_id": s.FeatureID,
			"thresholds": th, "range_min": s.RangeMin, "range_max": s.RangeMax, "active": true,
			"object": map[string]any{"name": "x", "kind": s.ObjectKind, "lon": s.Lon, "lat": s.Lat},
			"state":  map[string]any{"status": "live"},
		})
	}
	list = append(list,
		map[string]any{"id": 90001, "external_id": "SN-OFF", "kind": "rainfall_mm_h", "layer": "slopes", "feature_id": 1,
			"range_min": 0, "range_max": 500, "active": false, "object": map[string]any{"kind": "natural_slope", "lon": 114.1, "lat": 22.55}},
		map[string]any{"id": 90002, "external_id": "SN-LOST", "kind": "rainfall_mm_h", "layer": "slopes", "feature_id": 99999,
			"range_min": 0, "range_max": 500, "active": true})
	body, err := json.Marshal(map[string]any{"sensors": list})
	if err != nil {
		t.Fatal(err)
	}
	return body, ss
}

func TestParseSensors(t *testing.T) {
	body, want := sensorsBody(t)
	got, skipped, err := ParseSensors(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d sensors, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Kind != w.Kind || g.ObjectKind != w.ObjectKind || g.Lon != w.Lon || g.Lat != w.Lat ||
			(g.Thresholds == nil) != (w.Thresholds == nil) || g.Thresholds != nil && *g.Thresholds != *w.Thresholds ||
			g.RangeMax != w.RangeMax || g.ExternalID != w.ExternalID || g.FeatureID != w.FeatureID {
			t.Fatalf("sensor %d: %+v, want %+v", i, g, w)
		}
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0], "SN-OFF") || !strings.Contains(skipped[1], "SN-LOST") {
		t.Errorf("skipped %q", skipped)
	}
	if _, _, err := ParseSensors([]byte(`{"sensors": 3}`)); err == nil {
		t.Error("a malformed list: no error")
	}
}

// fakeServer is a riskmap server's sensor routes: it serves the sensor list and
// takes batches of readings, answering with the statuses in fail first.
type fakeServer struct {
	t      *testing.T
	token  string
	body   []byte
	mu     sync.Mutex
	fail   []int // statuses to answer the next POSTs with, in order
	always int   // a status to answer every POST with (0: none)
	posts  int
	rows   map[[2]int64]Row // (sensor, unix µs) → row
	dups   int
	late   []string // rows stamped after they arrived
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/sensors":
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.body)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/readings":
		arrived := time.Now()
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			http.Error(w, `{"error": "bad token"}`, http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.posts++
		if len(f.fail) > 0 {
			code := f.fail[0]
			f.fail = f.fail[1:]
			http.Error(w, `{"error": "database unavailable"}`, code)
			return
		}
		if f.always != 0 {
			http.Error(w, `{"error": "row 0: sensor 1: unknown sensor"}`, f.always)
			return
		}
		var rows []Row
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rows); err != nil || len(rows) == 0 || len(rows) > MaxHTTPBatch {
			f.t.Errorf("bad batch (%d rows): %v", len(rows), err)
			http.Error(w, `{"error": "bad batch"}`, http.StatusBadRequest)
			return
		}
		for _, row := range rows {
			if row.Time.After(arrived) {
				f.late = append(f.late, fmt.Sprintf("sensor %d at %v arrived %v", row.SensorID, row.Time, arrived))
			}
			k := [2]int64{row.SensorID, row.Time.UnixMicro()}
			if _, dup := f.rows[k]; dup {
				f.dups++
				continue
			}
			f.rows[k] = row
		}
		w.Write([]byte(`{"stored": 1}`))
	default:
		http.NotFound(w, r)
	}
}

func newFake(t *testing.T) (*fakeServer, *httptest.Server) {
	body, _ := sensorsBody(t)
	f := &fakeServer{t: t, token: "s3cret", body: body, rows: map[[2]int64]Row{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// model fetches the fake's sensors and builds the typhoon model.
func model(t *testing.T, srv *httptest.Server, seed uint64) *sim.Model {
	t.Helper()
	ss, _, err := FetchSensors(context.Background(), srv.Client(), srv.URL, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	m, err := sim.New(sim.Typhoon, ss, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// expected is every reading of the model up to d, by (sensor, simulated time).
func expected(t *testing.T, srv *httptest.Server, seed uint64, d time.Duration) map[int64][]sim.Reading {
	out := map[int64][]sim.Reading{}
	for _, r := range model(t, srv, seed).Readings(d) {
		out[r.SensorID] = append(out[r.SensorID], r)
	}
	return out
}

// checkDelivered: the server holds exactly the model's readings, as drills, each
// sensor's in order with its values, stamped at start + simulated time / speed.
func checkDelivered(t *testing.T, f *fakeServer, want map[int64][]sim.Reading, start time.Time, speed float64) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	got := map[int64][]Row{}
	n := 0
	for _, row := range f.rows {
		if !row.Drill {
			t.Fatalf("sensor %d: a reading not marked drill", row.SensorID)
		}
		got[row.SensorID] = append(got[row.SensorID], row)
	}
	for id, rs := range want {
		rows := got[id]
		if len(rows) != len(rs) {
			t.Fatalf("sensor %d: %d readings delivered, %d simulated", id, len(rows), len(rs))
		}
		byTime := map[int64]Row{}
		for _, row := range rows {
			byTime[row.Time.UnixMicro()] = row
		}
		for _, r := range rs {
			at := start.Add(time.Duration(float64(r.At) / speed)).Truncate(time.Microsecond)
			row, ok := byTime[at.UnixMicro()]
			if !ok || row.Value != r.Value {
				t.Fatalf("sensor %d: simulated %v = %v; delivered at %v: %+v (%v)", id, r.At, r.Value, at, row, ok)
			}
		}
		n += len(rs)
	}
	if len(got) != len(want) {
		t.Fatalf("readings of %d sensors delivered, %d simulated", len(got), len(want))
	}
	if len(f.late) > 0 {
		t.Fatalf("%d readings stamped after they arrived, e.g. %s", len(f.late), f.late[0])
	}
	t.Logf("%d readings of %d sensors delivered", n, len(want))
}

// TestRunHTTP: a fast drill over HTTP delivers every simulated reading exactly,
// retrying through 503s and a 500.
func TestRunHTTP(t *testing.T) {
	f, srv := newFake(t)
	f.fail = []int{503, 503, 500, 503}
	const speed = 20000 // 2 h simulated in 0.36 s
	dur := 2 * time.Hour
	var out bytes.Buffer
	var start time.Time
	now := func() time.Time { return time.Now() }
	cfg := Config{Speed: speed, Duration: dur, Tick: 20 * time.Millisecond, Progress: 100 * time.Millisecond, MaxBatch: 700, Out: &out,
		Now: func() time.Time {
			t := now()
			if start.IsZero() {
				start = t
			}
			return t
		}}
	st, err := Run(context.Background(), model(t, srv, 5), &HTTP{Server: srv.URL, Token: "s3cret", Client: srv.Client()}, cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := expected(t, srv, 5, dur)
	total := 0
	for _, rs := range want {
		total += len(rs)
	}
	if st.Generated != total || st.Sent != total || st.Unsent != 0 || st.Rejected != 0 || st.Failures != 4 || st.Interrupted {
		t.Errorf("stats %+v; %d readings simulated, 4 failures served", st, total)
	}
	if st.SimTime != dur {
		t.Errorf("reached %v of %v", st.SimTime, dur)
	}
	checkDelivered(t, f, want, start, speed)
	if !strings.Contains(out.String(), "sim 2:00:00 / 2:00:00") || !strings.Contains(out.String(), "will be sent again") {
		t.Errorf("progress output:\n%s", out.String())
	}
}

// TestRunHTTPRejectedAndFatal: a 400 counts the readings rejected and goes on; a
// 401 stops the run with an error.
func TestRunHTTPRejectedAndFatal(t *testing.T) {
	f, srv := newFake(t)
	f.always = http.StatusBadRequest
	cfg := Config{Speed: 50000, Duration: 30 * time.Minute, Tick: 10 * time.Millisecond}
	st, err := Run(context.Background(), model(t, srv, 1), &HTTP{Server: srv.URL, Token: "s3cret"}, cfg)
	if err != nil || st.Rejected == 0 || st.Rejected != st.Generated || st.Sent != 0 {
		t.Errorf("all rejected: stats %+v, err %v", st, err)
	}
	start := time.Now()
	st, err = Run(context.Background(), model(t, srv, 1), &HTTP{Server: srv.URL, Token: "wrong"}, cfg)
	if !errors.Is(err, ErrFatal) || st.Sent != 0 || time.Since(start) > 5*time.Second {
		t.Errorf("wrong token: stats %+v, err %v after %v", st, err, time.Since(start))
	}
}

// TestRunInterrupted: cancelling a run stops it promptly; what was generated is
// sent (or counted unsent) and the server's rows match the count sent.
func TestRunInterrupted(t *testing.T) {
	f, srv := newFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	st, err := Run(ctx, model(t, srv, 2), &HTTP{Server: srv.URL, Token: "s3cret"}, Config{Speed: 600, Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v to stop", el)
	}
	f.mu.Lock()
	stored := len(f.rows)
	f.mu.Unlock()
	if !st.Interrupted || st.Generated == 0 || st.Sent != stored || st.Sent+st.Unsent != st.Generated || st.SimTime >= sim.Typhoon.Duration {
		t.Errorf("stats %+v, server holds %d", st, stored)
	}
}

// TestRunMQTT: a fast drill over MQTT, to the real broker through a proxy that
// cuts every connection mid-run (the acknowledgements of the messages in flight
// lost with it) and, from the first attempt to connect again, refuses new
// connections for half a second. Every reading is reported sent, and each one
// reaches a subscriber on its sensor's topic at QoS 1 — at least once: a message
// whose acknowledgement was lost is sent again.
func TestRunMQTT(t *testing.T) {
	brokerURL := sensortest.MQTTURL(t)
	_, srv := newFake(t)
	suffix := testSuffix()
	prefix := testPrefix(suffix)
	sub := subscribe(t, brokerURL, "riskmap-drill-test-sub-"+suffix, prefix+"#")
	p := newProxy(t, brokerURL)
	p.cutAt = 1000 // past the first Publish, which sends at most one message per sensor (834)
	p.refuseFor = 500 * time.Millisecond
	ctx := context.Background()
	q, err := DialMQTT(ctx, p.url, "riskmap-drill-test-pub-"+suffix)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.AckTimeout = time.Second
	q.Prefix = prefix
	const speed = 20000
	dur := 90 * time.Minute
	m := model(t, srv, 9)
	ext := map[int64]string{}
	for _, s := range m.Sensors() {
		ext[s.ID] = s.ExternalID
	}
	if len(ext) >= p.cutAt {
		t.Fatalf("%d sensors: cut after the %dth message would fall in the first Publish", len(ext), p.cutAt)
	}
	var start time.Time
	var out bytes.Buffer
	cfg := Config{Speed: speed, Duration: dur, Tick: 20 * time.Millisecond, Progress: 250 * time.Millisecond, Out: &out, Now: func() time.Time {
		t := time.Now()
		if start.IsZero() {
			start = t
		}
		return t
	}}
	st, err := Run(ctx, m, q, cfg)
	t.Logf("run:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	want := expected(t, srv, 9, dur)
	total := 0
	for _, rs := range want {
		total += len(rs)
	}
	if st.Sent != total || st.Unsent != 0 {
		t.Errorf("stats %+v, %d simulated", st, total)
	}
	p.mu.Lock()
	conns, refused, cuts, publishes := p.accepted, p.refused, p.cuts, p.publishes
	p.mu.Unlock()
	if cuts != 1 || conns != 2 || refused == 0 || st.Failures < 2 {
		t.Errorf("%d cuts, %d connections, %d refused, %d failed attempts: the connection was not cut mid-run and retried",
			cuts, conns, refused, st.Failures)
	}

	// Wait for the subscriber to have every reading (the broker acknowledges a
	// message before it has delivered it), then check them.
	var (
		f    *fakeServer
		msgs []received
		dups int
	)
	for deadline := time.Now().Add(15 * time.Second); ; {
		msgs = sub.messages()
		f, dups = &fakeServer{rows: map[[2]int64]Row{}}, 0
		for _, msg := range msgs {
			var rows []Row
			if bytes.HasPrefix(msg.payload, []byte("[")) {
				err = json.Unmarshal(msg.payload, &rows)
			} else {
				var r Row
				err = json.Unmarshal(msg.payload, &r)
				rows = []Row{r}
			}
			if err != nil {
				t.Fatalf("payload %q on %s: %v", msg.payload, msg.topic, err)
			}
			for _, r := range rows {
				if msg.topic != q.Topic(ext[r.SensorID]) || msg.qos != 1 {
					t.Fatalf("sensor %d: delivered on %q at QoS %d, want %q at QoS 1", r.SensorID, msg.topic, msg.qos, q.Topic(ext[r.SensorID]))
				}
				k := [2]int64{r.SensorID, r.Time.UnixMicro()}
				if old, dup := f.rows[k]; dup {
					if old != r {
						t.Fatalf("sensor %d at %v delivered twice, differently: %+v, %+v", r.SensorID, r.Time, old, r)
					}
					dups++
				}
				f.rows[k] = r
			}
		}
		if len(f.rows) >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("stats %+v; proxy: %d connections, %d refused, %d publishes forwarded; subscriber: %d messages, %d readings delivered again",
		st, conns, refused, publishes, len(msgs), dups)
	checkDelivered(t, f, want, start, speed)
}

// TestMQTTUnacknowledged: messages the broker receives but whose acknowledgements
// never reach the publisher (the proxy swallows the PUBACKs) come back as failed
// rows, with an error, after AckTimeout — to be sent again. One message per
// sensor: an array for several rows, an object for one.
func TestMQTTUnacknowledged(t *testing.T) {
	brokerURL := sensortest.MQTTURL(t)
	suffix := testSuffix()
	prefix := testPrefix(suffix)
	sub := subscribe(t, brokerURL, "riskmap-drill-test-sub-"+suffix, prefix+"#")
	p := newProxy(t, brokerURL)
	p.dropAcks = true
	q, err := DialMQTT(context.Background(), p.url, "riskmap-drill-test-noack-"+suffix)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.AckTimeout = 300 * time.Millisecond
	q.Prefix = prefix
	now := time.Now().UTC()
	rows := []Row{
		{SensorID: 1, ExternalID: "SN-1", Time: now, Value: 1, Drill: true},
		{SensorID: 2, ExternalID: "SN-2", Time: now, Value: 2, Drill: true},
		{SensorID: 1, ExternalID: "SN-1", Time: now.Add(time.Second), Value: 3, Drill: true},
	}
	start := time.Now()
	failed, err := q.Publish(context.Background(), rows)
	if err == nil || len(failed) != len(rows) || time.Since(start) > 5*time.Second {
		t.Fatalf("failed %d of %d rows, err %v, after %v", len(failed), len(rows), err, time.Since(start))
	}
	t.Logf("after %v: %v", time.Since(start), err)
	var msgs []received
	sensortest.WaitFor(t, 10*time.Second, "the broker to deliver both messages", func() bool {
		msgs = sub.messages()
		return len(msgs) >= 2
	})
	time.Sleep(100 * time.Millisecond) // a third message would be a bug too
	msgs = sub.messages()
	byTopic := map[string]received{}
	for _, m := range msgs {
		byTopic[m.topic] = m
	}
	one, two := byTopic[prefix+"SN-1"], byTopic[prefix+"SN-2"]
	if len(msgs) != 2 || !bytes.HasPrefix(one.payload, []byte("[")) || !bytes.HasPrefix(two.payload, []byte("{")) {
		t.Errorf("the broker delivered %d messages %+v: want an array on %sSN-1 and an object on %sSN-2", len(msgs), msgs, prefix, prefix)
	}
	p.mu.Lock()
	dropped := p.droppedAcks
	p.mu.Unlock()
	if dropped != 2 {
		t.Errorf("the proxy swallowed %d acknowledgements, want 2", dropped)
	}
}

func TestTopic(t *testing.T) {
	if got := Topic("SN-00012"); got != "riskmap/readings/SN-00012" {
		t.Error(got)
	}
	if got := Topic("a/b+c#"); got != "riskmap/readings/a_b_c_" {
		t.Error(got)
	}
	if got := (&MQTT{}).Topic("a/b"); got != "riskmap/readings/a_b" {
		t.Error("no prefix:", got)
	}
	if got := (&MQTT{Prefix: "test/x/"}).Topic("a/b+c#"); got != "test/x/a_b_c_" {
		t.Error("with a prefix:", got)
	}
}
