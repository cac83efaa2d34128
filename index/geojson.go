package index

import "strconv"

// AppendFeatureCollection appends hits as a GeoJSON FeatureCollection. Each feature
// carries its registry properties plus layer and id (and distance_m, meters, when
// withDistance); the collection carries total (hits before paging), offset (the paging
// applied) and returned. Feature JSON comes pre-encoded from the records, so this
// only concatenates.
func AppendFeatureCollection(b []byte, hits []Hit, total, offset int, withDistance bool) []byte {
	size := 96
	for _, h := range hits {
		size += h.Rec.JSONSize()
	}
	b = grow(b, size)
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

// grow makes room for n more bytes in b.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}
