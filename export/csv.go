package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"

	"riskmap/index"
	"riskmap/layers"
	"riskmap/report"
)

// BOM is the UTF-8 byte order mark that starts the CSV, so that Excel reads it as
// UTF-8 (report.BOM: the same rule as the site report's CSV).
const BOM = report.BOM

// CSVHeader returns the columns of a layer's CSV: id, the layer's field names in
// registry order, then lon and lat (degrees) for a layer of points only, or wkt (the
// geometry as OGC WKT) for the others, then version and updated_at.
func CSVHeader(l *layers.Layer) []string {
	h := append([]string{"id"}, l.FieldNames()...)
	if isPointLayer(l) {
		h = append(h, "lon", "lat")
	} else {
		h = append(h, "wkt")
	}
	return append(h, "version", "updated_at")
}

// writeCSV streams the export as CSV: a UTF-8 BOM, the header of CSVHeader, one row
// per feature, CRLF line ends (what Excel writes). Values: texts as they are — but a
// text a spreadsheet would run as a formula gets a leading ' (report.SafeCell) —,
// enum codes, numbers in the shortest form that reads back exactly, booleans true
// or false, dates YYYY-MM-DD, updated_at RFC 3339 in UTC; null is an empty cell.
// Coordinates are written with every digit float64 holds.
func (e *Export) writeCSV(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(BOM); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	header := CSVHeader(e.layer)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	row := make([]string, len(header))
	for i, r := range e.recs {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if err := cw.Error(); err != nil {
				return fmt.Errorf("export: %w", err)
			}
		}
		e.csvRow(row, r)
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// csvRow fills row (len(CSVHeader)) with the record's cells.
func (e *Export) csvRow(row []string, r *index.Record) {
	l := e.layer
	row[0] = strconv.FormatInt(r.ID, 10)
	for i := range l.Fields {
		row[1+i] = ""
	}
	r.EachProp(func(i int, v layers.PackedValue) bool {
		row[1+i] = cell(l.Fields[i], v)
		return true
	})
	n := 1 + len(l.Fields)
	g := e.geometry(r)
	if isPointLayer(l) {
		p, _ := g.(orb.Point)
		row[n] = strconv.FormatFloat(p[0], 'f', -1, 64)
		row[n+1] = strconv.FormatFloat(p[1], 'f', -1, 64)
		n += 2
	} else {
		row[n] = wkt.MarshalString(g)
		n++
	}
	row[n] = strconv.FormatInt(r.Version, 10)
	row[n+1] = ""
	if t := r.UpdatedAt(); !t.IsZero() {
		row[n+1] = t.Format(time.RFC3339Nano)
	}
}

// cell is a field value as CSV text ("" for null).
func cell(f layers.Field, v layers.PackedValue) string {
	switch v.Kind {
	case layers.PackedText:
		if f.Type == layers.TypeText {
			return report.SafeCell(v.Text)
		}
		return v.Text // a date, YYYY-MM-DD
	case layers.PackedInt:
		return strconv.FormatInt(v.Int, 10)
	case layers.PackedFloat:
		return strconv.FormatFloat(v.Float, 'f', -1, 64)
	case layers.PackedTrue, layers.PackedFalse:
		return strconv.FormatBool(v.Bool())
	case layers.PackedEnum:
		if f.Enum != nil && v.Rank < len(f.Enum.Choices) {
			return f.Enum.Choices[v.Rank].Code
		}
	}
	return ""
}
