package postgis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
)

// bulkBatch is how many rows go through the staging table per COPY; progress is
// reported after each batch.
const bulkBatch = 5000

// BulkLoad inserts many features of one layer in a single transaction: rows are
// validated, copied with COPY into a temporary staging table, checked there by
// PostGIS, and inserted into the layer with one INSERT ... SELECT per batch, so the
// change-log triggers fire for every row. Either all rows are stored or none.
//
// Features either all carry an ID (kept, and the id sequence moved past the largest)
// or all have ID 0 (ids assigned). progress, if not nil, is called with the number of
// rows stored so far. Errors name the row (0-based index) and its external_id.
func (s *Store) BulkLoad(ctx context.Context, layer string, fs []feature.Feature, opts store.WriteOptions, progress func(done int)) error {
	l, err := s.reg.Layer(layer)
	if err != nil {
		return err
	}
	if len(fs) == 0 {
		return nil
	}
	prep, explicitIDs, err := store.PrepareBulk("postgis", l, fs, func(f feature.Feature) (prepared, error) { return prepare(l, f) })
	if err != nil {
		return err
	}
	rows := make([][]any, len(fs))
	for i, p := range prep {
		row := make([]any, 0, len(p.values)+3)
		row = append(row, int64(i))
		if explicitIDs {
			row = append(row, fs[i].ID)
		} else {
			row = append(row, nil)
		}
		row = append(row, p.values...)
		rows[i] = append(row, p.ewkb)
	}

	names := l.FieldNames()
	stageCols := append(append([]string{"ord", "id"}, names...), "geom")
	var stageDefs []string
	stageDefs = append(stageDefs, "ord bigint", "id bigint")
	for _, f := range l.Fields {
		stageDefs = append(stageDefs, ident(f.Name)+" "+f.Type.SQLType())
	}
	stageDefs = append(stageDefs, "geom bytea")
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = ident(n)
	}
	target := strings.Join(quoted, ", ") + ", geom"
	source := strings.Join(quoted, ", ") + ", ST_GeomFromEWKB(geom)"
	if explicitIDs {
		target, source = "id, "+target, "id, "+source
	}
	insert := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM riskmap_stage ORDER BY ord", ident(l.Name), target, source)

	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := setActor(ctx, tx, opts); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE riskmap_stage ("+strings.Join(stageDefs, ", ")+") ON COMMIT DROP"); err != nil {
			return fmt.Errorf("postgis: bulk load %s: staging table: %w", l.Name, classify(err))
		}
		for start := 0; start < len(rows); start += bulkBatch {
			batch := rows[start:min(start+bulkBatch, len(rows))]
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"riskmap_stage"}, stageCols, pgx.CopyFromRows(batch)); err != nil {
				return fmt.Errorf("postgis: bulk load %s: copy rows %d..%d: %w", l.Name, start, start+len(batch)-1, classify(err))
			}
			// Ask PostGIS about the geometries first, so an invalid one is reported
			// by row rather than as a failed batch.
			var ord int64
			var why string
			err := tx.QueryRow(ctx, `SELECT ord, ST_IsValidReason(g) FROM (
				SELECT ord, ST_GeomFromEWKB(geom) AS g FROM riskmap_stage) s
				WHERE NOT ST_IsValid(g) ORDER BY ord LIMIT 1`).Scan(&ord, &why)
			if err == nil {
				return fmt.Errorf("%s row %d (external_id %v): %w", l.Name, ord, fs[ord].Props["external_id"],
					&layers.ValidationError{Layer: l.Name, ID: fs[ord].ID, Problems: []layers.Problem{{Field: "geometry", Reason: "is not a valid geometry: " + why}}})
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("postgis: bulk load %s: check geometries: %w", l.Name, classify(err))
			}
			// And about external ids already stored, for the same reason.
			var ext string
			err = tx.QueryRow(ctx, "SELECT s.ord, s.external_id FROM riskmap_stage s JOIN "+ident(l.Name)+
				" t ON t.external_id = s.external_id ORDER BY s.ord LIMIT 1").Scan(&ord, &ext)
			if err == nil {
				return fmt.Errorf("%s row %d: %w", l.Name, ord, &store.ConflictError{Layer: l.Name, Field: "external_id", Value: ext})
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("postgis: bulk load %s: check external ids: %w", l.Name, classify(err))
			}
			if _, err := tx.Exec(ctx, insert); err != nil {
				return fmt.Errorf("%s rows %d..%d: %w", l.Name, start, start+len(batch)-1, s.writeError(ctx, l, 0, prepared{}, err))
			}
			if _, err := tx.Exec(ctx, "TRUNCATE riskmap_stage"); err != nil {
				return fmt.Errorf("postgis: bulk load %s: %w", l.Name, classify(err))
			}
			if progress != nil {
				progress(start + len(batch))
			}
		}
		if explicitIDs {
			return advanceSequence(ctx, tx, l.Name)
		}
		return nil
	})
}

