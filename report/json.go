package report

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/paulmach/orb/geojson"

	"riskmap/index"
)

// areaJSON is the area as the JSON report gives it.
type areaJSON struct {
	Kind     Kind              `json:"kind"`
	Center   [2]float64        `json:"center"`
	RadiusM  float64           `json:"radius_m,omitempty"`
	BufferM  float64           `json:"buffer_m,omitempty"`
	LengthM  float64           `json:"length_m,omitempty"`
	AreaM2   float64           `json:"area_m2"`
	Geometry *geojson.Geometry `json:"geometry"`
	InputCRS string            `json:"input_crs"`
}

type nearestJSON struct {
	Layer   string          `json:"layer"`
	Feature json.RawMessage `json:"feature"`
}

// summaryJSON is everything of the report but its feature list.
type summaryJSON struct {
	Title         string            `json:"title"`
	Description   map[string]string `json:"description"`
	GeneratedAt   string            `json:"generated_at"`
	Area          areaJSON          `json:"area"`
	Filters       map[string]string `json:"filters"`
	Total         int               `json:"total"`
	ByLayer       []LayerCount      `json:"by_layer"`
	BySubdistrict []GroupCount      `json:"by_subdistrict"`
	ByDepartment  []GroupCount      `json:"by_department"`
	Nearest       []nearestJSON     `json:"nearest"`
	InWarning     json.RawMessage   `json:"in_warning"`
}

func (r *Report) summary() summaryJSON {
	a := r.Area
	s := summaryJSON{
		Title:       r.Title,
		Description: map[string]string{"zh": a.describe("zh"), "en": a.describe("en")},
		GeneratedAt: r.GeneratedAt.UTC().Format(time.RFC3339),
		Area: areaJSON{
			Kind: a.Kind, Center: [2]float64{round(a.Center[0], 7), round(a.Center[1], 7)},
			RadiusM: a.RadiusM, BufferM: a.BufferM, LengthM: round(a.LengthM(), 1),
			AreaM2: round(a.AreaM2(), 0), Geometry: geojson.NewGeometry(a.Geometry()), InputCRS: r.InputCRS,
		},
		Filters: r.Filters, Total: len(r.Hits), ByLayer: r.ByLayer,
		BySubdistrict: r.BySubdistrict, ByDepartment: r.ByDepartment,
		InWarning: index.AppendFeatureCollection(nil, r.InWarning, len(r.InWarning), 0, true),
	}
	for _, n := range r.Nearest {
		f := json.RawMessage("null")
		if n.Hit != nil {
			f = n.Hit.Rec.AppendGeoJSON(nil, n.Hit.Distance, true)
		}
		s.Nearest = append(s.Nearest, nearestJSON{Layer: n.Layer, Feature: f})
	}
	return s
}

// JSON encodes the report: the summary (title, area, counts, nearest, in_warning)
// and "features", the full list as a GeoJSON FeatureCollection with distance_m.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.Marshal(r.summary())
	if err != nil {
		return nil, fmt.Errorf("report: encode: %w", err)
	}
	b = b[:len(b)-1] // reopen the object
	b = append(b, `,"features":`...)
	b = index.AppendFeatureCollection(b, r.Hits, len(r.Hits), 0, true)
	return append(b, '}'), nil
}

// GeoJSON encodes the full list as a GeoJSON FeatureCollection (WGS84, distance_m
// on every feature) with the report's summary as the foreign member "report".
func (r *Report) GeoJSON() ([]byte, error) {
	sum, err := json.Marshal(r.summary())
	if err != nil {
		return nil, fmt.Errorf("report: encode: %w", err)
	}
	b := index.AppendFeatureCollection(nil, r.Hits, len(r.Hits), 0, true)
	b = b[:len(b)-1]
	b = append(b, `,"report":`...)
	b = append(b, sum...)
	return append(b, '}'), nil
}

// round rounds x to n decimals.
func round(x float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(x*p) / p
}
