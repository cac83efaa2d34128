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
)

// EditFeature writes one edit (create, update or delete; see store.Edit) and its
// audit row in one transaction. Update and delete lock the row and write only when
// its version is still e.IfVersion, else a *store.VersionConflictError carrying the
// stored version; a missing feature wraps store.ErrNotFound; invalid input is a
// *layers.ValidationError; a taken external_id a *store.ConflictError; an update
// changing a risk point's hazard_status a *store.MoveError. The write goes through
// the table like any other (the triggers bump the version and log the change), so
// the index, tiles and event stream follow through the change feed. Nothing is
// written on error.
func (s *Store) EditFeature(ctx context.Context, e store.Edit) (store.EditResult, error) {
	l, err := s.reg.Layer(e.Layer)
	if err != nil {
		return store.EditResult{}, err
	}
	if err := store.CheckEdit(e); err != nil {
		return store.EditResult{}, err
	}
	var p prepared
	if e.Action != store.ActionDelete {
		f := e.Feature
		f.Layer, f.ID = l.Name, e.ID
		if p, err = prepare(l, f); err != nil {
			return store.EditResult{}, err
		}
	}
	var res store.EditResult
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res = store.EditResult{}
		if err := setActor(ctx, tx, store.WriteOptions{Actor: e.Actor, Note: e.Note}); err != nil {
			return err
		}
		if e.Action != store.ActionCreate {
			before, err := s.lockVersion(ctx, tx, l, e.ID, e.IfVersion)
			if err != nil {
				return err
			}
			res.Before = &before
		}
		if e.Action != store.ActionDelete {
			props := make(map[string]any, len(l.Fields))
			for i, fd := range l.Fields {
				props[fd.Name] = p.values[i]
			}
			if err := store.CheckEditStatus(e, res.Before, props); err != nil {
				return err
			}
		}
		id := e.ID
		switch e.Action {
		case store.ActionCreate:
			names := l.FieldNames()
			cols, params := make([]string, len(names)), make([]string, len(names))
			for i, n := range names {
				cols[i], params[i] = ident(n), fmt.Sprintf("$%d", i+1)
			}
			q := fmt.Sprintf("INSERT INTO %s (%s, geom) VALUES (%s, ST_GeomFromEWKB($%d)) RETURNING id",
				ident(l.Name), strings.Join(cols, ", "), strings.Join(params, ", "), len(names)+1)
			if err := tx.QueryRow(ctx, q, append(p.values, p.ewkb)...).Scan(&id); err != nil {
				return err
			}
		case store.ActionUpdate:
			names := l.FieldNames()
			sets := make([]string, len(names))
			for i, n := range names {
				sets[i] = fmt.Sprintf("%s = $%d", ident(n), i+1)
			}
			q := fmt.Sprintf("UPDATE %s SET %s, geom = ST_GeomFromEWKB($%d) WHERE id = $%d",
				ident(l.Name), strings.Join(sets, ", "), len(names)+1, len(names)+2)
			if _, err := tx.Exec(ctx, q, append(p.values, p.ewkb, id)...); err != nil {
				return err
			}
		case store.ActionDelete:
			if _, err := tx.Exec(ctx, "DELETE FROM "+ident(l.Name)+" WHERE id = $1", id); err != nil {
				return err
			}
		}
		if e.Action != store.ActionDelete {
			after, err := s.getTx(ctx, tx, l, id, false)
			if err != nil {
				return err
			}
			res.After = &after
		}
		row, err := store.NewAuditRow(l, e.Action, e.Actor, e.TokenID, e.Note, id, res.Before, res.After)
		if err != nil {
			return err
		}
		res.AuditID, err = insertAudit(ctx, tx, row)
		return err
	})
	if err != nil {
		return store.EditResult{}, s.editError(ctx, l, e.ID, p, err)
	}
	return res, nil
}

// editError passes the edit's own errors through and words database errors as
// writeError does.
func (s *Store) editError(ctx context.Context, l *layers.Layer, id int64, p prepared, err error) error {
	var verr *layers.ValidationError
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrVersionConflict) ||
		errors.Is(err, store.ErrForbiddenMove) || errors.As(err, &verr) {
		return err
	}
	return s.writeError(ctx, l, id, p, err)
}

