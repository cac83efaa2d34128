package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/httpapi"
	"riskmap/index"
	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/gpkg"
	"riskmap/store/postgis"
)

// importSink is what the export tests write their data with: both stores' Import.
type importSink interface {
	Import(ctx context.Context, layer string, fs []feature.Feature, opts store.WriteOptions, progress func(done int)) (store.ImportResult, error)
}

var (
	subsetOnce sync.Once
	subsetDS   map[string][]feature.Feature
	subsetErr  error
)

// exportSubset is part of the demo dataset — at most the first 1,000 features of
// each layer — small enough to write to a store in a test.
func exportSubset(t *testing.T) map[string][]feature.Feature {
	t.Helper()
	subsetOnce.Do(func() {
		ds, err := demo.Generate(demo.DefaultDemoSeed)
		if err != nil {
			subsetErr = err
			return
		}
		subsetDS = map[string][]feature.Feature{}
		for name, fs := range ds.Features {
			subsetDS[name] = fs[:min(len(fs), 1000)]
		}
	})
	if subsetErr != nil {
		t.Fatal(subsetErr)
	}
	return subsetDS
}

// seedSubset writes exportSubset into s, layer by layer.
func seedSubset(t *testing.T, s importSink) {
	t.Helper()
	ctx := context.Background()
	for _, l := range layers.New().Layers() {
		if _, err := s.Import(ctx, l.Name, exportSubset(t)[l.Name], store.WriteOptions{Actor: "test"}, nil); err != nil {
			t.Fatalf("seed %s: %v", l.Name, err)
		}
	}
}

// seededGPKG is a migrated GeoPackage store file holding exportSubset.
func seededGPKG(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "riskmap.gpkg")
	if code, _, errOut := runCLI(t, "migrate", "--gpkg", path); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	s, err := gpkg.Open(context.Background(), path, layers.New())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	seedSubset(t, s)
	return path
}

