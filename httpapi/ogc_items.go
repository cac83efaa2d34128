package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"

	"riskmap/index"
	"riskmap/layers"
)

// ogcQueryable is a parameter of the filter grammar (index.ParseFilter) and the
// property it tests.
type ogcQueryable struct {
	param, field string
}

// ogcFilterFields maps the filter grammar's parameters to properties; "layers" is
// left out: the collection is the layer.
var ogcFilterFields = []ogcQueryable{
	{"grade", "risk_grade"}, {"min_grade", "risk_grade"},
	{"warning", "warning_level"}, {"min_warning", "warning_level"},
	{"category", "category"}, {"kind", "kind"}, {"status", "hazard_status"},
	{"subdistrict", "subdistrict"}, {"open", "open"}, {"min_capacity", "capacity"},
}

// ogcQueryables are the filter parameters that apply to layer l: those whose
// property l has. Any other filter parameter is an unknown parameter there.
func ogcQueryables(l *layers.Layer) []ogcQueryable {
	var qs []ogcQueryable
	for _, q := range ogcFilterFields {
		if _, ok := l.Field(q.field); ok {
			qs = append(qs, q)
		}
	}
	return qs
}

// ogcItemsParams are the items route's own parameters.
var ogcItemsParams = []string{"f", "bbox", "bbox-crs", "datetime", "limit", "offset"}

// ogcItemsQuery is a checked items request.
type ogcItemsQuery struct {
	bbox          *orb.Bound
	limit, offset int
	filter        index.Filter
	// when is the datetime parameter; nil when absent.
	when *ogcInterval
}

// ogcInterval is a closed interval of instants; a zero end is open.
type ogcInterval struct {
	lo, hi time.Time
}

// MaxOGCOffset bounds offset (features skipped): far more than any layer holds.
const MaxOGCOffset = 100_000_000

// parseOGCItems checks the items parameters of layer l's collection: bbox (CRS84
// degrees, 4 or 6 numbers, the heights ignored), bbox-crs (CRS84 only), limit
// (1.., default OGCDefaultLimit, above OGCMaxLimit answered with the maximum),
// offset (0..MaxOGCOffset), datetime (an RFC 3339 instant or date, or an interval
// "start/end" with ".." or nothing for an open end) and the filter parameters that
// apply to l (ogcQueryables), with the filter grammar. Every error names the
// parameter; an unknown parameter is an error.
func parseOGCItems(reg *layers.Registry, l *layers.Layer, v url.Values) (ogcItemsQuery, error) {
	allowed := slices.Clone(ogcItemsParams)
	for _, q := range ogcQueryables(l) {
		allowed = append(allowed, q.param)
	}
	if v.Has("") {
		return ogcItemsQuery{}, badParam("query", "a parameter has no name")
	}
	q, err := newQuery(v, false, allowed...)
	if err != nil {
		return ogcItemsQuery{}, err
	}
	out := ogcItemsQuery{limit: OGCDefaultLimit}
	if q.has("limit") {
		s := v.Get("limit")
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil && !isOverflow(err) || n < 1 {
			return out, badParam("limit", "%q is not a whole number of at least 1", s)
		}
		out.limit = int(min(n, OGCMaxLimit))
	}
	if out.offset, err = q.int("offset", 0, 0, MaxOGCOffset); err != nil {
		return out, err
	}
	if v.Has("bbox-crs") && v.Get("bbox-crs") != crs84 {
		return out, badParam("bbox-crs", "%q is not supported; the only CRS is %s", v.Get("bbox-crs"), crs84)
	}
	if q.has("bbox") {
		b, err := parseOGCBBox(v.Get("bbox"))
		if err != nil {
			return out, err
		}
		out.bbox = &b
	}
	if q.has("datetime") {
		iv, err := parseOGCDatetime(v.Get("datetime"))
		if err != nil {
			return out, err
		}
		out.when = &iv
	}
	if out.filter, err = index.ParseFilter(reg, v); err != nil {
		return out, err
	}
	// Enum codes of another layer's field of the same name (kind) are unknown here.
	for _, p := range []struct{ param, field string }{{"category", "category"}, {"kind", "kind"}, {"status", "hazard_status"}, {"subdistrict", "subdistrict"}} {
		if !v.Has(p.param) {
			continue
		}
		fd, _ := l.Field(p.field)
		for _, c := range strings.Split(v.Get(p.param), ",") {
			if c = strings.TrimSpace(c); fd.Enum != nil && !fd.Enum.Has(c) {
				return out, badParam(p.param, "%q is not one of %s in %s", c, strings.Join(fd.Enum.Codes(), ", "), l.Name)
			}
		}
	}
	return out, nil
}

