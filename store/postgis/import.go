package postgis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// Import writes many features of one layer by external_id in a single transaction:
// a row whose external_id is stored updates that feature (its id kept, its version
// bumped and the update logged by the schema's triggers, as any update), a row equal
// to the stored feature in every field and in its geometry is left alone (no write,
// no version, no log row), and the others are inserted with ids assigned. fs[i].ID is
// ignored. Either every row is written or none.
//
// Rows are validated first (store.PrepareBulk and the registry's checks), then
// copied batch by batch with COPY into a temporary staging table, where PostGIS
// checks the geometries' validity, and written with one UPDATE ... FROM (rows that
// differ) and one INSERT ... WHERE NOT EXISTS per batch. A bad row is a
// *store.RowError with its 0-based position, wrapping the *layers.ValidationError or
// *store.ConflictError (an external_id twice in fs, naming both rows). opts.Actor is
// recorded where history is kept (the hazard status history). progress, when not
// nil, is called with the number of rows done after each batch.
func (s *Store) Import(ctx context.Context, layer string, fs []feature.Feature, opts store.WriteOptions, progress func(done int)) (store.ImportResult, error) {
	var res store.ImportResult
	l, err := s.reg.Layer(layer)
	if err != nil {
		return res, err
	}
	if len(fs) == 0 {
		return res, nil
	}
	prep, err := prepareImport(l, fs, func(f feature.Feature) (prepared, error) { return prepare(l, f) })
	if err != nil {
		return res, err
	}
	rows := make([][]any, len(prep))
	for i, p := range prep {
		row := make([]any, 0, len(p.values)+2)
		row = append(row, int64(i))
		row = append(row, p.values...)
		rows[i] = append(row, p.ewkb)
	}

	names := l.FieldNames()
	quoted := make([]string, len(names))
	stageDefs := []string{"ord bigint"}
	sets := make([]string, len(names))
	stored := make([]string, len(names))
	staged := make([]string, len(names))
	for i, f := range l.Fields {
		q := ident(f.Name)
		quoted[i] = q
		stageDefs = append(stageDefs, q+" "+f.Type.SQLType())
		sets[i] = q + " = s." + q
		stored[i] = "t." + q
		staged[i] = "s." + q
	}
	stageDefs = append(stageDefs, "geom bytea")
	stageCols := append(append([]string{"ord"}, names...), "geom")
	table := ident(l.Name)
	// The geometries are compared as PostGIS encodes them, so that an input
	// encoded otherwise (byte order, SRID flag) is still equal when it is the
	// same geometry.
	update := fmt.Sprintf(`UPDATE %s t SET %s, geom = ST_GeomFromEWKB(s.geom) FROM riskmap_import s
		WHERE t.external_id = s.external_id
		AND (%s, ST_AsEWKB(t.geom)) IS DISTINCT FROM (%s, ST_AsEWKB(ST_GeomFromEWKB(s.geom)))`,
		table, strings.Join(sets, ", "), strings.Join(stored, ", "), strings.Join(staged, ", "))
	insert := fmt.Sprintf(`INSERT INTO %s (%s, geom) SELECT %s, ST_GeomFromEWKB(s.geom) FROM riskmap_import s
		WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE t.external_id = s.external_id) ORDER BY s.ord`,
		table, strings.Join(quoted, ", "), strings.Join(staged, ", "), table)

	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res = store.ImportResult{}
		if err := setActor(ctx, tx, opts); err != nil {
			return fmt.Errorf("postgis: import %s: %w", l.Name, classify(err))
		}
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE riskmap_import ("+strings.Join(stageDefs, ", ")+") ON COMMIT DROP"); err != nil {
			return fmt.Errorf("postgis: import %s: staging table: %w", l.Name, classify(err))
		}
		for start := 0; start < len(rows); start += bulkBatch {
			batch := rows[start:min(start+bulkBatch, len(rows))]
			last := start + len(batch) - 1
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"riskmap_import"}, stageCols, pgx.CopyFromRows(batch)); err != nil {
				return fmt.Errorf("postgis: import %s: copy rows %d..%d: %w", l.Name, start, last, classify(err))
			}
			// Geometries first, so that an invalid one is named by its row.
			var ord int64
			var why string
			err := tx.QueryRow(ctx, `SELECT ord, ST_IsValidReason(g) FROM (
				SELECT ord, ST_GeomFromEWKB(geom) AS g FROM riskmap_import) s
				WHERE NOT ST_IsValid(g) ORDER BY ord LIMIT 1`).Scan(&ord, &why)
			if err == nil {
				return &store.RowError{Row: int(ord), Err: &layers.ValidationError{Layer: l.Name,
					Problems: []layers.Problem{{Field: "geometry", Reason: "is not a valid geometry: " + why}}}}
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("postgis: import %s: check geometries: %w", l.Name, classify(err))
			}
			tag, err := tx.Exec(ctx, update)
			if err != nil {
				return fmt.Errorf("%s rows %d..%d: %w", l.Name, start, last, s.writeError(ctx, l, 0, prepared{}, err))
			}
			updated := int(tag.RowsAffected())
			tag, err = tx.Exec(ctx, insert)
			if err != nil {
				return fmt.Errorf("%s rows %d..%d: %w", l.Name, start, last, s.writeError(ctx, l, 0, prepared{}, err))
			}
			inserted := int(tag.RowsAffected())
			res.Updated += updated
			res.Inserted += inserted
			res.Unchanged += len(batch) - updated - inserted
			if _, err := tx.Exec(ctx, "TRUNCATE riskmap_import"); err != nil {
				return fmt.Errorf("postgis: import %s: %w", l.Name, classify(err))
			}
			if progress != nil {
				progress(start + len(batch))
			}
		}
		return nil
	})
	if err != nil {
		return store.ImportResult{}, err
	}
	return res, nil
}

// prepareImport validates the rows of an import of layer l with store.PrepareBulk
// and prep, ignoring their ids; a bad row is a *store.RowError wrapping its cause (a
// *layers.ValidationError, or a *store.ConflictError for an external_id seen in an
// earlier row).
func prepareImport[P any](l *layers.Layer, fs []feature.Feature, prep func(feature.Feature) (P, error)) ([]P, error) {
	in := make([]feature.Feature, len(fs))
	for i, f := range fs {
		if f.Layer != "" && f.Layer != l.Name {
			return nil, &store.RowError{Row: i, Err: fmt.Errorf("the row belongs to layer %s, not %s", f.Layer, l.Name)}
		}
		in[i] = f
		in[i].ID = 0
	}
	row := -1 // the row PrepareBulk is at: it prepares rows in order
	out, _, err := store.PrepareBulk("postgis", l, in, func(f feature.Feature) (P, error) {
		row++
		return prep(f)
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
