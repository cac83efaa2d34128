package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"riskmap/layers"
	"riskmap/store"
)

// MaxHazardLimit bounds one page of GET /api/v1/hazards.
const MaxHazardLimit = 10_000

// hazardView is one hazard in GET /api/v1/hazards.
type hazardView struct {
	ID          int64     `json:"id"`
	Version     int64     `json:"version"`
	ExternalID  string    `json:"external_id"`
	Name        string    `json:"name"`
	Subdistrict string    `json:"subdistrict,omitempty"`
	Department  string    `json:"responsible_dept,omitempty"`
	RiskGrade   string    `json:"risk_grade"`
	Status      string    `json:"status"`
	DueOn       *string   `json:"due_on"`
	Overdue     bool      `json:"overdue"`
	DaysOverdue int       `json:"days_overdue,omitempty"`
	Since       time.Time `json:"since"`
}

type countView struct {
	Key   string `json:"key"` // a department or sub-district code; "" for none
	Count int    `json:"count"`
}

// dueView formats a due date and says whether (and by how many days) it is past
// today, for a hazard in status.
func dueView(due *time.Time, status string, today time.Time) (*string, bool, int) {
	if due == nil {
		return nil, false, 0
	}
	s := due.Format(time.DateOnly)
	if status == "closed" || !due.Before(today) {
		return &s, false, 0
	}
	return &s, true, int(today.Sub(*due).Hours() / 24)
}

