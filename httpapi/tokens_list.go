package httpapi

import (
	"net/http"
	"time"

	"riskmap/store"
)

// tokenView is a token as the admin routes show it: never the token or its hash.
type tokenView struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func viewToken(t store.Token) tokenView {
	v := tokenView{ID: t.ID, Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy}
	if !t.RevokedAt.IsZero() {
		at := t.RevokedAt
		v.RevokedAt = &at
	}
	if !t.LastUsedAt.IsZero() {
		at := t.LastUsedAt
		v.LastUsedAt = &at
	}
	return v
}

// listTokens: GET /api/v1/tokens — every token, revoked ones too (admin).
func (s *server) listTokens(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, RoleAdmin); err != nil {
		return err
	}
	if s.tokens == nil {
		return errAuthDisabled
	}
	list, err := s.tokens.Tokens(r.Context())
	if err != nil {
		return err
	}
	out := make([]tokenView, len(list))
	for i, t := range list {
		out[i] = viewToken(t)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
	return nil
}
