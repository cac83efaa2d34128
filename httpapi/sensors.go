package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"riskmap/feature"
	"riskmap/ingest"
	"riskmap/sensors"
	"riskmap/store"
)

// Ingest is what the sensor routes need of the ingest service (package ingest).
type Ingest interface {
	// Submit validates, stores and evaluates a batch; nil once committed.
	Submit(ctx context.Context, rs []sensors.Reading) error
	// SensorState is the live evaluated state of an active sensor.
	SensorState(id int64) (sensors.SensorState, bool)
	// ObjectState is the evaluated state of a monitored object (real or drill).
	ObjectState(layer string, id int64, drill bool) (sensors.ObjectState, bool)
	// EndDrill ends the drill picture; it returns how many objects had one.
	EndDrill() int
}

// SensorStore is what the sensor, alert and signal routes read and write.
type SensorStore interface {
	Sensors(ctx context.Context) ([]feature.Sensor, error)
	ReadingSeries(ctx context.Context, sensorID int64, drill bool, from, to time.Time, maxPoints int) ([]store.SeriesPoint, error)
	Alerts(ctx context.Context, q store.AlertQuery) ([]store.StoredAlert, error)
	AckAlert(ctx context.Context, id int64, by, note string) (store.StoredAlert, error)
	SetSignal(ctx context.Context, kind, level, by, note string) (store.Signal, error)
	Signals(ctx context.Context, current bool, kind string, limit int) ([]store.Signal, error)
}

// MaxReadingsBody bounds a POST /api/v1/readings body: 10,000 readings of up to
// ~400 bytes each.
const MaxReadingsBody = 4 << 20

var errSensorsDisabled = errors.New("sensor ingest is not enabled on this server")

// postReadings: POST /api/v1/readings — a JSON batch of readings; 200 once
// committed.
func (s *server) postReadings(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, RoleSensor); err != nil {
		return err
	}
	if s.ingest == nil {
		return errSensorsDisabled
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxReadingsBody))
	if err != nil {
		return err
	}
	rs, err := ingest.ParseReadings(body)
	if err != nil {
		return err
	}
	if err := s.ingest.Submit(r.Context(), rs); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"stored": len(rs)})
	return nil
}

type thresholdsJSON struct {
	Blue   float64 `json:"blue"`
	Yellow float64 `json:"yellow"`
	Orange float64 `json:"orange"`
	Red    float64 `json:"red"`
}

type sensorStateJSON struct {
	Status    sensors.Status `json:"status"`
	Level     sensors.Level  `json:"level"`
	LastLevel sensors.Level  `json:"last_level"`
	Value     *float64       `json:"value"`
	Time      *time.Time     `json:"time"`
	Trend     sensors.Trend  `json:"trend,omitempty"`
	// IntervalS is the estimated reporting interval, seconds.
	IntervalS float64 `json:"interval_s"`
}

type sensorJSON struct {
	ID         int64           `json:"id"`
	ExternalID string          `json:"external_id"`
	Kind       string          `json:"kind"`
	Unit       string          `json:"unit"`
	Layer      string          `json:"layer"`
	FeatureID  int64           `json:"feature_id"`
	Thresholds *thresholdsJSON `json:"thresholds"`
	RangeMin   float64         `json:"range_min"`
	RangeMax   float64         `json:"range_max"`
	Active     bool            `json:"active"`
	// Object is the monitored feature (absent when the index lacks it).
	Object *ingest.ObjectRef `json:"object,omitempty"`
	// State is the live evaluated state (absent for an inactive sensor).
	State *sensorStateJSON `json:"state,omitempty"`
}

func (s *server) sensorView(sn feature.Sensor) sensorJSON {
	v := sensorJSON{ID: sn.ID, ExternalID: sn.ExternalID, Kind: sn.Kind, Layer: sn.Layer, FeatureID: sn.FeatureID,
		RangeMin: sn.RangeMin, RangeMax: sn.RangeMax, Active: sn.Active}
	if k, ok := s.reg.SensorKind(sn.Kind); ok {
		v.Unit = k.Unit
	}
	if t := sn.Thresholds; t != nil {
		v.Thresholds = &thresholdsJSON{t.Blue, t.Yellow, t.Orange, t.Red}
	}
	v.Object = ingest.ObjectOf(s.ix, sn.Layer, sn.FeatureID)
	if st, ok := s.ingest.SensorState(sn.ID); ok {
		v.State = sensorState(st)
	}
	return v
}

func sensorState(st sensors.SensorState) *sensorStateJSON {
	v := &sensorStateJSON{Status: st.Status, Level: st.Level, LastLevel: st.LastLevel, Trend: st.Trend,
		IntervalS: st.Interval.Seconds()}
	if !st.Time.IsZero() {
		val, t := st.Value, st.Time.UTC()
		v.Value, v.Time = &val, &t
	}
	return v
}

