package layers

import (
	"fmt"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// AppendFeaturePrefix appends feature id (version) of layer l as the API's GeoJSON
// Feature — {"type":"Feature","id":ID,"geometry":...,"properties":{"layer":..,"id":..,
// "version":.., then every registry field of props in order (values canonical, as
// Normalize gives them; dates "YYYY-MM-DD") — without the two closing braces, so a
// caller may add properties. When textAt is not nil (len(l.Fields)), textAt[i] is set
// to the offset in b of field i's text when it appears there verbatim (its JSON string
// needs no escape), else left 0. It is the one encoder of a feature's GeoJSON: the
// index's cached JSON and the audit log's before/after use it.
func (l *Layer) AppendFeaturePrefix(b []byte, id, version int64, g orb.Geometry, props map[string]any, textAt []int) ([]byte, error) {
	geom, err := geojson.NewGeometry(g).MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, `{"type":"Feature","id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"geometry":`...)
	b = append(b, geom...)
	b = append(b, `,"properties":{"layer":`...)
	b = strconv.AppendQuote(b, l.Name)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, version, 10)
	for i, fd := range l.Fields {
		b = append(b, ',')
		b = strconv.AppendQuote(b, fd.Name)
		b = append(b, ':')
		start := len(b)
		v := props[fd.Name]
		if b, err = AppendJSON(b, v); err != nil {
			return nil, fmt.Errorf("%s: %w", fd.Name, err)
		}
		if s, ok := v.(string); ok && textAt != nil && fd.Type == TypeText && len(b)-start == len(s)+2 {
			textAt[i] = start + 1 // inside the quotes: the same bytes as s
		}
	}
	return b, nil
}
