package httpapi

import (
	"net/http"
)

// healthz: the process is alive and serving HTTP. It does not touch the database.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyBody is the answer of /readyz.
type readyBody struct {
	Status  string   `json:"status"` // loading | ready | degraded | unavailable
	Reasons []string `json:"reasons,omitempty"`
}

// readyz: can the process answer? 503 only before the index is first loaded (or,
// without a change feed, when the store does not answer). Once loaded, reads and
// tiles are answered from memory whatever the database does, so a load balancer
// must keep routing: 200 "ready", or 200 "degraded" with the reasons the index may be
// behind the database (the database unreachable, the change feed reconnecting).
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready == nil {
		if err := s.store.Ping(r.Context()); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, readyBody{Status: "unavailable", Reasons: []string{err.Error()}})
			return
		}
		writeJSON(w, http.StatusOK, readyBody{Status: "ready"})
		return
	}
	loaded, reasons := s.ready.Ready()
	if !loaded {
		writeJSON(w, http.StatusServiceUnavailable, readyBody{Status: "loading", Reasons: reasons})
		return
	}
	if len(reasons) == 0 && s.store != nil {
		if err := s.store.Ping(r.Context()); err != nil {
			reasons = append(reasons, "database: "+err.Error())
		}
	}
	if len(reasons) > 0 {
		writeJSON(w, http.StatusOK, readyBody{Status: "degraded", Reasons: reasons})
		return
	}
	writeJSON(w, http.StatusOK, readyBody{Status: "ready"})
}
