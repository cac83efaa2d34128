package layers

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

func TestRegistryShape(t *testing.T) {
	r := New()
	want := []string{RiskPoints, Slopes, WaterloggingSpots, RectifiedRoads, Resources}
	if len(r.Layers()) != len(want) {
		t.Fatalf("%d layers, want %d", len(r.Layers()), len(want))
	}
	for i, l := range r.Layers() {
		if l.Name != want[i] {
			t.Errorf("layer %d is %s, want %s", i, l.Name, want[i])
		}
		if l.TitleZH == "" || l.TitleEN == "" || len(l.Geometry) == 0 {
			t.Errorf("%s: missing titles or geometry types", l.Name)
		}
		seen := map[string]bool{}
		for _, f := range l.Fields {
			if seen[f.Name] {
				t.Errorf("%s: field %s twice", l.Name, f.Name)
			}
			seen[f.Name] = true
			if f.LabelZH == "" || f.LabelEN == "" {
				t.Errorf("%s.%s: missing a label", l.Name, f.Name)
			}
			if (f.Type == TypeEnum) != (f.Enum != nil) {
				t.Errorf("%s.%s: enum type and enum values disagree", l.Name, f.Name)
			}
			if f.Default != nil {
				if _, reason := f.convert(f.Default); reason != "" {
					t.Errorf("%s.%s: default %v is invalid: %s", l.Name, f.Name, f.Default, reason)
				}
			}
			switch f.Name {
			case "id", "version", "updated_at", "geom":
				t.Errorf("%s: field %s collides with a system column", l.Name, f.Name)
			}
		}
		for _, must := range []string{"external_id", "name"} {
			if !seen[must] {
				t.Errorf("%s: no %s field", l.Name, must)
			}
		}
	}
	if _, err := r.Layer("bridges"); !errors.Is(err, ErrUnknownLayer) || !strings.Contains(err.Error(), "bridges") {
		t.Errorf("unknown layer error = %v", err)
	}
}

func TestScales(t *testing.T) {
	r := New()
	tests := []struct {
		e     Enum
		codes string
		color []string
	}{
		{r.RiskGrades(), "low general significant major", []string{ColorBlue, ColorYellow, ColorOrange, ColorRed}},
		{r.WarningLevels(), "none blue yellow orange red", []string{ColorGrey, ColorBlue, ColorYellow, ColorOrange, ColorRed}},
	}
	for _, tt := range tests {
		if got := strings.Join(tt.e.Codes(), " "); got != tt.codes {
			t.Errorf("%s: codes %q, want %q", tt.e.Name, got, tt.codes)
		}
		for i, c := range tt.e.Choices {
			if c.Color != tt.color[i] {
				t.Errorf("%s %s: color %s, want %s", tt.e.Name, c.Code, c.Color, tt.color[i])
			}
		}
	}
	if romans := []string{"", "IV", "III", "II", "I"}; true {
		for i, c := range r.WarningLevels().Choices {
			if c.Roman != romans[i] {
				t.Errorf("level %s: roman %q, want %q", c.Code, c.Roman, romans[i])
			}
		}
	}
	if r.RiskGrades().Rank("major") <= r.RiskGrades().Rank("low") || r.WarningLevels().Rank("red") <= r.WarningLevels().Rank("blue") {
		t.Error("severity order is wrong")
	}
}

