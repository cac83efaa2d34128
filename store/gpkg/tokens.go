package gpkg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"riskmap/store"
)

// CreateToken stores a token (only its hash) and returns its id; its audit row (the
// actor on ctx, else t.CreatedBy) is written in the same transaction.
func (s *Store) CreateToken(ctx context.Context, t store.NewToken) (int64, error) {
	if err := t.Check(); err != nil {
		return 0, err
	}
	var id int64
	now := s.now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (name, role, token_hash, created_at, created_by)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, t.Name, t.Role, t.Hash, formatTime(now), t.CreatedBy).Scan(&id); err != nil {
			return err
		}
		row, err := store.ChangeAudit(ctx, t.CreatedBy, store.ActionTokenCreate, "", 0, nil,
			map[string]any{"token_id": id, "name": t.Name, "role": t.Role}, "")
		if err == nil {
			_, err = s.insertAudit(ctx, tx, now, row)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("gpkg: create token: %w", classify(err))
	}
	return id, nil
}

const tokenColumns = `id, name, role, created_at, created_by, revoked_at, last_used_at`

func scanToken(row interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var created string
	var revoked, used sql.NullString
	if err := row.Scan(&t.ID, &t.Name, &t.Role, &created, &t.CreatedBy, &revoked, &used); err != nil {
		return t, err
	}
	var err error
	if t.CreatedAt, err = parseTime(created); err != nil {
		return t, err
	}
	if revoked.Valid {
		if t.RevokedAt, err = parseTime(revoked.String); err != nil {
			return t, err
		}
	}
	if used.Valid {
		if t.LastUsedAt, err = parseTime(used.String); err != nil {
			return t, err
		}
	}
	return t, nil
}

// Tokens lists every token, revoked ones included, by id; never their hashes.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("gpkg: tokens: %w", classify(err))
	}
	defer rows.Close()
	out := []store.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("gpkg: tokens: %w", classify(err))
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gpkg: tokens: %w", classify(err))
	}
	return out, nil
}

// RevokeToken revokes a token and ends its sessions, writing the audit row (the
// actor on ctx) in the same transaction; revoking a revoked token again changes
// nothing. An unknown id is store.ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("gpkg: revoke token %d: %w", id, classify(err))
	}
	defer func() { _ = tx.Rollback() }()
	now := s.now()
	var name, role string
	var revoked sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT name, role, revoked_at FROM api_tokens WHERE id = ?`, id).Scan(&name, &role, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("token %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("gpkg: revoke token %d: %w", id, classify(err))
	}
	if !revoked.Valid {
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ?`, formatTime(now), id); err != nil {
			return fmt.Errorf("gpkg: revoke token %d: %w", id, classify(err))
		}
		row, err := store.ChangeAudit(ctx, "", store.ActionTokenRevoke, "", 0,
			map[string]any{"token_id": id, "name": name, "role": role}, nil, "")
		if err == nil {
			_, err = s.insertAudit(ctx, tx, now, row)
		}
		if err != nil {
			return fmt.Errorf("gpkg: revoke token %d: %w", id, classify(err))
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_id = ?`, id); err != nil {
		return fmt.Errorf("gpkg: revoke token %d: %w", id, classify(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("gpkg: revoke token %d: %w", id, classify(err))
	}
	return nil
}

// TokenByHash returns the token whose SHA-256 is hash; an unknown or revoked token
// is store.ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE token_hash = ? AND revoked_at IS NULL`, hash))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return t, fmt.Errorf("token: %w", store.ErrNotFound)
	case err != nil:
		return t, fmt.Errorf("gpkg: token by hash: %w", classify(err))
	}
	return t, nil
}

// TouchToken records that the token was used at at (callers do it at most about
// once a minute per token).
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, formatTime(at), id); err != nil {
		return fmt.Errorf("gpkg: touch token %d: %w", id, classify(err))
	}
	return nil
}

// CreateSession stores a sign-in session (IDHash, TokenID, CSRF, ExpiresAt).
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO sessions (id_hash, token_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		ss.IDHash, ss.TokenID, ss.CSRF, formatTime(s.now()), formatTime(ss.ExpiresAt))
	if err != nil {
		return fmt.Errorf("gpkg: create session: %w", classify(err))
	}
	return nil
}

// Session returns the session whose id hashes to idHash with its token; a session
// that is unknown, expired at now, or whose token is revoked is store.ErrNotFound.
// Times are stored in one fixed-width UTC form, so they compare as text.
func (s *Store) Session(ctx context.Context, idHash []byte, now time.Time) (store.Session, error) {
	ss := store.Session{IDHash: idHash}
	var created, expires, tcreated string
	var revoked, used sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT s.token_id, s.csrf, s.created_at, s.expires_at,
			t.id, t.name, t.role, t.created_at, t.created_by, t.revoked_at, t.last_used_at
		FROM sessions s JOIN api_tokens t ON t.id = s.token_id
		WHERE s.id_hash = ? AND s.expires_at > ? AND t.revoked_at IS NULL`, idHash, formatTime(now)).Scan(
		&ss.TokenID, &ss.CSRF, &created, &expires,
		&ss.Token.ID, &ss.Token.Name, &ss.Token.Role, &tcreated, &ss.Token.CreatedBy, &revoked, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ss, fmt.Errorf("session: %w", store.ErrNotFound)
	case err != nil:
		return ss, fmt.Errorf("gpkg: session: %w", classify(err))
	}
	for _, p := range []struct {
		s string
		t *time.Time
	}{{created, &ss.CreatedAt}, {expires, &ss.ExpiresAt}, {tcreated, &ss.Token.CreatedAt}, {used.String, &ss.Token.LastUsedAt}} {
		if p.s == "" {
			continue
		}
		if *p.t, err = parseTime(p.s); err != nil {
			return ss, fmt.Errorf("gpkg: session: %w", err)
		}
	}
	return ss, nil
}

// DeleteSession ends a session; an unknown one is no error.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("gpkg: delete session: %w", classify(err))
	}
	return nil
}

// ExpireSessions deletes the sessions expired at now and returns how many.
func (s *Store) ExpireSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, formatTime(now))
	if err != nil {
		return 0, fmt.Errorf("gpkg: expire sessions: %w", classify(err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}