// advanceSequence moves a table's id sequence past its largest id (never backwards),
// so ids assigned later do not collide with ids that were given explicitly.
func advanceSequence(ctx context.Context, tx pgx.Tx, table string) error {
	var seq string
	if err := tx.QueryRow(ctx, "SELECT pg_get_serial_sequence($1, 'id')", table).Scan(&seq); err != nil {
		return fmt.Errorf("postgis: %s id sequence: %w", table, err)
	}
	_, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval($1::regclass, GREATEST(
		(SELECT COALESCE(max(id), 1) FROM %s), COALESCE(pg_sequence_last_value($1::regclass), 1)))`, ident(table)), seq)
	if err != nil {
		return fmt.Errorf("postgis: advance %s id sequence: %w", table, err)
	}
	return nil
}

// BulkLoadSensors inserts sensors with their given ids in one transaction and moves
// the sensor id sequence past the largest.
func (s *Store) BulkLoadSensors(ctx context.Context, sensors []feature.Sensor) error {
	rows := make([][]any, len(sensors))
	for i, sn := range sensors {
		if _, ok := s.reg.SensorKind(sn.Kind); !ok {
			return fmt.Errorf("postgis: sensor row %d (%s): unknown kind %q", i, sn.ExternalID, sn.Kind)
		}
		var slopeID, spotID any
		switch sn.Layer {
		case layers.Slopes:
			slopeID = sn.FeatureID
		case layers.WaterloggingSpots:
			spotID = sn.FeatureID
		default:
			return fmt.Errorf("postgis: sensor row %d (%s): sensors attach to slopes or waterlogging_spots, not %q", i, sn.ExternalID, sn.Layer)
		}
		var tb, ty, to, tr any
		if t := sn.Thresholds; t != nil {
			tb, ty, to, tr = t.Blue, t.Yellow, t.Orange, t.Red
		}
		rows[i] = []any{sn.ID, sn.ExternalID, sn.Kind, slopeID, spotID, tb, ty, to, tr, sn.RangeMin, sn.RangeMax, sn.Active}
	}
	cols := []string{"id", "external_id", "kind", "slope_id", "spot_id",
		"threshold_blue", "threshold_yellow", "threshold_orange", "threshold_red", "range_min", "range_max", "active"}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"sensors"}, cols, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("postgis: load sensors: %w", classify(err))
		}
		return advanceSequence(ctx, tx, "sensors")
	})
}

// readingsBatch is how many readings go through the staging table per COPY;
// progress is reported after each batch.
const readingsBatch = 10000

// BulkLoadReadings stores many readings in one transaction: COPY into a temporary
// staging table, then one INSERT per batch into readings (sensor_id, time, value,
// drill) that skips a reading whose (sensor, drill, time) is stored already — the
// first one wins, as everywhere readings are written. Either all are stored or
// none. progress, if not nil, is called with the number of readings done so far.
// A non-finite value is refused, naming the row; an unknown sensor fails the
// transaction (foreign key).
func (s *Store) BulkLoadReadings(ctx context.Context, rs []sensors.Reading, progress func(done int)) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([][]any, len(rs))
	for i, r := range rs {
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			return fmt.Errorf("postgis: reading row %d (sensor %d at %v): value %v is not a number", i, r.SensorID, r.Time, r.Value)
		}
		if r.Time.IsZero() {
			return fmt.Errorf("postgis: reading row %d (sensor %d): no time", i, r.SensorID)
		}
		rows[i] = []any{r.SensorID, r.Time, r.Value, r.Drill}
	}
	cols := []string{"sensor_id", "time", "value", "drill"}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE riskmap_stage_readings (sensor_id bigint, time timestamptz,
			value double precision, drill boolean) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("postgis: load readings: staging table: %w", classify(err))
		}
		for start := 0; start < len(rows); start += readingsBatch {
			batch := rows[start:min(start+readingsBatch, len(rows))]
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"riskmap_stage_readings"}, cols, pgx.CopyFromRows(batch)); err != nil {
				return fmt.Errorf("postgis: load readings %d..%d: copy: %w", start, start+len(batch)-1, classify(err))
			}
			if _, err := tx.Exec(ctx, `INSERT INTO readings (sensor_id, time, value, drill)
				SELECT sensor_id, time, value, drill FROM riskmap_stage_readings ON CONFLICT DO NOTHING`); err != nil {
				return fmt.Errorf("postgis: load readings %d..%d: %w", start, start+len(batch)-1, classify(err))
			}
			if _, err := tx.Exec(ctx, "TRUNCATE riskmap_stage_readings"); err != nil {
				return fmt.Errorf("postgis: load readings: %w", classify(err))
			}
			if progress != nil {
				progress(start + len(batch))
			}
		}
		return nil
	})
}

// DeleteAll deletes every feature of every layer (and with them, by cascade, their
// sensors and readings) in one transaction. Deletes are logged like any other, so
// processes following the change log see them.
func (s *Store) DeleteAll(ctx context.Context, opts store.WriteOptions) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := setActor(ctx, tx, opts); err != nil {
			return err
		}
		for _, l := range s.reg.Layers() {
			if _, err := tx.Exec(ctx, "DELETE FROM "+ident(l.Name)); err != nil {
				return fmt.Errorf("postgis: delete all %s: %w", l.Name, classify(err))
			}
		}
		return nil
	})
}
