package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
)

// feature: GET /api/v1/features/{layer}/{id} — one feature as GeoJSON.
func (s *server) feature(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	id, err := strconv.ParseInt(vars["id"], 10, 64)
	if err != nil || id <= 0 {
		s.writeError(w, r, badParam("id", "%q is not a feature id (a positive whole number)", vars["id"]))
		return
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		s.writeError(w, r, err)
		return
	}
	rec, ok, err := s.ix.Get(vars["layer"], id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !ok {
		s.writeError(w, r, fmt.Errorf("%s id %d: %w", vars["layer"], id, errFeatureNotFound))
		return
	}
	writeRaw(w, geojsonType, rec.GeoJSON())
}
