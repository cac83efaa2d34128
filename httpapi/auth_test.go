package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"riskmap/events"
	"riskmap/index"
	"riskmap/ingest"
	"riskmap/internal/sensortest"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/gpkg"
)

// writeRoute is one route that writes, with a body it accepts and the roles that
// may call it (admin may call every one). Adding a write route is one line here:
// TestWriteRouteRoles checks it with every role on both stores.
type writeRoute struct {
	method, path, body string
	roles              []Role
}

func writeRoutes() []writeRoute {
	now := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	return []writeRoute{
		{http.MethodPost, "/api/v1/readings", `[{"sensor_id": 1, "time": "` + now + `", "value": 3}]`, []Role{RoleSensor}},
		{http.MethodPost, "/api/v1/alerts/1/ack", `{"by": "值班员", "note": "seen"}`, []Role{RoleEditor}},
		{http.MethodPut, "/api/v1/signals/typhoon", `{"level": "blue", "by": "值班员"}`, []Role{RoleEditor}},
		{http.MethodPost, "/api/v1/drill/end", ``, []Role{RoleEditor}},
		{http.MethodPost, "/api/v1/features/risk_points", `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.12, 22.55]}, "properties": {}}`, []Role{RoleEditor}},
		{http.MethodPut, "/api/v1/features/waterlogging_spots/1", `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.12, 22.55]}, "properties": {}}`, []Role{RoleEditor}},
		{http.MethodPatch, "/api/v1/features/waterlogging_spots/1", `{"properties": {"name": "x"}}`, []Role{RoleEditor}},
		{http.MethodDelete, "/api/v1/features/waterlogging_spots/2", ``, []Role{RoleEditor}},
		{http.MethodPost, "/api/v1/hazards/1/status", `{"status": "rectifying"}`, []Role{RoleEditor}},
		{http.MethodGet, "/api/v1/tokens", ``, []Role{RoleAdmin}},
		{http.MethodPost, "/api/v1/tokens", `{"name": "made in test", "role": "viewer"}`, []Role{RoleAdmin}},
		{http.MethodDelete, "/api/v1/tokens/999999", ``, []Role{RoleAdmin}},
	}
}

// authTokenStore is a store with tokens and the sensor half, as both stores are.
type authTokenStore interface {
	Tokens
	SensorStore
	ingest.Store
	ingest.RelayStore
	sensortest.Store
	Ping(ctx context.Context) error
	index.Source
}

type authRig struct {
	srv    *httptest.Server
	st     authTokenStore
	tokens map[Role]string
	ids    map[Role]int64
	path   string // the GeoPackage file, or ""
}

const legacyTestToken = "legacy-write-token-0123456789"

// stores are the two stores the auth tests run on: a fresh PostGIS database
// (skipped without RISKMAP_TEST_DATABASE_URL) and a GeoPackage in t.TempDir().
var authStores = []string{"postgis", "gpkg"}

