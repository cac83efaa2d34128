package httpapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/index"
	"riskmap/layers"
)

// ogcUpdating reports whether -update was given: the golden files under
// testdata/ogc are then rewritten. The flag is shared with other tests of the
// package that may define it first.
func ogcUpdating() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	return ok && g.Get() == true
}

func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/")
	}
}

const ogcTestBase = "http://riskmap.test"

var (
	ogcDemoOnce sync.Once
	ogcDemoIx   *index.Index
	ogcDemoErr  error
)

// ogcDemoIndex is the demo dataset (demo.DefaultDemoSeed) in an index, built
// without a database once per test binary; tests must not Apply to it.
func ogcDemoIndex(t testing.TB) *index.Index {
	t.Helper()
	ogcDemoOnce.Do(func() {
		ds, err := demo.Generate(demo.DefaultDemoSeed)
		if err != nil {
			ogcDemoErr = err
			return
		}
		ogcDemoIx = index.New(layers.New())
		var ms []index.Mutation
		for _, fs := range ds.Features {
			for _, f := range fs {
				ms = append(ms, index.Mutation{Op: feature.Insert, Feature: f})
			}
		}
		_, ogcDemoErr = ogcDemoIx.Apply(ms...)
	})
	if ogcDemoErr != nil {
		t.Fatal(ogcDemoErr)
	}
	return ogcDemoIx
}

