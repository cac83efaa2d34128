package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/internal/shareddata"
	"riskmap/layers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func mapper(t *testing.T, layer string, o Options) *Mapper {
	t.Helper()
	l, err := layers.New().Layer(layer)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMapper(l, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mapCSV(t *testing.T, layer string, o Options, csvText string) (*Table, *Result) {
	t.Helper()
	tb, err := ReadCSV([]byte(csvText))
	if err != nil {
		t.Fatal(err)
	}
	r, err := mapper(t, layer, o).Map(tb)
	if err != nil {
		t.Fatal(err)
	}
	return tb, r
}

// TestMapChineseHeaders: Chinese column names, grade words and values with units
// and ranges, without any mapping.
func TestMapChineseHeaders(t *testing.T) {
	_, r := mapCSV(t, layers.RiskPoints, Options{}, "普查编号,名称,风险类别,地址,街道,风险等级,经度,纬度,备注,id,version\n"+
		"RP-1,东门老街燃气点,燃气,东门路1号,东门街道,重大,114.12,22.55,x,9,3\n"+
		"RP-2,翠竹边坡,landslide,,翠竹,Ⅲ,114.13,22.56,,,\n"+
		"RP-3,莲塘电梯,电梯,,,橙色,114.14,22.57,,,\n")
	if len(r.Errors) != 0 {
		t.Fatalf("errors: %v", r.Errors)
	}
	if got := strings.Join(r.Ignored, ","); got != "备注" {
		t.Errorf("ignored %q, want 备注 (id and version silently)", got)
	}
	want := []map[string]any{
		{"external_id": "RP-1", "category": "gas", "subdistrict": "dongmen", "risk_grade": "major", "address": "东门路1号", "hazard_status": "open"},
		{"external_id": "RP-2", "category": "landslide", "subdistrict": "cuizhu", "risk_grade": "general", "address": nil},
		{"external_id": "RP-3", "category": "elevator", "subdistrict": nil, "risk_grade": "significant"},
	}
	for i, w := range want {
		for k, v := range w {
			if got := r.Features[i].Props[k]; got != v {
				t.Errorf("row %d %s = %v, want %v", i, k, got, v)
			}
		}
	}
	if r.Lines[2] != 4 {
		t.Errorf("line of the third row %d, want 4", r.Lines[2])
	}
}

// TestMapBadRows: every bad row is reported with line, field, value and reason,
// the good rows are kept, and the reject file is golden.
func TestMapBadRows(t *testing.T) {
	tb, r := mapCSV(t, layers.Resources, Options{Map: map[string]string{"capacity": "可容纳人数"}}, "编号,类型,名称,可容纳人数,开放,lon,lat\n"+
		"S1,shelter,桂园小学,300-1000,是,114.11,22.54\n"+ // fine
		"S2,避难所,笋岗中学,约300人,否,114.12,22.55\n"+ // bad kind
		"S3,shelter,,abc,maybe,114.13,22.56\n"+ // no name, bad capacity, bad open
		"S4,shelter,东湖公园,,,22.56,114.13\n"+ // swapped
		",shelter,无编号,,,114.14,22.57\n"+ // no external_id
		"S1,shelter,重复,,,114.15,22.58\n"+ // duplicate
		"S7,medical,医院,,,0,0\n") // null island
	if len(r.Features) != 1 || r.Features[0].Props["capacity"] != int64(1000) || r.Features[0].Props["open"] != true {
		t.Fatalf("features %v", r.Features)
	}
	var got []string
	for _, e := range r.Errors {
		got = append(got, e.Error())
	}
	golden(t, "bad_rows.txt", []byte(strings.Join(got, "\n")+"\n"))
	if b := r.BadLines(); fmt.Sprint(b) != "[3 4 5 6 7 8]" {
		t.Errorf("bad lines %v", b)
	}
	var buf bytes.Buffer
	if err := WriteRejects(&buf, tb, r.Errors); err != nil {
		t.Fatal(err)
	}
	golden(t, "rejects.csv", buf.Bytes())
	// The reject file reads back: its reason columns are ignored silently.
	tb2, err := ReadCSV(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	r2, err := mapper(t, layers.Resources, Options{Map: map[string]string{"capacity": "可容纳人数"}}).Map(tb2)
	if err != nil {
		t.Fatal(err)
	}
	// The duplicate S1 is alone there, so 5 of the 6 rows are still bad.
	if len(r2.Ignored) != 0 || len(r2.BadLines()) != 5 {
		t.Errorf("re-reading the rejects: ignored %v, bad lines %v", r2.Ignored, r2.BadLines())
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestMapOptionErrors(t *testing.T) {
	l, _ := layers.New().Layer(layers.RiskPoints)
	for _, o := range []Options{
		{Map: map[string]string{"nope": "x"}},
		{Set: map[string]string{"nope": "x"}},
		{Values: map[string]map[string]string{"nope": {"a": "b"}}},
		{CRS: "utm"},
		{IDPrefix: strings.Repeat("p", 41)},
	} {
		if _, err := NewMapper(l, o); !errors.Is(err, ErrMapping) && !errors.Is(err, ErrUnknownCRS) {
			t.Errorf("%+v: err = %v", o, err)
		}
	}
	tb, _ := ReadCSV([]byte("name,lon,lat\na,1,2\n"))
	if _, err := mapper(t, layers.RiskPoints, Options{Map: map[string]string{"name": "名字"}}).Map(tb); !errors.Is(err, ErrMapping) {
		t.Errorf("mapped column missing: err = %v", err)
	}
	tb, _ = ReadCSV([]byte("name,address\na,b\n"))
	if _, err := mapper(t, layers.RiskPoints, Options{}).Map(tb); !errors.Is(err, ErrMapping) {
		t.Errorf("no geometry columns: err = %v", err)
	}
}

// TestMapWKTAndIDPrefix: a WKT column, EWKT, a one-part MultiPolygon reduced for a
// layer that takes only polygons, and derived ids that are stable.
func TestMapWKTAndIDPrefix(t *testing.T) {
	in := "name,kind,wkt\n" +
		"易涝A,underpass,POINT (114.1 22.5)\n" +
		"易涝B,low_road,\"SRID=4326;MULTIPOLYGON (((114.1 22.5, 114.2 22.5, 114.2 22.6, 114.1 22.5)))\"\n" +
		"易涝C,other,LINESTRING (114.1 22.5, 114.2 22.6)\n" +
		"易涝D,other,POINT (114.1\n"
	_, r := mapCSV(t, layers.WaterloggingSpots, Options{IDPrefix: "wl-"}, in)
	if len(r.Features) != 2 || len(r.BadLines()) != 2 {
		t.Fatalf("features %d, bad lines %v: %v", len(r.Features), r.BadLines(), r.Errors)
	}
	if _, ok := r.Features[1].Geometry.(orb.Polygon); !ok {
		t.Errorf("one-part MultiPolygon became %T, want Polygon", r.Features[1].Geometry)
	}
	id := r.Features[0].Props["external_id"].(string)
	if !strings.HasPrefix(id, "wl-") || len(id) != 3+16 {
		t.Errorf("derived id %q", id)
	}
	_, r2 := mapCSV(t, layers.WaterloggingSpots, Options{IDPrefix: "wl-"}, in)
	if r2.Features[0].Props["external_id"] != id {
		t.Errorf("derived id changed between imports: %v, %v", r2.Features[0].Props["external_id"], id)
	}
	// The same place written in GCJ-02 gets the same id (it is derived after conversion).
	g := geo.WGS84ToGCJ02(orb.Point{114.1, 22.5})
	_, r3 := mapCSV(t, layers.WaterloggingSpots, Options{IDPrefix: "wl-", CRS: GCJ02}, fmt.Sprintf("name,kind,lon,lat\n易涝A,underpass,%.12f,%.12f\n", g[0], g[1]))
	if r3.Features[0].Props["external_id"] != id {
		t.Errorf("GCJ-02 row id %v, want %v", r3.Features[0].Props["external_id"], id)
	}
}

// stationRows reads the shared fuel and gas stations: their WGS84 points and raw
// BD-09 source coordinates.
func stationRows(t *testing.T) (truth []orb.Point, bd []orb.Point, names, ids []string) {
	t.Helper()
	tb, err := ReadFile(shareddata.Path(t, "shenzhen_fuel_gas_stations_wgs84.geojson"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	col := func(n string) int {
		for i, c := range tb.Columns {
			if c == n {
				return i
			}
		}
		t.Fatalf("no column %s", n)
		return -1
	}
	lng, lat, crs, name, id := col("src_lng"), col("src_lat"), col("src_crs"), col("name"), col("src_id")
	for _, r := range tb.Rows {
		if s, _ := text(r.Values[crs]); s != "bd09" {
			continue
		}
		x, _ := parseNumber(r.Values[lng].(fmt.Stringer).String(), "")
		y, _ := parseNumber(r.Values[lat].(fmt.Stringer).String(), "")
		truth = append(truth, r.Geometry.(orb.Point))
		bd = append(bd, orb.Point{x, y})
		n, _ := text(r.Values[name])
		i, _ := text(r.Values[id])
		names, ids = append(names, n), append(ids, i)
	}
	if len(truth) < 100 {
		t.Fatalf("%d BD-09 stations, want over 100", len(truth))
	}
	return truth, bd, names, ids
}

// bd09OneStep is the published one-step BD-09 → GCJ-02 inverse, written here apart
// from package geo: the shared file's GCJ-02 intermediate was made with it.
func bd09OneStep(p orb.Point) orb.Point {
	const xpi = math.Pi * 3000 / 180
	x, y := p[0]-0.0065, p[1]-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*xpi)
	th := math.Atan2(y, x) - 0.000003*math.Cos(x*xpi)
	return orb.Point{z * math.Cos(th), z * math.Sin(th)}
}

// TestMapCRSSharedStations: BD-09 and GCJ-02 input lands within 1 m of the shared
// file's WGS84 truth.
func TestMapCRSSharedStations(t *testing.T) {
	truth, bd, names, ids := stationRows(t)
	for _, crs := range []CRS{BD09, GCJ02} {
		var b strings.Builder
		w := csv.NewWriter(&b)
		w.Write([]string{"编号", "名称", "经度", "纬度"})
		for i, p := range bd {
			if crs == GCJ02 {
				p = bd09OneStep(p)
			}
			w.Write([]string{ids[i], names[i], fmt.Sprintf("%.10f", p[0]), fmt.Sprintf("%.10f", p[1])})
		}
		w.Flush()
		_, r := mapCSV(t, layers.RiskPoints, Options{CRS: crs, Set: map[string]string{"category": "gas", "risk_grade": "general"}}, b.String())
		// The file lists most stations twice, identically: the repeats are dropped.
		if len(r.Errors) != 0 || len(r.Features)+len(r.Duplicates) != len(truth) || len(r.Duplicates) < 100 {
			t.Fatalf("%s: %d features, %d duplicates, errors %v", crs, len(r.Features), len(r.Duplicates), r.Errors)
		}
		var worst float64
		for i, f := range r.Features {
			worst = max(worst, geo.Distance(f.Geometry.(orb.Point), truth[r.Lines[i]-2]))
		}
		if worst > 1 {
			t.Errorf("%s: worst %.3f m from the WGS84 truth, want ≤ 1 m", crs, worst)
		}
		t.Logf("%s: %d stations, worst %.3f m", crs, len(truth), worst)
	}
}

// RealFileOptions are the options the census files in the shared folder import with
// (also used by cmd/riskmap's tests and docs/import.md).
var realFiles = []struct {
	file, layer string
	opts        Options
	features    int
	bad         []int // bad lines
}{
	{"shenzhen_waterlogging_points_2019_wgs84.geojson", layers.WaterloggingSpots,
		Options{Map: map[string]string{"external_id": "id", "name": "location", "warning_depth_cm": "severe_depth_cm_min"}, Set: map[string]string{"kind": "low_road"}}, 206, nil},
	{"shenzhen_shelters_located_wgs84.geojson", layers.Resources,
		Options{Map: map[string]string{"capacity": "capacity_people"}, Set: map[string]string{"kind": "shelter"}}, 114, nil},
	{"shenzhen_geohazard_slopes_wgs84.geojson", layers.Slopes,
		Options{Map: map[string]string{"risk_grade": "hazard_grade", "kind": "slope_class", "height_m": "slope_height_m", "length_m": "slope_length_m", "angle_deg": "slope_angle_deg"},
			Values: map[string]map[string]string{"kind": {"可能引发地质灾害的建筑边坡": "building_slope", "自然斜坡": "natural_slope"}}}, 105, []int{40}},
	{"shenzhen_hazardous_sites_wgs84.geojson", layers.RiskPoints,
		Options{Map: map[string]string{"name": "organization", "responsible_dept": "competent_unit"}, Set: map[string]string{"category": "hazardous_chemicals", "risk_grade": "major"}}, 683, nil},
}

func TestMapRealFiles(t *testing.T) {
	for _, rf := range realFiles {
		t.Run(rf.layer, func(t *testing.T) {
			tb, err := ReadFile(shareddata.Path(t, rf.file), "", "")
			if err != nil {
				t.Fatal(err)
			}
			r, err := mapper(t, rf.layer, rf.opts).Map(tb)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Features) != rf.features || fmt.Sprint(r.BadLines()) != fmt.Sprint(rf.bad) {
				t.Fatalf("%d features, bad lines %v (%v); want %d, %v", len(r.Features), r.BadLines(), r.Errors, rf.features, rf.bad)
			}
			byID := map[string]map[string]any{}
			for _, f := range r.Features {
				byID[f.Props["external_id"].(string)] = f.Props
			}
			check := func(id, field string, want any) {
				t.Helper()
				if got := byID[id][field]; got != want {
					t.Errorf("%s %s = %#v, want %#v", id, field, got, want)
				}
			}
			switch rf.layer {
			case layers.WaterloggingSpots:
				check("1", "name", "石厦碉楼巷")
				check("1", "warning_depth_cm", 40.0)
				nulls := 0
				for _, p := range byID {
					if p["warning_depth_cm"] == nil {
						nulls++
					}
				}
				if nulls != 148 {
					t.Errorf("%d spots without a warning depth, want 148 (empty → null)", nulls)
				}
			case layers.Resources:
				check("298", "capacity", int64(300))
				check("298", "kind", "shelter")
				ranges := 0
				for _, p := range byID {
					if p["capacity"] == int64(1000) {
						ranges++
					}
				}
				if ranges < 21+17 { // "1000" and "300-1000" (upper bound)
					t.Errorf("%d shelters with capacity 1000, want ≥ 38", ranges)
				}
			case layers.Slopes:
				check("1", "height_m", 15.0)
				check("2", "height_m", 12.0) // "8~12"
				check("2", "angle_deg", 70.0)
				check("1", "risk_grade", "general")
				check("1", "kind", "building_slope")
				e := r.Errors[0]
				if e.Field != "angle_deg" || e.Value != "100~150" {
					t.Errorf("slope line 40: %v", e)
				}
			case layers.RiskPoints:
				check("2", "name", "深圳市空港油料有限公司油库")
				check("2", "responsible_dept", "市气象局")
				check("2", "address", nil)
			}
		})
	}
}
