package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmap/demo"
)

// simServer is the part of a riskmap server simulate talks to: the sensor list of
// the demo dataset and POST /api/v1/readings (token "t0k"), recording each row.
func simServer(t *testing.T) (*httptest.Server, func() (rows int, drills int, maxTime time.Time)) {
	t.Helper()
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	for _, s := range demo.SimSensors(ds) {
		list = append(list, map[string]any{"id": s.ID, "external_id": s.ExternalID, "kind": s.Kind, "layer": s.Layer,
			"feature_id": s.FeatureID, "thresholds": s.Thresholds, "range_min": s.RangeMin, "range_max": s.RangeMax, "active": true,
			"object": map[string]any{"kind": s.ObjectKind, "lon": s.Lon, "lat": s.Lat}})
	}
	body, err := json.Marshal(map[string]any{"sensors": list})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	rows, drills := 0, 0
	var maxTime time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/sensors":
			w.Write(body)
		case "/api/v1/readings":
			if r.Header.Get("Authorization") != "Bearer t0k" {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error": "wrong token"}`))
				return
			}
			b, _ := io.ReadAll(r.Body)
			var batch []struct {
				SensorID int64     `json:"sensor_id"`
				Time     time.Time `json:"time"`
				Value    float64   `json:"value"`
				Drill    bool      `json:"drill"`
			}
			if err := json.Unmarshal(b, &batch); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			mu.Lock()
			for _, x := range batch {
				rows++
				if x.Drill {
					drills++
				}
				if x.Time.After(maxTime) {
					maxTime = x.Time
				}
			}
			mu.Unlock()
			w.Write([]byte(`{"stored": 1}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() (int, int, time.Time) {
		mu.Lock()
		defer mu.Unlock()
		return rows, drills, maxTime
	}
}

func TestSimulateHTTP(t *testing.T) {
	srv, got := simServer(t)
	before := time.Now()
	code, out, errOut := runCLI(t, "simulate", "--scenario", "typhoon", "--speed", "10000x", "--duration", "1h",
		"--server", srv.URL, "--token", "t0k", "--progress", "100ms")
	rows, drills, maxTime := got()
	if code != 0 || rows == 0 || drills != rows || maxTime.After(time.Now()) || maxTime.Before(before) {
		t.Fatalf("exit %d, %d rows (%d drill), latest at %v\nstdout:\n%s\nstderr:\n%s", code, rows, drills, maxTime, out, errOut)
	}
	for _, want := range []string{`drill "typhoon"`, "834 sensors, 1h0m0s simulated at 10000x", "sim 1:00:00 / 1:00:00",
		"total: ", " 0 rejected, 0 unsent"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// Every reading generated was received.
	if !strings.Contains(out, "generated, ") || !strings.Contains(out, " sent, ") {
		t.Fatalf("no totals:\n%s", out)
	}
	var generated, sent int
	line := out[strings.Index(out, "total: "):]
	if _, err := fmt.Sscanf(line, "total: %d readings generated, %d sent", &generated, &sent); err != nil || generated != rows || sent != rows {
		t.Errorf("totals %q: generated %d, sent %d; the server received %d (err %v)", strings.SplitN(line, "\n", 2)[0], generated, sent, rows, err)
	}

	code, _, errOut = runCLI(t, "simulate", "--speed", "10000x", "--duration", "10m", "--server", srv.URL, "--token", "wrong")
	if code != 1 || !strings.Contains(errOut, "401") {
		t.Errorf("wrong token: exit %d, stderr %q", code, errOut)
	}
}

func TestSimulateUsage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	srv, _ := simServer(t)
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"simulate", "--scenario", "blizzard"}, 2, `unknown scenario "blizzard"`},
		{[]string{"simulate", "--speed", "fast"}, 2, "--speed"},
		{[]string{"simulate", "--speed", "0.5x"}, 2, "outside 1x"},
		{[]string{"simulate", "--mqtt", "--http"}, 2, "contradict"},
		{[]string{"simulate", "--batch", "20000"}, 2, "--batch"},
		{[]string{"simulate", "--server", "http://" + closed}, 1, "connection refused"},
		{[]string{"simulate", "--server", srv.URL, "--mqtt", "--mqtt-url", "tcp://" + closed}, 1, "connect to MQTT broker"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.err) {
				t.Fatalf("exit %d, stderr %q; want %d, %q\nstdout %s", code, errOut, tt.code, tt.err, out)
			}
		})
	}
	code, out, _ := runCLI(t, "simulate", "--help")
	if code != 0 || !strings.Contains(out, "Usage: riskmap simulate") || !strings.Contains(out, "RISKMAP_WRITE_TOKEN") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
	if got := redactURL("tcp://sim:pw@broker:1883"); got != "tcp://sim:***@broker:1883" {
		t.Errorf("redactURL: %s", got)
	}
}
