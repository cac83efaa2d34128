package events

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/paulmach/orb/geojson"

	"riskmap/feature"
	"riskmap/layers"
)

// Change is the payload (Event.Data) of a change event, for clients that decode
// it; ChangeEvent encodes it. As JSON:
//
//	{"seq":1234,"layer":"waterlogging_spots","id":17,"version":5,"op":"update",
//	 "time":"2025-06-01T08:30:00.123456Z",
//	 "properties":{"external_id":"WL-017","name":"泥岗下穿通道",...,"warning_level":"orange"},
//	 "geometry":{"type":"Point","coordinates":[114.121,22.5505]}}
//
// Properties and geometry are the feature's full state after the change — every
// field of its layer in registry order, null when unset, encoded as the rest of the
// API encodes them (dates "YYYY-MM-DD") — never a difference: the hub may replace a
// change by a later one of the same feature (coalescing), so each must stand alone.
// A delete has neither. A client treats insert and update alike (upsert this state),
// ignores a change whose version is not above the one it holds, and ignores a delete
// of a feature it does not have.
type Change struct {
	// Seq is the change log's sequence number, also the event's id.
	Seq   int64  `json:"seq"`
	Layer string `json:"layer"`
	ID    int64  `json:"id"`
	// Version is the feature's version after the change (for a delete, one past
	// the last stored version).
	Version int64      `json:"version"`
	Op      feature.Op `json:"op"`
	// Time is when the change was made (the change log's time, UTC); omitted when
	// unknown.
	Time       time.Time       `json:"time,omitzero"`
	Properties map[string]any  `json:"properties,omitempty"`
	Geometry   json.RawMessage `json:"geometry,omitempty"`
}

// ChangeEvent builds the event of one change-log entry c.
//
// after is the feature's full state after the change (props canonical, as a store
// returns them) for an insert or update, and nil for a delete. warningBefore is the
// rank of the feature's warning level just before the change (index.Record.Warning
// of the record the change replaces), -1 when it had none or did not exist; with
// after's level it makes Event.Warnings. The event's id is c.Seq; it may be
// coalesced (NoCoalesce false).
func ChangeEvent(reg *layers.Registry, c feature.Change, after *feature.Feature, warningBefore int8) (Event, error) {
	l, err := reg.Layer(c.Layer)
	if err != nil {
		return Event{}, fmt.Errorf("events: change %d: %w", c.Seq, err)
	}
	e := Event{ID: c.Seq, Type: TypeChange, Layer: c.Layer, FeatureID: c.ID}
	_, hasWarning := l.Field("warning_level")
	if hasWarning && warningBefore >= 0 && warningBefore < 16 {
		e.Warnings |= 1 << warningBefore
	}
	b := make([]byte, 0, 512)
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, c.Seq, 10)
	b = append(b, `,"layer":`...)
	b = strconv.AppendQuote(b, c.Layer)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, c.ID, 10)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, c.Version, 10)
	b = append(b, `,"op":`...)
	b = strconv.AppendQuote(b, string(c.Op))
	if !c.Time.IsZero() {
		b = append(b, `,"time":`...)
		b = strconv.AppendQuote(b, c.Time.UTC().Format(time.RFC3339Nano))
	}
	switch c.Op {
	case feature.Delete:
	case feature.Insert, feature.Update:
		if after == nil || after.Geometry == nil {
			return Event{}, fmt.Errorf("events: change %d (%s %s id %d): the feature's state after the change, with its geometry, is required", c.Seq, c.Op, c.Layer, c.ID)
		}
		if after.Layer != c.Layer || after.ID != c.ID {
			return Event{}, fmt.Errorf("events: change %d is about %s id %d, the feature given is %s id %d", c.Seq, c.Layer, c.ID, after.Layer, after.ID)
		}
		if v, ok := after.Props["warning_level"].(string); ok && hasWarning {
			if r := reg.WarningLevels().Rank(v); r >= 0 {
				e.Warnings |= 1 << r
			}
		}
		b = append(b, `,"properties":{`...)
		for i, fd := range l.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, fd.Name)
			b = append(b, ':')
			if b, err = layers.AppendJSON(b, after.Props[fd.Name]); err != nil {
				return Event{}, fmt.Errorf("events: change %d (%s id %d): %s: %w", c.Seq, c.Layer, c.ID, fd.Name, err)
			}
		}
		geom, err := geojson.NewGeometry(after.Geometry).MarshalJSON()
		if err != nil {
			return Event{}, fmt.Errorf("events: change %d (%s id %d): geometry: %w", c.Seq, c.Layer, c.ID, err)
		}
		b = append(b, `},"geometry":`...)
		b = append(b, geom...)
	default:
		return Event{}, fmt.Errorf("events: change %d: unknown operation %q", c.Seq, c.Op)
	}
	e.Data = append(b, '}')
	return e, nil
}
