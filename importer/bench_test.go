package importer

import (
	"testing"

	"github.com/paulmach/orb/geojson"

	"riskmap/demo"
	"riskmap/layers"
)

// BenchmarkReadMapRiskPoints reads and maps the demo's 35,548 risk points from
// GeoJSON (no store): the importer's share of riskmap import's time.
//
//	go test -run '^$' -bench ReadMapRiskPoints ./importer
func BenchmarkReadMapRiskPoints(b *testing.B) {
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		b.Fatal(err)
	}
	fc := geojson.NewFeatureCollection()
	for _, f := range ds.Features[layers.RiskPoints] {
		g := geojson.NewFeature(f.Geometry)
		g.Properties = f.Props
		fc.Append(g)
	}
	data, err := fc.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	l, _ := layers.New().Layer(layers.RiskPoints)
	m, err := NewMapper(l, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		tb, err := ReadGeoJSON(data)
		if err != nil {
			b.Fatal(err)
		}
		r, err := m.Map(tb)
		if err != nil || len(r.Features) != len(fc.Features) {
			b.Fatalf("%v %d", err, len(r.Features))
		}
	}
}
