// Package store holds what every riskmap store shares: the errors callers test with
// errors.Is / errors.As, and the options of a write. The implementations live in
// subpackages (postgis); consumers declare the small interfaces they need.
package store

import (
	"errors"
	"fmt"
)

// ErrNotFound: the feature (layer, id) does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnavailable: the store cannot be reached (connection refused, database
// restarting). Retrying later may succeed; nothing was written.
var ErrUnavailable = errors.New("store unavailable")

// ErrConflict: the write collides with another row (a unique external_id).
var ErrConflict = errors.New("conflict")

// ErrSchema: the database schema is not the version this binary needs.
var ErrSchema = errors.New("schema version mismatch")

// ConflictError says which unique field collided. It matches ErrConflict.
type ConflictError struct {
	Layer string
	Field string
	Value string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s: %s %q is already used by another feature", e.Layer, e.Field, e.Value)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// WriteOptions describe who makes a write and why; they are recorded in history.
type WriteOptions struct {
	// Actor is the user or process making the change ("seed", a token name, ...).
	Actor string
	// Note explains the change (e.g. a hazard status transition), may be empty.
	Note string
}
