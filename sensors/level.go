package sensors

import (
	"fmt"
	"slices"

	"riskmap/layers"
)

// Level is a warning level as the evaluator works with it: the five levels of the
// registry's warning scale (layers.Registry.WarningLevels), whose values are their
// registry ranks — None 0, Blue 1 (IV), Yellow 2 (III), Orange 3 (II), Red 4 (I) —
// plus NoData.
//
// NoData ("no data") is not on the ordered scale and is not a registry warning
// level: it says the evaluator does not know the level because the sensors that
// would decide it are silent. It is neither calmer nor more severe than a level, so
// never compare it with < or >; use OnScale first. Its value is -1, like the
// registry's Rank of an unknown code. The warning_level column of a layer cannot
// hold it: a map shows it apart from calm (with ObjectState.LastLevel, the level
// the sensors last had).
type Level int8

// The warning levels.
const (
	NoData Level = -1
	None   Level = 0
	Blue   Level = 1
	Yellow Level = 2
	Orange Level = 3
	Red    Level = 4
)

// levelCodes are the registry's warning level codes by rank.
var levelCodes = [...]string{"none", "blue", "yellow", "orange", "red"}

// NoDataCode is the code of NoData.
const NoDataCode = "no_data"

// OnScale reports whether l is one of None … Red (not NoData, not invalid).
func (l Level) OnScale() bool { return l >= None && l <= Red }

// Valid reports whether l is on the scale or NoData.
func (l Level) Valid() bool { return l == NoData || l.OnScale() }

// Code is the level's registry code ("none", "blue", "yellow", "orange", "red") or
// "no_data"; an invalid level gives "level(N)".
func (l Level) Code() string {
	switch {
	case l == NoData:
		return NoDataCode
	case l.OnScale():
		return levelCodes[l]
	}
	return fmt.Sprintf("level(%d)", int8(l))
}

// String is Code.
func (l Level) String() string { return l.Code() }

// MarshalText encodes the level as its code, so a Level is a JSON string.
func (l Level) MarshalText() ([]byte, error) {
	if !l.Valid() {
		return nil, fmt.Errorf("sensors: invalid level %d", int8(l))
	}
	return []byte(l.Code()), nil
}

// UnmarshalText decodes a code written by MarshalText.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// ParseLevel returns the level with the given code (exact, case-sensitive).
func ParseLevel(code string) (Level, error) {
	if code == NoDataCode {
		return NoData, nil
	}
	if i := slices.Index(levelCodes[:], code); i >= 0 {
		return Level(i), nil
	}
	return NoData, fmt.Errorf("sensors: unknown warning level %q", code)
}

// checkRegistryLevels verifies that the registry's warning scale is the one Level
// encodes, so Level values are registry ranks.
func checkRegistryLevels(reg *layers.Registry) error {
	if got := reg.WarningLevels().Codes(); !slices.Equal(got, levelCodes[:]) {
		return fmt.Errorf("sensors: the registry's warning levels %v are not %v", got, levelCodes)
	}
	return nil
}

// Trend is the direction of a sensor's values over Options.TrendWindow; the codes
// are those of the registry's "trend" field. TrendUnknown is the empty string: not
// enough readings in the window, or the sensor is silent.
type Trend string

// Trends.
const (
	TrendUnknown Trend = ""
	Rising       Trend = "rising"
	Steady       Trend = "steady"
	Falling      Trend = "falling"
)

// Status is whether a sensor (one of its tracks: real or drill) is reporting.
type Status string

// Statuses.
const (
	// Pending: no reading yet, and not yet silent for longer than allowed since the
	// evaluator began watching it. Counts as calm (level None) for its object.
	Pending Status = "pending"
	// Live: the latest reading is recent enough.
	Live Status = "live"
	// Silent: no reading for longer than Options.SilentMultiple × the sensor's
	// reporting interval; its level is NoData.
	Silent Status = "silent"
)

// Reason says why an alert was raised.
type Reason string

// Reasons.
const (
	// ReasonThreshold: a reading moved the level — up at once across a threshold,
	// or down after the hysteresis margin and hold.
	ReasonThreshold Reason = "threshold"
	// ReasonNoData: the sensor fell silent (To is NoData).
	ReasonNoData Reason = "no_data"
	// ReasonRecovered: a silent sensor reported again (From is NoData).
	ReasonRecovered Reason = "recovered"
	// ReasonConfig: SetSensor changed the thresholds and so the level of the
	// latest value.
	ReasonConfig Reason = "config"
)
