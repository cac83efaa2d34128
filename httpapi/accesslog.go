package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// statusWriter records a response's status and body bytes. It passes Flush and the
// deadlines of http.ResponseController through (Unwrap), which the event stream
// needs.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// FlushError flushes the underlying writer (http.ResponseController calls it).
func (w *statusWriter) FlushError() error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher for callers asserting it.
func (w *statusWriter) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// quietRoutes are logged at debug level: probes and scrapes, every few seconds.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, metricsPath: true}

// withAccessLog writes one log line per request when it ends — method, route
// template, path, status, body bytes, duration in milliseconds, client address
// and request id (from the context) — and observes its latency in the metrics.
func (s *server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			d := time.Since(start)
			status := sw.status
			if status == 0 {
				status = http.StatusOK // nothing written: net/http answers 200
			}
			route := "unmatched"
			if info, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok && info.route != "" {
				route = info.route
			}
			if s.metrics != nil {
				s.metrics.ObserveRequest(route, r.Method, status, d)
			}
			level := slog.LevelInfo
			if quietRoutes[route] {
				level = slog.LevelDebug
			}
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
				slog.Int("status", status), slog.Int64("bytes", sw.bytes),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.String("remote", s.clientAddr(r).String()))
		}()
		next.ServeHTTP(sw, r)
	})
}
