package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"riskmap/internal/pgtest"
)

// The planner's side of a query (pageSide in planner.mjs) and the API's.
type plannerRow struct {
	Layer string   `json:"layer"`
	ID    int64    `json:"id"`
	D     *float64 `json:"d"`
	Text  string   `json:"text"`
}

type plannerGroup struct {
	Key   string       `json:"key"`
	Total int          `json:"total"`
	Rows  []plannerRow `json:"rows"`
}

type plannerPage struct {
	Total   int            `json:"total"`
	Groups  []plannerGroup `json:"groups"`
	Area    reportArea     `json:"area"`
	Drawn   []string       `json:"drawn"`
	Summary string         `json:"summary"`
	Request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
		Body   struct {
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
			BufferM float64 `json:"buffer_m"`
		} `json:"body"`
	} `json:"request"`
}

type reportArea struct {
	Kind     string     `json:"kind"`
	Center   [2]float64 `json:"center"`
	RadiusM  float64    `json:"radius_m"`
	BufferM  float64    `json:"buffer_m"`
	InputCRS string     `json:"input_crs"`
}

type apiFeature struct {
	Layer string   `json:"layer"`
	ID    int64    `json:"id"`
	Sub   string   `json:"sub"`
	D     *float64 `json:"d"`
	Name  string   `json:"name"`
}

type plannerAPI struct {
	Total    int          `json:"total"`
	Area     reportArea   `json:"area"`
	Features []apiFeature `json:"features"`
}

type download struct {
	File      string `json:"file"`
	Suggested string `json:"suggested"`
	Size      int    `json:"size"`
	Head      string `json:"head"`
	UTF8      bool   `json:"utf8"`
}

type briefingInfo struct {
	Title   string `json:"title"`
	SVG     int    `json:"svg"`
	Text    string `json:"text"`
	Charset string `json:"charset"`
}

type dispatchRow struct {
	ID       int64   `json:"id"`
	D        float64 `json:"d"`
	Checked  bool    `json:"checked"`
	Text     string  `json:"text"`
	Capacity *int    `json:"capacity"`
	Open     *bool   `json:"open"`
}

// decodeStep re-reads a step of the script's report as T.
func decodeStep[T any](t *testing.T, s map[string]any) T {
	t.Helper()
	var v T
	b, _ := json.Marshal(s)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("step %v: %v", s["name"], err)
	}
	return v
}

// meters is how the page writes a distance (i18n.js distance, Chinese).
func meters(d float64) string {
	if d >= 10000 {
		return strconv.FormatFloat(d/1000, 'f', 1, 64) + " 千米"
	}
	n := int64(math.Floor(d + 0.5))
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s + " 米"
}

// firstRows is how many rows the planner shows in a group at first (planner.js).
const firstRows = 10

// checkPlannerQuery checks that the page lists what the API answers for the same
// query: the same total, the same groups (layer, then grade or warning level) with
// the same counts, and in each group the API's nearest features in order with the
// same ids and distances, written in meters.
func checkPlannerQuery(t *testing.T, what string, page plannerPage, api plannerAPI) {
	t.Helper()
	if api.Total == 0 || len(api.Features) != api.Total {
		t.Errorf("%s: the API answered total %d with %d features; want some, all listed", what, api.Total, len(api.Features))
	}
	if page.Total != api.Total {
		t.Errorf("%s: the page says %d found, the API %d", what, page.Total, api.Total)
	}
	groups := map[string][]apiFeature{}
	var keys []string
	for _, f := range api.Features {
		k := f.Layer + "|" + f.Sub
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], f)
	}
	var pageKeys []string
	rows := 0
	for _, g := range page.Groups {
		pageKeys = append(pageKeys, g.Key)
		want := groups[g.Key]
		if g.Total != len(want) {
			t.Errorf("%s: group %s: the page counts %d, the API has %d", what, g.Key, g.Total, len(want))
		}
		if n := min(firstRows, len(want)); len(g.Rows) != n {
			t.Errorf("%s: group %s shows %d rows, want %d", what, g.Key, len(g.Rows), n)
		}
		for i, r := range g.Rows {
			rows++
			if i >= len(want) {
				break
			}
			w := want[i]
			if r.ID != w.ID || r.Layer != w.Layer || !sameDistance(r.D, w.D) {
				t.Errorf("%s: group %s row %d: the page shows %s %d at %v m, the API %s %d at %v m", what, g.Key, i, r.Layer, r.ID, deref(r.D), w.Layer, w.ID, deref(w.D))
				continue
			}
			if w.D != nil && r.Text != meters(*w.D) {
				t.Errorf("%s: group %s row %d: distance written %q, want %q", what, g.Key, i, r.Text, meters(*w.D))
			}
		}
	}
	slices.Sort(keys)
	slices.Sort(pageKeys)
	if !slices.Equal(keys, pageKeys) {
		t.Errorf("%s: the page's groups %v, the API's %v", what, pageKeys, keys)
	}
	t.Logf("%s: %d found, %d groups, %d rows compared with the API", what, api.Total, len(keys), rows)
}

