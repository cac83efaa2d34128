package gpkg

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// EditFeature writes one edit (create, update or delete; see store.Edit) and its
// audit row in one write transaction, as store/postgis does: update and delete
// write only when the stored version is still e.IfVersion (else a
// *store.VersionConflictError carrying it); the write goes through the feature
// writer (version, change log, status history), so the change feed carries it to
// the index, tiles and event stream. Nothing is written on error.
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
		if err := checkValid(l, f); err != nil {
			return store.EditResult{}, err
		}
	}
	var res store.EditResult
	now := s.now()
	err = s.write(ctx, func(tx *sql.Tx) error {
		res = store.EditResult{}
		w := writer{s: s, tx: tx, l: l, now: now, opts: store.WriteOptions{Actor: e.Actor, Note: e.Note}}
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
		var err error
		switch e.Action {
		case store.ActionCreate:
			id, _, err = w.insert(ctx, 0, p)
		case store.ActionUpdate:
			_, err = w.update(ctx, id, p)
		case store.ActionDelete:
			err = w.delete(ctx, id)
		}
		if err != nil {
			return err
		}
		if e.Action != store.ActionDelete {
			after, err := s.get(ctx, tx, l, id)
			if err != nil {
				return err
			}
			res.After = &after
		}
		row, err := store.NewAuditRow(l, e.Action, e.Actor, e.TokenID, e.Note, id, res.Before, res.After)
		if err != nil {
			return err
		}
		res.AuditID, err = s.insertAudit(ctx, tx, now, row)
		return err
	})
	if err != nil {
		return store.EditResult{}, err
	}
	s.changes.wake()
	return res, nil
}

// lockVersion reads feature id of l in the write transaction (which holds the
// file's write lock) and checks that its version is want.
func (s *Store) lockVersion(ctx context.Context, tx *sql.Tx, l *layers.Layer, id, want int64) (feature.Feature, error) {
	f, err := s.get(ctx, tx, l, id)
	if err != nil {
		return feature.Feature{}, err
	}
	if f.Version != want {
		return feature.Feature{}, &store.VersionConflictError{Layer: l.Name, ID: id, Expected: want, Current: f.Version}
	}
	return f, nil
}

// insertAudit writes an audit row in tx and returns its id.
func (s *Store) insertAudit(ctx context.Context, tx *sql.Tx, now time.Time, a store.AuditRow) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO audit (at, actor, token_id, action, layer, feature_id, version_before, version_after, before, after, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		formatTime(now), a.Actor, a.TokenID, a.Action, a.Layer, a.FeatureID, a.VersionBefore, a.VersionAfter, a.Before, a.After, a.Note).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("gpkg: audit: %w", classify(err))
	}
	return id, nil
}

