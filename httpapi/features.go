package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
)

// feature: GET /api/v1/features/{layer}/{id} — one feature as GeoJSON.
func (s *server) feature(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	id, err := strconv.ParseInt(vars["id"], 10, 64)
	if err != nil || id <= 0 {
		return badParam("id", "%q is not a feature id (a positive whole number)", vars["id"])
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	rec, ok, err := s.ix.Get(vars["layer"], id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s id %d: %w", vars["layer"], id, errFeatureNotFound)
	}
	// The version is the ETag an edit's If-Match names (see edits.go).
	w.Header().Set("ETag", etag(rec.Version))
	writeRaw(w, geojsonType, rec.GeoJSON())
	return nil
}
