package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/httpapi"
	"riskmap/index"
	"riskmap/layers"
)

// maplibreDist is MapLibre GL JS's dist folder (ES modules: maplibre-gl.mjs loads
// maplibre-gl-worker.mjs from its own folder).
const maplibreDist = "node_modules/maplibre-gl/dist"

// drawnReport is what drawn.mjs prints.
type drawnReport struct {
	Chromium       string          `json:"chromium"`
	LaunchMs       int             `json:"launchMs"`
	Views          []drawnView     `json:"views"`
	FailedRequests []failedRequest `json:"failedRequests"`
	ConsoleErrors  []string        `json:"consoleErrors"`
	PageErrors     []string        `json:"pageErrors"`
	Error          string          `json:"error"`
}

type drawnView struct {
	Name       string                `json:"name"`
	Zoom       float64               `json:"zoom"`
	Center     [2]float64            `json:"center"`
	Bounds     [2][2]float64         `json:"bounds"` // [[west, south], [east, north]]
	IdleMs     int                   `json:"idleMs"`
	Layers     map[string]drawnLayer `json:"layers"`
	MapErrors  []string              `json:"mapErrors"`
	Screenshot string                `json:"screenshot"`
}

type drawnLayer struct {
	Type          string         `json:"type"`
	Rendered      int            `json:"rendered"`
	GeometryTypes map[string]int `json:"geometryTypes"`
	Grades        map[string]int `json:"grades"`
	MaxCount      int            `json:"maxCount"`
	ClusterPoints int            `json:"clusterPoints"`
	Sample        map[string]any `json:"sample"`
}

type failedRequest struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Error  string `json:"error"`
}

// TestTilesDrawnInBrowser is the issue's "done when a MapLibre page pointed at the
// TileJSON draws every layer": the demo data behind the real handler, the test page
// (testdata/map.html) loading /styles/riskmap.json in headless Chromium at zooms 12,
// 14 and 16, and every layer of the style having rendered features, with no map error
// and no failed request.
func TestTilesDrawnInBrowser(t *testing.T) {
	chromium := os.Getenv("RISKMAP_CHROMIUM")
	if chromium == "" {
		t.Skip("RISKMAP_CHROMIUM is not set: set it to a Chromium binary (./scripts/browser.sh installs one and prints its path) to run the browser test")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("RISKMAP_CHROMIUM: %v", err)
	}
	if _, err := os.Stat(filepath.Join(maplibreDist, "maplibre-gl.mjs")); err != nil {
		t.Skip("e2e/node_modules is missing (no maplibre-gl): run ./scripts/browser.sh or npm ci --prefix e2e")
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		t.Skip("e2e/node_modules is missing playwright-core: run ./scripts/browser.sh or npm ci --prefix e2e")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the browser test runs e2e/drawn.mjs with Node.js")
	}

	start := time.Now()
	h, ix := demoHandler(t)
	t.Logf("demo index and handler: %v", time.Since(start).Round(time.Millisecond))
	rec := &recorder{next: h}
	mux := http.NewServeMux()
	mux.Handle("/e2e/", http.StripPrefix("/e2e/", http.FileServer(http.Dir("testdata"))))
	mux.Handle("/maplibre/", http.StripPrefix("/maplibre/", http.FileServer(http.Dir(maplibreDist))))
	mux.Handle("/", rec)
	srv := httptest.NewServer(mux) // 127.0.0.1:0
	defer srv.Close()

	styleIDs := styleLayerIDs(t, srv.URL+"/styles/riskmap.json")

	out, err := filepath.Abs(filepath.Join("..", ".tmp", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "drawn.mjs", "--page", srv.URL+"/e2e/map.html", "--out", out)
	cmd.Env = append(os.Environ(), "RISKMAP_CHROMIUM="+chromium)
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start = time.Now()
	runErr := cmd.Run()
	t.Logf("drawn.mjs ran %v", time.Since(start).Round(time.Millisecond))
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Logf("drawn.mjs stderr:\n%s", s)
	}
	if err := os.WriteFile(filepath.Join(out, "drawn.json"), stdout.Bytes(), 0o644); err != nil {
		t.Log(err)
	} else {
		t.Logf("drawn.mjs report: %s", filepath.Join(out, "drawn.json"))
	}
	var rep drawnReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("drawn.mjs: %v (run error %v); stdout:\n%s", err, runErr, stdout.String())
	}
	if rep.Error != "" || runErr != nil {
		t.Fatalf("drawn.mjs failed (%v): %s", runErr, rep.Error)
	}
	t.Logf("%s, launch %d ms; %d requests to the API (%d tiles)", rep.Chromium, rep.LaunchMs, rec.count(""), rec.count("/tiles/all/"))

	for _, f := range rep.FailedRequests {
		t.Errorf("request failed in the browser: %s %d %s", f.URL, f.Status, f.Error)
	}
	for _, e := range rec.failures() {
		t.Errorf("the server answered %s", e)
	}
	for _, e := range rep.PageErrors {
		t.Errorf("page error: %s", e)
	}
	for _, e := range rep.ConsoleErrors {
		t.Errorf("console error: %s", e)
	}

	drawnSomewhere := map[string]bool{}
	views := map[string]drawnView{}
	for _, v := range rep.Views {
		views[v.Name] = v
		t.Logf("%s (zoom %g at %.4f,%.4f, idle after %d ms): %s", v.Name, v.Zoom, v.Center[0], v.Center[1], v.IdleMs, counts(styleIDs, v.Layers))
		t.Logf("%s screenshot: %s", v.Name, v.Screenshot)
		for _, e := range v.MapErrors {
			t.Errorf("%s: map error event: %s", v.Name, e)
		}
		for _, id := range styleIDs {
			l, ok := v.Layers[id]
			if !ok {
				t.Errorf("%s: style layer %s is not in the map's style", v.Name, id)
			}
			if l.Rendered > 0 {
				drawnSomewhere[id] = true
			}
		}
	}
	for _, id := range styleIDs {
		if !drawnSomewhere[id] {
			t.Errorf("style layer %s drew no feature in any view", id)
		}
	}

	// Below zoom 15 risk points are clusters (cluster=true, a count, the highest
	// grade); from 15 on they are points, each with its grade.
	z12, ok12 := views["z12"]
	z16, ok16 := views["z16"]
	if !ok12 || !ok16 {
		t.Fatalf("views z12 and z16 are missing from the report: %v", slices.Sorted(maps.Keys(views)))
	}
	if c := z12.Layers["risk-clusters"]; c.Rendered == 0 || c.MaxCount < 2 || len(c.Grades) == 0 {
		t.Errorf("z12: risk-clusters %+v: want clusters with counts and grades", c)
	}
	// z12 shows the whole district: every risk point is drawn exactly once, alone or
	// counted in one cluster (a cluster drawn by two tiles would count twice).
	if b, ok := ix.Bounds([]string{layers.RiskPoints}); !ok || b.Min[0] < z12.Bounds[0][0] || b.Min[1] < z12.Bounds[0][1] ||
		b.Max[0] > z12.Bounds[1][0] || b.Max[1] > z12.Bounds[1][1] {
		t.Errorf("z12 shows %v, not all the risk points (%v)", z12.Bounds, b)
	} else if got, want := z12.Layers["risk-clusters"].ClusterPoints+z12.Layers["risk-points"].Rendered, ix.Count(layers.RiskPoints); got != want {
		t.Errorf("z12: clusters count %d and %d single points are drawn: %d risk points, want %d",
			z12.Layers["risk-clusters"].ClusterPoints, z12.Layers["risk-points"].Rendered, got, want)
	}
	if n := z16.Layers["risk-clusters"].Rendered; n != 0 {
		t.Errorf("z16: %d risk clusters drawn, want none (clusters are below zoom 15)", n)
	}
	if p := z16.Layers["risk-points"]; p.Rendered == 0 || len(p.Grades) < 2 {
		t.Errorf("z16: risk-points %+v: want points of several grades", p)
	}
	// At 16 every layer of the style has features in the z16 view, clusters aside.
	for _, id := range styleIDs {
		if id != "risk-clusters" && z16.Layers[id].Rendered == 0 {
			t.Errorf("z16: style layer %s drew no feature", id)
		}
	}
	for _, id := range []string{"slopes-fill", "slopes-outline"} {
		if gt := z16.Layers[id].GeometryTypes; gt["Polygon"]+gt["MultiPolygon"] == 0 {
			t.Errorf("z16: %s drew %v, want polygons", id, gt)
		}
	}
}

