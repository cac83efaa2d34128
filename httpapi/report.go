package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/index"
	"riskmap/report"
)

// DefaultReportRadius is the radius of a site report, in meters, when none is given.
const DefaultReportRadius = 500

// MaxTitleLen bounds a report's title, in characters.
const MaxTitleLen = 100

// reportOptions are the output options of both report routes (query parameters).
type reportOptions struct {
	format, lang, crs, title string
}

// parseReportOptions reads format, lang, crs and title (when titleAllowed) from q.
func parseReportOptions(q *query) (reportOptions, error) {
	o := reportOptions{format: "json", lang: "zh", crs: "wgs84"}
	for _, p := range []struct {
		name    string
		dst     *string
		allowed []string
	}{
		{"format", &o.format, []string{"json", "csv", "geojson", "html"}},
		{"lang", &o.lang, []string{"zh", "en"}},
		{"crs", &o.crs, []string{"wgs84", "gcj02"}},
	} {
		if !q.has(p.name) {
			continue
		}
		v := q.v.Get(p.name)
		ok := false
		for _, a := range p.allowed {
			ok = ok || v == a
		}
		if !ok {
			return o, badParam(p.name, "%q is not one of %v", v, p.allowed)
		}
		*p.dst = v
	}
	if q.has("title") {
		o.title = q.v.Get("title")
		if err := checkText("title", o.title, false, MaxTitleLen); err != nil {
			return o, err
		}
	}
	return o, nil
}

// reportGet: GET /api/v1/report?lon=&lat=[&radius=500][&crs=wgs84|gcj02]
// [&format=json|csv|geojson|html][&lang=zh|en][&title=][&filters] — the site report
// of a circle: counts by layer and grade, by sub-district and department, the
// nearest feature of each layer, the monitored objects in warning and the full list
// (see package report). crs=gcj02 takes lon/lat as copied from a Chinese map app;
// the report's coordinates are WGS84.
func (s *server) reportGet(w http.ResponseWriter, r *http.Request) error {
	q, err := newQuery(r.URL.Query(), true, "lon", "lat", "radius", "crs", "format", "lang", "title")
	if err != nil {
		return err
	}
	opts, err := parseReportOptions(q)
	if err != nil {
		return err
	}
	p, err := q.point()
	if err != nil {
		return err
	}
	radius, ok, err := q.distance("radius")
	if err != nil {
		return err
	}
	if !ok {
		radius = DefaultReportRadius
	}
	f, err := s.filter(q)
	if err != nil {
		return err
	}
	filters := map[string]string{}
	for name, v := range q.v {
		if index.IsFilterParam(name) {
			filters[name] = v[0]
		}
	}
	if opts.crs == "gcj02" {
		p = geo.GCJ02ToWGS84(p)
	}
	return s.writeReport(w, opts, report.Circle(p, radius), f, filters)
}

// reportPost: POST /api/v1/report[?format=&lang=&crs=] with {"geometry": a GeoJSON
// Point (with radius_m, default 500), LineString (a route, with buffer_m) or
// (Multi)Polygon, "filters": {...}, "title": "..."} — the site report of that area.
func (s *server) reportPost(w http.ResponseWriter, r *http.Request) error {
	q, err := newQuery(r.URL.Query(), false, "crs", "format", "lang")
	if err != nil {
		return err
	}
	opts, err := parseReportOptions(q)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyLen))
	if err != nil {
		return err
	}
	req, title, err := parseReportBody(body)
	if err != nil {
		return err
	}
	opts.title = title
	f, err := index.ParseFilter(s.reg, req.filters)
	if err != nil {
		return err
	}
	filters := map[string]string{}
	for name := range req.filters {
		filters[name] = req.filters.Get(name)
	}
	toWGS := func(p orb.Point) orb.Point { return p }
	if opts.crs == "gcj02" {
		toWGS = geo.GCJ02ToWGS84
	}
	var area report.Area
	switch req.kind {
	case "point":
		area = report.Circle(toWGS(req.point), req.radius)
	case "route":
		line := make(orb.LineString, len(req.route))
		for i, p := range req.route {
			line[i] = toWGS(p)
		}
		area = report.Route(line, req.buffer)
	case "polygon":
		mp := req.polygon.Clone()
		for _, poly := range mp {
			for _, ring := range poly {
				for i, p := range ring {
					ring[i] = toWGS(p)
				}
			}
		}
		if opts.crs == "gcj02" {
			if err := index.ValidatePolygon(mp); err != nil {
				return err
			}
		}
		area = report.Polygon(mp)
	}
	return s.writeReport(w, opts, area, f, filters)
}

// parseReportBody checks a POST /api/v1/report body with the proximity query's
// rules (parseQueryBody), which it narrows: geometry, radius_m (a point),
// buffer_m (a route), filters and title, nothing else.
func parseReportBody(body []byte) (queryRequest, string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return queryRequest{}, "", badParam("body", "must be a JSON object: %v", errOr(err, "null"))
	}
	var title string
	for name, v := range raw {
		switch name {
		case "geometry", "radius_m", "buffer_m", "filters":
		case "title":
			if err := json.Unmarshal(v, &title); err != nil {
				return queryRequest{}, "", badParam("title", "must be a string")
			}
			if err := checkText("title", title, false, MaxTitleLen); err != nil {
				return queryRequest{}, "", err
			}
			delete(raw, name)
		default:
			return queryRequest{}, "", badParam(name, "unknown property; the body takes geometry, radius_m, buffer_m, filters, title")
		}
	}
	var g struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw["geometry"], &g)
	if _, ok := raw["radius_m"]; !ok && g.Type == "Point" {
		raw["radius_m"] = json.RawMessage(fmt.Sprint(DefaultReportRadius))
	}
	rest, err := json.Marshal(raw)
	if err != nil {
		return queryRequest{}, "", badParam("body", "%v", err)
	}
	req, err := parseQueryBody(rest)
	return req, title, err
}

// writeReport builds the report and writes it in the asked format.
func (s *server) writeReport(w http.ResponseWriter, o reportOptions, area report.Area, f index.Filter, filters map[string]string) error {
	now := time.Now()
	rep := report.Build(s.ix, s.reg, report.Input{
		Area: area, Filter: f, Filters: filters, Title: o.title, InputCRS: o.crs, Now: now,
	})
	name := "riskmap-report-" + now.In(time.FixedZone("CST", 8*3600)).Format("20060102-1504")
	var (
		body        []byte
		contentType string
		err         error
	)
	switch o.format {
	case "json":
		body, err = rep.JSON()
		contentType = "application/json; charset=utf-8"
	case "geojson":
		body, err = rep.GeoJSON()
		contentType = geojsonType
		attachment(w, name+".geojson")
	case "csv":
		var b bytes.Buffer
		err = rep.WriteCSV(&b, o.lang)
		body, contentType = b.Bytes(), "text/csv; charset=utf-8"
		attachment(w, name+".csv")
	case "html":
		var b bytes.Buffer
		err = rep.WriteHTML(&b, s.ix, o.lang)
		body, contentType = b.Bytes(), "text/html; charset=utf-8"
		// A static document: no scripts, inline styles and the inline SVG only.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	}
	if err != nil {
		return err
	}
	writeRaw(w, contentType, body)
	return nil
}

// attachment marks the response as a download named name (ASCII).
func attachment(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Disposition", `attachment; filename="`+url.PathEscape(name)+`"`)
}
