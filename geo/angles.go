package geo

import "math"

const (
	deg2rad = math.Pi / 180
	rad2deg = 180 / math.Pi
)

// sincosd returns the sine and cosine of x degrees. The argument is reduced
// exactly to [-45°, 45°] before conversion to radians, so multiples of 90°
// give exact results (sincosd(90) is exactly (1, 0)).
func sincosd(x float64) (s, c float64) {
	if math.Abs(x) < 45 {
		// Already reduced: the general path below computes exactly
		// this (r = x, q = 0), without the cost of the reduction.
		s, c = math.Sincos(x * deg2rad)
		if s == 0 {
			s = math.Copysign(0, x)
		}
		return s, c
	}
	r := math.Remainder(x, 360) // exact, in [-180, 180]
	q := math.Round(r / 90)     // quadrant, in [-2, 2]
	r -= 90 * q                 // exact (Sterbenz), in [-45, 45]
	s, c = math.Sincos(r * deg2rad)
	switch int(q) & 3 {
	case 1:
		s, c = c, -s
	case 2:
		s, c = -s, -c
	case 3:
		s, c = -c, s
	}
	c += 0 // turn a cosine of -0 into +0
	if s == 0 {
		s = math.Copysign(0, x)
	}
	return s, c
}

// atan2d returns atan2(y, x) in degrees, in (-180, 180]. The computation is
// folded into the first octant first so that, for example, atan2d(1, 1) is
// exactly 45 and atan2d(+0, -1) is exactly 180.
func atan2d(y, x float64) float64 {
	q := 0
	if math.Abs(y) > math.Abs(x) {
		x, y = y, x
		q = 2
	}
	if math.Signbit(x) {
		x = -x
		q++
	}
	ang := math.Atan2(y, x) * rad2deg
	switch q {
	case 1:
		if y >= 0 {
			ang = 180 - ang
		} else {
			ang = -180 - ang
		}
	case 2:
		ang = 90 - ang
	case 3:
		ang = -90 + ang
	}
	if ang == -180 {
		ang = 180
	}
	return ang
}

// angNormalize reduces an angle in degrees to (-180, 180]. The reduction is
// exact.
func angNormalize(x float64) float64 {
	y := math.Remainder(x, 360)
	if y == -180 {
		return 180
	}
	return y
}

// angRound rounds an angle in degrees whose magnitude is below 1/16 to a
// multiple of 2^-57 (the spacing of doubles just below 1/16). This removes
// the tiny values that would otherwise underflow or lose precision later,
// e.g. when 1e-300 degrees is converted to a sine. Larger angles, and zero,
// are returned unchanged.
func angRound(x float64) float64 {
	const z = 1.0 / 16
	y := math.Abs(x)
	if y < z {
		y = z - (z - y)
	}
	return math.Copysign(y, x)
}

// twoSum returns s = fl(u+v) and the rounding error t such that s+t == u+v
// exactly (Knuth's TwoSum).
func twoSum(u, v float64) (s, t float64) {
	s = u + v
	up := s - v
	vpp := s - up
	up -= u
	vpp -= v
	t = -(up + vpp)
	return s, t
}

// angDiff returns the longitude difference y - x in degrees reduced to
// [-180, 180], as an unevaluated sum d + e with d the rounded value and e its
// (tiny) rounding error. The reduction modulo 360 is exact.
func angDiff(x, y float64) (d, e float64) {
	d, t := twoSum(math.Remainder(-x, 360), math.Remainder(y, 360))
	d = angNormalize(d) // exact
	// d+t lies outside [-180, 180] only when d is 180 and t positive.
	if d == 180 && t > 0 {
		d = -180
	}
	return twoSum(d, t)
}

// latFix returns the latitude in degrees, or NaN if it is outside [-90, 90].
func latFix(lat float64) float64 {
	if math.Abs(lat) > 90 {
		return math.NaN()
	}
	return lat
}

// norm2 scales (y, x) to unit length; the pair is the sine and cosine of an
// angle.
func norm2(y, x float64) (float64, float64) {
	r := math.Hypot(y, x)
	return y / r, x / r
}
