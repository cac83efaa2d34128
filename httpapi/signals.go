package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"riskmap/ingest"
	"riskmap/store"
)

// listSignals: GET /api/v1/signals — the current district signals (one per kind,
// "none" for a kind never set); ?history=true[&kind=] — every setting, newest
// first.
func (s *server) listSignals(w http.ResponseWriter, r *http.Request) error {
	if s.sensors == nil {
		return errSensorsDisabled
	}
	q, err := newQuery(r.URL.Query(), false, "history", "kind", "limit")
	if err != nil {
		return err
	}
	history, err := q.bool("history", false)
	if err != nil {
		return err
	}
	kind := q.v.Get("kind")
	if kind != "" && !slices.Contains(store.SignalKinds, kind) {
		return badParam("kind", "%q is not a signal kind (%s)", kind, strings.Join(store.SignalKinds, ", "))
	}
	limit, err := q.int("limit", 1000, 1, 10000)
	if err != nil {
		return err
	}
	list, err := s.sensors.Signals(r.Context(), !history, kind, limit)
	if err != nil {
		return err
	}
	out := make([]ingest.SignalView, 0, len(list)+len(store.SignalKinds))
	for _, g := range list {
		out = append(out, ingest.ViewSignal(g))
	}
	if !history {
		// Every kind appears, in a fixed order; one never set is "none".
		cur := make([]ingest.SignalView, 0, len(store.SignalKinds))
		for _, k := range store.SignalKinds {
			if kind != "" && k != kind {
				continue
			}
			v := ingest.SignalView{Kind: k, Level: "none"}
			for _, g := range out {
				if g.Kind == k {
					v = g
				}
			}
			cur = append(cur, v)
		}
		out = cur
	}
	writeJSON(w, http.StatusOK, map[string]any{"signals": out})
	return nil
}

// setSignal: PUT /api/v1/signals/{kind} {"level": "orange", "by": "...",
// "note": "..."} — set (or, with "none", lift) a district signal; kept in the
// history and pushed as a "signal" event.
func (s *server) setSignal(w http.ResponseWriter, r *http.Request) error {
	who, err := s.authorize(r, RoleEditor)
	if err != nil {
		return err
	}
	if s.sensors == nil {
		return errSensorsDisabled
	}
	kind := mux.Vars(r)["kind"]
	if !slices.Contains(store.SignalKinds, kind) {
		return badParam("kind", "%q is not a signal kind (%s)", kind, strings.Join(store.SignalKinds, ", "))
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	var body struct {
		Level string `json:"level"`
		By    string `json:"by"`
		Note  string `json:"note"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if !slices.Contains(store.SignalLevels, body.Level) {
		return badParam("level", "%q is not a signal level (%s)", body.Level, strings.Join(store.SignalLevels, ", "))
	}
	if err := checkText("by", body.By, true, MaxNameLen); err != nil {
		return err
	}
	if err := checkText("note", body.Note, false, MaxNoteLen); err != nil {
		return err
	}
	g, err := s.sensors.SetSignal(who.context(r), kind, body.Level, strings.TrimSpace(body.By), body.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ingest.ViewSignal(g))
	return nil
}