func TestNormalize(t *testing.T) {
	r := New()
	rp, _ := r.Layer(RiskPoints)
	sl, _ := r.Layer(Slopes)
	rs, _ := r.Layer(Resources)
	rd, _ := r.Layer(RectifiedRoads)
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"external_id": "RP-1", "name": "东门步行街", "category": "fire", "risk_grade": "major"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		l       *Layer
		props   map[string]any
		field   string // expected problem field, "" for success
		reason  string
		checkFn func(t *testing.T, out map[string]any)
	}{
		{name: "minimal risk point takes defaults", l: rp, props: base(nil),
			checkFn: func(t *testing.T, out map[string]any) {
				if out["hazard_status"] != "open" || out["address"] != nil || len(out) != len(rp.Fields) {
					t.Errorf("got %v", out)
				}
			}},
		{name: "grade critical", l: rp, props: base(map[string]any{"risk_grade": "critical"}), field: "risk_grade", reason: `"critical" is not one of low, general, significant, major`},
		{name: "grade as a number", l: rp, props: base(map[string]any{"risk_grade": 3.0}), field: "risk_grade", reason: "got number 3"},
		{name: "missing name", l: rp, props: map[string]any{"external_id": "x", "category": "fire", "risk_grade": "low"}, field: "name", reason: "is required"},
		{name: "unknown field", l: rp, props: base(map[string]any{"colour": "red"}), field: "colour", reason: "not a field of layer risk_points"},
		{name: "null optional", l: rp, props: base(map[string]any{"address": nil}),
			checkFn: func(t *testing.T, out map[string]any) {
				if out["address"] != nil {
					t.Errorf("address %v", out["address"])
				}
			}},
		{name: "text too long", l: rp, props: base(map[string]any{"external_id": strings.Repeat("x", 65)}), field: "external_id", reason: "65 characters long, the limit is 64"},
		{name: "NUL in text", l: rp, props: base(map[string]any{"name": "a\x00b"}), field: "name", reason: "NUL"},
		{name: "angle above 90", l: sl, props: map[string]any{"external_id": "s", "name": "n", "kind": "natural_slope", "risk_grade": "low", "angle_deg": 95.0}, field: "angle_deg", reason: "above the maximum 90 deg"},
		{name: "height NaN", l: sl, props: map[string]any{"external_id": "s", "name": "n", "kind": "natural_slope", "risk_grade": "low", "height_m": math.NaN()}, field: "height_m", reason: "finite"},
		{name: "monitored as text", l: sl, props: map[string]any{"external_id": "s", "name": "n", "kind": "natural_slope", "risk_grade": "low", "monitored": "yes"}, field: "monitored", reason: "true or false"},
		{name: "capacity from JSON float", l: rs, props: map[string]any{"external_id": "r", "name": "n", "kind": "shelter", "capacity": 1200.0},
			checkFn: func(t *testing.T, out map[string]any) {
				if out["capacity"] != int64(1200) || out["open"] != true {
					t.Errorf("capacity %#v open %#v", out["capacity"], out["open"])
				}
			}},
		{name: "capacity json.Number", l: rs, props: map[string]any{"external_id": "r", "name": "n", "kind": "shelter", "capacity": json.Number("300")},
			checkFn: func(t *testing.T, out map[string]any) {
				if out["capacity"] != int64(300) {
					t.Errorf("capacity %#v", out["capacity"])
				}
			}},
		{name: "fractional capacity", l: rs, props: map[string]any{"external_id": "r", "name": "n", "kind": "shelter", "capacity": 12.5}, field: "capacity", reason: "not a whole number"},
		{name: "negative capacity", l: rs, props: map[string]any{"external_id": "r", "name": "n", "kind": "shelter", "capacity": -1.0}, field: "capacity", reason: "below the minimum 0"},
		{name: "date as text", l: rd, props: map[string]any{"external_id": "d", "name": "n", "kind": "radar_scan", "completed_on": "2021-06-30"},
			checkFn: func(t *testing.T, out map[string]any) {
				if !out["completed_on"].(time.Time).Equal(time.Date(2021, 6, 30, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("date %v", out["completed_on"])
				}
			}},
		{name: "bad date", l: rd, props: map[string]any{"external_id": "d", "name": "n", "kind": "radar_scan", "completed_on": "30/06/2021"}, field: "completed_on", reason: "not a date YYYY-MM-DD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.l.Normalize(tt.props)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.checkFn != nil {
					tt.checkFn(t, out)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			for _, p := range verr.Problems {
				if p.Field == tt.field && strings.Contains(p.Reason, tt.reason) {
					if !strings.Contains(err.Error(), tt.l.Name) {
						t.Errorf("error %q does not name the layer", err)
					}
					return
				}
			}
			t.Fatalf("problems %+v, want %s: ...%s...", verr.Problems, tt.field, tt.reason)
		})
	}
}

