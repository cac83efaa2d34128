package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// WGS84 ellipsoid constants.
const (
	WGS84A = 6378137.0         // semi-major axis, meters
	WGS84F = 1 / 298.257223563 // flattening (dimensionless)
)

// Derived ellipsoid parameters and numerical tolerances. All are untyped
// constants, so they are computed exactly and rounded once.
const (
	f   = WGS84F
	f1  = 1 - f          // b/a
	e2  = f * (2 - f)    // first eccentricity squared
	ep2 = e2 / (f1 * f1) // second eccentricity squared
	n   = f / (2 - f)    // third flattening
	b   = WGS84A * f1    // semi-minor axis, meters

	tol0    = 0x1p-52     // machine epsilon
	tol1    = 200 * tol0  // threshold of the antipodal starting guess
	tol2    = 0x1p-26     // √tol0
	tolb    = tol0 * tol2 // bisection tolerance
	xthresh = 1000 * tol2 // threshold of the astroid starting guess
	tiny    = 0x1p-511    // √(smallest normal float64)

	// etol2 bounds the error of the spherical approximation accepted for
	// short lines in inverseStart: 0.1·tol2/√(max(0.001, |f|)·min(1, 1−f/2)/2).
	// TestEtol2 checks the literal against that formula.
	etol2 = 3.642461148878852e-08

	maxit1 = 20               // Newton iterations
	maxit2 = maxit1 + 53 + 10 // Newton plus bisection iterations
)

// Inverse solves the inverse geodesic problem on the WGS84 ellipsoid between
// a and b, given as orb.Point{lon, lat} in degrees. It returns the length of
// the shortest geodesic in meters and the forward azimuths at a and at b in
// degrees clockwise from north, in (-180, 180]; azi2 is the direction of
// travel on arriving at b.
//
// Longitudes may be any finite value; latitudes outside [-90, 90] give NaN.
// When the points coincide the distance is 0 and the two azimuths are equal
// (0 or 180). For points at a pole the azimuths are those for the limit of a
// point approaching the pole along the meridian of its given longitude.
func Inverse(a, b orb.Point) (meters, azi1, azi2 float64) {
	r := inverse(a[1], a[0], b[1], b[0])
	return r.s12, r.azi1, r.azi2
}

// Distance is Inverse's distance in meters along the WGS84 ellipsoid between
// a and b, given as orb.Point{lon, lat} in degrees.
//
// Points less than about 600 km apart take a faster route to the same
// answer (see shortline.go), which agrees with Inverse to 1e-8 m; Distance
// is exactly symmetric in a and b.
func Distance(a, b orb.Point) float64 {
	if s, ok := distanceTiny(a[1], a[0], b[1], b[0]); ok {
		return s
	}
	if s, ok := distanceShort(a[1], a[0], b[1], b[0]); ok {
		return s
	}
	r := inverse(a[1], a[0], b[1], b[0])
	return r.s12
}

// inverseResult is the full output of inverse.
type inverseResult struct {
	s12        float64 // distance, meters
	azi1, azi2 float64 // azimuths, degrees in (-180, 180]
	m12        float64 // reduced length, meters
}

