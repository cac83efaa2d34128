package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// halfMeridian is the distance between the poles along a meridian, the
// longest geodesic on WGS84, meters (PostGIS 3.3 ST_Distance geography).
const halfMeridian = 20003931.45862545

// angleDiff returns |x − y| in degrees, modulo 360.
func angleDiff(x, y float64) float64 {
	return math.Abs(math.Remainder(x-y, 360))
}

// uniformPoint returns a point uniformly distributed on the sphere.
func uniformPoint(rng *rand.Rand) orb.Point {
	return orb.Point{rng.Float64()*360 - 180, math.Asin(2*rng.Float64()-1) * rad2deg}
}

// Reference distances and forward azimuths from PostGIS 3.3.2 (PROJ 9.1.1)
// ST_Distance(geography, geography) and degrees(ST_Azimuth(geography,
// geography)), which use GeographicLib's geod_inverse. PostGIS rounds the
// distance to 1e-8 m.
var postgisCases = []struct {
	name   string
	a, b   orb.Point
	meters float64
	azi1   float64
}{
	{"luohu short", orb.Point{114.1181, 22.5431}, orb.Point{114.1318, 22.5481}, 1514.0875342, 68.54724510878597},
	{"luohu 1.5 m", orb.Point{114.131, 22.548}, orb.Point{114.13101, 22.54801}, 1.5113958, 42.88801508658129},
	{"luohu across", orb.Point{114.0853, 22.5286}, orb.Point{114.2191, 22.6177}, 16932.15661019, 54.33202006638289},
	{"shenzhen-hong kong", orb.Point{114.1181, 22.5431}, orb.Point{114.1694, 22.3193}, 25339.20744953, 167.9604596292201},
	{"shenzhen-beijing", orb.Point{114.1181, 22.5431}, orb.Point{116.4074, 39.9042}, 1937071.99017137, 5.88950660532648},
	{"shenzhen-new york", orb.Point{114.1181, 22.5431}, orb.Point{-74.0060, 40.7128}, 12951329.51204266, 6.845543343556034},
	{"shenzhen-buenos aires", orb.Point{114.1181, 22.5431}, orb.Point{-58.3816, -34.6037}, 18486135.15050558, 206.29274354125062},
	{"shenzhen antipode", orb.Point{114.13, 22.55}, orb.Point{-65.87, -22.55}, 20003931.45862545, 0},
	{"shenzhen near antipode", orb.Point{114.13, 22.55}, orb.Point{-65.9, -22.5}, 19998318.83368865, 2.814124157443667},
	{"karney 2013 table 5", orb.Point{0, -30}, orb.Point{179.8, 29.9}, 19989832.82760953, 161.89052473632714},
	{"near antipodal", orb.Point{0, 0}, orb.Point{179.5, 0.5}, 19936288.57896531, 25.67187286829176},
	{"equator antipodes", orb.Point{0, 0}, orb.Point{180, 0}, 20003931.45862545, 0},
	{"equatorial 179.3", orb.Point{0, 0}, orb.Point{179.3, 0}, 19959584.69923395, 90},
	{"equator 179.9 leaves equator", orb.Point{0, 0}, orb.Point{179.9, 0}, 20003008.42150941, 9.545672694738816},
	{"near equator antipodes", orb.Point{0, 0.5}, orb.Point{179.7, -0.5}, 19995624.88996127, 29.830010973450328},
	{"near antipodal 30", orb.Point{10, 30}, orb.Point{-170.1, -30.05}, 19997557.84197353, 170.08915721180972},
	{"antipodes 1e-6 off equator", orb.Point{-20, 0.000001}, orb.Point{160, 0}, 20003931.34805117, 0},
	{"across north pole", orb.Point{123, 89.999}, orb.Point{-57, 89.999}, 223.38795912, 0},
	{"pole to pole", orb.Point{0, 90}, orb.Point{45, -90}, 20003931.45862545, 135},
	{"meridian", orb.Point{10, -60}, orb.Point{10, 75}, 14981010.40677086, 0},
	{"quarter meridian", orb.Point{0, 0}, orb.Point{0, 90}, 10001965.72931272, 0},
	{"equatorial quarter", orb.Point{0, 0}, orb.Point{90, 0}, 10018754.17139462, 90},
	{"across the antimeridian", orb.Point{179.9, -16.8}, orb.Point{-179.9, -16.9}, 24015.85252434, 117.46839268949518},
}

