package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// GCJ-02 ("Mars coordinates") is the obfuscated datum that Chinese basemaps
// (AMap, Tencent, and Baidu's BD-09 before its own extra shift) are drawn in.
// A GCJ-02 position is the WGS84 position moved by a smooth, deterministic
// offset of a few hundred meters (570 to 620 m in Shenzhen, at most 735 m
// anywhere in the box below). The offset is the publicly documented one: two
// polynomial-plus-sine series in the offsets from (105°E, 35°N), read as
// meters north and east and turned into degrees with the radii of curvature
// of the Krasovsky 1940 ellipsoid.
//
// The forward transform evaluates that published formula in float64, with
// rounding errors near 1e-13 degrees. Against real basemap data it is good to
// a meter or two: TestGCJ02Luohu converts AMap's outline of Luohu district and
// measures it against an independent WGS84 outline.
//
// GCJ-02 is only applied inside a rough bounding box of mainland China; see
// gcj02Outside. Outside it both transforms are the identity.

// Krasovsky 1940 ellipsoid, as used by the GCJ-02 offset.
const (
	krasovskyA  = 6378245.0              // semi-major axis, meters
	krasovskyE2 = 0.00669342162296594323 // first eccentricity squared
)

// The bounding box, lon/lat degrees, inside which GCJ-02 differs from WGS84.
// It is the box the published implementations use: it covers all of mainland
// China, but also Taiwan, Hong Kong, Macau and much of the neighbouring
// countries (Mongolia, Korea, Vietnam, ...), whose maps may not be offset.
// Callers that need a finer test must make it themselves.
const (
	gcj02MinLon = 72.004
	gcj02MaxLon = 137.8347
	gcj02MinLat = 0.8293
	gcj02MaxLat = 55.8271
)

// GCJ02ToWGS84 iteration controls.
const (
	// gcj02Tol is the largest error, degrees, of the forward transform of
	// the returned point accepted by GCJ02ToWGS84 (1e-9° is 0.1 mm).
	gcj02Tol = 1e-9
	// gcj02MaxIter caps the iterations. Each one shrinks the error over
	// 100-fold (across the box the offset's derivatives sum to under 0.008
	// degree per degree), so at most 5 are needed; the cap only bounds the
	// work should that ever fail.
	gcj02MaxIter = 30
)

// gcj02Outside reports whether a point (lon/lat degrees) is outside the
// GCJ-02 bounding box [72.004, 137.8347]°E × [0.8293, 55.8271]°N. The box is
// closed; NaN coordinates count as outside.
func gcj02Outside(lon, lat float64) bool {
	return !(lon >= gcj02MinLon && lon <= gcj02MaxLon && lat >= gcj02MinLat && lat <= gcj02MaxLat)
}

// gcj02Offset returns the GCJ-02 offset, degrees of longitude and latitude,
// at a WGS84 point given in lon/lat degrees, whether or not the point is
// inside the bounding box.
func gcj02Offset(lon, lat float64) (dlon, dlat float64) {
	x, y := lon-105, lat-35

	// The series give the offset in meters east (de) and north (dn).
	// Terms shared by the two series.
	common := 2.0 / 3 * (20*math.Sin(6*math.Pi*x) + 20*math.Sin(2*math.Pi*x))
	de := 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x)) + common +
		2.0/3*(20*math.Sin(math.Pi*x)+40*math.Sin(math.Pi/3*x)) +
		2.0/3*(150*math.Sin(math.Pi/12*x)+300*math.Sin(math.Pi/30*x))
	dn := -100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x)) + common +
		2.0/3*(20*math.Sin(math.Pi*y)+40*math.Sin(math.Pi/3*y)) +
		2.0/3*(160*math.Sin(math.Pi/12*y)+320*math.Sin(math.Pi/30*y))

	// Meters to degrees on the Krasovsky ellipsoid: the meridional radius of
	// curvature M for latitude, the parallel's radius N·cos φ for longitude.
	sphi, cphi := math.Sincos(lat * deg2rad)
	w2 := 1 - krasovskyE2*sphi*sphi
	w := math.Sqrt(w2)
	m := krasovskyA * (1 - krasovskyE2) / (w2 * w)
	nc := krasovskyA / w * cphi
	return de / (nc * deg2rad), dn / (m * deg2rad)
}

// WGS84ToGCJ02 returns the GCJ-02 position of p, a WGS84 point in lon/lat
// degrees, as lon/lat degrees. Outside the bounding box
// [72.004, 137.8347]°E × [0.8293, 55.8271]°N, the usual rough test for
// mainland China, and for NaN or infinite coordinates, it returns p
// unchanged.
//
// The result matches the published GCJ-02 formula to float64 rounding
// (about 1e-13°, far below a millimeter); real GCJ-02 data agrees with it to
// a meter or two. The offset is a few hundred meters (570 to 620 m in
// Shenzhen). WGS84ToGCJ02 does not allocate and is safe for concurrent use.
func WGS84ToGCJ02(p orb.Point) orb.Point {
	lon, lat := p[0], p[1]
	if gcj02Outside(lon, lat) {
		return p
	}
	dlon, dlat := gcj02Offset(lon, lat)
	return orb.Point{lon + dlon, lat + dlat}
}

// GCJ02ToWGS84 returns the WGS84 position, lon/lat degrees, of p, a GCJ-02
// point in lon/lat degrees: the inverse of WGS84ToGCJ02. Outside the bounding
// box of WGS84ToGCJ02 (tested on p) it returns p unchanged.
//
// The GCJ-02 offset has no closed-form inverse, so GCJ02ToWGS84 solves
// w + offset(w) = p by fixed-point iteration, w ← p − offset(w), from w = p,
// until the forward transform of w lands within 1e-9° of p (0.1 mm; each step
// gains over two digits, so this takes at most 5 steps), and returns w after
// one more step. The result is within 1e-10° (0.01 mm) of the exact inverse,
// and WGS84ToGCJ02(GCJ02ToWGS84(p)) is within 1e-9° of p.
//
// Within 0.011° (1.2 km) of the edges of the box the forward transform is not
// one-to-one (a point just inside can be moved out of the box, and a point
// just outside is left where it is); there GCJ02ToWGS84 returns the solution
// of the equation above, which may lie outside the box. The edges are all
// over 100 km outside China's borders, so Chinese data never meets this.
//
// GCJ02ToWGS84 does not allocate and is safe for concurrent use.
func GCJ02ToWGS84(p orb.Point) orb.Point {
	lon, lat := p[0], p[1]
	if gcj02Outside(lon, lat) {
		return p
	}
	wlon, wlat := lon, lat
	for range gcj02MaxIter {
		dlon, dlat := gcj02Offset(wlon, wlat)
		nlon, nlat := lon-dlon, lat-dlat
		// nlon−wlon = p − forward(w): the forward transform's error at w.
		done := math.Abs(nlon-wlon) <= gcj02Tol && math.Abs(nlat-wlat) <= gcj02Tol
		wlon, wlat = nlon, nlat
		if done {
			break
		}
	}
	return orb.Point{wlon, wlat}
}