// inverse implements the inverse solution of Karney (2013), §§4–5, with
// latitudes and longitudes in degrees.
func inverse(lat1, lon1, lat2, lon2 float64) inverseResult {
	// Longitude difference in [0, 180] and its supplement, both accurate.
	lon12, lon12e := angDiff(lon1, lon2)
	lonsign := 1.0
	if math.Signbit(lon12) {
		lonsign = -1
	}
	lon12 = lonsign * angRound(lon12)
	lon12s := angRound((180 - lon12) - lonsign*lon12e)
	lam12 := lon12 * deg2rad
	var slam12, clam12 float64
	if lon12 > 90 {
		slam12, clam12 = sincosd(lon12s)
		clam12 = -clam12
	} else {
		slam12, clam12 = sincosd(lon12)
	}

	// Swap the points so that |lat1| >= |lat2|, then flip the signs of
	// the latitudes so that lat1 <= 0.
	lat1 = angRound(latFix(lat1))
	lat2 = angRound(latFix(lat2))
	swapp := 1.0
	if math.Abs(lat1) < math.Abs(lat2) || math.IsNaN(lat2) {
		swapp = -1
		lonsign = -lonsign
		lat1, lat2 = lat2, lat1
	}
	latsign := -1.0
	if math.Signbit(lat1) {
		latsign = 1
	}
	lat1 *= latsign
	lat2 *= latsign

	// Reduced latitudes β.
	sbet1, cbet1 := sincosd(lat1)
	sbet1, cbet1 = norm2(f1*sbet1, cbet1)
	cbet1 = math.Max(tiny, cbet1)
	sbet2, cbet2 := sincosd(lat2)
	sbet2, cbet2 = norm2(f1*sbet2, cbet2)
	cbet2 = math.Max(tiny, cbet2)

	// Make β1 and β2 related exactly when the latitudes are equal or
	// opposite, so that the tests below can rely on equality.
	if cbet1 < -sbet1 {
		if cbet2 == cbet1 {
			sbet2 = math.Copysign(sbet1, sbet2)
		}
	} else if math.Abs(sbet2) == -sbet1 {
		cbet2 = cbet1
	}

	dn1 := math.Sqrt(1 + ep2*sbet1*sbet1)
	dn2 := math.Sqrt(1 + ep2*sbet2*sbet2)

	var (
		s12x, m12x, sig12          float64
		salp1, calp1               float64
		salp2, calp2               float64
		meridian                   = lat1 == -90 || slam12 == 0
		ssig1, csig1, ssig2, csig2 float64
	)

	if meridian {
		// The points lie on one meridian (or point 1 is a pole): head
		// north (λ12 = 0) or over the south pole (λ12 = 180°), with
		// α2 = 0. On a meridian α0 = 0, so ε = n, and σ, measured from
		// the equator, has (sin σ, cos σ) = (sin β, cos α cos β).
		salp1, calp1 = slam12, clam12
		salp2, calp2 = 0, 1
		ssig1, csig1 = sbet1, calp1*cbet1
		ssig2, csig2 = sbet2, calp2*cbet2
		sig12 = math.Atan2(math.Max(0, csig1*ssig2-ssig1*csig2), csig1*csig2+ssig1*ssig2)
		s12b, m12b := lengths(n, sig12, ssig1, csig1, dn1, ssig2, csig2, dn2)
		// Accept the meridian unless it runs past the conjugate point
		// (m12 < 0), which happens only for nearly antipodal points.
		if sig12 < 1 || m12b >= 0 {
			if sig12 < 3*tiny || (sig12 < tol0 && (s12b < 0 || m12b < 0)) {
				sig12, m12b, s12b = 0, 0, 0
			}
			s12x, m12x = s12b*b, m12b*b
		} else {
			meridian = false
		}
	}

	switch {
	case meridian:
		// Done above.
	case sbet1 == 0 && lon12s >= f*180:
		// Equatorial geodesic, shortest when λ12 <= (1-f)·180°.
		salp1, calp1 = 1, 0
		salp2, calp2 = 1, 0
		s12x = WGS84A * lam12
		sig12 = lam12 / f1
		m12x = b * math.Sin(sig12)
	default:
		st := inverseStart(sbet1, cbet1, dn1, sbet2, cbet2, dn2, lam12, slam12, clam12)
		salp1, calp1 = st.salp1, st.calp1
		if st.sig12 >= 0 {
			// Short line solved directly on a sphere of radius b·dnm.
			salp2, calp2 = st.salp2, st.calp2
			sig12 = st.sig12
			s12x = sig12 * b * st.dnm
			m12x = st.dnm * st.dnm * b * math.Sin(sig12/st.dnm)
			break
		}
		// Solve λ12(α1) = lam12 for α1 by Newton's method, keeping a
		// bracket [α1a, α1b] of the root and bisecting when a Newton step
		// misbehaves.
		var eps float64
		tripn, tripb := false, false
		salp1a, calp1a := tiny, 1.0
		salp1b, calp1b := tiny, -1.0
		for numit := 0; numit < maxit2; numit++ {
			lr := lambda12(sbet1, cbet1, dn1, sbet2, cbet2, dn2, salp1, calp1, slam12, clam12, numit < maxit1)
			salp2, calp2 = lr.salp2, lr.calp2
			sig12 = lr.sig12
			ssig1, csig1, ssig2, csig2 = lr.ssig1, lr.csig1, lr.ssig2, lr.csig2
			eps = lr.eps
			v := lr.v
			tol := tol0
			if tripn {
				tol = 8 * tol0
			}
			if tripb || !(math.Abs(v) >= tol) {
				break
			}
			// Update the bracket.
			if v > 0 && (numit > maxit1 || calp1/salp1 > calp1b/salp1b) {
				salp1b, calp1b = salp1, calp1
			} else if v < 0 && (numit > maxit1 || calp1/salp1 < calp1a/salp1a) {
				salp1a, calp1a = salp1, calp1
			}
			if numit < maxit1 && lr.dv > 0 {
				dalp1 := -v / lr.dv
				if math.Abs(dalp1) < math.Pi {
					sdalp1, cdalp1 := math.Sincos(dalp1)
					nsalp1 := salp1*cdalp1 + calp1*sdalp1
					if nsalp1 > 0 {
						calp1 = calp1*cdalp1 - salp1*sdalp1
						salp1, calp1 = norm2(nsalp1, calp1)
						// Near the root allow a little more slack: the
						// last Newton step may not reduce v further.
						tripn = math.Abs(v) <= 16*tol0
						continue
					}
				}
			}
			// Bisect. Stop once the bracket has shrunk to nothing.
			salp1, calp1 = norm2((salp1a+salp1b)/2, (calp1a+calp1b)/2)
			tripn = false
			tripb = math.Abs(salp1a-salp1)+(calp1a-calp1) < tolb ||
				math.Abs(salp1-salp1b)+(calp1-calp1b) < tolb
		}
		s12b, m12b := lengths(eps, sig12, ssig1, csig1, dn1, ssig2, csig2, dn2)
		s12x, m12x = s12b*b, m12b*b
	}

	// Undo the swaps and sign changes.
	if swapp < 0 {
		salp1, salp2 = salp2, salp1
		calp1, calp2 = calp2, calp1
	}
	salp1 *= swapp * lonsign
	calp1 *= swapp * latsign
	salp2 *= swapp * lonsign
	calp2 *= swapp * latsign

	return inverseResult{
		s12:  0 + s12x, // 0 + turns -0 into +0
		azi1: atan2d(salp1, calp1) + 0,
		azi2: atan2d(salp2, calp2) + 0,
		m12:  m12x,
	}
}

