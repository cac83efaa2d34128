package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"riskmap/sensors"
)

// maxRowErrors bounds the row errors one parse reports.
const maxRowErrors = 100

// wireReading is a reading as sent: {"sensor_id": 12, "time": "RFC 3339",
// "value": 1.5, "drill": false}.
type wireReading struct {
	SensorID json.RawMessage `json:"sensor_id"`
	Time     json.RawMessage `json:"time"`
	Value    json.RawMessage `json:"value"`
	Drill    json.RawMessage `json:"drill"`
}

// ParseReadings decodes a batch of readings: a JSON array of reading objects or a
// single object (what an MQTT message may carry), each {"sensor_id": positive
// integer, "time": RFC 3339 with a zone, "value": number, "drill": optional
// boolean}; unknown properties are errors (a misspelt name must not pass as a
// missing one). At most MaxBatch readings. A malformed document is a *BatchError
// with one row -1; malformed rows are a *BatchError naming each (the first
// maxRowErrors). Semantic checks (does the sensor exist, is the value possible)
// are Validate's.
func ParseReadings(data []byte) ([]sensors.Reading, error) {
	data = bytes.TrimSpace(data)
	doc := func(msg string) error {
		return &BatchError{Rows: []RowError{{Row: -1, Reason: "malformed", Message: msg}}}
	}
	if len(data) == 0 {
		return nil, doc("the body is empty: send a JSON array of readings")
	}
	var raws []json.RawMessage
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, doc("not a JSON array of reading objects: " + jsonReason(err))
		}
	case '{':
		if !json.Valid(data) {
			return nil, doc("not a JSON reading object")
		}
		raws = []json.RawMessage{data}
	default:
		return nil, doc("expected a JSON array of readings (or one reading object)")
	}
	if len(raws) > MaxBatch {
		return nil, ErrBatchTooLarge
	}
	out := make([]sensors.Reading, len(raws))
	var bad []RowError
	for i, raw := range raws {
		r, field, msg := parseRow(raw)
		if msg != "" {
			if len(bad) < maxRowErrors {
				bad = append(bad, RowError{Row: i, SensorID: r.SensorID, Field: field, Reason: "malformed", Message: msg})
			}
			continue
		}
		out[i] = r
	}
	if len(bad) > 0 {
		return nil, &BatchError{Rows: bad}
	}
	return out, nil
}

// parseRow decodes one reading; on failure it names the field and the problem.
func parseRow(raw json.RawMessage) (sensors.Reading, string, string) {
	var r sensors.Reading
	var w wireReading
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return r, "", "not a reading object: " + jsonReason(err)
	}
	if w.SensorID == nil {
		return r, "sensor_id", "sensor_id is missing"
	}
	id, err := strconv.ParseInt(string(w.SensorID), 10, 64)
	if err != nil || id <= 0 {
		return r, "sensor_id", fmt.Sprintf("sensor_id %s is not a sensor id (a positive whole number)", clip(w.SensorID))
	}
	r.SensorID = id
	if w.Time == nil {
		return r, "time", "time is missing"
	}
	var ts string
	if err := json.Unmarshal(w.Time, &ts); err != nil {
		return r, "time", fmt.Sprintf("time %s is not an RFC 3339 string", clip(w.Time))
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return r, "time", fmt.Sprintf("time %q is not an RFC 3339 time with a zone (e.g. 2026-07-01T08:00:00+08:00)", clipS(ts))
	}
	r.Time = t.UTC()
	if w.Value == nil {
		return r, "value", "value is missing"
	}
	v, err := strconv.ParseFloat(string(w.Value), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || !json.Valid(w.Value) {
		return r, "value", fmt.Sprintf("value %s is not a number", clip(w.Value))
	}
	r.Value = v
	if w.Drill != nil {
		switch string(w.Drill) {
		case "true":
			r.Drill = true
		case "false", "null":
		default:
			return r, "drill", fmt.Sprintf("drill %s is not true or false", clip(w.Drill))
		}
	}
	return r, "", ""
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	var ue *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &ue):
		return fmt.Sprintf("%s where %s was expected", ue.Value, ue.Type)
	}
	return err.Error()
}

func clip(b []byte) string { return clipS(string(b)) }

func clipS(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
