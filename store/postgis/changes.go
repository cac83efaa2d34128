package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"riskmap/feature"
)

// Changes returns up to limit entries of the change log with seq > after, in seq
// order.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]feature.Change, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, layer, feature_id, op, version, changed_at
		FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgis: read changes after %d: %w", after, classify(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (feature.Change, error) {
		var c feature.Change
		var op string
		err := r.Scan(&c.Seq, &c.Layer, &c.ID, &op, &c.Version, &c.Time)
		c.Op = feature.Op(op)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgis: read changes after %d: %w", after, classify(err))
	}
	return out, nil
}
