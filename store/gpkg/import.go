package gpkg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// Import writes many features of one layer by external_id in one write transaction,
// as store/postgis does: a row whose external_id is stored updates that feature (its
// id kept, its version bumped, the update logged, a hazard status change kept in the
// status history with opts.Actor), a row equal to the stored feature in every field
// and in its geometry is left alone (no write, no version, no log row), the others
// are inserted with ids assigned. fs[i].ID is ignored. Either every row is written or
// none.
//
// Every row's values are checked first (store.PrepareBulk), then every polygon's
// validity, before anything is written: the same row is named as by PostGIS. A bad row is a *store.RowError with its 0-based position wrapping the
// *layers.ValidationError or *store.ConflictError (an external_id twice in fs, naming
// both rows). progress, when not nil, is called with the number of rows done after
// each batch.
func (s *Store) Import(ctx context.Context, layer string, fs []feature.Feature, opts store.WriteOptions, progress func(done int)) (store.ImportResult, error) {
	var res store.ImportResult
	l, err := s.reg.Layer(layer)
	if err != nil {
		return res, err
	}
	if len(fs) == 0 {
		return res, nil
	}
	rows, err := prepareImport(l, fs)
	if err != nil {
		return res, err
	}
	// The polygons' validity, after every row's values: the first invalid one
	// in row order is the one PostGIS names (it checks batch by batch).
	for i, f := range fs {
		f.ID = 0
		if err := checkValid(l, f); err != nil {
			return res, &store.RowError{Row: i, Err: err}
		}
	}
	now := s.now()
	ts := formatDatetime(now)
	extIdx := fieldIndex(l, "external_id")
	table := ident(l.Name)
	err = s.write(ctx, func(tx *sql.Tx) error {
		res = store.ImportResult{}
		w := writer{s: s, tx: tx, l: l, now: now, opts: opts}
		status := w.statusIndex()
		cols := make([]string, len(l.Fields))
		same := make([]string, len(l.Fields))
		sets := make([]string, len(l.Fields))
		for i, f := range l.Fields {
			cols[i] = ident(f.Name)
			same[i] = ident(f.Name) + " IS ?"
			sets[i] = ident(f.Name) + " = ?"
		}
		statusCol := "''"
		if status >= 0 {
			statusCol = "hazard_status"
		}
		stmts := map[string]string{
			// The stored feature with this external_id, and whether every
			// field and the geometry equal the row's (IS: NULL equals NULL).
			"find":   "SELECT id, version, " + statusCol + ", (" + strings.Join(same, " AND ") + " AND geom IS ?) FROM " + table + " WHERE external_id = ?",
			"update": "UPDATE " + table + " SET " + strings.Join(sets, ", ") + ", version = ?, updated_at = ?, geom = ? WHERE id = ?",
			"insert": "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ", version, updated_at, geom) VALUES (" +
				strings.TrimSuffix(strings.Repeat("?, ", len(cols)+3), ", ") + ")",
			"lastVersion": "SELECT max(version) FROM changes WHERE layer = ? AND feature_id = ?",
			"log":         "INSERT INTO changes (layer, feature_id, op, version, changed_at) VALUES (?, ?, ?, ?, ?)",
		}
		st := make(map[string]*sql.Stmt, len(stmts))
		for name, q := range stmts {
			p, err := tx.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("gpkg: import %s: %w", l.Name, classify(err))
			}
			defer p.Close()
			st[name] = p
		}
		findArgs := make([]any, len(l.Fields)+2)
		writeArgs := make([]any, len(l.Fields)+4)
		written := false
		for i, p := range rows {
			copy(findArgs, p.values)
			findArgs[len(l.Fields)], findArgs[len(l.Fields)+1] = p.geom, p.values[extIdx]
			var id, version int64
			var oldStatus string
			var equal bool
			err := st["find"].QueryRowContext(ctx, findArgs...).Scan(&id, &version, &oldStatus, &equal)
			switch {
			case err == nil && equal:
				res.Unchanged++
			case err == nil:
				version++
				copy(writeArgs, p.values)
				n := len(l.Fields)
				writeArgs[n], writeArgs[n+1], writeArgs[n+2], writeArgs[n+3] = version, ts, p.geom, id
				if _, err := st["update"].ExecContext(ctx, writeArgs...); err != nil {
					return &store.RowError{Row: i, Err: s.writeError(l, id, p, err)}
				}
				if _, err := st["log"].ExecContext(ctx, l.Name, id, string(feature.Update), version, ts); err != nil {
					return fmt.Errorf("gpkg: import %s: log: %w", l.Name, classify(err))
				}
				if status >= 0 && oldStatus != p.values[status] {
					if err := w.history(ctx, id, oldStatus, p.values[status]); err != nil {
						return err
					}
				}
				res.Updated++
				written = true
			case errors.Is(err, sql.ErrNoRows):
				copy(writeArgs, p.values)
				n := len(l.Fields)
				writeArgs[n], writeArgs[n+1], writeArgs[n+2] = int64(1), ts, p.geom
				r, err := st["insert"].ExecContext(ctx, writeArgs[:n+3]...)
				if err != nil {
					return &store.RowError{Row: i, Err: s.writeError(l, 0, p, err)}
				}
				if id, err = r.LastInsertId(); err != nil {
					return fmt.Errorf("gpkg: import %s: %w", l.Name, err)
				}
				// The version continues after the id's last logged one (an id
				// used before and deleted), so versions of one id only grow.
				version = 1
				var last sql.NullInt64
				if err := st["lastVersion"].QueryRowContext(ctx, l.Name, id).Scan(&last); err != nil {
					return fmt.Errorf("gpkg: import %s: %w", l.Name, classify(err))
				}
				if last.Valid {
					version = last.Int64 + 1
					if _, err := tx.ExecContext(ctx, "UPDATE "+table+" SET version = ? WHERE id = ?", version, id); err != nil {
						return fmt.Errorf("gpkg: import %s: %w", l.Name, classify(err))
					}
				}
				if _, err := st["log"].ExecContext(ctx, l.Name, id, string(feature.Insert), version, ts); err != nil {
					return fmt.Errorf("gpkg: import %s: log: %w", l.Name, classify(err))
				}
				if status >= 0 {
					if err := w.history(ctx, id, nil, p.values[status]); err != nil {
						return err
					}
				}
				res.Inserted++
				written = true
			default:
				return fmt.Errorf("gpkg: import %s row %d: %w", l.Name, i, classify(err))
			}
			if progress != nil && ((i+1)%bulkBatch == 0 || i+1 == len(rows)) {
				progress(i + 1)
			}
		}
		if !written {
			return nil
		}
		return s.updateExtent(ctx, tx, l.Name)
	})
	if err != nil {
		return store.ImportResult{}, err
	}
	if res.Inserted+res.Updated > 0 {
		s.changes.wake()
	}
	return res, nil
}

