package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmap/internal/pgtest"
)

// fingerprintSQL gives, per table, the row count and an md5 of every row in key
// order: the layers (with their versions and geometry as EWKB), the change log, the
// sensors and readings, the hazard history.
var fingerprintSQL = map[string]string{
	"risk_points":               `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM risk_points t`,
	"slopes":                    `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM slopes t`,
	"waterlogging_spots":        `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM waterlogging_spots t`,
	"rectified_roads":           `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM rectified_roads t`,
	"resources":                 `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM resources t`,
	"sensors":                   `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM sensors t`,
	"readings":                  `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM readings t`,
	"risk_point_status_history": `SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM risk_point_status_history t`,
	"changes":                   `SELECT count(*), md5(coalesce(string_agg(concat_ws(',', seq, layer, feature_id, op, version, changed_at), '|' ORDER BY seq), '')) FROM changes`,
}

func fingerprint(t *testing.T, url string) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	out := map[string]string{}
	for table, q := range fingerprintSQL {
		var n int64
		var sum string
		if err := conn.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			t.Fatalf("fingerprint %s: %v", table, err)
		}
		out[table] = fmt.Sprintf("%d rows, md5 %s", n, sum)
	}
	return out
}

// TestBackupRestore: deploy/backup.sh dumps a seeded database (with an edit and a
// hazard history in it); the database is dropped; deploy/restore.sh restores the
// dump into a new database on ANOTHER PostgreSQL server (a private instance: a new
// machine after a loss), and refuses to restore over it a second time. The
// restored tables hold the same rows (counts and an md5 of every row, change log
// included); every restored change is visible to a follower on the new server (its
// transaction ids re-stamped); riskmap serves the same counts from it and follows
// an edit made there.
func TestBackupRestore(t *testing.T) {
	for _, tool := range []string{"pg_dump", "pg_restore", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install Debian's postgresql-client (scripts/postgis.sh does)", tool)
		}
	}
	start := time.Now()
	dir := t.TempDir()
	src := pgtest.NewDatabase(t)
	bin := riskmapBinary(t)
	t.Logf("built in %v", time.Since(start).Round(time.Millisecond))
	run(t, bin, "migrate", "--database-url", src)
	run(t, bin, "seed", "--demo", "--database-url", src)
	t.Logf("seeded in %v", time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE risk_points SET name = name || ' (复核)', hazard_status = 'rectifying' WHERE id IN (SELECT id FROM risk_points WHERE hazard_status = 'open' ORDER BY id LIMIT 50)"); err != nil {
		t.Fatal(err)
	}
	pool.Close()
	want := fingerprint(t, src)
	wantStats := sqlStats(t, src)
	t.Logf("seeded and fingerprinted in %v", time.Since(start).Round(time.Millisecond))

	// An old backup is there already: the retention deletes it, never the new one.
	backups := filepath.Join(dir, "backups")
	if err := os.MkdirAll(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(backups, "riskmap-20200101T000000Z.dump")
	if err := os.WriteFile(old, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(old, time.Now().AddDate(0, 0, -8), time.Now().AddDate(0, 0, -8)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("./backup.sh", "-d", backups, "-k", "7", src).Output()
	if err != nil {
		t.Fatalf("backup.sh: %v\n%s", err, stderrOf(err))
	}
	dump := strings.TrimSpace(string(out))
	if fi, err := os.Stat(dump); err != nil || fi.Size() == 0 || filepath.Dir(dump) != backups || !strings.HasPrefix(filepath.Base(dump), "riskmap-") {
		t.Fatalf("backup.sh printed %q: %v", dump, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("backup.sh -k 7 left a backup 8 days old (%v)", err)
	}
	t.Logf("backed up in %v", time.Since(start).Round(time.Millisecond))

	dropDatabase(t, src)
	inst := pgtest.StartInstance(t)
	dst := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/riskmap_restored?sslmode=disable", inst.Port())
	restore := exec.Command("./restore.sh", dump, dst)
	restore.Env = append(os.Environ(), "RISKMAP_BIN="+bin)
	out, err = restore.Output()
	if err != nil {
		t.Fatalf("restore.sh: %v\n%s", err, stderrOf(err))
	}
	if !strings.Contains(string(out), "risk_points 35548\n") {
		t.Errorf("restore.sh's rows per table: want risk_points 35548 among them:\n%s", out)
	}
	again := exec.Command("./restore.sh", dump, dst)
	again.Env = restore.Env
	if err := again.Run(); err == nil {
		t.Fatal("restore.sh into an existing database succeeded: it must refuse")
	}

	t.Logf("restored in %v", time.Since(start).Round(time.Millisecond))
	got := fingerprint(t, dst)
	for table, w := range want {
		if got[table] != w {
			t.Errorf("%s: restored %s, backed up %s", table, got[table], w)
		}
	}
	var invisible int64
	conn, err := pgx.Connect(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM changes WHERE NOT pg_visible_in_snapshot(xid, pg_current_snapshot())").Scan(&invisible); err != nil {
		t.Fatal(err)
	}
	if invisible != 0 {
		t.Errorf("%d restored changes look like transactions still in flight on the new server: a follower would reread them at every poll", invisible)
	}
	if gotStats := servedStats(t, bin, dst); !reflect.DeepEqual(gotStats, wantStats) {
		t.Errorf("riskmap serving the restored database: /api/v1/stats\n%v\nthe backed-up database's counts:\n%v", gotStats, wantStats)
	}
}

// layerStats is a layer of GET /api/v1/stats: features, and per risk grade and
// warning level for the layers that have them.
type layerStats struct {
	Count     int            `json:"count"`
	ByGrade   map[string]int `json:"by_grade,omitempty"`
	ByWarning map[string]int `json:"by_warning,omitempty"`
}

// sqlStats counts what GET /api/v1/stats answers, by SQL on the database of url.
func sqlStats(t *testing.T, url string) map[string]layerStats {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	out := map[string]layerStats{}
	for _, layer := range []string{"risk_points", "slopes", "waterlogging_spots", "rectified_roads", "resources"} {
		var st layerStats
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+layer).Scan(&st.Count); err != nil {
			t.Fatal(err)
		}
		for col, m := range map[string]*map[string]int{"risk_grade": &st.ByGrade, "warning_level": &st.ByWarning} {
			var has bool
			if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2)", layer, col).Scan(&has); err != nil {
				t.Fatal(err)
			}
			if !has {
				continue
			}
			*m = map[string]int{}
			rows, err := conn.Query(ctx, fmt.Sprintf("SELECT %s, count(*) FROM %s WHERE %[1]s IS NOT NULL GROUP BY 1", col, layer))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k string
				var n int
				if err := rows.Scan(&k, &n); err != nil {
					t.Fatal(err)
				}
				(*m)[k] = n
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
		}
		out[layer] = st
	}
	return out
}

