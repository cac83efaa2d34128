package gpkg

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"riskmap/feature"
	"riskmap/store"
)

// A store.Snapshot here is the seq of the last change-log row committed when it was
// taken: one writer commits the log in seq order, so "after seq" is exactly "committed
// after the snapshot".
func makeSnapshot(seq int64) store.Snapshot { return store.Snapshot(strconv.FormatInt(seq, 10)) }

func parseSnapshot(s store.Snapshot) (int64, error) {
	seq, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil || seq < 0 {
		return 0, fmt.Errorf("gpkg: malformed snapshot %q", s)
	}
	return seq, nil
}

// CurrentSnapshot returns the current snapshot: ChangesSince(it) will return exactly
// the changes committed after this call.
func (s *Store) CurrentSnapshot(ctx context.Context) (store.Snapshot, error) {
	var seq int64
	if err := s.r.QueryRowContext(ctx, "SELECT COALESCE(max(seq), 0) FROM changes").Scan(&seq); err != nil {
		return "", fmt.Errorf("gpkg: snapshot: %w", classify(err))
	}
	return makeSnapshot(seq), nil
}

// ChangesSince returns the changes committed after since, in log order, with the
// changed features' state, all read in one read transaction (one WAL snapshot). When
// rows since was missing were pruned, or more than limit changes committed since, it
// returns an error wrapping store.ErrLogTruncated: reload instead.
func (s *Store) ChangesSince(ctx context.Context, since store.Snapshot, limit int) (store.ChangeBatch, error) {
	prev, err := parseSnapshot(since)
	if err != nil {
		return store.ChangeBatch{}, err
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.ChangeBatch{}, fmt.Errorf("gpkg: changes since %s: %w", since, classify(err))
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var horizon, next int64
	if err := tx.QueryRowContext(ctx, "SELECT (SELECT seq FROM changes_horizon), (SELECT COALESCE(max(seq), 0) FROM changes)").Scan(&horizon, &next); err != nil {
		return store.ChangeBatch{}, fmt.Errorf("gpkg: changes since %s: %w", since, classify(err))
	}
	if horizon > prev {
		return store.ChangeBatch{}, fmt.Errorf("gpkg: changes since %s: %w (pruned up to %d)", since, store.ErrLogTruncated, horizon)
	}
	b := store.ChangeBatch{Next: makeSnapshot(max(next, prev))}
	b.Changes, err = readChanges(ctx, tx, prev, limit+1)
	if err != nil {
		return store.ChangeBatch{}, err
	}
	if len(b.Changes) > limit {
		return store.ChangeBatch{}, fmt.Errorf("gpkg: more than %d changes since %s: %w", limit, since, store.ErrLogTruncated)
	}
	b.Features, err = s.readChanged(ctx, tx, b.Changes)
	if err != nil {
		return store.ChangeBatch{}, err
	}
	return b, nil
}

// Changes returns up to limit entries of the change log with seq > after, in seq
// order.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]feature.Change, error) {
	return readChanges(ctx, s.r, after, limit)
}

func readChanges(ctx context.Context, q querier, after int64, limit int) ([]feature.Change, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, layer, feature_id, op, version, changed_at
		FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("gpkg: read changes after %d: %w", after, classify(err))
	}
	defer rows.Close()
	var out []feature.Change
	for rows.Next() {
		var c feature.Change
		var op, at string
		if err := rows.Scan(&c.Seq, &c.Layer, &c.ID, &op, &c.Version, &at); err != nil {
			return nil, fmt.Errorf("gpkg: read changes after %d: %w", after, err)
		}
		c.Op = feature.Op(op)
		if c.Time, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gpkg: read changes after %d: %w", after, classify(err))
	}
	return out, nil
}

// readChanged reads the current state of every feature the changes name, inside q.
func (s *Store) readChanged(ctx context.Context, q querier, cs []feature.Change) (map[store.FeatureKey]feature.Feature, error) {
	ids := map[string][]int64{}
	for _, c := range cs {
		ids[c.Layer] = append(ids[c.Layer], c.ID)
	}
	out := make(map[store.FeatureKey]feature.Feature, len(cs))
	for layer, list := range ids {
		l, err := s.reg.Layer(layer)
		if err != nil {
			continue // a table the registry does not know: nothing to follow
		}
		sc := newRowScanner(l)
		for start := 0; start < len(list); start += 500 {
			part := list[start:min(start+500, len(list))]
			args := make([]any, len(part))
			for i, id := range part {
				args[i] = id
			}
			marks := strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", ")
			rows, err := q.QueryContext(ctx, "SELECT "+selectList(l)+" FROM "+ident(l.Name)+" WHERE id IN ("+marks+")", args...)
			if err != nil {
				return nil, fmt.Errorf("gpkg: read changed %s: %w", l.Name, classify(err))
			}
			for rows.Next() {
				if err := rows.Scan(sc.dest...); err != nil {
					rows.Close()
					return nil, fmt.Errorf("gpkg: read changed %s: %w", l.Name, err)
				}
				f, err := sc.feature()
				if err != nil {
					rows.Close()
					return nil, err
				}
				out[store.FeatureKey{Layer: l.Name, ID: f.ID}] = f
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("gpkg: read changed %s: %w", l.Name, classify(err))
			}
		}
	}
	return out, nil
}

// Listen calls wake after every commit that changed features (wake must not block),
// from when listening is called until ctx ends; then it returns nil. The store is in
// this process, so there is no connection to lose.
func (s *Store) Listen(ctx context.Context, listening, wake func()) error {
	remove := s.changes.add(wake)
	defer remove()
	listening()
	<-ctx.Done()
	return nil
}

// PruneChanges deletes change-log rows older than cutoff (keeping each feature's
// latest, from which a re-inserted id's version continues) and returns how many went.
// Followers whose last snapshot predates the pruned rows reload instead of catching up.
func (s *Store) PruneChanges(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var top sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT count(*), max(seq) FROM changes c WHERE c.changed_at < ?
			AND EXISTS (SELECT 1 FROM changes l WHERE l.layer = c.layer AND l.feature_id = c.feature_id AND l.seq > c.seq)`,
			formatDatetime(cutoff)).Scan(&n, &top)
		if err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM changes WHERE changed_at < ?
			AND EXISTS (SELECT 1 FROM changes l WHERE l.layer = changes.layer AND l.feature_id = changes.feature_id AND l.seq > changes.seq)`,
			formatDatetime(cutoff))
		if err == nil {
			_, err = tx.ExecContext(ctx, "UPDATE changes_horizon SET seq = max(seq, ?)", top.Int64)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("gpkg: prune changes: %w", classify(err))
	}
	return n, nil
}
