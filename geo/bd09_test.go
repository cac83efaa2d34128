package geo

import (
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
)

// Reference pairs from the widely used public implementation of the formulas
// (coordtransform, its README's examples), lon/lat degrees.
func TestBD09ReferencePairs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		f        func(orb.Point) orb.Point
		in, want orb.Point
		tol      float64 // degrees
	}{
		// The forward formula is closed-form: the same to float64 rounding.
		{"gcj02 to bd09", GCJ02ToBD09, orb.Point{116.404, 39.915}, orb.Point{116.41036949371029, 39.92133699351021}, 1e-12},
		// The reference uses the one-step inverse, off by centimeters from the exact one.
		{"bd09 to gcj02", BD09ToGCJ02, orb.Point{116.404, 39.915}, orb.Point{116.39762729119315, 39.90865673957631}, 1e-6},
		// Their gcj02towgs84(116.404, 39.915), fed the BD-09 of that GCJ-02 point; the
		// reference's GCJ-02 inverse is one-step too (off by ~1e-6°).
		{"bd09 to wgs84", BD09ToWGS84, orb.Point{116.41036949371029, 39.92133699351021}, orb.Point{116.39775550083061, 39.91359571849836}, 1e-5},
	} {
		got := tc.f(tc.in)
		if math.Abs(got[0]-tc.want[0]) > tc.tol || math.Abs(got[1]-tc.want[1]) > tc.tol {
			t.Errorf("%s(%v) = %.14f, want %.14f ± %g°", tc.name, tc.in, got, tc.want, tc.tol)
		}
	}
}

func TestBD09RoundTrip(t *testing.T) {
	// A grid over China and beyond (BD-09 has no box).
	var worst, worstW float64
	for lon := -179.5; lon <= 179.5; lon += 3.7 {
		for lat := -85.0; lat <= 85; lat += 2.3 {
			p := orb.Point{lon, lat}
			q := GCJ02ToBD09(BD09ToGCJ02(p))
			worst = max(worst, math.Abs(q[0]-p[0]), math.Abs(q[1]-p[1]))
			q = BD09ToGCJ02(GCJ02ToBD09(p))
			worst = max(worst, math.Abs(q[0]-p[0]), math.Abs(q[1]-p[1]))
		}
	}
	if worst > 1e-9 {
		t.Errorf("BD-09 round trip off by %g°, want ≤ 1e-9°", worst)
	}
	// Through WGS84, inside the GCJ-02 box (Shenzhen and around).
	for lon := 113.7; lon <= 114.7; lon += 0.013 {
		for lat := 22.4; lat <= 22.9; lat += 0.011 {
			p := orb.Point{lon, lat}
			q := BD09ToWGS84(WGS84ToBD09(p))
			worstW = max(worstW, math.Abs(q[0]-p[0]), math.Abs(q[1]-p[1]))
			// The move is hundreds of meters, never zero.
			if d := Distance(p, WGS84ToBD09(p)); d < 500 || d > 1500 {
				t.Fatalf("WGS84ToBD09 moved %v by %.0f m, want 500..1500 m in Shenzhen", p, d)
			}
		}
	}
	if worstW > 1e-8 {
		t.Errorf("WGS84 → BD-09 → WGS84 off by %g°, want ≤ 1e-8°", worstW)
	}
}

func TestBD09NonFinite(t *testing.T) {
	for _, p := range []orb.Point{{math.NaN(), 22}, {114, math.Inf(1)}} {
		for _, f := range []func(orb.Point) orb.Point{GCJ02ToBD09, BD09ToGCJ02} {
			q := f(p)
			if !(q[0] == p[0] || math.IsNaN(q[0]) && math.IsNaN(p[0])) || q[1] != p[1] && !math.IsNaN(p[1]) {
				t.Errorf("%v became %v, want unchanged", p, q)
			}
		}
	}
}

// TestBD09SharedStations converts the raw BD-09 coordinates of the shared fuel and
// gas station file back to WGS84 and compares them with the file's WGS84 points,
// which were made from them with the standard public transforms.
func TestBD09SharedStations(t *testing.T) {
	path := filepath.Join(sharedDataDir(), "shenzhen_fuel_gas_stations_wgs84.geojson")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not found: this test needs the shared data folder (beside the repository, or set %s)", path, sharedDataEnv)
	}
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Geometry struct {
				Coordinates [2]float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties struct {
				SrcCRS string  `json:"src_crs"`
				SrcLng float64 `json:"src_lng"`
				SrcLat float64 `json:"src_lat"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	n := 0
	var worst float64
	for _, f := range fc.Features {
		if f.Properties.SrcCRS != "bd09" {
			continue
		}
		n++
		got := BD09ToWGS84(orb.Point{f.Properties.SrcLng, f.Properties.SrcLat})
		worst = max(worst, Distance(got, orb.Point(f.Geometry.Coordinates)))
	}
	if n < 100 {
		t.Fatalf("%s: %d BD-09 stations, want over 100", path, n)
	}
	if worst > 1 {
		t.Errorf("BD-09 → WGS84 of %d stations: worst %.3f m from the file's WGS84, want ≤ 1 m", n, worst)
	}
	t.Logf("%d stations, worst %.3f m", n, worst)
}

// FuzzBD09RoundTrip: for any finite point BD-09 ↔ GCJ-02 are inverses within 1e-9°.
func FuzzBD09RoundTrip(f *testing.F) {
	f.Add(114.12, 22.55)
	f.Add(116.404, 39.915)
	f.Add(-179.9, -89.9)
	f.Add(0.0, 0.0)
	f.Fuzz(func(t *testing.T, lon, lat float64) {
		if math.IsNaN(lon) || math.IsNaN(lat) || math.Abs(lon) > 180 || math.Abs(lat) > 90 {
			t.Skip()
		}
		p := orb.Point{lon, lat}
		for _, q := range []orb.Point{GCJ02ToBD09(BD09ToGCJ02(p)), BD09ToGCJ02(GCJ02ToBD09(p))} {
			if math.Abs(q[0]-p[0]) > 1e-9 || math.Abs(q[1]-p[1]) > 1e-9 {
				t.Fatalf("round trip of %v gave %v", p, q)
			}
		}
	})
}
