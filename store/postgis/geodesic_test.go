package postgis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

// TestGeodesicMatchesPostGIS: geo.Distance agrees with PostGIS ST_Distance on
// geography (the WGS84 spheroid) to within 1 mm, on Luohu-scale pairs, long pairs
// and nearly antipodal pairs. Planners compare riskmap's distances with PostGIS's.
func TestGeodesicMatchesPostGIS(t *testing.T) {
	s, _ := newStore(t, false)
	ctx := ctxT(t)
	if _, err := s.pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var a, b []orb.Point
	for i := range 3000 {
		var p, q orb.Point
		switch i % 3 {
		case 0: // inside Luohu
			p = orb.Point{114.06 + 0.16*r.Float64(), 22.52 + 0.10*r.Float64()}
			q = orb.Point{114.06 + 0.16*r.Float64(), 22.52 + 0.10*r.Float64()}
		case 1: // anywhere
			p = orb.Point{360*r.Float64() - 180, 180*r.Float64() - 90}
			q = orb.Point{360*r.Float64() - 180, 180*r.Float64() - 90}
		case 2: // nearly antipodal
			p = orb.Point{360*r.Float64() - 180, 160*r.Float64() - 80}
			q = orb.Point{math.Mod(p[0]+360, 360) - 180 + r.Float64() - 0.5, -p[1] + r.Float64() - 0.5}
		}
		a, b = append(a, p), append(b, q)
	}
	lon1, lat1, lon2, lat2 := make([]float64, len(a)), make([]float64, len(a)), make([]float64, len(a)), make([]float64, len(a))
	for i := range a {
		lon1[i], lat1[i], lon2[i], lat2[i] = a[i][0], a[i][1], b[i][0], b[i][1]
	}
	rows, err := s.pool.Query(ctx, `SELECT ST_Distance(
			ST_SetSRID(ST_MakePoint(x1, y1), 4326)::geography,
			ST_SetSRID(ST_MakePoint(x2, y2), 4326)::geography)
		FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[]) WITH ORDINALITY AS u(x1, y1, x2, y2, n)
		ORDER BY n`, lon1, lat1, lon2, lat2)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i, worst := 0, 0.0
	for rows.Next() {
		var want float64
		if err := rows.Scan(&want); err != nil {
			t.Fatal(err)
		}
		got := geo.Distance(a[i], b[i])
		if d := math.Abs(got - want); d > worst {
			worst = d
		}
		if math.Abs(got-want) > 0.001 {
			t.Errorf("%v → %v: geo %.6f m, PostGIS %.6f m", a[i], b[i], got, want)
		}
		i++
	}
	if err := rows.Err(); err != nil || i != len(a) {
		t.Fatalf("%d rows, err %v", i, err)
	}
	t.Logf("%d pairs, worst difference %.3g m", i, worst)
}
