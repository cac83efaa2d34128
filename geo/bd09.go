package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// BD-09 is Baidu Maps' datum: a GCJ-02 position moved once more, by a shift of
// about (0.0065°, 0.006°) plus a small ripple, written in the published form
//
//	x, y = GCJ-02 lon, lat (degrees)
//	r    = √(x² + y²) + 2e-5 · sin(y · 3000π/180)
//	θ    = atan2(y, x) + 3e-6 · cos(x · 3000π/180)
//	BD-09 = (r·cos θ + 0.0065, r·sin θ + 0.006)
//
// i.e. the point is read as polar coordinates of the lon/lat plane, its radius
// and angle nudged, and the result shifted. The whole move is 600 to 700 m in
// Shenzhen (BD-09 to WGS84 about 1 km, the GCJ-02 offset included).
//
// The published inverse undoes the shift and then the nudges evaluated at the
// BD-09 point instead of the GCJ-02 one, which leaves an error of up to about
// 1e-5° (a meter). BD09ToGCJ02 starts from it and refines by fixed-point
// iteration until the forward transform of the answer lands within 1e-10° of
// the input, so the two directions are exact inverses to well under a
// millimeter.
//
// Unlike GCJ-02, BD-09 has no bounding box: Baidu applies it everywhere. The
// GCJ-02 step of BD09ToWGS84 and WGS84ToBD09 keeps its own box (see
// WGS84ToGCJ02).

// BD-09 constants of the published formula.
const (
	bd09XPi    = math.Pi * 3000 / 180 // the ripple's angular frequency, radians per degree
	bd09DLon   = 0.0065               // shift, degrees of longitude
	bd09DLat   = 0.006                // shift, degrees of latitude
	bd09RadAmp = 2e-5                 // ripple of the radius, degrees
	bd09AngAmp = 3e-6                 // ripple of the angle, radians

	// bd09Tol is the largest error, degrees, of the forward transform of the
	// answer accepted by BD09ToGCJ02 (1e-10° is 0.01 mm).
	bd09Tol = 1e-10
	// bd09MaxIter caps the refinement. Each step shrinks the error over
	// 10-fold (the ripple's derivatives are below 0.07 per degree near the
	// equator and far less elsewhere), so 4 or 5 steps suffice; the cap only
	// bounds the work.
	bd09MaxIter = 30
)

// gcj02ToBD09 is the published forward formula on plain floats.
func gcj02ToBD09(x, y float64) (float64, float64) {
	r := math.Hypot(x, y) + bd09RadAmp*math.Sin(y*bd09XPi)
	t := math.Atan2(y, x) + bd09AngAmp*math.Cos(x*bd09XPi)
	s, c := math.Sincos(t)
	return r*c + bd09DLon, r*s + bd09DLat
}

// GCJ02ToBD09 returns the BD-09 position, lon/lat degrees, of p, a GCJ-02 point
// in lon/lat degrees, by the published formula (to float64 rounding). NaN or
// infinite coordinates are returned unchanged. It does not allocate and is safe
// for concurrent use.
func GCJ02ToBD09(p orb.Point) orb.Point {
	if !finite(p) {
		return p
	}
	lon, lat := gcj02ToBD09(p[0], p[1])
	return orb.Point{lon, lat}
}

// BD09ToGCJ02 returns the GCJ-02 position, lon/lat degrees, of p, a BD-09 point
// in lon/lat degrees: the inverse of GCJ02ToBD09, within 1e-10° (0.01 mm) of the
// exact one. It starts from the published one-step inverse (which alone is off by
// up to about 1e-5°, a meter) and refines it, g ← g + (p − GCJ02ToBD09(g)), until
// the forward transform of g is within 1e-10° of p. NaN or infinite coordinates
// are returned unchanged. It does not allocate and is safe for concurrent use.
func BD09ToGCJ02(p orb.Point) orb.Point {
	if !finite(p) {
		return p
	}
	// The published inverse.
	x, y := p[0]-bd09DLon, p[1]-bd09DLat
	r := math.Hypot(x, y) - bd09RadAmp*math.Sin(y*bd09XPi)
	t := math.Atan2(y, x) - bd09AngAmp*math.Cos(x*bd09XPi)
	s, c := math.Sincos(t)
	glon, glat := r*c, r*s
	for range bd09MaxIter {
		blon, blat := gcj02ToBD09(glon, glat)
		elon, elat := p[0]-blon, p[1]-blat
		glon, glat = glon+elon, glat+elat
		if math.Abs(elon) <= bd09Tol && math.Abs(elat) <= bd09Tol {
			break
		}
	}
	return orb.Point{glon, glat}
}

// BD09ToWGS84 returns the WGS84 position, lon/lat degrees, of p, a BD-09 point:
// GCJ02ToWGS84(BD09ToGCJ02(p)). Within the GCJ-02 box it is accurate to the
// published formulas (well under a millimeter); real Baidu data agrees with them
// to a meter or two.
func BD09ToWGS84(p orb.Point) orb.Point { return GCJ02ToWGS84(BD09ToGCJ02(p)) }

// WGS84ToBD09 returns the BD-09 position, lon/lat degrees, of p, a WGS84 point:
// GCJ02ToBD09(WGS84ToGCJ02(p)).
func WGS84ToBD09(p orb.Point) orb.Point { return GCJ02ToBD09(WGS84ToGCJ02(p)) }

func finite(p orb.Point) bool {
	return !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && !math.IsInf(p[0], 0) && !math.IsInf(p[1], 0)
}
