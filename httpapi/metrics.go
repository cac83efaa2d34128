package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"
)

// metricsPath is where the Prometheus metrics are served.
const metricsPath = "/metrics"

// Metrics is what the handler needs of the metrics (package metrics is one): it
// observes every request when it ends, and serves the scrape.
type Metrics interface {
	// ObserveRequest records one request: its route template ("unmatched" when
	// no route matched), method, status and duration.
	ObserveRequest(route, method string, status int, d time.Duration)
	// Handler serves the metrics in Prometheus' text format.
	Handler() http.Handler
}

var errMetricsToken = errors.New("the metrics need the metrics token: Authorization: Bearer <token>")

// withMetricsRoute serves GET /metrics ahead of the router: it is not rate
// limited and the page's read access does not apply to it. With a metrics token
// configured the scrape must send it as a bearer token (Prometheus:
// authorization.credentials); without one /metrics is open, for a scraper on a
// private network — then do not route /metrics through the public proxy. Without
// Metrics it is 404 like any unknown path.
func (s *server) withMetricsRoute(next http.Handler) http.Handler {
	if s.metrics == nil {
		return next
	}
	scrape := s.metrics.Handler()
	var want [32]byte
	if s.metricsToken != "" {
		want = sha256.Sum256([]byte("Bearer " + s.metricsToken))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != metricsPath {
			next.ServeHTTP(w, r)
			return
		}
		if info, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
			info.route = metricsPath
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.writeError(w, r, errMethodNotAllowed)
			return
		}
		if s.metricsToken != "" {
			got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
			if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				s.writeError(w, r, errMetricsToken)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		scrape.ServeHTTP(w, r)
	})
}
