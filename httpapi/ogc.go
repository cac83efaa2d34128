package httpapi

import "github.com/gorilla/mux"

// ogcRoutes registers OGC API – Features under /ogc.
func (s *server) ogcRoutes(r *mux.Router) {}