// counts sorts a tally, largest first, then by key.
func counts(m map[string]int) []countView {
	out := make([]countView, 0, len(m))
	for k, n := range m {
		out = append(out, countView{k, n})
	}
	slices.SortFunc(out, func(a, b countView) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// listHazards: GET /api/v1/hazards?overdue=true&status=&department=&subdistrict=&limit=&offset=
// — the risk points' hazards not closed (status= one of open, rectifying, closed
// instead), overdue=true only those whose due date (the latest step's due_on) is
// before today in China Standard Time; with the total, and counts by responsible
// department and by sub-district of everything selected (not only the page): the
// bureau's weekly "what is overdue, and whose is it?".
func (s *server) listHazards(w http.ResponseWriter, r *http.Request) error {
	if s.edits == nil {
		return errEditsDisabled
	}
	q, err := newQuery(r.URL.Query(), false, "overdue", "status", "department", "subdistrict", "limit", "offset")
	if err != nil {
		return err
	}
	overdue, err := q.bool("overdue", false)
	if err != nil {
		return err
	}
	hq := store.HazardQuery{Status: q.v.Get("status"), Department: q.v.Get("department"), Subdistrict: q.v.Get("subdistrict")}
	if hq.Status != "" && !slices.Contains([]string{"open", "rectifying", "closed"}, hq.Status) {
		return badParam("status", "%q is not one of open, rectifying, closed", truncateText(hq.Status, 40))
	}
	if err := checkText("department", hq.Department, false, 64); err != nil {
		return err
	}
	if strings.ContainsRune(hq.Department, 0) {
		return badParam("department", "contains a NUL character")
	}
	if hq.Subdistrict != "" && !slices.Contains(s.reg.FieldCodes("subdistrict"), hq.Subdistrict) {
		return badParam("subdistrict", "%q is not a sub-district code (see /api/v1/layers)", truncateText(hq.Subdistrict, 40))
	}
	limit, err := q.int("limit", 100, 1, MaxHazardLimit)
	if err != nil {
		return err
	}
	offset, err := q.int("offset", 0, 0, 1_000_000)
	if err != nil {
		return err
	}
	today := store.TodayCST(time.Now())
	if overdue {
		hq.DueBefore = &today
	}
	hs, err := s.edits.Hazards(r.Context(), hq)
	if err != nil {
		return err
	}
	byDept, bySub := map[string]int{}, map[string]int{}
	for _, h := range hs {
		byDept[h.Department]++
		bySub[h.Subdistrict]++
	}
	views := []hazardView{}
	for i := offset; i < len(hs) && i < offset+limit; i++ {
		h := hs[i]
		v := hazardView{ID: h.ID, Version: h.Version, ExternalID: h.ExternalID, Name: h.Name, Subdistrict: h.Subdistrict,
			Department: h.Department, RiskGrade: h.RiskGrade, Status: h.Status, Since: h.Since}
		v.DueOn, v.Overdue, v.DaysOverdue = dueView(h.DueOn, h.Status, today)
		views = append(views, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"today": today.Format(time.DateOnly), "overdue": overdue, "total": len(hs), "limit": limit, "offset": offset,
		"by_department": counts(byDept), "by_subdistrict": counts(bySub), "hazards": views,
	})
	return nil
}

// stepView is one step of a hazard's history.
type stepView struct {
	From  string    `json:"from,omitempty"`
	To    string    `json:"to"`
	Actor string    `json:"actor"`
	Note  string    `json:"note,omitempty"`
	At    time.Time `json:"at"`
	DueOn *string   `json:"due_on"`
}

// moveView is a move the workflow allows from the current status.
type moveView struct {
	To           string `json:"to"`
	NoteRequired bool   `json:"note_required"`
	Due          string `json:"due"` // required, optional or none
}

// hazardID reads {id}, a risk point id.
func hazardID(r *http.Request) (int64, error) {
	idS := mux.Vars(r)["id"]
	id, err := strconv.ParseInt(idS, 10, 64)
	if err != nil || id <= 0 {
		return 0, badParam("id", "%q is not a risk point id (a positive whole number)", truncateText(idS, 40))
	}
	return id, nil
}

// writeHazard answers with risk point id's hazard: status, version (also the
// ETag a move's If-Match names), due date, whether overdue, the moves allowed from
// here and the history, newest first.
func (s *server) writeHazard(w http.ResponseWriter, r *http.Request, id int64) error {
	f, err := s.edits.Get(r.Context(), layers.RiskPoints, id)
	if err != nil {
		return err
	}
	hist, err := s.edits.HazardHistory(r.Context(), id)
	if err != nil {
		return err
	}
	status, _ := f.Props["hazard_status"].(string)
	today := store.TodayCST(time.Now())
	var due *time.Time
	if len(hist) > 0 {
		due = hist[0].DueOn
	}
	out := map[string]any{"id": id, "version": f.Version, "status": status}
	dueS, overdue, days := dueView(due, status, today)
	out["due_on"], out["overdue"], out["days_overdue"], out["today"] = dueS, overdue, days, today.Format(time.DateOnly)
	moves := []moveView{}
	for _, t := range store.HazardTransitions {
		if t.From == status {
			moves = append(moves, moveView{To: t.To, NoteRequired: t.NoteRequired, Due: t.Due})
		}
	}
	out["moves"] = moves
	steps := make([]stepView, len(hist))
	for i, h := range hist {
		steps[i] = stepView{From: h.From, To: h.To, Actor: h.Actor, Note: h.Note, At: h.At}
		if h.DueOn != nil {
			d := h.DueOn.Format(time.DateOnly)
			steps[i].DueOn = &d
		}
	}
	out["history"] = steps
	w.Header().Set("ETag", etag(f.Version))
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getHazard: GET /api/v1/hazards/{id} — one risk point's hazard (see writeHazard).
func (s *server) getHazard(w http.ResponseWriter, r *http.Request) error {
	if s.edits == nil {
		return errEditsDisabled
	}
	id, err := hazardID(r)
	if err != nil {
		return err
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	return s.writeHazard(w, r, id)
}

// moveHazard: POST /api/v1/hazards/{id}/status {"to": "...", "note": "...",
// "due_on": "YYYY-MM-DD"} with If-Match (the point's version) — moves the hazard as
// store.HazardTransitions allows; a move the workflow forbids is 409
// (forbidden_move), a missing note or due date 400 naming it, a stale If-Match 412.
func (s *server) moveHazard(w http.ResponseWriter, r *http.Request) error {
	who, err := s.editor(r)
	if err != nil {
		return err
	}
	id, err := hazardID(r)
	if err != nil {
		return err
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return err
	}
	var mb struct {
		To    string  `json:"to"`
		Note  string  `json:"note"`
		DueOn *string `json:"due_on"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mb); err != nil {
		return badParam("body", "not the expected JSON object {\"to\", \"note\", \"due_on\"}: %v", err)
	}
	if dec.More() {
		return badParam("body", "holds more than one JSON value")
	}
	if mb.To == "" {
		return badParam("to", "is required: open, rectifying or closed")
	}
	if err := checkText("note", mb.Note, false, store.MaxHazardNote); err != nil {
		return err
	}
	m := store.HazardMove{ID: id, To: mb.To, Note: strings.TrimSpace(mb.Note), IfVersion: version, Actor: who.Name, TokenID: who.TokenID}
	if mb.DueOn != nil {
		d, err := time.Parse(time.DateOnly, *mb.DueOn)
		if err != nil {
			return badParam("due_on", "%q is not a date YYYY-MM-DD", truncateText(*mb.DueOn, 40))
		}
		m.DueOn = &d
	}
	if _, err := s.edits.MoveHazard(r.Context(), m); err != nil {
		return err
	}
	return s.writeHazard(w, r, id)
}
