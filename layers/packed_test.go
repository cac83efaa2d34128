package layers_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"riskmap/layers"
)

func TestPackRoundTrip(t *testing.T) {
	reg := layers.New()
	date := time.Date(2024, 5, 17, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		layer string
		props map[string]any
	}{
		{layers.RiskPoints, map[string]any{"external_id": "LH-1", "name": "东门老街 燃气", "category": "gas",
			"risk_grade": "major", "hazard_status": "open", "address": ""}},
		{layers.Slopes, map[string]any{"external_id": "S-1", "name": "边坡", "kind": "cut", "height_m": 12.5,
			"length_m": 0.0, "angle_deg": 89.999, "risk_grade": "low", "monitored": true, "warning_level": "red"}},
		{layers.Resources, map[string]any{"external_id": "R-1", "kind": "shelter", "name": "n",
			"capacity": int64(-0), "open": false}},
		{layers.Resources, map[string]any{"external_id": "R-2", "kind": "shelter", "name": "n",
			"capacity": int64(10_000_000), "open": true}},
		{layers.RectifiedRoads, map[string]any{"external_id": "X", "name": "深南东路", "kind": "drainage", "completed_on": date}},
		{layers.RectifiedRoads, map[string]any{}},
	}
	for _, tc := range tests {
		t.Run(tc.layer, func(t *testing.T) {
			l, err := reg.Layer(tc.layer)
			if err != nil {
				t.Fatal(err)
			}
			// Fill the enum codes the test did not pick from the registry, so the
			// cases stay valid when the registry's codes change.
			for _, f := range l.Fields {
				if v, ok := tc.props[f.Name].(string); ok && f.Enum != nil && !f.Enum.Has(v) {
					tc.props[f.Name] = f.Enum.Codes()[0]
				}
			}
			p, err := l.Pack(tc.props)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			n := 0
			p.Each(func(i int, v layers.PackedValue) bool {
				n++
				if x := l.Value(v, i); x != nil {
					got[l.Fields[i].Name] = x
				}
				return true
			})
			if n != len(l.Fields) {
				t.Fatalf("walked %d values, want %d", n, len(l.Fields))
			}
			if !reflect.DeepEqual(got, tc.props) && !(len(got) == 0 && len(tc.props) == 0) {
				t.Fatalf("round trip\n got %v\nwant %v", got, tc.props)
			}
		})
	}
}

func TestPackRejects(t *testing.T) {
	reg := layers.New()
	l, _ := reg.Layer(layers.RiskPoints)
	for _, props := range []map[string]any{
		{"name": 3},
		{"risk_grade": "purple"},
		{"risk_grade": 2},
	} {
		if _, err := l.Pack(props); err == nil {
			t.Errorf("Pack(%v) accepted", props)
		}
	}
	r, _ := reg.Layer(layers.Resources)
	if _, err := r.Pack(map[string]any{"capacity": 3.5}); err == nil {
		t.Error("Pack accepted a float capacity")
	}
}

// FuzzPackedEach: any bytes, walked as a Packed, end the walk without panicking.
func FuzzPackedEach(f *testing.F) {
	reg := layers.New()
	l, _ := reg.Layer(layers.Slopes)
	p, _ := l.Pack(map[string]any{"name": "x", "height_m": 3.0, "monitored": true, "risk_grade": "low"})
	f.Add([]byte(p))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		layers.Packed(b).Each(func(i int, v layers.PackedValue) bool {
			if i < len(l.Fields) {
				_ = l.Value(v, i)
			}
			return true
		})
	})
}

// TestPackRefs: texts stored as references into a base string read back as texts;
// a reference outside the base ends the walk instead of reading past it.
func TestPackRefs(t *testing.T) {
	reg := layers.New()
	l, _ := reg.Layer(layers.RiskPoints)
	props := map[string]any{"external_id": "LH-9", "name": "东门", "category": "gas", "risk_grade": "low", "hazard_status": "open"}
	base := `xxLH-9yy东门`
	ref := func(i int) (int, bool) {
		switch l.Fields[i].Name {
		case "external_id":
			return 2, true
		case "name":
			return 8, true
		}
		return 0, false
	}
	p, err := l.PackRefs(props, ref)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := l.Pack(props)
	if len(p) >= len(full) {
		t.Errorf("references did not save space: %d vs %d bytes", len(p), len(full))
	}
	got := map[string]any{}
	p.EachIn(base, func(i int, v layers.PackedValue) bool {
		if x := l.Value(v, i); x != nil {
			got[l.Fields[i].Name] = x
		}
		return true
	})
	for k, v := range props {
		if l.Fields[slices.IndexFunc(l.Fields, func(f layers.Field) bool { return f.Name == k })].Enum == nil && got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
	n := 0
	p.EachIn("short", func(int, layers.PackedValue) bool { n++; return true })
	if n != 0 {
		t.Errorf("a reference past the base was read (%d values)", n)
	}
}
