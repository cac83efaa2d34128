package importer

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/paulmach/orb/encoding/wkt"
)

// Reject file columns, before the source columns. The importer ignores them when the
// fixed reject file is imported again.
var rejectColumns = []string{"_line", "_field", "_value", "_reason"}

// WriteRejects writes the bad rows of t as CSV (UTF-8 with a byte-order mark, for
// Excel): the columns _line, _field, _value, _reason — one bad row per CSV record,
// several problems joined by " | " — then the row's source columns as read, and for
// GeoJSON and GeoPackage input a wkt column with the geometry as read (in the input
// CRS). Fixed, the file imports again with the same options (plus --map wkt=wkt
// for GeoJSON and GeoPackage sources when the layer's columns differ).
func WriteRejects(w io.Writer, t *Table, errs []RowError) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	header := append(append([]string{}, rejectColumns...), t.Columns...)
	if t.HasGeometry {
		header = append(header, "wkt")
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	byLine := make(map[int]*Row, len(t.Rows))
	for i := range t.Rows {
		byLine[t.Rows[i].Line] = &t.Rows[i]
	}
	for i := 0; i < len(errs); {
		j := i
		var fields, values, reasons []string
		for ; j < len(errs) && errs[j].Line == errs[i].Line; j++ {
			fields = append(fields, errs[j].Field)
			values = append(values, errs[j].Value)
			reasons = append(reasons, errs[j].Field+": "+errs[j].Reason)
		}
		rec := []string{fmt.Sprint(errs[i].Line), strings.Join(fields, " | "), strings.Join(values, " | "), strings.Join(reasons, " | ")}
		row := byLine[errs[i].Line]
		for c := range t.Columns {
			var s string
			if row != nil && c < len(row.Values) {
				s, _ = text(row.Values[c])
			}
			rec = append(rec, s)
		}
		if t.HasGeometry {
			s := ""
			if row != nil && row.Geometry != nil {
				s = wkt.MarshalString(row.Geometry)
			}
			rec = append(rec, s)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
		i = j
	}
	cw.Flush()
	return cw.Error()
}
