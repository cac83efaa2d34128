package events

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
)

// spot is a waterlogging spot in canonical form, at the given warning level.
func spot(id, version int64, level string) *feature.Feature {
	return &feature.Feature{Layer: layers.WaterloggingSpots, ID: id, Version: version, Geometry: orb.Point{114.121, 22.5505},
		Props: map[string]any{"external_id": "WL-17", "name": "泥岗<下穿>通道", "kind": "underpass", "subdistrict": nil,
			"warning_depth_cm": 27.0, "current_depth_cm": 35.5, "trend": "rising", "warning_level": level}}
}

func TestChangeEvent(t *testing.T) {
	reg := layers.New()
	at := time.Date(2025, 6, 1, 8, 30, 0, 123456000, time.FixedZone("CST", 8*3600))
	road := &feature.Feature{Layer: layers.RectifiedRoads, ID: 3, Version: 2,
		Geometry: orb.LineString{{114.1, 22.5}, {114.2, 22.6}},
		Props: map[string]any{"external_id": "RR-3", "name": "深南东路", "kind": "radar_scan",
			"completed_on": time.Date(2021, 12, 30, 0, 0, 0, 0, time.UTC)}}
	tests := []struct {
		name     string
		c        feature.Change
		after    *feature.Feature
		before   int8
		warnings uint16
		json     string // exact payload, when given
		props    map[string]any
	}{
		{"update red → orange",
			feature.Change{Seq: 1234, Layer: layers.WaterloggingSpots, ID: 17, Op: feature.Update, Version: 5, Time: at},
			spot(17, 5, "orange"), 4, orange | red,
			`{"seq":1234,"layer":"waterlogging_spots","id":17,"version":5,"op":"update","time":"2025-06-01T00:30:00.123456Z",` +
				`"properties":{"external_id":"WL-17","name":"泥岗\u003c下穿\u003e通道","kind":"underpass","subdistrict":null,"warning_depth_cm":27,` +
				`"current_depth_cm":35.5,"trend":"rising","warning_level":"orange","sensor_status":null,"drill_depth_cm":null,"drill_warning_level":null},"geometry":{"type":"Point","coordinates":[114.121,22.5505]}}`, nil},
		{"insert", feature.Change{Seq: 1, Layer: layers.WaterloggingSpots, ID: 17, Op: feature.Insert, Version: 1},
			spot(17, 1, "none"), -1, none, "", map[string]any{"warning_level": "none", "trend": "rising"}},
		{"delete: the level before only",
			feature.Change{Seq: 9, Layer: layers.WaterloggingSpots, ID: 17, Op: feature.Delete, Version: 6},
			nil, 3, orange, `{"seq":9,"layer":"waterlogging_spots","id":17,"version":6,"op":"delete"}`, nil},
		{"a layer without warning levels", feature.Change{Seq: 2, Layer: layers.RectifiedRoads, ID: 3, Op: feature.Update, Version: 2},
			road, 2, 0, "", map[string]any{"completed_on": "2021-12-30", "name": "深南东路", "kind": "radar_scan"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ChangeEvent(reg, tt.c, tt.after, tt.before)
			if err != nil {
				t.Fatal(err)
			}
			if e.ID != tt.c.Seq || e.Type != TypeChange || e.Layer != tt.c.Layer || e.FeatureID != tt.c.ID || e.NoCoalesce {
				t.Errorf("event %+v", e)
			}
			if e.Warnings != tt.warnings {
				t.Errorf("warnings %05b, want %05b", e.Warnings, tt.warnings)
			}
			if tt.json != "" && string(e.Data) != tt.json {
				t.Errorf("payload\n%s\nwant\n%s", e.Data, tt.json)
			}
			var c Change
			if err := json.Unmarshal(e.Data, &c); err != nil {
				t.Fatalf("payload is not JSON: %v\n%s", err, e.Data)
			}
			if c.Seq != tt.c.Seq || c.Layer != tt.c.Layer || c.ID != tt.c.ID || c.Version != tt.c.Version || c.Op != tt.c.Op ||
				!c.Time.Equal(tt.c.Time) {
				t.Errorf("decoded %+v, want %+v", c, tt.c)
			}
			l, _ := reg.Layer(tt.c.Layer)
			if tt.c.Op == feature.Delete {
				if c.Properties != nil || c.Geometry != nil {
					t.Errorf("a delete carries properties or geometry: %s", e.Data)
				}
				return
			}
			if len(c.Properties) != len(l.Fields) {
				t.Errorf("%d properties, the layer has %d fields", len(c.Properties), len(l.Fields))
			}
			for k, v := range tt.props {
				if c.Properties[k] != v {
					t.Errorf("%s = %v, want %v", k, c.Properties[k], v)
				}
			}
			if !strings.Contains(string(c.Geometry), `"type":`) {
				t.Errorf("geometry %s", c.Geometry)
			}
		})
	}
}

func TestChangeEventErrors(t *testing.T) {
	reg := layers.New()
	up := feature.Change{Seq: 1, Layer: layers.WaterloggingSpots, ID: 17, Op: feature.Update, Version: 2}
	noGeom := spot(17, 2, "red")
	noGeom.Geometry = nil
	nan := spot(17, 2, "red")
	nan.Props["current_depth_cm"] = math.NaN()
	odd := spot(17, 2, "red")
	odd.Props["name"] = []int{1}
	tests := []struct {
		name  string
		c     feature.Change
		after *feature.Feature
		want  string
	}{
		{"unknown layer", feature.Change{Seq: 1, Layer: "nope", ID: 1, Op: feature.Update}, spot(1, 1, "red"), "unknown layer"},
		{"update without the feature", up, nil, "required"},
		{"update without geometry", up, noGeom, "required"},
		{"another feature", up, spot(18, 2, "red"), "the feature given is"},
		{"unknown operation", feature.Change{Seq: 1, Layer: layers.WaterloggingSpots, ID: 17, Op: "upsert"}, spot(17, 1, "red"), "unknown operation"},
		{"not a number", up, nan, "non-finite"},
		{"not a canonical value", up, odd, "unsupported value type"},
	}
	for _, tt := range tests {
		if _, err := ChangeEvent(reg, tt.c, tt.after, -1); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}
