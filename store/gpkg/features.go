package gpkg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/geomconv"
)

// selectList is the column list of a feature read: id, version, updated_at, the
// registry's fields in order, the geometry.
func selectList(l *layers.Layer) string {
	cols := []string{"id", "version", "updated_at"}
	for _, f := range l.Fields {
		cols = append(cols, ident(f.Name))
	}
	cols = append(cols, "geom")
	return strings.Join(cols, ", ")
}

// rowScanner holds typed scan targets for one row of a layer.
type rowScanner struct {
	l       *layers.Layer
	id      int64
	version int64
	updated string
	fields  []any
	geom    []byte
	dest    []any
}

func newRowScanner(l *layers.Layer) *rowScanner {
	r := &rowScanner{l: l, fields: make([]any, len(l.Fields))}
	for i, f := range l.Fields {
		switch f.Type {
		case layers.TypeInt:
			r.fields[i] = new(sql.NullInt64)
		case layers.TypeFloat:
			r.fields[i] = new(sql.NullFloat64)
		case layers.TypeBool:
			r.fields[i] = new(sql.NullBool)
		default: // text, enum, date (YYYY-MM-DD)
			r.fields[i] = new(sql.NullString)
		}
	}
	r.dest = append(r.dest, &r.id, &r.version, &r.updated)
	r.dest = append(r.dest, r.fields...)
	r.dest = append(r.dest, &r.geom)
	return r
}

// feature converts the scanned row into a Feature with canonical property types (as
// store/postgis returns them: int64, float64, bool, time.Time for dates, string).
func (r *rowScanner) feature() (feature.Feature, error) {
	g, err := geomconv.DecodeGPKG(r.geom)
	if err != nil {
		return feature.Feature{}, fmt.Errorf("gpkg: %s id %d: geometry: %w", r.l.Name, r.id, err)
	}
	updated, err := parseTime(r.updated)
	if err != nil {
		return feature.Feature{}, fmt.Errorf("gpkg: %s id %d: updated_at: %w", r.l.Name, r.id, err)
	}
	props := make(map[string]any, len(r.fields))
	for i, f := range r.l.Fields {
		var v any
		switch x := r.fields[i].(type) {
		case *sql.NullInt64:
			if x.Valid {
				v = x.Int64
			}
		case *sql.NullFloat64:
			if x.Valid {
				v = x.Float64
			}
		case *sql.NullBool:
			if x.Valid {
				v = x.Bool
			}
		case *sql.NullString:
			if x.Valid {
				v = x.String
				if f.Type == layers.TypeDate {
					d, err := parseDate(x.String)
					if err != nil {
						return feature.Feature{}, fmt.Errorf("gpkg: %s id %d: %s: %w", r.l.Name, r.id, f.Name, err)
					}
					v = d
				}
			}
		}
		props[f.Name] = v
	}
	return feature.Feature{
		Layer: r.l.Name, ID: r.id, Version: r.version, UpdatedAt: updated,
		Geometry: g, Props: props,
	}, nil
}

// parseDate reads a DATE column: "2006-01-02", or the RFC 3339 form the driver
// gives for a column declared DATE.
func parseDate(s string) (time.Time, error) {
	if len(s) > len(time.DateOnly) {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, err
		}
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	return time.Parse(time.DateOnly, s)
}

// querier is what reads run on: the reader pool, a read transaction or the writer's.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Get returns one feature. A missing feature is an error wrapping store.ErrNotFound.
func (s *Store) Get(ctx context.Context, layer string, id int64) (feature.Feature, error) {
	l, err := s.reg.Layer(layer)
	if err != nil {
		return feature.Feature{}, err
	}
	return s.get(ctx, s.r, l, id)
}

