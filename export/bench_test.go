package export

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"riskmap/layers"
)

// BenchmarkExport: the demo's 35,548 risk points written as each format by riskmap's
// exporter (from the index, as riskmap export and GET /api/v1/export do) and, as
// the peer in the same run, by GDAL's ogr2ogr converting the same layer from a
// GeoPackage file (how an office exports without riskmap; the process start is
// part of it). ogr2ogr runs only when RISKMAP_OGRINFO names ogrinfo (ogr2ogr
// beside it).
//
//	RISKMAP_OGRINFO=/usr/bin/ogrinfo go test ./export -run '^$' -bench Export -benchtime 5x
func BenchmarkExport(b *testing.B) {
	ix := demoIndex(b, true)
	dir := b.TempDir()
	src := filepath.Join(dir, "src.gpkg")
	{
		e, err := Prepare(ix, Request{Layer: layers.RiskPoints, Format: GPKG, TempDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.WriteGPKGFile(context.Background(), src); err != nil {
			b.Fatal(err)
		}
	}
	ogr2ogr := ""
	if bin := os.Getenv(OGRInfoEnv); bin != "" {
		ogr2ogr = filepath.Join(filepath.Dir(bin), "ogr2ogr")
	}
	peerArgs := map[Format][]string{
		GeoJSON: {"-f", "GeoJSON"},
		CSV:     {"-f", "CSV", "-lco", "GEOMETRY=AS_XY"},
		GPKG:    {"-f", "GPKG"},
	}
	for _, f := range Formats() {
		out := filepath.Join(dir, "out."+string(f))
		b.Run(string(f)+"/riskmap", func(b *testing.B) {
			for b.Loop() {
				e, err := Prepare(ix, Request{Layer: layers.RiskPoints, Format: f, TempDir: dir})
				if err != nil {
					b.Fatal(err)
				}
				w, err := os.Create(out)
				if err != nil {
					b.Fatal(err)
				}
				if err := e.WriteTo(context.Background(), w); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(f)+"/ogr2ogr", func(b *testing.B) {
			if ogr2ogr == "" {
				b.Skipf("%s is not set: no ogr2ogr to compare with", OGRInfoEnv)
			}
			for b.Loop() {
				os.Remove(out)
				args := append(append([]string{}, peerArgs[f]...), out, src, layers.RiskPoints)
				if msg, err := exec.Command(ogr2ogr, args...).CombinedOutput(); err != nil {
					b.Fatalf("ogr2ogr: %v\n%s", err, msg)
				}
			}
		})
	}
}