// prepareImport validates the rows of an import of layer l with store.PrepareBulk,
// ignoring their ids; a bad row is a *store.RowError wrapping its cause (a
// *layers.ValidationError, or a *store.ConflictError for an external_id seen in an
// earlier row).
func prepareImport(l *layers.Layer, fs []feature.Feature) ([]prepared, error) {
	in := make([]feature.Feature, len(fs))
	for i, f := range fs {
		if f.Layer != "" && f.Layer != l.Name {
			return nil, &store.RowError{Row: i, Err: fmt.Errorf("the row belongs to layer %s, not %s", f.Layer, l.Name)}
		}
		in[i] = f
		in[i].ID = 0
	}
	row := -1 // the row PrepareBulk is at: it prepares rows in order
	out, _, err := store.PrepareBulk("gpkg", l, in, func(f feature.Feature) (prepared, error) {
		row++
		return prepare(l, f)
	})
	if err == nil {
		return out, nil
	}
	var verr *layers.ValidationError
	var cerr *store.ConflictError
	switch {
	case errors.As(err, &verr):
		return nil, &store.RowError{Row: row, Err: verr}
	case errors.As(err, &cerr):
		return nil, &store.RowError{Row: row, Err: cerr}
	}
	return nil, &store.RowError{Row: row, Err: err}
}
