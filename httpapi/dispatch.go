package httpapi

import (
	"errors"
	"net/http"
	"slices"

	"riskmap/index"
	"riskmap/layers"
)

// dispatch: GET /api/v1/dispatch?lon=&lat=[&radius=1000][&per_kind=3]
// [&shelter_min_capacity=N][&shelter_open=true]
//
// What a dispatcher needs about an incident point: the per_kind nearest resources of
// each kind (shelters restricted to open ones and/or enough capacity when asked), the
// risks within radius meters counted by layer and grade, and the monitored slopes and
// waterlogging spots in warning within radius, worst first.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) error {
	q, err := newQuery(r.URL.Query(), false, "lon", "lat", "radius", "per_kind", "shelter_min_capacity", "shelter_open")
	if err != nil {
		return err
	}
	p, err := q.point()
	if err != nil {
		return err
	}
	radius, ok, err := q.distance("radius")
	if err != nil {
		return err
	}
	if !ok {
		radius = 1000
	}
	perKind, err := q.int("per_kind", 3, 1, 50)
	if err != nil {
		return err
	}
	shelter := map[string][]string{"layers": {layers.Resources}, "kind": {"shelter"}}
	if v := q.v.Get("shelter_min_capacity"); q.has("shelter_min_capacity") {
		shelter["min_capacity"] = []string{v}
	}
	if v := q.v.Get("shelter_open"); q.has("shelter_open") {
		shelter["open"] = []string{v}
	}
	shelterFilter, err := index.ParseFilter(s.reg, shelter)
	if err != nil {
		var fe *index.FilterError
		if errors.As(err, &fe) {
			err = badParam("shelter_"+fe.Param, "%s", fe.Reason)
		}
		return err
	}

	type group struct {
		Total   int            `json:"total"`
		ByGrade map[string]int `json:"by_grade,omitempty"`
	}
	type resp struct {
		Incident  [2]float64         `json:"incident"`
		RadiusM   float64            `json:"radius_m"`
		Resources map[string]rawJSON `json:"resources"`
		Risks     map[string]*group  `json:"risks"`
		InWarning rawJSON            `json:"in_warning"`
		Totals    map[string]int     `json:"totals"`
	}
	out := resp{Incident: [2]float64{p[0], p[1]}, RadiusM: radius, Resources: map[string]rawJSON{}, Risks: map[string]*group{}, Totals: map[string]int{}}

	resLayer, _ := s.reg.Layer(layers.Resources)
	kindField, _ := resLayer.Field("kind")
	for _, kind := range kindField.Enum.Codes() {
		f := index.Filter{Layers: []string{layers.Resources}, Kind: []string{kind}, MinCapacity: -1}
		if kind == "shelter" {
			f = shelterFilter
		}
		hits := s.ix.Nearest(p, perKind, -1, f)
		out.Resources[kind] = rawJSON(featureCollection(hits, len(hits), 0, true))
	}

	grades := s.reg.RiskGrades()
	all := s.ix.Radius(p, radius, index.Filter{MinCapacity: -1})
	var warn []index.Hit
	for _, h := range all {
		if h.Rec.Layer == layers.Resources {
			continue
		}
		g := out.Risks[h.Rec.Layer]
		if g == nil {
			g = &group{ByGrade: map[string]int{}}
			out.Risks[h.Rec.Layer] = g
		}
		g.Total++
		out.Totals["risks"]++
		if h.Rec.Grade >= 0 {
			g.ByGrade[grades.Choices[h.Rec.Grade].Code]++
		}
		if h.Rec.Warning > 0 {
			warn = append(warn, h)
		}
	}
	slices.SortStableFunc(warn, func(a, b index.Hit) int { return int(b.Rec.Warning) - int(a.Rec.Warning) })
	out.InWarning = rawJSON(featureCollection(warn, len(warn), 0, true))
	out.Totals["in_warning"] = len(warn)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// rawJSON is pre-encoded JSON embedded in a response as is.
type rawJSON []byte

// MarshalJSON returns the bytes unchanged.
func (j rawJSON) MarshalJSON() ([]byte, error) { return j, nil }
