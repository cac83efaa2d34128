package importer

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestReadCSV(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("名称,经度,纬度\n东门,114.1,22.5\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		in       string
		cols     []string
		lines    []int
		firstVal string
		err      error
	}{
		{"plain", "name,lon,lat\na,1,2\nb,3,4\n", []string{"name", "lon", "lat"}, []int{2, 3}, "a", nil},
		{"bom and crlf", "\ufeffname,lon,lat\r\na,1,2\r\n", []string{"name", "lon", "lat"}, []int{2}, "a", nil},
		{"gbk", gbk, []string{"名称", "经度", "纬度"}, []int{2}, "东门", nil},
		{"tab", "name\tlon\tlat\na\t1\t2\n", []string{"name", "lon", "lat"}, []int{2}, "a", nil},
		{"quoted newline keeps line numbers", "name,lon,lat\n\"a\nb\",1,2\nc,3,4\n", []string{"name", "lon", "lat"}, []int{2, 4}, "a\nb", nil},
		{"blank lines skipped", "name,lon\n\na,1\n\n", []string{"name", "lon"}, []int{3}, "a", nil},
		{"utf16", "\xff\xfen\x00", nil, nil, "", ErrFormat},
		{"empty", "", nil, nil, "", ErrFormat},
		{"duplicate header", "a,a\n1,2\n", nil, nil, "", ErrFormat},
		{"long line", "a\n" + strings.Repeat("x", MaxLineBytes+1) + "\n", nil, nil, "", ErrTooLarge},
		{"many columns", strings.Repeat("c,", MaxColumns+1) + "c\n", nil, nil, "", ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := ReadCSV([]byte(tc.in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(tb.Columns, "|") != strings.Join(tc.cols, "|") {
				t.Errorf("columns %q, want %q", tb.Columns, tc.cols)
			}
			var lines []int
			for _, r := range tb.Rows {
				lines = append(lines, r.Line)
			}
			if len(lines) != len(tc.lines) || len(lines) > 0 && lines[0] != tc.lines[0] || len(lines) > 1 && lines[1] != tc.lines[1] {
				t.Errorf("lines %v, want %v", lines, tc.lines)
			}
			if tb.Rows[0].Values[0] != tc.firstVal {
				t.Errorf("first value %q, want %q", tb.Rows[0].Values[0], tc.firstVal)
			}
		})
	}
}

func TestReadCSVExtraValues(t *testing.T) {
	tb, err := ReadCSV([]byte("name,lon,lat\na,1,2,,\nb,3,4,oops\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tb.Rows[0].Extra != 0 || tb.Rows[1].Extra != 1 {
		t.Fatalf("Extra = %d, %d; want 0 (empty padding), 1", tb.Rows[0].Extra, tb.Rows[1].Extra)
	}
}

func TestReadGeoJSON(t *testing.T) {
	tb, err := ReadGeoJSON([]byte(`{"type":"FeatureCollection","features":[
		{"type":"Feature","geometry":{"type":"Point","coordinates":[114.1,22.5]},"properties":{"b":1,"a":"x","n":{"k":[1,2]}}},
		{"type":"Feature","geometry":null,"properties":{"a":"y","c":true}},
		{"type":"Feature","geometry":{"type":"Point","coordinates":"bad"},"properties":null}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tb.Columns, ","); got != "b,a,n,c" {
		t.Errorf("columns %s, want b,a,n,c (first appearance)", got)
	}
	if len(tb.Rows) != 3 || tb.Rows[2].Line != 3 {
		t.Fatalf("rows %+v", tb.Rows)
	}
	if p, ok := tb.Rows[0].Geometry.(orb.Point); !ok || p != (orb.Point{114.1, 22.5}) {
		t.Errorf("geometry %v", tb.Rows[0].Geometry)
	}
	if tb.Rows[0].Values[2] != `{"k":[1,2]}` {
		t.Errorf("nested value %v, want its JSON text", tb.Rows[0].Values[2])
	}
	if tb.Rows[1].Geometry != nil || tb.Rows[1].GeometryErr != "" {
		t.Errorf("null geometry: %v %q", tb.Rows[1].Geometry, tb.Rows[1].GeometryErr)
	}
	if tb.Rows[2].GeometryErr == "" {
		t.Error("bad coordinates gave no GeometryErr")
	}
	for name, in := range map[string]string{
		"not json":        `{`,
		"not a FC":        `{"type":"Feature","geometry":null,"properties":{}}`,
		"projected crs":   `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},"features":[]}`,
		"feature type":    `{"type":"FeatureCollection","features":[{"type":"Point"}]}`,
		"deep properties": `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}]}`,
	} {
		if _, err := ReadGeoJSON([]byte(in)); !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: err = %v, want ErrFormat or ErrTooLarge", name, err)
		}
	}
	if _, err := ReadGeoJSON([]byte(`{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[]}`)); err != nil {
		t.Errorf("CRS84: %v", err)
	}
}

// ogr2ogr returns GDAL's ogr2ogr (beside RISKMAP_OGRINFO), skipping without it.
func ogr2ogr(t *testing.T) string {
	t.Helper()
	info := os.Getenv("RISKMAP_OGRINFO")
	if info == "" {
		t.Skip("RISKMAP_OGRINFO is not set: this test needs GDAL's ogr2ogr (make test sets it)")
	}
	return filepath.Join(filepath.Dir(info), "ogr2ogr")
}

// TestReadGeoPackage makes GeoPackages with GDAL from a small GeoJSON: in EPSG:4326,
// in EPSG:4490 (read as WGS84) and in Web Mercator (refused).
func TestReadGeoPackage(t *testing.T) {
	bin := ogr2ogr(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "in.geojson")
	if err := os.WriteFile(src, []byte(`{"type":"FeatureCollection","features":[
		{"type":"Feature","geometry":{"type":"Point","coordinates":[114.12,22.55]},"properties":{"name":"东门","capacity":"300-1000","n":7}},
		{"type":"Feature","geometry":{"type":"Point","coordinates":[114.13,22.56]},"properties":{"name":"翠竹","capacity":null,"n":8}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	gp := func(name string, args ...string) string {
		out := filepath.Join(dir, name)
		cmd := exec.Command(bin, append([]string{"-f", "GPKG", out, src, "-nln", "places"}, args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ogr2ogr: %v\n%s", err, b)
		}
		return out
	}
	for _, tc := range []struct {
		file string
	}{{gp("a.gpkg")}, {gp("b.gpkg", "-a_srs", "EPSG:4490")}} {
		tb, err := ReadGeoPackage(tc.file, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if tb.Name != "places" || strings.Join(tb.Columns, ",") != "name,capacity,n" || len(tb.Rows) != 2 {
			t.Fatalf("%s: table %s columns %v rows %d", tc.file, tb.Name, tb.Columns, len(tb.Rows))
		}
		if p := tb.Rows[1].Geometry.(orb.Point); p != (orb.Point{114.13, 22.56}) || tb.Rows[1].Line != 2 {
			t.Errorf("%s: row 2 at %v line %d", tc.file, p, tb.Rows[1].Line)
		}
		if tb.Rows[0].Values[0] != "东门" || tb.Rows[0].Values[2] != int64(7) || tb.Rows[1].Values[1] != nil {
			t.Errorf("%s: values %v %v", tc.file, tb.Rows[0].Values, tb.Rows[1].Values)
		}
	}
	if _, err := ReadGeoPackage(gp("c.gpkg", "-t_srs", "EPSG:3857"), ""); !errors.Is(err, ErrFormat) {
		t.Errorf("Web Mercator: err = %v, want ErrFormat", err)
	}
	if _, err := ReadGeoPackage(filepath.Join(dir, "a.gpkg"), "nope"); !errors.Is(err, ErrFormat) {
		t.Errorf("unknown table: err = %v, want ErrFormat", err)
	}
	if _, err := ReadGeoPackage(src, ""); !errors.Is(err, ErrFormat) {
		t.Errorf("a GeoJSON read as GeoPackage: err = %v, want ErrFormat", err)
	}
}
