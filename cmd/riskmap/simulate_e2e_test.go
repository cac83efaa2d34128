package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmap/internal/pgtest"
	"riskmap/internal/sensortest"
	"riskmap/layers"
	"riskmap/store/gpkg"
)

// TestSimulateTyphoonAgainstServer is the issue's "done when": `riskmap simulate
// --scenario typhoon` against a running server makes the flood spots rise (their
// drill depth, in the API and so in tiles and on the stream), drill alerts appear
// on the event stream and in /api/v1/alerts, and the real levels stay calm — on
// PostGIS and on the embedded GeoPackage store, readings over HTTP and over MQTT.
func TestSimulateTyphoonAgainstServer(t *testing.T) {
	for _, st := range []string{"postgis", "gpkg"} {
		for _, transport := range []string{"http", "mqtt"} {
			t.Run(st+"/"+transport, func(t *testing.T) { simulateAgainstServer(t, st, transport) })
		}
	}
}

func simulateAgainstServer(t *testing.T, storeKind, transport string) {
	mqttURL := ""
	if transport == "mqtt" {
		mqttURL = sensortest.MQTTURL(t)
	}
	const spots = 30
	// Underpasses with water depth sensors, and a slope.
	var spec storeSpec
	if storeKind == "postgis" {
		spec.DatabaseURL = pgtest.NewDatabase(t)
		sensortest.Seed(t, spec.DatabaseURL, spots)
	} else {
		spec.GPKG = filepath.Join(t.TempDir(), "drill.gpkg")
		s, err := gpkg.Open(context.Background(), spec.GPKG, layers.New())
		if err != nil {
			t.Fatal(err)
		}
		sensortest.SeedStore(t, s, spots)
		s.Close()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, spec, ln, slog.New(slog.DiscardHandler), serveOptions{
			tileCacheMB: 16, clusterBelow: 15, eventFlush: 50 * time.Millisecond,
			ingest: true, sensorTick: 10 * time.Second, writeToken: testWriteToken,
			mqttURL: mqttURL, mqttTopic: "riskmap/readings/#", spoolDir: t.TempDir(),
			mqttClientID: fmt.Sprintf("riskmap-simulate-test-%d", time.Now().UnixNano()), mqttSessionExpiry: time.Minute,
		})
	}()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	sensortest.WaitFor(t, 60*time.Second, "server ready", func() bool {
		resp, err := http.Get(base + "/api/v1/sensors")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	// The event stream, read while the drill runs.
	sctx, cancelStream := context.WithCancel(ctx)
	defer cancelStream()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, base+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var mu sync.Mutex
	var alertEvents, drillChanges int
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data := strings.TrimPrefix(line, "data: ")
				mu.Lock()
				switch {
				case event == "alert" && strings.Contains(data, `"drill":true`):
					alertEvents++
				case event == "change" && strings.Contains(data, `"drill_depth_cm":`) && !strings.Contains(data, `"drill_depth_cm":null`):
					drillChanges++
				}
				mu.Unlock()
			}
		}
	}()

	// Four simulated hours at 3600x: the rain band reaches the underpasses.
	var out, errOut strings.Builder
	args := []string{"simulate", "--scenario", "typhoon", "--speed", "3600x", "--duration", "4h",
		"--server", base, "--token", testWriteToken, "--progress", "1s"}
	if transport == "mqtt" {
		args = append(args, "--mqtt", "--mqtt-url", mqttURL)
		sensortest.WaitFor(t, 20*time.Second, "MQTT consumer subscribed", func() bool {
			r, err := http.Get(base + "/api/v1/ingest/stats")
			if err != nil {
				return false
			}
			defer r.Body.Close()
			var st struct {
				MQTT struct {
					Subscribed bool `json:"subscribed"`
				} `json:"mqtt"`
			}
			return json.NewDecoder(r.Body).Decode(&st) == nil && st.MQTT.Subscribed
		})
	}
	code := run(ctx, args, &out, &errOut)
	if code != 0 {
		t.Fatalf("simulate exited %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	t.Logf("simulate: %s", lastLine(out.String()))

	// Flood spots rose: drill depths in the API, above the blue threshold somewhere.
	maxDepth := 0.0
	sensortest.WaitFor(t, 20*time.Second, "drill depths in the API", func() bool {
		for id := 1; id <= spots; id++ {
			var f struct {
				Properties map[string]any `json:"properties"`
			}
			r, err := http.Get(fmt.Sprintf("%s/api/v1/features/waterlogging_spots/%d", base, id))
			if err != nil {
				return false
			}
			_ = json.NewDecoder(r.Body).Decode(&f)
			r.Body.Close()
			if d, ok := f.Properties["drill_depth_cm"].(float64); ok {
				maxDepth = max(maxDepth, d)
			}
			if f.Properties["warning_level"] != "none" {
				t.Errorf("spot %d: real warning level %v during a drill", id, f.Properties["warning_level"])
				return true
			}
		}
		return maxDepth > sensortest.DepthThresholds.Blue
	})
	t.Logf("deepest drill depth: %.1f cm", maxDepth)

	// Drill alerts in the API, and on the stream.
	var alerts struct {
		Alerts []struct {
			Drill bool   `json:"drill"`
			To    string `json:"to"`
		} `json:"alerts"`
	}
	r, err := http.Get(base + "/api/v1/alerts?open=true")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(r.Body).Decode(&alerts)
	r.Body.Close()
	levels := map[string]int{}
	for _, a := range alerts.Alerts {
		if !a.Drill {
			t.Errorf("a real alert during a drill: %+v", a)
		}
		levels[a.To]++
	}
	if len(alerts.Alerts) == 0 {
		t.Fatal("no alerts in /api/v1/alerts after the drill")
	}
	t.Logf("open drill alerts by level: %v", levels)
	sensortest.WaitFor(t, 10*time.Second, "alert events on the stream", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return alertEvents > 0 && drillChanges > 0
	})
	mu.Lock()
	t.Logf("stream: %d drill alert events, %d changes with a drill depth", alertEvents, drillChanges)
	mu.Unlock()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
