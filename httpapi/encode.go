package httpapi

import (
	"strconv"

	"riskmap/index"
)

const geojsonType = "application/geo+json"

// featureCollection encodes hits as a GeoJSON FeatureCollection. Each feature carries
// its registry properties plus layer and id (and distance_m when withDistance); the
// collection carries total (hits before paging) and the paging applied. Feature JSON
// comes pre-encoded from the index, so this only concatenates.
func featureCollection(hits []index.Hit, total, offset int, withDistance bool) []byte {
	size := 96
	for _, h := range hits {
		size += h.Rec.JSONSize()
	}
	b := make([]byte, 0, size)
	b = append(b, `{"type":"FeatureCollection","total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, int64(offset), 10)
	b = append(b, `,"returned":`...)
	b = strconv.AppendInt(b, int64(len(hits)), 10)
	b = append(b, `,"features":[`...)
	for i, h := range hits {
		if i > 0 {
			b = append(b, ',')
		}
		b = h.Rec.AppendGeoJSON(b, h.Distance, withDistance)
	}
	return append(b, "]}"...)
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
