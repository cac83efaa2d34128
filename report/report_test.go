package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/geo"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/report"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var (
	demoOnce sync.Once
	demoIx   *index.Index
	demoErr  error
)

// demoIndex is the demo dataset in an index, built once per test binary; tests must
// not Apply to it.
func demoIndex(t testing.TB) *index.Index {
	t.Helper()
	demoOnce.Do(func() {
		ds, err := demo.Generate(demo.DefaultDemoSeed)
		if err != nil {
			demoErr = err
			return
		}
		demoIx = index.New(layers.New())
		var ms []index.Mutation
		for _, fs := range ds.Features {
			for _, f := range fs {
				ms = append(ms, index.Mutation{Op: feature.Insert, Feature: f})
			}
		}
		_, demoErr = demoIx.Apply(ms...)
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoIx
}

// everything is every feature of the index.
func everything(ix *index.Index) []index.Hit {
	return ix.BBox(orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}, index.Filter{MinCapacity: -1})
}

// A dense part of Luohu (Dongmen), a square around it, and a route along Shennan Road.
var (
	site    = orb.Point{114.1185, 22.5455}
	square  = orb.MultiPolygon{{{{114.114, 22.541}, {114.123, 22.541}, {114.123, 22.549}, {114.114, 22.549}, {114.114, 22.541}}}}
	route   = orb.LineString{{114.105, 22.5435}, {114.118, 22.5445}, {114.131, 22.5470}}
	farAway = orb.Point{114.30, 22.70} // outside the district: everything is far
)

// distanceToArea is the brute-force distance from a feature to an area, in meters,
// and whether the feature is in the area.
func distanceToArea(a report.Area, g orb.Geometry) (float64, bool) {
	switch a.Kind {
	case report.KindCircle:
		d := geo.DistanceToGeometry(a.Center, g)
		return d, d <= a.RadiusM
	case report.KindRoute:
		d := geo.GeometryDistance(a.Route, g)
		return d, d <= a.BufferM
	}
	// Polygon: every geometry of the demo near the square is a point or a polygon.
	if p, ok := g.(orb.Point); ok {
		if planar.MultiPolygonContains(a.Polygon, p) {
			return 0, true
		}
	} else if d := geo.GeometryDistance(a.Polygon, g); d == 0 {
		return 0, true
	}
	return geo.GeometryDistance(a.Polygon, g), false
}

// TestReportMatchesBruteForce checks every count, the list and the nearest feature
// of every layer against a scan of the whole dataset with package geo.
func TestReportMatchesBruteForce(t *testing.T) {
	ix := demoIndex(t)
	reg := ix.Registry()
	all := everything(ix)
	grades := reg.RiskGrades()
	for _, tc := range []struct {
		name   string
		area   report.Area
		filter index.Filter
		layers []string
	}{
		{"circle 500 m", report.Circle(site, 500), index.Filter{MinCapacity: -1}, nil},
		{"circle 2 km major", report.Circle(site, 2000), index.Filter{MinCapacity: -1, Grades: 1 << 3}, nil},
		{"circle far away", report.Circle(farAway, 300), index.Filter{MinCapacity: -1}, nil},
		{"polygon", report.Polygon(square), index.Filter{MinCapacity: -1}, nil},
		{"route 150 m", report.Route(route, 150), index.Filter{MinCapacity: -1}, nil},
		{"route risk points and resources", report.Route(route, 80), index.Filter{MinCapacity: -1, Layers: []string{layers.RiskPoints, layers.Resources}}, []string{layers.RiskPoints, layers.Resources}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.filter.Layers = tc.layers
			r := report.Build(ix, reg, report.Input{Area: tc.area, Filter: tc.filter, Now: time.Unix(0, 0)})
			want := map[string]int{}
			wantGrade := map[string]int{}
			wantSub := map[string]int{}
			nearest := map[string]float64{}
			inArea := 0
			for _, h := range all {
				rec := h.Rec
				if tc.layers != nil && !contains(tc.layers, rec.Layer) || tc.filter.Grades != 0 && (rec.Grade < 0 || tc.filter.Grades&(1<<rec.Grade) == 0) {
					continue
				}
				d, in := distanceToArea(tc.area, rec.Geometry)
				if n, ok := nearest[rec.Layer]; !ok || d < n {
					nearest[rec.Layer] = d
				}
				if !in {
					continue
				}
				inArea++
				want[rec.Layer]++
				if rec.Grade >= 0 {
					wantGrade[rec.Layer+"/"+grades.Choices[rec.Grade].Code]++
				}
				if rec.Subdistrict != "" {
					wantSub[rec.Subdistrict]++
				}
			}
			if len(r.Hits) != inArea {
				t.Errorf("%d features in the report, brute force finds %d", len(r.Hits), inArea)
			}
			for _, lc := range r.ByLayer {
				if lc.Total != want[lc.Layer] {
					t.Errorf("%s: %d, want %d", lc.Layer, lc.Total, want[lc.Layer])
				}
				for g, n := range lc.ByGrade {
					if n != wantGrade[lc.Layer+"/"+g] {
						t.Errorf("%s %s: %d, want %d", lc.Layer, g, n, wantGrade[lc.Layer+"/"+g])
					}
				}
			}
			subTotal := 0
			for _, g := range r.BySubdistrict {
				subTotal += g.Total
				if g.Total != wantSub[g.Code] {
					t.Errorf("sub-district %s: %d, want %d", g.Code, g.Total, wantSub[g.Code])
				}
				if g.LabelZH == "" {
					t.Errorf("sub-district %s has no label", g.Code)
				}
			}
			wantSubTotal := 0
			for _, n := range wantSub {
				wantSubTotal += n
			}
			if subTotal != wantSubTotal {
				t.Errorf("sub-districts count %d features, want %d", subTotal, wantSubTotal)
			}
			deptTotal := 0
			for _, g := range r.ByDepartment {
				deptTotal += g.Total
			}
			if deptTotal != want[layers.RiskPoints] {
				t.Errorf("departments count %d risk points, want %d", deptTotal, want[layers.RiskPoints])
			}
			for i := 1; i < len(r.Hits); i++ {
				if r.Hits[i].Distance < r.Hits[i-1].Distance {
					t.Fatalf("list not nearest first at %d", i)
				}
			}
			for _, n := range r.Nearest {
				wantD, ok := nearest[n.Layer]
				if n.Hit == nil {
					if ok {
						t.Errorf("%s: no nearest feature, brute force finds one at %.3f m", n.Layer, wantD)
					}
					continue
				}
				if !ok {
					t.Errorf("%s: nearest feature %d, but the filter leaves the layer out", n.Layer, n.Hit.Rec.ID)
					continue
				}
				if diff := n.Hit.Distance - wantD; diff > 1e-6 || diff < -1e-6 {
					t.Errorf("%s: nearest at %.6f m, brute force %.6f m", n.Layer, n.Hit.Distance, wantD)
				}
			}
			for i, h := range r.InWarning {
				if h.Rec.Warning <= 0 || i > 0 && h.Rec.Warning > r.InWarning[i-1].Rec.Warning {
					t.Fatalf("in_warning not worst first or not in warning at %d", i)
				}
			}
			if tc.name != "circle far away" && inArea == 0 {
				t.Fatal("the area holds nothing: the test checks nothing")
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// fixture is a small index of known features, for the golden files.
func fixture(t *testing.T) *index.Index {
	t.Helper()
	ix := index.New(layers.New())
	var ms []index.Mutation
	names := []string{"东门步行街商铺", "=HYPERLINK(\"x\")", "Lychee Park kiosk", "罗湖口岸广场", "人民南路加油站", "翠竹小学"}
	for i, name := range names {
		grade := []string{"low", "general", "significant", "major"}[i%4]
		ms = append(ms, index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.RiskPoints, ID: int64(i + 1), Version: 1,
			Geometry: orb.Point{114.118 + 0.0007*float64(i), 22.5450 + 0.0003*float64(i%3)},
			Props: map[string]any{"external_id": "RP-" + string(rune('A'+i)), "name": name, "category": "fire",
				"address": "深圳市罗湖区东门街道", "subdistrict": []string{"dongmen", "guiyuan"}[i%2], "cause": nil, "measures": nil,
				"responsible_dept": []any{"东门街道办", "罗湖区应急管理局", nil}[i%3], "risk_grade": grade, "hazard_status": "open"}}})
	}
	ms = append(ms,
		index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.Resources, ID: 1, Version: 1,
			Geometry: orb.Point{114.1200, 22.5440},
			Props: map[string]any{"external_id": "RS-1", "kind": "shelter", "name": "东门中学避难场所", "subdistrict": "dongmen", "address": nil,
				"capacity": int64(800), "open": true, "contact_dept": nil}}},
		index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.WaterloggingSpots, ID: 1, Version: 1,
			Geometry: orb.Point{114.1192, 22.5462},
			Props: map[string]any{"external_id": "WL-1", "name": "解放路下穿通道", "kind": "underpass", "subdistrict": "dongmen", "warning_depth_cm": 27.0,
				"current_depth_cm": 35.0, "trend": "rising", "warning_level": "orange"}}},
		index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.Slopes, ID: 1, Version: 1,
			Geometry: orb.Polygon{{{114.1150, 22.5440}, {114.1160, 22.5440}, {114.1160, 22.5448}, {114.1150, 22.5448}, {114.1150, 22.5440}}},
			Props: map[string]any{"external_id": "SL-1", "name": "东湖公园边坡", "kind": "building_slope", "subdistrict": "donghu", "height_m": 12.0,
				"risk_grade": "significant", "monitored": true, "warning_level": "none"}}},
		index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.RectifiedRoads, ID: 1, Version: 1,
			Geometry: orb.LineString{{114.1140, 22.5452}, {114.1230, 22.5452}},
			Props:    map[string]any{"external_id": "RR-1", "name": "解放路", "kind": "quality_upgrade"}}},
	)
	if _, err := ix.Apply(ms...); err != nil {
		t.Fatal(err)
	}
	return ix
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./report -update after checking the change):\n%s", name, got)
	}
}

