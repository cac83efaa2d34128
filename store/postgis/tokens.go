package postgis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmap/store"
)

// CreateToken stores a token (only its hash) and returns its id; its audit row (the
// actor on ctx, else t.CreatedBy) is written in the same transaction.
func (s *Store) CreateToken(ctx context.Context, t store.NewToken) (int64, error) {
	if err := t.Check(); err != nil {
		return 0, err
	}
	var id int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO api_tokens (name, role, token_hash, created_by)
			VALUES ($1, $2, $3, $4) RETURNING id`, t.Name, t.Role, t.Hash, t.CreatedBy).Scan(&id); err != nil {
			return err
		}
		row, err := store.ChangeAudit(ctx, t.CreatedBy, store.ActionTokenCreate, "", 0, nil,
			map[string]any{"token_id": id, "name": t.Name, "role": t.Role}, "")
		if err == nil {
			_, err = insertAudit(ctx, tx, row)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgis: create token: %w", classify(err))
	}
	return id, nil
}

const tokenColumns = `id, name, role, created_at, created_by, revoked_at, last_used_at`

func scanToken(row pgx.Row) (store.Token, error) {
	var t store.Token
	var revoked, used *time.Time
	if err := row.Scan(&t.ID, &t.Name, &t.Role, &t.CreatedAt, &t.CreatedBy, &revoked, &used); err != nil {
		return t, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if revoked != nil {
		t.RevokedAt = revoked.UTC()
	}
	if used != nil {
		t.LastUsedAt = used.UTC()
	}
	return t, nil
}

// Tokens lists every token, revoked ones included, by id; never their hashes.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgis: tokens: %w", classify(err))
	}
	defer rows.Close()
	out := []store.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("postgis: tokens: %w", classify(err))
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgis: tokens: %w", classify(err))
	}
	return out, nil
}

// RevokeToken revokes a token and ends its sessions, writing the audit row (the
// actor on ctx) in the same transaction; revoking a revoked token again changes
// nothing. An unknown id is store.ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgis: revoke token %d: %w", id, classify(err))
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var name, role string
	var wasRevoked bool
	err = tx.QueryRow(ctx, `UPDATE api_tokens t SET revoked_at = COALESCE(t.revoked_at, clock_timestamp())
		FROM api_tokens o WHERE t.id = $1 AND o.id = t.id RETURNING t.name, t.role, o.revoked_at IS NOT NULL`, id).Scan(&name, &role, &wasRevoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("token %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("postgis: revoke token %d: %w", id, classify(err))
	}
	if !wasRevoked {
		row, err := store.ChangeAudit(ctx, "", store.ActionTokenRevoke, "", 0,
			map[string]any{"token_id": id, "name": name, "role": role}, nil, "")
		if err == nil {
			_, err = insertAudit(ctx, tx, row)
		}
		if err != nil {
			return fmt.Errorf("postgis: revoke token %d: %w", id, classify(err))
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_id = $1`, id); err != nil {
		return fmt.Errorf("postgis: revoke token %d: %w", id, classify(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgis: revoke token %d: %w", id, classify(err))
	}
	return nil
}

// TokenByHash returns the token whose SHA-256 is hash; an unknown or revoked token
// is store.ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE token_hash = $1 AND revoked_at IS NULL`, hash))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return t, fmt.Errorf("token: %w", store.ErrNotFound)
	case err != nil:
		return t, fmt.Errorf("postgis: token by hash: %w", classify(err))
	}
	return t, nil
}

// TouchToken records that the token was used at at (callers do it at most about
// once a minute per token).
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, at); err != nil {
		return fmt.Errorf("postgis: touch token %d: %w", id, classify(err))
	}
	return nil
}

// CreateSession stores a sign-in session (IDHash, TokenID, CSRF, ExpiresAt).
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (id_hash, token_id, csrf, expires_at) VALUES ($1, $2, $3, $4)`,
		ss.IDHash, ss.TokenID, ss.CSRF, ss.ExpiresAt)
	if err != nil {
		return fmt.Errorf("postgis: create session: %w", classify(err))
	}
	return nil
}

// Session returns the session whose id hashes to idHash with its token; a session
// that is unknown, expired at now, or whose token is revoked is store.ErrNotFound.
func (s *Store) Session(ctx context.Context, idHash []byte, now time.Time) (store.Session, error) {
	ss := store.Session{IDHash: idHash}
	var revoked, used *time.Time
	err := s.pool.QueryRow(ctx, `SELECT s.token_id, s.csrf, s.created_at, s.expires_at,
			t.id, t.name, t.role, t.created_at, t.created_by, t.revoked_at, t.last_used_at
		FROM sessions s JOIN api_tokens t ON t.id = s.token_id
		WHERE s.id_hash = $1 AND s.expires_at > $2 AND t.revoked_at IS NULL`, idHash, now).Scan(
		&ss.TokenID, &ss.CSRF, &ss.CreatedAt, &ss.ExpiresAt,
		&ss.Token.ID, &ss.Token.Name, &ss.Token.Role, &ss.Token.CreatedAt, &ss.Token.CreatedBy, &revoked, &used)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ss, fmt.Errorf("session: %w", store.ErrNotFound)
	case err != nil:
		return ss, fmt.Errorf("postgis: session: %w", classify(err))
	}
	ss.CreatedAt, ss.ExpiresAt, ss.Token.CreatedAt = ss.CreatedAt.UTC(), ss.ExpiresAt.UTC(), ss.Token.CreatedAt.UTC()
	if used != nil {
		ss.Token.LastUsedAt = used.UTC()
	}
	return ss, nil
}

// DeleteSession ends a session; an unknown one is no error.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("postgis: delete session: %w", classify(err))
	}
	return nil
}

// ExpireSessions deletes the sessions expired at now and returns how many.
func (s *Store) ExpireSessions(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("postgis: expire sessions: %w", classify(err))
	}
	return tag.RowsAffected(), nil
}
