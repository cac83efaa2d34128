// Command demomap draws the demo dataset as a PNG (docs/demo-data.png): the district
// outline, risk points colored by grade, slopes, rectified roads, waterlogging spots
// and resources, so a reader can see at a glance where the synthetic data lies.
//
//	go run ./demo/cmd/demomap -o docs/demo-data.png
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"

	"github.com/paulmach/orb"

	"riskmap/demo"
	"riskmap/layers"
)

func main() {
	out := flag.String("o", "demo-data.png", "output PNG file")
	width := flag.Int("width", 1400, "image width in pixels")
	flag.Parse()
	if err := draw(*out, *width); err != nil {
		fmt.Fprintln(os.Stderr, "demomap:", err)
		os.Exit(1)
	}
}

// canvas maps lon/lat to pixels with a local equirectangular projection.
type canvas struct {
	img    *image.RGBA
	b      orb.Bound
	scale  float64 // pixels per degree of longitude
	coslat float64
}

func (c *canvas) px(p orb.Point) (int, int) {
	x := (p[0] - c.b.Min[0]) * c.scale
	y := (c.b.Max[1] - p[1]) * c.scale / c.coslat
	return int(x), int(y)
}

func (c *canvas) dot(p orb.Point, r int, col color.RGBA) {
	x0, y0 := c.px(p)
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			if dx*dx+dy*dy <= r*r {
				c.blend(x0+dx, y0+dy, col)
			}
		}
	}
}

func (c *canvas) blend(x, y int, col color.RGBA) {
	if !(image.Point{x, y}.In(c.img.Bounds())) {
		return
	}
	o := c.img.RGBAAt(x, y)
	a := float64(col.A) / 255
	mix := func(s, d uint8) uint8 { return uint8(float64(s)*a + float64(d)*(1-a)) }
	c.img.SetRGBA(x, y, color.RGBA{mix(col.R, o.R), mix(col.G, o.G), mix(col.B, o.B), 255})
}

func (c *canvas) line(a, b orb.Point, col color.RGBA, w int) {
	x0, y0 := c.px(a)
	x1, y1 := c.px(b)
	n := int(math.Max(math.Abs(float64(x1-x0)), math.Abs(float64(y1-y0)))) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		x := int(math.Round(float64(x0) + t*float64(x1-x0)))
		y := int(math.Round(float64(y0) + t*float64(y1-y0)))
		for d := -w / 2; d <= w/2; d++ {
			c.blend(x+d, y, col)
			c.blend(x, y+d, col)
		}
	}
}

func (c *canvas) path(ps []orb.Point, col color.RGBA, w int) {
	for i := 0; i+1 < len(ps); i++ {
		c.line(ps[i], ps[i+1], col, w)
	}
}

func hex(s string, alpha uint8) color.RGBA {
	var r, g, b uint8
	fmt.Sscanf(s, "#%02x%02x%02x", &r, &g, &b)
	return color.RGBA{r, g, b, alpha}
}

func draw(out string, width int) error {
	boundary, err := demo.Boundary()
	if err != nil {
		return err
	}
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		return err
	}
	reg := layers.New()
	b := boundary.Bound().Pad(0.003)
	coslat := math.Cos(b.Center()[1] * math.Pi / 180)
	scale := float64(width) / (b.Max[0] - b.Min[0])
	height := int((b.Max[1] - b.Min[1]) * scale / coslat)
	c := &canvas{img: image.NewRGBA(image.Rect(0, 0, width, height)), b: b, scale: scale, coslat: coslat}
	for i := range c.img.Pix {
		c.img.Pix[i] = 250
	}
	grades := reg.RiskGrades()
	// Low grades first so the severe ones are drawn on top.
	for rank := range grades.Choices {
		col := hex(grades.Choices[rank].Color, 150)
		for _, f := range ds.Features[layers.RiskPoints] {
			if f.Props["risk_grade"] == grades.Choices[rank].Code {
				c.dot(f.Geometry.(orb.Point), 1+rank/2, col)
			}
		}
	}
	slope := color.RGBA{120, 80, 30, 200}
	for _, f := range ds.Features[layers.Slopes] {
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			c.path(g[0], slope, 1)
		case orb.Point:
			c.dot(g, 2, slope)
		}
	}
	road := color.RGBA{60, 60, 60, 230}
	for _, f := range ds.Features[layers.RectifiedRoads] {
		switch g := f.Geometry.(type) {
		case orb.LineString:
			c.path(g, road, 3)
		case orb.MultiLineString:
			for _, l := range g {
				c.path(l, road, 3)
			}
		}
	}
	for _, f := range ds.Features[layers.WaterloggingSpots] {
		c.dot(f.Geometry.(orb.Point), 5, color.RGBA{0, 90, 200, 230})
	}
	for _, f := range ds.Features[layers.Resources] {
		c.dot(f.Geometry.(orb.Point), 6, color.RGBA{0, 150, 60, 240})
	}
	c.path(boundary[0], color.RGBA{0, 0, 0, 255}, 3)
	file, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(file, c.img); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
