package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"riskmap/events"
	"riskmap/index"
	"riskmap/ingest"
	"riskmap/internal/pgtest"
	"riskmap/internal/sensortest"
	"riskmap/layers"
	"riskmap/store/postgis"
)

const testToken = "test-token-0123456789abcdef"

type sensorRig struct {
	srv *httptest.Server
	st  *postgis.Store
	svc *ingest.Service
}

// newSensorRig serves the API over a seeded database (sensortest.Seed: spots 1..3
// with water depth sensors 1..3, slope 1 with displacement sensor 4), a running
// ingest service, the relay putting alerts and signals on the event hub, and
// token testToken.
func newSensorRig(t *testing.T, token string) *sensorRig {
	t.Helper()
	reg := layers.New()
	st := sensortest.Seed(t, pgtest.NewDatabase(t), 3)
	ctx, cancel := context.WithCancel(context.Background())
	ix := index.New(reg)
	if err := ix.Load(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	hub := events.NewHub(events.Options{Flush: 5 * time.Millisecond})
	hubDone := make(chan struct{})
	go func() { hub.Run(ctx); close(hubDone) }()
	relayDone := make(chan struct{})
	go func() { ingest.NewRelay(st, hub, ix, slog.New(slog.DiscardHandler)).Run(ctx); close(relayDone) }()
	svc, err := ingest.New(ingest.Config{Store: st, Registry: reg, TickEvery: time.Hour,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	svcDone := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(svcDone) }()
	sensortest.WaitFor(t, 20*time.Second, "ingest ready", svc.Ready)
	h := mustNew(t, Config{Registry: reg, Store: st, Index: ix, Events: hub, Ingest: svc, SensorStore: st,
		WriteToken: token, Logger: slog.New(slog.DiscardHandler),
		IngestStats: func() any { return map[string]any{"service": svc.Stats()} }})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		cancel()
		<-hubDone
		<-svcDone
		<-relayDone
		srv.CloseClientConnections()
		srv.Close()
	})
	return &sensorRig{srv: srv, st: st, svc: svc}
}

// do sends a request with the test token (unless token is "-") and decodes the
// JSON answer.
func (r *sensorRig) do(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, _ := http.NewRequest(method, r.srv.URL+path, rd)
	if token != "-" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d, body %q is not a JSON object", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func rows(n int, sensor int64, start time.Time, step time.Duration, value func(i int) float64) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"sensor_id": sensor, "time": start.Add(time.Duration(i) * step).Format(time.RFC3339Nano), "value": value(i)}
	}
	return out
}

func TestReadingsAuthAndValidation(t *testing.T) {
	r := newSensorRig(t, testToken)
	now := time.Now().UTC().Truncate(time.Second)
	good := rows(2, 1, now.Add(-time.Minute), time.Second, func(int) float64 { return 3 })
	cases := []struct {
		name, token string
		body        any
		status      int
		code, field string
	}{
		{"no token", "-", good, 401, "unauthorized", ""},
		{"wrong token", "nope-nope-nope-nope", good, 401, "unauthorized", ""},
		{"not json", testToken, "[{", 400, "invalid_readings", ""},
		{"string value", testToken, `[{"sensor_id": 1, "time": "2026-07-01T00:00:00Z", "value": "high"}]`, 400, "invalid_readings", "value"},
		{"unknown sensor", testToken, rows(1, 99, now, time.Second, func(int) float64 { return 1 }), 400, "invalid_readings", "sensor_id"},
		{"out of range", testToken, rows(1, 1, now, time.Second, func(int) float64 { return 1e6 }), 400, "invalid_readings", "value"},
		{"far future", testToken, rows(1, 1, now.Add(time.Hour), time.Second, func(int) float64 { return 1 }), 400, "invalid_readings", "time"},
		{"too many", testToken, rows(ingest.MaxBatch+1, 1, now.Add(-3*time.Hour), time.Millisecond, func(int) float64 { return 1 }), 400, "too_many_readings", "body"},
	}
	for _, c := range cases {
		status, body := r.do(t, http.MethodPost, "/api/v1/readings", c.token, c.body)
		if status != c.status || body["code"] != c.code || (c.field != "" && body["field"] != c.field) {
			t.Errorf("%s: %d %v, want %d %s field %q", c.name, status, body, c.status, c.code, c.field)
		}
	}
	var n int
	if err := r.st.Pool().QueryRow(context.Background(), "SELECT count(*) FROM readings").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rejected requests stored %d readings (%v)", n, err)
	}
	// Every bad row is named.
	mixed := append(rows(1, 1, now, time.Second, func(int) float64 { return 1 }),
		map[string]any{"sensor_id": 77, "time": now.Format(time.RFC3339), "value": 1},
		map[string]any{"sensor_id": 2, "time": now.Format(time.RFC3339), "value": -5})
	status, body := r.do(t, http.MethodPost, "/api/v1/readings", testToken, mixed)
	rs, _ := body["rows"].([]any)
	if status != 400 || len(rs) != 2 || rs[0].(map[string]any)["row"] != 1.0 || rs[1].(map[string]any)["reason"] != "out_of_range" {
		t.Errorf("mixed batch: %d %v", status, body)
	}
	if status, body := r.do(t, http.MethodPost, "/api/v1/readings", testToken, good); status != 200 || body["stored"] != 2.0 {
		t.Errorf("good batch: %d %v", status, body)
	}
	// Twice is the same as once.
	if status, _ := r.do(t, http.MethodPost, "/api/v1/readings", testToken, good); status != 200 {
		t.Errorf("repeated batch: %d", status)
	}
	if err := r.st.Pool().QueryRow(context.Background(), "SELECT count(*) FROM readings").Scan(&n); err != nil || n != 2 {
		t.Errorf("%d readings stored, want 2 (%v)", n, err)
	}
}