func sameDistance(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// checkCSV reads a downloaded CSV: UTF-8 with a BOM, a header and one record per
// feature, the Chinese names exactly as the API gives them.
func checkCSV(t *testing.T, what string, dl download, api plannerAPI) {
	t.Helper()
	b, err := os.ReadFile(dl.File)
	if err != nil {
		t.Errorf("%s CSV: %v", what, err)
		return
	}
	if !bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		t.Errorf("%s CSV starts with % x, want the UTF-8 BOM EF BB BF", what, b[:min(3, len(b))])
	}
	if !utf8.Valid(b) || !dl.UTF8 {
		t.Errorf("%s CSV is not valid UTF-8", what)
	}
	if !strings.HasSuffix(dl.Suggested, ".csv") || !strings.HasPrefix(dl.Suggested, "riskmap-report") {
		t.Errorf("%s CSV saved as %q, want riskmap-report….csv", what, dl.Suggested)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Errorf("%s CSV: %v", what, err)
		return
	}
	if len(recs) != api.Total+1 {
		t.Errorf("%s CSV has %d records, want a header and %d features", what, len(recs), api.Total)
	}
	cells := map[string]bool{}
	for _, rec := range recs[1:] {
		for _, c := range rec {
			cells[c] = true
		}
	}
	missing := 0
	for _, f := range api.Features {
		if !cells[f.Name] || !cells[strconv.FormatInt(f.ID, 10)] {
			if missing < 5 {
				t.Errorf("%s CSV: no cell holds %s %d's name %q or id", what, f.Layer, f.ID, f.Name)
			}
			missing++
		}
	}
	if len(recs) > 1 {
		t.Logf("%s CSV: %d bytes, BOM, %d records; header %q; first row %q", what, len(b), len(recs), recs[0], recs[1])
	}
}

func checkBriefing(t *testing.T, what string, b briefingInfo, total int) {
	t.Helper()
	if b.SVG == 0 || !strings.Contains(b.Text, strconv.Itoa(total)) || b.Charset != "UTF-8" {
		t.Errorf("%s briefing: %d SVG maps, charset %s, text %.300q; want a map, the total %d", what, b.SVG, b.Charset, b.Text, total)
	}
}

