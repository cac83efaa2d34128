package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"riskmap/demo"
	"riskmap/layers"
)

func seedCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("seed", "Write the deterministic synthetic Luohu demo dataset (35,548 risk points, 1,932\nslopes, 48 rectified roads, waterlogging spots, resources, sensors) into the\nstore: the PostGIS database of --database-url, else the GeoPackage file of\n--gpkg. The schema must be migrated first (riskmap migrate).", stdout, stderr)
	sf := addStoreFlags(fs)
	demoFlag := fs.Bool("demo", false, "write the demo dataset (required: it is the only dataset seed writes)")
	replace := fs.Bool("replace", false, "delete every existing feature first (deletes are logged)")
	ifEmpty := fs.Bool("if-empty", false, "do nothing when the database already holds features")
	seed := fs.Uint64("seed", demo.DefaultDemoSeed, "generator seed: the same seed writes identical rows")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if !*demoFlag {
		fmt.Fprintln(stderr, "riskmap seed: pass --demo to write the demo dataset")
		return 2
	}
	if *replace && *ifEmpty {
		fmt.Fprintln(stderr, "riskmap seed: --replace and --if-empty contradict each other")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	reg := layers.New()
	s, err := sf.spec().openSchemaStore(ctx, reg)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap seed: %v\n", err)
		return 1
	}
	defer s.Close()
	if err := s.CheckSchema(ctx); err != nil {
		fmt.Fprintf(stderr, "riskmap seed: %v\n", err)
		return 1
	}
	start := time.Now()
	fmt.Fprintf(stdout, "generating the Luohu demo dataset (seed %d)...\n", *seed)
	ds, err := demo.Generate(*seed)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap seed: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "generated %d features and %d sensors in %v\n", ds.Total(), len(ds.Sensors), time.Since(start).Round(time.Millisecond))
	if _, err := demo.Seed(ctx, s, reg, ds, demo.SeedOptions{Replace: *replace, IfEmpty: *ifEmpty, Progress: stdout}); err != nil {
		fmt.Fprintf(stderr, "riskmap seed: %v\n", err)
		return 1
	}
	return 0
}
