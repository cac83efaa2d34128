package postgis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/geomconv"
)

// selectList is the column list of a feature read: id, version, updated_at, the
// registry's fields in order, the geometry as EWKB.
func selectList(l *layers.Layer) string {
	cols := []string{"id", "version", "updated_at"}
	for _, f := range l.Fields {
		cols = append(cols, ident(f.Name))
	}
	cols = append(cols, "ST_AsEWKB(geom)")
	return strings.Join(cols, ", ")
}

// rowScanner holds typed scan targets for one row of a layer.
type rowScanner struct {
	l       *layers.Layer
	id      int64
	version int64
	updated time.Time
	fields  []any
	geom    []byte
	dest    []any
}

func newRowScanner(l *layers.Layer) *rowScanner {
	r := &rowScanner{l: l, fields: ScanTargets(l)}
	r.dest = append(r.dest, &r.id, &r.version, &r.updated)
	r.dest = append(r.dest, r.fields...)
	r.dest = append(r.dest, &r.geom)
	return r
}

// ScanTargets returns one typed pgx scan target per field of l, in registry order
// (*pgtype.Int8, *pgtype.Float8, *pgtype.Bool, *pgtype.Date or *pgtype.Text), for
// reading the layer's columns as the store does.
func ScanTargets(l *layers.Layer) []any {
	out := make([]any, len(l.Fields))
	for i, f := range l.Fields {
		switch f.Type {
		case layers.TypeInt:
			out[i] = new(pgtype.Int8)
		case layers.TypeFloat:
			out[i] = new(pgtype.Float8)
		case layers.TypeBool:
			out[i] = new(pgtype.Bool)
		case layers.TypeDate:
			out[i] = new(pgtype.Date)
		default:
			out[i] = new(pgtype.Text)
		}
	}
	return out
}

// feature converts the scanned row into a Feature with canonical property types. The
// returned feature shares nothing with the scanner.
func (r *rowScanner) feature() (feature.Feature, error) {
	g, err := geomconv.DecodeEWKB(r.geom)
	if err != nil {
		return feature.Feature{}, fmt.Errorf("postgis: %s id %d: geometry: %w", r.l.Name, r.id, err)
	}
	props := make(map[string]any, len(r.fields))
	for i, f := range r.l.Fields {
		var v any
		switch x := r.fields[i].(type) {
		case *pgtype.Int8:
			if x.Valid {
				v = x.Int64
			}
		case *pgtype.Float8:
			if x.Valid {
				v = x.Float64
			}
		case *pgtype.Bool:
			if x.Valid {
				v = x.Bool
			}
		case *pgtype.Date:
			if x.Valid {
				v = x.Time
			}
		case *pgtype.Text:
			if x.Valid {
				v = x.String
			}
		}
		props[f.Name] = v
	}
	return feature.Feature{
		Layer: r.l.Name, ID: r.id, Version: r.version, UpdatedAt: r.updated,
		Geometry: g, Props: props,
	}, nil
}

// Get returns one feature. A missing feature is an error wrapping store.ErrNotFound.
func (s *Store) Get(ctx context.Context, layer string, id int64) (feature.Feature, error) {
	l, err := s.reg.Layer(layer)
	if err != nil {
		return feature.Feature{}, err
	}
	sc := newRowScanner(l)
	err = s.pool.QueryRow(ctx, "SELECT "+selectList(l)+" FROM "+ident(l.Name)+" WHERE id = $1", id).Scan(sc.dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return feature.Feature{}, fmt.Errorf("%s id %d: %w", l.Name, id, store.ErrNotFound)
	}
	if err != nil {
		return feature.Feature{}, fmt.Errorf("postgis: get %s id %d: %w", l.Name, id, classify(err))
	}
	return sc.feature()
}

// Stream calls fn with every feature of a layer in id order, reading rows as they
// arrive rather than all at once. It stops at the first error from fn and returns it.
func (s *Store) Stream(ctx context.Context, layer string, fn func(feature.Feature) error) error {
	l, err := s.reg.Layer(layer)
	if err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, "SELECT "+selectList(l)+" FROM "+ident(l.Name)+" ORDER BY id")
	if err != nil {
		return fmt.Errorf("postgis: stream %s: %w", l.Name, classify(err))
	}
	defer rows.Close()
	sc := newRowScanner(l)
	for rows.Next() {
		if err := rows.Scan(sc.dest...); err != nil {
			return fmt.Errorf("postgis: stream %s: %w", l.Name, err)
		}
		f, err := sc.feature()
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgis: stream %s: %w", l.Name, classify(err))
	}
	return nil
}

// prepared is a feature checked against the registry and ready for SQL: its
// properties in registry order and its geometry as EWKB.
type prepared struct {
	values []any
	ewkb   []byte
}

