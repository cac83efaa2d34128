package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmap/index"
	"riskmap/layers"
)

// requestLog records the URLs a server was asked for.
type requestLog struct {
	mu   sync.Mutex
	urls []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.urls = append(l.urls, r.URL.RequestURI())
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// take returns the URLs logged since the last call.
func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.urls
	l.urls = nil
	return out
}

// gdal runs a GDAL program and returns its standard output; standard error must
// hold no error nor warning.
func gdal(t *testing.T, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = append(os.Environ(), "GDAL_HTTP_TIMEOUT=60", "CPL_CURL_GZIP=NO")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(prog), strings.Join(args, " "), err, stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "Warning") || strings.Contains(s, "ERROR") {
		t.Errorf("%s %s wrote to standard error:\n%s", filepath.Base(prog), strings.Join(args, " "), s)
	}
	return string(out)
}

// TestOGCWithGDAL serves the demo dataset on a loopback port and reads it through
// GDAL's OAPIF driver as QGIS would: ogrinfo lists every collection with its
// feature count, ogr2ogr copies every feature of every layer (following the next
// links; risk_points in pages of 1,000, the others with GDAL's page size), and
// an attribute filter on a queryable is sent to the server (read from /ogc/api).
func TestOGCWithGDAL(t *testing.T) {
	ogrinfo := os.Getenv("RISKMAP_OGRINFO")
	if ogrinfo == "" {
		t.Skip("RISKMAP_OGRINFO is not set (the path of GDAL's ogrinfo; ogr2ogr beside it): skipping the GDAL OAPIF test")
	}
	ogr2ogr := filepath.Join(filepath.Dir(ogrinfo), "ogr2ogr")
	ix := ogcDemoIndex(t)
	reg := ix.Registry()
	var log requestLog
	srv := httptest.NewServer(log.wrap(ogcHandler(t, ix, "")))
	defer srv.Close()
	src := "OAPIF:" + srv.URL + "/ogc"

	// The collections, listed.
	out := gdal(t, ogrinfo, "-ro", "-so", src)
	for i, l := range reg.Layers() {
		if !strings.Contains(out, fmt.Sprintf("%d: %s (", i+1, l.Name)) {
			t.Errorf("ogrinfo does not list %s:\n%s", l.Name, out)
		}
	}
	log.take()

	// Each layer's feature count.
	countRE := regexp.MustCompile(`Feature Count: (\d+)`)
	for _, l := range reg.Layers() {
		out := gdal(t, ogrinfo, "-ro", "-so", src, l.Name)
		m := countRE.FindStringSubmatch(out)
		if m == nil || m[1] != strconv.Itoa(ix.Count(l.Name)) {
			t.Errorf("ogrinfo %s: feature count %v, the index holds %d:\n%s", l.Name, m, ix.Count(l.Name), out)
		}
	}
	log.take()

	dir := t.TempDir()
	// copy runs ogr2ogr on layer and returns the ids of the features written, in
	// order, and the item requests it made.
	copyLayer := func(name string, extra ...string) ([]int64, []string) {
		dst := filepath.Join(dir, name+strconv.Itoa(len(extra))+".geojson")
		args := append([]string{"-f", "GeoJSON", dst, src, name}, extra...)
		gdal(t, ogr2ogr, args...)
		b, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		var fc struct {
			Features []struct {
				Properties map[string]any `json:"properties"`
			} `json:"features"`
		}
		if err := json.Unmarshal(b, &fc); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, f := range fc.Features {
			id, ok := f.Properties["id"].(float64)
			if !ok {
				t.Fatalf("%s: a feature without its id property: %v", name, f.Properties)
			}
			ids = append(ids, int64(id))
		}
		var items []string
		for _, u := range log.take() {
			if strings.Contains(u, "/items") {
				items = append(items, u)
			}
		}
		return ids, items
	}
	indexIDs := func(f index.Filter) []int64 {
		var ids []int64
		for _, h := range ix.BBox(index.World, f) {
			ids = append(ids, h.Rec.ID)
		}
		slices.Sort(ids)
		return ids
	}
	limits := func(items []string) map[string]int {
		n := map[string]int{}
		for _, u := range items {
			pu, _ := url.Parse(u)
			n[pu.Query().Get("limit")]++
		}
		return n
	}

	// Every other layer with GDAL's own page size (10 in GDAL 3.6: risk_points so
	// takes 3,556 requests, about 25 s here, left to docs/ogc.md).
	for _, l := range reg.Layers() {
		if l.Name == layers.RiskPoints {
			continue
		}
		got, items := copyLayer(l.Name)
		want := indexIDs(index.Filter{Layers: []string{l.Name}, MinCapacity: -1})
		if !slices.Equal(got, want) {
			t.Errorf("ogr2ogr %s: %d features, the index holds %d (ids in order, each once: %v)", l.Name, len(got), len(want), slices.Equal(got, want))
		}
		t.Logf("ogr2ogr %s: %d features in %d item requests, limit values %v", l.Name, len(got), len(items), limits(items))
	}
	// risk_points in pages of 1,000: 36 item pages (GDAL reads the first page twice:
	// once for the schema).
	got, items := copyLayer(layers.RiskPoints, "-oo", "PAGE_SIZE=1000")
	if len(got) != 35548 || !slices.Equal(got, indexIDs(index.Filter{Layers: []string{layers.RiskPoints}, MinCapacity: -1})) {
		t.Errorf("ogr2ogr risk_points with PAGE_SIZE=1000: %d features, want all 35548 of the index", len(got))
	}
	if n := limits(items); n["1000"] != len(items) || len(items) < 36 || len(items) > 37 {
		t.Errorf("PAGE_SIZE=1000: item requests by limit %v, want 36 pages of 1000 (+1 for the schema)", n)
	}

	// An attribute filter on a queryable property goes to the server.
	got, items = copyLayer(layers.RiskPoints, "-oo", "PAGE_SIZE=1000", "-where", "category = 'fire'")
	want := indexIDs(index.Filter{Layers: []string{layers.RiskPoints}, Category: []string{"fire"}, MinCapacity: -1})
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("-where category = 'fire': %d features, the index has %d", len(got), len(want))
	}
	pushed := false
	for _, u := range items {
		pushed = pushed || strings.Contains(u, "category=fire")
	}
	if !pushed {
		t.Errorf("GDAL did not send the filter to the server (it did not read the queryables from /ogc/api): %v", items)
	}
}
