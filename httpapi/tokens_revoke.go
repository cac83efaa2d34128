package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
)

// revokeToken: DELETE /api/v1/tokens/{id} — revoke a token and end its sessions
// (admin); it stops working in this process at once (the lookup cache is cleared),
// in other processes within their cache's lifetime (5 s). 204; 404 for an unknown id.
func (s *server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	who, err := s.authorize(r, RoleAdmin)
	if err != nil {
		return err
	}
	if s.tokens == nil {
		return errAuthDisabled
	}
	idS := mux.Vars(r)["id"]
	id, err := strconv.ParseInt(idS, 10, 64)
	if err != nil || id <= 0 {
		return badParam("id", "%q is not a token id (a positive whole number)", idS)
	}
	if err := s.tokens.RevokeToken(who.context(r), id); err != nil {
		return err
	}
	s.auth.clearAll()
	w.WriteHeader(http.StatusNoContent)
	return nil
}
