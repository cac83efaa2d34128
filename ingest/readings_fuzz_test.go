package ingest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzReadingsPayload fuzzes ParseReadings as the MQTT consumer calls it on a
// message's payload (and the HTTP route on a body): a refusal is a *BatchError whose
// rows are in order, within the batch (-1 for the document) and at most
// maxRowErrors, each saying why, or ErrBatchTooLarge; an accepted payload, written
// back in the wire form a gateway sends, parses to the same readings.
func FuzzReadingsPayload(f *testing.F) {
	f.Add([]byte(`{"sensor_id": 7, "time": "2026-07-01T08:00:00.123456789+08:00", "value": 12.25}`))
	f.Add([]byte(`[{"sensor_id": 1, "time": "2026-07-01T00:00:00Z", "value": -0, "drill": true}, {"sensor_id": 2, "time": "2026-07-01T00:00:01-03:30", "value": 1e-300}]`))
	f.Add([]byte(`[{"sensor_id": 1, "time": "2026-07-01", "value": "1"}, {"sensor_id": 0}, {"x": 1}]`))
	f.Add([]byte(` {"sensor_id": 9007199254740993, "time": "2026-07-01T00:00:00Z", "value": 1} `))
	f.Fuzz(func(t *testing.T, payload []byte) {
		rs, err := ParseReadings(payload)
		if err != nil {
			if errors.Is(err, ErrBatchTooLarge) {
				return
			}
			var be *BatchError
			if !errors.As(err, &be) || len(be.Rows) == 0 || len(be.Rows) > maxRowErrors {
				t.Fatalf("error %v (%T): want a *BatchError of 1..%d rows", err, err, maxRowErrors)
			}
			for i, r := range be.Rows {
				if r.Row < -1 || (i > 0 && r.Row <= be.Rows[i-1].Row) || r.Reason == "" || r.Message == "" {
					t.Fatalf("row error %d: %+v (all: %+v)", i, r, be.Rows)
				}
				if r.Row == -1 && len(be.Rows) != 1 {
					t.Fatalf("a document error among row errors: %+v", be.Rows)
				}
			}
			return
		}
		if len(rs) > MaxBatch { // "[]" is a batch of none
			t.Fatalf("accepted %d readings", len(rs))
		}
		type wire struct {
			SensorID int64   `json:"sensor_id"`
			Time     string  `json:"time"`
			Value    float64 `json:"value"`
			Drill    bool    `json:"drill"`
		}
		ws := make([]wire, len(rs))
		for i, r := range rs {
			ws[i] = wire{SensorID: r.SensorID, Time: r.Time.Format(time.RFC3339Nano), Value: r.Value, Drill: r.Drill}
		}
		b, err := json.Marshal(ws)
		if err != nil {
			t.Fatalf("readings %+v do not encode: %v", rs, err)
		}
		again, err := ParseReadings(b)
		if err != nil || len(again) != len(rs) {
			t.Fatalf("%s: %v (%d readings, want %d)", b, err, len(again), len(rs))
		}
		for i := range rs {
			a, b := rs[i], again[i]
			if a.SensorID != b.SensorID || !a.Time.Equal(b.Time) || a.Value != b.Value || a.Drill != b.Drill || b.Time.Location() != time.UTC {
				t.Fatalf("reading %d: %+v came back as %+v", i, a, b)
			}
		}
	})
}
