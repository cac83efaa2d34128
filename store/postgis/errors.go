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
		field := constraintField(l, pgErr.ConstraintName)
		ce := &store.ConflictError{Layer: l.Name, Field: field}
		if i := fieldIndex(l, field); i >= 0 && p.values != nil {
			ce.Value = fmt.Sprint(p.values[i])
		}
		return ce
	case codeCheckViolation, codeNotNullViolation:
		field := constraintField(l, pgErr.ConstraintName)
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

// constraintField recovers the field from a constraint named <table>_<column>_<rule>
// (the schema's convention). The geometry column geom is reported as "geometry".
func constraintField(l *layers.Layer, constraint string) string {
	rest, ok := strings.CutPrefix(constraint, l.Name+"_")
	if !ok {
		return constraint
	}
	if strings.HasPrefix(rest, "geom_") {
		return "geometry"
	}
	best := ""
	for _, f := range l.Fields {
		if strings.HasPrefix(rest, f.Name+"_") && len(f.Name) > len(best) {
			best = f.Name
		}
	}
	if best == "" {
		return constraint
	}
	return best
}

// constraintReason words a check violation by the rule part of its name.
func constraintReason(pgErr *pgconn.PgError) string {
	c := pgErr.ConstraintName
	switch {
	case pgErr.Code == codeNotNullViolation:
		return "is required"
	case strings.HasSuffix(c, "_enum"):
		return "is not one of the allowed values"
	case strings.HasSuffix(c, "_range"):
		return "is outside the allowed range"
	case strings.HasSuffix(c, "_geom_lonlat"):
		return "coordinates must be longitude -180..180 and latitude -90..90 degrees (EPSG:4326)"
	case strings.HasSuffix(c, "_geom_valid"):
		return "is not a valid geometry"
	case strings.HasSuffix(c, "_geom_empty"):
		return "is empty"
	case strings.HasSuffix(c, "_geom_type"):
		return "geometry type is not accepted by this layer"
	case strings.HasSuffix(c, "_length"):
		return "must be 1 to 64 characters"
	}
	return fmt.Sprintf("violates %s", c)
}

func fieldIndex(l *layers.Layer, name string) int {
	for i, f := range l.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}
