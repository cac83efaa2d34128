package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/feed"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/gpkg"
)

// editBackend is what the edit tests need of a store: what serve gives the handler
// and the feed, and reads to compare the data before and after.
type editBackend interface {
	feed.Source
	Store
	EditStore
	Tokens
	Upsert(ctx context.Context, f feature.Feature, opts store.WriteOptions) (feature.Feature, error)
	Changes(ctx context.Context, after int64, limit int) ([]feature.Change, error)
}

type editRig struct {
	srv      *httptest.Server
	h        http.Handler
	st       editBackend
	ix       *index.Index
	editor   string // an editor token's secret
	viewer   string
	editorID int64
	resource feature.Feature // a seeded resource
	point    feature.Feature // a seeded risk point (hazard open)
}

const (
	editorSecret = "editor-secret-0123456789abcdef"
	viewerSecret = "viewer-secret-0123456789abcdef"
)

func newGPKG(t *testing.T) *gpkg.Store {
	t.Helper()
	s, err := gpkg.Open(context.Background(), filepath.Join(t.TempDir(), "riskmap.gpkg"), layers.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// bothStores runs fn on PostGIS and on the GeoPackage store.
func bothStores(t *testing.T, fn func(t *testing.T, st editBackend)) {
	t.Run("postgis", func(t *testing.T) { fn(t, newPostGIS(t)) })
	t.Run("gpkg", func(t *testing.T) { fn(t, newGPKG(t)) })
}

// newEditRig serves the API over st as serve wires it for edits: the index loaded
// and kept by a change-feed follower (the only path from the store to reads), an
// editor and a viewer token. extra adjusts the configuration.
func newEditRig(t *testing.T, st editBackend, extra func(*Config)) *editRig {
	t.Helper()
	reg := layers.New()
	ctx, cancel := context.WithCancel(context.Background())
	rg := &editRig{st: st, editor: editorSecret, viewer: viewerSecret}
	var err error
	rg.resource, err = st.Upsert(ctx, feature.Feature{Layer: layers.Resources, Geometry: orb.Point{114.12, 22.55}, Props: map[string]any{
		"external_id": "R-1", "kind": "shelter", "name": "东门避难场所", "capacity": 500,
	}}, store.WriteOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rg.point, err = st.Upsert(ctx, feature.Feature{Layer: layers.RiskPoints, Geometry: orb.Point{114.121, 22.551}, Props: map[string]any{
		"external_id": "RP-1", "name": "边坡隐患", "category": "landslide", "risk_grade": "major", "subdistrict": "dongmen",
		"responsible_dept": "住建局",
	}}, store.WriteOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []struct{ name, role, secret string }{{"王工 (editor)", "editor", editorSecret}, {"viewer", "viewer", viewerSecret}} {
		h := sha256.Sum256([]byte(tk.secret))
		id, err := st.CreateToken(ctx, store.NewToken{Name: tk.name, Role: tk.role, CreatedBy: "test", Hash: h[:]})
		if err != nil {
			t.Fatal(err)
		}
		if tk.role == "editor" {
			rg.editorID = id
		}
	}
	rg.ix = index.New(reg)
	follower := feed.New(st, rg.ix, feed.Options{Poll: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	cfg := Config{Registry: reg, Store: st, Index: rg.ix, Readiness: follower, EditStore: st, Tokens: st,
		Logger: slog.New(slog.DiscardHandler)}
	if extra != nil {
		extra(&cfg)
	}
	rg.h = mustNew(t, cfg)
	// As serve does: the handler (which registers the tile cache with the index)
	// first, then the feed.
	done := make(chan struct{})
	go func() { _ = follower.Run(ctx); close(done) }()
	rg.srv = httptest.NewServer(rg.h)
	t.Cleanup(func() {
		rg.srv.CloseClientConnections()
		rg.srv.Close()
		cancel()
		<-done
	})
	waitUntil(t, 20*time.Second, "index loaded", func() bool { loaded, _ := follower.Ready(); return loaded })
	return rg
}

func waitUntil(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type answer struct {
	code int
	hdr  http.Header
	body map[string]any
	raw  string
}

// do sends a request with token (""; none) and the If-Match ("": none).
func (rg *editRig) do(t *testing.T, method, path, token, match string, body any) answer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, rg.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if match != "" {
		req.Header.Set("If-Match", match)
	}
	resp, err := rg.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, hdr: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) want(t *testing.T, code int, what string) answer {
	t.Helper()
	if a.code != code {
		t.Fatalf("%s: %d %s, want %d", what, a.code, a.raw, code)
	}
	return a
}

func (a answer) wantError(t *testing.T, code int, errCode, field, what string) {
	t.Helper()
	a.want(t, code, what)
	if a.body["code"] != errCode || (field != "" && a.body["field"] != field) {
		t.Fatalf("%s: code %v field %v (%s), want %s %s", what, a.body["code"], a.body["field"], a.raw, errCode, field)
	}
}

func props(a answer) map[string]any {
	p, _ := a.body["properties"].(map[string]any)
	return p
}

// indexed waits until the index (fed only by the change feed) holds the feature at
// version (0: until it is gone).
func (rg *editRig) indexed(t *testing.T, layer string, id, version int64) {
	t.Helper()
	waitUntil(t, 10*time.Second, fmt.Sprintf("%s %d at version %d in the index", layer, id, version), func() bool {
		rec, ok, _ := rg.ix.Get(layer, id)
		if version == 0 {
			return !ok
		}
		return ok && rec.Version == version
	})
}

// TestEdits: create, read, replace, merge and delete a feature with ETags; 401
// without a token, 403 for a viewer, 428 without If-Match, 412 on a stale one (two
// concurrent PUTs on one version: one wins), invalid bodies 400 naming the field,
// every edit in the audit log with before/after and the token's name and id, and
// every edit reaching the index (and so tiles and the event stream) through the
// change feed.
func TestEdits(t *testing.T) {
	bothStores(t, func(t *testing.T, st editBackend) {
		rg := newEditRig(t, st, nil)
		newShelter := map[string]any{"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{114.13, 22.56}},
			"properties": map[string]any{"external_id": "R-2", "kind": "shelter", "name": "翠竹避难场所", "capacity": 300}, "note": "新建"}
		rg.do(t, "POST", "/api/v1/features/resources", "", "", newShelter).wantError(t, 401, "unauthorized", "", "create without a token")
		rg.do(t, "POST", "/api/v1/features/resources", rg.viewer, "", newShelter).wantError(t, 403, "forbidden", "", "create by a viewer")
		a := rg.do(t, "POST", "/api/v1/features/resources", rg.editor, "", newShelter).want(t, 201, "create")
		id := int64(a.body["id"].(float64))
		if a.hdr.Get("ETag") != `"1"` || a.hdr.Get("Location") != fmt.Sprintf("/api/v1/features/resources/%d", id) || props(a)["name"] != "翠竹避难场所" {
			t.Fatalf("create: ETag %q Location %q body %s", a.hdr.Get("ETag"), a.hdr.Get("Location"), a.raw)
		}
		rg.indexed(t, layers.Resources, id, 1)
		path := fmt.Sprintf("/api/v1/features/resources/%d", id)
		g := rg.do(t, "GET", path, "", "", nil).want(t, 200, "read")
		if g.hdr.Get("ETag") != `"1"` {
			t.Fatalf("GET ETag %q", g.hdr.Get("ETag"))
		}

		// PUT: the whole feature; the GET body may be sent back as it was edited.
		put := map[string]any{"type": "Feature", "id": id, "geometry": g.body["geometry"], "properties": props(g)}
		props(g)["name"] = "翠竹避难场所（扩建）"
		rg.do(t, "PUT", path, rg.editor, "", put).wantError(t, 428, "precondition_required", "If-Match", "PUT without If-Match")
		rg.do(t, "PUT", path, rg.editor, `W/"1"`, put).wantError(t, 400, "bad_request", "If-Match", "PUT with a weak ETag")
		rg.do(t, "PUT", path, rg.editor, `"7"`, put).wantError(t, 400, "bad_request", "version", "PUT whose version property disagrees")
		a = rg.do(t, "PUT", path, rg.editor, `"1"`, put).want(t, 200, "PUT")
		if a.hdr.Get("ETag") != `"2"` || props(a)["name"] != "翠竹避难场所（扩建）" || props(a)["capacity"] != 300.0 {
			t.Fatalf("PUT: %s %s", a.hdr.Get("ETag"), a.raw)
		}

		// Two editors PUT on version 2 at once: one wins, the other gets 412 with
		// the current ETag.
		var wg sync.WaitGroup
		codes := make([]answer, 2)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := map[string]any{"type": "Feature", "geometry": g.body["geometry"], "properties": map[string]any{
					"external_id": "R-2", "kind": "shelter", "name": fmt.Sprintf("编辑者 %d", i), "capacity": 300 + i}}
				codes[i] = rg.do(t, "PUT", path, rg.editor, `"2"`, body)
			}()
		}
		wg.Wait()
		if codes[0].code+codes[1].code != 200+412 {
			t.Fatalf("concurrent PUTs: %d %s / %d %s, want one 200 and one 412", codes[0].code, codes[0].raw, codes[1].code, codes[1].raw)
		}
		winner, loser := codes[0], codes[1]
		if loser.code == 200 {
			winner, loser = loser, winner
		}
		if loser.body["code"] != "version_conflict" || loser.hdr.Get("ETag") != `"3"` || winner.hdr.Get("ETag") != `"3"` {
			t.Fatalf("conflict: winner %s, loser %s %s", winner.hdr.Get("ETag"), loser.hdr.Get("ETag"), loser.raw)
		}

		// PATCH merges.
		a = rg.do(t, "PATCH", path, rg.editor, `"3"`, map[string]any{"type": "Feature", "properties": map[string]any{"capacity": 900}}).want(t, 200, "PATCH")
		if a.hdr.Get("ETag") != `"4"` || props(a)["capacity"] != 900.0 || props(a)["name"] != props(winner)["name"] {
			t.Fatalf("PATCH: %s %s", a.hdr.Get("ETag"), a.raw)
		}
		// Invalid bodies: 400 naming what is wrong, nothing written.
		for _, c := range []struct {
			body  any
			field string
		}{
			{map[string]any{"type": "Feature", "properties": map[string]any{"colour": "red"}}, "colour"},
			{map[string]any{"type": "Feature", "properties": map[string]any{"capacity": "many"}}, "capacity"},
			{map[string]any{"type": "Feature", "properties": map[string]any{"kind": "castle"}}, "kind"},
			{map[string]any{"type": "Feature", "geometry": map[string]any{"type": "Point", "coordinates": []float64{200, 22}}}, "geometry"},
			{map[string]any{"type": "Feature", "geometry": map[string]any{"type": "LineString", "coordinates": [][]float64{{114, 22}, {114.1, 22}}}}, "geometry"},
			{map[string]any{"type": "Feature", "geometry": map[string]any{"type": "Blob"}}, "geometry"},
			{map[string]any{"type": "Feature", "properties": map[string]any{}, "extra": 1}, "extra"},
			{map[string]any{"type": "Point"}, "type"},
			{`{"type":"Feature"} {}`, "body"},
			{`not json`, "body"},
		} {
			a := rg.do(t, "PATCH", path, rg.editor, `"4"`, c.body)
			if a.code != 400 || a.body["field"] != c.field {
				t.Fatalf("PATCH %v: %d %s, want 400 naming %s", c.body, a.code, a.raw, c.field)
			}
		}
		rg.do(t, "PATCH", path, rg.editor, `"4"`, strings.Repeat(" ", MaxBodyLen+1)+"{}").wantError(t, 413, "body_too_large", "body", "huge body")
		rg.do(t, "PATCH", "/api/v1/features/resources/999999", rg.editor, `"1"`, map[string]any{"type": "Feature"}).wantError(t, 404, "not_found", "", "PATCH of a missing feature")
		rg.do(t, "PATCH", "/api/v1/features/nowhere/1", rg.editor, `"1"`, map[string]any{"type": "Feature"}).wantError(t, 400, "unknown_layer", "layer", "PATCH of an unknown layer")
		rg.indexed(t, layers.Resources, id, 4)
		if got := rg.do(t, "GET", path, "", "", nil); got.hdr.Get("ETag") != `"4"` || props(got)["capacity"] != 900.0 {
			t.Fatalf("read after PATCH: %s %s", got.hdr.Get("ETag"), got.raw)
		}

		// DELETE: If-Match required; stale 412; 204; gone from the index.
		rg.do(t, "DELETE", path, rg.editor, "", nil).wantError(t, 428, "precondition_required", "If-Match", "DELETE without If-Match")
		rg.do(t, "DELETE", path, rg.editor, `"3"`, nil).wantError(t, 412, "version_conflict", "If-Match", "stale DELETE")
		rg.do(t, "DELETE", path+"?note="+"%E6%92%A4%E9%94%80", rg.editor, `"4"`, nil).want(t, 204, "DELETE")
		rg.indexed(t, layers.Resources, id, 0)
		rg.do(t, "GET", path, "", "", nil).wantError(t, 404, "not_found", "", "read after DELETE")

		// The audit log: every edit, newest first, who, before and after.
		au := rg.do(t, "GET", fmt.Sprintf("/api/v1/audit?layer=resources&id=%d", id), "", "", nil).want(t, 200, "audit")
		entries := au.body["entries"].([]any)
		var got []string
		for _, e := range entries {
			m := e.(map[string]any)
			if m["actor"] != "王工 (editor)" || m["token_id"] != float64(rg.editorID) {
				t.Fatalf("audit row %v: actor/token", m)
			}
			got = append(got, fmt.Sprintf("%s %v>%v", m["action"], m["version_before"], m["version_after"]))
		}
		want := "delete 4><nil>|update 3>4|update 2>3|update 1>2|create <nil>>1"
		if strings.Join(got, "|") != want {
			t.Fatalf("audit: %v, want %s", got, want)
		}
		last := entries[0].(map[string]any)
		if last["note"] != "撤销" || last["after"] != nil || last["before"].(map[string]any)["properties"].(map[string]any)["capacity"] != 900.0 {
			t.Fatalf("delete audit row %v", last)
		}
		patchRow := entries[1].(map[string]any)
		if patchRow["before"].(map[string]any)["properties"].(map[string]any)["capacity"] == 900.0 ||
			patchRow["after"].(map[string]any)["properties"].(map[string]any)["capacity"] != 900.0 {
			t.Fatalf("PATCH audit row %v", patchRow)
		}
		if entries[4].(map[string]any)["note"] != "新建" {
			t.Fatalf("create audit row %v", entries[4])
		}
		rg.do(t, "GET", "/api/v1/audit?id=1", "", "", nil).wantError(t, 400, "bad_request", "id", "audit id without layer")
		pg := rg.do(t, "GET", fmt.Sprintf("/api/v1/audit?layer=resources&id=%d&limit=2", id), "", "", nil).want(t, 200, "audit page")
		if len(pg.body["entries"].([]any)) != 2 || pg.body["next_before"] == nil {
			t.Fatalf("audit page %s", pg.raw)
		}
	})
}

// TestHazardRoutes: the rectification workflow over HTTP — the hazard with its
// allowed moves and history, forbidden moves 409, missing note or due date 400,
// 428/412 on If-Match, viewers refused; overdue hazards listed with counts by
// department and sub-district; a move reaches the index through the change feed;
// a feature edit may not move the status.
func TestHazardRoutes(t *testing.T) {
	bothStores(t, func(t *testing.T, st editBackend) {
		rg := newEditRig(t, st, nil)
		id := rg.point.ID
		path := fmt.Sprintf("/api/v1/hazards/%d", id)
		h := rg.do(t, "GET", path, "", "", nil).want(t, 200, "hazard")
		if h.body["status"] != "open" || h.hdr.Get("ETag") != `"1"` || len(h.body["history"].([]any)) != 1 {
			t.Fatalf("hazard %s", h.raw)
		}
		if m := h.body["moves"].([]any); len(m) != 1 || m[0].(map[string]any)["to"] != "rectifying" || m[0].(map[string]any)["due"] != "required" {
			t.Fatalf("moves %v", m)
		}
		yesterday := store.TodayCST(time.Now()).AddDate(0, 0, -1).Format(time.DateOnly)
		move := func(token, match string, body any) answer {
			return rg.do(t, "POST", path+"/status", token, match, body)
		}
		move("", `"1"`, map[string]any{"to": "rectifying", "due_on": yesterday}).wantError(t, 401, "unauthorized", "", "move without a token")
		move(rg.viewer, `"1"`, map[string]any{"to": "rectifying", "due_on": yesterday}).wantError(t, 403, "forbidden", "", "move by a viewer")
		move(rg.editor, "", map[string]any{"to": "rectifying", "due_on": yesterday}).wantError(t, 428, "precondition_required", "If-Match", "move without If-Match")
		move(rg.editor, `"1"`, map[string]any{"to": "closed"}).wantError(t, 409, "forbidden_move", "hazard_status", "open → closed")
		move(rg.editor, `"1"`, map[string]any{"to": "rectifying"}).wantError(t, 400, "invalid", "due_on", "rectifying without a due date")
		move(rg.editor, `"1"`, map[string]any{"to": "rectifying", "due_on": "tomorrow"}).wantError(t, 400, "bad_request", "due_on", "bad due date")
		move(rg.editor, `"1"`, map[string]any{"to": "done"}).wantError(t, 400, "invalid", "to", "unknown status")
		move(rg.editor, `"1"`, map[string]any{"to": "rectifying", "due_on": yesterday, "by": "x"}).wantError(t, 400, "bad_request", "body", "unknown member")
		a := move(rg.editor, `"1"`, map[string]any{"to": "rectifying", "due_on": yesterday, "note": "限期整改"}).want(t, 200, "open → rectifying")
		if a.body["status"] != "rectifying" || a.hdr.Get("ETag") != `"2"` || a.body["due_on"] != yesterday || a.body["overdue"] != true {
			t.Fatalf("after the move: %s", a.raw)
		}
		move(rg.editor, `"1"`, map[string]any{"to": "closed"}).wantError(t, 412, "version_conflict", "If-Match", "stale move")
		rg.indexed(t, layers.RiskPoints, id, 2)
		if rec, _, _ := rg.ix.Get(layers.RiskPoints, id); !strings.Contains(string(rec.GeoJSON()), `"hazard_status":"rectifying"`) {
			t.Fatalf("index after the move: %s", rec.GeoJSON())
		}

		// Overdue, by department and sub-district.
		ov := rg.do(t, "GET", "/api/v1/hazards?overdue=true", "", "", nil).want(t, 200, "overdue")
		hs := ov.body["hazards"].([]any)
		if ov.body["total"] != 1.0 || len(hs) != 1 || hs[0].(map[string]any)["id"] != float64(id) || hs[0].(map[string]any)["days_overdue"] != 1.0 {
			t.Fatalf("overdue: %s", ov.raw)
		}
		if d := ov.body["by_department"].([]any); len(d) != 1 || d[0].(map[string]any)["key"] != "住建局" || d[0].(map[string]any)["count"] != 1.0 {
			t.Fatalf("by department: %v", d)
		}
		if d := ov.body["by_subdistrict"].([]any); len(d) != 1 || d[0].(map[string]any)["key"] != "dongmen" {
			t.Fatalf("by sub-district: %v", d)
		}
		if n := rg.do(t, "GET", "/api/v1/hazards?overdue=true&department=%E6%B0%B4%E5%8A%A1%E5%B1%80", "", "", nil).want(t, 200, "overdue of another department").body["total"]; n != 0.0 {
			t.Fatalf("overdue of 水务局: %v", n)
		}
		rg.do(t, "GET", "/api/v1/hazards?subdistrict=atlantis", "", "", nil).wantError(t, 400, "bad_request", "subdistrict", "unknown sub-district")
		rg.do(t, "GET", "/api/v1/hazards?overdue=yes", "", "", nil).wantError(t, 400, "bad_request", "overdue", "bad overdue")

		// A feature edit may not move the status around the workflow.
		fpath := fmt.Sprintf("/api/v1/features/risk_points/%d", id)
		rg.do(t, "PATCH", fpath, rg.editor, `"2"`, map[string]any{"type": "Feature", "properties": map[string]any{"hazard_status": "closed"}}).
			wantError(t, 409, "forbidden_move", "hazard_status", "status moved by PATCH")
		// ...but a PUT that leaves it out keeps it.
		g := rg.do(t, "GET", fpath, "", "", nil).want(t, 200, "read point")
		p := props(g)
		delete(p, "hazard_status")
		p["name"] = "边坡隐患（复核）"
		rg.do(t, "PUT", fpath, rg.editor, `"2"`, map[string]any{"type": "Feature", "geometry": g.body["geometry"], "properties": p}).want(t, 200, "PUT keeping the status")

		move(rg.editor, `"3"`, map[string]any{"to": "closed", "note": "验收通过"}).want(t, 200, "rectifying → closed")
		move(rg.editor, `"4"`, map[string]any{"to": "rectifying", "due_on": yesterday}).wantError(t, 409, "forbidden_move", "hazard_status", "closed → rectifying")
		move(rg.editor, `"4"`, map[string]any{"to": "open"}).wantError(t, 400, "invalid", "note", "reopen without a note")
		a = move(rg.editor, `"4"`, map[string]any{"to": "open", "note": "复查发现新裂缝"}).want(t, 200, "reopen")
		hist := a.body["history"].([]any)
		if len(hist) != 4 || hist[0].(map[string]any)["note"] != "复查发现新裂缝" || hist[0].(map[string]any)["actor"] != "王工 (editor)" ||
			hist[2].(map[string]any)["due_on"] != yesterday {
			t.Fatalf("history %v", hist)
		}
		if n := rg.do(t, "GET", "/api/v1/hazards?overdue=true", "", "", nil).body["total"]; n != 0.0 {
			t.Fatalf("a reopened hazard without a due date is overdue: %v", n)
		}
		au := rg.do(t, "GET", fmt.Sprintf("/api/v1/audit?layer=risk_points&id=%d", id), "", "", nil).want(t, 200, "audit")
		var actions []string
		for _, e := range au.body["entries"].([]any) {
			actions = append(actions, e.(map[string]any)["action"].(string))
		}
		if strings.Join(actions, ",") != "hazard_status,hazard_status,update,hazard_status" {
			t.Fatalf("audit actions %v", actions)
		}
	})
}

// TestEditRoutesNeedEditor: every edit and hazard route refuses a request without a
// token (401), with a wrong one (401) and with a viewer's or a sensor's (403), on
// both stores, and nothing changes.
func TestEditRoutesNeedEditor(t *testing.T) {
	bothStores(t, func(t *testing.T, st editBackend) {
		rg := newEditRig(t, st, nil)
		h := sha256.Sum256([]byte("sensor-secret-0123456789abcdef"))
		if _, err := st.CreateToken(context.Background(), store.NewToken{Name: "sensor", Role: "sensor", CreatedBy: "test", Hash: h[:]}); err != nil {
			t.Fatal(err)
		}
		before := dataSnapshot(t, st, nil)
		feat := `{"type":"Feature","geometry":{"type":"Point","coordinates":[114.12,22.55]},"properties":{"external_id":"R-9","kind":"shelter","name":"n"}}`
		routes := []struct{ method, path, body string }{
			{"POST", "/api/v1/features/resources", feat},
			{"PUT", fmt.Sprintf("/api/v1/features/resources/%d", rg.resource.ID), feat},
			{"PATCH", fmt.Sprintf("/api/v1/features/resources/%d", rg.resource.ID), `{"type":"Feature","properties":{"name":"x"}}`},
			{"DELETE", fmt.Sprintf("/api/v1/features/resources/%d", rg.resource.ID), ""},
			{"POST", fmt.Sprintf("/api/v1/hazards/%d/status", rg.point.ID), `{"to":"rectifying","due_on":"2026-01-01"}`},
		}
		for _, rt := range routes {
			for _, c := range []struct {
				token string
				code  int
			}{{"", 401}, {"wrong-token-0123456789abcdef", 401}, {rg.viewer, 403}, {"sensor-secret-0123456789abcdef", 403}} {
				var body any
				if rt.body != "" {
					body = rt.body
				}
				if a := rg.do(t, rt.method, rt.path, c.token, `"1"`, body); a.code != c.code {
					t.Errorf("%s %s with token %q: %d %s, want %d", rt.method, rt.path, c.token, a.code, a.raw, c.code)
				}
			}
		}
		if after := dataSnapshot(t, st, nil); after != before {
			t.Fatalf("refused writes changed the data:\n%s\n%s", before, after)
		}
	})
}
