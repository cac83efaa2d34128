package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"riskmap/layers"
)

// Roles are the roles an API token may have: viewer reads; editor edits features,
// moves hazard status, acknowledges alerts and sets district signals; sensor posts
// readings only; admin may do everything and manages tokens.
var Roles = []string{"viewer", "editor", "sensor", "admin"}

// TokenPrefix starts every API token, so a leaked one is recognisable (secret
// scanners, logs).
const TokenPrefix = "rmk_"

// Token is an API token as stored: never the token itself, only its SHA-256 (which
// no listing returns).
type Token struct {
	ID        int64
	Name      string
	Role      string
	CreatedAt time.Time
	CreatedBy string
	// RevokedAt is zero while the token works.
	RevokedAt time.Time
	// LastUsedAt is zero when the token was never used; it is updated at most about
	// once a minute per token.
	LastUsedAt time.Time
}

// Revoked reports whether the token was revoked.
func (t *Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// NewToken is a token to store: its name, role, who makes it, and the SHA-256 of
// the token (HashToken).
type NewToken struct {
	Name, Role, CreatedBy string
	Hash                  []byte
}

// Check validates the token to store the same way on both stores: a name of 1 to
// 100 characters, one of Roles, a 32-byte hash.
func (t NewToken) Check() error {
	var problems []layers.Problem
	if n := utf8.RuneCountInString(t.Name); n < 1 || n > 100 {
		problems = append(problems, layers.Problem{Field: "name", Reason: "must be 1 to 100 characters"})
	}
	if !slices.Contains(Roles, t.Role) {
		problems = append(problems, layers.Problem{Field: "role", Reason: fmt.Sprintf("%q is not one of viewer, editor, sensor, admin", t.Role)})
	}
	if len(t.Hash) != sha256.Size {
		problems = append(problems, layers.Problem{Field: "token_hash", Reason: "must be a SHA-256 (32 bytes)"})
	}
	if problems != nil {
		return &layers.ValidationError{Layer: "api_tokens", Problems: problems}
	}
	return nil
}

// Session is a page's sign-in session: the SHA-256 of the random id its cookie
// holds, the token it was opened with (Token: that token as stored, filled in by
// lookups), the CSRF token the page sends back on writes, and when it ends.
type Session struct {
	IDHash    []byte
	TokenID   int64
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
	Token     Token
}

// HashToken is the SHA-256 stored for a token or session id.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewSecret returns a fresh random secret of 32 bytes from crypto/rand, base64url
// without padding, after prefix, and its SHA-256.
func NewSecret(prefix string) (secret string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("random token: %w", err)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashToken(secret), nil
}
