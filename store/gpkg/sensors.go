package gpkg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
)

// Times here: a reading's time is stored as INTEGER microseconds since 1970-01-01
// UTC (finer parts of a time.Time are dropped, as PostgreSQL's timestamptz drops
// them); alert and signal times are ISO 8601 text in UTC with microseconds
// (formatTime: finer than a GeoPackage DATETIME, which is fine for tables GDAL does
// not read as contents). Every time returned is in UTC. Times the store stamps itself
// (RaisedAt, AckedAt, SetAt, a patched feature's UpdatedAt) come from the store's
// clock (s.now): the database is in this process.

// micros is t as stored in readings.time: microseconds since the epoch, UTC,
// rounded down.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is a readings.time as a UTC time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Sensors returns every sensor (active or not), by id.
func (s *Store) Sensors(ctx context.Context) ([]feature.Sensor, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, external_id, kind, slope_id, spot_id,
		threshold_blue, threshold_yellow, threshold_orange, threshold_red, range_min, range_max, active
		FROM sensors ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("gpkg: sensors: %w", classify(err))
	}
	defer rows.Close()
	var out []feature.Sensor
	for rows.Next() {
		var sn feature.Sensor
		var slopeID, spotID sql.NullInt64
		var tb, ty, to, tr sql.NullFloat64
		if err := rows.Scan(&sn.ID, &sn.ExternalID, &sn.Kind, &slopeID, &spotID, &tb, &ty, &to, &tr,
			&sn.RangeMin, &sn.RangeMax, &sn.Active); err != nil {
			return nil, fmt.Errorf("gpkg: sensors: %w", classify(err))
		}
		if slopeID.Valid {
			sn.Layer, sn.FeatureID = layers.Slopes, slopeID.Int64
		} else if spotID.Valid {
			sn.Layer, sn.FeatureID = layers.WaterloggingSpots, spotID.Int64
		}
		if tb.Valid && ty.Valid && to.Valid && tr.Valid {
			sn.Thresholds = &feature.Thresholds{Blue: tb.Float64, Yellow: ty.Float64, Orange: to.Float64, Red: tr.Float64}
		}
		out = append(out, sn)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gpkg: sensors: %w", classify(err))
	}
	return out, nil
}

// insertReading stores one reading unless its (sensor, drill, time) is stored
// already: the first one wins.
const insertReading = `INSERT INTO readings (sensor_id, drill, time, value) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`

// readingInserter inserts readings inside one write transaction through one
// prepared statement.
type readingInserter struct {
	stmt *sql.Stmt
}

func newReadingInserter(ctx context.Context, tx *sql.Tx) (readingInserter, error) {
	stmt, err := tx.PrepareContext(ctx, insertReading)
	if err != nil {
		return readingInserter{}, classify(err)
	}
	return readingInserter{stmt: stmt}, nil
}

