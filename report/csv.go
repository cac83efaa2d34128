package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"riskmap/index"
	"riskmap/layers"
)

// BOM is the UTF-8 byte order mark that starts the CSV, so that Excel reads the file
// as UTF-8 (without it Excel on Chinese Windows decodes it as GBK and garbles names).
const BOM = "\uFEFF"

// csvColumns are the CSV's columns: machine name, Chinese and English header.
var csvColumns = []struct{ zh, en string }{
	{"图层", "layer"}, {"编号", "id"}, {"外部编号", "external_id"}, {"名称", "name"},
	{"类别/类型", "category_or_kind"}, {"风险等级", "risk_grade"}, {"预警等级", "warning_level"},
	{"隐患整改状态", "hazard_status"}, {"街道", "subdistrict"}, {"责任单位", "responsible_dept"},
	{"地址", "address"}, {"距离(米)", "distance_m"}, {"经度", "lon"}, {"纬度", "lat"},
}

// WriteCSV writes the full list as CSV: a UTF-8 BOM, a header row in lang ("zh" or
// "en"), then one row per feature, nearest first, CRLF line ends (what Excel
// writes). Codes are written as their labels in lang; distance in meters to 0.1 m;
// lon/lat (WGS84) of a point feature, or of the center of a line's or polygon's
// bounds. A text cell that a spreadsheet would run as a formula (starting with =, +,
// -, @, tab or CR) is prefixed with a single quote.
func (r *Report) WriteCSV(w io.Writer, lang string) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(BOM); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	row := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		row[i] = pick(lang, c.zh, c.en)
	}
	if err := cw.Write(row); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	for _, h := range r.Hits {
		r.csvRow(row, h, lang)
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("report: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}

func (r *Report) csvRow(row []string, h index.Hit, lang string) {
	rec := h.Rec
	l, _ := r.reg.Layer(rec.Layer)
	p := position(rec)
	row[0] = pick(lang, l.TitleZH, l.TitleEN)
	row[1] = strconv.FormatInt(rec.ID, 10)
	row[2] = SafeCell(rec.ExternalID)
	row[3] = SafeCell(rec.Name)
	row[4] = ""
	if rec.Category != "" {
		row[4] = fieldLabel(l, "category", rec.Category, lang)
	} else if rec.Kind != "" {
		row[4] = fieldLabel(l, "kind", rec.Kind, lang)
	}
	row[5] = scaleLabel(r.reg.RiskGrades(), rec.Grade, lang)
	row[6] = scaleLabel(r.reg.WarningLevels(), rec.Warning, lang)
	row[7] = fieldLabel(l, "hazard_status", rec.Status, lang)
	row[8] = fieldLabel(l, "subdistrict", rec.Subdistrict, lang)
	row[9] = SafeCell(textProp(l, rec, departmentField))
	row[10] = SafeCell(rec.Address)
	row[11] = strconv.FormatFloat(h.Distance, 'f', 1, 64)
	row[12] = strconv.FormatFloat(p[0], 'f', 7, 64)
	row[13] = strconv.FormatFloat(p[1], 'f', 7, 64)
}

// formulaStarts are the first characters that make a spreadsheet evaluate a
// cell as a formula.
const formulaStarts = "=+-@\t\r"

// SafeCell keeps a spreadsheet from evaluating text as a formula: a leading '
// before text starting with one of formulaStarts.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune(formulaStarts, rune(s[0])) {
		return "'" + s
	}
	return s
}

// UnguardCell undoes SafeCell on a cell read back: "'=x" is "=x". A ' before any
// other character stays (SafeCell never wrote it).
func UnguardCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune(formulaStarts, rune(s[1])) {
		return s[1:]
	}
	return s
}

func pick(lang, zh, en string) string {
	if lang == "en" {
		return en
	}
	return zh
}

// fieldLabel is the label of an enum field's code in lang ("" for no code; the code
// itself when the layer has no such field or code).
func fieldLabel(l *layers.Layer, field, code, lang string) string {
	if code == "" {
		return ""
	}
	f, ok := l.Field(field)
	if !ok || f.Enum == nil {
		return code
	}
	c, ok := f.Enum.Choice(code)
	if !ok {
		return code
	}
	return pick(lang, c.LabelZH, c.LabelEN)
}

// scaleLabel is the label of a rank on a severity scale ("" for -1, no value).
func scaleLabel(e layers.Enum, rank int8, lang string) string {
	if rank < 0 || int(rank) >= len(e.Choices) {
		return ""
	}
	c := e.Choices[rank]
	return pick(lang, c.LabelZH, c.LabelEN)
}

// textProp is the text value of a field of rec ("" when absent or not text).
func textProp(l *layers.Layer, rec *index.Record, field string) string {
	for i, f := range l.Fields {
		if f.Name == field {
			if v, ok := rec.Prop(i); ok && v.Kind == layers.PackedText {
				return v.Text
			}
			return ""
		}
	}
	return ""
}
