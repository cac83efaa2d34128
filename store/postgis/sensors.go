package postgis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
)

// Sensors returns every sensor (active or not), by id.
func (s *Store) Sensors(ctx context.Context) ([]feature.Sensor, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, external_id, kind, slope_id, spot_id,
		threshold_blue, threshold_yellow, threshold_orange, threshold_red, range_min, range_max, active
		FROM sensors ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgis: sensors: %w", classify(err))
	}
	var out []feature.Sensor
	for rows.Next() {
		var sn feature.Sensor
		var slopeID, spotID *int64
		var tb, ty, to, tr *float64
		if err := rows.Scan(&sn.ID, &sn.ExternalID, &sn.Kind, &slopeID, &spotID, &tb, &ty, &to, &tr,
			&sn.RangeMin, &sn.RangeMax, &sn.Active); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgis: sensors: %w", classify(err))
		}
		if slopeID != nil {
			sn.Layer, sn.FeatureID = layers.Slopes, *slopeID
		} else if spotID != nil {
			sn.Layer, sn.FeatureID = layers.WaterloggingSpots, *spotID
		}
		if tb != nil && ty != nil && to != nil && tr != nil {
			sn.Thresholds = &feature.Thresholds{Blue: *tb, Yellow: *ty, Orange: *to, Red: *tr}
		}
		out = append(out, sn)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgis: sensors: %w", classify(err))
	}
	return out, nil
}

// InsertReadings stores readings in one transaction, idempotently: a reading whose
// (sensor, drill, time) is stored already is skipped, whatever its value (the
// first one wins). It returns how many were new. When it returns nil every
// reading is committed; on an error wrapping store.ErrUnavailable the outcome is
// unknown and a retry is safe.
func (s *Store) InsertReadings(ctx context.Context, rs []sensors.Reading) (int, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(rs))
	times := make([]time.Time, len(rs))
	values := make([]float64, len(rs))
	drills := make([]bool, len(rs))
	for i, r := range rs {
		ids[i], times[i], values[i], drills[i] = r.SensorID, r.Time, r.Value, r.Drill
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO readings (sensor_id, time, value, drill)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::float8[], $4::boolean[])
		ON CONFLICT DO NOTHING`, ids, times, values, drills)
	if err != nil {
		return 0, fmt.Errorf("postgis: insert %d readings: %w", len(rs), classify(err))
	}
	return int(tag.RowsAffected()), nil
}

// RecentReadings calls fn with the readings (real and drill) taken after since, in
// time order — what restores the evaluator after a restart.
func (s *Store) RecentReadings(ctx context.Context, since time.Time, fn func(sensors.Reading) error) error {
	rows, err := s.pool.Query(ctx, `SELECT sensor_id, time, value, drill FROM readings
		WHERE time > $1 ORDER BY time, sensor_id, drill`, since)
	if err != nil {
		return fmt.Errorf("postgis: recent readings: %w", classify(err))
	}
	defer rows.Close()
	var r sensors.Reading
	for rows.Next() {
		if err := rows.Scan(&r.SensorID, &r.Time, &r.Value, &r.Drill); err != nil {
			return fmt.Errorf("postgis: recent readings: %w", classify(err))
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgis: recent readings: %w", classify(err))
	}
	return nil
}

// ReadingSeries returns a sensor's real (or drill) readings in [from, to), in time
// order: every reading when there are at most maxPoints, else downsampled into
// maxPoints equal time buckets (mean, min, max, count of each non-empty bucket).
// maxPoints ≥ 1.
func (s *Store) ReadingSeries(ctx context.Context, sensorID int64, drill bool, from, to time.Time, maxPoints int) ([]store.SeriesPoint, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM readings
		WHERE sensor_id = $1 AND drill = $2 AND time >= $3 AND time < $4`, sensorID, drill, from, to).Scan(&n); err != nil {
		return nil, fmt.Errorf("postgis: reading series: %w", classify(err))
	}
	var rows pgx.Rows
	var err error
	if n <= maxPoints {
		rows, err = s.pool.Query(ctx, `SELECT time, value, value, value, 1 FROM readings
			WHERE sensor_id = $1 AND drill = $2 AND time >= $3 AND time < $4 ORDER BY time`, sensorID, drill, from, to)
	} else {
		width := to.Sub(from) / time.Duration(maxPoints)
		width = max(width.Round(time.Second), time.Second)
		rows, err = s.pool.Query(ctx, `SELECT date_bin($5::interval, time, $3) AS t, avg(value), min(value), max(value), count(*)
			FROM readings WHERE sensor_id = $1 AND drill = $2 AND time >= $3 AND time < $4
			GROUP BY t ORDER BY t`, sensorID, drill, from, to, width)
	}
	if err != nil {
		return nil, fmt.Errorf("postgis: reading series: %w", classify(err))
	}
	out := make([]store.SeriesPoint, 0, min(n, maxPoints))
	for rows.Next() {
		var p store.SeriesPoint
		if err := rows.Scan(&p.Time, &p.Value, &p.Min, &p.Max, &p.Count); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgis: reading series: %w", classify(err))
		}
		p.Time = p.Time.UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgis: reading series: %w", classify(err))
	}
	return out, nil
}

