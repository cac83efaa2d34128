package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"riskmap/index"
	"riskmap/layers"
)

// Map sizes, in SVG user units (CSS pixels when printed at 96 dpi).
const (
	MapWidth  = 720
	MapHeight = 420
	// maxContext bounds the features drawn around the area for context.
	maxContext = 4000
	// earthCircumference is the equatorial circumference of the Web Mercator sphere,
	// in meters.
	earthCircumference = 40075016.686
)

// mapFrame projects lon/lat onto the SVG: Web Mercator, north up, the area with a
// margin fitted into MapWidth × MapHeight.
type mapFrame struct {
	minX, minY float64 // world-square Mercator of the top-left corner
	scale      float64 // SVG units per world-square unit
	// metersPerUnit is ground meters per SVG unit at the area's latitude.
	metersPerUnit float64
}

func newFrame(a Area) mapFrame {
	b := a.Geometry().Bound()
	if o, ok := a.Outline(64); ok {
		b = o.Bound()
	}
	x0, y1 := index.Mercator(b.Min) // y grows southward: Min lat is the bottom
	x1, y0 := index.Mercator(b.Max)
	cosLat := math.Cos(a.Center[1] * math.Pi / 180)
	// A route's buffer, and a minimum extent of 200 m so a tiny area still shows
	// its surroundings.
	pad := a.BufferM / (earthCircumference * cosLat)
	minExt := 200 / (earthCircumference * cosLat)
	x0, x1, y0, y1 = x0-pad, x1+pad, y0-pad, y1+pad
	w, h := math.Max(x1-x0, minExt), math.Max(y1-y0, minExt)
	cx, cy := (x0+x1)/2, (y0+y1)/2
	// 12 % margin on each side, then fit the aspect ratio.
	w, h = w*1.24, h*1.24
	scale := math.Min(MapWidth/w, MapHeight/h)
	f := mapFrame{scale: scale}
	f.minX = cx - MapWidth/scale/2
	f.minY = cy - MapHeight/scale/2
	f.metersPerUnit = earthCircumference * cosLat / scale
	return f
}

// xy is p on the SVG.
func (f mapFrame) xy(p orb.Point) (float64, float64) {
	x, y := index.Mercator(p)
	return (x - f.minX) * f.scale, (y - f.minY) * f.scale
}

// bound is the frame's extent in lon/lat.
func (f mapFrame) bound() orb.Bound {
	lon := func(x float64) float64 { return x*360 - 180 }
	lat := func(y float64) float64 {
		return 180 / math.Pi * math.Atan(math.Sinh(math.Pi*(1-2*y)))
	}
	x1, y1 := f.minX+MapWidth/f.scale, f.minY+MapHeight/f.scale
	return orb.Bound{Min: orb.Point{lon(f.minX), lat(y1)}, Max: orb.Point{lon(x1), lat(f.minY)}}
}

// num formats an SVG coordinate with one decimal, deterministically.
func num(x float64) string { return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64) }

// path is the SVG path data of lines (closed with Z when closed).
func (f mapFrame) path(sb *strings.Builder, pts []orb.Point, closed bool) {
	for i, p := range pts {
		x, y := f.xy(p)
		if i == 0 {
			sb.WriteString("M")
		} else {
			sb.WriteString("L")
		}
		sb.WriteString(num(x) + " " + num(y))
	}
	if closed {
		sb.WriteString("Z")
	}
}

// geometryPath is the path data of a line or polygon geometry ("" for points).
func (f mapFrame) geometryPath(g orb.Geometry) (d string, area bool) {
	var sb strings.Builder
	switch g := g.(type) {
	case orb.LineString:
		f.path(&sb, g, false)
	case orb.MultiLineString:
		for _, l := range g {
			f.path(&sb, l, false)
		}
	case orb.Polygon:
		for _, r := range g {
			f.path(&sb, r, true)
		}
		area = true
	case orb.MultiPolygon:
		for _, p := range g {
			for _, r := range p {
				f.path(&sb, r, true)
			}
		}
		area = true
	}
	return sb.String(), area
}

// colors of features without a grade or warning, by layer.
var layerColors = map[string]string{
	layers.RectifiedRoads: "#2e7d32",
	layers.Resources:      "#1565c0",
}

