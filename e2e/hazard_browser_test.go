package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"riskmap/internal/pgtest"
)

// TestHazardControlInBrowser is issue 9's browser test of the hazard workflow on the
// page: the riskmap binary serves the demo from a fresh PostGIS database; hazard.mjs
// opens an open risk point's popup in Chromium: signed out and as a viewer it shows
// the hazard's status and history and no control; an editor moves it to rectifying
// with a note and a past due date (the popup then says overdue; the API, the index
// and the audit log agree, by the editor's name); a move made on a stale version
// (someone else moved it meanwhile) is refused and the section reloads; signed out,
// no control again.
func TestHazardControlInBrowser(t *testing.T) {
	chromium, node := needBrowser(t, "hazard.mjs")
	dbURL := pgtest.NewDatabase(t) // skips without RISKMAP_TEST_DATABASE_URL

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, run := seededDemo(t, ctx, dbURL)
	editor := strings.TrimSpace(run("token", "create", "--role", "editor", "--name", "整改员 e2e"))
	viewer := strings.TrimSpace(run("token", "create", "--role", "viewer", "--name", "viewer e2e"))

	base, stop := startServe(t, bin, dbURL, filepath.Join(dir, "spool"))
	defer stop()
	resp, err := http.Get(base + "/api/v1/hazards?status=open&limit=1")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Hazards []struct {
			ID         int64  `json:"id"`
			ExternalID string `json:"external_id"`
		} `json:"hazards"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil || len(list.Hazards) == 0 {
		t.Fatalf("no open hazard in the demo: %v", err)
	}
	point := list.Hazards[0]
	cst := time.FixedZone("CST", 8*3600)
	started := time.Now()
	due := started.In(cst).AddDate(0, 0, -3).Format(time.DateOnly)
	rep := runScript(t, ctx, node, chromium, "hazard.mjs", "hazard", "--server", base, "--editor", editor, "--viewer", viewer,
		"--point", fmt.Sprint(point.ID), "--ext", point.ExternalID, "--due", due)

	for _, name := range []string{"anonymous", "viewer", "signed-out"} {
		s := rep.step(t, name)
		if s["form"] != false || s["status"] == nil || s["history"] == 0.0 {
			t.Errorf("%s: %v, want the status and history and no control", name, s)
		}
	}
	if s := rep.step(t, "anonymous"); s["status"] != "open" || s["statusText"] != "待整改" {
		t.Errorf("anonymous: %v, want open 待整改", s)
	}
	if s := rep.step(t, "editor"); s["form"] != true || mustJSON(t, s["moves"]) != `["rectifying"]` {
		t.Errorf("editor: %v, want the control with the one move open → rectifying", s)
	}
	// Days overdue as the page counts them, in China Standard Time: 3, or 4 when the
	// run crossed midnight there.
	overdue := []string{"已逾期 3 天"}
	if time.Now().In(cst).Format(time.DateOnly) != time.Now().In(cst).Add(-time.Since(started)).Format(time.DateOnly) {
		overdue = append(overdue, "已逾期 4 天")
	}
	if s := rep.step(t, "moved"); s["status"] != "rectifying" || !slices.Contains(overdue, fmt.Sprint(s["overdue"])) ||
		!strings.Contains(fmt.Sprint(s["historyTop"]), "整改员 e2e") || !strings.Contains(fmt.Sprint(s["historyTop"]), due) {
		t.Errorf("after the move: %v", s)
	}
	if s := rep.step(t, "api"); s["status"] != "rectifying" || s["actor"] != "整改员 e2e" || s["due"] != due || s["overdue"] != true ||
		s["indexStatus"] != "rectifying" || s["auditAction"] != "hazard_status" || s["auditActor"] != "整改员 e2e" {
		t.Errorf("the API after the move: %v", s)
	}
	if s := rep.step(t, "conflict"); s["status"] != "open" || !strings.Contains(fmt.Sprint(s["message"]), "他人修改") || s["form"] != true {
		t.Errorf("after a stale move: %v, want the section reloaded (open) with the conflict message", s)
	}
}