// lengths returns, for the geodesic with parameter eps between auxiliary
// sphere arcs σ1 and σ2 (σ12 = σ2 − σ1, all angles as sine/cosine pairs or
// radians), the distance s12/b and reduced length m12/b, eqs. (15) and (38).
// dn = √(1 + k² sin²σ) at each end.
func lengths(eps, sig12, ssig1, csig1, dn1, ssig2, csig2, dn2 float64) (s12b, m12b float64) {
	a1 := a1m1f(eps)
	c1 := c1f(eps)
	a2 := a2m1f(eps)
	c2 := c2f(eps)
	m0x := a1 - a2 // A1 - A2, without cancellation
	a1++
	a2++
	b1 := sinSeries(ssig2, csig2, c1[:]) - sinSeries(ssig1, csig1, c1[:])
	b2 := sinSeries(ssig2, csig2, c2[:]) - sinSeries(ssig1, csig1, c2[:])
	s12b = a1 * (sig12 + b1)
	// J(σ2) − J(σ1) with J = I1 − I2, eq. (40).
	j12 := m0x*sig12 + (a1*b1 - a2*b2)
	m12b = dn2*(csig1*ssig2) - dn1*(ssig1*csig2) - csig1*csig2*j12
	return s12b, m12b
}

// lambdaResult is the output of lambda12.
type lambdaResult struct {
	v                          float64 // λ12(α1) − target λ12, radians
	dv                         float64 // dλ12/dα1 (only if requested)
	salp2, calp2               float64 // azimuth at point 2
	sig12                      float64 // σ12, radians
	ssig1, csig1, ssig2, csig2 float64 // σ1, σ2
	eps                        float64 // series parameter ε
}