// TestGolden writes each format of one report of the fixture and compares it with
// its golden file.
func TestGolden(t *testing.T) {
	ix := fixture(t)
	now := time.Date(2026, 11, 29, 6, 30, 0, 0, time.UTC)
	areas := map[string]report.Area{
		"circle":  report.Circle(orb.Point{114.1190, 22.5452}, 300),
		"polygon": report.Polygon(orb.MultiPolygon{{{{114.1145, 22.5435}, {114.1195, 22.5435}, {114.1195, 22.5465}, {114.1145, 22.5465}, {114.1145, 22.5435}}}}),
		"route":   report.Route(orb.LineString{{114.1150, 22.5430}, {114.1200, 22.5445}, {114.1230, 22.5460}}, 60),
	}
	for name, a := range areas {
		r := report.Build(ix, ix.Registry(), report.Input{Area: a, Filter: index.Filter{MinCapacity: -1}, Title: "东门改造工程 " + name, Now: now, Filters: map[string]string{}})
		js, err := r.JSON()
		if err != nil {
			t.Fatal(err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, js, "", " "); err != nil {
			t.Fatalf("%s: JSON does not parse: %v", name, err)
		}
		golden(t, name+".json", pretty.Bytes())
		var b bytes.Buffer
		if err := r.WriteCSV(&b, "zh"); err != nil {
			t.Fatal(err)
		}
		golden(t, name+".csv", b.Bytes())
		b.Reset()
		if err := r.WriteHTML(&b, ix, "zh"); err != nil {
			t.Fatal(err)
		}
		golden(t, name+".html", b.Bytes())
		gj, err := r.GeoJSON()
		if err != nil {
			t.Fatal(err)
		}
		var fc struct {
			Type     string            `json:"type"`
			Features []json.RawMessage `json:"features"`
			Report   map[string]any    `json:"report"`
		}
		if err := json.Unmarshal(gj, &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != len(r.Hits) || fc.Report["total"] != float64(len(r.Hits)) {
			t.Errorf("%s: GeoJSON: %v, type %q, %d features for %d hits", name, err, fc.Type, len(fc.Features), len(r.Hits))
		}
	}
	b, _ := os.ReadFile(filepath.Join("testdata", "circle.html"))
	if !strings.Contains(string(b), "<svg") {
		t.Error("the briefing has no map")
	}
}
