package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"riskmap/demo"
	"riskmap/geo"
	"riskmap/internal/pgtest"
	"riskmap/internal/shareddata"
	"riskmap/layers"
)

// importStores runs f on a migrated PostGIS database and a migrated GeoPackage
// file, or only on the stores named in only; store is the flags choosing it.
func importStores(t *testing.T, only string, f func(t *testing.T, store []string)) {
	if only != "gpkg" {
		t.Run("postgis", func(t *testing.T) {
			url := pgtest.NewDatabase(t)
			st := []string{"--database-url", url}
			if code, _, errOut := runCLI(t, append([]string{"migrate"}, st...)...); code != 0 {
				t.Fatalf("migrate: %s", errOut)
			}
			f(t, st)
		})
	}
	if only == "postgis" {
		return
	}
	t.Run("gpkg", func(t *testing.T) {
		t.Setenv("RISKMAP_DATABASE_URL", "")
		st := []string{"--gpkg", filepath.Join(t.TempDir(), "store.gpkg")}
		if code, _, errOut := runCLI(t, append([]string{"migrate"}, st...)...); code != 0 {
			t.Fatalf("migrate: %s", errOut)
		}
		f(t, st)
	})
}

// importCLI runs riskmap import with the store flags and args.
func importCLI(t *testing.T, store []string, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append(append([]string{"import"}, store...), args...)...)
}

