package demo

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/store/geomconv"
	"riskmap/store/postgis"
)

func seededStore(t *testing.T, ds *Dataset) *postgis.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	reg := layers.New()
	s, err := postgis.Open(ctx, pgtest.NewDatabase(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Seed(ctx, s, reg, ds, SeedOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSeedPostGIS seeds two fresh databases and checks counts, that every feature is
// within the district boundary according to PostGIS, that every row was logged, and
// that the two databases hold identical data.
func TestSeedPostGIS(t *testing.T) {
	pgtest.URL(t)
	ds, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	// The history of a store ends when it is seeded (truncated to the minute), so
	// none of it is older than DefaultHistory before this moment; now() at query
	// time is not a bound, as a slow run can cross a minute between the two.
	seededAfter := time.Now()
	a := seededStore(t, ds)
	b := seededStore(t, ds)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	boundary, err := Boundary()
	if err != nil {
		t.Fatal(err)
	}
	ewkb, err := geomconv.EncodeEWKB(boundary)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		layers.RiskPoints:        RiskPointCount,
		layers.Slopes:            SlopeCount,
		layers.WaterloggingSpots: WaterloggingSpotCount,
		layers.RectifiedRoads:    QualityUpgradeRoads + SeparationRoads + RadarScanRoads,
		layers.Resources:         ResourceCount,
	}
	var total int64
	for layer, n := range want {
		got, err := a.Count(ctx, layer)
		if err != nil || got != n {
			t.Errorf("%s: %d rows (err %v), want %d", layer, got, err, n)
		}
		total += n
		var outside int64
		q := fmt.Sprintf("SELECT count(*) FROM %s WHERE NOT ST_Within(geom, ST_GeomFromEWKB($1))", layer)
		if err := a.Pool().QueryRow(ctx, q, ewkb).Scan(&outside); err != nil || outside != 0 {
			t.Errorf("%s: %d features not ST_Within the boundary (err %v)", layer, outside, err)
		}
	}
	checks := []struct {
		what string
		sql  string
		want int64
	}{
		{"ground voids", "SELECT count(*) FROM risk_points WHERE category = 'ground_void'", GroundVoidCount},
		{"quality-upgrade roads", "SELECT count(*) FROM rectified_roads WHERE kind = 'quality_upgrade'", QualityUpgradeRoads},
		{"separation roads", "SELECT count(*) FROM rectified_roads WHERE kind = 'motor_nonmotor_separation'", SeparationRoads},
		{"radar roads", "SELECT count(*) FROM rectified_roads WHERE kind = 'radar_scan'", RadarScanRoads},
		{"change-log rows", "SELECT count(*) FROM changes", total},
		{"sensors", "SELECT count(*) FROM sensors", int64(len(ds.Sensors))},
		{"reservoirs", "SELECT count(*) FROM waterlogging_spots WHERE kind = 'reservoir'", ReservoirSpots},
		{"shelters", "SELECT count(*) FROM resources WHERE kind = 'shelter'", Shelters},
		// ground voids lie on (within 1 m of) a radar-scanned road
		{"voids off the radar roads", `SELECT count(*) FROM risk_points p WHERE category = 'ground_void' AND NOT EXISTS
			(SELECT 1 FROM rectified_roads r WHERE r.kind = 'radar_scan' AND ST_DWithin(p.geom::geography, r.geom::geography, 1))`, 0},
	}
	for _, c := range checks {
		var got int64
		if err := a.Pool().QueryRow(ctx, c.sql).Scan(&got); err != nil || got != c.want {
			t.Errorf("%s: %d (err %v), want %d", c.what, got, err, c.want)
		}
	}

	// The sensors' calm history: every reading of History, real, in the hours
	// before the seeding and none after it; the same values in both databases.
	hist, err := History(ds, time.Now(), DefaultHistory, ds.Seed)
	if err != nil {
		t.Fatal(err)
	}
	oldest := seededAfter.Truncate(time.Minute).Add(-DefaultHistory)
	readingChecks := []struct {
		what string
		sql  string
		args []any
		want int64
	}{
		{"readings", "SELECT count(*) FROM readings", nil, int64(len(hist))},
		{"drill readings", "SELECT count(*) FROM readings WHERE drill", nil, 0},
		{"readings in the future", "SELECT count(*) FROM readings WHERE time > now()", nil, 0},
		{"readings older than the history", "SELECT count(*) FROM readings WHERE time < $1", []any{oldest}, 0},
		{"sensors without history", "SELECT count(*) FROM sensors s WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.sensor_id = s.id)", nil, 0},
		{"history readings out of range", "SELECT count(*) FROM readings r JOIN sensors s ON s.id = r.sensor_id WHERE r.value NOT BETWEEN s.range_min AND s.range_max", nil, 0},
	}
	for _, c := range readingChecks {
		var got int64
		if err := a.Pool().QueryRow(ctx, c.sql, c.args...).Scan(&got); err != nil || got != c.want {
			t.Errorf("%s: %d (err %v), want %d", c.what, got, err, c.want)
		}
	}
	readingsDigest := func(s *postgis.Store) string {
		var d string
		if err := s.Pool().QueryRow(ctx, `SELECT md5(string_agg(sensor_id || ':' || value, '|' ORDER BY sensor_id, time)) FROM readings`).Scan(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if readingsDigest(a) != readingsDigest(b) {
		t.Error("the reading history differs between two seeded databases")
	}

	// Identical data in both databases: a digest of every row, timestamps aside.
	tables := []string{"sensors"}
	for _, l := range layers.New().Layers() {
		tables = append(tables, l.Name)
	}
	// sameRows compares a digest of every row of table in both stores, ignoring the
	// given columns.
	sameRows := func(table string, ignore ...string) bool {
		t.Helper()
		q := fmt.Sprintf(`SELECT md5(string_agg((to_jsonb(t) - $1::text[])::text, '|' ORDER BY id)) FROM %s t`, table)
		var da, db string
		if err := a.Pool().QueryRow(ctx, q, ignore).Scan(&da); err != nil {
			t.Fatal(err)
		}
		if err := b.Pool().QueryRow(ctx, q, ignore).Scan(&db); err != nil {
			t.Fatal(err)
		}
		return da == db
	}
	for _, table := range tables {
		if !sameRows(table, "updated_at") {
			t.Errorf("%s differs between two seeded databases", table)
		}
	}

	// A second seed refuses, --if-empty skips, --replace rewrites the same rows.
	reg := layers.New()
	if _, err := Seed(ctx, a, reg, ds, SeedOptions{}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("seeding a full store: %v, want ErrNotEmpty", err)
	}
	if res, err := Seed(ctx, a, reg, ds, SeedOptions{IfEmpty: true}); err != nil || !res.Skipped {
		t.Fatalf("--if-empty: %+v %v", res, err)
	}
	if _, err := Seed(ctx, a, reg, ds, SeedOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if !sameRows(layers.RiskPoints, "updated_at", "version") {
		t.Error("reseeding with --replace changed risk_points")
	}
	var readings int64
	if err := a.Pool().QueryRow(ctx, "SELECT count(*) FROM readings").Scan(&readings); err != nil || readings != int64(len(hist)) {
		t.Errorf("after --replace: %d readings (err %v), want the %d of one history", readings, err, len(hist))
	}
	var tombstones int64
	if err := a.Pool().QueryRow(ctx, "SELECT count(*) FROM changes WHERE op = 'delete'").Scan(&tombstones); err != nil || tombstones != total {
		t.Errorf("--replace logged %d deletes (err %v), want %d", tombstones, err, total)
	}
}
