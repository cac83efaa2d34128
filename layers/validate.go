package layers

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// Problem is one thing wrong with a feature: which field ("geometry" for the geometry)
// and why, in words a data steward understands.
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ValidationError lists every problem found in one feature. Layer and ID say which
// feature (ID 0 for a feature not yet stored).
type ValidationError struct {
	Layer    string    `json:"layer"`
	ID       int64     `json:"id,omitempty"`
	Problems []Problem `json:"problems"`
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Layer)
	if e.ID != 0 {
		fmt.Fprintf(&b, " id %d", e.ID)
	}
	b.WriteString(": ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Field)
		b.WriteString(": ")
		b.WriteString(p.Reason)
	}
	return b.String()
}

// Normalize checks props against the layer's fields and returns a new map holding
// every field of the layer with its canonical Go type (see FieldType): omitted
// optional fields are nil, omitted fields with a Default take it. JSON-decoded values
// (float64 for integers, "YYYY-MM-DD" for dates, json.Number) are accepted. The
// returned error is a *ValidationError naming each bad field; props is not modified.
func (l *Layer) Normalize(props map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(l.Fields))
	var problems []Problem
	for _, f := range l.Fields {
		raw, present := props[f.Name]
		if !present || raw == nil {
			switch {
			case f.Default != nil:
				out[f.Name] = f.Default
			case f.Required:
				problems = append(problems, Problem{f.Name, "is required"})
			default:
				out[f.Name] = nil
			}
			continue
		}
		v, reason := f.convert(raw)
		if reason != "" {
			problems = append(problems, Problem{f.Name, reason})
			continue
		}
		out[f.Name] = v
	}
	var unknown []string
	for k := range props {
		if _, ok := l.Field(k); !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		problems = append(problems, Problem{k, fmt.Sprintf("is not a field of layer %s", l.Name)})
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Layer: l.Name, Problems: problems}
	}
	return out, nil
}

// convert turns raw into the field's canonical type, or returns why it cannot.
func (f Field) convert(raw any) (any, string) {
	switch f.Type {
	case TypeText:
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Sprintf("must be text, got %s", describe(raw))
		}
		if !utf8.ValidString(s) {
			return nil, "is not valid UTF-8"
		}
		if strings.ContainsRune(s, 0) {
			return nil, "contains a NUL character"
		}
		if n := utf8.RuneCountInString(s); n > f.maxLen() {
			return nil, fmt.Sprintf("is %d characters long, the limit is %d", n, f.maxLen())
		}
		return s, ""
	case TypeEnum:
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Sprintf("must be one of %s, got %s", strings.Join(f.Enum.Codes(), ", "), describe(raw))
		}
		if !f.Enum.Has(s) {
			return nil, fmt.Sprintf("%q is not one of %s", truncate(s), strings.Join(f.Enum.Codes(), ", "))
		}
		return s, ""
	case TypeBool:
		b, ok := raw.(bool)
		if !ok {
			return nil, fmt.Sprintf("must be true or false, got %s", describe(raw))
		}
		return b, ""
	case TypeDate:
		switch v := raw.(type) {
		case time.Time:
			y, m, d := v.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), ""
		case string:
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return nil, fmt.Sprintf("%q is not a date YYYY-MM-DD", truncate(v))
			}
			return t, ""
		}
		return nil, fmt.Sprintf("must be a date YYYY-MM-DD, got %s", describe(raw))
	case TypeInt, TypeFloat:
		x, ok := toFloat(raw)
		if !ok {
			return nil, fmt.Sprintf("must be a number, got %s", describe(raw))
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, "must be a finite number"
		}
		if f.Min != nil && x < *f.Min {
			return nil, fmt.Sprintf("%v is below the minimum %v%s", x, *f.Min, unitSuffix(f.Unit))
		}
		if f.Max != nil && x > *f.Max {
			return nil, fmt.Sprintf("%v is above the maximum %v%s", x, *f.Max, unitSuffix(f.Unit))
		}
		if f.Type == TypeInt {
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, fmt.Sprintf("%v is not a whole number", x)
			}
			return int64(x), ""
		}
		return x, ""
	}
	return nil, fmt.Sprintf("has unsupported field type %q", f.Type)
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