// ApplySensorState writes, in one transaction, the evaluated state of monitored
// objects (each patch only when it changes something, so that an unchanged state
// adds nothing to the change log) and stores alerts, which it returns with their
// ids in order. Patch fields are checked against the registry.
func (s *Store) ApplySensorState(ctx context.Context, patches []store.FieldPatch, alerts []sensors.Alert) ([]store.StoredAlert, error) {
	stmts := make([]string, len(patches))
	for i, p := range patches {
		q, err := s.patchSQL(p)
		if err != nil {
			return nil, err
		}
		stmts[i] = q
	}
	var out []store.StoredAlert
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := setActor(ctx, tx, store.WriteOptions{Actor: "sensors"}); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i, p := range patches {
			b.Queue(stmts[i], append(append([]any{}, p.Values...), p.FeatureID)...)
		}
		for _, a := range alerts {
			var threshold any
			if a.To.OnScale() && a.To != sensors.None {
				threshold = a.Threshold
			}
			var sensorID any
			if a.SensorID != 0 {
				sensorID = a.SensorID
			}
			b.Queue(`INSERT INTO alerts (layer, feature_id, sensor_id, kind, unit, from_level, to_level, object_level,
				value, threshold, reason, time, drill) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
				RETURNING id, raised_at`, a.Layer, a.FeatureID, sensorID, a.Kind, a.Unit, a.From.Code(), a.To.Code(),
				a.ObjectLevel.Code(), a.Value, threshold, string(a.Reason), a.Time, a.Drill)
		}
		br := tx.SendBatch(ctx, b)
		for i := range patches {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("postgis: sensor state of %s %d: %w", patches[i].Layer, patches[i].FeatureID, classify(err))
			}
		}
		out = make([]store.StoredAlert, len(alerts))
		for i, a := range alerts {
			out[i].Alert = a
			if err := br.QueryRow().Scan(&out[i].ID, &out[i].RaisedAt); err != nil {
				br.Close()
				return fmt.Errorf("postgis: store alert: %w", classify(err))
			}
			out[i].RaisedAt = out[i].RaisedAt.UTC()
		}
		return classify(br.Close())
	})
	if err != nil {
		return nil, fmt.Errorf("postgis: apply sensor state: %w", classify(err))
	}
	return out, nil
}

// patchSQL is the UPDATE of one patch: the fields, set only when distinct.
func (s *Store) patchSQL(p store.FieldPatch) (string, error) {
	l, err := s.reg.Layer(p.Layer)
	if err != nil {
		return "", err
	}
	if len(p.Fields) == 0 || len(p.Fields) != len(p.Values) {
		return "", fmt.Errorf("postgis: patch of %s %d: %d fields, %d values", p.Layer, p.FeatureID, len(p.Fields), len(p.Values))
	}
	set := make([]string, len(p.Fields))
	differs := make([]string, len(p.Fields))
	for i, name := range p.Fields {
		if _, ok := l.Field(name); !ok {
			return "", fmt.Errorf("postgis: patch of %s %d: no field %q in the registry", p.Layer, p.FeatureID, name)
		}
		n := "$" + strconv.Itoa(i+1)
		set[i] = ident(name) + " = " + n
		differs[i] = ident(name) + " IS DISTINCT FROM " + n
	}
	// Column by column rather than one row comparison: the plainest form (a
	// backend once aborted on a glibc malloc assertion while running the row form
	// under the full test suite; 83,000 runs of it alone did not reproduce it).
	idArg := "$" + strconv.Itoa(len(p.Fields)+1)
	return "UPDATE " + ident(l.Name) + " SET " + strings.Join(set, ", ") + " WHERE id = " + idArg +
		" AND (" + strings.Join(differs, " OR ") + ")", nil
}

const alertColumns = `id, layer, feature_id, COALESCE(sensor_id, 0), kind, unit, from_level, to_level, object_level,
	value, COALESCE(threshold, 0), reason, time, drill, raised_at, acked_at, COALESCE(acked_by, ''), COALESCE(ack_note, '')`

