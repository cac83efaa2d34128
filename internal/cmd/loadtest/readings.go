package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// sensor is what the readings need of one sensor of GET /api/v1/sensors.
type sensor struct {
	ID       int64
	Base     float64 // a calm value: the sensor's current one, or below its blue threshold
	Step     float64 // the amplitude of the calm variation around Base
	Min, Max float64 // the physical range
}

// sensorsJSON is the part of GET /api/v1/sensors read here.
type sensorsJSON struct {
	Sensors []struct {
		ID         int64 `json:"id"`
		Active     bool  `json:"active"`
		Thresholds *struct {
			Blue float64 `json:"blue"`
		} `json:"thresholds"`
		RangeMin float64 `json:"range_min"`
		RangeMax float64 `json:"range_max"`
		State    *struct {
			Value *float64 `json:"value"`
		} `json:"state"`
	} `json:"sensors"`
}

// calmSensors picks the active sensors and a calm value for each: its current
// value when it is below its blue threshold, else half way from its range's
// minimum to the blue threshold; the variation is 2 % of the distance from the
// range's minimum to the blue threshold. Readings then stay valid and calm (no
// alert storm), but every one moves its object's current value.
func calmSensors(body []byte) ([]sensor, error) {
	var sj sensorsJSON
	if err := json.Unmarshal(body, &sj); err != nil {
		return nil, fmt.Errorf("GET /api/v1/sensors: %w", err)
	}
	var out []sensor
	for _, s := range sj.Sensors {
		if !s.Active {
			continue
		}
		blue := s.RangeMin + 0.1*(s.RangeMax-s.RangeMin)
		if s.Thresholds != nil && s.Thresholds.Blue > s.RangeMin {
			blue = s.Thresholds.Blue
		}
		span := blue - max(s.RangeMin, 0)
		if s.RangeMin < 0 {
			span = blue
		}
		base := max(s.RangeMin, 0) + span/2
		if s.State != nil && s.State.Value != nil {
			if v := *s.State.Value; v >= s.RangeMin && math.Abs(v) < 0.8*blue {
				base = v
			}
		}
		out = append(out, sensor{ID: s.ID, Base: base, Step: 0.02 * span, Min: s.RangeMin, Max: s.RangeMax})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("GET /api/v1/sensors: no active sensor")
	}
	return out, nil
}

// readingsBody is batch number b of n readings, JSON: sensors in turn, the time
// now plus a nanosecond per row so that no two readings of a sensor share (sensor,
// time), each value the sensor's calm value moved by a wave that steps once every
// `every` (0: at every reading), within the sensor's range.
func readingsBody(buf []byte, ss []sensor, b int64, n int, now time.Time, every time.Duration) []byte {
	buf = append(buf[:0], '[')
	for j := range n {
		k := b*int64(n) + int64(j)
		s := ss[k%int64(len(ss))]
		step := k / int64(len(ss))
		if every > 0 {
			// staggered by sensor, so that the objects do not all change at once
			step = (now.UnixNano() + s.ID*7919%1000*int64(every)/1000) / int64(every)
		}
		v := s.Base + s.Step*math.Sin(float64(step)/7+float64(s.ID))
		v = min(max(math.Round(v*100)/100, s.Min), s.Max)
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"sensor_id":`...)
		buf = strconv.AppendInt(buf, s.ID, 10)
		buf = append(buf, `,"time":"`...)
		buf = now.Add(time.Duration(j)).UTC().AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, `","value":`...)
		buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
		buf = append(buf, '}')
	}
	return append(buf, ']')
}

// postReadings posts one batch with the sensor token; every reading must be stored.
func (e *env) postReadings(body []byte, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+"/api/v1/readings", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.sensorToken)
	req.Header.Set("Content-Type", "application/json")
	_, resp, err := do(e.plain, req)
	if err != nil {
		return err
	}
	var r struct {
		Stored *int `json:"stored"`
	}
	if err := json.Unmarshal(resp, &r); err != nil || r.Stored == nil {
		return fmt.Errorf("POST /api/v1/readings: unexpected answer %.200s", resp)
	}
	if *r.Stored != n {
		return fmt.Errorf("POST /api/v1/readings: stored %d of %d", *r.Stored, n)
	}
	return nil
}
