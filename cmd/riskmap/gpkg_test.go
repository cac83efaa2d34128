package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"riskmap/demo"
	"riskmap/internal/proctest"
	"riskmap/internal/sensortest"
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store/gpkg"
)

// layerCounts reads the feature count of every layer from /api/v1/layers.
func layerCounts(t *testing.T, base string) map[string]int64 {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/layers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Layers []struct {
			Name  string `json:"name"`
			Count int64  `json:"count"`
		} `json:"layers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, l := range body.Layers {
		out[l.Name] = l.Count
	}
	return out
}

func demoCounts() map[string]int64 {
	return map[string]int64{
		layers.RiskPoints:        demo.RiskPointCount,
		layers.Slopes:            demo.SlopeCount,
		layers.WaterloggingSpots: demo.WaterloggingSpotCount,
		layers.RectifiedRoads:    demo.QualityUpgradeRoads + demo.SeparationRoads + demo.RadarScanRoads,
		layers.Resources:         demo.ResourceCount,
	}
}

// TestZeroSetupServe is the README's first command: `riskmap serve` with no database
// URL, in an empty directory, creates riskmap.gpkg with the demo dataset, says so and
// serves it; a second process on the same file refuses to start with a clear message;
// a restart serves the same file without seeding again.
func TestZeroSetupServe(t *testing.T) {
	// Without -race: seeding the demo under the race detector takes minutes, and
	// this test is about the first start, not about races (the others build with it).
	bin := buildPlainBinary(t)
	dir := t.TempDir()
	p := startProc(t, bin, dir, 3*time.Minute)
	if out := p.Output(); !strings.Contains(out, "no riskmap.gpkg yet: creating it with the Luohu demo dataset") {
		t.Errorf("the first start does not say it creates the file:\n%s", out)
	}
	got := layerCounts(t, p.Base)
	for layer, n := range demoCounts() {
		if got[layer] != n {
			t.Errorf("%s: %d features, want %d", layer, got[layer], n)
		}
	}

	// A second process on the same file.
	second := exec.Command(bin, "serve", "--addr", proctest.FreeAddr(t))
	second.Dir = dir
	second.Env = append(os.Environ(), "RISKMAP_DATABASE_URL=")
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another riskmap process") {
		t.Errorf("a second serve on the same file: %v\n%s", err, out)
	}

	// Restart: the same data, no second seeding.
	_ = p.Cmd.Process.Signal(os.Interrupt)
	<-p.Exited()
	again := startProc(t, bin, dir, time.Minute)
	if out := again.Output(); strings.Contains(out, "creating it") || strings.Contains(out, "seeding") {
		t.Errorf("the restart seeded again:\n%s", out)
	}
	if got := layerCounts(t, again.Base); got[layers.RiskPoints] != demo.RiskPointCount {
		t.Errorf("after restart: %d risk points", got[layers.RiskPoints])
	}
}

// TestKillDuringIngestLosesNothing: readings are posted over HTTP to a server on a
// GeoPackage while it is killed with SIGKILL; after a restart every reading of every
// batch that was answered 200 is in the file, exactly once, with its value.
func TestKillDuringIngestLosesNothing(t *testing.T) {
	bin := buildBinary(t)
	// A small file with 100 water-depth sensors (a file with features is served
	// as it is, not seeded).
	file := filepath.Join(t.TempDir(), "ingest.gpkg")
	func() {
		s, err := gpkg.Open(context.Background(), file, layers.New())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sensortest.SeedStore(t, s, 100)
	}()
	p := startProc(t, bin, "", time.Minute, "--gpkg", file)

	// The water-depth sensors, as the server lists them.
	resp, err := http.Get(p.Base + "/api/v1/sensors?layer=" + layers.WaterloggingSpots)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Sensors []struct {
			ID       int64   `json:"id"`
			Kind     string  `json:"kind"`
			RangeMax float64 `json:"range_max"`
			Active   bool    `json:"active"`
		} `json:"sensors"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, s := range list.Sensors {
		if s.Active && s.Kind == "water_depth_cm" && s.RangeMax >= 100 {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) < 10 {
		t.Fatalf("only %d active water-depth sensors", len(ids))
	}

	// Batches of 200 readings at distinct times (microsecond offsets the demo
	// history never uses), until the process dies.
	type key struct {
		sensor int64
		at     int64 // µs
	}
	t0 := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Second).Add(123457 * time.Microsecond)
	var mu sync.Mutex
	acked := map[key]float64{}
	client := &http.Client{Timeout: 10 * time.Second}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				type reading struct {
					SensorID int64     `json:"sensor_id"`
					Time     time.Time `json:"time"`
					Value    float64   `json:"value"`
				}
				batch := make([]reading, 200)
				for i := range batch {
					n := (b*2+w)*200 + i
					batch[i] = reading{ids[n%len(ids)], t0.Add(time.Duration(n) * time.Millisecond), float64(n%97) / 10}
				}
				body, _ := json.Marshal(batch)
				req, _ := http.NewRequest(http.MethodPost, p.Base+"/api/v1/readings", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testWriteToken)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					for _, r := range batch {
						acked[key{r.SensorID, r.Time.UnixMicro()}] = r.Value
					}
					mu.Unlock()
				}
			}
		})
	}
	// Kill once enough readings are acknowledged (however loaded the machine is),
	// while the clients keep sending.
	sensortest.WaitFor(t, 2*time.Minute, "4,000 acknowledged readings", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 4000
	})
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	close(stop)
	wg.Wait()

	// Restart on the same file (the lock died with the process), then stop it and
	// read the file.
	again := startProc(t, bin, "", time.Minute, "--gpkg", file)
	_ = again.Cmd.Process.Signal(os.Interrupt)
	<-again.Exited()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := gpkg.Open(ctx, file, layers.New())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	found := map[key]float64{}
	err = s.RecentReadings(ctx, t0.Add(-time.Second), func(r sensors.Reading) error {
		if r.Time.Sub(t0) >= 0 && r.Time.Sub(t0) < time.Hour && !r.Drill {
			found[key{r.SensorID, r.Time.UnixMicro()}] = r.Value
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for k, v := range acked {
		if got, ok := found[k]; !ok || got != v {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged reading of sensor %d at %v (%v) is %v in the file (present %v)", k.sensor, time.UnixMicro(k.at).UTC(), v, got, ok)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged readings lost", lost, len(acked))
	}
	t.Logf("%d readings acknowledged before SIGKILL, all in the file after restart", len(acked))
}
