package httpapi

import (
	"errors"
	"testing"

	"riskmap/index"
)

// FuzzParseQueryBody: any body either parses into a checked request or yields an
// error that names the property at fault; never a panic.
func FuzzParseQueryBody(f *testing.F) {
	f.Add(`{"geometry":{"type":"Point","coordinates":[114.12,22.55]},"k":3}`)
	f.Add(`{"geometry":{"type":"LineString","coordinates":[[114.1,22.5],[114.2,22.6]]},"buffer_m":200,"filters":{"grade":["major"]}}`)
	f.Add(`{"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}`)
	f.Add(`{"bbox":[114,22,115,23],"limit":5}`)
	f.Add(`{"geometry":{"type":"GeometryCollection","geometries":[]}}`)
	f.Fuzz(func(t *testing.T, body string) {
		req, err := parseQueryBody([]byte(body))
		if err != nil {
			var pe *paramError
			if !errors.As(err, &pe) && !errors.Is(err, index.ErrInvalidPolygon) {
				t.Fatalf("error %v (%T) names no property", err, err)
			}
			return
		}
		switch req.kind {
		case "point":
			if req.k == 0 && req.radius == 0 {
				t.Fatal("point query with neither k nor radius")
			}
		case "route":
			if len(req.route) < 2 || req.buffer <= 0 {
				t.Fatalf("route %v buffer %v", req.route, req.buffer)
			}
		case "polygon":
			if index.ValidatePolygon(req.polygon) != nil {
				t.Fatal("accepted an invalid polygon")
			}
		case "bbox":
		default:
			t.Fatalf("kind %q", req.kind)
		}
	})
}
