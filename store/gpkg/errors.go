package gpkg

import (
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"riskmap/layers"
	"riskmap/store"
)

// writeError turns a SQLite error from writing feature id of layer l into an error
// that names the field, with the same types and wording as store/postgis: a
// *store.ConflictError for a taken external_id, a *layers.ValidationError for a value
// a constraint refused. SQLite reports a constraint by its extended result code (what
// kind) and names it only in the message ("CHECK constraint failed: <name>",
// "UNIQUE constraint failed: <table>.<column>"): the name is read from there.
func (s *Store) writeError(l *layers.Layer, id int64, p prepared, err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("gpkg: write %s id %d: %w", l.Name, id, classify(err))
	}
	msg := se.Error()
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		field := "id"
		if _, col, ok := strings.Cut(after(msg, "UNIQUE constraint failed: "), "."); ok {
			field = strings.Fields(col)[0]
		}
		ce := &store.ConflictError{Layer: l.Name, Field: field}
		if i := fieldIndex(l, field); i >= 0 && p.values != nil {
			ce.Value = fmt.Sprint(p.values[i])
		} else if field == "id" {
			ce.Value = fmt.Sprint(id)
		}
		return ce
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		name := strings.Fields(after(msg, "CHECK constraint failed: ") + " ")[0]
		return &layers.ValidationError{Layer: l.Name, ID: id, Problems: []layers.Problem{{Field: store.ConstraintField(l, name), Reason: store.ConstraintReason(name)}}}
	case sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		field := "?"
		if _, col, ok := strings.Cut(after(msg, "NOT NULL constraint failed: "), "."); ok {
			field = strings.Fields(col)[0]
		}
		if field == "geom" {
			field = "geometry"
		}
		return &layers.ValidationError{Layer: l.Name, ID: id, Problems: []layers.Problem{{Field: field, Reason: "is required"}}}
	}
	return fmt.Errorf("gpkg: write %s id %d: %w", l.Name, id, classify(err))
}

// after returns what follows marker in s ("" when absent).
func after(s, marker string) string {
	if _, rest, ok := strings.Cut(s, marker); ok {
		return rest
	}
	return ""
}