// exported reads a layer back through riskmap export, by external_id.
func exported(t *testing.T, store []string, layer string) map[string]*geojson.Feature {
	t.Helper()
	out := filepath.Join(t.TempDir(), layer+".geojson")
	if code, _, errOut := runCLI(t, append(append([]string{"export"}, store...), "--layer", layer, "-o", out)...); code != 0 {
		t.Fatalf("export %s: %s", layer, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*geojson.Feature{}
	for _, f := range fc.Features {
		m[f.Properties.MustString("external_id")] = f
	}
	return m
}

func wantOut(t *testing.T, out string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(out, p) {
			t.Errorf("output lacks %q:\n%s", p, out)
		}
	}
}

// The real census files and the flags they import with (docs/import.md).
var (
	waterloggingArgs = []string{"--layer", "waterlogging_spots", "--map", "external_id=id,name=location,warning_depth_cm=severe_depth_cm_min", "--set", "kind=low_road"}
	sheltersArgs     = []string{"--layer", "resources", "--set", "kind=shelter", "--map", "capacity=capacity_people"}
	slopesArgs       = []string{"--layer", "slopes", "--map", "risk_grade=hazard_grade,kind=slope_class,height_m=slope_height_m,length_m=slope_length_m,angle_deg=slope_angle_deg",
		"--value", "kind:可能引发地质灾害的建筑边坡=building_slope", "--value", "kind:自然斜坡=natural_slope"}
	hazardousArgs = []string{"--layer", "risk_points", "--map", "name=organization,responsible_dept=competent_unit", "--set", "category=hazardous_chemicals", "--set", "risk_grade=major"}
)

// The real files go into PostGIS and into a GeoPackage in two tests (the GeoPackage
// store, pure Go SQLite, is slow under -race).
func TestImportRealFilesPostGIS(t *testing.T) {
	importStores(t, "postgis", importRealFiles)
}

func TestImportRealFilesGPKG(t *testing.T) {
	importStores(t, "gpkg", importRealFiles)
}

func importRealFiles(t *testing.T, st []string) {
	water := shareddata.Path(t, "shenzhen_waterlogging_points_2019_wgs84.geojson")
	shelters := shareddata.Path(t, "shenzhen_shelters_located_wgs84.geojson")
	slopes := shareddata.Path(t, "shenzhen_geohazard_slopes_wgs84.geojson")
	hazardous := shareddata.Path(t, "shenzhen_hazardous_sites_wgs84.geojson")
	{
		dir := t.TempDir()

		code, out, errOut := importCLI(t, st, append(waterloggingArgs, water)...)
		if code != 0 {
			t.Fatalf("waterlogging: %d %s %s", code, out, errOut)
		}
		wantOut(t, out, "206 rows", "inserted 206, updated 0, unchanged 0, rejected 0", "ignored columns: district, street, geocode_method")
		// A re-import changes nothing and duplicates nothing.
		code, out, _ = importCLI(t, st, append(waterloggingArgs, water)...)
		if code != 0 {
			t.Fatal(out)
		}
		wantOut(t, out, "inserted 0, updated 0, unchanged 206")
		spots := exported(t, st, "waterlogging_spots")
		if len(spots) != 206 || spots["1"].Properties["name"] != "石厦碉楼巷" || spots["1"].Properties["warning_depth_cm"] != 40.0 || spots["1"].Properties["warning_level"] != "none" {
			t.Errorf("%d spots; spot 1: %v", len(spots), spots["1"].Properties)
		}
		nulls := 0
		for _, f := range spots {
			if f.Properties["warning_depth_cm"] == nil {
				nulls++
			}
		}
		if nulls != 148 {
			t.Errorf("%d spots without warning depth, want 148 (empty → null)", nulls)
		}

		code, out, errOut = importCLI(t, st, append(sheltersArgs, shelters)...)
		if code != 0 {
			t.Fatalf("shelters: %s %s", out, errOut)
		}
		wantOut(t, out, "inserted 114, updated 0, unchanged 0, rejected 0", "capacity ← capacity_people", "kind = shelter")
		res := exported(t, st, "resources")
		// "300" and "300-1000" (its upper bound).
		if res["298"].Properties["capacity"] != 300.0 || res["298"].Properties["kind"] != "shelter" || res["298"].Properties["open"] != true {
			t.Errorf("shelter 298: %v", res["298"].Properties)
		}
		ranged := 0
		for _, f := range res {
			if f.Properties["capacity"] == 1000.0 {
				ranged++
			}
		}
		if ranged != 21+17 {
			t.Errorf("%d shelters of capacity 1000, want 38 (21 \"1000\", 17 \"300-1000\")", ranged)
		}

		// All or nothing: the slope whose angle reads "100~150" stops the import.
		slopesCopy := filepath.Join(dir, "slopes.geojson")
		copyFile(t, slopes, slopesCopy)
		code, out, errOut = importCLI(t, st, append(slopesArgs, slopesCopy)...)
		if code != 1 {
			t.Fatalf("slopes without --skip-invalid: exit %d, want 1\n%s", code, out)
		}
		wantOut(t, out, "bad rows: 1", `line 40: angle_deg = "100~150": 150 is above the maximum 90 deg`)
		wantOut(t, errOut, "nothing imported", "--skip-invalid")
		if n := len(exported(t, st, "slopes")); n != 0 {
			t.Fatalf("%d slopes stored after a refused import, want 0", n)
		}
		if _, err := os.Stat(slopesCopy + ".rejects.csv"); err == nil {
			t.Error("a reject file was written without --skip-invalid")
		}
		code, out, _ = importCLI(t, st, append(slopesArgs, "--skip-invalid", slopesCopy)...)
		if code != 0 {
			t.Fatal(out)
		}
		wantOut(t, out, "inserted 105, updated 0, unchanged 0, rejected 1", "written to "+slopesCopy+".rejects.csv")
		rej := readCSV(t, slopesCopy+".rejects.csv")
		if len(rej) != 2 || rej[1][0] != "40" || rej[1][1] != "angle_deg" || rej[1][2] != "100~150" || rej[0][len(rej[0])-1] != "wkt" {
			t.Errorf("reject file: %q", rej)
		}
		sl := exported(t, st, "slopes")
		if p := sl["2"].Properties; p["height_m"] != 12.0 || p["angle_deg"] != 70.0 || p["risk_grade"] != "general" || p["kind"] != "building_slope" {
			t.Errorf("slope 2 (height \"8~12\", angle \"50~70\"): %v", p)
		}

		code, out, errOut = importCLI(t, st, append(hazardousArgs, hazardous)...)
		if code != 0 {
			t.Fatalf("hazardous sites: %s %s", out, errOut)
		}
		wantOut(t, out, "inserted 683, updated 0, unchanged 0, rejected 0")
		rp := exported(t, st, "risk_points")
		if p := rp["2"].Properties; p["name"] != "深圳市空港油料有限公司油库" || p["responsible_dept"] != "市气象局" || p["address"] != nil || p["hazard_status"] != "open" {
			t.Errorf("risk point 2: %v", p)
		}
		if g := rp["2"].Geometry.(orb.Point); g != (orb.Point{113.79583, 22.65808}) {
			t.Errorf("risk point 2 at %v", g)
		}
	}
}

// TestImportCSVPostGIS and TestImportCSVGPKG: CSVs made from the real files — Chinese headers and grade words,
// lon/lat and WKT, GCJ-02 and BD-09 — and a row only the store can refuse.
func TestImportCSVPostGIS(t *testing.T) { importStores(t, "postgis", importCSVs) }

func TestImportCSVGPKG(t *testing.T) { importStores(t, "gpkg", importCSVs) }

func importCSVs(t *testing.T, st []string) {
	hazardous := shareddata.Path(t, "shenzhen_hazardous_sites_wgs84.geojson")
	stations := shareddata.Path(t, "shenzhen_fuel_gas_stations_wgs84.geojson")
	{
		dir := t.TempDir()
		fc := readGeoJSON(t, hazardous)
		words := []string{"重大", "较大", "一般", "低", "红", "橙色", "黄", "蓝", "I", "Ⅱ", "3", "IV"}
		want := []string{"major", "significant", "general", "low", "major", "significant", "general", "low", "major", "significant", "general", "low"}
		rows := [][]string{{"普查编号", "名称", "风险类别", "风险等级", "地址", "经度", "纬度", "备注"}}
		for i, f := range fc.Features[:120] {
			p := f.Geometry.(orb.Point)
			rows = append(rows, []string{"HZ-" + f.Properties.MustString("src_id"), f.Properties.MustString("organization", ""), "危险化学品",
				words[i%len(words)], "", fmt.Sprint(p[0]), fmt.Sprint(p[1]), f.Properties.MustString("site_type", "")})
		}
		lonlat := writeCSV(t, dir, "hazardous.csv", rows)
		code, out, errOut := importCLI(t, st, "--layer", "risk_points", lonlat)
		if code != 0 {
			t.Fatalf("%s %s", out, errOut)
		}
		wantOut(t, out, "inserted 120, updated 0", "ignored columns: 备注", "external_id ← 普查编号", "geometry ← 经度, 纬度")
		rp := exported(t, st, "risk_points")
		for i, f := range fc.Features[:120] {
			p := rp["HZ-"+f.Properties.MustString("src_id")].Properties
			if p["risk_grade"] != want[i%len(want)] || p["category"] != "hazardous_chemicals" {
				t.Fatalf("row %d (%s): %v", i+2, words[i%len(words)], p)
			}
		}

		// The same rows as WKT: two names changed → 2 updated, 118 unchanged.
		rows[0][5], rows[0][6] = "WKT", ""
		for i := 1; i < len(rows); i++ {
			rows[i][5], rows[i][6] = fmt.Sprintf("POINT (%s %s)", rows[i][5], rows[i][6]), ""
		}
		rows[3][1] += "（更名）"
		rows[7][1] += "（更名）"
		code, out, errOut = importCLI(t, st, "--layer", "risk_points", writeCSV(t, dir, "hazardous-wkt.csv", rows))
		if code != 0 {
			t.Fatalf("%s %s", out, errOut)
		}
		wantOut(t, out, "inserted 0, updated 2, unchanged 118", "geometry ← WKT")

		// All or nothing on a filled layer: renames plus one bad grade change nothing.
		renamed := rows[2][1]
		rows[2][1] += "（再更名）"
		rows[9][3] = "特大"
		code, out, _ = importCLI(t, st, "--layer", "risk_points", writeCSV(t, dir, "hazardous-bad.csv", rows))
		if code != 1 {
			t.Fatalf("a bad grade: exit %d\n%s", code, out)
		}
		wantOut(t, out, `line 10: risk_grade = "特大": is not one of`)
		if got := exported(t, st, "risk_points")[rows[2][0]].Properties["name"]; got != renamed {
			t.Errorf("after a refused import %s is named %v, want %v unchanged", rows[2][0], got, renamed)
		}

		// GCJ-02 and BD-09: the fuel stations' raw Baidu coordinates land within
		// 1 m of the file's WGS84.
		sfc := readGeoJSON(t, stations)
		for _, crs := range []string{"bd09", "gcj02"} {
			rows := [][]string{{"external_id", "name", "category", "risk_grade", "lng", "lat"}}
			truth := map[string]orb.Point{}
			for _, f := range sfc.Features {
				id := crs + "-" + f.Properties.MustString("src_id")
				if _, dup := truth[id]; dup {
					continue // the file lists most stations twice
				}
				truth[id] = f.Geometry.(orb.Point)
				p := orb.Point{f.Properties.MustFloat64("src_lng"), f.Properties.MustFloat64("src_lat")}
				if crs == "gcj02" {
					p = geo.BD09ToGCJ02(p)
				}
				rows = append(rows, []string{id, f.Properties.MustString("name", ""), "gas", "一般", fmt.Sprintf("%.9f", p[0]), fmt.Sprintf("%.9f", p[1])})
			}
			code, out, errOut := importCLI(t, st, "--layer", "risk_points", "--crs", crs, writeCSV(t, dir, crs+".csv", rows))
			if code != 0 {
				t.Fatalf("%s: %s %s", crs, out, errOut)
			}
			wantOut(t, out, fmt.Sprintf("inserted %d,", len(truth)))
			got := exported(t, st, "risk_points")
			var worst float64
			for id, p := range truth {
				worst = math.Max(worst, geo.Distance(got[id].Geometry.(orb.Point), p))
			}
			if worst > 1 {
				t.Errorf("%s: worst %.3f m from the WGS84 truth, want ≤ 1 m", crs, worst)
			}
		}

		// A bow-tie polygon passes the importer's checks but not the store's
		// (ST_IsValid): the import stops naming its line, the store is unchanged;
		// with --skip-invalid it goes to the reject file.
		slopes := [][]string{{"编号", "名称", "边坡类型", "风险等级", "坡高", "wkt"},
			{"SL-1", "东湖边坡", "自然边坡", "较大", "8~12", "POLYGON ((114.10 22.55, 114.11 22.55, 114.11 22.56, 114.10 22.56, 114.10 22.55))"},
			{"SL-2", "蝴蝶边坡", "建筑边坡", "一般", "约15米", "POLYGON ((114.12 22.55, 114.13 22.56, 114.13 22.55, 114.12 22.56, 114.12 22.55))"},
			{"SL-3", "莲塘边坡", "building_slope", "Ⅳ", "", "POINT (114.14 22.57)"}}
		file := writeCSV(t, dir, "slopes.csv", slopes)
		code, out, errOut = importCLI(t, st, "--layer", "slopes", file)
		if code != 1 {
			t.Fatalf("a bow-tie slope: exit %d\n%s%s", code, out, errOut)
		}
		wantOut(t, out, "bad rows: 1", "line 3: geometry")
		if n := len(exported(t, st, "slopes")); n != 0 {
			t.Fatalf("%d slopes stored after a refused import", n)
		}
		rejects := filepath.Join(dir, "my-rejects.csv")
		code, out, errOut = importCLI(t, st, "--layer", "slopes", "--skip-invalid", "--rejects", rejects, file)
		if code != 0 {
			t.Fatalf("%s %s", out, errOut)
		}
		wantOut(t, out, "inserted 2, updated 0, unchanged 0, rejected 1")
		if rej := readCSV(t, rejects); len(rej) != 2 || rej[1][0] != "3" || rej[1][1] != "geometry" || rej[1][4] != "SL-2" || !strings.Contains(rej[1][3], "elf-intersection") {
			t.Errorf("rejects: %q", rej)
		}
		sl := exported(t, st, "slopes")
		if p := sl["SL-1"].Properties; p["height_m"] != 12.0 || p["risk_grade"] != "significant" || p["kind"] != "natural_slope" {
			t.Errorf("SL-1: %v", p)
		}
		if p := sl["SL-3"].Properties; p["risk_grade"] != "low" || p["height_m"] != nil {
			t.Errorf("SL-3: %v", p)
		}
	}
}

// TestImportExportRoundTrip: what riskmap export writes — CSV, GeoJSON, GeoPackage —
// imports again unchanged (its id, version, updated_at and layer columns are
// ignored silently).
func TestImportExportRoundTrip(t *testing.T) {
	hazardous := shareddata.Path(t, "shenzhen_hazardous_sites_wgs84.geojson")
	t.Setenv("RISKMAP_DATABASE_URL", "")
	dir := t.TempDir()
	a := []string{"--gpkg", filepath.Join(dir, "a.gpkg")}
	b := []string{"--gpkg", filepath.Join(dir, "b.gpkg")}
	for _, st := range [][]string{a, b} {
		if code, _, errOut := runCLI(t, append([]string{"migrate"}, st...)...); code != 0 {
			t.Fatal(errOut)
		}
	}
	if code, out, errOut := importCLI(t, a, append(hazardousArgs, hazardous)...); code != 0 {
		t.Fatal(out, errOut)
	}
	for i, format := range []string{"csv", "geojson", "gpkg"} {
		file := filepath.Join(dir, "risk_points."+format)
		if code, _, errOut := runCLI(t, append(append([]string{"export"}, a...), "--layer", "risk_points", "--format", format, "-o", file)...); code != 0 {
			t.Fatal(errOut)
		}
		code, out, errOut := importCLI(t, b, "--layer", "risk_points", file)
		if code != 0 {
			t.Fatalf("%s: %s %s", format, out, errOut)
		}
		if i == 0 {
			wantOut(t, out, "inserted 683, updated 0, unchanged 0")
		} else {
			wantOut(t, out, "inserted 0, updated 0, unchanged 683")
		}
		if strings.Contains(out, "ignored columns") {
			t.Errorf("%s: an export's columns were reported ignored:\n%s", format, out)
		}
	}
	// A GCJ-02 GeoPackage declares its system: read back to WGS84 without --crs.
	c := []string{"--gpkg", filepath.Join(dir, "c.gpkg")}
	if code, _, errOut := runCLI(t, append([]string{"migrate"}, c...)...); code != 0 {
		t.Fatal(errOut)
	}
	gcj := filepath.Join(dir, "risk_points-gcj02.gpkg")
	if code, _, errOut := runCLI(t, append(append([]string{"export"}, a...), "--layer", "risk_points", "--format", "gpkg", "--crs", "gcj02", "-o", gcj)...); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := importCLI(t, c, "--layer", "risk_points", "--crs", "wgs84", gcj); code != 1 || !strings.Contains(errOut, "declares its coordinates gcj02") {
		t.Errorf("a GCJ-02 GeoPackage with --crs wgs84: exit %d, %s", code, errOut)
	}
	code, out, errOut := importCLI(t, c, "--layer", "risk_points", gcj)
	if code != 0 {
		t.Fatal(out, errOut)
	}
	wantOut(t, out, "declares its coordinates gcj02: converted to WGS84", "inserted 683,")
	ea, ec := exported(t, a, "risk_points"), exported(t, c, "risk_points")
	for id, f := range ea {
		p, q := f.Geometry.(orb.Point), ec[id].Geometry.(orb.Point)
		if math.Abs(p[0]-q[0]) > 1e-7 || math.Abs(p[1]-q[1]) > 1e-7 {
			t.Fatalf("%s: %v through a GCJ-02 GeoPackage came back at %v", id, p, q)
		}
	}

	eb := exported(t, b, "risk_points")
	for id, f := range ea {
		g := eb[id]
		if g == nil || !orb.Equal(f.Geometry, g.Geometry) {
			t.Fatalf("%s: %v, %v", id, f, g)
		}
		for k, v := range f.Properties {
			if k == "id" || k == "version" || k == "updated_at" {
				continue
			}
			if fmt.Sprint(g.Properties[k]) != fmt.Sprint(v) {
				t.Fatalf("%s %s: %v, want %v", id, k, g.Properties[k], v)
			}
		}
	}
}

func TestImportUsage(t *testing.T) {
	t.Setenv("RISKMAP_DATABASE_URL", "")
	dir := t.TempDir()
	file := writeCSV(t, dir, "x.csv", [][]string{{"name", "lon", "lat"}, {"a", "114", "22"}})
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--help"}, 0, "Usage: riskmap import"},
		{[]string{"--layer", "risk_points"}, 2, "exactly one FILE"},
		{[]string{"--layer", "nope", file}, 2, "unknown layer"},
		{[]string{"--layer", "risk_points", "--crs", "utm", file}, 2, "unknown coordinate system"},
		{[]string{"--layer", "risk_points", "--map", "nope=x", file}, 2, "not a field of layer risk_points"},
		{[]string{"--layer", "risk_points", "--value", "grade", file}, 2, "--value"},
		{[]string{"--layer", "risk_points", "--gpkg", filepath.Join(dir, "none.gpkg"), file}, 1, "riskmap migrate"},
		{[]string{"--layer", "risk_points", "--dry-run", file}, 1, "external_id: is empty"},
		{[]string{"--layer", "risk_points", "--dry-run", filepath.Join(dir, "missing.csv")}, 1, "missing.csv"},
	} {
		code, out, errOut := runCLI(t, append([]string{"import"}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errOut, tc.msg) {
			t.Errorf("%v: exit %d, want %d with %q\n%s%s", tc.args, code, tc.code, tc.msg, out, errOut)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeCSV(t *testing.T, dir, name string, rows [][]string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func readGeoJSON(t *testing.T, path string) *geojson.FeatureCollection {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fc geojson.FeatureCollection
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	return &fc
}

// BenchmarkImport35548 imports the demo's 35,548 risk points from a GeoJSON file into
// PostGIS through the whole path — riskmap import, in process: read, map, validate,
// store.Import (one transaction, upsert by external_id) — into an empty layer, and in
// the same run the peer: GDAL's ogr2ogr -f PostgreSQL of the same file into a plain
// table (COPY, a GiST index, no validation, no upsert). Reported per import:
// riskmap_s, of which read_map_s reading and mapping the file, ogr2ogr_s and the
// ratio riskmap_s / ogr2ogr_s.
//
//	RISKMAP_TEST_DATABASE_URL=... RISKMAP_OGRINFO=/usr/bin/ogrinfo go test -run ^$ -bench Import35548 -benchtime 3x ./cmd/riskmap
func BenchmarkImport35548(b *testing.B) {
	info := os.Getenv("RISKMAP_OGRINFO")
	if info == "" {
		b.Skip("RISKMAP_OGRINFO is not set: the peer is GDAL's ogr2ogr")
	}
	url := pgtest.NewDatabase(b)
	ctx := context.Background()
	if code := run(ctx, []string{"migrate", "--database-url", url}, io.Discard, io.Discard); code != 0 {
		b.Fatal("migrate failed")
	}
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		b.Fatal(err)
	}
	fc := geojson.NewFeatureCollection()
	for _, f := range ds.Features[layers.RiskPoints] {
		g := geojson.NewFeature(f.Geometry)
		g.Properties = f.Props
		fc.Append(g)
	}
	n := len(fc.Features)
	if n != 35548 {
		b.Fatalf("%d demo risk points, want 35,548", n)
	}
	data, err := json.Marshal(fc)
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "risk_points.geojson")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	ogr := filepath.Join(filepath.Dir(info), "ogr2ogr")
	pg, err := pgKeywords(url)
	if err != nil {
		b.Fatal(err)
	}
	var ours, peer, readMap time.Duration
	b.ResetTimer()
	for range b.N {
		if _, err := conn.Exec(ctx, "DELETE FROM risk_points"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		var out, errOut strings.Builder
		if code := run(ctx, []string{"import", "--database-url", url, "--layer", "risk_points", file}, &out, &errOut); code != 0 {
			b.Fatalf("import: %s %s", out.String(), errOut.String())
		}
		ours += time.Since(start)
		if !strings.Contains(out.String(), fmt.Sprintf("inserted %d,", n)) {
			b.Fatalf("import: %s", out.String())
		}
		// The command reports its reading and mapping time: "read FILE (geojson): N rows in 1.2s".
		_, after, _ := strings.Cut(out.String(), " rows in ")
		d, err := time.ParseDuration(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]))
		if err != nil {
			b.Fatalf("no read time in %q: %v", out.String(), err)
		}
		readMap += d
		if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS ogr_risk_points"); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		cmd := exec.CommandContext(ctx, ogr, "-f", "PostgreSQL", "PG:"+pg, file, "-nln", "ogr_risk_points")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ogr2ogr: %v\n%s", err, msg)
		}
		peer += time.Since(start)
		var got int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM ogr_risk_points").Scan(&got); err != nil || got != n {
			b.Fatalf("ogr2ogr loaded %d rows (%v), want %d", got, err, n)
		}
	}
	b.ReportMetric(ours.Seconds()/float64(b.N), "riskmap_s")
	b.ReportMetric(peer.Seconds()/float64(b.N), "ogr2ogr_s")
	b.ReportMetric(readMap.Seconds()/float64(b.N), "read_map_s")
	b.ReportMetric(ours.Seconds()/peer.Seconds(), "ratio")
}

// pgKeywords turns a postgres:// URL into the keyword=value form GDAL's PG: takes.
func pgKeywords(raw string) (string, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", err
	}
	kw := []string{"host=" + u.Hostname(), "dbname=" + strings.TrimPrefix(u.Path, "/")}
	if p := u.Port(); p != "" {
		kw = append(kw, "port="+p)
	}
	if u.User != nil {
		kw = append(kw, "user="+u.User.Username())
		if pw, ok := u.User.Password(); ok {
			kw = append(kw, "password="+pw)
		}
	}
	return strings.Join(kw, " "), nil
}

func TestImportProgressPlain(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, 35548)
	for done := 0; done <= 35548; done += 500 {
		p.update(done)
	}
	p.update(35548)
	p.done()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 11 || !strings.HasPrefix(lines[10], "import: 35548 of 35548 rows (100%") || strings.Contains(b.String(), "\r") {
		t.Errorf("plain progress (not a terminal): %q", lines)
	}
}
