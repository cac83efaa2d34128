// Package demo builds riskmap's deterministic synthetic Luohu dataset and seeds it
// into a store.
//
// Two real inputs are embedded (see data/ATTRIBUTION.md): the district boundary and
// the centroids of OpenStreetMap road ways with their names. Everything else is
// synthetic, drawn from a fixed-seed generator, so the same binary writes identical
// rows every time. docs/demo-data.md explains the model. Generation is pure; Seed
// writes through a small interface the caller's store satisfies.
package demo

import (
	"embed"
	"fmt"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

//go:embed data/luohu_boundary_wgs84.geojson data/luohu_roads_osm_segment_centroids_wgs84.geojson
var dataFiles embed.FS

// Boundary returns the Luohu district boundary, WGS84 lon/lat degrees. Each call
// returns a new polygon the caller owns.
func Boundary() (orb.Polygon, error) {
	fc, err := readCollection("data/luohu_boundary_wgs84.geojson")
	if err != nil {
		return nil, err
	}
	if len(fc.Features) != 1 {
		return nil, fmt.Errorf("demo: boundary: %d features, want 1", len(fc.Features))
	}
	switch g := fc.Features[0].Geometry.(type) {
	case orb.Polygon:
		return g, nil
	case orb.MultiPolygon:
		if len(g) == 1 {
			return g[0], nil
		}
	}
	return nil, fmt.Errorf("demo: boundary is a %s, want one Polygon", fc.Features[0].Geometry.GeoJSONType())
}

// RoadCentroid is the centroid of one OpenStreetMap way of a named road.
type RoadCentroid struct {
	Name    string
	Highway string // OSM highway class: motorway, trunk, primary, secondary, tertiary
	// LengthM is the length of the way in meters.
	LengthM float64
	Point   orb.Point
}

// RoadCentroids returns the embedded road-way centroids in file order.
func RoadCentroids() ([]RoadCentroid, error) {
	fc, err := readCollection("data/luohu_roads_osm_segment_centroids_wgs84.geojson")
	if err != nil {
		return nil, err
	}
	out := make([]RoadCentroid, 0, len(fc.Features))
	for i, f := range fc.Features {
		p, ok := f.Geometry.(orb.Point)
		name, _ := f.Properties["name"].(string)
		if !ok || name == "" {
			return nil, fmt.Errorf("demo: road centroid %d: want a named Point", i)
		}
		hw, _ := f.Properties["highway"].(string)
		length, _ := f.Properties["length_m"].(float64)
		out = append(out, RoadCentroid{Name: name, Highway: hw, LengthM: length, Point: p})
	}
	return out, nil
}

func readCollection(name string) (*geojson.FeatureCollection, error) {
	b, err := dataFiles.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", name, err)
	}
	return fc, nil
}
