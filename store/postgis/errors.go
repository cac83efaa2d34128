package postgis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"riskmap/layers"
	"riskmap/store"
)

// PostgreSQL error codes the store maps to field errors.
const (
	codeUniqueViolation  = "23505"
	codeCheckViolation   = "23514"
	codeNotNullViolation = "23502"
	codeInvalidParameter = "22023" // e.g. a geometry type the column's typmod refuses
	codeInvalidText      = "22P02"
)

// writeError turns a database error from writing feature id of layer l into an error
// that names the field: a *layers.ValidationError for a rejected value, a
// *store.ConflictError for a taken external_id. p is what was sent, used to say which
// value collided and why a geometry is invalid.
func (s *Store) writeError(ctx context.Context, l *layers.Layer, id int64, p prepared, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("postgis: write %s id %d: %w", l.Name, id, classify(err))
	}
	switch pgErr.Code {
	case codeUniqueViolation:
		field := store.ConstraintField(l, pgErr.ConstraintName)
		ce := &store.ConflictError{Layer: l.Name, Field: field}
		if i := fieldIndex(l, field); i >= 0 && p.values != nil {
			ce.Value = fmt.Sprint(p.values[i])
		}
		return ce
	case codeCheckViolation, codeNotNullViolation:
		field := store.ConstraintField(l, pgErr.ConstraintName)
		if pgErr.Code == codeNotNullViolation {
			field = pgErr.ColumnName
		}
		reason := constraintReason(pgErr)
		if strings.HasSuffix(pgErr.ConstraintName, "_geom_valid") && p.ewkb != nil {
			var why string
			// The transaction is aborted; ask on a fresh connection why.
			if e := s.pool.QueryRow(ctx, "SELECT ST_IsValidReason(ST_GeomFromEWKB($1))", p.ewkb).Scan(&why); e == nil {
				reason = "is not a valid geometry: " + why
			}
		}
		return &layers.ValidationError{Layer: l.Name, ID: id, Problems: []layers.Problem{{Field: field, Reason: reason}}}
	case codeInvalidParameter, codeInvalidText:
		field := "geometry"
		if pgErr.ColumnName != "" {
			field = pgErr.ColumnName
		}
		return &layers.ValidationError{Layer: l.Name, ID: id, Problems: []layers.Problem{{Field: field, Reason: pgErr.Message}}}
	}
	return fmt.Errorf("postgis: write %s id %d: %w", l.Name, id, classify(err))
}

// constraintReason words a violation: NOT NULL, or a check by the rule part of
// its name (store.ConstraintReason).
func constraintReason(pgErr *pgconn.PgError) string {
	if pgErr.Code == codeNotNullViolation {
		return "is required"
	}
	return store.ConstraintReason(pgErr.ConstraintName)
}

func fieldIndex(l *layers.Layer, name string) int {
	for i, f := range l.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}
