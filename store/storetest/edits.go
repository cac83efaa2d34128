package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// EditStore is what the suite exercises of a store's edit half: feature edits with
// compare-and-set versions and their audit rows, and the hazard rectification
// workflow. The edit tests skip, naming the missing methods, for a store that does
// not have them all.
type EditStore interface {
	Store
	EditFeature(ctx context.Context, e store.Edit) (store.EditResult, error)
	Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
	MoveHazard(ctx context.Context, m store.HazardMove) (feature.Feature, error)
	HazardHistory(ctx context.Context, id int64) ([]store.HazardStep, error)
	Hazards(ctx context.Context, q store.HazardQuery) ([]store.Hazard, error)
}

// editTest adapts a test of the edit half: it skips when the store lacks a method.
func editTest(fn func(t *testing.T, s EditStore)) func(t *testing.T, s Store) {
	return func(t *testing.T, s Store) {
		es, ok := s.(EditStore)
		if !ok {
			t.Skipf("%T has no edit methods (EditFeature, Audit, MoveHazard, HazardHistory, Hazards): the edit half of the contract is not run", s)
		}
		fn(t, es)
	}
}

func audit(t *testing.T, s EditStore, layer string, id int64) []store.AuditEntry {
	t.Helper()
	rows, err := s.Audit(ctxFor(t), store.AuditQuery{Layer: layer, FeatureID: id})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// props decodes an audit row's GeoJSON side into its properties (nil for null).
func auditProps(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var f struct {
		Type       string         `json:"type"`
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("audit GeoJSON %s: %v", raw, err)
	}
	if string(raw) != "null" && f.Type != "Feature" {
		t.Fatalf("audit GeoJSON %s is not a Feature", raw)
	}
	return f.Properties
}

// testEditVersions: create, update and delete with compare-and-set versions, each
// with its audit row (who, token, action, versions, before/after GeoJSON, note); a
// stale version is a *store.VersionConflictError with the stored version and
// writes nothing — no feature change, no change-log row, no audit row.
func testEditVersions(t *testing.T, s EditStore) {
	ctx := ctxFor(t)
	in := sample(t, s, layers.Resources, "edit-1")
	who := func(action string, id, v int64) store.Edit {
		return store.Edit{Action: action, Layer: layers.Resources, ID: id, IfVersion: v, Actor: "editor-a", TokenID: 7, Note: action + " note"}
	}
	e := who(store.ActionCreate, 0, 0)
	e.Feature = in
	created, err := s.EditFeature(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if created.Before != nil || created.After == nil || created.After.Version != 1 || created.After.ID == 0 || created.AuditID == 0 {
		t.Fatalf("create: %+v", created)
	}
	id := created.After.ID
	rows := audit(t, s, layers.Resources, id)
	if len(rows) != 1 || rows[0].Action != "create" || rows[0].Actor != "editor-a" || rows[0].TokenID != 7 || rows[0].Note != "create note" ||
		rows[0].VersionAfter != 1 || rows[0].VersionBefore != 0 || string(rows[0].Before) != "null" || rows[0].ID != created.AuditID {
		t.Fatalf("create audit %+v", rows)
	}
	if p := auditProps(t, rows[0].After); p["name"] != in.Props["name"] || p["version"] != 1.0 {
		t.Fatalf("create audit after %s", rows[0].After)
	}
	if time.Since(rows[0].At) > time.Hour || time.Until(rows[0].At) > time.Minute {
		t.Fatalf("audit time %v is not about now", rows[0].At)
	}

	upd := in
	upd.Props = map[string]any{}
	for k, v := range in.Props {
		upd.Props[k] = v
	}
	upd.Props["name"] = "改名后的避难场所"
	e = who(store.ActionUpdate, id, 1)
	e.Feature = upd
	updated, err := s.EditFeature(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if updated.After.Version != 2 || updated.Before.Version != 1 || updated.After.Props["name"] != "改名后的避难场所" {
		t.Fatalf("update: before %+v after %+v", updated.Before, updated.After)
	}
	if got := get(t, s, layers.Resources, id); got.Version != 2 || got.Props["name"] != "改名后的避难场所" {
		t.Fatalf("stored after update: %+v", got)
	}

	// A second update made on version 1 loses: 412's store error, nothing written.
	before := totals(t, s)
	upd.Props["name"] = "第二个编辑"
	e.Feature = upd
	_, err = s.EditFeature(ctx, e)
	var vc *store.VersionConflictError
	if !errors.As(err, &vc) || !errors.Is(err, store.ErrVersionConflict) || vc.Current != 2 || vc.Expected != 1 {
		t.Fatalf("stale update: %v, want a version conflict with current 2", err)
	}
	if _, err := s.EditFeature(ctx, who(store.ActionDelete, id, 1)); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("stale delete: %v", err)
	}
	if after := totals(t, s); after != before {
		t.Fatalf("refused edits changed %s to %s", before, after)
	}
	if got := get(t, s, layers.Resources, id); got.Version != 2 || got.Props["name"] != "改名后的避难场所" {
		t.Fatalf("stored after refused edits: %+v", got)
	}
	if rows := audit(t, s, layers.Resources, id); len(rows) != 2 {
		t.Fatalf("%d audit rows after refused edits, want 2", len(rows))
	}

	del, err := s.EditFeature(ctx, who(store.ActionDelete, id, 2))
	if err != nil {
		t.Fatal(err)
	}
	if del.After != nil || del.Before == nil || del.Before.Version != 2 {
		t.Fatalf("delete: %+v", del)
	}
	if _, err := s.Get(ctx, layers.Resources, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted feature: %v", err)
	}
	if _, err := s.EditFeature(ctx, who(store.ActionDelete, id, 2)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete of a missing feature: %v", err)
	}
	rows = audit(t, s, layers.Resources, id)
	if len(rows) != 3 {
		t.Fatalf("%d audit rows, want 3", len(rows))
	}
	// Newest first.
	if rows[0].Action != "delete" || rows[1].Action != "update" || rows[2].Action != "create" {
		t.Fatalf("audit actions %s %s %s", rows[0].Action, rows[1].Action, rows[2].Action)
	}
	if string(rows[0].After) != "null" || rows[0].VersionBefore != 2 || auditProps(t, rows[0].Before)["name"] != "改名后的避难场所" {
		t.Fatalf("delete audit %+v", rows[0])
	}
	if auditProps(t, rows[1].Before)["name"] != in.Props["name"] || auditProps(t, rows[1].After)["name"] != "改名后的避难场所" ||
		rows[1].VersionBefore != 1 || rows[1].VersionAfter != 2 {
		t.Fatalf("update audit before %s after %s", rows[1].Before, rows[1].After)
	}
	// Paging: BeforeID and Limit.
	page, err := s.Audit(ctx, store.AuditQuery{Layer: layers.Resources, FeatureID: id, BeforeID: rows[0].ID, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != rows[1].ID {
		t.Fatalf("audit page: %+v, %v", page, err)
	}
	// The edits went through the change log like any write.
	var ops []string
	for _, c := range changes(t, s) {
		if c.Layer == layers.Resources && c.ID == id {
			ops = append(ops, string(c.Op))
		}
	}
	if strings.Join(ops, ",") != "insert,update,delete" {
		t.Fatalf("change log of the edited feature: %v", ops)
	}
}

// testEditRefusedLeavesNoAudit: an edit refused for invalid input, a taken
// external_id or a hazard status set around the workflow writes nothing — no
// feature, no change-log row, no audit row.
func testEditRefusedLeavesNoAudit(t *testing.T, s EditStore) {
	ctx := ctxFor(t)
	first := sample(t, s, layers.RiskPoints, "rp-1")
	first.Props["hazard_status"] = "open"
	res, err := s.EditFeature(ctx, store.Edit{Action: store.ActionCreate, Layer: layers.RiskPoints, Feature: first, Actor: "a"})
	if err != nil {
		t.Fatal(err)
	}
	id := res.After.ID
	before, auditBefore := totals(t, s), len(audit(t, s, "", 0))

	bad := sample(t, s, layers.RiskPoints, "rp-2")
	bad.Props["hazard_status"] = "open"
	bad.Props["colour"] = "red"
	_, err = s.EditFeature(ctx, store.Edit{Action: store.ActionCreate, Layer: layers.RiskPoints, Feature: bad, Actor: "a"})
	if verr := errorsAsValidation(t, err); verr.Problems[0].Field != "colour" {
		t.Fatalf("unknown field: %v", err)
	}
	dup := sample(t, s, layers.RiskPoints, "rp-1")
	dup.Props["hazard_status"] = "open"
	if _, err := s.EditFeature(ctx, store.Edit{Action: store.ActionCreate, Layer: layers.RiskPoints, Feature: dup, Actor: "a"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken external_id: %v", err)
	}
	closed := sample(t, s, layers.RiskPoints, "rp-3")
	closed.Props["hazard_status"] = "closed"
	if _, err := s.EditFeature(ctx, store.Edit{Action: store.ActionCreate, Layer: layers.RiskPoints, Feature: closed, Actor: "a"}); !errors.Is(err, store.ErrForbiddenMove) {
		t.Fatalf("new risk point created closed: %v", err)
	}
	moved := first
	moved.Props = map[string]any{}
	for k, v := range first.Props {
		moved.Props[k] = v
	}
	moved.Props["hazard_status"] = "closed"
	if _, err := s.EditFeature(ctx, store.Edit{Action: store.ActionUpdate, Layer: layers.RiskPoints, ID: id, IfVersion: 1, Feature: moved, Actor: "a"}); !errors.Is(err, store.ErrForbiddenMove) {
		t.Fatalf("hazard_status changed by an update: %v", err)
	}
	moved.Props["hazard_status"] = "open"
	moved.Props["risk_grade"] = "bogus"
	_, err = s.EditFeature(ctx, store.Edit{Action: store.ActionUpdate, Layer: layers.RiskPoints, ID: id, IfVersion: 1, Feature: moved, Actor: "a"})
	errorsAsValidation(t, err)
	if _, err := s.EditFeature(ctx, store.Edit{Action: store.ActionUpdate, Layer: layers.RiskPoints, ID: id + 1000, IfVersion: 1, Feature: first, Actor: "a"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing feature: %v", err)
	}
	if after := totals(t, s); after != before {
		t.Fatalf("refused edits changed %s to %s", before, after)
	}
	if n := len(audit(t, s, "", 0)); n != auditBefore {
		t.Fatalf("refused edits wrote %d audit rows", n-auditBefore)
	}
	if got := get(t, s, layers.RiskPoints, id); got.Version != 1 || got.Props["hazard_status"] != "open" {
		t.Fatalf("risk point after refused edits: %+v", got)
	}
}

func date(y int, m time.Month, d int) *time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return &t
}

// testHazardWorkflow: the transitions of store.HazardTransitions are allowed, with
// their notes and due dates; every other move is a *store.MoveError, a missing
// note or due date a *layers.ValidationError naming it; a stale version a conflict;
// nothing refused writes anything. Each move bumps the version, logs the change,
// adds a history step (actor, note, due date) and an audit row.
func testHazardWorkflow(t *testing.T, s EditStore) {
	ctx := ctxFor(t)
	f := sample(t, s, layers.RiskPoints, "hz-1")
	f.Props["hazard_status"] = "open"
	res, err := s.EditFeature(ctx, store.Edit{Action: store.ActionCreate, Layer: layers.RiskPoints, Feature: f, Actor: "seed"})
	if err != nil {
		t.Fatal(err)
	}
	id, version := res.After.ID, res.After.Version
	move := func(to, note string, due *time.Time) (feature.Feature, error) {
		return s.MoveHazard(ctx, store.HazardMove{ID: id, To: to, Note: note, DueOn: due, IfVersion: version, Actor: "editor-b", TokenID: 3})
	}
	refused := func(to, note string, due *time.Time, want error, field string) {
		t.Helper()
		before := totals(t, s)
		n := len(audit(t, s, layers.RiskPoints, id))
		_, err := move(to, note, due)
		if want != nil && !errors.Is(err, want) {
			t.Fatalf("move to %s: %v, want %v", to, err, want)
		}
		if field != "" {
			if verr := errorsAsValidation(t, err); verr.Problems[0].Field != field {
				t.Fatalf("move to %s: %v, want a problem with %s", to, err, field)
			}
		}
		if totals(t, s) != before || len(audit(t, s, layers.RiskPoints, id)) != n {
			t.Fatalf("refused move to %s wrote something", to)
		}
	}
	allowed := func(to, note string, due *time.Time) {
		t.Helper()
		got, err := move(to, note, due)
		if err != nil {
			t.Fatalf("move to %s: %v", to, err)
		}
		if got.Version != version+1 || got.Props["hazard_status"] != to {
			t.Fatalf("move to %s: %+v", to, got)
		}
		version = got.Version
		if stored := get(t, s, layers.RiskPoints, id); stored.Version != version || stored.Props["hazard_status"] != to {
			t.Fatalf("stored after move to %s: %+v", to, stored)
		}
	}
	refused("closed", "done", nil, store.ErrForbiddenMove, "")                   // skips rectification
	refused("open", "", nil, store.ErrForbiddenMove, "")                         // to itself
	refused("bogus", "", nil, nil, "to")                                         // unknown status
	refused("rectifying", "", nil, nil, "due_on")                                // needs a due date
	allowed("rectifying", "整改方案已批", date(2026, 3, 31))                           // open → rectifying
	refused("closed", "", date(2026, 4, 1), nil, "due_on")                       // closing takes no due date
	refused("open", "", nil, nil, "note")                                        // sending back needs a note
	allowed("closed", "验收通过", nil)                                               // rectifying → closed
	refused("rectifying", "again", date(2026, 5, 1), store.ErrForbiddenMove, "") // closed → rectifying
	refused("open", "  ", nil, nil, "note")                                      // reopening needs a note
	// A stale version loses.
	if _, err := s.MoveHazard(ctx, store.HazardMove{ID: id, To: "open", Note: "复查发现新裂缝", IfVersion: version - 1, Actor: "x"}); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("stale move: %v", err)
	}
	if _, err := s.MoveHazard(ctx, store.HazardMove{ID: id + 999, To: "open", Note: "n", IfVersion: 1, Actor: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("move of a missing point: %v", err)
	}
	allowed("open", "复查发现新裂缝", date(2026, 6, 30)) // closed → open: reopened

	hist, err := s.HazardHistory(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, st := range hist {
		due := ""
		if st.DueOn != nil {
			due = st.DueOn.Format(time.DateOnly)
		}
		steps = append(steps, st.From+">"+st.To+" "+st.Actor+" "+st.Note+" "+due)
	}
	want := []string{
		"closed>open editor-b 复查发现新裂缝 2026-06-30",
		"rectifying>closed editor-b 验收通过 ",
		"open>rectifying editor-b 整改方案已批 2026-03-31",
		">open seed  ",
	}
	if strings.Join(steps, "|") != strings.Join(want, "|") {
		t.Fatalf("history (newest first):\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	rows := audit(t, s, layers.RiskPoints, id)
	if len(rows) != 4 || rows[0].Action != "hazard_status" || rows[0].Actor != "editor-b" || rows[0].TokenID != 3 ||
		rows[0].Note != "复查发现新裂缝" || auditProps(t, rows[0].Before)["hazard_status"] != "closed" ||
		auditProps(t, rows[0].After)["hazard_status"] != "open" || rows[0].VersionAfter != version {
		t.Fatalf("audit of the moves: %+v", rows)
	}
	var updates int
	for _, c := range changes(t, s) {
		if c.Layer == layers.RiskPoints && c.ID == id && c.Op == feature.Update {
			updates++
		}
	}
	if updates != 3 {
		t.Fatalf("%d logged updates of the point, want 3 (one per move)", updates)
	}
}

// testHazardsOverdue: the hazards not closed, and those whose latest due date is
// before a day (overdue), with department and sub-district filters.
func testHazardsOverdue(t *testing.T, s EditStore) {
	ctx := ctxFor(t)
	mk := func(ext, dept, sub string) int64 {
		f := sample(t, s, layers.RiskPoints, ext)
		f.Props["hazard_status"] = "open"
		f.Props["responsible_dept"] = dept
		f.Props["subdistrict"] = sub
		res, err := s.EditFeature(ctx, store.Edit{Action: store.ActionCreate, Layer: layers.RiskPoints, Feature: f, Actor: "seed"})
		if err != nil {
			t.Fatal(err)
		}
		return res.After.ID
	}
	mv := func(id int64, to string, due *time.Time) {
		f := get(t, s, layers.RiskPoints, id)
		if _, err := s.MoveHazard(ctx, store.HazardMove{ID: id, To: to, DueOn: due, IfVersion: f.Version, Actor: "e", Note: "n"}); err != nil {
			t.Fatal(err)
		}
	}
	late := mk("od-1", "住建局", "dongmen")    // rectifying, due long ago: overdue
	soon := mk("od-2", "住建局", "guiyuan")    // rectifying, due in the future
	done := mk("od-3", "水务局", "dongmen")    // closed, was due long ago
	lateToo := mk("od-4", "水务局", "sungang") // reopened with a past due date: overdue
	fresh := mk("od-5", "水务局", "sungang")   // open, no due date
	mv(late, "rectifying", date(2026, 1, 10))
	mv(soon, "rectifying", date(2026, 12, 31))
	mv(done, "rectifying", date(2026, 1, 1))
	mv(done, "closed", nil)
	mv(lateToo, "rectifying", date(2026, 2, 1))
	mv(lateToo, "open", date(2026, 2, 15))
	today := date(2026, 6, 1)
	ids := func(q store.HazardQuery) []int64 {
		t.Helper()
		hs, err := s.Hazards(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, h := range hs {
			out = append(out, h.ID)
		}
		return out
	}
	same := func(what string, got []int64, want ...int64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: %v, want %v", what, got, want)
			}
		}
	}
	same("overdue", ids(store.HazardQuery{DueBefore: today}), late, lateToo)
	same("overdue of 住建局", ids(store.HazardQuery{DueBefore: today, Department: "住建局"}), late)
	same("overdue in sungang", ids(store.HazardQuery{DueBefore: today, Subdistrict: "sungang"}), lateToo)
	same("not closed", ids(store.HazardQuery{}), late, lateToo, soon, fresh)
	same("closed", ids(store.HazardQuery{Status: "closed"}), done)
	same("rectifying", ids(store.HazardQuery{Status: "rectifying"}), late, soon)
	hs, err := s.Hazards(ctx, store.HazardQuery{DueBefore: today, Department: "住建局"})
	if err != nil {
		t.Fatal(err)
	}
	h := hs[0]
	if h.Status != "rectifying" || h.Department != "住建局" || h.Subdistrict != "dongmen" || h.ExternalID != "od-1" ||
		h.DueOn == nil || h.DueOn.Format(time.DateOnly) != "2026-01-10" || h.Version != 2 || time.Since(h.Since) > time.Hour {
		t.Fatalf("overdue hazard %+v", h)
	}
}