func TestWritesDisabledWithoutToken(t *testing.T) {
	r := newSensorRig(t, "")
	status, body := r.do(t, http.MethodPost, "/api/v1/readings", "anything-anything", "[]")
	if status != 403 || body["code"] != "writes_disabled" {
		t.Errorf("%d %v", status, body)
	}
}

func TestAlertFlowOverHTTP(t *testing.T) {
	r := newSensorRig(t, testToken)
	stream := openStream(t, r.srv, "/api/v1/events", "")
	now := time.Now().UTC().Truncate(time.Second)
	// Spot 1 to red, spot 2 to yellow.
	batch := append(rows(1, 1, now, time.Second, func(int) float64 { return 60 }),
		rows(1, 2, now, time.Second, func(int) float64 { return 22 })...)
	if status, body := r.do(t, http.MethodPost, "/api/v1/readings", testToken, batch); status != 200 {
		t.Fatalf("post: %d %v", status, body)
	}
	seen := map[float64]string{}
	for len(seen) < 2 {
		b := stream.nextEvent(10 * time.Second)
		if b.Event != ingest.EventAlert {
			continue
		}
		var a map[string]any
		if err := json.Unmarshal([]byte(b.Data), &a); err != nil {
			t.Fatal(err)
		}
		seen[a["sensor_id"].(float64)] = a["to"].(string)
		if obj, _ := a["object"].(map[string]any); obj == nil || obj["name"] == "" {
			t.Errorf("alert event without its object: %s", b.Data)
		}
	}
	if seen[1] != "red" || seen[2] != "yellow" {
		t.Errorf("alert events: %v", seen)
	}
	status, body := r.do(t, http.MethodGet, "/api/v1/alerts?open=true", "-", nil)
	as, _ := body["alerts"].([]any)
	if status != 200 || len(as) != 2 || as[0].(map[string]any)["to"] != "red" || as[1].(map[string]any)["to"] != "yellow" {
		t.Fatalf("open alerts, worst first: %d %v", status, body)
	}
	// Each listed alert names its object as the feature API does, with the center
	// of its bounds (a point's own position): no request per alert for a list row.
	for _, x := range as {
		a := x.(map[string]any)
		path := fmt.Sprintf("/api/v1/features/%s/%d", a["layer"], int64(a["feature_id"].(float64)))
		_, f := r.do(t, http.MethodGet, path, "-", nil)
		obj, _ := a["object"].(map[string]any)
		props, _ := f["properties"].(map[string]any)
		coords, _ := f["geometry"].(map[string]any)["coordinates"].([]any)
		if obj == nil || props == nil || len(coords) != 2 || obj["name"] != props["name"] || obj["kind"] != props["kind"] ||
			obj["lon"] != coords[0] || obj["lat"] != coords[1] {
			t.Errorf("alert %v: object %v; the feature %s: %v", a["id"], obj, path, f)
		}
	}
	id := as[0].(map[string]any)["id"].(float64)
	ack := fmt.Sprintf("/api/v1/alerts/%d/ack", int64(id))
	if status, body := r.do(t, http.MethodPost, ack, testToken, map[string]any{"note": "x"}); status != 400 || body["field"] != "by" {
		t.Errorf("ack without by: %d %v", status, body)
	}
	if status, body := r.do(t, http.MethodPost, ack, testToken, map[string]any{"by": "王值班", "note": "crew sent"}); status != 200 || body["acked_by"] != "王值班" || body["open"] != false {
		t.Errorf("ack: %d %v", status, body)
	}
	if status, body := r.do(t, http.MethodPost, ack, testToken, map[string]any{"by": "someone"}); status != 409 || body["code"] != "already_acknowledged" {
		t.Errorf("second ack: %d %v", status, body)
	}
	if status, _ := r.do(t, http.MethodPost, "/api/v1/alerts/424242/ack", testToken, map[string]any{"by": "x"}); status != 404 {
		t.Errorf("ack of a missing alert: %d", status)
	}
	if _, body := r.do(t, http.MethodGet, "/api/v1/alerts?open=true", "-", nil); len(body["alerts"].([]any)) != 1 {
		t.Errorf("after ack, open alerts: %v", body)
	}
	if status, body := r.do(t, http.MethodGet, "/api/v1/alerts?open=maybe", "-", nil); status != 400 || body["field"] != "open" {
		t.Errorf("bad open: %d %v", status, body)
	}
	// The object's sensors and state.
	status, body = r.do(t, http.MethodGet, "/api/v1/features/waterlogging_spots/1/sensors", "-", nil)
	ss, _ := body["sensors"].([]any)
	if status != 200 || len(ss) != 1 || body["state"].(map[string]any)["level"] != "red" {
		t.Errorf("feature sensors: %d %v", status, body)
	}
	if status, _ := r.do(t, http.MethodGet, "/api/v1/features/waterlogging_spots/999/sensors", "-", nil); status != 404 {
		t.Errorf("sensors of a missing feature: %d", status)
	}
	status, body = r.do(t, http.MethodGet, "/api/v1/sensors", "-", nil)
	if all, _ := body["sensors"].([]any); status != 200 || len(all) != 4 {
		t.Errorf("sensors: %d %v", status, body)
	}

	// A drill reading shows in the drill columns until the drill ends.
	drill := rows(1, 3, now, time.Second, func(int) float64 { return 35 })
	drill[0]["drill"] = true
	if status, body := r.do(t, http.MethodPost, "/api/v1/readings", testToken, drill); status != 200 {
		t.Fatalf("drill post: %d %v", status, body)
	}
	spot3 := func() map[string]any {
		if err := r.svc.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		f, err := r.st.Get(context.Background(), layers.WaterloggingSpots, 3)
		if err != nil {
			t.Fatal(err)
		}
		return f.Props
	}
	if p := spot3(); p["drill_warning_level"] != "orange" || p["drill_depth_cm"] != 35.0 || p["warning_level"] != "none" {
		t.Errorf("during the drill: %v", p)
	}
	if status, _ := r.do(t, http.MethodPost, "/api/v1/drill/end", "-", nil); status != 401 {
		t.Errorf("end drill without token: %d", status)
	}
	if status, body := r.do(t, http.MethodPost, "/api/v1/drill/end", testToken, nil); status != 200 || body["objects"] != 1.0 {
		t.Errorf("end drill: %d %v", status, body)
	}
	if p := spot3(); p["drill_warning_level"] != nil || p["drill_depth_cm"] != nil {
		t.Errorf("after the drill: %v", p)
	}
}

