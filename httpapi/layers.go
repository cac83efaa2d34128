package httpapi

import (
	"net/http"

	"riskmap/layers"
)

// layerInfo is one layer in GET /api/v1/layers: its registry entry and how many
// features the index holds.
type layerInfo struct {
	*layers.Layer
	Count int64 `json:"count"`
}

type layersResponse struct {
	Layers        []layerInfo         `json:"layers"`
	RiskGrades    layers.Enum         `json:"risk_grades"`
	WarningLevels layers.Enum         `json:"warning_levels"`
	SensorKinds   []layers.SensorKind `json:"sensor_kinds"`
}

// listLayers: GET /api/v1/layers — the layer registry (fields, types, labels, the two
// color scales, sensor kinds) with the feature count of each layer.
func (s *server) listLayers(w http.ResponseWriter, r *http.Request) error {
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	resp := layersResponse{
		RiskGrades:    s.reg.RiskGrades(),
		WarningLevels: s.reg.WarningLevels(),
		SensorKinds:   s.reg.SensorKinds(),
	}
	for _, l := range s.reg.Layers() {
		resp.Layers = append(resp.Layers, layerInfo{Layer: l, Count: int64(s.ix.Count(l.Name))})
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