// listSensors: GET /api/v1/sensors — every sensor with its object and live state.
func (s *server) listSensors(w http.ResponseWriter, r *http.Request) error {
	if s.ingest == nil || s.sensors == nil {
		return errSensorsDisabled
	}
	q, err := newQuery(r.URL.Query(), false, "layer")
	if err != nil {
		return err
	}
	layer := q.v.Get("layer")
	if layer != "" {
		if _, err := s.reg.Layer(layer); err != nil {
			return err
		}
	}
	list, err := s.sensors.Sensors(r.Context())
	if err != nil {
		return err
	}
	out := make([]sensorJSON, 0, len(list))
	for _, sn := range list {
		if layer == "" || sn.Layer == layer {
			out = append(out, s.sensorView(sn))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sensors": out})
	return nil
}

// featureSensors: GET /api/v1/features/{layer}/{id}/sensors — the object's
// sensors with their live state, and the object's evaluated state (real and, while
// a drill runs, drill).
func (s *server) featureSensors(w http.ResponseWriter, r *http.Request) error {
	if s.ingest == nil || s.sensors == nil {
		return errSensorsDisabled
	}
	vars := mux.Vars(r)
	if _, err := s.reg.Layer(vars["layer"]); err != nil {
		return err
	}
	id, err := strconv.ParseInt(vars["id"], 10, 64)
	if err != nil || id <= 0 {
		return badParam("id", "%q is not a feature id (a positive whole number)", vars["id"])
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	if _, ok, err := s.ix.Get(vars["layer"], id); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s id %d: %w", vars["layer"], id, errFeatureNotFound)
	}
	list, err := s.sensors.Sensors(r.Context())
	if err != nil {
		return err
	}
	out := []sensorJSON{}
	for _, sn := range list {
		if sn.Layer == vars["layer"] && sn.FeatureID == id {
			out = append(out, s.sensorView(sn))
		}
	}
	body := map[string]any{"layer": vars["layer"], "feature_id": id, "sensors": out}
	if st, ok := s.ingest.ObjectState(vars["layer"], id, false); ok {
		body["state"] = objectState(st)
	}
	if st, ok := s.ingest.ObjectState(vars["layer"], id, true); ok {
		body["drill_state"] = objectState(st)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func objectState(st sensors.ObjectState) map[string]any {
	m := map[string]any{"level": st.Level, "last_level": st.LastLevel, "primary_sensor_id": st.SensorID,
		"kind": st.Kind, "unit": st.Unit, "trend": st.Trend}
	if !st.Time.IsZero() {
		m["value"], m["time"] = st.Value, st.Time.UTC()
	}
	return m
}

// Limits of the reading history route.
const (
	DefaultSeriesPoints = 500
	MaxSeriesPoints     = 5000
	MaxSeriesSpan       = 366 * 24 * time.Hour
)

// sensorReadings: GET /api/v1/sensors/{id}/readings?from=&to=&drill=&max_points=
// — the history, downsampled to at most max_points (default 500) buckets for long
// ranges. from defaults to 24 h before to; to to now.
func (s *server) sensorReadings(w http.ResponseWriter, r *http.Request) error {
	if s.sensors == nil {
		return errSensorsDisabled
	}
	idS := mux.Vars(r)["id"]
	id, err := strconv.ParseInt(idS, 10, 64)
	if err != nil || id <= 0 {
		return badParam("id", "%q is not a sensor id (a positive whole number)", idS)
	}
	q, err := newQuery(r.URL.Query(), false, "from", "to", "drill", "max_points")
	if err != nil {
		return err
	}
	to, err := q.time("to", time.Now())
	if err != nil {
		return err
	}
	from, err := q.time("from", to.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	if !from.Before(to) {
		return badParam("from", "must be before to (%s)", to.UTC().Format(time.RFC3339))
	}
	if to.Sub(from) > MaxSeriesSpan {
		return badParam("from", "the range is longer than %d days", int(MaxSeriesSpan.Hours()/24))
	}
	drill, err := q.bool("drill", false)
	if err != nil {
		return err
	}
	maxPoints, err := q.int("max_points", DefaultSeriesPoints, 1, MaxSeriesPoints)
	if err != nil {
		return err
	}
	known := false
	list, err := s.sensors.Sensors(r.Context())
	if err != nil {
		return err
	}
	var sn feature.Sensor
	for _, x := range list {
		if x.ID == id {
			sn, known = x, true
			break
		}
	}
	if !known {
		return fmt.Errorf("sensor %d: %w", id, store.ErrNotFound)
	}
	pts, err := s.sensors.ReadingSeries(r.Context(), id, drill, from, to, maxPoints)
	if err != nil {
		return err
	}
	type point struct {
		Time  time.Time `json:"t"`
		Value float64   `json:"v"`
		Min   *float64  `json:"min,omitempty"`
		Max   *float64  `json:"max,omitempty"`
		Count int       `json:"n,omitempty"`
	}
	out := make([]point, len(pts))
	downsampled := false
	for i, p := range pts {
		out[i] = point{Time: p.Time, Value: p.Value}
		if p.Count > 1 || p.Min != p.Max {
			mn, mx := p.Min, p.Max
			out[i].Min, out[i].Max, out[i].Count = &mn, &mx, p.Count
			downsampled = true
		}
	}
	unit := ""
	if k, ok := s.reg.SensorKind(sn.Kind); ok {
		unit = k.Unit
	}
	writeJSON(w, http.StatusOK, map[string]any{"sensor_id": id, "kind": sn.Kind, "unit": unit, "drill": drill,
		"from": from.UTC(), "to": to.UTC(), "downsampled": downsampled, "points": out})
	return nil
}

// ingestStatsRoute: GET /api/v1/ingest/stats — the ingest counters (readings
// accepted and rejected, MQTT messages, malformed payloads, spool).
func (s *server) ingestStatsRoute(w http.ResponseWriter, r *http.Request) error {
	if s.ingestStats == nil {
		return errSensorsDisabled
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.ingestStats())
	return nil
}

// endDrill: POST /api/v1/drill/end — end the drill picture now (token): every
// object's drill columns go back to null. Drill readings and alerts stay stored.
func (s *server) endDrill(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, RoleEditor); err != nil {
		return err
	}
	if s.ingest == nil {
		return errSensorsDisabled
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"objects": s.ingest.EndDrill()})
	return nil
}
