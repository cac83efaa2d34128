package demo

import (
	"math"
	"reflect"
	"testing"
	"time"

	"riskmap/sensors"
	"riskmap/sim"
)

// TestHistory: the demo history covers the span before now for every sensor at its
// kind's interval, never after now, with values in range and below the blue
// thresholds but for rare noise, and is the same every time.
func TestHistory(t *testing.T) {
	ds, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 12, 34, 56, 789, time.UTC)
	span := DefaultHistory
	rs, err := History(ds, now, span, ds.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Seed != DefaultDemoSeed {
		t.Fatalf("dataset seed %d, generated with %d", ds.Seed, DefaultDemoSeed)
	}
	bySensor := map[int64][]sensors.Reading{}
	for _, r := range rs {
		bySensor[r.SensorID] = append(bySensor[r.SensorID], r)
	}
	if len(bySensor) != len(ds.Sensors) {
		t.Fatalf("history for %d sensors, the dataset has %d", len(bySensor), len(ds.Sensors))
	}
	end := now.Truncate(time.Minute)
	blue := 0
	for _, s := range ds.Sensors {
		list := bySensor[s.ID]
		iv := sim.Interval(s.Kind)
		if want := int(span/iv) + 1; len(list) < want-1 || len(list) > want {
			t.Errorf("sensor %d (%s): %d readings in %v at %v", s.ID, s.Kind, len(list), span, iv)
		}
		for i, r := range list {
			if r.Drill {
				t.Fatalf("sensor %d: a drill reading in the history", s.ID)
			}
			if r.Time.After(end) || r.Time.Before(end.Add(-span)) || r.Time.Location() != time.UTC {
				t.Fatalf("sensor %d: reading at %v, outside [%v, %v] UTC", s.ID, r.Time, end.Add(-span), end)
			}
			if i > 0 && r.Time.Sub(list[i-1].Time) != iv {
				t.Fatalf("sensor %d: readings at %v and %v, interval %v", s.ID, list[i-1].Time, r.Time, iv)
			}
			if math.IsNaN(r.Value) || r.Value < s.RangeMin || r.Value > s.RangeMax {
				t.Fatalf("sensor %d (%s): value %v outside [%v, %v]", s.ID, s.Kind, r.Value, s.RangeMin, s.RangeMax)
			}
			if th := s.Thresholds; th != nil {
				if r.Value >= th.Yellow {
					t.Fatalf("sensor %d (%s): %v at %v, yellow is %v", s.ID, s.Kind, r.Value, r.Time, th.Yellow)
				}
				if r.Value >= th.Blue {
					blue++
				}
			}
		}
		if len(list) > 0 && end.Sub(list[len(list)-1].Time) >= iv {
			t.Errorf("sensor %d: last reading at %v, %v before the end", s.ID, list[len(list)-1].Time, end.Sub(list[len(list)-1].Time))
		}
	}
	if blue*100 > len(rs) {
		t.Errorf("%d of %d history readings at or above blue: not a calm start", blue, len(rs))
	}
	again, err := History(ds, now, span, ds.Seed)
	if err != nil || !reflect.DeepEqual(rs, again) {
		t.Fatalf("a second history differs (err %v)", err)
	}
	if none, err := History(ds, now, 0, ds.Seed); err != nil || len(none) != 0 {
		t.Errorf("zero span: %d readings, err %v", len(none), err)
	}
}

// TestSimSensorsDescribeObjects: every active sensor is described with its
// object's kind and a point inside the district.
func TestSimSensorsDescribeObjects(t *testing.T) {
	ds, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	boundary, err := Boundary()
	if err != nil {
		t.Fatal(err)
	}
	b := boundary.Bound()
	ss := SimSensors(ds)
	if len(ss) != len(ds.Sensors) {
		t.Fatalf("%d sim sensors for %d sensors", len(ss), len(ds.Sensors))
	}
	for i, s := range ss {
		f := ds.Features[s.Layer][s.FeatureID-1]
		if f.ID != s.FeatureID || s.ObjectKind != f.Props["kind"] || s.ID != ds.Sensors[i].ID {
			t.Fatalf("sensor %d: object %s/%d kind %q, feature %d kind %v", s.ID, s.Layer, s.FeatureID, s.ObjectKind, f.ID, f.Props["kind"])
		}
		if s.Lon < b.Min[0] || s.Lon > b.Max[0] || s.Lat < b.Min[1] || s.Lat > b.Max[1] {
			t.Errorf("sensor %d at %v, %v: outside the district's bounds", s.ID, s.Lon, s.Lat)
		}
	}
}