// lambda12 computes the longitude difference λ12 reached by the geodesic
// leaving point 1 (reduced latitude β1) with azimuth α1 when it meets the
// parallel of point 2 (β2), and returns its difference from the target
// λ12 given as the pair slam120, clam120; §5 of the paper. With diffp it
// also returns the derivative dλ12/dα1 from eq. (46).
func lambda12(sbet1, cbet1, dn1, sbet2, cbet2, dn2, salp1, calp1, slam120, clam120 float64, diffp bool) lambdaResult {
	var r lambdaResult
	if sbet1 == 0 && calp1 == 0 {
		// Break the degeneracy of the equatorial line.
		calp1 = -tiny
	}
	// Azimuth at the equator crossing (α0).
	salp0 := salp1 * cbet1
	calp0 := math.Hypot(calp1, salp1*sbet1)

	// σ1 and ω1, measured from the equator crossing.
	somg1 := salp0 * sbet1
	comg1 := calp1 * cbet1
	r.ssig1, r.csig1 = norm2(sbet1, comg1)

	// α2 from Clairaut's relation, and cos α2 computed to avoid
	// cancellation.
	if cbet2 != cbet1 {
		r.salp2 = salp0 / cbet2
	} else {
		r.salp2 = salp1
	}
	if cbet2 != cbet1 || math.Abs(sbet2) != -sbet1 {
		var d float64
		if cbet1 < -sbet1 {
			d = (cbet2 - cbet1) * (cbet1 + cbet2)
		} else {
			d = (sbet1 - sbet2) * (sbet1 + sbet2)
		}
		r.calp2 = math.Sqrt((calp1*cbet1)*(calp1*cbet1)+d) / cbet2
	} else {
		r.calp2 = math.Abs(calp1)
	}

	somg2 := salp0 * sbet2
	comg2 := r.calp2 * cbet2
	r.ssig2, r.csig2 = norm2(sbet2, comg2)

	// σ12 and ω12 are both in [0, π].
	r.sig12 = math.Atan2(math.Max(0, r.csig1*r.ssig2-r.ssig1*r.csig2), r.csig1*r.csig2+r.ssig1*r.ssig2)
	somg12 := math.Max(0, comg1*somg2-somg1*comg2)
	comg12 := comg1*comg2 + somg1*somg2
	// η = ω12 − λ12(target), computed as one angle difference.
	eta := math.Atan2(somg12*clam120-comg12*slam120, comg12*clam120+somg12*slam120)

	k2 := calp0 * calp0 * ep2
	r.eps = k2 / (2*(1+math.Sqrt(1+k2)) + k2)
	c3 := c3f(r.eps)
	b312 := sinSeries(r.ssig2, r.csig2, c3[:]) - sinSeries(r.ssig1, r.csig1, c3[:])
	// λ12 − ω12 = −f A3 sin α0 (σ12 + B3(σ2) − B3(σ1)), eq. (8).
	domg12 := -f * a3f(r.eps) * salp0 * (r.sig12 + b312)
	r.v = eta + domg12

	if diffp {
		if r.calp2 == 0 {
			r.dv = -2 * f1 * dn1 / sbet1
		} else {
			_, m12b := lengths(r.eps, r.sig12, r.ssig1, r.csig1, dn1, r.ssig2, r.csig2, dn2)
			r.dv = m12b * f1 / (r.calp2 * cbet2)
		}
	}
	return r
}

// startResult is the output of inverseStart.
type startResult struct {
	sig12        float64 // σ12 if the line was solved directly, else -1
	salp1, calp1 float64 // starting guess (or solution) for α1
	salp2, calp2 float64 // α2, only when sig12 >= 0
	dnm          float64 // mean dn, only when sig12 >= 0
}