func (s *Store) get(ctx context.Context, q querier, l *layers.Layer, id int64) (feature.Feature, error) {
	sc := newRowScanner(l)
	err := q.QueryRowContext(ctx, "SELECT "+selectList(l)+" FROM "+ident(l.Name)+" WHERE id = ?", id).Scan(sc.dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return feature.Feature{}, fmt.Errorf("%s id %d: %w", l.Name, id, store.ErrNotFound)
	}
	if err != nil {
		return feature.Feature{}, fmt.Errorf("gpkg: get %s id %d: %w", l.Name, id, classify(err))
	}
	return sc.feature()
}

// Stream calls fn with every feature of a layer in id order, reading rows as they
// come. It stops at the first error from fn and returns it.
func (s *Store) Stream(ctx context.Context, layer string, fn func(feature.Feature) error) error {
	l, err := s.reg.Layer(layer)
	if err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+selectList(l)+" FROM "+ident(l.Name)+" ORDER BY id")
	if err != nil {
		return fmt.Errorf("gpkg: stream %s: %w", l.Name, classify(err))
	}
	defer rows.Close()
	sc := newRowScanner(l)
	for rows.Next() {
		if err := rows.Scan(sc.dest...); err != nil {
			return fmt.Errorf("gpkg: stream %s: %w", l.Name, err)
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
		return fmt.Errorf("gpkg: stream %s: %w", l.Name, classify(err))
	}
	return nil
}

// prepared is a feature checked against the registry and ready for SQL: its
// properties in registry order as SQLite values, and its GeoPackage geometry.
type prepared struct {
	values []any
	geom   []byte
	bound  orb.Bound
}

// prepare validates f (every field, the geometry's type and coordinates — what
// PostGIS's constraints check there) and converts it for SQL. The error is a
// *layers.ValidationError naming each problem. A polygon's validity is checked apart
// (checkValid), after: PostGIS checks it in the database, once the rest is right.
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
	b, err := geomconv.EncodeGPKG(f.Geometry)
	if err != nil {
		return prepared{}, &layers.ValidationError{Layer: l.Name, ID: f.ID, Problems: []layers.Problem{{Field: "geometry", Reason: err.Error()}}}
	}
	p := prepared{values: make([]any, len(l.Fields)), geom: b, bound: f.Geometry.Bound()}
	for i, fd := range l.Fields {
		v := props[fd.Name]
		if t, ok := v.(time.Time); ok && fd.Type == layers.TypeDate {
			v = t.Format(time.DateOnly)
		}
		p.values[i] = v
	}
	return p, nil
}

// checkValid refuses a polygon or multipolygon that is not valid (see invalidity), as
// PostGIS's ST_IsValid does for the PostGIS store, with the same field and the same
// start of the reason; what follows it is this store's own words.
func checkValid(l *layers.Layer, f feature.Feature) error {
	if reason := invalidity(f.Geometry); reason != "" {
		return &layers.ValidationError{Layer: l.Name, ID: f.ID, Problems: []layers.Problem{{Field: "geometry", Reason: "is not a valid geometry: " + reason}}}
	}
	return nil
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
	if err := checkValid(l, f); err != nil {
		return feature.Feature{}, err
	}
	out := feature.Feature{Layer: l.Name, Geometry: f.Geometry, Props: make(map[string]any, len(l.Fields))}
	for i, fd := range l.Fields {
		out.Props[fd.Name] = p.values[i]
		if fd.Type == layers.TypeDate && p.values[i] != nil {
			out.Props[fd.Name], _ = time.Parse(time.DateOnly, p.values[i].(string))
		}
	}
	now := s.now()
	err = s.write(ctx, func(tx *sql.Tx) error {
		w := writer{s: s, tx: tx, l: l, now: now, opts: opts}
		id := f.ID
		if id == 0 {
			ext := p.values[fieldIndex(l, "external_id")]
			err := tx.QueryRowContext(ctx, "SELECT id FROM "+ident(l.Name)+" WHERE external_id = ?", ext).Scan(&id)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("gpkg: upsert %s: %w", l.Name, classify(err))
			}
		}
		var err error
		if id != 0 {
			out.ID = id
			out.Version, err = w.update(ctx, id, p)
			if errors.Is(err, store.ErrNotFound) && f.ID == 0 {
				return fmt.Errorf("gpkg: upsert %s: feature %d vanished", l.Name, id)
			}
		} else {
			out.ID, out.Version, err = w.insert(ctx, 0, p)
		}
		return err
	})
	if err != nil {
		return feature.Feature{}, err
	}
	out.UpdatedAt, _ = parseTime(formatDatetime(now))
	s.changes.wake()
	return out, nil
}