// newAuthRig serves the API over a seeded store of kind (sensortest.SeedStore: spots
// 1..2 with sensors 1..2, slope 1 with sensor 3) with a running ingest service, a
// token of every role (rig.tokens) and the legacy write token.
func newAuthRig(t *testing.T, kind string, edit func(*Config)) *authRig {
	t.Helper()
	reg := layers.New()
	rig := &authRig{tokens: map[Role]string{}, ids: map[Role]int64{}}
	switch kind {
	case "postgis":
		rig.st = newPostGIS(t)
	case "gpkg":
		rig.path = filepath.Join(t.TempDir(), "riskmap.gpkg")
		gs, err := gpkg.Open(context.Background(), rig.path, reg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(gs.Close)
		rig.st = gs
	}
	sensortest.SeedStore(t, rig.st, 2)
	for _, role := range []Role{RoleViewer, RoleEditor, RoleSensor, RoleAdmin} {
		secret, hash, err := store.NewSecret(store.TokenPrefix)
		if err != nil {
			t.Fatal(err)
		}
		id, err := rig.st.CreateToken(context.Background(), store.NewToken{Name: "test " + string(role), Role: string(role), CreatedBy: "test", Hash: hash})
		if err != nil {
			t.Fatal(err)
		}
		rig.tokens[role], rig.ids[role] = secret, id
	}
	ctx, cancel := context.WithCancel(context.Background())
	ix := index.New(reg)
	if err := ix.Load(ctx, rig.st, nil); err != nil {
		t.Fatal(err)
	}
	hub := events.NewHub(events.Options{Flush: 5 * time.Millisecond})
	hubDone := make(chan struct{})
	go func() { hub.Run(ctx); close(hubDone) }()
	svc, err := ingest.New(ingest.Config{Store: rig.st, Registry: reg, TickEvery: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	svcDone := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(svcDone) }()
	sensortest.WaitFor(t, 20*time.Second, "ingest ready", svc.Ready)
	cfg := Config{Registry: reg, Store: rig.st, Index: ix, Events: hub, Ingest: svc, SensorStore: rig.st,
		WriteToken: legacyTestToken, Tokens: rig.st, Logger: slog.New(slog.DiscardHandler)}
	if es, ok := rig.st.(EditStore); ok {
		cfg.EditStore = es
	}
	if edit != nil {
		edit(&cfg)
	}
	rig.srv = httptest.NewServer(mustNew(t, cfg))
	t.Cleanup(func() {
		cancel()
		<-hubDone
		<-svcDone
		rig.srv.CloseClientConnections()
		rig.srv.Close()
	})
	return rig
}

// req is a request of the auth tests: a bearer token (or none), a session cookie
// and a CSRF header (or none).
type req struct {
	method, path, body string
	bearer, cookie     string
	csrf               string
}

// do sends q and returns the status, the JSON body (nil when there is none) and
// the response.
func (rig *authRig) do(t *testing.T, q req) (int, map[string]any, *http.Response) {
	t.Helper()
	var rd io.Reader
	if q.body != "" {
		rd = strings.NewReader(q.body)
	}
	r, _ := http.NewRequest(q.method, rig.srv.URL+q.path, rd)
	if q.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+q.bearer)
	}
	if q.cookie != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: q.cookie})
	}
	if q.csrf != "" {
		r.Header.Set("X-CSRF-Token", q.csrf)
	}
	resp, err := rig.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d, body %q: %v", q.method, q.path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, out, resp
}

// signIn opens a session with token and returns the cookie's value and the CSRF
// token.
func (rig *authRig) signIn(t *testing.T, token string) (cookie, csrf string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"token": token})
	status, out, resp := rig.do(t, req{method: http.MethodPost, path: "/api/v1/session", body: string(body)})
	if status != 200 {
		t.Fatalf("sign in: %d %v", status, out)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			cookie = c.Value
		}
	}
	csrf, _ = out["csrf"].(string)
	if cookie == "" || csrf == "" {
		t.Fatalf("sign in: cookie %q, csrf %q", cookie, csrf)
	}
	return cookie, csrf
}

// TestWriteRouteRoles: every write route on both stores answers 401 without
// credentials or with an unknown token, 403 (JSON, code forbidden) to a role that
// may not write there, and lets through the roles that may (and admin, and the
// legacy write token).
func TestWriteRouteRoles(t *testing.T) {
	for _, kind := range authStores {
		t.Run(kind, func(t *testing.T) {
			rig := newAuthRig(t, kind, nil)
			// An open alert of sensor 1 to acknowledge.
			now := time.Now().UTC().Add(-2 * time.Minute).Format(time.RFC3339)
			if status, out, _ := rig.do(t, req{method: http.MethodPost, path: "/api/v1/readings", bearer: rig.tokens[RoleSensor],
				body: `[{"sensor_id": 1, "time": "` + now + `", "value": 60}]`}); status != 200 {
				t.Fatalf("readings: %d %v", status, out)
			}
			for _, rt := range writeRoutes() {
				name := rt.method + " " + rt.path
				check := func(who string, q req, want int, code string) {
					t.Helper()
					q.method, q.path, q.body = rt.method, rt.path, rt.body
					status, out, resp := rig.do(t, q)
					switch want {
					case 0: // allowed: anything but 401, 403 (and 503: the route is served)
						if status == 401 || status == 403 || status == 503 {
							t.Errorf("%s as %s: %d %v, want it allowed", name, who, status, out)
						}
					default:
						if status != want || out["code"] != code || out["error"] == "" {
							t.Errorf("%s as %s: %d %v, want %d %s", name, who, status, out, want, code)
						}
						if want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
							t.Errorf("%s as %s: 401 without WWW-Authenticate", name, who)
						}
					}
				}
				check("nobody", req{}, 401, "unauthorized")
				check("an unknown token", req{bearer: store.TokenPrefix + "unknown-unknown-unknown"}, 401, "unauthorized")
				check("a malformed header", req{bearer: ""}, 401, "unauthorized")
				for _, role := range []Role{RoleViewer, RoleEditor, RoleSensor, RoleAdmin} {
					if role == RoleAdmin || slices.Contains(rt.roles, role) {
						check(string(role), req{bearer: rig.tokens[role]}, 0, "")
					} else {
						check(string(role), req{bearer: rig.tokens[role]}, 403, "forbidden")
					}
				}
				check("the legacy write token", req{bearer: legacyTestToken}, 0, "")
			}
		})
	}
}

