package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"riskmap/export"
	"riskmap/feature"
	"riskmap/geo"
	"riskmap/index"
	"riskmap/internal/syncbuf"
	"riskmap/layers"
)

// exportBytes is what the export package writes for req: the bytes riskmap export
// writes on the command line.
func exportBytes(t *testing.T, ix *index.Index, req export.Request) []byte {
	t.Helper()
	e, err := export.Prepare(ix, req)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := e.WriteTo(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestExportFormats: each format answers 200 with its media type, a download name
// with the layer and the date, the feature count, and the very bytes the export
// package (and so the command line) writes.
func TestExportFormats(t *testing.T) {
	h, ix := proximityHandlerIndex(t)
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("20060102")
	for _, c := range []struct {
		query, ctype, file string
		req                export.Request
		count              int
	}{
		{"layer=risk_points", "application/geo+json", "riskmap-risk_points-" + today + ".geojson",
			export.Request{Layer: layers.RiskPoints, Format: export.GeoJSON}, 20},
		{"layer=risk_points&format=csv", "text/csv; charset=utf-8", "riskmap-risk_points-" + today + ".csv",
			export.Request{Layer: layers.RiskPoints, Format: export.CSV}, 20},
		{"layer=resources&format=gpkg", "application/geopackage+sqlite3", "riskmap-resources-" + today + ".gpkg",
			export.Request{Layer: layers.Resources, Format: export.GPKG}, 5},
		{"layer=waterlogging_spots&format=csv&crs=gcj02", "text/csv; charset=utf-8", "riskmap-waterlogging_spots-" + today + "-gcj02.csv",
			export.Request{Layer: layers.WaterloggingSpots, Format: export.CSV, CRS: export.GCJ02}, 1},
		{"layer=slopes&format=geojson", "application/geo+json", "riskmap-slopes-" + today + ".geojson",
			export.Request{Layer: layers.Slopes, Format: export.GeoJSON}, 0},
	} {
		t.Run(c.query, func(t *testing.T) {
			rec := raw(h, http.MethodGet, "/api/v1/export?"+c.query, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != c.ctype {
				t.Errorf("Content-Type %q, want %q", ct, c.ctype)
			}
			if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="`+c.file+`"` {
				t.Errorf("Content-Disposition %q, want the file %s", cd, c.file)
			}
			if n := rec.Header().Get("X-Feature-Count"); n != fmt.Sprint(c.count) {
				t.Errorf("X-Feature-Count %s, want %d", n, c.count)
			}
			if want := exportBytes(t, ix, c.req); !bytes.Equal(rec.Body.Bytes(), want) {
				t.Errorf("the body (%d bytes) is not what the export package writes (%d bytes)", rec.Body.Len(), len(want))
			}
			// HEAD: the same headers, no body.
			head := raw(h, http.MethodHead, "/api/v1/export?"+c.query, "")
			if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Type") != c.ctype ||
				head.Header().Get("Content-Disposition") != rec.Header().Get("Content-Disposition") ||
				head.Header().Get("X-Feature-Count") != rec.Header().Get("X-Feature-Count") {
				t.Errorf("HEAD: %d, %d bytes, headers %v", head.Code, head.Body.Len(), head.Header())
			}
		})
	}
}

// exportIDs returns the ids of a GeoJSON export's features, in order.
func exportIDs(t *testing.T, h http.Handler, query string) string {
	t.Helper()
	rec := raw(h, http.MethodGet, "/api/v1/export?"+query, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
	}
	fc, err := geojson.UnmarshalFeatureCollection(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	var ids []string
	for _, f := range fc.Features {
		ids = append(ids, fmt.Sprint(f.ID))
	}
	return strings.Join(ids, ",")
}

// TestExportSelection: the filter grammar and bbox select features, in WGS84 and
// in GCJ-02 coordinates, and crs=gcj02 moves each coordinate by the GCJ-02 offset.
func TestExportSelection(t *testing.T) {
	h, _ := proximityHandlerIndex(t)
	// Risk point i (1..20) lies at (114.12 + 0.001(i-1), 22.55), grade
	// [low general significant major][(i-1)%4].
	gcj := geo.WGS84ToGCJ02(orb.Point{114.1245, 22.55})
	for _, c := range []struct{ query, want string }{
		{"layer=risk_points&grade=major", "4,8,12,16,20"},
		{"layer=risk_points&min_grade=significant&bbox=114.12,22.54,114.128,22.56", "3,4,7,8"},
		{"layer=risk_points&bbox=114.1205,22.5,114.1225,22.6", "2,3"},
		{"layer=risk_points&bbox=114.1205,22.5,114.1225,22.6&crs=wgs84", "2,3"},
		{fmt.Sprintf("layer=risk_points&crs=gcj02&bbox=%f,%f,%f,%f", gcj[0]-0.0007, gcj[1]-0.0007, gcj[0]+0.0007, gcj[1]+0.0007), "5,6"},
		{"layer=resources&open=true&min_capacity=900", "3,4,5"},
		{"layer=resources&kind=shelter", "1,2"},
		{"layer=resources&grade=major", ""},
		{"layer=waterlogging_spots&min_warning=orange", "1"},
		{"layer=risk_points&bbox=0,0,1,1", ""},
	} {
		if got := exportIDs(t, h, c.query); got != c.want {
			t.Errorf("%s: ids %q, want %q", c.query, got, c.want)
		}
	}
	// crs=gcj02: the same features, each point moved by the offset (570-620 m).
	rec := raw(h, http.MethodGet, "/api/v1/export?layer=resources&format=csv&crs=gcj02", "")
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(rec.Body.Bytes(), []byte("\uFEFF")))).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("%d rows, %v: %s", len(rows), err, rec.Body)
	}
	wgs := raw(h, http.MethodGet, "/api/v1/export?layer=resources&format=csv", "")
	wrows, _ := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(wgs.Body.Bytes(), []byte("\uFEFF")))).ReadAll()
	lon := len(rows[0]) - 4
	for i := 1; i < len(rows); i++ {
		var g, w orb.Point
		fmt.Sscan(rows[i][lon], &g[0])
		fmt.Sscan(rows[i][lon+1], &g[1])
		fmt.Sscan(wrows[i][lon], &w[0])
		fmt.Sscan(wrows[i][lon+1], &w[1])
		if want := geo.WGS84ToGCJ02(w); g != want {
			t.Errorf("row %d: gcj02 %v, want %v (from %v)", i, g, want, w)
		}
		if d := geo.Distance(g, w); d < 500 || d > 700 {
			t.Errorf("row %d: moved %.0f m", i, d)
		}
	}
}

// TestExportBadInput: every bad parameter is a 400 naming it, with no download
// headers, for GET and HEAD.
func TestExportBadInput(t *testing.T) {
	h := proximityHandler(t)
	for _, c := range []struct{ query, field, code string }{
		{"", "layer", "bad_request"},
		{"format=csv", "layer", "bad_request"},
		{"layer=nope", "layer", "unknown_layer"},
		{"layer=risk_points&format=xlsx", "format", "bad_request"},
		{"layer=risk_points&format=", "format", "bad_request"},
		{"layer=risk_points&crs=bd09", "crs", "bad_request"},
		{"layer=risk_points&crs=", "crs", "bad_request"},
		{"layer=risk_points&bbox=1,2,3", "bbox", "bad_request"},
		{"layer=risk_points&bbox=114.2,22,114.1,23", "bbox", "bad_request"},
		{"layer=risk_points&bbox=114,22,115,NaN", "bbox", "bad_request"},
		{"layer=risk_points&grade=huge", "grade", "bad_filter"},
		{"layer=risk_points&min_capacity=-1", "min_capacity", "bad_filter"},
		{"layer=risk_points&layers=all", "layers", "bad_request"},
		{"layer=risk_points&limit=10", "limit", "bad_request"},
		{"layer=risk_points&layer=slopes", "layer", "bad_request"},
		{"layer=risk_points&format=csv&format=gpkg", "format", "bad_request"},
	} {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			rec := raw(h, m, "/api/v1/export?"+c.query, "")
			if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Disposition") != "" ||
				rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("%s %q: %d %v %s", m, c.query, rec.Code, rec.Header(), rec.Body)
				continue
			}
			if m == http.MethodHead {
				continue
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Field != c.field || body.Code != c.code {
				t.Errorf("%q: field %q code %q (%v), want %q %q: %s", c.query, body.Field, body.Code, err, c.field, c.code, rec.Body)
			}
		}
	}
	if rec := raw(h, http.MethodPost, "/api/v1/export?layer=risk_points", ""); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

// bigRiskIndex is an index of 20,000 risk points named name (a long name makes
// an export of several megabytes), on a 200 × 100 grid in Luohu.
func bigRiskIndex(t *testing.T, name string) (*layers.Registry, *index.Index) {
	t.Helper()
	reg := layers.New()
	ix := index.New(reg)
	ms := make([]index.Mutation, 0, 20000)
	for i := range 20000 {
		ms = append(ms, index.Mutation{Op: feature.Insert, Feature: feature.Feature{Layer: layers.RiskPoints, ID: int64(i + 1), Version: 1,
			Geometry: orb.Point{114.1 + float64(i%200)*0.0005, 22.5 + float64(i/200)*0.0005},
			Props: map[string]any{"external_id": fmt.Sprintf("RP-%d", i+1), "name": name,
				"category": "fire", "address": nil, "subdistrict": nil, "cause": nil, "measures": nil, "responsible_dept": nil,
				"risk_grade": "low", "hazard_status": "open"}}})
	}
	if _, err := ix.Apply(ms...); err != nil {
		t.Fatal(err)
	}
	return reg, ix
}

// TestExportClientGone: a client that goes away in the middle of a download ends
// the stream — through the request's context or the failed write, whichever the
// server meets first: it stops encoding (and says so in its log) instead of
// writing the whole layer into a dead connection.
func TestExportClientGone(t *testing.T) {
	reg, ix := bigRiskIndex(t, "一个相当长的风险点名称，为了让导出足够大"+strings.Repeat("长", 100))
	var logs syncbuf.Buffer
	srv := httptest.NewServer(mustNew(t, Config{Registry: reg, Index: ix, Logger: slog.New(slog.NewTextHandler(&logs, nil)), RequestTimeout: time.Minute}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/export?layer=risk_points&format=geojson", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
	if _, err := io.ReadFull(bufio.NewReader(resp.Body), make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	waitUntil(t, 30*time.Second, "the server to stop the export", func() bool {
		return strings.Contains(logs.String(), "export cut short")
	})

}

// TestExportOutlivesRequestTimeout: a download is bounded by ExportTimeout, not by
// the request timeout of API answers: a client reading slowly past RequestTimeout
// still gets the whole layer, while an ordinary route times out.
func TestExportOutlivesRequestTimeout(t *testing.T) {
	reg, ix := bigRiskIndex(t, "风险点"+strings.Repeat("长", 200))
	const timeout = 200 * time.Millisecond
	srv := httptest.NewServer(mustNew(t, Config{Registry: reg, Index: ix, RequestTimeout: timeout}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/export?layer=risk_points&format=csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	start := time.Now()
	var rows int
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rows++
		if rows%2000 == 0 {
			time.Sleep(timeout / 2) // a slow client: the whole read takes 5 request timeouts (12 MB, more than socket buffers hold)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("after %d rows and %v: %v", rows, time.Since(start), err)
	}
	if rows != 20001 || time.Since(start) < timeout {
		t.Fatalf("%d lines (want the header and 20000 rows) in %v", rows, time.Since(start))
	}
}

// FuzzExportQuery: any query string is either an export (200, a download) or a
// 400 JSON error naming a parameter; never another status, never a panic.
func FuzzExportQuery(f *testing.F) {
	h := proximityHandler(f)
	for _, q := range []string{"layer=risk_points", "layer=resources&format=csv&crs=gcj02&bbox=114,22,115,23",
		"layer=slopes&format=gpkg&min_grade=low", "layer=risk_points&bbox=1,2,3,4,5", "layer=%00", "layers=all",
		"layer=risk_points&grade=major,low&open=true&min_capacity=3"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/export", nil)
		req.URL.RawQuery = q
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if !strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment; ") {
				t.Fatalf("%q: 200 without a download name", q)
			}
		case http.StatusBadRequest:
			var body errorBody
			// (a parameter with an empty name is named "")
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code == "" || body.Field == "" && !strings.HasPrefix(body.Error, ": ") {
				t.Fatalf("%q: 400 %s names no parameter", q, rec.Body)
			}
		default:
			t.Fatalf("%q: %d %s", q, rec.Code, rec.Body)
		}
	})
}
