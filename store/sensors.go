package store

import (
	"errors"
	"time"

	"riskmap/sensors"
)

// ErrAcked: the alert was acknowledged already (by someone else, or before).
var ErrAcked = errors.New("alert already acknowledged")

// StoredAlert is an alert as kept: the evaluator's alert with its id, when it was
// stored and its acknowledgement.
type StoredAlert struct {
	ID int64
	sensors.Alert
	// RaisedAt is when the alert was stored (database clock), UTC.
	RaisedAt time.Time
	// AckedAt is zero while the alert is open.
	AckedAt time.Time
	AckedBy string
	AckNote string
}

// Open reports whether the alert is not acknowledged.
func (a *StoredAlert) Open() bool { return a.AckedAt.IsZero() }

// AlertQuery selects alerts. The zero value selects every alert, newest first.
type AlertQuery struct {
	// Open selects only alerts not acknowledged, worst first (see AlertSeverity),
	// then newest first.
	Open bool
	// Drill: nil any, else only drill (true) or only real (false) alerts.
	Drill *bool
	// Layer and FeatureID select one object's alerts (FeatureID 0: any).
	Layer     string
	FeatureID int64
	// Limit bounds the answer (0: 1,000).
	Limit int
}

// AlertSeverity orders alert target levels worst first for "open alerts, worst
// first": red, orange, yellow, no data, blue, none. A gauge gone silent in a storm
// ranks above a blue level, below a yellow one.
var AlertSeverity = []string{"red", "orange", "yellow", "no_data", "blue", "none"}

// FieldPatch sets fields of one feature (the evaluated state of a monitored
// object). Fields must be fields of the layer in the registry; Values are in the
// registry's types (nil for null).
type FieldPatch struct {
	Layer     string
	FeatureID int64
	Fields    []string
	Values    []any
}

// SeriesPoint is a point of a reading history: one reading (Count 1, Min = Max =
// Value) or, downsampled, the readings of a time bucket starting at Time (Value
// their mean).
type SeriesPoint struct {
	Time            time.Time
	Value, Min, Max float64
	Count           int
}

// Signal is one setting of a district weather signal.
type Signal struct {
	ID int64
	// Kind is "typhoon" or "rainstorm"; Level "none" (lifted), "white", "blue",
	// "yellow", "orange" or "red".
	Kind, Level string
	SetAt       time.Time
	SetBy       string
	Note        string
}

// SignalKinds and SignalLevels are the codes a Signal may carry, levels from
// calm to most severe.
var (
	SignalKinds  = []string{"typhoon", "rainstorm"}
	SignalLevels = []string{"none", "white", "blue", "yellow", "orange", "red"}
)
