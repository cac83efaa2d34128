package httpapi

import (
	"net/http"
)

// nearby: GET /api/v1/nearby?lon=&lat=[&k=][&radius=][&limit=&offset=][&filters]
//
//   - k given: the k nearest features (1..1000), radius if given is their maximum
//     distance;
//   - radius alone: every feature within radius meters (≤ 50 km), nearest first,
//     paged with limit and offset, total always given;
//   - neither: the 10 nearest.
//
// Answers a GeoJSON FeatureCollection; every feature has layer, id, its properties and
// distance_m, the geodesic distance in meters to its nearest point.
func (s *server) nearby(w http.ResponseWriter, r *http.Request) error {
	q, err := newQuery(r.URL.Query(), true, "lon", "lat", "k", "radius", "limit", "offset")
	if err != nil {
		return err
	}
	p, err := q.point()
	if err != nil {
		return err
	}
	radius, hasRadius, err := q.distance("radius")
	if err != nil {
		return err
	}
	k, err := q.int("k", 10, 1, MaxK)
	if err != nil {
		return err
	}
	limit, err := q.int("limit", 0, 1, MaxLimit)
	if err != nil {
		return err
	}
	offset, err := q.int("offset", 0, 0, MaxLimit)
	if err != nil {
		return err
	}
	f, err := s.filter(q)
	if err != nil {
		return err
	}
	if hasRadius && !q.has("k") {
		hits := s.ix.Radius(p, radius, f)
		writeRaw(w, geojsonType, featureCollection(page(hits, offset, limit), len(hits), offset, true))
		return nil
	}
	if q.has("limit") || q.has("offset") {
		return badParam("limit", "paging applies to radius queries; use k for the nearest features")
	}
	maxDist := -1.0
	if hasRadius {
		maxDist = radius
	}
	hits := s.ix.Nearest(p, k, maxDist, f)
	writeRaw(w, geojsonType, featureCollection(hits, len(hits), 0, true))
	return nil
}
