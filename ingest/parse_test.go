package ingest

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestParseReadings(t *testing.T) {
	ok := []struct {
		name, body string
		n          int
		drill      bool
	}{
		{"array", `[{"sensor_id": 12, "time": "2026-07-01T08:00:00+08:00", "value": 1.5}]`, 1, false},
		{"object", `{"sensor_id": 1, "time": "2026-07-01T00:00:00Z", "value": -3, "drill": true}`, 1, true},
		{"empty array", `[]`, 0, false},
		{"null drill", ` [{"sensor_id": 1, "time": "2026-07-01T00:00:00Z", "value": 0, "drill": null}] `, 1, false},
	}
	for _, c := range ok {
		rs, err := ParseReadings([]byte(c.body))
		if err != nil || len(rs) != c.n {
			t.Errorf("%s: %d readings, %v", c.name, len(rs), err)
			continue
		}
		if c.n > 0 && (rs[0].Drill != c.drill || rs[0].Time.Location() != time.UTC) {
			t.Errorf("%s: %+v", c.name, rs[0])
		}
	}
	bad := []struct {
		name, body string
		row        int
		field      string
	}{
		{"empty", ``, -1, ""},
		{"not json", `[{`, -1, ""},
		{"string", `"x"`, -1, ""},
		{"missing id", `[{"time": "2026-07-01T00:00:00Z", "value": 1}]`, 0, "sensor_id"},
		{"negative id", `[{"sensor_id": -4, "time": "2026-07-01T00:00:00Z", "value": 1}]`, 0, "sensor_id"},
		{"float id", `[{"sensor_id": 1.5, "time": "2026-07-01T00:00:00Z", "value": 1}]`, 0, "sensor_id"},
		{"no zone", `[{"sensor_id": 1, "time": "2026-07-01T00:00:00", "value": 1}]`, 0, "time"},
		{"numeric time", `[{"sensor_id": 1, "time": 17, "value": 1}]`, 0, "time"},
		{"string value", `[{"sensor_id": 1, "time": "2026-07-01T00:00:00Z", "value": "1.5"}]`, 0, "value"},
		{"missing value", `[{"sensor_id": 1, "time": "2026-07-01T00:00:00Z"}]`, 0, "value"},
		{"bad drill", `[{"sensor_id": 1, "time": "2026-07-01T00:00:00Z", "value": 1, "drill": "yes"}]`, 0, "drill"},
		{"second row", `[{"sensor_id": 1, "time": "2026-07-01T00:00:00Z", "value": 1}, {"sensor": 1}]`, 1, ""},
	}
	for _, c := range bad {
		_, err := ParseReadings([]byte(c.body))
		var be *BatchError
		if !errors.As(err, &be) || len(be.Rows) == 0 {
			t.Errorf("%s: err = %v, want *BatchError", c.name, err)
			continue
		}
		if be.Rows[0].Row != c.row || be.Rows[0].Field != c.field || be.Rows[0].Message == "" {
			t.Errorf("%s: %+v, want row %d field %q", c.name, be.Rows[0], c.row, c.field)
		}
	}
}

func FuzzParseReadings(f *testing.F) {
	f.Add([]byte(`[{"sensor_id": 12, "time": "2026-07-01T08:00:00+08:00", "value": 1.5}]`))
	f.Add([]byte(`{"sensor_id": 1, "time": "2026-07-01T00:00:00Z", "value": -3, "drill": true}`))
	f.Add([]byte(`[{"sensor_id": 1e3, "time": "x", "value": NaN}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseReadings(b)
		if err != nil {
			var be *BatchError
			if !errors.As(err, &be) && !errors.Is(err, ErrBatchTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, r := range rs {
			if r.SensorID <= 0 || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Time.Location() != time.UTC {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}