// ogcHandler serves ix with the public URL ogcTestBase (publicURL "" : the request's).
func ogcHandler(t testing.TB, ix *index.Index, publicURL string) http.Handler {
	t.Helper()
	return mustNew(t, Config{Registry: ix.Registry(), Index: ix, PublicURL: publicURL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// ogcGet requests path with the Accept header accept (none when empty).
func ogcGet(h http.Handler, path, accept string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	h.ServeHTTP(rec, req)
	return rec
}

func decode(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %.200q is not JSON: %v", rec.Body.String(), err)
	}
	return m
}

// TestOGCGolden: the landing page, conformance, collections, one collection and
// the OpenAPI definition of the demo data, against testdata/ogc.
func TestOGCGolden(t *testing.T) {
	h := ogcHandler(t, ogcDemoIndex(t), ogcTestBase)
	tests := []struct {
		path, golden, contentType string
	}{
		{"/ogc", "landing.json", "application/json"},
		{"/ogc/conformance", "conformance.json", "application/json"},
		{"/ogc/collections", "collections.json", "application/json"},
		{"/ogc/collections/rectified_roads?f=json", "collection-rectified_roads.json", "application/json"},
		{"/ogc/api", "api.json", "application/vnd.oai.openapi+json;version=3.0"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			rec := ogcGet(h, tt.path, "application/json")
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != tt.contentType {
				t.Fatalf("%s: %d %s %.300s", tt.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, rec.Body.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "ogc", tt.golden)
			if ogcUpdating() {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("%s differs from %s (run with -update if the change is meant):\n%s", tt.path, path, pretty.String())
			}
		})
	}
}

// TestOGCCollectionsExtents: one collection per layer, each with the layer's
// bounds from the index.
func TestOGCCollectionsExtents(t *testing.T) {
	ix := ogcDemoIndex(t)
	h := ogcHandler(t, ix, "")
	body := decode(t, ogcGet(h, "/ogc/collections", ""))
	cs := body["collections"].([]any)
	if len(cs) != len(ix.Registry().Layers()) {
		t.Fatalf("%d collections, want %d", len(cs), len(ix.Registry().Layers()))
	}
	for i, c := range cs {
		m := c.(map[string]any)
		l := ix.Registry().Layers()[i]
		b, _ := ix.Bounds([]string{l.Name})
		got := m["extent"].(map[string]any)["spatial"].(map[string]any)["bbox"].([]any)[0].([]any)
		want := []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
		for j := range want {
			if got[j].(float64) != want[j] {
				t.Errorf("%s extent %v, want %v", l.Name, got, want)
				break
			}
		}
		// Links from the request's host when no public URL is configured.
		self := m["links"].([]any)[0].(map[string]any)["href"].(string)
		if self != "http://example.com/ogc/collections/"+l.Name+"?f=json" {
			t.Errorf("%s self link %s", l.Name, self)
		}
	}
}

// ogcPage is what the tests read of an items response.
type ogcPage struct {
	NumberMatched  int       `json:"numberMatched"`
	NumberReturned int       `json:"numberReturned"`
	TimeStamp      string    `json:"timeStamp"`
	Links          []ogcLink `json:"links"`
	Features       []struct {
		ID         int64          `json:"id"`
		Properties map[string]any `json:"properties"`
		Geometry   map[string]any `json:"geometry"`
	} `json:"features"`
}

func (p ogcPage) link(rel string) (string, bool) {
	for _, l := range p.Links {
		if l.Rel == rel {
			return l.Href, true
		}
	}
	return "", false
}

func getPage(t testing.TB, h http.Handler, path string) ogcPage {
	t.Helper()
	rec := ogcGet(h, path, "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/geo+json" {
		t.Fatalf("%s: %d %s %.300s", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	var p ogcPage
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if p.NumberReturned != len(p.Features) {
		t.Fatalf("%s: numberReturned %d, %d features", path, p.NumberReturned, len(p.Features))
	}
	return p
}

// relative turns an absolute link of the test server into a request path.
func relative(t testing.TB, href string) string {
	t.Helper()
	if !strings.HasPrefix(href, ogcTestBase+"/ogc/") {
		t.Fatalf("link %s is not under %s/ogc/", href, ogcTestBase)
	}
	return strings.TrimPrefix(href, ogcTestBase)
}

// TestOGCPagingWholeLayer: following next links from the first page through every
// layer yields every id of the index exactly once, in ascending order; prev leads
// back.
func TestOGCPagingWholeLayer(t *testing.T) {
	ix := ogcDemoIndex(t)
	h := ogcHandler(t, ix, ogcTestBase)
	for _, l := range ix.Registry().Layers() {
		t.Run(l.Name, func(t *testing.T) {
			var want []int64
			for _, hit := range ix.BBox(index.World, index.Filter{Layers: []string{l.Name}, MinCapacity: -1}) {
				want = append(want, hit.Rec.ID)
			}
			slices.Sort(want)
			var got []int64
			path := "/ogc/collections/" + l.Name + "/items?limit=1000"
			pages := 0
			for {
				p := getPage(t, h, path)
				pages++
				if p.NumberMatched != len(want) {
					t.Fatalf("numberMatched %d, the index holds %d", p.NumberMatched, len(want))
				}
				for _, f := range p.Features {
					got = append(got, f.ID)
				}
				_, hasPrev := p.link("prev")
				if hasPrev != (pages > 1) {
					t.Fatalf("page %d: prev link %v", pages, hasPrev)
				}
				if pages == 2 || pages == 3 { // following prev back: checked on two pages
					prev, _ := p.link("prev")
					if back := getPage(t, h, relative(t, prev)); back.Features[0].ID != got[len(got)-len(p.Features)-1000] {
						t.Fatalf("prev of page %d starts at %d", pages, back.Features[0].ID)
					}
				}
				next, ok := p.link("next")
				if !ok {
					break
				}
				path = relative(t, next)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%d ids over %d pages, want the index's %d (in order, each once)", len(got), pages, len(want))
			}
			if wantPages := (len(want) + 999) / 1000; pages != max(wantPages, 1) {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
		})
	}
}

// TestOGCItemsFilters: numberMatched and the ids of filtered requests are the
// index's own answer for the same conditions.
func TestOGCItemsFilters(t *testing.T) {
	ix := ogcDemoIndex(t)
	reg := ix.Registry()
	h := ogcHandler(t, ix, ogcTestBase)
	box := orb.Bound{Min: orb.Point{114.11, 22.54}, Max: orb.Point{114.13, 22.56}}
	boxHits := map[*index.Record]bool{}
	for _, hit := range ix.InPolygon(orb.MultiPolygon{{box.ToRing()}}, false, index.Filter{MinCapacity: -1}) {
		boxHits[hit.Rec] = true
	}
	inBox := func(r *index.Record) bool { return boxHits[r] }
	tests := []struct {
		layer, query string
		// want selects from the layer's records; grammar is the filter grammar
		// query of the same conditions (empty: want alone).
		grammar string
		want    func(*index.Record) bool
	}{
		{layers.RiskPoints, "category=fire", "category=fire", nil},
		{layers.RiskPoints, "grade=major,significant&status=open", "grade=major,significant&status=open", nil},
		{layers.RiskPoints, "min_grade=significant&subdistrict=dongmen", "min_grade=significant&subdistrict=dongmen", nil},
		{layers.Slopes, "min_grade=significant", "min_grade=significant", nil},
		{layers.WaterloggingSpots, "kind=underpass,low_road&min_warning=none", "kind=underpass,low_road&min_warning=none", nil},
		{layers.Resources, "open=true&min_capacity=500&kind=shelter", "open=true&min_capacity=500&kind=shelter", nil},
		{layers.RiskPoints, "bbox=114.11,22.54,114.13,22.56", "", inBox},
		{layers.Slopes, "bbox=114.11,22.54,0,114.13,22.56,100", "", inBox},
		{layers.RectifiedRoads, "bbox=114.11,22.54,114.13,22.56&bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84", "", inBox},
		{layers.RiskPoints, "bbox=114.11,22.54,114.13,22.56&grade=major", "grade=major", inBox},
		{layers.RectifiedRoads, "datetime=2021-01-01/..", "", func(r *index.Record) bool {
			return recordBetween(r, "2021-01-01", "9999")
		}},
		{layers.RectifiedRoads, "datetime=2020-03-01T00:00:00%2B08:00/2020-06-30", "", func(r *index.Record) bool {
			return recordBetween(r, "2020-02-29", "2020-06-30")
		}},
		{layers.RectifiedRoads, "datetime=../2020-06-30T&kind=quality_upgrade", "kind=quality_upgrade", func(r *index.Record) bool {
			return recordBetween(r, "", "2020-06-30")
		}},
		{layers.RiskPoints, "datetime=2024-01-01T00:00:00Z", "", func(*index.Record) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.layer+"?"+tt.query, func(t *testing.T) {
			v, _ := url.ParseQuery(tt.grammar)
			v.Set("layers", tt.layer)
			f, err := index.ParseFilter(reg, v)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, hit := range ix.BBox(index.World, f) {
				if tt.want == nil || tt.want(hit.Rec) {
					want = append(want, hit.Rec.ID)
				}
			}
			slices.Sort(want)
			p := getPage(t, h, "/ogc/collections/"+tt.layer+"/items?limit=100000&"+tt.query)
			var got []int64
			for _, f := range p.Features {
				got = append(got, f.ID)
			}
			if p.NumberMatched != len(want) || !slices.Equal(got, want[:min(len(want), OGCMaxLimit)]) {
				t.Errorf("numberMatched %d, %d ids; want %d", p.NumberMatched, len(got), len(want))
			}
			if _, ok := p.link("next"); ok != (len(want) > OGCMaxLimit) {
				t.Errorf("next link present: %v with %d matched", ok, len(want))
			}
			if len(want) == 0 && tt.layer != layers.RiskPoints {
				t.Errorf("the case selects nothing: it tests little")
			}
		})
	}
}

// recordBetween reports whether the record's completed_on is in [lo, hi] (days).
func recordBetween(r *index.Record, lo, hi string) bool {
	var f struct {
		Properties struct {
			CompletedOn *string `json:"completed_on"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(r.GeoJSON(), &f); err != nil || f.Properties.CompletedOn == nil {
		return false
	}
	return *f.Properties.CompletedOn >= lo && *f.Properties.CompletedOn <= hi
}

// TestOGCLimitAndOffset: the default page, the maximum, a too large limit
// answered with the maximum, an offset past the end.
func TestOGCLimitAndOffset(t *testing.T) {
	ix := ogcDemoIndex(t)
	h := ogcHandler(t, ix, ogcTestBase)
	n := ix.Count(layers.RiskPoints)
	tests := []struct {
		query          string
		returned       int
		hasNext, hasPv bool
	}{
		{"", OGCDefaultLimit, true, false},
		{"limit=10000", OGCMaxLimit, true, false},
		{"limit=99999999999999999999", OGCMaxLimit, true, false},
		{"offset=35540&limit=100", n - 35540, false, true},
		{"offset=99999", 0, false, true},
	}
	for _, tt := range tests {
		p := getPage(t, h, "/ogc/collections/risk_points/items?"+tt.query)
		_, next := p.link("next")
		_, prev := p.link("prev")
		if p.NumberReturned != tt.returned || next != tt.hasNext || prev != tt.hasPv || p.NumberMatched != n || p.TimeStamp == "" {
			t.Errorf("%s: returned %d next %v prev %v matched %d, want %d %v %v %d", tt.query, p.NumberReturned, next, prev, p.NumberMatched, tt.returned, tt.hasNext, tt.hasPv, n)
		}
		if next {
			href, _ := p.link("next")
			u, _ := url.Parse(href)
			if u.Query().Get("limit") != "10" && u.Query().Get("limit") != "10000" {
				t.Errorf("%s: next link %s", tt.query, href)
			}
		}
	}
}

// TestOGCItem: one feature is the index's GeoJSON plus links; its ETag is the
// version.
func TestOGCItem(t *testing.T) {
	ix := ogcDemoIndex(t)
	h := ogcHandler(t, ix, ogcTestBase)
	recs := ix.BBox(index.World, index.Filter{Layers: []string{layers.Slopes}, MinCapacity: -1})
	r := recs[len(recs)/2].Rec
	rec := ogcGet(h, "/ogc/collections/slopes/items/"+itoa(r.ID), "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/geo+json" || rec.Header().Get("ETag") != etag(r.Version) {
		t.Fatalf("%d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("ETag"))
	}
	got := decode(t, rec)
	links := got["links"].([]any)
	delete(got, "links")
	var want map[string]any
	if err := json.Unmarshal(r.GeoJSON(), &want); err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Errorf("feature differs from the index's:\n%s\n%s", gj, wj)
	}
	rels := map[string]bool{}
	for _, l := range links {
		rels[l.(map[string]any)["rel"].(string)] = true
	}
	if !rels["self"] || !rels["alternate"] || !rels["collection"] {
		t.Errorf("links %v", links)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestOGCErrors: malformed or unknown parameters are 400, unknown collections and
// features 404, all as the JSON error body naming the parameter.
func TestOGCErrors(t *testing.T) {
	h := ogcHandler(t, ogcDemoIndex(t), ogcTestBase)
	tests := []struct {
		path  string
		code  int
		field string
	}{
		{"/ogc/collections/risk_points/items?colour=red", 400, "colour"},
		{"/ogc/collections/risk_points/items?layers=slopes", 400, "layers"},
		{"/ogc/collections/risk_points/items?min_capacity=5", 400, "min_capacity"},
		{"/ogc/collections/slopes/items?kind=shelter", 400, "kind"},
		{"/ogc/collections/risk_points/items?grade=huge", 400, "grade"},
		{"/ogc/collections/risk_points/items?limit=0", 400, "limit"},
		{"/ogc/collections/risk_points/items?limit=ten", 400, "limit"},
		{"/ogc/collections/risk_points/items?limit=10&limit=20", 400, "limit"},
		{"/ogc/collections/risk_points/items?offset=-1", 400, "offset"},
		{"/ogc/collections/risk_points/items?bbox=1,2,3", 400, "bbox"},
		{"/ogc/collections/risk_points/items?bbox=114,23,115,22", 400, "bbox"},
		{"/ogc/collections/risk_points/items?bbox=170,20,-170,30", 400, "bbox"},
		{"/ogc/collections/risk_points/items?bbox=114,22,200,23", 400, "bbox"},
		{"/ogc/collections/risk_points/items?bbox=114,22,115,23&bbox-crs=EPSG:4326", 400, "bbox-crs"},
		{"/ogc/collections/risk_points/items?datetime=yesterday", 400, "datetime"},
		{"/ogc/collections/risk_points/items?datetime=2024-02-01/2024-01-01", 400, "datetime"},
		{"/ogc/collections/risk_points/items?f=xml", 400, "f"},
		{"/ogc/collections?bbox=1,2,3,4", 400, "bbox"},
		{"/ogc/collections/nowhere", 404, ""},
		{"/ogc/collections/nowhere/items", 404, ""},
		{"/ogc/collections/risk_points/items/0", 404, ""},
		{"/ogc/collections/risk_points/items/abc", 404, ""},
		{"/ogc/collections/risk_points/items/999999999", 404, ""},
		{"/ogc/collections/resources/items/1/extra", 404, ""},
	}
	for _, tt := range tests {
		rec := ogcGet(h, tt.path, "")
		if rec.Code != tt.code || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %s, want %d JSON", tt.path, rec.Code, rec.Header().Get("Content-Type"), tt.code)
			continue
		}
		body := decode(t, rec)
		if tt.field != "" && body["field"] != tt.field {
			t.Errorf("%s: field %v, want %s (%v)", tt.path, body["field"], tt.field, body["error"])
		}
		if body["error"] == "" {
			t.Errorf("%s: no error text", tt.path)
		}
	}
}

// TestOGCHTML: every resource has an HTML page (f=html or a browser's Accept),
// with values escaped and no script allowed.
func TestOGCHTML(t *testing.T) {
	reg := layers.New()
	ix := index.New(reg)
	evil := `<script>alert("x")</script>&`
	if _, err := ix.Apply(index.Mutation{Op: feature.Insert, Feature: feature.Feature{
		Layer: layers.RiskPoints, ID: 7, Version: 1, Geometry: orb.Point{114.12, 22.55},
		Props: map[string]any{"external_id": "RP-7", "name": evil, "category": "fire", "address": `"><img src=x onerror=alert(1)>`,
			"subdistrict": "dongmen", "cause": nil, "measures": nil, "responsible_dept": nil, "risk_grade": "major", "hazard_status": "open"},
	}}); err != nil {
		t.Fatal(err)
	}
	h := ogcHandler(t, ix, ogcTestBase)
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, path := range []string{
		"/ogc", "/ogc/conformance", "/ogc/api", "/ogc/collections", "/ogc/collections/risk_points",
		"/ogc/collections/risk_points/items", "/ogc/collections/risk_points/items/7",
		"/ogc/collections/risk_points/items?grade=major&name=%3Cb%3E",
	} {
		for _, variant := range []struct{ path, accept string }{{path, browser}, {withF(path, "html"), ""}} {
			rec := ogcGet(h, variant.path, variant.accept)
			if strings.Contains(variant.path, "name=") {
				if rec.Code != http.StatusBadRequest {
					t.Errorf("%s: %d, want 400 (name is no filter)", variant.path, rec.Code)
				}
				continue
			}
			body := rec.Body.String()
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("%s (%s): %d %s %.200s", variant.path, variant.accept, rec.Code, rec.Header().Get("Content-Type"), body)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
				t.Errorf("%s: CSP %q", variant.path, csp)
			}
			if strings.Contains(body, "<script") || strings.Contains(body, "<img") {
				t.Errorf("%s: unescaped markup in\n%s", variant.path, body)
			}
			if strings.Contains(variant.path, "/items") && !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;") {
				t.Errorf("%s: the name is not shown escaped:\n%s", variant.path, body)
			}
		}
	}
	// A JSON client (GDAL's Accept) gets JSON.
	if rec := ogcGet(h, "/ogc/collections/risk_points/items", "application/geo+json, application/json"); rec.Header().Get("Content-Type") != "application/geo+json" {
		t.Errorf("JSON Accept answered %s", rec.Header().Get("Content-Type"))
	}
}

func withF(path, f string) string {
	if strings.Contains(path, "?") {
		return path + "&f=" + f
	}
	return path + "?f=" + f
}

// TestOGCFollowsEdits: a change applied to the index shows in the next page and
// in numberMatched (the id-ordered view is made again).
func TestOGCFollowsEdits(t *testing.T) {
	reg := layers.New()
	ix := index.New(reg)
	point := func(id int64) index.Mutation {
		return index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.Resources, ID: id, Version: 1, Geometry: orb.Point{114.12, 22.55},
			Props: map[string]any{"external_id": "R" + itoa(id), "kind": "shelter", "name": "避难场所", "subdistrict": nil, "address": nil, "capacity": int64(100), "open": true, "contact_dept": nil}}}
	}
	if _, err := ix.Apply(point(3), point(1), point(2)); err != nil {
		t.Fatal(err)
	}
	h := ogcHandler(t, ix, ogcTestBase)
	ids := func() []int64 {
		var out []int64
		for _, f := range getPage(t, h, "/ogc/collections/resources/items").Features {
			out = append(out, f.ID)
		}
		return out
	}
	if got := ids(); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Fatalf("ids %v", got)
	}
	if _, err := ix.Apply(point(0+5), index.Mutation{Op: feature.Delete, Feature: feature.Feature{Layer: layers.Resources, ID: 2}}); err != nil {
		t.Fatal(err)
	}
	if got := ids(); !slices.Equal(got, []int64{1, 3, 5}) {
		t.Errorf("after the edit: ids %v", got)
	}
}
