package httpapi

import (
	"riskmap/index"
)

const geojsonType = "application/geo+json"

// featureCollection encodes hits as a GeoJSON FeatureCollection (see
// index.AppendFeatureCollection).
func featureCollection(hits []index.Hit, total, offset int, withDistance bool) []byte {
	return index.AppendFeatureCollection(nil, hits, total, offset, withDistance)
}

// page cuts hits to [offset, offset+limit); limit 0 means no limit.
func page(hits []index.Hit, offset, limit int) []index.Hit {
	if offset >= len(hits) {
		return nil
	}
	hits = hits[offset:]
	if limit > 0 && limit < len(hits) {
		hits = hits[:limit]
	}
	return hits
}
