package httpapi

import (
	"net/http"
	"strings"
)

// Security headers. Every response gets X-Content-Type-Options: nosniff, a
// Referrer-Policy, X-Frame-Options: DENY and, unless the route set its own (the page,
// the HTML report), a Content-Security-Policy that allows nothing and no framing —
// an API response is data, never a document. Strict-Transport-Security is sent
// when the request came over TLS or the public URL is https (TLS ends at the
// proxy).
const (
	// apiCSP is the policy of every response but the page's and the HTML report's.
	apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	// pageCSP is the wall map's policy: its own scripts only (no inline script or
	// handler: static/ has none), MapLibre's workers from blob:, raster basemap
	// tiles from any http(s) host (the configured basemap), styles from its own
	// files plus inline style attributes (MapLibre sets them), never framed.
	pageCSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; " +
		"img-src 'self' data: blob: http: https:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; child-src blob:; connect-src 'self' http: https:"
	referrerPolicy = "strict-origin-when-cross-origin"
	hstsValue      = "max-age=31536000"
)

// withSecurityHeaders sets the security headers before the route runs; a route may
// replace the Content-Security-Policy with its own.
func (s *server) withSecurityHeaders(next http.Handler) http.Handler {
	https := strings.HasPrefix(s.publicURL, "https://")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", referrerPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", apiCSP)
		if https || r.TLS != nil {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		next.ServeHTTP(w, r)
	})
}
