package tiles

import (
	"math"
	"slices"
	"strconv"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// TileJSON is a TileJSON 3.0.0 document describing a tile set.
type TileJSON struct {
	TileJSON     string        `json:"tilejson"`
	Name         string        `json:"name"`
	Description  string        `json:"description,omitempty"`
	Attribution  string        `json:"attribution,omitempty"`
	Scheme       string        `json:"scheme"`
	Tiles        []string      `json:"tiles"`
	MinZoom      int           `json:"minzoom"`
	MaxZoom      int           `json:"maxzoom"`
	Bounds       [4]float64    `json:"bounds"`
	Center       [3]float64    `json:"center"`
	VectorLayers []VectorLayer `json:"vector_layers"`
}

// VectorLayer describes one MVT layer of a tile set: its fields and their types.
type VectorLayer struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	MinZoom     int               `json:"minzoom"`
	MaxZoom     int               `json:"maxzoom"`
	Fields      map[string]string `json:"fields"`
}

// NewTileJSON describes the tile set of the named layers. tileURL is the absolute
// URL template of its tiles (with {z}/{x}/{y}, not escaped); bounds are the data's
// (WGS84 lon/lat), ok false when there is no data (then the world's).
func NewTileJSON(reg *layers.Registry, opt Options, names []string, tileURL string, bounds orb.Bound, ok bool) TileJSON {
	opt = opt.withDefaults()
	tj := TileJSON{
		TileJSON: "3.0.0", Name: "riskmap", Scheme: "xyz", Tiles: []string{tileURL},
		MinZoom: 0, MaxZoom: MaxZoom,
		Description: "Luohu district risk census: risk points, slopes, waterlogging spots, rectified roads, emergency resources",
		Attribution: "riskmap",
	}
	if !ok {
		bounds = orb.Bound{Min: orb.Point{-180, -maxLat}, Max: orb.Point{180, maxLat}}
	}
	tj.Bounds = [4]float64{bounds.Min[0], bounds.Min[1], bounds.Max[0], bounds.Max[1]}
	c := bounds.Center()
	// The zoom at which the bounds fill about 1,024 pixels of 512-pixel tiles (as
	// MapLibre draws vector tiles).
	span := math.Max(bounds.Max[0]-bounds.Min[0], (bounds.Max[1]-bounds.Min[1])/math.Cos(c[1]*math.Pi/180))
	z := 0.0
	if span > 0 {
		z = math.Max(0, math.Min(16, math.Floor(math.Log2(360*1024/512/span))))
	}
	tj.Center = [3]float64{c[0], c[1], z}
	for _, l := range reg.Layers() {
		if !slices.Contains(names, l.Name) {
			continue
		}
		vl := VectorLayer{ID: l.Name, Description: l.TitleZH + " " + l.TitleEN, MaxZoom: MaxZoom, Fields: map[string]string{KeyID: "Number: feature id"}}
		for _, f := range l.Fields {
			typ := "String"
			switch f.Type {
			case layers.TypeInt, layers.TypeFloat:
				typ = "Number"
			case layers.TypeBool:
				typ = "Boolean"
			}
			desc := typ + ": " + f.LabelEN
			if f.Unit != "" {
				desc += " (" + f.Unit + ")"
			}
			if !f.Summary {
				desc += "; from zoom " + itoa(opt.DetailZoom)
			}
			vl.Fields[f.Name] = desc
		}
		if slices.Contains(opt.ClusterLayers, l.Name) {
			below := "; clusters below zoom " + itoa(opt.ClusterBelow)
			vl.Fields[KeyCluster] = "Boolean: true on a cluster of points" + below
			vl.Fields[KeyCount] = "Number: points in the cluster" + below
			for _, g := range reg.RiskGrades().Choices {
				vl.Fields[KeyCountPrefix+g.Code] = "Number: points of risk grade " + g.Code + " in the cluster" + below
			}
		}
		tj.VectorLayers = append(tj.VectorLayers, vl)
	}
	return tj
}

func itoa(n int) string { return strconv.Itoa(n) }