func TestNormalizeReportsEveryProblem(t *testing.T) {
	rp, _ := New().Layer(RiskPoints)
	_, err := rp.Normalize(map[string]any{"risk_grade": "critical", "zzz": 1})
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatal(err)
	}
	fields := []string{}
	for _, p := range verr.Problems {
		fields = append(fields, p.Field)
	}
	if got := strings.Join(fields, ","); got != "external_id,name,category,risk_grade,zzz" {
		t.Fatalf("problem fields %s", got)
	}
}

func TestValidateGeometry(t *testing.T) {
	r := New()
	rp, _ := r.Layer(RiskPoints)
	sl, _ := r.Layer(Slopes)
	rd, _ := r.Layer(RectifiedRoads)
	square := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}
	tests := []struct {
		name   string
		l      *Layer
		g      orb.Geometry
		reason string // "" = valid
	}{
		{"point", rp, orb.Point{114.1, 22.5}, ""},
		{"lon 200", rp, orb.Point{200, 22.5}, "longitude 200 is outside -180..180"},
		{"lat -91", rp, orb.Point{114, -91}, "latitude -91 is outside"},
		{"NaN", rp, orb.Point{math.NaN(), 1}, "finite"},
		{"nil", rp, nil, "is required"},
		{"line on a point layer", rp, orb.LineString{{0, 0}, {1, 1}}, "type LineString is not accepted, use Point"},
		{"slope polygon", sl, orb.Polygon{square}, ""},
		{"slope point", sl, orb.Point{114, 22}, ""},
		{"open ring", sl, orb.Polygon{square[:4]}, "must be closed"},
		{"flat ring", sl, orb.Polygon{{{0, 0}, {1, 1}, {0, 0}, {1, 1}, {0, 0}}}, "three distinct points"},
		{"road line", rd, orb.LineString{{0, 0}, {1, 1}}, ""},
		{"zero-length line", rd, orb.LineString{{1, 1}, {1, 1}}, "two distinct points"},
		{"empty multiline", rd, orb.MultiLineString{}, "empty"},
		{"multiline with a bad part", rd, orb.MultiLineString{{{0, 0}, {1, 1}}, {{2, 2}}}, "line 1: a line needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.ValidateGeometry(tt.g)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) || verr.Problems[0].Field != "geometry" || !strings.Contains(verr.Problems[0].Reason, tt.reason) {
				t.Fatalf("err = %v, want geometry: ...%s...", err, tt.reason)
			}
		})
	}
}

// FuzzNormalize feeds JSON objects, as an API client would send them, through
// Normalize: it must never panic, and whatever it accepts must be canonical (a second
// pass returns the same values) and hold only the layer's fields.
func FuzzNormalize(f *testing.F) {
	f.Add(`{"external_id":"a","name":"b","category":"fire","risk_grade":"low"}`)
	f.Add(`{"external_id":"a","name":"b","kind":"shelter","capacity":1e300}`)
	f.Add(`{"completed_on":"2021-02-30","capacity":-0}`)
	r := New()
	f.Fuzz(func(t *testing.T, doc string) {
		var props map[string]any
		if json.Unmarshal([]byte(doc), &props) != nil {
			return
		}
		for _, l := range r.Layers() {
			out, err := l.Normalize(props)
			if err != nil {
				var verr *ValidationError
				if !errors.As(err, &verr) || len(verr.Problems) == 0 {
					t.Fatalf("%s: error %v is not a ValidationError with problems", l.Name, err)
				}
				continue
			}
			if len(out) != len(l.Fields) {
				t.Fatalf("%s: %d values for %d fields", l.Name, len(out), len(l.Fields))
			}
			again, err := l.Normalize(out)
			if err != nil {
				t.Fatalf("%s: normalized output rejected: %v", l.Name, err)
			}
			for k, v := range out {
				if tv, ok := v.(time.Time); ok {
					if !tv.Equal(again[k].(time.Time)) {
						t.Fatalf("%s.%s: %v then %v", l.Name, k, v, again[k])
					}
				} else if again[k] != v {
					t.Fatalf("%s.%s: %#v then %#v", l.Name, k, v, again[k])
				}
			}
		}
	})
}
