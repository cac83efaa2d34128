package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// ogcConformance are the conformance classes riskmap implements.
var ogcConformance = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
}

// landing: GET /ogc — the landing page: the links to the API definition, the
// conformance declaration and the collections.
func (o *ogcAPI) landing(w http.ResponseWriter, r *http.Request) error {
	if err := onlyF(r); err != nil {
		return err
	}
	html, err := ogcFormat(r)
	if err != nil {
		return err
	}
	page := struct {
		Title       string    `json:"title"`
		Description string    `json:"description"`
		Links       []ogcLink `json:"links"`
	}{
		Title:       "riskmap 罗湖区风险一张图 — OGC API – Features",
		Description: "Risk census, slopes, waterlogging spots, rectified roads and emergency resources of Luohu district, Shenzhen, live from riskmap's in-memory index. Coordinates are CRS84 (WGS84 longitude, latitude).",
		Links:       o.selfLinks(r, "", ogcJSON, nil, html),
	}
	page.Links = append(page.Links,
		ogcLink{Href: o.ogcURL(r, "/api", nil), Rel: "service-desc", Type: ogcOpenAPI, Title: "the API definition (OpenAPI 3.0)"},
		ogcLink{Href: o.ogcURL(r, "/api", map[string][]string{"f": {"html"}}), Rel: "service-doc", Type: ogcHTML, Title: "the API documentation"},
		ogcLink{Href: o.ogcURL(r, "/conformance", nil), Rel: "conformance", Type: ogcJSON, Title: "the conformance classes implemented"},
		ogcLink{Href: o.ogcURL(r, "/collections", nil), Rel: "data", Type: ogcJSON, Title: "the collections (one per layer)"},
	)
	if html {
		return writeOGCHTML(w, page.Title, page.Links, ogcHTMLBody{Text: page.Description})
	}
	return writeOGCJSON(w, ogcJSON, page)
}

// conformance: GET /ogc/conformance — the conformance classes implemented.
func (o *ogcAPI) conformance(w http.ResponseWriter, r *http.Request) error {
	if err := onlyF(r); err != nil {
		return err
	}
	html, err := ogcFormat(r)
	if err != nil {
		return err
	}
	if html {
		return writeOGCHTML(w, "Conformance", o.selfLinks(r, "/conformance", ogcJSON, nil, true), ogcHTMLBody{List: ogcConformance})
	}
	return writeOGCJSON(w, ogcJSON, struct {
		ConformsTo []string `json:"conformsTo"`
	}{ogcConformance})
}

// writeOGCJSON encodes v (HTML characters not escaped, as writeJSON) as the
// response of media type contentType.
func writeOGCJSON(w http.ResponseWriter, contentType string, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	writeRaw(w, contentType, b.Bytes())
	return nil
}