// insert stores r and reports whether it was new.
func (ri readingInserter) insert(ctx context.Context, r sensors.Reading) (bool, error) {
	res, err := ri.stmt.ExecContext(ctx, r.SensorID, r.Drill, micros(r.Time), r.Value)
	if err != nil {
		return false, classify(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (ri readingInserter) close() { ri.stmt.Close() }

// InsertReadings stores readings in one transaction, idempotently: a reading whose
// (sensor, drill, time) is stored already is skipped, whatever its value (the
// first one wins; times compare at microsecond precision). It returns how many were
// new. When it returns nil every reading is committed; on an error wrapping
// store.ErrUnavailable the outcome is unknown and a retry is safe. A reading of an
// unknown sensor fails the whole batch (foreign key), as does a NaN value: SQLite
// cannot store one (±Inf are stored).
func (s *Store) InsertReadings(ctx context.Context, rs []sensors.Reading) (int, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	for i, r := range rs {
		if math.IsNaN(r.Value) {
			return 0, fmt.Errorf("gpkg: insert %d readings: row %d (sensor %d at %v): value %v is not a number", len(rs), i, r.SensorID, r.Time, r.Value)
		}
	}
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		n = 0
		ins, err := newReadingInserter(ctx, tx)
		if err != nil {
			return err
		}
		defer ins.close()
		for _, r := range rs {
			added, err := ins.insert(ctx, r)
			if err != nil {
				return err
			}
			if added {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("gpkg: insert %d readings: %w", len(rs), err)
	}
	return n, nil
}

// RecentReadings calls fn with the readings (real and drill) taken after since
// (compared at microsecond precision), in time order (then by sensor id, real before
// drill) — what restores the evaluator after a restart. Reading times are UTC. It
// stops at the first error from fn and returns it.
func (s *Store) RecentReadings(ctx context.Context, since time.Time, fn func(sensors.Reading) error) error {
	// Sensor by sensor (CROSS JOIN fixes the loop order), so that each sensor's
	// readings since are a range of the primary key (sensor_id, drill, time) rather
	// than a scan of every reading; the foreign key leaves no reading without its
	// sensor.
	rows, err := s.r.QueryContext(ctx, `SELECT r.sensor_id, r.time, r.value, r.drill
		FROM sensors s CROSS JOIN readings r ON r.sensor_id = s.id AND r.drill IN (0, 1) AND r.time > ?
		ORDER BY r.time, r.sensor_id, r.drill`, micros(since))
	if err != nil {
		return fmt.Errorf("gpkg: recent readings: %w", classify(err))
	}
	defer rows.Close()
	var r sensors.Reading
	var us int64
	for rows.Next() {
		if err := rows.Scan(&r.SensorID, &us, &r.Value, &r.Drill); err != nil {
			return fmt.Errorf("gpkg: recent readings: %w", classify(err))
		}
		r.Time = fromMicros(us)
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("gpkg: recent readings: %w", classify(err))
	}
	return nil
}

// ReadingSeries returns a sensor's real (or drill) readings in [from, to), in time
// order: every reading when there are at most maxPoints, else downsampled into
// equal time buckets (mean, min, max, count of each non-empty bucket) — PostgreSQL's
// date_bin as store/postgis uses it: the bucket width is (to − from) / maxPoints
// rounded to the second (at least 1 s), buckets start at from, a point's Time is its
// bucket's start. Times are UTC, compared at microsecond precision. maxPoints ≥ 1.
func (s *Store) ReadingSeries(ctx context.Context, sensorID int64, drill bool, from, to time.Time, maxPoints int) ([]store.SeriesPoint, error) {
	if maxPoints < 1 {
		return nil, fmt.Errorf("gpkg: reading series: maxPoints %d, want at least 1", maxPoints)
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("gpkg: reading series: %w", classify(err))
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	lo, hi := micros(from), micros(to)
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM readings
		WHERE sensor_id = ? AND drill = ? AND time >= ? AND time < ?`, sensorID, drill, lo, hi).Scan(&n); err != nil {
		return nil, fmt.Errorf("gpkg: reading series: %w", classify(err))
	}
	var rows *sql.Rows
	if n <= maxPoints {
		rows, err = tx.QueryContext(ctx, `SELECT time, value, value, value, 1 FROM readings
			WHERE sensor_id = ? AND drill = ? AND time >= ? AND time < ? ORDER BY time`, sensorID, drill, lo, hi)
	} else {
		width := to.Sub(from) / time.Duration(maxPoints)
		width = max(width.Round(time.Second), time.Second)
		// date_bin(width, time, from): from + floor((time − from) / width) · width;
		// time ≥ from, so integer division floors.
		rows, err = tx.QueryContext(ctx, `SELECT ?3 + ((time - ?3) / ?5) * ?5 AS t, avg(value), min(value), max(value), count(*)
			FROM readings WHERE sensor_id = ?1 AND drill = ?2 AND time >= ?3 AND time < ?4
			GROUP BY t ORDER BY t`, sensorID, drill, lo, hi, width.Microseconds())
	}
	if err != nil {
		return nil, fmt.Errorf("gpkg: reading series: %w", classify(err))
	}
	defer rows.Close()
	out := make([]store.SeriesPoint, 0, min(n, maxPoints))
	for rows.Next() {
		var p store.SeriesPoint
		var us int64
		if err := rows.Scan(&us, &p.Value, &p.Min, &p.Max, &p.Count); err != nil {
			return nil, fmt.Errorf("gpkg: reading series: %w", classify(err))
		}
		p.Time = fromMicros(us)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gpkg: reading series: %w", classify(err))
	}
	return out, nil
}

// ApplySensorState writes, in one transaction, the evaluated state of monitored
// objects (each patch only when it changes something, so that an unchanged state
// adds nothing to the change log) and stores alerts, which it returns with their
// ids in order. A patch that changes its feature is an update like any other: the
// version goes up, updated_at is set, the change is logged (actor "sensors" in the
// hazard status history, should a patch set a risk point's hazard_status) and the
// change feed is woken after the commit; a patch of a missing feature changes
// nothing. Patch fields are checked against the registry, and values against the
// fields' types. An alert's RaisedAt is the store's clock, UTC; its Time is stored
// at formatTime's precision. Each stored alert is published to ListenEvents
// ("alert") after the commit.
func (s *Store) ApplySensorState(ctx context.Context, patches []store.FieldPatch, alerts []sensors.Alert) ([]store.StoredAlert, error) {
	plans := make([]patchPlan, len(patches))
	for i, p := range patches {
		pl, err := s.planPatch(p)
		if err != nil {
			return nil, err
		}
		plans[i] = pl
	}
	now := s.now()
	var out []store.StoredAlert
	changed := false
	err := s.writeEvents(ctx, func(tx *sql.Tx) ([]event, error) {
		changed = false
		for i, p := range patches {
			w := writer{s: s, tx: tx, l: plans[i].l, now: now, opts: store.WriteOptions{Actor: "sensors"}}
			ok, err := w.patch(ctx, p.FeatureID, plans[i])
			if err != nil {
				return nil, fmt.Errorf("gpkg: sensor state of %s %d: %w", p.Layer, p.FeatureID, err)
			}
			changed = changed || ok
		}
		out = make([]store.StoredAlert, len(alerts))
		if len(alerts) == 0 {
			return nil, nil
		}
		insert, err := tx.PrepareContext(ctx, `INSERT INTO alerts (layer, feature_id, sensor_id, kind, unit, from_level,
			to_level, object_level, value, threshold, reason, time, drill, raised_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return nil, fmt.Errorf("gpkg: store alert: %w", classify(err))
		}
		defer insert.Close()
		evs := make([]event, len(alerts))
		for i, a := range alerts {
			var threshold any
			if a.To.OnScale() && a.To != sensors.None {
				threshold = a.Threshold
			}
			var sensorID any
			if a.SensorID != 0 {
				sensorID = a.SensorID
			}
			raised := formatTime(s.now())
			out[i].Alert = a
			if err := insert.QueryRowContext(ctx, a.Layer, a.FeatureID, sensorID, a.Kind, a.Unit, a.From.Code(), a.To.Code(),
				a.ObjectLevel.Code(), a.Value, threshold, string(a.Reason), formatTime(a.Time), a.Drill, raised).Scan(&out[i].ID); err != nil {
				return nil, fmt.Errorf("gpkg: store alert: %w", classify(err))
			}
			out[i].RaisedAt, _ = parseTime(raised)
			evs[i] = event{typ: "alert", id: out[i].ID}
		}
		return evs, nil
	})
	if err != nil {
		return nil, fmt.Errorf("gpkg: apply sensor state: %w", err)
	}
	if changed {
		s.changes.wake()
	}
	return out, nil
}

// patchPlan is a checked FieldPatch: its layer, and the UPDATE that sets the fields
// where one of them differs.
type patchPlan struct {
	l      *layers.Layer
	update string
	values []any // SQLite values, in p.Fields order
	status int   // index of hazard_status among the fields, -1 when not patched
}

// planPatch checks p against the registry and builds its UPDATE: the fields, set
// only when distinct, with the version bumped and updated_at set as an update does.
func (s *Store) planPatch(p store.FieldPatch) (patchPlan, error) {
	l, err := s.reg.Layer(p.Layer)
	if err != nil {
		return patchPlan{}, err
	}
	if len(p.Fields) == 0 || len(p.Fields) != len(p.Values) {
		return patchPlan{}, fmt.Errorf("gpkg: patch of %s %d: %d fields, %d values", p.Layer, p.FeatureID, len(p.Fields), len(p.Values))
	}
	pl := patchPlan{l: l, values: make([]any, len(p.Fields)), status: -1}
	set := make([]string, len(p.Fields))
	differs := make([]string, len(p.Fields))
	for i, name := range p.Fields {
		f, ok := l.Field(name)
		if !ok {
			return patchPlan{}, fmt.Errorf("gpkg: patch of %s %d: no field %q in the registry", p.Layer, p.FeatureID, name)
		}
		v, err := sqlValue(f, p.Values[i])
		if err != nil {
			return patchPlan{}, fmt.Errorf("gpkg: patch of %s %d: %s: %w", p.Layer, p.FeatureID, name, err)
		}
		pl.values[i] = v
		if l.Name == layers.RiskPoints && name == "hazard_status" {
			pl.status = i
		}
		n := "?" + strconv.Itoa(i+1)
		set[i] = ident(name) + " = " + n
		differs[i] = ident(name) + " IS NOT " + n
	}
	k := len(p.Fields)
	pl.update = "UPDATE " + ident(l.Name) + " SET " + strings.Join(set, ", ") +
		", version = version + 1, updated_at = ?" + strconv.Itoa(k+1) +
		" WHERE id = ?" + strconv.Itoa(k+2) + " AND (" + strings.Join(differs, " OR ") + ") RETURNING version"
	return pl, nil
}

// sqlValue checks that v fits field f the way PostgreSQL's typed columns would have
// it (SQLite's columns take any value) and converts it for SQLite: a date becomes
// "YYYY-MM-DD", a boolean 0 or 1.
func sqlValue(f layers.Field, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	ok := false
	switch f.Type {
	case layers.TypeFloat:
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%v is not a finite number", x)
			}
			ok = true
		case float32:
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%v is not a finite number", x)
			}
			v, ok = float64(x), true
		case int, int8, int16, int32, int64, uint8, uint16, uint32:
			ok = true
		}
	case layers.TypeInt:
		switch x := v.(type) {
		case int, int8, int16, int32, int64, uint8, uint16, uint32:
			ok = true
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
				v, ok = int64(x), true
			}
		}
	case layers.TypeBool:
		_, ok = v.(bool)
	case layers.TypeDate:
		switch x := v.(type) {
		case time.Time:
			v, ok = x.Format(time.DateOnly), true
		case string:
			if _, err := time.Parse(time.DateOnly, x); err == nil {
				ok = true
			}
		}
	default: // text, enum
		_, ok = v.(string)
	}
	if !ok {
		return nil, fmt.Errorf("%v (%T) is not a %s value", v, v, f.Type)
	}
	return v, nil
}

