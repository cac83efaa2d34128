package demo

import (
	"reflect"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"riskmap/geo"
	"riskmap/layers"
)

// generated is the default dataset, generated once for the tests that only read it.
var generated = sync.OnceValues(func() (*Dataset, error) { return Generate(DefaultDemoSeed) })

func TestGenerateCounts(t *testing.T) {
	ds, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	count := func(layer, field, value string) int {
		n := 0
		for _, f := range ds.Features[layer] {
			if field == "" || f.Props[field] == value {
				n++
			}
		}
		return n
	}
	tests := []struct {
		layer, field, value string
		want                int
	}{
		{layers.RiskPoints, "", "", RiskPointCount},
		{layers.RiskPoints, "category", "ground_void", GroundVoidCount},
		{layers.Slopes, "", "", SlopeCount},
		{layers.RectifiedRoads, "kind", "quality_upgrade", 26},
		{layers.RectifiedRoads, "kind", "motor_nonmotor_separation", 17},
		{layers.RectifiedRoads, "kind", "radar_scan", 5},
		{layers.WaterloggingSpots, "", "", WaterloggingSpotCount},
		{layers.WaterloggingSpots, "kind", "reservoir", ReservoirSpots},
		{layers.WaterloggingSpots, "kind", "drain_node", DrainNodeSpots},
		{layers.Resources, "kind", "shelter", Shelters},
		{layers.Resources, "kind", "rescue_team", RescueTeams},
		{layers.Resources, "kind", "material_depot", MaterialDepots},
		{layers.Resources, "kind", "medical", MedicalPoints},
	}
	for _, tt := range tests {
		if got := count(tt.layer, tt.field, tt.value); got != tt.want {
			t.Errorf("%s %s=%s: %d, want %d", tt.layer, tt.field, tt.value, got, tt.want)
		}
	}
	if RiskPointCount != 35548 || SlopeCount != 1932 {
		t.Fatal("counts drifted from the source article")
	}
	if len(ds.Sensors) == 0 {
		t.Fatal("no sensors")
	}
}

// TestGenerateValid checks every feature against the registry and the boundary.
func TestGenerateValid(t *testing.T) {
	ds, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	boundary, err := Boundary()
	if err != nil {
		t.Fatal(err)
	}
	reg := layers.New()
	for name, fs := range ds.Features {
		l, err := reg.Layer(name)
		if err != nil {
			t.Fatal(err)
		}
		ext := map[string]bool{}
		for _, f := range fs {
			if _, err := l.Normalize(f.Props); err != nil {
				t.Fatalf("%s id %d: %v", name, f.ID, err)
			}
			if err := l.ValidateGeometry(f.Geometry); err != nil {
				t.Fatalf("%s id %d: %v", name, f.ID, err)
			}
			if !covered(boundary, f.Geometry) {
				t.Fatalf("%s id %d %v is not inside the Luohu boundary", name, f.ID, f.Geometry)
			}
			e := f.Props["external_id"].(string)
			if ext[e] {
				t.Fatalf("%s: external_id %s twice", name, e)
			}
			ext[e] = true
		}
	}
	for _, s := range ds.Sensors {
		if s.FeatureID < 1 || int(s.FeatureID) > len(ds.Features[s.Layer]) {
			t.Fatalf("sensor %s on missing %s id %d", s.ExternalID, s.Layer, s.FeatureID)
		}
	}
}

func covered(b orb.Polygon, g orb.Geometry) bool {
	switch v := g.(type) {
	case orb.Point:
		return planar.PolygonContains(b, v)
	case orb.LineString:
		return geo.PolygonCoversLine(b, v)
	case orb.MultiLineString:
		for _, l := range v {
			if !geo.PolygonCoversLine(b, l) {
				return false
			}
		}
		return true
	case orb.Polygon:
		return geo.PolygonCoversRing(b, v[0])
	}
	return false
}

func TestGenerateDeterministic(t *testing.T) {
	a, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(DefaultDemoSeed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generations with the same seed differ")
	}
	c, err := Generate(DefaultDemoSeed + 1)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Features[layers.RiskPoints][100], c.Features[layers.RiskPoints][100]) {
		t.Fatal("a different seed gave the same risk point")
	}
}

func TestSubdistrictSeedsInside(t *testing.T) {
	boundary, err := Boundary()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subdistrictSeeds() {
		if !planar.PolygonContains(boundary, s.p) {
			t.Errorf("seed of %s %v is outside the district", s.code, s.p)
		}
		if got := Subdistrict(s.p); got != s.code {
			t.Errorf("Subdistrict(seed of %s) = %s", s.code, got)
		}
	}
}
