package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/paulmach/orb"

	"riskmap/index"
	"riskmap/layers"
)

// Index is what a report reads: the proximity queries of the in-memory index
// (*index.Index). Hits come back nearest first, records owned by the index.
type Index interface {
	Radius(p orb.Point, r float64, f index.Filter) []index.Hit
	Along(route orb.LineString, buffer float64, f index.Filter) []index.Hit
	InPolygon(mp orb.MultiPolygon, within bool, f index.Filter) []index.Hit
	Nearest(p orb.Point, k int, maxDist float64, f index.Filter) []index.Hit
	BBox(b orb.Bound, f index.Filter) []index.Hit
}

// Input is what a report is asked for.
type Input struct {
	Area Area
	// Filter selects the features counted, listed and searched for the nearest.
	Filter index.Filter
	// Filters is the filter as the request gave it (parameter → value), echoed in
	// the report.
	Filters map[string]string
	// Title names the report (e.g. the works being approved); empty gives a
	// description of the area.
	Title string
	// InputCRS is the coordinate system the request's coordinates were given in
	// ("wgs84" or "gcj02"); the report's coordinates are always WGS84.
	InputCRS string
	// Now is the report's time.
	Now time.Time
}

// Report is a built site report. Its hits hold records of the index: immutable, so
// the report stays valid (a snapshot) after the index changes.
type Report struct {
	Title       string
	GeneratedAt time.Time
	Area        Area
	InputCRS    string
	Filters     map[string]string
	// Hits are every feature in the area, nearest the site first (for a polygon,
	// whose features are all at distance 0, by layer and id).
	Hits []index.Hit
	// ByLayer counts the hits of every layer of the registry, in registry order.
	ByLayer []LayerCount
	// BySubdistrict counts the hits of layers that record a sub-district, most first.
	BySubdistrict []GroupCount
	// ByDepartment counts the risk points by responsible department, most first.
	ByDepartment []GroupCount
	// Nearest is, for every layer in registry order, the feature of that layer
	// (passing the filter) nearest the site, inside the area or not: nil when the
	// layer has none or the filter leaves the layer out. Distances are to the
	// circle's center, the route line, or the polygon (0 inside).
	Nearest []Nearest
	// InWarning are the hits whose warning level is above none (monitored slopes and
	// waterlogging spots), most severe first, then nearest.
	InWarning []index.Hit

	reg *layers.Registry
}

// LayerCount counts one layer's features in the area. The maps are keyed by code
// and hold only codes that occur.
type LayerCount struct {
	Layer     string         `json:"layer"`
	TitleZH   string         `json:"title_zh"`
	TitleEN   string         `json:"title_en"`
	Total     int            `json:"total"`
	ByGrade   map[string]int `json:"by_grade"`
	ByWarning map[string]int `json:"by_warning"`
	// ByKind counts the category (risk points) or kind (other layers).
	ByKind map[string]int `json:"by_kind"`
}

// GroupCount counts the features of one sub-district or one department.
type GroupCount struct {
	// Code is the sub-district's code; for a department, its name ("" when the
	// feature names none).
	Code    string         `json:"code"`
	LabelZH string         `json:"label_zh"`
	LabelEN string         `json:"label_en"`
	Total   int            `json:"total"`
	ByGrade map[string]int `json:"by_grade"`
}

// Nearest is the feature of one layer nearest the site.
type Nearest struct {
	Layer string
	Hit   *index.Hit
}

// departmentField is the field counted in ByDepartment.
const departmentField = "responsible_dept"

// Build makes the report of in over ix. reg must be ix's registry.
func Build(ix Index, reg *layers.Registry, in Input) *Report {
	r := &Report{
		Title: in.Title, GeneratedAt: in.Now, Area: in.Area, InputCRS: in.InputCRS,
		Filters: in.Filters, reg: reg,
	}
	if r.InputCRS == "" {
		r.InputCRS = "wgs84"
	}
	if r.Filters == nil {
		r.Filters = map[string]string{}
	}
	a := in.Area
	switch a.Kind {
	case KindCircle:
		r.Hits = ix.Radius(a.Center, a.RadiusM, in.Filter)
	case KindRoute:
		r.Hits = ix.Along(a.Route, a.BufferM, in.Filter)
	case KindPolygon:
		r.Hits = ix.InPolygon(a.Polygon, false, in.Filter)
	}
	r.count()
	for _, l := range reg.Layers() {
		r.Nearest = append(r.Nearest, Nearest{Layer: l.Name, Hit: r.nearest(ix, l.Name, in.Filter)})
	}
	for _, h := range r.Hits {
		if h.Rec.Warning > 0 {
			r.InWarning = append(r.InWarning, h)
		}
	}
	// Stable: hits of equal warning keep the list's order (nearest first).
	slices.SortStableFunc(r.InWarning, func(a, b index.Hit) int { return cmp.Compare(b.Rec.Warning, a.Rec.Warning) })
	return r
}

// Registry is the registry the report was built with.
func (r *Report) Registry() *layers.Registry { return r.reg }

