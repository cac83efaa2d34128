package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"riskmap/ingest"
	"riskmap/store"
)

// listAlerts: GET /api/v1/alerts?open=true&drill=&layer=&feature_id=&limit= —
// alerts newest first; open=true: only those not acknowledged, worst first
// (store.AlertSeverity).
func (s *server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	if s.sensors == nil {
		return errSensorsDisabled
	}
	q, err := newQuery(r.URL.Query(), false, "open", "drill", "layer", "feature_id", "limit")
	if err != nil {
		return err
	}
	var aq store.AlertQuery
	if aq.Open, err = q.bool("open", false); err != nil {
		return err
	}
	if q.has("drill") {
		d, err := q.bool("drill", false)
		if err != nil {
			return err
		}
		aq.Drill = &d
	}
	if aq.Layer = q.v.Get("layer"); aq.Layer != "" {
		if _, err := s.reg.Layer(aq.Layer); err != nil {
			return err
		}
	}
	if q.has("feature_id") {
		if aq.Layer == "" {
			return badParam("feature_id", "needs layer")
		}
		id, err := strconv.ParseInt(q.v.Get("feature_id"), 10, 64)
		if err != nil || id <= 0 {
			return badParam("feature_id", "%q is not a feature id (a positive whole number)", q.v.Get("feature_id"))
		}
		aq.FeatureID = id
	}
	if aq.Limit, err = q.int("limit", 1000, 1, 10000); err != nil {
		return err
	}
	list, err := s.sensors.Alerts(r.Context(), aq)
	if err != nil {
		return err
	}
	out := make([]ingest.AlertView, len(list))
	for i, a := range list {
		out[i] = ingest.ViewAlert(a)
		out[i].Object = ingest.ObjectOf(s.ix, a.Layer, a.FeatureID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
	return nil
}

// MaxNameLen and MaxNoteLen bound who acknowledges or sets something and their
// note, in characters.
const (
	MaxNameLen = 100
	MaxNoteLen = 2000
)

// decodeBody decodes a small JSON object body strictly (unknown properties are
// errors).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badParam("body", "not the expected JSON object: %v", err)
	}
	return nil
}

// checkText checks a person's name (required) or note (optional) property.
func checkText(field, v string, required bool, maxLen int) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return badParam(field, "is required")
	case !utf8.ValidString(v):
		return badParam(field, "is not valid UTF-8")
	case utf8.RuneCountInString(v) > maxLen:
		return badParam(field, "is longer than %d characters", maxLen)
	}
	return nil
}

// ackAlert: POST /api/v1/alerts/{id}/ack {"by": "...", "note": "..."} —
// acknowledge an open alert; 409 when it was acknowledged already.
func (s *server) ackAlert(w http.ResponseWriter, r *http.Request) error {
	who, err := s.authorize(r, RoleEditor)
	if err != nil {
		return err
	}
	if s.sensors == nil {
		return errSensorsDisabled
	}
	idS := mux.Vars(r)["id"]
	id, err := strconv.ParseInt(idS, 10, 64)
	if err != nil || id <= 0 {
		return badParam("id", "%q is not an alert id (a positive whole number)", idS)
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	var body struct {
		By   string `json:"by"`
		Note string `json:"note"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if err := checkText("by", body.By, true, MaxNameLen); err != nil {
		return err
	}
	if err := checkText("note", body.Note, false, MaxNoteLen); err != nil {
		return err
	}
	a, err := s.sensors.AckAlert(who.context(r), id, strings.TrimSpace(body.By), body.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ingest.ViewAlert(a))
	return nil
}