// prepare validates f (every field, the geometry) and converts it for SQL. The error
// is a *layers.ValidationError naming each problem.
func prepare(l *layers.Layer, f feature.Feature) (prepared, error) {
	props, err := l.Normalize(f.Props)
	var problems []layers.Problem
	var verr *layers.ValidationError
	if errors.As(err, &verr) {
		problems = verr.Problems
	} else if err != nil {
		return prepared{}, err
	}
	if err := l.ValidateGeometry(f.Geometry); errors.As(err, &verr) {
		problems = append(problems, verr.Problems...)
	}
	if len(problems) > 0 {
		return prepared{}, &layers.ValidationError{Layer: l.Name, ID: f.ID, Problems: problems}
	}
	b, err := geomconv.EncodeEWKB(f.Geometry)
	if err != nil {
		return prepared{}, &layers.ValidationError{Layer: l.Name, ID: f.ID, Problems: []layers.Problem{{Field: "geometry", Reason: err.Error()}}}
	}
	p := prepared{values: make([]any, len(l.Fields)), ewkb: b}
	for i, fd := range l.Fields {
		p.values[i] = props[fd.Name]
	}
	return p, nil
}

// Upsert validates and writes one feature and returns it as stored (with its id,
// version and update time). With f.ID set it updates that feature (store.ErrNotFound
// if there is none); with f.ID == 0 it inserts, or updates the feature that has the
// same external_id. Invalid input is a *layers.ValidationError; an external_id taken
// by another feature is a *store.ConflictError. Nothing is written on error.
func (s *Store) Upsert(ctx context.Context, f feature.Feature, opts store.WriteOptions) (feature.Feature, error) {
	l, err := s.reg.Layer(f.Layer)
	if err != nil {
		return feature.Feature{}, err
	}
	p, err := prepare(l, f)
	if err != nil {
		return feature.Feature{}, err
	}
	names := l.FieldNames()
	cols := make([]string, len(names))
	params := make([]string, len(names))
	sets := make([]string, len(names))
	for i, n := range names {
		cols[i] = ident(n)
		params[i] = fmt.Sprintf("$%d", i+1)
		sets[i] = fmt.Sprintf("%s = %s", ident(n), params[i])
	}
	geomParam := fmt.Sprintf("ST_GeomFromEWKB($%d)", len(names)+1)
	args := append(p.values, p.ewkb)
	var sql string
	if f.ID != 0 {
		args = append(args, f.ID)
		sql = fmt.Sprintf("UPDATE %s SET %s, geom = %s WHERE id = $%d RETURNING id, version, updated_at",
			ident(l.Name), strings.Join(sets, ", "), geomParam, len(names)+2)
	} else {
		excluded := make([]string, len(names))
		for i, n := range names {
			excluded[i] = fmt.Sprintf("%s = EXCLUDED.%s", ident(n), ident(n))
		}
		sql = fmt.Sprintf("INSERT INTO %s (%s, geom) VALUES (%s, %s) ON CONFLICT (external_id) DO UPDATE SET %s, geom = EXCLUDED.geom RETURNING id, version, updated_at",
			ident(l.Name), strings.Join(cols, ", "), strings.Join(params, ", "), geomParam, strings.Join(excluded, ", "))
	}

	out := feature.Feature{Layer: l.Name, Geometry: f.Geometry, Props: make(map[string]any, len(names))}
	for i, n := range names {
		out.Props[n] = p.values[i]
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := setActor(ctx, tx, opts); err != nil {
			return err
		}
		return tx.QueryRow(ctx, sql, args...).Scan(&out.ID, &out.Version, &out.UpdatedAt)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return feature.Feature{}, fmt.Errorf("%s id %d: %w", l.Name, f.ID, store.ErrNotFound)
	}
	if err != nil {
		return feature.Feature{}, s.writeError(ctx, l, f.ID, p, err)
	}
	return out, nil
}

// Delete removes one feature; the change log keeps a tombstone. A missing feature is
// an error wrapping store.ErrNotFound.
func (s *Store) Delete(ctx context.Context, layer string, id int64, opts store.WriteOptions) error {
	l, err := s.reg.Layer(layer)
	if err != nil {
		return err
	}
	var n int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := setActor(ctx, tx, opts); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "DELETE FROM "+ident(l.Name)+" WHERE id = $1", id)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("postgis: delete %s id %d: %w", l.Name, id, classify(err))
	}
	if n == 0 {
		return fmt.Errorf("%s id %d: %w", l.Name, id, store.ErrNotFound)
	}
	return nil
}

// setActor records who writes in this transaction, for the triggers that keep history.
func setActor(ctx context.Context, tx pgx.Tx, opts store.WriteOptions) error {
	actor := opts.Actor
	if actor == "" {
		actor = "riskmap"
	}
	_, err := tx.Exec(ctx, "SELECT set_config('riskmap.actor', $1, true), set_config('riskmap.note', $2, true)", actor, opts.Note)
	return err
}
