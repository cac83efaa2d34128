package httpapi

import "github.com/gorilla/mux"

// exportRoutes registers GET /api/v1/export.
func (s *server) exportRoutes(r *mux.Router) {}
