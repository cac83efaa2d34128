package httpapi

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"riskmap/internal/obs"
)

// RequestIDHeader carries a request's id: taken from the request when sane (1–64
// characters of [A-Za-z0-9._-]), else made here, and always sent back. Every log
// line of the request (the logger's handler is wrapped by obs.NewHandler), the
// access log line and every error body ("request_id") carry it.
const RequestIDHeader = "X-Request-Id"

// reqInfo is what the router learns of a request that the middleware around it
// (access log, metrics) needs after it: the matched route's template.
type reqInfo struct {
	route string // "" when no route matched
}

type reqInfoKey struct{}

// withRequestID gives the request its id (context and response header) and the
// reqInfo the router fills in.
func (s *server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !obs.ValidID(id) {
			id = obs.NewID()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := obs.WithRequestID(r.Context(), id)
		ctx = context.WithValue(ctx, reqInfoKey{}, &reqInfo{})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// withRoute records the matched route's template in the request's reqInfo. It is
// the router's first middleware.
func (s *server) withRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
			info.route = routeTemplate(r)
		}
		next.ServeHTTP(w, r)
	})
}

// routeTemplate is the path template of the route mux matched ("/tiles/{layers}/{z}/{x}/{y}.mvt"),
// or "" outside a matched route.
func routeTemplate(r *http.Request) string {
	rt := mux.CurrentRoute(r)
	if rt == nil {
		return ""
	}
	tmpl, err := rt.GetPathTemplate()
	if err != nil {
		return ""
	}
	return tmpl
}
