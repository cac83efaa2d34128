package store

import "fmt"

// ImportResult counts what an import (upsert by external_id) did.
type ImportResult struct {
	// Inserted rows had an external_id not stored before; Updated rows replaced the
	// attributes and geometry of the feature with their external_id (its id kept,
	// its version bumped); Unchanged rows equalled the stored feature and were not
	// written (no version bump, no change-log row).
	Inserted, Updated, Unchanged int
}

// RowError is the error of one row of a bulk write: Row is its 0-based position in
// the slice given to the store. It wraps the cause (a *layers.ValidationError, a
// *ConflictError, ...), so errors.As reaches both.
type RowError struct {
	Row int
	Err error
}

func (e *RowError) Error() string { return fmt.Sprintf("row %d: %v", e.Row, e.Err) }

// Unwrap returns the row's cause.
func (e *RowError) Unwrap() error { return e.Err }
