package gpkg

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"

	"riskmap/internal/pgtest"
	"riskmap/layers"
)

func square(x, y, size float64) orb.Ring {
	return orb.Ring{{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}, {x, y}}
}

func TestInvalidity(t *testing.T) {
	tests := []struct {
		name string
		g    orb.Geometry
		want string // the reason's start, "" for valid
	}{
		{"square", orb.Polygon{square(0, 0, 1)}, ""},
		{"point", orb.Point{1, 2}, ""},
		{"bowtie", orb.Polygon{{{0, 0}, {2, 2}, {2, 0}, {0, 2}, {0, 0}}}, "Ring Self-intersection[1 1]"},
		{"spike", orb.Polygon{{{0, 0}, {2, 0}, {2, 2}, {2, 3}, {2, 1}, {0, 2}, {0, 0}}}, "Ring Self-intersection"},
		{"repeated points", orb.Polygon{{{0, 0}, {0, 0}, {2, 0}, {2, 2}, {2, 2}, {0, 2}, {0, 0}}}, ""},
		{"too few points", orb.Polygon{{{0, 0}, {1, 0}, {1, 0}, {0, 0}}}, "Too few points"},
		{"hole outside", orb.Polygon{square(0, 0, 1), square(2, 2, 1)}, "Hole lies outside shell"},
		{"hole crossing", orb.Polygon{square(0, 0, 2), square(1, 1, 2)}, "Self-intersection"},
		{"hole sharing an edge", orb.Polygon{square(0, 0, 2), square(0, 0, 1)}, "Self-intersection"},
		{"hole touching at a point", orb.Polygon{square(0, 0, 4), {{0, 2}, {1, 1}, {1, 3}, {0, 2}}}, ""},
		{"hole touching twice", orb.Polygon{square(0, 0, 4), {{2, 0}, {3, 2}, {2, 4}, {1, 2}, {2, 0}}}, "Interior is disconnected"},
		{"hole crossing at a vertex", orb.Polygon{{{0, 0}, {4, 0}, {4, 4}, {2, 2}, {0, 4}, {0, 0}}, {{2, 2}, {3, 1}, {3, 5}, {2, 2}}}, "Self-intersection[2 2]"},
		{"nested holes", orb.Polygon{square(0, 0, 10), square(1, 1, 5), square(2, 2, 1)}, "Holes are nested"},
		{"holes nested, touching at a point", orb.Polygon{square(0, 0, 4), {{0, 0}, {1, 2}, {2, 1}, {0, 0}}, {{0, 0}, {3, 1}, {1, 3}, {0, 0}}}, "Holes are nested"},
		{"two holes and the shell at one point", orb.Polygon{square(0, 0, 4), {{0, 0}, {2, 1}, {1, 1}, {0, 0}}, {{0, 0}, {1, 2}, {1, 3}, {0, 0}}}, ""},
		{"multipolygon touching", orb.MultiPolygon{{square(0, 0, 1)}, {square(1, 1, 1)}}, ""},
		{"multipolygon sharing an edge", orb.MultiPolygon{{square(0, 0, 1)}, {square(1, 0, 1)}}, "Self-intersection"},
		{"nested shells", orb.MultiPolygon{{square(0, 0, 10)}, {square(2, 2, 1)}}, "Nested shells"},
		{"shell in a hole", orb.MultiPolygon{{square(0, 0, 10), square(1, 1, 5)}, {square(2, 2, 1)}}, ""},
		{"shell in a notch of another, touching at its vertex", orb.MultiPolygon{{{{0, 0}, {2, 0}, {1, 1}, {2, 2}, {0, 2}, {0, 0}}}, {{{1, 1}, {3, 0}, {3, 2}, {1, 1}}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := invalidity(tt.g)
			if tt.want == "" && got != "" || tt.want != "" && !strings.HasPrefix(got, tt.want) {
				t.Fatalf("invalidity = %q, want %q", got, tt.want)
			}
		})
	}
}

// randomPolygon draws a polygon on a small integer grid — where rings touch, share
// edges and run through each other's vertices often — that passes
// layers.ValidateGeometry.
func randomPolygon(r *rand.Rand, grid int) orb.Polygon {
	ring := func() orb.Ring {
		n := 3 + r.IntN(4)
		ring := make(orb.Ring, 0, n+1)
		for range n {
			ring = append(ring, orb.Point{float64(r.IntN(grid)), float64(r.IntN(grid))})
		}
		return append(ring, ring[0])
	}
	p := orb.Polygon{ring()}
	for range r.IntN(3) {
		p = append(p, ring())
	}
	return p
}

// lonlat moves a geometry drawn on the grid into Luohu: x, y → 114.1 + x/1000,
// 22.5 + y/1000, where points on one line are seldom exactly so in binary.
func lonlat(g orb.Geometry) orb.Geometry {
	mp, ok := g.(orb.MultiPolygon)
	if !ok {
		mp = orb.MultiPolygon{g.(orb.Polygon)}
	}
	out := orb.MultiPolygon{}
	for _, p := range mp {
		var q orb.Polygon
		for _, r := range p {
			var s orb.Ring
			for _, pt := range r {
				s = append(s, orb.Point{114.1 + pt[0]/1000, 22.5 + pt[1]/1000})
			}
			q = append(q, s)
		}
		out = append(out, q)
	}
	if !ok {
		return out[0]
	}
	return out
}

// TestInvalidityAgreesWithPostGIS draws polygons and multipolygons that pass
// layers.ValidateGeometry and holds invalidity to PostGIS's ST_IsValid: the
// GeoPackage store must accept exactly the polygons the PostGIS store accepts.
func TestInvalidityAgreesWithPostGIS(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		t.Fatal(err)
	}
	l, _ := layers.New().Layer(layers.Slopes)
	seed, samples := uint64(10), 20000
	if v := os.Getenv("RISKMAP_VALIDITY_SAMPLES"); v != "" { // a longer hunt: RISKMAP_VALIDITY_SAMPLES=N,seed
		n, sd, _ := strings.Cut(v, ",")
		samples, _ = strconv.Atoi(n)
		seed, _ = strconv.ParseUint(sd, 10, 64)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	var geoms []orb.Geometry
	var texts []string
	for len(geoms) < samples {
		var g orb.Geometry = randomPolygon(r, 3+r.IntN(4))
		if r.IntN(4) == 0 {
			g = orb.MultiPolygon{g.(orb.Polygon), randomPolygon(r, 5)}
		}
		if r.IntN(2) == 0 {
			g = lonlat(g) // coordinates that binary floating point does not hold exactly
		}
		if l.ValidateGeometry(g) != nil {
			continue
		}
		geoms = append(geoms, g)
		texts = append(texts, wkt.MarshalString(g))
	}
	rows, err := conn.Query(ctx, "SELECT ST_IsValid(ST_GeomFromText(g)), ST_IsValidReason(ST_GeomFromText(g)) FROM unnest($1::text[]) WITH ORDINALITY AS u(g, i) ORDER BY i", texts)
	if err != nil {
		t.Fatal(err)
	}
	i, valid, disagree := 0, 0, 0
	for rows.Next() {
		var ok bool
		var why string
		if err := rows.Scan(&ok, &why); err != nil {
			t.Fatal(err)
		}
		got := invalidity(geoms[i])
		if ok {
			valid++
		}
		if ok != (got == "") {
			disagree++
			if disagree <= 10 {
				t.Errorf("%s: PostGIS says %s, the store says %q", texts[i], why, got)
			}
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(geoms) {
		t.Fatalf("%d answers for %d geometries", i, len(geoms))
	}
	t.Logf("%d geometries, %d valid; %d disagreements", len(geoms), valid, disagree)
	if disagree > 0 {
		t.Fatalf("%d of %d geometries judged otherwise than by PostGIS", disagree, len(geoms))
	}
}
