package demo

import (
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"riskmap/feature"
	"riskmap/sensors"
	"riskmap/sim"
)

// DefaultHistory is how much reading history Seed writes for the demo sensors.
const DefaultHistory = 6 * time.Hour

// SimSensors describes the dataset's active sensors for the storm simulator: each
// with its object's kind and representative point (a point itself, a polygon's
// centroid).
func SimSensors(ds *Dataset) []sim.Sensor {
	byID := map[string]map[int64]*feature.Feature{}
	for layer, fs := range ds.Features {
		m := make(map[int64]*feature.Feature, len(fs))
		for i := range fs {
			m[fs[i].ID] = &fs[i]
		}
		byID[layer] = m
	}
	var out []sim.Sensor
	for _, s := range ds.Sensors {
		f := byID[s.Layer][s.FeatureID]
		if f == nil || !s.Active {
			continue
		}
		kind, _ := f.Props["kind"].(string)
		p := representative(f.Geometry)
		out = append(out, sim.Sensor{
			ID: s.ID, ExternalID: s.ExternalID, Kind: s.Kind, Layer: s.Layer, FeatureID: s.FeatureID,
			ObjectKind: kind, Lon: p[0], Lat: p[1], Thresholds: s.Thresholds, RangeMin: s.RangeMin, RangeMax: s.RangeMax,
		})
	}
	return out
}

// representative is a point standing for g: the point itself, else the centroid.
func representative(g orb.Geometry) orb.Point {
	if p, ok := g.(orb.Point); ok {
		return p
	}
	c, _ := planar.CentroidArea(g)
	return c
}

// History makes span of calm reading history for the dataset's sensors, ending at
// now (truncated to the minute): the storm simulator's calm scenario — drizzle and a
// weak passing shower — run from now − span, every sensor at its kind's interval,
// values in range and, but for rare noise, below the blue thresholds. The readings
// are real (Drill false), in time order; the same dataset, now, span and seed give
// the same readings.
func History(ds *Dataset, now time.Time, span time.Duration, seed uint64) ([]sensors.Reading, error) {
	if span <= 0 {
		return nil, nil
	}
	sc := sim.Calm
	sc.Duration = span
	m, err := sim.New(sc, SimSensors(ds), seed)
	if err != nil {
		return nil, err
	}
	start := now.Truncate(time.Minute).Add(-span).UTC()
	rs := m.Readings(span)
	out := make([]sensors.Reading, len(rs))
	for i, r := range rs {
		out[i] = sensors.Reading{SensorID: r.SensorID, Time: start.Add(r.At), Value: r.Value}
	}
	return out, nil
}
