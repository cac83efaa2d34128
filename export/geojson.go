package export

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
)

// writeGeoJSON streams the export as an RFC 7946 FeatureCollection with the layer's
// name as the member "name" (GDAL names the layer after it), one feature a line.
// Each feature is the API's GeoJSON Feature (as GET /api/v1/features/{layer}/{id}
// answers it): id, geometry, and the properties layer, id, version and every field
// of the layer. In WGS84 the feature is the index's cached encoding; in GCJ-02 it is
// encoded again from a transformed copy of the geometry by the same encoder
// (layers.Layer.AppendFeaturePrefix).
func (e *Export) writeGeoJSON(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var b []byte
	b = append(b, `{"type":"FeatureCollection","name":`...)
	b = strconv.AppendQuote(b, e.layer.Name)
	b = append(b, `,"features":[`...)
	for i, r := range e.recs {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("export: %w", err)
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		if e.crs == GCJ02 {
			var err error
			b, err = e.layer.AppendFeaturePrefix(b, r.ID, r.Version, e.geometry(r), props(e.layer, r), nil)
			if err != nil {
				return fmt.Errorf("export: %s id %d: %w", e.layer.Name, r.ID, err)
			}
			b = append(b, "}}"...)
		} else {
			b = r.AppendGeoJSON(b, 0, false)
		}
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		b = b[:0]
	}
	b = append(b, "\n]}\n"...)
	if _, err := bw.Write(b); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