// TestPlannerAndDispatchInBrowser is issue 8's browser test: the riskmap binary,
// built from this tree, serves the demo dataset from a fresh PostGIS database, and
// the wall map's planner and dispatch tools are driven in headless Chromium
// (planner.mjs). A circle around typed coordinates lists, group by group, the same
// ids and distances as GET /api/v1/report for that site; the same site typed in
// GCJ-02 finds the same objects; a polygon and a route drawn with the mouse list what
// POST /api/v1/report answers for the clicked positions; the CSVs (GET link and POST
// Blob) are UTF-8 with a BOM and the names exactly; the GeoJSON and the briefing of
// both kinds load; a row and the search box fly to their object; Escape returns to
// the wall map; the dispatch panel lists, kind by kind, what GET /api/v1/dispatch
// answers for the clicked incident in distance order, draws a line to each checked
// resource and applies a minimum shelter capacity. With RISKMAP_SCREENSHOTS=dir the
// planner and dispatch screenshots also go to dir (docs/screenshots for the README).
func TestPlannerAndDispatchInBrowser(t *testing.T) {
	chromium, node := needBrowser(t, "planner.mjs")
	dbURL := pgtest.NewDatabase(t) // skips without RISKMAP_TEST_DATABASE_URL

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, _ := seededDemo(t, ctx, dbURL)
	base, stop := startServe(t, bin, dbURL, filepath.Join(dir, "spool"))
	defer stop()

	rep := runScript(t, ctx, node, chromium, "planner.mjs", "planner", "--server", base)

	// The circle, typed in WGS84.
	type queryStep struct {
		Opened struct {
			Panel bool   `json:"panel"`
			Left  string `json:"left"`
		} `json:"opened"`
		Page plannerPage `json:"page"`
		API  plannerAPI  `json:"api"`
	}
	circle := decodeStep[queryStep](t, rep.step(t, "circle"))
	if !circle.Opened.Panel || circle.Opened.Left != "none" {
		t.Errorf("planner: panel shown %v, the counts panel's display %q; want the panel in place of the counts", circle.Opened.Panel, circle.Opened.Left)
	}
	checkPlannerQuery(t, "circle", circle.Page, circle.API)
	if a := circle.Page.Area; a.Kind != "circle" || a.RadiusM != 300 || math.Abs(a.Center[0]-114.12) > 1e-9 || math.Abs(a.Center[1]-22.55) > 1e-9 {
		t.Errorf("circle: the report's area is %+v, want a 300 m circle around 114.12, 22.55", a)
	}
	if !slices.Contains(circle.Page.Drawn, "area") || !slices.Contains(circle.Page.Drawn, "site") {
		t.Errorf("circle: the map draws %v, want the ring (area) and the site", circle.Page.Drawn)
	}

	// Its downloads.
	dls := decodeStep[struct {
		CSV     download `json:"csv"`
		GeoJSON struct {
			download
			Type        string `json:"type"`
			Features    int    `json:"features"`
			ReportTotal int    `json:"reportTotal"`
		} `json:"geojson"`
		Briefing briefingInfo `json:"briefing"`
	}](t, rep.step(t, "circle-downloads"))
	checkCSV(t, "circle", dls.CSV, circle.API)
	if g := dls.GeoJSON; g.Type != "FeatureCollection" || g.Features != circle.API.Total || g.ReportTotal != circle.API.Total || !strings.HasSuffix(g.Suggested, "json") {
		t.Errorf("circle GeoJSON: %+v; want a FeatureCollection of %d features with the report", g, circle.API.Total)
	}
	checkBriefing(t, "circle", dls.Briefing, circle.API.Total)

	// The same site typed in GCJ-02: the server converts it back.
	gcj := decodeStep[struct {
		Typed [2]float64  `json:"typed"`
		Page  plannerPage `json:"page"`
		API   plannerAPI  `json:"api"`
	}](t, rep.step(t, "gcj02"))
	if !strings.Contains(gcj.Page.Request.URL, "crs=gcj02") {
		t.Errorf("gcj02: the page asked %s, want crs=gcj02", gcj.Page.Request.URL)
	}
	if math.Abs(gcj.Typed[0]-114.12) < 1e-3 {
		t.Errorf("gcj02: typed %v, want the GCJ-02 shift of 114.12, 22.55 (hundreds of meters)", gcj.Typed)
	}
	if c := gcj.API.Area.Center; math.Abs(c[0]-114.12) > 2e-6 || math.Abs(c[1]-22.55) > 2e-6 {
		t.Errorf("gcj02: the report's center is %v, want 114.12, 22.55 back in WGS84", c)
	}
	checkPlannerQuery(t, "gcj02 (the page's own report)", gcj.Page, gcj.API)
	sameSite(t, circle.API, gcj.API)

	// The polygon and the route drawn with the mouse.
	poly := decodeStep[struct {
		Corners  [][2]float64 `json:"corners"`
		Page     plannerPage  `json:"page"`
		API      plannerAPI   `json:"api"`
		CSV      download     `json:"csv"`
		Briefing briefingInfo `json:"briefing"`
	}](t, rep.step(t, "polygon"))
	var ring [][][2]float64
	_ = json.Unmarshal(poly.Page.Request.Body.Geometry.Coordinates, &ring)
	if poly.Page.Request.Method != "POST" || poly.Page.Request.Body.Geometry.Type != "Polygon" || len(ring) != 1 || len(ring[0]) != 5 ||
		!slices.Equal(ring[0][:4], poly.Corners) || ring[0][4] != poly.Corners[0] {
		t.Errorf("polygon: the page posted %s %s %s, want the closed ring of the 4 clicked corners %v",
			poly.Page.Request.Method, poly.Page.Request.Body.Geometry.Type, poly.Page.Request.Body.Geometry.Coordinates, poly.Corners)
	}
	checkPlannerQuery(t, "polygon", poly.Page, poly.API)
	if poly.Page.Area.Kind != "polygon" || !slices.Contains(poly.Page.Drawn, "area") {
		t.Errorf("polygon: area %+v, drawn %v", poly.Page.Area, poly.Page.Drawn)
	}
	checkCSV(t, "polygon (POST, from a Blob)", poly.CSV, poly.API)
	checkBriefing(t, "polygon (POST, from a Blob)", poly.Briefing, poly.API.Total)

	route := decodeStep[struct {
		Stops [][2]float64 `json:"stops"`
		Page  plannerPage  `json:"page"`
		API   plannerAPI   `json:"api"`
	}](t, rep.step(t, "route"))
	var line [][2]float64
	_ = json.Unmarshal(route.Page.Request.Body.Geometry.Coordinates, &line)
	if route.Page.Request.Body.Geometry.Type != "LineString" || !slices.Equal(line, route.Stops) || route.Page.Request.Body.BufferM != 150 {
		t.Errorf("route: the page posted %s %s buffer %v, want the 3 clicked stops %v with 150 m",
			route.Page.Request.Body.Geometry.Type, route.Page.Request.Body.Geometry.Coordinates, route.Page.Request.Body.BufferM, route.Stops)
	}
	checkPlannerQuery(t, "route", route.Page, route.API)
	if route.Page.Area.Kind != "route" || route.Page.Area.BufferM != 150 || !slices.Contains(route.Page.Drawn, "route") {
		t.Errorf("route: area %+v, drawn %v", route.Page.Area, route.Page.Drawn)
	}

	rc := rep.step(t, "row-click")
	if row, _ := rc["row"].(map[string]any); row == nil || rc["popup"] != row["name"] || rc["popupId"] != row["id"] {
		t.Errorf("a result row: clicked %v, the popup shows %v (id %v)", rc["row"], rc["popup"], rc["popupId"])
	}
	if esc := rep.step(t, "escape"); esc["panel"] != false || esc["left"] == "none" || esc["active"] != nil || esc["drawn"] != 0.0 {
		t.Errorf("Escape: %v; want the panel closed, the counts back and nothing drawn", esc)
	}

	sr := decodeStep[struct {
		API []struct {
			ID   int64   `json:"id"`
			Name string  `json:"name"`
			Lon  float64 `json:"lon"`
			Lat  float64 `json:"lat"`
		} `json:"api"`
		Listed []int64    `json:"listed"`
		Popup  string     `json:"popup"`
		Zoom   float64    `json:"zoom"`
		At     [2]float64 `json:"at"`
		Canvas [2]float64 `json:"canvas"`
	}](t, rep.step(t, "search"))
	var ids []int64
	for _, r := range sr.API {
		ids = append(ids, r.ID)
	}
	switch {
	case len(ids) == 0 || !slices.Equal(ids, sr.Listed):
		t.Errorf("search: the page lists %v, the API %v", sr.Listed, ids)
	// The popup pans the map clear of the top bar: the result is on screen, near the
	// middle, not necessarily at the center.
	case sr.Popup != sr.API[0].Name || sr.Zoom < 16 || math.Abs(sr.At[0]-sr.Canvas[0]/2) > sr.Canvas[0]/4 || sr.At[1] < 0 || sr.At[1] > sr.Canvas[1]:
		t.Errorf("search: Enter showed %q at zoom %.1f with %v (%q) at %v px in a %v px map; want its popup, zoom ≥ 16, on screen near the middle",
			sr.Popup, sr.Zoom, [2]float64{sr.API[0].Lon, sr.API[0].Lat}, sr.API[0].Name, sr.At, sr.Canvas)
	}

	checkDispatch(t, rep)
	stop()

	// The same tools on a map drawn in GCJ-02 (a server for AMap or Tencent tiles).
	t.Run("gcj02", func(t *testing.T) {
		base, stop := startServe(t, bin, dbURL, filepath.Join(dir, "spool-gcj02"), "--basemap-crs", "gcj02")
		defer stop()
		checkGCJ02Tools(t, runScript(t, ctx, node, chromium, "planner.mjs", "planner-gcj02", "--server", base, "--mode", "gcj02"))
	})
}