// featureColor is the color a feature is drawn in: its warning level's when it is in
// warning, else its risk grade's, else its layer's.
func featureColor(reg *layers.Registry, rec *index.Record) string {
	if lv := reg.WarningLevels(); rec.Warning > 0 && int(rec.Warning) < len(lv.Choices) {
		return lv.Choices[rec.Warning].Color
	}
	if g := reg.RiskGrades(); rec.Grade >= 0 && int(rec.Grade) < len(g.Choices) {
		return g.Choices[rec.Grade].Color
	}
	if c, ok := layerColors[rec.Layer]; ok {
		return c
	}
	return "#607d8b"
}

// SVG draws the report's map: the features around the area faint for context, the
// area (circle, polygon, or route with its buffer), the features in the area in their
// grade or warning colors, the site, a scale bar, a north arrow and a legend in
// lang. It is deterministic: the same report gives the same bytes.
func (r *Report) SVG(ix Index, lang string) string {
	f := newFrame(r.Area)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		MapWidth, MapHeight, MapWidth, MapHeight, html.EscapeString(pick(lang, "场地风险地图", "Site risk map")))
	sb.WriteString(`<rect width="100%" height="100%" fill="#f4f1ea"/>`)

	// Context: everything in the frame, faint, outside the area's list.
	in := make(map[*index.Record]bool, len(r.Hits))
	for _, h := range r.Hits {
		in[h.Rec] = true
	}
	ctx := ix.BBox(f.bound(), index.Filter{MinCapacity: -1})
	if len(ctx) > maxContext {
		ctx = ctx[:maxContext]
	}
	sb.WriteString(`<g fill="#b0aca3" stroke="#b0aca3" stroke-width="1" opacity="0.7">`)
	for _, h := range ctx {
		if !in[h.Rec] {
			drawFeature(&sb, f, h.Rec, "", 1.6)
		}
	}
	sb.WriteString(`</g>`)

	// The area.
	const areaStyle = `fill="#1e88e5" fill-opacity="0.10" stroke="#1565c0" stroke-width="2"`
	if o, ok := r.Area.Outline(96); ok {
		d, _ := f.geometryPath(o)
		fmt.Fprintf(&sb, `<path d="%s" %s fill-rule="evenodd"/>`, d, areaStyle)
	} else {
		d, _ := f.geometryPath(r.Area.Route)
		w := 2 * r.Area.BufferM / f.metersPerUnit
		fmt.Fprintf(&sb, `<path d="%s" fill="none" stroke="#1e88e5" stroke-opacity="0.16" stroke-width="%s" stroke-linecap="round" stroke-linejoin="round"/>`, d, num(w))
		fmt.Fprintf(&sb, `<path d="%s" fill="none" stroke="#1565c0" stroke-width="2.5" stroke-dasharray="8 4"/>`, d)
	}

	// The features in the area, least severe first so the worst are on top.
	order := make([]index.Hit, len(r.Hits))
	copy(order, r.Hits)
	sortBySeverity(order)
	sb.WriteString(`<g stroke="#ffffff" stroke-width="0.8">`)
	for _, h := range order {
		drawFeature(&sb, f, h.Rec, featureColor(r.reg, h.Rec), 3.6)
	}
	sb.WriteString(`</g>`)

	// The site.
	if r.Area.Kind == KindCircle {
		x, y := f.xy(r.Area.Center)
		fmt.Fprintf(&sb, `<g stroke="#0d47a1" stroke-width="2.5"><line x1="%s" y1="%s" x2="%s" y2="%s"/><line x1="%s" y1="%s" x2="%s" y2="%s"/></g>`,
			num(x-9), num(y), num(x+9), num(y), num(x), num(y-9), num(x), num(y+9))
	}
	r.decorations(&sb, f, lang)
	sb.WriteString(`</svg>`)
	return sb.String()
}

