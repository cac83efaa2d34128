package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"riskmap/layers"
)

// obj is a JSON object of the OpenAPI document.
type obj = map[string]any

// openAPIDoc is the OpenAPI 3.0 definition of the OGC routes served at base (the
// absolute URL of /ogc): every path, per collection, with the parameters the
// routes really take — the items route's own and the collection's queryable
// filter parameters (ogcQueryables) with their codes.
func openAPIDoc(reg *layers.Registry, base string) obj {
	ref := func(name string) obj { return obj{"$ref": "#/components/parameters/" + name} }
	jsonResp := func(desc, mediaType string) obj {
		return obj{"description": desc, "content": obj{
			mediaType: obj{"schema": obj{"type": "object"}},
			ogcHTML:   obj{"schema": obj{"type": "string"}},
		}}
	}
	errResp := func(desc string) obj {
		return obj{"description": desc, "content": obj{ogcJSON: obj{"schema": obj{"$ref": "#/components/schemas/exception"}}}}
	}
	op := func(id, summary, mediaType string, params []any, errors ...string) obj {
		resp := obj{"200": jsonResp(summary, mediaType)}
		for _, e := range errors {
			switch e {
			case "400":
				resp["400"] = errResp("A parameter is malformed or unknown; the body names it (field).")
			case "404":
				resp["404"] = errResp("No such collection or feature.")
			}
		}
		return obj{"get": obj{"operationId": id, "summary": summary, "parameters": params, "responses": resp}}
	}
	paths := obj{
		"/":            op("getLandingPage", "The landing page", ogcJSON, []any{ref("f")}, "400"),
		"/conformance": op("getConformance", "The conformance classes implemented", ogcJSON, []any{ref("f")}, "400"),
		"/api":         op("getAPI", "This API definition", ogcOpenAPI, []any{ref("f")}, "400"),
		"/collections": op("getCollections", "The collections, one per layer", ogcJSON, []any{ref("f")}, "400"),
	}
	// The templated paths, for clients that look for them: the items parameters
	// common to every collection (each collection's own filters are under its path).
	var names []string
	for _, l := range reg.Layers() {
		names = append(names, l.Name)
	}
	cid := obj{"name": "collectionId", "in": "path", "required": true, "description": "The collection: a layer.",
		"schema": obj{"type": "string", "enum": names}}
	paths["/collections/{collectionId}"] = op("describeCollection", "One collection", ogcJSON, []any{cid, ref("f")}, "400", "404")
	paths["/collections/{collectionId}/items"] = op("getFeatures", "Features of a collection, by id (filters: see the collection's own path)", ogcGeoJSON,
		[]any{cid, ref("f"), ref("bbox"), ref("bbox-crs"), ref("datetime"), ref("limit"), ref("offset")}, "400", "404")
	paths["/collections/{collectionId}/items/{featureId}"] = op("getFeature", "One feature", ogcGeoJSON, []any{cid, ref("featureId"), ref("f")}, "400", "404")
	for _, l := range reg.Layers() {
		p := "/collections/" + l.Name
		paths[p] = op("describe_"+l.Name, fmt.Sprintf("The collection %s (%s %s)", l.Name, l.TitleZH, l.TitleEN), ogcJSON, []any{ref("f")}, "400", "404")
		params := []any{ref("f"), ref("bbox"), ref("bbox-crs"), ref("datetime"), ref("limit"), ref("offset")}
		for _, q := range ogcQueryables(l) {
			params = append(params, queryableParam(reg, l, q))
		}
		paths[p+"/items"] = op("getFeatures_"+l.Name, fmt.Sprintf("Features of %s (%s), by id", l.TitleEN, l.TitleZH), ogcGeoJSON, params, "400", "404")
		paths[p+"/items/{featureId}"] = op("getFeature_"+l.Name, fmt.Sprintf("One feature of %s", l.TitleEN), ogcGeoJSON, []any{ref("featureId"), ref("f")}, "400", "404")
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":       "riskmap OGC API – Features",
			"version":     "1.0.0",
			"description": "The layers of riskmap (Luohu district, Shenzhen) as OGC API – Features collections, answered from memory. Coordinates are CRS84 (WGS84 longitude, latitude, degrees).",
		},
		"servers": []any{obj{"url": base}},
		"paths":   paths,
		"components": obj{
			"parameters": obj{
				"f": obj{"name": "f", "in": "query", "required": false, "style": "form", "explode": false,
					"description": "The format: json (GeoJSON for features) or html. Without it, the Accept header decides.",
					"schema":      obj{"type": "string", "enum": []string{"json", "html"}}},
				"bbox": obj{"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
					"description": "Only features whose geometry intersects the box: min lon, min lat, max lon, max lat (CRS84 degrees), or 6 numbers with heights (ignored). A box across the antimeridian is refused.",
					"schema":      obj{"type": "array", "minItems": 4, "maxItems": 6, "items": obj{"type": "number"}}},
				"bbox-crs": obj{"name": "bbox-crs", "in": "query", "required": false, "style": "form", "explode": false,
					"description": "The CRS of bbox; only CRS84.",
					"schema":      obj{"type": "string", "format": "uri", "enum": []string{crs84}}},
				"datetime": obj{"name": "datetime", "in": "query", "required": false, "style": "form", "explode": false,
					"description": "An RFC 3339 date or date-time, or an interval start/end (.. or empty for an open end). It tests a collection's date property (rectified_roads: completed_on, a whole UTC day); in a collection without one no feature has a temporal geometry, so none matches.",
					"schema":      obj{"type": "string"}},
				"limit": obj{"name": "limit", "in": "query", "required": false, "style": "form", "explode": false,
					"description": fmt.Sprintf("The most features in the page; a larger value is answered with %d.", OGCMaxLimit),
					"schema":      obj{"type": "integer", "minimum": 1, "maximum": OGCMaxLimit, "default": OGCDefaultLimit}},
				"offset": obj{"name": "offset", "in": "query", "required": false, "style": "form", "explode": false,
					"description": "Features of the selection (by ascending id) to skip; the next and prev links carry it.",
					"schema":      obj{"type": "integer", "minimum": 0, "maximum": MaxOGCOffset, "default": 0}},
				"featureId": obj{"name": "featureId", "in": "path", "required": true,
					"description": "The feature's id (a positive whole number).",
					"schema":      obj{"type": "string"}},
			},
			"schemas": obj{
				"exception": obj{"type": "object", "required": []string{"error", "code"}, "properties": obj{
					"error": obj{"type": "string"}, "code": obj{"type": "string"}, "field": obj{"type": "string"},
				}},
			},
		},
	}
}