// patch applies a planned patch to feature id when it changes something, as an
// update does: version bumped, updated_at set, the change logged, a risk point's
// hazard_status transition recorded. It reports whether the feature changed; a
// missing feature is no change (as an UPDATE matching no row).
func (w writer) patch(ctx context.Context, id int64, pl patchPlan) (bool, error) {
	var oldStatus sql.NullString
	if pl.status >= 0 {
		err := w.tx.QueryRowContext(ctx, "SELECT hazard_status FROM "+ident(w.l.Name)+" WHERE id = ?", id).Scan(&oldStatus)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, classify(err)
		}
	}
	args := append(append([]any{}, pl.values...), formatDatetime(w.now), id)
	var version int64
	err := w.tx.QueryRowContext(ctx, pl.update, args...).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // unchanged, or no such feature
	}
	if err != nil {
		return false, classify(err)
	}
	if err := w.log(ctx, id, feature.Update, version); err != nil {
		return false, err
	}
	if pl.status >= 0 && oldStatus.String != pl.values[pl.status] {
		if err := w.history(ctx, id, oldStatus.String, pl.values[pl.status]); err != nil {
			return false, err
		}
	}
	return true, nil
}

// writeEvents is write for a transaction that makes events: fn returns them, and
// they are published to ListenEvents after the commit, before any later commit's.
func (s *Store) writeEvents(ctx context.Context, fn func(tx *sql.Tx) ([]event, error)) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("gpkg: begin: %w", classify(err))
	}
	evs, err := fn(tx)
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	err = s.events.commit(tx.Commit, evs)
	if err != nil {
		return fmt.Errorf("gpkg: commit: %w", classify(err))
	}
	return nil
}

