package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// TestDistanceTinyMatchesKarney: the very-short-line fast path agrees with the full
// solution to 1e-8 m, at all latitudes it accepts, up to its length limit.
func TestDistanceTinyMatchesKarney(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	worst, used := 0.0, 0
	for range 200_000 {
		p := orb.Point{360*r.Float64() - 180, 130*r.Float64() - 65}
		q := Destination(p, 360*r.Float64(), 120*r.Float64())
		s, ok := distanceTiny(p[1], p[0], q[1], q[0])
		if !ok {
			continue
		}
		used++
		full := inverse(p[1], p[0], q[1], q[0]).s12
		if d := math.Abs(s - full); d > worst {
			worst = d
		}
		if s2, _ := distanceTiny(q[1], q[0], p[1], p[0]); s2 != s {
			t.Fatalf("not symmetric: %v %v", s, s2)
		}
	}
	if used < 100_000 || worst > 1e-8 {
		t.Fatalf("fast path used %d times, worst difference %.3g m", used, worst)
	}
	t.Logf("fast path used %d times, worst difference %.3g m", used, worst)
}
