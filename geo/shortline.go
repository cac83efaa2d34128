package geo

import "math"

// The fast path of Distance for short lines.
//
// For two points a few hundred kilometres apart or less, the inverse
// problem can be solved without Newton's method: on Karney's auxiliary
// sphere the geodesic is the great circle through the two reduced-latitude
// points separated by a spherical longitude ω12, and ω12 is fixed by
//
//	λ12 = ω12 − f·A3·sin α0·(σ12 + B3(σ2) − B3(σ1)),          eq. (8),
//
// in which the right-hand side depends on ω12 only through the O(f) term.
// Iterating ω12 ← λ12 + f·A3·sin α0·(σ12 + B3(σ2) − B3(σ1)) is therefore a
// contraction with ratio of order f·cos²β ≈ 0.003 (Vincenty's method, but
// with Karney's order-6 series in place of Vincenty's truncated ones). It
// starts from the ω12 of the sphere scaled to the mean latitude, whose
// error grows as σ12³, and stops as soon as the geodesic it has found ends
// close enough to point 2 for the first variation of length to correct the
// distance: after one step up to about 6 km, after two up to 600 km. The
// distance follows from eq. (15) as in the general solution, so the two
// agree to rounding; TestDistanceShortMatchesKarney holds them to 1e-8 m
// (the largest difference seen is 3e-9 m).

const (
	// shortMaxSig12 is the largest auxiliary-sphere arc σ12, radians,
	// accepted by distanceShort: 0.1 rad is about 637 km.
	shortMaxSig12 = 0.1
	// shortAccept: the iteration stops once dlam² <= shortAccept·σ12,
	// where the first-order correction of the distance leaves an error
	// of about (a·dlam)²/(2·b·σ12) <= 1e-10 m.
	shortAccept = 2e-10 / WGS84A
	// shortMaxIt bounds the iterations; the contraction ratio is below
	// 0.0034, so even a poor start converges in far fewer.
	shortMaxIt = 10
)

// distanceShort returns the geodesic distance in meters between two
// points given as latitudes and longitudes in degrees, and true, when the
// points are less than about 600 km apart, neither is at a pole, both
// longitudes are in [-180, 180] and they do not share a meridian. It
// returns false otherwise, leaving the problem to inverse.
func distanceShort(lat1, lon1, lat2, lon2 float64) (float64, bool) {
	if !(math.Abs(lat1) < 90 && math.Abs(lat2) < 90 && math.Abs(lon1) <= 180 && math.Abs(lon2) <= 180) {
		return 0, false // also rejects NaN
	}
	// For longitudes in [-180, 180] this is the leading part of angDiff:
	// the exact difference is lon12 + (rounding error), and only the
	// rounded lon12 enters the short-line solution.
	lon12, _ := twoSum(-lon1, lon2)
	lon12 = angRound(math.Abs(lon12))
	if !(lon12 > 0 && lon12 < 20) {
		return 0, false // a meridian, or not short
	}
	lam12 := lon12 * deg2rad

	// Put the points in inverse's canonical order, |lat1| >= |lat2| and
	// lat1 <= 0, so that Distance stays exactly symmetric.
	lat1, lat2 = angRound(lat1), angRound(lat2)
	if math.Abs(lat1) < math.Abs(lat2) {
		lat1, lat2 = lat2, lat1
	}
	if !math.Signbit(lat1) {
		lat1, lat2 = -lat1, -lat2
	}
	sbet1, cbet1 := sincosd(lat1)
	sbet1, cbet1 = unit2(f1*sbet1, cbet1)
	sbet2, cbet2 := sincosd(lat2)
	sbet2, cbet2 = unit2(f1*sbet2, cbet2)
	if cbet1 < -sbet1 {
		if cbet2 == cbet1 {
			sbet2 = math.Copysign(sbet1, sbet2)
		}
	} else if math.Abs(sbet2) == -sbet1 {
		cbet2 = cbet1
	}
	if sbet1 == 0 {
		// Both on the equator: the geodesic is the equator itself.
		return WGS84A * lam12, true
	}

	sbet12 := sbet2*cbet1 - cbet2*sbet1 // sin(β2 − β1)
	if !(sbet12 < 0.2 && cbet2*lam12 < 0.2) {
		return 0, false
	}
	// Start from the sphere of radius b·dnm, dnm = √(1 + e'² sin²βm).
	sbetm2 := (sbet1 + sbet2) * (sbet1 + sbet2)
	sbetm2 /= sbetm2 + (cbet1+cbet2)*(cbet1+cbet2)
	omg12 := lam12 / (f1 * math.Sqrt(1+ep2*sbetm2))

	for range shortMaxIt {
		// The great circle on the auxiliary sphere: azimuths α1, α2 and
		// arc σ12 of the triangle with the pole, scaled by sin σ12.
		somg12, comg12 := math.Sincos(omg12)
		t := somg12 * somg12 / (1 + comg12)
		salp1, calp1 := cbet2*somg12, sbet12+cbet2*sbet1*t
		salp2, calp2 := cbet1*somg12, sbet12-cbet1*sbet2*t
		ssig12 := math.Sqrt(salp1*salp1 + calp1*calp1)
		csig12 := sbet1*sbet2 + cbet1*cbet2*comg12
		sig12 := math.Atan2(ssig12, csig12)
		if !(sig12 <= shortMaxSig12) {
			return 0, false
		}
		r := 1 / ssig12
		salp1, calp1 = salp1*r, calp1*r
		salp2, calp2 = salp2*r, calp2*r

		// α0 and the arcs σ1, σ2 from the equator crossing, as in lambda12.
		salp0 := salp1 * cbet1
		calp0 := math.Sqrt(calp1*calp1 + (salp1*sbet1)*(salp1*sbet1))
		ssig1, csig1 := unit2(sbet1, calp1*cbet1)
		ssig2, csig2 := unit2(sbet2, calp2*cbet2)
		k2 := calp0 * calp0 * ep2
		eps := k2 / (2*(1+math.Sqrt(1+k2)) + k2)

		// dlam is λ12 less the longitude difference reached by this
		// geodesic on the parallel of point 2.
		c3 := c3f(eps)
		b312 := sinSeries(ssig2, csig2, c3[:]) - sinSeries(ssig1, csig1, c3[:])
		dlam := lam12 + f*a3f(eps)*salp0*(sig12+b312) - omg12
		if dlam*dlam > shortAccept*sig12 {
			omg12 += dlam
			continue
		}
		// Close enough: this geodesic is exact and ends on the parallel
		// of point 2, dlam short of it. Moving its end along the parallel
		// lengthens it by a·cos β2·sin α2 per radian of longitude (the
		// first variation of length), with a second-order error of about
		// (a·dlam)²/(2 s12) < 1e-10 m by the test above.
		c1 := c1f(eps)
		b1 := sinSeries(ssig2, csig2, c1[:]) - sinSeries(ssig1, csig1, c1[:])
		return 0 + b*(1+a1m1f(eps))*(sig12+b1) + WGS84A*cbet2*salp2*dlam, true
	}
	return 0, false
}

// unit2 is norm2 for a pair whose components are at most a few in
// magnitude and not both tiny, where the plain square root of the sum of
// squares neither overflows nor underflows and is much cheaper than
// math.Hypot.
func unit2(y, x float64) (float64, float64) {
	r := 1 / math.Sqrt(x*x+y*y)
	return y * r, x * r
}