// alertColumns are an alert's columns, in scanAlert's order.
const alertColumns = `id, layer, feature_id, COALESCE(sensor_id, 0), kind, unit, from_level, to_level, object_level,
	value, COALESCE(threshold, 0), reason, time, drill, raised_at, acked_at, COALESCE(acked_by, ''), COALESCE(ack_note, '')`

// scanAlert reads one row of alertColumns.
func scanAlert(row interface{ Scan(...any) error }) (store.StoredAlert, error) {
	var a store.StoredAlert
	var from, to, obj, reason, at, raised string
	var acked sql.NullString
	if err := row.Scan(&a.ID, &a.Layer, &a.FeatureID, &a.SensorID, &a.Kind, &a.Unit, &from, &to, &obj,
		&a.Value, &a.Threshold, &reason, &at, &a.Drill, &raised, &acked, &a.AckedBy, &a.AckNote); err != nil {
		return a, err
	}
	var err error
	if a.From, err = sensors.ParseLevel(from); err != nil {
		return a, err
	}
	if a.To, err = sensors.ParseLevel(to); err != nil {
		return a, err
	}
	if a.ObjectLevel, err = sensors.ParseLevel(obj); err != nil {
		return a, err
	}
	a.Reason = sensors.Reason(reason)
	if a.Time, err = parseTime(at); err != nil {
		return a, err
	}
	if a.RaisedAt, err = parseTime(raised); err != nil {
		return a, err
	}
	if acked.Valid {
		if a.AckedAt, err = parseTime(acked.String); err != nil {
			return a, err
		}
	}
	return a, nil
}

