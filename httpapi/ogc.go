package httpapi

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/mux"

	"riskmap/index"
)

// OGC API – Features, Part 1 Core (OGC 17-069r4), with the OpenAPI 3.0, GeoJSON and
// HTML conformance classes, under /ogc. Every resource is answered from the index,
// never from the store; links are absolute, from the configured public URL or the
// request (baseURL). Coordinates are CRS84: WGS84 longitude, latitude in degrees.
// The route groups: ogc_landing.go (landing page, conformance), ogc_api.go (the
// OpenAPI definition), ogc_collections.go, ogc_items.go (items and one item),
// ogc_html.go (the HTML pages).

// Media types of the OGC routes.
const (
	ogcJSON    = "application/json"
	ogcGeoJSON = geojsonType
	ogcOpenAPI = "application/vnd.oai.openapi+json;version=3.0"
	ogcHTML    = "text/html"
	crs84      = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
)

// Limits of the items route: limit's default and maximum (a larger limit is
// answered with the maximum, as the standard asks, not refused).
const (
	OGCDefaultLimit = 10
	OGCMaxLimit     = 10_000
)

// ogcAPI serves the OGC routes; it holds the id-ordered view of the layers the
// items pages read (built on first use after each change of a layer).
type ogcAPI struct {
	*server
	ordered *index.OrderedView
	// bufs holds *[]byte response buffers of items pages (hundreds of kB each),
	// reused instead of allocated and cleared per request.
	bufs sync.Pool
}

// maxPooledBuf is the largest buffer kept for reuse (a full page of 10,000 risk
// points is about 5 MB).
const maxPooledBuf = 8 << 20

func (o *ogcAPI) getBuf(size int) *[]byte {
	if b, ok := o.bufs.Get().(*[]byte); ok && cap(*b) >= size {
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, size)
	return &b
}

func (o *ogcAPI) putBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		o.bufs.Put(b)
	}
}

// ogcRoutes registers OGC API – Features under /ogc.
func (s *server) ogcRoutes(r *mux.Router) {
	o := &ogcAPI{server: s, ordered: index.NewOrderedView(s.ix)}
	get := []string{http.MethodGet, http.MethodHead}
	r.Handle("/ogc", s.handle(o.landing)).Methods(get...)
	r.Handle("/ogc/", s.handle(o.landing)).Methods(get...)
	r.Handle("/ogc/conformance", s.handle(o.conformance)).Methods(get...)
	r.Handle("/ogc/api", s.handle(o.openAPI)).Methods(get...)
	r.Handle("/ogc/collections", s.handle(o.collections)).Methods(get...)
	r.Handle("/ogc/collections/{layer}", s.handle(o.collection)).Methods(get...)
	r.Handle("/ogc/collections/{layer}/items", s.handle(o.items)).Methods(get...)
	r.Handle("/ogc/collections/{layer}/items/{featureId}", s.handle(o.item)).Methods(get...)
}

// ogcLink is a link of an OGC resource (RFC 8288 as JSON).
type ogcLink struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// ogcFormat decides between JSON and HTML: the f parameter (json or html) when
// given, else the Accept header — HTML when the client prefers text/html to every
// JSON type (a browser), JSON otherwise.
func ogcFormat(r *http.Request) (html bool, err error) {
	if vs, ok := r.URL.Query()["f"]; ok {
		if len(vs) > 1 {
			return false, badParam("f", "given more than once")
		}
		switch vs[0] {
		case "json":
			return false, nil
		case "html":
			return true, nil
		}
		return false, badParam("f", "%q is not a format; use json or html", vs[0])
	}
	var qHTML, qJSON float64
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if x, err := strconv.ParseFloat(s, 64); err == nil {
				q = x
			}
		}
		switch {
		case mt == "text/html":
			qHTML = max(qHTML, q)
		case mt == "application/json", strings.HasSuffix(mt, "+json"), mt == "*/*", mt == "application/*":
			qJSON = max(qJSON, q)
		}
	}
	return qHTML > qJSON, nil
}

// ogcURL is the absolute URL of path (under /ogc) with the query q (nil: none).
func (o *ogcAPI) ogcURL(r *http.Request, path string, q url.Values) string {
	u := o.baseURL(r) + "/ogc" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// selfLinks are the self and alternate links of the resource at path: the JSON
// representation (of media type jsonType) and the HTML page, the one answered being
// self.
func (o *ogcAPI) selfLinks(r *http.Request, path, jsonType string, q url.Values, html bool) []ogcLink {
	with := func(f string) url.Values {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("f", f)
		return v
	}
	js := ogcLink{Href: o.ogcURL(r, path, with("json")), Rel: "alternate", Type: jsonType, Title: "this document as JSON"}
	ht := ogcLink{Href: o.ogcURL(r, path, with("html")), Rel: "alternate", Type: ogcHTML, Title: "this document as HTML"}
	if html {
		ht.Rel = "self"
		return []ogcLink{ht, js}
	}
	js.Rel = "self"
	return []ogcLink{js, ht}
}

// onlyF rejects every query parameter but f.
func onlyF(r *http.Request) error {
	_, err := newQuery(r.URL.Query(), false, "f")
	return err
}
