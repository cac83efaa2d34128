package gpkg_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"testing"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/gpkg"
)

// BenchmarkImportRiskPoints measures Import of the demo's 35,548 risk points into
// the GeoPackage store — into an empty layer, the same rows again (all unchanged),
// with 10% of the rows changed — and, in the same run, BulkLoad of the same rows
// into an empty layer (insert only, no lookup by external_id) for reference.
//
//	go test -run x -bench ImportRiskPoints -benchtime 3x ./store/gpkg
func BenchmarkImportRiskPoints(b *testing.B) {
	ctx := context.Background()
	ds, err := demo.Generate(demo.DefaultDemoSeed)
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
	dir := b.TempDir()
	opened := 0
	fresh := func(b *testing.B) *gpkg.Store {
		b.Helper()
		b.StopTimer()
		defer b.StartTimer()
		opened++
		s, err := gpkg.Open(ctx, filepath.Join(dir, fmt.Sprintf("bench-%d.gpkg", opened)), layers.New())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(s.Close)
		if _, err := s.Migrate(ctx, nil); err != nil {
			b.Fatal(err)
		}
		return s
	}
	rate := func(b *testing.B) { b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s") }
	imp := func(b *testing.B, s *gpkg.Store, in []feature.Feature, want store.ImportResult) {
		b.Helper()
		res, err := s.Import(ctx, layers.RiskPoints, in, opts, nil)
		if err != nil {
			b.Fatal(err)
		}
		if res != want {
			b.Fatalf("import: %+v, want %+v", res, want)
		}
	}
	b.Run(fmt.Sprintf("import-empty-%d", rows), func(b *testing.B) {
		for range b.N {
			imp(b, fresh(b), fs, store.ImportResult{Inserted: rows})
		}
		rate(b)
	})
	b.Run(fmt.Sprintf("bulkload-empty-%d", rows), func(b *testing.B) {
		for range b.N {
			if err := fresh(b).BulkLoad(ctx, layers.RiskPoints, fs, opts, nil); err != nil {
				b.Fatal(err)
			}
		}
		rate(b)
	})
	b.Run(fmt.Sprintf("import-unchanged-%d", rows), func(b *testing.B) {
		s := fresh(b)
		imp(b, s, fs, store.ImportResult{Inserted: rows})
		b.ResetTimer()
		for range b.N {
			imp(b, s, fs, store.ImportResult{Unchanged: rows})
		}
		rate(b)
	})
	b.Run(fmt.Sprintf("import-10pct-changed-%d", rows), func(b *testing.B) {
		s := fresh(b)
		imp(b, s, fs, store.ImportResult{Inserted: rows})
		b.ResetTimer()
		for gen := range b.N {
			b.StopTimer()
			in := make([]feature.Feature, rows)
			copy(in, fs)
			for i := 0; i < rows; i += 10 {
				in[i].Props = maps.Clone(in[i].Props)
				in[i].Props["name"] = fmt.Sprintf("%v（复核%d）", in[i].Props["name"], gen)
			}
			b.StartTimer()
			changed := (rows + 9) / 10
			imp(b, s, in, store.ImportResult{Updated: changed, Unchanged: rows - changed})
		}
		rate(b)
	})
}
