package layers_test

import (
	"math"
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
		n := 0
		layers.Packed(b).Each(func(i int, v layers.PackedValue) bool {
			if i < len(l.Fields) {
				_ = l.Value(v, i)
			}
			got, ok := layers.Packed(b).FieldIn("", i)
			want := v
			// Floats compare by their bits: NaN bytes read alike, and NaN != NaN.
			sameFloat := math.Float64bits(got.Float) == math.Float64bits(want.Float)
			got.Float, want.Float = 0, 0
			if !ok || !sameFloat || !reflect.DeepEqual(got, want) {
				t.Fatalf("FieldIn(%d) = %v, %v; Each gave %v", i, got, ok, v)
			}
			n++
			return true
		})
		if _, ok := layers.Packed(b).FieldIn("", n); ok {
			t.Fatalf("FieldIn(%d) found a value where Each ended", n)
		}
	})
}

// TestPackedFieldIn: FieldIn reads each field as EachIn does, references included,
// and nothing past the last field or a malformed value.
func TestPackedFieldIn(t *testing.T) {
	reg := layers.New()
	for _, l := range reg.Layers() {
		props := map[string]any{}
		base := ""
		for _, f := range l.Fields {
			switch f.Type {
			case layers.TypeText:
				props[f.Name] = "t-" + f.Name
			case layers.TypeEnum:
				props[f.Name] = f.Enum.Codes()[len(f.Enum.Codes())-1]
			case layers.TypeInt:
				props[f.Name] = int64(-300)
			case layers.TypeFloat:
				props[f.Name] = 2.5
			case layers.TypeBool:
				props[f.Name] = true
			case layers.TypeDate:
				props[f.Name] = time.Date(2024, 5, 17, 0, 0, 0, 0, time.UTC)
			}
		}
		// Every other text a reference into base.
		refs := map[int]int{}
		for i, f := range l.Fields {
			if f.Type == layers.TypeText && i%2 == 0 {
				refs[i] = len(base)
				base += props[f.Name].(string)
			}
		}
		p, err := l.PackRefs(props, func(i int) (int, bool) { off, ok := refs[i]; return off, ok })
		if err != nil {
			t.Fatal(err)
		}
		var want []layers.PackedValue
		p.EachIn(base, func(i int, v layers.PackedValue) bool { want = append(want, v); return true })
		if len(want) != len(l.Fields) {
			t.Fatalf("%s: EachIn walked %d fields, want %d", l.Name, len(want), len(l.Fields))
		}
		for i, w := range want {
			if got, ok := p.FieldIn(base, i); !ok || !reflect.DeepEqual(got, w) {
				t.Errorf("%s: FieldIn(%d) = %+v, %v; want %+v", l.Name, i, got, ok, w)
			}
		}
		if _, ok := p.FieldIn(base, len(l.Fields)); ok {
			t.Errorf("%s: FieldIn past the last field found a value", l.Name)
		}
		if _, ok := p[:len(p)-1].FieldIn(base, len(l.Fields)-1); ok {
			t.Errorf("%s: FieldIn read a truncated last value", l.Name)
		}
	}
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
