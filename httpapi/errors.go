package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"riskmap/index"
	"riskmap/ingest"
	"riskmap/internal/obs"
	"riskmap/layers"
	"riskmap/store"
)

// errorBody is the one shape of every error response: what is wrong in words a
// person can act on, the parameter or property at fault, a stable machine code, and
// for invalid features every problem by field.
type errorBody struct {
	Error   string           `json:"error"`
	Field   string           `json:"field,omitempty"`
	Code    string           `json:"code"`
	Details []layers.Problem `json:"details,omitempty"`
	// Rows names every rejected reading of a readings batch.
	Rows []ingest.RowError `json:"rows,omitempty"`
	// RequestID is the request's id (the X-Request-Id header), to find its log
	// lines.
	RequestID string `json:"request_id,omitempty"`
}

// paramError is a malformed or missing request parameter or body property.
type paramError struct {
	Field  string
	Reason string
}

func (e *paramError) Error() string { return e.Field + ": " + e.Reason }

func badParam(field, format string, args ...any) *paramError {
	return &paramError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

var (
	errRouteNotFound    = errors.New("no such endpoint")
	errMethodNotAllowed = errors.New("method not allowed on this endpoint")
	errFeatureNotFound  = errors.New("no such feature")
	errLoading          = errors.New("the index is still loading from the database; retry shortly")
)

// writeError maps err to an HTTP status and the error body. It is the one place where
// errors become statuses.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := http.StatusInternalServerError, errorBody{Error: err.Error(), Code: "internal"}
	var (
		verr    *layers.ValidationError
		perr    *paramError
		ferr    *index.FilterError
		tooBig  *http.MaxBytesError
		batch   *ingest.BatchError
		role    *roleError
		stale   *store.VersionConflictError
		limited *rateLimitError
	)
	switch {
	case errors.As(err, &verr):
		status, body.Code, body.Details = http.StatusBadRequest, "invalid", verr.Problems
		if len(verr.Problems) > 0 {
			body.Field = verr.Problems[0].Field
		}
	case errors.As(err, &batch):
		status, body.Code, body.Rows = http.StatusBadRequest, "invalid_readings", batch.Rows
		if len(batch.Rows) > 0 {
			body.Field = batch.Rows[0].Field
		}
	case errors.Is(err, ingest.ErrBatchTooLarge):
		status, body.Code, body.Field = http.StatusBadRequest, "too_many_readings", "body"
	case errors.Is(err, errNoToken), errors.Is(err, errBadToken), errors.Is(err, errBadSession):
		status, body.Code = http.StatusUnauthorized, "unauthorized"
		w.Header().Set("WWW-Authenticate", `Bearer realm="riskmap"`)
	case errors.Is(err, errWritesDisabled):
		status, body.Code = http.StatusForbidden, "writes_disabled"
	case errors.As(err, &role):
		status, body.Code = http.StatusForbidden, "forbidden"
	case errors.Is(err, errCSRF):
		status, body.Code, body.Field = http.StatusForbidden, "csrf", "X-CSRF-Token"
	case errors.Is(err, errPreconditionRequired):
		status, body.Code, body.Field = http.StatusPreconditionRequired, "precondition_required", "If-Match"
	case errors.As(err, &stale):
		status, body.Code, body.Field = http.StatusPreconditionFailed, "version_conflict", "If-Match"
		w.Header().Set("ETag", etag(stale.Current))
	case errors.Is(err, store.ErrForbiddenMove):
		status, body.Code, body.Field = http.StatusConflict, "forbidden_move", "hazard_status"
	case errors.Is(err, store.ErrAcked):
		status, body.Code = http.StatusConflict, "already_acknowledged"
	case errors.As(err, &perr):
		status, body.Code, body.Field = http.StatusBadRequest, "bad_request", perr.Field
	case errors.As(err, &ferr):
		status, body.Code, body.Field = http.StatusBadRequest, "bad_filter", ferr.Param
	case errors.As(err, &tooBig):
		status, body.Code, body.Field = http.StatusRequestEntityTooLarge, "body_too_large", "body"
		body.Error = fmt.Sprintf("the request body is larger than this endpoint's limit of %d bytes", tooBig.Limit)
	case errors.As(err, &limited):
		status, body.Code = http.StatusTooManyRequests, "rate_limited"
		w.Header().Set("Retry-After", strconv.Itoa(limited.retrySeconds()))
	case errors.Is(err, errCORSOrigin):
		status, body.Code, body.Field = http.StatusForbidden, "cors_origin", "Origin"
	case errors.Is(err, errMetricsToken):
		status, body.Code = http.StatusUnauthorized, "unauthorized"
		w.Header().Set("WWW-Authenticate", `Bearer realm="riskmap metrics"`)
	case errors.Is(err, index.ErrInvalidPolygon):
		status, body.Code, body.Field = http.StatusBadRequest, "invalid_geometry", "geometry"
	case errors.Is(err, layers.ErrUnknownLayer):
		status, body.Code, body.Field = http.StatusBadRequest, "unknown_layer", "layer"
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errFeatureNotFound), errors.Is(err, errRouteNotFound):
		status, body.Code = http.StatusNotFound, "not_found"
	case errors.Is(err, errMethodNotAllowed):
		status, body.Code = http.StatusMethodNotAllowed, "method_not_allowed"
	case errors.Is(err, store.ErrConflict):
		status, body.Code = http.StatusConflict, "conflict"
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrSchema),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, errLoading),
		errors.Is(err, ingest.ErrNotReady), errors.Is(err, errSensorsDisabled), errors.Is(err, errAuthDisabled),
		errors.Is(err, errEditsDisabled):
		status, body.Code = http.StatusServiceUnavailable, "unavailable"
	}
	// Every error answer is logged with the request's id (the logger adds it).
	switch {
	case status == http.StatusInternalServerError:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		body.Error = "internal error"
	case status >= 500:
		s.log.WarnContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "status", status, "code", body.Code, "err", err)
	default:
		s.log.InfoContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "status", status, "code", body.Code, "err", err)
	}
	body.RequestID = obs.RequestID(r.Context())
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// writeRaw writes an already encoded JSON body.
func writeRaw(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
