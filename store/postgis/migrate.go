package postgis

import (
	"context"
	"fmt"

	"riskmap/migrations"
	"riskmap/store"
)

// migrateLockKey is the advisory lock that serializes migrations across processes
// ("riskmap" in ASCII).
const migrateLockKey int64 = 0x7269736b6d6170

const schemaTable = `CREATE TABLE IF NOT EXISTS riskmap_schema (
    version    integer PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

// Migrate brings the schema to the latest version embedded in the binary and returns
// that version. Each migration runs in its own transaction. Safe when several
// processes start at once: they queue on an advisory lock and the later ones find
// nothing left to do. progress, if not nil, is called before each migration applied.
func (s *Store) Migrate(ctx context.Context, progress func(m migrations.Migration)) (int, error) {
	all, err := migrations.PostGIS()
	if err != nil {
		return 0, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgis: migrate: %w", classify(err))
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return 0, fmt.Errorf("postgis: migrate: take lock: %w", classify(err))
	}
	defer func() {
		// Unlock on a fresh context: ctx may be the reason we are leaving.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockKey)
	}()
	if _, err := conn.Exec(ctx, schemaTable); err != nil {
		return 0, fmt.Errorf("postgis: migrate: %w", classify(err))
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM riskmap_schema").Scan(&current); err != nil {
		return 0, fmt.Errorf("postgis: migrate: read version: %w", classify(err))
	}
	latest := len(all)
	if current > latest {
		return current, fmt.Errorf("postgis: %w: database is at version %d, this binary knows only up to %d: upgrade riskmap", store.ErrSchema, current, latest)
	}
	for _, m := range all[current:] {
		if progress != nil {
			progress(m)
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return current, fmt.Errorf("postgis: migrate to %d: %w", m.Version, classify(err))
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			_ = tx.Rollback(ctx)
			return current, fmt.Errorf("postgis: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO riskmap_schema (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			_ = tx.Rollback(ctx)
			return current, fmt.Errorf("postgis: migrate to %d: record version: %w", m.Version, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return current, fmt.Errorf("postgis: migrate to %d: commit: %w", m.Version, classify(err))
		}
		current = m.Version
	}
	return current, nil
}

// SchemaVersion returns the database's schema version (0 before the first migration)
// and the latest version this binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	all, err := migrations.PostGIS()
	if err != nil {
		return 0, 0, err
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass('riskmap_schema') IS NOT NULL").Scan(&exists); err != nil {
		return 0, len(all), fmt.Errorf("postgis: read schema version: %w", classify(err))
	}
	if !exists {
		return 0, len(all), nil
	}
	if err := s.pool.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM riskmap_schema").Scan(&current); err != nil {
		return 0, len(all), fmt.Errorf("postgis: read schema version: %w", classify(err))
	}
	return current, len(all), nil
}

// CheckSchema returns an error wrapping store.ErrSchema unless the database is at
// exactly the version this binary was built for.
func (s *Store) CheckSchema(ctx context.Context) error {
	current, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case current < latest:
		return fmt.Errorf("postgis: %w: database is at version %d, this binary needs %d: run `riskmap migrate`", store.ErrSchema, current, latest)
	case current > latest:
		return fmt.Errorf("postgis: %w: database is at version %d, newer than this binary (%d): upgrade riskmap", store.ErrSchema, current, latest)
	}
	return nil
}
