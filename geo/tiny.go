package geo

import "math"

// The fast path of Distance for very short lines (dispatch: the nearest features of an
// incident are tens of meters away).
//
// Below tinyMax meters the geodesic is, to under 1e-8 m, the straight line of the
// local plane whose scales are the ellipsoid's radii of curvature at the mean
// latitude: the meridional radius M and the prime-vertical radius N. The neglected
// terms grow as the cube of the distance (4e-9 m at most at 100 m and latitudes up to
// ±60°; near Luohu 4.4e-7 m at 1 km, which is why the limit is short).
// TestDistanceTinyMatchesKarney holds the fast path to 1e-8 m against the full
// solution.

const (
	// tinyMax is the longest distance, meters, the fast path answers.
	tinyMax = 100.0
	// tinyMaxDeg rejects pairs whose coordinate offsets are clearly beyond tinyMax
	// before any trigonometry (0.0015° is over 150 m of latitude).
	tinyMaxDeg = 0.0015
	// tinyMaxLat keeps the fast path away from the poles, where the plane bends fast.
	tinyMaxLat = 60.0
	wgs84E2    = WGS84F * (2 - WGS84F)
)

// distanceTiny returns the distance in meters between two points (lat/lon degrees)
// and true when they are at most tinyMax apart and within tinyMaxLat of the equator.
// It is exactly symmetric in its arguments.
func distanceTiny(lat1, lon1, lat2, lon2 float64) (float64, bool) {
	dlat, dlon := lat2-lat1, lon2-lon1
	if !(math.Abs(dlat) < tinyMaxDeg && math.Abs(dlon) < tinyMaxDeg && math.Abs(lat1) < tinyMaxLat) {
		return 0, false // also rejects NaN
	}
	phi := (lat1 + lat2) / 2 * deg2rad
	sphi, cphi := math.Sincos(phi)
	w2 := 1 - wgs84E2*sphi*sphi
	w := math.Sqrt(w2)
	n := WGS84A / w                        // prime-vertical radius of curvature
	m := WGS84A * (1 - wgs84E2) / (w2 * w) // meridional radius of curvature
	s := math.Hypot(n*cphi*dlon*deg2rad, m*dlat*deg2rad)
	if s > tinyMax {
		return 0, false
	}
	return s, true
}