func isOverflow(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange && !strings.HasPrefix(ne.Num, "-")
}

// parseOGCBBox reads "minLon,minLat,maxLon,maxLat" (or six numbers with heights
// after each corner's latitude) in CRS84 degrees.
func parseOGCBBox(s string) (orb.Bound, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return orb.Bound{}, badParam("bbox", "%q must be 4 numbers (min lon, min lat, max lon, max lat) or 6 with heights", s)
	}
	var x []float64
	for _, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return orb.Bound{}, badParam("bbox", "%q is not a number", p)
		}
		x = append(x, f)
	}
	if len(x) == 6 {
		x = []float64{x[0], x[1], x[3], x[4]}
	}
	lo, err := checkPoint(orb.Point{x[0], x[1]}, "bbox", "bbox")
	if err != nil {
		return orb.Bound{}, err
	}
	hi, err := checkPoint(orb.Point{x[2], x[3]}, "bbox", "bbox")
	if err != nil {
		return orb.Bound{}, err
	}
	if lo[1] > hi[1] {
		return orb.Bound{}, badParam("bbox", "the minimum latitude %v is north of the maximum %v", lo[1], hi[1])
	}
	if lo[0] > hi[0] {
		return orb.Bound{}, badParam("bbox", "a box across the antimeridian (min lon %v > max lon %v) is not supported", lo[0], hi[0])
	}
	return orb.Bound{Min: lo, Max: hi}, nil
}

// parseOGCDatetime reads an instant or an interval. A date alone stands for its
// whole day (UTC); an interval's ends are "..", empty (open) or instants.
func parseOGCDatetime(s string) (ogcInterval, error) {
	bad := func() (ogcInterval, error) {
		return ogcInterval{}, badParam("datetime", "%q is not an RFC 3339 date or date-time, or an interval of two with / (.. for an open end)", s)
	}
	parts := strings.Split(s, "/")
	if len(parts) > 2 {
		return bad()
	}
	// end reads one end: a date is its first instant (start) or last (end).
	end := func(p string, last bool) (time.Time, bool) {
		if t, err := time.Parse(time.RFC3339Nano, p); err == nil {
			return t.UTC(), true
		}
		// GDAL writes a date alone as "2024-03-05T".
		if d, err := time.Parse(time.DateOnly, strings.TrimSuffix(p, "T")); err == nil {
			if last {
				return d.Add(24*time.Hour - time.Nanosecond), true
			}
			return d, true
		}
		return time.Time{}, false
	}
	var iv ogcInterval
	if len(parts) == 1 {
		var ok bool
		if iv.lo, ok = end(s, false); !ok {
			return bad()
		}
		iv.hi, _ = end(s, true)
		return iv, nil
	}
	if (parts[0] == "" || parts[0] == "..") && (parts[1] == "" || parts[1] == "..") {
		return bad()
	}
	var ok bool
	if parts[0] != "" && parts[0] != ".." {
		if iv.lo, ok = end(parts[0], false); !ok {
			return bad()
		}
	}
	if parts[1] != "" && parts[1] != ".." {
		if iv.hi, ok = end(parts[1], true); !ok {
			return bad()
		}
	}
	if !iv.lo.IsZero() && !iv.hi.IsZero() && iv.hi.Before(iv.lo) {
		return ogcInterval{}, badParam("datetime", "%q ends before it starts", s)
	}
	return iv, nil
}

