package ingest

import (
	"encoding/json"
	"time"

	"riskmap/events"
	"riskmap/index"
	"riskmap/sensors"
	"riskmap/store"
)

// AlertView is the JSON form of an alert, in the API and on the event stream.
type AlertView struct {
	ID          int64         `json:"id"`
	Layer       string        `json:"layer"`
	FeatureID   int64         `json:"feature_id"`
	SensorID    int64         `json:"sensor_id,omitempty"`
	Kind        string        `json:"kind"`
	Unit        string        `json:"unit"`
	From        sensors.Level `json:"from"`
	To          sensors.Level `json:"to"`
	ObjectLevel sensors.Level `json:"object_level"`
	Value       float64       `json:"value"`
	// Threshold is the threshold of To (omitted when To is none or no_data).
	Threshold *float64   `json:"threshold,omitempty"`
	Reason    string     `json:"reason"`
	Time      time.Time  `json:"time"`
	Drill     bool       `json:"drill"`
	RaisedAt  time.Time  `json:"raised_at"`
	Open      bool       `json:"open"`
	AckedAt   *time.Time `json:"acked_at,omitempty"`
	AckedBy   string     `json:"acked_by,omitempty"`
	AckNote   string     `json:"ack_note,omitempty"`
	// Object is the alerted object as the index has it (ObjectOf), in GET
	// /api/v1/alerts and on the event stream; absent when the index lacks it.
	Object *ObjectRef `json:"object,omitempty"`
}

// ObjectRef names an object of a layer for a list row or a map marker, so that a
// client need not fetch the feature: its name, its kind code and the center of its
// bounds in WGS84 degrees.
type ObjectRef struct {
	Name string  `json:"name"`
	Kind string  `json:"kind"`
	Lon  float64 `json:"lon"`
	Lat  float64 `json:"lat"`
}

// ObjectOf is the object layer/id as ix has it; nil when ix is nil or lacks it.
func ObjectOf(ix *index.Index, layer string, id int64) *ObjectRef {
	if ix == nil {
		return nil
	}
	rec, ok, _ := ix.Get(layer, id)
	if !ok {
		return nil
	}
	c := rec.Bound.Center()
	return &ObjectRef{Name: rec.Name, Kind: rec.Kind, Lon: c.Lon(), Lat: c.Lat()}
}

// ViewAlert is a's JSON form.
func ViewAlert(a store.StoredAlert) AlertView {
	v := AlertView{ID: a.ID, Layer: a.Layer, FeatureID: a.FeatureID, SensorID: a.SensorID, Kind: a.Kind, Unit: a.Unit,
		From: a.From, To: a.To, ObjectLevel: a.ObjectLevel, Value: a.Value, Reason: string(a.Reason),
		Time: a.Time.UTC(), Drill: a.Drill, RaisedAt: a.RaisedAt.UTC(), Open: a.Open(), AckedBy: a.AckedBy, AckNote: a.AckNote}
	if a.To.OnScale() && a.To != sensors.None {
		t := a.Threshold
		v.Threshold = &t
	}
	if !a.AckedAt.IsZero() {
		t := a.AckedAt.UTC()
		v.AckedAt = &t
	}
	return v
}

// SignalView is the JSON form of a district signal setting.
type SignalView struct {
	ID    int64     `json:"id"`
	Kind  string    `json:"kind"`
	Level string    `json:"level"`
	SetAt time.Time `json:"set_at"`
	SetBy string    `json:"set_by"`
	Note  string    `json:"note,omitempty"`
}

// ViewSignal is g's JSON form.
func ViewSignal(g store.Signal) SignalView {
	return SignalView{ID: g.ID, Kind: g.Kind, Level: g.Level, SetAt: g.SetAt.UTC(), SetBy: g.SetBy, Note: g.Note}
}

// Event types of the stream (package events) for alerts and signals.
const (
	// EventAlert is a new alert; Data is its AlertView. Never merged.
	EventAlert = "alert"
	// EventAlertAck is an alert acknowledged; Data is its AlertView.
	EventAlertAck = "alert_ack"
	// EventSignal is a district signal set; Data is its SignalView.
	EventSignal = "signal"
)

// AlertEvent is the stream event of a stored alert (typ EventAlert or
// EventAlertAck) about obj (nil: not named). Its warning bits are the levels it
// moves between and the object's, so a client filtering on a minimum warning
// sees it.
func AlertEvent(typ string, a store.StoredAlert, obj *ObjectRef) events.Event {
	v := ViewAlert(a)
	v.Object = obj
	data, _ := json.Marshal(v) // plain types: cannot fail
	var bits uint16
	for _, l := range []sensors.Level{a.From, a.To, a.ObjectLevel} {
		if l.OnScale() {
			bits |= 1 << uint(l)
		}
	}
	return events.Event{Type: typ, Layer: a.Layer, FeatureID: a.FeatureID, Warnings: bits, NoCoalesce: true, Data: data}
}

// SignalEvent is the stream event of a signal setting. It concerns the whole
// district: it passes every layer and warning filter.
func SignalEvent(g store.Signal) events.Event {
	data, _ := json.Marshal(ViewSignal(g))
	return events.Event{Type: EventSignal, Warnings: 0xffff, NoCoalesce: true, Data: data}
}
