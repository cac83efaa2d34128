package ingest

import (
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
)

// Patch maps an evaluated object state onto its layer's fields: false for a layer
// without sensor fields.
//
// Real state: warning_level is the level on the scale (while all alerting
// sensors are silent, the level they last had), sensor_status is live or no_data
// (null once the object has no sensors), trend and the current value come from
// the object's main measuring sensor — water depth for a waterlogging spot
// (current_depth_cm), displacement for a slope (displacement_mm) — or, for the
// trend, from the primary sensor when there is none. Drill state:
// drill_warning_level and, for spots, drill_depth_cm; both null when the drill
// ends.
func Patch(st sensors.ObjectState) (store.FieldPatch, bool) {
	var measure string
	switch st.Layer {
	case layers.WaterloggingSpots:
		measure = "water_depth_cm"
	case layers.Slopes:
		measure = "displacement_mm"
	default:
		return store.FieldPatch{}, false
	}
	p := store.FieldPatch{Layer: st.Layer, FeatureID: st.FeatureID}
	set := func(f string, v any) { p.Fields = append(p.Fields, f); p.Values = append(p.Values, v) }

	gone := len(st.Sensors) == 0
	level := st.Level
	if level == sensors.NoData {
		level = st.LastLevel
	}
	var value, trend any
	measured := false // the object has the measuring sensor and it has reported
	trendOf := st.Trend
	for _, ss := range st.Sensors {
		if ss.Kind == measure {
			if !ss.Time.IsZero() {
				value, measured = ss.Value, true
			}
			trendOf = ss.Trend
			break
		}
	}
	if trendOf != sensors.TrendUnknown {
		trend = string(trendOf)
	}

	if st.Drill {
		var lv any
		if !gone {
			lv = level.Code()
		}
		if st.Layer == layers.WaterloggingSpots {
			if gone {
				value = nil
			}
			set("drill_depth_cm", value)
		}
		set("drill_warning_level", lv)
		return p, true
	}
	var status any
	switch {
	case gone:
	case st.Level == sensors.NoData:
		status = "no_data"
	default:
		status = "live"
	}
	if gone {
		level, trend = sensors.None, nil
	}
	set("warning_level", level.Code())
	set("sensor_status", status)
	set("trend", trend)
	// The current value is only written from a reading: an object without the
	// measuring sensor (a reservoir gauged by level) keeps what it has.
	if measured {
		if st.Layer == layers.WaterloggingSpots {
			set("current_depth_cm", value)
		} else {
			set("displacement_mm", value)
		}
	}
	return p, true
}
