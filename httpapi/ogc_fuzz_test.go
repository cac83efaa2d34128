package httpapi

import (
	"errors"
	"net/url"
	"testing"

	"riskmap/index"
	"riskmap/layers"
)

// FuzzOGCItemsQuery: any query string of an items request is either refused with
// an error naming a parameter, or gives a page within the documented limits: limit
// 1..OGCMaxLimit, offset 0..MaxOGCOffset, a bbox inside lon/lat range with its
// minimum first, a datetime interval that does not end before it starts.
func FuzzOGCItemsQuery(f *testing.F) {
	for _, s := range []string{
		"", "limit=10", "limit=0", "limit=99999999999999999999999", "offset=5&limit=1000",
		"bbox=114.1,22.5,114.2,22.6", "bbox=114.1,22.5,0,114.2,22.6,10", "bbox=1,2,3", "bbox=NaN,1,2,3",
		"bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84&bbox=1,2,3,4",
		"datetime=2024-01-01", "datetime=2024-01-01T/..", "datetime=../2020-01-01T08:00:00%2B08:00", "datetime=/",
		"grade=major,low&status=open", "min_grade=general&grade=major", "category=fire", "kind=shelter",
		"open=true", "min_capacity=10", "layers=slopes", "f=html", "f=json&f=html", "x=1",
	} {
		f.Add(layers.RiskPoints, s)
		f.Add(layers.Resources, s)
	}
	reg := layers.New()
	f.Fuzz(func(t *testing.T, layer, raw string) {
		l, err := reg.Layer(layer)
		if err != nil {
			return
		}
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseOGCItems(reg, l, v)
		if err != nil {
			var perr *paramError
			var ferr *index.FilterError
			if !errors.As(err, &perr) && !errors.As(err, &ferr) {
				t.Fatalf("%q: error %v (%T) is neither a parameter nor a filter error", raw, err, err)
			}
			if perr != nil && perr.Field == "" || ferr != nil && ferr.Param == "" {
				t.Fatalf("%q: error %v names no parameter", raw, err)
			}
			return
		}
		if q.limit < 1 || q.limit > OGCMaxLimit || q.offset < 0 || q.offset > MaxOGCOffset {
			t.Fatalf("%q: limit %d offset %d", raw, q.limit, q.offset)
		}
		if b := q.bbox; b != nil && (b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1] || b.Min[0] < -180 || b.Max[0] > 180 || b.Min[1] < -90 || b.Max[1] > 90) {
			t.Fatalf("%q: bbox %v", raw, *b)
		}
		if w := q.when; w != nil && !w.lo.IsZero() && !w.hi.IsZero() && w.hi.Before(w.lo) {
			t.Fatalf("%q: datetime %v", raw, *w)
		}
		if q.filter.Layers != nil {
			t.Fatalf("%q: a layer list in a collection's filter", raw)
		}
	})
}