func TestInversePostGIS(t *testing.T) {
	for _, tc := range postgisCases {
		t.Run(tc.name, func(t *testing.T) {
			s, azi1, _ := Inverse(tc.a, tc.b)
			// PostGIS rounds to 1e-8 m; allow that plus a few ulps.
			if d := math.Abs(s - tc.meters); d > 5e-8 {
				t.Errorf("distance = %.9f m, PostGIS %.9f m (diff %.3g m)", s, tc.meters, d)
			}
			// PostGIS converts degrees to radians and back, which moves
			// the points by ~1e-9 m; the azimuth moves by that over the
			// distance.
			tol := 1e-9 + rad2deg*1e-8/tc.meters
			if d := angleDiff(azi1, tc.azi1); d > tol {
				t.Errorf("azi1 = %.12f°, PostGIS %.12f° (diff %.3g°)", azi1, tc.azi1, d)
			}
			// Short pairs take Distance's fast path, which agrees with
			// Inverse to rounding.
			if got := Distance(tc.a, tc.b); math.Abs(got-s) > 1e-8 {
				t.Errorf("Distance = %v, Inverse distance = %v", got, s)
			}
		})
	}
}

// TestInverseKarney checks the worked example of Karney (2013), table 5.
func TestInverseKarney(t *testing.T) {
	s, azi1, azi2 := Inverse(orb.Point{0, -30}, orb.Point{179.8, 29.9})
	if math.Abs(s-19989832.827610) > 1e-6 {
		t.Errorf("s12 = %.6f, want 19989832.827610", s)
	}
	if angleDiff(azi1, 161.890524736) > 1e-9 {
		t.Errorf("azi1 = %.9f, want 161.890524736", azi1)
	}
	if angleDiff(azi2, 18.090737246) > 1e-9 {
		t.Errorf("azi2 = %.9f, want 18.090737246", azi2)
	}
}

func TestInverseSpecial(t *testing.T) {
	tests := []struct {
		name       string
		a, b       orb.Point
		meters     float64
		tol        float64 // meters
		azi1, azi2 float64 // NaN: not checked
	}{
		{"coincident", orb.Point{114.1, 22.5}, orb.Point{114.1, 22.5}, 0, 0, math.NaN(), math.NaN()},
		{"coincident origin", orb.Point{0, 0}, orb.Point{0, 0}, 0, 0, math.NaN(), math.NaN()},
		{"coincident north pole", orb.Point{0, 90}, orb.Point{0, 90}, 0, 0, math.NaN(), math.NaN()},
		{"north pole, any longitude", orb.Point{10, 90}, orb.Point{-135, 90}, 0, 0, math.NaN(), math.NaN()},
		{"south pole, any longitude", orb.Point{10, -90}, orb.Point{100, -90}, 0, 0, math.NaN(), math.NaN()},
		{"180 and -180", orb.Point{180, 10}, orb.Point{-180, 10}, 0, 0, math.NaN(), math.NaN()},
		// 834.1 and -245.9 are 114.1 only to within their rounding (~1e-8 m).
		{"longitude wraps", orb.Point{114.1 + 720, 22.5}, orb.Point{114.1 - 360, 22.5}, 0, 1e-7, math.NaN(), math.NaN()},
		{"quarter meridian", orb.Point{0, 0}, orb.Point{0, 90}, 10001965.729, 1e-3, 0, 0},
		{"quarter meridian south", orb.Point{45, 0}, orb.Point{45, -90}, 10001965.729, 1e-3, 180, 180},
		{"equatorial quarter", orb.Point{0, 0}, orb.Point{90, 0}, 10018754.171, 1e-3, 90, 90},
		{"equatorial quarter west", orb.Point{0, 0}, orb.Point{-90, 0}, 10018754.171, 1e-3, -90, -90},
		// a·π/2, the equator being a circle of radius a.
		{"equatorial quarter exact", orb.Point{30, 0}, orb.Point{120, 0}, WGS84A * math.Pi / 2, 1e-8, 90, 90},
		{"equatorial antipodes", orb.Point{0, 0}, orb.Point{180, 0}, 20003931.4586, 1e-4, 0, 180},
		{"equatorial antipodes west", orb.Point{0, 0}, orb.Point{-180, 0}, 20003931.4586, 1e-4, 0, 180},
		{"half meridian via pole", orb.Point{20, -90}, orb.Point{20, 90}, halfMeridian, 5e-8, 0, 0},
		// Antipodes off the equator are joined by two meridians of equal
		// length; like GeographicLib, Inverse takes the northward one.
		{"antipodes at 45", orb.Point{-30, 45}, orb.Point{150, -45}, halfMeridian, 5e-8, 0, 180},
		{"near antipodes on equator", orb.Point{0, 0}, orb.Point{179.999999, 0}, 20003931.4586, 1e-3, math.NaN(), math.NaN()},
		// Over the pole: half the meridian less 1e-7° of meridian arc at
		// the equator, whose radius of curvature is a(1−e²).
		{"near antipodes in latitude", orb.Point{0, 1e-7}, orb.Point{180, 0}, halfMeridian - 1e-7*deg2rad*WGS84A*(1-e2), 1e-6, 0, 180},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, azi1, azi2 := Inverse(tc.a, tc.b)
			if math.Abs(s-tc.meters) > tc.tol {
				t.Errorf("distance = %.9f m, want %.9f ± %g m", s, tc.meters, tc.tol)
			}
			if !math.IsNaN(tc.azi1) && angleDiff(azi1, tc.azi1) > 1e-12 {
				t.Errorf("azi1 = %.15g°, want %g°", azi1, tc.azi1)
			}
			if !math.IsNaN(tc.azi2) && angleDiff(azi2, tc.azi2) > 1e-12 {
				t.Errorf("azi2 = %.15g°, want %g°", azi2, tc.azi2)
			}
			for _, az := range []float64{azi1, azi2} {
				if !(az > -180 && az <= 180) {
					t.Errorf("azimuth %v outside (-180, 180]", az)
				}
			}
		})
	}
}