// queryableParam describes filter parameter q of layer l: its codes from the
// registry for a list, or its type.
func queryableParam(reg *layers.Registry, l *layers.Layer, q ogcQueryable) obj {
	fd, _ := l.Field(q.field)
	p := obj{"name": q.param, "in": "query", "required": false, "style": "form", "explode": false}
	codes := func() []string {
		switch q.field {
		case "risk_grade":
			return reg.RiskGrades().Codes()
		case "warning_level":
			return reg.WarningLevels().Codes()
		}
		if fd.Enum != nil {
			return fd.Enum.Codes()
		}
		return nil
	}()
	switch {
	case strings.HasPrefix(q.param, "min_") && codes != nil:
		p["description"] = fmt.Sprintf("Only features whose %s is this code or more severe.", q.field)
		p["schema"] = obj{"type": "string", "enum": codes}
	case codes != nil:
		p["description"] = fmt.Sprintf("Only features whose %s is one of these codes (comma-separated).", q.field)
		p["schema"] = obj{"type": "array", "items": obj{"type": "string", "enum": codes}}
	case fd.Type == layers.TypeBool:
		p["description"] = fmt.Sprintf("Only features whose %s is this.", q.field)
		p["schema"] = obj{"type": "boolean"}
	default:
		unit := ""
		if fd.Unit != "" {
			unit = " (" + fd.Unit + ")"
		}
		p["description"] = fmt.Sprintf("Only features whose %s%s is at least this.", q.field, unit)
		p["schema"] = obj{"type": "integer", "minimum": 0}
	}
	return p
}

// openAPI: GET /ogc/api — the OpenAPI 3.0 definition (or, as HTML, its paths and
// parameters).
func (o *ogcAPI) openAPI(w http.ResponseWriter, r *http.Request) error {
	if err := onlyF(r); err != nil {
		return err
	}
	html, err := ogcFormat(r)
	if err != nil {
		return err
	}
	doc := openAPIDoc(o.reg, o.ogcURL(r, "", nil))
	if !html {
		return writeOGCJSON(w, ogcOpenAPI, doc)
	}
	t := ogcTable{Header: []string{"path", "summary", "parameters"}}
	paths := doc["paths"].(obj)
	var keys []string
	for k := range paths {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		get := paths[k].(obj)["get"].(obj)
		var names []string
		for _, p := range get["parameters"].([]any) {
			m := p.(obj)
			if ref, ok := m["$ref"].(string); ok {
				names = append(names, strings.TrimPrefix(ref, "#/components/parameters/"))
			} else {
				names = append(names, m["name"].(string))
			}
		}
		cell := ogcCell{Text: k}
		if !strings.Contains(k, "{") {
			cell.Href = o.ogcURL(r, strings.TrimSuffix(k, "/"), map[string][]string{"f": {"html"}})
		}
		t.Rows = append(t.Rows, []ogcCell{cell, {Text: get["summary"].(string)}, {Text: strings.Join(names, ", ")}})
	}
	links := o.selfLinks(r, "/api", ogcOpenAPI, nil, true)
	return writeOGCHTML(w, "riskmap OGC API – Features: the API", links, ogcHTMLBody{Text: doc["info"].(obj)["description"].(string), Tables: []ogcTable{t}})
}
