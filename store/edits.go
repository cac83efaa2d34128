package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"riskmap/feature"
	"riskmap/layers"
)

// ErrVersionConflict: an edit expected another version of the feature than the one
// stored (someone else changed it since it was read). Nothing was written.
var ErrVersionConflict = errors.New("version conflict")

// VersionConflictError says which version was expected and which one is stored. It
// matches ErrVersionConflict.
type VersionConflictError struct {
	Layer    string
	ID       int64
	Expected int64
	Current  int64
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("%s id %d: the edit was made on version %d, but version %d is stored: someone else changed it; read it again and retry",
		e.Layer, e.ID, e.Expected, e.Current)
}

// Is makes errors.Is(err, ErrVersionConflict) true.
func (e *VersionConflictError) Is(target error) bool { return target == ErrVersionConflict }

// ErrForbiddenMove: a hazard status move the rectification workflow does not allow
// (see HazardTransitions), or a feature edit that would change hazard_status around
// the workflow. Nothing was written.
var ErrForbiddenMove = errors.New("hazard status move not allowed")

// MoveError names the refused move. It matches ErrForbiddenMove.
type MoveError struct {
	ID       int64
	From, To string
	Reason   string
}

func (e *MoveError) Error() string {
	return fmt.Sprintf("risk point %d: hazard status %s → %s is not allowed: %s", e.ID, e.From, e.To, e.Reason)
}

// Is makes errors.Is(err, ErrForbiddenMove) true.
func (e *MoveError) Is(target error) bool { return target == ErrForbiddenMove }

// Audit actions of feature edits and hazard moves (the schema's audit_action_enum
// has more: alert acknowledgements, signals, tokens).
const (
	ActionCreate       = "create"
	ActionUpdate       = "update"
	ActionDelete       = "delete"
	ActionHazardStatus = "hazard_status"
)

// Edit is one feature edit made by a person through the API: create, update (the
// whole feature) or delete, with the version the editor saw (IfVersion, required
// for update and delete: compare-and-set), and who makes it. The store writes it and
// its audit row in one transaction.
type Edit struct {
	Action string // ActionCreate, ActionUpdate or ActionDelete
	Layer  string
	// ID is the feature updated or deleted (0 for a create).
	ID int64
	// Feature holds the new properties and geometry (create and update).
	Feature feature.Feature
	// IfVersion is the version the edit was made on; the write happens only when
	// it is still the stored one (else a *VersionConflictError).
	IfVersion int64
	Actor     string // the token's name
	TokenID   int64  // 0: none
	Note      string
}

// CheckEdit checks what the store needs of an edit before it touches anything.
func CheckEdit(e Edit) error {
	switch e.Action {
	case ActionCreate:
		if e.ID != 0 {
			return fmt.Errorf("store: create %s: an id (%d) is given", e.Layer, e.ID)
		}
	case ActionUpdate, ActionDelete:
		if e.ID <= 0 || e.IfVersion <= 0 {
			return fmt.Errorf("store: %s %s: id %d and the expected version %d are required", e.Action, e.Layer, e.ID, e.IfVersion)
		}
	default:
		return fmt.Errorf("store: edit action %q", e.Action)
	}
	if strings.TrimSpace(e.Actor) == "" {
		return fmt.Errorf("store: %s %s: no actor", e.Action, e.Layer)
	}
	return nil
}

// CheckEditStatus refuses an edit that would set a risk point's hazard_status
// outside the workflow: a new risk point starts "open" (or takes the default); an
// update keeps the stored status (moves go through MoveHazard). before is nil for a
// create.
func CheckEditStatus(e Edit, before *feature.Feature, after map[string]any) error {
	if e.Layer != layers.RiskPoints || e.Action == ActionDelete {
		return nil
	}
	to, _ := after["hazard_status"].(string)
	if before == nil {
		if to != "" && to != "open" {
			return &MoveError{From: "(new)", To: to, Reason: "a new risk point's hazard starts open"}
		}
		return nil
	}
	from, _ := before.Props["hazard_status"].(string)
	if to != from {
		return &MoveError{ID: before.ID, From: from, To: to,
			Reason: "the hazard status moves through the rectification workflow (POST /api/v1/hazards/{id}/status), not a feature edit"}
	}
	return nil
}

// EditResult is the feature before and after an edit (Before nil for a create,
// After nil for a delete) and the audit row's id.
type EditResult struct {
	Before, After *feature.Feature
	AuditID       int64
}

