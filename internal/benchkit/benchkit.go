// Package benchkit holds what the proximity benchmarks share, so that the in-process
// benchmarks (index/bench_test.go) and the HTTP load generator (internal/cmd/loadgen)
// ask exactly the same questions.
package benchkit

import (
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"
)

// QueryPoints is the fixed query set: n uniform random points over the dense built-up
// west and centre of Luohu (Dongmen, Nanhu, Guiyuan, Huangbei, Cuizhu, Sungang), lon/lat
// degrees rounded to 1e-7 (about 1 cm). The same n gives the same points.
func QueryPoints(n int) []orb.Point {
	r := rand.New(rand.NewPCG(20220122, 500))
	ps := make([]orb.Point, n)
	for i := range ps {
		ps[i] = orb.Point{round7(114.100 + 0.050*r.Float64()), round7(22.535 + 0.035*r.Float64())}
	}
	return ps
}

func round7(x float64) float64 { return math.Round(x*1e7) / 1e7 }