// temporalField is the index of layer l's temporal property (its date field), or
// -1 without one.
func temporalField(l *layers.Layer) int {
	for i, f := range l.Fields {
		if f.Type == layers.TypeDate {
			return i
		}
	}
	return -1
}

// recordDate is the date of field fi of rec (a UTC midnight); ok is false for null.
func recordDate(rec *index.Record, fi int) (time.Time, bool) {
	v, ok := rec.Prop(fi)
	if !ok || v.Kind != layers.PackedText {
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, v.Text)
	return d, err == nil
}

// dateMatch returns the datetime condition of a layer: a feature passes when its
// temporal property's day meets the interval. A layer without one has no feature
// with a temporal geometry: none passes.
func dateMatch(l *layers.Layer, iv ogcInterval) func(*index.Record) bool {
	fi := temporalField(l)
	return func(rec *index.Record) bool {
		if fi < 0 {
			return false
		}
		d, ok := recordDate(rec, fi)
		if !ok {
			return false
		}
		last := d.Add(24*time.Hour - time.Nanosecond)
		return (iv.hi.IsZero() || !d.After(iv.hi)) && (iv.lo.IsZero() || !last.Before(iv.lo))
	}
}

// items: GET /ogc/collections/{layer}/items — a page of the layer's features by
// id, with numberMatched, numberReturned, timeStamp and the next/prev links.
func (o *ogcAPI) items(w http.ResponseWriter, r *http.Request) error {
	l, err := o.ogcLayer(r)
	if err != nil {
		return err
	}
	iq, err := parseOGCItems(o.reg, l, r.URL.Query())
	if err != nil {
		return err
	}
	html, err := ogcFormat(r)
	if err != nil {
		return err
	}
	pq := index.PageQuery{Layer: l.Name, BBox: iq.bbox, Filter: iq.filter, Offset: iq.offset, Limit: iq.limit}
	if iq.when != nil {
		pq.Match = dateMatch(l, *iq.when)
	}
	recs, matched, err := o.ordered.Page(pq)
	if err != nil {
		return err
	}
	path := "/collections/" + l.Name + "/items"
	q := r.URL.Query()
	q.Del("f")
	links := o.selfLinks(r, path, ogcGeoJSON, q, html)
	page := func(rel, title string, offset int) ogcLink {
		pq := url.Values{}
		for k, vs := range q {
			pq[k] = vs
		}
		pq.Set("limit", strconv.Itoa(iq.limit))
		pq.Set("offset", strconv.Itoa(offset))
		typ := ogcGeoJSON
		if html {
			pq.Set("f", "html")
			typ = ogcHTML
		}
		return ogcLink{Href: o.ogcURL(r, path, pq), Rel: rel, Type: typ, Title: title}
	}
	if iq.offset+len(recs) < matched {
		links = append(links, page("next", "next page", iq.offset+len(recs)))
	}
	if iq.offset > 0 {
		links = append(links, page("prev", "previous page", max(0, min(iq.offset, matched)-iq.limit)))
	}
	links = append(links, ogcLink{Href: o.ogcURL(r, "/collections/"+l.Name, nil), Rel: "collection", Type: ogcJSON, Title: l.TitleEN})
	now := time.Now().UTC().Format(time.RFC3339)
	if html {
		return o.itemsHTML(w, r, l, recs, matched, links)
	}
	size := 256 + 256*len(links)
	for _, rec := range recs {
		size += rec.JSONSize()
	}
	buf := o.getBuf(size)
	defer o.putBuf(buf)
	b := append(*buf, `{"type":"FeatureCollection","numberMatched":`...)
	b = strconv.AppendInt(b, int64(matched), 10)
	b = append(b, `,"numberReturned":`...)
	b = strconv.AppendInt(b, int64(len(recs)), 10)
	b = append(b, `,"timeStamp":"`...)
	b = append(b, now...)
	b = append(b, `","links":`...)
	if b, err = appendJSON(b, links); err != nil {
		return err
	}
	b = append(b, `,"features":[`...)
	for i, rec := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = rec.AppendGeoJSON(b, 0, false)
	}
	b = append(b, "]}\n"...)
	*buf = b
	writeRaw(w, ogcGeoJSON, b)
	return nil
}

