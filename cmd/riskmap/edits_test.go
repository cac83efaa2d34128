package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/internal/pgtest"
	"riskmap/internal/proctest"
)

// apiDo sends an API request to base with the write token (unless token is
// false) and If-Match (unless ""), and returns the status, ETag and decoded body.
func apiDo(t *testing.T, method, url string, token bool, match, body string) (int, string, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token {
		req.Header.Set("Authorization", "Bearer "+testWriteToken)
	}
	if match != "" {
		req.Header.Set("If-Match", match)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header.Get("ETag"), out
}

// TestEditsReachEveryProcess: two `riskmap serve` processes on one database; a
// feature created, patched, its hazard moved and deleted through one process's API
// shows in both processes' feature reads, tiles and event streams — the change feed
// is the only path — and every change is in the audit log, by the token's name;
// without a token nothing changes.
func TestEditsReachEveryProcess(t *testing.T) {
	url := pgtest.NewDatabase(t)
	if code, out, errOut := runCLI(t, "migrate", "--database-url", url); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	bin := buildBinary(t)
	a, b := startServe(t, bin, url), startServe(t, bin, url)
	ctx, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	streams := map[*proctest.Proc]*stream{a: openStream(t, ctx, a.Base, "?layers=risk_points"), b: openStream(t, ctx, b.Base, "")}
	visible := func(what string, ok func(p *proctest.Proc) bool) {
		t.Helper()
		start := time.Now()
		for _, p := range []*proctest.Proc{a, b} {
			for !ok(p) {
				if time.Since(start) > 15*time.Second {
					t.Fatalf("%s: not visible in %s after 15 s", what, p.Base)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		t.Logf("%s: visible in both processes after %v", what, time.Since(start).Round(time.Millisecond))
	}
	pt := orb.Point{114.1205, 22.5512}
	body := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"external_id":"E-1","name":"新登记隐患点","category":"fire","risk_grade":"major","subdistrict":"dongmen","responsible_dept":"消防救援大队"},"note":"巡查发现"}`, pt[0], pt[1])

	if code, _, _ := apiDo(t, "POST", a.Base+"/api/v1/features/risk_points", false, "", body); code != http.StatusUnauthorized {
		t.Fatalf("create without a token: %d, want 401", code)
	}
	code, etag, f := apiDo(t, "POST", a.Base+"/api/v1/features/risk_points", true, "", body)
	if code != http.StatusCreated || etag != `"1"` {
		t.Fatalf("create: %d %s %v", code, etag, f)
	}
	id := int64(f["id"].(float64))
	visible("create", func(p *proctest.Proc) bool {
		return featureVersion(t, p.Base, "risk_points", id) == 1 && tileHas(t, p.Base, "risk_points", pt, id) && streams[p].has(id, 1, "")
	})
	if code, _, _ := apiDo(t, "PATCH", a.Base+fmt.Sprintf("/api/v1/features/risk_points/%d", id), false, `"1"`, `{"type":"Feature","properties":{"name":"x"}}`); code != http.StatusUnauthorized {
		t.Fatalf("PATCH without a token: %d", code)
	}
	if code, etag, f = apiDo(t, "PATCH", a.Base+fmt.Sprintf("/api/v1/features/risk_points/%d", id), true, `"1"`, `{"type":"Feature","properties":{"risk_grade":"significant"}}`); code != 200 || etag != `"2"` {
		t.Fatalf("PATCH: %d %s %v", code, etag, f)
	}
	visible("patch", func(p *proctest.Proc) bool {
		return featureVersion(t, p.Base, "risk_points", id) == 2 && streams[p].has(id, 2, "")
	})
	due := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -1).Format(time.DateOnly)
	if code, etag, f = apiDo(t, "POST", b.Base+fmt.Sprintf("/api/v1/hazards/%d/status", id), true, `"2"`, `{"to":"rectifying","due_on":"`+due+`","note":"限期整改"}`); code != 200 || etag != `"3"` {
		t.Fatalf("hazard move: %d %s %v", code, etag, f)
	}
	visible("hazard move", func(p *proctest.Proc) bool {
		return featureVersion(t, p.Base, "risk_points", id) == 3 && streams[p].has(id, 3, "")
	})
	for _, p := range []*proctest.Proc{a, b} {
		if code, _, ov := apiDo(t, "GET", p.Base+"/api/v1/hazards?overdue=true", false, "", ""); code != 200 || ov["total"] != 1.0 {
			t.Fatalf("overdue on %s: %d %v", p.Base, code, ov)
		}
	}
	if code, _, _ := apiDo(t, "DELETE", a.Base+fmt.Sprintf("/api/v1/features/risk_points/%d", id), true, `"2"`, ""); code != http.StatusPreconditionFailed {
		t.Fatalf("stale delete: %d", code)
	}
	if code, _, _ = apiDo(t, "DELETE", a.Base+fmt.Sprintf("/api/v1/features/risk_points/%d", id), true, `"3"`, ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	visible("delete", func(p *proctest.Proc) bool {
		return featureVersion(t, p.Base, "risk_points", id) == 0 && !tileHas(t, p.Base, "risk_points", pt, id) && streams[p].has(id, 4, "delete")
	})
	_, _, au := apiDo(t, "GET", b.Base+fmt.Sprintf("/api/v1/audit?layer=risk_points&id=%d", id), false, "", "")
	var got []string
	for _, e := range au["entries"].([]any) {
		m := e.(map[string]any)
		got = append(got, fmt.Sprintf("%s by %s", m["action"], m["actor"]))
	}
	if strings.Join(got, ", ") != "delete by write-token, hazard_status by write-token, update by write-token, create by write-token" {
		t.Fatalf("audit: %v", got)
	}
}
