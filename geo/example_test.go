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
