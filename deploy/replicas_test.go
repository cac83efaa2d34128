package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"riskmap/internal/pgtest"
	"riskmap/internal/proctest"
)

// edits is how many features the test changes through nginx, one after another.
const edits = 12

// TestReplicasBehindNginx: one PostGIS database with the demo data, three `riskmap
// serve` processes (ingest on in the first only), the shipped deploy/nginx.conf in
// front of them over TLS. Edits made through nginx — each landing on whichever
// replica nginx picks — are served by every replica directly (the feature, a
// nearby query and the z16 tile at the new position) and reach an event stream
// opened through nginx. Also: the plain-HTTP server redirects to HTTPS; TileJSON
// through nginx names the https URL; tiles pass through gzipped with riskmap's
// strong ETag and revalidate (304); a feature's ETag stays strong with gzip asked
// for (so If-Match works); a stream resumes with Last-Event-ID through nginx; with
// one replica stopped every read through nginx is still answered. Logs the change
// lag across the three processes, the database connections each holds (idle and
// under load) and each one's resident memory: the figures of docs/deploy.md.
func TestReplicasBehindNginx(t *testing.T) {
	nginxBin := os.Getenv(NginxEnvVar)
	if nginxBin == "" {
		t.Skipf("%s is not set: skipping the three-replica test behind nginx (run `make test`, which installs nginx with scripts/nginx.sh and sets it)", NginxEnvVar)
	}
	dbURL := pgtest.NewDatabase(t)
	bin := riskmapBinary(t)
	run(t, bin, "migrate", "--database-url", dbURL)
	run(t, bin, "seed", "--demo", "--database-url", dbURL)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// A database in service has statistics (autovacuum); this one was just loaded.
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}

	reps := []*proctest.Proc{
		startReplica(t, bin, "replica 1 (ingest)", dbURL, true),
		startReplica(t, bin, "replica 2", dbURL, false),
		startReplica(t, bin, "replica 3", dbURL, false),
	}
	dir := t.TempDir()
	cert, key, certs := selfSigned(t, dir)
	shipped, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	site := nginxSite{HTTPAddr: proctest.FreeAddr(t), HTTPSAddr: proctest.FreeAddr(t), Cert: cert, Key: key,
		AccessLog: filepath.Join(dir, "riskmap.access.log"), ErrorLog: filepath.Join(dir, "riskmap.error.log")}
	for _, r := range reps {
		site.Upstreams = append(site.Upstreams, r.Addr)
	}
	site.Ingest = reps[0].Addr
	startNginx(t, nginxBin, dir, renderSite(t, string(shipped), site), site.HTTPSAddr)
	lb := "https://" + site.HTTPSAddr
	c := tlsClient(certs)

	checkRedirect(t, c, site)
	resp, err := c.Get(lb + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("/metrics through nginx: %d, want 403 (scraped on each replica, not through nginx)", resp.StatusCode)
	}
	checkTileJSON(t, c, lb)
	checkTilePassThrough(t, c, lb, reps[1])

	token := strings.TrimSpace(run(t, bin, "token", "create", "--role", "editor", "--name", "deploy test", "--database-url", dbURL))
	checkSensorRoutes(t, c, lb, strings.TrimSpace(run(t, bin, "token", "create", "--role", "sensor", "--name", "deploy gauge", "--database-url", dbURL)))
	sctx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	st := openStream(t, sctx, c, lb, "")

	// The features to edit: risk points near the centre of the district.
	var feats []struct {
		ID   int64 `json:"id"`
		Geom struct {
			Coordinates orb.Point `json:"coordinates"`
		} `json:"geometry"`
	}
	var near struct {
		Features json.RawMessage `json:"features"`
	}
	getJSON(t, c, lb+fmt.Sprintf("/api/v1/nearby?lon=114.12&lat=22.55&k=%d&layers=risk_points", edits), &near)
	if err := json.Unmarshal(near.Features, &feats); err != nil || len(feats) != edits {
		t.Fatalf("nearby through nginx: %v, %d features", err, len(feats))
	}

	var lags, allLags, streamLags []time.Duration
	for i, f := range feats {
		// Moved 30 m north-east and renamed: the new state differs in the feature, a
		// nearby query at the new point and the tile.
		etag := featureETag(t, c, lb, f.ID)
		np := orb.Point{f.Geom.Coordinates[0] + 0.0002, f.Geom.Coordinates[1] + 0.0002}
		name := fmt.Sprintf("部署测试 %d", i)
		body := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"name":%q},"note":"deploy test"}`, np[0], np[1], name)
		req, _ := http.NewRequest(http.MethodPatch, fmt.Sprintf("%s/api/v1/features/risk_points/%d", lb, f.ID), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("If-Match", etag)
		req.Header.Set("Content-Type", "application/geo+json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PATCH through nginx: %d %s", resp.StatusCode, raw)
		}
		var version int64
		if _, err := fmt.Sscanf(resp.Header.Get("ETag"), `"%d"`, &version); err != nil {
			t.Fatalf("PATCH answer's ETag %q: %v", resp.Header.Get("ETag"), err)
		}
		acked := time.Now()
		var wg sync.WaitGroup
		lag, lagAll := make([]time.Duration, len(reps)), make([]time.Duration, len(reps))
		for k, r := range reps {
			wg.Go(func() { lag[k], lagAll[k] = waitServed(t, r, f.ID, version, np, name, acked) })
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		lags = append(lags, slices.Max(lag))
		allLags = append(allLags, slices.Max(lagAll))
		streamLags = append(streamLags, st.wait(t, f.ID, version, acked))
	}
	p50max := func(ds []time.Duration) string {
		slices.Sort(ds)
		return fmt.Sprintf("p50 %v, max %v", ds[len(ds)/2].Round(100*time.Microsecond), ds[len(ds)-1].Round(100*time.Microsecond))
	}
	t.Logf("%d edits through nginx, acknowledged → the feature served at its new version by all 3 replicas: %s; "+
		"→ also in a nearby query and the z16 tile in all 3: %s; → its event on the stream through nginx: %s",
		edits, p50max(lags), p50max(allLags), p50max(streamLags))

	checkResume(t, c, lb, feats[edits-2].ID, feats[edits-1].ID, st)
	measureConnections(t, pool, reps)

	// One replica stopped (as in a rolling restart): reads through nginx still answer.
	reps[2].Stop(t)
	for i := range 12 {
		resp, err := c.Get(lb + "/api/v1/stats")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("read %d through nginx with replica 3 stopped: %d", i, resp.StatusCode)
		}
	}
}

// waitServed polls replica r directly until it serves feature id of risk_points
// at version (the feature route, cheap: the time it first does is the change-feed
// lag), then until a nearby query at np finds it there and the z16 tile at np holds
// it with name. It returns both times since acked; after 15 s the test fails.
func waitServed(t *testing.T, r *proctest.Proc, id, version int64, np orb.Point, name string, acked time.Time) (feature, all time.Duration) {
	for featureVersion(t, r.Base, id) < version {
		if time.Since(acked) > 15*time.Second {
			t.Errorf("%s: feature %d version %d not served 15 s after the edit was acknowledged", r.Name, id, version)
			return 0, 0
		}
		time.Sleep(time.Millisecond)
	}
	feature = time.Since(acked)
	for nearbyFirst(t, r.Base, np) != id || tileName(t, r.Base, np, id) != name {
		if time.Since(acked) > 15*time.Second {
			t.Errorf("%s: feature %d version %d served, but not in a nearby query and the z16 tile at its new place 15 s after the edit", r.Name, id, version)
			return 0, 0
		}
		time.Sleep(2 * time.Millisecond)
	}
	return feature, time.Since(acked)
}

// featureVersion is the version GET /api/v1/features/risk_points/{id} of base
// answers (0 when not found).
func featureVersion(t *testing.T, base string, id int64) int64 {
	var f struct {
		Properties struct{ Version int64 } `json:"properties"`
	}
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/features/risk_points/%d", base, id))
	if err != nil {
		t.Error(err)
		return -1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0
	}
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		t.Error(err)
		return -1
	}
	return f.Properties.Version
}

// nearbyFirst is the id of the risk point nearest np on base, if within 1 m.
func nearbyFirst(t *testing.T, base string, np orb.Point) int64 {
	var fc struct {
		Features []struct {
			ID         int64 `json:"id"`
			Properties struct {
				DistanceM float64 `json:"distance_m"`
			} `json:"properties"`
		} `json:"features"`
	}
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/nearby?lon=%v&lat=%v&k=1&layers=risk_points", base, np[0], np[1]))
	if err != nil {
		t.Error(err)
		return -1
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&fc); err != nil || len(fc.Features) == 0 || fc.Features[0].Properties.DistanceM > 1 {
		return 0
	}
	return fc.Features[0].ID
}

// tileName is the name feature id has in base's z16 risk_points tile at p ("" when
// the tile does not hold it).
func tileName(t *testing.T, base string, p orb.Point, id int64) string {
	tl := maptile.At(p, 16)
	resp, err := http.Get(fmt.Sprintf("%s/tiles/risk_points/16/%d/%d.mvt", base, tl.X, tl.Y))
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		t.Error(err)
		return ""
	}
	for _, l := range ls {
		for _, f := range l.Features {
			if f.Properties["id"] == float64(id) {
				name, _ := f.Properties["name"].(string)
				return name
			}
		}
	}
	return ""
}

// featureETag is the ETag of risk point id through c at lb, asked with gzip: it
// must stay strong ("7"), since edits send it back in If-Match.
func featureETag(t *testing.T, c *http.Client, lb string, id int64) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/features/risk_points/%d", lb, id), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("feature %d through nginx with gzip: %d, ETag %q: want 200 and a strong ETag", id, resp.StatusCode, etag)
	}
	return etag
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, raw)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// checkRedirect: the plain-HTTP server sends every request to HTTPS.
func checkRedirect(t *testing.T, c *http.Client, s nginxSite) {
	t.Helper()
	resp, err := c.Get("http://" + s.HTTPAddr + "/api/v1/layers?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://" + s.HTTPAddr + "/api/v1/layers?x=1"; resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Fatalf("plain HTTP: %d Location %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

// checkTileJSON: riskmap sees the client's scheme and host through nginx
// (X-Forwarded-Proto, Host) and writes the tile URL clients can fetch.
func checkTileJSON(t *testing.T, c *http.Client, lb string) {
	t.Helper()
	var tj struct{ Tiles []string }
	getJSON(t, c, lb+"/tiles/all.json", &tj)
	if len(tj.Tiles) != 1 || !strings.HasPrefix(tj.Tiles[0], lb+"/tiles/all/{z}/{x}/{y}.mvt") {
		t.Fatalf("TileJSON through nginx: tiles %v, want %s/tiles/all/{z}/{x}/{y}.mvt", tj.Tiles, lb)
	}
}

// checkTilePassThrough: a tile asked with gzip through nginx is riskmap's own gzip
// body with its strong ETag (the same as the replica's, byte for byte), and
// If-None-Match through nginx answers 304.
func checkTilePassThrough(t *testing.T, c *http.Client, lb string, r *proctest.Proc) {
	t.Helper()
	tl := maptile.At(orb.Point{114.12, 22.55}, 15)
	path := fmt.Sprintf("/tiles/all/15/%d/%d.mvt", tl.X, tl.Y)
	get := func(cl *http.Client, url, inm string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	direct, db := get(&http.Client{Transport: &http.Transport{DisableCompression: true}}, r.Base+path, "")
	via, vb := get(c, lb+path, "")
	if via.StatusCode != http.StatusOK || via.Header.Get("Content-Encoding") != "gzip" || len(vb) == 0 ||
		via.Header.Get("ETag") != direct.Header.Get("ETag") || string(vb) != string(db) {
		t.Fatalf("tile through nginx: %d, Content-Encoding %q, ETag %q (replica: %q), %d bytes (replica: %d, same: %v)",
			via.StatusCode, via.Header.Get("Content-Encoding"), via.Header.Get("ETag"), direct.Header.Get("ETag"), len(vb), len(db), string(vb) == string(db))
	}
	if nm, _ := get(c, lb+path, via.Header.Get("ETag")); nm.StatusCode != http.StatusNotModified {
		t.Fatalf("tile through nginx with If-None-Match: %d, want 304", nm.StatusCode)
	}
}

// sseStream follows /api/v1/events through nginx and keeps, per feature, the
// highest version seen and when it arrived.
type sseStream struct {
	mu   sync.Mutex
	seen map[int64]sseSeen
}

type sseSeen struct {
	version, seq int64
	at           time.Time
}

func openStream(t *testing.T, ctx context.Context, c *http.Client, lb, lastEventID string) *sseStream {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, lb+"/api/v1/events?layers=risk_points", nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("events through nginx: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	st := &sseStream{seen: map[int64]sseSeen{}}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ch struct {
				Seq     int64  `json:"seq"`
				Layer   string `json:"layer"`
				ID      int64  `json:"id"`
				Version int64  `json:"version"`
			}
			if json.Unmarshal([]byte(data), &ch) != nil || ch.Layer == "" {
				continue
			}
			st.mu.Lock()
			if ch.Version > st.seen[ch.ID].version {
				st.seen[ch.ID] = sseSeen{version: ch.Version, seq: ch.Seq, at: time.Now()}
			}
			st.mu.Unlock()
		}
	}()
	return st
}

// wait returns when the stream carried feature id at version or later, as the time
// from acked to its arrival; the test fails after 15 s.
func (st *sseStream) wait(t *testing.T, id, version int64, acked time.Time) time.Duration {
	t.Helper()
	for {
		st.mu.Lock()
		s := st.seen[id]
		st.mu.Unlock()
		if s.version >= version {
			return s.at.Sub(acked)
		}
		if time.Since(acked) > 15*time.Second {
			t.Fatalf("event stream through nginx: feature %d version %d not received 15 s after the edit", id, version)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkResume: a stream opened through nginx with the Last-Event-ID of feature
// prev's last change event replays the change of feature id that followed it,
// whichever replica nginx picks (event ids are the change log's seq, the same in
// every process).
func checkResume(t *testing.T, c *http.Client, lb string, prev, id int64, first *sseStream) {
	t.Helper()
	first.mu.Lock()
	from, s := first.seen[prev], first.seen[id]
	first.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Each replica in turn (nginx's round robin): every one replays from the log.
	start := time.Now()
	for range 3 {
		st := openStream(t, ctx, c, lb, fmt.Sprint(from.seq))
		st.wait(t, id, s.version, start)
	}
}

// measureConnections logs the database connections each replica holds, idle and
// while 8 clients per replica ask for the audit log (a read that goes to the
// database), and each replica's resident memory.
func measureConnections(t *testing.T, pool *pgxpool.Pool, reps []*proctest.Proc) {
	t.Helper()
	ctx := context.Background()
	pids := make([]int, len(reps))
	for i, r := range reps {
		pids[i] = r.Cmd.Process.Pid
	}
	idle, ok, err := connsByPID(ctx, pool, pids)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Logf("connections over a Unix socket cannot be told apart: per-replica counts are partial")
	}
	loadCtx, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	var wg sync.WaitGroup
	for _, r := range reps {
		for range 8 {
			wg.Go(func() {
				for loadCtx.Err() == nil {
					req, _ := http.NewRequestWithContext(loadCtx, http.MethodGet, r.Base+"/api/v1/audit?limit=1000", nil)
					if resp, err := http.DefaultClient.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
			})
		}
	}
	busy := map[int]int{}
	for loadCtx.Err() == nil {
		n, _, err := connsByPID(ctx, pool, pids)
		if err != nil {
			t.Fatal(err)
		}
		for pid, k := range n {
			busy[pid] = max(busy[pid], k)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	for i, r := range reps {
		t.Logf("%s: %d database connections idle, at most %d under load; resident memory %.0f MB",
			r.Name, idle[pids[i]], busy[pids[i]], math.Round(float64(rssKB(t, pids[i]))/1024))
		if idle[pids[i]] < 2 {
			t.Errorf("%s holds %d connections: want at least the change feed's and the events' LISTEN connections", r.Name, idle[pids[i]])
		}
	}
}

// checkSensorRoutes: the sensor routes, which only the ingest replica answers (the
// others: 503), go there through nginx every time — the sensor list, a sensor's
// readings, an object's sensors, the ingest counters, and a reading posted.
func checkSensorRoutes(t *testing.T, c *http.Client, lb, sensorToken string) {
	t.Helper()
	var list struct {
		Sensors []struct {
			ID      int64  `json:"id"`
			Layer   string `json:"layer"`
			Feature int64  `json:"feature_id"`
		} `json:"sensors"`
	}
	for range 3 { // more than one round of nginx's round robin
		getJSON(t, c, lb+"/api/v1/sensors", &list)
	}
	if len(list.Sensors) == 0 {
		t.Fatal("GET /api/v1/sensors through nginx: no sensors")
	}
	sn := list.Sensors[0]
	for range 3 {
		var v any
		getJSON(t, c, fmt.Sprintf("%s/api/v1/sensors/%d/readings", lb, sn.ID), &v)
		getJSON(t, c, fmt.Sprintf("%s/api/v1/features/%s/%d/sensors", lb, sn.Layer, sn.Feature), &v)
		getJSON(t, c, lb+"/api/v1/ingest/stats", &v)
	}
	for i := range 3 {
		body := fmt.Sprintf(`[{"sensor_id": %d, "time": %q, "value": 0}]`, sn.ID, time.Now().Add(time.Duration(i-3)*time.Second).Format(time.RFC3339Nano))
		req, _ := http.NewRequest(http.MethodPost, lb+"/api/v1/readings", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+sensorToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /api/v1/readings through nginx: %d %s", resp.StatusCode, raw)
		}
	}
}
