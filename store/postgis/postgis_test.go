package postgis

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/migrations"
	"riskmap/store"
	"riskmap/store/storetest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newStore opens a store on a fresh database, migrated unless raw.
func newStore(t *testing.T, migrate bool) (*Store, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	s, err := Open(ctxT(t), url, layers.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if migrate {
		if _, err := s.Migrate(ctxT(t), nil); err != nil {
			t.Fatal(err)
		}
	}
	return s, url
}

// sample builds a feature of layer l with every field set to a valid, non-default
// value (or, with sparse, only the required fields): storetest.Sample.
func sample(l *layers.Layer, ext string, sparse bool) feature.Feature {
	return storetest.Sample(l, ext, sparse)
}

func TestMigrateEmptyThenRerun(t *testing.T) {
	s, _ := newStore(t, false)
	ctx := ctxT(t)
	if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("CheckSchema on an empty database = %v, want ErrSchema", err)
	}
	var applied []int
	v, err := s.Migrate(ctx, func(m migrations.Migration) { applied = append(applied, m.Version) })
	if err != nil {
		t.Fatal(err)
	}
	if v < 1 || len(applied) != v {
		t.Fatalf("first run reached %d applying %v", v, applied)
	}
	applied = nil
	v2, err := s.Migrate(ctx, func(m migrations.Migration) { applied = append(applied, m.Version) })
	if err != nil || v2 != v || len(applied) != 0 {
		t.Fatalf("re-run = %d, %v, applied %v; want %d, nil, none", v2, err, applied, v)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatal(err)
	}
	// A database newer than the binary is refused, not silently used.
	if _, err := s.pool.Exec(ctx, "INSERT INTO riskmap_schema (version, name) VALUES ($1, 'future')", v+1); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("CheckSchema with a newer database = %v, want ErrSchema", err)
	}
	if _, err := s.Migrate(ctx, nil); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("Migrate with a newer database = %v, want ErrSchema", err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	_, url := newStore(t, false)
	ctx := ctxT(t)
	const n = 4
	versions := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := Open(ctx, url, layers.New())
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			versions[i], errs[i] = s.Migrate(ctx, nil)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || versions[i] != versions[0] || versions[0] < 1 {
			t.Fatalf("process %d: version %d, err %v (versions %v)", i, versions[i], errs[i], versions)
		}
	}
}