// lockVersion reads feature id of l for update (locking the row until the
// transaction ends) and checks that its version is want.
func (s *Store) lockVersion(ctx context.Context, tx pgx.Tx, l *layers.Layer, id, want int64) (feature.Feature, error) {
	f, err := s.getTx(ctx, tx, l, id, true)
	if err != nil {
		return feature.Feature{}, err
	}
	if f.Version != want {
		return feature.Feature{}, &store.VersionConflictError{Layer: l.Name, ID: id, Expected: want, Current: f.Version}
	}
	return f, nil
}

// getTx reads one feature inside tx, FOR UPDATE when lock.
func (s *Store) getTx(ctx context.Context, tx pgx.Tx, l *layers.Layer, id int64, lock bool) (feature.Feature, error) {
	q := "SELECT " + selectList(l) + " FROM " + ident(l.Name) + " WHERE id = $1"
	if lock {
		q += " FOR UPDATE"
	}
	sc := newRowScanner(l)
	err := tx.QueryRow(ctx, q, id).Scan(sc.dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return feature.Feature{}, fmt.Errorf("%s id %d: %w", l.Name, id, store.ErrNotFound)
	}
	if err != nil {
		return feature.Feature{}, err
	}
	return sc.feature()
}

// insertAudit writes an audit row in tx and returns its id.
func insertAudit(ctx context.Context, tx pgx.Tx, a store.AuditRow) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO audit (actor, token_id, action, layer, feature_id, version_before, version_after, before, after, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10) RETURNING id`,
		a.Actor, a.TokenID, a.Action, a.Layer, a.FeatureID, a.VersionBefore, a.VersionAfter, a.Before, a.After, a.Note).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgis: audit: %w", err)
	}
	return id, nil
}

// Audit returns audit rows, newest first (see store.AuditQuery).
func (s *Store) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, COALESCE(token_id, 0), action, COALESCE(layer, ''), COALESCE(feature_id, 0),
		COALESCE(version_before, 0), COALESCE(version_after, 0), before::text, after::text, COALESCE(note, '')
		FROM audit WHERE ($1 = '' OR layer = $1) AND ($2 = 0 OR feature_id = $2) AND ($3 = 0 OR id < $3)
		ORDER BY id DESC LIMIT $4`, q.Layer, q.FeatureID, q.BeforeID, q.AuditLimit())
	if err != nil {
		return nil, fmt.Errorf("postgis: audit: %w", classify(err))
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var a store.AuditEntry
		var before, after pgtype.Text
		if err := rows.Scan(&a.ID, &a.At, &a.Actor, &a.TokenID, &a.Action, &a.Layer, &a.FeatureID,
			&a.VersionBefore, &a.VersionAfter, &before, &after, &a.Note); err != nil {
			return nil, fmt.Errorf("postgis: audit: %w", classify(err))
		}
		a.At = a.At.UTC()
		a.Before, a.After = rawJSON(before), rawJSON(after)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgis: audit: %w", classify(err))
	}
	return out, nil
}

func rawJSON(t pgtype.Text) []byte {
	if !t.Valid {
		return []byte("null")
	}
	return []byte(t.String)
}

// MoveHazard moves a risk point's hazard status (see store.HazardTransitions) in one
// transaction with its status history row (actor, note, due date: written by the
// schema's trigger from the transaction's settings) and its audit row, only when
// the point's version is still m.IfVersion. A refused move is a *store.MoveError, a
// missing note or due date a *layers.ValidationError. It returns the point after
// the move.
func (s *Store) MoveHazard(ctx context.Context, m store.HazardMove) (feature.Feature, error) {
	if err := store.CheckHazardMoveInput(m); err != nil {
		return feature.Feature{}, err
	}
	l, err := s.reg.Layer(layers.RiskPoints)
	if err != nil {
		return feature.Feature{}, err
	}
	due := ""
	if m.DueOn != nil {
		due = m.DueOn.Format(time.DateOnly)
	}
	var after feature.Feature
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := setActor(ctx, tx, store.WriteOptions{Actor: m.Actor, Note: m.Note}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT set_config('riskmap.due_on', $1, true)", due); err != nil {
			return err
		}
		before, err := s.lockVersion(ctx, tx, l, m.ID, m.IfVersion)
		if err != nil {
			return err
		}
		from, _ := before.Props["hazard_status"].(string)
		if err := store.CheckHazardMove(m, from); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE risk_points SET hazard_status = $1 WHERE id = $2", m.To, m.ID); err != nil {
			return err
		}
		if after, err = s.getTx(ctx, tx, l, m.ID, false); err != nil {
			return err
		}
		row, err := store.NewAuditRow(l, store.ActionHazardStatus, m.Actor, m.TokenID, m.Note, m.ID, &before, &after)
		if err != nil {
			return err
		}
		_, err = insertAudit(ctx, tx, row)
		return err
	})
	if err != nil {
		return feature.Feature{}, s.editError(ctx, l, m.ID, prepared{}, err)
	}
	return after, nil
}

