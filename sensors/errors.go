package sensors

import (
	"fmt"
	"strconv"
	"time"
)

// RejectReason says why Observe rejected a reading.
type RejectReason string

// Reasons a reading is rejected.
const (
	// RejectUnknownSensor: no sensor with the reading's SensorID was set.
	RejectUnknownSensor RejectReason = "unknown_sensor"
	// RejectInactive: the sensor is set but not Active (out of service).
	RejectInactive RejectReason = "inactive"
	// RejectNotFinite: the value is NaN or ±Inf.
	RejectNotFinite RejectReason = "not_finite"
	// RejectOutOfRange: the value is outside the sensor's physical range
	// [RangeMin, RangeMax] (inclusive): an impossible reading, a faulty device.
	RejectOutOfRange RejectReason = "out_of_range"
	// RejectBadTime: the time is zero or outside [2000-01-01, 2200-01-01) UTC —
	// typically a device whose clock was reset to 1970.
	RejectBadTime RejectReason = "bad_time"
	// RejectFuture: the time lies more than Options.MaxAhead after the latest Tick.
	RejectFuture RejectReason = "future"
)

// ReadingError is a reading Observe rejected; it changed nothing. Use errors.As
// and switch on Reason.
type ReadingError struct {
	Reason   RejectReason
	SensorID int64
	Time     time.Time
	Value    float64
	// Min, Max and Unit are the sensor's physical range (RejectOutOfRange only).
	Min, Max float64
	Unit     string
	// Limit is the latest time accepted (RejectFuture only).
	Limit time.Time
}

func (e *ReadingError) Error() string {
	s := fmt.Sprintf("sensors: sensor %d reading %s at %s rejected: ", e.SensorID,
		strconv.FormatFloat(e.Value, 'g', -1, 64), e.Time.UTC().Format(time.RFC3339Nano))
	switch e.Reason {
	case RejectUnknownSensor:
		return s + "unknown sensor"
	case RejectInactive:
		return s + "the sensor is inactive"
	case RejectNotFinite:
		return s + "the value is not a finite number"
	case RejectOutOfRange:
		return s + fmt.Sprintf("outside the physical range [%g, %g] %s", e.Min, e.Max, e.Unit)
	case RejectBadTime:
		return s + "the time is zero or outside the years 2000–2199"
	case RejectFuture:
		return s + "the time is after " + e.Limit.UTC().Format(time.RFC3339Nano) + " (latest tick + MaxAhead)"
	}
	return s + string(e.Reason)
}

// SensorError is a sensor SetSensor refused; the evaluator is unchanged.
type SensorError struct {
	SensorID int64
	// Field is the feature.Sensor field at fault: "ID", "Kind", "Layer",
	// "FeatureID", "Thresholds", "Range".
	Field  string
	Reason string
}

func (e *SensorError) Error() string {
	return fmt.Sprintf("sensors: sensor %d: %s: %s", e.SensorID, e.Field, e.Reason)
}