// TestSchemaMatchesRegistry holds the migrations to the registry, the one source of
// truth: same columns, SQL types, NOT NULL for required fields, and exactly the
// registry's codes in each enum CHECK.
func TestSchemaMatchesRegistry(t *testing.T) {
	s, _ := newStore(t, true)
	ctx := ctxT(t)
	quoted := regexp.MustCompile(`'([^']*)'`)
	for _, l := range s.reg.Layers() {
		t.Run(l.Name, func(t *testing.T) {
			rows, err := s.pool.Query(ctx, `SELECT column_name, data_type, is_nullable = 'YES'
				FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`, l.Name)
			if err != nil {
				t.Fatal(err)
			}
			type col struct {
				typ      string
				nullable bool
			}
			cols := map[string]col{}
			for rows.Next() {
				var name string
				var c col
				if err := rows.Scan(&name, &c.typ, &c.nullable); err != nil {
					t.Fatal(err)
				}
				cols[name] = c
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			want := append([]string{"id", "version", "updated_at", "geom"}, l.FieldNames()...)
			var got []string
			for name := range cols {
				got = append(got, name)
			}
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("columns %v, registry says %v", got, want)
			}
			for _, f := range l.Fields {
				c := cols[f.Name]
				if c.typ != f.Type.SQLType() {
					t.Errorf("%s: column type %s, registry type %s wants %s", f.Name, c.typ, f.Type, f.Type.SQLType())
				}
				if c.nullable == f.Required {
					t.Errorf("%s: nullable=%v but required=%v", f.Name, c.nullable, f.Required)
				}
				if f.Type != layers.TypeEnum {
					continue
				}
				var def string
				err := s.pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
					WHERE conrelid = $1::regclass AND conname = $2`, l.Name, l.Name+"_"+f.Name+"_enum").Scan(&def)
				if err != nil {
					t.Errorf("%s: enum CHECK %s_%s_enum: %v", f.Name, l.Name, f.Name, err)
					continue
				}
				var codes []string
				for _, m := range quoted.FindAllStringSubmatch(def, -1) {
					codes = append(codes, m[1])
				}
				sort.Strings(codes)
				reg := f.Enum.Codes()
				sort.Strings(reg)
				if !slices.Equal(codes, reg) {
					t.Errorf("%s: CHECK allows %v, registry allows %v", f.Name, codes, reg)
				}
			}
		})
	}
}

func TestConstraintsRejectBadRows(t *testing.T) {
	s, _ := newStore(t, true)
	ctx := ctxT(t)
	reg := s.reg
	bowtie := "SRID=4326;POLYGON((114.12 22.55,114.13 22.56,114.13 22.55,114.12 22.56,114.12 22.55))"
	tests := []struct {
		name       string
		layer      string
		sql        string
		constraint string
		field      string
		reason     string
	}{
		{"self-intersecting polygon", layers.Slopes,
			`INSERT INTO slopes (external_id, name, kind, risk_grade, geom) VALUES ('s1', 'x', 'natural_slope', 'low', '` + bowtie + `')`,
			"slopes_geom_valid", "geometry", "Self-intersection"},
		{"longitude 200", layers.RiskPoints,
			`INSERT INTO risk_points (external_id, name, category, risk_grade, geom) VALUES ('r1', 'x', 'fire', 'low', 'SRID=4326;POINT(200 22.5)')`,
			"risk_points_geom_lonlat", "geometry", "longitude -180..180"},
		{"grade critical", layers.RiskPoints,
			`INSERT INTO risk_points (external_id, name, category, risk_grade, geom) VALUES ('r2', 'x', 'fire', 'critical', 'SRID=4326;POINT(114.1 22.5)')`,
			"risk_points_risk_grade_enum", "risk_grade", "not one of"},
		{"unknown warning level", layers.WaterloggingSpots,
			`INSERT INTO waterlogging_spots (external_id, name, kind, warning_level, geom) VALUES ('w1', 'x', 'underpass', 'purple', 'SRID=4326;POINT(114.1 22.5)')`,
			"waterlogging_spots_warning_level_enum", "warning_level", "not one of"},
		{"unknown road kind", layers.RectifiedRoads,
			`INSERT INTO rectified_roads (external_id, name, kind, geom) VALUES ('x1', 'x', 'paving', 'SRID=4326;LINESTRING(114.1 22.5,114.2 22.5)')`,
			"rectified_roads_kind_enum", "kind", "not one of"},
		{"point on a road layer", layers.RectifiedRoads,
			`INSERT INTO rectified_roads (external_id, name, kind, geom) VALUES ('x2', 'x', 'radar_scan', 'SRID=4326;POINT(114.1 22.5)')`,
			"rectified_roads_geom_type", "geometry", "type"},
		{"negative capacity", layers.Resources,
			`INSERT INTO resources (external_id, name, kind, capacity, geom) VALUES ('c1', 'x', 'shelter', -5, 'SRID=4326;POINT(114.1 22.5)')`,
			"resources_capacity_range", "capacity", "range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.pool.Exec(ctx, tt.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.ConstraintName != tt.constraint {
				t.Fatalf("insert: err = %v, want a violation of %s", err, tt.constraint)
			}
			l, _ := reg.Layer(tt.layer)
			p := prepared{}
			if tt.field == "geometry" && strings.Contains(tt.sql, "POLYGON") {
				var b []byte
				if err := s.pool.QueryRow(ctx, "SELECT ST_AsEWKB($1::geometry)", bowtie).Scan(&b); err != nil {
					t.Fatal(err)
				}
				p.ewkb = b
			}
			mapped := s.writeError(ctx, l, 0, p, err)
			var verr *layers.ValidationError
			if !errors.As(mapped, &verr) || len(verr.Problems) != 1 {
				t.Fatalf("mapped error %v is not a one-problem ValidationError", mapped)
			}
			if got := verr.Problems[0]; got.Field != tt.field || !strings.Contains(got.Reason, tt.reason) {
				t.Fatalf("problem = %+v, want field %s and a reason containing %q", got, tt.field, tt.reason)
			}
			if !strings.Contains(mapped.Error(), tt.layer) {
				t.Fatalf("error %q does not name the layer", mapped)
			}
		})
	}
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM changes").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rejected rows left %d change-log rows (err %v)", n, err)
	}
}

// TestInvalidPolygonReasonIsGEOS: the reason PostGIS gives for an invalid polygon is
// GEOS's ST_IsValidReason, on Upsert as in a bulk load. (The rest of these errors —
// the field, the "is not a valid geometry" start, the row of a bulk load, nothing
// written — is the store contract, storetest.)
func TestInvalidPolygonReasonIsGEOS(t *testing.T) {
	s, _ := newStore(t, true)
	ctx := ctxT(t)
	sl, _ := s.reg.Layer(layers.Slopes)
	bowtie := sample(sl, "s-bowtie", false)
	bowtie.Geometry = orb.Polygon{{{114.12, 22.55}, {114.13, 22.56}, {114.13, 22.55}, {114.12, 22.56}, {114.12, 22.55}}}
	_, err := s.Upsert(ctx, bowtie, store.WriteOptions{Actor: "test"})
	var verr *layers.ValidationError
	if !errors.As(err, &verr) || verr.Problems[0] != (layers.Problem{Field: "geometry", Reason: "is not a valid geometry: Self-intersection[114.125 22.555]"}) {
		t.Fatalf("upsert: %v", err)
	}
	err = s.BulkLoad(ctx, sl.Name, []feature.Feature{sample(sl, "S-0", false), bowtie}, store.WriteOptions{}, nil)
	if want := "slopes row 1 (external_id s-bowtie): slopes: geometry: is not a valid geometry: Self-intersection[114.125 22.555]"; err == nil || err.Error() != want {
		t.Fatalf("bulk load: %v, want %s", err, want)
	}
}

func TestChangeLogAndNotifications(t *testing.T) {
	s, url := newStore(t, true)
	ctx := ctxT(t)
	listener, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(context.Background())
	if _, err := listener.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		t.Fatal(err)
	}

	l, _ := s.reg.Layer(layers.Slopes)
	f, err := s.Upsert(ctx, sample(l, "slope-1", false), store.WriteOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	f.Props["warning_level"] = "orange"
	if _, err := s.Upsert(ctx, f, store.WriteOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	// A change made with plain SQL, as from psql, is logged the same way.
	if _, err := s.pool.Exec(ctx, "UPDATE slopes SET height_m = 12 WHERE id = $1", f.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, l.Name, f.ID, store.WriteOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, l.Name, f.ID, store.WriteOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete = %v, want ErrNotFound", err)
	}

	changes, err := s.Changes(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	wantOps := []feature.Op{feature.Insert, feature.Update, feature.Update, feature.Delete}
	if len(changes) != len(wantOps) {
		t.Fatalf("%d changes logged, want %d: %+v", len(changes), len(wantOps), changes)
	}
	for i, c := range changes {
		if c.Op != wantOps[i] || c.Layer != l.Name || c.ID != f.ID || c.Version != int64(i+1) {
			t.Errorf("change %d = %+v, want op %s, version %d", i, c, wantOps[i], i+1)
		}
		if i > 0 && c.Seq <= changes[i-1].Seq {
			t.Errorf("seq not increasing: %d after %d", c.Seq, changes[i-1].Seq)
		}
	}
	for i := range wantOps {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := listener.WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
		if n.Channel != NotifyChannel || n.Payload != strconv.FormatInt(changes[i].Seq, 10) {
			t.Errorf("notification %d = %s %q, want payload %d", i, n.Channel, n.Payload, changes[i].Seq)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if n, err := listener.WaitForNotification(wctx); err == nil {
		t.Fatalf("unexpected extra notification %q", n.Payload)
	}

	// Re-inserting the deleted id continues its version sequence.
	if _, err := s.pool.Exec(ctx, `INSERT INTO slopes (id, external_id, name, kind, risk_grade, geom)
		VALUES ($1, 'slope-1', 'x', 'natural_slope', 'low', 'SRID=4326;POINT(114.1 22.55)')`, f.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, l.Name, f.ID)
	if err != nil || got.Version != 5 {
		t.Fatalf("re-inserted feature version %d (err %v), want 5", got.Version, err)
	}

	// TRUNCATE would hide deletes from the log: refused.
	if _, err := s.pool.Exec(ctx, "TRUNCATE slopes CASCADE"); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("TRUNCATE = %v, want refusal", err)
	}
}

func TestHazardStatusHistory(t *testing.T) {
	s, _ := newStore(t, true)
	ctx := ctxT(t)
	l, _ := s.reg.Layer(layers.RiskPoints)
	in := sample(l, "rp-1", false)
	in.Props["hazard_status"] = "open"
	f, err := s.Upsert(ctx, in, store.WriteOptions{Actor: "inspector-li"})
	if err != nil {
		t.Fatal(err)
	}
	f.Props["hazard_status"] = "rectifying"
	if _, err := s.Upsert(ctx, f, store.WriteOptions{Actor: "inspector-li", Note: "加固挡土墙"}); err != nil {
		t.Fatal(err)
	}
	f.Props["name"] = "renamed" // not a status change: no history row
	if _, err := s.Upsert(ctx, f, store.WriteOptions{Actor: "someone"}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.pool.Query(ctx, `SELECT COALESCE(from_status, ''), to_status, actor, COALESCE(note, '')
		FROM risk_point_status_history WHERE risk_point_id = $1 ORDER BY id`, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var a, b, c, d string
		err := r.Scan(&a, &b, &c, &d)
		return strings.Join([]string{a, b, c, d}, "|"), err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"|open|inspector-li|", "open|rectifying|inspector-li|加固挡土墙"}
	if !slices.Equal(got, want) {
		t.Fatalf("history %q, want %q", got, want)
	}
}
