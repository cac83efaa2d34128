// Package feature holds the value types that flow between riskmap's packages: a
// feature of a layer and a change to one. It is pure: no I/O, no database, no HTTP.
package feature

import (
	"time"

	"github.com/paulmach/orb"
)

// Feature is one row of a layer table.
//
// Geometry is in WGS84 / CGCS2000 longitude-latitude degrees (EPSG:4326), as orb
// types. Props holds every field of the layer by name with the canonical Go type of
// its layers.FieldType (string, int64, float64, bool, time.Time) or nil for null.
// A Feature returned by a store is owned by the caller; geometry is never shared
// between two returned features, so callers may transform it in place.
type Feature struct {
	Layer string
	// ID is the primary key: the one id of the API, MVT feature ids and events.
	// 0 means "not stored yet" when inserting.
	ID int64
	// Version starts at 1 and increases by one on every update.
	Version   int64
	UpdatedAt time.Time
	Geometry  orb.Geometry
	Props     map[string]any
}

// Op is what a change did to a feature.
type Op string

// Operations recorded in the change log.
const (
	Insert Op = "insert"
	Update Op = "update"
	Delete Op = "delete"
)

// Change is one entry of the store's change log: feature ID of Layer was inserted,
// updated or deleted, becoming Version. Seq is the log's global sequence number,
// increasing in the order the changes were made. A delete is a tombstone whose
// Version is one past the last stored version.
type Change struct {
	Seq     int64
	Layer   string
	ID      int64
	Op      Op
	Version int64
	Time    time.Time
}

// Thresholds are a sensor's alert thresholds in its unit: a reading at or above
// Blue is warning level blue (IV), ... at or above Red is red (I).
// Blue <= Yellow <= Orange <= Red.
type Thresholds struct {
	Blue, Yellow, Orange, Red float64
}

// Sensor is one monitoring sensor attached to a feature of a slope or waterlogging
// spot layer. Kind is a layers.SensorKind code; values are in that kind's unit.
type Sensor struct {
	ID         int64
	ExternalID string
	Kind       string
	// Layer and FeatureID name the monitored feature.
	Layer     string
	FeatureID int64
	// Thresholds is nil for a sensor that only records (no alerting).
	Thresholds *Thresholds
	// RangeMin and RangeMax bound a physically possible reading.
	RangeMin, RangeMax float64
	Active             bool
}
