package demo

import (
	"context"
	"testing"

	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/store/postgis"
)

// BenchmarkGenerate measures building the demo dataset in memory.
func BenchmarkGenerate(b *testing.B) {
	for range b.N {
		if _, err := Generate(DefaultDemoSeed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeedPostGIS measures writing the whole demo dataset (37,705 features and
// the sensors) into a freshly migrated PostGIS database, generation excluded.
//
//	go test -run x -bench SeedPostGIS -benchtime 3x ./demo
func BenchmarkSeedPostGIS(b *testing.B) {
	ds, err := generated()
	if err != nil {
		b.Fatal(err)
	}
	reg := layers.New()
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		s, err := postgis.Open(ctx, pgtest.NewDatabase(b), reg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Migrate(ctx, nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Seed(ctx, s, reg, ds, SeedOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
	}
	b.ReportMetric(float64(ds.Total()*b.N)/b.Elapsed().Seconds(), "features/s")
}
