package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
	"github.com/paulmach/orb/geojson"

	"riskmap/feature"
	"riskmap/geo"
	"riskmap/index"
	"riskmap/layers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// updated is the updated_at of the fixture's features.
var updated = time.Date(2026, 7, 1, 8, 30, 15, 123456789, time.UTC)

// fixture is an index of a few fixed features of every layer: every geometry type a
// layer takes, null values, a formula-looking text, texts needing CSV and JSON
// quoting, dates, booleans, negative numbers.
func fixture(t testing.TB) *index.Index {
	t.Helper()
	reg := layers.New()
	ix := index.New(reg)
	sq := func(lon, lat, d float64) orb.Polygon {
		return orb.Polygon{{{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon, lat + d}, {lon, lat}}}
	}
	fs := []feature.Feature{
		{Layer: layers.RiskPoints, ID: 7, Version: 3, Geometry: orb.Point{114.1234567, 22.5512345}, Props: map[string]any{
			"external_id": "RP-7", "name": "东门步行街 \"老街\", 北段", "category": "fire", "address": "=HYPERLINK(\"http://x\")",
			"subdistrict": "dongmen", "cause": "电线老化\n私拉乱接", "measures": nil, "responsible_dept": "-东门街道办",
			"risk_grade": "major", "hazard_status": "rectifying"}},
		{Layer: layers.RiskPoints, ID: 2, Version: 1, Geometry: orb.Point{114.2, 22.6}, Props: map[string]any{
			"external_id": "RP-2", "name": "莲塘边坡", "category": "landslide", "address": nil, "subdistrict": nil,
			"cause": nil, "measures": nil, "responsible_dept": nil, "risk_grade": "low", "hazard_status": "open"}},
		{Layer: layers.Slopes, ID: 1, Version: 1, Geometry: sq(114.15, 22.56, 0.001), Props: map[string]any{
			"external_id": "SL-1", "name": "梧桐山边坡", "kind": "natural_slope", "subdistrict": "liantang", "height_m": 12.5,
			"length_m": nil, "angle_deg": 35.0, "risk_grade": "significant", "monitored": true, "warning_level": "orange",
			"displacement_mm": -3.25, "trend": "rising", "sensor_status": "live", "drill_warning_level": nil}},
		{Layer: layers.Slopes, ID: 2, Version: 2, Geometry: orb.MultiPolygon{sq(114.16, 22.57, 0.001), sq(114.17, 22.57, 0.0005)}, Props: map[string]any{
			"external_id": "SL-2", "name": "仙桐体育公园边坡", "kind": "building_slope", "subdistrict": nil, "height_m": nil,
			"length_m": 80.0, "angle_deg": nil, "risk_grade": "major", "monitored": false, "warning_level": "none",
			"displacement_mm": nil, "trend": nil, "sensor_status": nil, "drill_warning_level": nil}},
		{Layer: layers.Slopes, ID: 3, Version: 1, Geometry: orb.Point{114.18, 22.58}, Props: map[string]any{
			"external_id": "SL-3", "name": "小边坡", "kind": "natural_slope", "subdistrict": nil, "height_m": 3.0,
			"length_m": nil, "angle_deg": nil, "risk_grade": "low", "monitored": false, "warning_level": "none",
			"displacement_mm": nil, "trend": nil, "sensor_status": nil, "drill_warning_level": nil}},
		{Layer: layers.WaterloggingSpots, ID: 4, Version: 5, Geometry: orb.Point{114.121, 22.5505}, Props: map[string]any{
			"external_id": "WL-4", "name": "下穿通道", "kind": "underpass", "subdistrict": "guiyuan", "warning_depth_cm": 27.0,
			"current_depth_cm": 35.0, "trend": "rising", "warning_level": "orange"}},
		{Layer: layers.WaterloggingSpots, ID: 5, Version: 1, Geometry: sq(114.13, 22.55, 0.0002), Props: map[string]any{
			"external_id": "WL-5", "name": "低洼小区", "kind": "residential", "subdistrict": nil, "warning_depth_cm": nil,
			"current_depth_cm": nil, "trend": nil, "warning_level": "none"}},
		{Layer: layers.RectifiedRoads, ID: 1, Version: 1, Geometry: orb.LineString{{114.11, 22.54}, {114.12, 22.545}, {114.125, 22.55}}, Props: map[string]any{
			"external_id": "RD-1", "name": "深南东路", "kind": "quality_upgrade",
			"completed_on": time.Date(2021, 12, 20, 0, 0, 0, 0, time.UTC)}},
		{Layer: layers.RectifiedRoads, ID: 2, Version: 1, Geometry: orb.MultiLineString{{{114.13, 22.54}, {114.14, 22.54}}, {{114.15, 22.54}, {114.16, 22.541}}}, Props: map[string]any{
			"external_id": "RD-2", "name": "人民南路", "kind": "radar_scan", "completed_on": nil}},
		{Layer: layers.Resources, ID: 9, Version: 1, Geometry: orb.Point{114.125, 22.551}, Props: map[string]any{
			"external_id": "RS-9", "kind": "shelter", "name": "东湖公园避难场所", "subdistrict": "donghu", "address": "@东湖路",
			"capacity": int64(3000), "open": true, "contact_dept": nil}},
		{Layer: layers.Resources, ID: 10, Version: 1, Geometry: orb.Point{114.13, 22.552}, Props: map[string]any{
			"external_id": "RS-10", "kind": "rescue_team", "name": "救援队", "subdistrict": nil, "address": nil,
			"capacity": nil, "open": false, "contact_dept": "+应急管理局"}},
	}
	var ms []index.Mutation
	for _, f := range fs {
		l, err := reg.Layer(f.Layer)
		if err != nil {
			t.Fatal(err)
		}
		props, err := l.Normalize(f.Props)
		if err != nil {
			t.Fatalf("%s %d: %v", f.Layer, f.ID, err)
		}
		f.Props, f.UpdatedAt = props, updated
		ms = append(ms, index.Mutation{Op: feature.Insert, Feature: f})
	}
	if _, err := ix.Apply(ms...); err != nil {
		t.Fatal(err)
	}
	return ix
}

