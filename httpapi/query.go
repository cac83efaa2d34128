package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"riskmap/index"
)

// MaxRouteVertices bounds a route line.
const MaxRouteVertices = 10_000

// queryBody is the JSON body of POST /api/v1/query.
type queryBody struct {
	// Geometry is a GeoJSON Point, LineString (a route), Polygon or MultiPolygon, in
	// WGS84 lon/lat degrees.
	Geometry json.RawMessage `json:"geometry"`
	// BufferM is the distance in meters around a route (required for a LineString).
	BufferM *float64 `json:"buffer_m"`
	// K and RadiusM, for a Point, work as k and radius of GET /api/v1/nearby.
	K       *int     `json:"k"`
	RadiusM *float64 `json:"radius_m"`
	// Within, for a polygon: features lying inside instead of intersecting it.
	Within bool `json:"within"`
	Limit  *int `json:"limit"`
	Offset *int `json:"offset"`
	// BBox [min lon, min lat, max lon, max lat] instead of a geometry: the features
	// whose bounds meet the box.
	BBox []float64 `json:"bbox"`
	// Filters use the filter grammar: {"layers": "risk_points", "grade": ["major"]}.
	Filters map[string]any `json:"filters"`
}

// queryRequest is a checked query.
type queryRequest struct {
	point   orb.Point
	route   orb.LineString
	polygon orb.MultiPolygon
	bbox    orb.Bound
	kind    string // "point", "route", "polygon" or "bbox"
	buffer  float64
	k       int // 0: radius query
	radius  float64
	within  bool
	limit   int
	offset  int
	filters url.Values
}

// parseQueryBody checks a POST /api/v1/query body. Every error names the property.
func parseQueryBody(body []byte) (queryRequest, error) {
	// Unknown properties are an error, not ignored: check the keys first.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return queryRequest{}, badParam("body", "must be a JSON object: %v", errOr(err, "null"))
	}
	for name := range raw {
		switch name {
		case "geometry", "bbox", "buffer_m", "k", "radius_m", "within", "limit", "offset", "filters":
		default:
			return queryRequest{}, badParam(name, "unknown property; the body takes geometry or bbox, buffer_m, k, radius_m, within, limit, offset, filters")
		}
	}
	var qb queryBody
	if err := json.Unmarshal(body, &qb); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return queryRequest{}, badParam(typ.Field, "must be %s", typ.Type)
		}
		return queryRequest{}, badParam("body", "%v", err)
	}
	hasGeometry := len(qb.Geometry) != 0 && string(qb.Geometry) != "null"
	if qb.BBox != nil {
		if hasGeometry {
			return queryRequest{}, badParam("bbox", "give either geometry or bbox, not both")
		}
		return parseBBoxQuery(qb)
	}
	if !hasGeometry {
		return queryRequest{}, badParam("geometry", "is required: a GeoJSON Point, LineString, Polygon or MultiPolygon (or give bbox)")
	}
	g, err := geojson.UnmarshalGeometry(qb.Geometry)
	if err != nil || g == nil || g.Geometry() == nil {
		return queryRequest{}, badParam("geometry", "is not a GeoJSON geometry: %v", err)
	}
	req := queryRequest{within: qb.Within}
	if qb.Offset != nil {
		if *qb.Offset < 0 || *qb.Offset > MaxLimit {
			return req, badParam("offset", "%d is outside 0..%d", *qb.Offset, MaxLimit)
		}
		req.offset = *qb.Offset
	}
	if qb.Limit != nil {
		if *qb.Limit < 1 || *qb.Limit > MaxLimit {
			return req, badParam("limit", "%d is outside 1..%d", *qb.Limit, MaxLimit)
		}
		req.limit = *qb.Limit
	}
	only := func(kind string, names ...string) error {
		set := map[string]bool{"buffer_m": qb.BufferM != nil, "k": qb.K != nil, "radius_m": qb.RadiusM != nil, "within": qb.Within}
		for name, present := range set {
			allowed := false
			for _, n := range names {
				allowed = allowed || n == name
			}
			if present && !allowed {
				return badParam(name, "does not apply to a %s query", kind)
			}
		}
		return nil
	}
	switch v := g.Geometry().(type) {
	case orb.Point:
		req.kind = "point"
		if err := only("point", "k", "radius_m"); err != nil {
			return req, err
		}
		if req.point, err = checkPoint(v, "geometry", "geometry"); err != nil {
			return req, err
		}
		if qb.RadiusM != nil {
			if err := checkDistance("radius_m", *qb.RadiusM); err != nil {
				return req, err
			}
			req.radius = *qb.RadiusM
		}
		switch {
		case qb.K != nil:
			if *qb.K < 1 || *qb.K > MaxK {
				return req, badParam("k", "%d is outside 1..%d", *qb.K, MaxK)
			}
			req.k = *qb.K
		case qb.RadiusM == nil:
			req.k = 10
		}
	case orb.LineString:
		req.kind = "route"
		if err := only("route", "buffer_m"); err != nil {
			return req, err
		}
		if qb.BufferM == nil {
			return req, badParam("buffer_m", "is required for a route: the distance in meters around the line")
		}
		if err := checkDistance("buffer_m", *qb.BufferM); err != nil {
			return req, err
		}
		req.buffer = *qb.BufferM
		if len(v) > MaxRouteVertices {
			return req, badParam("geometry", "the route has %d vertices, the limit is %d", len(v), MaxRouteVertices)
		}
		distinct := map[orb.Point]bool{}
		for _, p := range v {
			if _, err := checkPoint(p, "geometry", "geometry"); err != nil {
				return req, err
			}
			distinct[p] = true
		}
		if len(distinct) < 2 {
			return req, badParam("geometry", "a route needs at least two distinct points")
		}
		req.route = v
	case orb.Polygon:
		req.kind = "polygon"
		req.polygon = orb.MultiPolygon{v}
	case orb.MultiPolygon:
		req.kind = "polygon"
		req.polygon = v
	default:
		return req, badParam("geometry", "type %s is not supported: use Point, LineString, Polygon or MultiPolygon", g.Geometry().GeoJSONType())
	}
	if req.kind == "polygon" {
		if err := only("polygon", "within"); err != nil {
			return req, err
		}
		if err := index.ValidatePolygon(req.polygon); err != nil {
			return req, err
		}
	}
	if req.limit != 0 || req.offset != 0 {
		if req.kind == "point" && req.k != 0 {
			return req, badParam("limit", "paging applies to radius, route and polygon queries; use k for the nearest features")
		}
	}
	return req, parseFilters(&req, qb.Filters)
}