// inverseStart returns a starting guess for α1 (§5 of the paper): the
// great-circle azimuth on a sphere scaled for the mean latitude for short
// lines, which is accurate enough to be the solution when the line is very
// short; and for nearly antipodal points the astroid approximation of §6.
func inverseStart(sbet1, cbet1, dn1, sbet2, cbet2, dn2, lam12, slam12, clam12 float64) startResult {
	r := startResult{sig12: -1}
	sbet12 := sbet2*cbet1 - cbet2*sbet1  // sin(β2 − β1)
	cbet12 := cbet2*cbet1 + sbet2*sbet1  // cos(β2 − β1)
	sbet12a := sbet2*cbet1 + cbet2*sbet1 // sin(β2 + β1)
	shortline := cbet12 >= 0 && sbet12 < 0.5 && cbet2*lam12 < 0.5

	var somg12, comg12 float64
	if shortline {
		sbetm2 := (sbet1 + sbet2) * (sbet1 + sbet2)
		sbetm2 /= sbetm2 + (cbet1+cbet2)*(cbet1+cbet2)
		r.dnm = math.Sqrt(1 + ep2*sbetm2)
		omg12 := lam12 / (f1 * r.dnm)
		somg12, comg12 = math.Sincos(omg12)
	} else {
		somg12, comg12 = slam12, clam12
	}

	r.salp1 = cbet2 * somg12
	if comg12 >= 0 {
		r.calp1 = sbet12 + cbet2*sbet1*somg12*somg12/(1+comg12)
	} else {
		r.calp1 = sbet12a - cbet2*sbet1*somg12*somg12/(1-comg12)
	}
	ssig12 := math.Hypot(r.salp1, r.calp1)
	csig12 := sbet1*sbet2 + cbet1*cbet2*comg12

	switch {
	case shortline && ssig12 < etol2:
		// Really short: the great circle on the scaled sphere is the answer.
		r.salp2 = cbet1 * somg12
		if comg12 >= 0 {
			r.calp2 = sbet12 - cbet1*sbet2*somg12*somg12/(1+comg12)
		} else {
			r.calp2 = sbet12 - cbet1*sbet2*(1-comg12)
		}
		r.salp2, r.calp2 = norm2(r.salp2, r.calp2)
		r.sig12 = math.Atan2(ssig12, csig12)
	case csig12 >= 0 || ssig12 >= 6*n*math.Pi*cbet1*cbet1:
		// Not nearly antipodal: the spherical guess will do.
	default:
		// Nearly antipodal. Scale the neighbourhood of the antipode so
		// that the astroid problem of §6 applies: x is the longitude and y
		// the latitude offset from the antipode, in units of f·π·cos²β1.
		lam12x := math.Atan2(-slam12, -clam12) // λ12 − π
		k2 := sbet1 * sbet1 * ep2
		eps := k2 / (2*(1+math.Sqrt(1+k2)) + k2)
		lamscale := f * cbet1 * a3f(eps) * math.Pi
		betscale := lamscale * cbet1
		x := lam12x / lamscale
		y := sbet12a / betscale
		if y > -tol1 && x > -1-xthresh {
			// The astroid solution is singular here; use the limit.
			r.salp1 = math.Min(1, -x)
			r.calp1 = -math.Sqrt(1 - r.salp1*r.salp1)
		} else {
			k := astroid(x, y)
			omg12a := lamscale * (-x * k / (1 + k))
			somg12, comg12 = math.Sincos(omg12a)
			comg12 = -comg12
			// Same as above with ω12 replaced by π − ω12a.
			r.salp1 = cbet2 * somg12
			r.calp1 = sbet12a - cbet2*sbet1*somg12*somg12/(1-comg12)
		}
	}
	if !(r.salp1 <= 0) {
		r.salp1, r.calp1 = norm2(r.salp1, r.calp1)
	} else {
		r.salp1, r.calp1 = 1, 0
	}
	return r
}

// astroid returns the positive root k of
//
//	k⁴ + 2k³ − (x² + y² − 1)k² − 2y²k − y² = 0,
//
// eq. (55) of the paper, which fixes the starting azimuth for nearly
// antipodal points. It returns 0 when y = 0 and x² <= 1.
func astroid(x, y float64) float64 {
	p := x * x
	q := y * y
	r := (p + q - 1) / 6
	if q == 0 && r <= 0 {
		return 0
	}
	// Solve the resolvent cubic for u, eqs. (56)–(57), choosing the
	// branch and signs that avoid cancellation.
	s := p * q / 4
	r2 := r * r
	r3 := r * r2
	disc := s * (s + 2*r3)
	u := r
	if disc >= 0 {
		t3 := s + r3
		if t3 < 0 {
			t3 -= math.Sqrt(disc)
		} else {
			t3 += math.Sqrt(disc)
		}
		t := math.Cbrt(t3)
		u += t
		if t != 0 {
			u += r2 / t
		}
	} else {
		ang := math.Atan2(math.Sqrt(-disc), -(s + r3))
		u += 2 * r * math.Cos(ang/3)
	}
	v := math.Sqrt(u*u + q)
	var uv float64
	if u < 0 {
		uv = q / (v - u)
	} else {
		uv = u + v
	}
	w := (uv - q) / (2 * v)
	return uv / (math.Sqrt(uv+w*w) + w)
}

