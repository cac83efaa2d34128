package geo

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// squareWithHole is the square [0,10]² with the hole [4,6]²; rings closed.
var squareWithHole = orb.Polygon{
	{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}},
	{{4, 4}, {6, 4}, {6, 6}, {4, 6}, {4, 4}},
}

// uShape is a U open at the top: arms [0,2]×[0,6] and [4,6]×[0,6] joined
// by the bar [0,6]×[0,2]; the gap is (2,4)×(2,6].
var uShape = orb.Polygon{
	{{0, 0}, {6, 0}, {6, 6}, {4, 6}, {4, 2}, {2, 2}, {2, 6}, {0, 6}, {0, 0}},
}

// luohuBlock is a block in Luohu (lon/lat degrees) with a courtyard hole;
// the rings are not closed and the outer one runs clockwise.
var luohuBlock = orb.Polygon{
	{{114.10, 22.53}, {114.10, 22.56}, {114.13, 22.57}, {114.16, 22.56}, {114.16, 22.53}},
	{{114.12, 22.54}, {114.14, 22.54}, {114.14, 22.55}, {114.12, 22.55}},
}

func TestPolygonCoversLine(t *testing.T) {
	tests := []struct {
		name string
		poly orb.Polygon
		line orb.LineString
		want bool
	}{
		// Square with a hole.
		{"inside, clear of the hole", squareWithHole, orb.LineString{{1, 1}, {9, 1}, {9, 3}}, true},
		{"through the hole", squareWithHole, orb.LineString{{1, 5}, {9, 5}}, false},
		{"ends in the hole", squareWithHole, orb.LineString{{1, 1}, {5, 5}}, false},
		{"around the hole", squareWithHole, orb.LineString{{3, 3}, {7, 3}, {7, 7}, {3, 7}, {3, 3}}, true},
		{"along the outer boundary", squareWithHole, orb.LineString{{0, 0}, {10, 0}, {10, 10}}, true},
		{"along part of an outer edge", squareWithHole, orb.LineString{{2, 10}, {8, 10}}, true},
		{"along the hole boundary", squareWithHole, orb.LineString{{4, 4}, {6, 4}, {6, 6}}, true},
		{"touches a hole corner only", squareWithHole, orb.LineString{{3, 5}, {5, 3}}, true},
		{"enters the hole at its corner", squareWithHole, orb.LineString{{3, 3}, {5, 5}}, false},
		{"leaves the outer ring", squareWithHole, orb.LineString{{1, 1}, {11, 1}}, false},
		{"vertex outside", squareWithHole, orb.LineString{{1, 1}, {1, 12}}, false},
		{"leaves through an outer corner", squareWithHole, orb.LineString{{9, 9}, {11, 11}}, false},
		{"ends at an outer corner", squareWithHole, orb.LineString{{9, 9}, {10, 10}}, true},
		{"single point inside", squareWithHole, orb.LineString{{2, 2}}, true},
		{"single point on boundary", squareWithHole, orb.LineString{{0, 5}}, true},
		{"single point in hole", squareWithHole, orb.LineString{{5, 5}}, false},
		{"repeated vertices", squareWithHole, orb.LineString{{1, 1}, {1, 1}, {2, 2}, {2, 2}}, true},
		{"within tolerance of an edge", squareWithHole, orb.LineString{{5, -1e-12}, {5, 1}}, true},
		{"just outside an edge", squareWithHole, orb.LineString{{5, -1e-6}, {5, 1}}, false},
		{"empty line", squareWithHole, orb.LineString{}, false},
		{"empty polygon", orb.Polygon{}, orb.LineString{{1, 1}, {2, 2}}, false},

		// U-shaped (concave) polygon.
		{"across the gap", uShape, orb.LineString{{1, 5}, {5, 5}}, false},
		{"along the inside", uShape, orb.LineString{{1, 5}, {1, 1}, {5, 1}, {5, 5}}, true},
		{"below the gap", uShape, orb.LineString{{1, 1}, {5, 1.5}}, true},
		{"along the bottom of the gap", uShape, orb.LineString{{1, 2}, {5, 2}}, true},
		{"chord across the opening", uShape, orb.LineString{{2, 6}, {4, 6}}, false},
		{"touches the reflex corner", uShape, orb.LineString{{1, 3}, {3, 1}}, true},
		{"through the reflex corner into the gap", uShape, orb.LineString{{1, 1}, {3, 3}}, false},
		{"from corner to corner across the gap", uShape, orb.LineString{{2, 2}, {4, 6}}, false},
		{"up the inner edge of an arm", uShape, orb.LineString{{2, 2}, {2, 6}}, true},

		// Real coordinates.
		{"luohu street inside", luohuBlock, orb.LineString{{114.105, 22.535}, {114.155, 22.535}}, true},
		{"luohu street through courtyard", luohuBlock, orb.LineString{{114.105, 22.545}, {114.155, 22.545}}, false},
		{"luohu along the sloped edge", luohuBlock, orb.LineString{{114.10, 22.56}, {114.13, 22.57}, {114.16, 22.56}}, true},
		{"luohu to the middle of a sloped edge", luohuBlock, orb.LineString{{114.105, 22.535}, {(114.10 + 114.13) / 2, (22.56 + 22.57) / 2}}, true},
		{"luohu leaving across the top", luohuBlock, orb.LineString{{114.13, 22.535}, {114.13, 22.58}}, false},
		{"luohu along the courtyard wall", luohuBlock, orb.LineString{{114.12, 22.54}, {114.14, 22.54}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PolygonCoversLine(tc.poly, tc.line); got != tc.want {
				t.Errorf("PolygonCoversLine = %v, want %v", got, tc.want)
			}
			// Neither the ring orientation nor closing the rings matters.
			if got := PolygonCoversLine(reshape(tc.poly), tc.line); got != tc.want {
				t.Errorf("PolygonCoversLine(reversed/reclosed rings) = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPolygonCoversRing(t *testing.T) {
	tests := []struct {
		name string
		poly orb.Polygon
		ring orb.Ring
		want bool
	}{
		{"fully inside, open", squareWithHole, orb.Ring{{1, 1}, {3, 1}, {3, 3}, {1, 3}}, true},
		{"fully inside, closed", squareWithHole, orb.Ring{{1, 1}, {3, 1}, {3, 3}, {1, 3}, {1, 1}}, true},
		{"around the hole", squareWithHole, orb.Ring{{3, 3}, {7, 3}, {7, 7}, {3, 7}}, true},
		{"overlapping the hole", squareWithHole, orb.Ring{{3, 3}, {5, 3}, {5, 5}, {3, 5}}, false},
		{"edge through the hole", squareWithHole, orb.Ring{{3, 4.5}, {7, 4.5}, {7, 8}, {3, 8}}, false},
		{"closing edge through the hole", squareWithHole, orb.Ring{{3, 5}, {3, 8}, {7, 8}, {7, 5}}, false},
		{"the hole itself", squareWithHole, orb.Ring{{4, 4}, {6, 4}, {6, 6}, {4, 6}}, true},
		{"the outer ring itself", squareWithHole, orb.Ring{{0, 0}, {10, 0}, {10, 10}, {0, 10}}, true},
		{"inside the hole", squareWithHole, orb.Ring{{4.5, 4.5}, {5.5, 4.5}, {5, 5.5}}, false},
		{"larger than the polygon", squareWithHole, orb.Ring{{-1, -1}, {11, -1}, {11, 11}, {-1, 11}}, false},
		{"U: closing edge crosses the gap", uShape, orb.Ring{{1, 5}, {1, 1}, {5, 1}, {5, 5}}, false},
		{"U: the polygon itself", uShape, uShape[0], true},
		{"U: inside the bar", uShape, orb.Ring{{0.5, 0.5}, {5.5, 0.5}, {5.5, 1.5}, {0.5, 1.5}}, true},
		{"empty ring", squareWithHole, orb.Ring{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PolygonCoversRing(tc.poly, tc.ring); got != tc.want {
				t.Errorf("PolygonCoversRing = %v, want %v", got, tc.want)
			}
			if got := PolygonCoversRing(reshape(tc.poly), tc.ring); got != tc.want {
				t.Errorf("PolygonCoversRing(reversed/reclosed rings) = %v, want %v", got, tc.want)
			}
		})
	}
	// The same open path as a line is covered: only the closing edge leaves.
	if !PolygonCoversLine(uShape, orb.LineString{{1, 5}, {1, 1}, {5, 1}, {5, 5}}) {
		t.Error("PolygonCoversLine(U, open path) = false, want true")
	}
}

// reshape returns poly with every ring reversed and closed if it was open,
// opened if it was closed.
func reshape(poly orb.Polygon) orb.Polygon {
	out := make(orb.Polygon, len(poly))
	for i, r := range poly {
		r = slices.Clone(r)
		if len(r) > 1 && r[0] == r[len(r)-1] {
			r = r[:len(r)-1]
		} else if len(r) > 0 {
			r = append(r, r[0])
		}
		slices.Reverse(r)
		out[i] = r
	}
	return out
}

// TestPolygonCoversLineSampled compares PolygonCoversLine with dense
// sampling on random paths whose vertices lie on a half-unit grid, so that
// many of them touch the boundary, run along it or pass through vertices.
// On this grid a path that leaves the polygon does so over at least ~0.03
// units, which the sampling step of at most 0.005 cannot miss.
func TestPolygonCoversLineSampled(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	coord := func(hi int) float64 { return float64(rng.IntN(2*hi+3)-1) / 2 } // -0.5 … hi+0.5
	sampled := func(poly orb.Polygon, line orb.LineString) bool {
		for i := range line {
			if locate(poly, line[i]) == exterior {
				return false
			}
			if i == 0 {
				continue
			}
			p, q := line[i-1], line[i]
			for k := 1; k < 2000; k++ {
				s := float64(k) / 2000
				if locate(poly, orb.Point{p[0] + s*(q[0]-p[0]), p[1] + s*(q[1]-p[1])}) == exterior {
					return false
				}
			}
		}
		return true
	}
	polys := []struct {
		name string
		poly orb.Polygon
		hi   int
	}{
		{"square with hole", squareWithHole, 10},
		{"U shape", uShape, 6},
	}
	n := 1500
	if testing.Short() {
		n = 300
	}
	for _, pc := range polys {
		var covered int
		for range n {
			line := make(orb.LineString, 2+rng.IntN(3))
			for i := range line {
				line[i] = orb.Point{coord(pc.hi), coord(pc.hi)}
			}
			want := sampled(pc.poly, line)
			if got := PolygonCoversLine(pc.poly, line); got != want {
				t.Errorf("%s: PolygonCoversLine(%v) = %v, sampling says %v", pc.name, line, got, want)
			}
			if want {
				covered++
			}
		}
		if covered < n/10 {
			t.Errorf("%s: only %d covered paths; the test is not exercising much", pc.name, covered)
		}
	}
}

func BenchmarkPolygonCoversLine(b *testing.B) {
	line := orb.LineString{{114.105, 22.535}, {114.155, 22.535}, {114.155, 22.555}, {114.145, 22.558}}
	for b.Loop() {
		PolygonCoversLine(luohuBlock, line)
	}
}