// Audit returns audit rows, newest first (see store.AuditQuery).
func (s *Store) Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, COALESCE(token_id, 0), action, COALESCE(layer, ''), COALESCE(feature_id, 0),
		COALESCE(version_before, 0), COALESCE(version_after, 0), before, after, COALESCE(note, '')
		FROM audit WHERE (?1 = '' OR layer = ?1) AND (?2 = 0 OR feature_id = ?2) AND (?3 = 0 OR id < ?3)
		ORDER BY id DESC LIMIT ?4`, q.Layer, q.FeatureID, q.BeforeID, q.AuditLimit())
	if err != nil {
		return nil, fmt.Errorf("gpkg: audit: %w", classify(err))
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var a store.AuditEntry
		var at string
		var before, after sql.NullString
		if err := rows.Scan(&a.ID, &at, &a.Actor, &a.TokenID, &a.Action, &a.Layer, &a.FeatureID,
			&a.VersionBefore, &a.VersionAfter, &before, &after, &a.Note); err != nil {
			return nil, fmt.Errorf("gpkg: audit: %w", classify(err))
		}
		if a.At, err = parseTime(at); err != nil {
			return nil, err
		}
		a.Before, a.After = rawJSON(before), rawJSON(after)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gpkg: audit: %w", classify(err))
	}
	return out, nil
}

func rawJSON(t sql.NullString) []byte {
	if !t.Valid {
		return []byte("null")
	}
	return []byte(t.String)
}

// MoveHazard moves a risk point's hazard status (see store.HazardTransitions) in one
// write transaction with its status history row (actor, note, due date) and its
// audit row, only when the point's version is still m.IfVersion; as
// store/postgis's MoveHazard.
func (s *Store) MoveHazard(ctx context.Context, m store.HazardMove) (feature.Feature, error) {
	if err := store.CheckHazardMoveInput(m); err != nil {
		return feature.Feature{}, err
	}
	l, err := s.reg.Layer(layers.RiskPoints)
	if err != nil {
		return feature.Feature{}, err
	}
	pl, err := s.planPatch(store.FieldPatch{Layer: layers.RiskPoints, FeatureID: m.ID, Fields: []string{"hazard_status"}, Values: []any{m.To}})
	if err != nil {
		return feature.Feature{}, err
	}
	var due any
	if m.DueOn != nil {
		due = m.DueOn.Format(time.DateOnly)
	}
	now := s.now()
	var after feature.Feature
	err = s.write(ctx, func(tx *sql.Tx) error {
		before, err := s.lockVersion(ctx, tx, l, m.ID, m.IfVersion)
		if err != nil {
			return err
		}
		from, _ := before.Props["hazard_status"].(string)
		if err := store.CheckHazardMove(m, from); err != nil {
			return err
		}
		w := writer{s: s, tx: tx, l: l, now: now, opts: store.WriteOptions{Actor: m.Actor, Note: m.Note}, dueOn: due}
		changed, err := w.patch(ctx, m.ID, pl)
		if err != nil {
			return err
		}
		if !changed {
			return fmt.Errorf("gpkg: hazard move of %d changed nothing", m.ID)
		}
		if after, err = s.get(ctx, tx, l, m.ID); err != nil {
			return err
		}
		row, err := store.NewAuditRow(l, store.ActionHazardStatus, m.Actor, m.TokenID, m.Note, m.ID, &before, &after)
		if err != nil {
			return err
		}
		_, err = s.insertAudit(ctx, tx, now, row)
		return err
	})
	if err != nil {
		return feature.Feature{}, err
	}
	s.changes.wake()
	return after, nil
}

// HazardHistory returns the steps of risk point id's hazard, newest first (at most
// 200).
func (s *Store) HazardHistory(ctx context.Context, id int64) ([]store.HazardStep, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT COALESCE(from_status, ''), to_status, actor, COALESCE(note, ''), changed_at, due_on
		FROM risk_point_status_history WHERE risk_point_id = ? ORDER BY id DESC LIMIT 200`, id)
	if err != nil {
		return nil, fmt.Errorf("gpkg: hazard history: %w", classify(err))
	}
	defer rows.Close()
	out := []store.HazardStep{}
	for rows.Next() {
		var st store.HazardStep
		var at string
		var due sql.NullString
		if err := rows.Scan(&st.From, &st.To, &st.Actor, &st.Note, &at, &due); err != nil {
			return nil, fmt.Errorf("gpkg: hazard history: %w", classify(err))
		}
		if st.At, err = parseTime(at); err != nil {
			return nil, err
		}
		if st.DueOn, err = nullDate(due); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gpkg: hazard history: %w", classify(err))
	}
	return out, nil
}

func nullDate(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	d, err := parseDate(s.String)
	if err != nil {
		return nil, fmt.Errorf("gpkg: due_on %q: %w", s.String, err)
	}
	return &d, nil
}

// Hazards returns the risk points' hazards q selects, the soonest due first (those
// without a due date last), then by id; as store/postgis's Hazards.
func (s *Store) Hazards(ctx context.Context, q store.HazardQuery) ([]store.Hazard, error) {
	var dueBefore any
	if q.DueBefore != nil {
		dueBefore = q.DueBefore.Format(time.DateOnly)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, version, external_id, name, subdistrict, responsible_dept, risk_grade,
			hazard_status, due_on, since FROM (
		SELECT p.id, p.version, p.external_id, COALESCE(p.name, '') AS name, COALESCE(p.subdistrict, '') AS subdistrict,
			COALESCE(p.responsible_dept, '') AS responsible_dept, p.risk_grade, p.hazard_status,
			(SELECT h.due_on FROM risk_point_status_history h WHERE h.risk_point_id = p.id ORDER BY h.id DESC LIMIT 1) AS due_on,
			COALESCE((SELECT h.changed_at FROM risk_point_status_history h WHERE h.risk_point_id = p.id ORDER BY h.id DESC LIMIT 1), p.updated_at) AS since
		FROM risk_points p
		WHERE (CASE WHEN ?1 = '' THEN p.hazard_status <> 'closed' ELSE p.hazard_status = ?1 END)
			AND (?3 = '' OR p.responsible_dept = ?3)
			AND (?4 = '' OR p.subdistrict = ?4))
		WHERE (?2 IS NULL OR (due_on IS NOT NULL AND substr(due_on, 1, 10) < ?2))
		ORDER BY due_on IS NULL, substr(due_on, 1, 10), id`, q.Status, dueBefore, q.Department, q.Subdistrict)
	if err != nil {
		return nil, fmt.Errorf("gpkg: hazards: %w", classify(err))
	}
	defer rows.Close()
	out := []store.Hazard{}
	for rows.Next() {
		var h store.Hazard
		var due sql.NullString
		var since string
		if err := rows.Scan(&h.ID, &h.Version, &h.ExternalID, &h.Name, &h.Subdistrict, &h.Department, &h.RiskGrade,
			&h.Status, &due, &since); err != nil {
			return nil, fmt.Errorf("gpkg: hazards: %w", classify(err))
		}
		if h.Since, err = parseTime(since); err != nil {
			return nil, err
		}
		if h.DueOn, err = nullDate(due); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gpkg: hazards: %w", classify(err))
	}
	return out, nil
}