// write prepares and writes req, failing t on error.
func write(t *testing.T, ix *index.Index, req Request) []byte {
	t.Helper()
	e, err := Prepare(ix, req)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := e.WriteTo(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// golden compares got with testdata/name, rewriting it with -update.
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
		t.Fatalf("%v (run go test ./export -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./export -update after checking the change):\n%s", name, got)
	}
}

// TestGolden: the GeoJSON and CSV of every layer of the fixture, in WGS84 and
// GCJ-02, byte for byte.
func TestGolden(t *testing.T) {
	ix := fixture(t)
	for _, l := range ix.Registry().Layers() {
		for _, f := range []Format{GeoJSON, CSV} {
			for _, crs := range []CRS{WGS84, GCJ02} {
				name := l.Name + "." + string(f)
				if crs == GCJ02 {
					name = l.Name + "-gcj02." + string(f)
				}
				t.Run(name, func(t *testing.T) {
					golden(t, name, write(t, ix, Request{Layer: l.Name, Format: f, CRS: crs}))
				})
			}
		}
	}
}

// TestGeoJSONIsTheAPIsFeatures: every exported feature is, in WGS84, the feature's
// own GeoJSON as the index (and so GET /api/v1/features) has it; in GCJ-02, the same
// properties with each coordinate transformed; the collection parses as GeoJSON.
func TestGeoJSONIsTheAPIsFeatures(t *testing.T) {
	ix := fixture(t)
	for _, l := range ix.Registry().Layers() {
		wgs := write(t, ix, Request{Layer: l.Name, Format: GeoJSON})
		gcj := write(t, ix, Request{Layer: l.Name, Format: GeoJSON, CRS: GCJ02})
		var fc struct {
			Type     string            `json:"type"`
			Name     string            `json:"name"`
			Features []json.RawMessage `json:"features"`
		}
		if err := json.Unmarshal(wgs, &fc); err != nil {
			t.Fatalf("%s: %v", l.Name, err)
		}
		if fc.Type != "FeatureCollection" || fc.Name != l.Name || len(fc.Features) != ix.Count(l.Name) {
			t.Fatalf("%s: type %q name %q, %d features, want %d", l.Name, fc.Type, fc.Name, len(fc.Features), ix.Count(l.Name))
		}
		gfc, err := geojson.UnmarshalFeatureCollection(gcj)
		if err != nil {
			t.Fatalf("%s gcj02: %v", l.Name, err)
		}
		var prev float64
		for i, raw := range fc.Features {
			var f struct {
				ID float64 `json:"id"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			if f.ID <= prev {
				t.Errorf("%s: ids not ascending: %v after %v", l.Name, f.ID, prev)
			}
			prev = f.ID
			rec, ok, _ := ix.Get(l.Name, int64(f.ID))
			if !ok || !bytes.Equal(raw, rec.GeoJSON()) {
				t.Errorf("%s %v: exported %s\nindex has %s", l.Name, f.ID, raw, rec.GeoJSON())
				continue
			}
			wf, _ := geojson.UnmarshalFeature(raw)
			gf := gfc.Features[i]
			if gf.ID != wf.ID || len(gf.Properties) != len(wf.Properties) {
				t.Errorf("%s %v: gcj02 feature id %v, %d properties", l.Name, f.ID, gf.ID, len(gf.Properties))
			}
			for k, v := range wf.Properties {
				if gv := gf.Properties[k]; gv != v {
					t.Errorf("%s %v: gcj02 %s = %v, want %v", l.Name, f.ID, k, gv, v)
				}
			}
			want := toGCJ02(orb.Clone(rec.Geometry))
			if !orb.Equal(want, gf.Geometry) {
				t.Errorf("%s %v: gcj02 geometry %v, want %v", l.Name, f.ID, wkt.MarshalString(gf.Geometry), wkt.MarshalString(want))
			}
			if d := geo.Distance(rec.Geometry.Bound().Min, gf.Geometry.Bound().Min); d < 500 || d > 700 {
				t.Errorf("%s %v: gcj02 offset %.0f m, want 570-620 m around Luohu", l.Name, f.ID, d)
			}
		}
		// The index's geometries are left as they were.
		again := write(t, ix, Request{Layer: l.Name, Format: GeoJSON})
		if !bytes.Equal(again, wgs) {
			t.Errorf("%s: a GCJ-02 export changed the index's geometries", l.Name)
		}
	}
}

// TestCSVReadsBack: the CSV starts with the BOM, uses CRLF, has the documented
// header, and its cells read back as the features' values (a formula-looking text
// with its leading quote, coordinates exactly).
func TestCSVReadsBack(t *testing.T) {
	ix := fixture(t)
	for _, l := range ix.Registry().Layers() {
		b := write(t, ix, Request{Layer: l.Name, Format: CSV})
		if !bytes.HasPrefix(b, []byte("\uFEFF")) {
			t.Fatalf("%s: no BOM", l.Name)
		}
		if bytes.Count(b, []byte("\r\n")) < 1+ix.Count(l.Name) {
			t.Errorf("%s: lines do not end in CRLF", l.Name)
		}
		rows, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", l.Name, err)
		}
		header := rows[0]
		if strings.Join(header, ",") != strings.Join(CSVHeader(l), ",") || header[0] != "id" ||
			header[len(header)-2] != "version" || header[len(header)-1] != "updated_at" {
			t.Fatalf("%s: header %v", l.Name, header)
		}
		if len(rows)-1 != ix.Count(l.Name) {
			t.Fatalf("%s: %d rows, want %d", l.Name, len(rows)-1, ix.Count(l.Name))
		}
		col := map[string]int{}
		for i, h := range header {
			col[h] = i
		}
		for _, row := range rows[1:] {
			var id int64
			if err := json.Unmarshal([]byte(row[0]), &id); err != nil {
				t.Fatalf("%s: id %q", l.Name, row[0])
			}
			rec, ok, _ := ix.Get(l.Name, id)
			if !ok {
				t.Fatalf("%s: id %d not in the index", l.Name, id)
			}
			p := props(l, rec)
			for _, f := range l.Fields {
				got, v := row[col[f.Name]], p[f.Name]
				want := ""
				switch x := v.(type) {
				case string:
					want = x
					if strings.ContainsAny(x[:1], "=+-@\t\r") {
						want = "'" + x
					}
				case int64, bool:
					b, _ := json.Marshal(x)
					want = string(b)
				case float64:
					b, _ := json.Marshal(x)
					want = string(b)
				case time.Time:
					want = x.Format(time.DateOnly)
				}
				if got != want {
					t.Errorf("%s %d %s: %q, want %q", l.Name, id, f.Name, got, want)
				}
			}
			if isPointLayer(l) {
				pt := rec.Geometry.(orb.Point)
				var lon, lat float64
				_ = json.Unmarshal([]byte(row[col["lon"]]), &lon)
				_ = json.Unmarshal([]byte(row[col["lat"]]), &lat)
				if lon != pt[0] || lat != pt[1] {
					t.Errorf("%s %d: lon/lat %s %s, want %v", l.Name, id, row[col["lon"]], row[col["lat"]], pt)
				}
			} else {
				g, err := wkt.Unmarshal(row[col["wkt"]])
				if err != nil || !orb.Equal(g, rec.Geometry) {
					t.Errorf("%s %d: wkt %q (%v), want %v", l.Name, id, row[col["wkt"]], err, wkt.MarshalString(rec.Geometry))
				}
			}
			if row[col["version"]] != jsonOf(rec.Version) {
				t.Errorf("%s %d: version %s, want %d", l.Name, id, row[col["version"]], rec.Version)
			}
			if u, err := time.Parse(time.RFC3339Nano, row[col["updated_at"]]); err != nil || !u.Equal(updated) {
				t.Errorf("%s %d: updated_at %q, want %v", l.Name, id, row[col["updated_at"]], updated)
			}
		}
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSelection: filters and the bbox select what the index's own queries select,
// in WGS84 and in GCJ-02 (a box drawn on a GCJ-02 map around a feature's GCJ-02
// position finds it), and an empty selection is a valid empty file.
func TestSelection(t *testing.T) {
	ix := fixture(t)
	reg := ix.Registry()
	ids := func(req Request) []int64 {
		e, err := Prepare(ix, req)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range e.recs {
			out = append(out, r.ID)
		}
		return out
	}
	filter := func(params map[string][]string) *index.Filter {
		f, err := index.ParseFilter(reg, params)
		if err != nil {
			t.Fatal(err)
		}
		return &f
	}
	box := func(minLon, minLat, maxLon, maxLat float64) *orb.Bound {
		return &orb.Bound{Min: orb.Point{minLon, minLat}, Max: orb.Point{maxLon, maxLat}}
	}
	gcj := geo.WGS84ToGCJ02(orb.Point{114.1234567, 22.5512345})
	for _, c := range []struct {
		name string
		req  Request
		want string
	}{
		{"all, by id", Request{Layer: layers.RiskPoints}, "[2 7]"},
		{"min_grade", Request{Layer: layers.RiskPoints, Filter: filter(map[string][]string{"min_grade": {"significant"}})}, "[7]"},
		{"status", Request{Layer: layers.RiskPoints, Filter: filter(map[string][]string{"status": {"open"}})}, "[2]"},
		{"warning", Request{Layer: layers.Slopes, Filter: filter(map[string][]string{"warning": {"orange,red"}})}, "[1]"},
		{"open", Request{Layer: layers.Resources, Filter: filter(map[string][]string{"open": {"false"}})}, "[10]"},
		{"min_capacity", Request{Layer: layers.Resources, Filter: filter(map[string][]string{"min_capacity": {"1000"}})}, "[9]"},
		{"grade on a layer without grades", Request{Layer: layers.Resources, Filter: filter(map[string][]string{"grade": {"major"}})}, "[]"},
		{"bbox", Request{Layer: layers.RiskPoints, BBox: box(114.1, 22.5, 114.15, 22.56)}, "[7]"},
		{"bbox touching a polygon's corner", Request{Layer: layers.Slopes, BBox: box(114.151, 22.561, 114.2, 22.6)}, "[1 2 3]"},
		{"bbox in WGS84 misses the GCJ-02 position", Request{Layer: layers.RiskPoints, BBox: box(gcj[0]-0.0005, gcj[1]-0.0005, gcj[0]+0.0005, gcj[1]+0.0005)}, "[]"},
		{"bbox in GCJ-02", Request{Layer: layers.RiskPoints, CRS: GCJ02, BBox: box(gcj[0]-0.0005, gcj[1]-0.0005, gcj[0]+0.0005, gcj[1]+0.0005)}, "[7]"},
		{"bbox and filter", Request{Layer: layers.Slopes, BBox: box(114, 22, 115, 23), Filter: filter(map[string][]string{"grade": {"low"}})}, "[3]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.Format = CSV
			if got := jsonOf(ids(c.req)); strings.ReplaceAll(got, ",", " ") != c.want && !(got == "null" && c.want == "[]") {
				t.Errorf("ids %s, want %s", got, c.want)
			}
		})
	}
	empty := write(t, ix, Request{Layer: layers.RiskPoints, Format: GeoJSON, BBox: box(0, 0, 1, 1)})
	if fc, err := geojson.UnmarshalFeatureCollection(empty); err != nil || len(fc.Features) != 0 {
		t.Errorf("empty GeoJSON export %q: %v", empty, err)
	}
	emptyCSV := write(t, ix, Request{Layer: layers.RiskPoints, Format: CSV, BBox: box(0, 0, 1, 1)})
	if want := "\uFEFF" + strings.Join(CSVHeader(mustLayer(t, reg, layers.RiskPoints)), ",") + "\r\n"; string(emptyCSV) != want {
		t.Errorf("empty CSV export %q, want %q", emptyCSV, want)
	}
}

func mustLayer(t *testing.T, reg *layers.Registry, name string) *layers.Layer {
	t.Helper()
	l, err := reg.Layer(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestPrepareErrors: an unknown layer, format or CRS is refused with a typed error.
func TestPrepareErrors(t *testing.T) {
	ix := fixture(t)
	var oe *OptionError
	if _, err := Prepare(ix, Request{Layer: "nope", Format: CSV}); !errors.Is(err, layers.ErrUnknownLayer) {
		t.Errorf("unknown layer: %v", err)
	}
	if _, err := Prepare(ix, Request{Layer: layers.Slopes, Format: "xlsx"}); !errors.As(err, &oe) || oe.Option != "format" {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := Prepare(ix, Request{Layer: layers.Slopes, Format: CSV, CRS: "bd09"}); !errors.As(err, &oe) || oe.Option != "crs" {
		t.Errorf("unknown crs: %v", err)
	}
	if _, err := Prepare(ix, Request{Layer: layers.Slopes}); !errors.Is(err, ErrNoFormat) {
		t.Errorf("no format: %v", err)
	}
}

// TestCancel: a context that has ended stops every format with its error.
func TestCancel(t *testing.T) {
	ix := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, f := range Formats() {
		e, err := Prepare(ix, Request{Layer: layers.RiskPoints, Format: f, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := e.WriteTo(ctx, &b); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", f, err)
		}
		if f == GPKG && b.Len() != 0 {
			t.Errorf("gpkg: %d bytes written before the error", b.Len())
		}
	}
}

// TestParseBBox: well-formed boxes and the reasons for refusing the others.
func TestParseBBox(t *testing.T) {
	for _, c := range []struct {
		in, err string
		want    orb.Bound
	}{
		{in: "114.0,22.5,114.2,22.6", want: orb.Bound{Min: orb.Point{114, 22.5}, Max: orb.Point{114.2, 22.6}}},
		{in: " 114 , 22.5 ,114.2, 22.6 ", want: orb.Bound{Min: orb.Point{114, 22.5}, Max: orb.Point{114.2, 22.6}}},
		{in: "114,22.5,114,22.5", want: orb.Bound{Min: orb.Point{114, 22.5}, Max: orb.Point{114, 22.5}}},
		{in: "-180,-90,180,90", want: orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}},
		{in: "", err: "is not four numbers"},
		{in: "114,22.5,114.2", err: "is not four numbers"},
		{in: "114,22.5,114.2,22.6,1", err: "is not four numbers"},
		{in: "114,22.5,east,22.6", err: `"east" is not a number`},
		{in: "114,NaN,114.2,22.6", err: "is not a number"},
		{in: "114,22.5,Inf,22.6", err: "is not a number"},
		{in: "181,22.5,182,22.6", err: "longitude 181 is outside"},
		{in: "114,-91,114.2,22.6", err: "latitude -91 is outside"},
		{in: "114.2,22.5,114,22.6", err: "minlon 114.2 is greater than maxlon 114"},
		{in: "114,22.6,114.2,22.5", err: "minlat 22.6 is greater than maxlat 22.5"},
	} {
		got, err := ParseBBox(c.in)
		var oe *OptionError
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
		case c.err != "" && (!errors.As(err, &oe) || oe.Option != "bbox" || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want a bbox error containing %q", c.in, err, c.err)
		}
	}
}

// FuzzParseBBox: any input is a box inside the world with min ≤ max, or a bbox
// *OptionError; never a panic.
func FuzzParseBBox(f *testing.F) {
	for _, s := range []string{"114,22.5,114.2,22.6", "", ",,,", "1e308,0,1e309,0", "-0,-0,0,0", "0x1p-2,0,1,1", "114,22.5,114.2,22.6,", "NaN,1,2,3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBBox(s)
		if err != nil {
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Option != "bbox" {
				t.Fatalf("%q: %v is not a bbox OptionError", s, err)
			}
			return
		}
		for _, v := range []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%q: %v", s, b)
			}
		}
		if b.Min[0] < -180 || b.Max[0] > 180 || b.Min[1] < -90 || b.Max[1] > 90 || b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1] {
			t.Fatalf("%q: %v", s, b)
		}
	})
}