// near says whether two positions are within tol degrees of each other.
func near(a, b [2]float64, tol float64) bool {
	return math.Abs(a[0]-b[0]) <= tol && math.Abs(a[1]-b[1]) <= tol
}

// checkGCJ02Tools checks planner.mjs --mode gcj02: on a GCJ-02 map a clicked site
// goes to the API in WGS84 and is drawn where it was clicked, a polygon's clicked
// corners go with crs=gcj02 and come back in WGS84 at the same places, an incident
// goes in WGS84 and its lines start where it was clicked; the page lists what the API
// answers for each.
func checkGCJ02Tools(t *testing.T, rep *wallReport) {
	t.Helper()
	// 1e-7° is about 1 cm: the page writes 7 decimals.
	const tol = 2e-7
	site := decodeStep[struct {
		CRS       string      `json:"crs"`
		Clicked   [2]float64  `json:"clicked"`
		Sent      [2]float64  `json:"sent"`
		SentCRS   *string     `json:"sentCRS"`
		Shifted   [2]float64  `json:"shifted"`
		DrawnSite [2]float64  `json:"drawnSite"`
		Page      plannerPage `json:"page"`
		API       plannerAPI  `json:"api"`
	}](t, rep.step(t, "gcj02-site"))
	if site.CRS != "gcj02" {
		t.Fatalf("the page's crs is %q, want gcj02", site.CRS)
	}
	if site.SentCRS != nil || !near(site.Shifted, site.Clicked, tol) || near(site.Sent, site.Clicked, 1e-4) {
		t.Errorf("site clicked at %v (GCJ-02) was sent as %v (crs %v), which is %v in GCJ-02; want the WGS84 of the clicked point",
			site.Clicked, site.Sent, site.SentCRS, site.Shifted)
	}
	if !near(site.DrawnSite, site.Clicked, tol) {
		t.Errorf("the site is drawn at %v, clicked at %v", site.DrawnSite, site.Clicked)
	}
	checkPlannerQuery(t, "gcj02 map: site", site.Page, site.API)

	poly := decodeStep[struct {
		Corners     [][2]float64 `json:"corners"`
		AreaShifted [][2]float64 `json:"areaShifted"`
		Page        plannerPage  `json:"page"`
		API         plannerAPI   `json:"api"`
	}](t, rep.step(t, "gcj02-polygon"))
	var ring [][][2]float64
	_ = json.Unmarshal(poly.Page.Request.Body.Geometry.Coordinates, &ring)
	if !strings.Contains(poly.Page.Request.URL, "crs=gcj02") || len(ring) != 1 || len(ring[0]) != 5 || !slices.Equal(ring[0][:4], poly.Corners) {
		t.Errorf("gcj02 map: polygon posted to %s as %s; want the clicked corners %v with crs=gcj02", poly.Page.Request.URL, poly.Page.Request.Body.Geometry.Coordinates, poly.Corners)
	}
	for i, c := range poly.Corners {
		// The server's GCJ-02 → WGS84, shifted back by the page's WGS84 → GCJ-02.
		if i < len(poly.AreaShifted) && !near(poly.AreaShifted[i], c, 1e-6) {
			t.Errorf("gcj02 map: polygon corner %d clicked at %v comes back at %v", i, c, poly.AreaShifted[i])
		}
	}
	checkPlannerQuery(t, "gcj02 map: polygon", poly.Page, poly.API)

	d := decodeStep[struct {
		Clicked    [2]float64         `json:"clicked"`
		Incident   [2]float64         `json:"incident"`
		Shifted    [2]float64         `json:"shifted"`
		LinkStarts [][2]float64       `json:"linkStarts"`
		Rows       map[string][]int64 `json:"rows"`
		API        map[string][]int64 `json:"api"`
	}](t, rep.step(t, "gcj02-dispatch"))
	if !near(d.Shifted, d.Clicked, tol) || near(d.Incident, d.Clicked, 1e-4) {
		t.Errorf("gcj02 map: incident clicked at %v was asked as %v (%v in GCJ-02); want its WGS84", d.Clicked, d.Incident, d.Shifted)
	}
	if len(d.LinkStarts) == 0 {
		t.Error("gcj02 map: no line from the incident")
	}
	for _, s := range d.LinkStarts {
		if !near(s, d.Clicked, tol) {
			t.Errorf("gcj02 map: a line starts at %v, the incident was clicked at %v", s, d.Clicked)
		}
	}
	for k, ids := range d.API {
		if !slices.Equal(d.Rows[k], ids) {
			t.Errorf("gcj02 map: dispatch %s: the page lists %v, the API %v", k, d.Rows[k], ids)
		}
	}
	t.Logf("gcj02 map: site %v → %v (WGS84), incident %v → %v, %d lines from it", site.Clicked, site.Sent, d.Clicked, d.Incident, len(d.LinkStarts))
}

