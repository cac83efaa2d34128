package gpkg

import (
	"context"
	"database/sql"
	"fmt"

	"riskmap/migrations"
	"riskmap/store"
)

const schemaTable = `CREATE TABLE IF NOT EXISTS riskmap_schema (
    version    INTEGER PRIMARY KEY,
    name       TEXT     NOT NULL,
    applied_at DATETIME NOT NULL
)`

// Migrate brings the file's schema to the latest version embedded in the binary and
// returns that version; a new file becomes a GeoPackage (application_id "GPKG",
// user_version 10300). Each migration runs in its own transaction. progress, if not
// nil, is called before each migration applied.
func (s *Store) Migrate(ctx context.Context, progress func(m migrations.Migration)) (int, error) {
	all, err := migrations.GPKG()
	if err != nil {
		return 0, err
	}
	if _, err := s.w.ExecContext(ctx, schemaTable); err != nil {
		return 0, fmt.Errorf("gpkg: migrate: %w", classify(err))
	}
	var current int
	if err := s.w.QueryRowContext(ctx, "SELECT COALESCE(max(version), 0) FROM riskmap_schema").Scan(&current); err != nil {
		return 0, fmt.Errorf("gpkg: migrate: read version: %w", classify(err))
	}
	latest := len(all)
	if current > latest {
		return current, fmt.Errorf("gpkg: %w: %s is at version %d, this binary knows only up to %d: upgrade riskmap", store.ErrSchema, s.path, current, latest)
	}
	for _, m := range all[current:] {
		if progress != nil {
			progress(m)
		}
		err := s.write(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("gpkg: migration %04d_%s: %w", m.Version, m.Name, err)
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO riskmap_schema (version, name, applied_at) VALUES (?, ?, ?)", m.Version, m.Name, formatTime(s.now()))
			return err
		})
		if err != nil {
			return current, err
		}
		current = m.Version
	}
	// A GeoPackage says so in its header.
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d", applicationID, userVersion)); err != nil {
		return current, fmt.Errorf("gpkg: migrate: mark as GeoPackage: %w", classify(err))
	}
	return current, nil
}

// SchemaVersion returns the file's schema version (0 before the first migration) and
// the latest version this binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	all, err := migrations.GPKG()
	if err != nil {
		return 0, 0, err
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'riskmap_schema'").Scan(&n); err != nil {
		return 0, len(all), fmt.Errorf("gpkg: read schema version: %w", classify(err))
	}
	if n == 0 {
		return 0, len(all), nil
	}
	if err := s.r.QueryRowContext(ctx, "SELECT COALESCE(max(version), 0) FROM riskmap_schema").Scan(&current); err != nil {
		return 0, len(all), fmt.Errorf("gpkg: read schema version: %w", classify(err))
	}
	return current, len(all), nil
}

// CheckSchema returns an error wrapping store.ErrSchema unless the file is at exactly
// the version this binary needs.
func (s *Store) CheckSchema(ctx context.Context) error {
	current, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case current < latest:
		return fmt.Errorf("gpkg: %w: %s is at version %d, this binary needs %d: run `riskmap migrate`", store.ErrSchema, s.path, current, latest)
	case current > latest:
		return fmt.Errorf("gpkg: %w: %s is at version %d, newer than this binary (%d): upgrade riskmap", store.ErrSchema, s.path, current, latest)
	}
	return nil
}

// write runs fn in a write transaction (BEGIN IMMEDIATE on the one writer
// connection) and commits it; on error it rolls back.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("gpkg: begin: %w", classify(err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("gpkg: commit: %w", classify(err))
	}
	return nil
}