func TestReadingHistoryDownsampled(t *testing.T) {
	r := newSensorRig(t, testToken)
	start := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
	if status, body := r.do(t, http.MethodPost, "/api/v1/readings", testToken,
		rows(180, 3, start, time.Minute, func(i int) float64 { return float64(i % 7) })); status != 200 {
		t.Fatalf("post: %d %v", status, body)
	}
	from, to := start.Format(time.RFC3339), start.Add(3*time.Hour).Format(time.RFC3339)
	status, body := r.do(t, http.MethodGet, "/api/v1/sensors/3/readings?from="+from+"&to="+to, "-", nil)
	if pts, _ := body["points"].([]any); status != 200 || len(pts) != 180 || body["downsampled"] != false {
		t.Fatalf("raw: %d, %d points", status, len(pts))
	}
	status, body = r.do(t, http.MethodGet, "/api/v1/sensors/3/readings?max_points=12&from="+from+"&to="+to, "-", nil)
	pts, _ := body["points"].([]any)
	if status != 200 || len(pts) != 12 || body["downsampled"] != true {
		t.Fatalf("downsampled: %d, %v", status, body)
	}
	total := 0.0
	for _, p := range pts {
		total += p.(map[string]any)["n"].(float64)
	}
	if total != 180 {
		t.Errorf("buckets hold %v readings, want 180", total)
	}
	for _, c := range []string{"/api/v1/sensors/3/readings?from=yesterday", "/api/v1/sensors/x/readings",
		"/api/v1/sensors/3/readings?max_points=0", "/api/v1/sensors/3/readings?from=" + to + "&to=" + from} {
		if status, _ := r.do(t, http.MethodGet, c, "-", nil); status != 400 {
			t.Errorf("%s: %d, want 400", c, status)
		}
	}
	if status, _ := r.do(t, http.MethodGet, "/api/v1/sensors/99/readings", "-", nil); status != 404 {
		t.Errorf("unknown sensor: %d", status)
	}
}