func TestInverseInvalid(t *testing.T) {
	valid := orb.Point{114.1, 22.5}
	tests := []struct {
		name string
		p    orb.Point
	}{
		{"latitude above 90", orb.Point{0, 90.5}},
		{"latitude below -90", orb.Point{0, -91}},
		{"NaN latitude", orb.Point{0, math.NaN()}},
		{"NaN longitude", orb.Point{math.NaN(), 0}},
		{"infinite longitude", orb.Point{math.Inf(1), 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if s := Distance(tc.p, valid); !math.IsNaN(s) {
				t.Errorf("Distance(p, valid) = %v, want NaN", s)
			}
			if s := Distance(valid, tc.p); !math.IsNaN(s) {
				t.Errorf("Distance(valid, p) = %v, want NaN", s)
			}
			if q := Destination(tc.p, 30, 1000); !math.IsNaN(q[0]) && !math.IsNaN(q[1]) {
				t.Errorf("Destination = %v, want NaN", q)
			}
		})
	}
}

func TestDistanceSymmetry(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		a := uniformPoint(rng)
		var b orb.Point
		switch i % 4 {
		case 0:
			b = uniformPoint(rng)
		case 1: // nearly antipodal
			b = orb.Point{a[0] + 180 + rng.NormFloat64(), -a[1] + rng.NormFloat64()}
			b[1] = math.Max(-90, math.Min(90, b[1]))
		case 2: // same or opposite latitude
			b = orb.Point{rng.Float64()*360 - 180, a[1]}
			if rng.IntN(2) == 0 {
				b[1] = -b[1]
			}
		case 3: // short
			b = orb.Point{a[0] + rng.NormFloat64()*1e-3, a[1]}
		}
		if d1, d2 := Distance(a, b), Distance(b, a); math.Abs(d1-d2) > 1e-9 {
			t.Fatalf("Distance(%v, %v) = %.9f, reversed %.9f", a, b, d1, d2)
		}
	}
}

