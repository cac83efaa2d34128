package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzTileRequest: any tile path segments, query and request headers give a tile
// or a JSON 4xx — never a panic or a 5xx.
func FuzzTileRequest(f *testing.F) {
	h := proximityHandler(f)
	f.Add("all", "15", "26733", "14262", "grade=major&crs=gcj02", "gzip;q=0.5", `"x"`)
	f.Add("risk_points,resources", "0", "0", "0", "cluster=false", "*", "*")
	f.Add("slopes", "22", "4194303", "4194303", "layers=x", "", "W/\"a\", b")
	f.Fuzz(func(t *testing.T, layersSeg, z, x, y, rawQuery, acceptEnc, ifNoneMatch string) {
		target := "/tiles/" + url.PathEscape(layersSeg) + "/" + url.PathEscape(z) + "/" + url.PathEscape(x) + "/" + url.PathEscape(y) + ".mvt"
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			return
		}
		req.URL.RawQuery = rawQuery
		req.Header.Set("Accept-Encoding", acceptEnc)
		req.Header.Set("If-None-Match", ifNoneMatch)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusNotModified, http.StatusMovedPermanently: // mux redirects unclean paths
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Fatalf("%s?%s: %d with Content-Type %q", target, rawQuery, rec.Code, ct)
			}
		default:
			t.Fatalf("%s?%s: status %d: %s", target, rawQuery, rec.Code, rec.Body)
		}
	})
}
