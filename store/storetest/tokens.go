package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"riskmap/layers"
	"riskmap/store"
)

// TokenStore is what the suite exercises of a store's API tokens and sign-in
// sessions.
type TokenStore interface {
	Store
	CreateToken(ctx context.Context, t store.NewToken) (int64, error)
	Tokens(ctx context.Context) ([]store.Token, error)
	RevokeToken(ctx context.Context, id int64) error
	TokenByHash(ctx context.Context, hash []byte) (store.Token, error)
	TouchToken(ctx context.Context, id int64, at time.Time) error
	CreateSession(ctx context.Context, s store.Session) error
	Session(ctx context.Context, idHash []byte, now time.Time) (store.Session, error)
	DeleteSession(ctx context.Context, idHash []byte) error
	ExpireSessions(ctx context.Context, now time.Time) (int64, error)
}

// tokenTest adapts a test of tokens and sessions; it fails for a store without them
// (both stores have them).
func tokenTest(fn func(t *testing.T, s TokenStore)) func(t *testing.T, s Store) {
	return func(t *testing.T, s Store) {
		ts, ok := s.(TokenStore)
		if !ok {
			t.Fatalf("%T has no API tokens (TokenStore)", s)
		}
		fn(t, ts)
	}
}

func newToken(t *testing.T, s TokenStore, name, role string) (string, int64) {
	t.Helper()
	secret, hash, err := store.NewSecret(store.TokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateToken(context.Background(), store.NewToken{Name: name, Role: role, CreatedBy: "storetest", Hash: hash})
	if err != nil {
		t.Fatalf("create token %s: %v", name, err)
	}
	return secret, id
}

func testTokens(t *testing.T, s TokenStore) {
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	edTok, edID := newToken(t, s, "值班编辑 editor", "editor")
	_, vwID := newToken(t, s, "viewer", "viewer")
	if edID == vwID || edID == 0 {
		t.Fatalf("ids %d, %d", edID, vwID)
	}
	got, err := s.TokenByHash(ctx, store.HashToken(edTok))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != edID || got.Name != "值班编辑 editor" || got.Role != "editor" || got.CreatedBy != "storetest" ||
		got.Revoked() || !got.LastUsedAt.IsZero() || got.CreatedAt.Before(before) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("token by hash = %+v", got)
	}
	if _, err := s.TokenByHash(ctx, store.HashToken(edTok+"x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}

	// Invalid tokens are refused with the field at fault.
	for _, bad := range []store.NewToken{
		{Name: "", Role: "viewer", Hash: store.HashToken("a")},
		{Name: "x", Role: "root", Hash: store.HashToken("b")},
		{Name: "x", Role: "viewer", Hash: []byte("short")},
	} {
		var verr *layers.ValidationError
		if _, err := s.CreateToken(ctx, bad); !errors.As(err, &verr) {
			t.Errorf("create %+v: %v, want a ValidationError", bad, err)
		}
	}
	// A hash stored twice collides.
	if _, err := s.CreateToken(ctx, store.NewToken{Name: "dup", Role: "viewer", Hash: store.HashToken(edTok)}); err == nil {
		t.Error("a second token with the same hash was stored")
	}

	at := time.Date(2026, 7, 1, 8, 30, 0, 0, time.UTC)
	if err := s.TouchToken(ctx, edID, at); err != nil {
		t.Fatal(err)
	}
	list, err := s.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != edID || list[1].ID != vwID {
		t.Fatalf("tokens = %+v", list)
	}
	if !list[0].LastUsedAt.Equal(at) || !list[1].LastUsedAt.IsZero() {
		t.Errorf("last used = %v, %v; want %v, zero", list[0].LastUsedAt, list[1].LastUsedAt, at)
	}

	if err := s.RevokeToken(ctx, edID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, edID); err != nil {
		t.Errorf("revoking again: %v", err)
	}
	if err := s.RevokeToken(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke unknown: %v, want ErrNotFound", err)
	}
	if _, err := s.TokenByHash(ctx, store.HashToken(edTok)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked token by hash: %v, want ErrNotFound", err)
	}
	list, err = s.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || !list[0].Revoked() || list[1].Revoked() {
		t.Errorf("after revoke: %+v", list)
	}
}

func testSessions(t *testing.T, s TokenStore) {
	ctx := context.Background()
	_, edID := newToken(t, s, "editor", "editor")
	now := time.Now().UTC()
	sid, sidHash, err := store.NewSecret("")
	if err != nil {
		t.Fatal(err)
	}
	ss := store.Session{IDHash: sidHash, TokenID: edID, CSRF: "csrf-1", ExpiresAt: now.Add(time.Hour).Truncate(time.Millisecond)}
	if err := s.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, store.HashToken(sid), now)
	if err != nil {
		t.Fatal(err)
	}
	if got.TokenID != edID || got.CSRF != "csrf-1" || !got.ExpiresAt.Equal(ss.ExpiresAt) ||
		got.Token.ID != edID || got.Token.Name != "editor" || got.Token.Role != "editor" || !bytes.Equal(got.IDHash, sidHash) {
		t.Errorf("session = %+v", got)
	}
	// Expired at a later time.
	if _, err := s.Session(ctx, sidHash, now.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired session: %v, want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, store.HashToken("nope"), now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown session: %v, want ErrNotFound", err)
	}

	// Expiry deletes only expired sessions.
	_, oldHash, _ := store.NewSecret("")
	if err := s.CreateSession(ctx, store.Session{IDHash: oldHash, TokenID: edID, CSRF: "c", ExpiresAt: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ExpireSessions(ctx, now); err != nil || n != 1 {
		t.Errorf("expire: %d, %v; want 1", n, err)
	}
	if _, err := s.Session(ctx, sidHash, now); err != nil {
		t.Errorf("live session after expiry: %v", err)
	}

	// Sign out.
	if err := s.DeleteSession(ctx, sidHash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, sidHash, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted session: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, sidHash); err != nil {
		t.Errorf("deleting again: %v", err)
	}

	// Revoking the token ends its sessions.
	_, h2, _ := store.NewSecret("")
	if err := s.CreateSession(ctx, store.Session{IDHash: h2, TokenID: edID, CSRF: "c2", ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, edID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, h2, now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of a revoked token: %v, want ErrNotFound", err)
	}
}
