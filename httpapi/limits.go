package httpapi

import (
	"net/http"
)

// Body limits. Every route that reads a body reads it through
// http.MaxBytesReader with the limit below; bodyLimits lists them all, so that a
// body announced larger (Content-Length) is refused before the route runs — and
// before credentials are looked up — and so that the test of every limit
// (TestBodyLimits) and docs/operations.md have one list. An over-limit body is
// 413 {"code": "body_too_large"} naming the limit in bytes.
const (
	// MaxSmallBody is the limit of the small JSON bodies: sign-in, token,
	// alert acknowledgement, district signal and hazard move, in bytes.
	MaxSmallBody = 64 << 10
	// MaxAnyBody caps every body, of a route listed in bodyLimits or not, in bytes.
	MaxAnyBody = MaxReadingsBody
)

// bodyLimits maps "METHOD route-template" to the largest body that route reads,
// in bytes. Routes not listed read no body.
var bodyLimits = map[string]int64{
	"POST /api/v1/query":                  MaxBodyLen,
	"POST /api/v1/report":                 MaxBodyLen,
	"POST /api/v1/readings":               MaxReadingsBody,
	"POST /api/v1/features/{layer}":       MaxBodyLen,
	"PUT /api/v1/features/{layer}/{id}":   MaxBodyLen,
	"PATCH /api/v1/features/{layer}/{id}": MaxBodyLen,
	"POST /api/v1/hazards/{id}/status":    MaxSmallBody,
	"POST /api/v1/alerts/{id}/ack":        MaxSmallBody,
	"PUT /api/v1/signals/{kind}":          MaxSmallBody,
	"POST /api/v1/session":                MaxSmallBody,
	"POST /api/v1/tokens":                 MaxSmallBody,
}

// bodyLimit is the body limit of a request to the route template tmpl: its entry
// in bodyLimits, else MaxAnyBody.
func bodyLimit(method, tmpl string) int64 {
	if n, ok := bodyLimits[method+" "+tmpl]; ok {
		return n
	}
	return MaxAnyBody
}

// withBodyLimit refuses a body announced larger than the route's limit with 413,
// and caps every body at MaxAnyBody (a route reading a body applies its own,
// smaller limit too, which also catches bodies of unannounced length).
func (s *server) withBodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := bodyLimit(r.Method, routeTemplate(r))
		if r.ContentLength > limit {
			s.writeError(w, r, &http.MaxBytesError{Limit: limit})
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, MaxAnyBody)
		}
		next.ServeHTTP(w, r)
	})
}