// demoHandler is the httpapi handler over an index of the demo dataset (no database).
func demoHandler(t *testing.T) (http.Handler, *index.Index) {
	t.Helper()
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		t.Fatal(err)
	}
	reg := layers.New()
	ix := index.New(reg)
	var ms []index.Mutation
	for _, fs := range ds.Features {
		for _, f := range fs {
			ms = append(ms, index.Mutation{Op: feature.Insert, Feature: f})
		}
	}
	// The demo's waterlogging spots are all points; the registry also takes areas,
	// which the style draws as fills: one in the z16 view.
	c := orb.Point{114.1125, 22.5503}
	d := 0.0004
	ms = append(ms, index.Mutation{Op: feature.Insert, Feature: feature.Feature{
		Layer: layers.WaterloggingSpots, ID: 1_000_001, Version: 1,
		Geometry: orb.Polygon{{{c[0] - d, c[1] - d}, {c[0] + d, c[1] - d}, {c[0] + d, c[1] + d}, {c[0] - d, c[1] + d}, {c[0] - d, c[1] - d}}},
		Props: map[string]any{"external_id": "E2E-AREA-1", "name": "测试积水区", "kind": "low_road",
			"warning_depth_cm": 30.0, "current_depth_cm": 42.0, "trend": "rising", "warning_level": "orange"},
	}})
	if _, err := ix.Apply(ms...); err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Config{Registry: reg, Index: ix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return h, ix
}

// styleLayerIDs fetches the style and returns its layer ids.
func styleLayerIDs(t *testing.T, url string) []string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	var style struct {
		Layers []struct {
			ID string `json:"id"`
		} `json:"layers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&style); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	var ids []string
	for _, l := range style.Layers {
		ids = append(ids, l.ID)
	}
	if len(ids) == 0 {
		t.Fatalf("GET %s: a style without layers", url)
	}
	return ids
}

// counts formats the rendered feature count of each style layer, in style order.
func counts(ids []string, ls map[string]drawnLayer) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", id, ls[id].Rendered)
	}
	return b.String()
}

// recorder passes requests to the API handler and remembers each one's path and
// status, so the test can see what the browser asked for and any error answer.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	path   string
	status int
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	rc.next.ServeHTTP(sw, r)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, recorded{r.URL.RequestURI(), sw.status})
	rc.mu.Unlock()
}

// count is the number of requests whose path starts with prefix.
func (rc *recorder) count(prefix string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, r := range rc.reqs {
		if strings.HasPrefix(r.path, prefix) {
			n++
		}
	}
	return n
}

// failures describes the requests answered with a status of 400 or more.
func (rc *recorder) failures() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, r := range rc.reqs {
		if r.status >= 400 {
			out = append(out, fmt.Sprintf("%d to %s", r.status, r.path))
		}
	}
	return out
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
