package demo

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// rng is a small deterministic generator (SplitMix64). It is written out here, not
// taken from math/rand, so that the demo rows depend on nothing but the seed.
type rng struct{ state uint64 }

func newRNG(seed uint64) *rng { return &rng{state: seed} }

func (r *rng) uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a uniform number in [0, 1).
func (r *rng) float() float64 { return float64(r.uint64()>>11) / (1 << 53) }

// between returns a uniform number in [lo, hi).
func (r *rng) between(lo, hi float64) float64 { return lo + (hi-lo)*r.float() }

// intn returns a uniform integer in [0, n).
func (r *rng) intn(n int) int { return int(r.uint64() % uint64(n)) }

// normal returns a standard normal deviate (Box-Muller).
func (r *rng) normal() float64 {
	u := 1 - r.float() // (0, 1]
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.float())
}

// pick returns an index drawn with probability proportional to weights.
func (r *rng) pick(weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.float() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// Meters per degree near Luohu's latitude (22.57°N) on WGS84, for the local offsets
// the generator draws in meters. Exact geodesics are not needed to scatter synthetic
// points; slope outlines use geo.Destination.
const (
	metersPerDegLat = 110_760.0
	metersPerDegLon = 102_810.0
)

// offset moves p by dx meters east and dy meters north (local approximation).
func offset(p orb.Point, dx, dy float64) orb.Point {
	return orb.Point{p[0] + dx/metersPerDegLon, p[1] + dy/metersPerDegLat}
}

// localDist is the distance in meters between two nearby points (local approximation),
// used for ranking only.
func localDist(a, b orb.Point) float64 {
	return math.Hypot((a[0]-b[0])*metersPerDegLon, (a[1]-b[1])*metersPerDegLat)
}

// kernel is a Gaussian blob of density: center, spread sigma in meters, weight.
type kernel struct {
	center orb.Point
	sigma  float64
	weight float64
}

// density is a mixture of kernels plus a uniform background over the district.
type density struct {
	kernels    []kernel
	background float64 // weight of the uniform part
}

// The built-up west and center: Dongmen, Nanhu, Guiyuan, Huangbei, Cuizhu, Sungang,
// then Dongxiao, Qingshuihe's flats, Liantang and Donghu's residential areas.
func builtUp() density {
	return density{
		kernels: []kernel{
			{orb.Point{114.1205, 22.5505}, 650, 18}, // Dongmen
			{orb.Point{114.1170, 22.5385}, 550, 10}, // Nanhu / Luohu station
			{orb.Point{114.1115, 22.5470}, 600, 10}, // Guiyuan
			{orb.Point{114.1380, 22.5490}, 800, 10}, // Huangbei
			{orb.Point{114.1260, 22.5620}, 700, 10}, // Cuizhu
			{orb.Point{114.1075, 22.5635}, 700, 9},  // Sungang
			{orb.Point{114.1290, 22.5810}, 900, 6},  // Dongxiao / Buxin
			{orb.Point{114.1010, 22.5800}, 800, 4},  // Qingshuihe
			{orb.Point{114.1700, 22.5630}, 800, 6},  // Liantang
			{orb.Point{114.1430, 22.5660}, 700, 5},  // Donghu residential
		},
		background: 4,
	}
}

// The hills: Yinhu and the north-west around Qingshuihe, the ridges round Shenzhen
// Reservoir, the northern lobe, and Wutong Mountain in the east.
func hills() density {
	return density{
		kernels: []kernel{
			{orb.Point{114.0850, 22.5880}, 1100, 24}, // Yinhu hills, north-west
			{orb.Point{114.1050, 22.5950}, 700, 6},   // north of Qingshuihe
			{orb.Point{114.1600, 22.5880}, 1100, 18}, // round Shenzhen Reservoir
			{orb.Point{114.1780, 22.6080}, 900, 10},  // northern lobe
			{orb.Point{114.1950, 22.5800}, 1400, 30}, // Wutong Mountain
			{orb.Point{114.1820, 22.5650}, 700, 6},   // Liantang hillside
		},
		background: 6,
	}
}

// sampler draws points inside the district boundary.
type sampler struct {
	boundary orb.Polygon
	bound    orb.Bound
	r        *rng
}

func (s *sampler) inside(p orb.Point) bool { return planar.PolygonContains(s.boundary, p) }

// point draws one point from d, inside the boundary.
func (s *sampler) point(d density) orb.Point {
	weights := make([]float64, 0, len(d.kernels)+1)
	for _, k := range d.kernels {
		weights = append(weights, k.weight)
	}
	weights = append(weights, d.background)
	i := s.r.pick(weights)
	for {
		var p orb.Point
		if i == len(d.kernels) {
			p = orb.Point{s.r.between(s.bound.Min[0], s.bound.Max[0]), s.r.between(s.bound.Min[1], s.bound.Max[1])}
		} else {
			k := d.kernels[i]
			p = offset(k.center, k.sigma*s.r.normal(), k.sigma*s.r.normal())
		}
		p = round7(p)
		if s.inside(p) {
			return p
		}
	}
}

// round7 rounds coordinates to 1e-7 degree (about 1 cm), as survey data would be, so
// values print and compare cleanly.
func round7(p orb.Point) orb.Point {
	return orb.Point{math.Round(p[0]*1e7) / 1e7, math.Round(p[1]*1e7) / 1e7}
}

// Sub-districts. No official boundary polygons are available to riskmap, so the demo
// assigns a feature to the sub-district whose seed point (near the real sub-district
// office area) is nearest: a Voronoi partition of the district. It is synthetic and
// documented as such in docs/demo-data.md.
type seedPoint struct {
	code string
	p    orb.Point
}

func subdistrictSeeds() []seedPoint {
	return []seedPoint{
		{"guiyuan", orb.Point{114.1115, 22.5470}},
		{"huangbei", orb.Point{114.1380, 22.5490}},
		{"dongmen", orb.Point{114.1205, 22.5530}},
		{"cuizhu", orb.Point{114.1260, 22.5640}},
		{"nanhu", orb.Point{114.1170, 22.5385}},
		{"sungang", orb.Point{114.1060, 22.5620}},
		{"donghu", orb.Point{114.1520, 22.5780}},
		{"liantang", orb.Point{114.1800, 22.5630}},
		{"dongxiao", orb.Point{114.1300, 22.5850}},
		{"qingshuihe", orb.Point{114.0950, 22.5850}},
	}
}

// Subdistrict returns the code of the sub-district p falls in under the demo's
// synthetic partition.
func Subdistrict(p orb.Point) string {
	best, bestD := "", math.Inf(1)
	for _, s := range subdistrictSeeds() {
		if d := localDist(p, s.p); d < bestD {
			best, bestD = s.code, d
		}
	}
	return best
}
