package httpapi

import (
	"net/http"
	"strings"

	"riskmap/store"
)

// createToken: POST /api/v1/tokens {"name", "role"} — a new token (admin): 201
// with the token itself, shown this once (only its SHA-256 is stored).
func (s *server) createToken(w http.ResponseWriter, r *http.Request) error {
	id, err := s.authorize(r, RoleAdmin)
	if err != nil {
		return err
	}
	if s.tokens == nil {
		return errAuthDisabled
	}
	var body struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	secret, hash, err := store.NewSecret(store.TokenPrefix)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(body.Name)
	tid, err := s.tokens.CreateToken(id.context(r), store.NewToken{Name: name, Role: body.Role, CreatedBy: id.Name, Hash: hash})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Role  string `json:"role"`
		Token string `json:"token"`
	}{tid, name, body.Role, secret})
	return nil
}
