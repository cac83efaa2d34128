package export

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/index"
	"riskmap/layers"
)

// OGRInfoEnv names GDAL's ogrinfo; `make test` sets it (scripts/gdal.sh).
const OGRInfoEnv = "RISKMAP_OGRINFO"

var (
	demoOnce  [2]sync.Once
	demoIxs   [2]*index.Index
	demoErrs  [2]error
	demoLimit = [2]int{3000, 0}
)

// demoIndex is the demo dataset in an index, built once per test binary: with
// full, all of it (35,548 risk points and the other layers), else every feature of
// the smaller layers and the first 3,000 risk points.
func demoIndex(t testing.TB, full bool) *index.Index {
	t.Helper()
	k := 0
	if full {
		k = 1
	}
	demoOnce[k].Do(func() {
		ds, err := demo.Generate(demo.DefaultDemoSeed)
		if err != nil {
			demoErrs[k] = err
			return
		}
		ix := index.New(layers.New())
		var ms []index.Mutation
		for _, fs := range ds.Features {
			if demoLimit[k] > 0 && len(fs) > demoLimit[k] {
				fs = fs[:demoLimit[k]]
			}
			for _, f := range fs {
				f.UpdatedAt = updated
				ms = append(ms, index.Mutation{Op: feature.Insert, Feature: f})
			}
		}
		_, demoErrs[k] = ix.Apply(ms...)
		demoIxs[k] = ix
	})
	if demoErrs[k] != nil {
		t.Fatal(demoErrs[k])
	}
	return demoIxs[k]
}

// ogrinfo runs GDAL's ogrinfo with args, in English and without configuration from
// the environment, and fails t when it exits non-zero or says anything on stderr or
// prints an ERROR or Warning line.
func ogrinfo(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = append(os.Environ(), "CPL_DEBUG=OFF", "LANG=C", "LC_ALL=C")
	if err := cmd.Run(); err != nil {
		t.Fatalf("ogrinfo %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	if s := strings.TrimSpace(errOut.String()); s != "" {
		t.Errorf("ogrinfo %s printed on stderr:\n%s", strings.Join(args, " "), s)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "ERROR") || strings.HasPrefix(line, "Warning") {
			t.Errorf("ogrinfo %s: %s", strings.Join(args, " "), line)
		}
	}
	return out.String()
}

// TestGDALOpensExports: GDAL opens the GeoJSON, CSV (lon/lat columns, or the WKT
// column) and GeoPackage exports of every layer of the demo dataset (3,000 of its
// risk points) without a
// warning, with the layer's feature count and every field; the GeoPackages (WGS84
// and GCJ-02) pass GDAL's validate_gpkg.py when it is installed.
func TestGDALOpensExports(t *testing.T) {
	bin := os.Getenv(OGRInfoEnv)
	if bin == "" {
		t.Skipf("%s is not set: skipping the test that opens the exports with GDAL's ogrinfo (run `make test`, which installs gdal-bin and sets it)", OGRInfoEnv)
	}
	ix := demoIndex(t, false)
	dir := t.TempDir()
	python, validator := findValidator()
	if validator == "" {
		t.Log("GDAL's validate_gpkg.py (Debian python3-gdal) not found: the GeoPackages were not validated with it")
	}
	for _, l := range ix.Registry().Layers() {
		for _, c := range []struct {
			f   Format
			crs CRS
		}{{GeoJSON, WGS84}, {CSV, WGS84}, {GPKG, WGS84}, {GPKG, GCJ02}} {
			name := l.Name + "-" + string(c.crs) + "." + string(c.f)
			t.Run(name, func(t *testing.T) {
				e, err := Prepare(ix, Request{Layer: l.Name, Format: c.f, CRS: c.crs, TempDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, name)
				out, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.WriteTo(context.Background(), out); err != nil {
					t.Fatal(err)
				}
				if err := out.Close(); err != nil {
					t.Fatal(err)
				}
				args := []string{"-ro", "-al", "-so"}
				// The fields GDAL must list: for GeoJSON the API's layer, id and
				// version properties, for CSV the whole header (the coordinate
				// columns are kept as fields too).
				fields := l.FieldNames()
				switch c.f {
				case GeoJSON:
					fields = append([]string{"layer", "id", "version"}, fields...)
				case CSV:
					fields = CSVHeader(l)
					if isPointLayer(l) {
						args = append(args, "-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat")
					} else {
						args = append(args, "-oo", "GEOM_POSSIBLE_NAMES=wkt")
					}
				case GPKG:
					fields = append(fields, "version", "updated_at")
				}
				info := ogrinfo(t, bin, append(args, path)...)
				m := regexp.MustCompile(`(?m)^Feature Count: (\d+)$`).FindStringSubmatch(info)
				if m == nil {
					t.Fatalf("no Feature Count:\n%s", info)
				}
				if n, _ := strconv.Atoi(m[1]); n != ix.Count(l.Name) || n == 0 {
					t.Errorf("Feature Count: %d, want %d", n, ix.Count(l.Name))
				}
				for _, f := range fields {
					if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(f) + `: `).MatchString(info) {
						t.Errorf("field %s is not listed:\n%s", f, info)
					}
				}
				if geom := regexp.MustCompile(`(?m)^Geometry: (.+)$`).FindStringSubmatch(info); geom == nil || geom[1] == "None" {
					t.Errorf("no geometry: %v\n%s", geom, info)
				}
				if c.f == GPKG {
					srs := `ID["EPSG",4326]`
					if c.crs == GCJ02 {
						srs = `GEOGCRS["GCJ-02"`
					}
					if !strings.Contains(info, srs) || !strings.Contains(info, "\nFID Column = id\n") {
						t.Errorf("want SRS %s and FID column id:\n%s", srs, info)
					}
					ext := regexp.MustCompile(`(?m)^Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)$`).FindStringSubmatch(info)
					if ext == nil {
						t.Fatalf("no extent:\n%s", info)
					}
					if x, _ := strconv.ParseFloat(ext[1], 64); x < 113.9 || x > 114.3 {
						t.Errorf("extent %v is not around Luohu", ext[1:])
					}
					if validator != "" {
						ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
						defer cancel()
						out, err := exec.CommandContext(ctx, python, validator, "-k", "--extra", "--warning-as-error", path).CombinedOutput()
						if err != nil || strings.TrimSpace(string(out)) != "" {
							t.Errorf("validate_gpkg.py: %v\n%s", err, out)
						}
					}
				}
			})
		}
	}
	// Reading every feature's geometry and values of the largest layer: no
	// complaint (the summary above reads the header and counts only).
	for _, f := range []string{"risk_points-wgs84.gpkg", "risk_points-wgs84.geojson"} {
		all := ogrinfo(t, bin, "-ro", "-al", "-q", filepath.Join(dir, f))
		if n := strings.Count(all, "\nOGRFeature(risk_points):"); n != ix.Count(layers.RiskPoints) {
			t.Errorf("%s: ogrinfo -al read %d features, want %d", f, n, ix.Count(layers.RiskPoints))
		}
	}
}

// findValidator returns a Python with GDAL's bindings and the path of GDAL's
// validate_gpkg.py, "" when there is none (as store/gpkg's test finds it).
func findValidator() (python, script string) {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		out, err := exec.Command(py, "-c", "import osgeo_utils.samples.validate_gpkg as m; print(m.__file__)").Output()
		if err == nil {
			return py, strings.TrimSpace(string(out))
		}
	}
	return "", ""
}