// parseBBoxQuery checks a bbox query: four numbers, min before max, in lon/lat range.
func parseBBoxQuery(qb queryBody) (queryRequest, error) {
	req := queryRequest{kind: "bbox"}
	if len(qb.BBox) != 4 {
		return req, badParam("bbox", "must be [min lon, min lat, max lon, max lat]")
	}
	for _, name := range []string{"buffer_m", "k", "radius_m"} {
		if name == "buffer_m" && qb.BufferM != nil || name == "k" && qb.K != nil || name == "radius_m" && qb.RadiusM != nil {
			return req, badParam(name, "does not apply to a bbox query")
		}
	}
	lo, err := checkPoint(orb.Point{qb.BBox[0], qb.BBox[1]}, "bbox", "bbox")
	if err != nil {
		return req, err
	}
	hi, err := checkPoint(orb.Point{qb.BBox[2], qb.BBox[3]}, "bbox", "bbox")
	if err != nil {
		return req, err
	}
	if lo[0] > hi[0] || lo[1] > hi[1] {
		return req, badParam("bbox", "the minimum corner must come first and lie south-west of the maximum")
	}
	req.bbox = orb.Bound{Min: lo, Max: hi}
	if qb.Offset != nil {
		req.offset = *qb.Offset
	}
	if qb.Limit != nil {
		req.limit = *qb.Limit
	}
	if req.offset < 0 || req.offset > MaxLimit || qb.Limit != nil && (req.limit < 1 || req.limit > MaxLimit) {
		return req, badParam("limit", "limit must be 1..%d and offset 0..%d", MaxLimit, MaxLimit)
	}
	return req, parseFilters(&req, qb.Filters)
}

// parseFilters converts the body's filters object to the grammar's parameters.
func parseFilters(req *queryRequest, filters map[string]any) error {
	req.filters = url.Values{}
	for name, v := range filters {
		if !index.IsFilterParam(name) {
			return badParam("filters."+name, "unknown filter")
		}
		s, err := filterValue(v)
		if err != nil {
			return badParam("filters."+name, "%v", err)
		}
		req.filters.Set(name, s)
	}
	return nil
}

// filterValue turns a JSON filter value (a string, a list of strings, a boolean or a
// number) into the grammar's text form.
func filterValue(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		if x != math.Trunc(x) {
			return "", fmt.Errorf("%v is not a whole number", x)
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("list element %d is not a string", i)
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("must be a string, a list of strings, a boolean or a number")
}

// queryPost: POST /api/v1/query — proximity by geometry: a point (k nearest or
// radius), a route with a buffer, a polygon (intersecting, or within), or a bbox.
func (s *server) queryPost(w http.ResponseWriter, r *http.Request) error {
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyLen))
	if err != nil {
		return err
	}
	req, err := parseQueryBody(body)
	if err != nil {
		return err
	}
	f, err := index.ParseFilter(s.reg, req.filters)
	if err != nil {
		return err
	}
	var hits []index.Hit
	withDistance := true
	switch req.kind {
	case "point":
		if req.k > 0 {
			maxDist := -1.0
			if req.radius > 0 {
				maxDist = req.radius
			}
			hits = s.ix.Nearest(req.point, req.k, maxDist, f)
		} else {
			hits = s.ix.Radius(req.point, req.radius, f)
		}
	case "route":
		hits = s.ix.Along(req.route, req.buffer, f)
	case "polygon":
		hits = s.ix.InPolygon(req.polygon, req.within, f)
		withDistance = false
	case "bbox":
		hits = s.ix.BBox(req.bbox, f)
		withDistance = false
	}
	writeRaw(w, geojsonType, featureCollection(page(hits, req.offset, req.limit), len(hits), req.offset, withDistance))
	return nil
}

func errOr(err error, def string) string {
	if err != nil {
		return err.Error()
	}
	return def
}
