package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"riskmap/layers"
	"riskmap/store"
)

// errorBody is every error response: a stable machine code, a message a person can
// act on, and for invalid input the list of problems by field.
type errorBody struct {
	Error    string           `json:"error"`
	Message  string           `json:"message"`
	Problems []layers.Problem `json:"problems,omitempty"`
}

// writeError maps err to an HTTP status and a JSON body. It is the one place where
// errors become statuses.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, "internal"
	body := errorBody{Message: err.Error()}
	var verr *layers.ValidationError
	switch {
	case errors.As(err, &verr):
		status, code = http.StatusBadRequest, "invalid"
		body.Problems = verr.Problems
	case errors.Is(err, layers.ErrUnknownLayer):
		status, code = http.StatusBadRequest, "unknown_layer"
	case errors.Is(err, store.ErrNotFound), errors.Is(err, errRouteNotFound):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, errMethodNotAllowed):
		status, code = http.StatusMethodNotAllowed, "method_not_allowed"
	case errors.Is(err, store.ErrConflict):
		status, code = http.StatusConflict, "conflict"
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrSchema),
		errors.Is(err, context.DeadlineExceeded):
		status, code = http.StatusServiceUnavailable, "unavailable"
	}
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Message = "internal error"
	}
	body.Error = code
	writeJSON(w, status, body)
}

var (
	errRouteNotFound    = errors.New("no such endpoint")
	errMethodNotAllowed = errors.New("method not allowed on this endpoint")
)

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
