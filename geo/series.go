package geo

// Series expansions of Karney (2013), truncated at order 6. The coefficients
// are written as untyped Go constants, so the arithmetic in n below is done
// exactly by the compiler and rounded to float64 only once.
//
// eps (ε) is the small expansion parameter of one geodesic,
//
//	ε = (√(1+k²) − 1) / (√(1+k²) + 1),  k² = e'² cos²α₀,
//
// where α₀ is the azimuth at the equator crossing and e'² the second
// eccentricity squared; for WGS84, 0 ≤ ε < 0.0017.

// Order-6 coefficients of the longitude series, eqs. (24) and (25) of the
// paper; they depend on the third flattening n.
const (
	// A₃ = 1 + a31 ε + a32 ε² + … + a35 ε⁵
	a31 = -(1.0/2 - n/2)
	a32 = -(1.0/4 + n/8 - 3*n*n/8)
	a33 = -(1.0/16 + 3*n/16 + n*n/16)
	a34 = -(3.0/64 + n/32)
	a35 = -3.0 / 128

	// C₃ₗ = Σⱼ c3lj εʲ
	c311 = 1.0/4 - n/4
	c312 = 1.0/8 - n*n/8
	c313 = 3.0/64 + 3*n/64 - n*n/64
	c314 = 5.0/128 + n/64
	c315 = 3.0 / 128

	c322 = 1.0/16 - 3*n/32 + n*n/32
	c323 = 3.0/64 - n/32 - 3*n*n/64
	c324 = 3.0/128 + n/128
	c325 = 5.0 / 256

	c333 = 5.0/192 - 3*n/64 + 5*n*n/192
	c334 = 3.0/128 - 5*n/192
	c335 = 7.0 / 512

	c344 = 7.0/512 - 7*n/256
	c345 = 7.0 / 512

	c355 = 21.0 / 2560
)

// a1m1f returns A₁ − 1, eq. (17): A₁ = (1 + ε²/4 + ε⁴/64 + ε⁶/256)/(1 − ε).
func a1m1f(eps float64) float64 {
	eps2 := eps * eps
	t := eps2 * (64 + eps2*(4+eps2)) / 256
	return (t + eps) / (1 - eps)
}

// c1f returns the coefficients C₁ₗ, l = 1…6, of eq. (18), the Fourier series
// of the distance integral I₁(σ) = A₁(σ + Σ C₁ₗ sin 2lσ).
func c1f(eps float64) [6]float64 {
	eps2 := eps * eps
	d := eps
	var c [6]float64
	c[0] = d * (-1.0/2 + eps2*(3.0/16+eps2*(-1.0/32)))
	d *= eps
	c[1] = d * (-1.0/16 + eps2*(1.0/32+eps2*(-9.0/2048)))
	d *= eps
	c[2] = d * (-1.0/48 + eps2*(3.0/256))
	d *= eps
	c[3] = d * (-5.0/512 + eps2*(3.0/512))
	d *= eps
	c[4] = d * (-7.0 / 1280)
	d *= eps
	c[5] = d * (-7.0 / 2048)
	return c
}

// c1pf returns the coefficients C′₁ₗ, l = 1…6, of eq. (21), which invert
// the distance series: σ = τ + Σ C′₁ₗ sin 2lτ where τ = s/(b A₁).
func c1pf(eps float64) [6]float64 {
	eps2 := eps * eps
	d := eps
	var c [6]float64
	c[0] = d * (1.0/2 + eps2*(-9.0/32+eps2*(205.0/1536)))
	d *= eps
	c[1] = d * (5.0/16 + eps2*(-37.0/96+eps2*(1335.0/4096)))
	d *= eps
	c[2] = d * (29.0/96 + eps2*(-75.0/128))
	d *= eps
	c[3] = d * (539.0/1536 + eps2*(-2391.0/2560))
	d *= eps
	c[4] = d * (3467.0 / 7680)
	d *= eps
	c[5] = d * (38081.0 / 61440)
	return c
}

// a2m1f returns A₂ − 1, eq. (42): A₂ = (1 − ε)(1 + ε²/4 + 9ε⁴/64 + 25ε⁶/256),
// evaluated in the equivalent form (1 + ε)A₂ = 1 − 3ε²/4 − 7ε⁴/64 − 11ε⁶/256.
func a2m1f(eps float64) float64 {
	eps2 := eps * eps
	t := -eps2 * (192 + eps2*(28+eps2*11)) / 256
	return (t - eps) / (1 + eps)
}

// c2f returns the coefficients C₂ₗ, l = 1…6, of eq. (43), the Fourier series
// of I₂(σ) = A₂(σ + Σ C₂ₗ sin 2lσ), used for the reduced length.
func c2f(eps float64) [6]float64 {
	eps2 := eps * eps
	d := eps
	var c [6]float64
	c[0] = d * (1.0/2 + eps2*(1.0/16+eps2*(1.0/32)))
	d *= eps
	c[1] = d * (3.0/16 + eps2*(1.0/32+eps2*(35.0/2048)))
	d *= eps
	c[2] = d * (5.0/48 + eps2*(5.0/256))
	d *= eps
	c[3] = d * (35.0/512 + eps2*(7.0/512))
	d *= eps
	c[4] = d * (63.0 / 1280)
	d *= eps
	c[5] = d * (77.0 / 2048)
	return c
}

// a3f returns A₃ of eq. (24).
func a3f(eps float64) float64 {
	return 1 + eps*(a31+eps*(a32+eps*(a33+eps*(a34+eps*a35))))
}

// c3f returns the coefficients C₃ₗ, l = 1…5, of eq. (25), the Fourier series
// of the longitude integral I₃(σ) = A₃(σ + Σ C₃ₗ sin 2lσ).
func c3f(eps float64) [5]float64 {
	var c [5]float64
	d := eps
	c[0] = d * (c311 + eps*(c312+eps*(c313+eps*(c314+eps*c315))))
	d *= eps
	c[1] = d * (c322 + eps*(c323+eps*(c324+eps*c325)))
	d *= eps
	c[2] = d * (c333 + eps*(c334+eps*c335))
	d *= eps
	c[3] = d * (c344 + eps*c345)
	d *= eps
	c[4] = d * c355
	return c
}

// sinSeries evaluates Σₗ c[l-1] sin(2lx), l = 1…len(c), by Clenshaw
// summation, given sinx = sin x and cosx = cos x (a unit pair).
func sinSeries(sinx, cosx float64, c []float64) float64 {
	ar := 2 * (cosx - sinx) * (cosx + sinx) // 2 cos 2x
	var b1, b2 float64
	for k := len(c) - 1; k >= 0; k-- {
		b1, b2 = ar*b1-b2+c[k], b1
	}
	return 2 * sinx * cosx * b1 // sin 2x · b₁
}