// TestSessionCookieAndCSRF: the page's session on both stores — the cookie's
// attributes, who am I, reads with the cookie, writes with the cookie only with the
// CSRF token (nothing written otherwise), a bearer write needs none, sign out.
func TestSessionCookieAndCSRF(t *testing.T) {
	for _, kind := range authStores {
		t.Run(kind, func(t *testing.T) {
			rig := newAuthRig(t, kind, nil)
			body, _ := json.Marshal(map[string]string{"token": rig.tokens[RoleEditor]})
			status, out, resp := rig.do(t, req{method: http.MethodPost, path: "/api/v1/session", body: string(body)})
			if status != 200 || out["name"] != "test editor" || out["role"] != "editor" || out["csrf"] == "" {
				t.Fatalf("sign in: %d %v", status, out)
			}
			setCookie := resp.Header.Get("Set-Cookie")
			for _, attr := range []string{sessionCookie + "=", "Path=/", "HttpOnly", "SameSite=Strict"} {
				if !strings.Contains(setCookie, attr) {
					t.Errorf("Set-Cookie %q lacks %s", setCookie, attr)
				}
			}
			if strings.Contains(setCookie, "Secure") {
				t.Errorf("Set-Cookie %q: Secure over plain HTTP without an https public URL", setCookie)
			}
			cookie, csrf := "", out["csrf"].(string)
			for _, c := range resp.Cookies() {
				if c.Name == sessionCookie {
					cookie = c.Value
				}
			}
			if strings.Contains(cookie, rig.tokens[RoleEditor]) {
				t.Fatal("the cookie holds the token")
			}

			// Who am I.
			status, out, _ = rig.do(t, req{method: http.MethodGet, path: "/api/v1/session", cookie: cookie})
			if status != 200 || out["name"] != "test editor" || out["role"] != "editor" || out["csrf"] != csrf {
				t.Errorf("who am I: %d %v", status, out)
			}
			if status, out, _ := rig.do(t, req{method: http.MethodGet, path: "/api/v1/session"}); status != 401 || out["code"] != "unauthorized" {
				t.Errorf("who am I, signed out: %d %v", status, out)
			}
			if status, _, _ := rig.do(t, req{method: http.MethodGet, path: "/api/v1/alerts", cookie: cookie}); status != 200 {
				t.Errorf("GET with the cookie: %d", status)
			}

			// Writes with the cookie need the CSRF token; nothing is written without it.
			signal := `{"level": "orange", "by": "值班员"}`
			for _, bad := range []string{"", "wrong-" + csrf} {
				status, out, _ := rig.do(t, req{method: http.MethodPut, path: "/api/v1/signals/typhoon", body: signal, cookie: cookie, csrf: bad})
				if status != 403 || out["code"] != "csrf" {
					t.Errorf("cookie write with CSRF %q: %d %v, want 403 csrf", bad, status, out)
				}
			}
			if got := rig.typhoon(t); got != "none" {
				t.Fatalf("a refused write set the signal to %s", got)
			}
			if status, out, _ := rig.do(t, req{method: http.MethodPut, path: "/api/v1/signals/typhoon", body: signal, cookie: cookie, csrf: csrf}); status != 200 {
				t.Fatalf("cookie write with CSRF: %d %v", status, out)
			}
			if got := rig.typhoon(t); got != "orange" {
				t.Errorf("signal = %s, want orange", got)
			}
			// A bearer write needs no CSRF token.
			if status, out, _ := rig.do(t, req{method: http.MethodPut, path: "/api/v1/signals/typhoon", body: `{"level": "none", "by": "x"}`,
				bearer: rig.tokens[RoleEditor]}); status != 200 {
				t.Errorf("bearer write: %d %v", status, out)
			}
			// A viewer's session may not write, CSRF token or not.
			vCookie, vCSRF := rig.signIn(t, rig.tokens[RoleViewer])
			if status, out, _ := rig.do(t, req{method: http.MethodPut, path: "/api/v1/signals/typhoon", body: signal, cookie: vCookie, csrf: vCSRF}); status != 403 || out["code"] != "forbidden" {
				t.Errorf("viewer cookie write: %d %v", status, out)
			}
			// A bad token cannot sign in, nor can the legacy write token.
			for _, tok := range []string{"rmk_nope", legacyTestToken} {
				body, _ := json.Marshal(map[string]string{"token": tok})
				if status, _, resp := rig.do(t, req{method: http.MethodPost, path: "/api/v1/session", body: string(body)}); status < 400 || len(resp.Cookies()) > 0 {
					t.Errorf("sign in with %q: %d, cookies %v", tok, status, resp.Cookies())
				}
			}
			// An unknown cookie is 401.
			if status, out, _ := rig.do(t, req{method: http.MethodPut, path: "/api/v1/signals/typhoon", body: signal, cookie: "forged", csrf: csrf}); status != 401 {
				t.Errorf("forged cookie: %d %v", status, out)
			}

			// Sign out needs the CSRF token too, then the cookie is dead.
			if status, _, _ := rig.do(t, req{method: http.MethodDelete, path: "/api/v1/session", cookie: cookie}); status != 403 {
				t.Errorf("sign out without CSRF: %d", status)
			}
			status, _, resp = rig.do(t, req{method: http.MethodDelete, path: "/api/v1/session", cookie: cookie, csrf: csrf})
			if status != 204 || !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
				t.Errorf("sign out: %d, Set-Cookie %q", status, resp.Header.Get("Set-Cookie"))
			}
			if status, _, _ := rig.do(t, req{method: http.MethodGet, path: "/api/v1/session", cookie: cookie}); status != 401 {
				t.Errorf("who am I after sign out: %d", status)
			}
		})
	}
}