func TestDestinationKnown(t *testing.T) {
	tests := []struct {
		name   string
		p      orb.Point
		azi    float64
		meters float64
		want   orb.Point
		tol    float64 // degrees
	}{
		// Karney (2013), table 2.
		{"karney 2013 table 2", orb.Point{0, 40}, 30, 10e6, orb.Point{137.84490004377, 41.79331020506}, 1e-11},
		{"zero distance", orb.Point{114.1, 22.5}, 77, 0, orb.Point{114.1, 22.5}, 1e-13},
		{"quarter meridian", orb.Point{12, 0}, 0, 10001965.72931272, orb.Point{12, 90}, 1e-9},
		{"half meridian", orb.Point{12, -90}, 0, halfMeridian, orb.Point{12, 90}, 1e-9},
		{"equatorial quarter", orb.Point{0, 0}, 90, WGS84A * math.Pi / 2, orb.Point{90, 0}, 1e-12},
		{"equator westward across antimeridian", orb.Point{-170, 0}, -90, WGS84A * math.Pi / 9, orb.Point{170, 0}, 1e-12},
		{"negative distance goes backwards", orb.Point{0, 0}, 90, -WGS84A * math.Pi / 2, orb.Point{-90, 0}, 1e-12},
		{"azimuth is normalized", orb.Point{0, 0}, 90 + 720, WGS84A * math.Pi / 2, orb.Point{90, 0}, 1e-12},
		{"over the north pole", orb.Point{123, 89.999}, 0, 223.38795912, orb.Point{-57, 89.999}, 1e-9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Destination(tc.p, tc.azi, tc.meters)
			if math.Abs(got[1]-tc.want[1]) > tc.tol || (math.Abs(got[1]) < 90-1e-9 && angleDiff(got[0], tc.want[0]) > tc.tol) {
				t.Errorf("Destination = %.12f, want %.12f", got, tc.want)
			}
			if !(got[0] > -180 && got[0] <= 180) {
				t.Errorf("longitude %v outside (-180, 180]", got[0])
			}
		})
	}
	// Karney (2013), table 2, also gives the azimuth at the end point.
	p := Destination(orb.Point{0, 40}, 30, 10e6)
	if _, _, azi2 := Inverse(orb.Point{0, 40}, p); angleDiff(azi2, 149.09016931807) > 1e-10 {
		t.Errorf("azi2 = %.11f, want 149.09016931807", azi2)
	}
}

// TestRoundTrip checks Inverse(p, Destination(p, az, d)) = (d, az) for
// pseudo-random p, az and d <= 20,000 km.
//
// A geodesic longer than ~19,970 km can run past the cut locus of p,
// beyond which it is no longer the shortest path; Inverse then correctly
// returns a shorter geodesic, which the test checks instead. The azimuth
// is ill-conditioned when the distance or the reduced length m12 is small
// (end points nearly coincident or nearly conjugate): positions known to
// ~1e-8 m fix it only to ~1e-8/min(d, m12) radians, which the tolerance
// allows for; elsewhere it is 1e-9°.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 518))
	cases := 50000
	if testing.Short() {
		cases = 5000
	}
	var nonMinimal, azLoose int
	var maxDist, maxAz float64
	for i := range cases {
		p := uniformPoint(rng)
		azi := rng.Float64()*360 - 180
		var d float64
		switch i % 3 {
		case 0: // uniform up to 20,000 km
			d = rng.Float64() * 20e6
		case 1: // log-uniform from 1 mm
			d = math.Exp(math.Log(1e-3) + rng.Float64()*math.Log(20e6/1e-3))
		case 2: // long lines, near the antipode
			d = 19.9e6 + rng.Float64()*0.1e6
		}
		q := Destination(p, azi, d)
		r := inverse(p[1], p[0], q[1], q[0])
		if r.s12 < d-1e-6 {
			// Not the shortest path: Inverse's geodesic must be
			// genuinely shorter and must lead to q.
			nonMinimal++
			// The nearest cut locus is that of a point on the equator,
			// a·π·(1−f) ≈ 19,970.3 km away along the equator.
			if d < WGS84A*math.Pi*f1 {
				t.Errorf("p=%v az=%v d=%v: geodesic shorter than a·π·(1−f) not minimal: inverse %v", p, azi, d, r.s12)
			}
			if e := Distance(Destination(p, r.azi1, r.s12), q); e > 1e-6 {
				t.Errorf("p=%v az=%v d=%v: inverse geodesic (%v m, %v°) misses q by %v m", p, azi, d, r.s12, r.azi1, e)
			}
			continue
		}
		if e := math.Abs(r.s12 - d); e > 1e-6 {
			t.Errorf("p=%v az=%v d=%v: inverse distance %v (diff %v m)", p, azi, d, r.s12, e)
		} else {
			maxDist = math.Max(maxDist, e)
		}
		scale := math.Min(d, math.Abs(r.m12))
		tol := 1e-9
		if loose := rad2deg * 1e-8 / scale; loose > tol {
			tol += loose
			azLoose++
		}
		if e := angleDiff(r.azi1, azi); e > tol {
			t.Errorf("p=%v az=%v d=%v: inverse azimuth %v (diff %v°, m12 %v m)", p, azi, d, r.azi1, e, r.m12)
		} else if tol == 1e-9 {
			maxAz = math.Max(maxAz, e)
		}
	}
	t.Logf("%d cases: %d past the cut locus, %d with loosened azimuth tolerance; max distance error %.3g m, max azimuth error %.3g°",
		cases, nonMinimal, azLoose, maxDist, maxAz)
	if nonMinimal > cases/10 {
		t.Errorf("%d of %d geodesics not minimal; expected a few", nonMinimal, cases)
	}
}

