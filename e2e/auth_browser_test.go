package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"riskmap/internal/pgtest"
)

// TestSignInAndEditorControlsInBrowser is issue 9's browser test of the page's
// sign-in: the riskmap binary serves the demo from a fresh PostGIS database; tokens
// are made with riskmap token create; auth.mjs drives the page in Chromium: signed
// out and as a viewer there are no edit controls; as an editor an alert is
// acknowledged from its row and the typhoon signal set from its chip (the API then
// shows both, by the editor's name); the session cookie is HttpOnly and
// SameSite=Strict and survives a reload.
func TestSignInAndEditorControlsInBrowser(t *testing.T) {
	chromium, node := needBrowser(t, "auth.mjs")
	dbURL := pgtest.NewDatabase(t) // skips without RISKMAP_TEST_DATABASE_URL

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, run := seededDemo(t, ctx, dbURL)
	editor := strings.TrimSpace(run("token", "create", "--role", "editor", "--name", "值班员 e2e"))
	viewer := strings.TrimSpace(run("token", "create", "--role", "viewer", "--name", "viewer e2e"))
	if !strings.HasPrefix(editor, "rmk_") || !strings.HasPrefix(viewer, "rmk_") || strings.Contains(editor, "\n") {
		t.Fatalf("token create printed %q and %q, want one token each", editor, viewer)
	}

	base, stop := startServe(t, bin, dbURL, filepath.Join(dir, "spool"))
	defer stop()
	rep := runScript(t, ctx, node, chromium, "auth.mjs", "auth", "--server", base, "--editor", editor, "--viewer", viewer)

	for _, name := range []string{"anonymous", "viewer", "signed-out"} {
		s := rep.step(t, name)
		if s["ackButtons"] != 0.0 || s["editableSignals"] != 0.0 || s["signalSpans"] != 2.0 {
			t.Errorf("%s: the page offers edit controls: %v", name, s)
		}
		if s["alerts"] == 0.0 {
			t.Errorf("%s: no alert in the panel: %v", name, s)
		}
	}
	if s := rep.step(t, "viewer"); s["role"] != "viewer" || !strings.Contains(s["authText"].(string), "viewer e2e") {
		t.Errorf("viewer: the sign-in button says %v (role %v)", s["authText"], s["role"])
	}
	ed := rep.step(t, "editor")
	if ed["role"] != "editor" || ed["ackButtons"] == 0.0 || ed["editableSignals"] != 2.0 {
		t.Errorf("editor: %v, want ack buttons and both signal chips editable", ed)
	}
	if ed["cookieVisible"] != false {
		t.Error("the session cookie is readable by the page's script")
	}
	if cs, _ := ed["cookies"].([]any); len(cs) != 1 {
		t.Errorf("session cookies: %v", ed["cookies"])
	} else if c := cs[0].(map[string]any); c["httpOnly"] != true || c["sameSite"] != "Strict" || c["path"] != "/" {
		t.Errorf("session cookie: %v, want HttpOnly, SameSite=Strict, Path=/", c)
	}
	if a := rep.step(t, "ack"); a["stillOpen"] != false || a["ackedBy"] != "值班员 e2e" {
		t.Errorf("ack from the page: %v", a)
	}
	if s := rep.step(t, "signal"); s["level"] != "orange" || s["setBy"] != "值班员 e2e" || s["flood"] != true {
		t.Errorf("signal from the page: %v", s)
	}
	if s := rep.step(t, "reload"); s["role"] != "editor" || s["editableSignals"] != 2.0 {
		t.Errorf("after a reload: %v, want still the editor", s)
	}
	if s := rep.step(t, "end"); s["role"] != "" || s["editableSignals"] != 0.0 {
		t.Errorf("after signing out: %v", s)
	}
	if len(rep.ConsoleErrors) > 0 || len(rep.PageErrors) > 0 || len(rep.FailedRequests) > 0 {
		t.Errorf("console errors %v, page errors %v, failed requests %v", rep.ConsoleErrors, rep.PageErrors, rep.FailedRequests)
	}
	stop()

	// Reading needs a viewer: the page asks to sign in before anything else, then
	// draws the map and follows the event stream with the session cookie.
	base, stop2 := startServe(t, bin, dbURL, filepath.Join(dir, "spool2"), "--read-access", "viewer")
	defer stop2()
	rep = runScript(t, ctx, node, chromium, "auth.mjs", "auth-read-viewer", "--server", base, "--editor", editor, "--viewer", viewer,
		"--mode", "read-viewer")
	rv := rep.step(t, "read-viewer")
	if rv["required"] != true || rv["cancel"] != false || rv["ready"] != false || rv["anonymousLayers"] != 401.0 || rv["expected401"] == 0.0 {
		t.Errorf("read access viewer: the page did not ask to sign in first: %v", rv)
	}
	if rv["role"] != "viewer" || rv["drawn"] == 0.0 || rv["ackButtons"] != 0.0 || rv["editableSignals"] != 0.0 {
		t.Errorf("read access viewer, signed in as the viewer: %v", rv)
	}
}
