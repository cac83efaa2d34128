package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// CORS: browsers on other origins (another bureau's web GIS) may call the API only
// when their origin is listed exactly in Config.CORSOrigins (none by default). A
// listed origin gets Access-Control-Allow-Origin with itself and
// Access-Control-Allow-Credentials: true (the session cookie is SameSite=Strict, so
// a bearer token is what such a page sends); a preflight (OPTIONS with
// Access-Control-Request-Method) is answered 204 here for a listed origin and 403
// otherwise. Vary: Origin is on every response when any origin is listed.

const (
	corsMethods = "GET, HEAD, POST, PUT, PATCH, DELETE"
	corsHeaders = "Authorization, Content-Type, If-Match, If-None-Match, X-CSRF-Token, X-Request-Id, Last-Event-ID"
	corsExpose  = "ETag, Location, Retry-After, X-Request-Id"
	corsMaxAge  = "600"
)

// errCORSOrigin: a preflight from an origin not allowed.
var errCORSOrigin = fmt.Errorf("this origin may not call the API (CORS): it is not among the allowed origins")

// ParseCORSOrigins checks the allowed origins: each scheme://host[:port], no path,
// no trailing slash, no wildcard.
func ParseCORSOrigins(list []string) ([]string, error) {
	var out []string
	for _, o := range list {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(o, "*") {
			return nil, fmt.Errorf("httpapi: CORS origin %q: want scheme://host[:port], e.g. https://gis.example.gov.cn", o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// withCORS answers preflights and marks responses to allowed origins.
func (s *server) withCORS(next http.Handler) http.Handler {
	if len(s.corsOrigins) == 0 {
		return next
	}
	allowed := map[string]bool{}
	for _, o := range s.corsOrigins {
		allowed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		ok := origin != "" && allowed[strings.ToLower(origin)]
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if !ok {
				s.writeError(w, r, errCORSOrigin)
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", corsExpose)
		}
		next.ServeHTTP(w, r)
	})
}
