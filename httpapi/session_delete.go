package httpapi

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"time"
)

// deleteSession: DELETE /api/v1/session — sign out: the session is deleted (the
// request must carry its CSRF token) and the cookie cleared; 204, also when no
// session was open.
func (s *server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	ck, err := r.Cookie(sessionCookie)
	if err == nil && ck.Value != "" && s.tokens != nil {
		if _, err := s.authorize(r, RoleViewer, RoleEditor, RoleSensor); err == nil {
			h := sha256.Sum256([]byte(ck.Value))
			if err := s.tokens.DeleteSession(r.Context(), h[:]); err != nil {
				return err
			}
			s.auth.forget(h)
		} else if errors.Is(err, errCSRF) {
			return err
		}
	}
	http.SetCookie(w, s.cookie(r, "", time.Time{}))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