// appendJSON appends v's JSON (HTML characters not escaped, no newline).
func appendJSON(b []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, err
	}
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...), nil
}

// item: GET /ogc/collections/{layer}/items/{featureId} — one feature with its links.
func (o *ogcAPI) item(w http.ResponseWriter, r *http.Request) error {
	l, err := o.ogcLayer(r)
	if err != nil {
		return err
	}
	if err := onlyF(r); err != nil {
		return err
	}
	html, err := ogcFormat(r)
	if err != nil {
		return err
	}
	fid := mux.Vars(r)["featureId"]
	id, perr := strconv.ParseInt(fid, 10, 64)
	var rec *index.Record
	found := false
	if perr == nil && id > 0 {
		if rec, found, err = o.ix.Get(l.Name, id); err != nil {
			return err
		}
	}
	if !found {
		return fmt.Errorf("%s has no feature %q: %w", l.Name, fid, errFeatureNotFound)
	}
	path := "/collections/" + l.Name + "/items/" + strconv.FormatInt(id, 10)
	links := o.selfLinks(r, path, ogcGeoJSON, nil, html)
	links = append(links, ogcLink{Href: o.ogcURL(r, "/collections/"+l.Name, nil), Rel: "collection", Type: ogcJSON, Title: l.TitleEN})
	w.Header().Set("ETag", etag(rec.Version))
	if html {
		return o.itemsHTML(w, r, l, []*index.Record{rec}, 1, links)
	}
	// The record's cached Feature, with the links added before its last brace.
	b := rec.AppendGeoJSON(make([]byte, 0, rec.JSONSize()+512), 0, false)
	b = append(b[:len(b)-1], `,"links":`...)
	if b, err = appendJSON(b, links); err != nil {
		return err
	}
	b = append(b, "}\n"...)
	writeRaw(w, ogcGeoJSON, b)
	return nil
}

// itemsHTML renders features as a table: id (a link to the feature's page), the
// geometry type and every property of the layer.
func (o *ogcAPI) itemsHTML(w http.ResponseWriter, r *http.Request, l *layers.Layer, recs []*index.Record, matched int, links []ogcLink) error {
	t := ogcTable{Header: append([]string{"id", "geometry"}, l.FieldNames()...)}
	for _, rec := range recs {
		var f struct {
			Properties map[string]any `json:"properties"`
		}
		dec := json.NewDecoder(bytes.NewReader(rec.GeoJSON()))
		dec.UseNumber()
		if err := dec.Decode(&f); err != nil {
			return err
		}
		row := []ogcCell{
			{Text: strconv.FormatInt(rec.ID, 10), Href: o.ogcURL(r, fmt.Sprintf("/collections/%s/items/%d", l.Name, rec.ID), url.Values{"f": {"html"}})},
			{Text: rec.Geometry.GeoJSONType()},
		}
		for _, name := range l.FieldNames() {
			text := ""
			if v := f.Properties[name]; v != nil {
				text = fmt.Sprint(v)
			}
			row = append(row, ogcCell{Text: text})
		}
		t.Rows = append(t.Rows, row)
	}
	title := fmt.Sprintf("%s %s — %d of %d", l.TitleZH, l.TitleEN, len(recs), matched)
	return writeOGCHTML(w, title, links, ogcHTMLBody{Tables: []ogcTable{t}})
}
