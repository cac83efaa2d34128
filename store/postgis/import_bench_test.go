package postgis

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/store"
)

// BenchmarkImportRiskPoints measures Import of the demo's 35,548 risk points in
// three cases — into an empty layer, the same rows again (all unchanged), and with
// 10% of the rows changed — against, in the same run on the same database and
// table (same triggers), the peer: what a hand-written loader does, a psql-style
// statement set through pgx without riskmap's validation (CREATE TEMP TABLE, COPY,
// one INSERT ... ON CONFLICT (external_id) DO UPDATE ... WHERE the row differs).
//
//	go test -run x -bench ImportRiskPoints -benchtime 3x ./store/postgis
func BenchmarkImportRiskPoints(b *testing.B) {
	url := pgtest.NewDatabase(b)
	ctx := context.Background()
	s, err := Open(ctx, url, layers.New())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, nil); err != nil {
		b.Fatal(err)
	}
	ds, err := demo.Generate(demo.DefaultDemoSeed)
	if err != nil {
		b.Fatal(err)
	}
	l, err := s.Registry().Layer(layers.RiskPoints)
	if err != nil {
		b.Fatal(err)
	}
	base := ds.Features[layers.RiskPoints]
	rows := len(base)
	fs := make([]feature.Feature, rows)
	for i, f := range base {
		f.ID = 0
		fs[i] = f
	}
	opts := store.WriteOptions{Actor: "bench"}
	empty := func(b *testing.B) {
		b.Helper()
		b.StopTimer()
		if _, err := s.pool.Exec(ctx, "DELETE FROM "+ident(l.Name)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	// changed returns fs with every tenth row's name changed, differently each call.
	gen := 0
	changed := func() []feature.Feature {
		gen++
		out := make([]feature.Feature, rows)
		copy(out, fs)
		for i := 0; i < rows; i += 10 {
			props := make(map[string]any, len(out[i].Props))
			for k, v := range out[i].Props {
				props[k] = v
			}
			props["name"] = fmt.Sprintf("%v（复核%d）", props["name"], gen)
			out[i].Props = props
		}
		return out
	}
	// Each case starts from the state its own loader left: the unchanged and
	// changed cases load the rows once, untimed, before they start.
	loadOurs := func(b *testing.B) {
		if _, err := s.Import(ctx, l.Name, fs, opts, nil); err != nil {
			b.Fatal(err)
		}
	}
	loadPeer := func(b *testing.B) {
		if err := peerLoad(ctx, s, l, fs); err != nil {
			b.Fatal(err)
		}
	}
	ours := func(want func(store.ImportResult) bool, input func(b *testing.B) []feature.Feature) func(b *testing.B) {
		return func(b *testing.B) {
			loadOurs(b)
			b.ResetTimer()
			for range b.N {
				in := input(b)
				res, err := s.Import(ctx, l.Name, in, opts, nil)
				if err != nil {
					b.Fatal(err)
				}
				if !want(res) {
					b.Fatalf("import: %+v", res)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		}
	}
	peer := func(input func(b *testing.B) []feature.Feature) func(b *testing.B) {
		return func(b *testing.B) {
			loadPeer(b)
			b.ResetTimer()
			for range b.N {
				if err := peerLoad(ctx, s, l, input(b)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		}
	}
	intoEmpty := func(b *testing.B) []feature.Feature { empty(b); return fs }
	same := func(*testing.B) []feature.Feature { return fs }
	tenth := func(b *testing.B) []feature.Feature { b.StopTimer(); defer b.StartTimer(); return changed() }
	all := func(r store.ImportResult) bool { return r.Inserted == rows }
	none := func(r store.ImportResult) bool { return r.Unchanged == rows }
	tenPct := func(r store.ImportResult) bool { return r.Updated == (rows+9)/10 && r.Unchanged == rows-r.Updated }

	b.Run(fmt.Sprintf("import-empty-%d", rows), ours(all, intoEmpty))
	b.Run(fmt.Sprintf("peer-empty-%d", rows), peer(intoEmpty))
	b.Run(fmt.Sprintf("import-unchanged-%d", rows), ours(none, same))
	b.Run(fmt.Sprintf("peer-unchanged-%d", rows), peer(same))
	b.Run(fmt.Sprintf("import-10pct-changed-%d", rows), ours(tenPct, tenth))
	b.Run(fmt.Sprintf("peer-10pct-changed-%d", rows), peer(tenth))
}

// peerLoad is the hand-written loader: the rows' properties as they come (no
// normalization, no checks), points as lon/lat, COPY into a temporary table and one
// INSERT ... ON CONFLICT DO UPDATE that skips rows equal to the stored ones.
func peerLoad(ctx context.Context, s *Store, l *layers.Layer, fs []feature.Feature) error {
	names := l.FieldNames()
	defs := make([]string, 0, len(names)+2)
	cols := make([]string, len(names))
	sets := make([]string, len(names))
	old := make([]string, len(names))
	exc := make([]string, len(names))
	for i, f := range l.Fields {
		q := ident(f.Name)
		defs = append(defs, q+" "+f.Type.SQLType())
		cols[i] = q
		sets[i] = q + " = EXCLUDED." + q
		old[i] = "t." + q
		exc[i] = "EXCLUDED." + q
	}
	defs = append(defs, "lon double precision", "lat double precision")
	rows := make([][]any, len(fs))
	for i, f := range fs {
		row := make([]any, 0, len(names)+2)
		for _, n := range names {
			row = append(row, f.Props[n])
		}
		p := f.Geometry.(orb.Point)
		rows[i] = append(row, p.Lon(), p.Lat())
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE peer_stage ("+strings.Join(defs, ", ")+") ON COMMIT DROP"); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"peer_stage"}, append(names, "lon", "lat"), pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s AS t (%s, geom)
			SELECT %s, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM peer_stage
			ON CONFLICT (external_id) DO UPDATE SET %s, geom = EXCLUDED.geom
			WHERE (%s, t.geom) IS DISTINCT FROM (%s, EXCLUDED.geom)`,
			ident(l.Name), strings.Join(cols, ", "), strings.Join(cols, ", "), strings.Join(sets, ", "),
			strings.Join(old, ", "), strings.Join(exc, ", ")))
		return err
	})
}
