package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"riskmap/layers"
	"riskmap/migrations"
)

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("migrate", "Apply the embedded schema migrations to the store — the PostGIS database of\n--database-url, else the GeoPackage file of --gpkg (created when missing) —\nidempotently (safe when several processes run it at once on PostGIS), and print\nthe version reached.", stdout, stderr)
	sf := addStoreFlags(fs)
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	s, err := sf.spec().openSchemaStore(ctx, layers.New())
	if err != nil {
		fmt.Fprintf(stderr, "riskmap migrate: %v\n", err)
		return 1
	}
	defer s.Close()
	v, err := s.Migrate(ctx, func(m migrations.Migration) {
		fmt.Fprintf(stdout, "applying %04d_%s\n", m.Version, m.Name)
	})
	if err != nil {
		fmt.Fprintf(stderr, "riskmap migrate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "schema at version %d\n", v)
	return 0
}
