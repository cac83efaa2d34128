package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"riskmap/layers"
)

// ogcCollection is the description of one collection (one layer of the registry).
type ogcCollection struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	ItemType    string    `json:"itemType"`
	CRS         []string  `json:"crs"`
	Extent      *ogcExt   `json:"extent,omitempty"`
	Links       []ogcLink `json:"links"`
}

// ogcExt is a collection's extent: the bounds of its features (CRS84 degrees) and,
// for a layer with a date field, the interval of its dates.
type ogcExt struct {
	Spatial struct {
		BBox [][4]float64 `json:"bbox"`
		CRS  string       `json:"crs"`
	} `json:"spatial"`
	Temporal *ogcTemporal `json:"temporal,omitempty"`
}

type ogcTemporal struct {
	Interval [][2]*string `json:"interval"`
	TRS      string       `json:"trs"`
}

// ogcLayer returns the layer a collection path names; an unknown one is a 404.
func (o *ogcAPI) ogcLayer(r *http.Request) (*layers.Layer, error) {
	name := mux.Vars(r)["layer"]
	l, err := o.reg.Layer(name)
	if err != nil {
		var names []string
		for _, l := range o.reg.Layers() {
			names = append(names, l.Name)
		}
		return nil, fmt.Errorf("no collection %q (the collections are %s): %w", name, strings.Join(names, ", "), errRouteNotFound)
	}
	return l, nil
}

// describe is the collection of layer l as seen at r.
func (o *ogcAPI) describe(r *http.Request, l *layers.Layer, html bool) ogcCollection {
	c := ogcCollection{
		ID:          l.Name,
		Title:       l.TitleZH + " " + l.TitleEN,
		Description: fmt.Sprintf("%s (%s): %s features of riskmap's layer %s, live from the index.", l.TitleEN, l.TitleZH, geometryNames(l), l.Name),
		ItemType:    "feature",
		CRS:         []string{crs84},
	}
	if b, ok := o.ix.Bounds([]string{l.Name}); ok {
		c.Extent = &ogcExt{}
		c.Extent.Spatial.BBox = [][4]float64{{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}}
		c.Extent.Spatial.CRS = crs84
		if lo, hi, ok := o.dateRange(l); ok {
			a, z := lo.Format(time.RFC3339), hi.Format(time.RFC3339)
			c.Extent.Temporal = &ogcTemporal{Interval: [][2]*string{{&a, &z}}, TRS: "http://www.opengis.net/def/uri/ISO-8601/0/Gregorian"}
		}
	}
	path := "/collections/" + l.Name
	c.Links = o.selfLinks(r, path, ogcJSON, nil, html)
	c.Links = append(c.Links,
		ogcLink{Href: o.ogcURL(r, path+"/items", nil), Rel: "items", Type: ogcGeoJSON, Title: l.TitleEN + " as GeoJSON"},
		ogcLink{Href: o.ogcURL(r, path+"/items", url.Values{"f": {"html"}}), Rel: "items", Type: ogcHTML, Title: l.TitleEN + " as HTML"},
	)
	return c
}

// dateRange is the first and last day of the layer's temporal property (its date
// field), UTC midnights; ok is false without one or without a dated feature.
func (o *ogcAPI) dateRange(l *layers.Layer) (lo, hi time.Time, ok bool) {
	fi := temporalField(l)
	if fi < 0 {
		return lo, hi, false
	}
	recs, err := o.ordered.Ordered(l.Name)
	if err != nil {
		return lo, hi, false
	}
	for _, rec := range recs {
		d, has := recordDate(rec, fi)
		if !has {
			continue
		}
		if !ok || d.Before(lo) {
			lo = d
		}
		if !ok || d.After(hi) {
			hi = d
		}
		ok = true
	}
	return lo, hi, ok
}

func geometryNames(l *layers.Layer) string {
	var s []string
	for _, g := range l.Geometry {
		s = append(s, string(g))
	}
	return strings.Join(s, "/")
}

// collections: GET /ogc/collections — one collection per layer of the registry.
func (o *ogcAPI) collections(w http.ResponseWriter, r *http.Request) error {
	if err := onlyF(r); err != nil {
		return err
	}
	html, err := ogcFormat(r)
	if err != nil {
		return err
	}
	var cs []ogcCollection
	for _, l := range o.reg.Layers() {
		cs = append(cs, o.describe(r, l, false))
	}
	links := o.selfLinks(r, "/collections", ogcJSON, nil, html)
	if html {
		t := ogcTable{Header: []string{"id", "title", "features", "extent (CRS84)"}}
		for _, c := range cs {
			t.Rows = append(t.Rows, []ogcCell{
				{Text: c.ID, Href: o.ogcURL(r, "/collections/"+c.ID, url.Values{"f": {"html"}})},
				{Text: c.Title},
				{Text: fmt.Sprint(o.ix.Count(c.ID)), Href: o.ogcURL(r, "/collections/"+c.ID+"/items", url.Values{"f": {"html"}})},
				{Text: extentText(c.Extent)},
			})
		}
		return writeOGCHTML(w, "Collections", links, ogcHTMLBody{Tables: []ogcTable{t}})
	}
	return writeOGCJSON(w, ogcJSON, struct {
		Links       []ogcLink       `json:"links"`
		Collections []ogcCollection `json:"collections"`
	}{links, cs})
}

// collection: GET /ogc/collections/{layer} — one collection.
func (o *ogcAPI) collection(w http.ResponseWriter, r *http.Request) error {
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
	c := o.describe(r, l, html)
	if !html {
		return writeOGCJSON(w, ogcJSON, c)
	}
	t := ogcTable{Caption: "Properties", Header: []string{"name", "label", "type", "unit", "query parameters"}}
	for _, f := range l.Fields {
		var params []string
		for _, q := range ogcQueryables(l) {
			if q.field == f.Name {
				params = append(params, q.param)
			}
		}
		t.Rows = append(t.Rows, []ogcCell{{Text: f.Name}, {Text: f.LabelZH + " " + f.LabelEN}, {Text: string(f.Type)}, {Text: f.Unit}, {Text: strings.Join(params, ", ")}})
	}
	return writeOGCHTML(w, c.Title, c.Links, ogcHTMLBody{Text: c.Description + " Extent: " + extentText(c.Extent) + ".", Tables: []ogcTable{t}})
}

func extentText(e *ogcExt) string {
	if e == nil {
		return "empty"
	}
	b := e.Spatial.BBox[0]
	s := fmt.Sprintf("%.6f, %.6f – %.6f, %.6f", b[0], b[1], b[2], b[3])
	if e.Temporal != nil {
		s += fmt.Sprintf("; %s – %s", *e.Temporal.Interval[0][0], *e.Temporal.Interval[0][1])
	}
	return s
}