// sameSite checks two reports of one site (typed in WGS84 and in GCJ-02) list the
// same objects at the same distances, to a few centimeters.
func sameSite(t *testing.T, a, b plannerAPI) {
	t.Helper()
	type key struct {
		layer string
		id    int64
	}
	da := map[key]float64{}
	for _, f := range a.Features {
		da[key{f.Layer, f.ID}] = deref0(f.D)
	}
	worst := 0.0
	for _, f := range b.Features {
		d, ok := da[key{f.Layer, f.ID}]
		if !ok {
			t.Errorf("gcj02: %s %d at %v m is not in the WGS84 query's answer", f.Layer, f.ID, deref(f.D))
			continue
		}
		worst = max(worst, math.Abs(d-deref0(f.D)))
	}
	if a.Total != b.Total || worst > 0.05 {
		t.Errorf("gcj02: %d found (WGS84: %d), distances differ by up to %.3f m", b.Total, a.Total, worst)
	}
	t.Logf("gcj02: the same %d objects as the WGS84 query, distances within %.4f m", b.Total, worst)
}

func deref0(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func checkDispatch(t *testing.T, rep *wallReport) {
	t.Helper()
	d := decodeStep[struct {
		Page struct {
			Incident [2]float64               `json:"incident"`
			Kinds    map[string][]dispatchRow `json:"kinds"`
			Order    []string                 `json:"order"`
			Links    []struct {
				Kind string  `json:"kind"`
				ID   int64   `json:"id"`
				D    float64 `json:"d"`
			} `json:"links"`
			Labels []string `json:"labels"`
			Risks  []struct {
				Layer string `json:"layer"`
				N     string `json:"n"`
			} `json:"risks"`
		} `json:"page"`
		ClickedAt [2]float64 `json:"clickedAt"`
		API       struct {
			Kinds map[string][]dispatchRow `json:"kinds"`
			Risks map[string]struct {
				Total int `json:"total"`
			} `json:"risks"`
		} `json:"api"`
	}](t, rep.step(t, "dispatch"))
	if d.Page.Incident != d.ClickedAt {
		t.Errorf("dispatch: incident %v, clicked at %v", d.Page.Incident, d.ClickedAt)
	}
	if want := []string{"rescue_team", "material_depot", "shelter", "medical"}; !slices.Equal(d.Page.Order, want) {
		t.Errorf("dispatch: kinds listed %v, want %v", d.Page.Order, want)
	}
	checked := 0
	for kind, want := range d.API.Kinds {
		got := d.Page.Kinds[kind]
		if len(want) == 0 || len(got) != len(want) {
			t.Errorf("dispatch: %s: the page lists %d, the API %d (want some)", kind, len(got), len(want))
			continue
		}
		for i := range want {
			if got[i].ID != want[i].ID || got[i].D != want[i].D || got[i].Text != meters(want[i].D) {
				t.Errorf("dispatch: %s row %d: the page shows %d at %v m (%q), the API %d at %v m", kind, i, got[i].ID, got[i].D, got[i].Text, want[i].ID, want[i].D)
			}
			if i > 0 && got[i].D < got[i-1].D {
				t.Errorf("dispatch: %s: row %d at %v m after %v m: not in distance order", kind, i, got[i].D, got[i-1].D)
			}
			if got[i].Checked != (i == 0) {
				t.Errorf("dispatch: %s row %d checked %v; want only the nearest checked at first", kind, i, got[i].Checked)
			}
			if kind == "shelter" && (want[i].Open == nil || !*want[i].Open) {
				t.Errorf("dispatch: shelter %d is not open", want[i].ID)
			}
			if got[i].Checked {
				checked++
			}
		}
	}
	if len(d.Page.Links) != checked || len(d.Page.Labels) != checked {
		t.Errorf("dispatch: %d lines and %d distance labels on the map, want one per checked resource (%d)", len(d.Page.Links), len(d.Page.Labels), checked)
	}
	for i, l := range d.Page.Links {
		if i < len(d.Page.Labels) && d.Page.Labels[i] != meters(l.D) {
			t.Errorf("dispatch: the line to %s %d is labelled %q, want %q", l.Kind, l.ID, d.Page.Labels[i], meters(l.D))
		}
	}
	for _, r := range d.Page.Risks {
		if want := d.API.Risks[r.Layer].Total; strings.ReplaceAll(r.N, ",", "") != strconv.Itoa(want) {
			t.Errorf("dispatch: risks of %s: the page says %s, the API %d", r.Layer, r.N, want)
		}
	}
	if len(d.Page.Risks) != len(d.API.Risks) {
		t.Errorf("dispatch: risks of %d layers listed, the API has %d", len(d.Page.Risks), len(d.API.Risks))
	}
	t.Logf("dispatch at %v: %d kinds as the API answers, %d lines %v", d.Page.Incident, len(d.API.Kinds), len(d.Page.Links), d.Page.Labels)

	c := decodeStep[struct {
		Unchecked struct {
			Links  int `json:"links"`
			Labels int `json:"labels"`
		} `json:"unchecked"`
		URL      string        `json:"url"`
		Shelters []dispatchRow `json:"shelters"`
		API      []dispatchRow `json:"api"`
	}](t, rep.step(t, "dispatch-capacity"))
	if c.Unchecked.Links != checked-1 || c.Unchecked.Labels != checked-1 {
		t.Errorf("dispatch: after unchecking one resource %d lines and %d labels, want %d", c.Unchecked.Links, c.Unchecked.Labels, checked-1)
	}
	if !strings.Contains(c.URL, "shelter_min_capacity=2000") || len(c.API) == 0 || len(c.Shelters) != len(c.API) {
		t.Errorf("dispatch: shelters for 2,000: asked %s, the page lists %d, the API %d (want some)", c.URL, len(c.Shelters), len(c.API))
	}
	for i, s := range c.API {
		if s.Capacity == nil || *s.Capacity < 2000 || s.Open == nil || !*s.Open {
			t.Errorf("dispatch: shelter %d (capacity %v, open %v) listed for at least 2,000, open", s.ID, s.Capacity, s.Open)
		}
		if i < len(c.Shelters) && (c.Shelters[i].ID != s.ID || c.Shelters[i].D != s.D) {
			t.Errorf("dispatch: shelters for 2,000, row %d: the page %d at %v m, the API %d at %v m", i, c.Shelters[i].ID, c.Shelters[i].D, s.ID, s.D)
		}
	}

	en := rep.step(t, "english")
	labels, _ := en["labels"].([]any)
	if en["title"] != "Dispatch" || en["planner"] != "Planner" || len(labels) == 0 || !strings.HasSuffix(fmt.Sprint(labels[0]), " m") {
		t.Errorf("English: %v; want the panel and the map's distances in English", en)
	}
	if cl := rep.step(t, "closed"); cl["active"] != nil || cl["labels"] != 0.0 {
		t.Errorf("dispatch closed with Escape: %v; want no tool and no distance on the map", cl)
	}
}