// TestEtol2 checks the literal etol2 against its defining formula.
func TestEtol2(t *testing.T) {
	want := 0.1 * math.Sqrt(tol0) / math.Sqrt(math.Max(0.001, math.Abs(f))*math.Min(1, 1-f/2)/2)
	if math.Abs(etol2-want) > 1e-15*want {
		t.Errorf("etol2 = %v, want %v", etol2, want)
	}
}

// simpson integrates g over [0, x] with Simpson's rule on m intervals,
// summing with Kahan compensation to keep the rounding error small.
func simpson(g func(float64) float64, x float64, m int) float64 {
	h := x / float64(m)
	sum, comp := g(0)+g(x), 0.0
	for i := 1; i < m; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		y := w*g(float64(i)*h) - comp
		t := sum + y
		comp = (t - sum) - y
		sum = t
	}
	return sum * h / 3
}

// TestSeries checks the truncated series against numerical quadrature of
// the integrals they expand (eqs. 7, 8 and 40 of Karney 2013) over the
// whole WGS84 range of ε.
func TestSeries(t *testing.T) {
	for _, calp0 := range []float64{0, 0.1, 0.5, 0.9, 1} {
		k2 := ep2 * calp0 * calp0
		eps := k2 / (2*(1+math.Sqrt(1+k2)) + k2)
		a1, c1, c1p := 1+a1m1f(eps), c1f(eps), c1pf(eps)
		a2, c2 := 1+a2m1f(eps), c2f(eps)
		a3, c3 := a3f(eps), c3f(eps)
		for _, sig := range []float64{0.1, 1, 2.5, math.Pi, 5} {
			ss, cs := math.Sincos(sig)
			i1 := simpson(func(x float64) float64 { return math.Sqrt(1 + k2*math.Sin(x)*math.Sin(x)) }, sig, 4000)
			i2 := simpson(func(x float64) float64 { return 1 / math.Sqrt(1+k2*math.Sin(x)*math.Sin(x)) }, sig, 4000)
			i3 := simpson(func(x float64) float64 {
				return (2 - f) / (1 + (1-f)*math.Sqrt(1+k2*math.Sin(x)*math.Sin(x)))
			}, sig, 4000)
			if got := a1 * (sig + sinSeries(ss, cs, c1[:])); math.Abs(got-i1) > 1e-14 {
				t.Errorf("cosα0=%v σ=%v: I1 series %.17g, quadrature %.17g", calp0, sig, got, i1)
			}
			if got := a2 * (sig + sinSeries(ss, cs, c2[:])); math.Abs(got-i2) > 1e-14 {
				t.Errorf("cosα0=%v σ=%v: I2 series %.17g, quadrature %.17g", calp0, sig, got, i2)
			}
			if got := a3 * (sig + sinSeries(ss, cs, c3[:])); math.Abs(got-i3) > 1e-14 {
				t.Errorf("cosα0=%v σ=%v: I3 series %.17g, quadrature %.17g", calp0, sig, got, i3)
			}
			// C′1 inverts C1: σ = τ + Σ C′1l sin 2lτ with τ = σ + B1(σ).
			tau := sig + sinSeries(ss, cs, c1[:])
			st, ct := math.Sincos(tau)
			if back := tau + sinSeries(st, ct, c1p[:]); math.Abs(back-sig) > 1e-15 {
				t.Errorf("cosα0=%v σ=%v: C1p inversion gives %.17g", calp0, sig, back)
			}
		}
	}
}