// Delete removes one feature; the change log keeps a tombstone. A missing feature is
// an error wrapping store.ErrNotFound.
func (s *Store) Delete(ctx context.Context, layer string, id int64, opts store.WriteOptions) error {
	l, err := s.reg.Layer(layer)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		return writer{s: s, tx: tx, l: l, now: s.now(), opts: opts}.delete(ctx, id)
	})
	if err != nil {
		return err
	}
	s.changes.wake()
	return nil
}

// DeleteAll removes every feature of every layer (each delete logged), in one
// transaction.
func (s *Store) DeleteAll(ctx context.Context, opts store.WriteOptions) error {
	now := s.now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, l := range s.reg.Layers() {
			// One statement per layer: log every row's tombstone, then delete.
			_, err := tx.ExecContext(ctx, `INSERT INTO changes (layer, feature_id, op, version, changed_at)
				SELECT ?, id, 'delete', version + 1, ? FROM `+ident(l.Name)+` ORDER BY id`, l.Name, formatDatetime(now))
			if err == nil {
				_, err = tx.ExecContext(ctx, "DELETE FROM "+ident(l.Name))
			}
			if err != nil {
				return fmt.Errorf("gpkg: delete all %s: %w", l.Name, classify(err))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.changes.wake()
	return nil
}

// writer writes features of one layer inside a write transaction, keeping what
// PostGIS's triggers keep there: versions, the change log, the hazard status
// history.
type writer struct {
	s    *Store
	tx   *sql.Tx
	l    *layers.Layer
	now  time.Time
	opts store.WriteOptions
	// dueOn is the due date ("YYYY-MM-DD") a hazard status move sets in the
	// status history; nil for none.
	dueOn any
}

// insert inserts p (with id when not 0) and logs it; the version continues after
// the id's last logged version, so versions of one id only ever grow.
func (w writer) insert(ctx context.Context, id int64, p prepared) (newID, version int64, err error) {
	cols := []string{}
	marks := []string{}
	args := []any{}
	if id != 0 {
		cols, marks, args = append(cols, "id"), append(marks, "?"), append(args, id)
	}
	for i, f := range w.l.Fields {
		cols, marks, args = append(cols, ident(f.Name)), append(marks, "?"), append(args, p.values[i])
	}
	cols = append(cols, "version", "updated_at", "geom")
	marks = append(marks, "1", "?", "?")
	args = append(args, formatDatetime(w.now), p.geom)
	res, err := w.tx.ExecContext(ctx, "INSERT INTO "+ident(w.l.Name)+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(marks, ", ")+")", args...)
	if err != nil {
		return 0, 0, w.s.writeError(w.l, id, p, err)
	}
	if newID, err = res.LastInsertId(); err != nil {
		return 0, 0, fmt.Errorf("gpkg: insert %s: %w", w.l.Name, err)
	}
	var last sql.NullInt64
	if err := w.tx.QueryRowContext(ctx, "SELECT max(version) FROM changes WHERE layer = ? AND feature_id = ?", w.l.Name, newID).Scan(&last); err != nil {
		return 0, 0, fmt.Errorf("gpkg: insert %s: %w", w.l.Name, classify(err))
	}
	version = 1
	if last.Valid {
		version = last.Int64 + 1
		if _, err := w.tx.ExecContext(ctx, "UPDATE "+ident(w.l.Name)+" SET version = ? WHERE id = ?", version, newID); err != nil {
			return 0, 0, fmt.Errorf("gpkg: insert %s: %w", w.l.Name, classify(err))
		}
	}
	if err := w.log(ctx, newID, feature.Insert, version); err != nil {
		return 0, 0, err
	}
	if status := w.statusIndex(); status >= 0 {
		if err := w.history(ctx, newID, nil, p.values[status]); err != nil {
			return 0, 0, err
		}
	}
	return newID, version, nil
}

// update writes p over feature id and logs it; store.ErrNotFound when there is none.
func (w writer) update(ctx context.Context, id int64, p prepared) (int64, error) {
	// hazard_status is read for the layers that keep its history (else the
	// column's absence reads as "").
	status := w.statusIndex()
	cols := "version, ''"
	if status >= 0 {
		cols = "version, hazard_status"
	}
	var version int64
	var oldStatus string
	err := w.tx.QueryRowContext(ctx, "SELECT "+cols+" FROM "+ident(w.l.Name)+" WHERE id = ?", id).Scan(&version, &oldStatus)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%s id %d: %w", w.l.Name, id, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("gpkg: update %s id %d: %w", w.l.Name, id, classify(err))
	}
	version++
	sets := []string{}
	args := []any{}
	for i, f := range w.l.Fields {
		sets, args = append(sets, ident(f.Name)+" = ?"), append(args, p.values[i])
	}
	sets = append(sets, "version = ?", "updated_at = ?", "geom = ?")
	args = append(args, version, formatDatetime(w.now), p.geom, id)
	if _, err := w.tx.ExecContext(ctx, "UPDATE "+ident(w.l.Name)+" SET "+strings.Join(sets, ", ")+" WHERE id = ?", args...); err != nil {
		return 0, w.s.writeError(w.l, id, p, err)
	}
	if err := w.log(ctx, id, feature.Update, version); err != nil {
		return 0, err
	}
	if status >= 0 && oldStatus != p.values[status] {
		if err := w.history(ctx, id, oldStatus, p.values[status]); err != nil {
			return 0, err
		}
	}
	return version, nil
}

// delete removes feature id and logs its tombstone.
func (w writer) delete(ctx context.Context, id int64) error {
	var version int64
	err := w.tx.QueryRowContext(ctx, "DELETE FROM "+ident(w.l.Name)+" WHERE id = ? RETURNING version", id).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s id %d: %w", w.l.Name, id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("gpkg: delete %s id %d: %w", w.l.Name, id, classify(err))
	}
	return w.log(ctx, id, feature.Delete, version+1)
}

