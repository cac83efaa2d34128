// Package drill runs a storm-simulator drill against a riskmap server: it fetches
// the server's sensors, runs a sim.Model in accelerated real time and publishes
// every reading, marked drill, over HTTP (POST /api/v1/readings) or MQTT
// (riskmap/readings/<external_id>, QoS 1), retrying what was not accepted. The
// model (package sim) is pure; this package is the I/O around it.
package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"riskmap/feature"
	"riskmap/sim"
)

// sensorsJSON is the part of GET /api/v1/sensors the simulator reads.
type sensorsJSON struct {
	Sensors []struct {
		ID         int64   `json:"id"`
		ExternalID string  `json:"external_id"`
		Kind       string  `json:"kind"`
		Layer      string  `json:"layer"`
		FeatureID  int64   `json:"feature_id"`
		RangeMin   float64 `json:"range_min"`
		RangeMax   float64 `json:"range_max"`
		Active     bool    `json:"active"`
		Thresholds *struct {
			Blue   float64 `json:"blue"`
			Yellow float64 `json:"yellow"`
			Orange float64 `json:"orange"`
			Red    float64 `json:"red"`
		} `json:"thresholds"`
		Object *struct {
			Kind string   `json:"kind"`
			Lon  *float64 `json:"lon"`
			Lat  *float64 `json:"lat"`
		} `json:"object"`
	} `json:"sensors"`
}

// ParseSensors reads the body of GET /api/v1/sensors into the sensors to
// simulate: the active ones whose object has a position. The others are named in
// skipped, with the reason.
func ParseSensors(body []byte) (out []sim.Sensor, skipped []string, err error) {
	var doc sensorsJSON
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("drill: the sensor list is not the expected JSON: %w", err)
	}
	for _, s := range doc.Sensors {
		switch {
		case !s.Active:
			skipped = append(skipped, fmt.Sprintf("%s (id %d): inactive", s.ExternalID, s.ID))
			continue
		case s.Object == nil || s.Object.Lon == nil || s.Object.Lat == nil:
			skipped = append(skipped, fmt.Sprintf("%s (id %d): its object has no position", s.ExternalID, s.ID))
			continue
		}
		sn := sim.Sensor{
			ID: s.ID, ExternalID: s.ExternalID, Kind: s.Kind, Layer: s.Layer, FeatureID: s.FeatureID,
			ObjectKind: s.Object.Kind, Lon: *s.Object.Lon, Lat: *s.Object.Lat, RangeMin: s.RangeMin, RangeMax: s.RangeMax,
		}
		if t := s.Thresholds; t != nil {
			sn.Thresholds = &feature.Thresholds{Blue: t.Blue, Yellow: t.Yellow, Orange: t.Orange, Red: t.Red}
		}
		out = append(out, sn)
	}
	return out, skipped, nil
}

// FetchSensors asks server (base URL) for its sensors, with the token when one is
// given, retrying a server that is unavailable (503, no connection) a few times.
func FetchSensors(ctx context.Context, client *http.Client, server, token string) ([]sim.Sensor, []string, error) {
	url := strings.TrimRight(server, "/") + "/api/v1/sensors"
	wait := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		body, retry, err := get(ctx, client, url, token)
		if err == nil {
			return ParseSensors(body)
		}
		if !retry || attempt == 5 {
			return nil, nil, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func get(ctx context.Context, client *http.Client, url, token string) (body []byte, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false, fmt.Errorf("drill: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, ctx.Err() == nil, fmt.Errorf("drill: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, true, fmt.Errorf("drill: GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, retryableStatus(resp.StatusCode), fmt.Errorf("drill: GET %s: %s: %s", url, resp.Status, errorMessage(body))
	}
	return body, false, nil
}

// errorMessage is the "error" of a riskmap JSON error body, or the body's start.
func errorMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// retryableStatus: the server may answer later (unavailable, overloaded, a proxy
// in between failing).
func retryableStatus(code int) bool {
	switch code {
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout,
		http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusRequestTimeout:
		return true
	}
	return false
}

// errRetry marks an error after which the same rows may be sent again.
var errRetry = errors.New("will retry")