// servedStats starts riskmap serve on url, takes GET /api/v1/stats, then edits one
// slope through the API and checks riskmap follows it (the change feed works on
// the restored database) without reloading.
func servedStats(t *testing.T, bin, url string) map[string]layerStats {
	t.Helper()
	r := startReplica(t, bin, "riskmap on the restored database", url, false)
	defer r.Stop(t)
	resp, err := http.Get(r.Base + "/api/v1/stats")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Layers map[string]layerStats `json:"layers"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("stats: %d %v", resp.StatusCode, err)
	}
	token := strings.TrimSpace(run(t, bin, "token", "create", "--role", "editor", "--name", "restore check", "--database-url", url))
	v := featureVersionOf(t, r.Base, "slopes", 1)
	req, _ := http.NewRequest(http.MethodPatch, r.Base+"/api/v1/features/slopes/1", strings.NewReader(`{"type":"Feature","properties":{"name":"恢复后编辑"}}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("If-Match", fmt.Sprintf(`"%d"`, v))
	pr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := io.ReadAll(pr.Body)
	pr.Body.Close()
	if pr.StatusCode != http.StatusOK {
		t.Fatalf("PATCH slope 1: %d %s", pr.StatusCode, pb)
	}
	for deadline := time.Now().Add(15 * time.Second); featureVersionOf(t, r.Base, "slopes", 1) != v+1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the edit of slope 1 is not served 15 s after it was acknowledged")
		}
	}
	if strings.Contains(r.Output(), "reload") {
		t.Errorf("riskmap reloaded while following the restored database:\n%s", r.Output())
	}
	return body.Layers
}

func featureVersionOf(t *testing.T, base, layer string, id int64) int64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/features/%s/%d", base, layer, id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("feature %s/%d: %d", layer, id, resp.StatusCode)
	}
	var etag int64
	if _, err := fmt.Sscanf(resp.Header.Get("ETag"), `"%d"`, &etag); err != nil {
		t.Fatalf("ETag %q: %v", resp.Header.Get("ETag"), err)
	}
	return etag
}

// dropDatabase drops the database of url (the loss the backup is for).
func dropDatabase(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := url[strings.LastIndex(url, "/")+1:]
	name, _, _ = strings.Cut(name, "?")
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