func (w writer) log(ctx context.Context, id int64, op feature.Op, version int64) error {
	_, err := w.tx.ExecContext(ctx, "INSERT INTO changes (layer, feature_id, op, version, changed_at) VALUES (?, ?, ?, ?, ?)",
		w.l.Name, id, string(op), version, formatDatetime(w.now))
	if err != nil {
		return fmt.Errorf("gpkg: log change of %s id %d: %w", w.l.Name, id, classify(err))
	}
	return nil
}

// statusIndex is the position of hazard_status among the layer's fields, -1 when the
// layer has none (its transitions are kept in risk_point_status_history).
func (w writer) statusIndex() int {
	if w.l.Name != layers.RiskPoints {
		return -1
	}
	return fieldIndex(w.l, "hazard_status")
}

func (w writer) history(ctx context.Context, id int64, from, to any) error {
	actor := w.opts.Actor
	if actor == "" {
		actor = "riskmap"
	}
	var note any
	if w.opts.Note != "" {
		note = w.opts.Note
	}
	_, err := w.tx.ExecContext(ctx, `INSERT INTO risk_point_status_history (risk_point_id, from_status, to_status, actor, note, changed_at, due_on)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id, from, to, actor, note, formatDatetime(w.now), w.dueOn)
	if err != nil {
		return fmt.Errorf("gpkg: status history of risk point %d: %w", id, classify(err))
	}
	return nil
}

func fieldIndex(l *layers.Layer, name string) int {
	for i, f := range l.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}