// apiExporter returns a function answering GET /api/v1/export?query from an index
// loaded from the file's store, as serve would.
func apiExporter(t *testing.T, path string) func(query string) []byte {
	t.Helper()
	reg := layers.New()
	s, err := gpkg.Open(context.Background(), path, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ix := index.New(reg)
	if err := ix.Load(context.Background(), s, nil); err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Config{Registry: reg, Index: ix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return func(query string) []byte {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/export?"+query, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /api/v1/export?%s: %d %s", query, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
}

// TestExportCommand: riskmap export writes, for every layer and format, the very
// bytes GET /api/v1/export answers for the same data and parameters — to a file
// (-o) or to stdout, with filters, a bbox and GCJ-02; bad usage exits 2 naming the
// flag; a missing file and a GeoPackage held by a running server exit 1, the latter
// pointing to the API route; the store file is only read.
func TestExportCommand(t *testing.T) {
	t.Setenv("RISKMAP_DATABASE_URL", "")
	path := seededGPKG(t)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	apiExport := apiExporter(t, path)
	for _, l := range layers.New().Layers() {
		for _, f := range []string{"geojson", "csv", "gpkg"} {
			out := filepath.Join(dir, l.Name+"."+f)
			code, stdout, errOut := runCLI(t, "export", "--gpkg", path, "--layer", l.Name, "--format", f, "-o", out)
			want := fmt.Sprintf("wrote %d features to %s\n", len(exportSubset(t)[l.Name]), out)
			if code != 0 || stdout != "" || !strings.HasSuffix(errOut, want) {
				t.Fatalf("export %s %s: exit %d, stdout %.100q, stderr %q; want %q", l.Name, f, code, stdout, errOut, want)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if api := apiExport("layer=" + l.Name + "&format=" + f); !bytes.Equal(got, api) {
				t.Errorf("%s %s: the file (%d bytes) differs from the API's answer (%d bytes)", l.Name, f, len(got), len(api))
			}
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
	// Standard output, filters, bbox, GCJ-02.
	for _, c := range []struct {
		args  []string
		query string
	}{
		{[]string{"--layer", "risk_points", "--format", "csv", "--min-grade", "significant", "--status", "open,rectifying"},
			"layer=risk_points&format=csv&min_grade=significant&status=open,rectifying"},
		{[]string{"--layer", "slopes", "--bbox", "114.10,22.53,114.16,22.58", "--warning", "none"},
			"layer=slopes&bbox=114.10,22.53,114.16,22.58&warning=none"},
		{[]string{"--layer", "resources", "--format", "csv", "--crs", "gcj02", "--open", "true", "--min-capacity", "100", "--kind", "shelter"},
			"layer=resources&format=csv&crs=gcj02&open=true&min_capacity=100&kind=shelter"},
		{[]string{"--layer", "waterlogging_spots", "--format", "gpkg", "--crs", "gcj02", "--bbox", "114.1,22.5,114.2,22.6"},
			"layer=waterlogging_spots&format=gpkg&crs=gcj02&bbox=114.1,22.5,114.2,22.6"},
	} {
		code, stdout, errOut := runCLI(t, append([]string{"export", "--gpkg", path}, c.args...)...)
		if code != 0 || !strings.Contains(errOut, "wrote ") {
			t.Fatalf("%v: exit %d, %s", c.args, code, errOut)
		}
		api := apiExport(c.query)
		if stdout != string(api) {
			t.Errorf("%v: stdout (%d bytes) differs from the API's answer to %s (%d bytes)", c.args, len(stdout), c.query, len(api))
		}
		if strings.Contains(errOut, "wrote 0 features") {
			t.Errorf("%v: nothing selected, a weak check: %s", c.args, errOut)
		}
	}
	// Bad usage: exit 2, naming the flag.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--layer is required"},
		{[]string{"--layer", "nope"}, "--layer: unknown layer"},
		{[]string{"--layer", "slopes", "--format", "xlsx"}, "--format: \"xlsx\""},
		{[]string{"--layer", "slopes", "--crs", "bd09"}, "--crs: \"bd09\""},
		{[]string{"--layer", "slopes", "--bbox", "1,2,3"}, "--bbox: "},
		{[]string{"--layer", "slopes", "--bbox", ""}, "--bbox: "},
		{[]string{"--layer", "slopes", "--min-grade", "huge"}, "--min-grade: \"huge\""},
		{[]string{"--layer", "slopes", "--grade", "major", "--min-grade", "low"}, "--min-grade: cannot be combined"},
		{[]string{"--layer", "slopes", "extra"}, "unexpected argument"},
		{[]string{"--layer", "slopes", "--layers", "all"}, "flag provided but not defined"},
	} {
		code, _, errOut := runCLI(t, append([]string{"export", "--gpkg", path}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	if code, out, _ := runCLI(t, "export", "--help"); code != 0 || !strings.Contains(out, "Usage: riskmap export") || !strings.Contains(out, "-min-grade") {
		t.Errorf("export --help: %d %q", code, out)
	}
	// A missing store file is not created.
	missing := filepath.Join(dir, "none.gpkg")
	if code, _, errOut := runCLI(t, "export", "--gpkg", missing, "--layer", "slopes"); code != 1 || !strings.Contains(errOut, "none.gpkg") {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("export created the missing store file")
	}
	// The store was only read.
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("export changed the store file")
	}
	// A file held by a running server: refused, pointing to the API.
	s, err := gpkg.Open(context.Background(), path, layers.New())
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "export", "--gpkg", path, "--layer", "slopes", "-o", filepath.Join(dir, "held.geojson"))
	s.Close()
	if code != 1 || !strings.Contains(errOut, "GET /api/v1/export") {
		t.Errorf("held file: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "held.geojson")); err == nil {
		t.Error("a refused export left a file")
	}
}

// streamer reads a store's features.
type streamer interface {
	Stream(ctx context.Context, layer string, fn func(feature.Feature) error) error
}

// byExternalID reads a layer of s by external_id.
func byExternalID(t *testing.T, s streamer, layer string) map[string]feature.Feature {
	t.Helper()
	out := map[string]feature.Feature{}
	err := s.Stream(context.Background(), layer, func(f feature.Feature) error {
		out[f.Props["external_id"].(string)] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameGeometry reports whether a and b are the same geometry type with every
// coordinate within tol degrees.
func sameGeometry(a, b orb.Geometry, tol float64) bool {
	if a.GeoJSONType() != b.GeoJSONType() {
		return false
	}
	var pa, pb []orb.Point
	collect := func(g orb.Geometry, dst *[]orb.Point) {
		switch g := g.(type) {
		case orb.Point:
			*dst = append(*dst, g)
		case orb.LineString:
			*dst = append(*dst, g...)
		case orb.MultiLineString:
			for _, ls := range g {
				*dst = append(*dst, ls...)
				*dst = append(*dst, orb.Point{math.NaN(), 0}) // part boundary
			}
		case orb.Polygon:
			for _, r := range g {
				*dst = append(*dst, r...)
				*dst = append(*dst, orb.Point{math.NaN(), 0})
			}
		case orb.MultiPolygon:
			for _, p := range g {
				for _, r := range p {
					*dst = append(*dst, r...)
					*dst = append(*dst, orb.Point{math.NaN(), 0})
				}
				*dst = append(*dst, orb.Point{math.NaN(), 1})
			}
		}
	}
	collect(a, &pa)
	collect(b, &pb)
	if len(pa) != len(pb) {
		return false
	}
	for i := range pa {
		if math.IsNaN(pa[i][0]) != math.IsNaN(pb[i][0]) || pa[i][1] != pb[i][1] && math.IsNaN(pa[i][0]) {
			return false
		}
		if !math.IsNaN(pa[i][0]) && (math.Abs(pa[i][0]-pb[i][0]) > tol || math.Abs(pa[i][1]-pb[i][1]) > tol) {
			return false
		}
	}
	return true
}

// sameProps reports the fields whose values differ.
func sameProps(l *layers.Layer, a, b map[string]any) []string {
	var diffs []string
	for _, f := range l.Fields {
		va, vb := a[f.Name], b[f.Name]
		if ta, ok := va.(time.Time); ok {
			if tb, ok := vb.(time.Time); ok && ta.Equal(tb) {
				continue
			}
		} else if va == vb {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s: %#v, want %#v", f.Name, vb, va))
	}
	return diffs
}

// TestExportImportRoundTrip: every layer of a seeded store exported by riskmap
// export (GeoJSON, CSV, GeoPackage, and CSV and GeoPackage in GCJ-02) and read back by riskmap
// import into an empty store of each kind gives the same features: by external_id,
// every attribute equal and every coordinate within 1e-7°.
func TestExportImportRoundTrip(t *testing.T) {
	t.Setenv("RISKMAP_DATABASE_URL", "")
	src := seededGPKG(t)
	reg := layers.New()
	ss, err := gpkg.Open(context.Background(), src, reg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]feature.Feature{}
	for _, l := range reg.Layers() {
		want[l.Name] = byExternalID(t, ss, l.Name)
		if len(want[l.Name]) == 0 {
			t.Fatalf("%s: nothing seeded", l.Name)
		}
	}
	ss.Close()
	dir := t.TempDir()
	type variant struct{ format, crs string }
	variants := []variant{{"geojson", "wgs84"}, {"csv", "wgs84"}, {"gpkg", "wgs84"}, {"csv", "gcj02"}, {"gpkg", "gcj02"}}
	files := map[variant]map[string]string{}
	for _, v := range variants {
		files[v] = map[string]string{}
		for _, l := range reg.Layers() {
			out := filepath.Join(dir, l.Name+"-"+v.crs+"."+v.format)
			if code, _, errOut := runCLI(t, "export", "--gpkg", src, "--layer", l.Name, "--format", v.format, "--crs", v.crs, "-o", out); code != 0 {
				t.Fatalf("export %s %v: %d %s", l.Name, v, code, errOut)
			}
			files[v][l.Name] = out
		}
	}
	for _, kind := range []string{"gpkg", "postgis"} {
		t.Run(kind, func(t *testing.T) {
			for _, v := range variants {
				if kind == "postgis" && v.crs == "gcj02" {
					continue // the GCJ-02 conversion does not depend on the store
				}
				t.Run(v.format+"-"+v.crs, func(t *testing.T) {
					var storeArgs []string
					var open func() (streamer, func())
					if kind == "postgis" {
						url := pgtest.NewDatabase(t)
						storeArgs = []string{"--database-url", url}
						open = func() (streamer, func()) {
							s, err := postgis.Open(context.Background(), url, layers.New())
							if err != nil {
								t.Fatal(err)
							}
							return s, s.Close
						}
					} else {
						path := filepath.Join(t.TempDir(), "empty.gpkg")
						storeArgs = []string{"--gpkg", path}
						open = func() (streamer, func()) {
							s, err := gpkg.Open(context.Background(), path, layers.New())
							if err != nil {
								t.Fatal(err)
							}
							return s, s.Close
						}
					}
					if code, _, errOut := runCLI(t, append([]string{"migrate"}, storeArgs...)...); code != 0 {
						t.Fatalf("migrate: %d %s", code, errOut)
					}
					for _, l := range reg.Layers() {
						args := append([]string{"import"}, storeArgs...)
						args = append(args, "--layer", l.Name, "--crs", v.crs, files[v][l.Name])
						code, out, errOut := runCLI(t, args...)
						n := len(want[l.Name])
						if code != 0 || !strings.Contains(out, fmt.Sprintf("inserted %d, updated 0, unchanged 0, rejected 0", n)) {
							t.Fatalf("import %s: exit %d\nstdout %s\nstderr %s", l.Name, code, out, errOut)
						}
					}
					s, closeStore := open()
					defer closeStore()
					for _, l := range reg.Layers() {
						got := byExternalID(t, s, l.Name)
						if len(got) != len(want[l.Name]) {
							t.Errorf("%s: %d features, want %d", l.Name, len(got), len(want[l.Name]))
						}
						bad := 0
						for ext, w := range want[l.Name] {
							g, ok := got[ext]
							if !ok {
								t.Errorf("%s %s: missing", l.Name, ext)
								bad++
							} else if d := sameProps(l, w.Props, g.Props); len(d) > 0 {
								t.Errorf("%s %s: %s", l.Name, ext, strings.Join(d, "; "))
								bad++
							} else if !sameGeometry(w.Geometry, g.Geometry, 1e-7) {
								t.Errorf("%s %s: geometry %v, want %v", l.Name, ext, g.Geometry, w.Geometry)
								bad++
							}
							if bad >= 5 {
								t.Fatalf("%s: more differences not shown", l.Name)
							}
						}
					}
				})
			}
		})
	}
}
