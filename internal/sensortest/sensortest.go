// Package sensortest builds the small sensor fixtures the ingest tests share: a
// migrated database with waterlogging spots and slopes carrying sensors with known
// thresholds, and the MQTT broker URL the tests use.
package sensortest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/migrations"
	"riskmap/store"
	"riskmap/store/postgis"
)

// MQTTEnvVar names the broker the MQTT tests use (make test sets it).
const MQTTEnvVar = "RISKMAP_TEST_MQTT_URL"

// MQTTURL returns the test broker URL, skipping t when it is not set.
func MQTTURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(MQTTEnvVar)
	if u == "" {
		t.Skipf("%s is not set: the MQTT tests need a broker (e.g. tcp://127.0.0.1:1883; make test sets it)", MQTTEnvVar)
	}
	return u
}

// Thresholds of the fixture's sensors.
var (
	DepthThresholds        = feature.Thresholds{Blue: 10, Yellow: 20, Orange: 30, Red: 50} // water_depth_cm
	DisplacementThresholds = feature.Thresholds{Blue: 5, Yellow: 10, Orange: 20, Red: 40}  // displacement_mm
)

// Store is what the fixture is written into: store/postgis or store/gpkg.
type Store interface {
	Migrate(ctx context.Context, progress func(m migrations.Migration)) (int, error)
	BulkLoad(ctx context.Context, layer string, fs []feature.Feature, opts store.WriteOptions, progress func(done int)) error
	BulkLoadSensors(ctx context.Context, sensors []feature.Sensor) error
}

// Seed migrates the database at url and writes the fixture into it (see SeedStore).
func Seed(t testing.TB, url string, spots int) *postgis.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := postgis.Open(ctx, url, layers.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	SeedStore(t, st, spots)
	return st
}

// SeedStore migrates st and writes spots waterlogging spots (ids 1..spots), each
// with a water depth sensor of the same id (DepthThresholds), and one slope (id 1)
// with a displacement sensor of id spots+1 (DisplacementThresholds).
func SeedStore(t testing.TB, st Store, spots int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var fs []feature.Feature
	var ss []feature.Sensor
	for i := 1; i <= spots; i++ {
		fs = append(fs, feature.Feature{Layer: layers.WaterloggingSpots, ID: int64(i),
			Geometry: orb.Point{114.10 + float64(i%50)*0.001, 22.54 + float64(i/50)*0.001},
			Props:    map[string]any{"external_id": fmt.Sprintf("WS-%d", i), "name": fmt.Sprintf("Spot %d", i), "kind": "underpass"}})
		th := DepthThresholds
		ss = append(ss, feature.Sensor{ID: int64(i), ExternalID: fmt.Sprintf("WD-%d", i), Kind: "water_depth_cm",
			Layer: layers.WaterloggingSpots, FeatureID: int64(i), Thresholds: &th, RangeMin: 0, RangeMax: 1000, Active: true})
	}
	opt := store.WriteOptions{Actor: "test"}
	if err := st.BulkLoad(ctx, layers.WaterloggingSpots, fs, opt, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.BulkLoad(ctx, layers.Slopes, []feature.Feature{{Layer: layers.Slopes, ID: 1, Geometry: orb.Point{114.13, 22.56},
		Props: map[string]any{"external_id": "SL-1", "name": "Slope", "kind": "natural_slope", "risk_grade": "major"}}}, opt, nil); err != nil {
		t.Fatal(err)
	}
	th := DisplacementThresholds
	ss = append(ss, feature.Sensor{ID: int64(spots + 1), ExternalID: "DP-1", Kind: "displacement_mm", Layer: layers.Slopes,
		FeatureID: 1, Thresholds: &th, RangeMin: -2000, RangeMax: 2000, Active: true})
	if err := st.BulkLoadSensors(ctx, ss); err != nil {
		t.Fatal(err)
	}
}

// WaitFor polls cond every 10 ms until it holds, failing t after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
