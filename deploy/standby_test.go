package deploy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmap/internal/pgtest"
	"riskmap/internal/proctest"
)

// plannerGrants is the read-only role docs/deploy.md gives the planners, made on the
// primary (standbys get it with the data).
const plannerGrants = `
CREATE ROLE planner LOGIN;
GRANT CONNECT ON DATABASE riskmap TO planner;
GRANT USAGE ON SCHEMA public TO planner;
GRANT SELECT ON risk_points, risk_point_status_history, slopes, waterlogging_spots,
  rectified_roads, resources, sensors, readings, alerts, signals, spatial_ref_sys TO planner;`

// TestStreamingStandbyForPlanners: a private primary and a hot standby made from it
// with pg_basebackup -R, as docs/deploy.md sets up for the planners. riskmap serves
// from the primary; a feature created and then edited through riskmap's API is read
// by plain SQL on the standby as the planners' read-only role (which may not read the
// tokens, nor write); the standby refuses LISTEN; and riskmap serve pointed at the
// standby stops with that error instead of serving a feed it cannot follow.
func TestStreamingStandbyForPlanners(t *testing.T) {
	primary := pgtest.StartInstance(t)
	bin := riskmapBinary(t)
	run(t, bin, "migrate", "--database-url", primary.URL())
	ctx := context.Background()
	pconn, err := pgx.Connect(ctx, primary.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer pconn.Close(ctx)
	if _, err := pconn.Exec(ctx, plannerGrants); err != nil {
		t.Fatalf("the planners' grants of docs/deploy.md: %v", err)
	}
	standbyURL := startStandby(t, primary.Port())

	r := startReplica(t, bin, "riskmap on the primary", primary.URL(), false)
	token := strings.TrimSpace(run(t, bin, "token", "create", "--role", "editor", "--name", "standby test", "--database-url", primary.URL()))
	body := `{"type":"Feature","geometry":{"type":"Point","coordinates":[114.1205,22.5512]},"properties":{"external_id":"S-1","name":"备库可见","category":"fire","risk_grade":"major","subdistrict":"dongmen","responsible_dept":"消防救援大队"}}`
	code, etag, f := send(t, http.MethodPost, r.Base+"/api/v1/features/risk_points", token, "", body)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, f)
	}
	var id int64
	if _, err := fmt.Sscanf(f[strings.Index(f, `"id":`)+5:], "%d", &id); err != nil {
		t.Fatalf("create answer %s: %v", f, err)
	}

	planner := strings.Replace(standbyURL, "postgres@", "planner@", 1)
	pl, err := pgx.Connect(ctx, planner)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close(ctx)
	seen := func(name string) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			var got, wkt string
			err := pl.QueryRow(ctx, "SELECT name, ST_AsText(geom) FROM risk_points WHERE id = $1", id).Scan(&got, &wkt)
			if err == nil && got == name {
				return time.Since(start)
			}
			if err != nil && err != pgx.ErrNoRows {
				t.Fatal(err)
			}
			if time.Since(start) > 15*time.Second {
				t.Fatalf("the standby does not show feature %d named %q 15 s after riskmap acknowledged it (%q, %v)", id, name, got, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	d1 := seen("备库可见")
	if code, _, f = send(t, http.MethodPatch, fmt.Sprintf("%s/api/v1/features/risk_points/%d", r.Base, id), token, etag, `{"type":"Feature","properties":{"name":"备库可见 (改)"}}`); code != http.StatusOK {
		t.Fatalf("PATCH: %d %s", code, f)
	}
	d2 := seen("备库可见 (改)")
	t.Logf("an edit acknowledged by riskmap on the primary is read on the standby after %v (create) and %v (edit)", d1.Round(time.Millisecond), d2.Round(time.Millisecond))

	for _, q := range []struct{ sql, want string }{
		{"SELECT count(*) FROM api_tokens", "permission denied"},
		{"UPDATE risk_points SET name = 'x' WHERE id = 1", "read-only transaction"},
	} {
		if _, err := pl.Exec(ctx, q.sql); err == nil || !strings.Contains(err.Error(), q.want) {
			t.Errorf("planner on the standby: %s: %v, want %q", q.sql, err, q.want)
		}
	}
	sb, err := pgx.Connect(ctx, standbyURL)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(ctx)
	if _, err := sb.Exec(ctx, "LISTEN riskmap_changes"); err == nil || !strings.Contains(err.Error(), "cannot execute LISTEN during recovery") {
		t.Errorf("LISTEN on the standby: %v, want cannot execute LISTEN during recovery", err)
	}

	// riskmap serve on the standby: it must not pretend to follow.
	cmd := exec.Command(bin, "serve", "--addr", proctest.FreeAddr(t), "--database-url", standbyURL, "--ingest=false")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "RISKMAP_DATABASE_URL=", "RISKMAP_TILE_CACHE_MB=8")
	done := make(chan struct{})
	var out []byte
	go func() { out, _ = cmd.CombinedOutput(); close(done) }()
	start := time.Now()
	select {
	case <-done:
		t.Logf("riskmap serve on the standby stopped after %v: %s", time.Since(start).Round(time.Millisecond), lastLine(out))
		if cmd.ProcessState.ExitCode() == 0 || !strings.Contains(string(out), "cannot execute LISTEN during recovery") {
			t.Errorf("riskmap serve on the standby: exit %d, want an error naming LISTEN during recovery:\n%s", cmd.ProcessState.ExitCode(), out)
		}
	case <-time.After(45 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("riskmap serve on the standby still runs after 45 s:\n%s", out)
	}
}

// lastLine is the last non-empty line of out.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// send makes an API request with a bearer token and If-Match (unless ""), and
// returns the status, ETag and body.
func send(t *testing.T, method, url, token, match, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if match != "" {
		req.Header.Set("If-Match", match)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("ETag"), string(raw)
}

// startStandby makes a hot standby of the private primary on primaryPort with
// pg_basebackup -R (as docs/deploy.md does), starts it on a free port and returns
// the URL of its riskmap database; it is stopped and removed when the test ends.
// As root the PostgreSQL programs run as the postgres OS user, as pgtest does.
func startStandby(t *testing.T, primaryPort int) string {
	t.Helper()
	bin := "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(filepath.Join(bin, "pg_basebackup")); err != nil {
		t.Fatalf("pg_basebackup of PostgreSQL 15 not found (scripts/postgis.sh installs it): %v", err)
	}
	base, err := os.MkdirTemp("", "riskmap-standby-")
	if err != nil {
		t.Fatal(err)
	}
	asUser := ""
	if os.Geteuid() == 0 {
		asUser = "postgres"
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	pgRun := func(prog string, args ...string) ([]byte, error) {
		path := filepath.Join(bin, prog)
		cmd := exec.Command(path, args...)
		if asUser != "" {
			cmd = exec.Command("runuser", append([]string{"-u", asUser, "--", path}, args...)...)
		}
		cmd.Dir = base
		cmd.WaitDelay = 5 * time.Second
		return cmd.CombinedOutput()
	}
	data := filepath.Join(base, "data")
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
			if out, err := pgRun("pg_ctl", "stop", "-D", data, "-m", "immediate", "-w"); err != nil {
				t.Errorf("stop the standby: %v\n%s", err, out)
			}
		}
		os.RemoveAll(base)
	})
	if out, err := pgRun("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primaryPort), "-U", "postgres",
		"-D", data, "-R", "-X", "stream", "--checkpoint=fast"); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(data, "standby.signal")); err != nil {
		t.Fatalf("pg_basebackup -R wrote no standby.signal: %v", err)
	}
	port, err := strconv.Atoi(proctest.FreeAddr(t)[len("127.0.0.1:"):])
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n# the standby of riskmap/deploy's test\nport = %d\nunix_socket_directories = ''\nhot_standby = on\n", port)
	f.Close()
	if out, err := pgRun("pg_ctl", "start", "-D", data, "-w", "-t", "30", "-l", filepath.Join(base, "standby.log")); err != nil {
		log, _ := os.ReadFile(filepath.Join(base, "standby.log"))
		t.Fatalf("start the standby: %v\n%s\n%s", err, out, log)
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/riskmap?sslmode=disable", port)
	ctx := context.Background()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			var recovering bool
			err = conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering)
			conn.Close(ctx)
			if err == nil && !recovering {
				t.Fatal("the standby is not in recovery: pg_basebackup -R did not make a standby")
			}
			if err == nil {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby does not answer after 30 s: %v", err)
		}
	}
}
