package main

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Chart is a figure of panels stacked vertically over one x axis (time).
type Chart struct {
	Title  string
	XLabel string
	Panels []Panel
}

// Panel is one plot: its series share the y axis, linear from 0 or logarithmic.
type Panel struct {
	Title  string
	YLabel string
	Log    bool
	Series []Series
	Marks  []Mark
}

// Mark is a labelled vertical line at X.
type Mark struct {
	X     float64
	Label string
}

// Series is one line; a NaN y (or, on a log axis, y ≤ 0) leaves a gap.
type Series struct {
	Name  string
	Color string // an SVG color
	Dash  bool   // drawn dashed
	X, Y  []float64
}

// Chart geometry, in SVG user units (pixels).
const (
	chartWidth   = 960
	panelHeight  = 260
	marginLeft   = 80
	marginRight  = 190 // the legend
	marginTop    = 50  // the chart's title
	panelGap     = 70  // the panel's title and the x axis labels
	marginBottom = 30
)

// WriteSVG draws c as a standalone SVG document.
func WriteSVG(w io.Writer, c Chart) error {
	bw := bufio.NewWriter(w)
	height := marginTop + len(c.Panels)*(panelHeight+panelGap) + marginBottom
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, height)
	fmt.Fprintf(bw, `<text x="%d" y="28" font-size="16" font-weight="bold">%s</text>`+"\n", marginLeft, esc(c.Title))

	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, p := range c.Panels {
		for _, s := range p.Series {
			for _, x := range s.X {
				if !math.IsNaN(x) {
					xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
				}
			}
		}
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax = 0, 1
	}
	if xmax <= xmin {
		xmax = xmin + 1
	}
	plotW := float64(chartWidth - marginLeft - marginRight)
	for i, p := range c.Panels {
		top := float64(marginTop + i*(panelHeight+panelGap) + 30)
		writePanel(bw, p, top, plotW, xmin, xmax, c.XLabel)
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

// writePanel draws one panel whose plot area starts at y = top.
func writePanel(w *bufio.Writer, p Panel, top, plotW, xmin, xmax float64, xlabel string) {
	h := float64(panelHeight)
	left := float64(marginLeft)
	fmt.Fprintf(w, `<g class="panel" data-title="%s">`+"\n", esc(p.Title))
	fmt.Fprintf(w, `<text x="%g" y="%g" font-size="14" font-weight="bold">%s</text>`+"\n", left, top-12, esc(p.Title))

	// y range
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		for _, y := range s.Y {
			if usable(y, p.Log) {
				ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
			}
		}
	}
	var yticks []float64
	if p.Log {
		if math.IsInf(ymin, 1) {
			ymin, ymax = 1, 10
		}
		ymin, ymax = math.Pow(10, math.Floor(math.Log10(ymin))), math.Pow(10, math.Ceil(math.Log10(ymax)))
		if ymax <= ymin {
			ymax = ymin * 10
		}
		for d := ymin; d <= ymax*1.0001; d *= 10 {
			yticks = append(yticks, d)
		}
	} else {
		if math.IsInf(ymax, -1) || ymax <= 0 {
			ymax = 1
		}
		ymin = 0
		step := niceStep(ymax / 5)
		ymax = math.Ceil(ymax/step) * step
		for v := 0.0; v <= ymax+step/2; v += step {
			yticks = append(yticks, v)
		}
	}
	sx := func(x float64) float64 { return left + (x-xmin)/(xmax-xmin)*plotW }
	sy := func(y float64) float64 {
		if p.Log {
			return top + h - (math.Log10(y)-math.Log10(ymin))/(math.Log10(ymax)-math.Log10(ymin))*h
		}
		return top + h - (y-ymin)/(ymax-ymin)*h
	}

	// grid, ticks and labels
	for _, v := range yticks {
		y := sy(v)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, left+plotW, y)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, esc(label(v)))
	}
	xstep := niceStep((xmax - xmin) / 10)
	for v := math.Ceil(xmin/xstep) * xstep; v <= xmax+xstep/1000; v += xstep {
		x := sx(v)
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", x, top, x, top+h)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, top+h+16, esc(label(v)))
	}
	fmt.Fprintf(w, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#333"/>`+"\n", left, top, plotW, h)
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", left+plotW/2, top+h+34, esc(xlabel))
	fmt.Fprintf(w, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", left-58, top+h/2, esc(p.YLabel))

	for _, m := range p.Marks {
		if m.X < xmin || m.X > xmax {
			continue
		}
		x := sx(m.X)
		fmt.Fprintf(w, `<line class="mark" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="4 3"/>`+"\n", x, top, x, top+h)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" fill="#555">%s</text>`+"\n", x+4, top+14, esc(m.Label))
	}

	// series and legend
	for i, s := range p.Series {
		var d strings.Builder
		pen := false
		for j := range min(len(s.X), len(s.Y)) {
			if !usable(s.Y[j], p.Log) || math.IsNaN(s.X[j]) {
				pen = false
				continue
			}
			if pen {
				d.WriteString(" L")
			} else {
				if d.Len() > 0 {
					d.WriteByte(' ')
				}
				d.WriteString("M")
			}
			pen = true
			d.WriteString(strconv.FormatFloat(sx(s.X[j]), 'f', 1, 64))
			d.WriteByte(' ')
			d.WriteString(strconv.FormatFloat(sy(math.Min(s.Y[j], ymax)), 'f', 1, 64))
		}
		dash := ""
		if s.Dash {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(w, `<path class="series" data-series="%s" d="%s" fill="none" stroke="%s" stroke-width="1.5"%s/>`+"\n",
			esc(s.Name), d.String(), esc(s.Color), dash)
		ly := top + 10 + float64(i)*20
		lx := left + plotW + 14
		fmt.Fprintf(w, `<line class="legend" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", lx, ly, lx+22, ly, esc(s.Color))
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+28, ly+4, esc(s.Name))
	}
	fmt.Fprintln(w, "</g>")
}

func usable(y float64, log bool) bool {
	return !math.IsNaN(y) && !math.IsInf(y, 0) && (!log || y > 0)
}

// niceStep is the step of 1, 2 or 5 times a power of ten nearest above raw.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// label prints a tick value without trailing zeros.
func label(v float64) string {
	if math.Abs(v) < 1e-9 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