// HazardHistory returns the steps of risk point id's hazard, newest first (at most
// 200). A point with no history has none (the point may have been deleted: the
// history outlives it).
func (s *Store) HazardHistory(ctx context.Context, id int64) ([]store.HazardStep, error) {
	rows, err := s.pool.Query(ctx, `SELECT COALESCE(from_status, ''), to_status, actor, COALESCE(note, ''), changed_at, due_on
		FROM risk_point_status_history WHERE risk_point_id = $1 ORDER BY id DESC LIMIT 200`, id)
	if err != nil {
		return nil, fmt.Errorf("postgis: hazard history: %w", classify(err))
	}
	defer rows.Close()
	out := []store.HazardStep{}
	for rows.Next() {
		var st store.HazardStep
		var due pgtype.Date
		if err := rows.Scan(&st.From, &st.To, &st.Actor, &st.Note, &st.At, &due); err != nil {
			return nil, fmt.Errorf("postgis: hazard history: %w", classify(err))
		}
		st.At = st.At.UTC()
		if due.Valid {
			d := due.Time
			st.DueOn = &d
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgis: hazard history: %w", classify(err))
	}
	return out, nil
}

// Hazards returns the risk points' hazards q selects, the soonest due first (those
// without a due date last), then by id.
func (s *Store) Hazards(ctx context.Context, q store.HazardQuery) ([]store.Hazard, error) {
	var dueBefore pgtype.Date
	if q.DueBefore != nil {
		dueBefore = pgtype.Date{Time: *q.DueBefore, Valid: true}
	}
	rows, err := s.pool.Query(ctx, `SELECT p.id, p.version, p.external_id, COALESCE(p.name, ''), COALESCE(p.subdistrict, ''),
			COALESCE(p.responsible_dept, ''), p.risk_grade, p.hazard_status, h.due_on, COALESCE(h.changed_at, p.updated_at)
		FROM risk_points p
		LEFT JOIN LATERAL (SELECT due_on, changed_at FROM risk_point_status_history
			WHERE risk_point_id = p.id ORDER BY id DESC LIMIT 1) h ON true
		WHERE (CASE WHEN $1 = '' THEN p.hazard_status <> 'closed' ELSE p.hazard_status = $1 END)
			AND ($2::date IS NULL OR h.due_on < $2::date)
			AND ($3 = '' OR p.responsible_dept = $3)
			AND ($4 = '' OR p.subdistrict = $4)
		ORDER BY h.due_on NULLS LAST, p.id`, q.Status, dueBefore, q.Department, q.Subdistrict)
	if err != nil {
		return nil, fmt.Errorf("postgis: hazards: %w", classify(err))
	}
	defer rows.Close()
	out := []store.Hazard{}
	for rows.Next() {
		var h store.Hazard
		var due pgtype.Date
		if err := rows.Scan(&h.ID, &h.Version, &h.ExternalID, &h.Name, &h.Subdistrict, &h.Department, &h.RiskGrade,
			&h.Status, &due, &h.Since); err != nil {
			return nil, fmt.Errorf("postgis: hazards: %w", classify(err))
		}
		h.Since = h.Since.UTC()
		if due.Valid {
			d := due.Time
			h.DueOn = &d
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgis: hazards: %w", classify(err))
	}
	return out, nil
}
