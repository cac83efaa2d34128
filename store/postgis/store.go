// Package postgis is riskmap's production store: PostgreSQL with PostGIS, the system
// of record. It owns the schema (applied from package migrations), reads and writes
// features of the layers in the registry, streams whole layers for loading the
// in-memory index, bulk-loads with COPY and reads the change log.
//
// Geometry crosses the boundary once per row as EWKB (package geomconv) and is orb
// inside the program. Table and column names come only from the layer registry; every
// value is a $n parameter.
package postgis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"riskmap/layers"
	"riskmap/store"
)

// NotifyChannel is the channel the schema notifies with a change's seq.
const NotifyChannel = "riskmap_changes"

// Store is a PostGIS store. It is safe for concurrent use. Close releases it.
type Store struct {
	pool *pgxpool.Pool
	reg  *layers.Registry
}

// Open connects to the database at url (a PostgreSQL URL or key=value DSN) and checks
// that it answers within ctx. It does not migrate: see Migrate.
func Open(ctx context.Context, url string, reg *layers.Registry) (*Store, error) {
	s, err := OpenLazy(ctx, url, reg)
	if err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenLazy is Open without the check that the database answers: connections are
// made when first needed, so a server can start while the database is down.
func OpenLazy(ctx context.Context, url string, reg *layers.Registry) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgis: parse database URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "riskmap"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgis: %w", err)
	}
	return &Store{pool: pool, reg: reg}, nil
}

// Close closes every connection.
func (s *Store) Close() { s.pool.Close() }

// Registry returns the layer registry the store was opened with.
func (s *Store) Registry() *layers.Registry { return s.reg }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgis: ping: %w", classify(err))
	}
	return nil
}

// Count returns the number of features in a layer.
func (s *Store) Count(ctx context.Context, layer string) (int64, error) {
	l, err := s.reg.Layer(layer)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+ident(l.Name)).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgis: count %s: %w", l.Name, classify(err))
	}
	return n, nil
}

// ident quotes a registry name as an SQL identifier.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// classify wraps connection-level failures with store.ErrUnavailable so callers can
// answer 503 and retry; other errors pass through unchanged.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "57", "53": // connection exception, operator intervention (shutdown), insufficient resources
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	if errors.As(err, &netErr) || errors.As(err, &connectErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, puddle.ErrClosedPool) ||
		errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// Pool exposes the connection pool for tests and for SQL the store does not wrap
// (migrations tooling, benchmarks). Callers must not close it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
