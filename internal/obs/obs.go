// Package obs carries a request's id in its context and adds it to every log line
// written with that context: a log/slog Handler wrapper. The HTTP layer sets the id
// (httpapi: X-Request-Id); anything logging with the request's context
// (Logger.InfoContext(r.Context(), ...)) then carries request_id without knowing it.
package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

type ctxKey struct{}

// MaxIDLen is the longest request id taken from a client.
const MaxIDLen = 64

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// ValidID reports whether id is a sane request id to take from a client: 1 to
// MaxIDLen characters of [A-Za-z0-9._-] (nothing that could forge a log line or a
// header).
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NewID returns a new random request id: 24 hexadecimal digits (96 bits).
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Handler wraps a slog.Handler: a record logged with a context carrying a request
// id gets the attribute request_id.
type Handler struct {
	next slog.Handler
}

// NewHandler wraps next; a Handler is returned as is (never wrapped twice).
func NewHandler(next slog.Handler) slog.Handler {
	if h, ok := next.(*Handler); ok {
		return h
	}
	return &Handler{next: next}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(as)}
}

// WithGroup implements slog.Handler. The request id stays at the top level only
// when no group is open; inside a group it lands in the group, as slog does for
// every attribute added by a handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name)}
}
