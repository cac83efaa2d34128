package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"riskmap/layers"
	"riskmap/migrations"
	"riskmap/store/postgis"
)

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("migrate", "Apply the embedded schema migrations to the database (idempotent; safe when\nseveral processes run it at once) and print the version reached.", stdout, stderr)
	dbURL := databaseFlag(fs)
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if !requireDatabase(*dbURL, stderr, "migrate") {
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	s, err := postgis.Open(ctx, *dbURL, layers.New())
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
