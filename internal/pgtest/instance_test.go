package pgtest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func connect(t *testing.T, ctx context.Context, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func countRows(t *testing.T, ctx context.Context, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM place WHERE name = 'here' AND ST_Equals(geom, ST_MakePoint(1, 2))").Scan(&n); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return n
}

// TestInstanceStopStartRestart: data and port survive Stop/Start and Restart;
// connections opened before a stop break, new ones after the start work.
func TestInstanceStopStartRestart(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	inst := StartInstance(t)
	t.Logf("StartInstance (initdb + start + create database): %v, port %d", time.Since(t0).Round(time.Millisecond), inst.Port())
	port := inst.Port()
	if want := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/riskmap?sslmode=disable", port); inst.URL() != want {
		t.Errorf("URL() = %q, want %q", inst.URL(), want)
	}
	if want := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port); inst.AdminURL() != want {
		t.Errorf("AdminURL() = %q, want %q", inst.AdminURL(), want)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := connect(t, ctx, inst.URL())
	if _, err := conn.Exec(ctx, "CREATE EXTENSION postgis"); err != nil {
		t.Fatalf("create extension postgis: %v", err)
	}
	var wkt string
	if err := conn.QueryRow(ctx, "SELECT ST_AsText(ST_MakePoint(1,2))").Scan(&wkt); err != nil {
		t.Fatal(err)
	}
	if wkt != "POINT(1 2)" {
		t.Errorf("ST_AsText(ST_MakePoint(1,2)) = %q", wkt)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE place (id serial PRIMARY KEY, name text, geom geometry(Point))"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO place (name, geom) VALUES ('here', ST_MakePoint(1, 2))"); err != nil {
		t.Fatal(err)
	}

	// Restart: the row is still there, the old connection is broken.
	t0 = time.Now()
	inst.Restart(t)
	t.Logf("Restart: %v", time.Since(t0).Round(time.Millisecond))
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("a connection opened before Restart still works after it")
	}
	conn = connect(t, ctx, inst.URL())
	if n := countRows(t, ctx, conn); n != 1 {
		t.Errorf("after Restart: %d rows, want 1", n)
	}

	// Stop: the open connection fails, new ones are refused.
	t0 = time.Now()
	inst.Stop(t)
	t.Logf("Stop: %v", time.Since(t0).Round(time.Millisecond))
	if _, err := conn.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("a connection opened before Stop still works after it")
	} else {
		t.Logf("old connection after Stop: %v", err)
	}
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	if c, err := pgx.Connect(cctx, inst.URL()); err == nil {
		c.Close(ctx)
		t.Error("connecting to a stopped instance worked")
	}
	ccancel()

	// Start: same port, same data, new connections work.
	t0 = time.Now()
	inst.Start(t)
	t.Logf("Start: %v", time.Since(t0).Round(time.Millisecond))
	if inst.Port() != port {
		t.Errorf("port changed from %d to %d across Stop/Start", port, inst.Port())
	}
	conn = connect(t, ctx, inst.URL())
	if n := countRows(t, ctx, conn); n != 1 {
		t.Errorf("after Stop/Start: %d rows, want 1", n)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO place (name, geom) VALUES ('there', ST_MakePoint(3, 4))"); err != nil {
		t.Errorf("insert after Start: %v", err)
	}
}

// TestInstanceParallel: instances started by parallel tests are separate.
func TestInstanceParallel(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	ports := map[int]string{}
	for k := range 2 {
		name := fmt.Sprintf("i%d", k)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			inst := StartInstance(t)
			mu.Lock()
			if other, ok := ports[inst.Port()]; ok {
				t.Errorf("%s and %s share port %d", name, other, inst.Port())
			}
			ports[inst.Port()] = name
			mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			conn := connect(t, ctx, inst.URL())
			if _, err := conn.Exec(ctx, "CREATE TABLE mine (name text); INSERT INTO mine VALUES ('"+name+"')"); err != nil {
				t.Fatal(err)
			}
			inst.Restart(t)
			conn = connect(t, ctx, inst.URL())
			var got string
			if err := conn.QueryRow(ctx, "SELECT string_agg(name, ',') FROM mine").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != name {
				t.Errorf("instance %s holds %q", name, got)
			}
		})
	}
}

// skipRecorder is a testing.TB that records a skip instead of skipping.
type skipRecorder struct {
	testing.TB
	skipped string
}

func (r *skipRecorder) Helper() {}

func (r *skipRecorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestStartInstanceSkipsWithoutGate: without RISKMAP_TEST_DATABASE_URL,
// StartInstance skips (it is not reported as a skip of this test: make test
// fails on any).
func TestStartInstanceSkipsWithoutGate(t *testing.T) {
	t.Setenv(EnvVar, "")
	r := &skipRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		StartInstance(r)
	}()
	<-done
	if !strings.Contains(r.skipped, EnvVar+" is not set") {
		t.Errorf("StartInstance without %s: skip message %q", EnvVar, r.skipped)
	}
}