// AuditEntry is one row of the audit log: who (the token's name and id), when, what
// (action, layer, feature, versions), the feature before and after as GeoJSON
// (FeatureGeoJSON; null when there is none) and the note.
type AuditEntry struct {
	ID            int64           `json:"id"`
	At            time.Time       `json:"at"`
	Actor         string          `json:"actor"`
	TokenID       int64           `json:"token_id,omitempty"`
	Action        string          `json:"action"`
	Layer         string          `json:"layer,omitempty"`
	FeatureID     int64           `json:"feature_id,omitempty"`
	VersionBefore int64           `json:"version_before,omitempty"`
	VersionAfter  int64           `json:"version_after,omitempty"`
	Before        json.RawMessage `json:"before"`
	After         json.RawMessage `json:"after"`
	Note          string          `json:"note,omitempty"`
}

// AuditQuery selects audit rows, newest first. Empty Layer and zero FeatureID select
// any; BeforeID pages (rows with a smaller id); Limit 0 means 100.
type AuditQuery struct {
	Layer     string
	FeatureID int64
	BeforeID  int64
	Limit     int
}

// AuditLimit is the effective limit of q.
func (q AuditQuery) AuditLimit() int {
	if q.Limit <= 0 {
		return 100
	}
	return q.Limit
}

// AuditRow is what a store writes into the audit table for an edit.
type AuditRow struct {
	Actor         string
	TokenID       any // nil or int64
	Action        string
	Layer         string
	FeatureID     int64
	VersionBefore any // nil or int64
	VersionAfter  any
	Before, After any // nil or GeoJSON text
	Note          any // nil or text
}

// NewAuditRow builds the audit row of an edit of layer l from the feature before and
// after it (either may be nil).
func NewAuditRow(l *layers.Layer, action, actor string, tokenID int64, note string, id int64, before, after *feature.Feature) (AuditRow, error) {
	row := AuditRow{Actor: actor, Action: action, Layer: l.Name, FeatureID: id}
	if tokenID != 0 {
		row.TokenID = tokenID
	}
	if note != "" {
		row.Note = note
	}
	if before != nil {
		b, err := FeatureGeoJSON(l, *before)
		if err != nil {
			return row, err
		}
		row.VersionBefore, row.Before = before.Version, string(b)
	}
	if after != nil {
		b, err := FeatureGeoJSON(l, *after)
		if err != nil {
			return row, err
		}
		row.VersionAfter, row.After = after.Version, string(b)
		row.FeatureID = after.ID
	}
	return row, nil
}

// FeatureGeoJSON encodes f as the API's GeoJSON Feature: the id, the geometry and the
// properties layer, id, version and every registry field in order (dates as
// "YYYY-MM-DD") — the shape GET /api/v1/features/{layer}/{id} answers.
func FeatureGeoJSON(l *layers.Layer, f feature.Feature) ([]byte, error) {
	b, err := l.AppendFeaturePrefix(nil, f.ID, f.Version, f.Geometry, f.Props, nil)
	if err != nil {
		return nil, err
	}
	return append(b, "}}"...), nil
}

// HazardTransition is one allowed move of a risk point's hazard status. A move not
// in HazardTransitions is refused with a *MoveError.
type HazardTransition struct {
	From, To string
	// NoteRequired: the move needs a note saying why.
	NoteRequired bool
	// Due: whether the move takes a due date — "required", "optional" or "none".
	Due string
}

// HazardTransitions is the rectification workflow, the closed loop
// open → rectifying → closed:
//
//	from        to          note       due_on
//	open        rectifying  optional   required (when rectification is due)
//	rectifying  closed      optional   none
//	rectifying  open        required   optional (rectification sent back)
//	closed      open        required   optional (reopened)
//
// Everything else (open → closed skipping rectification, closed → rectifying, a
// status to itself) is refused.
var HazardTransitions = []HazardTransition{
	{From: "open", To: "rectifying", Due: "required"},
	{From: "rectifying", To: "closed", Due: "none"},
	{From: "rectifying", To: "open", NoteRequired: true, Due: "optional"},
	{From: "closed", To: "open", NoteRequired: true, Due: "optional"},
}

// MaxHazardNote bounds a hazard move's note, in characters.
const MaxHazardNote = 2000

// HazardMove moves risk point ID's hazard status to To, optimistic on the version
// the editor saw (IfVersion), with a note and a due date, by Actor.
type HazardMove struct {
	ID        int64
	To        string
	Note      string
	DueOn     *time.Time // a date (UTC midnight); nil: none
	IfVersion int64
	Actor     string
	TokenID   int64
}