func TestSignals(t *testing.T) {
	r := newSensorRig(t, testToken)
	stream := openStream(t, r.srv, "/api/v1/events?min_warning=red", "")
	status, body := r.do(t, http.MethodGet, "/api/v1/signals", "-", nil)
	if sg, _ := body["signals"].([]any); status != 200 || len(sg) != 2 || sg[0].(map[string]any)["level"] != "none" {
		t.Fatalf("initial signals: %d %v", status, body)
	}
	if status, body := r.do(t, http.MethodPut, "/api/v1/signals/typhoon", testToken, map[string]any{"level": "orange", "by": "气象台"}); status != 200 || body["level"] != "orange" {
		t.Fatalf("set: %d %v", status, body)
	}
	for {
		b := stream.nextEvent(10 * time.Second)
		if b.Event == ingest.EventSignal {
			if !strings.Contains(b.Data, `"orange"`) {
				t.Errorf("signal event %s", b.Data)
			}
			break
		}
	}
	r.do(t, http.MethodPut, "/api/v1/signals/typhoon", testToken, map[string]any{"level": "none", "by": "气象台", "note": "lifted"})
	_, body = r.do(t, http.MethodGet, "/api/v1/signals", "-", nil)
	if sg := body["signals"].([]any); sg[0].(map[string]any)["kind"] != "typhoon" || sg[0].(map[string]any)["level"] != "none" {
		t.Errorf("current: %v", body)
	}
	_, body = r.do(t, http.MethodGet, "/api/v1/signals?history=true&kind=typhoon", "-", nil)
	if sg := body["signals"].([]any); len(sg) != 2 || sg[1].(map[string]any)["level"] != "orange" {
		t.Errorf("history: %v", body)
	}
	for _, c := range []struct {
		path string
		body any
	}{
		{"/api/v1/signals/earthquake", map[string]any{"level": "red", "by": "x"}},
		{"/api/v1/signals/rainstorm", map[string]any{"level": "purple", "by": "x"}},
		{"/api/v1/signals/rainstorm", map[string]any{"level": "red"}},
		{"/api/v1/signals/rainstorm", map[string]any{"level": "red", "by": "x", "extra": 1}},
	} {
		if status, _ := r.do(t, http.MethodPut, c.path, testToken, c.body); status != 400 {
			t.Errorf("PUT %s %v: %d, want 400", c.path, c.body, status)
		}
	}
	if status, _ := r.do(t, http.MethodPut, "/api/v1/signals/rainstorm", "-", map[string]any{"level": "red", "by": "x"}); status != 401 {
		t.Errorf("no token: %d", status)
	}
}