// collectAlerts reads the rows of a query selecting alertColumns.
func collectAlerts(rows *sql.Rows, err error) ([]store.StoredAlert, error) {
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := []store.StoredAlert{} // empty, not nil, when there are none: as store/postgis
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, a)
	}
	return out, classify(rows.Err())
}

// Alerts returns the alerts q selects: newest first, or with q.Open worst first
// (store.AlertSeverity) then newest.
func (s *Store) Alerts(ctx context.Context, q store.AlertQuery) ([]store.StoredAlert, error) {
	var where []string
	var args []any
	if q.Open {
		where = append(where, "acked_at IS NULL")
	}
	if q.Drill != nil {
		where, args = append(where, "drill = ?"), append(args, *q.Drill)
	}
	if q.Layer != "" {
		where, args = append(where, "layer = ?"), append(args, q.Layer)
	}
	if q.FeatureID != 0 {
		where, args = append(where, "feature_id = ?"), append(args, q.FeatureID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	query := "SELECT " + alertColumns + " FROM alerts"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	if q.Open {
		query += " ORDER BY " + severityRank + ", id DESC"
	} else {
		query += " ORDER BY id DESC"
	}
	query += " LIMIT ?"
	args = append(args, limit)
	out, err := collectAlerts(s.r.QueryContext(ctx, query, args...))
	if err != nil {
		return nil, fmt.Errorf("gpkg: alerts: %w", err)
	}
	return out, nil
}

// severityRank is an alert's rank by to_level in store.AlertSeverity (worst 1),
// what PostgreSQL's array_position gives there; a level not listed ranks last.
var severityRank = func() string {
	var b strings.Builder
	b.WriteString("CASE to_level")
	for i, lv := range store.AlertSeverity {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", strings.ReplaceAll(lv, "'", "''"), i+1)
	}
	fmt.Fprintf(&b, " ELSE %d END", len(store.AlertSeverity)+1)
	return b.String()
}()

// AckAlert acknowledges an open alert (acked_at: now, UTC), with its audit row (the
// actor on ctx, else by) in the same transaction, and publishes
// "alert_ack" to ListenEvents after the commit: store.ErrNotFound when there is no
// such alert, store.ErrAcked when it was acknowledged already (nothing changes).
func (s *Store) AckAlert(ctx context.Context, id int64, by, note string) (store.StoredAlert, error) {
	var nullNote any
	if note != "" {
		nullNote = note
	}
	var a store.StoredAlert
	var found bool
	err := s.writeEvents(ctx, func(tx *sql.Tx) ([]event, error) {
		var err error
		a, err = scanAlert(tx.QueryRowContext(ctx, `UPDATE alerts SET acked_at = ?, acked_by = ?, ack_note = ?
			WHERE id = ? AND acked_at IS NULL RETURNING `+alertColumns, formatTime(s.now()), by, nullNote, id))
		if errors.Is(err, sql.ErrNoRows) {
			found = false
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("gpkg: ack alert %d: %w", id, classify(err))
		}
		found = true
		row, err := store.ChangeAudit(ctx, by, store.ActionAckAlert, a.Layer, a.FeatureID, nil,
			map[string]any{"alert_id": a.ID, "acked_by": by, "ack_note": note}, note)
		if err == nil {
			_, err = s.insertAudit(ctx, tx, s.now(), row)
		}
		if err != nil {
			return nil, fmt.Errorf("gpkg: ack alert %d: %w", id, err)
		}
		return []event{{typ: "alert_ack", id: id}}, nil
	})
	if err != nil {
		return store.StoredAlert{}, err
	}
	if found {
		return a, nil
	}
	a, err = scanAlert(s.r.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a, fmt.Errorf("alert %d: %w", id, store.ErrNotFound)
	case err != nil:
		return a, fmt.Errorf("gpkg: ack alert %d: %w", id, classify(err))
	}
	return a, fmt.Errorf("alert %d (by %s at %s): %w", id, a.AckedBy, a.AckedAt.Format(time.RFC3339), store.ErrAcked)
}

// signalColumns are a signal's columns, in scanSignal's order.
const signalColumns = `id, kind, level, set_at, set_by, COALESCE(note, '')`

// collectSignals reads the rows of a query selecting signalColumns.
func collectSignals(rows *sql.Rows, err error) ([]store.Signal, error) {
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := []store.Signal{} // empty, not nil, when there are none: as store/postgis
	for rows.Next() {
		var g store.Signal
		var at string
		if err := rows.Scan(&g.ID, &g.Kind, &g.Level, &at, &g.SetBy, &g.Note); err != nil {
			return nil, classify(err)
		}
		if g.SetAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, classify(rows.Err())
}

// SetSignal records a district signal setting (set_at: now, UTC), with its audit row
// (the level before and after; the actor on ctx, else by) in the same transaction,
// returns it and publishes "signal" to ListenEvents after the commit.
func (s *Store) SetSignal(ctx context.Context, kind, level, by, note string) (store.Signal, error) {
	sig := store.Signal{Kind: kind, Level: level, SetBy: by, Note: note}
	var nullNote any
	if note != "" {
		nullNote = note
	}
	at := formatTime(s.now())
	err := s.writeEvents(ctx, func(tx *sql.Tx) ([]event, error) {
		before := "none"
		err := tx.QueryRowContext(ctx, `SELECT level FROM signals WHERE kind = ? ORDER BY id DESC LIMIT 1`, kind).Scan(&before)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, classify(err)
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO signals (kind, level, set_at, set_by, note) VALUES (?, ?, ?, ?, ?)
			RETURNING id`, kind, level, at, by, nullNote).Scan(&sig.ID)
		if err != nil {
			return nil, classify(err)
		}
		row, err := store.ChangeAudit(ctx, by, store.ActionSetSignal, "", 0, map[string]any{"kind": kind, "level": before},
			map[string]any{"signal_id": sig.ID, "kind": kind, "level": level, "set_by": by}, note)
		if err == nil {
			_, err = s.insertAudit(ctx, tx, s.now(), row)
		}
		if err != nil {
			return nil, err
		}
		return []event{{typ: "signal", id: sig.ID}}, nil
	})
	if err != nil {
		return sig, fmt.Errorf("gpkg: set signal: %w", err)
	}
	sig.SetAt, _ = parseTime(at)
	return sig, nil
}

// Signals returns the signal settings, newest first: with current, only the
// latest of each kind; else the history (at most limit, 0: 1,000), optionally of
// one kind.
func (s *Store) Signals(ctx context.Context, current bool, kind string, limit int) ([]store.Signal, error) {
	if limit <= 0 {
		limit = 1000
	}
	query := `SELECT ` + signalColumns + ` FROM signals WHERE (?1 = '' OR kind = ?1) ORDER BY id DESC LIMIT ?2`
	if current {
		query = `SELECT ` + signalColumns + ` FROM signals WHERE id IN (
			SELECT max(id) FROM signals WHERE (?1 = '' OR kind = ?1) GROUP BY kind) ORDER BY id DESC LIMIT ?2`
	}
	out, err := collectSignals(s.r.QueryContext(ctx, query, kind, limit))
	if err != nil {
		return nil, fmt.Errorf("gpkg: signals: %w", err)
	}
	return out, nil
}

// ListenEvents calls fn with the type ("alert" for a new alert, "alert_ack",
// "signal") and row id of every alert, acknowledgement and signal committed from
// when listening is called until ctx ends; then it returns nil. Events come in
// commit order, after their commit, on this goroutine: a slow fn delays only this
// listener (its events queue up), never a writer. The store is in this process:
// there is no connection to lose, so it does not fail.
func (s *Store) ListenEvents(ctx context.Context, listening func(), fn func(typ string, id int64)) error {
	q := newEventQueue()
	remove := s.events.add(q.push)
	defer remove()
	listening()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-q.ready:
		}
		for _, e := range q.take() {
			if ctx.Err() != nil {
				return nil
			}
			fn(e.typ, e.id)
		}
	}
}

// eventQueue holds one listener's events until its goroutine takes them; push
// never waits for the listener.
type eventQueue struct {
	mu    sync.Mutex
	evs   []event
	ready chan struct{} // holds a token while evs may be non-empty
}

func newEventQueue() *eventQueue { return &eventQueue{ready: make(chan struct{}, 1)} }

func (q *eventQueue) push(typ string, id int64) {
	q.mu.Lock()
	q.evs = append(q.evs, event{typ: typ, id: id})
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *eventQueue) take() []event {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs := q.evs
	q.evs = nil
	return evs
}

// Alert returns one alert (store.ErrNotFound when there is none).
func (s *Store) Alert(ctx context.Context, id int64) (store.StoredAlert, error) {
	a, err := scanAlert(s.r.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a, fmt.Errorf("alert %d: %w", id, store.ErrNotFound)
	case err != nil:
		return a, fmt.Errorf("gpkg: alert %d: %w", id, classify(err))
	}
	return a, nil
}

// AlertsAfter returns the alerts with an id above after, by id (at most limit).
func (s *Store) AlertsAfter(ctx context.Context, after int64, limit int) ([]store.StoredAlert, error) {
	out, err := collectAlerts(s.r.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id > ? ORDER BY id LIMIT ?`, after, limit))
	if err != nil {
		return nil, fmt.Errorf("gpkg: alerts after %d: %w", after, err)
	}
	return out, nil
}

// SignalsAfter returns the signal settings with an id above after, by id.
func (s *Store) SignalsAfter(ctx context.Context, after int64) ([]store.Signal, error) {
	out, err := collectSignals(s.r.QueryContext(ctx, `SELECT `+signalColumns+` FROM signals WHERE id > ? ORDER BY id`, after))
	if err != nil {
		return nil, fmt.Errorf("gpkg: signals after %d: %w", after, err)
	}
	return out, nil
}

// LatestEventIDs returns the highest alert and signal ids (0 when none): where a
// relay starting now begins.
func (s *Store) LatestEventIDs(ctx context.Context) (alert, signal int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT COALESCE((SELECT max(id) FROM alerts), 0), COALESCE((SELECT max(id) FROM signals), 0)`).
		Scan(&alert, &signal)
	if err != nil {
		return 0, 0, fmt.Errorf("gpkg: latest event ids: %w", classify(err))
	}
	return alert, signal, nil
}

// BulkLoadSensors inserts sensors with their given ids in one transaction: all or
// none. The id sequence moves past the largest by itself (AUTOINCREMENT keeps the
// highest id used).
func (s *Store) BulkLoadSensors(ctx context.Context, sensors []feature.Sensor) error {
	rows := make([][]any, len(sensors))
	for i, sn := range sensors {
		if _, ok := s.reg.SensorKind(sn.Kind); !ok {
			return fmt.Errorf("gpkg: sensor row %d (%s): unknown kind %q", i, sn.ExternalID, sn.Kind)
		}
		var slopeID, spotID any
		switch sn.Layer {
		case layers.Slopes:
			slopeID = sn.FeatureID
		case layers.WaterloggingSpots:
			spotID = sn.FeatureID
		default:
			return fmt.Errorf("gpkg: sensor row %d (%s): sensors attach to slopes or waterlogging_spots, not %q", i, sn.ExternalID, sn.Layer)
		}
		var tb, ty, to, tr any
		if t := sn.Thresholds; t != nil {
			tb, ty, to, tr = t.Blue, t.Yellow, t.Orange, t.Red
		}
		rows[i] = []any{sn.ID, sn.ExternalID, sn.Kind, slopeID, spotID, tb, ty, to, tr, sn.RangeMin, sn.RangeMax, sn.Active}
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		insert, err := tx.PrepareContext(ctx, `INSERT INTO sensors (id, external_id, kind, slope_id, spot_id,
			threshold_blue, threshold_yellow, threshold_orange, threshold_red, range_min, range_max, active)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return classify(err)
		}
		defer insert.Close()
		for i, row := range rows {
			if _, err := insert.ExecContext(ctx, row...); err != nil {
				return fmt.Errorf("sensor row %d (%s): %w", i, sensors[i].ExternalID, classify(err))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("gpkg: load sensors: %w", err)
	}
	return nil
}

// readingsBatch is how many readings are written between progress reports.
const readingsBatch = 10000

// BulkLoadReadings stores many readings in one transaction, skipping a reading
// whose (sensor, drill, time) is stored already — the first one wins, as everywhere
// readings are written. Either all are stored or none. progress, if not nil, is
// called with the number of readings done so far after each batch of 10,000 and at
// the end. A non-finite value or a zero time is refused, naming the row; an unknown
// sensor fails the transaction (foreign key).
func (s *Store) BulkLoadReadings(ctx context.Context, rs []sensors.Reading, progress func(done int)) error {
	if len(rs) == 0 {
		return nil
	}
	for i, r := range rs {
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			return fmt.Errorf("gpkg: reading row %d (sensor %d at %v): value %v is not a number", i, r.SensorID, r.Time, r.Value)
		}
		if r.Time.IsZero() {
			return fmt.Errorf("gpkg: reading row %d (sensor %d): no time", i, r.SensorID)
		}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		ins, err := newReadingInserter(ctx, tx)
		if err != nil {
			return fmt.Errorf("gpkg: load readings: %w", err)
		}
		defer ins.close()
		for start := 0; start < len(rs); start += readingsBatch {
			batch := rs[start:min(start+readingsBatch, len(rs))]
			for i, r := range batch {
				if _, err := ins.insert(ctx, r); err != nil {
					return fmt.Errorf("gpkg: load readings %d..%d: row %d (sensor %d at %v): %w",
						start, start+len(batch)-1, start+i, r.SensorID, r.Time, err)
				}
			}
			if progress != nil {
				progress(start + len(batch))
			}
		}
		return nil
	})
}