// CheckHazardMove checks move m from status from against HazardTransitions: a move
// not in the table is a *MoveError; a missing note or due date (or a due date the
// move does not take) is a *layers.ValidationError naming "note" or "due_on".
func CheckHazardMove(m HazardMove, from string) error {
	for _, t := range HazardTransitions {
		if t.From != from || t.To != m.To {
			continue
		}
		var problems []layers.Problem
		if t.NoteRequired && strings.TrimSpace(m.Note) == "" {
			problems = append(problems, layers.Problem{Field: "note", Reason: fmt.Sprintf("is required to move a hazard from %s to %s", from, m.To)})
		}
		switch {
		case t.Due == "required" && m.DueOn == nil:
			problems = append(problems, layers.Problem{Field: "due_on", Reason: fmt.Sprintf("is required to move a hazard to %s (when rectification is due)", m.To)})
		case t.Due == "none" && m.DueOn != nil:
			problems = append(problems, layers.Problem{Field: "due_on", Reason: fmt.Sprintf("is not taken when a hazard moves to %s", m.To)})
		}
		if len(problems) > 0 {
			return &layers.ValidationError{Layer: layers.RiskPoints, ID: m.ID, Problems: problems}
		}
		return nil
	}
	reason := "the workflow is open → rectifying → closed; a closed hazard is reopened (closed → open) with a note"
	if from == m.To {
		reason = "the hazard is " + from + " already"
	}
	return &MoveError{ID: m.ID, From: from, To: m.To, Reason: reason}
}

// CheckHazardMoveInput checks a move's own values before any store reads the point:
// a known status, a note of valid text within MaxHazardNote, a due date in a sane
// range, an expected version and an actor.
func CheckHazardMoveInput(m HazardMove) error {
	var problems []layers.Problem
	switch m.To {
	case "open", "rectifying", "closed":
	default:
		problems = append(problems, layers.Problem{Field: "to", Reason: "must be one of open, rectifying, closed"})
	}
	switch {
	case !utf8.ValidString(m.Note) || strings.ContainsRune(m.Note, 0):
		problems = append(problems, layers.Problem{Field: "note", Reason: "is not valid text"})
	case utf8.RuneCountInString(m.Note) > MaxHazardNote:
		problems = append(problems, layers.Problem{Field: "note", Reason: fmt.Sprintf("is longer than %d characters", MaxHazardNote)})
	}
	if m.DueOn != nil && (m.DueOn.Year() < 2000 || m.DueOn.Year() > 2100) {
		problems = append(problems, layers.Problem{Field: "due_on", Reason: "must be a date in 2000..2100"})
	}
	if len(problems) > 0 {
		return &layers.ValidationError{Layer: layers.RiskPoints, ID: m.ID, Problems: problems}
	}
	if m.ID <= 0 || m.IfVersion <= 0 || strings.TrimSpace(m.Actor) == "" {
		return fmt.Errorf("store: hazard move of %d: id, expected version %d and actor are required", m.ID, m.IfVersion)
	}
	return nil
}

// HazardStep is one step of a hazard's history: the move, who made it, when, the
// note and the due date it set.
type HazardStep struct {
	From  string     `json:"from,omitempty"` // "" for the first step (the point's creation)
	To    string     `json:"to"`
	Actor string     `json:"actor"`
	Note  string     `json:"note,omitempty"`
	At    time.Time  `json:"at"`
	DueOn *time.Time `json:"-"`
}

// HazardQuery selects risk points' hazards. Status "" selects every hazard not
// closed; DueBefore (a date) selects those whose current due date (the latest
// step's due_on) is before it — overdue when it is today in China Standard Time.
// Department and Subdistrict filter ("" any).
type HazardQuery struct {
	Status      string
	DueBefore   *time.Time
	Department  string
	Subdistrict string
}

// Hazard is one risk point's hazard: the point, its status, version and current
// due date, and when it last moved.
type Hazard struct {
	ID          int64
	Version     int64
	ExternalID  string
	Name        string
	Subdistrict string
	Department  string
	RiskGrade   string
	Status      string
	DueOn       *time.Time
	Since       time.Time
}

// CST is China Standard Time (UTC+8, no daylight saving), in which due dates are
// reckoned.
var CST = time.FixedZone("CST", 8*3600)

// TodayCST is the date of t in China Standard Time, as a UTC-midnight date.
func TodayCST(t time.Time) time.Time {
	y, m, d := t.In(CST).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
