package httpapi

import (
	"errors"
	"testing"

	"riskmap/index"
)

// FuzzParseReportBody: any report body either parses into an area the report can
// build (a point with a radius, a route with a buffer, a valid polygon — never k,
// bbox or paging) or yields an error naming the property at fault; never a panic.
func FuzzParseReportBody(f *testing.F) {
	f.Add(`{"geometry":{"type":"Point","coordinates":[114.12,22.55]}}`)
	f.Add(`{"geometry":{"type":"Point","coordinates":[114.12,22.55]},"radius_m":800,"title":"东门"}`)
	f.Add(`{"geometry":{"type":"LineString","coordinates":[[114.1,22.5],[114.2,22.6]]},"buffer_m":200,"filters":{"grade":["major"]}}`)
	f.Add(`{"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}`)
	f.Add(`{"bbox":[114,22,115,23]}`)
	f.Add(`{"geometry":{"type":"Point","coordinates":[114.12,22.55]},"k":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		req, title, err := parseReportBody([]byte(body))
		if err != nil {
			var pe *paramError
			if !errors.As(err, &pe) && !errors.Is(err, index.ErrInvalidPolygon) {
				t.Fatalf("error %v (%T) names no property", err, err)
			}
			return
		}
		if len([]rune(title)) > MaxTitleLen {
			t.Fatalf("accepted a title of %d characters", len([]rune(title)))
		}
		switch req.kind {
		case "point":
			if req.k != 0 || req.radius <= 0 {
				t.Fatalf("point report with k %d, radius %v", req.k, req.radius)
			}
		case "route":
			if len(req.route) < 2 || req.buffer <= 0 {
				t.Fatalf("route %v buffer %v", req.route, req.buffer)
			}
		case "polygon":
			if index.ValidatePolygon(req.polygon) != nil {
				t.Fatal("accepted an invalid polygon")
			}
		default:
			t.Fatalf("kind %q", req.kind)
		}
	})
}