// drawFeature draws rec: a dot (a square for resources) of radius rad at a point, a
// path for lines and polygons. color "" inherits the group's.
func drawFeature(sb *strings.Builder, f mapFrame, rec *index.Record, color string, rad float64) {
	fill := ""
	if color != "" {
		fill = ` fill="` + color + `"`
	}
	if _, ok := rec.Geometry.(orb.Point); !ok {
		d, area := f.geometryPath(rec.Geometry)
		if d == "" {
			return
		}
		if area {
			if color != "" {
				fill += ` fill-opacity="0.55" stroke="` + color + `"`
			}
			fmt.Fprintf(sb, `<path d="%s"%s/>`, d, fill)
			return
		}
		stroke := ""
		if color != "" {
			stroke = ` stroke="` + color + `" stroke-width="3"`
		}
		fmt.Fprintf(sb, `<path d="%s" fill="none"%s/>`, d, stroke)
		return
	}
	x, y := f.xy(position(rec))
	if rec.Layer == layers.Resources {
		fmt.Fprintf(sb, `<rect x="%s" y="%s" width="%s" height="%s"%s/>`, num(x-rad), num(y-rad), num(2*rad), num(2*rad), fill)
		return
	}
	fmt.Fprintf(sb, `<circle cx="%s" cy="%s" r="%s"%s/>`, num(x), num(y), num(rad), fill)
}

// sortBySeverity orders hits least severe first (warning, then grade), stable.
func sortBySeverity(h []index.Hit) {
	sev := func(r *index.Record) int { return int(r.Warning)*8 + int(r.Grade) }
	// Insertion into buckets keeps it stable and linear.
	buckets := map[int][]index.Hit{}
	lo, hi := math.MaxInt, math.MinInt
	for _, x := range h {
		s := sev(x.Rec)
		buckets[s] = append(buckets[s], x)
		lo, hi = min(lo, s), max(hi, s)
	}
	i := 0
	for s := lo; s <= hi; s++ {
		i += copy(h[i:], buckets[s])
	}
}

// decorations draws the scale bar, the north arrow and the legend.
func (r *Report) decorations(sb *strings.Builder, f mapFrame, lang string) {
	// Scale bar: the largest 1-2-5 length up to a quarter of the map's width.
	maxM := MapWidth / 4 * f.metersPerUnit
	step := math.Pow(10, math.Floor(math.Log10(maxM)))
	for _, m := range []float64{5, 2, 1} {
		if m*step <= maxM {
			step *= m
			break
		}
	}
	w := step / f.metersPerUnit
	label := fmt.Sprintf("%.0f m", step)
	if step >= 1000 {
		label = fmt.Sprintf("%g km", step/1000)
	}
	fmt.Fprintf(sb, `<g font-family="sans-serif" font-size="12" fill="#263238"><rect x="12" y="%d" width="%s" height="6" fill="#263238"/><text x="12" y="%d">%s</text></g>`,
		MapHeight-18, num(w), MapHeight-24, label)
	fmt.Fprintf(sb, `<g transform="translate(%d 22)" fill="#263238" font-family="sans-serif" font-size="12" text-anchor="middle"><path d="M0 -14 L6 4 L0 0 L-6 4 Z"/><text y="18">%s</text></g>`,
		MapWidth-22, pick(lang, "北", "N"))
	// Legend: the risk grades, most severe first, and warning.
	grades := r.reg.RiskGrades().Choices
	y := 14
	sb.WriteString(`<g font-family="sans-serif" font-size="11" fill="#263238">`)
	fmt.Fprintf(sb, `<rect x="8" y="6" width="118" height="%d" fill="#ffffff" fill-opacity="0.85" stroke="#cfd8dc"/>`, 16*(len(grades)+1)+8)
	for i := len(grades) - 1; i >= 0; i-- {
		c := grades[i]
		fmt.Fprintf(sb, `<circle cx="20" cy="%d" r="5" fill="%s"/><text x="30" y="%d">%s</text>`, y+4, c.Color, y+8, html.EscapeString(pick(lang, c.LabelZH, c.LabelEN)))
		y += 16
	}
	fmt.Fprintf(sb, `<rect x="15" y="%d" width="10" height="10" fill="%s"/><text x="30" y="%d">%s</text>`, y-1, layerColors[layers.Resources], y+8, pick(lang, "应急资源", "Resources"))
	sb.WriteString(`</g>`)
}