func scanAlert(row pgx.Row) (store.StoredAlert, error) {
	var a store.StoredAlert
	var from, to, obj, reason string
	var acked *time.Time
	if err := row.Scan(&a.ID, &a.Layer, &a.FeatureID, &a.SensorID, &a.Kind, &a.Unit, &from, &to, &obj,
		&a.Value, &a.Threshold, &reason, &a.Time, &a.Drill, &a.RaisedAt, &acked, &a.AckedBy, &a.AckNote); err != nil {
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
	a.Time, a.RaisedAt = a.Time.UTC(), a.RaisedAt.UTC()
	if acked != nil {
		a.AckedAt = acked.UTC()
	}
	return a, nil
}

// Alerts returns the alerts q selects.
func (s *Store) Alerts(ctx context.Context, q store.AlertQuery) ([]store.StoredAlert, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if q.Open {
		where = append(where, "acked_at IS NULL")
	}
	if q.Drill != nil {
		where = append(where, "drill = "+arg(*q.Drill))
	}
	if q.Layer != "" {
		where = append(where, "layer = "+arg(q.Layer))
	}
	if q.FeatureID != 0 {
		where = append(where, "feature_id = "+arg(q.FeatureID))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	sql := "SELECT " + alertColumns + " FROM alerts"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	if q.Open {
		sql += " ORDER BY array_position(" + arg(store.AlertSeverity) + "::text[], to_level), id DESC"
	} else {
		sql += " ORDER BY id DESC"
	}
	sql += " LIMIT " + arg(limit)
	out, err := collectAlerts(s.pool.Query(ctx, sql, args...))
	if err != nil {
		return nil, fmt.Errorf("postgis: alerts: %w", err)
	}
	return out, nil
}

// collectAlerts reads the rows of a query selecting alertColumns.
func collectAlerts(rows pgx.Rows, err error) ([]store.StoredAlert, error) {
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.StoredAlert, error) { return scanAlert(r) })
	return out, classify(err)
}

const signalColumns = `id, kind, level, set_at, set_by, COALESCE(note, '')`

// collectSignals reads the rows of a query selecting signalColumns.
func collectSignals(rows pgx.Rows, err error) ([]store.Signal, error) {
	if err != nil {
		return nil, classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Signal, error) {
		var g store.Signal
		err := r.Scan(&g.ID, &g.Kind, &g.Level, &g.SetAt, &g.SetBy, &g.Note)
		g.SetAt = g.SetAt.UTC()
		return g, err
	})
	return out, classify(err)
}

// AckAlert acknowledges an open alert, with its audit row (the actor on ctx, else
// by) in the same transaction: store.ErrNotFound when there is no such alert,
// store.ErrAcked when it was acknowledged already (nothing changes).
func (s *Store) AckAlert(ctx context.Context, id int64, by, note string) (store.StoredAlert, error) {
	var nullNote any
	if note != "" {
		nullNote = note
	}
	var a store.StoredAlert
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		a, err = scanAlert(tx.QueryRow(ctx, `UPDATE alerts SET acked_at = clock_timestamp(), acked_by = $2, ack_note = $3
			WHERE id = $1 AND acked_at IS NULL RETURNING `+alertColumns, id, by, nullNote))
		if err != nil {
			return err
		}
		row, err := store.ChangeAudit(ctx, by, store.ActionAckAlert, a.Layer, a.FeatureID, nil,
			map[string]any{"alert_id": a.ID, "acked_by": by, "ack_note": note}, note)
		if err == nil {
			_, err = insertAudit(ctx, tx, row)
		}
		return err
	})
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("postgis: ack alert %d: %w", id, classify(err))
	}
	a, err = scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return a, fmt.Errorf("alert %d: %w", id, store.ErrNotFound)
	case err != nil:
		return a, fmt.Errorf("postgis: ack alert %d: %w", id, classify(err))
	}
	return a, fmt.Errorf("alert %d (by %s at %s): %w", id, a.AckedBy, a.AckedAt.Format(time.RFC3339), store.ErrAcked)
}

