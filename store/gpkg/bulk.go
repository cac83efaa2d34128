package gpkg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"riskmap/feature"
	"riskmap/store"
)

// bulkBatch is how many rows a bulk load writes between progress reports.
const bulkBatch = 5000

// BulkLoad validates and inserts many features of one layer in one transaction:
// either every row is written or none. Every row must have an id or none may (ids are
// kept). A bad row is reported by its position and external id; an external_id used
// twice in fs or already stored is a *store.ConflictError. progress, when not nil, is
// called with the number of rows written after each batch. Errors come in the order
// store/postgis finds them: every row's values first, then batch by batch the
// polygons' validity and the external ids already stored.
func (s *Store) BulkLoad(ctx context.Context, layer string, fs []feature.Feature, opts store.WriteOptions, progress func(done int)) error {
	l, err := s.reg.Layer(layer)
	if err != nil {
		return err
	}
	if len(fs) == 0 {
		return nil
	}
	rows, explicitIDs, err := store.PrepareBulk("gpkg", l, fs, func(f feature.Feature) (prepared, error) { return prepare(l, f) })
	if err != nil {
		return err
	}
	now := s.now()
	ts := formatDatetime(now)
	extIdx := fieldIndex(l, "external_id")
	err = s.write(ctx, func(tx *sql.Tx) error {
		w := writer{s: s, tx: tx, l: l, now: now, opts: opts}
		exists, err := tx.PrepareContext(ctx, "SELECT 1 FROM "+ident(l.Name)+" WHERE external_id = ?")
		if err != nil {
			return fmt.Errorf("gpkg: bulk load %s: %w", l.Name, classify(err))
		}
		defer exists.Close()
		cols := []string{"id"}
		for _, f := range l.Fields {
			cols = append(cols, ident(f.Name))
		}
		cols = append(cols, "version", "updated_at", "geom")
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
		insert, err := tx.PrepareContext(ctx, "INSERT INTO "+ident(l.Name)+" ("+strings.Join(cols, ", ")+") VALUES ("+marks+")")
		if err != nil {
			return fmt.Errorf("gpkg: bulk load %s: %w", l.Name, classify(err))
		}
		defer insert.Close()
		lastVersion, err := tx.PrepareContext(ctx, "SELECT max(version) FROM changes WHERE layer = ? AND feature_id = ?")
		if err != nil {
			return fmt.Errorf("gpkg: bulk load %s: %w", l.Name, classify(err))
		}
		defer lastVersion.Close()
		logChange, err := tx.PrepareContext(ctx, "INSERT INTO changes (layer, feature_id, op, version, changed_at) VALUES (?, ?, 'insert', ?, ?)")
		if err != nil {
			return fmt.Errorf("gpkg: bulk load %s: %w", l.Name, classify(err))
		}
		defer logChange.Close()
		status := w.statusIndex()
		args := make([]any, len(cols))
		for i, p := range rows {
			// Each batch's polygons are checked before its rows are written, as
			// PostGIS checks a batch's before inserting it: the same row is named.
			if i%bulkBatch == 0 {
				for k := i; k < min(i+bulkBatch, len(rows)); k++ {
					if err := checkValid(l, fs[k]); err != nil {
						return fmt.Errorf("%s row %d (external_id %v): %w", l.Name, k, fs[k].Props["external_id"], err)
					}
				}
			}
			var one int
			if err := exists.QueryRowContext(ctx, p.values[extIdx]).Scan(&one); err == nil {
				return fmt.Errorf("%s row %d: %w", l.Name, i, &store.ConflictError{Layer: l.Name, Field: "external_id", Value: fmt.Sprint(p.values[extIdx])})
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("gpkg: bulk load %s: %w", l.Name, classify(err))
			}
			var id, version int64 = fs[i].ID, 1
			if explicitIDs {
				var last sql.NullInt64
				if err := lastVersion.QueryRowContext(ctx, l.Name, id).Scan(&last); err != nil {
					return fmt.Errorf("gpkg: bulk load %s: %w", l.Name, classify(err))
				}
				if last.Valid {
					version = last.Int64 + 1
				}
			}
			args[0] = nil
			if explicitIDs {
				args[0] = id
			}
			copy(args[1:], p.values)
			args[len(args)-3], args[len(args)-2], args[len(args)-1] = version, ts, p.geom
			res, err := insert.ExecContext(ctx, args...)
			if err != nil {
				return fmt.Errorf("%s row %d: %w", l.Name, i, s.writeError(l, id, p, err))
			}
			if !explicitIDs {
				if id, err = res.LastInsertId(); err != nil {
					return fmt.Errorf("gpkg: bulk load %s: %w", l.Name, err)
				}
				var last sql.NullInt64
				if err := lastVersion.QueryRowContext(ctx, l.Name, id).Scan(&last); err != nil {
					return fmt.Errorf("gpkg: bulk load %s: %w", l.Name, classify(err))
				}
				if last.Valid {
					version = last.Int64 + 1
					if _, err := tx.ExecContext(ctx, "UPDATE "+ident(l.Name)+" SET version = ? WHERE id = ?", version, id); err != nil {
						return fmt.Errorf("gpkg: bulk load %s: %w", l.Name, classify(err))
					}
				}
			}
			if _, err := logChange.ExecContext(ctx, l.Name, id, version, ts); err != nil {
				return fmt.Errorf("gpkg: bulk load %s: log: %w", l.Name, classify(err))
			}
			if status >= 0 {
				if err := w.history(ctx, id, nil, p.values[status]); err != nil {
					return err
				}
			}
			if progress != nil && ((i+1)%bulkBatch == 0 || i+1 == len(rows)) {
				progress(i + 1)
			}
		}
		return s.updateExtent(ctx, tx, l.Name)
	})
	if err != nil {
		return err
	}
	s.changes.wake()
	return nil
}

// updateExtent records the layer's bounds and last change in gpkg_contents (what
// QGIS zooms to).
func (s *Store) updateExtent(ctx context.Context, tx *sql.Tx, table string) error {
	// The bounds come from the features' envelopes, read in Go: SQLite has no
	// geometry functions.
	rows, err := tx.QueryContext(ctx, "SELECT geom FROM "+ident(table))
	if err != nil {
		return fmt.Errorf("gpkg: extent of %s: %w", table, classify(err))
	}
	defer rows.Close()
	first := true
	var minX, minY, maxX, maxY float64
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return fmt.Errorf("gpkg: extent of %s: %w", table, err)
		}
		g, err := decodeBound(b)
		if err != nil {
			return fmt.Errorf("gpkg: extent of %s: %w", table, err)
		}
		if first {
			minX, minY, maxX, maxY, first = g.Min[0], g.Min[1], g.Max[0], g.Max[1], false
			continue
		}
		minX, minY = min(minX, g.Min[0]), min(minY, g.Min[1])
		maxX, maxY = max(maxX, g.Max[0]), max(maxY, g.Max[1])
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("gpkg: extent of %s: %w", table, classify(err))
	}
	if first {
		return nil
	}
	_, err = tx.ExecContext(ctx, "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?, last_change = ? WHERE table_name = ?",
		minX, minY, maxX, maxY, formatDatetime(s.now()), table)
	if err != nil {
		return fmt.Errorf("gpkg: extent of %s: %w", table, classify(err))
	}
	return nil
}
