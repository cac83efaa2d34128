package postgis

import (
	"context"
	"fmt"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/store"
)

// BenchmarkLoadRiskPoints compares the two ways of writing risk points, in the same
// run on the same database: BulkLoad (COPY into staging, one INSERT ... SELECT per
// batch) against one Upsert per row (what a naive importer does). Both fire the same
// triggers (change log, notification, status history).
//
//	go test -run x -bench LoadRiskPoints -benchtime 3x ./store/postgis
func BenchmarkLoadRiskPoints(b *testing.B) {
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
	const rows = 5000
	iter := 0 // external ids stay unique across the benchmark's repeated runs
	batch := func(prefix string) []feature.Feature {
		iter++
		fs := make([]feature.Feature, rows)
		for i := range fs {
			fs[i] = feature.Feature{Layer: layers.RiskPoints, Geometry: orb.Point{114.1 + float64(i)*1e-5, 22.55}, Props: map[string]any{
				"external_id": fmt.Sprintf("%s-%d-%d", prefix, iter, i), "name": "测试风险点", "category": "fire",
				"risk_grade": "general", "address": "深圳市罗湖区东门街道", "cause": "电气线路老化", "subdistrict": "dongmen",
			}}
		}
		return fs
	}
	opts := store.WriteOptions{Actor: "bench"}
	b.Run(fmt.Sprintf("copy-%d", rows), func(b *testing.B) {
		for range b.N {
			fs := batch("copy")
			if err := s.BulkLoad(ctx, layers.RiskPoints, fs, opts, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run(fmt.Sprintf("upsert-each-%d", rows), func(b *testing.B) {
		for range b.N {
			for _, f := range batch("row") {
				if _, err := s.Upsert(ctx, f, opts); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