func toFloat(raw any) (float64, bool) {
	switch v := raw.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	case json.Number:
		x, err := v.Float64()
		return x, err == nil
	}
	return 0, false
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("text %q", truncate(x))
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case float64, float32, int, int32, int64, json.Number:
		return fmt.Sprintf("number %v", x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a value of type %T", v)
}

func truncate(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

// ValidateGeometry checks g against the layer: an accepted type, finite lon/lat
// coordinates in degrees within [-180, 180] × [-90, 90], lines with two distinct
// points, closed polygon rings with at least three distinct points. Self-intersection
// is left to PostGIS (ST_IsValid), which the schema enforces. The error is a
// *ValidationError with field "geometry".
func (l *Layer) ValidateGeometry(g orb.Geometry) error {
	reason := l.geometryProblem(g)
	if reason == "" {
		return nil
	}
	return &ValidationError{Layer: l.Name, Problems: []Problem{{"geometry", reason}}}
}

func (l *Layer) geometryProblem(g orb.Geometry) string {
	if g == nil {
		return "is required"
	}
	t := GeometryType(g.GeoJSONType())
	if !l.Accepts(t) {
		accepted := make([]string, len(l.Geometry))
		for i, a := range l.Geometry {
			accepted[i] = string(a)
		}
		return fmt.Sprintf("type %s is not accepted, use %s", t, strings.Join(accepted, " or "))
	}
	switch v := g.(type) {
	case orb.Point:
		return pointProblem(v)
	case orb.LineString:
		return lineProblem(v)
	case orb.MultiLineString:
		if len(v) == 0 {
			return "MultiLineString is empty"
		}
		for i, ls := range v {
			if r := lineProblem(ls); r != "" {
				return fmt.Sprintf("line %d: %s", i, r)
			}
		}
	case orb.Polygon:
		return polygonProblem(v)
	case orb.MultiPolygon:
		if len(v) == 0 {
			return "MultiPolygon is empty"
		}
		for i, p := range v {
			if r := polygonProblem(p); r != "" {
				return fmt.Sprintf("polygon %d: %s", i, r)
			}
		}
	}
	return ""
}

func pointProblem(p orb.Point) string {
	lon, lat := p[0], p[1]
	if math.IsNaN(lon) || math.IsNaN(lat) || math.IsInf(lon, 0) || math.IsInf(lat, 0) {
		return "coordinates must be finite numbers"
	}
	if lon < -180 || lon > 180 {
		return fmt.Sprintf("longitude %v is outside -180..180 degrees", lon)
	}
	if lat < -90 || lat > 90 {
		return fmt.Sprintf("latitude %v is outside -90..90 degrees", lat)
	}
	return ""
}

func pointsProblem(ps []orb.Point) string {
	for _, p := range ps {
		if r := pointProblem(p); r != "" {
			return r
		}
	}
	return ""
}

func distinct(ps []orb.Point) int {
	seen := make(map[orb.Point]struct{}, len(ps))
	for _, p := range ps {
		seen[p] = struct{}{}
	}
	return len(seen)
}

func lineProblem(ls orb.LineString) string {
	if r := pointsProblem(ls); r != "" {
		return r
	}
	if distinct(ls) < 2 {
		return "a line needs at least two distinct points"
	}
	return ""
}

func polygonProblem(p orb.Polygon) string {
	if len(p) == 0 {
		return "polygon has no rings"
	}
	for i, ring := range p {
		if r := pointsProblem(ring); r != "" {
			return r
		}
		if len(ring) < 4 || ring[0] != ring[len(ring)-1] {
			return fmt.Sprintf("ring %d must be closed (first point = last point) with at least 4 points", i)
		}
		if distinct(ring) < 3 {
			return fmt.Sprintf("ring %d needs at least three distinct points", i)
		}
	}
	return ""
}
