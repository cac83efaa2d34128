package httpapi

import (
	"net/http"
	"strconv"
	"unicode/utf8"
)

// search: GET /api/v1/search?q=&limit=[&filters] — features whose name, address or
// external id contains q, best first: {"query":..,"results":[{"layer","id","name",
// "address","external_id","score","lon","lat"}]}. lon/lat is a point of the feature
// to fly the map to (its bounding-box center).
func (s *server) search(w http.ResponseWriter, r *http.Request) error {
	q, err := newQuery(r.URL.Query(), true, "q", "limit")
	if err != nil {
		return err
	}
	text := q.v.Get("q")
	if n := utf8.RuneCountInString(text); n == 0 || n > 100 {
		return badParam("q", "give 1 to 100 characters to search for")
	}
	limit, err := q.int("limit", 20, 1, 200)
	if err != nil {
		return err
	}
	f, err := s.filter(q)
	if err != nil {
		return err
	}
	type result struct {
		Layer      string  `json:"layer"`
		ID         int64   `json:"id"`
		Name       string  `json:"name"`
		Address    string  `json:"address,omitempty"`
		ExternalID string  `json:"external_id"`
		Score      int     `json:"score"`
		Lon        float64 `json:"lon"`
		Lat        float64 `json:"lat"`
	}
	out := struct {
		Query   string   `json:"query"`
		Results []result `json:"results"`
	}{Query: text, Results: []result{}}
	for _, h := range s.ix.Search(text, limit, f) {
		c := h.Rec.Bound.Center()
		out.Results = append(out.Results, result{h.Rec.Layer, h.Rec.ID, h.Rec.Name, h.Rec.Address, h.Rec.ExternalID, h.Score, round7(c[0]), round7(c[1])})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func round7(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 7, 64), 64)
	return v
}
