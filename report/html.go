package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"riskmap/index"
)

//go:embed templates/briefing.html
var templateFS embed.FS

// briefing is parsed once; templates are immutable after parsing.
var briefing = template.Must(template.ParseFS(templateFS, "templates/briefing.html"))

// BriefingListLen is how many features of the list the briefing prints (nearest
// first); the CSV export has them all.
const BriefingListLen = 25

// China Standard Time: the briefing prints times as the bureau reads them.
var cst = time.FixedZone("CST", 8*3600)

// labels are the briefing's fixed texts in one language.
type labels struct {
	Area, Generated, Filters, GCJ, Summary, Layer, Total, InWarning, Nearest, Name,
	Distance, Warnings, Level, NoWarnings, BySubdistrict, Subdistrict, ByDepartment,
	Department, MajorSignificant, List, Grade string
}

var briefingLabels = map[string]labels{
	"zh": {Area: "范围", Generated: "生成时间", Filters: "筛选", GCJ: "坐标按 GCJ-02 输入，已转换为 WGS84",
		Summary: "风险统计", Layer: "图层", Total: "合计", InWarning: "预警中", Nearest: "各图层最近要素",
		Name: "名称", Distance: "距离", Warnings: "当前预警的监测对象", Level: "预警等级",
		NoWarnings: "范围内没有处于预警状态的监测对象。", BySubdistrict: "按街道", Subdistrict: "街道",
		ByDepartment: "按责任单位（风险点）", Department: "责任单位", MajorSignificant: "重大+较大",
		List: "最近的要素", Grade: "等级"},
	"en": {Area: "Area", Generated: "Generated", Filters: "Filters", GCJ: "coordinates given in GCJ-02, converted to WGS84",
		Summary: "Risk summary", Layer: "Layer", Total: "Total", InWarning: "In warning", Nearest: "Nearest feature of each layer",
		Name: "Name", Distance: "Distance", Warnings: "Monitored objects in warning", Level: "Warning level",
		NoWarnings: "No monitored object in the area is in warning.", BySubdistrict: "By sub-district", Subdistrict: "Sub-district",
		ByDepartment: "By responsible department (risk points)", Department: "Department", MajorSignificant: "Major + significant",
		List: "Nearest features", Grade: "Grade"},
}

type htmlGrade struct{ Label, Color string }

type htmlLayer struct {
	Title   string
	Total   int
	Grades  []string // counts by grade, most severe first ("" where the layer has no grade)
	Warning string
}

type htmlRow struct {
	Layer, Name, Grade, Level, Color, Distance string
}

type htmlGroup struct {
	Label         string
	Total, Severe int
}

type htmlView struct {
	HTMLLang, Title, Description, Generated, Filters string
	GCJ                                              bool
	L                                                labels
	SVG                                              template.HTML
	Total                                            int
	Grades                                           []htmlGrade
	Layers                                           []htmlLayer
	Nearest, Warnings, List                          []htmlRow
	Subdistricts, Departments                        []htmlGroup
	ListNote                                         string
}