// SetSignal records a district signal setting, with its audit row (the level before
// and after; the actor on ctx, else by) in the same transaction, and returns it.
func (s *Store) SetSignal(ctx context.Context, kind, level, by, note string) (store.Signal, error) {
	sig := store.Signal{Kind: kind, Level: level, SetBy: by, Note: note}
	var nullNote any
	if note != "" {
		nullNote = note
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		before := "none"
		err := tx.QueryRow(ctx, `SELECT level FROM signals WHERE kind = $1 ORDER BY id DESC LIMIT 1`, kind).Scan(&before)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO signals (kind, level, set_by, note) VALUES ($1, $2, $3, $4)
			RETURNING id, set_at`, kind, level, by, nullNote).Scan(&sig.ID, &sig.SetAt); err != nil {
			return err
		}
		row, err := store.ChangeAudit(ctx, by, store.ActionSetSignal, "", 0, map[string]any{"kind": kind, "level": before},
			map[string]any{"signal_id": sig.ID, "kind": kind, "level": level, "set_by": by}, note)
		if err == nil {
			_, err = insertAudit(ctx, tx, row)
		}
		return err
	})
	if err != nil {
		return sig, fmt.Errorf("postgis: set signal: %w", classify(err))
	}
	sig.SetAt = sig.SetAt.UTC()
	return sig, nil
}

// Signals returns the signal settings, newest first: with current, only the
// latest of each kind; else the history (at most limit, 0: 1,000), optionally of
// one kind.
func (s *Store) Signals(ctx context.Context, current bool, kind string, limit int) ([]store.Signal, error) {
	if limit <= 0 {
		limit = 1000
	}
	sql := `SELECT ` + signalColumns + ` FROM signals WHERE ($1 = '' OR kind = $1) ORDER BY id DESC LIMIT $2`
	if current {
		sql = `SELECT * FROM (SELECT DISTINCT ON (kind) ` + signalColumns + ` FROM signals
			WHERE ($1 = '' OR kind = $1) ORDER BY kind, id DESC) c ORDER BY id DESC LIMIT $2`
	}
	out, err := collectSignals(s.pool.Query(ctx, sql, kind, limit))
	if err != nil {
		return nil, fmt.Errorf("postgis: signals: %w", err)
	}
	return out, nil
}

// EventsChannel is the channel alerts and signals notify on (migration 4).
const EventsChannel = "riskmap_events"

// ListenEvents listens on EventsChannel over a dedicated connection and calls fn
// with each notification's type ("alert", "alert_ack", "signal") and row id, in
// commit order, until ctx ends (nil) or the connection fails (an error wrapping
// store.ErrUnavailable). listening is called once the LISTEN is in place: rows
// committed after it are notified.
func (s *Store) ListenEvents(ctx context.Context, listening func(), fn func(typ string, id int64)) error {
	return s.listen(ctx, EventsChannel, listening, func(payload string) {
		typ, idS, ok := strings.Cut(payload, ":")
		if id, err := strconv.ParseInt(idS, 10, 64); ok && err == nil {
			fn(typ, id)
		}
	})
}

// Alert returns one alert (store.ErrNotFound when there is none).
func (s *Store) Alert(ctx context.Context, id int64) (store.StoredAlert, error) {
	a, err := scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return a, fmt.Errorf("alert %d: %w", id, store.ErrNotFound)
	case err != nil:
		return a, fmt.Errorf("postgis: alert %d: %w", id, classify(err))
	}
	return a, nil
}

// AlertsAfter returns the alerts with an id above after, by id (at most limit).
func (s *Store) AlertsAfter(ctx context.Context, after int64, limit int) ([]store.StoredAlert, error) {
	out, err := collectAlerts(s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id > $1 ORDER BY id LIMIT $2`, after, limit))
	if err != nil {
		return nil, fmt.Errorf("postgis: alerts after %d: %w", after, err)
	}
	return out, nil
}

// SignalsAfter returns the signal settings with an id above after, by id.
func (s *Store) SignalsAfter(ctx context.Context, after int64) ([]store.Signal, error) {
	out, err := collectSignals(s.pool.Query(ctx, `SELECT `+signalColumns+` FROM signals WHERE id > $1 ORDER BY id`, after))
	if err != nil {
		return nil, fmt.Errorf("postgis: signals after %d: %w", after, err)
	}
	return out, nil
}

// LatestEventIDs returns the highest alert and signal ids (0 when none): where a
// relay starting now begins.
func (s *Store) LatestEventIDs(ctx context.Context) (alert, signal int64, err error) {
	err = s.pool.QueryRow(ctx, `SELECT COALESCE((SELECT max(id) FROM alerts), 0), COALESCE((SELECT max(id) FROM signals), 0)`).
		Scan(&alert, &signal)
	if err != nil {
		return 0, 0, fmt.Errorf("postgis: latest event ids: %w", classify(err))
	}
	return alert, signal, nil
}