// count fills ByLayer, BySubdistrict and ByDepartment.
func (r *Report) count() {
	grades := r.reg.RiskGrades()
	levels := r.reg.WarningLevels()
	byLayer := map[string]*LayerCount{}
	for _, l := range r.reg.Layers() {
		c := LayerCount{Layer: l.Name, TitleZH: l.TitleZH, TitleEN: l.TitleEN,
			ByGrade: map[string]int{}, ByWarning: map[string]int{}, ByKind: map[string]int{}}
		r.ByLayer = append(r.ByLayer, c)
	}
	for i := range r.ByLayer {
		byLayer[r.ByLayer[i].Layer] = &r.ByLayer[i]
	}
	subs := map[string]*GroupCount{}
	depts := map[string]*GroupCount{}
	deptIndex := map[string]int{} // layer → index of its department field
	for _, l := range r.reg.Layers() {
		deptIndex[l.Name] = -1
		for i, f := range l.Fields {
			if f.Name == departmentField {
				deptIndex[l.Name] = i
			}
		}
	}
	grade := func(rec *index.Record) string {
		if rec.Grade >= 0 && int(rec.Grade) < len(grades.Choices) {
			return grades.Choices[rec.Grade].Code
		}
		return ""
	}
	add := func(g *GroupCount, code string) {
		g.Total++
		if code != "" {
			g.ByGrade[code]++
		}
	}
	for _, h := range r.Hits {
		rec := h.Rec
		lc := byLayer[rec.Layer]
		if lc == nil {
			continue
		}
		lc.Total++
		gc := grade(rec)
		if gc != "" {
			lc.ByGrade[gc]++
		}
		if rec.Warning >= 0 && int(rec.Warning) < len(levels.Choices) {
			lc.ByWarning[levels.Choices[rec.Warning].Code]++
		}
		if k := cmp.Or(rec.Category, rec.Kind); k != "" {
			lc.ByKind[k]++
		}
		if rec.Subdistrict != "" {
			g := subs[rec.Subdistrict]
			if g == nil {
				g = &GroupCount{Code: rec.Subdistrict, ByGrade: map[string]int{}}
				if c, ok := subdistrictChoice(r.reg, rec.Layer, rec.Subdistrict); ok {
					g.LabelZH, g.LabelEN = c.LabelZH, c.LabelEN
				}
				subs[rec.Subdistrict] = g
			}
			add(g, gc)
		}
		if i := deptIndex[rec.Layer]; i >= 0 {
			var name string
			if v, ok := rec.Prop(i); ok && v.Kind == layers.PackedText {
				name = v.Text
			}
			g := depts[name]
			if g == nil {
				g = &GroupCount{Code: name, LabelZH: name, LabelEN: name, ByGrade: map[string]int{}}
				if name == "" {
					g.LabelZH, g.LabelEN = "未注明", "not given"
				}
				depts[name] = g
			}
			add(g, gc)
		}
	}
	r.BySubdistrict = sortGroups(subs)
	r.ByDepartment = sortGroups(depts)
}

// subdistrictChoice finds the labels of a sub-district code in the layer's field.
func subdistrictChoice(reg *layers.Registry, layer, code string) (layers.Choice, bool) {
	l, err := reg.Layer(layer)
	if err != nil {
		return layers.Choice{}, false
	}
	f, ok := l.Field("subdistrict")
	if !ok || f.Enum == nil {
		return layers.Choice{}, false
	}
	return f.Enum.Choice(code)
}

// sortGroups orders groups by total, most first, then by code.
func sortGroups(m map[string]*GroupCount) []GroupCount {
	out := make([]GroupCount, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b GroupCount) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Code, b.Code))
	})
	return out
}

// nearest finds the feature of layer nearest the area (see Report.Nearest).
func (r *Report) nearest(ix Index, layer string, f index.Filter) *index.Hit {
	if f.Layers != nil && !slices.Contains(f.Layers, layer) {
		return nil
	}
	f.Layers = []string{layer}
	a := r.Area
	if a.Kind == KindCircle {
		return first(ix.Nearest(a.Center, 1, -1, f))
	}
	// Inside the area the list is already nearest first.
	for i := range r.Hits {
		if r.Hits[i].Rec.Layer == layer {
			h := r.Hits[i]
			return &h
		}
	}
	// Outside: the feature nearest some point p of the area is d away from p, so the
	// nearest to the area is no farther than d from it: search within d of the area's
	// lines.
	var p orb.Point
	var lines []orb.LineString
	if a.Kind == KindRoute {
		p, lines = a.Route[0], []orb.LineString{a.Route}
	} else {
		p = a.Polygon[0][0][0]
		for _, poly := range a.Polygon {
			for _, ring := range poly {
				lines = append(lines, orb.LineString(ring))
			}
		}
	}
	h := first(ix.Nearest(p, 1, -1, f))
	if h == nil || h.Distance == 0 {
		return h
	}
	best := *h
	for _, l := range lines {
		if c := first(ix.Along(l, h.Distance, f)); c != nil && c.Distance < best.Distance {
			best = *c
		}
	}
	return &best
}

func first(hits []index.Hit) *index.Hit {
	if len(hits) == 0 {
		return nil
	}
	return &hits[0]
}