// WriteHTML writes the printable one-page briefing in lang ("zh" or "en"): the title,
// the area, the map (SVG, drawn from ix), counts by layer and grade, the nearest
// feature of each layer, the monitored objects in warning, counts by sub-district and
// department, and the nearest BriefingListLen features.
func (r *Report) WriteHTML(w io.Writer, ix Index, lang string) error {
	if lang != "en" {
		lang = "zh"
	}
	v := htmlView{
		HTMLLang: pick(lang, "zh-CN", "en"), L: briefingLabels[lang],
		Title:       r.Title,
		Description: r.Area.describe(lang),
		Generated:   r.GeneratedAt.In(cst).Format("2006-01-02 15:04 MST"),
		GCJ:         r.InputCRS == "gcj02",
		SVG:         template.HTML(r.SVG(ix, lang)), // built by SVG, every text escaped
		Total:       len(r.Hits),
	}
	if v.Title == "" {
		v.Title = pick(lang, "场地风险简报", "Site risk briefing")
	}
	var filters []string
	for k, val := range r.Filters {
		filters = append(filters, k+"="+val)
	}
	slices.Sort(filters)
	v.Filters = strings.Join(filters, ", ")

	grades := r.reg.RiskGrades().Choices
	for i := len(grades) - 1; i >= 0; i-- {
		v.Grades = append(v.Grades, htmlGrade{pick(lang, grades[i].LabelZH, grades[i].LabelEN), grades[i].Color})
	}
	for _, lc := range r.ByLayer {
		hl := htmlLayer{Title: pick(lang, lc.TitleZH, lc.TitleEN), Total: lc.Total}
		l, _ := r.reg.Layer(lc.Layer)
		_, graded := l.Field("risk_grade")
		_, warned := l.Field("warning_level")
		for i := len(grades) - 1; i >= 0; i-- {
			if graded {
				hl.Grades = append(hl.Grades, fmt.Sprint(lc.ByGrade[grades[i].Code]))
			} else {
				hl.Grades = append(hl.Grades, "–")
			}
		}
		hl.Warning = "–"
		if warned {
			n := 0
			for code, c := range lc.ByWarning {
				if code != "none" {
					n += c
				}
			}
			hl.Warning = fmt.Sprint(n)
		}
		v.Layers = append(v.Layers, hl)
	}
	for _, n := range r.Nearest {
		l, _ := r.reg.Layer(n.Layer)
		row := htmlRow{Layer: pick(lang, l.TitleZH, l.TitleEN), Name: "–", Distance: "–"}
		if n.Hit != nil {
			row = r.row(*n.Hit, lang)
		}
		v.Nearest = append(v.Nearest, row)
	}
	for _, h := range r.InWarning {
		v.Warnings = append(v.Warnings, r.row(h, lang))
	}
	severe := func(g GroupCount) int { return g.ByGrade["major"] + g.ByGrade["significant"] }
	for _, g := range r.BySubdistrict {
		v.Subdistricts = append(v.Subdistricts, htmlGroup{pick(lang, g.LabelZH, g.LabelEN), g.Total, severe(g)})
	}
	for i, g := range r.ByDepartment {
		if i == 10 {
			break
		}
		v.Departments = append(v.Departments, htmlGroup{pick(lang, g.LabelZH, g.LabelEN), g.Total, severe(g)})
	}
	for i, h := range r.Hits {
		if i == BriefingListLen {
			break
		}
		v.List = append(v.List, r.row(h, lang))
	}
	v.ListNote = pick(lang,
		fmt.Sprintf("共 %d 项，此处列出最近的 %d 项；完整清单见 CSV 或 GeoJSON 导出。", len(r.Hits), len(v.List)),
		fmt.Sprintf("%d features in all; the nearest %d are listed here; the CSV and GeoJSON exports have them all.", len(r.Hits), len(v.List)))
	if err := briefing.Execute(w, v); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// row is a feature as a briefing table row.
func (r *Report) row(h index.Hit, lang string) htmlRow {
	rec := h.Rec
	l, _ := r.reg.Layer(rec.Layer)
	row := htmlRow{
		Layer: pick(lang, l.TitleZH, l.TitleEN), Name: rec.Name,
		Grade: scaleLabel(r.reg.RiskGrades(), rec.Grade, lang),
		Level: scaleLabel(r.reg.WarningLevels(), rec.Warning, lang),
		Color: featureColor(r.reg, rec), Distance: formatDistance(h.Distance),
	}
	if row.Grade == "" {
		row.Grade = row.Level
	}
	if row.Grade == "" && rec.Kind != "" {
		row.Grade = fieldLabel(l, "kind", rec.Kind, lang)
	}
	if row.Name == "" {
		row.Name = rec.ExternalID
	}
	return row
}

// formatDistance prints meters: "0 m", "85 m", "1.24 km".
func formatDistance(m float64) string {
	if m >= 1000 {
		return fmt.Sprintf("%.2f km", m/1000)
	}
	return fmt.Sprintf("%.0f m", m)
}