// Destination solves the direct geodesic problem on the WGS84 ellipsoid: it
// returns the point, as orb.Point{lon, lat} in degrees, reached from p
// (orb.Point{lon, lat} in degrees) after travelling `meters` along the
// geodesic that leaves p at azimuth azimuthDeg (degrees clockwise from
// north). A negative distance travels backwards. The returned longitude is in
// (-180, 180]. Latitudes of p outside [-90, 90] give NaN.
//
// Any distance is allowed, but a geodesic is the shortest path between its
// end points only until it reaches the cut locus of p, which lies between
// about 19,970 km (p on the equator, heading east or west) and 20,004 km
// (half a meridian) away; Inverse applied to the result recovers meters and
// azimuthDeg only within that range.
func Destination(p orb.Point, azimuthDeg, meters float64) orb.Point {
	lat1 := latFix(p[1])
	lon1 := p[0]

	salp1, calp1 := sincosd(angRound(angNormalize(azimuthDeg)))
	sbet1, cbet1 := sincosd(angRound(lat1))
	sbet1, cbet1 = norm2(f1*sbet1, cbet1)
	cbet1 = math.Max(tiny, cbet1)

	// Azimuth at the equator crossing (α0).
	salp0 := salp1 * cbet1
	calp0 := math.Hypot(calp1, salp1*sbet1)

	// σ1 and ω1 measured from the equator crossing; a geodesic leaving
	// the equator due east or west has σ1 = 0 at p.
	somg1 := salp0 * sbet1
	csig1 := 1.0
	if sbet1 != 0 || calp1 != 0 {
		csig1 = cbet1 * calp1
	}
	comg1 := csig1
	ssig1, csig1 := norm2(sbet1, csig1)

	k2 := calp0 * calp0 * ep2
	eps := k2 / (2*(1+math.Sqrt(1+k2)) + k2)

	// Distance: τ = s/(b·A1) = σ + B1(σ), eq. (15), inverted with eq. (20).
	a1 := 1 + a1m1f(eps)
	c1 := c1f(eps)
	c1p := c1pf(eps)
	b11 := sinSeries(ssig1, csig1, c1[:])
	sb, cb := math.Sincos(b11)
	stau1 := ssig1*cb + csig1*sb // τ1 = σ1 + B1(σ1)
	ctau1 := csig1*cb - ssig1*sb
	tau12 := meters / (b * a1)
	st, ct := math.Sincos(tau12)
	// σ12 = τ12 + B1(σ1) + B1′(τ2), with τ2 = τ1 + τ12.
	sig12 := tau12 + b11 + sinSeries(stau1*ct+ctau1*st, ctau1*ct-stau1*st, c1p[:])
	ssig12, csig12 := math.Sincos(sig12)

	ssig2 := ssig1*csig12 + csig1*ssig12
	csig2 := csig1*csig12 - ssig1*ssig12
	sbet2 := calp0 * ssig2
	cbet2 := math.Hypot(salp0, calp0*csig2)
	if cbet2 == 0 {
		// The end point is at a pole.
		cbet2, csig2 = tiny, tiny
	}
	somg2 := salp0 * ssig2
	comg2 := csig2

	// Longitude: λ12 = ω12 − f·A3·sin α0·(σ12 + B3(σ2) − B3(σ1)), eq. (8).
	c3 := c3f(eps)
	omg12 := math.Atan2(somg2*comg1-comg2*somg1, comg2*comg1+somg2*somg1)
	lam12 := omg12 - f*a3f(eps)*salp0*(sig12+sinSeries(ssig2, csig2, c3[:])-sinSeries(ssig1, csig1, c3[:]))

	lon2 := angNormalize(angNormalize(lon1) + angNormalize(lam12*rad2deg))
	lat2 := atan2d(sbet2, f1*cbet2)
	return orb.Point{lon2, lat2}
}