// TestSeriesOrder checks the order of the truncation error. Outside the
// WGS84 range (larger ε) the error of a correct order-6 series in ε
// shrinks by 2⁷ = 128 when ε is halved for I1, I2 and the C′1 inversion
// (their coefficients are exact through ε⁶), and by about 2⁶ for I3 (whose
// coefficients are exact through total degree 5 in ε and n); a wrong
// coefficient of ε^j would show as a ratio near 2^j.
func TestSeriesOrder(t *testing.T) {
	errs := func(eps float64) (e1, e2, e3, ep float64) {
		k2 := 4 * eps / ((1 - eps) * (1 - eps)) // inverse of ε(k²)
		a1, c1, c1p := 1+a1m1f(eps), c1f(eps), c1pf(eps)
		a2, c2 := 1+a2m1f(eps), c2f(eps)
		a3, c3 := a3f(eps), c3f(eps)
		for _, sig := range []float64{0.3, 1, 2.5, 5} {
			ss, cs := math.Sincos(sig)
			i1 := simpson(func(x float64) float64 { return math.Sqrt(1 + k2*math.Sin(x)*math.Sin(x)) }, sig, 20000)
			i2 := simpson(func(x float64) float64 { return 1 / math.Sqrt(1+k2*math.Sin(x)*math.Sin(x)) }, sig, 20000)
			i3 := simpson(func(x float64) float64 {
				return (2 - f) / (1 + (1-f)*math.Sqrt(1+k2*math.Sin(x)*math.Sin(x)))
			}, sig, 20000)
			e1 = math.Max(e1, math.Abs(a1*(sig+sinSeries(ss, cs, c1[:]))-i1))
			e2 = math.Max(e2, math.Abs(a2*(sig+sinSeries(ss, cs, c2[:]))-i2))
			e3 = math.Max(e3, math.Abs(a3*(sig+sinSeries(ss, cs, c3[:]))-i3))
			tau := sig + sinSeries(ss, cs, c1[:])
			st, ct := math.Sincos(tau)
			ep = math.Max(ep, math.Abs(tau+sinSeries(st, ct, c1p[:])-sig))
		}
		return e1, e2, e3, ep
	}
	a1, a2, a3, ap := errs(0.1)
	b1, b2, b3, bp := errs(0.05)
	tests := []struct {
		name     string
		big, sml float64
		min      float64
	}{
		{"I1 (A1, C1)", a1, b1, 100},
		{"I2 (A2, C2)", a2, b2, 100},
		{"I3 (A3, C3)", a3, b3, 50},
		{"C1p", ap, bp, 80},
	}
	for _, tc := range tests {
		if r := tc.big / tc.sml; !(r >= tc.min) {
			t.Errorf("%s: error %.3g at ε=0.1, %.3g at ε=0.05: ratio %.3g, want >= %v", tc.name, tc.big, tc.sml, r, tc.min)
		}
	}
}

func TestAstroid(t *testing.T) {
	tests := []struct{ x, y float64 }{
		{0.5, 0.5}, {-0.5, 0.3}, {2, 0}, {-2, 0.01}, {0.1, -3}, {-10, 10}, {1e-3, 1e-3}, {-0.99, 0.5},
	}
	for _, tc := range tests {
		k := astroid(tc.x, tc.y)
		p, q := tc.x*tc.x, tc.y*tc.y
		res := k*k*k*k + 2*k*k*k - (p+q-1)*k*k - 2*q*k - q
		scale := k*k*k*k + 2*k*k*k + math.Abs(p+q-1)*k*k + 2*q*k + q
		if !(k >= 0) || math.Abs(res) > 1e-14*scale {
			t.Errorf("astroid(%v, %v) = %v, residual %v", tc.x, tc.y, k, res)
		}
	}
	if k := astroid(0.5, 0); k != 0 {
		t.Errorf("astroid(0.5, 0) = %v, want 0", k)
	}
}

