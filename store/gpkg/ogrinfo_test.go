package gpkg_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"riskmap/demo"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/gpkg"
)

// OGRInfoEnv names GDAL's ogrinfo for TestOGRInfo; `make test` sets it (scripts/gdal.sh).
const OGRInfoEnv = "RISKMAP_OGRINFO"

// ogrinfo runs GDAL's ogrinfo on the file with args and returns what it printed on
// stdout and stderr, failing t when it exits non-zero.
func ogrinfo(t *testing.T, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// Every message GDAL has, in English, and no configuration from the environment.
	cmd.Env = append(os.Environ(), "CPL_DEBUG=OFF", "LANG=C", "LC_ALL=C")
	if err := cmd.Run(); err != nil {
		t.Fatalf("ogrinfo %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// TestOGRInfo: GDAL opens the file the store writes — a migrated file seeded with the
// demo dataset (features, sensors, reading history) — as a GeoPackage and lists every
// layer of the registry with the demo counts, its geometry type and EPSG:4326, and
// the attribute tables, without an error or a warning.
func TestOGRInfo(t *testing.T) {
	bin := os.Getenv(OGRInfoEnv)
	if bin == "" {
		t.Skipf("%s is not set: skipping the test that opens the GeoPackage with GDAL's ogrinfo (run `make test`, which installs gdal-bin and sets it)", OGRInfoEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	reg := layers.New()
	path := filepath.Join(t.TempDir(), "riskmap.gpkg")
	s, err := gpkg.Open(ctx, path, reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx, nil); err != nil {
		s.Close()
		t.Fatal(err)
	}
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, s, reg, ds, demo.SeedOptions{}); err != nil {
		s.Close()
		t.Fatal(err)
	}
	// A sensor state written back, as the ingest service does: the rows it
	// touches must stay what GDAL accepts too.
	spot := ds.Features[layers.WaterloggingSpots][0]
	if _, err := s.ApplySensorState(ctx, []store.FieldPatch{{Layer: layers.WaterloggingSpots, FeatureID: spot.ID,
		Fields: []string{"current_depth_cm", "trend", "sensor_status"}, Values: []any{42.0, "rising", "live"}}}, nil); err != nil {
		s.Close()
		t.Fatal(err)
	}
	s.Close()

	// The short listing: one line per layer, "N: name (Geometry Type)".
	list, stderr := ogrinfo(t, bin, "-ro", path)
	checkQuiet(t, "ogrinfo", stderr, list)
	if !strings.Contains(list, "using driver `GPKG' successful") {
		t.Fatalf("ogrinfo did not open the file as a GeoPackage:\n%s", list)
	}
	for _, l := range reg.Layers() {
		if !regexp.MustCompile(`(?m)^\d+: ` + regexp.QuoteMeta(l.Name) + `( \(\w+\))?$`).MatchString(list) {
			t.Errorf("ogrinfo does not list layer %s:\n%s", l.Name, list)
		}
	}
	// Besides the layers, the attribute tables registered in gpkg_contents, without
	// geometry, and nothing else (not readings, which GDAL cannot read, nor the
	// store's bookkeeping).
	attributes := map[string]int{"sensors": len(ds.Sensors), "risk_point_status_history": len(ds.Features[layers.RiskPoints])}
	listed := regexp.MustCompile(`(?m)^\d+: (\w+)(.*)$`).FindAllStringSubmatch(list, -1)
	for _, m := range listed {
		if _, err := reg.Layer(m[1]); err != nil && (m[2] != " (None)" || attributes[m[1]] == 0) {
			t.Errorf("ogrinfo lists %s%s, neither a layer of the registry nor an attribute table", m[1], m[2])
		}
	}
	if len(listed) != len(reg.Layers())+len(attributes) {
		t.Errorf("ogrinfo lists %d tables, want the %d layers and %d attribute tables:\n%s", len(listed), len(reg.Layers()), len(attributes), list)
	}
	for table, want := range attributes {
		out, stderr := ogrinfo(t, bin, "-ro", "-so", path, table)
		checkQuiet(t, "ogrinfo -so "+table, stderr, out)
		if !strings.Contains(out, fmt.Sprintf("\nFeature Count: %d\n", want)) || !strings.Contains(out, "\nGeometry: None\n") {
			t.Errorf("%s: want Feature Count: %d and no geometry:\n%s", table, want, out)
		}
	}

	// The summary of each layer.
	for _, l := range reg.Layers() {
		t.Run(l.Name, func(t *testing.T) {
			out, stderr := ogrinfo(t, bin, "-ro", "-so", path, l.Name)
			checkQuiet(t, "ogrinfo -so", stderr, out)
			want := len(ds.Features[l.Name])
			m := regexp.MustCompile(`(?m)^Feature Count: (\d+)$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no Feature Count:\n%s", out)
			}
			if n, _ := strconv.Atoi(m[1]); n != want {
				t.Errorf("Feature Count: %d, the demo dataset has %d", n, want)
			}
			geom := regexp.MustCompile(`(?m)^Geometry: (.+)$`).FindStringSubmatch(out)
			wantGeom := "Unknown (any)" // a layer of several geometry types: GEOMETRY
			if len(l.Geometry) == 1 {
				wantGeom = map[layers.GeometryType]string{layers.Point: "Point", layers.LineString: "Line String", layers.Polygon: "Polygon"}[l.Geometry[0]]
			}
			if geom == nil || geom[1] != wantGeom {
				t.Errorf("Geometry: %v, want %s:\n%s", geom, wantGeom, out)
			}
			if !strings.Contains(out, `ID["EPSG",4326]`) && !strings.Contains(out, `AUTHORITY["EPSG","4326"]`) {
				t.Errorf("the layer's SRS is not EPSG:4326:\n%s", out)
			}
			if !strings.Contains(out, "\nFID Column = id\n") || !strings.Contains(out, "\nGeometry Column NOT NULL = geom\n") {
				t.Errorf("FID or geometry column not found:\n%s", out)
			}
			// Every registry field is a column GDAL reads, with the field's type.
			ogrType := map[layers.FieldType]string{layers.TypeText: "String", layers.TypeEnum: "String",
				layers.TypeInt: "Integer64", layers.TypeFloat: "Real", layers.TypeBool: "Integer(Boolean)", layers.TypeDate: "Date"}
			for _, f := range l.Fields {
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(f.Name) + `: ` + regexp.QuoteMeta(ogrType[f.Type]) + ` `).MatchString(out) {
					t.Errorf("field %s is not listed as %s:\n%s", f.Name, ogrType[f.Type], out)
				}
			}
			// The extent is the demo data's, in the district.
			ext := regexp.MustCompile(`(?m)^Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)$`).FindStringSubmatch(out)
			if ext == nil {
				t.Fatalf("no Extent:\n%s", out)
			}
			var e [4]float64
			for i := range e {
				e[i], _ = strconv.ParseFloat(ext[i+1], 64)
			}
			if e[0] < 113.9 || e[2] > 114.3 || e[1] < 22.4 || e[3] > 22.7 || e[0] >= e[2] || e[1] >= e[3] {
				t.Errorf("extent %v is not around Luohu", e)
			}
		})
	}

	// Read every feature (geometries decoded by GDAL) and every row of the attribute
	// tables: no complaint about any of them.
	all, stderr := ogrinfo(t, bin, "-ro", "-al", "-q", path)
	checkQuiet(t, "ogrinfo -al", stderr, "")
	for _, l := range reg.Layers() {
		if n := strings.Count(all, "\nOGRFeature("+l.Name+"):"); n != len(ds.Features[l.Name]) {
			t.Errorf("ogrinfo -al read %d features of %s, want %d", n, l.Name, len(ds.Features[l.Name]))
		}
	}

	// GDAL's GeoPackage validator (python3-gdal), stricter than ogrinfo: the
	// definitions of the gpkg_* tables to the letter, every geometry blob's header.
	python, validator := findValidator()
	if validator == "" {
		t.Log("GDAL's validate_gpkg.py (Debian python3-gdal, which scripts/gdal.sh installs) not found: the file was not validated with it")
		return
	}
	ctx2, cancel2 := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel2()
	out, err := exec.CommandContext(ctx2, python, validator, "-k", "--extra", "--warning-as-error", path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("validate_gpkg.py: %v\n%s", err, out)
	}
}

// findValidator returns a Python with GDAL's bindings and the path of GDAL's
// validate_gpkg.py, "" when there is none: Debian's python3-gdal installs them for
// /usr/bin/python3, which need not be the python3 first on the PATH.
func findValidator() (python, script string) {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		out, err := exec.Command(py, "-c", "import osgeo_utils.samples.validate_gpkg as m; print(m.__file__)").Output()
		if err == nil {
			return py, strings.TrimSpace(string(out))
		}
	}
	return "", ""
}

// checkQuiet fails t when ogrinfo said anything on stderr, or printed an ERROR or
// Warning line among its output.
func checkQuiet(t *testing.T, what, stderr, stdout string) {
	t.Helper()
	if s := strings.TrimSpace(stderr); s != "" {
		t.Errorf("%s printed on stderr:\n%s", what, s)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "ERROR") || strings.HasPrefix(line, "Warning") {
			t.Errorf("%s: %s", what, line)
		}
	}
}
