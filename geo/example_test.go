package geo_test

import (
	"fmt"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

func ExampleInverse() {
	luohu := orb.Point{114.1181, 22.5431} // lon, lat degrees
	lowu := orb.Point{114.1318, 22.5481}
	meters, azi1, azi2 := geo.Inverse(luohu, lowu)
	fmt.Printf("%.3f m, azimuth %.4f° at start, %.4f° at end\n", meters, azi1, azi2)
	// Output: 1514.088 m, azimuth 68.5472° at start, 68.5525° at end
}

func ExampleDestination() {
	start := orb.Point{114.1181, 22.5431}
	p := geo.Destination(start, 90, 500) // 500 m due east
	fmt.Printf("lon %.6f lat %.6f, back %.6f m\n", p[0], p[1], geo.Distance(start, p))
	// Output: lon 114.122961 lat 22.543100, back 500.000000 m
}

func ExamplePolygonCoversLine() {
	// A U-shaped zone: both ends of the line are inside, but the line
	// crosses the gap between the arms.
	zone := orb.Polygon{{{0, 0}, {6, 0}, {6, 6}, {4, 6}, {4, 2}, {2, 2}, {2, 6}, {0, 6}, {0, 0}}}
	fmt.Println(geo.PolygonCoversLine(zone, orb.LineString{{1, 5}, {5, 5}}))
	fmt.Println(geo.PolygonCoversLine(zone, orb.LineString{{1, 5}, {1, 1}, {5, 1}, {5, 5}}))
	// Output:
	// false
	// true
}

func ExampleDistanceToGeometry() {
	// A 1 km block with a courtyard (hole) in the middle.
	block := orb.Polygon{
		{{114.10, 22.55}, {114.11, 22.55}, {114.11, 22.56}, {114.10, 22.56}, {114.10, 22.55}},
		{{114.104, 22.554}, {114.104, 22.556}, {114.106, 22.556}, {114.106, 22.554}, {114.104, 22.554}},
	}
	fmt.Printf("%.3f m\n", geo.DistanceToGeometry(orb.Point{114.102, 22.552}, block))  // inside
	fmt.Printf("%.3f m\n", geo.DistanceToGeometry(orb.Point{114.105, 22.5552}, block)) // in the courtyard
	fmt.Printf("%.3f m\n", geo.DistanceToGeometry(orb.Point{114.115, 22.555}, block))  // east of it
	// Output:
	// 0.000 m
	// 88.591 m
	// 514.278 m
}

func ExampleGeometryDistance() {
	route := orb.LineString{{114.09, 22.545}, {114.12, 22.546}}
	block := orb.Polygon{{{114.10, 22.55}, {114.11, 22.55}, {114.11, 22.56}, {114.10, 22.56}, {114.10, 22.55}}}
	d := geo.GeometryDistance(route, block)
	fmt.Printf("%.3f m, within 500 m: %v\n", d, d <= 500)
	// Output: 479.487 m, within 500 m: true
}
