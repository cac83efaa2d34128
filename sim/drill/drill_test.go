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

// TestRunMQTT: a fast drill over MQTT publishes every reading once acknowledged,
// to its sensor's topic, also when the broker drops the connection mid-run.
func TestRunMQTT(t *testing.T) {
	_, srv := newFake(t)
	b := newBroker(t)
	b.dropAfter = 150             // close the connection without acknowledging the 150th publish,
	b.refuseFor = 3 * time.Second // and stay away for longer than AckTimeout
	ctx := context.Background()
	q, err := DialMQTT(ctx, "tcp://"+b.addr(), "riskmap-sim-test")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.AckTimeout = time.Second
	const speed = 20000
	dur := 90 * time.Minute
	m := model(t, srv, 9)
	ext := map[int64]string{}
	for _, s := range m.Sensors() {
		ext[s.ID] = s.ExternalID
	}
	var start time.Time
	cfg := Config{Speed: speed, Duration: dur, Tick: 20 * time.Millisecond, Now: func() time.Time {
		t := time.Now()
		if start.IsZero() {
			start = t
		}
		return t
	}}
	st, err := Run(ctx, m, q, cfg)
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
	b.mu.Lock()
	conns := b.conns
	b.mu.Unlock()
	t.Logf("stats %+v, %d connections", st, conns)
	if conns < 2 || st.Failures == 0 {
		t.Errorf("%d connections, %d failed attempts: the dropped connection was not retried", conns, st.Failures)
	}
	f := &fakeServer{rows: map[[2]int64]Row{}}
	b.mu.Lock()
	for _, msg := range b.msgs {
		var rows []Row
		if bytes.HasPrefix(msg.payload, []byte("[")) {
			err = json.Unmarshal(msg.payload, &rows)
		} else {
			var r Row
			err = json.Unmarshal(msg.payload, &r)
			rows = []Row{r}
		}
		if err != nil {
			t.Fatalf("payload %q: %v", msg.payload, err)
		}
		for _, r := range rows {
			if msg.topic != Topic(ext[r.SensorID]) || msg.qos != 1 {
				t.Fatalf("sensor %d published to %q at QoS %d", r.SensorID, msg.topic, msg.qos)
			}
			f.rows[[2]int64{r.SensorID, r.Time.UnixMicro()}] = r
		}
	}
	b.mu.Unlock()
	checkDelivered(t, f, want, start, speed)
}

// TestMQTTUnacknowledged: messages the broker never acknowledges come back as
// failed rows, with an error, after AckTimeout — to be sent again.
func TestMQTTUnacknowledged(t *testing.T) {
	b := newBroker(t)
	b.noAck = true
	q, err := DialMQTT(context.Background(), "tcp://"+b.addr(), "riskmap-sim-noack")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	q.AckTimeout = 300 * time.Millisecond
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
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.msgs) != 2 || b.msgs[0].topic != "riskmap/readings/SN-1" || !bytes.HasPrefix(b.msgs[0].payload, []byte("[")) ||
		b.msgs[1].topic != "riskmap/readings/SN-2" || !bytes.HasPrefix(b.msgs[1].payload, []byte("{")) {
		t.Errorf("broker got %+v: want an array for SN-1 and an object for SN-2", b.msgs)
	}
}

func TestTopic(t *testing.T) {
	if got := Topic("SN-00012"); got != "riskmap/readings/SN-00012" {
		t.Error(got)
	}
	if got := Topic("a/b+c#"); got != "riskmap/readings/a_b_c_" {
		t.Error(got)
	}
}