// typhoon is the current typhoon signal level.
func (rig *authRig) typhoon(t *testing.T) string {
	t.Helper()
	resp, err := rig.srv.Client().Get(rig.srv.URL + "/api/v1/signals")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Signals []struct{ Kind, Level string } `json:"signals"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, s := range out.Signals {
		if s.Kind == "typhoon" {
			return s.Level
		}
	}
	t.Fatalf("no typhoon signal in %+v", out)
	return ""
}

// TestSecureCookieWithHTTPSPublicURL: behind an https proxy the cookie is Secure.
func TestSecureCookieWithHTTPSPublicURL(t *testing.T) {
	rig := newAuthRig(t, "gpkg", func(c *Config) { c.PublicURL = "https://riskmap.example.org" })
	body, _ := json.Marshal(map[string]string{"token": rig.tokens[RoleViewer]})
	_, _, resp := rig.do(t, req{method: http.MethodPost, path: "/api/v1/session", body: string(body)})
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
		t.Errorf("Set-Cookie %q is not Secure", sc)
	}
}

// TestReadAccessViewer: with read access viewer every read route needs a viewer
// (or editor, admin) token or session; health, readiness and sign-in stay open; the
// event stream takes the cookie (EventSource sends no headers).
func TestReadAccessViewer(t *testing.T) {
	for _, kind := range authStores {
		t.Run(kind, func(t *testing.T) {
			rig := newAuthRig(t, kind, func(c *Config) { c.ReadAccess = ReadViewer })
			reads := []req{
				{method: http.MethodGet, path: "/api/v1/layers"},
				{method: http.MethodGet, path: "/api/v1/nearby?lon=114.1&lat=22.55"},
				{method: http.MethodPost, path: "/api/v1/query", body: `{"bbox": [114, 22.5, 114.2, 22.6]}`},
				{method: http.MethodGet, path: "/api/v1/alerts"},
				{method: http.MethodGet, path: "/api/v1/signals"},
				{method: http.MethodGet, path: "/api/v1/sensors"},
				{method: http.MethodGet, path: "/api/v1/features/waterlogging_spots/1"},
				{method: http.MethodGet, path: "/tiles/all/0/0/0.mvt"},
				{method: http.MethodGet, path: "/tiles/all.json"},
				{method: http.MethodGet, path: "/styles/riskmap.json"},
				{method: http.MethodGet, path: "/api/v1/config"},
				{method: http.MethodGet, path: "/api/v1/stats"},
				{method: http.MethodGet, path: "/api/v1/hazards"},
			}
			cookie, _ := rig.signIn(t, rig.tokens[RoleViewer])
			for _, q := range reads {
				if status, out, _ := rig.do(t, q); status != 401 || out["code"] != "unauthorized" {
					t.Errorf("%s %s without credentials: %d %v, want 401", q.method, q.path, status, out)
				}
				s := q
				s.bearer = rig.tokens[RoleSensor]
				if status, out, _ := rig.do(t, s); status != 403 || out["code"] != "forbidden" {
					t.Errorf("%s %s as sensor: %d %v, want 403", q.method, q.path, status, out)
				}
				for _, role := range []Role{RoleViewer, RoleEditor, RoleAdmin} {
					v := q
					v.bearer = rig.tokens[role]
					if status, out, _ := rig.do(t, v); status != 200 {
						t.Errorf("%s %s as %s: %d %v", q.method, q.path, role, status, out)
					}
				}
				c := q
				c.cookie = cookie
				if status, out, _ := rig.do(t, c); status != 200 {
					t.Errorf("%s %s with the viewer's cookie: %d %v", q.method, q.path, status, out)
				}
			}
			for _, open := range []string{"/healthz", "/readyz"} {
				if status, _, _ := rig.do(t, req{method: http.MethodGet, path: open}); status != 200 {
					t.Errorf("%s: %d", open, status)
				}
			}
			// The event stream with the cookie, as EventSource sends it.
			r, _ := http.NewRequest(http.MethodGet, rig.srv.URL+"/api/v1/events", nil)
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp, err := rig.srv.Client().Do(r.WithContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Errorf("events with the cookie: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			cancel()
			resp.Body.Close()
			if status, _, _ := rig.do(t, req{method: http.MethodGet, path: "/api/v1/events"}); status != 401 {
				t.Errorf("events without credentials: %d", status)
			}
			// Writes still follow their roles.
			if status, out, _ := rig.do(t, req{method: http.MethodPut, path: "/api/v1/signals/rainstorm", body: `{"level": "blue", "by": "x"}`,
				bearer: rig.tokens[RoleEditor]}); status != 200 {
				t.Errorf("editor write under read access viewer: %d %v", status, out)
			}
		})
	}
}

// TestRevocation: a token revoked through the server stops working at once,
// sessions included; one revoked by another process (directly in the store, as
// riskmap token revoke does) within the cache's lifetime.
func TestRevocation(t *testing.T) {
	for _, kind := range authStores {
		t.Run(kind, func(t *testing.T) {
			rig := newAuthRig(t, kind, func(c *Config) { c.AuthCacheTTL = 300 * time.Millisecond })
			admin := rig.tokens[RoleAdmin]
			// A token made through the API works at once.
			status, out, _ := rig.do(t, req{method: http.MethodPost, path: "/api/v1/tokens", bearer: admin, body: `{"name": "temp", "role": "editor"}`})
			if status != 201 || !strings.HasPrefix(fmt.Sprint(out["token"]), store.TokenPrefix) {
				t.Fatalf("create: %d %v", status, out)
			}
			tok, id := out["token"].(string), int64(out["id"].(float64))
			signal := func(bearer, cookie, csrf string) int {
				status, _, _ := rig.do(t, req{method: http.MethodPut, path: "/api/v1/signals/rainstorm", body: `{"level": "blue", "by": "x"}`,
					bearer: bearer, cookie: cookie, csrf: csrf})
				return status
			}
			if s := signal(tok, "", ""); s != 200 {
				t.Fatalf("new token: %d", s)
			}
			cookie, csrf := rig.signIn(t, tok)
			if s := signal("", cookie, csrf); s != 200 {
				t.Fatalf("its session: %d", s)
			}
			if status, _, _ := rig.do(t, req{method: http.MethodDelete, path: fmt.Sprintf("/api/v1/tokens/%d", id), bearer: admin}); status != 204 {
				t.Fatalf("revoke: %d", status)
			}
			if s := signal(tok, "", ""); s != 401 {
				t.Errorf("revoked token right after revoke: %d, want 401", s)
			}
			if s := signal("", cookie, csrf); s != 401 {
				t.Errorf("session of the revoked token right after revoke: %d, want 401", s)
			}
			// The list shows it revoked, and never a hash or the token.
			list := rig.listTokens(t, admin)
			var found bool
			for _, v := range list {
				if int64(v["id"].(float64)) == id {
					found = v["revoked_at"] != nil
				}
				for k := range v {
					if strings.Contains(k, "hash") || k == "token" {
						t.Errorf("token list shows %s", k)
					}
				}
			}
			if !found {
				t.Errorf("token %d not listed as revoked: %v", id, list)
			}

			// Another process revokes the editor: within the cache's lifetime here.
			if s := signal(rig.tokens[RoleEditor], "", ""); s != 200 {
				t.Fatalf("editor: %d", s)
			}
			if err := rig.st.RevokeToken(context.Background(), rig.ids[RoleEditor]); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for signal(rig.tokens[RoleEditor], "", "") != 401 {
				if time.Since(start) > 3*time.Second {
					t.Fatal("a token revoked in the store still works after 3 s")
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Last use was recorded for the tokens used.
			ts, err := rig.st.Tokens(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range ts {
				if (tk.ID == id || tk.ID == rig.ids[RoleAdmin]) && tk.LastUsedAt.IsZero() {
					t.Errorf("token %d (%s): last use not recorded", tk.ID, tk.Name)
				}
			}
		})
	}
}

func (rig *authRig) listTokens(t *testing.T, admin string) []map[string]any {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, rig.srv.URL+"/api/v1/tokens", nil)
	r.Header.Set("Authorization", "Bearer "+admin)
	resp, err := rig.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTokensNotStoredInClear: neither a token nor a session id is in the store's
// bytes — the GeoPackage file (and its WAL) byte for byte, the PostGIS tables as
// text.
func TestTokensNotStoredInClear(t *testing.T) {
	for _, kind := range authStores {
		t.Run(kind, func(t *testing.T) {
			rig := newAuthRig(t, kind, nil)
			_, out, _ := rig.do(t, req{method: http.MethodPost, path: "/api/v1/tokens", bearer: rig.tokens[RoleAdmin], body: `{"name": "n", "role": "viewer"}`})
			made := out["token"].(string)
			cookie, _ := rig.signIn(t, made)
			secrets := []string{made, cookie, rig.tokens[RoleEditor], rig.tokens[RoleAdmin]}
			var haystack []byte
			switch kind {
			case "gpkg":
				for _, suffix := range []string{"", "-wal"} {
					b, err := os.ReadFile(rig.path + suffix)
					if err != nil && suffix == "" {
						t.Fatal(err)
					}
					haystack = append(haystack, b...)
				}
			case "postgis":
				pool := rig.st.(interface{ Pool() *pgxpool.Pool }).Pool()
				for _, table := range []string{"api_tokens", "sessions"} {
					var text string
					if err := pool.QueryRow(context.Background(), `SELECT string_agg(t::text, E'\n') FROM `+table+` t`).Scan(&text); err != nil {
						t.Fatal(err)
					}
					haystack = append(haystack, text...)
				}
			}
			if len(haystack) == 0 {
				t.Fatal("nothing read")
			}
			for _, s := range secrets {
				if bytes.Contains(haystack, []byte(s)) {
					t.Errorf("a secret (%.8s…) is stored in clear", s)
				}
				if !bytes.Contains(haystack, store.HashToken(s)) && kind == "gpkg" {
					t.Errorf("the hash of a secret (%.8s…) is not in the file", s)
				}
			}
		})
	}
}