func TestAngles(t *testing.T) {
	for _, x := range []float64{-720, -540, -450, -360, -270, -180, -90, 0, 90, 180, 270, 360, 450, 540} {
		s, c := sincosd(x)
		ws, wc := math.Sincos(x * deg2rad)
		if s != math.Round(ws) || c != math.Round(wc)+0 {
			t.Errorf("sincosd(%v) = (%v, %v), want exact (%v, %v)", x, s, c, math.Round(ws), math.Round(wc))
		}
	}
	for _, tc := range []struct{ y, x, want float64 }{
		{1, 1, 45}, {1, 0, 90}, {0, -1, 180}, {math.Copysign(0, -1), -1, 180}, {-1, 0, -90}, {-1, -1, -135}, {0, 1, 0},
	} {
		if got := atan2d(tc.y, tc.x); got != tc.want {
			t.Errorf("atan2d(%v, %v) = %v, want %v", tc.y, tc.x, got, tc.want)
		}
	}
	for _, tc := range []struct{ x, y, want float64 }{
		{0, 90, 90}, {170, -170, 20}, {-170, 170, -20}, {0, 180, 180}, {0, 540, 180}, {1e-20, 180, 180},
	} {
		if d, e := angDiff(tc.x, tc.y); math.Abs(d+e-tc.want) > 1e-12 {
			t.Errorf("angDiff(%v, %v) = %v + %v, want %v", tc.x, tc.y, d, e, tc.want)
		}
	}
}

func FuzzInverse(f *testing.F) {
	f.Add(114.1181, 22.5431, 114.1318, 22.5481)
	f.Add(0.0, 0.0, 180.0, 0.0)
	f.Add(0.0, -30.0, 179.8, 29.9)
	f.Add(0.0, 90.0, 45.0, -90.0)
	f.Add(-180.0, 0.0, 180.0, 0.0)
	f.Add(10.0, 1e-300, -170.0, -5e-324)
	f.Add(0.0, 0.5, 179.7, -0.5)
	f.Fuzz(func(t *testing.T, lon1, lat1, lon2, lat2 float64) {
		for _, v := range []float64{lon1, lon2} {
			if math.IsNaN(v) || math.Abs(v) > 180 {
				t.Skip()
			}
		}
		for _, v := range []float64{lat1, lat2} {
			if math.IsNaN(v) || math.Abs(v) > 90 {
				t.Skip()
			}
		}
		a, b := orb.Point{lon1, lat1}, orb.Point{lon2, lat2}
		s, azi1, azi2 := Inverse(a, b)
		if math.IsNaN(s) || math.IsNaN(azi1) || math.IsNaN(azi2) {
			t.Fatalf("Inverse(%v, %v) = %v, %v, %v", a, b, s, azi1, azi2)
		}
		if s < 0 || s > 20004e3 || s > halfMeridian+1e-6 {
			t.Fatalf("Inverse(%v, %v) distance %v out of range", a, b, s)
		}
		if !(azi1 > -180 && azi1 <= 180 && azi2 > -180 && azi2 <= 180) {
			t.Fatalf("Inverse(%v, %v) azimuths %v, %v outside (-180, 180]", a, b, azi1, azi2)
		}
		// Distance takes a faster route for short lines, which agrees
		// with Inverse to 1e-8 m.
		if r := Distance(b, a); math.Abs(r-s) > 1e-8 {
			t.Fatalf("Distance(%v, %v) = %.9f, reversed %.9f", a, b, s, r)
		}
	})
}

func BenchmarkDistance(b *testing.B) {
	// Two points about 1.5 km apart in Luohu.
	p, q := orb.Point{114.1181, 22.5431}, orb.Point{114.1318, 22.5481}
	var s float64
	for b.Loop() {
		s += Distance(p, q)
	}
	_ = s
}

func BenchmarkDistanceLong(b *testing.B) {
	// Shenzhen to Buenos Aires, about 18,486 km.
	p, q := orb.Point{114.1181, 22.5431}, orb.Point{-58.3816, -34.6037}
	var s float64
	for b.Loop() {
		s += Distance(p, q)
	}
	_ = s
}

func BenchmarkDistanceNearAntipodal(b *testing.B) {
	p, q := orb.Point{0, -30}, orb.Point{179.8, 29.9}
	var s float64
	for b.Loop() {
		s += Distance(p, q)
	}
	_ = s
}

func BenchmarkDestination(b *testing.B) {
	p := orb.Point{114.1181, 22.5431}
	var s float64
	for b.Loop() {
		s += Destination(p, 68.5, 1514)[0]
	}
	_ = s
}
