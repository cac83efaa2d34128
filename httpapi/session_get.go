package httpapi

import "net/http"

// getSession: GET /api/v1/session — who am I: the signed-in session's name, role,
// CSRF token and end, or a bearer token's name and role; 401 when neither.
func (s *server) getSession(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authenticate(r)
	if err != nil {
		return err
	}
	v := sessionView{Name: c.id.Name, Role: c.id.Role}
	if c.session != nil {
		v.CSRF = c.session.CSRF
		exp := c.session.ExpiresAt
		v.ExpiresAt = &exp
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
	return nil
}
