package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/paulmach/orb/geojson"
)

// ReadGeoJSON reads a GeoJSON FeatureCollection (RFC 7946; a legacy "crs" member
// is accepted when it names EPSG:4326, CRS84 or EPSG:4490). Properties become
// columns in order of first appearance; numbers are kept as json.Number, nested
// objects and arrays as their JSON text. A feature whose geometry cannot be read
// gets Row.GeometryErr; a file that is not a FeatureCollection is an ErrFormat.
func ReadGeoJSON(data []byte) (*Table, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), MaxFileBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var top struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
		CRS      *struct {
			Properties struct {
				Name string `json:"name"`
			} `json:"properties"`
		} `json:"crs"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: not GeoJSON: %v", ErrFormat, err)
	}
	if top.Type != "FeatureCollection" {
		return nil, fmt.Errorf("%w: GeoJSON type %q, want a FeatureCollection", ErrFormat, top.Type)
	}
	if top.CRS != nil {
		n := strings.ToUpper(top.CRS.Properties.Name)
		if !strings.Contains(n, "4326") && !strings.Contains(n, "CRS84") && !strings.Contains(n, "4490") {
			return nil, fmt.Errorf("%w: GeoJSON crs %q: only lon/lat degrees (EPSG:4326, CRS84, EPSG:4490) are read; reproject first (ogr2ogr -t_srs EPSG:4326)", ErrFormat, top.CRS.Properties.Name)
		}
	}
	if len(top.Features) > MaxRows {
		return nil, fmt.Errorf("%w: %d features, the limit is %d", ErrTooLarge, len(top.Features), MaxRows)
	}
	t := &Table{Format: GeoJSON, HasGeometry: true, Rows: make([]Row, 0, len(top.Features))}
	var cols columnIndex
	for i, raw := range top.Features {
		line := i + 1
		if len(raw) > MaxFeatureBytes {
			return nil, fmt.Errorf("%w: feature %d is %d bytes, the limit is %d", ErrTooLarge, line, len(raw), MaxFeatureBytes)
		}
		if d := jsonDepth(raw); d > MaxDepth {
			return nil, fmt.Errorf("%w: feature %d is nested %d deep, the limit is %d", ErrTooLarge, line, d, MaxDepth)
		}
		var f struct {
			Type       string          `json:"type"`
			Geometry   json.RawMessage `json:"geometry"`
			Properties json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("%w: feature %d: %v", ErrFormat, line, err)
		}
		if f.Type != "Feature" {
			return nil, fmt.Errorf("%w: feature %d has type %q, want Feature", ErrFormat, line, f.Type)
		}
		row := Row{Line: line}
		if len(f.Geometry) > 0 && !bytes.Equal(bytes.TrimSpace(f.Geometry), []byte("null")) {
			g, err := geojson.UnmarshalGeometry(f.Geometry)
			switch {
			case err != nil:
				row.GeometryErr = fmt.Sprintf("is not a GeoJSON geometry: %v", err)
			case g.Coordinates == nil && g.Geometries != nil:
				row.GeometryErr = "a GeometryCollection is not accepted"
			default:
				row.Geometry = g.Geometry()
				if row.Geometry == nil {
					row.GeometryErr = "is not a GeoJSON geometry"
				}
			}
		}
		vals, err := readProperties(f.Properties, &cols)
		if err != nil {
			return nil, fmt.Errorf("%w: feature %d: properties: %v", ErrFormat, line, err)
		}
		row.Values = vals
		t.Rows = append(t.Rows, row)
	}
	t.Columns = cols.names
	return t, nil
}

// readProperties decodes a properties object into values indexed by cols, adding
// new property names in the order they appear.
func readProperties(raw json.RawMessage, cols *columnIndex) ([]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	// Fast path: every name is known already, so their order does not matter.
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	known := true
	for k := range m {
		if _, ok := cols.index[k]; !ok {
			known = false
			break
		}
	}
	if known {
		vals := make([]any, len(cols.names))
		for k, v := range m {
			switch v.(type) {
			case map[string]any, []any:
				b, err := json.Marshal(v)
				if err != nil {
					return nil, err
				}
				v = string(b)
			}
			vals[cols.index[k]] = v
		}
		return vals, nil
	}
	return readPropertiesInOrder(raw, cols)
}

// readPropertiesInOrder is readProperties reading names in file order.
func readPropertiesInOrder(raw json.RawMessage, cols *columnIndex) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not an object")
	}
	var vals []any
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		switch v.(type) {
		case map[string]any, []any:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			v = string(b)
		}
		i, err := cols.add(key)
		if err != nil {
			return nil, err
		}
		for len(vals) <= i {
			vals = append(vals, nil)
		}
		vals[i] = v
	}
	return vals, nil
}

// jsonDepth returns the deepest nesting of objects and arrays in b (strings skipped).
func jsonDepth(b []byte) int {
	depth, deepest := 0, 0
	inStr, esc := false, false
	for _, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}
