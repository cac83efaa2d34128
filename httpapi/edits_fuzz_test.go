package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// FuzzReadFeatureBody: any body of a feature edit (POST/PUT/PATCH
// /api/v1/features/...) is either refused with a *paramError naming the member at
// fault ("" for a member without a name), or read as a GeoJSON Feature: type "Feature", a geometry when one was
// given, finite numbers, a note of valid text without NUL. What the registry then
// makes of it is a *layers.ValidationError or a feature whose GeoJSON, as the API
// answers it, reads back through the same path to the same properties and
// geometry.
func FuzzReadFeatureBody(f *testing.F) {
	for _, s := range []string{
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[114.12,22.55]},"properties":{"external_id":"RP-1","name":"东门","category":"fire","risk_grade":"major"}}`,
		`{"type":"Feature","geometry":null,"properties":{"name":"x"},"note":"改名"}`,
		`{"type":"Feature","id":3,"geometry":{"type":"Polygon","coordinates":[[[114.1,22.5],[114.2,22.5],[114.2,22.6],[114.1,22.5]]]},"properties":{"layer":"slopes","id":3,"version":2,"external_id":"S-1","name":"边坡","kind":"natural_slope","risk_grade":"low","height_m":12.5}}`,
		`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[114.1,22.5],[114.2,22.6]]},"properties":{"external_id":"RR-1","name":"路","kind":"quality_upgrade","completed_on":"2021-06-30"}}`,
		`{"type":"Feature","properties":{"capacity":1e400}}`,
		`{"type":"Feature","properties":{"capacity":300,"open":true,"kind":"shelter","name":"避难所","external_id":"R-1"},"geometry":{"type":"Point","coordinates":[114,22]}}`,
		`{"type":"Feature","layer":"x"}`, `[]`, `{"type":"FeatureCollection"}`, `{"type":"Feature","note":"a\u0000b"}`,
	} {
		f.Add(uint8(0), s)
		f.Add(uint8(3), s)
	}
	reg := layers.New()
	all := reg.Layers()
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		l := all[int(which)%len(all)]
		fb, err := readBody(body)
		if err != nil {
			var pe *paramError
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return
			}
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("error %v (%T) names no member", err, err)
			}
			// The field names the member: "" only for a member of that name.
			var raw map[string]json.RawMessage
			_ = json.Unmarshal([]byte(body), &raw)
			if _, empty := raw[""]; pe.Field == "" && !empty {
				t.Fatalf("error %v names no member", err)
			}
			return
		}
		if fb.Type != "Feature" || fb.Properties == nil || fb.hasGeometry != (fb.geometry != nil) {
			t.Fatalf("accepted type %q, properties %v, geometry %v (given: %v)", fb.Type, fb.Properties, fb.geometry, fb.hasGeometry)
		}
		if !utf8.ValidString(fb.Note) || strings.ContainsRune(fb.Note, 0) {
			t.Fatalf("accepted note %q", fb.Note)
		}
		for k, v := range fb.Properties {
			if n, ok := v.(json.Number); ok {
				if x, err := n.Float64(); err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
					t.Fatalf("accepted %s = %s", k, n)
				}
			}
		}
		// What the store would do with it (its checks before any SQL).
		if err := fb.readOnlyMembers(l, 0, 0); err != nil {
			var pe *paramError
			if !errors.As(err, &pe) || pe.Field == "" {
				t.Fatalf("read-only members: %v (%T) names no member", err, err)
			}
			return
		}
		props, err := l.Normalize(fb.Properties)
		if err == nil && fb.hasGeometry {
			err = l.ValidateGeometry(fb.geometry)
		}
		if err != nil {
			var verr *layers.ValidationError
			if !errors.As(err, &verr) || len(verr.Problems) == 0 || verr.Layer != l.Name {
				t.Fatalf("%s: %v (%T) is not a ValidationError of the layer", l.Name, err, err)
			}
			return
		}
		if !fb.hasGeometry {
			return
		}
		// Round trip: the feature as GET answers it, sent back as an edit.
		const id, version = 7, 3
		out, err := store.FeatureGeoJSON(l, feature.Feature{Layer: l.Name, ID: id, Version: version, Geometry: fb.geometry, Props: props})
		if err != nil {
			t.Fatalf("%s: encode %v: %v", l.Name, props, err)
		}
		back, err := readBody(string(out))
		if err != nil {
			t.Fatalf("%s: its own GeoJSON %s refused: %v", l.Name, out, err)
		}
		if err := back.readOnlyMembers(l, id, version); err != nil {
			t.Fatalf("%s: its own GeoJSON %s refused: %v", l.Name, out, err)
		}
		again, err := l.Normalize(back.Properties)
		if err != nil {
			t.Fatalf("%s: its own GeoJSON %s refused: %v", l.Name, out, err)
		}
		for _, fd := range l.Fields {
			a, b := props[fd.Name], again[fd.Name]
			if ta, ok := a.(time.Time); ok {
				if tb, ok := b.(time.Time); !ok || !ta.Equal(tb) {
					t.Fatalf("%s: %s %v came back as %v", l.Name, fd.Name, a, b)
				}
				continue
			}
			if a != b {
				t.Fatalf("%s: %s %#v came back as %#v (%s)", l.Name, fd.Name, a, b, out)
			}
		}
		if !orb.Equal(back.geometry, fb.geometry) {
			t.Fatalf("%s: geometry %v came back as %v (%s)", l.Name, fb.geometry, back.geometry, out)
		}
	})
}

// readBody runs readFeatureBody on body as a request's.
func readBody(body string) (*featureBody, error) {
	req := httptest.NewRequest(http.MethodPost, "/api/v1/features/risk_points", bytes.NewReader([]byte(body)))
	return readFeatureBody(httptest.NewRecorder(), req)
}
